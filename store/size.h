/*
 * The size of a message as POP3 reports it: the octets RETR sends for the
 * message with every bare LF turned into CRLF (an existing CRLF counts two),
 * a final CRLF added when the file does not end with LF, and before
 * byte-stuffing.  This is what poplib and other clients count after
 * un-stuffing, and what RFC 1939 section 11 asks for.
 */
#ifndef POP3D_SIZE_H
#define POP3D_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Count the first len octets of the file in fd (fewer if the file is
 * shorter; UINT64_MAX for all of it) from offset 0; -1 on read error.
 * With the length from fstat(2) this saves the read(2) that finds the end.
 */
int		size_count_fd_len(int fd, uint64_t len, uint64_t *size);

/*
 * For the unit tests, which feed the counter in pieces split anywhere:
 * the counter that size_count_fd_len() runs over each read.
 */
struct size_counter {
	uint64_t	octets;
	int		last;	/* last octet seen, -1 before any */
};

void		size_init(struct size_counter *);
void		size_feed(struct size_counter *, const void *, size_t);
uint64_t	size_finish(const struct size_counter *);

#endif
