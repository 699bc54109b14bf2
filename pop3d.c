/*
 * pop3d: a POP3 server for one connection on stdin/stdout, started by
 * systemd, xinetd, tcpserver or stunnel.  This file parses the options,
 * prepares what only root can, and splits the connection in processes:
 *
 * process     uid             confinement              input         folders
 * ----------  --------------  -----------------------  ------------  ----------------
 * monitor     root            none (it holds the       one request   auth/, common/
 *                             users file, and the TLS  at a time
 *                             key, read after the      from pre-login
 *                             fork: it signs the       (a login or a
 *                             handshake)               signature)
 * pre-login   login_user      chroot empty_dir, own    the client    prelogin/, common/
 *  (and TLS                   Landlock domain (or net
 *   relay)                    and IPC namespaces),
 *                             no_new_privs, not
 *                             dumpable, no fork,
 *                             rlimits, seccomp
 *                             allow-list
 * session     mailbox owner   its own ids and groups,  the client    session/, store/,
 *  (pop3d-                    not dumpable, a fresh    (or the TLS   common/
 *   session)                  image without OpenSSL,   relay)
 *                             Landlock to the Maildir,
 *                             seccomp deny-list
 * log relay   root            nothing but the log      log lines of  auth/pop3d-log.c,
 *  (log =                     socket and stderr; a     the others    auth/logger.c
 *   stderr,                   small image, libc alone
 *   pop3d-log)
 * LDAP        login_user      a fresh image (libldap   the          lookup/,
 *  lookup                     alone), no_new_privs,    directory's  common/
 *  (pop3d-                    seccomp allow-list once  answers
 *   ldap)                     its connections are open
 *
 * The monitor never reads the network; after a good login it becomes the
 * owner and executes pop3d-session (the hand-over: common/handover.h).
 * common/ is what every process may use; tests/layout.py checks that no
 * folder reaches into one it must not.
 */
#include <sys/socket.h>
#include <sys/wait.h>

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
#include "auth/logger.h"
#include "auth/logindelay.h"
#include "auth/monitor.h"
#include "auth/passdb.h"
#include "auth/program.h"
#include "auth/sandbox.h"
#include "auth/scram.h"
#include "auth/signer.h"
#include "auth/throttle.h"
#include "auth/tls_context.h"
#include "common/capa.h"
#include "common/cidr.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/nodelay.h"
#include "common/peer.h"
#include "common/uidlfmt.h"
#include "prelogin/confine.h"
#include "prelogin/login.h"

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

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: pop3d [-dit] [-c file]\n");
	exit(EX_USAGE);
}

/*
 * pop3d-session, opened now: after the change of ids the directory may be
 * closed to the owner, and a descriptor cannot be swapped for another file
 * by a later rename.  The path is kept as well: a checkpassword program
 * executes it by name.
 */
static char	session_path[POP3D_PATH_MAX];

static int
open_session_program(void)
{
	int fd;

	if ((fd = program_open(SESSION_PROGRAM, SESSION_INSTALLED,
	    session_path, sizeof(session_path))) == -1)
		exit(EX_OSERR);
	return fd;
}

/* pop3d-log, found as pop3d-session is. */
static int
log_program(char *path, size_t len)
{
	int fd;

	if ((fd = program_open(LOG_PROGRAM, LOG_INSTALLED, path, len)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* -t: check the configuration and what it names, then exit. */
static int
check_config(const char *path)
{
	const struct passdb	*pdb;
	struct login_ids	ids;
	char			probe[POP3D_PATH_MAX], why[512];
	SSL_CTX			*ctx;
	int			sources[UIDLFMT_SOURCES_MAX], nsources;
	EVP_PKEY		*key;

	if ((pdb = passdb_configured(&cf, why, sizeof(why))) == NULL ||
	    (pdb->check != NULL && pdb->check(&cf, why, sizeof(why)) == -1))
		errx(EX_CONFIG, "%s", why);
	if (monitor_maildir(cf.maildir, "user", "/home/user", probe,
	    sizeof(probe)) == -1)
		errx(EX_CONFIG, "maildir '%s': not a template giving an absolute "
		    "path (%%u, %%h, %%%% are known)", cf.maildir);
	if (geteuid() == 0)
		sandbox_prepare(&cf, &ids, 0);
	if (cf.login_delay > 0 &&
	    logindelay_dir_ok(cf.login_delay_dir, why, sizeof(why)) == -1)
		errx(EX_CONFIG, "%s", why);
	if (cf.throttle &&
	    throttle_dir_ok(cf.throttle_dir, why, sizeof(why)) == -1)
		errx(EX_CONFIG, "%s", why);
	if (uidlfmt_parse(cf.import_uidl, cf.import_uidl_format, sources,
	    &nsources, why, sizeof(why)) == -1)
		errx(EX_CONFIG, "%s", why);
	close(open_session_program());
	if (geteuid() == 0 && cf.log_stderr &&
	    log_program(probe, sizeof(probe)) == -1)
		exit(EX_OSERR);
	if ((ctx = tls_context(&cf, 1, why, sizeof(why))) == NULL &&
	    why[0] != '\0')
		errx(EX_CONFIG, "%s", why);
	if (ctx != NULL) {
		key = signer_read_key(&cf, SSL_CTX_get0_certificate(ctx), why,
		    sizeof(why));
		SSL_CTX_free(ctx);
		if (key == NULL)
			errx(EX_CONFIG, "%s", why);
		EVP_PKEY_free(key);
		printf("%s: TLS certificate and key OK\n", path);
	}
	printf("%s: configuration OK\n", path);
	return 0;
}

/*
 * The SASL mechanisms for CAPA and AUTH: what the source can check, and
 * SCRAM only in the hashes some user has a verifier for, with the key of
 * the fake salts at hand.
 */
static unsigned
login_mechanisms(const struct passdb *pdb, unsigned char *key)
{
	unsigned	sasl = 0, h = 0;

	if (pdb->can & PASSDB_PASSWORD)
		sasl |= SASL_CLEARTEXT;
	if (pdb->can & PASSDB_SCRAM)
		h = pdb->scram_hashes(&cf);
	if (h == 0 || scram_secret_load(cf.scram_secret, key) == -1)
		return sasl;
	if (h & (1U << SCRAM_SHA1))
		sasl |= SASL_SCRAM_SHA1;
	if (h & (1U << SCRAM_SHA256))
		sasl |= SASL_SCRAM_SHA256 | SASL_SCRAM_SHA256_PLUS;
	return sasl;
}

/*
 * Everything the pre-login process needs is made here, while we may still
 * be root: the TLS context (certificate and chain: the private key is read
 * after the fork, see monitor_key()), the APOP challenge, the sockets to
 * the monitor and to a later session.
 */
static void
prepare_login(struct monitor_args *ma, struct login_opts *lo, int implicit_tls,
    int sv[2], int relay[2])
{
	char err[512] = "";

	/* Behind a TLS wrapper the link is already encrypted: no STLS. */
	lo->tls = NULL;
	if (!cf.tls_wrapper || implicit_tls)
		lo->tls = tls_context(&cf, 0, err, sizeof(err));
	if (lo->tls == NULL && err[0] != '\0')
		fatalx(EX_CONFIG, "%s", err);
	if (implicit_tls && lo->tls == NULL)
		fatalx(EX_CONFIG, "-i needs tls_cert and tls_key");
	lo->implicit_tls = implicit_tls;
	lo->link_secure = cf.tls_wrapper ||
	    (cf.loopback_secure && peer_is_local(ma->remote));
	lo->expect_proxy = ma->proxy_trusted;
	if (cf.apop && apop_challenge(ma->challenge, sizeof(ma->challenge)) == -1)
		fatalx(EX_SOFTWARE, "APOP challenge");
	lo->challenge = ma->challenge;
	lo->remote = ma->remote;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal(EX_OSERR, "socketpair");
	relay[0] = relay[1] = -1;
	if (lo->tls != NULL && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0, relay) == -1)
		fatal(EX_OSERR, "socketpair");
	lo->monitor_fd = sv[1];
	lo->relay_fd = relay[1];
}

/*
 * As root, no process that drops privilege may keep the launcher's stderr,
 * which may be a file root opened: logging to stderr goes through the log
 * relay, logging to syslog leaves stderr on /dev/null.
 */
static pid_t	monitor_pid, logger_pid;

/* At the monitor's exit, not the pre-login's: wait for the log relay. */
static void
end_logging(void)
{
	if (getpid() == monitor_pid)
		log_relay_wait(logger_pid);
}

static void
confine_stderr(int to_stderr)
{
	char	path[POP3D_PATH_MAX];
	int	fd;

	if (to_stderr) {
		if ((fd = log_program(path, sizeof(path))) != -1 &&
		    (fd = logger_start(path, &logger_pid)) != -1) {
			monitor_pid = getpid();
			atexit(end_logging);
		}
	} else
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		fatal(EX_OSERR, "%s", to_stderr ? "log relay" : "/dev/null");
	if (dup2(fd, STDERR_FILENO) == -1)
		fatal(EX_OSERR, "dup2");
	close(fd);
}

/* Is the peer a load balancer that says who the client is (proxy_from)? */
static int
proxy_trusted(const char *peer)
{
	unsigned char	addr[16];
	int		family;

	if (cf.proxy_from[0] == '\0' ||
	    (family = cidr_parse_peer(peer, addr)) == 0)
		return 0;
	return cidr_list_match(cf.proxy_from, family, addr);
}

/*
 * The TLS private key, read by the monitor once the pre-login process is
 * forked: a fork copies the whole memory, so a key read before it, or the
 * file's buffers, would be in the pre-login process too.  Read at every
 * connection, like the certificate, so that a renewed pair is used from
 * the next connection on.  A key that cannot be used ends the connection.
 */
static void
monitor_key(SSL_CTX *ctx, pid_t child)
{
	EVP_PKEY	*key;
	char		 why[512];

	key = signer_read_key(&cf, SSL_CTX_get0_certificate(ctx), why,
	    sizeof(why));
	SSL_CTX_free(ctx);
	if (key == NULL) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) == -1 && errno == EINTR)
			;
		fatalx(EX_CONFIG, "%s", why);
	}
	signer_use(key);
}

static int
connection_main(int config_fd, int log_stderr, int implicit_tls)
{
	static char		remote[PEER_MAX];
	const struct passdb	*pdb;
	struct monitor_args	ma;
	struct login_opts	lo;
	char			why[256];
	struct login_ids	ids;
	int			sv[2], relay[2], root = geteuid() == 0;
	pid_t			pid;

	memset(&ma, 0, sizeof(ma));
	memset(&lo, 0, sizeof(lo));
	/* One deadline for the whole AUTHORIZATION state, kept by both sides. */
	lo.deadline = clock_ms() + cf.login_grace_time * 1000LL;
	ma.deadline = lo.deadline + LOGIN_GRACE_MARGIN_MS;
	peer_address(remote, sizeof(remote));
	client_nodelay();
	ma.remote = remote;
	ma.proxy_trusted = proxy_trusted(remote);
	if (root) {
		confine_stderr(log_stderr || cf.log_stderr);
		sandbox_prepare(&cf, &ids, 1);
	}
	if ((pdb = passdb_configured(&cf, why, sizeof(why))) == NULL)
		fatalx(EX_CONFIG, "%s", why);
	lo.sasl = ma.sasl = login_mechanisms(pdb, ma.scram_key);
	/* Opened now: after the uid change /proc/self may be closed to us. */
	ma.session_fd = open_session_program();
	ma.session_path = session_path;
	prepare_login(&ma, &lo, implicit_tls, sv, relay);
	log_info("connect remote=%s%s", remote, implicit_tls ? " tls=implicit" : "");
	if ((pid = fork()) == -1)
		fatal(EX_OSERR, "fork");
	if (pid == 0) {
		close(sv[0]);
		if (relay[0] != -1)
			close(relay[0]);
		close(ma.session_fd);
		if (config_fd >= 0)
			close(config_fd);
		sandbox_login(&cf, &ids, root);
		/* The last step before the first octet of the client is read. */
		confine_login();
		_exit(login_run(&cf, &lo));
	}
	close(sv[1]);
	if (relay[1] != -1)
		close(relay[1]);
	if (lo.tls != NULL)
		monitor_key(lo.tls, pid);
	ma.cf = &cf;
	ma.passdb = pdb;
	ma.config_fd = config_fd;
	ma.sock = sv[0];
	ma.relay_fd = relay[0];
	ma.child = pid;
	ma.root = root;
	ma.log_stderr = log_stderr;
	ma.logger = logger_pid;
	return monitor_run(&ma);
}

int
main(int argc, char *argv[])
{
	const char	*path = CONFIG_DEFAULT_PATH;
	char		 why[512];
	int		 ch, dflag = 0, tflag = 0, iflag = 0, explicit = 0;
	int		 config_fd;

	/*
	 * Nothing a launcher left open reaches any process of ours: every
	 * descriptor past stderr is closed before anything else is opened.
	 */
	closefrom(3);
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "c:dit")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			explicit = 1;
			break;
		case 'd':
			dflag = 1;
			break;
		case 'i':
			iflag = 1;
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
	return connection_main(config_fd, dflag, iflag);
}
