/*
 * Opening a maildrop: the lock, then one listing of new/ and cur/ with the
 * size and unique-id of every message, taken at login and kept for the
 * session.  Names come only from readdir(3); every file is opened relative
 * to the new/ or cur/ descriptor with O_NOFOLLOW, and anything that is not
 * a regular file is passed over.
 *
 * Sizes: a file whose base name and inode match its entry in the size
 * cache (cache.h) is neither opened nor stat(2)ed; every other file is
 * read and counted, and the cache is written back before the open returns.
 * The open of a message checks what the size was counted for (ESTALE).
 *
 * Order: oldest first by the delivery time in the name ("SECONDS.M<usec>
 * P<pid>.host"; a name without leading digits counts as time 0), then by
 * the file name, then cur/ before new/.  The order is the same in every
 * session over the same files.
 *
 * Other clients rename files while they are listed: an IMAP server moves
 * new/NAME to cur/NAME:2,S and changes flags in cur/ all the time.  The
 * listing holds each message once all the same.  new/ is read before cur/,
 * so a file moved between the two reads is met twice, never missed; a
 * directory seen to change while it was read is read again, as a file
 * renamed during readdir(3) can be passed over; and a file met again
 * with the same inode and base name is the message already listed, now
 * under another name (the inode alone could be a new file that reuses
 * it).  Two files that share a base name but not an inode are two
 * messages, told apart as uidl.h says.  Inodes are kept only while the
 * directories are read, except for such pairs.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "common/log.h"
#include "store/cache.h"
#include "store/maildir.h"
#include "store/maildrop.h"
#include "store/size.h"
#include "store/uidl.h"
#include "store/uidlmap.h"

/*
 * shared_storage (pop3d.conf(5)): the Maildir may be changed from other
 * hosts, whose changes this host's fstat(2) of new/ and cur/ need not
 * show as new times (attribute caches, a file server whose clock is not
 * ours), so the listing always reads the directories and never comes
 * from the cache alone.  Sizes still come from it, file by file.
 */
static int	shared_storage;

#define MSG_DUP		0x80	/* while listing: its unique-id is taken */
#define POOL_MIN	(64 * 1024)
#define INO_SLOTS_MIN	4096

/* What the listing keeps of a file only while the directories are read. */
struct scan_entry {
	uint64_t	ino;		/* d_ino; 0: unknown, never matched */
	uint32_t	ref;		/* its cache entry */
	uint8_t		pass;		/* the last read that met it */
	uint8_t		lost;		/* scan_recheck() looks for it */
};

/* The listing as it is read, before it is sorted into the maildrop. */
struct scan {
	struct maildrop	*md;
	struct cache	*cache;		/* NULL: every file is read */
	struct uidlmap	*imports;	/* NULL: no imported unique-ids */
	struct message	*msgs;
	struct scan_entry *ents;	/* beside msgs, index for index */
	size_t		 count;
	size_t		 alloc;
	uint32_t	*slots;		/* entries by inode: index + 1, 0 empty */
	size_t		 nslots;	/* a power of two, or 0 */
	uint8_t		 pass;		/* reads of a directory so far */
	uint8_t		 last[2];	/* the last read of new/, of cur/ */
	int		 changing;	/* a last read saw its directory change */
	int		 rechecking;	/* scan_recheck() reading: lost ones back */
	enum store_status status;	/* of the directory being read */
	uint32_t	*order;		/* the entry of each message once sorted */
	struct stat	 dirs[2];	/* new/ and cur/ before the listing */
	struct stat	 after[2];	/* and after; st_ino 0: unknown */
	/* scan_ahead(): the hash of each name read ahead, in read order. */
	uint64_t	 ahead[MAILDIR_READ_AHEAD];
	size_t		 ahead_in;
	size_t		 ahead_out;
	int		 reading_ahead;	/* scan_dir() reads: visits pop ahead */
	char		*err;
	size_t		 errlen;
};

struct sortkey {
	uint64_t	 sec;
	const char	*base;
	uint32_t	 usec;
	uint32_t	 idx;
	uint8_t		 flags;
};

/* The delivery time of a name, for sort_listing(). */
struct sorttime {
	uint64_t	 sec;
	uint32_t	 usec;
};

static enum store_status
fail(char *err, size_t errlen, enum store_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum store_status
fail(char *err, size_t errlen, enum store_status st, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return st;
}

/* Errors an operator must fix, as opposed to passing trouble. */
static enum store_status
errno_status(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
		return STORE_PERMFAIL;
	default:
		return STORE_TEMPFAIL;
	}
}

static int
mkdir_ok(int dfd, const char *name)
{
	return mkdirat(dfd, name, 0700) == 0 || errno == EEXIST;
}

/* A Maildir that does not exist yet is made, as an MDA would on delivery. */
static enum store_status
create_maildir(struct maildrop *md, const char *path, char *err, size_t errlen)
{
	if (!mkdir_ok(AT_FDCWD, path))
		return fail(err, errlen, errno_status(errno), "mkdir %s: %s",
		    path, strerror(errno));
	md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dirfd == -1)
		return fail(err, errlen, errno_status(errno), "open %s: %s",
		    path, strerror(errno));
	if (!mkdir_ok(md->dirfd, "tmp") || !mkdir_ok(md->dirfd, "new") ||
	    !mkdir_ok(md->dirfd, "cur"))
		return fail(err, errlen, errno_status(errno),
		    "create Maildir %s: %s", path, strerror(errno));
	return STORE_OK;
}

static enum store_status
open_maildir(struct maildrop *md, const char *path, char *err, size_t errlen)
{
	md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dirfd == -1 && errno == ENOENT)
		return create_maildir(md, path, err, errlen);
	if (md->dirfd == -1)
		return fail(err, errlen, errno_status(errno), "open %s: %s",
		    path, strerror(errno));
	return STORE_OK;
}

/*
 * The maildrop lock is an OFD lock (fcntl(2) F_OFD_SETLK) on the whole of
 * MAILDROP_LOCK_FILE at the top of the Maildir.  It belongs to the open
 * file description, so it ends with the session's process however that
 * ends, kill -9 included.  NFSv4 and CephFS pass it to their servers, so
 * sessions on other hosts see it; a host that crashes loses its NFSv4
 * locks when its lease runs out.  The file is never removed: a session
 * that locked a file since replaced would hold a lock no one else asks
 * for, so the name must still be the file locked, else it is locked
 * again.  Nothing is written in it: a stale lock is a process that runs.
 * A Maildir whose top the owner may not write (or a read-only file
 * system) has no lock file: the session logs that and takes the flock(2)
 * alone, as earlier versions did, which other hosts do not see.
 */
static enum store_status
lock_file(struct maildrop *md, char *err, size_t errlen)
{
	struct flock	fl;
	struct stat	st, now;
	int		tries;

	for (tries = 0; tries < MAILDROP_LOCK_TRIES; tries++) {
		if (md->lockfd != -1)
			close(md->lockfd);
		md->lockfd = openat(md->dirfd, MAILDROP_LOCK_FILE, O_RDWR |
		    O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (md->lockfd == -1 && (errno == EACCES || errno == EROFS)) {
			log_warn("open %s, locking this host only",
			    MAILDROP_LOCK_FILE);
			return STORE_OK;
		}
		if (md->lockfd == -1 && errno == EISDIR)
			return fail(err, errlen, STORE_PERMFAIL,
			    "%s is not a regular file", MAILDROP_LOCK_FILE);
		if (md->lockfd == -1 || fstat(md->lockfd, &st) == -1)
			return fail(err, errlen, errno_status(errno),
			    "open %s: %s", MAILDROP_LOCK_FILE, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(err, errlen, STORE_PERMFAIL,
			    "%s is not a regular file", MAILDROP_LOCK_FILE);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(md->lockfd, F_OFD_SETLK, &fl) == -1) {
			if (errno == EAGAIN || errno == EACCES)
				return fail(err, errlen, STORE_INUSE,
				    "locked by another session");
			return fail(err, errlen, STORE_TEMPFAIL, "lock %s: %s",
			    MAILDROP_LOCK_FILE, strerror(errno));
		}
		if (fstatat(md->dirfd, MAILDROP_LOCK_FILE, &now,
		    AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st.st_ino &&
		    now.st_dev == st.st_dev)
			return STORE_OK;
	}
	return fail(err, errlen, STORE_TEMPFAIL, "%s replaced while locked",
	    MAILDROP_LOCK_FILE);
}

/*
 * Versions before the lock file took only a flock(2) on the Maildir
 * directory.  It is still taken, so that during an upgrade a session of
 * either version sees the other's; where directories take no flock(2)
 * (NFS answers EBADF) the lock file alone counts.  To be dropped in the
 * next version.
 */
static enum store_status
lock_once(struct maildrop *md, char *err, size_t errlen)
{
	enum store_status st;

	if ((st = lock_file(md, err, errlen)) != STORE_OK)
		return st;
	if (flock(md->dirfd, LOCK_EX | LOCK_NB) == 0)
		return STORE_OK;
	if (errno == EWOULDBLOCK)
		return fail(err, errlen, STORE_INUSE,
		    "locked by another session");
	if (md->lockfd == -1)
		return fail(err, errlen, STORE_TEMPFAIL, "flock: %s",
		    strerror(errno));
	return STORE_OK;
}

/*
 * A session that has answered QUIT may still hold the lock for a few
 * milliseconds while it records cur/ in the size cache (maildrop_record()):
 * a client that logs in again at once waits for it, up to
 * MAILDROP_LOCK_WAIT_MS, instead of being told the maildrop is in use.
 */
static enum store_status
lock_maildir(struct maildrop *md, char *err, size_t errlen)
{
	struct timespec	start, now;
	struct timespec	nap = { 0, MAILDROP_LOCK_NAP_MS * 1000000L };
	enum store_status st;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if ((st = lock_once(md, err, errlen)) != STORE_INUSE ||
		    clock_gettime(CLOCK_MONOTONIC, &now) == -1 ||
		    (now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    MAILDROP_LOCK_WAIT_MS)
			return st;
		nanosleep(&nap, NULL);
	}
}

static enum store_status
open_subdir(struct maildrop *md, const char *name, int *fd, char *err,
    size_t errlen)
{
	*fd = openat(md->dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd != -1)
		return STORE_OK;
	if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
		return fail(err, errlen, STORE_PERMFAIL,
		    "not a Maildir: no %s/ directory", name);
	return fail(err, errlen, errno_status(errno), "open %s/: %s", name,
	    strerror(errno));
}

/* Room for len more octets in the pool, whose offsets are 32 bits. */
static enum store_status
pool_reserve(struct scan *sc, size_t len)
{
	struct maildrop	*md = sc->md;
	size_t		 want;
	char		*p;

	if (len > UINT32_MAX - md->poolsize)
		return fail(sc->err, sc->errlen, STORE_PERMFAIL,
		    "file names exceed 4 GiB");
	if (md->poolsize + len <= md->poolalloc)
		return STORE_OK;
	want = md->poolalloc < POOL_MIN ? POOL_MIN : md->poolalloc;
	while (want < md->poolsize + len && want <= UINT32_MAX / 2)
		want *= 2;
	if (want < md->poolsize + len)
		want = UINT32_MAX;
	if ((p = realloc(md->pool, want)) == NULL)
		return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
		    "out of memory");
	md->pool = p;
	md->poolalloc = want;
	return STORE_OK;
}

/* Append len octets and a NUL. */
static void
pool_put(struct maildrop *md, const char *s, size_t len)
{
	memcpy(md->pool + md->poolsize, s, len);
	md->pool[md->poolsize + len] = '\0';
	md->poolsize += len + 1;
}

/*
 * Store name as a pool record: the ':' that starts the info becomes a NUL,
 * and a base name that is no valid unique-id gets its fallback after it,
 * one with an imported unique-id (uidlmap.h) that one.
 */
static enum store_status
pool_add_name(struct scan *sc, const char *name, uint32_t *off,
    uint8_t *flags)
{
	struct maildrop	*md = sc->md;
	char		 hash[UIDL_HASH_LEN + 1];
	const char	*uidl = hash;
	size_t		 len = strlen(name), blen = uidl_base_len(name);
	size_t		 ulen = 0;
	enum store_status st;

	*flags &= ~MSG_OWNUIDL;
	if (!uidl_valid(name, blen)) {
		if ((ulen = uidl_hash(name, blen, hash)) == 0)
			return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
			    "SHA-256 unavailable");
		*flags |= MSG_OWNUIDL;
	} else if (sc->imports != NULL &&
	    (uidl = uidlmap_find(sc->imports, name, blen)) != NULL) {
		ulen = strlen(uidl);
		*flags |= MSG_OWNUIDL;
	}
	st = pool_reserve(sc, len + 1 + (ulen ? ulen + 1 : 0));
	if (st != STORE_OK)
		return st;
	*off = md->poolsize;
	pool_put(md, name, len);
	if (blen < len) {
		md->pool[*off + blen] = '\0';
		*flags |= MSG_INFO;
	}
	if (ulen)
		pool_put(md, uidl, ulen);
	return STORE_OK;
}

static size_t
ino_hash(uint64_t ino)
{
	ino ^= ino >> 33;
	ino *= UINT64_C(0xff51afd7ed558ccd);
	return ino ^ (ino >> 33);
}

static void
ino_insert(struct scan *sc, size_t idx)
{
	size_t	h, n;

	if (sc->ents[idx].ino == 0)
		return;
	h = ino_hash(sc->ents[idx].ino);
	for (n = 0; n < MAILDROP_INO_PROBE_MAX; n++, h++)
		if (sc->slots[h & (sc->nslots - 1)] == 0) {
			sc->slots[h & (sc->nslots - 1)] = idx + 1;
			return;
		}
}

/* Slots for twice the entries, one more included: short probe sequences. */
static enum store_status
ino_reserve(struct scan *sc)
{
	uint32_t	*slots;
	size_t		 n, i;

	if (2 * (sc->count + 1) <= sc->nslots)
		return STORE_OK;
	n = sc->nslots ? 2 * sc->nslots : INO_SLOTS_MIN;
	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
		    "out of memory");
	free(sc->slots);
	sc->slots = slots;
	sc->nslots = n;
	for (i = 0; i < sc->count; i++)
		ino_insert(sc, i);
	return STORE_OK;
}

/* The entry of the file with this inode and the base name of name. */
static size_t
ino_find(const struct scan *sc, uint64_t ino, const char *name)
{
	size_t	h, n, j;

	if (ino == 0 || sc->nslots == 0)
		return SIZE_MAX;
	h = ino_hash(ino);
	for (n = 0; n < MAILDROP_INO_PROBE_MAX; n++, h++) {
		if ((j = sc->slots[h & (sc->nslots - 1)]) == 0)
			break;
		j--;
		if (sc->ents[j].ino == ino &&
		    maildir_base_eq(name, sc->md->pool + sc->msgs[j].name))
			return j;
	}
	return SIZE_MAX;
}

/* key: the fstat(2) the size was counted for, or the cache's record of it. */
static enum store_status
scan_add(struct scan *sc, const char *name, uint8_t flags, uint64_t size,
    uint32_t ref, uint64_t ino, const struct stat *key)
{
	struct scan_entry *e;
	struct message	*m;
	enum store_status st;
	size_t		 n;

	if (sc->count >= MAILDROP_MAX_MESSAGES)
		return fail(sc->err, sc->errlen, STORE_PERMFAIL,
		    "more than %d messages", MAILDROP_MAX_MESSAGES);
	if (sc->count == sc->alloc) {
		n = sc->alloc ? sc->alloc * 2 : 1024;
		if ((m = reallocarray(sc->msgs, n, sizeof(*m))) == NULL)
			return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
			    "out of memory");
		sc->msgs = m;
		if ((e = reallocarray(sc->ents, n, sizeof(*e))) == NULL)
			return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
			    "out of memory");
		sc->ents = e;
		sc->alloc = n;
	}
	if (ino != 0 && (st = ino_reserve(sc)) != STORE_OK)
		return st;
	e = &sc->ents[sc->count];
	e->ino = ino;
	e->ref = ref;
	e->pass = sc->pass;
	e->lost = 0;
	m = &sc->msgs[sc->count];
	m->size = size;
	m->flags = flags;
	maildir_check_set(m, key);
	if ((st = pool_add_name(sc, name, &m->name, &m->flags)) != STORE_OK)
		return st;
	ino_insert(sc, sc->count++);
	return STORE_OK;
}

/* d_type when the file system gives it, lstat otherwise. */
static int
is_regular(int dfd, const struct dirent *de)
{
	struct stat	st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_REG;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

/* Size one file; one that vanished or cannot be read is left out. */
static enum store_status
scan_file(struct scan *sc, int dfd, const struct dirent *de, uint8_t flags)
{
	const char	*dir = (flags & MSG_NEW) ? "new" : "cur";
	char		 safe[MAILDIR_NAME_MAX + 1];
	struct stat	 st;
	uint64_t	 size;
	int		 fd, rv;

	if ((fd = maildir_open_file(dfd, de->d_name, &st)) == -1) {
		if (errno == ENOENT)
			return STORE_OK;
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
			return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
			    "open %s/: %s", dir, strerror(errno));
		log_warn("skipping %s/%s", dir,
		    log_sanitize(de->d_name, safe, sizeof(safe)));
		return STORE_OK;
	}
	rv = size_count_fd_len(fd, st.st_size, &size);
	close(fd);
	if (rv == -1) {
		log_warn("skipping %s/%s", dir,
		    log_sanitize(de->d_name, safe, sizeof(safe)));
		return STORE_OK;
	}
	sc->md->counted++;
	/* The key is the fstat(2) taken before the read, not after. */
	return scan_add(sc, de->d_name, flags, size, cache_add(sc->cache,
	    de->d_name, (flags & MSG_NEW) != 0, &st, size), de->d_ino, &st);
}

/* Whether entry j is listed as name in the directory of flags. */
static int
scan_same_name(const struct scan *sc, size_t j, const char *name,
    uint8_t flags)
{
	const struct message	*m = &sc->msgs[j];
	const char		*base = sc->md->pool + m->name;
	size_t			 blen = strlen(base);

	if ((m->flags & MSG_NEW) != flags || strncmp(name, base, blen) != 0)
		return 0;
	if (!(m->flags & MSG_INFO))
		return name[blen] == '\0';
	return name[blen] == ':' && strcmp(name + blen + 1, base + blen + 1) == 0;
}

/*
 * Entry j under the name just met.  Its old pool record stays, unused;
 * its cache entry too, under the old name: the directory changed during
 * the listing, so the next one reads it, finds the file by its base name
 * and inode and writes the entry again under the new name.
 */
static enum store_status
scan_rename(struct scan *sc, size_t j, const char *name, uint8_t flags)
{
	enum store_status st;
	uint32_t	 off;

	if ((st = pool_add_name(sc, name, &off, &flags)) != STORE_OK)
		return st;
	sc->msgs[j].name = off;
	sc->msgs[j].flags = flags;
	return STORE_OK;
}

/*
 * Entry j met again: by a later read, or by this one under a second name
 * because another client renamed the file while it was read.  The later
 * name is kept: a later read met it later; within one read, the name that
 * still exists is the later.
 */
static enum store_status
scan_again(struct scan *sc, size_t j, int dfd, const char *name,
    uint8_t flags)
{
	struct scan_entry	*e = &sc->ents[j];
	struct stat		 st;
	int			 twice;

	if (sc->rechecking) {
		if (!e->lost)
			return STORE_OK;
		e->lost = 0;
		twice = 0;
	} else {
		twice = e->pass == sc->pass;
		e->pass = sc->pass;
	}
	if (scan_same_name(sc, j, name, flags))
		return STORE_OK;
	if (twice && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return STORE_OK;
	return scan_rename(sc, j, name, flags);
}

/* A file met by a read of new/ or cur/. */
static int
scan_visit(void *arg, int dfd, const struct dirent *de)
{
	struct scan	*sc = arg;
	uint8_t		 flags = dfd == sc->md->newfd ? MSG_NEW : 0;
	struct stat	 key;
	uint64_t	 size;
	const uint64_t	*hash = NULL;
	uint32_t	 ref;
	size_t		 j;

	/* Read ahead by scan_dir(): its hash is the next in the queue. */
	if (sc->reading_ahead)
		hash = &sc->ahead[sc->ahead_out++ % MAILDIR_READ_AHEAD];

	/* A file met before was a regular file: no lstat(2) again. */
	if ((j = ino_find(sc, de->d_ino, de->d_name)) != SIZE_MAX)
		sc->status = scan_again(sc, j, dfd, de->d_name, flags);
	else if (!is_regular(dfd, de))
		return 0;
	else if (cache_lookup_hashed(sc->cache, dfd, de->d_name, de->d_ino,
	    (flags & MSG_NEW) != 0, &size, &ref, &key, hash))
		sc->status = scan_add(sc, de->d_name, flags, size, ref,
		    de->d_ino, &key);
	else
		sc->status = scan_file(sc, dfd, de, flags);
	return sc->status != STORE_OK;
}

/*
 * A file scan_visit() will meet a few entries from now (maildir_read_ahead()):
 * the memory its lookups touch at random, fetched meanwhile.  At 100,000
 * files the tables are megabytes, and each lookup would otherwise wait
 * for two or three cache misses in turn.  The hash of each name, worked
 * out at stage 0, waits in sc->ahead for stage 1 and the lookup.
 */
static void
scan_ahead(void *arg, const struct dirent *de, int stage)
{
	struct scan	*sc = arg;

	if (stage == 0) {
		if (de->d_ino != 0 && sc->nslots != 0)
			__builtin_prefetch(&sc->slots[ino_hash(de->d_ino) &
			    (sc->nslots - 1)]);
		sc->ahead[sc->ahead_in++ % MAILDIR_READ_AHEAD] =
		    cache_ahead(sc->cache, de->d_name);
	} else
		cache_ahead_entry(sc->cache, sc->ahead[(sc->ahead_out +
		    MAILDIR_READ_AHEAD / 2) % MAILDIR_READ_AHEAD]);
}

/* The result of maildir_read() or maildir_walk() as a store status. */
static enum store_status
scan_read_status(struct scan *sc, int rv, const char *what)
{
	if (rv == -1)
		return fail(sc->err, sc->errlen, errno_status(errno),
		    "read %s: %s", what, strerror(errno));
	if (rv == MAILDIR_STOPPED)
		return sc->status;
	return STORE_OK;
}

/*
 * Read one directory, again while it changes during the reading: a file
 * renamed meanwhile may have been passed over, and a later read meets it
 * under its new name.  Files met before are not looked at again.
 */
static enum store_status
scan_dir(struct scan *sc, int dfd, const char *what, int which)
{
	enum store_status st;
	int		 n, rv = MAILDIR_CHANGED;

	for (n = 0; n < MAILDROP_SCAN_PASSES && rv == MAILDIR_CHANGED; n++) {
		sc->pass++;
		sc->ahead_in = sc->ahead_out = 0;
		sc->reading_ahead = 1;
		rv = maildir_read_ahead(dfd, scan_visit, scan_ahead, sc);
		sc->reading_ahead = 0;
		if ((st = scan_read_status(sc, rv, what)) != STORE_OK)
			return st;
	}
	sc->last[which] = sc->pass;
	if (rv == MAILDIR_CHANGED)
		sc->changing = 1;
	return STORE_OK;
}

/* Leave out the entries scan_recheck() did not meet. */
static void
scan_drop_lost(struct scan *sc)
{
	size_t	i, n = 0;

	for (i = 0; i < sc->count; i++) {
		if (sc->ents[i].lost)
			continue;
		sc->msgs[n] = sc->msgs[i];
		sc->ents[n++] = sc->ents[i];
	}
	sc->count = n;
	/* Indices have moved, and nothing looks up an inode any more. */
	free(sc->slots);
	sc->slots = NULL;
	sc->nslots = 0;
}

/*
 * The entries that the last read of their directory did not meet: gone,
 * or renamed during that read to a name it passed over.  If neither last
 * read saw its directory change, they are gone (one moved from new/ to
 * cur/ would have been met in cur/, which is read later).  Else new/ and
 * cur/ are read once more, for them and for a file that every read passed
 * over while it was being renamed; this read adds such files and brings
 * back the entries it meets, but leaves out none that the last reads met.
 * Entries still not met are left out, so that the listing names no
 * message that is not there.
 */
static enum store_status
scan_recheck(struct scan *sc)
{
	enum store_status st;
	size_t		 i, lost = 0;
	int		 cur;

	for (i = 0; i < sc->count; i++) {
		cur = !(sc->msgs[i].flags & MSG_NEW);
		sc->ents[i].lost = sc->ents[i].pass != sc->last[cur];
		lost += sc->ents[i].lost;
	}
	if (sc->changing) {
		sc->rechecking = 1;
		sc->pass++;
		st = scan_read_status(sc, maildir_walk(sc->md, scan_visit, sc),
		    "new/ and cur/");
		if (st != STORE_OK)
			return st;
	}
	if (lost > 0)
		scan_drop_lost(sc);
	return STORE_OK;
}

/* Leading decimal seconds, then the M<usec> of the unique part if any. */
static void
parse_time(const char *base, uint64_t *sec, uint32_t *usec)
{
	const char	*p = base;

	*sec = 0;
	*usec = 0;
	for (; isdigit((unsigned char)*p); p++)
		*sec = *sec > (UINT64_MAX - 9) / 10 ? UINT64_MAX :
		    *sec * 10 + (*p - '0');
	if (*p++ != '.')
		return;
	for (; *p != '\0' && *p != '.'; p++) {
		/* Fields of the unique part are a letter and digits. */
		if (*p != 'M' || !isdigit((unsigned char)p[1]) ||
		    !(p[-1] == '.' || isdigit((unsigned char)p[-1])))
			continue;
		for (p++; isdigit((unsigned char)*p); p++)
			*usec = *usec > (UINT32_MAX - 9) / 10 ? UINT32_MAX :
			    *usec * 10 + (*p - '0');
		return;
	}
}

/* The next octet of a stored name read as "base:info"; 0 at its end. */
static int
name_next(const char **p, int *info)
{
	int	c = (unsigned char)**p;

	if (c == '\0') {
		if (!*info)
			return 0;
		*info = 0;
		c = ':';
	}
	(*p)++;
	return c;
}

/* strcmp(3) of two file names in their stored form. */
static int
name_cmp(const char *a, int ainfo, const char *b, int binfo)
{
	int	ca, cb;

	do {
		ca = name_next(&a, &ainfo);
		cb = name_next(&b, &binfo);
	} while (ca == cb && ca != 0);
	return ca - cb;
}

static int
sortkey_cmp(const void *va, const void *vb)
{
	const struct sortkey	*a = va, *b = vb;
	int			 c;

	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	if (a->usec != b->usec)
		return a->usec < b->usec ? -1 : 1;
	c = name_cmp(a->base, a->flags & MSG_INFO, b->base,
	    b->flags & MSG_INFO);
	if (c != 0)
		return c;
	return (a->flags & MSG_NEW) - (b->flags & MSG_NEW);
}

/*
 * The size cache holds this listing: maildrop_record() changes it only if
 * it is still that file.
 */
static void
note_cache(struct maildrop *md)
{
	if (fstatat(md->dirfd, CACHE_FILE, &md->cachest,
	    AT_SYMLINK_NOFOLLOW) == -1)
		md->cachest.st_ino = 0;
}

/*
 * Message i (in the sorted order) is a file without an entry in the cache
 * (still settling): maildrop_record() adds one.  Past RECORD_MOVES_MAX
 * nothing is recorded.
 */
static void
note_unkeyed(struct maildrop *md, size_t i)
{
	if (md->nunkeyed < RECORD_MOVES_MAX && md->unkeyed == NULL &&
	    (md->unkeyed = reallocarray(NULL, RECORD_MOVES_MAX,
	    sizeof(*md->unkeyed))) == NULL) {
		md->nunkeyed = RECORD_MOVES_MAX + 1;
		return;
	}
	if (md->nunkeyed < RECORD_MOVES_MAX)
		md->unkeyed[md->nunkeyed] = i;
	if (md->nunkeyed <= RECORD_MOVES_MAX)
		md->nunkeyed++;
}

/*
 * The cache, in the order just sorted, so that the next listing from it
 * needs no sorting.  A listing from the cache in its own order leaves it
 * as it is; cache_save() writes it only if anything else differs.
 */
static void
save_cache(struct scan *sc, const struct sortkey *keys, int sorted)
{
	uint32_t	*refs;
	size_t		 i;
	int		 cur_whole = 1;

	if (sc->md->from_cache && sorted) {
		/* The file holds this listing, in its order. */
		note_cache(sc->md);
		return;
	}
	if (sc->after[0].st_ino == 0)
		return;
	/* One more: an empty listing still writes an empty cache. */
	if ((refs = reallocarray(NULL, sc->count + 1, sizeof(*refs))) == NULL)
		return;
	for (i = 0; i < sc->count; i++) {
		refs[i] = sc->ents[keys[i].idx].ref;
		if (refs[i] != CACHE_NOREF)
			continue;
		if (!(keys[i].flags & MSG_NEW))
			cur_whole = 0;
		note_unkeyed(sc->md, i);
	}
	if (cache_save(sc->cache, sc->md->dirfd, sc->count, sc->dirs,
	    sc->after, refs, cur_whole) == 0 &&
	    sc->md->nunkeyed <= RECORD_MOVES_MAX)
		note_cache(sc->md);
	free(refs);
}

/*
 * The entries by their cache entry: those kept from the file in its order,
 * which is the last listing's, then those added and those without one.
 * A radix sort of (entry, index) pairs, 11 bits a pass: no comparisons,
 * where readdir(3) gives the files in hash order.
 */
static uint64_t *
order_by_ref(const struct scan *sc)
{
	uint64_t	*a, *b, *t;
	size_t		 cnt[1 << 11], i, c, sum, n = sc->count;
	int		 shift;

	a = reallocarray(NULL, n, sizeof(*a));
	b = reallocarray(NULL, n, sizeof(*b));
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return NULL;
	}
	for (i = 0; i < n; i++)
		a[i] = (uint64_t)sc->ents[i].ref << 32 | i;
	for (shift = 32; shift < 64; shift += 11) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[a[i] >> shift & 2047]++;
		for (sum = 0, i = 0; i < 2048; i++) {
			c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			b[cnt[a[i] >> shift & 2047]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	free(b);
	return a;
}

/* keys[0, h) and keys[h, n) are each in order: merge them. */
static int
merge_tail(struct sortkey *keys, size_t h, size_t n)
{
	struct sortkey	*t;
	size_t		 i = h, j = n - h, o = n;

	if ((t = reallocarray(NULL, n - h, sizeof(*t))) == NULL)
		return -1;
	memcpy(t, keys + h, (n - h) * sizeof(*t));
	while (j > 0)
		if (i > 0 && sortkey_cmp(&keys[i - 1], &t[j - 1]) > 0)
			keys[--o] = keys[--i];
		else
			keys[--o] = t[--j];
	free(t);
	return 0;
}

/*
 * Sort keys: in the cache's order they are mostly in order already (the
 * files met since are few, and come last), so the run in order at the
 * start is kept, the rest sorted and merged into it.  Only a renamed
 * file that sorts elsewhere breaks the run early and costs a bigger sort.
 */
static int
sort_keys(struct sortkey *keys, size_t n)
{
	size_t	h;

	for (h = 1; h < n; h++)
		if (sortkey_cmp(&keys[h - 1], &keys[h]) > 0)
			break;
	if (h >= n)
		return 1;
	qsort(keys + h, n - h, sizeof(*keys), sortkey_cmp);
	if (merge_tail(keys, h, n) == -1)
		qsort(keys, n, sizeof(*keys), sortkey_cmp);
	return 0;
}

/*
 * The delivery times of the listed names, in the order they were met,
 * which is the order of the pool: read straight through, where the sort
 * keys, in the cache's order, would meet the names at random.  NULL when
 * memory is short.
 */
static struct sorttime *
scan_times(const struct scan *sc)
{
	struct sorttime	*t;
	size_t		 j;

	if ((t = reallocarray(NULL, sc->count, sizeof(*t))) == NULL)
		return NULL;
	for (j = 0; j < sc->count; j++)
		parse_time(sc->md->pool + sc->msgs[j].name, &t[j].sec,
		    &t[j].usec);
	return t;
}

/* Move the listing into md->msgs, oldest first, allocated to fit. */
static enum store_status
sort_listing(struct scan *sc)
{
	struct maildrop	*md = sc->md;
	struct sortkey	*keys;
	struct sorttime	*times = NULL;
	uint64_t	*by_ref = NULL;
	size_t		 i, j;
	int		 sorted;

	if (sc->count == 0) {
		save_cache(sc, NULL, 1);
		return STORE_OK;
	}
	keys = reallocarray(NULL, sc->count, sizeof(*keys));
	md->msgs = reallocarray(NULL, sc->count, sizeof(*md->msgs));
	/* From the cache alone, the entries are in its order already. */
	if (keys != NULL && md->msgs != NULL && !md->from_cache)
		by_ref = order_by_ref(sc);
	if (keys == NULL || md->msgs == NULL ||
	    (!md->from_cache && by_ref == NULL)) {
		free(keys);
		return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
		    "out of memory");
	}
	if (by_ref != NULL)
		times = scan_times(sc);
	for (i = 0; i < sc->count; i++) {
		j = by_ref != NULL ? (uint32_t)by_ref[i] : i;
		keys[i].base = md->pool + sc->msgs[j].name;
		if (times != NULL) {
			keys[i].sec = times[j].sec;
			keys[i].usec = times[j].usec;
		} else
			parse_time(keys[i].base, &keys[i].sec, &keys[i].usec);
		keys[i].idx = j;
		keys[i].flags = sc->msgs[j].flags;
	}
	free(times);
	free(by_ref);
	/* A listing from a cache written in this order needs no sorting. */
	sorted = sort_keys(keys, sc->count);
	save_cache(sc, keys, sorted);
	for (i = 0; i < sc->count; i++)
		md->msgs[i] = sc->msgs[keys[i].idx];
	md->count = sc->count;
	/* Which entry each message came from, for note_shared(). */
	if (!md->from_cache && (sc->order = reallocarray(NULL, sc->count,
	    sizeof(*sc->order))) != NULL)
		for (i = 0; i < sc->count; i++)
			sc->order[i] = keys[i].idx;
	free(keys);
	if (!md->from_cache && sc->order == NULL)
		return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
		    "out of memory");
	return STORE_OK;
}

/*
 * Mark every message whose unique-id an earlier one already has, and every
 * message that shares its base name with another (the same thing before
 * the duplicates are renamed).  A hash table of the first of each
 * unique-id, at most half full: one pass, where sorting 100,000 unique-ids
 * cost a sixth of a listing.  The seed keeps file names chosen to collide
 * from making the probes long.
 */
static enum store_status
find_duplicates(struct scan *sc, size_t *ndup)
{
	struct maildrop	*md = sc->md;
	uint32_t	*slots;
	uint64_t	 seed, h;
	size_t		 nslots = 16, i, j;
	const char	*u;

	*ndup = 0;
	while (nslots < 2 * md->count)
		nslots *= 2;
	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
		    "out of memory");
	seed = (uint64_t)arc4random() << 32 | arc4random();
	for (i = 0; i < md->count; i++) {
		u = maildrop_uidl(md, i);
		for (h = cache_hash(seed, u, strlen(u));; h++) {
			if ((j = slots[h & (nslots - 1)]) == 0) {
				slots[h & (nslots - 1)] = i + 1;
				break;
			}
			if (strcmp(maildrop_uidl(md, j - 1), u) == 0) {
				md->msgs[j - 1].flags |= MSG_SHARED;
				md->msgs[i].flags |= MSG_SHARED | MSG_DUP;
				(*ndup)++;
				break;
			}
		}
	}
	free(slots);
	return STORE_OK;
}

/* A new record for message i with ':' + SHA-256 of "new/NAME" as uidl. */
static enum store_status
rename_uidl(struct scan *sc, size_t i)
{
	struct maildrop	*md = sc->md;
	struct message	*m = &md->msgs[i];
	char		 path[4 + MAILDIR_NAME_MAX + 1];
	char		 uidl[UIDL_HASH_LEN + 1];
	const char	*info = maildir_info(md, i);
	size_t		 blen, ilen, ulen;
	enum store_status st;

	memcpy(path, (m->flags & MSG_NEW) ? "new/" : "cur/", 4);
	if (maildir_name(md, i, path + 4, sizeof(path) - 4) == -1 ||
	    (ulen = uidl_hash(path, strlen(path), uidl)) == 0)
		return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
		    "SHA-256 unavailable");
	blen = strlen(maildir_base(md, i));
	ilen = info ? strlen(info) + 1 : 0;
	if ((st = pool_reserve(sc, blen + 1 + ilen + ulen + 1)) != STORE_OK)
		return st;
	/* The pool may have moved: copy from offsets, not old pointers. */
	memmove(md->pool + md->poolsize, md->pool + m->name, blen + 1 + ilen);
	m->name = md->poolsize;
	md->poolsize += blen + 1 + ilen;
	pool_put(md, uidl, ulen);
	m->flags = (m->flags & ~MSG_DUP) | MSG_OWNUIDL;
	return STORE_OK;
}

/*
 * The inodes of the messages that share a base name: what tells them
 * apart when another client has renamed one (maildir_ino()).
 */
static enum store_status
note_shared(struct scan *sc)
{
	struct maildrop	*md = sc->md;
	size_t		 i, n = 0;

	for (i = 0; i < md->count; i++)
		n += (md->msgs[i].flags & MSG_SHARED) != 0;
	if ((md->shared = reallocarray(NULL, n, sizeof(*md->shared))) == NULL)
		return fail(sc->err, sc->errlen, STORE_TEMPFAIL,
		    "out of memory");
	for (i = 0; i < md->count; i++)
		if (md->msgs[i].flags & MSG_SHARED) {
			md->shared[md->nshared].idx = i;
			md->shared[md->nshared++].ino =
			    sc->ents[sc->order[i]].ino;
		}
	return STORE_OK;
}

static enum store_status
unique_uidls(struct scan *sc)
{
	struct maildrop	*md = sc->md;
	enum store_status st;
	size_t		 i, ndup;

	/*
	 * From the cache, base names are known to differ, and so do the
	 * unique-ids: a fallback starts with ':', which no base name has.
	 */
	if (md->from_cache)
		return STORE_OK;
	if ((st = find_duplicates(sc, &ndup)) != STORE_OK || ndup == 0 ||
	    (st = note_shared(sc)) != STORE_OK)
		return st;
	for (i = 0; i < md->count; i++)
		if ((md->msgs[i].flags & MSG_DUP) &&
		    (st = rename_uidl(sc, i)) != STORE_OK)
			return st;
	return STORE_OK;
}

/*
 * cur/ as the cache has it, when its stamp matched before new/ was read
 * and cur/ is still as it was now that new/ has been: nothing was renamed
 * into cur/ meanwhile, so what the reading of new/ missed is nowhere.  The
 * files count as met by one read of cur/ that saw no change.
 */
static enum store_status
scan_cached_cur(struct scan *sc, int *done)
{
	char			name[MAILDIR_NAME_MAX + 1];
	struct stat		key, now;
	enum store_status	st;
	uint64_t		size;
	uint32_t		ref;
	int			in_new;

	*done = 0;
	if (fstat(sc->md->curfd, &now) == -1 ||
	    !maildir_same_times(&now, &sc->dirs[1]))
		return STORE_OK;
	sc->pass++;
	while (cache_next(sc->cache, name, &in_new, &size, &ref, &key))
		if ((st = scan_add(sc, name, 0, size, ref, key.st_ino,
		    &key)) != STORE_OK)
			return st;
	sc->last[1] = sc->pass;
	sc->md->cur_from_cache = 1;
	*done = 1;
	return STORE_OK;
}

/*
 * Both directories, file by file, new/ first: a file moved to cur/ between
 * the two reads is met in both, never in neither.  cur/ is not read when
 * it has not changed since the cache recorded it: a poll finds new mail in
 * new/, and in a maildrop left on the server most files are in cur/.  The
 * cache is saved once the listing is sorted.
 */
static enum store_status
scan_dirs(struct scan *sc)
{
	enum store_status	st;
	int			cached;

	cached = !shared_storage &&
	    cache_listing_cur(sc->cache, &sc->dirs[1]);
	if ((st = scan_dir(sc, sc->md->newfd, "new/", 0)) != STORE_OK ||
	    (cached && (st = scan_cached_cur(sc, &cached)) != STORE_OK) ||
	    (!cached &&
	    (st = scan_dir(sc, sc->md->curfd, "cur/", 1)) != STORE_OK) ||
	    (st = scan_recheck(sc)) != STORE_OK)
		return st;
	if (fstat(sc->md->newfd, &sc->after[0]) == -1 ||
	    fstat(sc->md->curfd, &sc->after[1]) == -1)
		sc->after[0].st_ino = 0;
	return STORE_OK;
}

/* The listing as the cache has it: neither directory changed since. */
static enum store_status
scan_cached(struct scan *sc)
{
	char			name[MAILDIR_NAME_MAX + 1];
	struct stat		key;
	enum store_status	st;
	uint64_t		size;
	uint32_t		ref;
	int			in_new;

	while (cache_next(sc->cache, name, &in_new, &size, &ref, &key))
		if ((st = scan_add(sc, name, in_new ? MSG_NEW : 0, size, ref,
		    0, &key)) != STORE_OK)
			return st;
	sc->md->from_cache = 1;
	/* The stamps matched: new/ and cur/ are as they were before. */
	memcpy(sc->after, sc->dirs, sizeof(sc->after));
	return STORE_OK;
}

/*
 * The total saturates, and so does the size that would pass it: every
 * sum a session makes of listed sizes (STAT, LIST, after DELE) is at most
 * the total and can never wrap to a small number.  The cache bounds its
 * own sizes (CACHE_TOTAL_MAX); this holds whatever the source.
 */
static void
sum_sizes(struct maildrop *md)
{
	size_t	i;

	md->total = 0;
	for (i = 0; i < md->count; i++) {
		if (md->msgs[i].size > UINT64_MAX - md->total)
			md->msgs[i].size = UINT64_MAX - md->total;
		md->total += md->msgs[i].size;
	}
}

static enum store_status
list_maildir(struct maildrop *md, char *err, size_t errlen)
{
	struct scan	 sc;
	enum store_status st;
	char		*p;

	memset(&sc, 0, sizeof(sc));
	sc.md = md;
	sc.err = err;
	sc.errlen = errlen;
	/* Taken first: a change from here on makes the stamps differ. */
	if (fstat(md->newfd, &sc.dirs[0]) == -1 ||
	    fstat(md->curfd, &sc.dirs[1]) == -1)
		return fail(err, errlen, STORE_TEMPFAIL, "fstat: %s",
		    strerror(errno));
	if (uidlmap_load(md->dirfd, &sc.imports) == -1)
		return fail(err, errlen, STORE_TEMPFAIL, "imported unique-ids "
		    "cannot be read now (memory, I/O)");
	sc.cache = cache_open(md->dirfd);
	if (!shared_storage && cache_listing(sc.cache, sc.dirs))
		st = scan_cached(&sc);
	else
		st = scan_dirs(&sc);
	/* The cache is written once the listing is in order. */
	if (st == STORE_OK)
		st = sort_listing(&sc);
	cache_free(sc.cache);
	/* Before unique_uidls(): imported ones that clash give way first. */
	if (st == STORE_OK)
		uidlmap_finish(sc.imports, md);
	else
		uidlmap_free(sc.imports);
	if (st == STORE_OK)
		st = unique_uidls(&sc);
	if (st == STORE_OK)
		sum_sizes(md);
	free(sc.msgs);
	free(sc.ents);
	free(sc.slots);
	free(sc.order);
	/* Give back what doubling left over: the pool lives all session. */
	if (st == STORE_OK && md->poolsize > 0 &&
	    md->poolsize < md->poolalloc &&
	    (p = realloc(md->pool, md->poolsize)) != NULL) {
		md->pool = p;
		md->poolalloc = md->poolsize;
	}
	return st;
}

enum store_status
maildrop_open(struct maildrop *md, const char *path, char *err, size_t errlen)
{
	enum store_status st;

	memset(md, 0, sizeof(*md));
	md->dirfd = md->newfd = md->curfd = -1;
	md->lockfd = md->notifyfd = md->newwd = -1;
	if (errlen > 0)
		err[0] = '\0';
	st = open_maildir(md, path, err, errlen);
	if (st == STORE_OK)
		st = lock_maildir(md, err, errlen);
	if (st == STORE_OK)
		st = open_subdir(md, "new", &md->newfd, err, errlen);
	if (st == STORE_OK)
		st = open_subdir(md, "cur", &md->curfd, err, errlen);
	/* Before the listing looks at cur/: every change after is an event. */
	if (st == STORE_OK && !shared_storage)
		maildrop_watch(md, path);
	if (st == STORE_OK)
		st = list_maildir(md, err, errlen);
	if (st != STORE_OK)
		maildrop_close(md);
	return st;
}

int
maildrop_open_message(struct maildrop *md, size_t i)
{
	char		name[MAILDIR_NAME_MAX + 1];
	struct stat	st;
	int		dfd, fd, found, tries;

	if (i >= md->count) {
		errno = EINVAL;
		return -1;
	}
	if (maildir_name(md, i, name, sizeof(name)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dfd = maildir_dirfd(md, i);
	for (tries = 0;; tries++) {
		fd = maildir_open_file(dfd, name, &st);
		if (fd != -1 && !maildir_is_message(md, i, dfd, name, &st)) {
			close(fd);
			fd = -1;
			errno = ENOENT;
		}
		if (fd != -1 && !maildir_check_ok(&md->msgs[i], &st)) {
			close(fd);
			maildrop_distrust_sizes(md);
			errno = ESTALE;
			return -1;
		}
		if (fd != -1 || errno != ENOENT || tries == MAILDROP_FIND_TRIES)
			return fd;
		found = maildir_find_moved(md, i, name, sizeof(name), &dfd);
		if (found != 1) {
			if (found == 0)
				errno = ENOENT;
			return -1;
		}
	}
}

const char *
maildrop_name(const struct maildrop *md, size_t i)
{
	static char	buf[4 + MAILDIR_NAME_MAX + 1];
	int		saved = errno;

	if (i >= md->count)
		return "";
	memcpy(buf, (md->msgs[i].flags & MSG_NEW) ? "new/" : "cur/", 4);
	if (maildir_name(md, i, buf + 4, sizeof(buf) - 4) == -1)
		buf[4] = '\0';
	errno = saved;
	return buf;
}

const char *
maildrop_uidl(const struct maildrop *md, size_t i)
{
	const char	*p;

	if (i >= md->count)
		return "";
	p = maildir_base(md, i);
	if (!(md->msgs[i].flags & MSG_OWNUIDL))
		return p;
	p += strlen(p) + 1;
	if (md->msgs[i].flags & MSG_INFO)
		p += strlen(p) + 1;
	return p;
}

void
maildrop_close(struct maildrop *md)
{
	if (md->curfd != -1)
		close(md->curfd);
	if (md->newfd != -1)
		close(md->newfd);
	if (md->dirfd != -1)
		close(md->dirfd);
	if (md->lockfd != -1)
		close(md->lockfd);
	if (md->notifyfd != -1)
		close(md->notifyfd);
	free(md->msgs);
	free(md->pool);
	free(md->shared);
	free(md->done);
	free(md->donenames);
	free(md->unkeyed);
	memset(md, 0, sizeof(*md));
	md->dirfd = md->newfd = md->curfd = -1;
	md->lockfd = md->notifyfd = md->newwd = -1;
}

void
maildrop_shared_storage(int on)
{
	shared_storage = on != 0;
}

void
maildrop_distrust_sizes(struct maildrop *md)
{
	if (md->dirfd != -1)
		cache_remove(md->dirfd);
}
