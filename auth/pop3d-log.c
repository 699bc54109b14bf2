/*
 * pop3d-log: the log relay of one connection (auth/logger.c).  pop3d,
 * as root with log = stderr, starts it with the launcher's stderr on
 * descriptor 2, the relay's socket on LOG_RELAY_FD and /dev/null on 0
 * and 1; it ends when every process of the connection has closed its
 * end.  It links nothing but libc: it stays for the whole connection.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <stdio.h>
#include <sysexits.h>

#include "params.h"
#include "auth/logger.h"

int
main(void)
{
	struct stat	st;
	int		type;
	socklen_t	len = sizeof(type);

	/* Root's copy of a log descriptor: no one traces or dumps it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return EX_OSERR;
	if (fstat(LOG_RELAY_FD, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(LOG_RELAY_FD, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr, "pop3d-log: started by pop3d only\n");
		return EX_USAGE;
	}
	logger_run(LOG_RELAY_FD);
}
