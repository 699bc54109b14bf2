/*
 * The monitor: the privileged half of the connection.  It never reads the
 * network.  It reads the users file, takes one request at a time from the
 * pre-login process, checks it and answers with a verdict; after a good
 * one it becomes the mailbox owner and executes the session.
 */
#ifndef POP3D_MONITOR_H
#define POP3D_MONITOR_H

#include <sys/types.h>

#include "auth/apop.h"
#include "auth/passdb.h"
#include "auth/scram.h"
#include "common/config.h"

struct monitor_args {
	const struct config	*cf;
	const struct passdb	*passdb;	/* where users come from */
	int			 config_fd;	/* for the session; -2: none */
	const char		*remote;
	int			 sock;		/* to the pre-login process */
	int			 relay_fd;	/* the session's end if it relays TLS, or -1 */
	pid_t			 child;		/* the pre-login process */
	pid_t			 logger;	/* the log relay, or 0 */
	int			 session_fd;	/* pop3d-session, for fexecve */
	const char		*session_path;	/* and its path, for checkpassword */
	int			 root;		/* started as root */
	int			 proxy_trusted;	/* the peer is in proxy_from */
	int			 log_stderr;	/* -d was given */
	long long		 deadline;	/* clock_ms() by which the pre-login is done */
	char			 challenge[APOP_CHALLENGE_MAX];	/* APOP greeting; "" when off */
	unsigned		 sasl;		/* mechanisms offered (common/capa.h) */
	unsigned char		 scram_key[SCRAM_SECRET_LEN]; /* fake salts */
};

/* Returns an exit status, or does not return (the session runs). */
int	monitor_run(const struct monitor_args *);

/*
 * Expand the maildir template: %u user, %h home, %% a percent sign.
 * Returns 0, or -1 if the result is not an absolute path that fits.
 */
int	monitor_maildir(const char *tmpl, const char *user, const char *home,
	    char *out, size_t outlen);

/* A user name we accept: printable, no '/', no leading '.', fits. */
int	monitor_user_valid(const char *);

#endif
