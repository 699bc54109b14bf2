/*
 * The monitor enforces its limits itself: a pre-login process that goes
 * on after the last failure, never sends, or sends garbage gets nowhere.
 * Each case runs the monitor in a child of its own, which forks the
 * "pre-login" played here; the monitor's exit status is what it returns.
 * The monitor signs the TLS handshake once, with the key it holds, and
 * ends a pre-login process that asks for more, or asks wrongly.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/monitor.h"
#include "auth/signer.h"
#include "common/capa.h"
#include "common/wire.h"
#include "common/wiresign.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/ossl.h"
#include "tap.h"

#define ROGUE_NO_VERDICT 3	/* the right password got no answer */
#define ROGUE_GOT_OK	 4	/* ... and was let in: the defect */

static char		 dir[] = "/tmp/pop3d-monitor-XXXXXX";
static struct config	 cf;
static EVP_PKEY		*key;	/* the monitor's TLS key, EC P-256 */

#define ROGUE_SIGNED	 5	/* got a signature that verifies */

enum rogue { ROGUE_PERSIST, ROGUE_SILENT, ROGUE_GARBAGE, ROGUE_SIGN_ONCE,
	ROGUE_SIGN_TWICE, ROGUE_SIGN_OVERSIZED, ROGUE_SIGN_WRONG_ALG,
	ROGUE_SCRAM_CLIENT };

#define ROGUE_CHALLENGED 6	/* client-first got the server-first */

/* The peer is in proxy_from: the monitor may believe a named client. */
static int		 trusted;

/*
 * A SCRAM client-first naming a client, as a pre-login behind a PROXY
 * header sends it: ROGUE_CHALLENGED if the monitor answers it.
 */
static int
scram_client(int sock)
{
	static struct wire_scram_first	f;
	struct wire_answer		a;
	unsigned char			buf[WIRE_REQUEST_MAX];
	struct pollfd			pfd = { sock, POLLIN, 0 };
	long				n;

	f.mech = MECH_SCRAM_SHA256;
	f.cbind = CBIND_NONE;
	strlcpy(f.user, "alice", sizeof(f.user));
	strlcpy(f.cnonce, "rOprNGfwEbeRWgbNEkqO", sizeof(f.cnonce));
	f.client[0] = 4;
	memcpy(f.client + 1, "\xc0\x00\x02\x07", 4);
	f.clientlen = WIRE_CLIENT_LEN;
	if ((n = wire_encode_scram_first(&f, buf, sizeof(buf))) == -1 ||
	    send(sock, buf, n, 0) != n || poll(&pfd, 1, 5000) != 1 ||
	    (n = recv(sock, buf, sizeof(buf), 0)) <= 0 ||
	    wire_decode_answer(buf, n, &a) == -1)
		return 0;
	return a.type == WIRE_SCRAM_CHALLENGE ? ROGUE_CHALLENGED : 0;
}

/* Ask for a signature of a digest of 0x42; ROGUE_SIGNED if it verifies. */
static int
sign_request(int sock, enum wire_sign_alg alg, size_t len)
{
	static struct wire_sign	rq;
	unsigned char		msg[WIRE_SIGN_REQUEST_MAX], sig[WIRE_SIGN_MAX];
	struct pollfd		pfd = { sock, POLLIN, 0 };
	EVP_PKEY_CTX		*ctx;
	long			n;
	int			good;

	rq.alg = alg;
	rq.len = len;
	memset(rq.data, 0x42, len);
	rq.data[len - 1] = 0xbc;
	if ((n = wire_encode_sign(&rq, msg, sizeof(msg))) == -1 ||
	    send(sock, msg, n, 0) != n || poll(&pfd, 1, 5000) != 1 ||
	    (n = recv(sock, msg, sizeof(msg), 0)) <= 0 ||
	    (n = wire_decode_signature(msg, n, sig, sizeof(sig))) <= 0)
		return 1;
	ctx = EVP_PKEY_CTX_new(key, NULL);
	good = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_verify(ctx, sig, n, rq.data, rq.len) == 1;
	EVP_PKEY_CTX_free(ctx);
	return good ? ROGUE_SIGNED : 1;
}

static void __attribute__((noreturn))
rogue_sign(int sock, enum rogue how)
{
	unsigned char	big[WIRE_SIGN_REQUEST_MAX + 2] = { WIRE_VERSION,
			    WIRE_SIGN, SIGN_RSA_PSS, (WIRE_SIGN_MAX + 1) >> 8,
			    (WIRE_SIGN_MAX + 1) & 0xff };
	int		st;

	switch (how) {
	case ROGUE_SIGN_ONCE:
		_exit(sign_request(sock, SIGN_ECDSA, 32));
	case ROGUE_SIGN_TWICE:
		if ((st = sign_request(sock, SIGN_ECDSA, 32)) != ROGUE_SIGNED)
			_exit(st);
		_exit(sign_request(sock, SIGN_ECDSA, 32) == ROGUE_SIGNED ?
		    ROGUE_GOT_OK : 0);
	case ROGUE_SIGN_OVERSIZED:
		big[sizeof(big) - 1] = 0xbc;
		send(sock, big, sizeof(big), 0);
		break;
	case ROGUE_SIGN_WRONG_ALG:
		/* A PSS block the size of an RSA-2048 modulus, to an EC key. */
		_exit(sign_request(sock, SIGN_RSA_PSS, 256) == ROGUE_SIGNED ?
		    ROGUE_GOT_OK : 0);
	default:
		break;
	}
	poll(NULL, 0, 10000);
	_exit(0);
}

static int
request(int sock, const char *pass)
{
	static struct wire_request	rq;
	unsigned char			buf[WIRE_REQUEST_MAX];
	long				n;

	memset(&rq, 0, sizeof(rq));
	rq.mech = MECH_USER;
	strlcpy(rq.user, "alice", sizeof(rq.user));
	strlcpy(rq.pass, pass, sizeof(rq.pass));
	n = wire_encode_request(&rq, buf, sizeof(buf));
	return n > 0 && send(sock, buf, n, 0) == n ? 0 : -1;
}

/* The verdict, 0 when none came within ms. */
static int
verdict(int sock, int ms)
{
	struct pollfd	pfd = { sock, POLLIN, 0 };
	unsigned char	v[2];

	if (poll(&pfd, 1, ms) != 1 || recv(sock, v, 2, 0) != 2)
		return 0;
	return v[1];
}

static void __attribute__((noreturn))
rogue(int sock, enum rogue how)
{
	int i;

	switch (how) {
	case ROGUE_SILENT:
		poll(NULL, 0, 10000);
		_exit(0);
	case ROGUE_GARBAGE:
		send(sock, "\2\1garbage", 9, 0);
		poll(NULL, 0, 10000);
		_exit(0);
	case ROGUE_SIGN_ONCE:
	case ROGUE_SIGN_TWICE:
	case ROGUE_SIGN_OVERSIZED:
	case ROGUE_SIGN_WRONG_ALG:
		rogue_sign(sock, how);
	case ROGUE_SCRAM_CLIENT:
		_exit(scram_client(sock));
	case ROGUE_PERSIST:
		/* max_auth_failures wrong ones, then the right one regardless. */
		for (i = 0; i < cf.max_auth_failures; i++)
			if (request(sock, "wrong") == -1 || verdict(sock, 5000) == 0)
				_exit(1);
		if (request(sock, "right") == -1)
			_exit(ROGUE_NO_VERDICT);	/* closed on us: fine */
		_exit(verdict(sock, 1000) == VERDICT_OK ? ROGUE_GOT_OK :
		    ROGUE_NO_VERDICT);
	}
	_exit(1);
}

/* Run a monitor against the rogue; its exit status, and how long it took. */
static int
run(enum rogue how, int deadline_ms, long long *took, int with_key)
{
	struct monitor_args	ma;
	long long		t0 = clock_ms();
	int			sv[2], status;
	pid_t			m;

	if ((m = fork()) == 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
			_exit(99);
		memset(&ma, 0, sizeof(ma));
		if ((ma.child = fork()) == 0) {
			close(sv[0]);
			rogue(sv[1], how);
		}
		close(sv[1]);
		ma.cf = &cf;
		ma.passdb = &passdb_file;
		ma.config_fd = -2;
		ma.remote = "test";
		ma.sock = sv[0];
		ma.relay_fd = -1;
		ma.session_fd = -1;	/* a session start fails: never exec */
		ma.root = geteuid() == 0;
		ma.proxy_trusted = trusted;
		ma.sasl = SASL_SCRAM_SHA256;
		ma.deadline = clock_ms() + deadline_ms;
		if (with_key && EVP_PKEY_up_ref(key))
			signer_use(key);
		_exit(monitor_run(&ma));
	}
	while (waitpid(m, &status, 0) == -1 && errno == EINTR)
		;
	*took = clock_ms() - t0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
setup(void)
{
	char	path[256];
	FILE	*fp;
	long	id = geteuid() == 0 ? 20001 : (long)getuid();
	long	gid = geteuid() == 0 ? 20001 : (long)getgid();

	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(path, sizeof(path), "%s/users", dir);
	if ((fp = fopen(path, "w")) == NULL)
		exit(1);
	fprintf(fp, "alice:{PLAIN}right:%ld:%ld::%s::\n", id, gid, dir);
	fclose(fp);
	config_defaults(&cf);
	strlcpy(cf.users_file, path, sizeof(cf.users_file));
	snprintf(cf.maildir, sizeof(cf.maildir), "%s/%%u", dir);
	cf.max_auth_failures = 2;
	cf.auth_fail_delay_ms = 0;
	cf.log_stderr = 1;
}

int
main(void)
{
	long long	took;
	int		st;
	char		path[300];

	setup();
	st = run(ROGUE_PERSIST, 5000, &took, 0);
	ok(st == ROGUE_NO_VERDICT, "after the last failure, a right password "
	    "gets no verdict (exit %d)", st);
	ok(took < 4000, "and the monitor ends without waiting for its "
	    "deadline (%lld ms)", took);

	st = run(ROGUE_SILENT, 500, &took, 0);
	ok(st == EX_SOFTWARE, "a silent pre-login is killed at the deadline "
	    "(exit %d)", st);
	ok(took >= 450 && took < 5000, "at the deadline (%lld ms)", took);

	st = run(ROGUE_GARBAGE, 5000, &took, 0);
	ok(st == EX_SOFTWARE, "a malformed request ends the connection "
	    "(exit %d)", st);
	ok(took < 4000, "at once (%lld ms)", took);

	/* Before OpenSSL is mapped: the monitor calls none of it. */
	st = run(ROGUE_SIGN_ONCE, 5000, &took, 0);
	ok(st == EX_SOFTWARE, "a sign request without TLS ends the "
	    "connection (exit %d)", st);
	/* As the monitor does before it makes the TLS context. */
	ossl_load();
	if ((key = EVP_EC_gen("P-256")) == NULL)
		return 1;
	st = run(ROGUE_SIGN_ONCE, 5000, &took, 1);
	ok(st == ROGUE_SIGNED, "a sign request gets a signature that "
	    "verifies (exit %d)", st);
	st = run(ROGUE_SIGN_TWICE, 5000, &took, 1);
	ok(st == EX_SOFTWARE, "a second sign request ends the connection "
	    "(exit %d)", st);
	st = run(ROGUE_SIGN_OVERSIZED, 5000, &took, 1);
	ok(st == EX_SOFTWARE && took < 4000, "an oversized sign request ends "
	    "the connection at once (exit %d, %lld ms)", st, took);
	st = run(ROGUE_SIGN_WRONG_ALG, 5000, &took, 1);
	ok(st == EX_SOFTWARE, "an RSA request to an EC key ends the "
	    "connection (exit %d)", st);
	EVP_PKEY_free(key);

	trusted = 1;
	st = run(ROGUE_SCRAM_CLIENT, 5000, &took, 0);
	ok(st == ROGUE_CHALLENGED, "SCRAM client-first naming a client, from "
	    "a trusted proxy: answered (exit %d)", st);
	trusted = 0;
	st = run(ROGUE_SCRAM_CLIENT, 5000, &took, 0);
	ok(st == EX_SOFTWARE && took < 4000, "the same from a peer not in "
	    "proxy_from ends the connection at once (exit %d, %lld ms)", st,
	    took);

	snprintf(path, sizeof(path), "%s/users", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
