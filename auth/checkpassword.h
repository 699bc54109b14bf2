/*
 * checkpassword_exec = yes: the checkpassword program executes the
 * session itself, as qmail-popup's chain executes qmail-pop3d
 * ("checkpassword pop3d-session"), instead of pop3d-session -I reporting
 * to the monitor.  The monitor then sets no ids: the program does.
 */
#ifndef POP3D_CHECKPASSWORD_H
#define POP3D_CHECKPASSWORD_H

#include <sys/types.h>

#include "auth/passdb.h"

/* The descriptors the session is started with, at fixed numbers. */
#define CHAIN_CARRY_FD		5
#define CHAIN_CONFIG_FD		6
#define CHAIN_STARTED_FD	7

struct checkpw_chain {
	int		  in, out;	/* the session's stdin and stdout */
	int		  carry;	/* the octets pipelined behind the login */
	int		  config;	/* the configuration, or -1 */
	char *const	 *env;		/* hand-over variables, NULL-terminated */
};

/*
 * Run the chain with the credentials.  PASSDB_OK once the session has
 * said it runs (one octet on CHAIN_STARTED_FD): the chain's pid is then in
 * *pid, for the monitor to wait for.  Otherwise the chain has ended (or
 * was killed past checkpassword_timeout) and nothing of it is left.
 */
enum passdb_result checkpassword_chain(const struct config *,
	    const struct passdb_request *, const struct checkpw_chain *,
	    pid_t *pid);

#endif
