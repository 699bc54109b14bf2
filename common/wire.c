/*
 * Encoding and strict decoding of the pre-login -> monitor request.
 */
#include <string.h>

#include "common/wire.h"

const char *
wire_mech_name(enum wire_mech m)
{
	return m == MECH_PLAIN ? "PLAIN" : m == MECH_APOP ? "APOP" : "USER";
}

static int
put_field(unsigned char *buf, size_t len, size_t *off, const void *p,
    size_t n)
{
	if (n > 0xffff || len - *off < 2 + n)
		return -1;
	buf[(*off)++] = n >> 8;
	buf[(*off)++] = n & 0xff;
	memcpy(buf + *off, p, n);
	*off += n;
	return 0;
}

long
wire_encode_request(const struct wire_request *rq, unsigned char *buf,
    size_t len)
{
	size_t off = 0;

	if (len < 3)
		return -1;
	buf[off++] = WIRE_VERSION;
	buf[off++] = rq->mech;
	buf[off++] = rq->flags;
	if (put_field(buf, len, &off, rq->user, strlen(rq->user)) == -1 ||
	    put_field(buf, len, &off, rq->pass, strlen(rq->pass)) == -1 ||
	    put_field(buf, len, &off, rq->tls, strlen(rq->tls)) == -1 ||
	    put_field(buf, len, &off, rq->client, rq->clientlen) == -1 ||
	    put_field(buf, len, &off, rq->carry, rq->carrylen) == -1)
		return -1;
	return (long)off;
}

/* Take one length-prefixed field of at most max octets. */
static int
get_field(const unsigned char *buf, size_t len, size_t *off, void *dst,
    size_t max, size_t *n)
{
	if (len - *off < 2)
		return -1;
	*n = (size_t)buf[*off] << 8 | buf[*off + 1];
	*off += 2;
	if (*n > max || len - *off < *n)
		return -1;
	memcpy(dst, buf + *off, *n);
	*off += *n;
	return 0;
}

static int
get_string(const unsigned char *buf, size_t len, size_t *off, char *dst,
    size_t max)
{
	size_t n;

	if (get_field(buf, len, off, dst, max, &n) == -1)
		return -1;
	dst[n] = '\0';
	return memchr(dst, '\0', n) == NULL ? 0 : -1;
}

/* No client, or family 4 or 6 with an IPv4 address's unused octets zero. */
static int
client_valid(const struct wire_request *rq)
{
	static const unsigned char zero[12];

	if (rq->clientlen == 0)
		return 1;
	if (rq->clientlen != WIRE_CLIENT_LEN)
		return 0;
	if (rq->client[0] == 6)
		return 1;
	return rq->client[0] == 4 && memcmp(rq->client + 5, zero, 12) == 0;
}

int
wire_decode_request(const unsigned char *buf, size_t len,
    struct wire_request *rq)
{
	size_t off = 3;

	if (len < 3 || buf[0] != WIRE_VERSION ||
	    (buf[1] != MECH_USER && buf[1] != MECH_PLAIN && buf[1] != MECH_APOP) ||
	    (buf[2] & ~WIRE_RELAY) != 0)
		return -1;
	rq->mech = buf[1];
	rq->flags = buf[2];
	if (get_string(buf, len, &off, rq->user, AUTH_USER_MAX) == -1 ||
	    get_string(buf, len, &off, rq->pass, AUTH_PASS_MAX) == -1 ||
	    get_string(buf, len, &off, rq->tls, WIRE_TLS_MAX) == -1 ||
	    get_field(buf, len, &off, rq->client, sizeof(rq->client),
	    &rq->clientlen) == -1 || !client_valid(rq) ||
	    get_field(buf, len, &off, rq->carry, sizeof(rq->carry),
	    &rq->carrylen) == -1)
		return -1;
	if (off != len || ((rq->flags & WIRE_RELAY) && rq->carrylen != 0))
		return -1;
	return 0;
}
