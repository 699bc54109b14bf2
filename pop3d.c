/*
 * pop3d: a POP3 server for one connection on stdin/stdout, started by
 * systemd, xinetd, tcpserver or stunnel.
 *
 * Three processes serve a connection:
 *   the monitor     (root when started as root) reads the users file and
 *                   checks passwords; it never reads the network;
 *   the pre-login   (forked; unprivileged, chrooted) greets the client and
 *                   runs the AUTHORIZATION state, passing credentials to
 *                   the monitor as one request;
 *   the session     (the monitor itself after a good login: it becomes the
 *                   mailbox owner and executes this program again with -S)
 *                   runs TRANSACTION and UPDATE.
 */
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/apop.h"
#include "auth/monitor.h"
#include "auth/passwd_file.h"
#include "auth/sandbox.h"
#include "common/config.h"
#include "common/log.h"
#include "common/peer.h"
#include "pop3/login.h"
#include "pop3/trans.h"

static struct config	cf;

#define NO_CONFIG_FILE	(-2)	/* the default path is absent: defaults */

/*
 * Open and read the configuration.  The descriptor stays open so that the
 * session reads the same file without needing permission to open it.
 */
static int
open_config(const char *path, int explicit, char *why, size_t len)
{
	int fd;

	config_defaults(&cf);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !explicit)
			return NO_CONFIG_FILE;
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (config_load_fd(&cf, fd, path, why, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The session reads the descriptor the monitor handed down, if any.
 * Returns 0, NO_CONFIG_FILE or -1.
 */
static int
session_config(char *why, size_t len)
{
	const char	*s = getenv("POP3D_CONFIG_FD"), *errstr;
	int		 fd;

	config_defaults(&cf);
	if (s == NULL)
		return NO_CONFIG_FILE;
	fd = strtonum(s, 3, 1024, &errstr);
	if (errstr != NULL) {
		snprintf(why, len, "POP3D_CONFIG_FD %s", errstr);
		return -1;
	}
	if (config_load_fd(&cf, fd, "configuration", why, len) == -1)
		return -1;
	close(fd);
	return 0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pop3d [-dt] [-c file]\n");
	exit(EX_USAGE);
}

/* -t: check the configuration and what it names, then exit. */
static int
check_config(const char *path)
{
	struct login_ids	ids;
	char			probe[POP3D_PATH_MAX];

	if (access(cf.users_file, R_OK) == -1)
		err(EX_CONFIG, "users_file %s", cf.users_file);
	if (monitor_maildir(cf.maildir, "user", "/home/user", probe,
	    sizeof(probe)) == -1)
		errx(EX_CONFIG, "maildir '%s': not a template giving an absolute "
		    "path (%%u, %%h, %%%% are known)", cf.maildir);
	if (geteuid() == 0)
		sandbox_prepare(&cf, &ids, 0);
	printf("%s: configuration OK\n", path);
	return 0;
}

/* -S: the session, executed by the monitor as the mailbox owner. */
static int
session_main(void)
{
	struct session_info	 si;
	const char		*fd, *errstr;

	if (getenv("POP3D_SESSION") == NULL || geteuid() == 0 || getuid() == 0)
		fatalx(EX_USAGE, "-S is internal: the monitor starts sessions");
	si.user = getenv("POP3D_USER");
	si.maildir = getenv("POP3D_MAILDIR");
	si.remote = getenv("POP3D_REMOTE");
	si.method = getenv("POP3D_METHOD");
	fd = getenv("POP3D_CARRY_FD");
	if (si.user == NULL || si.maildir == NULL || si.remote == NULL ||
	    si.method == NULL || fd == NULL)
		fatalx(EX_USAGE, "session environment incomplete");
	si.carry_fd = strtonum(fd, 3, 1024, &errstr);
	if (errstr != NULL)
		fatalx(EX_USAGE, "POP3D_CARRY_FD %s", errstr);
	return trans_run(&cf, &si);
}

static int
connection_main(int config_fd, int log_stderr)
{
	struct monitor_args	ma;
	struct login_ids	ids;
	char			remote[PEER_MAX];
	int			sv[2], root = geteuid() == 0;
	pid_t			pid;

	peer_address(remote, sizeof(remote));
	if (root)
		sandbox_prepare(&cf, &ids, 1);
	memset(&ma, 0, sizeof(ma));
	/* Opened now: after the uid change /proc/self may be closed to us. */
	if ((ma.self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1)
		fatal(EX_OSERR, "/proc/self/exe");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal(EX_OSERR, "socketpair");
	if (cf.apop && apop_challenge(ma.challenge, sizeof(ma.challenge)) == -1)
		fatalx(EX_SOFTWARE, "APOP challenge");
	log_info("connect remote=%s", remote);
	if ((pid = fork()) == -1)
		fatal(EX_OSERR, "fork");
	if (pid == 0) {
		close(sv[0]);
		close(ma.self_fd);
		if (config_fd >= 0)
			close(config_fd);
		sandbox_login(&cf, &ids, root);
		_exit(login_run(&cf, sv[1], ma.challenge));
	}
	close(sv[1]);
	ma.cf = &cf;
	ma.config_fd = config_fd;
	ma.remote = remote;
	ma.sock = sv[0];
	ma.child = pid;
	ma.root = root;
	ma.log_stderr = log_stderr;
	return monitor_run(&ma);
}

int
main(int argc, char *argv[])
{
	const char	*path = CONFIG_DEFAULT_PATH;
	char		 why[512];
	int		 ch, dflag = 0, tflag = 0, sflag = 0, explicit = 0;
	int		 config_fd;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "c:dSt")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			explicit = 1;
			break;
		case 'd':
			dflag = 1;
			break;
		case 'S':
			sflag = 1;
			break;
		case 't':
			tflag = 1;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (sflag)
		config_fd = session_config(why, sizeof(why));
	else
		config_fd = open_config(path, explicit, why, sizeof(why));
	if (config_fd == -1) {
		if (tflag)
			errx(EX_CONFIG, "%s", why);
		/* A person at a terminal sees why; a launcher's log gets it too. */
		log_init("pop3d", dflag || isatty(2));
		fatalx(EX_CONFIG, "%s", why);
	}
	if (tflag)
		return check_config(path);
	log_init("pop3d", dflag || cf.log_stderr);
	if (sflag)
		return session_main();
	return connection_main(config_fd, dflag);
}
