/*
 * An LDAP directory (passdb = ldap): the monitor's side.  See pop3d.conf(5).
 *
 * The monitor talks to no directory itself: what a directory sends is
 * network input, parsed by libldap and its TLS library, and the monitor
 * runs as root.  For each login it forks a helper that reads the service
 * bind password (root's file) and then becomes the pre-login user, with
 * nothing open but its socket and the configuration, to execute
 * pop3d-ldap (lookup/pop3d-ldap.c): pop3d maps no libldap.  The monitor
 * reads one length-checked reply (lookup/lookup.h), checks the paths in it
 * again, and kills a helper that has not answered within ldap_timeout.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/passdb.h"
#include "auth/program.h"
#include "auth/sandbox.h"
#include "auth/signer.h"
#include "common/clock.h"
#include "common/log.h"
#include "lookup/lookup.h"

/*
 * The service bind password: the file must be root's alone (or, without
 * root, the running user's), since pop3d.conf may be read by the session.
 */
static int
read_bind_password(const struct config *cf, char *pw, size_t len)
{
	struct stat	st;
	ssize_t		n;
	int		fd;

	if ((fd = open(cf->ldap_bind_password_file, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_warn("ldap_bind_password_file %s",
		    cf->ldap_bind_password_file);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		log_warnx("ldap_bind_password_file %s must be a file that only "
		    "its owner, %s, can read", cf->ldap_bind_password_file,
		    geteuid() == 0 ? "root" : "the running user");
		close(fd);
		return -1;
	}
	n = read(fd, pw, len);
	close(fd);
	if (n < 0 || (size_t)n >= len) {
		log_warnx("ldap_bind_password_file %s: unreadable or longer "
		    "than %zu", cf->ldap_bind_password_file, len - 1);
		explicit_bzero(pw, len);
		return -1;
	}
	pw[n] = '\0';
	pw[strcspn(pw, "\r\n")] = '\0';
	return 0;
}

/* Where sandbox_helper() puts the program's descriptor, past the config. */
#define PROGRAM_FD	(LOOKUP_CONFIG_FD + 1)

/*
 * The helper process: as root, the bind password and the program; then
 * the request on its own socket (the monitor's end, which the fork
 * copied, sends it to the helper's), the pre-login user, and pop3d-ldap
 * in place of this image.  Returns only on failure, with a status.
 */
static int
helper(const struct config *cf, const struct passdb_request *rq, int sv[2])
{
	static char	bindpw[LDAP_BIND_PASS_MAX + 2];
	static unsigned char m[LOOKUP_REQUEST_MAX];
	unsigned char	tempfail[2] = { LOOKUP_VERSION, LOOKUP_TEMPFAIL };
	char		path[POP3D_PATH_MAX], *argv[3];
	int		fds[3], prog, argc = 0;
	long		n;

	if ((cf->ldap_bind_dn[0] != '\0' &&
	    read_bind_password(cf, bindpw, sizeof(bindpw)) == -1) ||
	    rq->config_fd < 0 ||
	    (prog = program_open(LDAP_PROGRAM, LDAP_INSTALLED, path,
	    sizeof(path))) == -1) {
		send(sv[1], tempfail, sizeof(tempfail), 0);
		return EX_CONFIG;
	}
	n = lookup_request_encode(rq->user, rq->secret, bindpw, m, sizeof(m));
	explicit_bzero(bindpw, sizeof(bindpw));
	if (n == -1 || send(sv[0], m, n, 0) != n) {
		explicit_bzero(m, sizeof(m));
		send(sv[1], tempfail, sizeof(tempfail), 0);
		return EX_SOFTWARE;
	}
	explicit_bzero(m, sizeof(m));
	close(sv[0]);
	fds[0] = sv[1];			/* LOOKUP_SOCKET_FD */
	fds[1] = rq->config_fd;		/* LOOKUP_CONFIG_FD */
	fds[2] = prog;
	sandbox_helper(cf, fds, 3);
	if (fcntl(PROGRAM_FD, F_SETFD, FD_CLOEXEC) == -1)
		fatal(EX_OSERR, "fcntl");
	argv[argc++] = LDAP_PROGRAM;
	if (rq->log_stderr)
		argv[argc++] = "-d";
	argv[argc] = NULL;
	/* The monitor's environment, as a forked lookup had it. */
	fexecve(PROGRAM_FD, argv, environ);
	log_warn("%s", path);
	send(LOOKUP_SOCKET_FD, tempfail, sizeof(tempfail), 0);
	return EX_OSERR;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* One string of the reply into out; its end, or NULL. */
static const unsigned char *
get_string(const unsigned char *p, const unsigned char *end, char *out,
    size_t outlen)
{
	size_t len;

	if (end - p < 2)
		return NULL;
	len = (size_t)p[0] << 8 | p[1];
	p += 2;
	if ((size_t)(end - p) < len || len >= outlen ||
	    memchr(p, '\0', len) != NULL)
		return NULL;
	memcpy(out, p, len);
	out[len] = '\0';
	return p + len;
}

/* The helper's reply, trusted no more than the pre-login's requests. */
enum passdb_result
passdb_ldap_decode(const unsigned char *m, size_t n,
    struct passdb_identity *id)
{
	const unsigned char *p = m + 10, *end = m + n;

	if (n < 2 || m[0] != LOOKUP_VERSION)
		return PASSDB_TEMPFAIL;
	if (m[1] == LOOKUP_FAIL && n == 2)
		return PASSDB_FAIL;
	if (m[1] != LOOKUP_OK || n < 10)
		return PASSDB_TEMPFAIL;
	memset(id, 0, sizeof(*id));
	id->has_uid = id->has_gid = 1;
	id->system = 1;
	id->uid = get32(m + 2);
	id->gid = get32(m + 6);
	if ((p = get_string(p, end, id->home, sizeof(id->home))) == NULL ||
	    (p = get_string(p, end, id->maildir,
	    sizeof(id->maildir))) == NULL || p != end ||
	    id->uid == (uid_t)-1 || id->gid == (gid_t)-1 ||
	    !lookup_path_ok(id->home) ||
	    (id->maildir[0] != '\0' && !lookup_path_ok(id->maildir))) {
		memset(id, 0, sizeof(*id));
		return PASSDB_TEMPFAIL;
	}
	return PASSDB_OK;
}

/*
 * Wait for the helper, killed or ended.  A signal other than ours is
 * logged: SIGSYS means its system call filter (lookup/confine.c) caught
 * a call it must not make, which only subverted code would.
 */
static void
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return;
	if (!WIFSIGNALED(status) || WTERMSIG(status) == SIGKILL)
		return;
	if (WTERMSIG(status) == SIGSYS)
		log_warnx("ldap lookup process killed by seccomp (SIGSYS)");
	else
		log_warnx("ldap lookup process killed by signal %d",
		    WTERMSIG(status));
}

/*
 * The helper's reply by the deadline, else it is killed.  Either way it
 * is reaped.
 */
static enum passdb_result
await(const struct config *cf, pid_t pid, int fd, struct passdb_identity *id)
{
	unsigned char		 m[LOOKUP_REPLY_MAX + 1];
	enum passdb_result	 r = PASSDB_TEMPFAIL;
	long long		 left, deadline;
	struct pollfd		 pfd;
	ssize_t			 n = -1;

	deadline = clock_ms() + cf->ldap_timeout * 1000LL;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((left = deadline - clock_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, m, sizeof(m), MSG_DONTWAIT);
		if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			break;
	}
	if (n > 0)
		r = passdb_ldap_decode(m, (size_t)n, id);
	else if (left <= 0)
		log_warnx("ldap %s: no answer within ldap_timeout %d s",
		    cf->ldap_uri, cf->ldap_timeout);
	else
		log_warnx("ldap: lookup process ended without an answer");
	/* After its reply it has nothing left to do. */
	if (kill(pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("kill ldap lookup process");
	reap(pid);
	explicit_bzero(m, sizeof(m));
	return r;
}

static int	ldap_check(const struct config *, char *, size_t);

static enum passdb_result
ldap_verify(const struct config *cf, const struct passdb_request *rq,
    struct passdb_identity *id)
{
	enum passdb_result	r;
	char			why[256];
	pid_t			pid;
	int			sv[2];

	/* An empty password is an anonymous bind, which "succeeds". */
	if (rq->mech == MECH_APOP || rq->secret[0] == '\0')
		return PASSDB_FAIL;
	if (ldap_check(cf, why, sizeof(why)) == -1) {
		log_warnx("%s", why);
		return PASSDB_TEMPFAIL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return PASSDB_TEMPFAIL;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		return PASSDB_TEMPFAIL;
	}
	if (pid == 0) {
		signer_forget();	/* nothing of it goes on to pop3d-ldap */
		_exit(helper(cf, rq, sv));
	}
	close(sv[1]);
	r = await(cf, pid, sv[0], id);
	close(sv[0]);
	return r;
}

static int
ldap_check(const struct config *cf, char *why, size_t len)
{
	char		probe[LDAP_FILTER_MAX];
	struct stat	st;

	if (cf->ldap_uri[0] == '\0' || cf->ldap_base[0] == '\0') {
		snprintf(why, len, "passdb ldap needs ldap_uri and ldap_base");
		return -1;
	}
	if (lookup_scope(cf->ldap_scope) == -1) {
		snprintf(why, len, "ldap_scope '%s': expected base, one or sub",
		    cf->ldap_scope);
		return -1;
	}
	if (lookup_filter(cf->ldap_filter, "user", probe,
	    sizeof(probe)) == -1 || strstr(cf->ldap_filter, "%u") == NULL) {
		snprintf(why, len, "ldap_filter '%s': needs %%u (and knows "
		    "only %%u and %%%%)", cf->ldap_filter);
		return -1;
	}
	if (cf->ldap_uid_attr[0] == '\0' || cf->ldap_gid_attr[0] == '\0' ||
	    cf->ldap_home_attr[0] == '\0') {
		snprintf(why, len, "ldap_uid_attr, ldap_gid_attr and "
		    "ldap_home_attr may not be empty");
		return -1;
	}
	if (cf->ldap_ca_file[0] != '\0' &&
	    access(cf->ldap_ca_file, R_OK) == -1) {
		snprintf(why, len, "ldap_ca_file %s: %s", cf->ldap_ca_file,
		    strerror(errno));
		return -1;
	}
	if (cf->ldap_bind_dn[0] == '\0')
		return 0;
	if (cf->ldap_bind_password_file[0] == '\0') {
		snprintf(why, len,
		    "ldap_bind_dn needs ldap_bind_password_file");
		return -1;
	}
	if (stat(cf->ldap_bind_password_file, &st) == -1 ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(why, len, "ldap_bind_password_file %s: must exist and "
		    "be readable by its owner, %s, alone",
		    cf->ldap_bind_password_file,
		    geteuid() == 0 ? "root" : "the running user");
		return -1;
	}
	return 0;
}

const struct passdb passdb_ldap = {
	.name = "ldap",
	.can = PASSDB_PASSWORD,
	.verify = ldap_verify,
	.check = ldap_check,
};
