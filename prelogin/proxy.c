/*
 * PROXY protocol headers, versions 1 and 2, in the unprivileged pre-login
 * process.  Every length is checked before it is used; a header is read
 * octet by octet where its end is not known yet, so nothing that follows
 * it is consumed.  See proxy.h.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "prelogin/proxy.h"

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V2_HEADER	16		/* signature, version/command, family, length */
#define V2_TCP4		12		/* two addresses and two ports */
#define V2_TCP6		36
#define PP2_TYPE_SSL	0x20
#define PP2_CLIENT_SSL	0x01

/* A port: 1 to 5 digits, no leading zero, at most 65535. */
static int
v1_port(const char *s, uint16_t *port)
{
	const char	*errstr;
	size_t		 n = strspn(s, "0123456789");

	if (n == 0 || n > 5 || s[n] != '\0' || (s[0] == '0' && n > 1))
		return -1;
	*port = (uint16_t)strtonum(s, 0, 65535, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* "TCP4 src dst sport dport", after "PROXY ", CRLF removed. */
static enum proxy_status
v1_fields(char *line, struct proxy_info *pi)
{
	char		*f[6], *p = line;
	unsigned char	 dst[16];
	uint16_t	 dport;
	int		 n = 0, af;

	if (strncmp(line, "UNKNOWN", 7) == 0 && (line[7] == '\0' ||
	    line[7] == ' ')) {
		pi->family = 0;		/* the rest is to be ignored */
		return PROXY_OK;
	}
	while (n < 6 && (f[n] = strsep(&p, " ")) != NULL)
		n++;
	if (n != 5 || p != NULL)
		return PROXY_BAD;
	if (strcmp(f[0], "TCP4") == 0) {
		af = AF_INET;
		pi->family = 4;
	} else if (strcmp(f[0], "TCP6") == 0) {
		af = AF_INET6;
		pi->family = 6;
	} else
		return PROXY_BAD;
	if (inet_pton(af, f[1], pi->addr) != 1 || inet_pton(af, f[2], dst) != 1 ||
	    v1_port(f[3], &pi->port) == -1 || v1_port(f[4], &dport) == -1)
		return PROXY_BAD;
	return PROXY_OK;
}

static enum proxy_status
parse_v1(const unsigned char *buf, size_t len, struct proxy_info *pi,
    size_t *used, size_t *need)
{
	char			line[PROXY_V1_MAX + 1];
	const unsigned char	*lf;
	size_t			 n;

	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) != 0)
		return PROXY_BAD;
	if ((lf = memchr(buf, '\n', len)) == NULL) {
		if (len >= PROXY_V1_MAX)
			return PROXY_BAD;
		*need = len + 1;	/* where it ends is not known yet */
		return PROXY_MORE;
	}
	n = lf - buf + 1;
	if (n < 8 || n > PROXY_V1_MAX || buf[n - 2] != '\r' ||
	    memchr(buf, '\0', n) != NULL)
		return PROXY_BAD;
	memcpy(line, buf + 6, n - 8);
	line[n - 8] = '\0';
	*used = n;
	return v1_fields(line, pi);
}

/* The TLVs after the addresses: bounded, and only PP2_TYPE_SSL is read. */
static enum proxy_status
v2_tlvs(const unsigned char *p, size_t len, struct proxy_info *pi)
{
	size_t n;

	while (len > 0) {
		if (len < 3)
			return PROXY_BAD;
		n = (size_t)p[1] << 8 | p[2];
		if (n > len - 3)
			return PROXY_BAD;
		if (p[0] == PP2_TYPE_SSL) {
			if (n < 5)
				return PROXY_BAD;
			pi->tls = (p[3] & PP2_CLIENT_SSL) != 0;
		}
		p += 3 + n;
		len -= 3 + n;
	}
	return PROXY_OK;
}

static enum proxy_status
parse_v2(const unsigned char *buf, size_t len, struct proxy_info *pi,
    size_t *used, size_t *need)
{
	size_t	body, addrs;
	int	cmd;

	if (memcmp(buf, v2_sig, len < 12 ? len : 12) != 0)
		return PROXY_BAD;
	if (len < V2_HEADER) {
		*need = V2_HEADER;
		return PROXY_MORE;
	}
	if ((buf[12] >> 4) != 2 || ((cmd = buf[12] & 0x0f) != 0 && cmd != 1))
		return PROXY_BAD;
	body = (size_t)buf[14] << 8 | buf[15];
	if (body > PROXY_V2_BODY_MAX)
		return PROXY_BAD;
	if (len < V2_HEADER + body) {
		*need = V2_HEADER + body;
		return PROXY_MORE;
	}
	*used = V2_HEADER + body;
	switch (buf[13]) {
	case 0x11:			/* TCP over IPv4 */
		pi->family = 4;
		addrs = V2_TCP4;
		break;
	case 0x21:			/* TCP over IPv6 */
		pi->family = 6;
		addrs = V2_TCP6;
		break;
	case 0x00:			/* UNSPEC: the proxy's own connection */
		pi->family = 0;
		addrs = 0;
		break;
	default:			/* UDP or a unix socket: not POP3 */
		return PROXY_BAD;
	}
	if (body < addrs)
		return PROXY_BAD;
	if (addrs > 0) {
		memcpy(pi->addr, buf + V2_HEADER, pi->family == 4 ? 4 : 16);
		pi->port = (uint16_t)(buf[V2_HEADER + addrs - 4] << 8 |
		    buf[V2_HEADER + addrs - 3]);
	}
	if (cmd == 0)			/* LOCAL: health check, no client */
		pi->family = 0;
	return v2_tlvs(buf + V2_HEADER + addrs, body - addrs, pi);
}

enum proxy_status
proxy_parse(const unsigned char *buf, size_t len, struct proxy_info *pi,
    size_t *used, size_t *need)
{
	memset(pi, 0, sizeof(*pi));
	*used = 0;
	*need = 1;
	if (len == 0)
		return PROXY_MORE;
	if (buf[0] == 'P')
		return parse_v1(buf, len, pi, used, need);
	if (buf[0] == v2_sig[0])
		return parse_v2(buf, len, pi, used, need);
	return PROXY_BAD;
}

/* Read exactly n more octets into buf + *len by the deadline. */
static int
read_more(int fd, unsigned char *buf, size_t *len, size_t want,
    long long deadline)
{
	struct pollfd	pfd;
	long long	left;
	ssize_t		n;

	while (*len < want) {
		if ((left = deadline - clock_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) <= 0)
			continue;
		n = read(fd, buf + *len, want - *len);
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return -1;
		if (n > 0)
			*len += n;
	}
	return 0;
}

int
proxy_read(int fd, long long deadline, struct proxy_info *pi, char *err,
    size_t errlen)
{
	unsigned char		buf[V2_HEADER + PROXY_V2_BODY_MAX];
	enum proxy_status	st;
	size_t			len = 0, used, need;

	while ((st = proxy_parse(buf, len, pi, &used, &need)) == PROXY_MORE) {
		if (need > sizeof(buf) || need <= len) {
			snprintf(err, errlen, "PROXY header too long");
			return -1;
		}
		if (read_more(fd, buf, &len, need, deadline) == -1) {
			snprintf(err, errlen, "PROXY header: %s",
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
			return -1;
		}
	}
	if (st == PROXY_BAD) {
		snprintf(err, errlen, "PROXY header malformed");
		return -1;
	}
	return 0;
}

void
proxy_format(const struct proxy_info *pi, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (pi->family == 0 || inet_ntop(pi->family == 4 ? AF_INET : AF_INET6,
	    pi->addr, addr, sizeof(addr)) == NULL) {
		snprintf(buf, len, "unknown");
		return;
	}
	snprintf(buf, len, pi->family == 4 ? "%s:%u" : "[%s]:%u", addr,
	    (unsigned)pi->port);
}
