/*
 * This file runs as root when pop3d is started as root.  It reads no
 * network input; the user name was checked by monitor_user_valid().
 *
 * The times live in a table of auth/statetable.c, LOGIN_DELAY_SLOTS
 * slots keyed by the user name, each holding the time of the user's last
 * good login; a slot with a name that is no valid user name is free.
 * The check and the update are one step under the table's lock, so two
 * logins at once cannot both pass.  Whatever goes wrong, the login goes
 * on: a broken file costs the delay, never the mail.
 */
#include <stdio.h>
#include <string.h>

#include "params.h"
#include "auth/logindelay.h"
#include "auth/monitor.h"
#include "auth/statetable.h"
#include "common/log.h"

_Static_assert(ST_KEY > AUTH_USER_MAX, "a user name fits a slot");

static const struct statetable ld_table = {
	.file = LOGIN_DELAY_FILE,
	.dirkey = "login_delay_dir",
	.magic = "POP3DLD\n",
	.version = 1,
	.slots = LOGIN_DELAY_SLOTS,
	.probe = LOGIN_DELAY_PROBE,
	.datalen = 0,
	.key_valid = monitor_user_valid,
};

int
logindelay_dir_ok(const char *dir, char *why, size_t len)
{
	return statetable_dir_ok(&ld_table, dir, 1, why, len);
}

long
logindelay_check(const char *dir, const char *user, int delay, long long now)
{
	struct st_handle	h;
	struct st_slot		s;
	char			why[POP3D_PATH_MAX + 64];
	long			slot, left = 0;
	int			found;

	if (statetable_open(&h, &ld_table, dir, why, sizeof(why)) == -1) {
		if (why[0] != '\0')
			log_warnx("%s: no LOGIN-DELAY", why);
		return 0;
	}
	if ((slot = statetable_find(&h, user, now, &s, &found)) == -1)
		;
	else if (found && now - s.when < delay)
		left = delay - (now - s.when);
	else {
		memset(&s, 0, sizeof(s));
		strlcpy(s.key, user, sizeof(s.key));
		s.when = now;
		statetable_put(&h, slot, &s);
	}
	statetable_close(&h);
	return left;
}
