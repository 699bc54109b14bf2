/* The sign request and its reply: round trip and strict decoding. */
#include <string.h>

#include "common/wire.h"
#include "common/wiresign.h"
#include "tap.h"

static struct wire_sign a, b;
static unsigned char buf[WIRE_SIGN_REQUEST_MAX + 16];

static void
test_request(void)
{
	long n;

	memset(&a, 0, sizeof(a));
	a.alg = SIGN_ECDSA;
	a.len = 32;
	memset(a.data, 0x5a, a.len);
	n = wire_encode_sign(&a, buf, sizeof(buf));
	ok(n == 5 + 32, "encoded: 5 octets and the digest");
	ok(wire_is_sign(buf, n), "told apart from a login request");
	ok(wire_decode_sign(buf, n, &b) == 0 && b.alg == SIGN_ECDSA &&
	    b.len == 32 && memcmp(b.data, a.data, 32) == 0, "round trip");
	ok(wire_decode_sign(buf, n - 1, &b) == -1, "truncated: rejected");
	buf[n] = 0;
	ok(wire_decode_sign(buf, n + 1, &b) == -1, "trailing octet: rejected");
	buf[0] = WIRE_VERSION + 1;
	ok(wire_decode_sign(buf, n, &b) == -1, "other version: rejected");
	buf[0] = WIRE_VERSION;
	buf[2] = 9;
	ok(wire_decode_sign(buf, n, &b) == -1, "unknown algorithm: rejected");
	buf[2] = SIGN_RSA_PKCS1;
	ok(wire_decode_sign(buf, n, &b) == -1,
	    "a DigestInfo of 32 octets: rejected");
	buf[2] = SIGN_ECDSA;
	buf[4] = 33;
	ok(wire_decode_sign(buf, n, &b) == -1,
	    "a length that disagrees with the message: rejected");
	a.len = 33;
	n = wire_encode_sign(&a, buf, sizeof(buf));
	ok(n > 0 && wire_decode_sign(buf, n, &b) == -1,
	    "a digest of 33 octets: rejected");
	a.alg = SIGN_RSA_PSS;
	a.len = 256;
	n = wire_encode_sign(&a, buf, sizeof(buf));
	ok(n > 0 && wire_decode_sign(buf, n, &b) == 0, "a 2048-bit PSS block");
	buf[3] = (WIRE_SIGN_MAX + 1) >> 8;
	buf[4] = (WIRE_SIGN_MAX + 1) & 0xff;
	ok(wire_decode_sign(buf, 5 + WIRE_SIGN_MAX + 1, &b) == -1,
	    "longer than WIRE_SIGN_MAX: rejected");
	a.len = WIRE_SIGN_MAX + 1;
	ok(wire_encode_sign(&a, buf, sizeof(buf)) == -1,
	    "and not encoded either");
	ok(!wire_is_sign((const unsigned char *)"\3\1", 2),
	    "a login request is no sign request");
}

static void
test_reply(void)
{
	unsigned char	sig[WIRE_SIGN_MAX], out[WIRE_SIGN_MAX];
	long		n;

	memset(sig, 0x33, sizeof(sig));
	n = wire_encode_signature(sig, 72, buf, sizeof(buf));
	ok(n == 76 && wire_decode_signature(buf, n, out, sizeof(out)) == 72 &&
	    memcmp(out, sig, 72) == 0, "reply: round trip");
	ok(wire_decode_signature(buf, n, out, 71) == -1,
	    "reply longer than the key's signature: rejected");
	ok(wire_decode_signature(buf, n - 1, out, sizeof(out)) == -1,
	    "reply truncated: rejected");
	buf[1] = 0;
	ok(wire_decode_signature(buf, n, out, sizeof(out)) == -1,
	    "a refusal with a signature: rejected");
	n = wire_encode_signature(sig, 0, buf, sizeof(buf));
	ok(n == 4 && wire_decode_signature(buf, n, out, sizeof(out)) == 0,
	    "a refusal");
	ok(wire_encode_signature(sig, WIRE_SIGN_MAX + 1, buf, sizeof(buf)) ==
	    -1, "a signature longer than WIRE_SIGN_MAX is not encoded");
}

int
main(void)
{
	test_request();
	test_reply();
	return tap_done();
}
