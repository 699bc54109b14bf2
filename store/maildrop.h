/*
 * A maildrop: the snapshot of one Maildir taken at login.
 *
 * The session runs as the mailbox owner.  Every file is opened relative to
 * a descriptor of new/ or cur/ (themselves opened from the Maildir's with
 * O_NOFOLLOW) with O_NOFOLLOW; names come only from readdir(3) of new/ and
 * cur/, so nothing outside the Maildir is reached.
 * Nothing on disk changes before maildrop_commit() (the RFC 1939 UPDATE
 * state); a dropped connection simply never calls it.
 */
#ifndef POP3D_MAILDROP_H
#define POP3D_MAILDROP_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* In the top of the Maildir: the maildrop lock (maildrop.c). */
#define MAILDROP_LOCK_FILE	"pop3d.lock"

enum store_status {
	STORE_OK,
	STORE_INUSE,	/* another session holds the maildrop lock */
	STORE_TEMPFAIL,	/* I/O error, out of memory: try again later */
	STORE_PERMFAIL	/* not a Maildir, too many messages: an operator must act */
};

#define MSG_NEW		0x01	/* the file is in new/ */
#define MSG_DELETED	0x02	/* DELE'd in this session */
#define MSG_RETRIEVED	0x04	/* RETR'd: gets the S flag at commit */
/* The store's own bookkeeping, and 0x80 while listing: callers keep off. */
#define MSG_INFO	0x08	/* the name has a ':' and an info part */
#define MSG_OWNUIDL	0x10	/* the uidl is stored, not the base name */
#define MSG_SHARED	0x20	/* another listed file (another inode) has the
				   same base name */

/*
 * Compact: 16 bytes a message plus its name, stored once.  A pool record
 * is the base name (the file name up to the first ':') and a NUL, then
 * with MSG_INFO the info after the ':' and a NUL, then with MSG_OWNUIDL
 * the unique-id and a NUL.  Without MSG_OWNUIDL the base name is the
 * unique-id, so the common case costs no second copy.
 *
 * check is 24 bits of the length and modification time of the file the
 * size was counted for (maildir_check()), in what would be padding: most
 * sizes come from the size cache without a stat(2) of the file, and the
 * open of the message compares its fstat(2) with them.
 */
struct message {
	uint64_t	size;	/* octets RETR sends, before stuffing: see size.h */
	uint32_t	name;	/* offset in the pool of the record above */
	uint8_t		flags;
	uint8_t		check[3];
};
_Static_assert(sizeof(struct message) == 16, "16 bytes a message");

/* The inode of a message whose base name another one shares. */
struct maildrop_ino {
	size_t		idx;
	uint64_t	ino;
};

struct maildrop {
	int		 dirfd;		/* the Maildir itself; holds the flock */
	int		 lockfd;	/* MAILDROP_LOCK_FILE: the OFD lock */
	int		 newfd;		/* its new/ and cur/, opened without */
	int		 curfd;		/* following a symbolic link */
	struct message	*msgs;		/* oldest first, message n is msgs[n - 1] */
	size_t		 count;
	uint64_t	 total;		/* sum of sizes, deleted ones included */
	size_t		 counted;	/* sized by reading, not from the cache */
	int		 from_cache;	/* listed from the cache: no readdir */
	int		 cur_from_cache; /* cur/ from it, new/ read */
	char		*pool;		/* NUL-terminated names and uidls */
	size_t		 poolsize;
	size_t		 poolalloc;
	struct maildrop_ino *shared;	/* MSG_SHARED ones, by index */
	size_t		 nshared;
	/* For maildrop_record(): */
	int		 notifyfd;	/* inotify on cur/ and new/ from
					   before the listing, or -1 */
	int		 curwd;		/* its watch of cur/ */
	int		 newwd;		/* its watch of new/, or -1 */
	struct stat	 cachest;	/* the size cache as the listing left
					   it; st_ino 0: unknown */
	size_t		*unkeyed;	/* listed files it has no entry for,
					   by index */
	size_t		 nunkeyed;
	struct maildrop_done *done;	/* what the commit did, in order */
	size_t		 ndone;
	char		*donenames;	/* their new names, NUL-terminated */
	size_t		 donelen;
	int		 recordable;	/* the commit did all it meant to, and
					   the moves are in done */
};

/* A file the commit unlinked or renamed. */
struct maildrop_done {
	size_t		idx;
	size_t		name;		/* offset in donenames; SIZE_MAX: unlinked */
};

/*
 * Open the Maildir at path (creating new/, cur/, tmp/ if it does not exist
 * yet), take the exclusive lock (STORE_INUSE when another session, on
 * this host or another, holds it), list new/ and cur/ and size every message.
 * A size comes from the Maildir's size cache when the file is unchanged
 * since it was counted (see cache.h), else from reading the file; the
 * cache is brought up to date before this returns.
 * On failure a short reason for the log is put in err.
 */
enum store_status maildrop_open(struct maildrop *, const char *path,
	    char *err, size_t errlen);

/*
 * Open message i (0-based) for reading; -1 with errno ENOENT if it vanished,
 * ESTALE if its length or modification time is no longer those its size
 * was counted for (a file rewritten in place): its size cannot be sent,
 * and the size cache is removed (maildrop_distrust_sizes()).
 * Another client (an IMAP server, a mail reader) may have moved the file
 * from new/ to cur/ or changed its flags since the listing: when the name
 * is gone, new/ and cur/ are searched for a file with its base name (and
 * its inode, when another listed file shares the base name), and again if
 * the file found is renamed before it is opened, up to
 * MAILDROP_FIND_TRIES times.
 */
int	maildrop_open_message(struct maildrop *, size_t i);

/*
 * "new/NAME" or "cur/NAME" of message i, for log lines.  The string lives
 * in a static buffer, valid until the next call; errno is left alone.
 */
const char *maildrop_name(const struct maildrop *, size_t i);
/* The unique-id of message i; valid until maildrop_close(). */
const char *maildrop_uidl(const struct maildrop *, size_t i);

struct commit_result {
	size_t		deleted;	/* files unlinked */
	uint64_t	deleted_bytes;	/* their size, as reported */
	size_t		failed;		/* deletions that failed (not vanished ones) */
};

/*
 * The UPDATE state: unlink the messages marked deleted, move retrieved ones
 * from new/ to cur/ with the S flag, keep maildirsize right, fsync new/ and
 * cur/.  Returns STORE_OK when every deletion is on disk.
 *
 * A file another client moved to cur/ or re-flagged is found under its
 * new name (as in maildrop_open_message()); one under no name in new/ or
 * cur/ was expunged by that client and counts as deleted, not failed, but
 * one that cannot be caught between renames counts as failed: only what is
 * gone counts as deleted.  If the Maildir has a
 * Maildir++ "maildirsize", one line "-bytes -count" is appended for the
 * files unlinked here, bytes from ",S=<n>" in the name or else the file
 * size.  A maildirsize over 5120 bytes is left for its next reader to
 * recalculate, as Maildir++ asks; it is never removed.
 */
enum store_status maildrop_commit(struct maildrop *, struct commit_result *);

/*
 * Other hosts may change the Maildir (shared_storage in pop3d.conf(5)):
 * every maildrop_open() from now on reads new/ and cur/ instead of
 * taking the listing from the size cache alone.
 */
void	maildrop_shared_storage(int);

/*
 * After maildrop_commit() and its reply: record in the size cache cur/ as
 * the commit left it, when it is proven that nothing else changed it since
 * before the listing (store/record.c, cache.h); the next login then takes
 * cur/ from the cache.  new/ too, when the same is proven of it: the next
 * login then takes the whole listing from the cache.  A failure records
 * nothing and changes nothing else.  Call before maildrop_close(): the
 * lock keeps other sessions out.
 */
void	maildrop_record(struct maildrop *);

/*
 * For maildrop_open(): watch cur/ and new/ (of the Maildir at path) with
 * inotify(7) before they are listed; without a watch of cur/ (no inotify,
 * too many instances) maildrop_record() records nothing, without one of
 * new/ it records cur/ alone.
 */
void	maildrop_watch(struct maildrop *, const char *path);

/* Release the lock and the memory; deletes nothing. */
void	maildrop_close(struct maildrop *);

/*
 * A message was found to differ from its listed size: drop the size
 * cache, so that the next session counts every message again.
 */
void	maildrop_distrust_sizes(struct maildrop *);

#endif
