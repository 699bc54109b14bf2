/*
 * The size cache of a Maildir (store/cache.c) through maildrop_open():
 * every size it reports is compared with a full recount of the files.
 * Files whose size must come from the cache get a modification time well
 * in the past, as a delivered message has; a file changed within the last
 * CACHE_SETTLE_SECONDS is never cached.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "store/cache.h"
#include "store/maildrop.h"
#include "store/size.h"
#include "tap.h"

/*
 * Messages of the large maildrop, and those delivered after it.  With
 * POP3D_TEST_QUICK set (make test) the maildrop has QUICK_MANY: making
 * and recounting 100,000 files takes most of this test's time.
 */
#define MANY		100000
#define QUICK_MANY	5000
#define MANY_NEW	1000
#define OLD_TIME	1600000000

static size_t	many = MANY;

static char	top[128];
static char	md_path[256];

static void	reseal(unsigned char *, size_t);
static int	refused(size_t, const char *);

static void
path_of(char *buf, size_t len, const char *sub, const char *name)
{
	snprintf(buf, len, "%s/%s/%s", md_path, sub, name);
}

/* A file with the given body and modification time (0: now). */
static void
put_file(const char *sub, const char *name, const char *body, time_t mtime)
{
	struct timespec	ts[2];
	char		path[512];
	size_t		len = strlen(body);
	int		fd;

	path_of(path, sizeof(path), sub, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, body, len) != (ssize_t)len)
		abort();
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (mtime != 0 && futimens(fd, ts) == -1)
		abort();
	close(fd);
}

static void
old_file(const char *sub, const char *name, const char *body)
{
	put_file(sub, name, body, OLD_TIME);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void
fresh(const char *name)
{
	char	path[512];

	snprintf(md_path, sizeof(md_path), "%s/%s", top, name);
	mkdir(md_path, 0700);
	snprintf(path, sizeof(path), "%s/new", md_path);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cur", md_path);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/tmp", md_path);
	mkdir(path, 0700);
}

static int
open_md(struct maildrop *md)
{
	char	err[256];

	return maildrop_open(md, md_path, err, sizeof(err)) == STORE_OK;
}

/* Whether every reported size is what counting the file gives now. */
static int
sizes_right(struct maildrop *md)
{
	uint64_t	size, total = 0;
	size_t		i;
	int		fd, rv;

	for (i = 0; i < md->count; i++) {
		if ((fd = maildrop_open_message(md, i)) == -1)
			return 0;
		rv = size_count_fd_len(fd, UINT64_MAX, &size);
		close(fd);
		if (rv == -1 || size != md->msgs[i].size)
			return 0;
		total += size;
	}
	return total == md->total;
}

/* Open, check the sizes, close: the number of files read, or -1. */
static long
session(size_t want)
{
	struct maildrop	md;
	long		counted;

	if (!open_md(&md))
		return -1;
	counted = md.count == want && sizes_right(&md) ? (long)md.counted : -1;
	maildrop_close(&md);
	return counted;
}

static void
cache_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", md_path, CACHE_FILE);
}

static ino_t
cache_ino(void)
{
	char		path[512];
	struct stat	st;

	cache_path(path, sizeof(path));
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_ino : 0;
}

/* The cache file into buf; its length, or -1. */
static ssize_t
cache_get(unsigned char *buf, size_t len)
{
	char	path[512];
	ssize_t	n;
	int	fd;

	cache_path(path, sizeof(path));
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

static void
cache_put(const unsigned char *buf, size_t len)
{
	char	path[512];
	int	fd;

	cache_path(path, sizeof(path));
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

static uint32_t
cache_count(void)
{
	unsigned char	buf[CACHE_HEADER];

	if (cache_get(buf, sizeof(buf)) != CACHE_HEADER)
		return UINT32_MAX;
	return buf[12] | buf[13] << 8 | buf[14] << 16 | (uint32_t)buf[15] << 24;
}

static void
test_basic(void)
{
	fresh("basic");
	old_file("new", "1.a", "one\n");
	old_file("cur", "2.a:2,S", "two\nlines\n");
	old_file("cur", "3.a:2,", "crlf\r\nand bare\n");
	old_file("cur", "4.a:2,S", "");
	old_file("cur", "5.a:2,S", "no final newline");
	ok(cache_ino() == 0, "no cache before the first session");
	ok(session(5) == 5, "first session reads all 5 files");
	ok(cache_ino() != 0 && cache_count() == 5, "cache written, 5 entries");
	ok(session(5) == 0, "second session reads none, sizes right");
}

static void
test_unchanged(void)
{
	char	a[512], b[512];
	ino_t	ino;

	fresh("unchanged");
	old_file("new", "1.u", "one\n");
	old_file("cur", "2.u:2,", "two\n");
	ok(session(2) == 2 && (ino = cache_ino()) != 0, "cache made");
	ok(session(2) == 0 && cache_ino() == ino,
	    "unchanged maildrop: cache not rewritten");
	/* Flags and new/ to cur/ keep the base name, inode and times. */
	path_of(a, sizeof(a), "new", "1.u");
	path_of(b, sizeof(b), "cur", "1.u:2,S");
	rename(a, b);
	path_of(a, sizeof(a), "cur", "2.u:2,");
	path_of(b, sizeof(b), "cur", "2.u:2,RS");
	rename(a, b);
	ok(session(2) == 0, "moved to cur/ and re-flagged: sizes still cached");
	ok(session(2) == 0 && (ino = cache_ino()) != 0 && session(2) == 0 &&
	    cache_ino() == ino, "the new names written once, then left alone");
}

/*
 * Open and close; 2 when the whole listing came from the cache, 1 when
 * cur/ alone did, 0 when both were read, -1 when the listing is wrong.
 */
static int
listed_from(size_t want, size_t *counted)
{
	struct maildrop	md;
	int		from;

	if (!open_md(&md))
		return -1;
	from = md.count != want || !sizes_right(&md) ? -1 :
	    md.from_cache ? 2 : md.cur_from_cache;
	*counted = md.counted;
	maildrop_close(&md);
	return from;
}

/* Open and close; whether the listing came from the cache alone. */
static int
listed_from_cache(size_t want, size_t *counted)
{
	int	from = listed_from(want, counted);

	return from < 0 ? -1 : from == 2;
}

/* The cache's entries in reverse order, its checksum made good. */
static int
reverse_entries(void)
{
	unsigned char	buf[4096], out[4096];
	size_t		off[64], len[64], n = 0, at = CACHE_HEADER, o;
	ssize_t		got;

	if ((got = cache_get(buf, sizeof(buf))) < CACHE_HEADER + CACHE_TRAILER)
		return 0;
	while (at < (size_t)got - CACHE_TRAILER && n < 64) {
		off[n] = at;
		len[n] = CACHE_RECORD + (buf[at + 28] | buf[at + 29] << 8);
		at += len[n++];
	}
	memcpy(out, buf, CACHE_HEADER);
	for (o = CACHE_HEADER; n > 0; n--) {
		memcpy(out + o, buf + off[n - 1], len[n - 1]);
		o += len[n - 1];
	}
	reseal(out, got);
	cache_put(out, got);
	return 1;
}

/* Directory times must be this old before a stamp is recorded. */
static void
settle(void)
{
	sleep(CACHE_SETTLE_SECONDS + 1);
}

static void
test_listing(void)
{
	struct maildrop	md;
	struct timespec	ts[2] = { { OLD_TIME, 0 }, { OLD_TIME, 0 } };
	char		path[512];
	size_t		n;
	ino_t		ino;
	int		fd;

	fresh("listing");
	old_file("new", "1.l", "one\n");
	old_file("cur", "2.l:2,S", "two\nlines\n");
	old_file("cur", "3.l:2,", "three\n");
	ok(listed_from_cache(3, &n) == 0 && n == 3,
	    "unsettled directories: listed by reading them");
	ok(listed_from_cache(3, &n) == 0 && n == 0,
	    "and again: no stamp was recorded");
	settle();
	ok(listed_from_cache(3, &n) == 0 && n == 0,
	    "settled: read once more, stamps recorded");
	ino = cache_ino();
	ok(listed_from_cache(3, &n) == 1 && n == 0,
	    "unchanged since: the listing comes from the cache");
	ok(listed_from_cache(3, &n) == 1 && cache_ino() == ino,
	    "written in the maildrop's order: not written again");
	ok(reverse_entries() && (ino = cache_ino()) != 0 &&
	    listed_from_cache(3, &n) == 1 && cache_ino() != ino,
	    "entries out of order: listed in order, the cache written again");
	ino = cache_ino();
	ok(listed_from_cache(3, &n) == 1 && cache_ino() == ino,
	    "in order now: not written again");
	ok(open_md(&md) && md.count == 3 && md.from_cache &&
	    (md.msgs[0].flags & MSG_NEW) &&
	    strcmp(maildrop_name(&md, 0), "new/1.l") == 0 &&
	    strcmp(maildrop_name(&md, 1), "cur/2.l:2,S") == 0 &&
	    strcmp(maildrop_uidl(&md, 2), "3.l") == 0,
	    "names, new/ and unique-ids as a listing gives them");
	maildrop_close(&md);

	old_file("new", "4.l", "four\n");
	ok(listed_from_cache(4, &n) == 0 && n == 1,
	    "a delivery to new/: read again, the new file counted");
	path_of(path, sizeof(path), "cur", "3.l:2,");
	unlink(path);
	ok(listed_from_cache(3, &n) == 0 && n == 0,
	    "a deletion in cur/: read again");
	settle();
	ok(listed_from_cache(3, &n) == 0 && listed_from_cache(3, &n) == 1,
	    "settled again: from the cache");

	/* Rewritten in place, times put back: only RETR can tell. */
	path_of(path, sizeof(path), "cur", "2.l:2,S");
	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 ||
	    write(fd, "2\n2\n", 4) != 4 || futimens(fd, ts) == -1)
		abort();
	close(fd);
	ok(open_md(&md) && md.from_cache && md.msgs[1].size == 12,
	    "a file rewritten in place keeps its listed size");
	ok(maildrop_open_message(&md, 1) == -1 && errno == ESTALE,
	    "but its open refuses it: its length is another");
	maildrop_close(&md);
	ok(cache_ino() == 0, "a size found wrong removes the cache");
	ok(listed_from_cache(3, &n) == 0 && n == 3,
	    "the next login counts every file again");
}

/*
 * A message moved from new/ to cur/ by another client between sessions
 * keeps its size by its base name and inode alone, without a stat(2) of
 * the file: shown by a time moved on with the inode kept, which a stat(2)
 * would see and count the file again for.  The open of the message sees
 * it, so a file really changed in place is never sent with a stale size.
 */
static void
test_by_inode(void)
{
	struct timespec	ts[2] = { { OLD_TIME + 7, 0 }, { OLD_TIME + 7, 0 } };
	char		a[512], b[512], c[512];

	fresh("byinode");
	old_file("new", "1.i", "one\n");
	old_file("new", "2.i", "two\n");
	old_file("cur", "3.i:2,S", "three\n");
	ok(session(3) == 3, "three cached");
	path_of(a, sizeof(a), "new", "1.i");
	path_of(b, sizeof(b), "cur", "1.i:2,S");
	path_of(c, sizeof(c), "cur", "1.i:2,RS");
	ok(rename(a, b) == 0 && session(3) == 0,
	    "moved to cur/ by another client: its size kept, nothing counted");
	old_file("new", "4.i", "four\n");
	ok(session(4) == 1, "a delivery: only it is counted");
	ok(rename(b, c) == 0 && utimensat(AT_FDCWD, c, ts, 0) == 0 &&
	    refused(4, "1.i"), "re-flagged, its time moved on: listed "
	    "without a stat(2) (nothing counted), its open refused");
	ok(session(4) == 4, "the next login counts every file again");
}

/* Open and close; cur_from_cache, or -1 when the listing is wrong or whole. */
static int
cur_cached(size_t want, size_t *counted)
{
	int	from = listed_from(want, counted);

	return from == 2 ? -1 : from;
}

/*
 * cur/ unchanged since its stamp was recorded: only new/ is read, as when
 * a client polls a maildrop it leaves on the server and new mail arrived.
 * Made before test_listing(), whose wait lets its directories settle too.
 */
static void
make_cur_cached(void)
{
	fresh("curcached");
	old_file("cur", "1.c:2,S", "one\n");
	old_file("cur", "2.c:2,S", "two\n");
	old_file("new", "3.c", "three\n");
}

static void
test_cur_cached(void)
{
	char	a[512], b[512];
	size_t	n;

	fresh("curcached");
	ok(cur_cached(3, &n) == 0 && n == 3, "first login counts all");
	old_file("new", "4.c", "four\n");
	ok(cur_cached(4, &n) == 1 && n == 1, "a delivery to new/: cur/ from "
	    "the cache, new/ read, the new file counted");
	put_file("new", "5.c", "five, just now\n", 0);
	ok(cur_cached(5, &n) == 1 && n == 1 && cache_count() == 4,
	    "a file still settling is not cached...");
	ok(cur_cached(5, &n) == 1 && n == 1,
	    "...yet cur/ still comes from the cache");
	path_of(a, sizeof(a), "new", "3.c");
	path_of(b, sizeof(b), "cur", "3.c:2,S");
	ok(rename(a, b) == 0 && cur_cached(5, &n) == 0 && n == 1,
	    "a move into cur/: cur/ read again");
	path_of(a, sizeof(a), "cur", "1.c:2,S");
	ok(unlink(a) == 0 && cur_cached(4, &n) == 0,
	    "a deletion in cur/: read again, the file not listed");
}

/*
 * What a session's commit records (store/record.c): made before
 * test_listing(), whose wait lets its directories settle.
 */
static void
make_recorded(void)
{
	fresh("recorded");
	old_file("cur", "1.r:2,S", "one\n");
	old_file("cur", "2.r:2,", "two\n");
	old_file("cur", "3.r:2,S", "three\n");
	old_file("new", "4.r", "four\n");
	old_file("new", "5.r", "five\n");
}

/* The listed message with this unique-id gets flag; 0 if not listed. */
static int
mark(struct maildrop *md, const char *uidl, uint8_t flag)
{
	size_t	i;

	for (i = 0; i < md->count; i++)
		if (strcmp(maildrop_uidl(md, i), uidl) == 0) {
			md->msgs[i].flags |= flag;
			return 1;
		}
	return 0;
}

/*
 * A session that retrieves retr and deletes dele (unique-ids, NULL: none),
 * quits, then, before the record, lets meddle() change the Maildir as
 * another client would; as listed_from() says of its listing.
 */
static int
poll_once(size_t want, const char *retr, const char *retr2,
    const char *dele, void (*meddle)(void))
{
	struct maildrop		md;
	struct commit_result	cr;
	int			cur;

	if (!open_md(&md))
		return -1;
	cur = md.count != want ? -1 : md.from_cache ? 2 : md.cur_from_cache;
	if ((retr != NULL && !mark(&md, retr, MSG_RETRIEVED)) ||
	    (retr2 != NULL && !mark(&md, retr2, MSG_RETRIEVED)) ||
	    (dele != NULL && !mark(&md, dele, MSG_DELETED)) ||
	    maildrop_commit(&md, &cr) != STORE_OK)
		cur = -1;
	if (meddle != NULL)
		meddle();
	maildrop_record(&md);
	maildrop_close(&md);
	return cur;
}

static void
plant_cur(void)
{
	old_file("cur", "9.r:2,S", "planted during the commit\n");
}

static void
plant_new(void)
{
	put_file("new", "c.r", "delivered during the commit\n", 0);
}

static void
plant_fresh(void)
{
	put_file("cur", "8.r:2,S", "eight, put into cur/ just now\n", 0);
}

static void
rename_cur(void)
{
	char	a[512], b[512];

	path_of(a, sizeof(a), "cur", "3.r:2,S");
	path_of(b, sizeof(b), "cur", "3.r:2,ST");
	if (rename(a, b) == -1)
		abort();
}

static void
test_recorded(void)
{
	size_t	n;

	fresh("recorded");
	ok(cur_cached(5, &n) == 0 && n == 5, "first login counts all, "
	    "stamps recorded (settled)");
	put_file("new", "6.r", "six, just delivered\n", 0);
	ok(poll_once(6, "4.r", "6.r", "1.r", NULL) == 1,
	    "a poll: cur/ from the cache; RETR of two in new/, DELE of "
	    "one in cur/, QUIT");
	ok(listed_from(5, &n) == 2 && n == 0, "the next login, at once: "
	    "the whole listing from the cache as the commit recorded new/ "
	    "and cur/, nothing counted, sizes right");
	ok(poll_once(5, "2.r", NULL, NULL, NULL) == 2,
	    "a RETR in cur/ (renamed there to get the S flag)");
	ok(listed_from(5, &n) == 2 && n == 0, "recorded as well");
	ok(poll_once(5, "5.r", NULL, NULL, plant_cur) == 2,
	    "a file put into cur/ by another client during the commit...");
	ok(cur_cached(6, &n) == 0 && n == 1, "...is seen: cur/ read again, "
	    "the file listed");
	ok(cur_cached(6, &n) == 0, "not recorded by a login alone");
	ok(poll_once(6, "9.r", NULL, NULL, NULL) == 0, "a commit of a "
	    "listing that read cur/...");
	ok(listed_from(6, &n) == 2 && n == 0, "...is recorded too");
	ok(poll_once(6, NULL, NULL, "9.r", rename_cur) == 2,
	    "another client's rename in cur/ during the commit...");
	ok(cur_cached(5, &n) == 0 && n == 0,
	    "...is seen: cur/ read again, the file under its new name");
	put_file("new", "7.r", "seven, just delivered\n", 0);
	ok(poll_once(6, "7.r", NULL, NULL, plant_fresh) == 0,
	    "a poll moves a new file to cur/ while another client puts one "
	    "there: nothing recorded");
	ok(poll_once(7, NULL, NULL, NULL, NULL) == 0, "the next poll reads "
	    "cur/, whose two newest files (still settling) have no entry...");
	ok(listed_from(7, &n) == 2 && n == 0, "...and records it all the "
	    "same, with entries for them: nothing counted");
	put_file("new", "a.r", "a, just delivered\n", 0);
	ok(poll_once(8, NULL, NULL, NULL, NULL) == 1, "a file delivered "
	    "just before a poll that leaves it in new/...");
	ok(listed_from(8, &n) == 2 && n == 0, "...gets an entry when new/ "
	    "is recorded: the next login counts nothing");
	put_file("new", "b.r", "b, just delivered\n", 0);
	ok(poll_once(9, NULL, NULL, NULL, plant_new) == 1, "a delivery to "
	    "new/ during the commit...");
	ok(listed_from(10, &n) == 1 && n == 2, "...keeps new/ from being "
	    "recorded: read again, both fresh files counted, cur/ from the "
	    "cache");
	ok(poll_once(10, "c.r", NULL, NULL, NULL) == 1, "the next poll "
	    "moves one of them to cur/...");
	ok(listed_from(10, &n) == 2 && n == 0, "...and records both");
}

/* A child holds the maildrop for ms milliseconds; its pid. */
static pid_t
hold_lock(int ms)
{
	struct maildrop	md;
	int		p[2];
	pid_t		pid;
	char		c;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		close(p[0]);
		if (!open_md(&md))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		usleep(ms * 1000);
		maildrop_close(&md);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		abort();
	close(p[0]);
	return pid;
}

/*
 * A session that answered QUIT keeps the lock while it records cur/: a
 * login meanwhile waits for it, up to MAILDROP_LOCK_WAIT_MS.
 */
static void
test_lock_wait(void)
{
	struct maildrop	md;
	char		err[256];
	pid_t		pid;
	int		status;

	fresh("lockwait");
	old_file("cur", "1.w:2,S", "one\n");
	pid = hold_lock(MAILDROP_LOCK_WAIT_MS / 5);
	ok(open_md(&md), "the lock held for a fifth of the wait: the login "
	    "waits, then opens");
	maildrop_close(&md);
	waitpid(pid, &status, 0);
	pid = hold_lock(MAILDROP_LOCK_WAIT_MS * 3);
	ok(maildrop_open(&md, md_path, err, sizeof(err)) == STORE_INUSE,
	    "held for longer: in use");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* A base name twice (cur/ and new/): never a listing from the cache. */
static void
test_listing_twice(void)
{
	size_t	n;

	fresh("twice");
	old_file("new", "1.t", "one\n");
	old_file("cur", "1.t:2,S", "one, seen\n");
	old_file("cur", "2.t:2,S", "two\n");
	settle();
	ok(listed_from_cache(3, &n) == 0 && n == 0 + 3,
	    "two files with one base name: both listed");
	ok(listed_from_cache(3, &n) == 0 && n == 0,
	    "sizes cached, but the listing is read again");
}

static void
test_settle(void)
{
	fresh("settle");
	old_file("cur", "1.s:2,S", "old\n");
	put_file("cur", "2.s:2,S", "just delivered\n", 0);
	ok(session(2) == 2 && cache_count() == 1,
	    "a file changed just now is not cached");
	ok(session(2) == 1, "and is read again next time");
}

/*
 * Whether the message with this unique-id is listed with its cached size
 * (no file read) but its open refuses it with ESTALE and removes the
 * cache, while the others open and have their right sizes.
 */
static int
refused(size_t want, const char *uidl)
{
	struct maildrop	md;
	uint64_t	size;
	size_t		i, hits = 0;
	int		fd, rv = 1;

	if (!open_md(&md))
		return 0;
	if (md.count != want || md.counted != 0)
		rv = 0;
	for (i = 0; i < md.count && rv; i++) {
		fd = maildrop_open_message(&md, i);
		if (strcmp(maildrop_uidl(&md, i), uidl) == 0) {
			hits++;
			rv = fd == -1 && errno == ESTALE && cache_ino() == 0;
		} else
			rv = fd != -1 && size_count_fd_len(fd, UINT64_MAX,
			    &size) == 0 && size == md.msgs[i].size;
		if (fd != -1)
			close(fd);
	}
	maildrop_close(&md);
	return rv && hits == 1;
}

static void
test_stale(void)
{
	struct timespec	ts[2];
	char		a[512], b[512];

	fresh("stale");
	old_file("cur", "1.t:2,S", "short\n");
	old_file("cur", "2.t:2,S", "abcdef\n");
	old_file("cur", "3.t:2,S", "same\n");
	ok(session(3) == 3, "three cached");

	/*
	 * Edited in place: same inode, another length.  The listing takes the
	 * file by its name and inode without a stat(2); its open finds it
	 * changed, so its stale size is never sent.
	 */
	put_file("cur", "1.t:2,S", "now\nlonger\nthan before\n", OLD_TIME + 60);
	ok(refused(3, "1.t"), "length changed in place: listed from the "
	    "cache, its open refused, the cache removed");
	ok(session(3) == 3, "the next login counts every file again");

	/* Same length, more bare LFs, the time moved on. */
	put_file("cur", "2.t:2,S", "a\nb\nc\n\n", OLD_TIME + 60);
	ok(refused(3, "2.t"), "same length, other time: its open refused");
	ok(session(3) == 3, "and every file counted again");

	/* Another length, the time put back: the length alone tells. */
	put_file("cur", "2.t:2,S", "a\nb\n", OLD_TIME + 60);
	ok(refused(3, "2.t"), "other length, same time: its open refused");
	ok(session(3) == 3, "counted again");

	/* Replaced under its name: only the inode differs. */
	path_of(b, sizeof(b), "tmp", "3.t");
	put_file("tmp", "3.t", "\n\n\n\n\n", OLD_TIME);
	path_of(a, sizeof(a), "cur", "3.t:2,S");
	ts[0].tv_sec = ts[1].tv_sec = OLD_TIME;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ok(rename(b, a) == 0 && utimensat(AT_FDCWD, a, ts, 0) == 0,
	    "replaced by rename, same length and time");
	ok(session(3) == 1, "new inode: recounted");
	ok(session(3) == 0 && cache_count() == 3, "and cached again");
}

/*
 * A listing whose only new files are still settling (new mail, at every
 * poll) keeps the entries as they are: only the header and the checksum
 * are written, over the same file, and the file stays valid.
 */
static void
test_restamp(void)
{
	ino_t	ino;

	fresh("restamp");
	old_file("cur", "1.r:2,S", "one\n");
	old_file("cur", "2.r:2,S", "two\n");
	ok(session(2) == 2 && cache_count() == 2, "two cached");
	ino = cache_ino();
	put_file("new", "3.r", "three\n", 0);
	ok(session(3) == 1 && cache_ino() == ino && cache_count() == 2,
	    "a file still settling: counted, the header written in place");
	ok(session(3) == 1 && cache_ino() == ino,
	    "the file still valid: the others taken from it");
}

static void
test_dropped(void)
{
	struct maildrop		md;
	struct commit_result	cr;
	ino_t			ino;

	fresh("dropped");
	old_file("cur", "1.d:2,S", "1\n");
	old_file("cur", "2.d:2,S", "2\n");
	old_file("new", "3.d", "3\n");
	ok(session(3) == 3 && (ino = cache_ino()) != 0, "three cached");
	ok(open_md(&md) && md.count == 3, "a session deletes two");
	md.msgs[0].flags |= MSG_DELETED;
	md.msgs[2].flags |= MSG_DELETED;
	ok(maildrop_commit(&md, &cr) == STORE_OK && cr.deleted == 2,
	    "committed");
	maildrop_close(&md);
	ok(session(1) == 0 && cache_ino() != ino && cache_count() == 1,
	    "next session drops their entries");
}

static void
test_hints(void)
{
	fresh("hints");
	/* 12 octets on disk, 16 in POP3 form: both hints lie. */
	old_file("cur", "1.h,S=99,W=101:2,S", "two\nlines\n!!");
	old_file("cur", "2.h,W=3:2,S", "a\nb\n");
	old_file("new", "3.h,S=4,W=6", "a\nb\n");	/* true, still counted */
	old_file("new", "4.h,S=1000000", "");
	ok(session(4) == 4, "lying ,S= and ,W=: counted, sizes right");
	ok(session(4) == 0, "from the cache: still right");
}

static void
test_shared_base(void)
{
	fresh("shared");
	old_file("new", "1.b", "in new\n");
	old_file("cur", "1.b:2,S", "in cur, longer\n");
	old_file("cur", "2.b:1", "x\n");
	old_file("cur", "2.b:2,S", "xx\nyy\n");
	ok(session(4) == 4, "shared base names counted");
	ok(session(4) == 0, "each matched by its inode");
}

/* A cache of three entries, whole, for the corruption tests. */
static unsigned char	good[4096];
static ssize_t		goodlen;

static void
small_cache(const char *name)
{
	fresh(name);
	old_file("new", "1.c", "first\n");
	old_file("cur", "2.c:2,S", "second\r\n");
	old_file("cur", "3.c:2,S", "x");
	session(3);
	goodlen = cache_get(good, sizeof(good));
}

static void
test_truncated(void)
{
	ssize_t	len;
	int	bad = 0;

	small_cache("truncated");
	ok(goodlen > CACHE_HEADER + CACHE_TRAILER && cache_count() == 3,
	    "a cache of %zd octets", goodlen);
	for (len = 0; len < goodlen; len++) {
		cache_put(good, len);
		if (session(3) != 3 || session(3) != 0)
			bad++;
	}
	ok(bad == 0, "truncated at every length: ignored, rebuilt (%d bad)",
	    bad);
}

static void
test_flipped(void)
{
	/*
	 * Every octet with all its bits flipped, and with one of them, low,
	 * middle and high in turn: each session ends with the closing of an
	 * inotify instance, which waits for the kernel (about 10 ms on a
	 * loaded machine), so four flips of every octet took half a minute.
	 */
	static const unsigned char masks[] = { 0x01, 0x10, 0x80 };
	unsigned char	buf[4096];
	ssize_t		pos;
	size_t		k;
	int		bad = 0, n = 0;

	small_cache("flipped");
	for (pos = 0; pos < goodlen; pos++)
		for (k = 0; k < 2; k++) {
			memcpy(buf, good, goodlen);
			buf[pos] ^= k == 0 ? 0xff : masks[pos % sizeof(masks)];
			cache_put(buf, goodlen);
			n++;
			if (session(3) != 3)
				bad++;
		}
	ok(bad == 0, "every octet flipped whole and in one bit: ignored, "
	    "sizes right (%d bad of %d)", bad, n);
	memcpy(buf, good, goodlen);
	buf[goodlen] = '\n';
	cache_put(buf, goodlen + 1);
	ok(session(3) == 3 && session(3) == 0,
	    "an octet after the trailer: ignored, rebuilt");
}

/* The checksum put right after a change, as a forger would. */
static void
reseal(unsigned char *buf, size_t len)
{
	uint64_t	sum;
	size_t		end = len - CACHE_TRAILER, i;

	sum = cache_checksum(buf, end);
	for (i = 0; i < CACHE_TRAILER; i++, sum >>= 8)
		buf[end + i] = sum & 0xff;
}

/* Whether octet pos of the cache lies in octets lo to hi - 1 of an entry. */
static int
in_field(const unsigned char *buf, size_t len, size_t pos, size_t lo,
    size_t hi)
{
	size_t	off = CACHE_HEADER, nlen;

	while (off + CACHE_RECORD <= len - CACHE_TRAILER) {
		if (pos >= off + lo && pos < off + hi)
			return 1;
		nlen = buf[off + 28] | buf[off + 29] << 8;
		off += CACHE_RECORD + nlen;
	}
	return 0;
}

/* Whether some message's open is refused as changed (ESTALE). */
static int
some_refused(struct maildrop *md)
{
	size_t	i;
	int	fd, n = 0;

	for (i = 0; i < md->count; i++) {
		if ((fd = maildrop_open_message(md, i)) != -1)
			close(fd);
		else
			n += errno == ESTALE;
	}
	return n > 0;
}

/*
 * A forged cache passes the checksum: its fields are still checked, and
 * all it can do is misstate the size of a message within the limits of
 * its length, or misstate the length or time of a file, which the open
 * of the message then refuses.  Everything else is ignored or fails to
 * match.
 */
static void
test_forged(void)
{
	struct maildrop	md;
	unsigned char	buf[4096];
	ssize_t		pos;
	size_t		i;
	int		bad = 0, wrong = 0, mask;

	small_cache("forged");
	for (pos = 0; pos < goodlen - CACHE_TRAILER; pos++)
		for (mask = 1; mask < 256; mask <<= 1) {
			memcpy(buf, good, goodlen);
			buf[pos] ^= mask;
			reseal(buf, goodlen);
			cache_put(buf, goodlen);
			if (!open_md(&md)) {
				bad++;
				continue;
			}
			if (md.count != 3)
				bad++;
			else if (in_field(good, goodlen, pos, 8, 28) &&
			    some_refused(&md))
				wrong++;
			else if (!sizes_right(&md)) {
				wrong++;
				if (!in_field(good, goodlen, pos, 32, 40))
					bad++;
				for (i = 0; i < md.count; i++)
					if (md.msgs[i].size > 2 * 8 + 2)
						bad++;
			}
			maildrop_close(&md);
		}
	ok(bad == 0, "every bit flipped and resealed: no crash; a size field "
	    "misstates within range, a length or time is refused at the "
	    "open (%d such)", wrong);
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = v & 0xff;
}

/* The stamps of new/ and cur/ as they are now, as a forger can take them. */
static void
forge_stamps(unsigned char *buf)
{
	static const char *const subs[] = { "new", "cur" };
	char		path[512];
	struct stat	st;
	unsigned char	*p;
	int		i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", md_path, subs[i]);
		if (stat(path, &st) == -1)
			abort();
		p = buf + 24 + 40 * i;
		put_le64(p, st.st_ino);
		put_le64(p + 8, st.st_size);
		put_le64(p + 16, st.st_mtim.tv_sec);
		put_le64(p + 24, st.st_ctim.tv_sec);
		put_le64(p + 32, st.st_mtim.tv_nsec | (uint64_t)st.st_ctim.tv_nsec << 32);
	}
}

/*
 * The cache's stamps made those of new/ and cur/ as they are now: what
 * this host sees when another host changed them but fstat(2) shows the
 * old times (an attribute cache, a file server whose clock is behind
 * ours, coarse time stamps).
 */
static int
restamp(void)
{
	unsigned char	buf[4096];
	ssize_t		got;

	if ((got = cache_get(buf, sizeof(buf))) < CACHE_HEADER + CACHE_TRAILER)
		return 0;
	forge_stamps(buf);
	reseal(buf, got);
	cache_put(buf, got);
	return 1;
}

/*
 * shared_storage: the listing always reads new/ and cur/, sizes still
 * come from the cache; a change whose directory times look unchanged is
 * seen by it and missed by the listing from the cache alone.
 */
static void
test_shared_storage(void)
{
	size_t	n;

	fresh("sharedstorage");
	old_file("new", "1.s", "one\n");
	old_file("cur", "2.s:2,S", "two\n");
	ok(listed_from_cache(2, &n) == 0 && n == 2,
	    "first listing: every file counted");
	ok(restamp() && listed_from_cache(2, &n) == 1,
	    "stamps that match: the listing from the cache alone");
	maildrop_shared_storage(1);
	ok(restamp() && listed_from_cache(2, &n) == 0 && n == 0,
	    "shared: the directories read, no file counted again");
	maildrop_shared_storage(0);
	old_file("new", "3.s", "three\n");
	ok(restamp() && listed_from_cache(2, &n) == 1,
	    "stamps that look unchanged: the listing from the cache misses it");
	maildrop_shared_storage(1);
	ok(restamp() && listed_from_cache(3, &n) == 0 && n == 1,
	    "shared: the new message listed and counted");
	maildrop_shared_storage(0);
}

/*
 * A listing from the cache alone believes each size within its entry's
 * range: eight entries at 2^61 octets add up to exactly 2^64, so without
 * a bound on the sum STAT would report the ninth message's few octets.
 */
static void
test_total(void)
{
	struct maildrop	md;
	unsigned char	buf[4096];
	size_t		at, n;
	ssize_t		len;
	char		name[32];
	int		i;

	fresh("total");
	for (i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "%d.x:2,S", i + 1);
		old_file("cur", name, "a message\n");
	}
	ok(session(9) == 9, "nine messages cached");
	if ((len = cache_get(buf, sizeof(buf))) <= CACHE_HEADER)
		abort();
	forge_stamps(buf);
	reseal(buf, len);
	cache_put(buf, len);
	ok(listed_from_cache(9, &n) == 1,
	    "forged stamps: the listing comes from the cache");

	for (i = 0, at = CACHE_HEADER; i < 8; i++) {
		put_le64(buf + at + 8, UINT64_C(1) << 60);	/* st_size */
		put_le64(buf + at + 32, UINT64_C(1) << 61);	/* POP3 size */
		at += CACHE_RECORD + (buf[at + 28] | buf[at + 29] << 8);
	}
	forge_stamps(buf);
	reseal(buf, len);
	cache_put(buf, len);
	ok(open_md(&md), "eight sizes of 2^61 forged");
	ok(md.count == 9 && !md.from_cache && md.total == 9 * 11 &&
	    sizes_right(&md), "the sum is out of range: cache ignored, every "
	    "file counted (total %llu)", (unsigned long long)md.total);
	maildrop_close(&md);
	ok(session(9) == 0, "and the cache rebuilt");
}

/* Lines written to stderr while f runs. */
static int
stderr_lines(void (*f)(void))
{
	char	buf[4096];
	ssize_t	n, i;
	int	fd, saved, lines = 0;

	fflush(stderr);
	fd = open(top, O_RDWR | O_TMPFILE, 0600);
	saved = dup(2);
	if (fd == -1 || saved == -1 || dup2(fd, 2) == -1)
		abort();
	f();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf), 0);
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	close(fd);
	return lines;
}

static void
unwritable_sessions(void)
{
	char	path[512], target[512];
	int	fd;

	fresh("unwritable");
	old_file("cur", "1.w:2,S", "one\n");
	old_file("cur", "2.w:2,S", "two\n");
	cache_path(path, sizeof(path));
	mkdir(path, 0700);
	ok(session(2) == 2 && session(2) == 2,
	    "cache path a directory: every session reads, none fails");
	rmdir(path);

	snprintf(path, sizeof(path), "%s/tmp", md_path);
	rmdir(path);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	ok(session(2) == 2 && cache_ino() == 0 && session(2) == 2,
	    "tmp/ not a directory: no cache, no failure");
	unlink(path);
	mkdir(path, 0700);

	/* A symbolic link is neither read nor written through. */
	snprintf(target, sizeof(target), "%s/elsewhere", top);
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	write(fd, "keep", 4);
	close(fd);
	cache_path(path, sizeof(path));
	symlink(target, path);
	ok(session(2) == 2 && cache_ino() != 0 && session(2) == 0,
	    "a symlink in its place is replaced, not followed");
	fd = open(target, O_RDONLY);
	ok(fd != -1 && read(fd, path, sizeof(path)) == 4, "its target kept");
	close(fd);
}

static void
test_unwritable(void)
{
	int	lines = stderr_lines(unwritable_sessions);

	ok(lines == 1, "four failed writes, one line in the log (%d)", lines);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* n tiny files from number first on, of 1 to 5 lines. */
static void
many_files(size_t first, size_t n)
{
	static const char *bodies[] = { "a\n", "b\r\n", "c\nd\n", "e",
	    "f\ng\nh\ni\nj\n" };
	char	name[128];
	size_t	i;

	for (i = first; i < first + n; i++) {
		snprintf(name, sizeof(name), "%zu.M%zuP%zu.host.example:2,S",
		    (size_t)OLD_TIME + i, i % 1000000, 1000 + i % 30000);
		old_file("cur", name, bodies[i % 5]);
	}
}

/*
 * Sizes of the large maildrop by a full recount, made once per message:
 * the listing order is the same in every session and later deliveries
 * sort last.
 */
static uint64_t	truth[MANY + MANY_NEW];
static size_t	ntruth;

static int
sizes_true(struct maildrop *md)
{
	size_t	i;
	int	fd, rv;

	for (i = 0; i < md->count && i < MANY + MANY_NEW; i++) {
		if (i < ntruth) {
			if (md->msgs[i].size != truth[i])
				return 0;
			continue;
		}
		if ((fd = maildrop_open_message(md, i)) == -1)
			return 0;
		rv = size_count_fd_len(fd, UINT64_MAX, &truth[i]);
		close(fd);
		if (rv == -1 || md->msgs[i].size != truth[i])
			return 0;
		ntruth = i + 1;
	}
	return 1;
}

/* One timed session; its files read, or -1 if sizes were wrong. */
static int	from_cache_last;

static long
timed(size_t want, const char *what)
{
	struct maildrop	md;
	double		t0, t1;
	long		counted = -1;

	t0 = now();
	if (!open_md(&md))
		return -1;
	t1 = now();
	printf("# %s: %zu messages in %.3f s, %zu read%s\n", what, md.count,
	    t1 - t0, md.counted, md.from_cache ? ", listed from the cache" : "");
	from_cache_last = md.from_cache;
	if (md.count == want && sizes_true(&md))
		counted = md.counted;
	maildrop_close(&md);
	return counted;
}

static void
test_many(void)
{
	fresh("many");
	many_files(0, many);
	ok(timed(many, "no cache") == (long)many, "%zu messages: all read, "
	    "sizes equal a full recount", many);
	ok(timed(many, "cache valid") == 0, "cache valid: none read, sizes "
	    "equal");
	many_files(many, MANY_NEW);
	ok(timed(many + MANY_NEW, "1,000 new") == MANY_NEW,
	    "%d new: only they are read", MANY_NEW);
	ok(timed(many + MANY_NEW, "cache valid") == 0, "then none again");
	settle();
	ok(timed(many + MANY_NEW, "settled") == 0, "settled: stamps recorded");
	ok(timed(many + MANY_NEW, "from the cache") == 0 && from_cache_last,
	    "listed from the cache alone, sizes equal a full recount");
}

int
main(void)
{
	if (getenv("POP3D_TEST_QUICK") != NULL)
		many = QUICK_MANY;
	snprintf(top, sizeof(top), "/tmp/test_cache.%ld", (long)getpid());
	if (mkdir(top, 0700) == -1)
		return 1;
	test_basic();
	test_unchanged();
	test_by_inode();
	make_cur_cached();
	make_recorded();
	test_listing();
	test_cur_cached();
	test_recorded();
	test_lock_wait();
	test_listing_twice();
	test_settle();
	test_stale();
	test_dropped();
	test_restamp();
	test_hints();
	test_shared_base();
	test_shared_storage();
	test_truncated();
	test_flipped();
	test_forged();
	test_total();
	test_unwritable();
	test_many();
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
