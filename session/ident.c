/*
 * pop3d-session -I: the end of a checkpassword chain (passdb =
 * checkpassword, auth/passdb_checkpassword.c).  The program has checked
 * the password and become the user; this reports what it set up to the
 * monitor on IDREPORT_FD and exits.  It runs as the user, so it reads
 * nothing and parses nothing: it asks the kernel and sends one message.
 */
#include <sys/socket.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/idreport.h"
#include "session/ident.h"

int
ident_report(void)
{
	static struct idreport	r;
	static unsigned char	msg[IDREPORT_MAX];
	const char		*home = getenv("HOME");
	long			 len;
	int			 n;

	if (getresuid(&r.uid[0], &r.uid[1], &r.uid[2]) == -1 ||
	    getresgid(&r.gid[0], &r.gid[1], &r.gid[2]) == -1)
		return EX_OSERR;
	/* More groups than a session may take: no report, a failure. */
	if ((n = getgroups(PASSDB_GROUPS_MAX, r.groups)) == -1)
		return EX_OSERR;
	r.ngroups = n;
	if (home != NULL)
		strlcpy(r.home, home, sizeof(r.home));
	if (getcwd(r.cwd, sizeof(r.cwd)) == NULL)
		r.cwd[0] = '\0';
	if ((len = idreport_encode(&r, msg, sizeof(msg))) == -1 ||
	    send(IDREPORT_FD, msg, len, 0) != len)
		return EX_OSERR;
	return 0;
}
