#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cidr.h"

#define ENTRY_MAX	64	/* "ffff:...:ffff/128" fits */

/* One entry into family, address and prefix length; -1 if malformed. */
static int
entry_parse(const char *s, size_t len, int *family, unsigned char addr[16],
    int *bits)
{
	char		 buf[ENTRY_MAX];
	const char	*errstr;
	char		*slash;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		*family = 4;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*family = 6;
	else
		return -1;
	*bits = *family == 4 ? 32 : 128;
	if (slash != NULL) {
		if (strspn(slash, "0123456789") != strlen(slash))
			return -1;
		*bits = (int)strtonum(slash, 0, *bits, &errstr);
		if (errstr != NULL)
			return -1;
	}
	return 0;
}

static int
prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int	bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	return rest == 0 ||
	    ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Call fn on each entry; stops at the first that returns non-zero. */
static int
each_entry(const char *list, int (*fn)(const char *, size_t, void *),
    void *arg)
{
	size_t	n;
	int	rv;

	for (;;) {
		list += strspn(list, ", \t");
		if (*list == '\0')
			return 0;
		n = strcspn(list, ", \t");
		if ((rv = fn(list, n, arg)) != 0)
			return rv;
		list += n;
	}
}

struct check {
	char	*err;
	size_t	 errlen;
};

static int
check_one(const char *s, size_t n, void *arg)
{
	struct check	*c = arg;
	unsigned char	 addr[16];
	int		 family, bits;

	if (entry_parse(s, n, &family, addr, &bits) == 0)
		return 0;
	snprintf(c->err, c->errlen, "'%.*s' is not an address or address/"
	    "length", (int)(n > ENTRY_MAX ? ENTRY_MAX : n), s);
	return -1;
}

int
cidr_list_check(const char *list, char *err, size_t errlen)
{
	struct check c = { err, errlen };

	return each_entry(list, check_one, &c);
}

struct match {
	int			 family;
	const unsigned char	*addr;
};

static int
match_one(const char *s, size_t n, void *arg)
{
	struct match	*m = arg;
	unsigned char	 net[16];
	int		 family, bits;

	if (entry_parse(s, n, &family, net, &bits) == -1 ||
	    family != m->family)
		return 0;
	return prefix_equal(net, m->addr, bits);
}

int
cidr_list_match(const char *list, int family, const unsigned char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct match m = { family, addr };

	if (family == 6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		m.family = 4;
		m.addr = addr + 12;
	}
	return each_entry(list, match_one, &m) == 1;
}

int
cidr_parse_peer(const char *peer, unsigned char addr[16])
{
	char		 buf[ENTRY_MAX];
	const char	*end;
	size_t		 n;

	if (peer[0] == '[') {
		peer++;
		end = strchr(peer, ']');
	} else if ((end = strchr(peer, ':')) != NULL && strchr(end + 1, ':'))
		end = NULL;		/* a bare IPv6 address */
	n = end != NULL ? (size_t)(end - peer) : strlen(peer);
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, peer, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return 6;
	return 0;
}
