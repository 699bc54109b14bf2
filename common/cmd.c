/*
 * The command loop: read a bounded line, find the keyword in the state's
 * table, check the argument count, run the handler, write its one reply.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "params.h"
#include "common/cmd.h"

enum cmd_status
cmd_say(struct cmd_reply *r, enum cmd_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	return st;
}

static int
all_digits(const char *s, size_t maxlen)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && s[n] == '\0' && n <= maxlen;
}

int
cmd_msgnum(const char *s, size_t count, size_t *idx)
{
	const char	*errstr;
	long long	 n;

	if (!all_digits(s, NUMBER_DIGITS_MAX))
		return -1;
	n = strtonum(s, 1, (long long)count, &errstr);
	if (errstr != NULL)
		return -1;
	*idx = (size_t)n - 1;
	return 0;
}

int
cmd_count(const char *s, long *n)
{
	const char *errstr;

	if (!all_digits(s, NUMBER_DIGITS_MAX))
		return -1;
	*n = (long)strtonum(s, 0, LONG_MAX, &errstr);
	return errstr == NULL ? 0 : -1;
}

static const struct command *
lookup(const struct command *t, const char *kw)
{
	for (; t->name != NULL; t++)
		if (strcasecmp(t->name, kw) == 0)
			return t;
	return NULL;
}

/*
 * Split the arguments after the keyword.  ARGS_REST keeps the rest of the
 * line whole (PASS: a password may hold spaces).  Otherwise arguments are
 * separated by exactly one space (RFC 1939 section 3): an empty argument,
 * from a doubled or trailing space, makes the line malformed.  Returns the
 * count, CMD_ARGS_MAX + 1 for any more than argv holds, or -1 if the line
 * is malformed.
 */
static int
split_args(const struct command *c, char *rest, char **argv)
{
	int argc = 0;

	if (rest == NULL)
		return 0;
	if (c->maxargs == ARGS_REST) {
		argv[0] = rest;
		return *rest != '\0';
	}
	for (;;) {
		if (*rest == '\0' || *rest == ' ')
			return -1;
		if (argc == CMD_ARGS_MAX)
			return argc + 1;
		argv[argc++] = rest;
		rest += strcspn(rest, " ");
		if (*rest == '\0')
			return argc;
		*rest++ = '\0';
	}
}

/* "Syntax: TOP takes two arguments", for a wrong argument count. */
static enum cmd_status
wrong_count(struct cmd_reply *r, const struct command *c, int min, int max)
{
	static const char *const number[CMD_ARGS_MAX + 1] = {
		"no", "one", "two"
	};

	if (min == max)
		return cmd_say(r, CMD_BAD, "Syntax: %s takes %s argument%s",
		    c->name, number[max], max == 1 ? "" : "s");
	if (min == 0)
		return cmd_say(r, CMD_BAD, "Syntax: %s takes at most %s "
		    "argument%s", c->name, number[max], max == 1 ? "" : "s");
	return cmd_say(r, CMD_BAD, "Syntax: %s takes %s or %s arguments",
	    c->name, number[min], number[max]);
}

static enum cmd_status
dispatch(struct cmd_state *st, char *line, struct cmd_reply *r)
{
	const struct command	*c;
	char			*argv[CMD_ARGS_MAX + 1], *rest;
	int			 argc, max;

	rest = strchr(line, ' ');
	if (rest != NULL)
		*rest++ = '\0';
	if ((c = lookup(st->table, line)) == NULL)
		return cmd_say(r, CMD_BAD, "Unknown command");
	argc = split_args(c, rest, argv);
	max = c->maxargs == ARGS_REST ? 1 : c->maxargs;
	if (argc == -1 && c->maxargs != 0)
		return cmd_say(r, CMD_BAD, "Syntax: arguments are separated "
		    "by one space");
	if (argc < c->minargs || argc > max)
		return wrong_count(r, c, c->minargs, max);
	argv[argc] = NULL;
	return c->run(st->ctx, r, argc, argv);
}

/* A write that failed because the client took nothing is a timeout. */
static enum loop_end
write_failed(const struct cmd_state *st)
{
	return st->io->timed_out ? LOOP_TIMEOUT : LOOP_IOERR;
}

static enum loop_end
io_end(struct cmd_state *st, enum io_status s)
{
	switch (s) {
	case IO_EOF:
		return LOOP_EOF;
	case IO_TIMEOUT:
		if (st->io->deadline != 0 && clock_ms() >= st->io->deadline)
			io_reply(st->io, "-ERR Login time exceeded, closing");
		else
			io_reply(st->io, "-ERR Disconnected for inactivity");
		io_flush(st->io);
		return LOOP_TIMEOUT;
	default:
		return write_failed(st);
	}
}

const char *
cmd_end_reason(enum loop_end e)
{
	switch (e) {
	case LOOP_QUIT:
		return "quit";
	case LOOP_LEAVE:
		return "login";
	case LOOP_BAD:
		return "bad-commands";
	case LOOP_EOF:
		return "disconnected";
	case LOOP_TIMEOUT:
		return "timeout";
	default:
		return "io-error";
	}
}

enum loop_end
cmd_loop(struct cmd_state *st)
{
	char			line[POP3_LINE_MAX + 1];
	struct cmd_reply	r;
	enum cmd_status		s;
	enum io_status		is;
	enum loop_end		end;
	size_t			len;

	for (;;) {
		r.text[0] = '\0';
		r.body = NULL;
		is = io_readline(st->io, line, POP3_LINE_MAX - 2, &len);
		if (is == IO_LINE) {
			s = dispatch(st, line, &r);
			explicit_bzero(line, len);	/* it may have been PASS */
		}
		else if (is == IO_TOOLONG)
			s = cmd_say(&r, CMD_BAD, "Line too long");
		else if (is == IO_BADCHAR)
			s = cmd_say(&r, CMD_BAD, "NUL octet in command");
		else
			return io_end(st, is);
		st->commands++;
		if (s == CMD_LEAVE)
			return LOOP_LEAVE;
		/*
		 * A command that reaches a limit gets one reply, which says
		 * that the session ends, in place of its own.
		 */
		end = LOOP_QUIT;
		if (s == CMD_BAD && ++st->bad >= st->max_bad) {
			s = cmd_say(&r, CMD_CLOSE, "Too many bad commands, closing");
			end = LOOP_BAD;
		} else if (st->max_commands != 0 &&
		    st->commands >= st->max_commands &&
		    s != CMD_QUIT && s != CMD_CLOSE) {
			r.body = NULL;
			s = cmd_say(&r, CMD_CLOSE, "Too many commands, closing");
		}
		if (io_reply(st->io, "%s%s%s",
		    s == CMD_OK || s == CMD_QUIT ? "+OK" : "-ERR",
		    r.text[0] != '\0' ? " " : "", r.text) == -1)
			return write_failed(st);
		if (s == CMD_OK && r.body != NULL && r.body(st->io, st->ctx) == -1)
			return write_failed(st);
		if (s == CMD_QUIT || s == CMD_CLOSE) {
			io_flush(st->io);
			return end;
		}
	}
}
