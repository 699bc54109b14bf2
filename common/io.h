/*
 * Connection I/O: one bounded line reader and the buffered writer behind
 * which every byte sent to the client passes.
 *
 * Reads wait with poll(2) against a deadline; nothing here uses alarm(2).
 * Replies are buffered and flushed when the reader has no complete line left,
 * so a pipelined burst of commands is answered in one write.
 */
#ifndef POP3D_IO_H
#define POP3D_IO_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"
#include "common/clock.h"

enum io_status {
	IO_LINE,	/* a line, without its CRLF or LF, NUL-terminated */
	IO_TOOLONG,	/* longer than the limit; the rest up to LF was discarded */
	IO_BADCHAR,	/* the line held a NUL octet; discarded */
	IO_EOF,		/* the client closed the connection */
	IO_TIMEOUT,	/* no complete line before the deadline */
	IO_ERROR	/* read or write failed; errno says why */
};

struct io;

/* Transport hooks: plain fds now, TLS later.  Return as read(2)/write(2). */
struct io_transport {
	long	(*read)(struct io *, void *, size_t);
	long	(*write)(struct io *, const void *, size_t);
	int	(*pending)(struct io *);	/* input buffered below us; may be NULL */
	void	*ctx;
};

struct io {
	int			 infd;
	int			 outfd;
	int			 timeout_ms;	/* per read; reset by each line */
	int			 send_timeout_ms; /* a write that makes no progress */
	long long		 deadline;	/* CLOCK_MONOTONIC ms ending all I/O; 0: none */
	int			 failed;	/* a write failed: stop talking */
	int			 timed_out;	/* ... because the peer took nothing */
	struct io_transport	 tr;
	size_t			 inoff;		/* first unconsumed octet */
	size_t			 inlen;		/* octets held in in[] */
	size_t			 outlen;
	int			 discarding;	/* dropping an over-long line up to LF */
	unsigned char		 in[IO_INBUF_SIZE];
	unsigned char		 out[IO_OUTBUF_SIZE];
	uint64_t		 bytes_out;	/* total octets sent */
};

/*
 * Both descriptors are made non-blocking: every read and every write waits
 * in poll(2) against a deadline, so a peer that stops reading cannot hold
 * a process (and the maildrop lock) for ever.  The write deadline is
 * timeout_ms without progress until io_send_timeout() says otherwise.
 */
int	io_init(struct io *, int infd, int outfd, int timeout_ms);
void	io_send_timeout(struct io *, int ms);
/* An absolute end to all I/O (clock_ms(); the AUTHORIZATION phase's), or 0. */
void	io_deadline(struct io *, long long deadline_ms);

/*
 * Read one line of at most max octets (CRLF excluded) into line[], which
 * must hold max + 1.  Accepts CRLF and bare LF.  Flushes pending output
 * before it blocks.
 */
enum io_status io_readline(struct io *, char *line, size_t max, size_t *len);

/* Seed the input with octets read ahead by an earlier process. */
int	io_preload(struct io *, const void *, size_t);

/* The octets read but not yet consumed (pipelined input). */
const unsigned char *io_pending(const struct io *, size_t *len);

/* Forget unconsumed input (after STLS: never execute plaintext leftovers). */
void	io_discard_pending(struct io *);

/*
 * One reply line: printf-style, CRLF appended.  Truncated to the RFC 2449
 * limit of 512 octets.  Returns 0, or -1 when the connection is dead.
 */
int	io_reply(struct io *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Raw buffered output; the multi-line writer builds on it. */
int	io_write(struct io *, const void *, size_t);
/* Room left in out[] and a commit after filling it in place. */
unsigned char *io_wspace(struct io *, size_t *room);
void	io_wcommit(struct io *, size_t n);
int	io_flush(struct io *);

#endif
