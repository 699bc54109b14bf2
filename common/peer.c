/*
 * The remote address for the logs.  Launchers disagree on where they put
 * it; the variables are read in a fixed order and each value must parse as
 * an IP address before it is believed, so a log line cannot be forged
 * through the environment of a misconfigured launcher.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/peer.h"

static const struct {
	const char *addr;
	const char *port;
} peer_vars[] = {
	{ "REMOTE_ADDR", "REMOTE_PORT" },	/* systemd socket activation */
	{ "TCPREMOTEIP", "TCPREMOTEPORT" },	/* tcpserver */
	{ "REMOTE_HOST", "REMOTE_PORT" },	/* xinetd, stunnel */
};

static int
is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int
is_port(const char *s)
{
	const char *errstr;

	if (s == NULL || strspn(s, "0123456789") != strlen(s))
		return 0;
	strtonum(s, 1, 65535, &errstr);
	return errstr == NULL;
}

static void
format(char *buf, size_t len, const char *addr, const char *port)
{
	int v6 = strchr(addr, ':') != NULL;

	if (port != NULL && is_port(port))
		snprintf(buf, len, v6 ? "[%s]:%s" : "%s:%s", addr, port);
	else
		snprintf(buf, len, "%s", addr);
}

static int
from_socket(char *buf, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			addr[INET6_ADDRSTRLEN], port[8];
	void			*a;
	unsigned		p;

	if (getpeername(0, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		a = &((struct sockaddr_in *)&ss)->sin_addr;
		p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else
		return -1;
	if (inet_ntop(ss.ss_family, a, addr, sizeof(addr)) == NULL)
		return -1;
	snprintf(port, sizeof(port), "%u", p);
	format(buf, len, addr, port);
	return 0;
}

int
peer_is_local(const char *remote)
{
	return strcmp(remote, "local") == 0 ||
	    strncmp(remote, "127.", 4) == 0 ||
	    strcmp(remote, "::1") == 0 || strncmp(remote, "[::1]", 5) == 0 ||
	    strncmp(remote, "::ffff:127.", 11) == 0 ||
	    strncmp(remote, "[::ffff:127.", 12) == 0;
}

void
peer_address(char *buf, size_t len)
{
	const char	*addr;
	size_t		 i;

	for (i = 0; i < sizeof(peer_vars) / sizeof(peer_vars[0]); i++) {
		addr = getenv(peer_vars[i].addr);
		if (addr != NULL && is_ip(addr)) {
			format(buf, len, addr, getenv(peer_vars[i].port));
			return;
		}
	}
	if (from_socket(buf, len) == -1)
		snprintf(buf, len, errno == ENOTSOCK ? "local" : "unknown");
}
