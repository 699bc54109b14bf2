/*
 * This file runs as root when pop3d is started as root.  It parses no
 * network input: its only input is the pre-login process's request,
 * decoded by wire_decode_request(), which checks every length, and its
 * request for the TLS handshake's signature (auth/signer.h).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "auth/checkpassword.h"
#include "auth/logindelay.h"
#include "auth/monitor.h"
#include "auth/passdb.h"
#include "auth/password.h"
#include "auth/sandbox.h"
#include "auth/scram.h"
#include "auth/signer.h"
#include "auth/throttle.h"
#include "common/base64.h"
#include "common/capa.h"
#include "common/wire.h"
#include "common/wiresign.h"
#include "common/clock.h"
#include "common/handover.h"
#include "common/log.h"
#include "common/ossl.h"
#include "common/peer.h"

enum scram_stage {
	SCRAM_IDLE,
	SCRAM_CHALLENGED,	/* server-first sent: the proof comes next */
	SCRAM_PROVEN		/* server-final sent: the client's go comes next */
};

/* One SCRAM exchange: what the monitor was told and answered. */
struct scram_exchange {
	enum scram_stage	 stage;
	int			 known;		/* the user has a verifier */
	struct wire_scram_first	 first;
	struct wire_scram_final	 final;
	char			 snonce[SCRAM_NONCE_MAX + 1];
	struct scram_verifier	 v;
	struct wire_answer	 ans;
};

struct attempt {
	struct wire_request	rq;
	struct scram_exchange	sc;
	struct passdb_identity	id;
	unsigned char		msg[WIRE_REQUEST_MAX + 1];
	char			maildir[POP3D_PATH_MAX];
};

static struct attempt	at;	/* holds secrets: wiped after every use */

/* The client: the peer, or whom a trusted proxy named (see client_of()). */
static char		client[PEER_MAX];

static void
wipe(void)
{
	explicit_bzero(&at, sizeof(at));
}

/* The password and the raw request, right after the check. */
static void
wipe_secrets(void)
{
	explicit_bzero(at.rq.pass, sizeof(at.rq.pass));
	explicit_bzero(at.msg, sizeof(at.msg));
}

int
monitor_user_valid(const char *u)
{
	size_t i;

	if (u[0] == '\0' || u[0] == '.' || strlen(u) > AUTH_USER_MAX)
		return 0;
	for (i = 0; u[i] != '\0'; i++)
		if (u[i] <= 0x20 || u[i] >= 0x7f || u[i] == '/' || u[i] == ':' ||
		    u[i] == '%')
			return 0;
	return 1;
}

int
monitor_maildir(const char *tmpl, const char *user, const char *home,
    char *out, size_t outlen)
{
	const char	*add;
	size_t		 n = 0, alen;

	for (; *tmpl != '\0'; tmpl++) {
		if (*tmpl != '%') {
			add = tmpl;
			alen = 1;
		} else {
			tmpl++;
			if (*tmpl == 'u')
				add = user;
			else if (*tmpl == 'h' && home[0] == '/')
				add = home;
			else if (*tmpl == '%')
				add = "%";
			else
				return -1;
			alen = strlen(add);
		}
		if (alen >= outlen - n)
			return -1;
		memcpy(out + n, add, alen);
		n += alen;
	}
	out[n] = '\0';
	if (out[0] != '/' || strstr(out, "/../") != NULL ||
	    (n >= 3 && strcmp(out + n - 3, "/..") == 0))
		return -1;
	return 0;
}

/*
 * A failure is answered a fixed time after its request arrived, whatever
 * the user, scheme or method: how long the check took must not tell an
 * unknown user from a known one with a slow hash.
 */
static void
answer_at(long long when, long long arrived, int delay_ms)
{
	static int	warned;
	struct timespec	ts;
	long long	left = when - clock_ms();

	if (left < 0) {
		if (delay_ms > 0 && !warned++)
			log_warnx("a failed login took %lld ms to check, longer "
			    "than auth_fail_delay_ms %d: failures can be told "
			    "apart by their timing", clock_ms() - arrived,
			    delay_ms);
		return;
	}
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (long)(left % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* May the user run a session here, as the source says?  Logged when not. */
static int
identity_ok(const struct monitor_args *ma, const struct passdb_identity *id,
    const char *user)
{
	const char *where = id->maildir[0] != '\0' ? id->maildir :
	    ma->cf->maildir;

	if (ma->root) {
		if (!id->has_uid || !id->has_gid || id->uid == 0 ||
		    id->gid == 0) {
			log_warnx("user=%s: needs a non-zero uid and gid", user);
			return 0;
		}
		if (id->system && id->uid < (uid_t)ma->cf->first_valid_uid) {
			log_warnx("user=%s: uid %lu is below first_valid_uid %d",
			    user, (unsigned long)id->uid,
			    ma->cf->first_valid_uid);
			return 0;
		}
	} else if ((id->has_uid && id->uid != getuid()) ||
	    (id->has_gid && id->gid != getgid())) {
		log_warnx("user=%s: uid/gid differ from the running user, "
		    "who alone can be served without root", user);
		return 0;
	}
	/* A source's own maildir is a path; %u and %h expand in either. */
	if (monitor_maildir(where, at.rq.user, id->home, at.maildir,
	    sizeof(at.maildir)) == -1) {
		log_warnx("user=%s: maildir gives no usable absolute path "
		    "(home '%s')", user, id->home);
		return 0;
	}
	return 1;
}

/* Check the request in `at`: the verdict, without the failure count. */
static enum wire_verdict
check(const struct monitor_args *ma, const char *user)
{
	struct passdb_request rq;

	if (!monitor_user_valid(at.rq.user)) {
		password_dummy_verify(at.rq.pass);
		return VERDICT_FAIL;
	}
	rq.mech = at.rq.mech;
	rq.user = at.rq.user;
	rq.secret = at.rq.pass;
	rq.challenge = ma->challenge;
	rq.remote = client;
	rq.session = ma->session_path;
	rq.config_fd = ma->config_fd;
	rq.log_stderr = ma->log_stderr;
	if (rq.mech == MECH_APOP && !(ma->passdb->can & PASSDB_APOP))
		return VERDICT_FAIL;
	switch (ma->passdb->verify(ma->cf, &rq, &at.id)) {
	case PASSDB_OK:
		break;
	case PASSDB_TEMPFAIL:
		return VERDICT_TEMPFAIL;
	case PASSDB_REFUSED:
		return VERDICT_REFUSED;
	default:
		return VERDICT_FAIL;
	}
	return identity_ok(ma, &at.id, user) ? VERDICT_OK : VERDICT_FAIL;
}

/*
 * The client of this request (credentials or SCRAM client-first): the
 * connection's peer, or the address the PROXY header named (family,
 * address, port, checked by wire.c) when the peer is a trusted proxy.
 * -1 when a client is named by a peer that is not trusted: the pre-login
 * process is lying.
 */
static int
client_of(const struct monitor_args *ma, const unsigned char *c, size_t clen)
{
	char addr[INET6_ADDRSTRLEN];

	if (clen == 0) {
		strlcpy(client, ma->remote, sizeof(client));
		return 0;
	}
	if (!ma->proxy_trusted || inet_ntop(c[0] == 4 ? AF_INET : AF_INET6,
	    c + 1, addr, sizeof(addr)) == NULL)
		return -1;
	snprintf(client, sizeof(client), c[0] == 4 ? "%s:%u" : "[%s]:%u",
	    addr, (unsigned)(c[17] << 8 | c[18]));
	return 0;
}

/* The user's LOGIN-DELAY: the source's value, else the server-wide one. */
static int
user_delay(const struct monitor_args *ma)
{
	return at.id.has_login_delay ? at.id.login_delay :
	    ma->cf->login_delay;
}

/*
 * After the password was found right, and only then: a login too soon
 * after the user's last one is turned away (RFC 2449 section 8.1.1).
 * Checked last, so that only someone who knows the password learns that
 * the user exists or logged in lately.
 */
static enum wire_verdict
check_delay(const struct monitor_args *ma, const char *user)
{
	long	left;
	int	delay = user_delay(ma);

	if (delay <= 0)
		return VERDICT_OK;
	left = logindelay_check(ma->cf->login_delay_dir, at.rq.user, delay,
	    (long long)time(NULL));
	if (left <= 0)
		return VERDICT_OK;
	log_info("auth delayed user=%s method=%s remote=%s wait=%ld", user,
	    wire_mech_name(at.rq.mech), client, left);
	return VERDICT_DELAY;
}

/*
 * The throttle of the attempt being checked (auth/throttle.h): whether
 * it was counted, or refused unchecked.
 */
static struct throttle	th;
static enum { TH_NONE, TH_COUNTED, TH_BLOCKED } th_state;

/*
 * Right before a password or proof is checked: an address the throttle
 * refuses for now gets no check at all (1), one with failures waits
 * first (logged), and the wait is added to *arrived, so that a failure
 * is still answered auth_fail_delay_ms after its check began.
 */
static int
throttled(const struct monitor_args *ma, const char *user, long long *arrived)
{
	long	wait;
	int	delay;

	/*
	 * A trusted proxy that names no client (a LOCAL or UNKNOWN header:
	 * its own health check, or a client it cannot name): keyed by the
	 * proxy, one client could refuse them all.
	 */
	if (ma->proxy_trusted && strcmp(client, ma->remote) == 0)
		return 0;
	delay = throttle_begin(&th, ma->cf, client, at.rq.user,
	    (long long)time(NULL), &wait);
	if (delay == -1) {
		th_state = TH_BLOCKED;
		log_info("auth blocked user=%s method=%s remote=%s wait=%ld",
		    user, wire_mech_name(at.rq.mech), client, wait);
		return 1;
	}
	th_state = TH_COUNTED;
	if (delay > 0) {
		log_info("auth throttled user=%s method=%s remote=%s "
		    "delay=%d", user, wire_mech_name(at.rq.mech), client,
		    delay);
		answer_at(*arrived + delay, *arrived, 0);
		*arrived += delay;
	}
	return 0;
}

/* After the check, what the throttle makes of its verdict. */
static void
throttle_verdict(const struct monitor_args *ma, enum wire_verdict v)
{
	enum throttle_outcome o = THROTTLE_RIGHT;

	if (v == VERDICT_FAIL)
		o = THROTTLE_WRONG;
	else if (v == VERDICT_TEMPFAIL)
		o = THROTTLE_UNDECIDED;
	throttle_end(&th, ma->cf, o, (long long)time(NULL));
}

/* "TLSv1.3 TLS_AES..." as one word for the log. */
static const char *
tls_word(const char *tls)
{
	static char	buf[WIRE_TLS_MAX + 1];
	size_t		i;

	log_sanitize(tls, buf, sizeof(buf));
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '?')
			buf[i] = '/';
	return buf;
}

static int
send_verdict(int sock, enum wire_verdict v)
{
	unsigned char b[2] = { WIRE_VERSION, v };

	/* A pre-login that does not read its verdicts gets none. */
	return send(sock, b, sizeof(b), MSG_DONTWAIT) == sizeof(b) ? 0 : -1;
}

static int
wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return EX_OSERR;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	/* SIGSYS: it made a call its seccomp filter forbids. */
	if (WTERMSIG(status) == SIGSYS)
		log_warnx("pre-login process killed by seccomp (SIGSYS)");
	else
		log_warnx("pre-login process killed by signal %d",
		    WTERMSIG(status));
	return EX_SOFTWARE;
}

/*
 * SIGKILL, checked: without CAP_KILL root cannot signal another uid, and
 * then there is nothing to wait for.  Returns the exit status to report.
 */
static int
stop_child(pid_t pid)
{
	if (kill(pid, SIGKILL) == -1 && errno != ESRCH) {
		log_warn("kill pre-login process %ld", (long)pid);
		return EX_OSERR;
	}
	return wait_child(pid);
}

/*
 * Wait until the pre-login process closes its end (it exits), reading and
 * dropping whatever else it sends, but no later than the deadline: then
 * it is killed.  Returns its exit status.
 */
static int
end_child(const struct monitor_args *ma)
{
	unsigned char	 junk[64];
	struct pollfd	 pfd;
	long long	 left;
	ssize_t		 n;

	pfd.fd = ma->sock;
	pfd.events = POLLIN;
	while ((left = ma->deadline - clock_ms()) > 0) {
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0)
			continue;
		n = recv(ma->sock, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return wait_child(ma->child);
	}
	log_warnx("pre-login process past its deadline remote=%s: killed",
	    ma->remote);
	return stop_child(ma->child);
}

/*
 * The next request, by the deadline.  Returns its length, 0 when the
 * pre-login process has gone, -1 when it has run out of time (killed).
 */
static ssize_t
next_request(const struct monitor_args *ma)
{
	struct pollfd	pfd;
	long long	left;
	ssize_t		n;

	pfd.fd = ma->sock;
	pfd.events = POLLIN;
	while ((left = ma->deadline - clock_ms()) > 0) {
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) <= 0)
			continue;
		n = recv(ma->sock, at.msg, sizeof(at.msg), MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			return 0;
	}
	log_warnx("pre-login process past its deadline remote=%s: killed",
	    ma->remote);
	return -1;
}

/* A pipe holding the carried octets, for the session to read first. */
static int
carry_pipe(const struct wire_request *rq)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	/* At most PIPELINE_CARRY_MAX octets: far below the pipe's capacity. */
	if (write(p[1], rq->carry, rq->carrylen) != (ssize_t)rq->carrylen ||
	    fcntl(p[0], F_SETFD, 0) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	return p[0];
}

/*
 * After a login over TLS the session talks to the relay, not the client:
 * its end of the socketpair becomes stdin and stdout.
 */
static int
use_relay(const struct monitor_args *ma)
{
	if (!(at.rq.flags & WIRE_RELAY)) {
		if (ma->relay_fd != -1)
			close(ma->relay_fd);
		return 0;
	}
	if (dup2(ma->relay_fd, 0) == -1 || dup2(ma->relay_fd, 1) == -1) {
		log_warn("dup2");
		return -1;
	}
	close(ma->relay_fd);
	return 0;
}

/*
 * Become the owner and replace this process with the session.  The fresh
 * image keeps nothing of this one: no users file, no password.
 */
/* The session's environment (common/handover.h); -1 if a value is too long. */
static int
handover(const struct monitor_args *ma, struct handover_env *he, int carry)
{
	const char	*home = at.id.home[0] != '\0' ? at.id.home : "/";
	int		 bad = 0;

	handover_init(he);
	bad |= handover_set(he, HO_SESSION, "1");
	bad |= handover_set(he, HO_USER, "%s", at.rq.user);
	bad |= handover_set(he, HO_MAILDIR, "%s", at.maildir);
	bad |= handover_set(he, HO_REMOTE, "%s", client);
	bad |= handover_set(he, HO_METHOD, "%s", wire_mech_name(at.rq.mech));
	bad |= handover_set(he, HO_CARRY_FD, "%d", carry);
	if (ma->config_fd >= 0)
		bad |= handover_set(he, HO_CONFIG_FD, "%d", ma->config_fd);
	if (at.rq.flags & WIRE_RELAY) {
		bad |= handover_set(he, HO_TLS, "%s", tls_word(at.rq.tls));
		bad |= handover_set(he, HO_RELAY_PID, "%ld", (long)ma->child);
	}
	if (ma->logger > 0)
		bad |= handover_set(he, HO_LOGGER_PID, "%ld", (long)ma->logger);
	if (user_delay(ma) > 0)
		bad |= handover_set(he, HO_LOGIN_DELAY, "%d", user_delay(ma));
	if (at.id.has_expire)
		bad |= handover_set(he, HO_EXPIRE, "%d", at.id.expire);
	bad |= handover_set(he, HO_HOME, "%s", home);
	bad |= handover_set(he, HO_LOGNAME, "%s", at.rq.user);
	bad |= handover_set(he, HO_PATH, "/usr/bin:/bin");
	bad |= handover_set(he, HO_SASL, "%u", (at.rq.flags & WIRE_RELAY) ?
	    ma->sasl : ma->sasl & ~SASL_SCRAM_SHA256_PLUS);
	return bad ? -1 : 0;
}

static int
start_session(const struct monitor_args *ma)
{
	static struct handover_env	 he;
	char				*argv[3];
	int				 fd, argc = 0;

	if ((fd = carry_pipe(&at.rq)) == -1) {
		log_warn("carry pipe");
		return EX_OSERR;
	}
	if (ma->config_fd >= 0 && fcntl(ma->config_fd, F_SETFD, 0) == -1)
		return EX_OSERR;
	if (handover(ma, &he, fd) == -1) {
		log_warnx("session environment too long");
		return EX_SOFTWARE;
	}
	argv[argc++] = SESSION_PROGRAM;
	if (ma->log_stderr)
		argv[argc++] = "-d";
	argv[argc] = NULL;

	if (use_relay(ma) == -1)
		return EX_OSERR;
	if (ma->root && sandbox_become(at.id.uid, at.id.gid, at.id.groups,
	    at.id.ngroups) == -1)
		return EX_NOPERM;
	if (chdir(at.id.home[0] != '\0' ? at.id.home : "/") == -1 &&
	    chdir("/") == -1)
		return EX_OSERR;
	wipe();
	signer_forget();
	fexecve(ma->session_fd, argv, he.envp);
	log_warn("fexecve");
	return EX_OSERR;
}

/* Log a good login and hand over to the session; does not return on success. */
static int
login_ok(const struct monitor_args *ma, const char *user)
{
	int status;

	log_info("auth ok user=%s method=%s remote=%s%s%s", user,
	    wire_mech_name(at.rq.mech), client,
	    at.rq.tls[0] != '\0' ? " tls=" : "", tls_word(at.rq.tls));
	if (send_verdict(ma->sock, VERDICT_OK) == -1) {
		wipe();
		return end_child(ma);
	}
	/* A relaying child lives on beside the session. */
	if (!(at.rq.flags & WIRE_RELAY) && (status = end_child(ma)) != 0) {
		wipe();
		return status;
	}
	return start_session(ma);
}

static enum scram_hash
scram_hash_of(enum wire_mech m)
{
	return m == MECH_SCRAM_SHA1 ? SCRAM_SHA1 : SCRAM_SHA256;
}

static unsigned
scram_bit(enum wire_mech m)
{
	return m == MECH_SCRAM_SHA1 ? SASL_SCRAM_SHA1 :
	    m == MECH_SCRAM_SHA256 ? SASL_SCRAM_SHA256 : SASL_SCRAM_SHA256_PLUS;
}

static int
send_answer(int sock, const struct wire_answer *a)
{
	unsigned char	buf[WIRE_ANSWER_MAX];
	long		n;

	if ((n = wire_encode_answer(a, buf, sizeof(buf))) == -1)
		return -1;
	return send(sock, buf, n, MSG_DONTWAIT) == n ? 0 : -1;
}

/*
 * client-first: look the verifier up, or make the fake one, and answer
 * with the salt, the iterations and our half of the nonce.  The answer
 * comes at once either way: the failure, if any, waits for the proof.
 * *v: VERDICT_OK when answered, VERDICT_TEMPFAIL when the source could
 * not.  -1: a request the pre-login process should not have sent.
 */
static int
scram_first(const struct monitor_args *ma, size_t n, char *user,
    enum wire_verdict *v)
{
	struct scram_exchange	*sc = &at.sc;
	unsigned char		 rnd[18];
	enum passdb_result	 r = PASSDB_FAIL;

	memset(sc, 0, sizeof(*sc));
	if (wire_decode_scram_first(at.msg, n, &sc->first) == -1 ||
	    !(ma->sasl & scram_bit(sc->first.mech)) ||
	    client_of(ma, sc->first.client, sc->first.clientlen) == -1)
		return -1;
	log_sanitize(sc->first.user, user, AUTH_USER_MAX + 1);
	strlcpy(at.rq.user, sc->first.user, sizeof(at.rq.user));
	at.rq.mech = sc->first.mech;
	/*
	 * Mapping OpenSSL takes about a millisecond: done here for every
	 * user, not by scram_fake() for an unknown one alone, whose answer
	 * would then come later than a known user's.
	 */
	ossl_load();
	if (monitor_user_valid(sc->first.user))
		r = ma->passdb->scram(ma->cf, sc->first.user,
		    scram_hash_of(sc->first.mech), &sc->v, &at.id);
	if (r == PASSDB_TEMPFAIL) {
		*v = VERDICT_TEMPFAIL;
		return 0;
	}
	if ((sc->known = r == PASSDB_OK) == 0)
		scram_fake(scram_hash_of(sc->first.mech), ma->scram_key,
		    sizeof(ma->scram_key), sc->first.user, &sc->v);
	arc4random_buf(rnd, sizeof(rnd));
	base64_encode(rnd, sizeof(rnd), sc->snonce, sizeof(sc->snonce));
	sc->ans.type = WIRE_SCRAM_CHALLENGE;
	sc->ans.iter = sc->v.iter;
	memcpy(sc->ans.salt, sc->v.salt, sc->v.saltlen);
	sc->ans.saltlen = sc->v.saltlen;
	strlcpy(sc->ans.snonce, sc->snonce, sizeof(sc->ans.snonce));
	sc->stage = SCRAM_CHALLENGED;
	*v = VERDICT_OK;
	return send_answer(ma->sock, &sc->ans);
}

static int
cat(char *buf, size_t len, const char *s)
{
	return strlcat(buf, s, len) >= len ? -1 : 0;
}

/*
 * RFC 5802 section 3: client-first-message-bare "," server-first-message
 * "," client-final-message-without-proof, built from what this process was
 * told and answered, never from the client's text: a nonce or channel
 * binding the client got wrong just fails the proof.
 */
static int
scram_authmsg(const struct scram_exchange *sc, char *out, size_t len)
{
	static const char *const flag[] = { [CBIND_NONE] = "n",
	    [CBIND_CLIENT] = "y", [CBIND_EXPORTER] = "p=tls-exporter",
	    [CBIND_ENDPOINT] = "p=tls-server-end-point" };
	/* gs2 header: the longest flag, "a=" and an escaped name; then cbind-data. */
	unsigned char	cbin[32 + AUTH_USER_MAX * 3 + SCRAM_CBIND_MAX];
	char		name[AUTH_USER_MAX * 3 + 1], b64[(sizeof(cbin) + 2) / 3 * 4 + 1];
	char		num[16];
	int		n;

	if (scram_saslname(sc->first.user, name, sizeof(name)) == -1)
		return -1;
	n = snprintf((char *)cbin, sizeof(cbin), "%s,%s%s,",
	    flag[sc->first.cbind], sc->first.authzid ? "a=" : "",
	    sc->first.authzid ? name : "");
	if (n < 0 || (size_t)n + sc->final.cbindlen > sizeof(cbin))
		return -1;
	memcpy(cbin + n, sc->final.cbind, sc->final.cbindlen);
	if (base64_encode(cbin, n + sc->final.cbindlen, b64, sizeof(b64)) == -1 ||
	    base64_encode(sc->v.salt, sc->v.saltlen, (char *)cbin,
	    sizeof(cbin)) == -1)
		return -1;
	snprintf(num, sizeof(num), "%lu", sc->v.iter);
	out[0] = '\0';
	if (cat(out, len, "n=") || cat(out, len, name) ||
	    cat(out, len, ",r=") || cat(out, len, sc->first.cnonce) ||
	    cat(out, len, ",r=") || cat(out, len, sc->first.cnonce) ||
	    cat(out, len, sc->snonce) || cat(out, len, ",s=") ||
	    cat(out, len, (char *)cbin) || cat(out, len, ",i=") ||
	    cat(out, len, num) || cat(out, len, ",c=") || cat(out, len, b64) ||
	    cat(out, len, ",r=") || cat(out, len, sc->first.cnonce) ||
	    cat(out, len, sc->snonce))
		return -1;
	return 0;
}

/*
 * client-final: check the proof.  A good one gets the ServerSignature and
 * waits for the client's go; otherwise VERDICT_FAIL, answered at the fixed
 * time like any failure.  -1: a request out of place or malformed.
 */
static int
scram_final(const struct monitor_args *ma, size_t n, const char *user,
    enum wire_verdict *v, long long *arrived)
{
	struct scram_exchange	*sc = &at.sc;
	char			 authmsg[4096];
	int			 good;

	if (sc->stage != SCRAM_CHALLENGED ||
	    wire_decode_scram_final(at.msg, n, &sc->final) == -1 ||
	    (sc->final.cbindlen != 0) != (sc->first.mech ==
	    MECH_SCRAM_SHA256_PLUS) ||
	    scram_authmsg(sc, authmsg, sizeof(authmsg)) == -1)
		return -1;
	memset(&sc->ans, 0, sizeof(sc->ans));
	if (throttled(ma, user, arrived)) {
		explicit_bzero(authmsg, sizeof(authmsg));
		*v = VERDICT_FAIL;
		return 0;
	}
	/* The fake verifier's keys are random: the same work, no match. */
	good = scram_check_proof(&sc->v, authmsg, sc->final.proof,
	    sc->final.prooflen, sc->ans.sig) && sc->known &&
	    identity_ok(ma, &at.id, user);
	explicit_bzero(authmsg, sizeof(authmsg));
	if (!good) {
		*v = VERDICT_FAIL;
		return 0;
	}
	sc->ans.type = WIRE_SCRAM_SIGNATURE;
	sc->ans.siglen = scram_keylen(sc->v.hash);
	sc->stage = SCRAM_PROVEN;
	*v = VERDICT_OK;
	return send_answer(ma->sock, &sc->ans);
}

static enum wire_verdict chain_check(const struct monitor_args *, pid_t *);

/* A credentials request: the check, or SCRAM's go after the signature. */
static int
credentials(const struct monitor_args *ma, size_t n, char *user,
    enum wire_verdict *v, pid_t *chain, long long *arrived)
{
	int scram = at.sc.stage == SCRAM_PROVEN;

	if (wire_decode_request(at.msg, n, &at.rq) == -1 ||
	    ((at.rq.flags & WIRE_RELAY) && ma->relay_fd == -1) ||
	    client_of(ma, at.rq.client, at.rq.clientlen) == -1)
		return -1;
	log_sanitize(at.rq.user, user, AUTH_USER_MAX + 1);
	if (MECH_IS_SCRAM(at.rq.mech)) {
		if (!scram || at.rq.mech != at.sc.first.mech ||
		    strcmp(at.rq.user, at.sc.first.user) != 0 ||
		    at.rq.pass[0] != '\0')
			return -1;
		*v = VERDICT_OK;
		return 0;
	}
	memset(&at.sc, 0, sizeof(at.sc));
	if (at.rq.mech == MECH_LOGIN || at.rq.mech == MECH_PLAIN) {
		if (!(ma->sasl & (at.rq.mech == MECH_LOGIN ? SASL_LOGIN :
		    SASL_PLAIN)))
			return -1;
	}
	/* Blocked: refused as a wrong password is, and never checked. */
	if (throttled(ma, user, arrived))
		*v = VERDICT_FAIL;
	else
		*v = ma->cf->checkpassword_exec ? chain_check(ma, chain) :
		    check(ma, user);
	wipe_secrets();
	return 0;
}

/*
 * checkpassword_exec: the session's environment, for the chain to pass on.
 * Who the user is and where the Maildir lies, the chain says.
 */
static int
chain_env(const struct monitor_args *ma, struct handover_env *he)
{
	int bad = 0;

	handover_init(he);
	bad |= handover_set(he, HO_SESSION, "checkpassword");
	bad |= handover_set(he, HO_REMOTE, "%s", client);
	bad |= handover_set(he, HO_METHOD, "%s", wire_mech_name(at.rq.mech));
	bad |= handover_set(he, HO_CARRY_FD, "%d", CHAIN_CARRY_FD);
	bad |= handover_set(he, HO_STARTED_FD, "%d", CHAIN_STARTED_FD);
	if (ma->config_fd >= 0)
		bad |= handover_set(he, HO_CONFIG_FD, "%d", CHAIN_CONFIG_FD);
	if (at.rq.flags & WIRE_RELAY)
		bad |= handover_set(he, HO_TLS, "%s", tls_word(at.rq.tls));
	return bad ? -1 : 0;
}

/*
 * checkpassword_exec: the checkpassword program checks the request and
 * executes pop3d-session as the user; a good verdict means the session
 * runs, as *pid's chain.
 */
static enum wire_verdict
chain_check(const struct monitor_args *ma, pid_t *pid)
{
	static struct handover_env	he;
	struct checkpw_chain		ch;
	struct passdb_request		rq;
	enum passdb_result		r;
	int				carry;

	if (!monitor_user_valid(at.rq.user))
		return VERDICT_FAIL;
	if (chain_env(ma, &he) == -1 || (carry = carry_pipe(&at.rq)) == -1) {
		log_warnx("checkpassword: session environment or carry pipe");
		return VERDICT_TEMPFAIL;
	}
	rq.mech = at.rq.mech;
	rq.user = at.rq.user;
	rq.secret = at.rq.pass;
	rq.challenge = ma->challenge;
	rq.remote = client;
	rq.session = ma->session_path;
	rq.config_fd = ma->config_fd;
	rq.log_stderr = ma->log_stderr;
	ch.in = (at.rq.flags & WIRE_RELAY) ? ma->relay_fd : 0;
	ch.out = (at.rq.flags & WIRE_RELAY) ? ma->relay_fd : 1;
	ch.carry = carry;
	ch.config = ma->config_fd;
	ch.env = he.envp;
	r = checkpassword_chain(ma->cf, &rq, &ch, pid);
	close(carry);
	return r == PASSDB_OK ? VERDICT_OK : r == PASSDB_TEMPFAIL ?
	    VERDICT_TEMPFAIL : VERDICT_FAIL;
}

/*
 * The chain's session runs: tell the pre-login, which ends or relays
 * TLS, and stay until both are done, the last process of the connection.
 */
static int
chain_ok(const struct monitor_args *ma, const char *user, pid_t chain)
{
	int	null, status;

	log_info("auth ok user=%s method=%s remote=%s%s%s checkpassword_exec",
	    user, wire_mech_name(at.rq.mech), client,
	    at.rq.tls[0] != '\0' ? " tls=" : "", tls_word(at.rq.tls));
	wipe();
	if (send_verdict(ma->sock, VERDICT_OK) == -1)
		log_warnx("pre-login process gone at login remote=%s",
		    client);
	/* The client is the session's now, and the relay's. */
	if (ma->relay_fd != -1)
		close(ma->relay_fd);
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	while (waitpid(chain, &status, 0) == -1)
		if (errno != EINTR)
			return EX_OSERR;
	/* A relay ends when the session's end of its socket closes. */
	wait_child(ma->child);
	return WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
}

/*
 * Requests until a good login, the last allowed failure or the deadline.
 * Every limit is enforced here, not trusted to the pre-login process: after
 * the last failure no request is read any more.  A SCRAM exchange is one
 * try: its failure comes with the proof.
 */
int
monitor_run(const struct monitor_args *ma)
{
	char			user[AUTH_USER_MAX + 1];
	enum wire_verdict	v = VERDICT_FAIL;
	long long		arrived;
	ssize_t			n;
	pid_t			chain = -1;
	int			failures = 0, r, type;

	/* The peer, until a request names the client a PROXY header gave. */
	strlcpy(client, ma->remote, sizeof(client));
	for (;;) {
		if ((n = next_request(ma)) <= 0) {
			wipe();
			return n == 0 ? wait_child(ma->child) :
			    stop_child(ma->child);
		}
		if (wire_is_sign(at.msg, n)) {
			r = signer_answer(ma->sock, at.msg, n);
			explicit_bzero(at.msg, sizeof(at.msg));
			if (r != -1)
				continue;
			log_warnx("malformed or excess sign request from "
			    "pre-login process");
			stop_child(ma->child);
			wipe();
			return EX_SOFTWARE;
		}
		arrived = clock_ms();
		th_state = TH_NONE;
		type = wire_request_type(at.msg, n);
		if (type == WIRE_SCRAM_FIRST) {
			r = scram_first(ma, n, user, &v);
			if (r == 0 && v == VERDICT_OK) {
				explicit_bzero(at.msg, sizeof(at.msg));
				continue;
			}
		} else if (type == WIRE_SCRAM_FINAL) {
			log_sanitize(at.sc.first.user, user, sizeof(user));
			r = scram_final(ma, n, user, &v, &arrived);
			if (r == 0 && th_state == TH_COUNTED)
				throttle_verdict(ma, v);
			if (r == 0 && v == VERDICT_OK) {
				explicit_bzero(at.msg, sizeof(at.msg));
				continue;
			}
		} else {
			r = credentials(ma, n, user, &v, &chain, &arrived);
			if (r == 0 && th_state == TH_COUNTED)
				throttle_verdict(ma, v);
		}
		explicit_bzero(at.msg, sizeof(at.msg));
		if (r == -1) {
			log_warnx("malformed request from pre-login process");
			stop_child(ma->child);
			wipe();
			return EX_SOFTWARE;
		}
		if (v == VERDICT_OK && (v = check_delay(ma, user)) == VERDICT_OK)
			return ma->cf->checkpassword_exec ?
			    chain_ok(ma, user, chain) : login_ok(ma, user);
		if (v == VERDICT_TEMPFAIL)
			log_warnx("auth tempfail user=%s remote=%s: passdb %s "
			    "unavailable", user, client, ma->passdb->name);
		else if (v == VERDICT_REFUSED)
			/* Only after a right password: nothing more to try. */
			log_info("auth refused user=%s method=%s remote=%s", user,
			    wire_mech_name(at.rq.mech), client);
		else if (v != VERDICT_DELAY) {	/* delayed: the password was right */
			if (th_state != TH_BLOCKED)
				log_info("auth failed user=%s method=%s "
				    "remote=%s", user,
				    wire_mech_name(at.rq.mech), client);
			if (++failures >= ma->cf->max_auth_failures)
				v = VERDICT_FAIL_LAST;
		}
		wipe();
		answer_at(arrived + ma->cf->auth_fail_delay_ms, arrived,
		    ma->cf->auth_fail_delay_ms);
		if (send_verdict(ma->sock, v) == -1 || v == VERDICT_FAIL_LAST ||
		    v == VERDICT_REFUSED)
			return end_child(ma);
	}
}
