/*
 * APOP (RFC 1939 section 7): the greeting carries a challenge and the
 * client answers with MD5(challenge + secret).  It needs the plaintext
 * secret on the server, so only {PLAIN} entries can use it, and only when
 * the configuration enables it.
 */
#ifndef POP3D_APOP_H
#define POP3D_APOP_H

#include <stddef.h>

#include "params.h"

#include "auth/password.h"

#define APOP_DIGEST_LEN		32	/* hex MD5 */

/* "<pid.time.random@host>": unique for every connection. */
int	apop_challenge(char *buf, size_t len);

/* 1 if s is 32 hexadecimal digits. */
int	apop_digest_valid(const char *s);

/* Check digest against stored ("{PLAIN}secret"); other schemes never match. */
enum password_result apop_verify(const char *stored, const char *challenge,
	    const char *digest);

#endif
