/*
 * The monitor's hand-over to pop3d-session: the environment it executes
 * the session with, and nothing else.  This one table names every
 * variable; the monitor sets them (handover_set()), the session reads them
 * (handover_get()), and the count is checked when compiling.
 */
#ifndef POP3D_HANDOVER_H
#define POP3D_HANDOVER_H

#include "params.h"

enum handover {
	HO_SESSION,	/* "1": started by pop3d(8), not by hand;
			   "checkpassword": by a checkpassword program */
	HO_USER,	/* the login name, as the users file spells it */
	HO_MAILDIR,	/* the expanded maildir template */
	HO_REMOTE,	/* the client, for log lines */
	HO_METHOD,	/* USER, PLAIN, APOP, LOGIN or a SCRAM mechanism */
	HO_CARRY_FD,	/* a pipe with the octets pipelined behind the login */
	HO_CONFIG_FD,	/* the configuration the monitor read; unset: defaults */
	HO_TLS,		/* protocol/cipher when a TLS relay serves the client */
	HO_RELAY_PID,	/* that relay, to wait for at the end */
	HO_LOGGER_PID,	/* the log relay, to wait for last */
	HO_LOGIN_DELAY,	/* the user's LOGIN-DELAY, for CAPA; unset: none */
	HO_EXPIRE,	/* the user's own EXPIRE days, -1 never; unset: expire */
	HO_HOME,	/* HOME, USER and PATH, for the owner's environment */
	HO_LOGNAME,
	HO_PATH,
	HO_STARTED_FD,	/* checkpassword_exec: one octet here once running */
	HO_SASL,	/* the SASL mechanisms for CAPA, as common/capa.h's mask */
	HO_COUNT
};

/* A value: a path, a name or a number, with room for the name and '='. */
#define HANDOVER_VAR_MAX	(POP3D_PATH_MAX + 32)

struct handover_env {
	char	 vars[HO_COUNT][HANDOVER_VAR_MAX];
	char	*envp[HO_COUNT + 1];	/* what is set, NULL-terminated */
	int	 n;
};

void	handover_init(struct handover_env *);
/* Set one variable, printf-style; -1 if the value does not fit. */
int	handover_set(struct handover_env *, enum handover, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* The session's side: the value, or NULL when unset. */
const char *handover_get(enum handover);

#endif
