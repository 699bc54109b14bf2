/*
 * Base64, RFC 4648 section 4, strict: the input is whole 4-character
 * groups, '=' only at the very end, and the bits padding leaves over are
 * zero, so every byte string has exactly one accepted encoding.
 *
 * SASL responses carry passwords, so characters are mapped with arithmetic
 * rather than a table lookup indexed by secret data.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "common/base64.h"

/*
 * (x in lo..hi) ? add : 0, without a branch: both differences are negative
 * only inside the range, and an arithmetic shift turns that into all ones.
 */
#define B64_IN(x, lo, hi, add) \
	(((((lo) - 1 - (x)) & ((x) - ((hi) + 1))) >> 8) & (add))

/* The 6-bit value of c, or -1 if c is not in the alphabet. */
static int
b64_value(unsigned char c)
{
	int	x = c;

	return -1 + B64_IN(x, 'A', 'Z', x - 'A' + 1) +
	    B64_IN(x, 'a', 'z', x - 'a' + 27) +
	    B64_IN(x, '0', '9', x - '0' + 53) +
	    B64_IN(x, '+', '+', 63) + B64_IN(x, '/', '/', 64);
}

static char
b64_char(unsigned int v)
{
	int	x = v & 0x3f;

	return 'A' + x + B64_IN(x, 26, 51, 'a' - 26 - 'A') +
	    B64_IN(x, 52, 61, '0' - 52 - 'A') +
	    B64_IN(x, 62, 62, '+' - 62 - 'A') +
	    B64_IN(x, 63, 63, '/' - 63 - 'A');
}

long
base64_decode(const char *src, size_t srclen, unsigned char *dst,
    size_t dstlen)
{
	size_t		i, j, k, pad = 0, outlen;
	unsigned long	acc;
	int		v, bad = 0;

	if (srclen % 4 != 0 || srclen > LONG_MAX)
		return -1;
	if (srclen == 0)
		return 0;
	if (src[srclen - 1] == '=')
		pad = (src[srclen - 2] == '=') ? 2 : 1;
	outlen = srclen / 4 * 3 - pad;
	if (outlen > dstlen)
		return -1;
	for (i = 0, k = 0; i < srclen; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			if (i + j >= srclen - pad) {
				acc <<= 6;	/* padding, checked above */
				continue;
			}
			v = b64_value(src[i + j]);
			bad |= v < 0;
			acc = (acc << 6) | (v & 0x3f);
		}
		if (pad > 0 && i + 4 == srclen)
			bad |= (acc & (pad == 1 ? 0xff : 0xffff)) != 0;
		for (j = 0; j < 3 && k < outlen; j++)
			dst[k++] = acc >> (16 - 8 * j);
	}
	if (bad) {
		explicit_bzero(dst, outlen);
		return -1;
	}
	return outlen;
}

long
base64_encode(const unsigned char *src, size_t srclen, char *dst,
    size_t dstlen)
{
	size_t		i, k = 0, n;
	unsigned long	acc;

	if (srclen > (LONG_MAX - 4) / 4 * 3)
		return -1;
	if ((srclen + 2) / 3 * 4 >= dstlen)
		return -1;
	for (i = 0; i < srclen; i += 3) {
		n = srclen - i < 3 ? srclen - i : 3;
		acc = (unsigned long)src[i] << 16;
		if (n > 1)
			acc |= (unsigned long)src[i + 1] << 8;
		if (n > 2)
			acc |= src[i + 2];
		dst[k++] = b64_char(acc >> 18);
		dst[k++] = b64_char(acc >> 12);
		dst[k++] = n > 1 ? b64_char(acc >> 6) : '=';
		dst[k++] = n > 2 ? b64_char(acc) : '=';
	}
	dst[k] = '\0';
	return k;
}
