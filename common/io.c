/*
 * Connection I/O.  The reader owns a fixed buffer: a line longer than the
 * caller's limit is answered once and its tail, up to the next LF, is
 * thrown away so that it can never be taken for a command.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/io.h"

static long
plain_read(struct io *io, void *buf, size_t len)
{
	return read(io->infd, buf, len);
}

static long
plain_write(struct io *io, const void *buf, size_t len)
{
	return write(io->outfd, buf, len);
}

static int
nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	return (fl & O_NONBLOCK) ? 0 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
io_init(struct io *io, int infd, int outfd, int timeout_ms)
{
	io->infd = infd;
	io->outfd = outfd;
	io->timeout_ms = timeout_ms;
	io->send_timeout_ms = timeout_ms;
	io->deadline = 0;
	io->failed = 0;
	io->timed_out = 0;
	io->tr.read = plain_read;
	io->tr.write = plain_write;
	io->tr.pending = NULL;
	io->tr.ctx = NULL;
	io->inoff = io->inlen = io->outlen = 0;
	io->discarding = 0;
	io->bytes_out = 0;
	return nonblocking(infd) == -1 || nonblocking(outfd) == -1 ? -1 : 0;
}

void
io_send_timeout(struct io *io, int ms)
{
	io->send_timeout_ms = ms;
}

void
io_deadline(struct io *io, long long deadline_ms)
{
	io->deadline = deadline_ms;
}

/* now + ms, but never past the absolute deadline. */
static long long
io_until(const struct io *io, int ms)
{
	long long t = clock_ms() + ms;

	return io->deadline != 0 && io->deadline < t ? io->deadline : t;
}

/* Wait until fd is ready for events or the deadline passes: 1, 0 or -1. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	pfd;
	long long	left;
	int		n;

	for (;;) {
		left = deadline - clock_ms();
		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * The deadline restarts with every octet the peer accepts: a slow reader
 * is served, one that takes nothing for send_timeout_ms is dropped.
 */
int
io_flush(struct io *io)
{
	long long	deadline = io_until(io, io->send_timeout_ms);
	size_t		off = 0;
	long		n;
	int		ready;

	while (off < io->outlen && !io->failed) {
		n = io->tr.write(io, io->out + off, io->outlen - off);
		if (n > 0) {
			off += n;
			deadline = io_until(io, io->send_timeout_ms);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN &&
		    (ready = wait_fd(io->outfd, POLLOUT, deadline)) != 0) {
			if (ready > 0)
				continue;
		} else if (n < 0 && errno == EAGAIN)
			io->timed_out = 1;
		io->failed = 1;
	}
	io->bytes_out += off;
	io->outlen = 0;
	return io->failed ? -1 : 0;
}

int
io_write(struct io *io, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t room;

	while (len > 0) {
		if (io->failed)
			return -1;
		room = sizeof(io->out) - io->outlen;
		if (room == 0) {
			if (io_flush(io) == -1)
				return -1;
			continue;
		}
		if (room > len)
			room = len;
		memcpy(io->out + io->outlen, p, room);
		io->outlen += room;
		p += room;
		len -= room;
	}
	return io->failed ? -1 : 0;
}

unsigned char *
io_wspace(struct io *io, size_t *room)
{
	if (io->outlen == sizeof(io->out))
		io_flush(io);
	*room = sizeof(io->out) - io->outlen;
	return io->out + io->outlen;
}

void
io_wcommit(struct io *io, size_t n)
{
	io->outlen += n;
}

int
io_reply(struct io *io, const char *fmt, ...)
{
	char	line[POP3_REPLY_MAX - 1];	/* text + NUL; CRLF added below */
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		line[0] = '\0';
	if (io_write(io, line, strlen(line)) == -1)
		return -1;
	return io_write(io, "\r\n", 2);
}

int
io_preload(struct io *io, const void *buf, size_t len)
{
	if (len > sizeof(io->in) - io->inlen)
		return -1;
	memcpy(io->in + io->inlen, buf, len);
	io->inlen += len;
	return 0;
}

const unsigned char *
io_pending(const struct io *io, size_t *len)
{
	*len = io->inlen - io->inoff;
	return io->in + io->inoff;
}

void
io_discard_pending(struct io *io)
{
	io->inoff = io->inlen = 0;
	io->discarding = 0;
}

/* Read more input, flushing replies first: the client waits for them. */
static enum io_status
fill(struct io *io, long long deadline)
{
	long	n;
	int	ready;

	if (io->inoff > 0) {
		memmove(io->in, io->in + io->inoff, io->inlen - io->inoff);
		io->inlen -= io->inoff;
		io->inoff = 0;
	}
	if (io_flush(io) == -1)
		return IO_ERROR;
	for (;;) {
		if (io->tr.pending == NULL || !io->tr.pending(io)) {
			ready = wait_fd(io->infd, POLLIN, deadline);
			if (ready == 0)
				return IO_TIMEOUT;
			if (ready < 0)
				return IO_ERROR;
		}
		n = io->tr.read(io, io->in + io->inlen,
		    sizeof(io->in) - io->inlen);
		if (n > 0) {
			io->inlen += n;
			return IO_LINE;
		}
		if (n == 0)
			return IO_EOF;
		if (errno != EINTR && errno != EAGAIN)
			return IO_ERROR;
	}
}

enum io_status
io_readline(struct io *io, char *line, size_t max, size_t *len)
{
	long long	 deadline = io_until(io, io->timeout_ms);
	unsigned char	*start, *lf;
	size_t		 avail, n;
	enum io_status	 st;

	for (;;) {
		start = io->in + io->inoff;
		avail = io->inlen - io->inoff;
		lf = memchr(start, '\n', avail);
		if (lf == NULL) {
			if (io->discarding || avail > max + 1) {
				/* Over-long: drop what we have, keep dropping to LF. */
				io->discarding = 1;
				io->inoff = io->inlen = 0;
			}
			if ((st = fill(io, deadline)) != IO_LINE)
				return st;
			continue;
		}
		n = lf - start;
		io->inoff += n + 1;
		if (io->discarding) {
			io->discarding = 0;
			return IO_TOOLONG;
		}
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n > max)
			return IO_TOOLONG;
		if (memchr(start, '\0', n) != NULL)
			return IO_BADCHAR;
		memcpy(line, start, n);
		line[n] = '\0';
		*len = n;
		/* The line may hold a password: keep one copy, the caller's. */
		explicit_bzero(start, lf + 1 - start);
		return IO_LINE;
	}
}
