/*
 * The users file, read by the privileged monitor for every login.
 *
 * A lookup always reads the whole file, so the time it takes says nothing
 * about where, or whether, the user appears.  Lines go through one fixed
 * buffer: a longer line is skipped whole, never cut short into a prefix that
 * could match.  The buffers and the scratch entry hold password hashes and
 * are wiped before the lookup returns.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/passwd_file.h"
#include "common/config.h"
#include "common/log.h"
#include "params.h"

/*
 * The longest line: user, hash and home at their limits, two ids, and room
 * for the gecos, shell and extra fields pop3d does not use.
 */
#define PASSWD_LINE_MAX		4096

/* A uid or gid in decimal: 4294967294 has 10 digits. */
#define PASSWD_ID_DIGITS	10

/* The fields of a line, in order; the last one takes the rest of the line. */
enum pf_field_index {
	PF_USER,
	PF_PASS,
	PF_UID,
	PF_GID,
	PF_GECOS,
	PF_HOME,
	PF_SHELL,
	PF_EXTRA,
	PF_NFIELDS
};

struct pf_field {
	const char	*p;		/* NULL: the line ended before this field */
	size_t		 len;
};

enum pf_read {
	PF_LINE,
	PF_LINE_LONG,
	PF_LINE_NUL,
	PF_EOF,
	PF_ERROR
};

static void
pf_split(const char *line, struct pf_field f[PF_NFIELDS])
{
	const char	*colon;
	int		 i;

	memset(f, 0, PF_NFIELDS * sizeof(f[0]));
	for (i = 0; i < PF_NFIELDS; i++) {
		f[i].p = line;
		colon = (i == PF_EXTRA) ? NULL : strchr(line, ':');
		if (colon == NULL) {
			f[i].len = strlen(line);
			return;
		}
		f[i].len = colon - line;
		line = colon + 1;
	}
}

/* Copy a field into a NUL-terminated buffer; -1 if it does not fit. */
static int
pf_copy(const struct pf_field *f, char *dst, size_t dstsize)
{
	if (f->len >= dstsize)
		return -1;
	memcpy(dst, f->p, f->len);
	dst[f->len] = '\0';
	return 0;
}

static int
pf_has_control(const struct pf_field *f)
{
	size_t	i;

	for (i = 0; i < f->len; i++)
		if ((unsigned char)f->p[i] < 0x20 || f->p[i] == 0x7f)
			return 1;
	return 0;
}

/*
 * A uid or gid: missing or empty means none.  Only plain digits are taken,
 * since strtonum(3) would also accept a sign and leading blanks.
 * (uid_t)-1 is left out: it means "no change" to setresuid(2).
 */
static int
pf_id(const struct pf_field *f, int *has, unsigned int *id)
{
	char		 num[PASSWD_ID_DIGITS + 1];
	const char	*errstr;
	size_t		 i;

	*has = 0;
	*id = 0;
	if (f->p == NULL || f->len == 0)
		return 0;
	if (pf_copy(f, num, sizeof(num)) == -1)
		return -1;
	for (i = 0; num[i] != '\0'; i++)
		if (num[i] < '0' || num[i] > '9')
			return -1;
	*id = strtonum(num, 0, UINT32_MAX - 1, &errstr);
	if (errstr != NULL)
		return -1;
	*has = 1;
	return 0;
}

/* A decimal value of len octets at p, 0..max, into *out; -1 if not. */
static int
pf_number(const char *p, size_t len, long long max, int *out)
{
	char		 num[16];
	const char	*errstr;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, p, len);
	num[len] = '\0';
	if (num[strspn(num, "0123456789")] != '\0')
		return -1;
	*out = strtonum(num, 0, max, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* One extra field of len octets; NULL, or why the line is malformed. */
static const char *
pf_extra_field(const char *p, size_t len, struct passwd_entry *pe)
{
	static const char	ld[] = "login_delay=", ex[] = "expire=";

	if (len >= sizeof(ld) - 1 && strncmp(p, ld, sizeof(ld) - 1) == 0) {
		if (pf_number(p + sizeof(ld) - 1, len - (sizeof(ld) - 1),
		    LOGIN_DELAY_MAX, &pe->login_delay) == -1)
			return "bad login_delay";
		pe->has_login_delay = 1;
	} else if (len >= sizeof(ex) - 1 &&
	    strncmp(p, ex, sizeof(ex) - 1) == 0) {
		p += sizeof(ex) - 1;
		len -= sizeof(ex) - 1;
		if (len == 5 && strncmp(p, "never", 5) == 0)
			pe->expire = EXPIRE_NEVER;
		else if (pf_number(p, len, EXPIRE_DAYS_MAX, &pe->expire) == -1)
			return "bad expire";
		pe->has_expire = 1;
	}
	return NULL;
}

/*
 * The extra fields: blank-separated key=value pairs.  login_delay and
 * expire are ours; a bad value makes the line malformed rather than
 * silently giving the user the server-wide policy.
 */
static const char *
pf_extra(const struct pf_field *f, struct passwd_entry *pe)
{
	const char	*p, *end, *why;
	size_t		 len;

	if (f->p == NULL)
		return NULL;
	for (p = f->p, end = f->p + f->len; p < end; p += len) {
		p += strspn(p, " \t");
		if (p >= end)
			break;
		len = strcspn(p, " \t");
		if ((why = pf_extra_field(p, len, pe)) != NULL)
			return why;
	}
	return NULL;
}

/* Parse line into pe; NULL on success, else why the line is malformed. */
static const char *
pf_parse(const char *line, struct passwd_entry *pe)
{
	struct pf_field	f[PF_NFIELDS];
	unsigned int	id;

	memset(pe, 0, sizeof(*pe));
	pf_split(line, f);
	if (f[PF_USER].len == 0)
		return "empty user name";
	if (pf_has_control(&f[PF_USER]))
		return "control character in user name";
	if (pf_copy(&f[PF_USER], pe->user, sizeof(pe->user)) == -1)
		return "user name too long";
	if (f[PF_PASS].p == NULL || f[PF_PASS].len == 0)
		return "no password";
	if (pf_copy(&f[PF_PASS], pe->hash, sizeof(pe->hash)) == -1)
		return "password field too long";
	if (pf_id(&f[PF_UID], &pe->has_uid, &id) == -1)
		return "bad uid";
	pe->uid = id;
	if (pf_id(&f[PF_GID], &pe->has_gid, &id) == -1)
		return "bad gid";
	pe->gid = id;
	if (f[PF_HOME].p != NULL && f[PF_HOME].len > 0) {
		/* A relative home would depend on the monitor's cwd. */
		if (f[PF_HOME].p[0] != '/')
			return "home is not an absolute path";
		if (pf_copy(&f[PF_HOME], pe->home, sizeof(pe->home)) == -1)
			return "home too long";
	}
	return pf_extra(&f[PF_EXTRA], pe);
}

int
passwd_file_parse_line(const char *line, struct passwd_entry *pe)
{
	if (pf_parse(line, pe) != NULL) {
		explicit_bzero(pe, sizeof(*pe));
		return -1;
	}
	return 0;
}

/*
 * Read one line, without its newline (or CRLF), into buf.  A line that does
 * not fit, or holds a NUL byte, is read to its end and reported as such.
 */
static enum pf_read
pf_getline(FILE *fp, char *buf, size_t bufsize)
{
	size_t	len = 0;
	int	c, toolong = 0, nul = 0;

	while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
		if (c == '\0')
			nul = 1;
		if (len + 1 < bufsize)
			buf[len++] = c;
		else
			toolong = 1;
	}
	if (ferror(fp))
		return PF_ERROR;
	if (c == EOF && len == 0 && !toolong && !nul)
		return PF_EOF;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (toolong)
		return PF_LINE_LONG;
	return nul ? PF_LINE_NUL : PF_LINE;
}

static int
pf_blank(const char *line)
{
	line += strspn(line, " \t");
	return *line == '\0' || *line == '#';
}

/*
 * Look at one line.  Returns 1 if it is user's entry (left in tmp), 0 if
 * not, and logs lines that are malformed.
 */
static int
pf_line(const char *path, unsigned long lineno, enum pf_read rd,
    const char *line, const char *user, struct passwd_entry *tmp)
{
	const char	*why;

	switch (rd) {
	case PF_LINE_LONG:
		log_warnx("%s: line %lu: longer than %d bytes, skipped", path,
		    lineno, PASSWD_LINE_MAX - 1);
		return 0;
	case PF_LINE_NUL:
		log_warnx("%s: line %lu: NUL byte, skipped", path, lineno);
		return 0;
	default:
		break;
	}
	if (pf_blank(line))
		return 0;
	if ((why = pf_parse(line, tmp)) != NULL) {
		log_warnx("%s: line %lu: %s, skipped", path, lineno, why);
		return 0;
	}
	return strcmp(tmp->user, user) == 0;
}

enum passwd_status
passwd_file_lookup(const char *path, const char *user, struct passwd_entry *pe)
{
	char			 line[PASSWD_LINE_MAX];
	char			 iobuf[BUFSIZ];
	struct passwd_entry	 tmp;
	enum passwd_status	 status = PASSWD_NOUSER;
	enum pf_read		 rd;
	unsigned long		 lineno = 0, found = 0;
	FILE			*fp;

	explicit_bzero(pe, sizeof(*pe));
	if ((fp = fopen(path, "re")) == NULL) {
		log_warn("%s", path);
		return PASSWD_TEMPFAIL;
	}
	/* Our own stdio buffer, so that it can be wiped too. */
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
	while ((rd = pf_getline(fp, line, sizeof(line))) != PF_EOF) {
		if (rd == PF_ERROR) {
			log_warn("%s: read", path);
			status = PASSWD_TEMPFAIL;
			break;
		}
		lineno++;
		if (!pf_line(path, lineno, rd, line, user, &tmp))
			continue;
		if (found) {
			log_warnx("%s: line %lu: same user as line %lu, "
			    "ignored", path, lineno, found);
			continue;
		}
		memcpy(pe, &tmp, sizeof(*pe));
		found = lineno;
		status = PASSWD_FOUND;
	}
	fclose(fp);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(iobuf, sizeof(iobuf));
	explicit_bzero(&tmp, sizeof(tmp));
	if (status != PASSWD_FOUND)
		explicit_bzero(pe, sizeof(*pe));
	return status;
}

/* The scheme of the line's password field, as PASSWD_SCRAM_* bits. */
static unsigned
pf_scram_scheme(const char *line)
{
	static const struct {
		const char	*tag;
		unsigned	 bit;
	} tags[] = {
		{ "{SCRAM-SHA-1}", PASSWD_SCRAM_SHA1 },
		{ "{SCRAM-SHA-256}", PASSWD_SCRAM_SHA256 },
	};
	const char	*pw;
	size_t		 i;

	if (pf_blank(line) || (pw = strchr(line, ':')) == NULL)
		return 0;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strncasecmp(pw + 1, tags[i].tag, strlen(tags[i].tag)) == 0)
			return tags[i].bit;
	return 0;
}

unsigned
passwd_file_scram(const char *path)
{
	char		 line[PASSWD_LINE_MAX];
	char		 iobuf[BUFSIZ];
	enum pf_read	 rd;
	unsigned	 found = 0;
	FILE		*fp;

	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
	while (found != (PASSWD_SCRAM_SHA1 | PASSWD_SCRAM_SHA256) &&
	    (rd = pf_getline(fp, line, sizeof(line))) != PF_EOF &&
	    rd != PF_ERROR)
		if (rd == PF_LINE)
			found |= pf_scram_scheme(line);
	fclose(fp);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(iobuf, sizeof(iobuf));
	return found;
}
