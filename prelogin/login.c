/*
 * AUTHORIZATION state commands (RFC 1939 section 4, RFC 5034 AUTH).
 */
#include <sys/socket.h>

#include <errno.h>
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

/* The client a PROXY header named travels with every request. */
static void
proxy_client(struct login *l)
{
	const struct proxy_info *pi = &l->proxy;

	l->rq.clientlen = 0;
	if (pi->family == 0)
		return;
	memset(l->rq.client, 0, sizeof(l->rq.client));
	l->rq.client[0] = pi->family;
	memcpy(l->rq.client + 1, pi->addr, pi->family == 4 ? 4 : 16);
	l->rq.client[17] = pi->port >> 8;
	l->rq.client[18] = pi->port & 0xff;
	l->rq.clientlen = WIRE_CLIENT_LEN;
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

/*
 * Hand the credentials to the monitor and wait for its verdict.  The
 * octets pipelined behind the command travel along, so that a client that
 * sends PASS and STAT in one packet gets both answered.
 */
static enum cmd_status
ask_monitor(struct login *l, struct cmd_reply *r, enum wire_mech mech)
{
	const unsigned char	*p;
	unsigned char		 v[2];
	long			 len;
	ssize_t			 n;

	l->rq.mech = mech;
	proxy_client(l);
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
	n = send(l->opt->monitor_fd, l->msg, len, 0);
	forget(l);
	if (n != len || (n = recv(l->opt->monitor_fd, v, sizeof(v), 0)) != 2 ||
	    v[0] != WIRE_VERSION)
		return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] Authentication unavailable");
	switch (v[1]) {
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

static int
mechs_body(struct io *io, void *ctx)
{
	/* Same list as CAPA's SASL line: only what would be accepted here. */
	if (plaintext_ok(ctx))
		io_reply(io, "PLAIN");
	return io_reply(io, ".");
}

/* Read the client's SASL response line after "+ ". */
static enum cmd_status
read_response(struct login *l, struct cmd_reply *r, char *line, size_t *len)
{
	if (io_reply(&l->io, "+ ") == -1)
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

static enum cmd_status
auth_auth(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct login	*l = ctx;
	char		 line[SASL_LINE_MAX + 1];
	unsigned char	 msg[SASL_LINE_MAX];
	const char	*resp;
	size_t		 len;
	long		 n;
	enum cmd_status	 st;
	enum sasl_plain_status ps;

	if (argc == 0) {
		r->body = mechs_body;
		return cmd_say(r, CMD_OK, "List of SASL mechanisms follows");
	}
	if (strcasecmp(argv[0], "PLAIN") != 0)
		return cmd_say(r, CMD_ERR, "Unsupported authentication mechanism");
	if (!plaintext_ok(l))
		return refuse_plaintext(l, r);
	if (argc == 2)
		resp = strcmp(argv[1], "=") == 0 ? "" : argv[1];
	else {
		if ((st = read_response(l, r, line, &len)) != CMD_OK)
			return st;
		resp = line;
	}
	n = base64_decode(resp, strlen(resp), msg, sizeof(msg));
	explicit_bzero(line, sizeof(line));
	if (n < 0)
		return cmd_say(r, CMD_BAD, "Invalid base64 data");
	ps = sasl_plain_parse(msg, n, l->rq.user, l->rq.pass);
	explicit_bzero(msg, sizeof(msg));
	if (ps == SASL_PLAIN_OK)
		return ask_monitor(l, r, MECH_PLAIN);
	forget(l);
	if (ps == SASL_PLAIN_AUTHZID)
		return cmd_say(r, CMD_ERR, "[AUTH] Authorization identity refused");
	return cmd_say(r, CMD_BAD, "Malformed PLAIN message");
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
	return capa_write(io, l->cf, flags, &pol);
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
