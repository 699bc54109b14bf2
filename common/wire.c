/*
 * Encoding and strict decoding of the pre-login -> monitor request.
 */
#include <string.h>

#include "common/wire.h"

static const char *const wire_mech_names[] = {
	[MECH_USER] = "USER",
	[MECH_PLAIN] = "PLAIN",
	[MECH_APOP] = "APOP",
	[MECH_LOGIN] = "LOGIN",
	[MECH_SCRAM_SHA1] = "SCRAM-SHA-1",
	[MECH_SCRAM_SHA256] = "SCRAM-SHA-256",
	[MECH_SCRAM_SHA256_PLUS] = "SCRAM-SHA-256-PLUS",
};

static int
wire_mech_known(unsigned m)
{
	return m >= MECH_USER && m <= MECH_SCRAM_SHA256_PLUS;
}

const char *
wire_mech_name(enum wire_mech m)
{
	return wire_mech_known(m) ? wire_mech_names[m] : "USER";
}

int
wire_request_type(const unsigned char *buf, size_t len)
{
	if (len < 2 || buf[0] != WIRE_VERSION)
		return -1;
	return buf[1];
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
client_valid(const unsigned char *client, size_t len)
{
	static const unsigned char zero[12];

	if (len == 0)
		return 1;
	if (len != WIRE_CLIENT_LEN)
		return 0;
	if (client[0] == 6)
		return 1;
	return client[0] == 4 && memcmp(client + 5, zero, 12) == 0;
}

int
wire_decode_request(const unsigned char *buf, size_t len,
    struct wire_request *rq)
{
	size_t off = 3;

	if (len < 3 || buf[0] != WIRE_VERSION || !wire_mech_known(buf[1]) ||
	    (buf[2] & ~WIRE_RELAY) != 0)
		return -1;
	rq->mech = buf[1];
	rq->flags = buf[2];
	if (get_string(buf, len, &off, rq->user, AUTH_USER_MAX) == -1 ||
	    get_string(buf, len, &off, rq->pass, AUTH_PASS_MAX) == -1 ||
	    get_string(buf, len, &off, rq->tls, WIRE_TLS_MAX) == -1 ||
	    get_field(buf, len, &off, rq->client, sizeof(rq->client),
	    &rq->clientlen) == -1 ||
	    !client_valid(rq->client, rq->clientlen) ||
	    get_field(buf, len, &off, rq->carry, sizeof(rq->carry),
	    &rq->carrylen) == -1)
		return -1;
	if (off != len || ((rq->flags & WIRE_RELAY) && rq->carrylen != 0))
		return -1;
	return 0;
}

/* A nonce: printable ASCII without ',' (RFC 5802 section 7), not empty. */
static int
nonce_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || *s == ',')
			return 0;
	return 1;
}

long
wire_encode_scram_first(const struct wire_scram_first *f, unsigned char *buf,
    size_t len)
{
	size_t off = 0;

	if (len < 5)
		return -1;
	buf[off++] = WIRE_VERSION;
	buf[off++] = WIRE_SCRAM_FIRST;
	buf[off++] = f->mech;
	buf[off++] = f->cbind;
	buf[off++] = f->authzid ? 1 : 0;
	if (put_field(buf, len, &off, f->user, strlen(f->user)) == -1 ||
	    put_field(buf, len, &off, f->cnonce, strlen(f->cnonce)) == -1 ||
	    put_field(buf, len, &off, f->client, f->clientlen) == -1)
		return -1;
	return (long)off;
}

int
wire_decode_scram_first(const unsigned char *buf, size_t len,
    struct wire_scram_first *f)
{
	size_t off = 5;

	if (len < 5 || buf[0] != WIRE_VERSION || buf[1] != WIRE_SCRAM_FIRST ||
	    !MECH_IS_SCRAM(buf[2]) || buf[3] < CBIND_NONE ||
	    buf[3] > CBIND_ENDPOINT || buf[4] > 1)
		return -1;
	f->mech = buf[2];
	f->cbind = buf[3];
	f->authzid = buf[4];
	/* Channel binding is what -PLUS means, and only -PLUS (RFC 5802 6). */
	if ((f->mech == MECH_SCRAM_SHA256_PLUS) !=
	    (f->cbind == CBIND_EXPORTER || f->cbind == CBIND_ENDPOINT))
		return -1;
	if (get_string(buf, len, &off, f->user, AUTH_USER_MAX) == -1 ||
	    get_string(buf, len, &off, f->cnonce, SCRAM_NONCE_MAX) == -1 ||
	    get_field(buf, len, &off, f->client, sizeof(f->client),
	    &f->clientlen) == -1 || !client_valid(f->client, f->clientlen) ||
	    off != len || f->user[0] == '\0' || !nonce_ok(f->cnonce))
		return -1;
	return 0;
}

long
wire_encode_scram_final(const struct wire_scram_final *f, unsigned char *buf,
    size_t len)
{
	size_t off = 0;

	if (len < 2)
		return -1;
	buf[off++] = WIRE_VERSION;
	buf[off++] = WIRE_SCRAM_FINAL;
	if (put_field(buf, len, &off, f->cbind, f->cbindlen) == -1 ||
	    put_field(buf, len, &off, f->proof, f->prooflen) == -1)
		return -1;
	return (long)off;
}

int
wire_decode_scram_final(const unsigned char *buf, size_t len,
    struct wire_scram_final *f)
{
	size_t off = 2;

	if (len < 2 || buf[0] != WIRE_VERSION || buf[1] != WIRE_SCRAM_FINAL)
		return -1;
	if (get_field(buf, len, &off, f->cbind, sizeof(f->cbind),
	    &f->cbindlen) == -1 ||
	    get_field(buf, len, &off, f->proof, sizeof(f->proof),
	    &f->prooflen) == -1 || off != len)
		return -1;
	return 0;
}

long
wire_encode_answer(const struct wire_answer *a, unsigned char *buf,
    size_t len)
{
	size_t off = 0;

	if (len < 6)
		return -1;
	buf[off++] = WIRE_VERSION;
	buf[off++] = a->type;
	if (a->type == WIRE_SCRAM_CHALLENGE) {
		buf[off++] = a->iter >> 24 & 0xff;
		buf[off++] = a->iter >> 16 & 0xff;
		buf[off++] = a->iter >> 8 & 0xff;
		buf[off++] = a->iter & 0xff;
		if (put_field(buf, len, &off, a->salt, a->saltlen) == -1 ||
		    put_field(buf, len, &off, a->snonce,
		    strlen(a->snonce)) == -1)
			return -1;
	} else if (a->type == WIRE_SCRAM_SIGNATURE) {
		if (put_field(buf, len, &off, a->sig, a->siglen) == -1)
			return -1;
	}
	return (long)off;
}

int
wire_decode_answer(const unsigned char *buf, size_t len, struct wire_answer *a)
{
	size_t off = 2;

	if (len < 2 || buf[0] != WIRE_VERSION)
		return -1;
	a->type = buf[1];
	switch (a->type) {
	case VERDICT_OK:
	case VERDICT_FAIL:
	case VERDICT_FAIL_LAST:
	case VERDICT_TEMPFAIL:
	case VERDICT_REFUSED:
	case VERDICT_DELAY:
		break;
	case WIRE_SCRAM_CHALLENGE:
		if (len < 6)
			return -1;
		a->iter = (unsigned long)buf[2] << 24 | buf[3] << 16 |
		    buf[4] << 8 | buf[5];
		off = 6;
		if (a->iter < 1 || a->iter > SCRAM_ITER_MAX ||
		    get_field(buf, len, &off, a->salt, sizeof(a->salt),
		    &a->saltlen) == -1 || a->saltlen == 0 ||
		    get_string(buf, len, &off, a->snonce, SCRAM_NONCE_MAX) == -1 ||
		    !nonce_ok(a->snonce))
			return -1;
		break;
	case WIRE_SCRAM_SIGNATURE:
		if (get_field(buf, len, &off, a->sig, sizeof(a->sig),
		    &a->siglen) == -1 || a->siglen == 0)
			return -1;
		break;
	default:
		return -1;
	}
	return off == len ? 0 : -1;
}
