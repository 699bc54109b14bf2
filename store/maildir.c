/*
 * Names and files of listed messages.  A pool record holds the base name,
 * the info and perhaps a unique-id, each NUL-terminated (see maildrop.h);
 * these helpers put a file name back together from it, and find a file
 * again after another client renamed it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "store/maildir.h"

const char *
maildir_base(const struct maildrop *md, size_t i)
{
	return md->pool + md->msgs[i].name;
}

const char *
maildir_info(const struct maildrop *md, size_t i)
{
	const char	*base = maildir_base(md, i);

	if (!(md->msgs[i].flags & MSG_INFO))
		return NULL;
	return base + strlen(base) + 1;
}

static uint32_t
maildir_check(const struct stat *st)
{
	uint64_t	h;

	h = (uint64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return ((uint64_t)st->st_size ^ h) & 0xffffff;
}

void
maildir_check_set(struct message *m, const struct stat *st)
{
	uint32_t	c = maildir_check(st);

	m->check[0] = c & 0xff;
	m->check[1] = c >> 8 & 0xff;
	m->check[2] = c >> 16;
}

int
maildir_check_ok(const struct message *m, const struct stat *st)
{
	uint32_t	c = maildir_check(st);

	return m->check[0] == (c & 0xff) && m->check[1] == (c >> 8 & 0xff) &&
	    m->check[2] == c >> 16;
}

int
maildir_dirfd(const struct maildrop *md, size_t i)
{
	return (md->msgs[i].flags & MSG_NEW) ? md->newfd : md->curfd;
}

int
maildir_name(const struct maildrop *md, size_t i, char *buf, size_t len)
{
	const char	*info = maildir_info(md, i);
	int		 n;

	if (info == NULL)
		n = snprintf(buf, len, "%s", maildir_base(md, i));
	else
		n = snprintf(buf, len, "%s:%s", maildir_base(md, i), info);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

int
maildir_base_eq(const char *name, const char *base)
{
	size_t	len = strlen(base);

	return strncmp(name, base, len) == 0 &&
	    (name[len] == '\0' || name[len] == ':');
}

int
maildir_open_file(int dfd, const char *name, struct stat *stp)
{
	struct stat	st;
	int		fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)	/* a symbolic link took its place */
			errno = ENOENT;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	if (stp != NULL)
		*stp = st;
	return fd;
}

/* A directory stream over dfd's directory with its own offset. */
static DIR *
maildir_opendir(int dfd)
{
	DIR	*d;
	int	 fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

int
maildir_same_times(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int
maildir_read(int dfd, maildir_visit visit, void *arg)
{
	return maildir_read_ahead(dfd, visit, NULL, arg);
}

/* Entry n of the ring, copied out of readdir(3)'s buffer. */
static void
ring_put(struct dirent *slot, const struct dirent *de)
{
	slot->d_ino = de->d_ino;
	slot->d_type = de->d_type;
	strlcpy(slot->d_name, de->d_name, sizeof(slot->d_name));
}

int
maildir_read_ahead(int dfd, maildir_visit visit, maildir_ahead ahead,
    void *arg)
{
	struct dirent	 ring[MAILDIR_READ_AHEAD], *de;
	struct stat	 before, after;
	DIR		*d;
	size_t		 in = 0, out = 0;
	size_t		 n = ahead != NULL ? MAILDIR_READ_AHEAD : 1;
	int		 rv = MAILDIR_STILL, eof = 0, saved;

	if (fstat(dfd, &before) == -1 || (d = maildir_opendir(dfd)) == NULL)
		return -1;
	memset(ring, 0, sizeof(ring));
	for (;;) {
		if (in - out == n || (eof && in > out)) {
			if (ahead != NULL && out + n / 2 < in)
				ahead(arg, &ring[(out + n / 2) % n], 1);
			if (visit(arg, dfd, &ring[out++ % n]) != 0) {
				rv = MAILDIR_STOPPED;
				break;
			}
			continue;
		}
		if (eof)
			break;
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				rv = -1;
				break;
			}
			eof = 1;
			continue;
		}
		if (de->d_name[0] == '.')
			continue;
		ring_put(&ring[in % n], de);
		if (ahead != NULL)
			ahead(arg, &ring[in % n], 0);
		in++;
	}
	saved = errno;
	closedir(d);
	errno = saved;
	if (rv == MAILDIR_STILL && (fstat(dfd, &after) == -1 ||
	    !maildir_same_times(&before, &after)))
		rv = MAILDIR_CHANGED;
	return rv;
}

int
maildir_walk(const struct maildrop *md, maildir_visit visit, void *arg)
{
	int	rn, rc;

	if ((rn = maildir_read(md->newfd, visit, arg)) == -1 ||
	    rn == MAILDIR_STOPPED)
		return rn;
	if ((rc = maildir_read(md->curfd, visit, arg)) == -1 ||
	    rc == MAILDIR_STOPPED)
		return rc;
	return rn == MAILDIR_CHANGED ? rn : rc;
}

uint64_t
maildir_ino(const struct maildrop *md, size_t i)
{
	size_t	lo = 0, hi = md->nshared, mid;

	if (!(md->msgs[i].flags & MSG_SHARED))
		return 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (md->shared[mid].idx == i)
			return md->shared[mid].ino;
		if (md->shared[mid].idx < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
maildir_is_message(const struct maildrop *md, size_t i, int dfd,
    const char *name, const struct stat *st)
{
	struct stat	sb;
	uint64_t	ino = maildir_ino(md, i);

	if (ino == 0)
		return 1;
	if (st == NULL) {
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			return 0;
		st = &sb;
	}
	if ((uint64_t)st->st_ino == ino)
		return 1;
	errno = ENOENT;
	return 0;
}

/* The search of maildir_find_moved(): the file, and where it was met. */
struct moved {
	const char	*base;
	uint64_t	 ino;		/* 0: any file with the base name */
	char		*buf;
	size_t		 len;
	int		 dfd;
};

static int
moved_visit(void *arg, int dfd, const struct dirent *de)
{
	struct moved	*mv = arg;

	if (!maildir_base_eq(de->d_name, mv->base) ||
	    (mv->ino != 0 && de->d_ino != mv->ino) ||
	    strlcpy(mv->buf, de->d_name, mv->len) >= mv->len)
		return 0;
	mv->dfd = dfd;
	return 1;
}

int
maildir_find_moved(const struct maildrop *md, size_t i, char *buf, size_t len,
    int *dfd)
{
	struct moved	mv;
	int		pass, rv;

	mv.base = maildir_base(md, i);
	mv.ino = maildir_ino(md, i);
	mv.buf = buf;
	mv.len = len;
	for (pass = 0; pass < MAILDROP_SCAN_PASSES; pass++) {
		if ((rv = maildir_walk(md, moved_visit, &mv)) == -1)
			return -1;
		if (rv == MAILDIR_STOPPED) {
			*dfd = mv.dfd;
			return 1;
		}
		if (rv == MAILDIR_STILL)
			break;
	}
	return 0;
}

int
maildir_base_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > MAILDIR_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f ||
		    s[i] == '/' || s[i] == ':')
			return 0;
	return 1;
}
