/* Base64 (RFC 4648 section 4) for SASL, strict: no whitespace, padding required. */
#ifndef POP3D_BASE64_H
#define POP3D_BASE64_H

#include <stddef.h>

/* Decode src[0..srclen) into dst (room for dstlen).  Returns the decoded
 * length, or -1 on bad input or too small dst. */
long	base64_decode(const char *src, size_t srclen, unsigned char *dst,
	    size_t dstlen);

/* Encode into dst, NUL-terminated; returns the length or -1 if dst is small. */
long	base64_encode(const unsigned char *src, size_t srclen, char *dst,
	    size_t dstlen);

#endif
