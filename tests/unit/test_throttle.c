/*
 * The login throttle (auth/throttle.c) on its own, with the clock given
 * by the test: the delays, the block and its end, what a right password
 * clears, the keys (IPv6 /64, IPv4-mapped, exempt, no address), and the
 * arithmetic of the defaults that pop3d.conf(5) states: 200 wrong
 * passwords from one address take over three hours, however many
 * connections carry them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/throttle.h"
#include "common/config.h"
#include "common/log.h"
#include "tap.h"

#define T0	1700000000LL

static char		base[] = "/tmp/pop3d-throttle-XXXXXX";
static char		dir[256], file[300];
static struct config	cf;

/* One attempt: its delay (ms), or -1 when refused; outcome if checked. */
static int
attempt(const char *client, const char *user, long long now,
    enum throttle_outcome o, long *wait)
{
	struct throttle	th;
	int		d;

	*wait = 0;
	if ((d = throttle_begin(&th, &cf, client, user, now, wait)) != -1)
		throttle_end(&th, &cf, o, now);
	return d;
}

static void
test_delays_and_block(void)
{
	static const int want[] = { 0, 250, 500, 1000, 2000, 4000, 8000, 8000,
	    8000, 8000 };
	long	wait;
	int	i, d, same = 1;

	for (i = 0; i < 10; i++) {
		d = attempt("192.0.2.1:4000", "alice", T0 + i, THROTTLE_WRONG,
		    &wait);
		same &= d == want[i];
	}
	ok(same, "delays 0, 0.25, 0.5 ... 8, 8 s");
	ok(attempt("192.0.2.1:4001", "alice", T0 + 10, THROTTLE_RIGHT,
	    &wait) == -1 && wait == 599, "then refused, %ld s left", wait);
	ok(attempt("192.0.2.1", "alice", T0 + 9 + 600, THROTTLE_WRONG,
	    &wait) == 0, "and forgotten 600 s after the last failure");
}

static void
test_right_password_clears(void)
{
	long wait;

	attempt("192.0.2.2", "bob", T0, THROTTLE_WRONG, &wait);
	attempt("192.0.2.2", "bob", T0, THROTTLE_WRONG, &wait);
	ok(attempt("192.0.2.2", "bob", T0, THROTTLE_RIGHT, &wait) == 500,
	    "a right password after two failures waits 0.5 s");
	ok(attempt("192.0.2.2", "bob", T0, THROTTLE_WRONG, &wait) == 0,
	    "and clears the address");
	ok(attempt("192.0.2.2", "bob", T0, THROTTLE_UNDECIDED, &wait) == 250,
	    "a failure counts");
	ok(attempt("192.0.2.2", "bob", T0, THROTTLE_WRONG, &wait) == 250,
	    "a temporary failure does not");
}

static void
test_user_key(void)
{
	char	addr[32];
	long	wait;
	int	i;

	for (i = 0; i < 20; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		attempt(addr, "carol", T0, THROTTLE_WRONG, &wait);
	}
	ok(attempt("203.0.113.1", "carol", T0, THROTTLE_WRONG, &wait) == 0,
	    "a clean address is not slowed by an attack on the user");
	ok(attempt("198.51.100.1", "carol", T0, THROTTLE_WRONG, &wait) ==
	    8000, "an address that failed waits the longest delay");
	ok(attempt("203.0.113.2", "carol", T0, THROTTLE_RIGHT, &wait) == 0 &&
	    attempt("198.51.100.2", "carol", T0, THROTTLE_WRONG, &wait) == 250,
	    "a right password clears the user");
	ok(attempt("198.51.100.1", "nobody-here", T0, THROTTLE_WRONG,
	    &wait) == 500, "for another name, its own delay");
}

static void
test_keys(void)
{
	long	wait;
	int	i;

	for (i = 0; i < 10; i++)
		attempt("[2001:db8:1:2::1]:4000", "dave", T0, THROTTLE_WRONG,
		    &wait);
	ok(attempt("[2001:db8:1:2:ffff::9]:4000", "dave", T0, THROTTLE_WRONG,
	    &wait) == -1, "IPv6 by its /64");
	ok(attempt("2001:db8:1:3::1", "dave", T0, THROTTLE_WRONG, &wait) == 0,
	    "the next /64 apart");
	for (i = 0; i < 10; i++)
		attempt("192.0.2.3", "erin", T0, THROTTLE_WRONG, &wait);
	ok(attempt("[::ffff:192.0.2.3]:4000", "erin", T0, THROTTLE_WRONG,
	    &wait) == -1, "IPv4-mapped is the IPv4 address");
	for (i = 0; i < 12; i++)
		if (attempt("127.0.0.1:4000", "erin", T0, THROTTLE_WRONG,
		    &wait) != 0 || attempt("local", "erin", T0,
		    THROTTLE_WRONG, &wait) != 0)
			break;
	ok(i == 12, "loopback and no address are not throttled");
}

/*
 * 200 wrong passwords, two a connection, from one address, at the
 * defaults, each answered auth_fail_delay_ms after its delay; a refused
 * one is tried again when the block ends.
 */
static void
test_defaults_arithmetic(void)
{
	long long	ms = 0;
	long		wait;
	int		checked = 0, d;

	while (checked < 200) {
		d = attempt("192.0.2.200", "frank", T0 + 100000 + ms / 1000,
		    THROTTLE_WRONG, &wait);
		if (d == -1) {
			ms += wait * 1000LL;
			continue;
		}
		ms += d + cf.auth_fail_delay_ms;
		checked++;
	}
	ok(ms >= 600 * 1000, "200 wrong passwords take over 10 minutes: %lld s",
	    ms / 1000);
	ok(ms >= 19 * 600 * 1000, "19 blocks of 10 minutes and more");
}

static void
test_damage(void)
{
	long	wait;
	FILE	*f;

	ok((f = fopen(file, "w")) != NULL && fputs("junk", f) >= 0 &&
	    fclose(f) == 0, "table overwritten");
	ok(attempt("192.0.2.4", "gina", T0, THROTTLE_WRONG, &wait) == 0,
	    "a damaged table refuses nothing");
	ok(attempt("192.0.2.4", "gina", T0, THROTTLE_WRONG, &wait) == 250,
	    "and is made anew");
}

int
main(void)
{
	char	why[512];

	log_init("test_throttle", 1);
	if (mkdtemp(base) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s/run", base);
	snprintf(file, sizeof(file), "%s/%s", dir, THROTTLE_FILE);
	config_defaults(&cf);
	strlcpy(cf.throttle_dir, dir, sizeof(cf.throttle_dir));
	ok(throttle_dir_ok(dir, why, sizeof(why)) == 0 &&
	    access(dir, F_OK) == -1, "a directory that can be made, not made");
	test_delays_and_block();
	test_right_password_clears();
	test_user_key();
	test_keys();
	test_defaults_arithmetic();
	test_damage();
	unlink(file);
	rmdir(dir);
	rmdir(base);
	return tap_done();
}
