/*
 * The Maildir store in a scratch directory: creation, order, what is left
 * out, sizes, unique-ids, the lock across processes, and the UPDATE state
 * with files that other clients moved or removed meanwhile, or go on
 * renaming while the maildrop is listed.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/maildir.h"
#include "store/maildrop.h"
#include "store/uidl.h"
#include "tap.h"

static char	top[128];
static char	md_path[256];
static int	fsyncs;		/* made by the store since the last look */

/* The store's fsync(2), counted on its way to the kernel. */
int
fsync(int fd)
{
	fsyncs++;
	return (int)syscall(SYS_fsync, fd);
}

static void
mkfile(const char *sub, const char *name, const char *body)
{
	char	path[512];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s/%s", md_path, sub, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, body, strlen(body)) != (ssize_t)strlen(body))
		abort();
	close(fd);
}

static int
exists(const char *sub, const char *name)
{
	char		path[512];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s/%s", md_path, sub, name);
	return lstat(path, &st) == 0;
}

/* rename(2) of sub/from to sub2/to in the Maildir. */
static int
move(const char *sub, const char *from, const char *sub2, const char *to)
{
	char	a[512], b[512];

	snprintf(a, sizeof(a), "%s/%s/%s", md_path, sub, from);
	snprintf(b, sizeof(b), "%s/%s/%s", md_path, sub2, to);
	return rename(a, b);
}

/* Whether message i opens and holds exactly body. */
static int
reads(struct maildrop *md, size_t i, const char *body)
{
	char	buf[256];
	ssize_t	n;
	int	fd;

	if (i >= md->count || (fd = maildrop_open_message(md, i)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(body) && memcmp(buf, body, n) == 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* A fresh, empty Maildir under the scratch directory. */
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

static enum store_status
open_md(struct maildrop *md)
{
	char	err[256];

	return maildrop_open(md, md_path, err, sizeof(err));
}

/* The index of the message listed under "new/NAME" or "cur/NAME". */
static size_t
find(const struct maildrop *md, const char *name)
{
	size_t	i;

	for (i = 0; i < md->count; i++)
		if (strcmp(maildrop_name(md, i), name) == 0)
			return i;
	return (size_t)-1;
}

static void
test_create(void)
{
	struct maildrop	md;
	struct stat	st;
	char		err[256], path[512];

	snprintf(md_path, sizeof(md_path), "%s/created", top);
	ok(maildrop_open(&md, md_path, err, sizeof(err)) == STORE_OK &&
	    md.count == 0 && md.total == 0, "a missing Maildir is created");
	maildrop_close(&md);
	snprintf(path, sizeof(path), "%s/cur", md_path);
	ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700, "cur/ made with mode 0700");
	ok(exists("new", ".") && exists("tmp", "."), "new/ and tmp/ made");

	snprintf(md_path, sizeof(md_path), "%s/notmaildir", top);
	mkdir(md_path, 0700);
	err[0] = '\0';
	ok(maildrop_open(&md, md_path, err, sizeof(err)) == STORE_PERMFAIL &&
	    strstr(err, "Maildir") != NULL, "no cur/ or new/: PERMFAIL (%s)",
	    err);
	snprintf(path, sizeof(path), "%s/afile", top);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	ok(maildrop_open(&md, path, err, sizeof(err)) == STORE_PERMFAIL,
	    "a plain file: PERMFAIL (%s)", err);
	ok(md.dirfd == -1 && md.msgs == NULL, "failed open leaves nothing");
}

static void
test_listing(void)
{
	struct maildrop	md;
	char		path[512];
	int		fd;

	fresh("order");
	mkfile("cur", "1700000002.M5P1.h:2,S", "a\nb\n");
	mkfile("new", "1700000001.M999999P1.h", "x");
	mkfile("new", "1700000002.M10P1.h", "");
	mkfile("cur", "1700000001.M100000P1.h:2,", "a\r\nb\r\n");
	mkfile("new", "1700000000.123_4.h", "old\n");
	mkfile("new", "999999999.M1P1.h", "older\n");
	mkfile("cur", "1700000002.M5P1.g:2,S", "tie\n");
	mkfile("new", ".hidden", "no\n");
	mkfile("cur", ".1700000000.M1P1.h:2,S", "no\n");
	snprintf(path, sizeof(path), "%s/cur/1600000000.dir.h", md_path);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cur/1600000000.link.h:2,S", md_path);
	symlink("/etc/passwd", path);
	snprintf(path, sizeof(path), "%s/new/1600000000.fifo.h", md_path);
	mkfifo(path, 0600);

	ok(open_md(&md) == STORE_OK, "listing opens");
	ok(md.count == 7, "7 messages: dot files, dir, link, fifo left out "
	    "(%zu)", md.count);
	ok(find(&md, "cur/1600000000.link.h:2,S") == (size_t)-1,
	    "symlink to /etc/passwd not listed");
	ok(md.count == 7 &&
	    strcmp(maildrop_name(&md, 0), "new/999999999.M1P1.h") == 0 &&
	    strcmp(maildrop_name(&md, 1), "new/1700000000.123_4.h") == 0 &&
	    strcmp(maildrop_name(&md, 2),
	    "cur/1700000001.M100000P1.h:2,") == 0 &&
	    strcmp(maildrop_name(&md, 3), "new/1700000001.M999999P1.h") == 0 &&
	    strcmp(maildrop_name(&md, 4), "cur/1700000002.M5P1.g:2,S") == 0 &&
	    strcmp(maildrop_name(&md, 5), "cur/1700000002.M5P1.h:2,S") == 0 &&
	    strcmp(maildrop_name(&md, 6), "new/1700000002.M10P1.h") == 0,
	    "oldest first: seconds as numbers, then usec, then name");
	ok(md.count == 7 && md.msgs[0].size == 7 && md.msgs[1].size == 5 &&
	    md.msgs[2].size == 6 && md.msgs[3].size == 3 &&
	    md.msgs[5].size == 6 && md.msgs[6].size == 0,
	    "sizes by the POP3 rules");
	ok(md.total == 7 + 5 + 6 + 3 + 5 + 6 + 0, "total of sizes");
	ok(md.count == 7 && strcmp(maildrop_uidl(&md, 2),
	    "1700000001.M100000P1.h") == 0 && strcmp(maildrop_uidl(&md, 6),
	    "1700000002.M10P1.h") == 0, "uidl is the base name");
	ok((md.msgs[3].flags & MSG_NEW) && !(md.msgs[2].flags & MSG_NEW),
	    "MSG_NEW marks new/");
	ok(sizeof(struct message) == 16, "struct message is 16 bytes");

	/* The symlink must not be opened even if it takes a listed name. */
	snprintf(path, sizeof(path), "%s/new/1700000001.M999999P1.h", md_path);
	unlink(path);
	symlink("/etc/passwd", path);
	errno = 0;
	fd = maildrop_open_message(&md, 3);
	ok(fd == -1 && errno == ENOENT, "a symlink swapped in: ENOENT");
	errno = 0;
	ok(maildrop_open_message(&md, 99) == -1 && errno == EINVAL,
	    "out of range: EINVAL");
	fd = maildrop_open_message(&md, 0);
	ok(fd != -1 && read(fd, path, 6) == 6 &&
	    memcmp(path, "older\n", 6) == 0, "open_message reads the file");
	if (fd != -1)
		close(fd);
	maildrop_close(&md);
}

static void
test_uidls(void)
{
	struct maildrop	md;
	char		want[UIDL_MAX + 1];
	size_t		i, j, dups = 0;

	fresh("uidl");
	mkfile("new", "dup.1", "1\n");
	mkfile("cur", "dup.1:2,S", "2\n");
	mkfile("cur", "a:1", "3\n");
	mkfile("cur", "a:2,S", "4\n");
	mkfile("cur", "bad name:2,S", "5\n");
	mkfile("cur", "same", "6\n");
	mkfile("new", "same", "7\n");
	ok(open_md(&md) == STORE_OK && md.count == 7, "duplicates listed");
	for (i = 0; i < md.count; i++)
		for (j = i + 1; j < md.count; j++)
			if (strcmp(maildrop_uidl(&md, i),
			    maildrop_uidl(&md, j)) == 0)
				dups++;
	ok(dups == 0, "every uidl unique");
	i = find(&md, "new/dup.1");
	ok(i != (size_t)-1 && strcmp(maildrop_uidl(&md, i), "dup.1") == 0,
	    "first of a shared base keeps it");
	uidl_hash("cur/dup.1:2,S", 13, want);
	i = find(&md, "cur/dup.1:2,S");
	ok(i != (size_t)-1 && strcmp(maildrop_uidl(&md, i), want) == 0,
	    "later one gets SHA-256 of cur/NAME");
	i = find(&md, "cur/a:1");
	ok(i != (size_t)-1 && strcmp(maildrop_uidl(&md, i), "a") == 0,
	    "a:1 keeps a");
	uidl_hash("cur/a:2,S", 9, want);
	i = find(&md, "cur/a:2,S");
	ok(i != (size_t)-1 && strcmp(maildrop_uidl(&md, i), want) == 0,
	    "a:2,S gets the path hash");
	uidl_from_name("bad name", want);
	i = find(&md, "cur/bad name:2,S");
	ok(i != (size_t)-1 && strcmp(maildrop_uidl(&md, i), want) == 0,
	    "invalid base: fallback uidl");
	i = find(&md, "cur/same");
	j = find(&md, "new/same");
	uidl_hash("new/same", 8, want);
	ok(i < j && j != (size_t)-1 &&
	    strcmp(maildrop_uidl(&md, i), "same") == 0 &&
	    strcmp(maildrop_uidl(&md, j), want) == 0,
	    "same name in both: cur/ first keeps it");
	maildrop_close(&md);
	ok(open_md(&md) == STORE_OK && md.count == 7 &&
	    strcmp(maildrop_uidl(&md, find(&md, "cur/a:2,S")), want) != 0 &&
	    strcmp(maildrop_uidl(&md, find(&md, "new/same")), want) == 0,
	    "uidls stable across sessions");
	maildrop_close(&md);
}

/* In a child: try to open the maildrop, exit with the status. */
static int
child_open(void)
{
	struct maildrop	md;
	pid_t		pid;
	int		status;

	if ((pid = fork()) == 0)
		_exit(open_md(&md));
	if (pid == -1 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * In a child: take one kind of lock (what a session on another host, or
 * of an older version, holds), say so on fd, then wait to be killed.
 */
static pid_t
hold_lock(int ofd)
{
	struct flock	fl;
	char		path[512], c;
	pid_t		pid;
	int		fds[2], fd;

	if (pipe(fds) == -1)
		abort();
	if ((pid = fork()) == 0) {
		close(fds[0]);
		if (ofd) {
			snprintf(path, sizeof(path), "%s/%s", md_path,
			    MAILDROP_LOCK_FILE);
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fd = open(path, O_RDWR | O_CREAT, 0600);
			if (fd != -1 && fcntl(fd, F_OFD_SETLK, &fl) == 0)
				write(fds[1], "x", 1);
		} else {
			fd = open(md_path, O_RDONLY | O_DIRECTORY);
			if (fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == 0)
				write(fds[1], "x", 1);
		}
		pause();
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

static void
release(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/*
 * The lock file is what sessions on other hosts see; the flock(2) of the
 * directory is what older versions take.  Each alone keeps a session out.
 */
static void
test_lock_kinds(void)
{
	struct maildrop	md;
	struct stat	st;
	char		path[512], target[512];
	pid_t		pid;

	fresh("lockkinds");
	pid = hold_lock(1);
	ok(pid > 0 && open_md(&md) == STORE_INUSE,
	    "an OFD lock on pop3d.lock alone: STORE_INUSE");
	release(pid);
	ok(open_md(&md) == STORE_OK, "free once its holder is killed");
	snprintf(path, sizeof(path), "%s/%s", md_path, MAILDROP_LOCK_FILE);
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0777) == 0600, "pop3d.lock: a regular file, 0600");
	maildrop_close(&md);
	ok(lstat(path, &st) == 0, "and left in place at close");
	pid = hold_lock(0);
	ok(pid > 0 && open_md(&md) == STORE_INUSE,
	    "a flock(2) on the directory alone (older versions): STORE_INUSE");
	release(pid);
	ok(open_md(&md) == STORE_OK, "free again");
	maildrop_close(&md);

	unlink(path);
	snprintf(target, sizeof(target), "%s/elsewhere", top);
	symlink(target, path);
	ok(open_md(&md) == STORE_PERMFAIL && lstat(target, &st) == -1,
	    "pop3d.lock a symbolic link: refused, not followed");
	unlink(path);
	mkdir(path, 0700);
	ok(open_md(&md) == STORE_PERMFAIL, "pop3d.lock a directory: refused");
	rmdir(path);
}

/*
 * A Maildir whose top its owner may not write gets no lock file: the
 * session takes the flock(2) alone, as earlier versions did.  As root
 * the child becomes another user, whom the mode then binds.
 */
static void
test_lock_readonly(void)
{
	static const char *const subs[] = { "", "/new", "/cur", "/tmp" };
	struct maildrop	md;
	struct stat	st;
	char		path[512];
	pid_t		pid;
	size_t		i;
	int		status = -1;

	fresh("lockro");
	if ((pid = fork()) == 0) {
		if (geteuid() == 0) {
			for (i = 0; i < 4; i++) {
				snprintf(path, sizeof(path), "%s%s", md_path,
				    subs[i]);
				if (chown(path, 65534, 65534) == -1)
					_exit(99);
			}
			if (chmod(top, 0711) == -1 || setgid(65534) == -1 ||
			    setuid(65534) == -1)
				_exit(99);
		}
		if (chmod(md_path, 0500) == -1)
			_exit(99);
		_exit(open_md(&md));
	}
	if (pid != -1)
		waitpid(pid, &status, 0);
	chmod(top, 0700);
	snprintf(path, sizeof(path), "%s/%s", md_path, MAILDROP_LOCK_FILE);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == STORE_OK &&
	    lstat(path, &st) == -1 && errno == ENOENT,
	    "top not writable: no lock file, the flock(2) alone (status %d)",
	    status);
	chmod(md_path, 0700);
}

static void
test_lock(void)
{
	struct maildrop	md;
	int		fds[2];
	pid_t		pid;
	char		c;

	fresh("lock");
	ok(open_md(&md) == STORE_OK, "first session locks");
	ok(child_open() == STORE_INUSE, "second session: STORE_INUSE");
	maildrop_close(&md);
	ok(child_open() == STORE_OK, "free after close");

	if (pipe(fds) == -1)
		abort();
	if ((pid = fork()) == 0) {
		close(fds[0]);
		if (open_md(&md) == STORE_OK)
			write(fds[1], "x", 1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	ok(read(fds[0], &c, 1) == 1, "child holds the lock");
	ok(open_md(&md) == STORE_INUSE, "parent: STORE_INUSE");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	ok(open_md(&md) == STORE_OK, "free after the holder died");
	maildrop_close(&md);
	test_lock_kinds();
	test_lock_readonly();
}

static void
test_commit(void)
{
	struct maildrop		md;
	struct commit_result	cr;
	size_t			i;

	fresh("commit");
	mkfile("new", "1.a", "one\n");
	mkfile("new", "2.a", "two\n");
	mkfile("cur", "3.a:2,S", "three\n");
	mkfile("cur", "4.a:2,FR", "four\n");
	ok(open_md(&md) == STORE_OK && md.count == 4, "four messages");
	md.msgs[0].flags |= MSG_DELETED;
	md.msgs[2].flags |= MSG_DELETED;
	maildrop_close(&md);
	ok(exists("new", "1.a") && exists("cur", "3.a:2,S"),
	    "nothing deleted without commit");

	ok(open_md(&md) == STORE_OK && md.count == 4, "reopened");
	fsyncs = 0;
	ok(maildrop_commit(&md, &cr) == STORE_OK && cr.deleted == 0 &&
	    fsyncs == 0, "a commit that changes nothing syncs nothing (%d)",
	    fsyncs);
	maildrop_close(&md);

	ok(open_md(&md) == STORE_OK && md.count == 4, "reopened");
	md.msgs[0].flags |= MSG_DELETED;
	md.msgs[2].flags |= MSG_DELETED;
	fsyncs = 0;
	ok(maildrop_commit(&md, &cr) == STORE_OK && cr.deleted == 2 &&
	    cr.failed == 0 && cr.deleted_bytes == 5 + 7, "commit deletes 2");
	ok(fsyncs == 2, "then new/ and cur/ are synced (%d)", fsyncs);
	maildrop_close(&md);
	ok(!exists("new", "1.a") && !exists("cur", "3.a:2,S") &&
	    exists("new", "2.a") && exists("cur", "4.a:2,FR"),
	    "exactly the deleted ones are gone");

	mkfile("cur", "5.a:2,T", "five\n");
	mkfile("cur", "6.a:2,S", "six\n");
	mkfile("cur", "7.a:2,abc", "seven\n");
	ok(open_md(&md) == STORE_OK && md.count == 5, "five messages");
	for (i = 0; i < md.count; i++)
		md.msgs[i].flags |= MSG_RETRIEVED;
	ok(maildrop_commit(&md, &cr) == STORE_OK && cr.deleted == 0,
	    "commit of retrieved ones");
	maildrop_close(&md);
	ok(!exists("new", "2.a") && exists("cur", "2.a:2,S"),
	    "new/X becomes cur/X:2,S");
	ok(!exists("cur", "4.a:2,FR") && exists("cur", "4.a:2,FRS"),
	    "X:2,FR becomes X:2,FRS");
	ok(exists("cur", "5.a:2,ST"), "X:2,T becomes X:2,ST");
	ok(exists("cur", "6.a:2,S"), "X:2,S stays");
	ok(exists("cur", "7.a:2,Sabc"), "keywords sort after S");
}

static void
test_vanished(void)
{
	struct maildrop		md;
	struct commit_result	cr;
	char			a[512], b[512];
	int			fd;

	fresh("vanish");
	mkfile("new", "1.v", "one\n");
	mkfile("new", "2.v", "two\n");
	mkfile("new", "3.v", "three\n");
	mkfile("cur", "4.v:2,S", "four\n");
	ok(open_md(&md) == STORE_OK && md.count == 4, "four messages");
	snprintf(a, sizeof(a), "%s/new/1.v", md_path);
	unlink(a);
	errno = 0;
	ok(maildrop_open_message(&md, 0) == -1 && errno == ENOENT,
	    "vanished file: -1 ENOENT");
	/* Another client moves 2.v to cur/ and re-flags 4.v. */
	snprintf(a, sizeof(a), "%s/new/2.v", md_path);
	snprintf(b, sizeof(b), "%s/cur/2.v:2,", md_path);
	rename(a, b);
	snprintf(a, sizeof(a), "%s/cur/4.v:2,S", md_path);
	snprintf(b, sizeof(b), "%s/cur/4.v:2,RS", md_path);
	rename(a, b);
	fd = maildrop_open_message(&md, 1);
	ok(fd != -1 && read(fd, a, 4) == 4 && memcmp(a, "two\n", 4) == 0,
	    "moved to cur/ by another client: still found");
	if (fd != -1)
		close(fd);
	md.msgs[0].flags |= MSG_DELETED;
	md.msgs[1].flags |= MSG_RETRIEVED;
	md.msgs[3].flags |= MSG_DELETED;
	ok(maildrop_commit(&md, &cr) == STORE_OK && cr.deleted == 2 &&
	    cr.failed == 0, "vanished deletion is no failure");
	maildrop_close(&md);
	ok(!exists("cur", "4.v:2,RS"), "re-flagged file deleted by new name");
	ok(exists("cur", "2.v:2,S") && !exists("cur", "2.v:2,"),
	    "moved file got the S flag");
	ok(exists("new", "3.v"), "others untouched");
}

/*
 * One file under two names, as a move by link(2) and unlink(2) leaves it
 * halfway, is one message; two files under one base name are two.
 */
static void
test_links(void)
{
	struct maildrop	md;
	char		a[512], b[512];
	size_t		i, j;

	fresh("links");
	mkfile("new", "1.k", "one\n");
	snprintf(a, sizeof(a), "%s/new/1.k", md_path);
	snprintf(b, sizeof(b), "%s/cur/1.k:2,S", md_path);
	if (link(a, b) == -1)
		abort();
	mkfile("cur", "2.k:2,S", "two\n");
	snprintf(a, sizeof(a), "%s/cur/2.k:2,S", md_path);
	snprintf(b, sizeof(b), "%s/cur/9.other:2,S", md_path);
	if (link(a, b) == -1)
		abort();
	mkfile("new", "3.k", "three\n");
	mkfile("cur", "3.k:2,S", "three, another\n");
	ok(open_md(&md) == STORE_OK && md.count == 5, "five messages (%zu)",
	    md.count);
	i = find(&md, "cur/1.k:2,S");
	ok(i != (size_t)-1 && find(&md, "new/1.k") == (size_t)-1 &&
	    strcmp(maildrop_uidl(&md, i), "1.k") == 0 && md.msgs[i].size == 5 &&
	    !(md.msgs[i].flags & MSG_SHARED),
	    "one inode under one base name in new/ and cur/: once, as cur/");
	ok(find(&md, "cur/2.k:2,S") != (size_t)-1 &&
	    find(&md, "cur/9.other:2,S") != (size_t)-1,
	    "one inode under two base names: two messages");
	i = find(&md, "new/3.k");
	j = find(&md, "cur/3.k:2,S");
	ok(i != (size_t)-1 && j != (size_t)-1 &&
	    (md.msgs[i].flags & MSG_SHARED) && (md.msgs[j].flags & MSG_SHARED) &&
	    strcmp(maildrop_uidl(&md, i), maildrop_uidl(&md, j)) != 0,
	    "two inodes under one base name: two messages, two unique-ids");
	ok(md.total == 5 + 5 + 5 + 7 + 16, "total counts each message once");
	maildrop_close(&md);
}

/*
 * Files renamed after the listing are found under their new names, in
 * new/ or cur/; of two files that share a base name, each is found by
 * its inode, even under the name the other was listed with.
 */
static void
test_moved(void)
{
	struct maildrop		md;
	struct commit_result	cr;
	size_t			one, two, sn, sc;

	fresh("moved");
	mkfile("new", "1.m", "one\n");
	mkfile("cur", "2.m:2,", "two\n");
	mkfile("new", "s.m", "shared, new\n");
	mkfile("cur", "s.m:2,S", "shared, cur\n");
	ok(open_md(&md) == STORE_OK && md.count == 4, "four messages");
	one = find(&md, "new/1.m");
	two = find(&md, "cur/2.m:2,");
	sn = find(&md, "new/s.m");
	sc = find(&md, "cur/s.m:2,S");
	ok(move("new", "1.m", "cur", "1.m:2,RS") == 0 &&
	    move("cur", "2.m:2,", "new", "2.m") == 0 &&
	    move("cur", "s.m:2,S", "cur", "s.m:2,T") == 0 &&
	    move("new", "s.m", "cur", "s.m:2,S") == 0,
	    "another client renames all four, one to the name of another");
	ok(reads(&md, one, "one\n"), "moved to cur/ with flags: found");
	ok(reads(&md, two, "two\n"), "moved back to new/: found");
	ok(reads(&md, sn, "shared, new\n") && reads(&md, sc, "shared, cur\n"),
	    "a shared base name: each found by its inode");
	md.msgs[one].flags |= MSG_DELETED;
	md.msgs[sc].flags |= MSG_DELETED;
	md.msgs[two].flags |= MSG_RETRIEVED;
	md.msgs[sn].flags |= MSG_RETRIEVED;
	ok(maildrop_commit(&md, &cr) == STORE_OK && cr.deleted == 2 &&
	    cr.failed == 0, "two deleted under their new names");
	maildrop_close(&md);
	ok(!exists("cur", "1.m:2,RS") && !exists("cur", "s.m:2,T"),
	    "the deleted files are gone");
	ok(exists("cur", "s.m:2,S") && exists("cur", "2.m:2,S") &&
	    !exists("new", "2.m"), "the others kept, seen");
}

/*
 * Another client renames files as fast as it can while the maildrop is
 * listed again and again: flags change in cur/, one at a time, round
 * and round, and the files in new/ move to cur/.  Enough files that
 * readdir(3) takes several system calls for cur/, between which a rename
 * can move a file behind the reading.
 */
#define RENAMER_FILES	3000
#define RENAMER_NEW	300
#define RENAMER_SECONDS	2

static void
renamer(void)
{
	char	a[64], b[64];
	int	i;

	for (i = 0; i < RENAMER_FILES; i++) {
		snprintf(a, sizeof(a), "%d.r", i);
		snprintf(b, sizeof(b), "%d.r:2,S", i);
		move("new", a, "cur", b);
	}
	for (;;)
		for (i = 0; i < RENAMER_FILES; i++) {
			snprintf(a, sizeof(a), "%d.r:2,S", i);
			snprintf(b, sizeof(b), "%d.r:2,RS", i);
			if (move("cur", a, "cur", b) == -1)
				move("cur", b, "cur", a);
		}
}

/* Whether every message is listed once, under its base name, and opens. */
static int
listed_once(struct maildrop *md, size_t *opened)
{
	char	name[32], body[32];
	size_t	i;
	int	n;

	if (md->count != RENAMER_FILES)
		return 0;
	for (i = 0; i < md->count; i++) {
		/* The number in front is the delivery time: the order. */
		n = atoi(maildrop_uidl(md, i));
		snprintf(name, sizeof(name), "%d.r", n);
		if (n != (int)i || strcmp(maildrop_uidl(md, i), name) != 0)
			return 0;
		if (i % 97 != 0)
			continue;
		snprintf(body, sizeof(body), "message %d\n", n);
		if (!reads(md, i, body))
			return 0;
		(*opened)++;
	}
	return 1;
}

static void
test_renamer(void)
{
	struct maildrop	md;
	char		name[32], body[32];
	size_t		opened = 0;
	time_t		end;
	pid_t		pid;
	int		i, listings = 0, bad = 0;

	fresh("renamer");
	for (i = 0; i < RENAMER_FILES; i++) {
		snprintf(name, sizeof(name), i < RENAMER_NEW ? "%d.r" :
		    "%d.r:2,S", i);
		snprintf(body, sizeof(body), "message %d\n", i);
		mkfile(i < RENAMER_NEW ? "new" : "cur", name, body);
	}
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		renamer();
		_exit(0);
	}
	end = time(NULL) + RENAMER_SECONDS;
	while (time(NULL) < end && bad < 10) {
		if (open_md(&md) != STORE_OK) {
			bad++;
			continue;
		}
		listings++;
		if (!listed_once(&md, &opened)) {
			printf("# listing %d: %zu messages\n", listings,
			    md.count);
			bad++;
		}
		maildrop_close(&md);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ok(listings > 0 && bad == 0, "%d listings while files are renamed: "
	    "each message once, under its base name, %zu opened (%d bad)",
	    listings, opened, bad);
}

static int
file_is(const char *name, const char *want)
{
	char	path[512], buf[256];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", md_path, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

static void
test_quota(void)
{
	struct maildrop		md;
	struct commit_result	cr;

	fresh("quota");
	mkfile(".", "maildirsize", "1000000S,100C\n");
	mkfile("new", "1.q,S=123", "with size in the name\n");
	mkfile("cur", "2.q:2,S", "0123456789\n");
	mkfile("cur", "3.q:2,S", "abc");
	mkfile("cur", "4.q,S=9:2,S", "");
	ok(open_md(&md) == STORE_OK && md.count == 4, "four messages");
	md.msgs[0].flags |= MSG_DELETED;
	md.msgs[1].flags |= MSG_DELETED;
	ok(maildrop_commit(&md, &cr) == STORE_OK && cr.deleted == 2,
	    "commit with maildirsize");
	maildrop_close(&md);
	ok(file_is("maildirsize", "1000000S,100C\n-134 -2\n"),
	    "one line: S= from the name, else the file size");
	ok(open_md(&md) == STORE_OK && md.count == 2, "two left");
	md.msgs[0].flags |= MSG_DELETED;
	md.msgs[1].flags |= MSG_DELETED;
	ok(maildrop_commit(&md, &cr) == STORE_OK, "second commit");
	maildrop_close(&md);
	ok(file_is("maildirsize", "1000000S,100C\n-134 -2\n-12 -2\n"),
	    "one more line per commit");
	ok(open_md(&md) == STORE_OK && maildrop_commit(&md, &cr) == STORE_OK,
	    "commit with nothing deleted");
	maildrop_close(&md);
	ok(file_is("maildirsize", "1000000S,100C\n-134 -2\n-12 -2\n"),
	    "no line without deletions");
}

/* Heap per message beyond the name itself, over 2,000 messages. */
static void
test_memory(void)
{
	struct maildrop	md;
	char		name[128];
	size_t		i, names = 0;
	double		extra;

	fresh("many");
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name),
		    "%zu.M%zuP4242.mail.example.org,S=1234:2,S",
		    1700000000 + i, i % 1000000);
		mkfile("cur", name, "");
		names += strlen(name) + 1;
	}
	ok(open_md(&md) == STORE_OK && md.count == 2000, "2,000 messages");
	extra = (double)(md.count * sizeof(*md.msgs) + md.poolalloc - names) /
	    md.count;
	ok(extra <= 16.0, "%.1f bytes a message besides the name", extra);
	ok(md.count == 2000 &&
	    strcmp(maildrop_name(&md, 1999),
	    "cur/1700001999.M1999P4242.mail.example.org,S=1234:2,S") == 0,
	    "last is newest");
	maildrop_close(&md);
}

/* What maildir_read_ahead() did, in order. */
struct ahead_log {
	char	seen[3][64][16];	/* stage 0, stage 1, visits */
	int	n[3];
	int	stop_at;		/* visits before the visitor stops */
};

static void
ahead_note(struct ahead_log *l, int which, const struct dirent *de)
{
	if (l->n[which] < 64)
		snprintf(l->seen[which][l->n[which]], 16, "%.15s", de->d_name);
	l->n[which]++;
}

static void
ahead_stage(void *arg, const struct dirent *de, int stage)
{
	ahead_note(arg, stage, de);
}

static int
ahead_visit(void *arg, int dfd, const struct dirent *de)
{
	struct ahead_log *l = arg;

	(void)dfd;
	ahead_note(l, 2, de);
	return l->n[2] == l->stop_at;
}

/* Whether the read-ahead kept its order: see maildir.h. */
static int
ahead_ordered(const struct ahead_log *l, int files)
{
	int	i, half = MAILDIR_READ_AHEAD / 2;

	if (l->n[0] != files || l->n[2] != files ||
	    l->n[1] != (files > half ? files - half : 0))
		return 0;
	for (i = 0; i < files; i++)
		if (strcmp(l->seen[0][i], l->seen[2][i]) != 0 ||
		    l->seen[2][i][0] != 'f')
			return 0;
	for (i = 0; i < l->n[1]; i++)
		if (strcmp(l->seen[1][i], l->seen[2][i + half]) != 0)
			return 0;
	return 1;
}

static void
test_read_ahead(void)
{
	static const int	 counts[] = { 0, 1, MAILDIR_READ_AHEAD / 2,
				    MAILDIR_READ_AHEAD - 1, MAILDIR_READ_AHEAD,
				    MAILDIR_READ_AHEAD + 1, 40 };
	struct ahead_log	*l;
	char			 path[512], name[32];
	size_t			 i;
	int			 dfd, made = 0, rv;

	snprintf(path, sizeof(path), "%s/ahead", top);
	if (mkdir(path, 0700) == -1 || (l = calloc(1, sizeof(*l))) == NULL ||
	    (dfd = open(path, O_RDONLY | O_DIRECTORY)) == -1)
		abort();
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		for (; made < counts[i]; made++) {
			snprintf(name, sizeof(name), "f%d", made);
			close(openat(dfd, name, O_CREAT | O_WRONLY, 0600));
		}
		memset(l, 0, sizeof(*l));
		l->stop_at = -1;
		rv = maildir_read_ahead(dfd, ahead_visit, ahead_stage, l);
		ok((rv == MAILDIR_STILL || rv == MAILDIR_CHANGED) &&
		    ahead_ordered(l, made), "read ahead of %d files: every "
		    "entry once, stages and visits in the order read", made);
	}
	memset(l, 0, sizeof(*l));
	l->stop_at = 5;
	rv = maildir_read_ahead(dfd, ahead_visit, ahead_stage, l);
	ok(rv == MAILDIR_STOPPED && l->n[2] == 5, "a visitor stops it at once");
	memset(l, 0, sizeof(*l));
	l->stop_at = -1;
	rv = maildir_read(dfd, ahead_visit, l);
	ok(rv == MAILDIR_STILL && l->n[0] == 0 && l->n[2] == made,
	    "maildir_read(): no stages, every entry visited");
	close(dfd);
	free(l);
}

int
main(void)
{
	/* mkdir(2) refuses a name that exists, so a planted link is no risk. */
	snprintf(top, sizeof(top), "/tmp/test_maildrop.%ld", (long)getpid());
	if (mkdir(top, 0700) == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	test_create();
	test_listing();
	test_uidls();
	test_lock();
	test_commit();
	test_vanished();
	test_links();
	test_moved();
	test_renamer();
	test_quota();
	test_memory();
	test_read_ahead();
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
