/* The bounded line reader and the reply writer. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "tap.h"

static struct io io;

/* Feed input through a pipe (closed after, so EOF follows). */
static void
feed(const char *data, size_t len)
{
	int p[2];

	if (pipe(p) == -1)
		return;
	/* Small inputs only: they fit the pipe buffer. */
	if (write(p[1], data, len) != (ssize_t)len)
		return;
	close(p[1]);
	io_init(&io, p[0], -1, 1000);
}

static enum io_status
next(char *line, size_t max)
{
	size_t len;

	return io_readline(&io, line, max, &len);
}

static void
test_line_ends(void)
{
	char line[300];

	feed("USER a\r\nPASS b c\nQUIT", 20);
	ok(next(line, 253) == IO_LINE && strcmp(line, "USER a") == 0, "CRLF line");
	ok(next(line, 253) == IO_LINE && strcmp(line, "PASS b c") == 0, "bare LF line");
	ok(next(line, 253) == IO_EOF, "unterminated last line is not a command");
	close(io.infd);
}

static void
test_too_long(void)
{
	char	line[300], in[3000];
	size_t	n;

	memset(in, 'A', sizeof(in));
	n = 600;
	memcpy(in + n, " DELE 1\r\nNOOP\r\n", 15);
	feed(in, n + 15);
	ok(next(line, 253) == IO_TOOLONG, "600-octet line is too long");
	ok(next(line, 253) == IO_LINE && strcmp(line, "NOOP") == 0,
	    "its tail is discarded, the next line is read");
	close(io.infd);

	memset(in, 'B', 253);
	memcpy(in + 253, "\r\n", 2);
	feed(in, 255);
	ok(next(line, 253) == IO_LINE && strlen(line) == 253, "253 octets + CRLF fit");
	close(io.infd);

	memset(in, 'B', 254);
	memcpy(in + 254, "\r\nNOOP\r\n", 8);
	feed(in, 262);
	ok(next(line, 253) == IO_TOOLONG, "254 octets + CRLF do not");
	ok(next(line, 253) == IO_LINE && strcmp(line, "NOOP") == 0, "reader recovers");
	close(io.infd);

	memset(in, 'C', 2990);
	memcpy(in + 2990, "\nQUIT\r\n", 7);
	feed(in, 2997);
	ok(next(line, 253) == IO_TOOLONG, "line longer than the buffer");
	ok(next(line, 253) == IO_LINE && strcmp(line, "QUIT") == 0,
	    "and the reader recovers");
	ok(next(line, 253) == IO_EOF, "then EOF");
	close(io.infd);
}

static void
test_nul(void)
{
	char line[300];

	feed("US\0ER a\r\nNOOP\r\n", 15);
	ok(next(line, 253) == IO_BADCHAR, "NUL is rejected");
	ok(next(line, 253) == IO_LINE && strcmp(line, "NOOP") == 0, "next line read");
	close(io.infd);
}

static void
test_timeout(void)
{
	char	line[300];
	int	p[2];

	if (pipe(p) == -1)
		return;
	io_init(&io, p[0], -1, 100);
	ok(write(p[1], "NO", 2) == 2 && next(line, 253) == IO_TIMEOUT,
	    "partial line times out");
	close(p[0]);
	close(p[1]);
}

static void
test_pending(void)
{
	char		 line[300];
	const unsigned char *p;
	size_t		 len;

	feed("PASS x\r\nSTAT\r\nLIST\r\n", 20);
	next(line, 253);
	p = io_pending(&io, &len);
	ok(len == 12 && memcmp(p, "STAT\r\nLIST\r\n", 12) == 0,
	    "pipelined octets after a line are pending");
	ok(io.in[0] == '\0', "the consumed line is wiped from the buffer");
	io_discard_pending(&io);
	ok(next(line, 253) == IO_EOF, "discarded input is never read");
	close(io.infd);

	io_init(&io, -1, -1, 100);
	ok(io_preload(&io, "NOOP\r\n", 6) == 0 && next(line, 253) == IO_LINE &&
	    strcmp(line, "NOOP") == 0, "preloaded input is read first");
}

static void
test_reply(void)
{
	char	buf[2048], big[1000];
	int	p[2];
	ssize_t	n;

	if (pipe(p) == -1)
		return;
	io_init(&io, -1, p[1], 1000);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	io_reply(&io, "+OK %d", 7);
	io_reply(&io, "-ERR %s", big);
	ok(io_flush(&io) == 0, "flush");
	n = read(p[0], buf, sizeof(buf));
	ok(n == 7 + 512 && memcmp(buf, "+OK 7\r\n-ERR xxx", 15) == 0,
	    "replies end in CRLF and are cut at 512 octets");
	ok(memcmp(buf + n - 2, "\r\n", 2) == 0, "a cut reply still ends in CRLF");
	ok(io.bytes_out == (uint64_t)n, "octets counted");
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	test_line_ends();
	test_too_long();
	test_nul();
	test_timeout();
	test_pending();
	test_reply();
	return tap_done();
}
