/*
 * AUTHORIZATION state commands (RFC 1939 section 4, RFC 5034 AUTH).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/wire.h"
#include "common/base64.h"
#include "common/log.h"
#include "common/peer.h"
#include "common/capa.h"
#include "common/cmd.h"
#include "common/io.h"
#include "prelogin/confine.h"
#include "prelogin/login.h"
#include "prelogin/proxy.h"
#include "prelogin/relay.h"
#include "prelogin/sasl.h"
#include "prelogin/signkey.h"
#include "prelogin/tls.h"

struct login {
	struct io		 io;
	const struct config	*cf;
	const struct login_opts	*opt;
	int			 have_user;
	int			 tls_on;	/* the handshake is done */
	int			 secure;	/* passwords may be sent in the clear */
	char			 remote[PEER_MAX];	/* the client, for the logs */
	struct proxy_info	 proxy;		/* who a PROXY header named */
	struct wire_request	 rq;		/* holds the password: wiped */
	unsigned char		 msg[WIRE_REQUEST_MAX];
};

static struct login	 login;	/* large buffers: not on the stack */

static void
forget(struct login *l)
{
	explicit_bzero(&l->rq, sizeof(l->rq));
	explicit_bzero(l->msg, sizeof(l->msg));
	l->have_user = 0;
}

/*
 * The client a PROXY header named travels with every credentials request
 * and every SCRAM client-first: the monitor logs and throttles under it.
 */
static size_t
proxy_client(const struct login *l, unsigned char client[WIRE_CLIENT_LEN])
{
	const struct proxy_info *pi = &l->proxy;

	if (pi->family == 0)
		return 0;
	memset(client, 0, WIRE_CLIENT_LEN);
	client[0] = pi->family;
	memcpy(client + 1, pi->addr, pi->family == 4 ? 4 : 16);
	client[17] = pi->port >> 8;
	client[18] = pi->port & 0xff;
	return WIRE_CLIENT_LEN;
}

/*
 * A trusted load balancer first says who the client is (prelogin/proxy.h).
 * From then on the client's address, not the balancer's, decides whether
 * the link is secured: a client behind a local HAProxy is not local.
 * The balancer's word that the client spoke TLS to it counts as TLS.
 */
static int
read_proxy(struct login *l)
{
	long long	deadline = clock_ms() + l->cf->login_timeout * 1000LL;
	char		err[128];

	if (deadline > l->opt->deadline)
		deadline = l->opt->deadline;
	if (proxy_read(0, deadline, &l->proxy, err, sizeof(err)) == -1) {
		log_warnx("%s remote=%s", err, l->opt->remote);
		return -1;
	}
	if (l->proxy.family == 0)	/* LOCAL or UNKNOWN: the proxy itself */
		return 0;
	proxy_format(&l->proxy, l->remote, sizeof(l->remote));
	l->secure = l->cf->tls_wrapper || l->proxy.tls ||
	    (l->cf->loopback_secure && peer_is_local(l->remote));
	log_info("proxy remote=%s via=%s%s", l->remote, l->opt->remote,
	    l->proxy.tls ? " tls=proxy" : "");
	return 0;
}

/* The reply for a verdict that ends the login command. */
static enum cmd_status
verdict_reply(struct cmd_reply *r, int verdict)
{
	switch (verdict) {
	case VERDICT_OK:
		return CMD_LEAVE;
	case VERDICT_FAIL:
		return cmd_say(r, CMD_ERR, "[AUTH] Authentication failed");
	case VERDICT_FAIL_LAST:
		return cmd_say(r, CMD_CLOSE, "[AUTH] Authentication failed, closing");
	case VERDICT_TEMPFAIL:
		return cmd_say(r, CMD_ERR,
		    "[SYS/TEMP] Authentication temporarily unavailable");
	case VERDICT_REFUSED:
		/* The client gave the right password: it may know this. */
		return cmd_say(r, CMD_CLOSE,
		    "[SYS/PERM] Account unavailable, closing");
	case VERDICT_DELAY:
		return cmd_say(r, CMD_ERR,
		    "[LOGIN-DELAY] Too soon after the last login, try later");
	default:
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Authentication unavailable");
	}
}

/* Send one request of len octets in l->msg and take the answer; 0 or -1. */
static int
exchange(struct login *l, long len, struct wire_answer *a)
{
	unsigned char	buf[WIRE_ANSWER_MAX];
	ssize_t		n;

	if (len == -1)
		return -1;
	n = send(l->opt->monitor_fd, l->msg, len, 0);
	explicit_bzero(l->msg, sizeof(l->msg));
	if (n != len || (n = recv(l->opt->monitor_fd, buf, sizeof(buf), 0)) <= 0)
		return -1;
	return wire_decode_answer(buf, n, a);
}

/*
 * Hand the credentials to the monitor and wait for its verdict.  The
 * octets pipelined behind the command travel along, so that a client that
 * sends PASS and STAT in one packet gets both answered.
 */
static enum cmd_status
ask_monitor(struct login *l, struct cmd_reply *r, enum wire_mech mech)
{
	struct wire_answer	 a;
	const unsigned char	*p;
	long			 len;

	l->rq.mech = mech;
	l->rq.clientlen = proxy_client(l, l->rq.client);
	if (l->tls_on) {
		/* The relay forwards the pipelined octets itself. */
		l->rq.flags = WIRE_RELAY;
		l->rq.carrylen = 0;
		tls_describe(&l->io, l->rq.tls, sizeof(l->rq.tls));
	} else {
		p = io_pending(&l->io, &l->rq.carrylen);
		memcpy(l->rq.carry, p, l->rq.carrylen);
	}
	len = wire_encode_request(&l->rq, l->msg, sizeof(l->msg));
	if (len == -1 || io_flush(&l->io) == -1) {
		forget(l);
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Internal error");
	}
	if (exchange(l, len, &a) == -1) {
		forget(l);
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Authentication unavailable");
	}
	forget(l);
	return verdict_reply(r, a.type);
}

/*
 * Passwords travel in the clear only over TLS, a link the configuration
 * says is secured, or when plaintext is explicitly allowed.
 */
static int
plaintext_ok(const struct login *l)
{
	return l->tls_on || l->secure || l->cf->plaintext_auth;
}

/* The refusal names the way out that this server actually offers. */
static enum cmd_status
refuse_plaintext(const struct login *l, struct cmd_reply *r)
{
	return cmd_say(r, CMD_ERR, "[AUTH] Plaintext authentication disallowed "
	    "on non-secure connection: use %s", l->opt->tls != NULL ?
	    "STLS or port 995" : "TLS (port 995)");
}

static enum cmd_status
auth_user(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct login *l = ctx;

	(void)argc;
	if (!plaintext_ok(l))
		return refuse_plaintext(l, r);
	if (strlcpy(l->rq.user, argv[0], sizeof(l->rq.user)) >=
	    sizeof(l->rq.user)) {
		forget(l);
		return cmd_say(r, CMD_BAD, "User name too long");
	}
	l->have_user = 1;
	return cmd_say(r, CMD_OK, "Send PASS");
}

static enum cmd_status
auth_pass(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct login *l = ctx;

	(void)argc;
	if (!plaintext_ok(l))
		return refuse_plaintext(l, r);
	if (!l->have_user)
		return cmd_say(r, CMD_BAD, "USER first");
	if (strlcpy(l->rq.pass, argv[0], sizeof(l->rq.pass)) >=
	    sizeof(l->rq.pass)) {
		forget(l);
		return cmd_say(r, CMD_ERR, "[AUTH] Authentication failed");
	}
	return ask_monitor(l, r, MECH_USER);
}

/* The mechanisms that work now: CAPA's SASL line and AUTH's list. */
static unsigned
mechs_now(const struct login *l)
{
	unsigned m = l->opt->sasl;

	if (!plaintext_ok(l))
		m &= ~SASL_CLEARTEXT;
	if (!l->tls_on)
		m &= ~SASL_SCRAM_SHA256_PLUS;
	return m;
}

static int
mechs_body(struct io *io, void *ctx)
{
	const char	*name;
	unsigned	 bit, m = mechs_now(ctx);
	size_t		 i;

	for (i = 0; (name = capa_sasl_mech(i, &bit)) != NULL; i++)
		if (m & bit)
			io_reply(io, "%s", name);
	return io_reply(io, ".");
}

/* Send "+ challenge" (base64) and read the client's SASL response line. */
static enum cmd_status
read_response(struct login *l, struct cmd_reply *r, const char *challenge,
    char *line, size_t *len)
{
	if (io_reply(&l->io, "+ %s", challenge) == -1)
		return CMD_CLOSE;
	switch (io_readline(&l->io, line, SASL_LINE_MAX, len)) {
	case IO_LINE:
		/* Counted, or AUTH and "*" would idle for ever. */
		if (strcmp(line, "*") == 0)
			return cmd_say(r, CMD_BAD, "Authentication cancelled");
		return CMD_OK;
	case IO_TOOLONG:
	case IO_BADCHAR:
		return cmd_say(r, CMD_BAD, "Invalid SASL response");
	case IO_TIMEOUT:
		return cmd_say(r, CMD_CLOSE, "Disconnected for inactivity");
	default:
		return cmd_say(r, CMD_CLOSE, "Connection lost");
	}
}

/* The initial response, or the response to an empty challenge, decoded. */
static enum cmd_status
sasl_input(struct login *l, struct cmd_reply *r, const char *initial,
    const char *challenge, unsigned char *msg, size_t *msglen)
{
	char		line[SASL_LINE_MAX + 1];
	const char	*resp;
	size_t		len;
	long		n;
	enum cmd_status	st;

	if (initial != NULL)
		resp = strcmp(initial, "=") == 0 ? "" : initial;
	else {
		if ((st = read_response(l, r, challenge, line, &len)) != CMD_OK)
			return st;
		resp = line;
	}
	n = base64_decode(resp, strlen(resp), msg, SASL_LINE_MAX);
	explicit_bzero(line, sizeof(line));
	if (n < 0)
		return cmd_say(r, CMD_BAD, "Invalid base64 data");
	*msglen = (size_t)n;
	return CMD_OK;
}

static enum cmd_status
mech_plain(struct login *l, struct cmd_reply *r, const char *initial)
{
	unsigned char	msg[SASL_LINE_MAX];
	size_t		n;
	enum cmd_status	st;
	enum sasl_plain_status ps;

	if ((st = sasl_input(l, r, initial, "", msg, &n)) != CMD_OK)
		return st;
	ps = sasl_plain_parse(msg, n, l->rq.user, l->rq.pass);
	explicit_bzero(msg, sizeof(msg));
	if (ps == SASL_PLAIN_OK)
		return ask_monitor(l, r, MECH_PLAIN);
	forget(l);
	if (ps == SASL_PLAIN_AUTHZID)
		return cmd_say(r, CMD_ERR, "[AUTH] Authorization identity refused");
	return cmd_say(r, CMD_BAD, "Malformed PLAIN message");
}

/* One LOGIN answer: text without NUL, 1 to max octets. */
static int
login_field(const unsigned char *msg, size_t n, char *out, size_t max)
{
	if (n == 0 || n > max || memchr(msg, '\0', n) != NULL)
		return -1;
	memcpy(out, msg, n);
	out[n] = '\0';
	return 0;
}

/*
 * LOGIN (draft-murchison-sasl-login): "Username:" and "Password:" as
 * challenges; some clients send the user name as the initial response.
 */
static enum cmd_status
mech_login(struct login *l, struct cmd_reply *r, const char *initial)
{
	unsigned char	msg[SASL_LINE_MAX];
	size_t		n;
	enum cmd_status	st;
	int		bad;

	if ((st = sasl_input(l, r, initial, "VXNlcm5hbWU6", msg, &n)) != CMD_OK)
		return st;
	if (login_field(msg, n, l->rq.user, AUTH_USER_MAX) == -1) {
		forget(l);
		return cmd_say(r, CMD_BAD, "Malformed LOGIN message");
	}
	if ((st = sasl_input(l, r, NULL, "UGFzc3dvcmQ6", msg, &n)) != CMD_OK) {
		forget(l);
		return st;
	}
	bad = login_field(msg, n, l->rq.pass, AUTH_PASS_MAX) == -1;
	explicit_bzero(msg, sizeof(msg));
	if (bad) {
		forget(l);
		return cmd_say(r, CMD_BAD, "Malformed LOGIN message");
	}
	return ask_monitor(l, r, MECH_LOGIN);
}

/* Why a client-first message is refused. */
static enum cmd_status
scram_refusal(struct cmd_reply *r, enum sasl_scram_status st)
{
	if (st == SASL_SCRAM_AUTHZID)
		return cmd_say(r, CMD_ERR, "[AUTH] Authorization identity refused");
	if (st == SASL_SCRAM_CBTYPE)
		return cmd_say(r, CMD_ERR,
		    "[AUTH] Unsupported channel binding type");
	return cmd_say(r, CMD_BAD, "Malformed SCRAM message");
}

/*
 * client-first: parse, check the channel binding flag against what we
 * offer (RFC 5802 section 6), take the binding data from our TLS session
 * for -PLUS, and get the salt and our nonce part from the monitor.
 * CMD_OK with the answer in a, else the reply is made.
 */
static enum cmd_status
scram_start(struct login *l, struct cmd_reply *r, enum wire_mech mech,
    const char *initial, struct wire_scram_first *f,
    struct wire_scram_final *fin, struct wire_answer *a)
{
	unsigned char		msg[SASL_LINE_MAX];
	size_t			n;
	enum cmd_status		st;
	enum sasl_scram_status	ss;
	int			plus, cb;

	if ((st = sasl_input(l, r, initial, "", msg, &n)) != CMD_OK)
		return st;
	if ((ss = sasl_scram_first(msg, n, f)) != SASL_SCRAM_OK)
		return scram_refusal(r, ss);
	f->mech = mech;
	plus = f->cbind == CBIND_EXPORTER || f->cbind == CBIND_ENDPOINT;
	if (plus != (mech == MECH_SCRAM_SHA256_PLUS))
		return scram_refusal(r, SASL_SCRAM_MALFORMED);
	/* 'y': the client could bind, but thinks we cannot: someone lied. */
	if (f->cbind == CBIND_CLIENT &&
	    (mechs_now(l) & SASL_SCRAM_SHA256_PLUS))
		return cmd_say(r, CMD_ERR,
		    "[AUTH] Channel binding downgrade refused");
	if (plus) {
		if ((cb = tls_channel_binding(&l->io, f->cbind, fin->cbind)) < 0)
			return scram_refusal(r, SASL_SCRAM_CBTYPE);
		fin->cbindlen = (size_t)cb;
	}
	f->clientlen = proxy_client(l, f->client);
	if (exchange(l, wire_encode_scram_first(f, l->msg, sizeof(l->msg)),
	    a) == -1)
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Authentication unavailable");
	if (a->type != WIRE_SCRAM_CHALLENGE)
		return verdict_reply(r, a->type == VERDICT_OK ? -1 : a->type);
	return CMD_OK;
}

/*
 * SCRAM (RFC 5802; RFC 5034 for the framing): client-first, server-first,
 * client-final, then the server-final as one more challenge, to which the
 * client answers with an empty line before the +OK.  The monitor checks
 * the proof; this process holds no key.
 */
static enum cmd_status
mech_scram(struct login *l, struct cmd_reply *r, enum wire_mech mech,
    const char *initial)
{
	static struct wire_scram_first	f;
	struct wire_scram_final		fin;
	struct wire_answer		a;
	unsigned char			msg[SASL_LINE_MAX];
	char				text[SASL_LINE_MAX], b64[SASL_LINE_MAX];
	size_t				n;
	enum cmd_status			st;
	enum sasl_scram_status		ss;

	memset(&fin, 0, sizeof(fin));
	if ((st = scram_start(l, r, mech, initial, &f, &fin, &a)) != CMD_OK)
		return st;
	/* server-first-message */
	if (base64_encode(a.salt, a.saltlen, b64, sizeof(b64)) == -1 ||
	    snprintf(text, sizeof(text), "r=%s%s,s=%s,i=%lu", f.cnonce,
	    a.snonce, b64, a.iter) >= (int)sizeof(text) ||
	    base64_encode((unsigned char *)text, strlen(text), b64,
	    sizeof(b64)) == -1)
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Internal error");
	if ((st = sasl_input(l, r, NULL, b64, msg, &n)) != CMD_OK)
		return st;
	if ((ss = sasl_scram_final(msg, n, &fin)) != SASL_SCRAM_OK)
		return scram_refusal(r, ss);
	if (exchange(l, wire_encode_scram_final(&fin, l->msg, sizeof(l->msg)),
	    &a) == -1)
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Authentication unavailable");
	if (a.type != WIRE_SCRAM_SIGNATURE)
		return verdict_reply(r, a.type == VERDICT_OK ? -1 : a.type);
	/* server-final-message: "v=" ServerSignature */
	memcpy(text, "v=", 2);
	if (base64_encode(a.sig, a.siglen, text + 2, sizeof(text) - 2) == -1 ||
	    base64_encode((unsigned char *)text, strlen(text), b64,
	    sizeof(b64)) == -1)
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Internal error");
	if ((st = sasl_input(l, r, NULL, b64, msg, &n)) != CMD_OK)
		return st;
	if (n != 0)
		return cmd_say(r, CMD_BAD, "Malformed SCRAM message");
	strlcpy(l->rq.user, f.user, sizeof(l->rq.user));
	l->rq.pass[0] = '\0';
	return ask_monitor(l, r, mech);
}

static enum cmd_status
auth_auth(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	static const struct {
		unsigned	 bit;
		enum wire_mech	 mech;
	} mechs[] = {
		{ SASL_PLAIN, MECH_PLAIN },
		{ SASL_LOGIN, MECH_LOGIN },
		{ SASL_SCRAM_SHA1, MECH_SCRAM_SHA1 },
		{ SASL_SCRAM_SHA256, MECH_SCRAM_SHA256 },
		{ SASL_SCRAM_SHA256_PLUS, MECH_SCRAM_SHA256_PLUS },
	};
	struct login	*l = ctx;
	const char	*name, *initial = argc == 2 ? argv[1] : NULL;
	unsigned	 bit = 0;
	size_t		 i;

	if (argc == 0) {
		r->body = mechs_body;
		return cmd_say(r, CMD_OK, "List of SASL mechanisms follows");
	}
	for (i = 0; (name = capa_sasl_mech(i, &bit)) != NULL; i++)
		if (strcasecmp(argv[0], name) == 0)
			break;
	if (name == NULL || !(l->opt->sasl & bit))
		return cmd_say(r, CMD_ERR, "Unsupported authentication mechanism");
	if ((bit & SASL_CLEARTEXT) && !plaintext_ok(l))
		return refuse_plaintext(l, r);
	if (!(mechs_now(l) & bit))
		return cmd_say(r, CMD_ERR, "Unsupported authentication mechanism");
	for (i = 0; mechs[i].bit != bit; i++)
		;
	if (bit == SASL_PLAIN)
		return mech_plain(l, r, initial);
	if (bit == SASL_LOGIN)
		return mech_login(l, r, initial);
	return mech_scram(l, r, mechs[i].mech, initial);
}

static enum cmd_status
auth_apop(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct login *l = ctx;

	(void)argc;
	if (l->opt->challenge[0] == '\0')
		return cmd_say(r, CMD_ERR, "APOP not available");
	/* Even a malformed digest goes to the monitor, which counts failures. */
	strlcpy(l->rq.user, argv[0], sizeof(l->rq.user));
	strlcpy(l->rq.pass, argv[1], sizeof(l->rq.pass));
	return ask_monitor(l, r, MECH_APOP);
}

static int
capa_body(struct io *io, void *ctx)
{
	struct login		*l = ctx;
	struct capa_policy	 pol = { l->cf->login_delay, l->cf->expire };
	int			 flags = 0;

	if (plaintext_ok(l))
		flags |= CAPA_LOGIN;
	if (l->opt->tls != NULL && !l->tls_on)
		flags |= CAPA_STLS;
	return capa_write(io, l->cf, flags, mechs_now(l), &pol);
}

/* The handshake, with one log line if it fails; -1: the link is unusable. */
static int
start_tls(struct login *l)
{
	long long	left = l->opt->deadline - clock_ms();
	char		err[256];

	if (left > l->cf->login_timeout * 1000)
		left = l->cf->login_timeout * 1000;
	if (tls_start(&l->io, l->opt->tls, (int)(left > 0 ? left : 0), err,
	    sizeof(err)) == -1) {
		log_warnx("%s remote=%s", err, l->remote);
		return -1;
	}
	l->tls_on = 1;
	return 0;
}

static int
stls_body(struct io *io, void *ctx)
{
	struct login *l = ctx;

	/*
	 * Whatever the client sent after STLS came in plaintext: executing
	 * it inside TLS would let a man in the middle inject commands.
	 */
	io_discard_pending(io);
	forget(l);		/* RFC 2595 4: forget what came before TLS */
	if (io_flush(io) == -1 || start_tls(l) == -1)
		return -1;
	return 0;
}

static enum cmd_status
auth_stls(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct login *l = ctx;

	(void)argc, (void)argv;
	if (l->opt->tls == NULL)
		return cmd_say(r, CMD_ERR, "STLS not available");
	if (l->tls_on)
		return cmd_say(r, CMD_ERR, "TLS already active");
	r->body = stls_body;
	return cmd_say(r, CMD_OK, "Begin TLS negotiation");
}

static enum cmd_status
auth_capa(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	r->body = capa_body;
	return cmd_say(r, CMD_OK, "Capability list follows");
}

static enum cmd_status
auth_quit(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return cmd_say(r, CMD_QUIT, "Bye");
}

static enum cmd_status
auth_not_yet(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return cmd_say(r, CMD_BAD, "Not logged in");
}

static const struct command authorization[] = {
	{ "USER",	1, 1,		auth_user },
	{ "PASS",	1, ARGS_REST,	auth_pass },
	{ "AUTH",	0, 2,		auth_auth },
	{ "APOP",	2, 2,		auth_apop },
	{ "STLS",	0, 0,		auth_stls },
	{ "CAPA",	0, 0,		auth_capa },
	{ "QUIT",	0, 0,		auth_quit },
	{ "STAT",	0, ARGS_REST,	auth_not_yet },
	{ "LIST",	0, ARGS_REST,	auth_not_yet },
	{ "RETR",	0, ARGS_REST,	auth_not_yet },
	{ "DELE",	0, ARGS_REST,	auth_not_yet },
	{ "NOOP",	0, ARGS_REST,	auth_not_yet },
	{ "RSET",	0, ARGS_REST,	auth_not_yet },
	{ "TOP",	0, ARGS_REST,	auth_not_yet },
	{ "UIDL",	0, ARGS_REST,	auth_not_yet },
	{ NULL,		0, 0,		NULL }
};

int
login_run(const struct config *cf, const struct login_opts *opt)
{
	struct cmd_state st;
	enum loop_end	 end;

	char		 err[256];

	login.cf = cf;
	login.opt = opt;
	if (opt->tls != NULL && signkey_attach(opt->tls, opt->monitor_fd, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	login.secure = opt->link_secure;
	strlcpy(login.remote, opt->remote, sizeof(login.remote));
	/* Before anything else, TLS included: the header comes first. */
	if (opt->expect_proxy && read_proxy(&login) == -1)
		return 1;
	if (io_init(&login.io, 0, 1, cf->login_timeout * 1000) == -1)
		log_warn("non-blocking client descriptors");
	io_deadline(&login.io, opt->deadline);
	if (opt->implicit_tls && start_tls(&login) == -1)
		return 1;
	io_reply(&login.io, "+OK%s%s%s%s", cf->greeting[0] != '\0' ? " " : "",
	    cf->greeting, opt->challenge[0] != '\0' ? " " : "", opt->challenge);

	memset(&st, 0, sizeof(st));
	st.io = &login.io;
	st.table = authorization;
	st.ctx = &login;
	st.max_bad = cf->max_bad_commands;
	st.max_commands = LOGIN_COMMANDS_MAX;
	end = cmd_loop(&st);
	forget(&login);
	if (end == LOOP_LEAVE && login.tls_on) {
		/* Logged in over TLS: this process carries the session now. */
		login.io.timeout_ms = cf->idle_timeout * 1000;
		io_deadline(&login.io, 0);
		confine_relay();
		if (relay_run(&login.io, opt->relay_fd,
		    cf->idle_timeout * 1000 + RELAY_MARGIN_MS,
		    cf->send_timeout * 1000 + RELAY_MARGIN_MS) ==
		    RELAY_TIMEOUT)
			log_info("relay end remote=%s reason=timeout",
			    login.remote);
		return 0;
	}
	io_flush(&login.io);
	tls_close(&login.io);
	/* A dropped client is an ordinary end; a failed handshake said why. */
	if (end == LOOP_TIMEOUT || end == LOOP_BAD)
		log_info("disconnect remote=%s reason=%s", login.remote,
		    cmd_end_reason(end));
	return end == LOOP_IOERR ? 1 : 0;
}
