/*
 * The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer in
 * front of pop3d says, before anything else on the connection, who the
 * client is.  It is network input: parsed here, in the pre-login process,
 * with a deadline and fixed limits, and believed only because the monitor
 * found the connection's real peer in proxy_from (see pop3d.conf(5)).
 */
#ifndef POP3D_PROXY_H
#define POP3D_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"

struct proxy_info {
	int		family;		/* 4, 6, or 0: LOCAL or UNKNOWN */
	unsigned char	addr[16];	/* the client: 4 or 16 octets */
	uint16_t	port;
	int		tls;		/* v2: the client spoke TLS to the proxy */
};

enum proxy_status {
	PROXY_OK,
	PROXY_MORE,		/* a prefix of a header: read more */
	PROXY_BAD		/* not a well-formed header */
};

/*
 * Parse the first len octets of a connection.  On PROXY_OK *used is the
 * header's length; *need says, on PROXY_MORE, how many octets in all are
 * needed at least.  Pure: the unit tests and the fuzz target call these.
 */
enum proxy_status proxy_parse(const unsigned char *buf, size_t len,
	    struct proxy_info *, size_t *used, size_t *need);

/*
 * Read exactly one header from fd, never an octet past it (what follows
 * belongs to TLS or POP3), by the deadline (clock_ms()).  0, or -1 with a
 * reason in err.
 */
int	proxy_read(int fd, long long deadline, struct proxy_info *,
	    char *err, size_t errlen);

/* "a.b.c.d:port" or "[v6]:port" for the logs. */
void	proxy_format(const struct proxy_info *, char *buf, size_t len);

#endif
