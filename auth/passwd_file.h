/*
 * The users file, in Dovecot's passwd-file format, one user a line:
 *
 *	user:{SCHEME}hash:uid:gid:gecos:home:shell:extra
 *
 * Lines starting with '#' and blank lines are skipped.  Fields after the
 * password may be missing or empty.  extra holds blank-separated
 * key=value pairs, as in Dovecot; pop3d takes login_delay=N (seconds,
 * 0..LOGIN_DELAY_MAX) and expire=N (days, 0..EXPIRE_DAYS_MAX) or
 * expire=never, and leaves the others to other readers of the file.
 * Read only by the privileged monitor.
 */
#ifndef POP3D_PASSWD_FILE_H
#define POP3D_PASSWD_FILE_H

#include <sys/types.h>

#include "params.h"

struct passwd_entry {
	char	user[AUTH_USER_MAX + 1];
	char	hash[AUTH_HASH_MAX + 1];	/* "{SCHEME}..." or a bare crypt(3) hash */
	int	has_uid;			/* uid field present and numeric */
	int	has_gid;
	uid_t	uid;
	gid_t	gid;
	char	home[POP3D_PATH_MAX];		/* may be empty */
	int	has_login_delay;		/* login_delay= in extra */
	int	login_delay;			/* seconds */
	int	has_expire;			/* expire= in extra */
	int	expire;				/* days, or EXPIRE_NEVER */
};

enum passwd_status {
	PASSWD_FOUND,
	PASSWD_NOUSER,
	PASSWD_TEMPFAIL		/* the file could not be read: not the user's fault */
};

/*
 * Look user up in the file at path.  A malformed line is skipped with one
 * log line (it never matches).  The entry is wiped by the caller with
 * explicit_bzero() after use.
 */
enum passwd_status passwd_file_lookup(const char *path, const char *user,
	    struct passwd_entry *);

/*
 * Which SCRAM verifiers the file holds, for the mechanisms to offer:
 * PASSWD_SCRAM_SHA1 and PASSWD_SCRAM_SHA256 for some entry's password
 * field in that scheme; 0 for none or an unreadable file.  Logs nothing:
 * the lookup at login reports what is wrong with a line.
 */
#define PASSWD_SCRAM_SHA1	0x01
#define PASSWD_SCRAM_SHA256	0x02
unsigned passwd_file_scram(const char *path);

/* Parse one line (without its newline) into pe; 0 on success, -1 if malformed. */
int	passwd_file_parse_line(const char *line, struct passwd_entry *pe);

#endif
