/*
 * Imported unique-ids; see uidlmap.h.  Runs in the session, as the
 * mailbox owner, under the maildrop lock, while the maildrop is listed.
 *
 * The other servers' files are first turned into lines of pop3d.uidl, so
 * that one parser checks whatever ends up in the maildrop, read from
 * pop3d's own record or imported.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "common/log.h"
#include "common/uidlfmt.h"
#include "store/cache.h"
#include "store/maildir.h"
#include "store/uidl.h"
#include "store/uidlmap.h"

#define DOVECOT_FILE	"dovecot-uidlist"
#define COURIER_FILE	"courierpop3dsizelist"

struct entry {
	const char	*base;		/* in buf */
	const char	*uidl;
};

struct uidlmap {
	char		*buf;		/* lines of pop3d.uidl, cut in place */
	struct entry	*ents;		/* sorted by base name */
	size_t		 n;
	size_t		 lines;		/* in the file read */
	int		 imported;	/* no record was read: write one */
	int		 dirfd;
};

/* A message's key while the unique-ids are checked. */
struct idkey {
	const char	*s;
	size_t		 idx;
};

static int	nsources;
static int	sources[UIDLFMT_SOURCES_MAX];
static char	format[UIDLFMT_FORMAT_MAX];
static int	format_ok;

size_t
uidlmap_expand(unsigned long uid, unsigned long uidv, const char *base,
    size_t blen, const char *guid, size_t glen, char *out, size_t outlen)
{
	char	buf[UIDL_MAX + 1];
	ssize_t	n;

	n = uidlfmt_expand(format, uid, uidv, base, blen, guid, glen, buf);
	if (n <= 0 || (size_t)n >= outlen)
		return 0;
	memcpy(out, buf, n + 1);
	return n;
}

int
uidlmap_setup(const char *src, const char *fmt, char *err, size_t errlen)
{
	format_ok = 0;
	format[0] = '\0';
	if (uidlfmt_parse(src, fmt, sources, &nsources, err, errlen) == -1) {
		nsources = 0;
		return -1;
	}
	strlcpy(format, fmt, sizeof(format));
	format_ok = 1;
	return 0;
}

/* Errors that pass: the login is refused rather than given other ids. */
static int
passing(int e)
{
	return e == ENOMEM || e == EMFILE || e == ENFILE || e == EIO ||
	    e == EINTR || e == EAGAIN;
}

/*
 * The file name in dirfd into *buf, NUL-terminated: 0, 1 when absent, -1
 * unusable (logged), -2 a passing failure, out of memory included.
 */
static int
read_file(int dirfd, const char *name, char **buf, size_t *len)
{
	struct stat	st;
	ssize_t		n;
	int		fd, rv = 0;

	*buf = NULL;
	*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 1;
		if (passing(errno))
			return -2;
		log_warn("%s: not read", name);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > UIDLMAP_FILE_MAX) {
		log_warnx("%s: not a regular file of at most %d octets, "
		    "not read", name, UIDLMAP_FILE_MAX);
		rv = -1;
	} else if ((*buf = malloc(st.st_size + 1)) == NULL)
		rv = -2;
	else {
		while (*len < (size_t)st.st_size &&
		    ((n = read(fd, *buf + *len, st.st_size - *len)) > 0 ||
		    (n == -1 && errno == EINTR)))
			if (n > 0)
				*len += n;
		(*buf)[*len] = '\0';
		if (*len != (size_t)st.st_size)
			rv = -2;	/* a read error, or the file shrank */
	}
	close(fd);
	if (rv != 0) {
		free(*buf);
		*buf = NULL;
	}
	return rv;
}

/* A unique-id that may be imported: RFC 1939's, and no ':'. */
static int
imported_ok(const char *s, size_t len)
{
	return uidl_valid(s, len) && memchr(s, ':', len) == NULL;
}

static int
ent_cmp(const void *va, const void *vb)
{
	const struct entry *a = va, *b = vb;

	return strcmp(a->base, b->base);
}

/*
 * The lines of map->buf (after the magic, if any) into map->ents: those
 * that are not "<base> SP <unique-id> LF" as uidlmap.h says, and every
 * line of a base name given twice, are left out and logged as from what.
 */
static int
parse(struct uidlmap *map, char *p, const char *what)
{
	char	*nl, *sp;
	size_t	 lines = 0, bad = 0, i, j, k;

	for (i = 0; p[i] != '\0'; i++)
		lines += p[i] == '\n';
	if (lines > 0 && (map->ents = reallocarray(NULL, lines,
	    sizeof(*map->ents))) == NULL)
		return -1;
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		map->lines++;
		sp = strchr(p, ' ');
		if (sp == NULL || !maildir_base_ok(p, sp - p) ||
		    !imported_ok(sp + 1, strlen(sp + 1))) {
			bad++;
			continue;
		}
		*sp = '\0';
		map->ents[map->n].base = p;
		map->ents[map->n++].uidl = sp + 1;
	}
	bad += *p != '\0';	/* a last line without LF */
	/* A record written in listing order is mostly sorted already. */
	for (i = 1; i < map->n && ent_cmp(&map->ents[i - 1],
	    &map->ents[i]) < 0; i++)
		;
	if (i < map->n)
		qsort(map->ents, map->n, sizeof(*map->ents), ent_cmp);
	for (i = j = 0; i < map->n; i = k) {
		for (k = i + 1; k < map->n &&
		    strcmp(map->ents[i].base, map->ents[k].base) == 0; k++)
			;
		if (k - i > 1)
			bad += k - i;
		else
			map->ents[j++] = map->ents[i];
	}
	map->n = j;
	if (bad > 0)
		log_warnx("%s: %zu lines malformed or ambiguous, left out: "
		    "those messages keep their usual unique-ids", what, bad);
	return 0;
}

/* An unsigned decimal of 1 to 10 digits at *p, at most UINT32_MAX. */
static int
number(const char **p, unsigned long *n)
{
	size_t	len = strspn(*p, "0123456789");

	if (len == 0 || len > 10)
		return 0;
	*n = strtoul(*p, NULL, 10);
	*p += len;
	return *n <= UINT32_MAX;
}

/* A line "<base> SP <uidl> LF" into fp, unless the two are the same. */
static void
emit(FILE *fp, const char *base, size_t blen, const char *uidl,
    size_t ulen)
{
	if (blen == ulen && memcmp(base, uidl, blen) == 0)
		return;
	fprintf(fp, "%.*s %.*s\n", (int)blen, base, (int)ulen, uidl);
}

/*
 * One record of dovecot-uidlist, version 3: "<uid> [<key><value> ...]
 * :<file name>", or version 1: "<uid> <file name>".  P<uidl> is the
 * unique-id pop3_save_uidl kept, an empty one the base name; without it
 * the format gives it, from the uid, the uidvalidity, the base name and
 * G<guid> (or the base name, as Dovecot's Maildir storage does).
 */
static int
dovecot_record(FILE *fp, char *line, int version, unsigned long uidv)
{
	char		 out[UIDL_MAX + 1];
	const char	*p = line, *pop3 = NULL, *guid = NULL, *name, *f;
	size_t		 plen = 0, glen = 0, blen, flen;
	unsigned long	 uid;
	ssize_t		 n;

	if (!number(&p, &uid) || uid == 0 || *p++ != ' ')
		return -1;
	while (version == 3 && *p != ':' && *p != '\0') {
		f = p;
		flen = strcspn(p, " ");
		if (*f == 'P') {
			pop3 = f + 1;
			plen = flen - 1;
		} else if (*f == 'G') {
			guid = f + 1;
			glen = flen - 1;
		}
		p += flen;
		p += strspn(p, " ");
	}
	if (version == 3 && *p++ != ':')
		return -1;
	name = p;
	blen = uidl_base_len(name);
	if (blen == 0)
		return -1;
	if (guid == NULL || glen == 0) {
		guid = name;
		glen = blen;
	}
	if (pop3 != NULL) {
		emit(fp, name, blen, plen ? pop3 : name, plen ? plen : blen);
		return 0;
	}
	if (!format_ok)
		return 0;
	if ((n = uidlfmt_expand(format, uid, uidv, name, blen, guid, glen,
	    out)) <= 0)
		return -1;
	emit(fp, name, blen, out, n);
	return 0;
}

/* The header of dovecot-uidlist: its version and the uidvalidity. */
static int
dovecot_header(const char *line, int *version, unsigned long *uidv)
{
	const char	*p = line + 2;
	unsigned long	 next;

	if (strncmp(line, "1 ", 2) == 0) {
		*version = 1;
		return number(&p, uidv) && *p++ == ' ' && number(&p, &next) ?
		    0 : -1;
	}
	if (strncmp(line, "3 ", 2) != 0)
		return -1;
	*version = 3;
	for (; *p != '\0'; p += strspn(p, " ")) {
		if (*p == 'V') {
			p++;
			if (!number(&p, uidv))
				return -1;
			continue;
		}
		p += strcspn(p, " ");
	}
	return 0;
}

/* Each line of a file cut in place, the header first. */
static int
convert(FILE *fp, char *buf, const char *what,
    int (*header)(const char *, int *, unsigned long *),
    int (*record)(FILE *, char *, int, unsigned long))
{
	char		*p = buf, *nl;
	unsigned long	 uidv = 0;
	size_t		 bad = 0;
	int		 version;

	if ((nl = strchr(p, '\n')) == NULL)
		return -1;
	*nl = '\0';
	if (header(p, &version, &uidv) == -1)
		return -1;
	for (p = nl + 1; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (record(fp, p, version, uidv) == -1)
			bad++;
	}
	if (bad > 0)
		log_warnx("%s: %zu lines malformed, left out: those messages "
		    "get pop3d's unique-ids", what, bad);
	return 0;
}

/* The header of courierpop3dsizelist: "/<version> <next uid> <uidv>". */
static int
courier_header(const char *line, int *version, unsigned long *uidv)
{
	const char	*p = line + 1;
	unsigned long	 v, next;

	if (line[0] != '/' || !number(&p, &v) || (v != 2 && v != 3) ||
	    *p++ != ' ' || !number(&p, &next) || *p++ != ' ' ||
	    !number(&p, uidv) || *p != '\0')
		return -1;
	*version = v;
	return 0;
}

/*
 * A line of courierpop3dsizelist: "<file name> <size> <n>:<uidv>", and
 * ":<utf8>" in version 3.  Courier's unique-id is "UID<n>-<uidv>",
 * "UID<n>" when uidv is 0, and with n 0 the base name with octets
 * outside 0x21..0x7E, '"', '\'' and '+' written "+XX".
 */
static int
courier_record(FILE *fp, char *line, int version, unsigned long hdruidv)
{
	char		 out[UIDL_MAX + 1];
	const char	*p;
	char		*sp;
	unsigned long	 size, n, uidv, utf8;
	size_t		 blen, o = 0, i;
	int		 c;

	(void)hdruidv;
	if ((sp = strrchr(line, ' ')) == NULL || sp == line)
		return -1;
	*sp = '\0';
	p = strrchr(line, ' ');
	*sp = ' ';
	if (p == NULL || p == line)
		return -1;
	blen = uidl_base_len(line);
	if (blen > (size_t)(p - line))
		blen = p - line;
	p++;
	if (!number(&p, &size) || *p++ != ' ' || !number(&p, &n) ||
	    *p++ != ':' || !number(&p, &uidv) ||
	    (version == 3 && (*p++ != ':' || !number(&p, &utf8))) ||
	    *p != '\0')
		return -1;
	if (n != 0) {
		c = uidv ? snprintf(out, sizeof(out), "UID%lu-%lu", n, uidv) :
		    snprintf(out, sizeof(out), "UID%lu", n);
		emit(fp, line, blen, out, c);
		return 0;
	}
	for (i = 0; i < blen; i++) {
		c = (unsigned char)line[i];
		if (c < 0x21 || c > 0x7e || c == '\'' || c == '"' ||
		    c == '+') {
			if (o + 3 > UIDL_MAX)
				return -1;
			o += snprintf(out + o, sizeof(out) - o, "+%02X", c);
		} else if (o < UIDL_MAX)
			out[o++] = c;
		else
			return -1;
	}
	emit(fp, line, blen, out, o);
	return 0;
}

/*
 * The first source the Maildir has, as lines of pop3d.uidl in map->buf:
 * 0, 1 when there is none, -1 unusable (logged), -2 a passing failure.
 */
static int
import(struct uidlmap *map)
{
	char	*src, *text = NULL;
	size_t	 len, tlen;
	FILE	*fp;
	int	 i, rv;
	const char *name;

	for (i = 0; i < nsources; i++) {
		name = sources[i] == UIDLFMT_DOVECOT ? DOVECOT_FILE :
		    COURIER_FILE;
		if ((rv = read_file(map->dirfd, name, &src, &len)) == 1)
			continue;
		if (rv != 0)
			return rv;
		if ((fp = open_memstream(&text, &tlen)) == NULL) {
			free(src);
			return -2;
		}
		rv = sources[i] == UIDLFMT_DOVECOT ?
		    convert(fp, src, name, dovecot_header, dovecot_record) :
		    convert(fp, src, name, courier_header, courier_record);
		free(src);
		if (fclose(fp) == EOF || rv == -1) {
			free(text);
			if (rv != -1)
				return -2;
			log_warnx("%s: unknown header, nothing imported",
			    name);
			return -1;
		}
		map->buf = text;
		if (parse(map, text, name) == -1)
			return -2;
		log_info("imported %zu unique-ids from %s", map->n, name);
		return 0;
	}
	return 1;
}

/* pop3d.uidl as a file of lines, from the listed messages or empty. */
static int
write_tmp(int tmpfd, const struct maildrop *md)
{
	const char	*u;
	FILE		*fp;
	size_t		 i;
	int		 fd, rv;

	if (unlinkat(tmpfd, UIDLMAP_TMP, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(tmpfd, UIDLMAP_TMP,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || (fp = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	fputs(UIDLMAP_MAGIC, fp);
	for (i = 0; md != NULL && i < md->count; i++) {
		u = maildrop_uidl(md, i);
		if ((md->msgs[i].flags & MSG_OWNUIDL) && u[0] != ':')
			fprintf(fp, "%s %s\n", maildir_base(md, i), u);
	}
	rv = ferror(fp) ? -1 : 0;
	if (fclose(fp) == EOF)
		rv = -1;
	return rv;
}

static void
write_record(int dirfd, const struct maildrop *md)
{
	int	tmpfd, saved;

	tmpfd = openat(dirfd, "tmp",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd == -1 || write_tmp(tmpfd, md) == -1 ||
	    renameat(tmpfd, UIDLMAP_TMP, dirfd, UIDLMAP_FILE) == -1) {
		saved = errno;
		if (tmpfd != -1)
			unlinkat(tmpfd, UIDLMAP_TMP, 0);
		errno = saved;
		log_warn("write %s", UIDLMAP_FILE);
	}
	if (tmpfd != -1)
		close(tmpfd);
}

static void
map_free(struct uidlmap *map)
{
	if (map == NULL)
		return;
	free(map->ents);
	free(map->buf);
	free(map);
}

/*
 * No record yet: import, or, in a Maildir pop3d served before (it has a
 * cache) or that no other server left a file in, an empty record once
 * there are messages: their clients learn pop3d's unique-ids from now
 * on, and a file another server writes later must not change them.
 */
static int
first_import(struct uidlmap *map)
{
	struct stat	st;
	int		rv = 1;

	if (nsources == 0)
		return -1;
	if (fstatat(map->dirfd, CACHE_FILE, &st, AT_SYMLINK_NOFOLLOW) == -1)
		rv = import(map);
	if (rv < 0)
		return rv;
	map->imported = 1;
	return 0;
}

int
uidlmap_load(int dirfd, struct uidlmap **mapp)
{
	struct uidlmap	*map;
	size_t		 len;
	int		 rv;

	*mapp = NULL;
	if ((map = calloc(1, sizeof(*map))) == NULL)
		return -1;
	map->dirfd = dirfd;
	rv = read_file(dirfd, UIDLMAP_FILE, &map->buf, &len);
	if (rv == 1)
		rv = first_import(map);
	else if (rv == 0 && strncmp(map->buf, UIDLMAP_MAGIC,
	    sizeof(UIDLMAP_MAGIC) - 1) != 0) {
		log_warnx("%s: not a record of unique-ids, not read",
		    UIDLMAP_FILE);
		rv = -1;
	} else if (rv == 0 && parse(map, map->buf +
	    sizeof(UIDLMAP_MAGIC) - 1, UIDLMAP_FILE) == -1)
		rv = -2;
	else if (rv == 0 && map->lines == 0)
		rv = -1;	/* an empty record: nothing to do */
	if (rv == 0)
		*mapp = map;
	else
		map_free(map);
	return rv == -2 ? -1 : 0;
}

const char *
uidlmap_find(const struct uidlmap *map, const char *base, size_t blen)
{
	size_t	lo = 0, hi = map->n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(base, map->ents[mid].base, blen);
		if (c == 0 && map->ents[mid].base[blen] != '\0')
			c = -1;
		if (c == 0)
			return map->ents[mid].uidl;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
idkey_cmp(const void *va, const void *vb)
{
	const struct idkey *a = va, *b = vb;

	return strcmp(a->s, b->s);
}

static int
has_import(const struct maildrop *md, size_t i)
{
	return (md->msgs[i].flags & MSG_OWNUIDL) &&
	    maildrop_uidl(md, i)[0] != ':';
}

/*
 * Every base name and imported unique-id, sorted: an imported one that
 * equals any other key gives way, and its message is known by its base
 * name again, which differs from every imported unique-id kept.
 */
static size_t
drop_clashes(struct maildrop *md)
{
	struct idkey	*keys;
	size_t		 i, j, k, n = 0, dropped = 0;

	if (md->count == 0)
		return 0;
	if ((keys = reallocarray(NULL, md->count, 2 * sizeof(*keys))) ==
	    NULL) {
		for (i = 0; i < md->count; i++)
			if (has_import(md, i)) {
				md->msgs[i].flags &= ~MSG_OWNUIDL;
				dropped++;
			}
		return dropped;
	}
	for (i = 0; i < md->count; i++) {
		keys[n].s = maildir_base(md, i);
		keys[n++].idx = SIZE_MAX;
		if (has_import(md, i)) {
			keys[n].s = maildrop_uidl(md, i);
			keys[n++].idx = i;
		}
	}
	qsort(keys, n, sizeof(*keys), idkey_cmp);
	for (i = 0; i < n; i = k) {
		for (k = i + 1; k < n && strcmp(keys[i].s, keys[k].s) == 0;
		    k++)
			;
		for (j = i; k - i > 1 && j < k; j++)
			if (keys[j].idx != SIZE_MAX &&
			    (md->msgs[keys[j].idx].flags & MSG_OWNUIDL)) {
				md->msgs[keys[j].idx].flags &= ~MSG_OWNUIDL;
				dropped++;
			}
	}
	free(keys);
	return dropped;
}

void
uidlmap_finish(struct uidlmap *map, struct maildrop *md)
{
	size_t	i, kept = 0, dropped;

	if (map == NULL)
		return;
	if ((dropped = drop_clashes(md)) > 0)
		log_warnx("%s: %zu imported unique-ids taken by other "
		    "messages, left out", UIDLMAP_FILE, dropped);
	for (i = 0; i < md->count; i++)
		kept += has_import(md, i);
	if (map->imported ? map->n > 0 || md->count > 0 : kept != map->lines)
		write_record(map->dirfd, md);
	map_free(map);
}

void
uidlmap_free(struct uidlmap *map)
{
	map_free(map);
}
