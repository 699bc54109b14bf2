/*
 * PLAIN: [authzid] NUL authcid NUL passwd, each without NUL.  We log in
 * only as ourselves, so an authzid naming someone else is refused.
 */
#include <string.h>

#include "common/base64.h"
#include "prelogin/sasl.h"

enum sasl_plain_status
sasl_plain_parse(const unsigned char *msg, size_t len, char *user, char *pass)
{
	const unsigned char	*z1, *z2;
	size_t			 zlen, ulen, plen;

	if ((z1 = memchr(msg, '\0', len)) == NULL)
		return SASL_PLAIN_MALFORMED;
	zlen = z1 - msg;
	if ((z2 = memchr(z1 + 1, '\0', len - zlen - 1)) == NULL)
		return SASL_PLAIN_MALFORMED;
	ulen = z2 - (z1 + 1);
	plen = len - zlen - ulen - 2;
	if (ulen == 0 || ulen > AUTH_USER_MAX || plen > AUTH_PASS_MAX ||
	    memchr(z2 + 1, '\0', plen) != NULL)
		return SASL_PLAIN_MALFORMED;
	if (zlen != 0 && (zlen != ulen || memcmp(msg, z1 + 1, ulen) != 0))
		return SASL_PLAIN_AUTHZID;
	memcpy(user, z1 + 1, ulen);
	user[ulen] = '\0';
	memcpy(pass, z2 + 1, plen);
	pass[plen] = '\0';
	return SASL_PLAIN_OK;
}

/* A saslname up to ',' or the end, decoded into out (room for max + 1). */
static int
scram_name(const char **p, const char *end, char *out, size_t max)
{
	const char	*s = *p;
	size_t		 n = 0;
	char		 c;

	for (; s < end && *s != ','; s++) {
		c = *s;
		if (c == '=') {
			if (end - s < 3)
				return -1;
			if (s[1] == '2' && s[2] == 'C')
				c = ',';
			else if (s[1] == '3' && s[2] == 'D')
				c = '=';
			else
				return -1;
			s += 2;
		}
		if (n == max)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	*p = s;
	return n == 0 ? -1 : 0;
}

/* "key=" at *p; moves past it. */
static int
scram_key(const char **p, const char *end, char key)
{
	if (end - *p < 2 || (*p)[0] != key || (*p)[1] != '=')
		return -1;
	*p += 2;
	return 0;
}

/* Up to ',' or the end: [*p, *e). */
static void
scram_value(const char **p, const char *end, const char **v, size_t *vlen)
{
	const char *c = memchr(*p, ',', end - *p);

	*v = *p;
	*vlen = (c != NULL ? c : end) - *p;
	*p += *vlen;
}

static enum sasl_scram_status
scram_gs2(const char **p, const char *end, struct wire_scram_first *f)
{
	const char	*v;
	size_t		 vlen;

	if (*p == end)
		return SASL_SCRAM_MALFORMED;
	if (**p == 'n' || **p == 'y') {
		f->cbind = **p == 'n' ? CBIND_NONE : CBIND_CLIENT;
		(*p)++;
	} else if (scram_key(p, end, 'p') == 0) {
		scram_value(p, end, &v, &vlen);
		if (vlen == 12 && memcmp(v, "tls-exporter", 12) == 0)
			f->cbind = CBIND_EXPORTER;
		else if (vlen == 20 && memcmp(v, "tls-server-end-point", 20) == 0)
			f->cbind = CBIND_ENDPOINT;
		else
			return SASL_SCRAM_CBTYPE;
	} else
		return SASL_SCRAM_MALFORMED;
	if (*p == end || *(*p)++ != ',')
		return SASL_SCRAM_MALFORMED;
	return SASL_SCRAM_OK;
}

enum sasl_scram_status
sasl_scram_first(const unsigned char *msg, size_t len,
    struct wire_scram_first *f)
{
	const char		*p = (const char *)msg, *end = p + len, *v;
	char			 authzid[AUTH_USER_MAX + 1];
	size_t			 vlen;
	enum sasl_scram_status	 st;

	if (memchr(msg, '\0', len) != NULL)
		return SASL_SCRAM_MALFORMED;
	if ((st = scram_gs2(&p, end, f)) != SASL_SCRAM_OK)
		return st;
	f->authzid = 0;
	if (p < end && *p == 'a') {
		if (scram_key(&p, end, 'a') == -1 ||
		    scram_name(&p, end, authzid, AUTH_USER_MAX) == -1)
			return SASL_SCRAM_MALFORMED;
		f->authzid = 1;
	}
	if (p == end || *p++ != ',' || scram_key(&p, end, 'n') == -1 ||
	    scram_name(&p, end, f->user, AUTH_USER_MAX) == -1 ||
	    p == end || *p++ != ',' || scram_key(&p, end, 'r') == -1)
		return SASL_SCRAM_MALFORMED;
	scram_value(&p, end, &v, &vlen);
	if (p != end || vlen == 0 || vlen > SCRAM_NONCE_MAX)
		return SASL_SCRAM_MALFORMED;
	memcpy(f->cnonce, v, vlen);
	f->cnonce[vlen] = '\0';
	for (v = f->cnonce; *v != '\0'; v++)
		if (*v < 0x21 || *v > 0x7e)
			return SASL_SCRAM_MALFORMED;
	if (f->authzid && strcmp(authzid, f->user) != 0)
		return SASL_SCRAM_AUTHZID;
	return SASL_SCRAM_OK;
}

enum sasl_scram_status
sasl_scram_final(const unsigned char *msg, size_t len,
    struct wire_scram_final *f)
{
	const char	*p = (const char *)msg, *end = p + len, *v;
	size_t		 vlen;
	long		 n;

	if (memchr(msg, '\0', len) != NULL || scram_key(&p, end, 'c') == -1)
		return SASL_SCRAM_MALFORMED;
	scram_value(&p, end, &v, &vlen);
	if (vlen == 0 || p == end || *p++ != ',' ||
	    scram_key(&p, end, 'r') == -1)
		return SASL_SCRAM_MALFORMED;
	scram_value(&p, end, &v, &vlen);
	if (vlen == 0 || p == end || *p++ != ',' ||
	    scram_key(&p, end, 'p') == -1)
		return SASL_SCRAM_MALFORMED;
	scram_value(&p, end, &v, &vlen);
	if (p != end ||
	    (n = base64_decode(v, vlen, f->proof, sizeof(f->proof))) <= 0)
		return SASL_SCRAM_MALFORMED;
	f->prooflen = (size_t)n;
	return SASL_SCRAM_OK;
}
