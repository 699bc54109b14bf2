/*
 * pop3d-session: the TRANSACTION and UPDATE states of one POP3 session.
 *
 * The monitor of pop3d(8) executes this program after a good login, once
 * it has become the mailbox owner.  It is a program of its own so that
 * the session maps no TLS library and no code that reads the users file:
 * a smaller image to start at every login and to keep for every session.
 *
 * Everything comes from the monitor: the client on stdin/stdout (or the
 * relay of the pre-login process when the client speaks TLS), the octets
 * the client pipelined behind its login command on POP3D_CARRY_FD, the
 * configuration file on POP3D_CONFIG_FD, and who logged in from where in
 * the environment.  It is not meant to be run by hand.
 */
#include <sys/prctl.h>

#include <err.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "params.h"
#include "common/capa.h"
#include "common/config.h"
#include "common/handover.h"
#include "common/log.h"
#include "session/trans.h"

static struct config	cf;
static pid_t		logger;

/* The session ends the connection: the log relay is waited for last. */
static void
end_logging(void)
{
	log_relay_wait(logger);
}

/* A number the monitor handed down, within [min, max]; -1 when unset. */
static long long
handed_number(enum handover v, long long min, long long max)
{
	const char	*s = handover_get(v), *errstr;
	long long	 n;

	if (s == NULL)
		return -1;
	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		fatalx(EX_USAGE, "session environment: number %s", errstr);
	return n;
}

/* The file the monitor handed down, or the defaults when it had none. */
static int
session_config(char *why, size_t len)
{
	int	fd;

	config_defaults(&cf);
	if ((fd = handed_number(HO_CONFIG_FD, 3, 1024)) == -1)
		return 0;
	if (config_load_fd(&cf, fd, "configuration", why, len) == -1)
		return -1;
	close(fd);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct session_info	 si;
	char			 why[512];
	int			 dflag, loaded;

	dflag = argc == 2 && strcmp(argv[1], "-d") == 0;
	if (handover_get(HO_SESSION) == NULL || geteuid() == 0 ||
	    getuid() == 0 || argc > 1 + dflag) {
		fprintf(stderr, "pop3d-session is internal: pop3d(8) starts "
		    "it after a login\n");
		return EX_USAGE;
	}
	/*
	 * The mailbox owner may not trace its own session: it holds the
	 * configuration's descriptor, which the owner could not open.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		err(EX_OSERR, "prctl");
	mallopt(M_MMAP_THRESHOLD, SESSION_MMAP_THRESHOLD);
	loaded = session_config(why, sizeof(why));
	log_init("pop3d", dflag || cf.log_stderr);
	if (loaded == -1)
		fatalx(EX_CONFIG, "%s", why);
	si.user = handover_get(HO_USER);
	si.maildir = handover_get(HO_MAILDIR);
	si.remote = handover_get(HO_REMOTE);
	si.method = handover_get(HO_METHOD);
	si.tls = handover_get(HO_TLS) != NULL ? handover_get(HO_TLS) : "";
	si.relay = handed_number(HO_RELAY_PID, 2, INT32_MAX);
	if ((logger = handed_number(HO_LOGGER_PID, 2, INT32_MAX)) > 0)
		atexit(end_logging);
	si.carry_fd = handed_number(HO_CARRY_FD, 3, 1024);
	si.sasl = handover_get(HO_SASL) != NULL ?
	    (unsigned)handed_number(HO_SASL, 0, 255) : SASL_PLAIN;
	if (si.user == NULL || si.maildir == NULL || si.remote == NULL ||
	    si.method == NULL || si.carry_fd == -1)
		fatalx(EX_USAGE, "session environment incomplete");
	return trans_run(&cf, &si);
}
