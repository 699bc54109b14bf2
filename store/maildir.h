/*
 * The files behind a listed maildrop, shared by the listing (maildrop.c)
 * and the UPDATE state (commit.c).  Names here are relative to the new/ or
 * cur/ descriptor of the message; nothing takes a path from elsewhere.
 */
#ifndef POP3D_MAILDIR_H
#define POP3D_MAILDIR_H

#include <sys/stat.h>

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#include "store/maildrop.h"

/* The base name of message i: its file name up to the first ':'. */
const char *maildir_base(const struct maildrop *, size_t i);

/* The info after the ':', or NULL when the name has none. */
const char *maildir_info(const struct maildrop *, size_t i);

/*
 * 24 bits of a file's length and modification time: the check of the
 * message whose size was counted for them (struct message).  Any other
 * length with the same time gives another check unless the two differ by
 * a multiple of 16 MiB; another time, all but once in 2^24.  A whole
 * RETR counts the octets it sends as well (msgout.h).
 */
void	maildir_check_set(struct message *, const struct stat *);
int	maildir_check_ok(const struct message *, const struct stat *);

/* The descriptor of the directory message i was listed in. */
int	maildir_dirfd(const struct maildrop *, size_t i);

/* The file name of message i into buf; -1 if it does not fit. */
int	maildir_name(const struct maildrop *, size_t i, char *buf, size_t len);

/* Whether the file name has the given base name. */
int	maildir_base_eq(const char *name, const char *base);

/*
 * A base name as listings give them, taken from a file of records
 * (pop3d.retrieved, pop3d.uidl): 1 to MAILDIR_NAME_MAX octets, not
 * starting with '.', no '/', ':', blank or control octet.
 */
int	maildir_base_ok(const char *s, size_t len);

/*
 * Open name in dfd for reading: a regular file only, never through a
 * symbolic link, never blocking on a FIFO.  -1 with errno ENOENT when the
 * name is gone or no longer a regular file.  st, if not NULL, gets its
 * fstat(2).
 */
int	maildir_open_file(int dfd, const char *name, struct stat *st);

/*
 * What maildir_read() calls for each entry whose name does not start with
 * '.', with the descriptor of the directory read; non-zero stops it.
 */
typedef int (*maildir_visit)(void *arg, int dfd, const struct dirent *);

#define MAILDIR_STILL	0	/* read whole; the directory did not change */
#define MAILDIR_CHANGED	1	/* read whole, but it changed meanwhile */
#define MAILDIR_STOPPED	2	/* the visitor stopped the reading */

/* Whether a directory's fstat(2) shows no change between a and b. */
int	maildir_same_times(const struct stat *a, const struct stat *b);

/*
 * Read the directory dfd with a stream of its own.  -1 with errno on a
 * read error.  MAILDIR_CHANGED says that entries were created, renamed or
 * removed meanwhile: in a directory read in hash order (ext4, XFS) a file
 * renamed during the reading can be met twice or not at all.  The change
 * shows in the directory's modification and change times: always where a
 * stat(2) makes the next change take a fine-grained time (the "multigrain"
 * times of Linux 6.13 on ext4, XFS, Btrfs and tmpfs); with coarse times a
 * change in the same clock tick as the one before the reading goes unseen.
 */
int	maildir_read(int dfd, maildir_visit, void *arg);

/*
 * The same, but each entry is read MAILDIR_READ_AHEAD entries before it
 * is visited, and ahead() is told of it then (stage 0) and again half as
 * many entries before its visit (stage 1): a lookup per entry in tables
 * too big for the CPU's caches can fetch its memory in time, two levels
 * deep, instead of waiting for each miss in turn.  Stage 0 comes for
 * every entry in the order read, and stage 1 and the visits in that same
 * order (stage 1 not for the first MAILDIR_READ_AHEAD / 2 entries of a
 * short directory), so that the caller can keep what stage 0 worked out
 * in a queue of its own.  The entries visited are copies: d_ino, d_type
 * and d_name alone are set.
 */
#define MAILDIR_READ_AHEAD	16
typedef void (*maildir_ahead)(void *arg, const struct dirent *, int stage);
int	maildir_read_ahead(int dfd, maildir_visit, maildir_ahead, void *arg);

/*
 * new/, then cur/: a file moved from new/ to cur/ meanwhile is met at
 * least once.  MAILDIR_CHANGED if either directory changed.
 */
int	maildir_walk(const struct maildrop *, maildir_visit, void *arg);

/*
 * The inode of message i when another listed file has its base name
 * (MSG_SHARED), which tells the two apart; 0 for any other message.
 */
uint64_t maildir_ino(const struct maildrop *, size_t i);

/*
 * Whether the file name in dfd is still message i: when another listed
 * file shares its base name, renames can give one of them the other's
 * listed name, and the inode tells.  st, if not NULL, is the file's
 * fstat(2) already taken; else fstatat(2) is called.  0 with errno ENOENT
 * when it is not.
 */
int	maildir_is_message(const struct maildrop *, size_t i, int dfd,
	    const char *name, const struct stat *st);

/*
 * Look in new/ and cur/ for the file of message i, once another client
 * moved it to cur/ or changed its flags: a file with its base name, and
 * with its inode if maildir_ino() knows it.  1, its name in buf and its
 * directory in *dfd; 0 if there is none (after up to MAILDROP_SCAN_PASSES
 * walks while the directories keep changing); -1 on a read error.
 */
int	maildir_find_moved(const struct maildrop *, size_t i, char *buf,
	    size_t len, int *dfd);

#endif
