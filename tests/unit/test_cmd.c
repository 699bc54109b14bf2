/* The command parser, the dispatch loop and strict number parsing. */
#include <string.h>
#include <unistd.h>

#include "common/cmd.h"
#include "tap.h"

static int	ran;
static char	got[2][64];
static int	gotc;
static unsigned long max_commands;	/* for the next run() */

static enum cmd_status
record(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	int i;

	(void)ctx;
	ran++;
	gotc = argc;
	for (i = 0; i < argc && i < 2; i++)
		strlcpy(got[i], argv[i], sizeof(got[i]));
	return cmd_say(r, CMD_OK, "ran");
}

static enum cmd_status
quit(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return cmd_say(r, CMD_QUIT, "bye");
}

static enum cmd_status
close_now(void *ctx, struct cmd_reply *r, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return cmd_say(r, CMD_CLOSE, "closed");
}

static const struct command table[] = {
	{ "NOOP", 0, 0, record },
	{ "CLOS", 0, 0, close_now },
	{ "LIST", 0, 1, record },
	{ "TOP", 2, 2, record },
	{ "PASS", 1, ARGS_REST, record },
	{ "QUIT", 0, 0, quit },
	{ NULL, 0, 0, NULL }
};

/* Run the loop on input; the replies land in out. */
static enum loop_end
run(const char *in, char *out, size_t outlen, int max_bad)
{
	struct io		*io;
	struct cmd_state	 st;
	enum loop_end		 e;
	int			 pin[2], pout[2];
	ssize_t			 n;
	static struct io	 sio;

	io = &sio;
	if (pipe(pin) == -1 || pipe(pout) == -1)
		return LOOP_IOERR;
	if (write(pin[1], in, strlen(in)) != (ssize_t)strlen(in))
		return LOOP_IOERR;
	close(pin[1]);
	io_init(io, pin[0], pout[1], 1000);
	memset(&st, 0, sizeof(st));
	st.io = io;
	st.table = table;
	st.max_bad = max_bad;
	st.max_commands = max_commands;
	ran = 0;
	e = cmd_loop(&st);
	io_flush(io);
	close(pout[1]);
	n = read(pout[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	close(pin[0]);
	close(pout[0]);
	return e;
}

static void
test_numbers(void)
{
	size_t	i = 99;
	long	n;

	ok(cmd_msgnum("1", 3, &i) == 0 && i == 0, "1 is index 0");
	ok(cmd_msgnum("3", 3, &i) == 0 && i == 2, "last message");
	ok(cmd_msgnum("007", 10, &i) == 0 && i == 6, "leading zeros");
	ok(cmd_msgnum("4", 3, &i) == -1, "past the end");
	ok(cmd_msgnum("0", 3, &i) == -1, "zero");
	ok(cmd_msgnum("4294967297", 3, &i) == -1, "2^32 + 1 does not wrap to 1");
	ok(cmd_msgnum("18446744073709551617", 3, &i) == -1, "2^64 + 1");
	ok(cmd_msgnum("99999999999999999999999", 3, &i) == -1, "huge");
	ok(cmd_msgnum("-1", 3, &i) == -1, "negative");
	ok(cmd_msgnum("+1", 3, &i) == -1, "plus sign");
	ok(cmd_msgnum(" 1", 3, &i) == -1, "leading blank");
	ok(cmd_msgnum("1x", 3, &i) == -1, "trailing junk");
	ok(cmd_msgnum("", 3, &i) == -1, "empty");
	ok(cmd_msgnum("1", 0, &i) == -1, "empty maildrop");
	ok(cmd_count("0", &n) == 0 && n == 0, "TOP 0 lines");
	ok(cmd_count("123456", &n) == 0 && n == 123456, "count");
	ok(cmd_count("-1", &n) == -1, "negative count");
	ok(cmd_count("99999999999999999999", &n) == -1, "overflowing count");
}

static void
test_dispatch(void)
{
	char		out[4096];
	enum loop_end	e;

	e = run("noop\r\nLiSt 2\r\nQUIT\r\nNOOP\r\n", out, sizeof(out), 5);
	ok(e == LOOP_QUIT && ran == 2, "keywords are case-insensitive; QUIT ends");
	ok(strcmp(out, "+OK ran\r\n+OK ran\r\n+OK bye\r\n") == 0,
	    "one reply per command, in order");
	ok(gotc == 1 && strcmp(got[0], "2") == 0, "argument passed");

	run("NOOP x\r\nLIST 1 2\r\nTOP 1\r\nPASS\r\nQUIT\r\n", out, sizeof(out), 9);
	ok(ran == 0, "wrong argument counts never run the handler");
	ok(strcmp(out,
	    "-ERR Syntax: NOOP takes no arguments\r\n"
	    "-ERR Syntax: LIST takes at most one argument\r\n"
	    "-ERR Syntax: TOP takes two arguments\r\n"
	    "-ERR Syntax: PASS takes one argument\r\n"
	    "+OK bye\r\n") == 0, "each gets -ERR naming the count");

	run("TOP 1 2 3\r\nLIST 1 2 3 4\r\nNOOP \r\nQUIT\r\n", out,
	    sizeof(out), 9);
	ok(ran == 0 && strcmp(out,
	    "-ERR Syntax: TOP takes two arguments\r\n"
	    "-ERR Syntax: LIST takes at most one argument\r\n"
	    "-ERR Syntax: NOOP takes no arguments\r\n"
	    "+OK bye\r\n") == 0,
	    "too many arguments are a wrong count, not a spacing error");

	run("PASS  two  spaces \r\nQUIT\r\n", out, sizeof(out), 5);
	ok(ran == 1 && strcmp(got[0], " two  spaces ") == 0,
	    "PASS takes the rest of the line verbatim");

	run("TOP 1  2\r\nTOP 1 2 \r\nLIST \r\nTOP 1 2\r\nQUIT\r\n", out,
	    sizeof(out), 5);
	ok(ran == 1 && gotc == 2 && strcmp(got[1], "2") == 0,
	    "doubled or trailing spaces make a line malformed");

	e = run("XYZZY\r\nSTATS\r\n\r\nNOOP\r\n", out, sizeof(out), 3);
	ok(e == LOOP_BAD && ran == 0, "three bad commands end the loop");
	ok(strcmp(out, "-ERR Unknown command\r\n-ERR Unknown command\r\n"
	    "-ERR Too many bad commands, closing\r\n") == 0,
	    "the last gets one reply, which says so");

	e = run("NOOP\r\nTOP 1\r\nNOOP\r\n", out, sizeof(out), 1);
	ok(e == LOOP_BAD && ran == 1 && strcmp(out, "+OK ran\r\n"
	    "-ERR Too many bad commands, closing\r\n") == 0,
	    "max_bad 1: the first bad command ends the loop");

	e = run("NOOP\r\n", out, sizeof(out), 3);
	ok(e == LOOP_EOF && ran == 1, "EOF ends the loop");
}

static void
test_command_cap(void)
{
	char		out[4096];
	enum loop_end	e;

	max_commands = 2;
	e = run("NOOP\r\nNOOP\r\nNOOP\r\n", out, sizeof(out), 5);
	ok(e == LOOP_QUIT && ran == 2 && strcmp(out, "+OK ran\r\n"
	    "-ERR Too many commands, closing\r\n") == 0,
	    "the last command allowed gets one reply, which closes");
	e = run("NOOP\r\nQUIT\r\n", out, sizeof(out), 5);
	ok(e == LOOP_QUIT && strcmp(out, "+OK ran\r\n+OK bye\r\n") == 0,
	    "QUIT as the last command keeps its reply");
	e = run("NOOP\r\nCLOS\r\n", out, sizeof(out), 5);
	ok(e == LOOP_QUIT && strcmp(out, "+OK ran\r\n-ERR closed\r\n") == 0,
	    "so does a command that closes anyway");
	e = run("XYZZY\r\nXYZZY\r\n", out, sizeof(out), 2);
	ok(e == LOOP_BAD && strcmp(out, "-ERR Unknown command\r\n"
	    "-ERR Too many bad commands, closing\r\n") == 0,
	    "both limits at once: the bad-command one");
	max_commands = 0;
}

int
main(void)
{
	test_numbers();
	test_dispatch();
	test_command_cap();
	return tap_done();
}
