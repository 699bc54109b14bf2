/*
 * Encoding and strict decoding of the sign request and its reply.
 */
#include <string.h>

#include "common/wire.h"
#include "common/wiresign.h"

/*
 * The lengths each algorithm can have.  A DigestInfo of SHA-1 to
 * SHA-512 is 35 to 83 octets; an RSA modulus of 1024 bits or more is
 * 128 octets or more (the monitor wants exactly its key's size); an
 * ECDSA digest is SHA-1 to SHA-512.
 */
static int
length_ok(enum wire_sign_alg alg, size_t n)
{
	switch (alg) {
	case SIGN_RSA_PKCS1:
		return n >= 35 && n <= 83;
	case SIGN_RSA_PSS:
		return n >= 128 && n <= WIRE_SIGN_MAX;
	case SIGN_ECDSA:
		return n == 20 || n == 28 || n == 32 || n == 48 || n == 64;
	}
	return 0;
}

int
wire_is_sign(const unsigned char *buf, size_t len)
{
	return len >= 2 && buf[1] == WIRE_SIGN;
}

long
wire_encode_sign(const struct wire_sign *s, unsigned char *buf, size_t len)
{
	if (s->len > WIRE_SIGN_MAX || len < 5 + s->len)
		return -1;
	buf[0] = WIRE_VERSION;
	buf[1] = WIRE_SIGN;
	buf[2] = s->alg;
	buf[3] = s->len >> 8;
	buf[4] = s->len & 0xff;
	memcpy(buf + 5, s->data, s->len);
	return (long)(5 + s->len);
}

int
wire_decode_sign(const unsigned char *buf, size_t len, struct wire_sign *s)
{
	size_t n;

	if (len < 5 || buf[0] != WIRE_VERSION || buf[1] != WIRE_SIGN)
		return -1;
	n = (size_t)buf[3] << 8 | buf[4];
	if (!length_ok(buf[2], n) || len != 5 + n)
		return -1;
	s->alg = buf[2];
	s->len = n;
	memcpy(s->data, buf + 5, n);
	return 0;
}

long
wire_encode_signature(const unsigned char *sig, size_t siglen,
    unsigned char *buf, size_t len)
{
	if (siglen > WIRE_SIGN_MAX || len < 4 + siglen)
		return -1;
	buf[0] = WIRE_VERSION;
	buf[1] = siglen > 0;
	buf[2] = siglen >> 8;
	buf[3] = siglen & 0xff;
	if (siglen > 0)
		memcpy(buf + 4, sig, siglen);
	return (long)(4 + siglen);
}

long
wire_decode_signature(const unsigned char *buf, size_t len,
    unsigned char *sig, size_t max)
{
	size_t n;

	if (len < 4 || buf[0] != WIRE_VERSION || buf[1] > 1)
		return -1;
	n = (size_t)buf[2] << 8 | buf[3];
	if (len != 4 + n || n > max || (buf[1] == 0) != (n == 0))
		return -1;
	memcpy(sig, buf + 4, n);
	return (long)n;
}
