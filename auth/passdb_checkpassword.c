/*
 * A checkpassword program (cr.yp.to/checkpwd/interface.html) as the user
 * source: passdb = checkpassword, checkpassword = /path/to/program.
 *
 * The monitor runs the program as root with user\0password\0timestamp\0
 * on descriptor 3 and the ucspi environment of the connection, the client
 * being the one pop3d logs (passdb_request.remote).  The
 * program checks the password, becomes the user, changes to the home
 * directory, sets USER and HOME, and executes its arguments:
 * "pop3d-session -I", which reports the ids, groups, HOME and working
 * directory the program set up on IDREPORT_FD and exits (session/ident.c).
 * The monitor then checks that identity like any other source's and
 * starts the session with it.  The program's exit status: 0 with a
 * report, the user; 1, a bad password; 111, a temporary failure; 2
 * (misuse) and anything else, a temporary failure that is logged.
 *
 * APOP: the timestamp is the greeting's challenge and the password field
 * holds the client's digest, as qmail's APOP patch passes them; checking
 * the digest is the program's job (checkpassword_apop may name another
 * program for it, such as checkapoppw).
 *
 * With checkpassword_exec the program executes "pop3d-session" instead,
 * as qmail-popup's chain executes qmail-pop3d: the session runs as the
 * user the program became, on the client's descriptors, and says so with
 * one octet; checkpassword_chain() then leaves the chain running.
 *
 * The program gets checkpassword_timeout seconds in all (to the report,
 * or to the session's start); then it and every process of its group are
 * killed.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/checkpassword.h"
#include "auth/passdb.h"
#include "common/clock.h"
#include "common/handover.h"
#include "common/idreport.h"
#include "common/log.h"

/* The exit statuses of the interface. */
#define CHECKPW_BAD	1
#define CHECKPW_MISUSE	2
#define CHECKPW_TEMP	111
#define CHECKPW_NOEXEC	127	/* ours: the child could not run the program */

/* PATH, PROTO, the ucspi variables, and a chain's hand-over variables. */
#define CP_ENV_MAX	(8 + HO_COUNT)

/* What the child executes, and with what. */
struct cp_child {
	const char			*prog;
	char				*argv[4];
	char				 env[CP_ENV_MAX][HANDOVER_VAR_MAX];
	char				*envp[CP_ENV_MAX + 1];
	int				 nenv;
	const struct checkpw_chain	*chain;	/* checkpassword_exec, or NULL */
};

static void
add_env(struct cp_child *c, const char *name, const char *value)
{
	if (value == NULL || c->nenv >= CP_ENV_MAX)
		return;
	if (snprintf(c->env[c->nenv], sizeof(c->env[0]), "%s=%s", name,
	    value) >= (int)sizeof(c->env[0]))
		return;
	c->envp[c->nenv] = c->env[c->nenv];
	c->envp[++c->nenv] = NULL;
}

static int
is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return s != NULL && (inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1);
}

/*
 * The client as pop3d names it in its logs (common/peer.c: the launcher's
 * variables, else the socket's peer): "ip:port", "[ip6]:port" or "ip".
 * "local" and "unknown" give nothing.
 */
static void
add_remote(struct cp_child *c, const char *remote)
{
	char		 ip[INET6_ADDRSTRLEN + 2];
	const char	*port = NULL, *colon;
	size_t		 n;

	if (remote[0] == '[') {
		if ((colon = strstr(remote, "]:")) == NULL)
			return;
		n = colon - remote - 1;
		port = colon + 2;
		remote++;
	} else if ((colon = strchr(remote, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		n = colon - remote;
		port = colon + 1;
	} else
		n = strlen(remote);
	if (n >= sizeof(ip))
		return;
	memcpy(ip, remote, n);
	ip[n] = '\0';
	if (!is_ip(ip))
		return;
	add_env(c, "TCPREMOTEIP", ip);
	add_env(c, "TCPREMOTEPORT", port);
}

/* The local end as tcpserver names it, else from the socket. */
static void
add_local(struct cp_child *c)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			addr[INET6_ADDRSTRLEN], port[8];
	const void		*a;
	unsigned		p;

	if (getenv("TCPLOCALIP") != NULL) {
		add_env(c, "TCPLOCALIP", getenv("TCPLOCALIP"));
		add_env(c, "TCPLOCALPORT", getenv("TCPLOCALPORT"));
		return;
	}
	if (getsockname(0, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		a = &((struct sockaddr_in *)&ss)->sin_addr;
		p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else
		return;
	if (inet_ntop(ss.ss_family, a, addr, sizeof(addr)) == NULL)
		return;
	snprintf(port, sizeof(port), "%u", p);
	add_env(c, "TCPLOCALIP", addr);
	add_env(c, "TCPLOCALPORT", port);
}

/* The ucspi-tcp environment (PROTO, TCPREMOTEIP, ...) and a PATH. */
static void
child_env(struct cp_child *c, const char *remote)
{
	int i;

	c->nenv = 0;
	c->envp[0] = NULL;
	add_env(c, "PATH", "/usr/bin:/bin");
	add_env(c, "PROTO", "TCP");
	add_remote(c, remote);
	add_local(c);
	add_env(c, "TCPREMOTEHOST", getenv("TCPREMOTEHOST"));
	add_env(c, "TCPREMOTEINFO", getenv("TCPREMOTEINFO"));
	add_env(c, "TCPLOCALHOST", getenv("TCPLOCALHOST"));
	for (i = 0; c->chain != NULL && c->chain->env[i] != NULL; i++)
		if (c->nenv < CP_ENV_MAX) {
			strlcpy(c->env[c->nenv], c->chain->env[i],
			    sizeof(c->env[0]));
			c->envp[c->nenv] = c->env[c->nenv];
			c->envp[++c->nenv] = NULL;
		}
}

/* Move fd to at least 10, out of the way of the fixed numbers. */
static int
lift(int fd)
{
	return fd >= 10 ? fd : fcntl(fd, F_DUPFD, 10);
}

/*
 * A chain's session: the client on 0 and 1, the pipelined octets, the
 * configuration and the started pipe at their fixed numbers.
 */
static int
chain_fds(const struct checkpw_chain *ch, int cred, int started)
{
	int carry, config = -1;

	if ((carry = lift(ch->carry)) == -1 || (started = lift(started)) == -1 ||
	    (ch->config >= 0 && (config = lift(ch->config)) == -1) ||
	    dup2(ch->in, 0) == -1 || dup2(ch->out, 1) == -1 ||
	    dup2(carry, CHAIN_CARRY_FD) == -1 ||
	    dup2(started, CHAIN_STARTED_FD) == -1 ||
	    (config != -1 && dup2(config, CHAIN_CONFIG_FD) == -1) ||
	    dup2(cred, 3) == -1)
		return -1;
	closefrom(CHAIN_STARTED_FD + 1);
	return 0;
}

/*
 * In the child: the credentials on 3.  Reporting: the report socket on
 * IDREPORT_FD, /dev/null for the client's descriptors (the program has no
 * business with the client).  A chain: the session's descriptors.
 * stderr is kept for the program's complaints; nothing else.
 */
static void __attribute__((noreturn))
child_run(struct cp_child *c, int cred, int back)
{
	sigset_t	all;
	int		null;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if ((cred = lift(cred)) == -1 || (back = lift(back)) == -1)
		_exit(CHECKPW_NOEXEC);
	if (c->chain != NULL) {
		if (chain_fds(c->chain, cred, back) == -1) {
			log_warn("checkpassword: descriptors");
			_exit(CHECKPW_NOEXEC);
		}
	} else if ((null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
	    dup2(cred, 3) == -1 || dup2(back, IDREPORT_FD) == -1) {
		log_warn("checkpassword: descriptors");
		_exit(CHECKPW_NOEXEC);
	} else
		closefrom(IDREPORT_FD + 1);
	execve(c->prog, c->argv, c->envp);
	log_warn("checkpassword: %s", c->prog);
	_exit(CHECKPW_NOEXEC);
}

/* user\0password\0timestamp\0 into buf; its length, or -1 if too long. */
static long
cp_input(const struct passdb_request *rq, char *buf)
{
	size_t	u = strlen(rq->user) + 1, p = strlen(rq->secret) + 1;
	size_t	t = strlen(rq->challenge) + 1;

	if (u + p + t > CHECKPW_INPUT_MAX)
		return -1;
	memcpy(buf, rq->user, u);
	memcpy(buf + u, rq->secret, p);
	memcpy(buf + u + p, rq->challenge, t);
	return (long)(u + p + t);
}

/*
 * Who sent the report, as the kernel says (SO_PASSCRED): the uid and gid
 * the report claims must be these, whatever the reporter's memory holds.
 */
static struct ucred	sender;

/* One message from the socket, with its sender's credentials. */
static ssize_t
cp_recv(int sock, unsigned char *buf, size_t len)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(struct ucred))];
	}		 cm;
	struct cmsghdr	*c;
	struct iovec	 iov = { buf, len };
	struct msghdr	 m;
	ssize_t		 n;

	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.buf;
	m.msg_controllen = sizeof(cm.buf);
	if ((n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) <= 0)
		return n;
	sender.uid = (uid_t)-1;
	sender.gid = (gid_t)-1;
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			memcpy(&sender, CMSG_DATA(c), sizeof(sender));
	return n;
}

/* SIGKILL to the program's group and to itself; then reaped. */
static void
cp_kill(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/*
 * Read the report until the reporter and the program close the socket,
 * then reap the program; by the deadline, else -1 (killed).  The status
 * goes to *status, the report's length to *len (0: none).  A chain's
 * session sends one octet instead, and then its chain runs on: 1.
 */
static int
cp_wait(pid_t pid, int sock, long long deadline, unsigned char *msg,
    size_t *len, int *status, int chain)
{
	struct pollfd	pfd;
	long long	left;
	ssize_t		n;
	int		open = 1;

	*len = 0;
	pfd.fd = sock;
	pfd.events = POLLIN;
	while ((left = deadline - clock_ms()) > 0) {
		if (!open) {
			if ((n = waitpid(pid, status, WNOHANG)) == pid)
				return 0;
			if (n == -1 && errno != EINTR)
				return -1;
			poll(NULL, 0, left < 10 ? (int)left : 10);
			continue;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = cp_recv(sock, msg, IDREPORT_MAX + 1);
		if (n > 0 && chain) {
			*len = n;
			return 1;
		}
		if (n > 0 && *len == 0)
			*len = n;
		else if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EINTR))
			open = 0;
	}
	cp_kill(pid);
	return -1;
}

/* The reporter's message as an identity; -1 (logged) if unusable. */
static int
cp_identity(const unsigned char *msg, size_t len, struct passdb_identity *id)
{
	struct idreport	r;
	int		i;

	if (idreport_decode(msg, len, &r) == -1) {
		log_warnx("checkpassword: malformed identity report");
		return -1;
	}
	if (sender.uid != r.uid[0] || sender.gid != r.gid[0]) {
		log_warnx("checkpassword: identity report of uid %lu gid %lu "
		    "sent by uid %lu gid %lu", (unsigned long)r.uid[0],
		    (unsigned long)r.gid[0], (unsigned long)sender.uid,
		    (unsigned long)sender.gid);
		return -1;
	}
	if (r.uid[0] != r.uid[1] || r.uid[1] != r.uid[2] ||
	    r.gid[0] != r.gid[1] || r.gid[1] != r.gid[2]) {
		log_warnx("checkpassword: the program left real and effective "
		    "ids apart (uid %lu/%lu, gid %lu/%lu)",
		    (unsigned long)r.uid[0], (unsigned long)r.uid[1],
		    (unsigned long)r.gid[0], (unsigned long)r.gid[1]);
		return -1;
	}
	memset(id, 0, sizeof(*id));
	id->has_uid = id->has_gid = 1;
	id->uid = r.uid[0];
	id->gid = r.gid[0];
	for (i = 0; i < r.ngroups; i++)
		id->groups[i] = r.groups[i];
	id->ngroups = r.ngroups;
	/*
	 * A checkpassword program is most often a view of the system's
	 * accounts (qmail's own reads /etc/passwd and shadow): first_valid_uid
	 * keeps one that lets a daemon account through from serving it.
	 */
	id->system = 1;
	/* HOME, as the interface says; the directory it left us in if not. */
	strlcpy(id->home, r.home[0] == '/' ? r.home : r.cwd, sizeof(id->home));
	explicit_bzero(&r, sizeof(r));
	return 0;
}

/* The verdict of a finished program. */
static enum passdb_result
cp_result(const char *prog, int status, size_t len, const char *safe)
{
	if (WIFSIGNALED(status)) {
		log_warnx("checkpassword %s user=%s: killed by signal %d", prog,
		    safe, WTERMSIG(status));
		return PASSDB_TEMPFAIL;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		if (len > 0)
			return PASSDB_OK;
		log_warnx("checkpassword %s user=%s: exit 0, but "
		    "pop3d-session did not run", prog, safe);
		return PASSDB_TEMPFAIL;
	case CHECKPW_BAD:
		return PASSDB_FAIL;
	case CHECKPW_TEMP:
		log_warnx("checkpassword %s user=%s: temporary failure", prog,
		    safe);
		return PASSDB_TEMPFAIL;
	case CHECKPW_MISUSE:
		log_warnx("checkpassword %s user=%s: exit 2, misused", prog,
		    safe);
		return PASSDB_TEMPFAIL;
	default:
		log_warnx("checkpassword %s user=%s: unexpected exit %d", prog,
		    safe, WEXITSTATUS(status));
		return PASSDB_TEMPFAIL;
	}
}

/*
 * Run the program with the credentials; the report lands in msg.  A
 * chain that has started its session is left running: its pid in *chain.
 */
static enum passdb_result
cp_run(const struct config *cf, struct cp_child *c, char *input, long ilen,
    unsigned char *msg, size_t *len, const char *safe, pid_t *chain)
{
	int	cred[2], rep[2], status, done;
	pid_t	pid;

	if (pipe2(cred, O_CLOEXEC) == -1) {
		log_warn("checkpassword: pipe");
		return PASSDB_TEMPFAIL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep) == -1) {
		log_warn("checkpassword: socketpair");
		close(cred[0]);
		close(cred[1]);
		return PASSDB_TEMPFAIL;
	}
	if (setsockopt(rep[0], SOL_SOCKET, SO_PASSCRED, &(int){ 1 },
	    sizeof(int)) == -1) {
		log_warn("checkpassword: SO_PASSCRED");
		close(rep[0]);
		close(rep[1]);
		close(cred[0]);
		close(cred[1]);
		return PASSDB_TEMPFAIL;
	}
	if ((pid = fork()) == -1)
		log_warn("checkpassword: fork");
	else if (pid == 0) {
		explicit_bzero(input, ilen);
		close(cred[1]);
		close(rep[0]);
		child_run(c, cred[0], rep[1]);
	}
	close(cred[0]);
	close(rep[1]);
	/* At most CHECKPW_INPUT_MAX octets: the pipe takes them at once. */
	if (pid != -1 && write(cred[1], input, ilen) != ilen && errno != EPIPE)
		log_warn("checkpassword: write");
	explicit_bzero(input, ilen);
	close(cred[1]);
	if (pid == -1) {
		close(rep[0]);
		return PASSDB_TEMPFAIL;
	}
	done = cp_wait(pid, rep[0], clock_ms() +
	    cf->checkpassword_timeout * 1000LL, msg, len, &status,
	    c->chain != NULL);
	close(rep[0]);
	if (done == 1) {
		*chain = pid;
		return PASSDB_OK;
	}
	if (done == -1) {
		log_warnx("checkpassword %s user=%s: no answer within %d s: "
		    "killed", c->prog, safe, cf->checkpassword_timeout);
		return PASSDB_TEMPFAIL;
	}
	return cp_result(c->prog, status, *len, safe);
}

static struct cp_child		cp;
static unsigned char		msg[IDREPORT_MAX + 1];

/*
 * The program for this request, with pop3d-session and its arguments;
 * -1 (logged) if the configuration names none.
 */
static int
cp_prepare(const struct config *cf, const struct passdb_request *rq,
    const struct checkpw_chain *chain)
{
	if (cf->checkpassword[0] == '\0') {
		log_warnx("passdb checkpassword: checkpassword names no "
		    "program");
		return -1;
	}
	cp.prog = rq->mech == MECH_APOP && cf->checkpassword_apop[0] != '\0' ?
	    cf->checkpassword_apop : cf->checkpassword;
	cp.argv[0] = (char *)cp.prog;
	cp.argv[1] = (char *)rq->session;
	cp.argv[2] = chain != NULL ? NULL : "-I";
	cp.argv[3] = NULL;
	cp.chain = chain;
	child_env(&cp, rq->remote);
	return 0;
}

static enum passdb_result
cp_verify(const struct config *cf, const struct passdb_request *rq,
    struct passdb_identity *id)
{
	char			input[CHECKPW_INPUT_MAX], safe[AUTH_USER_MAX + 1];
	enum passdb_result	r;
	size_t			len;
	long			ilen;
	pid_t			none;

	if ((ilen = cp_input(rq, input)) == -1)
		return PASSDB_FAIL;
	log_sanitize(rq->user, safe, sizeof(safe));
	if (cp_prepare(cf, rq, NULL) == -1) {
		explicit_bzero(input, sizeof(input));
		return PASSDB_TEMPFAIL;
	}
	r = cp_run(cf, &cp, input, ilen, msg, &len, safe, &none);
	if (r == PASSDB_OK && cp_identity(msg, len, id) == -1)
		r = PASSDB_TEMPFAIL;
	explicit_bzero(msg, sizeof(msg));
	return r;
}

enum passdb_result
checkpassword_chain(const struct config *cf, const struct passdb_request *rq,
    const struct checkpw_chain *chain, pid_t *pid)
{
	char			input[CHECKPW_INPUT_MAX], safe[AUTH_USER_MAX + 1];
	enum passdb_result	r;
	size_t			len;
	long			ilen;

	if ((ilen = cp_input(rq, input)) == -1)
		return PASSDB_FAIL;
	log_sanitize(rq->user, safe, sizeof(safe));
	if (cp_prepare(cf, rq, chain) == -1) {
		explicit_bzero(input, sizeof(input));
		return PASSDB_TEMPFAIL;
	}
	r = cp_run(cf, &cp, input, ilen, msg, &len, safe, pid);
	explicit_bzero(msg, sizeof(msg));
	return r;
}

static int
cp_check(const struct config *cf, char *why, size_t len)
{
	const char *p[2] = { cf->checkpassword, cf->checkpassword_apop };
	int i;

	if (p[0][0] == '\0') {
		snprintf(why, len, "passdb checkpassword: checkpassword names "
		    "no program");
		return -1;
	}
	for (i = 0; i < 2; i++)
		if (p[i][0] != '\0' && access(p[i], X_OK) == -1) {
			snprintf(why, len, "checkpassword %s: %s", p[i],
			    strerror(errno));
			return -1;
		}
	return 0;
}

const struct passdb passdb_checkpassword = {
	.name = "checkpassword",
	.can = PASSDB_PASSWORD | PASSDB_APOP,
	.verify = cp_verify,
	.check = cp_check,
};
