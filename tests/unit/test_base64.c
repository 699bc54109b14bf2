/* Unit tests of common/base64.c: RFC 4648 section 10 vectors and bad input. */
#include <string.h>

#include "common/base64.h"
#include "tests/unit/tap.h"

static const struct {
	const char	*plain;
	const char	*enc;
} vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static const char *invalid[] = {
	"=", "==", "===", "====", "Zg=", "Zg", "Z", "Zm9vY", "Zg==Zg==",
	"Z===", "Zm=v", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v====", "Zg\r\n",
	"Zh==",		/* non-zero bits behind the padding */
	"Zm9=",		/* likewise */
	"Zm-v", "Zm_v", "Zm\x80v", "Zm.v",
};

static void
test_vectors(void)
{
	unsigned char	dec[64];
	char		enc[64];
	size_t		i, plen, elen;
	long		n;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		plen = strlen(vectors[i].plain);
		elen = strlen(vectors[i].enc);
		n = base64_encode((const unsigned char *)vectors[i].plain,
		    plen, enc, sizeof(enc));
		ok(n == (long)elen && strcmp(enc, vectors[i].enc) == 0,
		    "encode \"%s\"", vectors[i].plain);
		n = base64_decode(vectors[i].enc, elen, dec, sizeof(dec));
		ok(n == (long)plen && memcmp(dec, vectors[i].plain, plen) == 0,
		    "decode \"%s\"", vectors[i].enc);
	}
}

static void
test_invalid(void)
{
	unsigned char	dec[64];
	size_t		i;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		ok(base64_decode(invalid[i], strlen(invalid[i]), dec,
		    sizeof(dec)) == -1, "reject invalid input %zu", i);
	ok(base64_decode("Zm\0v", 4, dec, sizeof(dec)) == -1,
	    "reject a NUL byte");
}

static void
test_all_bytes(void)
{
	unsigned char	src[256], dec[256];
	char		enc[400];
	long		n;
	int		i, good = 1;

	for (i = 0; i < 256; i++)
		src[i] = i;
	n = base64_encode(src, sizeof(src), enc, sizeof(enc));
	ok(n == 344, "encode 256 bytes to 344 characters");
	ok(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") == 344, "only alphabet characters");
	n = base64_decode(enc, 344, dec, sizeof(dec));
	ok(n == 256 && memcmp(src, dec, 256) == 0, "all bytes round trip");
	ok(base64_decode("+/+/", 4, dec, sizeof(dec)) == 3 &&
	    dec[0] == 0xfb && dec[1] == 0xff && dec[2] == 0xbf,
	    "decode '+' and '/'");

	/* Every length of a prefix round-trips. */
	for (i = 0; i <= 64; i++) {
		n = base64_encode(src + 100, i, enc, sizeof(enc));
		if (n < 0 || base64_decode(enc, n, dec, sizeof(dec)) != i ||
		    memcmp(dec, src + 100, i) != 0)
			good = 0;
	}
	ok(good, "lengths 0 to 64 round trip");
}

static void
test_small_dst(void)
{
	unsigned char	dec[8];
	char		enc[16];

	ok(base64_encode((const unsigned char *)"foo", 3, enc, 4) == -1,
	    "encode: no room for the NUL");
	ok(base64_encode((const unsigned char *)"foo", 3, enc, 5) == 4 &&
	    strcmp(enc, "Zm9v") == 0, "encode: exact room");
	ok(base64_encode((const unsigned char *)"", 0, enc, 0) == -1,
	    "encode: dstlen 0");
	ok(base64_encode((const unsigned char *)"", 0, enc, 1) == 0 &&
	    enc[0] == '\0', "encode: empty input");
	ok(base64_decode("Zm9vYmFy", 8, dec, 5) == -1, "decode: dst too small");
	ok(base64_decode("Zm9vYmFy", 8, dec, 6) == 6, "decode: exact room");
	ok(base64_decode("Zm9vYg==", 8, dec, 4) == 4, "decode: padded, exact");
	ok(base64_decode("Zm9vYg==", 8, dec, 3) == -1,
	    "decode: padded, too small");
	ok(base64_decode("", 0, NULL, 0) == 0, "decode: empty input");
}

int
main(void)
{
	test_vectors();
	test_invalid();
	test_all_bytes();
	test_small_dst();
	return tap_done();
}
