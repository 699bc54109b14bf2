/*
 * The size cache of a Maildir: "pop3d.cache" in its top directory, which
 * keeps the POP3 size of every listed message so that a login reads only
 * the files it has not seen before.  pop3d alone reads and writes it, as
 * the mailbox owner, under the maildrop lock; other software ignores it.
 *
 * An entry is keyed by the base name (the file name before ':', so that a
 * flag change or a move from new/ to cur/ keeps it) and by the inode, the
 * length (st_size) and the modification time in nanoseconds of the file.
 * A file replaced under its name has another inode, one changed in place
 * another length or time: either way the entry no longer matches, the file
 * is read again and the next cache drops the old entry.  A file modified
 * within CACHE_SETTLE_SECONDS of being counted could keep its time stamp,
 * so such a file is not cached until it has settled.
 *
 * ",S=<n>" and ",W=<n>" in names are never taken for a size: ",W=" cannot
 * be known true without reading the file, and ",S=" (the on-disk length)
 * is not the POP3 size.  Only a count of the file's octets goes into the
 * cache.
 *
 * The file is untrusted input: a bad magic, version, length, checksum or
 * any field out of range makes the whole file count as absent (it is then
 * rebuilt), never a crash.  It is written to tmp/ and renamed into place,
 * without fsync(2): a cache lost in a crash is merely rebuilt, and a torn
 * one fails its checksum.  When it cannot be written (read-only, full,
 * not permitted) the session goes on without it and logs that once.
 *
 * The checksum finds torn and damaged files, not forgeries: only the
 * mailbox owner can write the file, and all a forged entry could do is
 * misstate the size of one of the owner's messages within the bounds
 * below, which RETR then catches.  It is not a cryptographic hash, so that
 * a login need not start a crypto library to read the cache.
 *
 * Format, version 2, integers little-endian:
 *
 *	header	 8 octets  magic "POP3DSZ\n"
 *		 4	   version, 2
 *		 4	   number of entries, at most MAILDROP_MAX_MESSAGES
 *	entry	 8	   st_ino
 *		 8	   st_size, at most CACHE_SIZE_MAX
 *		 8	   st_mtim.tv_sec, two's complement
 *		 4	   st_mtim.tv_nsec, below 1,000,000,000
 *		 2	   length of the base name, 1 to CACHE_NAME_MAX
 *		 2	   zero
 *		 8	   POP3 size (see size.h): 0 for an empty file, else
 *			   from st_size to 2 * st_size + 2
 *		 n	   the base name: no NUL, '/' or ':'
 *	trailer	 8	   cache_checksum() of every octet before it
 *
 * The whole file is at most CACHE_FILE_MAX octets and ends right after the
 * trailer.
 */
#ifndef POP3D_CACHE_H
#define POP3D_CACHE_H

#include <sys/stat.h>

#include <stdint.h>

#define CACHE_FILE	"pop3d.cache"		/* in the top directory */
#define CACHE_TMP	"pop3d.cache.tmp"	/* in tmp/, then renamed */
#define CACHE_MAGIC	"POP3DSZ\n"
#define CACHE_VERSION	2

#define CACHE_HEADER	16	/* magic, version, count */
#define CACHE_RECORD	40	/* an entry without its name */
#define CACHE_TRAILER	8	/* the checksum */

/*
 * Reading the file costs a buffer this large for the time of the listing:
 * 64 MiB holds some 600,000 entries of the usual 60-octet names.  A cache
 * that would grow beyond it keeps the entries it has; the other messages
 * are read at every login.
 */
#define CACHE_FILE_MAX	(64 * 1024 * 1024)

/* NAME_MAX: the longest file name of Linux and the BSDs. */
#define CACHE_NAME_MAX	255

/* Larger than any file; keeps 2 * st_size + 2 far from overflowing. */
#define CACHE_SIZE_MAX	(UINT64_C(1) << 60)

/*
 * Slots a lookup probes in the hash table before it gives up: colliding
 * names in a hostile cache then cost re-reads, never quadratic time.
 */
#define CACHE_PROBE_MAX	32

/*
 * A file whose modification time is less than this many seconds before
 * the listing is not cached: a write in the same tick of a coarse clock
 * (one second on some file systems) leaves the time unchanged.
 */
#define CACHE_SETTLE_SECONDS	2

/* One write(2) per 64 KiB while the cache is written; a multiple of 8. */
#define CACHE_CHUNK	(64 * 1024)

struct cache;

/*
 * Read and check the cache of the Maildir at dirfd.  A missing, unreadable
 * or invalid cache gives an empty one; NULL only when memory is short, and
 * every function below takes NULL as a cache that never matches.
 */
struct cache	*cache_open(int dirfd);

/*
 * The cached size of the file name in dfd, if the file is a regular file
 * whose fstatat(2) still matches the entry of its base name: 1 and the size
 * in *size.  0 when it has to be counted.
 */
int	cache_lookup(struct cache *, int dfd, const char *name, uint64_t *size);

/* Note the size just counted of the file name, whose fstat(2) is st. */
void	cache_add(struct cache *, const char *name, const struct stat *st,
	    uint64_t size);

/*
 * Write the cache into the Maildir at dirfd when it differs from the file
 * read: new messages counted, messages gone, an invalid file replaced.
 * The entries are those looked up successfully and those added.
 */
void	cache_save(struct cache *, int dirfd);

void	cache_free(struct cache *);

/*
 * The checksum of the file: start with CACHE_SUM_INIT, feed the octets in
 * pieces whose lengths are multiples of 8 except the last, then end with
 * cache_sum_end() and the total length.
 */
#define CACHE_SUM_INIT	UINT64_C(0x706f703364737a31)	/* "pop3dsz1" */
uint64_t cache_sum(uint64_t, const unsigned char *, size_t);
uint64_t cache_sum_end(uint64_t, uint64_t total);

#endif
