/*
 * This file runs as root when pop3d is started as root.  It reads no
 * network input; keys are made by the monitor from checked values.
 *
 * A table is a file of t->slots slots after a header:
 *
 *	header	 8 octets  magic
 *		 4	   version
 *		 4	   number of slots
 *	slot	136	   key, NUL-padded (empty: a free slot)
 *		 8	   time, seconds since the epoch
 *		 datalen   the table's own
 *
 * in the machine's byte order (the file lives in /run, on this machine,
 * for this boot).  A key's slot is one of t->probe slots from the hash of
 * the key on; a full window gives up its oldest entry.  Every use is done
 * under an open file description lock (F_OFD_SETLK, waited for at most
 * STATE_LOCK_MS), so that a check and its update are one step.
 *
 * Nothing in the file is trusted: a symbolic link, another owner, other
 * modes or links, another size or header make it rebuilt (logged), and a
 * slot whose key or data the table's checks refuse, or whose time is in
 * the future, is taken for free.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "auth/statetable.h"
#include "common/clock.h"
#include "common/log.h"

#define ST_HEADER	16
#define ST_OPEN_TRIES	4	/* another monitor rebuilding meanwhile */

static size_t
st_slotlen(const struct statetable *t)
{
	return ST_KEY + 8 + t->datalen;
}

static off_t
st_size(const struct statetable *t)
{
	return ST_HEADER + (off_t)t->slots * (off_t)st_slotlen(t);
}

/* FNV-1a: spreads keys over the table. */
static uint32_t
st_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The directory, created 0700 if missing; -1 with a reason. */
static int
st_opendir(const struct statetable *t, const char *dir, char *why, size_t len)
{
	struct stat	st;
	int		fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(why, len, "%s %s: %s", t->dirkey, dir,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(why, len, "%s %s: %s", t->dirkey, dir,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		snprintf(why, len, "%s %s: not a directory of uid %lu that "
		    "only it may write", t->dirkey, dir,
		    (unsigned long)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

int
statetable_dir_ok(const struct statetable *t, const char *dir, int create,
    char *why, size_t len)
{
	struct stat	 st;
	char		 parent[POP3D_PATH_MAX], *slash;
	int		 fd;

	if (!create && lstat(dir, &st) == -1 && errno == ENOENT) {
		/* Made at the first login: its parent must be a directory. */
		strlcpy(parent, dir, sizeof(parent));
		if ((slash = strrchr(parent, '/')) != NULL)
			slash[slash == parent] = '\0';
		if (stat(parent, &st) == -1 || !S_ISDIR(st.st_mode)) {
			snprintf(why, len, "%s %s: cannot be made: %s is no "
			    "directory", t->dirkey, dir, parent);
			return -1;
		}
		return 0;
	}
	if ((fd = st_opendir(t, dir, why, len)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* Why the open file cannot be used as it is, or NULL. */
static const char *
st_bad_inode(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return "cannot be examined";
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_uid != geteuid())
		return "owned by another user";
	if (st.st_nlink != 1)
		return "has other links";
	if ((st.st_mode & 077) != 0)
		return "open to others";
	return NULL;
}

/* Lock the whole file, waiting for other monitors STATE_LOCK_MS. */
static int
st_lock(int fd)
{
	struct flock	fl;
	long long	give_up = clock_ms() + STATE_LOCK_MS;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -1;
		if (clock_ms() >= give_up) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 2 * 1000 * 1000 }, NULL);
	}
	return 0;
}

/* Still the file at the name: no monitor replaced it before our lock. */
static int
st_current(const struct statetable *t, int dfd, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 &&
	    fstatat(dfd, t->file, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* An empty table in the locked fd; -1 on a write error. */
static int
st_init(const struct statetable *t, int fd)
{
	unsigned char	hdr[ST_HEADER];

	memcpy(hdr, t->magic, 8);
	memcpy(hdr + 8, &t->version, 4);
	memcpy(hdr + 12, &t->slots, 4);
	if (ftruncate(fd, 0) == -1 || ftruncate(fd, st_size(t)) == -1 ||
	    pwrite(fd, hdr, sizeof(hdr), 0) != sizeof(hdr))
		return -1;
	return 0;
}

/* Whether the locked fd holds this table; else why not. */
static const char *
st_bad_table(const struct statetable *t, int fd)
{
	unsigned char	hdr[ST_HEADER];
	uint32_t	v, n;
	struct stat	st;

	if (fstat(fd, &st) == -1)
		return "cannot be examined";
	if (st.st_size == 0)
		return "";		/* just made */
	if (st.st_size != st_size(t))
		return "wrong size";
	if (pread(fd, hdr, sizeof(hdr), 0) != sizeof(hdr))
		return "unreadable";
	memcpy(&v, hdr + 8, 4);
	memcpy(&n, hdr + 12, 4);
	if (memcmp(hdr, t->magic, 8) != 0 || v != t->version || n != t->slots)
		return "bad header";
	return NULL;
}

/*
 * The table, open and locked.  A file that is not safe to use is removed
 * and made anew; one with bad contents is rebuilt in place.  -1: none.
 */
static int
st_open(const struct statetable *t, int dfd, const char *dir)
{
	const char	*why;
	int		 fd, tries;

	for (tries = 0; tries < ST_OPEN_TRIES; tries++) {
		fd = openat(dfd, t->file, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd == -1 && errno == ENOENT)
			fd = openat(dfd, t->file, O_RDWR | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && (errno == EEXIST || errno == ENOENT))
			continue;	/* made or removed meanwhile */
		why = fd == -1 ? (errno == ELOOP ? "a symbolic link" :
		    strerror(errno)) : st_bad_inode(fd);
		if (why != NULL) {
			log_warnx("%s/%s: %s: made anew", dir, t->file, why);
			if (fd != -1)
				close(fd);
			if (unlinkat(dfd, t->file, 0) == -1 &&
			    errno != ENOENT) {
				log_warn("%s/%s: remove", dir, t->file);
				return -1;
			}
			continue;
		}
		if (st_lock(fd) == -1) {
			if (errno == ETIMEDOUT)
				log_warnx("%s/%s: locked for over %d ms: not "
				    "used", dir, t->file, STATE_LOCK_MS);
			else
				log_warn("%s/%s: lock", dir, t->file);
			close(fd);
			return -1;
		}
		if (!st_current(t, dfd, fd)) {
			close(fd);
			continue;
		}
		if ((why = st_bad_table(t, fd)) != NULL) {
			if (why[0] != '\0')
				log_warnx("%s/%s: %s: made anew", dir, t->file,
				    why);
			if (st_init(t, fd) == -1) {
				log_warn("%s/%s: write", dir, t->file);
				close(fd);
				return -1;
			}
		}
		return fd;
	}
	log_warnx("%s/%s: replaced again and again: not used", dir, t->file);
	return -1;
}

int
statetable_open(struct st_handle *h, const struct statetable *t,
    const char *dir, char *why, size_t len)
{
	int dfd;

	h->t = t;
	h->dir = dir;
	h->fd = -1;
	why[0] = '\0';
	if ((dfd = st_opendir(t, dir, why, len)) == -1)
		return -1;
	h->fd = st_open(t, dfd, dir);
	close(dfd);
	return h->fd == -1 ? -1 : 0;
}

void
statetable_close(struct st_handle *h)
{
	if (h->fd != -1)
		close(h->fd);	/* and the lock with it */
	h->fd = -1;
}

/* A slot as read, checked: 1 for an entry, 0 for a free slot. */
static int
st_valid(const struct statetable *t, const struct st_slot *s, long long now)
{
	size_t	len = strnlen(s->key, sizeof(s->key));
	size_t	i;

	if (len == 0 || len == sizeof(s->key))
		return 0;
	for (i = len; i < sizeof(s->key); i++)
		if (s->key[i] != '\0')
			return 0;
	return s->when > 0 && s->when <= now && t->key_valid(s->key) &&
	    (t->data_valid == NULL || t->data_valid(s->data));
}

static off_t
st_offset(const struct statetable *t, uint32_t slot)
{
	return ST_HEADER + (off_t)(slot % t->slots) * (off_t)st_slotlen(t);
}

long
statetable_find(struct st_handle *h, const char *key, long long now,
    struct st_slot *out, int *found)
{
	const struct statetable	*t = h->t;
	struct st_slot		 s;
	uint32_t		 hash = st_hash(key), i, pick = hash;
	int64_t			 oldest = INT64_MAX;

	*found = 0;
	for (i = 0; i < t->probe; i++) {
		memset(&s, 0, sizeof(s));
		if (pread(h->fd, &s, st_slotlen(t), st_offset(t, hash + i)) !=
		    (ssize_t)st_slotlen(t)) {
			log_warn("%s/%s: read", h->dir, t->file);
			return -1;
		}
		if (!st_valid(t, &s, now)) {
			if (oldest != 0)
				pick = hash + i;
			oldest = 0;
			continue;
		}
		if (strcmp(s.key, key) == 0) {
			*found = 1;
			*out = s;
			return (hash + i) % t->slots;
		}
		if (s.when < oldest) {
			oldest = s.when;
			pick = hash + i;
		}
	}
	return pick % t->slots;
}

int
statetable_put(struct st_handle *h, long i, const struct st_slot *s)
{
	const struct statetable *t = h->t;

	if (pwrite(h->fd, s, st_slotlen(t), st_offset(t, (uint32_t)i)) !=
	    (ssize_t)st_slotlen(t)) {
		log_warn("%s/%s: write", h->dir, t->file);
		return -1;
	}
	return 0;
}
