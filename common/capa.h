/* CAPA (RFC 2449): one list for both states, as section 5 asks. */
#ifndef POP3D_CAPA_H
#define POP3D_CAPA_H

#include "common/config.h"
#include "common/io.h"

#define CAPA_STLS	0x01	/* STLS can be used now */
#define CAPA_LOGIN	0x02	/* USER can be used now */
#define CAPA_USERVAL	0x04	/* after login: the policy is the user's own */

/* RFC 2449 policies: 0 or EXPIRE_UNSET leave a line out. */
struct capa_policy {
	int	login_delay;		/* seconds */
	int	expire;			/* days, EXPIRE_NEVER, EXPIRE_UNSET */
};

/* SASL mechanisms (RFC 5034), as a mask: what the user source can check. */
#define SASL_PLAIN		0x01
#define SASL_LOGIN		0x02
#define SASL_SCRAM_SHA1		0x04
#define SASL_SCRAM_SHA256	0x08
#define SASL_SCRAM_SHA256_PLUS	0x10	/* over TLS only */
#define SASL_CLEARTEXT		(SASL_PLAIN | SASL_LOGIN)

/* The i-th mechanism's name and bit, strongest first; NULL past the last. */
const char *capa_sasl_mech(size_t i, unsigned *bit);

/*
 * Write the capability lines and the terminating "." line.  sasl: the
 * mechanisms usable now, for the SASL line (none: no line).  The policy
 * is the server-wide one before login (announced with "USER": a user's
 * own may differ), the logged-in user's with CAPA_USERVAL.
 */
int	capa_write(struct io *, const struct config *, int flags,
	    unsigned sasl, const struct capa_policy *);

#endif
