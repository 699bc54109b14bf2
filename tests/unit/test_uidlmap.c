/*
 * import_uidl and import_uidl_format as the session takes them, and the
 * format expanded as Dovecot 2.3's var_expand() does for pop3_uidl_format.
 */
#include <string.h>

#include "params.h"
#include "store/uidlmap.h"
#include "tap.h"

static char	out[UIDL_MAX + 1];

/* The format set up, then expanded for uid, uidvalidity, base and guid. */
static int
is(const char *fmt, unsigned long uid, unsigned long uidv, const char *base,
    const char *guid, const char *want)
{
	char	err[256];
	size_t	n;

	if (uidlmap_setup("dovecot", fmt, err, sizeof(err)) == -1)
		return want == NULL;
	n = uidlmap_expand(uid, uidv, base, strlen(base), guid, strlen(guid),
	    out, sizeof(out));
	if (want == NULL)
		return 0;
	return n == strlen(want) && strcmp(out, want) == 0;
}

static void
test_formats(void)
{
	ok(is("%08Xu%08Xv", 1, 1700000123, "b", "g", "000000016553f17b"),
	    "Dovecot's default");
	ok(is("%08Xu%08Xv", 0xabcdef12, 0xffffffff, "b", "g",
	    "abcdef12ffffffff"), "full width: no padding");
	ok(is("%u.%v", 7, 42, "b", "g", "7.42"), "decimal");
	ok(is("%f", 1, 1, "1700000000.M1P2.host", "g",
	    "1700000000.M1P2.host"), "%%f is the base name");
	ok(is("%{uid}-%{uidvalidity}-%{guid}-%{filename}", 3, 4, "b", "g",
	    "3-4-g-b"), "long names");
	ok(is("%{uid | hex(8)}%{uidvalidity | hex(8)}", 1, 1700000123, "b",
	    "g", "000000016553f17b"), "Dovecot 2.4's default");
	ok(is("%{uid|hex(2)}.%{uid | hex}", 0x1234, 1, "b", "g", "34.1234"),
	    "2.4 hex keeps the last digits");
	ok(is("%{filename | hex(8)}", 1, 1, "b", "g", NULL),
	    "2.4 hex of a name refused");
	ok(is("%{uid | lower}", 1, 1, "b", "g", NULL), "other filters refused");
	ok(is("%{uid | hex(0)}", 1, 1, "b", "g", NULL), "hex(0) refused");
	ok(is("%{uid | hex(8)", 1, 1, "b", "g", NULL), "unclosed refused");
	ok(is("%08X{uid | hex(8)}", 1, 1, "b", "g", NULL),
	    "2.3 modifiers and 2.4 filters not mixed");
	ok(is("%4f", 1, 1, "abcdefgh", "g", "abcd"), "a width truncates");
	ok(is("%06u", 12, 1, "b", "g", "000012"), "0: pads with zeros");
	ok(is("a%%b%u", 5, 1, "b", "g", "a%b5"), "%%%% and text");
	ok(is("%m", 1, 1, "b", "g", NULL), "%%m refused");
	ok(is("%Xf", 1, 1, "b", "g", NULL), "X on a name refused");
	ok(is("%", 1, 1, "b", "g", NULL), "lone %% refused");
	ok(is("%q", 1, 1, "b", "g", NULL), "unknown letter refused");
	ok(is("%{md5}", 1, 1, "b", "g", NULL), "unknown long name refused");
	ok(is("%0100u", 1, 1, "b", "g", NULL), "wider than 99 refused");
	ok(is("%71u", 1, 1, "b", "g", "1"), "a wide truncation is harmless");
	ok(is("%070u", 1, 1, "b", "g", NULL) == 0 ||
	    strlen(out) == 70, "70 zeros fit");
	ok(!is("%071u", 1, 1, "b", "g", "x") &&
	    uidlmap_expand(1, 1, "b", 1, "g", 1, out, sizeof(out)) == 0,
	    "longer than 70: no unique-id");
}

static void
test_sources(void)
{
	char	err[256];

	ok(uidlmap_setup("no", "%u", err, sizeof(err)) == 0, "no");
	ok(uidlmap_setup("dovecot, courier", "%u", err, sizeof(err)) == 0,
	    "both, comma");
	ok(uidlmap_setup(" courier\tdovecot ", "%u", err, sizeof(err)) == 0,
	    "both, blanks");
	ok(uidlmap_setup("qmail", "%u", err, sizeof(err)) == -1 &&
	    strstr(err, "import_uidl") != NULL, "unknown source refused");
	ok(uidlmap_setup("no dovecot", "%u", err, sizeof(err)) == -1,
	    "no with a source refused");
	ok(uidlmap_setup("dovecot", "%m", err, sizeof(err)) == -1 &&
	    strstr(err, "import_uidl_format") != NULL, "bad format refused");
}

int
main(void)
{
	test_formats();
	test_sources();
	return tap_done();
}
