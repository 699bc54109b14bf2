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

/*
 * Greet the client on fds 0/1 and run the state.  challenge is the APOP
 * timestamp for the greeting, or "" when APOP is off.  Returns an exit
 * status.
 */
int	login_run(const struct config *, int monitor_fd, const char *challenge);

#endif
