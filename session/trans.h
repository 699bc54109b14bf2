/*
 * The TRANSACTION and UPDATE states.  They run in the session process,
 * under the mailbox owner's uid, never root.
 */
#ifndef POP3D_TRANS_H
#define POP3D_TRANS_H

#include <sys/types.h>

#include "common/config.h"

struct session_info {
	const char	*user;		/* already checked by the monitor */
	const char	*maildir;
	const char	*remote;
	const char	*method;
	int		 carry_fd;	/* pipelined input from before login, or -1 */
	const char	*tls;		/* "TLSv1.3 ..." for the log, or "" */
	pid_t		 relay;		/* the TLS relay to wait for at the end, or 0 */
	int		 login_delay;	/* the user's LOGIN-DELAY, or 0 */
	int		 expire;	/* the user's EXPIRE: days, EXPIRE_NEVER,
					   EXPIRE_UNSET */
	unsigned	 sasl;		/* CAPA's SASL mechanisms (common/capa.h) */
};

/* Open the maildrop, answer the login command, run the states. */
int	trans_run(const struct config *, const struct session_info *);

#endif
