/*
 * The multi-line writer against the size counter: for any message, the
 * octets RETR sends, once un-stuffed and without the terminator, are as
 * many as LIST reported, and the reply ends in CRLF.CRLF.  It is also
 * exactly what a plain per-octet model of the rules sends, and the
 * output buffer starts at a fill taken from the input, so that the copy
 * of eight octets at a time meets its end anywhere.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "session/msgout.h"
#include "store/size.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct io	io;
static unsigned char	out[4 * 65536 + 16];
static unsigned char	want[4 * 65536 + 16];

/* What RETR must send: LF to CRLF, stuffing, a last CRLF, ".\r\n". */
static size_t
model(const unsigned char *p, size_t len)
{
	size_t	i, n = 0;
	int	prev = -1;

	for (i = 0; i < len; i++) {
		if ((prev == -1 || prev == '\n') && p[i] == '.')
			want[n++] = '.';
		if (p[i] == '\n' && prev != '\r')
			want[n++] = '\r';
		want[n++] = p[i];
		prev = p[i];
	}
	if (prev != -1 && prev != '\n') {
		want[n++] = '\r';
		want[n++] = '\n';
	}
	memcpy(want + n, ".\r\n", 3);
	return n + 3;
}

/* Un-stuff the reply; returns the body length or -1 if malformed. */
static long
unstuffed(const unsigned char *p, size_t n)
{
	size_t	i, body = 0;
	int	bol = 1;

	if (n < 3 || memcmp(p + n - 3, ".\r\n", 3) != 0 ||
	    (n > 3 && memcmp(p + n - 5, "\r\n", 2) != 0))
		return -1;
	for (i = 0; i < n - 3; i++) {
		if (bol && p[i] == '.') {
			if (i + 1 >= n - 3 || p[i + 1] != '.')
				return -1;	/* an unstuffed dot line */
			i++;
		}
		body++;
		bol = p[i] == '\n';
	}
	return (long)body;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint64_t	size, sent;
	size_t		fill, wlen;
	int		fd, ofd;
	ssize_t		n;

	if (len > 65536)
		return 0;
	fd = memfd_create("msg", 0);
	ofd = memfd_create("out", 0);
	if (fd == -1 || ofd == -1 || write(fd, data, len) != (ssize_t)len)
		__builtin_trap();
	if (size_count_fd_len(fd, UINT64_MAX, &size) == -1)
		__builtin_trap();
	/* Up to 64 octets short of full, else empty. */
	fill = len > 0 && data[0] < 64 ? IO_OUTBUF_SIZE - data[0] : 0;
	io_init(&io, -1, ofd, 1000);
	memset(io.out, 'R', fill);
	io.outlen = fill;
	if (msgout_send(&io, fd, MSGOUT_ALL, size, &sent) != MSGOUT_OK ||
	    io_flush(&io) == -1 || sent != size ||
	    io.bytes_out != (uint64_t)lseek(ofd, 0, SEEK_END))
		__builtin_trap();
	n = pread(ofd, out, sizeof(out), fill);
	if (n < 0 || unstuffed(out, n) != (long)size)
		__builtin_trap();
	wlen = model(data, len);
	if ((size_t)n != wlen || memcmp(out, want, wlen) != 0)
		__builtin_trap();
	io_init(&io, -1, ofd, 1000);
	ftruncate(ofd, 0);
	msgout_send(&io, fd, len % 7, size, &sent);
	io_flush(&io);
	close(fd);
	close(ofd);
	return 0;
}
