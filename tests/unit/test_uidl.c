/*
 * Unique-ids from Maildir names: the base name when RFC 1939 allows it,
 * the ':' + SHA-256 fallback otherwise.
 */
#include <string.h>

#include "params.h"
#include "store/uidl.h"
#include "tap.h"

static char	out[UIDL_MAX + 1];

static int
is(const char *name, const char *want)
{
	size_t	n;

	memset(out, 'Z', sizeof(out));
	n = uidl_from_name(name, out);
	return n == strlen(want) && strcmp(out, want) == 0;
}

/* ':' and 64 lowercase hex digits. */
static int
is_fallback(const char *name)
{
	size_t	n, i;

	n = uidl_from_name(name, out);
	if (n != 65 || strlen(out) != 65 || out[0] != ':')
		return 0;
	for (i = 1; i < 65; i++)
		if (strchr("0123456789abcdef", out[i]) == NULL)
			return 0;
	return 1;
}

static void
test_valid(void)
{
	char	name[80];

	ok(is("1700000000.M123456P789.host", "1700000000.M123456P789.host"),
	    "plain name is its own uidl");
	ok(is("1700000000.M1P2.host:2,S", "1700000000.M1P2.host"),
	    "info after ':' is stripped");
	ok(is("1700000000.M1P2.host:2,", "1700000000.M1P2.host"),
	    "empty flags stripped");
	ok(is("a:b:c", "a"), "only up to the first ':'");
	ok(is("!~", "!~"), "0x21 and 0x7e are allowed");
	memset(name, 'a', 70);
	name[70] = '\0';
	ok(is(name, name), "70 characters is valid");
	strlcpy(name + 70, ":2,S", sizeof(name) - 70);
	ok(uidl_from_name(name, out) == 70 && strncmp(out, name, 70) == 0 &&
	    out[70] == '\0', "70 characters with info is valid");
}

static void
test_fallback(void)
{
	char	name[80];

	memset(name, 'a', 71);
	name[71] = '\0';
	ok(is_fallback(name), "71 characters falls back");
	ok(is(name, ":eefa4cfbea79400c2f4239e1f702e02e"
	    "bece761f78b6a35c9d2c167a79f9570c"), "fallback: SHA-256 of base");
	ok(is_fallback("a b"), "space falls back");
	ok(is("a b:2,S", ":c8687a08aa5d6ed2044328fa6a697ab8"
	    "e96dc34291e8c2034ae8c38e6fcc6d65"), "hash of the base name only");
	ok(is_fallback("a\tb"), "control character falls back");
	ok(is_fallback("a\x7f"), "0x7f falls back");
	ok(is_fallback("caf\xc3\xa9"), "non-ASCII falls back");
	ok(is(":2,S", ":e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"), "empty base name falls back");
	ok(is("", ":e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"), "empty name falls back");
}

static void
test_stable(void)
{
	char	a[UIDL_MAX + 1], b[UIDL_MAX + 1];

	uidl_from_name("x y:2,S", a);
	uidl_from_name("x y:2,RS", b);
	ok(strcmp(a, b) == 0, "same base, other flags: same fallback");
	uidl_from_name("x y", a);
	uidl_from_name("x z", b);
	ok(strcmp(a, b) != 0, "other base: other fallback");
	ok(uidl_hash("new/x", 5, a) == UIDL_HASH_LEN &&
	    strcmp(a, ":b3d83cc168b304d082ac6cd87638d848"
	    "4ddbe498314575b847b6f752564b467f") == 0, "uidl_hash of a path");
	ok(uidl_base_len("abc:2,S") == 3 && uidl_base_len("abc") == 3,
	    "base length");
	ok(uidl_valid("abc", 3) && !uidl_valid("abc", 0) &&
	    !uidl_valid("a\x80", 2), "validity");
}

/* The octet-at-a-time rule. */
static int
valid_slowly(const unsigned char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > UIDL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * uidl_valid() takes eight octets at a time: every octet value at every
 * place of every length, beside a neighbour that could carry or borrow.
 */
static void
test_valid_words(void)
{
	static const int	next[] = { 'x', 0xff, 0x20, 0x7f, 0x21 };
	unsigned char		b[UIDL_MAX + 1];
	size_t			len, pos, k, n;
	unsigned long		bad = 0;
	int			v;

	for (len = 1; len <= UIDL_MAX + 1; len++)
		for (pos = 0; pos < len; pos++)
			for (v = 0; v < 256; v++)
				for (n = 0; n < 5; n++) {
					for (k = 0; k < len; k++)
						b[k] = 'a' + k % 26;
					b[pos] = v;
					if (pos + 1 < len)
						b[pos + 1] = next[n];
					if (!uidl_valid((char *)b, len) !=
					    !valid_slowly(b, len))
						bad++;
				}
	ok(bad == 0, "validity eight octets at a time: as one at a time "
	    "(%lu differ)", bad);
}

int
main(void)
{
	test_valid();
	test_valid_words();
	test_fallback();
	test_stable();
	return tap_done();
}
