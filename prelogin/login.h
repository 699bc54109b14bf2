/*
 * The AUTHORIZATION state.  It runs in the pre-login process: unprivileged,
 * chrooted, the only code that parses what the client sends before login.
 * Credentials go to the monitor as one wire request; on success this
 * process exits without writing, and the session (started by the monitor)
 * gives the "+OK" for PASS or AUTH.
 */
#ifndef POP3D_LOGIN_H
#define POP3D_LOGIN_H

#include "common/config.h"
#include "common/ossl.h"

struct login_opts {
	int		 monitor_fd;
	const char	*challenge;	/* APOP timestamp for the greeting, or "" */
	SSL_CTX		*tls;		/* NULL: no STLS, no implicit TLS */
	int		 implicit_tls;	/* handshake before the greeting */
	int		 link_secure;	/* loopback, pipe or a declared wrapper */
	int		 relay_fd;	/* to the session, after a login over TLS */
	const char	*remote;	/* for log lines */
	long long	 deadline;	/* clock_ms() by which to be logged in */
	int		 expect_proxy;	/* the peer is in proxy_from */
	unsigned	 sasl;		/* mechanisms the monitor can check (capa.h) */
};

/*
 * Greet the client on fds 0/1 and run the state.  Returns an exit status.
 * The caller has installed confine_login()'s filter (prelogin/confine.h);
 * after a login over TLS this installs the relay's.
 */
int	login_run(const struct config *, const struct login_opts *);

#endif
