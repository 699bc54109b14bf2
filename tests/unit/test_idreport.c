/* The identity report of a checkpassword chain: round trip, strict decoding. */
#include <string.h>

#include "common/idreport.h"
#include "tap.h"

static struct idreport a, b;
static unsigned char buf[IDREPORT_MAX + 16];

static long
encode_sample(void)
{
	int i;

	memset(&a, 0, sizeof(a));
	a.uid[0] = a.uid[1] = a.uid[2] = 20001;
	a.gid[0] = a.gid[1] = a.gid[2] = 20002;
	a.ngroups = 3;
	for (i = 0; i < 3; i++)
		a.groups[i] = 100 + i;
	strlcpy(a.home, "/home/alice", sizeof(a.home));
	strlcpy(a.cwd, "/home/alice", sizeof(a.cwd));
	return idreport_encode(&a, buf, sizeof(buf));
}

static void
test_roundtrip(void)
{
	long n = encode_sample();

	ok(n > 0 && idreport_decode(buf, n, &b) == 0, "round trip");
	ok(b.uid[0] == 20001 && b.uid[2] == 20001 && b.gid[1] == 20002 &&
	    b.ngroups == 3 && b.groups[2] == 102 &&
	    strcmp(b.home, "/home/alice") == 0 &&
	    strcmp(b.cwd, "/home/alice") == 0, "fields survive");
	ok(idreport_decode(buf, n - 1, &b) == -1, "truncated: rejected");
	buf[n] = 'x';
	ok(idreport_decode(buf, n + 1, &b) == -1, "trailing octet: rejected");
	buf[0] = IDREPORT_VERSION + 1;
	ok(idreport_decode(buf, n, &b) == -1, "other version: rejected");
	buf[0] = IDREPORT_VERSION;
	ok(idreport_decode(buf, 0, &b) == -1, "empty: rejected");
}

static void
test_limits(void)
{
	long n = encode_sample();

	/* The group count sits after the version and six ids. */
	buf[1 + 6 * 4 + 3] = PASSDB_GROUPS_MAX + 1;
	ok(idreport_decode(buf, n, &b) == -1, "too many groups: rejected");
	buf[1 + 6 * 4 + 3] = 200;
	ok(idreport_decode(buf, n, &b) == -1, "groups past the end: rejected");
	n = encode_sample();
	buf[1 + 7 * 4 + 3 * 4 + 2 + 1] = '\0';
	ok(idreport_decode(buf, n, &b) == -1, "NUL inside HOME: rejected");
	a.ngroups = PASSDB_GROUPS_MAX + 1;
	ok(idreport_encode(&a, buf, sizeof(buf)) == -1,
	    "encoding too many groups: refused");
	a.ngroups = 0;
	ok(idreport_encode(&a, buf, IDREPORT_MAX - 1) == -1,
	    "encoding into a short buffer: refused");
	memset(a.home, 'h', sizeof(a.home) - 1);
	a.home[0] = '/';
	a.home[sizeof(a.home) - 1] = '\0';
	n = idreport_encode(&a, buf, sizeof(buf));
	ok(n > 0 && idreport_decode(buf, n, &b) == 0 &&
	    strcmp(a.home, b.home) == 0, "the longest HOME: round trip");
}

int
main(void)
{
	test_roundtrip();
	test_limits();
	return tap_done();
}
