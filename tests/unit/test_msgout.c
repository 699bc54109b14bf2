/*
 * The multi-line writer through a real struct io writing to a file: exact
 * output for the corner cases, TOP, read boundaries, the word-at-a-time
 * copy of RETR at every place and output buffer fill, and for random
 * messages the output of a plain per-octet model, with the un-stuffed
 * length equal to size_count_fd_len().
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "session/msgout.h"
#include "store/size.h"
#include "tap.h"

struct buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 alloc;
};

static struct io	io;
static uint64_t		rng = 0x2545f4914f6cdd1dULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng >> 32;
}

static void
add(struct buf *b, const void *p, size_t len)
{
	if (b->len + len > b->alloc) {
		b->alloc = (b->len + len) * 2;
		if ((b->p = realloc(b->p, b->alloc)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static int
tmpfile_with(const void *p, size_t len)
{
	int	fd;

	/* An unnamed file: nothing to clean up, nothing to race for. */
	if ((fd = open("/tmp", O_TMPFILE | O_RDWR, 0600)) == -1)
		abort();
	if (len > 0 && write(fd, p, len) != (ssize_t)len)
		abort();
	return fd;
}

/*
 * Send msg with the given arguments after fill octets of 'R' already in
 * the output buffer; the output, those included, lands in *out.
 */
static enum msgout_status
run_after(size_t fill, const void *msg, size_t len, long lines,
    uint64_t expect, uint64_t *sent, struct buf *out)
{
	enum msgout_status	st;
	off_t			end;
	int			in, outfd;

	in = tmpfile_with(msg, len);
	outfd = tmpfile_with(NULL, 0);
	io_init(&io, -1, outfd, 5000);
	memset(io.out, 'R', fill);
	io.outlen = fill;
	st = msgout_send(&io, in, lines, expect, sent);
	io_flush(&io);
	end = lseek(outfd, 0, SEEK_END);
	/* Past out[] is bytes_out: a write beyond the buffer shows there. */
	if (io.bytes_out != (uint64_t)end)
		st = MSGOUT_IOERR;
	free(out->p);
	memset(out, 0, sizeof(*out));
	out->p = malloc(end + 1);
	if (out->p == NULL || pread(outfd, out->p, end, 0) != end)
		abort();
	out->len = end;
	close(in);
	close(outfd);
	return st;
}

/* Send msg with the given arguments; the output lands in *out. */
static enum msgout_status
run(const void *msg, size_t len, long lines, uint64_t expect, uint64_t *sent,
    struct buf *out)
{
	return run_after(0, msg, len, lines, expect, sent, out);
}

/* The whole message sent with a correct size gives exactly want. */
static int
sends(const char *msg, const char *want)
{
	struct buf	out = { 0 };
	uint64_t	size, sent;
	int		fd, good;

	fd = tmpfile_with(msg, strlen(msg));
	size_count_fd_len(fd, UINT64_MAX, &size);
	close(fd);
	good = run(msg, strlen(msg), MSGOUT_ALL, size, &sent, &out) ==
	    MSGOUT_OK && out.len == strlen(want) &&
	    memcmp(out.p, want, out.len) == 0 && sent == size;
	free(out.p);
	return good;
}

static int
top(const char *msg, long lines, const char *want)
{
	struct buf	out = { 0 };
	uint64_t	sent;
	int		good;

	good = run(msg, strlen(msg), lines, 0, &sent, &out) == MSGOUT_OK &&
	    out.len == strlen(want) && memcmp(out.p, want, out.len) == 0;
	free(out.p);
	return good;
}

/* What RETR must send: the size rules, then stuffing, then ".\r\n". */
static void
model(const unsigned char *p, size_t len, struct buf *b)
{
	int	prev = -1;
	size_t	i;

	b->len = 0;
	for (i = 0; i < len; i++) {
		if ((prev == -1 || prev == '\n') && p[i] == '.')
			add(b, ".", 1);
		if (p[i] == '\n' && prev != '\r')
			add(b, "\r", 1);
		add(b, &p[i], 1);
		prev = p[i];
	}
	if (prev != -1 && prev != '\n')
		add(b, "\r\n", 2);
	add(b, ".\r\n", 3);
}

/* Length after removing the terminator and every stuffing dot. */
static size_t
unstuffed_len(const struct buf *b)
{
	size_t	i, n;

	if (b->len < 3 || memcmp(b->p + b->len - 3, ".\r\n", 3) != 0)
		return (size_t)-1;
	n = b->len - 3;
	for (i = 0; i < b->len - 3; i++)
		if (b->p[i] == '.' && (i == 0 || b->p[i - 1] == '\n'))
			n--;
	return n;
}

static void
test_basic(void)
{
	ok(sends("a\nb\n", "a\r\nb\r\n.\r\n"), "LF becomes CRLF");
	ok(sends("a\r\nb\r\n", "a\r\nb\r\n.\r\n"), "CRLF is kept");
	ok(sends(".a\n", "..a\r\n.\r\n"), "dot at message start is stuffed");
	ok(sends("x\n.y\n", "x\r\n..y\r\n.\r\n"), "dot after bare LF");
	ok(sends("x\r\n.y\r\n", "x\r\n..y\r\n.\r\n"), "dot after CRLF");
	ok(sends("..\n", "...\r\n.\r\n"), "a \"..\" line");
	ok(sends(".\n", "..\r\n.\r\n"), "a \".\" line is not the end");
	ok(sends("x\n.\r\n", "x\r\n..\r\n.\r\n"), "a \".\" CRLF line");
	ok(sends("a.b\n", "a.b\r\n.\r\n"), "dot inside a line is left");
	ok(sends("abc", "abc\r\n.\r\n"), "no final newline gets CRLF");
	ok(sends("", ".\r\n"), "empty message is the terminator only");
	ok(sends("a\rb", "a\rb\r\n.\r\n"), "lone CR is sent as is");
	ok(sends("a\r", "a\r\r\n.\r\n"), "final lone CR then CRLF");
	ok(sends("a\r.b\n", "a\r.b\r\n.\r\n"), "no stuffing after a lone CR");
	ok(sends("\n\n", "\r\n\r\n.\r\n"), "empty lines");
}

static void
test_top(void)
{
	static const char msg[] = "H1: a\nH2: b\n\nl1\n.l2\nl3\n";

	ok(top(msg, 0, "H1: a\r\nH2: b\r\n\r\n.\r\n"),
	    "TOP 0: header and blank line");
	ok(top(msg, 2, "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\n.\r\n"),
	    "TOP 2: two body lines, stuffed");
	ok(top(msg, 3, "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n"),
	    "TOP 3: exactly the body");
	ok(top(msg, 100, "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n"),
	    "TOP beyond the end");
	ok(top("H1\nH2\n", 0, "H1\r\nH2\r\n.\r\n"),
	    "no blank line: everything");
	ok(top("H1\nH2", 0, "H1\r\nH2\r\n.\r\n"),
	    "no blank line, no final newline");
	ok(top("H: a\r\n\r\nb1\r\nb2\r\n", 0, "H: a\r\n\r\n.\r\n"),
	    "CRLF blank line ends the header");
	ok(top("H: a\r\n\r\nb1\r\nb2\r\n", 1, "H: a\r\n\r\nb1\r\n.\r\n"),
	    "TOP 1 with CRLF");
	ok(top("H\n\nbody", 1, "H\r\n\r\nbody\r\n.\r\n"),
	    "last body line without newline");
	ok(top("\nbody\n", 0, "\r\n.\r\n"), "empty header");
	ok(top("H\n\n\n\nx\n", 1, "H\r\n\r\n\r\n.\r\n"),
	    "empty body lines count");
	ok(top("H\n \nb\n", 0, "H\r\n \r\nb\r\n.\r\n"),
	    "a space line is not blank");
	ok(top("", 5, ".\r\n"), "TOP of an empty message");
}

static void
test_boundaries(void)
{
	struct buf	out = { 0 }, want = { 0 };
	unsigned char	*p;
	size_t		len = 1024 * 1024 + 3, i;
	size_t		pos[] = { 65535, 65536, 131071 };
	uint64_t	size, sent;
	int		fd, good = 1;

	if ((p = malloc(len)) == NULL)
		abort();
	for (i = 0; i < len; i++)
		p[i] = (i % 77 == 76) ? '\n' : 'a' + i % 26;
	p[65534] = '\n';	/* '.' at the first read boundary */
	p[65535] = '.';
	p[131070] = '\r';	/* CR | LF across the second */
	p[131071] = '\n';
	p[196607] = '\n';	/* LF | '.' across the third */
	p[196608] = '.';
	fd = tmpfile_with(p, len);
	size_count_fd_len(fd, UINT64_MAX, &size);
	close(fd);
	ok(run(p, len, MSGOUT_ALL, size, &sent, &out) == MSGOUT_OK &&
	    sent == size, "1 MiB message: OK, sent == size");
	model(p, len, &want);
	ok(out.len == want.len && memcmp(out.p, want.p, out.len) == 0,
	    "1 MiB message: exact output across reads and flushes");
	ok(unstuffed_len(&out) == size, "1 MiB message: un-stuffed length");
	/* A '.' or a CR at every position around a boundary. */
	for (i = 0; i < sizeof(pos) / sizeof(pos[0]) && good; i++) {
		memset(p, 'x', 200000);
		p[pos[i] - 1] = '\n';
		p[pos[i]] = '.';
		p[pos[i] + 1] = '\r';
		p[pos[i] + 2] = '\n';
		fd = tmpfile_with(p, 200000);
		size_count_fd_len(fd, UINT64_MAX, &size);
		close(fd);
		model(p, 200000, &want);
		good = run(p, 200000, MSGOUT_ALL, size, &sent, &out) ==
		    MSGOUT_OK && out.len == want.len &&
		    memcmp(out.p, want.p, out.len) == 0;
	}
	ok(good, "dot and CRLF right at read boundaries");
	free(p);
	free(out.p);
	free(want.p);
}

/* RETR of msg after fill octets gives the model's output: 1, else 0. */
static int
matches(size_t fill, const unsigned char *msg, size_t len)
{
	struct buf	out = { 0 }, want = { 0 };
	uint64_t	size, sent;
	int		fd, good;

	fd = tmpfile_with(msg, len);
	size_count_fd_len(fd, UINT64_MAX, &size);
	close(fd);
	model(msg, len, &want);
	good = run_after(fill, msg, len, MSGOUT_ALL, size, &sent, &out) ==
	    MSGOUT_OK && sent == size && out.len == fill + want.len &&
	    memcmp(out.p + fill, want.p, want.len) == 0;
	free(out.p);
	free(want.p);
	return good;
}

/*
 * RETR copies eight octets at a time and leaves the rest of a read, and
 * the last octets of the output buffer, to the loop of one line at a
 * time: an LF, a CR or a '.' at every place in a word, two at a time,
 * and every fill of the output buffer near its end, against the model.
 * Short lines, and a '.' line of seven octets (the most a step writes),
 * shifted so that each starts everywhere.
 */
static void
test_words(void)
{
	static const unsigned char special[] = "\n\r.";
	static const char lines[] =
	    "ab\r\ncd\n.e\n\n.\r\n..\n.abcdef\nxy\r\n\r\n.";
	unsigned char	msg[40 + sizeof(lines)];
	size_t		i, j, a, fill, bad = 0, badfill = 0;

	for (i = 0; i < 20; i++)
		for (j = i; j < 20; j++)
			for (a = 0; a < 9; a++) {
				memset(msg, 'x', 20);
				msg[j] = special[a % 3];
				msg[i] = special[a / 3];
				bad += !matches(0, msg, 20);
			}
	ok(bad == 0, "LF, CR and '.' at every place of a word (%zu bad)", bad);
	for (i = 0; i < 40; i++) {
		memset(msg, 'y', i);
		memcpy(msg + i, lines, sizeof(lines) - 1);
		for (fill = IO_OUTBUF_SIZE - 64; fill <= IO_OUTBUF_SIZE; fill++)
			badfill += !matches(fill, msg, i + sizeof(lines) - 1);
	}
	ok(badfill == 0, "every fill of the output buffer's last 64 octets "
	    "(%zu bad)", badfill);
}

/* Random octets from a small alphabet so that every state is hit often. */
static void
test_random(void)
{
	static const unsigned char alphabet[] = "a.\r\n\n";
	struct buf	out = { 0 }, want = { 0 };
	unsigned char	*p;
	size_t		len, i, n, bad = 0, badlen = 0, badchg = 0;
	uint64_t	size, sent;
	int		fd;

	if ((p = malloc(200000)) == NULL)
		abort();
	for (n = 0; n < 60; n++) {
		len = (n % 3 == 0) ? 65536 - 3 + rnd() % 7 : rnd() % 200000;
		for (i = 0; i < len; i++)
			p[i] = (rnd() % 4) ? 'a' + rnd() % 3 :
			    alphabet[rnd() % 5];
		fd = tmpfile_with(p, len);
		size_count_fd_len(fd, UINT64_MAX, &size);
		close(fd);
		model(p, len, &want);
		if (run(p, len, MSGOUT_ALL, size, &sent, &out) != MSGOUT_OK ||
		    sent != size || out.len != want.len ||
		    memcmp(out.p, want.p, out.len) != 0)
			bad++;
		if (unstuffed_len(&out) != size)
			badlen++;
		if (run(p, len, MSGOUT_ALL, size + 1, &sent, &out) !=
		    MSGOUT_CHANGED || sent != size ||
		    out.len != want.len || memcmp(out.p, want.p, out.len) != 0)
			badchg++;
	}
	ok(bad == 0, "60 random messages match the model (%zu bad)", bad);
	ok(badlen == 0, "un-stuffed length == size_count_fd_len (%zu bad)",
	    badlen);
	ok(badchg == 0, "wrong expect gives MSGOUT_CHANGED, reply complete "
	    "(%zu bad)", badchg);
	free(p);
	free(out.p);
	free(want.p);
}

static void
test_errors(void)
{
	struct buf	out = { 0 };
	uint64_t	sent = 99;
	char		*big;
	int		in;

	ok(run("abc\n", 4, MSGOUT_ALL, 3, &sent, &out) == MSGOUT_CHANGED &&
	    sent == 5 && out.len == 8 && memcmp(out.p, "abc\r\n.\r\n", 8) == 0,
	    "expect too small: CHANGED, terminator sent");
	ok(run("H\n\nb\n", 5, 0, 0, &sent, &out) == MSGOUT_OK,
	    "TOP does not check expect");
	in = tmpfile_with(NULL, 0);
	io_init(&io, -1, in, 5000);
	ok(msgout_send(&io, -1, MSGOUT_ALL, 0, &sent) == MSGOUT_READERR &&
	    io.outlen == 3 && memcmp(io.out, ".\r\n", 3) == 0,
	    "read error: READERR, reply still terminated");
	close(in);
	if ((big = malloc(400000)) == NULL)
		abort();
	memset(big, 'x', 400000);
	in = tmpfile_with(big, 400000);
	io_init(&io, -1, -1, 5000);
	ok(msgout_send(&io, in, MSGOUT_ALL, 400002, &sent) == MSGOUT_IOERR,
	    "dead connection: IOERR");
	ok(msgout_send(&io, in, MSGOUT_ALL, 400002, &sent) == MSGOUT_IOERR,
	    "already failed connection: IOERR");
	close(in);
	free(big);
	free(out.p);
}

static void
test_after_reply(void)
{
	struct buf	out = { 0 };
	uint64_t	sent;
	int		in, outfd;
	off_t		end;

	in = tmpfile_with("x\n", 2);
	outfd = tmpfile_with(NULL, 0);
	io_init(&io, -1, outfd, 5000);
	io_reply(&io, "+OK %d octets", 3);
	ok(msgout_send(&io, in, MSGOUT_ALL, 3, &sent) == MSGOUT_OK &&
	    io_flush(&io) == 0, "after a reply line");
	end = lseek(outfd, 0, SEEK_END);
	out.p = malloc(end);
	ok(out.p != NULL && pread(outfd, out.p, end, 0) == 20 &&
	    memcmp(out.p, "+OK 3 octets\r\nx\r\n.\r\n", 20) == 0,
	    "reply line and body in order");
	close(in);
	close(outfd);
	free(out.p);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_basic();
	test_top();
	test_boundaries();
	test_words();
	test_random();
	test_errors();
	test_after_reply();
	return tap_done();
}
