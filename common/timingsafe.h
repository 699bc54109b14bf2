/*
 * OpenBSD's timingsafe_bcmp(3), which libbsd 0.11 (Debian 12) does not
 * export: the password checks compare without OpenSSL's CRYPTO_memcmp(),
 * so that a plaintext login maps no TLS library (common/ossl.h).
 */
#ifndef POP3D_TIMINGSAFE_H
#define POP3D_TIMINGSAFE_H

#include <stddef.h>

/* 0 if the n octets at b1 and b2 are equal, else 1, in a time set by n. */
int	timingsafe_bcmp(const void *b1, const void *b2, size_t n);

#endif
