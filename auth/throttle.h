/*
 * The login throttle: failed logins by client address and by user name,
 * remembered across connections in one small table of root's in
 * throttle_dir (auth/statetable.c).  Runs in the monitor, as root.
 *
 * Every attempt is counted as a failure before its check, so that
 * attempts in parallel see each other; a right password takes it back.
 */
#ifndef POP3D_THROTTLE_H
#define POP3D_THROTTLE_H

#include <stddef.h>

#include "common/config.h"

#define THROTTLE_FILE	"throttle"

/* The keys of one attempt, made by throttle_begin(). */
struct throttle {
	int	on;		/* an address to throttle, and a table */
	char	source[64];	/* "s:192.0.2.1", "s:2001:db8:1::/64" */
	char	user[136];	/* "u:name", or "" */
};

/*
 * Before the check of user's attempt from client (as the monitor logs
 * it): -1 when the address is refused for now, with the seconds left in
 * *wait (nothing is counted then: no check will be made), else the
 * milliseconds to wait before the check, 0 for none; the attempt is
 * counted.  An address that is not one (a pipe), an exempt address and
 * a table that cannot be used (logged) throttle nothing.
 */
int	throttle_begin(struct throttle *, const struct config *,
	    const char *client, const char *user, long long now, long *wait);

/*
 * After the check: a right password clears the address and the user
 * name; an undecided one (a temporary failure) takes the attempt back
 * from both; a wrong one leaves it counted.
 */
enum throttle_outcome { THROTTLE_WRONG, THROTTLE_RIGHT, THROTTLE_UNDECIDED };
void	throttle_end(const struct throttle *, const struct config *,
	    enum throttle_outcome, long long now);

/*
 * pop3d -t: throttle_dir, if it exists, is a directory of this user's
 * that no one else may write; if not, it can be made.  Changes nothing.
 */
int	throttle_dir_ok(const char *dir, char *why, size_t len);

#endif
