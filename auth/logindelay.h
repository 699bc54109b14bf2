/*
 * LOGIN-DELAY (RFC 2449 section 6.5): the time of every user's last good
 * login, shared by the monitors of all connections through one small
 * file, root's, in login_delay_dir.  Runs in the monitor, as root.
 */
#ifndef POP3D_LOGINDELAY_H
#define POP3D_LOGINDELAY_H

#include <stddef.h>

#define LOGIN_DELAY_FILE	"login-delay"

/*
 * A good login of user, whose delay is delay seconds (> 0), at now: 0 if
 * it may go on (the time is then recorded), else the seconds left to
 * wait.  A state that cannot be used is logged and never blocks a login.
 */
long	logindelay_check(const char *dir, const char *user, int delay,
	    long long now);

/*
 * pop3d -t: the directory, created (0700) if missing, is a directory of
 * this user's that no one else may write.  0, or -1 with a reason.
 */
int	logindelay_dir_ok(const char *dir, char *why, size_t len);

#endif
