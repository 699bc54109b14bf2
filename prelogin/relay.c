/*
 * The relay loop: two fixed buffers, one per direction, and poll(2).
 * It never holds more than RELAY_BUF octets a direction, so a client that
 * does not read stalls the session instead of growing memory.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "prelogin/relay.h"
#include "prelogin/tls.h"

struct pipe_buf {
	unsigned char	data[RELAY_BUF];
	size_t		off, len;
	int		eof;		/* the source side has closed */
};

static struct pipe_buf	up;	/* client -> session */
static struct pipe_buf	down;	/* session -> client */
static uint64_t		down_sent;	/* octets the client has taken */

/* Client -> up: through TLS, as much as the buffer takes. */
static int
fill_up(struct io *io)
{
	long n = io->tr.read(io, up.data, sizeof(up.data));

	if (n > 0) {
		up.off = 0;
		up.len = n;
		return 0;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		up.eof = 1;
		return n == 0 ? 0 : -1;
	}
	return 0;
}

/* up -> session. */
static int
drain_up(int fd)
{
	ssize_t n = write(fd, up.data + up.off, up.len - up.off);

	if (n > 0) {
		up.off += n;
		if (up.off == up.len)
			up.off = up.len = 0;
		return 0;
	}
	return n == -1 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* Session -> down. */
static int
fill_down(int fd)
{
	ssize_t n = read(fd, down.data, sizeof(down.data));

	if (n > 0) {
		down.off = 0;
		down.len = n;
		return 0;
	}
	if (n == 0) {
		down.eof = 1;
		return 0;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/* down -> client, through TLS. */
static int
drain_down(struct io *io)
{
	long n = io->tr.write(io, down.data + down.off, down.len - down.off);

	if (n > 0) {
		down_sent += n;
		down.off += n;
		if (down.off == down.len)
			down.off = down.len = 0;
		return 0;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static void
watch(struct pollfd *p, int fd, short events)
{
	p->fd = events != 0 ? fd : -1;
	p->events = events;
	p->revents = 0;
}

/*
 * How long poll(2) may wait: the idle limit, or less while the client has
 * a reply to take, counted from the last octet it took.
 */
static int
wait_ms(int idle_ms, int send_ms, long long stalled_since)
{
	long long left;

	if (down.len == 0)
		return idle_ms;
	left = stalled_since + send_ms - clock_ms();
	if (left < 0)
		return 0;
	return left < idle_ms ? (int)left : idle_ms;
}

enum relay_end
relay_run(struct io *io, int sfd, int idle_ms, int send_ms)
{
	struct pollfd		 pfd[3];
	const unsigned char	*pend;
	size_t			 plen;
	uint64_t		 before;
	long long		 stalled_since = clock_ms();
	int			 n, fl, timed_out = 0;

	pend = io_pending(io, &plen);
	memcpy(up.data, pend, plen);
	up.len = plen;
	io_discard_pending(io);
	if ((fl = fcntl(sfd, F_GETFL)) == -1 ||
	    fcntl(sfd, F_SETFL, fl | O_NONBLOCK) == -1)
		return RELAY_DONE;

	while (!(down.eof && down.len == 0)) {
		if (up.eof && up.len == 0) {
			/* The client is gone: tell the session, keep draining. */
			shutdown(sfd, SHUT_WR);
			up.eof = 2;
		}
		if (up.len == 0 && !up.eof && io->tr.pending != NULL &&
		    io->tr.pending(io)) {
			if (fill_up(io) == -1)
				break;
			continue;
		}
		before = down_sent;
		watch(&pfd[0], io->infd, up.len == 0 && !up.eof ? POLLIN : 0);
		watch(&pfd[1], sfd, (up.len > 0 ? POLLOUT : 0) |
		    (down.len == 0 && !down.eof ? POLLIN : 0));
		watch(&pfd[2], io->outfd, down.len > 0 ? POLLOUT : 0);
		if ((n = poll(pfd, 3, wait_ms(idle_ms, send_ms,
		    stalled_since))) == 0) {
			timed_out = 1;
			break;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((pfd[0].revents && fill_up(io) == -1) ||
		    (pfd[1].revents & (POLLOUT | POLLERR) && up.len > 0 &&
		    drain_up(sfd) == -1) ||
		    (pfd[1].revents & (POLLIN | POLLHUP) && down.len == 0 &&
		    fill_down(sfd) == -1) ||
		    (pfd[2].revents && drain_down(io) == -1))
			break;
		if (down.len == 0 || down_sent != before)
			stalled_since = clock_ms();
	}
	tls_close(io);
	close(sfd);
	return timed_out ? RELAY_TIMEOUT : RELAY_DONE;
}
