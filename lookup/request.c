/*
 * The lookup's request (lookup.h): encoded by the monitor's helper before
 * it executes pop3d-ldap, decoded there.  Neither side trusts the other's
 * lengths: every string is bounded and NUL-terminated inside the message.
 */
#include <string.h>

#include "lookup/lookup.h"

static long
put(unsigned char *buf, size_t len, size_t n, const char *s, size_t max)
{
	size_t l = strlen(s);

	if (l > max || l + 1 > len - n)
		return -1;
	memcpy(buf + n, s, l + 1);
	return (long)(n + l + 1);
}

long
lookup_request_encode(const char *user, const char *pass, const char *bindpw,
    unsigned char *buf, size_t len)
{
	long n;

	if (len < 1)
		return -1;
	buf[0] = LOOKUP_VERSION;
	if ((n = put(buf, len, 1, user, AUTH_USER_MAX)) == -1 ||
	    (n = put(buf, len, n, pass, AUTH_PASS_MAX)) == -1 ||
	    (n = put(buf, len, n, bindpw, LOOKUP_BINDPW_MAX)) == -1)
		return -1;
	return n;
}

/* One NUL-terminated string at *p, at most max octets, into out. */
static int
get(const unsigned char **p, const unsigned char *end, char *out, size_t max)
{
	const unsigned char	*nul;
	size_t			 l;

	if ((nul = memchr(*p, '\0', end - *p)) == NULL ||
	    (l = nul - *p) > max)
		return -1;
	memcpy(out, *p, l + 1);
	*p = nul + 1;
	return 0;
}

int
lookup_request_decode(const unsigned char *m, size_t n,
    struct lookup_request *rq)
{
	const unsigned char *p = m + 1, *end = m + n;

	memset(rq, 0, sizeof(*rq));
	if (n < 1 || n > LOOKUP_REQUEST_MAX || m[0] != LOOKUP_VERSION ||
	    get(&p, end, rq->user, AUTH_USER_MAX) == -1 ||
	    get(&p, end, rq->pass, AUTH_PASS_MAX) == -1 ||
	    get(&p, end, rq->bindpw, LOOKUP_BINDPW_MAX) == -1 || p != end) {
		explicit_bzero(rq, sizeof(*rq));
		return -1;
	}
	return 0;
}
