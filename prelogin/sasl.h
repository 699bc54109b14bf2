/* SASL PLAIN (RFC 4616) message parsing for AUTH (RFC 5034). */
#ifndef POP3D_SASL_H
#define POP3D_SASL_H

#include <stddef.h>

#include "params.h"

enum sasl_plain_status {
	SASL_PLAIN_OK,
	SASL_PLAIN_MALFORMED,	/* not authzid NUL authcid NUL passwd, or too long */
	SASL_PLAIN_AUTHZID	/* asks to act as another user: refused */
};

/*
 * Split the decoded message msg[0..len) into user (AUTH_USER_MAX + 1) and
 * pass (AUTH_PASS_MAX + 1).  An authzid equal to the authcid is accepted.
 */
enum sasl_plain_status sasl_plain_parse(const unsigned char *msg, size_t len,
	    char *user, char *pass);

#endif
