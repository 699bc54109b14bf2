/*
 * The multi-line writer.  One pass over 64 KiB reads, straight into the
 * connection's output buffer; the line state (at a line start, the octet
 * before, header or body, body lines left) carries from one read to the
 * next, so a CRLF or a leading '.' split between two reads comes out as if
 * read at once.
 *
 * RETR copies and searches eight octets at a time (send_words()): mail
 * lines are short, and a memchr(3) and a memcpy(3) for each line of some
 * 40 octets were two fifths of a session's CPU time in a pipelined
 * RETR of every message.  TOP, the octets near the
 * end of a read or of the output buffer, and over-long lines go through
 * the loop of one line at a time (send_line()); both keep the same state.
 *
 * The octets counted are those size.c counts: everything sent but the
 * stuffing dots and the terminator.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "session/msgout.h"

#define MSGOUT_CHUNK	(64 * 1024)

struct msgout {
	struct io	*io;
	unsigned char	*w;		/* next free octet in io->out */
	size_t		 room;		/* free octets at w */
	size_t		 used;		/* octets before w not yet committed */
	uint64_t	 counted;
	size_t		 linelen;	/* octets of the current line so far */
	int		 last;		/* last octet sent, -1 before any */
	int		 bol;		/* at the start of a line */
	int		 body;		/* past the header's blank line */
	long		 left;		/* body lines to send, -1 for all */
	int		 done;		/* TOP has sent its lines */
};

/* Hand the filled octets to io and take the free space after them. */
static int
reserve(struct msgout *mo)
{
	io_wcommit(mo->io, mo->used);
	mo->used = 0;
	mo->w = io_wspace(mo->io, &mo->room);
	return mo->io->failed || mo->room == 0 ? -1 : 0;
}

static inline int
put(struct msgout *mo, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 n;

	while (len > 0) {
		if (mo->room == 0 && reserve(mo) == -1)
			return -1;
		n = len < mo->room ? len : mo->room;
		memcpy(mo->w, p, n);
		mo->w += n;
		mo->room -= n;
		mo->used += n;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * An LF: it gains a CR unless one precedes it.  A line that is empty or a
 * lone CR ends the header; TOP then counts the body lines.
 */
static int
end_line(struct msgout *mo)
{
	int	blank;

	blank = mo->linelen == 0 || (mo->linelen == 1 && mo->last == '\r');

	if (mo->last == '\r' && mo->linelen > 0) {
		if (put(mo, "\n", 1) == -1)
			return -1;
		mo->counted += 1;
	} else {
		if (put(mo, "\r\n", 2) == -1)
			return -1;
		mo->counted += 2;
	}
	mo->last = '\n';
	mo->bol = 1;
	mo->linelen = 0;
	if (mo->left < 0)
		return 0;
	if (mo->body) {
		if (--mo->left == 0)
			mo->done = 1;
	} else if (blank) {
		mo->body = 1;
		if (mo->left == 0)
			mo->done = 1;
	}
	return 0;
}

/*
 * The octets up to and with the next LF, or to end: NULL when the
 * connection failed, else where it stopped.
 */
static const unsigned char *
send_line(struct msgout *mo, const unsigned char *p, const unsigned char *end)
{
	const unsigned char	*lf, *stop;
	size_t			 n;

	if (mo->bol && *p == '.' && put(mo, ".", 1) == -1)
		return NULL;
	mo->bol = 0;
	lf = memchr(p, '\n', end - p);
	stop = lf != NULL ? lf : end;
	if ((n = stop - p) > 0) {
		if (put(mo, p, n) == -1)
			return NULL;
		mo->counted += n;
		mo->linelen += n;
		mo->last = stop[-1];
	}
	if (lf == NULL)
		return end;
	if (end_line(mo) == -1)
		return NULL;
	return lf + 1;
}

/* 0x80 in each octet of x that is an LF, and 0 in every other. */
static inline uint64_t
lf_octets(uint64_t x)
{
	const uint64_t	low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
	uint64_t	t = x ^ UINT64_C(0x0a0a0a0a0a0a0a0a);

	/* Exact, unlike the shorter test for a zero octet: no borrow. */
	return ~(((t & low7) + low7) | t | low7);
}

/* Which of the eight octets, in memory order, is the first marked in m. */
static inline unsigned int
first_octet(uint64_t m)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_ctzll(m) / 8;
#else
	return __builtin_clzll(m) / 8;
#endif
}

/*
 * A step writes at most ten octets: a stuffing '.', then the eight copied,
 * or, with an LF at the last, seven of them and a CR and an LF.
 */
#define WORD_STEP_ROOM	10

/*
 * RETR's loop: eight octets are copied to the output whole and searched
 * for an LF at once; from an LF on they are written over with CR LF and
 * what follows.  It runs while the read holds eight octets and the
 * output buffer a step's worth, and returns where it stopped: the rest
 * is send_line()'s.  The same rules as send_line() and end_line(): an LF
 * gains a CR unless one precedes it, a '.' that starts a line is doubled.
 */
static const unsigned char *
send_words(struct msgout *mo, const unsigned char *p, const unsigned char *end)
{
	const unsigned char	*start = p, *line = NULL;
	unsigned char		*w = mo->w, *lim = mo->w + mo->room;
	uint64_t		 x, m;
	size_t			 dots = 0, n;
	unsigned int		 k;
	int			 bol = mo->bol, prev;

	while (end - p >= 8 && lim - w >= WORD_STEP_ROOM) {
		if (bol && *p == '.') {
			*w++ = '.';
			dots++;
		}
		bol = 0;
		memcpy(&x, p, 8);
		memcpy(w, &x, 8);
		if ((m = lf_octets(x)) == 0) {
			p += 8;
			w += 8;
			continue;
		}
		k = first_octet(m);
		prev = k > 0 ? p[k - 1] : p > start ? p[-1] : mo->last;
		w += k;
		if (prev != '\r')
			*w++ = '\r';
		*w++ = '\n';
		p += k + 1;
		line = p;
		bol = 1;
	}
	if (p == start)
		return p;
	n = w - mo->w;
	mo->counted += n - dots;
	mo->used += n;
	mo->room -= n;
	mo->w = w;
	mo->last = p[-1];
	mo->bol = bol;
	if (line != NULL)
		mo->linelen = p - line;
	else
		mo->linelen += p - start;
	return p;
}

static int
send_chunk(struct msgout *mo, const unsigned char *p, size_t len)
{
	const unsigned char	*end = p + len;

	while (p < end && !mo->done) {
		if (mo->left < 0 && (p = send_words(mo, p, end)) == end)
			break;
		if ((p = send_line(mo, p, end)) == NULL)
			return -1;
	}
	return 0;
}

/* The message does not end with an LF: finish() adds a CRLF. */
static int
unended(const struct msgout *mo)
{
	return mo->last != -1 && mo->last != '\n';
}

/* A CRLF for a message that does not end with one, and ".\r\n". */
static int
finish(struct msgout *mo)
{
	if (unended(mo)) {
		if (put(mo, "\r\n", 2) == -1)
			return -1;
		mo->counted += 2;
	}
	if (put(mo, ".\r\n", 3) == -1)
		return -1;
	io_wcommit(mo->io, mo->used);
	mo->used = 0;
	return 0;
}

enum msgout_status
msgout_send(struct io *io, int fd, long body_lines, uint64_t expect,
    uint64_t *sent)
{
	unsigned char		buf[MSGOUT_CHUNK];
	struct msgout		mo;
	enum msgout_status	st = MSGOUT_OK;
	off_t			off = 0;
	ssize_t			n;

	memset(&mo, 0, sizeof(mo));
	mo.io = io;
	mo.last = -1;
	mo.bol = 1;
	mo.left = body_lines < 0 ? -1 : body_lines;
	*sent = 0;
	if (io->failed)
		return MSGOUT_IOERR;
	mo.w = io_wspace(io, &mo.room);
	while (!mo.done) {
		if ((n = pread(fd, buf, sizeof(buf), off)) == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			st = MSGOUT_READERR;
			break;
		}
		off += n;
		if (send_chunk(&mo, buf, n) == -1) {
			st = MSGOUT_IOERR;
			break;
		}
		/*
		 * A regular file is read whole up to its end: a shorter read
		 * that brings the count to the listed size ends the message
		 * without the read that returns 0, a system call a message.
		 * Were the file longer after all, it could only be by an LF
		 * or a CRLF, which is what finish() sends in its place.
		 */
		if ((size_t)n < sizeof(buf) &&
		    mo.counted + (unended(&mo) ? 2 : 0) == expect)
			break;
	}
	if (st != MSGOUT_IOERR && finish(&mo) == -1)
		st = MSGOUT_IOERR;
	*sent = mo.counted;
	if (st == MSGOUT_OK && body_lines < 0 && mo.counted != expect)
		st = MSGOUT_CHANGED;
	return st;
}
