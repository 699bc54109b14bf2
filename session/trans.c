/*
 * TRANSACTION state commands (RFC 1939 section 5) and the UPDATE state on
 * QUIT (section 6).  Only QUIT changes the maildrop on disk; a timeout, a
 * dropped connection or too many bad commands end the session with
 * nothing deleted.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "params.h"
#include "common/log.h"
#include "common/capa.h"
#include "common/cmd.h"
#include "common/io.h"
#include "session/confine.h"
#include "session/msgout.h"
#include "session/trans.h"
#include "store/expire.h"
#include "store/maildrop.h"
#include "store/uidlmap.h"

struct session {
	struct io		 io;
	const struct config	*cf;
	const struct session_info *si;
	struct maildrop		 md;
	size_t			 live;		/* messages not deleted */
	uint64_t		 live_size;
	int			 msgfd;		/* RETR/TOP: the open message */
	size_t			 msgidx;
	long			 body_lines;	/* RETR: MSGOUT_ALL */
	unsigned long		 retr, top, dele;
	int			 committed;	/* the UPDATE state ran */
	size_t			 expired;	/* marked for deletion by EXPIRE */
	uint64_t		 retr_bytes;
};

static struct session	 sess;	/* large buffers: not on the stack */

/* A message's file name for the log: the delivery agent chose it. */
static const char *
safe_name(struct session *s, size_t idx)
{
	static char	buf[256];
	int		saved = errno;

	log_sanitize(maildrop_name(&s->md, idx), buf, sizeof(buf));
	errno = saved;
	return buf;
}

/* Message argument n: valid, and not deleted. */
static enum cmd_status
message_arg(struct session *s, struct cmd_reply *r, const char *arg,
    size_t *idx)
{
	if (cmd_msgnum(arg, s->md.count, idx) == -1) {
		if (cmd_count(arg, &(long){0}) == 0)
			return cmd_say(r, CMD_ERR, "No such message");
		return cmd_say(r, CMD_BAD, "Invalid message number");
	}
	if (s->md.msgs[*idx].flags & MSG_DELETED)
		return cmd_say(r, CMD_ERR, "Message %zu is deleted", *idx + 1);
	return CMD_OK;
}

static enum cmd_status
trans_stat(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session *s = ctx;

	(void)argc, (void)argv;
	return cmd_say(r, CMD_OK, "%zu %" PRIu64, s->live, s->live_size);
}

/* Decimal digits of v at p; returns the end. */
static char *
put_number(char *p, uint64_t v)
{
	char	digits[20];
	size_t	n = 0;

	do
		digits[n++] = '0' + v % 10;
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

/*
 * One line of a LIST or UIDL listing, "n size" or "n uidl", put together
 * by hand: a listing of 100,000 messages should cost little more than
 * its octets.  A unique-id is at most UIDL_MAX octets.
 */
static int
listing_line(struct io *io, size_t n, uint64_t size, const char *uidl)
{
	char	line[20 + 1 + UIDL_MAX + 2], *p;
	size_t	len;

	p = put_number(line, n);
	*p++ = ' ';
	if (uidl == NULL)
		p = put_number(p, size);
	else {
		if ((len = strlen(uidl)) > UIDL_MAX)
			len = UIDL_MAX;
		memcpy(p, uidl, len);
		p += len;
	}
	*p++ = '\r';
	*p++ = '\n';
	return io_write(io, line, p - line);
}

static int
list_body(struct io *io, void *ctx)
{
	struct session	*s = ctx;
	size_t		 i;

	for (i = 0; i < s->md.count; i++)
		if (!(s->md.msgs[i].flags & MSG_DELETED))
			listing_line(io, i + 1, s->md.msgs[i].size, NULL);
	return io_reply(io, ".");
}

static enum cmd_status
trans_list(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session	*s = ctx;
	enum cmd_status	 st;
	size_t		 i;

	if (argc == 0) {
		r->body = list_body;
		return cmd_say(r, CMD_OK, "%zu messages (%" PRIu64 " octets)",
		    s->live, s->live_size);
	}
	if ((st = message_arg(s, r, argv[0], &i)) != CMD_OK)
		return st;
	return cmd_say(r, CMD_OK, "%zu %" PRIu64, i + 1, s->md.msgs[i].size);
}

static int
uidl_body(struct io *io, void *ctx)
{
	struct session	*s = ctx;
	size_t		 i;

	for (i = 0; i < s->md.count; i++)
		if (!(s->md.msgs[i].flags & MSG_DELETED))
			listing_line(io, i + 1, 0, maildrop_uidl(&s->md, i));
	return io_reply(io, ".");
}

static enum cmd_status
trans_uidl(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session	*s = ctx;
	enum cmd_status	 st;
	size_t		 i;

	if (argc == 0) {
		r->body = uidl_body;
		return cmd_say(r, CMD_OK, "Unique-ID listing follows");
	}
	if ((st = message_arg(s, r, argv[0], &i)) != CMD_OK)
		return st;
	return cmd_say(r, CMD_OK, "%zu %s", i + 1, maildrop_uidl(&s->md, i));
}

static int
message_body(struct io *io, void *ctx)
{
	struct session		*s = ctx;
	struct message		*m = &s->md.msgs[s->msgidx];
	enum msgout_status	 st;
	uint64_t		 sent = 0;

	st = msgout_send(io, s->msgfd, s->body_lines, m->size, &sent);
	close(s->msgfd);
	s->msgfd = -1;
	if (st == MSGOUT_CHANGED || st == MSGOUT_READERR)
		log_warnx("message %s %s while being sent (%" PRIu64
		    " of %" PRIu64 " octets)", safe_name(s, s->msgidx),
		    st == MSGOUT_CHANGED ? "changed" : "unreadable",
		    sent, m->size);
	if (st == MSGOUT_CHANGED)
		maildrop_distrust_sizes(&s->md);
	if (s->body_lines == MSGOUT_ALL) {
		s->retr++;
		s->retr_bytes += sent;
		if (st == MSGOUT_OK)
			m->flags |= MSG_RETRIEVED;
	} else
		s->top++;
	return st == MSGOUT_IOERR ? -1 : 0;
}

/* Open message idx for RETR or TOP; the body sends it after "+OK". */
static enum cmd_status
open_message(struct session *s, struct cmd_reply *r, size_t idx,
    long body_lines)
{
	s->msgfd = maildrop_open_message(&s->md, idx);
	if (s->msgfd == -1) {
		if (errno == ENOENT)
			return cmd_say(r, CMD_ERR,
			    "Message %zu is no longer available", idx + 1);
		/* Rewritten in place: its listed size would be wrong. */
		if (errno == ESTALE) {
			log_warnx("message %s changed since it was listed, "
			    "size cache removed", safe_name(s, idx));
			return cmd_say(r, CMD_ERR, "Message %zu changed since "
			    "it was listed, log in again", idx + 1);
		}
		log_warn("open %s", safe_name(s, idx));
		return cmd_say(r, CMD_ERR, "[SYS/TEMP] Cannot read message %zu",
		    idx + 1);
	}
	s->msgidx = idx;
	s->body_lines = body_lines;
	r->body = message_body;
	if (body_lines == MSGOUT_ALL)
		return cmd_say(r, CMD_OK, "%" PRIu64 " octets",
		    s->md.msgs[idx].size);
	return cmd_say(r, CMD_OK, "Top of message follows");
}

static enum cmd_status
trans_retr(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session	*s = ctx;
	enum cmd_status	 st;
	size_t		 i;

	(void)argc;
	if ((st = message_arg(s, r, argv[0], &i)) != CMD_OK)
		return st;
	return open_message(s, r, i, MSGOUT_ALL);
}

static enum cmd_status
trans_top(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session	*s = ctx;
	enum cmd_status	 st;
	size_t		 i;
	long		 n;

	(void)argc;
	if ((st = message_arg(s, r, argv[0], &i)) != CMD_OK)
		return st;
	if (cmd_count(argv[1], &n) == -1)
		return cmd_say(r, CMD_BAD, "Invalid line count");
	return open_message(s, r, i, n);
}

static enum cmd_status
trans_dele(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session	*s = ctx;
	enum cmd_status	 st;
	size_t		 i;

	(void)argc;
	if ((st = message_arg(s, r, argv[0], &i)) != CMD_OK)
		return st;
	s->md.msgs[i].flags |= MSG_DELETED;
	s->live--;
	s->live_size -= s->md.msgs[i].size;
	s->dele++;
	return cmd_say(r, CMD_OK, "Message %zu deleted", i + 1);
}

static void
count_live(struct session *s)
{
	size_t i;

	s->live = 0;
	s->live_size = 0;
	for (i = 0; i < s->md.count; i++)
		if (!(s->md.msgs[i].flags & MSG_DELETED)) {
			s->live++;
			s->live_size += s->md.msgs[i].size;
		}
}

static enum cmd_status
trans_rset(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session	*s = ctx;
	size_t		 i;

	(void)argc, (void)argv;
	for (i = 0; i < s->md.count; i++)
		s->md.msgs[i].flags &= ~MSG_DELETED;
	s->dele = 0;
	count_live(s);
	return cmd_say(r, CMD_OK, "%zu messages (%" PRIu64 " octets)",
	    s->live, s->live_size);
}

static enum cmd_status
trans_noop(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return cmd_say(r, CMD_OK, "%s", "");
}

static int
capa_body(struct io *io, void *ctx)
{
	struct session		*s = ctx;
	struct capa_policy	 pol = { s->si->login_delay, s->si->expire };

	return capa_write(io, s->cf, CAPA_LOGIN | CAPA_USERVAL, s->si->sasl,
	    &pol);
}

static enum cmd_status
trans_capa(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	r->body = capa_body;
	return cmd_say(r, CMD_OK, "Capability list follows");
}

/*
 * EXPIRE: the messages whose time is up are deleted with the client's
 * own deletions; the record of what is left is written once they are.
 */
static struct expiry *
expire_begin(struct session *s, long long now)
{
	struct expiry *e;

	if (s->si->expire < 0)
		return NULL;
	if ((e = expire_load(&s->md)) == NULL) {
		log_warn("user=%s: EXPIRE", s->si->user);
		return NULL;
	}
	s->expired = expire_mark(e, &s->md, s->si->expire, now);
	return e;
}

/* The UPDATE state: the reply says whether every deletion is on disk. */
static enum cmd_status
trans_quit(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	struct session		*s = ctx;
	struct commit_result	 cr;
	enum store_status	 st;
	struct expiry		*e;
	long long		 now = (long long)time(NULL);

	(void)argc, (void)argv;
	memset(&cr, 0, sizeof(cr));
	e = expire_begin(s, now);
	st = maildrop_commit(&s->md, &cr);
	if (e != NULL) {
		expire_save(e, &s->md, now);
		expire_free(e);
	}
	s->dele = cr.deleted;
	s->committed = 1;
	if (st != STORE_OK) {
		log_warnx("update failed user=%s deleted=%zu failed=%zu",
		    s->si->user, cr.deleted, cr.failed);
		if (cr.failed > 0)
			return cmd_say(r, CMD_CLOSE, "[SYS/TEMP] %zu deleted "
			    "messages were not removed", cr.failed);
		return cmd_say(r, CMD_CLOSE,
		    "[SYS/TEMP] Deletions may not have reached the disk");
	}
	return cmd_say(r, CMD_QUIT, "Logging out, %zu messages deleted",
	    cr.deleted);
}

static enum cmd_status
trans_wrong_state(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return cmd_say(r, CMD_BAD, "Already logged in");
}

static const struct command transaction[] = {
	{ "STAT",	0, 0,		trans_stat },
	{ "LIST",	0, 1,		trans_list },
	{ "RETR",	1, 1,		trans_retr },
	{ "DELE",	1, 1,		trans_dele },
	{ "NOOP",	0, 0,		trans_noop },
	{ "RSET",	0, 0,		trans_rset },
	{ "TOP",	2, 2,		trans_top },
	{ "UIDL",	0, 1,		trans_uidl },
	{ "CAPA",	0, 0,		trans_capa },
	{ "QUIT",	0, 0,		trans_quit },
	{ "USER",	0, ARGS_REST,	trans_wrong_state },
	{ "PASS",	0, ARGS_REST,	trans_wrong_state },
	{ "AUTH",	0, ARGS_REST,	trans_wrong_state },
	{ "APOP",	0, ARGS_REST,	trans_wrong_state },
	{ NULL,		0, 0,		NULL }
};

/* Octets the client sent behind PASS/AUTH, read ahead before login. */
static void
load_carry(struct session *s, int fd)
{
	unsigned char	buf[PIPELINE_CARRY_MAX];
	size_t		len = 0;
	ssize_t		n;

	if (fd == -1)
		return;
	while (len < sizeof(buf) &&
	    ((n = read(fd, buf + len, sizeof(buf) - len)) > 0 ||
	    (n == -1 && errno == EINTR)))
		if (n > 0)
			len += n;
	close(fd);
	io_preload(&s->io, buf, len);
}

static enum store_status
open_maildrop(struct session *s)
{
	char			err[256];
	enum store_status	st;

	/* A bad setting imports nothing: every unique-id stays pop3d's. */
	if (uidlmap_setup(s->cf->import_uidl, s->cf->import_uidl_format,
	    err, sizeof(err)) == -1)
		log_warnx("%s: nothing imported", err);
	st = maildrop_open(&s->md, s->si->maildir, err, sizeof(err));
	switch (st) {
	case STORE_OK:
		break;
	case STORE_INUSE:
		io_reply(&s->io, "-ERR [IN-USE] Maildrop is locked by another session");
		break;
	case STORE_PERMFAIL:
		log_warnx("user=%s maildir %s: %s", s->si->user, s->si->maildir, err);
		io_reply(&s->io, "-ERR [SYS/PERM] Maildrop unavailable");
		break;
	default:
		log_warnx("user=%s maildir %s: %s", s->si->user, s->si->maildir, err);
		io_reply(&s->io, "-ERR [SYS/TEMP] Maildrop unavailable, try later");
		break;
	}
	return st;
}

/*
 * Over TLS our stdin and stdout are the relay's socketpair.  Closing them
 * lets it send the last octets and close_notify; waiting for it keeps a
 * service manager from killing it before it has.
 */
static void
wait_relay(pid_t relay)
{
	int status;

	if (relay <= 0)
		return;
	close(0);
	close(1);
	while (waitpid(relay, &status, 0) == -1)
		if (errno != EINTR)
			return;
	/* Forked by the monitor, whose image this is: no one else sees it. */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_warnx("TLS relay killed by seccomp (SIGSYS)");
}

int
trans_run(const struct config *cf, const struct session_info *si)
{
	struct session	*s = &sess;
	struct cmd_state st;
	enum loop_end	 end;
	char		 expired[32];

	s->cf = cf;
	s->si = si;
	s->msgfd = -1;
	if (io_init(&s->io, 0, 1, cf->idle_timeout * 1000) == -1)
		log_warn("non-blocking client descriptors");
	io_send_timeout(&s->io, cf->send_timeout * 1000);
	load_carry(s, si->carry_fd);
	maildrop_shared_storage(cf->shared_storage);
	if (open_maildrop(s) != STORE_OK) {
		log_info("login refused user=%s method=%s remote=%s",
		    si->user, si->method, si->remote);
		io_flush(&s->io);
		wait_relay(si->relay);
		return 0;
	}
	/* Before the first command of the client is parsed. */
	confine_session(s->md.dirfd);
	count_live(s);
	log_info("login user=%s method=%s remote=%s%s%s messages=%zu size=%"
	    PRIu64, si->user, si->method, si->remote, si->tls[0] != '\0' ?
	    " tls=" : "", si->tls, s->live, s->live_size);
	io_reply(&s->io, "+OK Logged in, %zu messages (%" PRIu64 " octets)",
	    s->live, s->live_size);

	memset(&st, 0, sizeof(st));
	st.io = &s->io;
	st.table = transaction;
	st.ctx = s;
	st.max_bad = cf->max_bad_commands;
	end = cmd_loop(&st);
	io_flush(&s->io);
	/* After the reply to QUIT: the client waits for none of it. */
	if (s->committed)
		maildrop_record(&s->md);
	/* expired= only where EXPIRE is on: other lines stay as they were. */
	snprintf(expired, sizeof(expired), " expired=%zu",
	    s->committed ? s->expired : 0);
	log_info("logout user=%s reason=%s retr=%lu/%" PRIu64 " top=%lu "
	    "dele=%lu messages=%zu size=%" PRIu64 " out=%" PRIu64 "%s",
	    si->user, cmd_end_reason(end), s->retr, s->retr_bytes, s->top,
	    s->committed ? s->dele : 0, s->md.count, s->md.total,
	    s->io.bytes_out, si->expire >= 0 ? expired : "");
	maildrop_close(&s->md);
	wait_relay(si->relay);
	return end == LOOP_IOERR ? 1 : 0;
}
