/*
 * The record of retrieval times behind EXPIRE; see expire.h.  Runs in the
 * session, as the mailbox owner, under the maildrop lock.
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
#include "store/expire.h"
#include "store/maildir.h"

/* Far beyond any clock, far below overflow when days are taken off. */
#define EXPIRE_TIME_MAX	(INT64_C(1) << 40)

struct record {
	const char	*base;		/* in buf */
	long long	 when;
};

struct expiry {
	char		*buf;		/* the file, lines cut in place */
	struct record	*recs;		/* sorted by base name */
	size_t		 n;
	int		 damaged;	/* the file was there but unusable */
};

static int
rec_cmp(const void *va, const void *vb)
{
	const struct record *a = va, *b = vb;

	return strcmp(a->base, b->base);
}

static const struct record *
rec_find(const struct expiry *e, const char *base)
{
	struct record key = { base, 0 };

	if (e->n == 0)
		return NULL;
	return bsearch(&key, e->recs, e->n, sizeof(key), rec_cmp);
}

/* One line "<time> <base>" at p, cut in place; -1 if malformed. */
static int
parse_line(char *p, struct record *r)
{
	char		*sp = strchr(p, ' ');
	const char	*errstr;

	if (sp == NULL || sp == p || sp - p > 19 ||
	    strspn(p, "0123456789") != (size_t)(sp - p))
		return -1;
	*sp = '\0';
	r->when = strtonum(p, 1, EXPIRE_TIME_MAX, &errstr);
	if (errstr != NULL || !maildir_base_ok(sp + 1, strlen(sp + 1)))
		return -1;
	r->base = sp + 1;
	return 0;
}

/* The lines of e->buf (len octets, NUL-terminated) into e->recs. */
static int
parse(struct expiry *e, size_t len)
{
	char	*p = e->buf, *nl;
	size_t	 lines = 0, i;

	for (i = 0; i < len; i++)
		if (e->buf[i] == '\n')
			lines++;
	if (len > 0 && e->buf[len - 1] != '\n')
		return -1;
	if (memchr(e->buf, '\0', len) != NULL)
		return -1;
	if (lines > 0 &&
	    (e->recs = reallocarray(NULL, lines, sizeof(*e->recs))) == NULL)
		return -2;
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (parse_line(p, &e->recs[e->n]) == -1)
			return -1;
		e->n++;
	}
	qsort(e->recs, e->n, sizeof(*e->recs), rec_cmp);
	for (i = 1; i < e->n; i++)
		if (strcmp(e->recs[i - 1].base, e->recs[i].base) == 0)
			return -1;
	return 0;
}

/* The file into e->buf: 0, 1 when absent, -1 unusable, -2 no memory. */
static int
read_file(struct expiry *e, int dirfd, size_t *len)
{
	struct stat	st;
	ssize_t		n;
	int		fd, rv = 0;

	fd = openat(dirfd, EXPIRE_FILE,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > EXPIRE_FILE_MAX)
		rv = -1;
	else if ((e->buf = malloc(st.st_size + 1)) == NULL)
		rv = -2;
	else {
		*len = 0;
		while (*len < (size_t)st.st_size &&
		    ((n = read(fd, e->buf + *len, st.st_size - *len)) > 0 ||
		    (n == -1 && errno == EINTR)))
			if (n > 0)
				*len += n;
		e->buf[*len] = '\0';
		if (*len != (size_t)st.st_size)
			rv = -1;
	}
	close(fd);
	return rv;
}

struct expiry *
expire_load(const struct maildrop *md)
{
	struct expiry	*e;
	size_t		 len = 0;
	int		 rv;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((rv = read_file(e, md->dirfd, &len)) == 0)
		rv = parse(e, len);
	if (rv == -2) {
		expire_free(e);
		return NULL;
	}
	if (rv == -1) {
		log_warnx("%s: unusable, nothing expires this time; written "
		    "anew", EXPIRE_FILE);
		e->damaged = 1;
		e->n = 0;
	}
	return e;
}

/* Whether message i can be told by its base name alone. */
static int
recordable(const struct maildrop *md, size_t i)
{
	return !(md->msgs[i].flags & MSG_SHARED);
}

size_t
expire_mark(struct expiry *e, struct maildrop *md, int days, long long now)
{
	const struct record	*r;
	long long		 limit = now - (long long)days * 86400;
	size_t			 i, marked = 0;

	for (i = 0; i < md->count; i++) {
		if ((md->msgs[i].flags & MSG_DELETED) || !recordable(md, i))
			continue;
		r = rec_find(e, maildir_base(md, i));
		if ((r != NULL && r->when <= limit) ||
		    (days == 0 && (md->msgs[i].flags & MSG_RETRIEVED))) {
			md->msgs[i].flags |= MSG_DELETED;
			marked++;
		}
	}
	return marked;
}

/* One record line into fp. */
static void
put(FILE *fp, long long when, const char *base)
{
	fprintf(fp, "%lld %s\n", when, base);
}

/* The new record as tmp/EXPIRE_TMP; 0, or -1 with errno. */
static int
write_tmp(const struct expiry *e, const struct maildrop *md, int tmpfd,
    long long now)
{
	const struct record	*r;
	FILE			*fp;
	size_t			 i;
	int			 fd, rv;

	/* A leftover of a crash: the maildrop lock keeps others out. */
	if (unlinkat(tmpfd, EXPIRE_TMP, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(tmpfd, EXPIRE_TMP,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || (fp = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (i = 0; i < md->count; i++) {
		if ((md->msgs[i].flags & MSG_DELETED) || !recordable(md, i))
			continue;
		if ((r = rec_find(e, maildir_base(md, i))) != NULL)
			put(fp, r->when, r->base);
		else if (md->msgs[i].flags & MSG_RETRIEVED)
			put(fp, now, maildir_base(md, i));
	}
	rv = ferror(fp) ? -1 : 0;
	if (fclose(fp) == EOF)
		rv = -1;
	return rv;
}

/* How many records the maildrop keeps now, and whether any is new. */
static size_t
count_kept(const struct expiry *e, const struct maildrop *md, int *added)
{
	size_t	i, kept = 0;

	*added = 0;
	for (i = 0; i < md->count; i++) {
		if ((md->msgs[i].flags & MSG_DELETED) || !recordable(md, i))
			continue;
		if (rec_find(e, maildir_base(md, i)) != NULL)
			kept++;
		else if (md->msgs[i].flags & MSG_RETRIEVED) {
			kept++;
			*added = 1;
		}
	}
	return kept;
}

void
expire_save(struct expiry *e, const struct maildrop *md, long long now)
{
	size_t	kept;
	int	added, tmpfd, saved;

	kept = count_kept(e, md, &added);
	if (!added && !e->damaged && kept == e->n)
		return;
	if (kept == 0) {
		if (unlinkat(md->dirfd, EXPIRE_FILE, 0) == -1 &&
		    errno != ENOENT)
			log_warn("remove %s", EXPIRE_FILE);
		return;
	}
	tmpfd = openat(md->dirfd, "tmp",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd == -1 || write_tmp(e, md, tmpfd, now) == -1 ||
	    renameat(tmpfd, EXPIRE_TMP, md->dirfd, EXPIRE_FILE) == -1) {
		saved = errno;
		if (tmpfd != -1)
			unlinkat(tmpfd, EXPIRE_TMP, 0);
		errno = saved;
		log_warn("write %s", EXPIRE_FILE);
	}
	if (tmpfd != -1)
		close(tmpfd);
}

void
expire_free(struct expiry *e)
{
	if (e == NULL)
		return;
	free(e->recs);
	free(e->buf);
	free(e);
}
