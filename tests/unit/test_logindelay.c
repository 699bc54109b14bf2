/*
 * The LOGIN-DELAY table (auth/logindelay.c) on its own, with the clock
 * given by the test: a delay, its end, many users at once, a clock that
 * went back, and damaged files that must never refuse a login.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/logindelay.h"
#include "common/clock.h"
#include "common/log.h"
#include "tap.h"

#define T0	1700000000LL

static char	base[] = "/tmp/pop3d-logindelay-XXXXXX";
static char	dir[256], file[300];

static void
test_delay(void)
{
	ok(logindelay_check(dir, "alice", 60, T0) == 0, "first login");
	ok(logindelay_check(dir, "alice", 60, T0 + 1) == 59, "59 s to wait");
	ok(logindelay_check(dir, "bob", 60, T0 + 1) == 0, "another user");
	ok(logindelay_check(dir, "alice", 10, T0 + 10) == 0,
	    "a shorter delay of the same user is over");
	ok(logindelay_check(dir, "alice", 60, T0 + 69) == 1,
	    "counted from the last good login");
	ok(logindelay_check(dir, "alice", 60, T0 + 70) == 0, "and over");
}

static void
test_clock_back(void)
{
	ok(logindelay_check(dir, "carol", 60, T0 + 1000) == 0, "carol in");
	ok(logindelay_check(dir, "carol", 60, T0) == 0,
	    "a time in the future is not believed");
	ok(logindelay_check(dir, "carol", 60, T0 + 1) == 59,
	    "and replaced by the login");
}

static void
test_many_users(void)
{
	char	user[32];
	int	i, refused = 0;

	for (i = 0; i < 10000; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		refused += logindelay_check(dir, user, 3600, T0 + 2000) != 0;
	}
	ok(refused == 0, "10000 users in a 4096-slot table: none refused");
	ok(logindelay_check(dir, "user9999", 3600, T0 + 2001) > 0,
	    "the latest still delayed");
}

/* Another holder of the lock delays a login by a second, no more. */
static void
test_lock_held(void)
{
	struct flock	fl;
	long long	t0;
	long		rv;
	int		fd;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fd = open(file, O_RDWR);
	ok(fd != -1 && fcntl(fd, F_OFD_SETLK, &fl) == 0, "lock held here");
	t0 = clock_ms();
	rv = logindelay_check(dir, "erin", 60, T0);
	ok(rv == 0 && clock_ms() - t0 < 5000, "the login goes on after %lld ms",
	    clock_ms() - t0);
	close(fd);
	ok(logindelay_check(dir, "erin", 60, T0 + 1) == 0,
	    "and was not recorded");
}

static void
test_damage(void)
{
	int	fd;

	ok(logindelay_check(dir, "dave", 60, T0) == 0, "dave in");
	fd = open(file, O_WRONLY | O_TRUNC);
	ok(fd != -1 && write(fd, "POP3DLD\n", 8) == 8 && close(fd) == 0,
	    "truncated to the magic");
	ok(logindelay_check(dir, "dave", 60, T0 + 1) == 0,
	    "a truncated table refuses no login");
	ok(logindelay_check(dir, "dave", 60, T0 + 2) == 59,
	    "and is made anew");
	ok(unlink(file) == 0 && symlink("/nonexistent", file) == 0,
	    "a symbolic link in its place");
	ok(logindelay_check(dir, "dave", 60, T0 + 3) == 0, "refuses no login");
	ok(logindelay_check(dir, "dave", 60, T0 + 4) == 59, "and is replaced");
	ok(chmod(dir, 0777) == 0, "the directory opened to all");
	ok(logindelay_check(dir, "dave", 60, T0 + 5) == 0,
	    "an unsafe directory refuses no login");
	chmod(dir, 0700);
}

int
main(void)
{
	char	why[512];

	log_init("test_logindelay", 1);
	if (mkdtemp(base) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s/run", base);
	snprintf(file, sizeof(file), "%s/%s", dir, LOGIN_DELAY_FILE);
	ok(logindelay_dir_ok(dir, why, sizeof(why)) == 0, "directory made");
	test_delay();
	test_clock_back();
	test_many_users();
	test_lock_held();
	test_damage();
	unlink(file);
	rmdir(dir);
	rmdir(base);
	return tap_done();
}
