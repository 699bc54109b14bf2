/*
 * The POP3 size of a message, counted by the rules msgout_send() writes by:
 * every LF not preceded by CR gains a CR, and a message that does not end
 * with LF gains a CRLF.  Lines are found with memchr(3), so a large file is
 * counted at memory speed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "store/size.h"

/* One read(2) per 64 KiB: few syscalls, still a modest stack frame. */
#define SIZE_CHUNK	(64 * 1024)

void
size_init(struct size_counter *sc)
{
	sc->octets = 0;
	sc->last = -1;
}

void
size_feed(struct size_counter *sc, const void *buf, size_t len)
{
	const unsigned char	*p = buf, *end = p + len, *lf;
	int			 prev = sc->last;

	if (len == 0)
		return;
	sc->octets += len;
	while ((lf = memchr(p, '\n', end - p)) != NULL) {
		if (lf > p)
			prev = lf[-1];
		if (prev != '\r')
			sc->octets++;	/* the CR that LF gains */
		prev = '\n';
		p = lf + 1;
	}
	sc->last = end[-1];
}

uint64_t
size_finish(const struct size_counter *sc)
{
	if (sc->last == -1 || sc->last == '\n')
		return sc->octets;
	return sc->octets + 2;		/* the CRLF added at the end */
}

int
size_count_fd_len(int fd, uint64_t len, uint64_t *size)
{
	unsigned char		buf[SIZE_CHUNK];
	struct size_counter	sc;
	uint64_t		off = 0;
	ssize_t			n;

	size_init(&sc);
	while (off < len) {
		n = pread(fd, buf, len - off < sizeof(buf) ? len - off :
		    sizeof(buf), off);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		size_feed(&sc, buf, n);
		off += n;
	}
	*size = size_finish(&sc);
	return 0;
}
