/*
 * The size cache of a Maildir: "pop3d.cache" in its top directory, which
 * keeps the POP3 size of every listed message so that a login reads only
 * the files it has not seen before.  pop3d alone reads and writes it, as
 * the mailbox owner, under the maildrop lock; other software ignores it.
 *
 * An entry is keyed by the base name (the file name before ':', so that a
 * flag change or a move from new/ to cur/ keeps it) and by the inode, the
 * length (st_size) and the modification time in nanoseconds of the file;
 * it also keeps the whole name and whether the file is in new/ or cur/.
 * A file modified within CACHE_SETTLE_SECONDS of being counted could keep
 * its time stamp, so such a file is not cached until it has settled.
 *
 * What a login looks at.  A file whose base name and inode, as readdir(3)
 * gives them (d_ino), match an entry takes its size without a stat(2):
 * 100,000 stat(2)s cost more than the rest of a listing together, and in
 * a maildrop polled by a client that leaves mail on the server, every
 * session finds new/ and cur/ changed (deliveries, and the moves of the
 * last session).  A file replaced under its name, as Maildir writers
 * replace files, has another inode and is read again; the next cache drops
 * the old entry.  Where d_ino is not st_ino (overlayfs without xino) the
 * inodes never match, and each file is stat(2)ed and matched by inode,
 * length and time as before: slower, never wrong.
 *
 * What is not detected at login: a file rewritten in place (same inode),
 * which no Maildir writer does.  The listing keeps 24 bits of the length
 * and time each size was counted for (struct message), and the open of
 * the message for RETR or TOP compares them with its fstat(2): a change
 * makes the open fail (maildrop_open_message(), ESTALE), so the stale size
 * is never sent, and the cache is removed, so the next login counts every
 * file.  One time change in 2^24 passes that check, and a length change
 * by a multiple of 16 MiB with the time put back; a whole RETR also counts
 * the octets it sends against the size (msgout.h).
 *
 * ",S=<n>" and ",W=<n>" in names are never taken for a size: ",W=" cannot
 * be known true without reading the file, and ",S=" (the on-disk length)
 * is not the POP3 size.  Only a count of the file's octets goes into the
 * cache.
 *
 * The listing itself.  Deliveries, moves, flag changes and deletions in a
 * Maildir all create, rename or unlink directory entries, and each changes
 * the directory's modification and change times.  So the cache records a
 * stamp of new/ and of cur/ (inode, size, both times in nanoseconds), and
 * when both still match at the next login and the entries were the whole
 * listing, the listing comes from the cache alone: no readdir(3), no
 * stat(2) per message.  A stamp is recorded only for a directory that did
 * not change while it was read and whose times are CACHE_SETTLE_SECONDS
 * old, so that a later change in the same clock tick cannot go unseen.
 * When cur/ alone still matches (new mail arrived in new/) and every file
 * in cur/ had an entry (CACHE_CUR_COMPLETE), only new/ is read and cur/
 * comes from the cache, provided cur/ is still unchanged once new/ has
 * been read: a file moved from new/ to cur/ meanwhile changes cur/.
 * A file rewritten in place is caught at its open, as above.
 *
 * What a session records.  A client that leaves mail on the server finds
 * cur/ changed at every poll by the previous session's own QUIT, which
 * moved what it retrieved from new/ to cur/ with the S flag.  So after
 * its commit (and after the reply to QUIT, the maildrop still locked) a
 * session records cur/ as it left it, when it can prove that cur/ holds
 * exactly the files it listed, plus its own moves, minus its own unlinks
 * (store/record.c, cache_commit()):
 *  1. Before the listing looks at cur/, an inotify(7) watch on cur/ for
 *     every change of its entries (create, delete, both halves of a
 *     rename, cur/ itself deleted or moved; an overflow comes anyway).
 *     A change before the watch shows in the fstat(2) of cur/ the listing
 *     starts from (the times are set before the event is queued), and a
 *     readdir(3) of cur/ waits for a change in progress.  No watch (no
 *     inotify, EMFILE: 128 instances per uid by default, which virtual
 *     users of one uid share; shared_storage, where other hosts' changes
 *     make no event) records nothing.
 *  2. The cache file is still the one the listing wrote or found exact
 *     (same inode, length and times), and its entries of cur/, with the
 *     listed files of cur/ it had none for (still settling, at most
 *     RECORD_MOVES_MAX: the listing notes them), are the listed files of
 *     cur/.  So one poll that recorded nothing (another client changed
 *     cur/) does not keep the next from recording: the files it moved
 *     have no entry yet at the next login.
 *  3. After the commit's renames and unlinks: the fstat(2) of cur/ (S1),
 *     whose times must have nanoseconds (a file system of 1 s or 2 s
 *     ticks records nothing: the settle rule stays for it); then a wait,
 *     bounded by RECORD_WAIT_MS, until the coarse real-time clock, which
 *     stamps directory times, is past both times of S1: any change after
 *     it gets other times, so that the stamp S1 no longer matches.
 *  4. A lookup in cur/ of a random name that is not there: it takes the
 *     lock of cur/, which every change of its entries holds from setting
 *     the times to queueing the event, so every change that S1 shows has
 *     queued its event once the lookup returns.  A change that S1 does
 *     not show took its times after the wait, and differs from S1.
 *  5. Every queued event is one of the commit's own, matched by kind and
 *     exact name, each at most once, and each of them is met; any other
 *     event, an overflow, or a failed step records nothing.
 *  6. Each moved file, and each listed file without an entry (of cur/;
 *     of new/ too when new/ is recorded), is still the file its size was
 *     counted for (its check, as at the open) and its time is past the
 *     clock's tick too.
 * new/ is recorded the same way, with the same inotify instance: a watch
 * on new/ from before the listing, its fstat(2) after the commit (N1), the
 * clock waited for past N1's times, a lookup in new/, and no event of
 * new/ but the commit's own moves out of it, each met.  A leave-on-server
 * client's next login then takes the whole listing from the cache, even
 * right after a session that read new/ while deliveries were settling.
 * What fails there (a delivery meanwhile, no watch, whole-second times)
 * records cur/ alone, as above.
 * Then the cache is rewritten from the file of 2 with the moves applied
 * to its entries (the entries of files moved from new/ and of the listed
 * files that it lacked are added with their fstat(2), in the listing's
 * order), S1 as cur/'s stamp and CACHE_CUR_COMPLETE, and N1 as new/'s
 * stamp and CACHE_COMPLETE when new/ was proven too, else no stamp of
 * new/: the next login takes cur/ from it and reads new/ alone.  When
 * nothing moved and nothing is added, the entries stay as they are: only
 * the header and the checksum are written, over the same file.  A stamp
 * kept in the file is carried over by a later
 * listing that finds the directory unchanged, settled or not, since it
 * was recorded only once the clock had passed its times.  A commit that
 * did not do all it meant to (a deletion failed, a message found under
 * another name), or moved more than RECORD_MOVES_MAX files, records
 * nothing.  What is not proven: a clock set back past S1's times by the
 * administrator, as for every stamp here.
 *
 * The file is untrusted input: a bad magic, version, length, checksum or
 * any field out of range makes the whole file count as absent (it is then
 * rebuilt), never a crash.  When only the header changes (a listing that
 * met nothing but files still settling, a commit that moved nothing), the
 * header and the checksum are written over the same file (cache_restamp()
 * says why that is safe).  Else it is written to tmp/, the old file
 * unlinked and the new one renamed into place, without fsync(2): a cache
 * lost in a crash is merely rebuilt, and a torn one fails its checksum.
 * (Renamed over the old file it would be written back at once by ext4.)
 * When it cannot be written (read-only, full, not permitted) the session
 * goes on without it and logs that once.
 *
 * The checksum finds torn and damaged files, not forgeries: only the
 * mailbox owner can write the file, and all a forged entry could do is
 * misstate the size of one of the owner's messages within the bounds
 * below, which RETR then catches.  It is not a cryptographic hash, so that
 * a login need not start a crypto library to read the cache.
 *
 * Format, version 4, integers little-endian (version 3 had no
 * CACHE_CUR_COMPLETE; a file of another version is rebuilt):
 *
 *	header	 8 octets  magic "POP3DSZ\n"
 *		 4	   version, 4
 *		 4	   number of entries, at most MAILDROP_MAX_MESSAGES
 *		 4	   flags: CACHE_COMPLETE, CACHE_CUR_COMPLETE, both or 0
 *		 4	   zero
 *		40	   stamp of new/, all zero for none:
 *			   st_ino 8, st_size 8, mtime sec 8, ctime sec 8,
 *			   mtime nsec 4, ctime nsec 4 (below 1,000,000,000)
 *		40	   stamp of cur/, the same
 *	entry	 8	   st_ino
 *		 8	   st_size, at most MAILDIR_FILE_SIZE_MAX
 *		 8	   st_mtim.tv_sec, two's complement
 *		 4	   st_mtim.tv_nsec, below 1,000,000,000
 *		 2	   length of the name, 1 to MAILDIR_NAME_MAX
 *		 1	   zero
 *		 1	   1: the file is in new/, 0: in cur/
 *		 8	   POP3 size (see size.h): 0 for an empty file, else
 *			   from st_size to 2 * st_size + 2
 *		 n	   the file name: no NUL or '/', not starting with
 *			   '.' or ':'
 *	trailer	 8	   cache_checksum() of every octet before it
 *
 * The whole file is at most CACHE_FILE_MAX octets and ends right after the
 * trailer, and the POP3 sizes of its entries add up to at most
 * CACHE_TOTAL_MAX.  These limits are in params.h.
 */
#ifndef POP3D_CACHE_H
#define POP3D_CACHE_H

#include <sys/stat.h>

#include <stdint.h>

#include "params.h"

#define CACHE_FILE	"pop3d.cache"		/* in the top directory */
#define CACHE_TMP	"pop3d.cache.tmp"	/* in tmp/, then renamed */
#define CACHE_MAGIC	"POP3DSZ\n"
#define CACHE_VERSION	4

#define CACHE_HEADER	104	/* magic, version, count, flags, stamps */
#define CACHE_COMPLETE	1	/* flag: the entries are the whole listing */
#define CACHE_CUR_COMPLETE 2	/* flag: those in cur/ the whole of cur/ */
#define CACHE_RECORD	40	/* an entry without its name */
#define CACHE_TRAILER	8	/* the checksum */

/*
 * A file whose modification time is less than this many seconds before
 * the listing is not cached: a write in the same tick of a coarse clock
 * (one second on some file systems) leaves the time unchanged.
 */
#define CACHE_SETTLE_SECONDS	2

struct cache;

/*
 * Read and check the cache of the Maildir at dirfd.  A missing, unreadable
 * or invalid cache gives an empty one; NULL only when memory is short, and
 * the functions below take NULL as a cache that never matches.
 */
struct cache	*cache_open(int dirfd);

/* An entry, as cache_next(), cache_lookup() and cache_add() name it. */
#define CACHE_NOREF	UINT32_MAX	/* the file has no entry */

/*
 * Whether the listing can come from the cache: it was complete, names no
 * base name twice, and the fstat(2) of new/ (dirs[0]) and cur/ (dirs[1])
 * taken before this call matches its stamps.  Then cache_next() gives each
 * file in turn: its name, whether it is in new/, its size, its entry and
 * its key (st_ino, st_size and st_mtim of the file counted, the rest of
 * *key zero); 0 at the end.  cache_next() only follows a cache_listing()
 * that said 1.
 */
int	cache_listing(struct cache *, const struct stat dirs[2]);

/*
 * The same for cur/ alone, whose fstat(2) is cur: cache_next() then gives
 * the files in cur/ only.  The caller reads new/ itself, and takes these
 * only if cur/ did not change while it did.
 */
int	cache_listing_cur(struct cache *, const struct stat *cur);
int	cache_next(struct cache *, char name[MAILDIR_NAME_MAX + 1],
	    int *in_new, uint64_t *size, uint32_t *ref, struct stat *key);

/*
 * The cached size of the regular file name in dfd (in new/ when in_new),
 * which readdir(3) gave with the inode ino (0: unknown): 1 when an entry
 * has its base name and either that inode or, stat(2)ed, its inode,
 * length and modification time; the size in *size, the file's entry in
 * *ref (a new one when the name has changed, as cache_add() gives it) and
 * the entry's key in *key, as cache_next() gives it.  0 when the file has
 * to be counted.
 */
int	cache_lookup(struct cache *, int dfd, const char *name, uint64_t ino,
	    int in_new, uint64_t *size, uint32_t *ref, struct stat *key);

/*
 * Lookups read ahead (maildir_read_ahead()): cache_ahead() when the name
 * is read fetches the table slot its lookup starts at and returns the
 * hash of its base name; cache_ahead_entry(), some names later, fetches
 * the entry that slot names; cache_lookup_hashed() is cache_lookup() with
 * that hash, not computed again.  A wrong hash can only make the lookup
 * miss (the name is compared), never match another file.
 */
uint64_t cache_ahead(const struct cache *, const char *name);
void	cache_ahead_entry(const struct cache *, uint64_t hash);
int	cache_lookup_hashed(struct cache *, int dfd, const char *name,
	    uint64_t ino, int in_new, uint64_t *size, uint32_t *ref,
	    struct stat *key, const uint64_t *hash);

/*
 * Note the size just counted of the file name, whose fstat(2) is st; its
 * entry, or CACHE_NOREF when it cannot be cached (still settling, or the
 * file would grow past CACHE_FILE_MAX).
 */
uint32_t cache_add(struct cache *, const char *name, int in_new,
	    const struct stat *st, uint64_t size);

/*
 * Write the cache into the Maildir at dirfd: refs holds the entry of each
 * of the listed files in the maildrop's order (CACHE_NOREF for a file
 * without one), and the new file holds those entries in that order, so
 * that the next listing from it needs no sorting.  Nothing is written
 * when the file read would come out the same.  before and after are the
 * fstat(2) of new/ and cur/ before and after they were read; a directory
 * gets a stamp only when the two agree and its times have settled.
 * cur_whole: every listed file in cur/ has an entry (CACHE_CUR_COMPLETE).
 * 0 when the file now holds exactly the entries refs names (written, or
 * the same already), -1 otherwise.
 */
int	cache_save(struct cache *, int dirfd, size_t listed,
	    const struct stat before[2], const struct stat after[2],
	    const uint32_t *refs, int cur_whole);

/* What a commit did to one listed file, for cache_commit(). */
struct cache_move {
	const char	*old;		/* its name as listed */
	const char	*new;		/* its name in cur/ now; NULL: unlinked;
					   old: a listed file of cur/ left
					   where it was, for an entry */
	int		 was_new;	/* it was listed in new/ */
	int		 in_new;	/* it is in new/ still: a listed file
					   of new/ left where it was */
	size_t		 order;		/* its place in the listing: the
					   entries added follow it */
	uint64_t	 size;		/* its POP3 size */
	struct stat	 st;		/* its fstat(2) in cur/ now, unless
					   unlinked: the key of an entry the
					   file did not have */
	size_t		 off;		/* cache_commit()'s own */
};

/*
 * Record cur/ as a commit left it (see "What a session records" above):
 * the file is still the one the listing left (its fstat(2) was), and cur/
 * is proven to hold the listed files with the n moves applied, no more
 * and no fewer, its fstat(2) now being cur.  The file's entries, and the
 * moves whose old name is their new one (listed files the file had no
 * entry for, left where they are), are the listed files: the caller
 * knows, from the listing.  The new file has the moves applied to its
 * entries, an entry for each moved file it had none for, cur's stamp and
 * CACHE_CUR_COMPLETE; and when new is not NULL (new/ proven the same way,
 * its fstat(2) now being new) new's stamp and CACHE_COMPLETE, else no
 * stamp of new/.  0 when written; -1 when not (the file is another, a
 * move cannot be recorded, or the write failed): the next login then
 * reads cur/.  Sorts moves.
 */
int	cache_commit(int dirfd, const struct stat *was, const struct stat *cur,
	    const struct stat *new, struct cache_move *moves, size_t n);

void	cache_free(struct cache *);

/* Remove the cache of the Maildir at dirfd: the next login counts again. */
void	cache_remove(int dirfd);

/*
 * A seeded hash of len octets at p, for the hash tables of a listing (the
 * cache's index, the unique-ids): not for anything kept on disk.
 */
uint64_t cache_hash(uint64_t seed, const void *p, size_t len);

/* For the unit tests and fuzz targets, which forge valid files: */

/* The checksum of len octets at p, as the trailer holds it. */
uint64_t cache_checksum(const unsigned char *p, size_t len);

#endif
