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
 *
 * With passdb = checkpassword it is also the program a checkpassword
 * program executes as the user: "pop3d-session -I" reports the identity
 * to the monitor and exits (session/ident.c); with checkpassword_exec,
 * or behind qmail-popup, "pop3d-session [Maildir]" is the session, as
 * qmail-pop3d is (chain_info()).
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
#include "common/peer.h"
#include "session/ident.h"
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

/* What the monitor handed over after its own login. */
static void
handed_info(struct session_info *si)
{
	si->user = handover_get(HO_USER);
	si->maildir = handover_get(HO_MAILDIR);
	si->remote = handover_get(HO_REMOTE);
	si->method = handover_get(HO_METHOD);
	si->tls = handover_get(HO_TLS) != NULL ? handover_get(HO_TLS) : "";
	si->relay = handed_number(HO_RELAY_PID, 2, INT32_MAX);
	if ((logger = handed_number(HO_LOGGER_PID, 2, INT32_MAX)) > 0)
		atexit(end_logging);
	si->carry_fd = handed_number(HO_CARRY_FD, 3, 1024);
	if (si->user == NULL || si->maildir == NULL || si->remote == NULL ||
	    si->method == NULL || si->carry_fd == -1)
		fatalx(EX_USAGE, "session environment incomplete");
}

/*
 * Started by a checkpassword program, as qmail-pop3d is: pop3d's monitor
 * with checkpassword_exec (POP3D_SESSION=checkpassword), or another's
 * chain such as qmail-popup's (no POP3D_SESSION, but USER and HOME).
 */
static int
chain_mode(const char *mode)
{
	if (mode != NULL && strcmp(mode, "checkpassword") != 0)
		return 0;
	return getenv("USER") != NULL && getenv("HOME") != NULL;
}

/*
 * Who and where, as the checkpassword program left them: USER, and the
 * Maildir named in our argument, else $MAILDIR, else $HOME/Maildir; a
 * relative one is in the directory the program changed to (the home).
 */
static void
chain_info(struct session_info *si, const char *arg)
{
	static char	 user[AUTH_USER_MAX + 1], maildir[POP3D_PATH_MAX];
	static char	 remote[PEER_MAX], cwd[POP3D_PATH_MAX];
	const char	*md = arg != NULL ? arg : getenv("MAILDIR");
	int		 n;

	log_sanitize(getenv("USER"), user, sizeof(user));
	if (md == NULL || md[0] == '\0')
		n = snprintf(maildir, sizeof(maildir), "%s/Maildir",
		    getenv("HOME"));
	else if (md[0] == '/')
		n = snprintf(maildir, sizeof(maildir), "%s", md);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal(EX_OSERR, "getcwd");
	else
		n = snprintf(maildir, sizeof(maildir), "%s/%s", cwd, md);
	if (n < 0 || (size_t)n >= sizeof(maildir))
		fatalx(EX_USAGE, "maildir path too long");
	si->user = user;
	si->maildir = maildir;
	if ((si->remote = handover_get(HO_REMOTE)) == NULL) {
		peer_address(remote, sizeof(remote));
		si->remote = remote;
	}
	if ((si->method = handover_get(HO_METHOD)) == NULL)
		si->method = "checkpassword";
	si->tls = handover_get(HO_TLS) != NULL ? handover_get(HO_TLS) : "";
	si->relay = 0;		/* pop3d's monitor waits for the relay */
	si->carry_fd = handed_number(HO_CARRY_FD, 3, 1024);
}

/*
 * Started by pop3d's monitor, whose configuration applies: a system
 * account below first_valid_uid is refused as the monitor refuses it,
 * with the checkpassword status of a failed login (1).
 */
static void
chain_uid_check(const struct session_info *si)
{
	const char *mode = handover_get(HO_SESSION);

	if (mode == NULL || getuid() >= (uid_t)cf.first_valid_uid)
		return;
	log_warnx("user=%s: uid %lu is below first_valid_uid %d", si->user,
	    (unsigned long)getuid(), cf.first_valid_uid);
	exit(1);
}

/*
 * pop3d's monitor answers the login only when the session runs: one
 * octet says so.  Until then a failing chain is a failed login.
 */
static void
chain_started(void)
{
	long long fd = handed_number(HO_STARTED_FD, 3, 1024);

	if (fd == -1)
		return;
	if (write((int)fd, "", 1) != 1)
		fatal(EX_OSERR, "started descriptor");
	close((int)fd);
}

int
main(int argc, char *argv[])
{
	struct session_info	 si;
	char			 why[512];
	int			 dflag, loaded, chain;

	/* The end of a checkpassword chain: report who we are, nothing else. */
	if (argc == 2 && strcmp(argv[1], "-I") == 0)
		return ident_report();
	chain = chain_mode(handover_get(HO_SESSION));
	dflag = !chain && argc == 2 && strcmp(argv[1], "-d") == 0;
	if ((handover_get(HO_SESSION) == NULL && !chain) || geteuid() == 0 ||
	    getuid() == 0 || argc > 1 + (dflag || chain)) {
		fprintf(stderr, "pop3d-session is internal: pop3d(8) or a "
		    "checkpassword program starts it after a login, never "
		    "as root\n");
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
	if (chain) {
		chain_info(&si, argc > 1 ? argv[1] : NULL);
		chain_uid_check(&si);
		chain_started();
	} else
		handed_info(&si);
	/* The user's policies: handed over, else the server's. */
	if ((si.login_delay = handed_number(HO_LOGIN_DELAY, 1,
	    LOGIN_DELAY_MAX)) == -1)
		si.login_delay = 0;
	si.expire = handover_get(HO_EXPIRE) == NULL ? cf.expire :
	    handed_number(HO_EXPIRE, EXPIRE_NEVER, EXPIRE_DAYS_MAX);
	si.sasl = handover_get(HO_SASL) != NULL ?
	    (unsigned)handed_number(HO_SASL, 0, 255) : SASL_PLAIN;
	return trans_run(&cf, &si);
}
