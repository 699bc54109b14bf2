/* CAPA (RFC 2449): one list for both states, as section 5 asks. */
#ifndef POP3D_CAPA_H
#define POP3D_CAPA_H

#include "common/config.h"
#include "common/io.h"

#define CAPA_STLS	0x01	/* STLS can be used now */
#define CAPA_LOGIN	0x02	/* USER and SASL PLAIN can be used now */
#define CAPA_USERVAL	0x04	/* after login: the policy is the user's own */

/* RFC 2449 policies: 0 or EXPIRE_UNSET leave a line out. */
struct capa_policy {
	int	login_delay;		/* seconds */
	int	expire;			/* days, EXPIRE_NEVER, EXPIRE_UNSET */
};

/*
 * Write the capability lines and the terminating "." line.  The policy
 * is the server-wide one before login (announced with "USER": a user's
 * own may differ), the logged-in user's with CAPA_USERVAL.
 */
int	capa_write(struct io *, const struct config *, int flags,
	    const struct capa_policy *);

#endif
