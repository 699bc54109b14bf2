/*
 * pop3load: the load client of pop3d's benchmark (bench/run.py).
 *
 *   pop3load storm   -p PORT -u PREFIX -n USERS -w PASS -N SESSIONS -C CONC
 *   pop3load session -p PORT -u USER -w PASS
 *   pop3load retr    -p PORT -u USER -w PASS [-W WINDOW] [-t] [-s]
 *   pop3load raw     -p PORT
 *   pop3load idle    -p PORT -u PREFIX [-n USERS] -w PASS -K COUNT [-L]
 *   pop3load poll    -p PORT -u USER -w PASS -S SEENFILE [-A] [-E NEW]
 *   pop3load crypt   -w PASS -H HASH -N CALLS
 *
 * storm: SESSIONS sessions of connect, USER, PASS, STAT, QUIT, CONC at a
 *   time (one thread each).  Thread t uses users PREFIX<t + CONC*m> (three
 *   digits), so no two sessions at once share a maildrop.
 * session: one session of USER, PASS, STAT, LIST, UIDL, QUIT, timing each.
 * retr: RETR (or with -t, TOP n 0) of every message, WINDOW commands in
 *   flight (1: one at a time), after a LIST that gives the expected sizes.
 *   With -s the connection speaks implicit TLS (RFC 8314, as on port 995)
 *   and the negotiated protocol and cipher are printed; the certificate
 *   is not verified (the benchmark makes a throw-away one on loopback).
 * raw: read everything the server sends until it closes (a cat(1) behind
 *   the same launcher: the ceiling for retr), scanning lines as retr does.
 * idle: log COUNT sessions in (PREFIX<i>, or PREFIX itself without -n),
 *   send STAT (with -L also LIST and UIDL), print "ready", wait for
 *   standard input to close, then QUIT.
 * poll: one session of a client that leaves mail on the server: USER,
 *   PASS, UIDL, RETR (one at a time) of each message whose unique-id is
 *   not among those in SEENFILE, QUIT; then SEENFILE holds the unique-ids
 *   of this UIDL, one a line (a missing file is an empty list).  -A
 *   retrieves nothing and takes every message as seen (a client set up on
 *   an old maildrop); -E NEW fails unless exactly NEW were new.  Each RETR
 *   whose "+OK" gives "N octets" is checked against N.
 * crypt: CALLS crypt(3) calls of PASS against HASH, the bare hash cost.
 *
 * Every mode prints key=value lines and exits 0 only when every reply was
 * right: a status line starting "+OK", every line of a multi-line reply
 * ending in CRLF, the reply ending in CRLF.CRLF, and the counts agreeing
 * (STAT's count and size with LIST, UIDL's lines with STAT, each RETR with
 * LIST's size).  Every read and write has a timeout; the server is always
 * on 127.0.0.1.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BIG_BUF		(1024 * 1024)	/* retr, raw, session */
#define SMALL_BUF	(16 * 1024)	/* storm and idle connections */
#define IO_TIMEOUT_S	120		/* any single read or write */
#define IDLE_MAX_S	600		/* idle: longest wait for stdin to close */
#define CMD_MAX		512
#define TLS_READ	(256 * 1024)	/* one SSL_read at most; records are 16 KB */
#define UID_MAX		70		/* RFC 1939 section 7: a unique-id's length */
#define SEEN_MAX	(64 * 1024 * 1024)	/* poll: the largest SEENFILE */

struct conn {
	int		 fd;
	SSL		*ssl;		/* NULL: plaintext */
	char		*buf;
	size_t		 size;
	size_t		 r, w;		/* unread bytes: buf[r..w) */
	uint64_t	 wire;		/* bytes received */
	char		 err[300];
};

struct mstat {
	uint64_t	 lines;
	uint64_t	 octets;	/* un-stuffed, CRLF counted */
	uint64_t	 bad;		/* lines not ending in CRLF */
};

typedef int (*line_fn)(void *, const char *, size_t);

static const char	*opt_host = "127.0.0.1";
static int		 opt_port;
static SSL_CTX		*opt_tls;	/* -s */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof(c->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
conn_open(struct conn *c, size_t bufsize)
{
	struct sockaddr_in	sin;
	struct timeval		tv = { IO_TIMEOUT_S, 0 };
	int			one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if ((c->buf = malloc(bufsize)) == NULL)
		return fail(c, "malloc");
	c->size = bufsize;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(opt_port);
	if (inet_pton(AF_INET, opt_host, &sin.sin_addr) != 1)
		return fail(c, "bad address %s", opt_host);
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return fail(c, "socket: %s", strerror(errno));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Pipelined commands go out at once, not held back by Nagle. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return fail(c, "connect: %s", strerror(errno));
	if (opt_tls == NULL)
		return 0;
	if ((c->ssl = SSL_new(opt_tls)) == NULL || !SSL_set_fd(c->ssl, c->fd))
		return fail(c, "SSL_new");
	if (SSL_connect(c->ssl) != 1)
		return fail(c, "TLS handshake: %s",
		    ERR_reason_error_string(ERR_get_error()));
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

/* conn_fill's read over TLS: the timeouts are the socket's. */
static int
tls_fill(struct conn *c)
{
	size_t	want = c->size - c->w < TLS_READ ? c->size - c->w : TLS_READ;
	int	n;

	if ((n = SSL_read(c->ssl, c->buf + c->w, (int)want)) <= 0) {
		if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN)
			return fail(c, "connection closed by the server");
		return fail(c, "SSL_read: %s (or no reply in %d s)",
		    ERR_reason_error_string(ERR_get_error()), IO_TIMEOUT_S);
	}
	c->w += n;
	c->wire += n;
	return 0;
}

/* Read more: keeps buf[r..w), moving it to the front when needed. */
static int
conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->r == c->w)
		c->r = c->w = 0;
	else if (c->w == c->size && c->r > 0) {
		memmove(c->buf, c->buf + c->r, c->w - c->r);
		c->w -= c->r;
		c->r = 0;
	}
	if (c->w == c->size)
		return fail(c, "line longer than %zu bytes", c->size);
	if (c->ssl != NULL)
		return tls_fill(c);
	for (;;) {
		n = recv(c->fd, c->buf + c->w, c->size - c->w, 0);
		if (n > 0)
			break;
		if (n == 0)
			return fail(c, "connection closed by the server");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return fail(c, "no reply in %d s", IO_TIMEOUT_S);
		return fail(c, "recv: %s", strerror(errno));
	}
	c->w += n;
	c->wire += n;
	return 0;
}

static int
conn_write(struct conn *c, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0 && c->ssl != NULL) {
		if ((n = SSL_write(c->ssl, p, (int)len)) <= 0)
			return fail(c, "SSL_write: %s",
			    ERR_reason_error_string(ERR_get_error()));
		p += n;
		len -= n;
	}
	while (len > 0) {
		if ((n = send(c->fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return fail(c, "send: %s", strerror(errno));
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int
conn_cmd(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
conn_cmd(struct conn *c, const char *fmt, ...)
{
	char	line[CMD_MAX];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return fail(c, "command too long");
	memcpy(line + n, "\r\n", 2);
	return conn_write(c, line, n + 2);
}

/* One CRLF-terminated line; *p and *len (without CRLF) stay valid until
 * the next read. */
static int
conn_line(struct conn *c, char **p, size_t *len)
{
	char *s, *nl;

	for (;;) {
		s = c->buf + c->r;
		if ((nl = memchr(s, '\n', c->w - c->r)) != NULL)
			break;
		if (conn_fill(c) == -1)
			return -1;
	}
	c->r = nl + 1 - c->buf;
	if (nl == s || nl[-1] != '\r')
		return fail(c, "reply line without CRLF");
	*p = s;
	*len = nl - 1 - s;
	return 0;
}

/* A status line that must be "+OK"; *p gets the rest of it. */
static int
conn_ok(struct conn *c, const char *what, char *rest, size_t restlen)
{
	char	*p = NULL;
	size_t	 len = 0;

	if (conn_line(c, &p, &len) == -1)
		return -1;
	if (len < 3 || memcmp(p, "+OK", 3) != 0)
		return fail(c, "%s: %.*s", what, (int)(len > 200 ? 200 : len), p);
	if (rest != NULL) {
		len -= 3;
		if (len >= restlen)
			len = restlen - 1;
		memcpy(rest, p + 3, len);
		rest[len] = '\0';
	}
	return 0;
}

/*
 * The body of a multi-line reply up to the line ".": counts lines and
 * un-stuffed octets, and hands each line to fn when given.
 */
static int
conn_multi(struct conn *c, struct mstat *ms, line_fn fn, void *arg)
{
	char	*s, *nl;
	size_t	 len;

	memset(ms, 0, sizeof(*ms));
	for (;;) {
		s = c->buf + c->r;
		if ((nl = memchr(s, '\n', c->w - c->r)) == NULL) {
			if (conn_fill(c) == -1)
				return -1;
			continue;
		}
		c->r = nl + 1 - c->buf;
		len = nl - s;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		else
			ms->bad++;
		if (len == 1 && s[0] == '.')
			return ms->bad == 0 ? 0 :
			    fail(c, "%" PRIu64 " lines without CRLF", ms->bad);
		if (len > 0 && s[0] == '.') {
			s++;
			len--;
		}
		ms->lines++;
		ms->octets += len + 2;
		if (fn != NULL && fn(arg, s, len) == -1)
			return fail(c, "malformed line: %.*s",
			    (int)(len > 100 ? 100 : len), s);
	}
}

static int
login(struct conn *c, const char *user, const char *pass)
{
	if (conn_ok(c, "greeting", NULL, 0) == -1 ||
	    conn_cmd(c, "USER %s", user) == -1 ||
	    conn_ok(c, "USER", NULL, 0) == -1 ||
	    conn_cmd(c, "PASS %s", pass) == -1 ||
	    conn_ok(c, "PASS", NULL, 0) == -1)
		return -1;
	return 0;
}

static int
stat_reply(struct conn *c, uint64_t *count, uint64_t *octets)
{
	char	rest[128];

	if (conn_cmd(c, "STAT") == -1 || conn_ok(c, "STAT", rest, sizeof(rest)) == -1)
		return -1;
	if (sscanf(rest, " %" SCNu64 " %" SCNu64, count, octets) != 2)
		return fail(c, "STAT: +OK%s", rest);
	return 0;
}

static int
quit(struct conn *c)
{
	if (conn_cmd(c, "QUIT") == -1 || conn_ok(c, "QUIT", NULL, 0) == -1)
		return -1;
	return 0;
}

static void
user_name(char *out, size_t len, const char *prefix, int nusers, int i)
{
	if (nusers > 0)
		snprintf(out, len, "%s%03d", prefix, i);
	else
		snprintf(out, len, "%s", prefix);
}

/* LIST lines: "n size", numbered from 1 in order. */
struct listing {
	uint64_t	*sizes;		/* sizes[1..count] */
	uint64_t	 count;
	uint64_t	 seen;
	uint64_t	 total;
};

static int
list_line(void *arg, const char *s, size_t len)
{
	struct listing	*l = arg;
	char		 tmp[64];
	uint64_t	 n, size;

	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (sscanf(tmp, "%" SCNu64 " %" SCNu64, &n, &size) != 2 ||
	    n != l->seen + 1 || n > l->count)
		return -1;
	l->seen = n;
	l->total += size;
	if (l->sizes != NULL)
		l->sizes[n] = size;
	return 0;
}

/* UIDL lines: "n uid", numbered from 1 in order, uid 1..UID_MAX characters. */
static int
uidl_line(void *arg, const char *s, size_t len)
{
	struct listing	*l = arg;
	const char	*sp = memchr(s, ' ', len);
	uint64_t	 n = 0;
	const char	*p;

	if (sp == NULL || sp == s || len - (sp - s) - 1 < 1 ||
	    len - (sp - s) - 1 > UID_MAX)
		return -1;
	for (p = s; p < sp; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (n != l->seen + 1 || n > l->count)
		return -1;
	l->seen = n;
	return 0;
}

static int
list_all(struct conn *c, struct listing *l, uint64_t count, uint64_t octets,
    int keep)
{
	struct mstat ms;

	memset(l, 0, sizeof(*l));
	l->count = count;
	if (keep && (l->sizes = calloc(count + 1, sizeof(*l->sizes))) == NULL)
		return fail(c, "calloc");
	if (conn_cmd(c, "LIST") == -1 || conn_ok(c, "LIST", NULL, 0) == -1 ||
	    conn_multi(c, &ms, list_line, l) == -1)
		return -1;
	if (l->seen != count || l->total != octets)
		return fail(c, "LIST: %" PRIu64 " messages, %" PRIu64 " octets;"
		    " STAT said %" PRIu64 ", %" PRIu64, l->seen, l->total,
		    count, octets);
	return 0;
}

/* ---- storm ---- */

struct storm {
	const char	*prefix;
	const char	*pass;
	int		 nusers;
	int		 sessions;
	int		 conc;
	double		*lat;		/* ms per session, -1 when it failed */
	atomic_int	 errors;
	pthread_mutex_t	 lock;
	char		 first_err[512];
};

struct worker {
	struct storm	*st;
	int		 id;
	pthread_t	 tid;
};

static int
storm_session(struct storm *st, const char *user, struct conn *c)
{
	uint64_t count, octets;
	int rc;

	rc = conn_open(c, SMALL_BUF);
	if (rc == 0)
		rc = login(c, user, st->pass);
	if (rc == 0)
		rc = stat_reply(c, &count, &octets);
	if (rc == 0)
		rc = quit(c);
	return rc;
}

static void *
storm_worker(void *arg)
{
	struct worker	*wk = arg;
	struct storm	*st = wk->st;
	struct conn	 c;
	char		 user[128];
	int		 i, j, per = st->nusers / st->conc;
	double		 t0;

	for (i = wk->id, j = 0; i < st->sessions; i += st->conc, j++) {
		user_name(user, sizeof(user), st->prefix, 1,
		    wk->id + st->conc * (j % per));
		t0 = now();
		if (storm_session(st, user, &c) == 0)
			st->lat[i] = (now() - t0) * 1e3;
		else {
			st->lat[i] = -1;
			if (atomic_fetch_add(&st->errors, 1) == 0) {
				pthread_mutex_lock(&st->lock);
				snprintf(st->first_err, sizeof(st->first_err),
				    "%s: %s", user, c.err);
				pthread_mutex_unlock(&st->lock);
			}
		}
		conn_close(&c);
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
percentile(const double *v, int n, double p)
{
	int i;

	if (n == 0)
		return 0;
	i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static int
mode_storm(const char *prefix, int nusers, const char *pass, int sessions,
    int conc)
{
	struct storm	 st;
	struct worker	*wk;
	double		 t0, elapsed, *ok;
	int		 i, n = 0;

	if (conc < 1 || sessions < 1 || nusers < conc) {
		fprintf(stderr, "storm: need 1 <= CONC <= USERS and SESSIONS >= 1\n");
		return 2;
	}
	memset(&st, 0, sizeof(st));
	st.prefix = prefix;
	st.pass = pass;
	st.nusers = nusers;
	st.sessions = sessions;
	st.conc = conc;
	pthread_mutex_init(&st.lock, NULL);
	st.lat = calloc(sessions, sizeof(double));
	ok = calloc(sessions, sizeof(double));
	wk = calloc(conc, sizeof(*wk));
	if (st.lat == NULL || ok == NULL || wk == NULL) {
		perror("calloc");
		return 1;
	}
	t0 = now();
	for (i = 0; i < conc; i++) {
		wk[i].st = &st;
		wk[i].id = i;
		if (pthread_create(&wk[i].tid, NULL, storm_worker, &wk[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	for (i = 0; i < conc; i++)
		pthread_join(wk[i].tid, NULL);
	elapsed = now() - t0;
	for (i = 0; i < sessions; i++)
		if (st.lat[i] >= 0)
			ok[n++] = st.lat[i];
	qsort(ok, n, sizeof(double), cmp_double);
	printf("sessions=%d\nok=%d\nerrors=%d\nelapsed_s=%.4f\n"
	    "sessions_per_s=%.2f\np50_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\n",
	    sessions, n, st.errors, elapsed, n / elapsed,
	    percentile(ok, n, 0.50), percentile(ok, n, 0.99),
	    n ? ok[n - 1] : 0.0);
	if (st.errors)
		printf("first_error=%s\n", st.first_err);
	return st.errors ? 1 : 0;
}

/* ---- session ---- */

static int
mode_session(const char *user, const char *pass)
{
	struct conn	c;
	struct listing	l;
	struct mstat	ms;
	uint64_t	count = 0, octets = 0;
	double		t0, t1, t_greet = 0, t_pass = 0, t_stat = 0, t_list = 0,
			t_uidl = 0, t_quit = 0;
	int		rc = -1;

	t0 = now();
	if (conn_open(&c, BIG_BUF) == -1 || conn_ok(&c, "greeting", NULL, 0) == -1)
		goto out;
	t_greet = now() - t0;
	if (conn_cmd(&c, "USER %s", user) == -1 || conn_ok(&c, "USER", NULL, 0) == -1)
		goto out;
	t1 = now();
	if (conn_cmd(&c, "PASS %s", pass) == -1 || conn_ok(&c, "PASS", NULL, 0) == -1)
		goto out;
	t_pass = now() - t1;
	t1 = now();
	if (stat_reply(&c, &count, &octets) == -1)
		goto out;
	t_stat = now() - t1;
	t1 = now();
	if (list_all(&c, &l, count, octets, 0) == -1)
		goto out;
	t_list = now() - t1;
	t1 = now();
	memset(&l, 0, sizeof(l));
	l.count = count;
	if (conn_cmd(&c, "UIDL") == -1 || conn_ok(&c, "UIDL", NULL, 0) == -1 ||
	    conn_multi(&c, &ms, uidl_line, &l) == -1)
		goto out;
	if (l.seen != count) {
		fail(&c, "UIDL: %" PRIu64 " lines, STAT said %" PRIu64, l.seen, count);
		goto out;
	}
	t_uidl = now() - t1;
	t1 = now();
	if (quit(&c) == -1)
		goto out;
	t_quit = now() - t1;
	rc = 0;
out:
	printf("messages=%" PRIu64 "\noctets=%" PRIu64 "\n"
	    "greeting_ms=%.3f\npass_ms=%.3f\nstat_ms=%.3f\nlist_ms=%.3f\n"
	    "uidl_ms=%.3f\nquit_ms=%.3f\ntotal_ms=%.3f\n",
	    count, octets, t_greet * 1e3, t_pass * 1e3, t_stat * 1e3,
	    t_list * 1e3, t_uidl * 1e3, t_quit * 1e3, (now() - t0) * 1e3);
	if (rc == -1)
		printf("error=%s\n", c.err);
	conn_close(&c);
	return rc == 0 ? 0 : 1;
}

/* ---- retr and top ---- */

static int
mode_retr(const char *user, const char *pass, int window, int top)
{
	struct conn	 c;
	struct listing	 l;
	struct mstat	 ms;
	char		 cmds[64 * 32];
	size_t		 clen;
	uint64_t	 count = 0, octets = 0, sent, got, body = 0, wire0;
	uint64_t	 mismatch = 0, lines = 0;
	double		 t0 = 0, elapsed = 0;
	int		 rc = -1, n;

	if (window < 1 || window > 64) {
		fprintf(stderr, "retr: WINDOW is 1 to 64\n");
		return 2;
	}
	memset(&l, 0, sizeof(l));
	if (conn_open(&c, BIG_BUF) == -1 || login(&c, user, pass) == -1 ||
	    stat_reply(&c, &count, &octets) == -1 ||
	    list_all(&c, &l, count, octets, 1) == -1)
		goto out;
	wire0 = c.wire;
	t0 = now();
	for (sent = got = 1; got <= count; got++) {
		clen = 0;
		while (sent <= count && sent - got < (uint64_t)window) {
			n = top ? snprintf(cmds + clen, sizeof(cmds) - clen,
			    "TOP %" PRIu64 " 0\r\n", sent) :
			    snprintf(cmds + clen, sizeof(cmds) - clen,
			    "RETR %" PRIu64 "\r\n", sent);
			clen += n;
			sent++;
		}
		if (clen > 0 && conn_write(&c, cmds, clen) == -1)
			goto out;
		if (conn_ok(&c, top ? "TOP" : "RETR", NULL, 0) == -1 ||
		    conn_multi(&c, &ms, NULL, NULL) == -1)
			goto out;
		body += ms.octets;
		lines += ms.lines;
		if (!top && ms.octets != l.sizes[got])
			mismatch++;
	}
	elapsed = now() - t0;
	wire0 = c.wire - wire0;
	if (quit(&c) == -1)
		goto out;
	rc = 0;
	printf("messages=%" PRIu64 "\nwire_bytes=%" PRIu64 "\nbody_octets=%"
	    PRIu64 "\nlines=%" PRIu64 "\nelapsed_s=%.4f\nmb_per_s=%.2f\n"
	    "size_mismatch=%" PRIu64 "\n", count, wire0, body, lines, elapsed,
	    elapsed > 0 ? wire0 / elapsed / 1e6 : 0.0, mismatch);
	if (c.ssl != NULL)
		printf("tls=%s %s\n", SSL_get_version(c.ssl),
		    SSL_get_cipher_name(c.ssl));
	if (mismatch) {
		fail(&c, "%" PRIu64 " RETR replies differ from LIST's size",
		    mismatch);
		rc = -1;
	}
out:
	if (rc == -1)
		printf("error=%s\n", c.err);
	free(l.sizes);
	conn_close(&c);
	return rc == 0 ? 0 : 1;
}

/* ---- raw: the ceiling ---- */

static int
mode_raw(void)
{
	struct conn	c;
	uint64_t	lines = 0;
	double		t0, elapsed;
	char		*s, *nl;
	ssize_t		n;

	if (conn_open(&c, BIG_BUF) == -1) {
		printf("error=%s\n", c.err);
		return 1;
	}
	t0 = now();
	/* The same line scan as a multi-line reply, until end of file. */
	for (;;) {
		s = c.buf + c.r;
		if ((nl = memchr(s, '\n', c.w - c.r)) != NULL) {
			c.r = nl + 1 - c.buf;
			lines++;
			continue;
		}
		if (c.r == c.w)
			c.r = c.w = 0;
		else if (c.r > 0) {
			memmove(c.buf, c.buf + c.r, c.w - c.r);
			c.w -= c.r;
			c.r = 0;
		}
		if (c.w == c.size)
			c.r = c.w = 0;		/* a very long line: drop it */
		n = recv(c.fd, c.buf + c.w, c.size - c.w, 0);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			printf("error=recv: %s\n", strerror(errno));
			conn_close(&c);
			return 1;
		}
		c.w += n;
		c.wire += n;
	}
	elapsed = now() - t0;
	printf("wire_bytes=%" PRIu64 "\nlines=%" PRIu64 "\nelapsed_s=%.4f\n"
	    "mb_per_s=%.2f\n", c.wire, lines, elapsed,
	    elapsed > 0 ? c.wire / elapsed / 1e6 : 0.0);
	conn_close(&c);
	return 0;
}

/* ---- idle ---- */

/* LIST and UIDL after STAT, checked against it, the bodies dropped. */
static int
list_uidl(struct conn *c, uint64_t count, uint64_t octets)
{
	struct listing	l;
	struct mstat	ms;

	if (list_all(c, &l, count, octets, 0) == -1)
		return -1;
	memset(&l, 0, sizeof(l));
	l.count = count;
	if (conn_cmd(c, "UIDL") == -1 || conn_ok(c, "UIDL", NULL, 0) == -1 ||
	    conn_multi(c, &ms, uidl_line, &l) == -1)
		return -1;
	if (l.seen != count)
		return fail(c, "UIDL: %" PRIu64 " lines, STAT said %" PRIu64,
		    l.seen, count);
	return 0;
}

static int
mode_idle(const char *prefix, int nusers, const char *pass, int k, int lists)
{
	struct conn	*cs;
	struct pollfd	 pfd = { 0, POLLIN, 0 };
	char		 user[128], junk[256];
	uint64_t	 count, octets;
	double		 deadline;
	int		 i, rc = 0;

	if (k < 1 || (nusers > 0 && k > nusers)) {
		fprintf(stderr, "idle: need 1 <= COUNT <= USERS\n");
		return 2;
	}
	if ((cs = calloc(k, sizeof(*cs))) == NULL) {
		perror("calloc");
		return 1;
	}
	for (i = 0; i < k; i++) {
		user_name(user, sizeof(user), prefix, nusers, i);
		if (conn_open(&cs[i], SMALL_BUF) == -1 ||
		    login(&cs[i], user, pass) == -1 ||
		    stat_reply(&cs[i], &count, &octets) == -1 ||
		    (lists && list_uidl(&cs[i], count, octets) == -1)) {
			printf("error=%s: %s\n", user, cs[i].err);
			for (; i >= 0; i--)
				conn_close(&cs[i]);
			free(cs);
			return 1;
		}
	}
	printf("ready=%d\n", k);
	fflush(stdout);
	deadline = now() + IDLE_MAX_S;
	while (now() < deadline) {
		if (poll(&pfd, 1, 1000) == 1 && read(0, junk, sizeof(junk)) <= 0)
			break;
	}
	for (i = 0; i < k; i++) {
		if (quit(&cs[i]) == -1 && rc == 0) {
			printf("error=%s\n", cs[i].err);
			rc = 1;
		}
		conn_close(&cs[i]);
	}
	free(cs);
	printf("closed=%d\n", k);
	return rc;
}

/* ---- poll: a leave-on-server client ---- */

/* Unique-ids, one string each in one growing buffer. */
struct uids {
	char		*buf;
	size_t		 len, cap;
	size_t		*off;		/* off[i]: start of string i in buf */
	size_t		 n, ncap;
};

static int
uids_add(struct uids *u, const char *s, size_t len)
{
	void *p;

	if (u->len + len + 1 > u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 1 << 20;

		while (cap < u->len + len + 1)
			cap *= 2;
		if ((p = realloc(u->buf, cap)) == NULL)
			return -1;
		u->buf = p;
		u->cap = cap;
	}
	if (u->n == u->ncap) {
		size_t ncap = u->ncap ? u->ncap * 2 : 4096;

		if ((p = reallocarray(u->off, ncap, sizeof(*u->off))) == NULL)
			return -1;
		u->off = p;
		u->ncap = ncap;
	}
	u->off[u->n++] = u->len;
	memcpy(u->buf + u->len, s, len);
	u->buf[u->len + len] = '\0';
	u->len += len + 1;
	return 0;
}

static void
uids_free(struct uids *u)
{
	free(u->buf);
	free(u->off);
	memset(u, 0, sizeof(*u));
}

static const char	*sort_base;	/* uids_sort's buffer for cmp_uid */

static int
cmp_uid(const void *a, const void *b)
{
	return strcmp(sort_base + *(const size_t *)a,
	    sort_base + *(const size_t *)b);
}

/* The seen list: SEENFILE's lines, sorted for bsearch. */
static int
seen_load(const char *path, struct uids *u, char *err, size_t errlen)
{
	struct stat	 st;
	char		*data, *p, *nl;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	memset(u, 0, sizeof(*u));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_size > SEEN_MAX ||
	    (data = malloc(st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%.200s: unreadable or too large", path);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, data + got, st.st_size - got)) > 0)
		got += n;
	close(fd);
	data[got] = '\0';
	for (p = data; *p != '\0'; p = *nl == '\0' ? nl : nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (nl > p && uids_add(u, p, nl - p) == -1) {
			snprintf(err, errlen, "out of memory");
			free(data);
			return -1;
		}
	}
	free(data);
	sort_base = u->buf;
	qsort(u->off, u->n, sizeof(*u->off), cmp_uid);
	return 0;
}

static int
seen_has(const struct uids *seen, const char *uid)
{
	size_t lo = 0, hi = seen->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(uid, seen->buf + seen->off[mid])) == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* The new list of seen unique-ids, written whole and renamed over. */
static int
seen_save(const char *path, const struct uids *now, char *err, size_t errlen)
{
	char	 tmp[4096];
	FILE	*f;
	size_t	 i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		snprintf(err, errlen, "%.200s: %s", tmp, strerror(errno));
		return -1;
	}
	for (i = 0; i < now->n; i++)
		fprintf(f, "%s\n", now->buf + now->off[i]);
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct pollstate {
	struct listing	 l;		/* numbering of the UIDL lines */
	const struct uids *seen;
	struct uids	 now;		/* this UIDL's unique-ids */
	uint64_t	*fresh;		/* message numbers not seen before */
	size_t		 nfresh, freshcap;
	int		 all_seen;	/* -A */
};

static int
poll_uidl_line(void *arg, const char *s, size_t len)
{
	struct pollstate	*ps = arg;
	const char		*uid;
	void			*p;

	ps->l.count = ps->l.seen + 1;	/* no STAT: any count goes */
	if (uidl_line(&ps->l, s, len) == -1)
		return -1;
	uid = (const char *)memchr(s, ' ', len) + 1;
	if (uids_add(&ps->now, uid, len - (uid - s)) == -1)
		return -1;
	if (ps->all_seen ||
	    seen_has(ps->seen, ps->now.buf + ps->now.off[ps->now.n - 1]))
		return 0;
	if (ps->nfresh == ps->freshcap) {
		ps->freshcap = ps->freshcap ? ps->freshcap * 2 : 64;
		if ((p = reallocarray(ps->fresh, ps->freshcap,
		    sizeof(*ps->fresh))) == NULL)
			return -1;
		ps->fresh = p;
	}
	ps->fresh[ps->nfresh++] = ps->l.seen;
	return 0;
}

/* RETR n, checked against the size its "+OK" gives, if it gives one. */
static int
retr_one(struct conn *c, uint64_t n, uint64_t *octets)
{
	struct mstat	ms;
	char		rest[128];
	uint64_t	said;
	int		told;

	if (conn_cmd(c, "RETR %" PRIu64, n) == -1 ||
	    conn_ok(c, "RETR", rest, sizeof(rest)) == -1)
		return -1;
	told = sscanf(rest, " %" SCNu64 " octets", &said) == 1;
	if (conn_multi(c, &ms, NULL, NULL) == -1)
		return -1;
	if (told && said != ms.octets)
		return fail(c, "RETR %" PRIu64 ": %" PRIu64 " octets, +OK said %"
		    PRIu64, n, ms.octets, said);
	*octets += ms.octets;
	return 0;
}

static int
mode_poll(const char *user, const char *pass, const char *seenfile,
    int all_seen, int expect)
{
	struct conn		c;
	struct pollstate	ps;
	struct uids		seen;
	struct mstat		ms;
	uint64_t		octets = 0;
	double			t0, t1, t_pass = 0, t_uidl = 0, t_retr = 0,
				t_quit = 0, total = 0;
	size_t			i;
	int			rc = -1;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	memset(&ps, 0, sizeof(ps));
	if (seen_load(seenfile, &seen, c.err, sizeof(c.err)) == -1)
		goto out;
	ps.seen = &seen;
	ps.all_seen = all_seen;
	t0 = now();
	if (conn_open(&c, BIG_BUF) == -1 || conn_ok(&c, "greeting", NULL, 0) == -1 ||
	    conn_cmd(&c, "USER %s", user) == -1 || conn_ok(&c, "USER", NULL, 0) == -1)
		goto out;
	t1 = now();
	if (conn_cmd(&c, "PASS %s", pass) == -1 || conn_ok(&c, "PASS", NULL, 0) == -1)
		goto out;
	t_pass = now() - t1;
	t1 = now();
	if (conn_cmd(&c, "UIDL") == -1 || conn_ok(&c, "UIDL", NULL, 0) == -1 ||
	    conn_multi(&c, &ms, poll_uidl_line, &ps) == -1)
		goto out;
	t_uidl = now() - t1;
	t1 = now();
	for (i = 0; i < ps.nfresh; i++)
		if (retr_one(&c, ps.fresh[i], &octets) == -1)
			goto out;
	t_retr = now() - t1;
	t1 = now();
	if (quit(&c) == -1)
		goto out;
	t_quit = now() - t1;
	total = now() - t0;
	if (expect >= 0 && ps.nfresh != (size_t)expect) {
		fail(&c, "%zu new messages, not %d", ps.nfresh, expect);
		goto out;
	}
	if (seen_save(seenfile, &ps.now, c.err, sizeof(c.err)) == -1)
		goto out;
	rc = 0;
out:
	printf("messages=%" PRIu64 "\nnew=%zu\nretr_octets=%" PRIu64 "\n"
	    "pass_ms=%.3f\nuidl_ms=%.3f\nretr_ms=%.3f\nquit_ms=%.3f\n"
	    "total_ms=%.3f\n", ps.l.seen, ps.nfresh, octets, t_pass * 1e3,
	    t_uidl * 1e3, t_retr * 1e3, t_quit * 1e3, total * 1e3);
	if (rc == -1)
		printf("error=%s\n", c.err);
	conn_close(&c);
	uids_free(&seen);
	uids_free(&ps.now);
	free(ps.fresh);
	return rc == 0 ? 0 : 1;
}

/* ---- crypt ---- */

static int
mode_crypt(const char *pass, const char *hash, int calls)
{
	struct crypt_data	*cd;
	const char		*out;
	double			 t0, elapsed;
	int			 i;

	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		perror("calloc");
		return 1;
	}
	t0 = now();
	for (i = 0; i < calls; i++) {
		out = crypt_r(pass, hash, cd);
		if (out == NULL || strcmp(out, hash) != 0) {
			printf("error=crypt does not reproduce the hash\n");
			free(cd);
			return 1;
		}
	}
	elapsed = now() - t0;
	printf("calls=%d\nelapsed_s=%.4f\nms_per_call=%.4f\n", calls, elapsed,
	    elapsed * 1e3 / calls);
	free(cd);
	return 0;
}

/* A client context for -s: TLS 1.2 or later, no verification, no tickets. */
static SSL_CTX *
tls_client(void)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		fprintf(stderr, "pop3load: SSL_CTX_new failed\n");
		exit(2);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: pop3load storm   -p port -u prefix -n users -w pass -N sessions -C conc\n"
	    "       pop3load session -p port -u user -w pass\n"
	    "       pop3load retr    -p port -u user -w pass [-W window] [-t] [-s]\n"
	    "       pop3load raw     -p port\n"
	    "       pop3load idle    -p port -u prefix [-n users] -w pass -K count [-L]\n"
	    "       pop3load poll    -p port -u user -w pass -S seenfile [-A] [-E new]\n"
	    "       pop3load crypt   -w pass -H hash -N calls\n");
	exit(2);
}

static int
number(const char *s, int lo, int hi)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return (int)v;
}

int
main(int argc, char *argv[])
{
	const char	*mode, *user = NULL, *pass = NULL, *hash = NULL;
	const char	*seenfile = NULL;
	int		 ch, nusers = 0, sessions = 1, conc = 1, window = 1, top = 0;
	int		 k = 1, lists = 0, all_seen = 0, expect = -1;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "AC:E:H:K:LN:S:W:n:p:stu:w:")) != -1) {
		switch (ch) {
		case 'A': all_seen = 1; break;
		case 'C': conc = number(optarg, 1, 4096); break;
		case 'E': expect = number(optarg, 0, 10000000); break;
		case 'H': hash = optarg; break;
		case 'K': k = number(optarg, 1, 100000); break;
		case 'L': lists = 1; break;
		case 'N': sessions = number(optarg, 1, 10000000); break;
		case 'S': seenfile = optarg; break;
		case 'W': window = number(optarg, 1, 64); break;
		case 'n': nusers = number(optarg, 1, 1000); break;
		case 'p': opt_port = number(optarg, 1, 65535); break;
		case 's': opt_tls = tls_client(); break;
		case 't': top = 1; break;
		case 'u': user = optarg; break;
		case 'w': pass = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (strcmp(mode, "crypt") == 0) {
		if (pass == NULL || hash == NULL)
			usage();
		return mode_crypt(pass, hash, sessions);
	}
	if (opt_port == 0)
		usage();
	if (strcmp(mode, "raw") == 0)
		return mode_raw();
	if (user == NULL || pass == NULL)
		usage();
	if (strcmp(mode, "storm") == 0)
		return mode_storm(user, nusers, pass, sessions, conc);
	if (strcmp(mode, "session") == 0)
		return mode_session(user, pass);
	if (strcmp(mode, "retr") == 0)
		return mode_retr(user, pass, window, top);
	if (strcmp(mode, "idle") == 0)
		return mode_idle(user, nusers, pass, k, lists);
	if (strcmp(mode, "poll") == 0 && seenfile != NULL)
		return mode_poll(user, pass, seenfile, all_seen, expect);
	usage();
}
