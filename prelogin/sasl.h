/*
 * SASL message parsing for AUTH (RFC 5034): PLAIN (RFC 4616) and the
 * client's two SCRAM messages (RFC 5802 section 7).  Only the parts the
 * monitor needs leave here; it rebuilds the rest itself.
 */
#ifndef POP3D_SASL_H
#define POP3D_SASL_H

#include <stddef.h>

#include "params.h"
#include "common/wire.h"

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

enum sasl_scram_status {
	SASL_SCRAM_OK,
	SASL_SCRAM_MALFORMED,	/* not the grammar, or extensions we do not know */
	SASL_SCRAM_AUTHZID,	/* an authzid other than the user */
	SASL_SCRAM_CBTYPE	/* a channel binding type we do not support */
};

/*
 * client-first-message: gs2 header and bare message, without extensions.
 * Fills cbind, authzid, user (decoded: "=2C" is ',', "=3D" is '=') and
 * cnonce of f; f->mech is the caller's.
 */
enum sasl_scram_status sasl_scram_first(const unsigned char *msg, size_t len,
	    struct wire_scram_first *f);

/*
 * client-final-message: "c=...,r=...,p=..." and nothing else.  The proof
 * goes to f; channel binding and nonce are not compared here: the monitor
 * builds the AuthMessage from its own values, so a wrong one fails the
 * proof, as one more failed login.
 */
enum sasl_scram_status sasl_scram_final(const unsigned char *msg, size_t len,
	    struct wire_scram_final *f);

#endif
