/*
 * This file runs as root when pop3d is started as root.  It reads no
 * network input; the user name was checked by monitor_user_valid().
 *
 * The file is a table of LOGIN_DELAY_SLOTS slots after a header:
 *
 *	header	 8 octets  magic "POP3DLD\n"
 *		 4	   version, 1
 *		 4	   number of slots, LOGIN_DELAY_SLOTS
 *	slot	136	   user name, NUL-padded (empty: a free slot)
 *		 8	   time of the last good login, seconds since the epoch
 *
 * in the machine's byte order (the file lives in /run, on this machine,
 * for this boot).  A user's slot is one of the LOGIN_DELAY_PROBE slots
 * from the hash of its name on; a full window gives up its oldest entry.
 * The whole check and update is done under an open file description lock
 * (F_OFD_SETLK, waited for at most LOGIN_DELAY_LOCK_MS), so two logins at
 * once cannot both pass.
 *
 * Nothing in the file is trusted: a symbolic link, another owner, other
 * modes or links, another size or header make it rebuilt (logged), and a
 * slot with a name that is no valid user name or a time in the future is
 * taken for free.  Whatever goes wrong, the login goes on: a broken file
 * costs the delay, never the mail.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "auth/logindelay.h"
#include "auth/monitor.h"
#include "common/clock.h"
#include "common/log.h"

#define LD_MAGIC	"POP3DLD\n"
#define LD_VERSION	1
#define LD_HEADER	16
#define LD_NAME		136	/* AUTH_USER_MAX and a NUL, rounded to 8 */
#define LD_SLOT		(LD_NAME + 8)
#define LD_SIZE		(LD_HEADER + (off_t)LOGIN_DELAY_SLOTS * LD_SLOT)
#define LD_OPEN_TRIES	4	/* another monitor rebuilding meanwhile */

_Static_assert(LD_NAME > AUTH_USER_MAX, "a user name fits a slot");

struct ld_slot {
	char		name[LD_NAME];
	int64_t		when;
};

/* FNV-1a: spreads user names; nobody gains by aiming at one window. */
static uint32_t
ld_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The directory, created 0700 if missing; -1 with a reason. */
static int
ld_opendir(const char *dir, char *why, size_t len)
{
	struct stat	st;
	int		fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(why, len, "login_delay_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(why, len, "login_delay_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		snprintf(why, len, "login_delay_dir %s: not a directory of "
		    "uid %lu that only it may write", dir,
		    (unsigned long)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

int
logindelay_dir_ok(const char *dir, char *why, size_t len)
{
	int fd;

	if ((fd = ld_opendir(dir, why, len)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* Why the open file cannot be used as it is, or NULL. */
static const char *
ld_bad_inode(int fd)
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

/* Lock the whole file, waiting for other monitors LOGIN_DELAY_LOCK_MS. */
static int
ld_lock(int fd)
{
	struct flock	fl;
	long long	give_up = clock_ms() + LOGIN_DELAY_LOCK_MS;

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
ld_current(int dfd, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 &&
	    fstatat(dfd, LOGIN_DELAY_FILE, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* An empty table in the locked fd; -1 on a write error. */
static int
ld_init(int fd)
{
	unsigned char	hdr[LD_HEADER];
	uint32_t	v = LD_VERSION, n = LOGIN_DELAY_SLOTS;

	memcpy(hdr, LD_MAGIC, 8);
	memcpy(hdr + 8, &v, 4);
	memcpy(hdr + 12, &n, 4);
	if (ftruncate(fd, 0) == -1 || ftruncate(fd, LD_SIZE) == -1 ||
	    pwrite(fd, hdr, sizeof(hdr), 0) != sizeof(hdr))
		return -1;
	return 0;
}

/* Whether the locked fd holds a table of ours; else why not. */
static const char *
ld_bad_table(int fd)
{
	unsigned char	hdr[LD_HEADER];
	uint32_t	v, n;
	struct stat	st;

	if (fstat(fd, &st) == -1)
		return "cannot be examined";
	if (st.st_size == 0)
		return "";		/* just made */
	if (st.st_size != LD_SIZE)
		return "wrong size";
	if (pread(fd, hdr, sizeof(hdr), 0) != sizeof(hdr))
		return "unreadable";
	memcpy(&v, hdr + 8, 4);
	memcpy(&n, hdr + 12, 4);
	if (memcmp(hdr, LD_MAGIC, 8) != 0 || v != LD_VERSION ||
	    n != LOGIN_DELAY_SLOTS)
		return "bad header";
	return NULL;
}

/*
 * The table, open and locked.  A file that is not safe to use is removed
 * and made anew; one with bad contents is rebuilt in place.  -1: none.
 */
static int
ld_open(int dfd, const char *dir)
{
	const char	*why;
	int		 fd, tries;

	for (tries = 0; tries < LD_OPEN_TRIES; tries++) {
		fd = openat(dfd, LOGIN_DELAY_FILE, O_RDWR | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (fd == -1 && errno == ENOENT)
			fd = openat(dfd, LOGIN_DELAY_FILE, O_RDWR | O_CREAT |
			    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && (errno == EEXIST || errno == ENOENT))
			continue;	/* made or removed meanwhile */
		why = fd == -1 ? (errno == ELOOP ? "a symbolic link" :
		    strerror(errno)) : ld_bad_inode(fd);
		if (why != NULL) {
			log_warnx("%s/%s: %s: made anew", dir,
			    LOGIN_DELAY_FILE, why);
			if (fd != -1)
				close(fd);
			if (unlinkat(dfd, LOGIN_DELAY_FILE, 0) == -1 &&
			    errno != ENOENT) {
				log_warn("%s/%s: remove", dir, LOGIN_DELAY_FILE);
				return -1;
			}
			continue;
		}
		if (ld_lock(fd) == -1) {
			if (errno == ETIMEDOUT)
				log_warnx("%s/%s: locked for over %d ms: not "
				    "used", dir, LOGIN_DELAY_FILE,
				    LOGIN_DELAY_LOCK_MS);
			else
				log_warn("%s/%s: lock", dir, LOGIN_DELAY_FILE);
			close(fd);
			return -1;
		}
		if (!ld_current(dfd, fd)) {
			close(fd);
			continue;
		}
		if ((why = ld_bad_table(fd)) != NULL) {
			if (why[0] != '\0')
				log_warnx("%s/%s: %s: made anew", dir,
				    LOGIN_DELAY_FILE, why);
			if (ld_init(fd) == -1) {
				log_warn("%s/%s: write", dir, LOGIN_DELAY_FILE);
				close(fd);
				return -1;
			}
		}
		return fd;
	}
	log_warnx("%s/%s: replaced again and again: not used", dir,
	    LOGIN_DELAY_FILE);
	return -1;
}

/* A slot as read, checked: 1 for a user's entry, 0 for a free slot. */
static int
ld_valid(const struct ld_slot *s, long long now)
{
	size_t	len = strnlen(s->name, sizeof(s->name));
	size_t	i;

	if (len == 0 || len == sizeof(s->name))
		return 0;
	for (i = len; i < sizeof(s->name); i++)
		if (s->name[i] != '\0')
			return 0;
	return monitor_user_valid(s->name) && s->when > 0 && s->when <= now;
}

static off_t
ld_offset(uint32_t slot)
{
	return LD_HEADER + (off_t)(slot % LOGIN_DELAY_SLOTS) * LD_SLOT;
}

/*
 * In the locked table: the user's slot, or the one to take for it (a
 * free one, else the oldest of the window).  *found: 1 with its time in
 * *when.  -1 on a read error.
 */
static long
ld_find(int fd, const char *user, long long now, int *found, int64_t *when)
{
	struct ld_slot	s;
	uint32_t	h = ld_hash(user), i, pick = h;
	int64_t		oldest = INT64_MAX;

	*found = 0;
	for (i = 0; i < LOGIN_DELAY_PROBE; i++) {
		if (pread(fd, &s, sizeof(s), ld_offset(h + i)) != sizeof(s))
			return -1;
		if (!ld_valid(&s, now)) {
			if (oldest != 0)
				pick = h + i;
			oldest = 0;
			continue;
		}
		if (strcmp(s.name, user) == 0) {
			*found = 1;
			*when = s.when;
			return (h + i) % LOGIN_DELAY_SLOTS;
		}
		if (s.when < oldest) {
			oldest = s.when;
			pick = h + i;
		}
	}
	return pick % LOGIN_DELAY_SLOTS;
}

long
logindelay_check(const char *dir, const char *user, int delay, long long now)
{
	struct ld_slot	s;
	char		why[POP3D_PATH_MAX + 64];
	int64_t		when = 0;
	long		slot, left = 0;
	int		dfd, fd, found;

	if ((dfd = ld_opendir(dir, why, sizeof(why))) == -1) {
		log_warnx("%s: no LOGIN-DELAY", why);
		return 0;
	}
	fd = ld_open(dfd, dir);
	close(dfd);
	if (fd == -1)
		return 0;
	if ((slot = ld_find(fd, user, now, &found, &when)) == -1)
		log_warn("%s/%s: read", dir, LOGIN_DELAY_FILE);
	else if (found && now - when < delay)
		left = delay - (now - when);
	else {
		memset(&s, 0, sizeof(s));
		strlcpy(s.name, user, sizeof(s.name));
		s.when = now;
		if (pwrite(fd, &s, sizeof(s), ld_offset(slot)) != sizeof(s))
			log_warn("%s/%s: write", dir, LOGIN_DELAY_FILE);
	}
	close(fd);	/* and the lock with it */
	return left;
}
