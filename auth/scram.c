/*
 * SCRAM computations with OpenSSL's HMAC and PBKDF2 (RFC 5802 section 3):
 *	SaltedPassword  = Hi(password, salt, i)	(PBKDF2-HMAC)
 *	ClientKey       = HMAC(SaltedPassword, "Client Key")
 *	StoredKey       = H(ClientKey)
 *	ServerKey       = HMAC(SaltedPassword, "Server Key")
 *	ClientSignature = HMAC(StoredKey, AuthMessage)
 *	ClientProof     = ClientKey XOR ClientSignature
 *	ServerSignature = HMAC(ServerKey, AuthMessage)
 * Every intermediate key is wiped before return.  OpenSSL is mapped at
 * the first computation (common/ossl.h): a login without SCRAM never
 * loads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/scram.h"
#include "common/base64.h"
#include "common/ossl.h"
#include "common/timingsafe.h"

static const EVP_MD *
scram_md(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t
scram_keylen(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? 20 : 32;
}

static int
scram_hmac(enum scram_hash h, const unsigned char *key, size_t keylen,
    const void *msg, size_t len, unsigned char *out)
{
	unsigned int n;

	return HMAC(scram_md(h), key, (int)keylen, msg, len, out, &n) != NULL &&
	    n == scram_keylen(h) ? 0 : -1;
}

int
scram_make(enum scram_hash h, const char *password, const unsigned char *salt,
    size_t saltlen, unsigned long iter, struct scram_verifier *v)
{
	unsigned char	salted[SCRAM_KEY_MAX], ckey[SCRAM_KEY_MAX];
	size_t		klen = scram_keylen(h);
	unsigned int	n;
	int		r = -1;

	if (saltlen == 0 || saltlen > SCRAM_SALT_MAX || iter < 1 ||
	    iter > SCRAM_ITER_MAX)
		return -1;
	ossl_load();
	memset(v, 0, sizeof(*v));
	v->hash = h;
	v->iter = iter;
	memcpy(v->salt, salt, saltlen);
	v->saltlen = saltlen;
	if (PKCS5_PBKDF2_HMAC(password, strlen(password), salt, saltlen,
	    (int)iter, scram_md(h), klen, salted) == 1 &&
	    scram_hmac(h, salted, klen, "Client Key", 10, ckey) == 0 &&
	    EVP_Digest(ckey, klen, v->stored, &n, scram_md(h), NULL) == 1 &&
	    scram_hmac(h, salted, klen, "Server Key", 10, v->server) == 0)
		r = 0;
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ckey, sizeof(ckey));
	return r;
}

/* One base64 field of exactly want octets (or 1..max when want is 0). */
static int
scram_field(const char *s, size_t len, unsigned char *out, size_t want,
    size_t max, size_t *got)
{
	long n;

	n = base64_decode(s, len, out, max);
	if (n <= 0 || (want != 0 && (size_t)n != want))
		return -1;
	if (got != NULL)
		*got = (size_t)n;
	return 0;
}

int
scram_parse(const char *data, enum scram_hash h, struct scram_verifier *v)
{
	const char	*f[4], *end;
	char		*ep;
	size_t		 i, klen = scram_keylen(h);

	memset(v, 0, sizeof(*v));
	f[0] = data;
	for (i = 1; i < 4; i++) {
		if ((f[i] = strchr(f[i - 1], ',')) == NULL)
			return -1;
		f[i]++;
	}
	if (strchr(f[3], ',') != NULL || data[0] < '1' || data[0] > '9')
		return -1;
	v->hash = h;
	v->iter = strtoul(data, &ep, 10);
	if (ep != f[1] - 1 || v->iter < 1 || v->iter > SCRAM_ITER_MAX)
		return -1;
	end = f[3] + strlen(f[3]);
	if (scram_field(f[1], f[2] - f[1] - 1, v->salt, 0, SCRAM_SALT_MAX,
	    &v->saltlen) == -1 ||
	    scram_field(f[2], f[3] - f[2] - 1, v->stored, klen, SCRAM_KEY_MAX,
	    NULL) == -1 ||
	    scram_field(f[3], end - f[3], v->server, klen, SCRAM_KEY_MAX,
	    NULL) == -1) {
		explicit_bzero(v, sizeof(*v));
		return -1;
	}
	return 0;
}

int
scram_format(const struct scram_verifier *v, char *out, size_t outlen)
{
	char	salt[SCRAM_SALT_MAX * 2], stored[SCRAM_KEY_MAX * 2],
		server[SCRAM_KEY_MAX * 2];
	size_t	klen = scram_keylen(v->hash);
	int	n = -1;

	if (base64_encode(v->salt, v->saltlen, salt, sizeof(salt)) != -1 &&
	    base64_encode(v->stored, klen, stored, sizeof(stored)) != -1 &&
	    base64_encode(v->server, klen, server, sizeof(server)) != -1)
		n = snprintf(out, outlen, "%lu,%s,%s,%s", v->iter, salt, stored,
		    server);
	explicit_bzero(server, sizeof(server));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
scram_password_matches(const struct scram_verifier *v, const char *password)
{
	struct scram_verifier	t;
	int			m;

	m = scram_make(v->hash, password, v->salt, v->saltlen, v->iter,
	    &t) == 0 &&
	    timingsafe_bcmp(t.stored, v->stored, scram_keylen(v->hash)) == 0;
	explicit_bzero(&t, sizeof(t));
	return m;
}

int
scram_check_proof(const struct scram_verifier *v, const char *authmsg,
    const unsigned char *proof, size_t prooflen, unsigned char *sig)
{
	unsigned char	csig[SCRAM_KEY_MAX], ckey[SCRAM_KEY_MAX],
			stored[SCRAM_KEY_MAX];
	size_t		i, klen = scram_keylen(v->hash), alen = strlen(authmsg);
	unsigned int	n;
	int		m = 0;

	ossl_load();
	if (prooflen == klen &&
	    scram_hmac(v->hash, v->stored, klen, authmsg, alen, csig) == 0) {
		for (i = 0; i < klen; i++)
			ckey[i] = proof[i] ^ csig[i];
		m = EVP_Digest(ckey, klen, stored, &n, scram_md(v->hash),
		    NULL) == 1 && timingsafe_bcmp(stored, v->stored, klen) == 0;
	}
	if (m && scram_hmac(v->hash, v->server, klen, authmsg, alen, sig) == -1)
		m = 0;
	explicit_bzero(csig, sizeof(csig));
	explicit_bzero(ckey, sizeof(ckey));
	explicit_bzero(stored, sizeof(stored));
	return m;
}

void
scram_fake(enum scram_hash h, const unsigned char *key, size_t keylen,
    const char *user, struct scram_verifier *v)
{
	unsigned char	mac[32];
	unsigned char	msg[1 + AUTH_USER_MAX];
	size_t		ulen = strnlen(user, AUTH_USER_MAX);
	unsigned int	n;

	ossl_load();
	msg[0] = (unsigned char)h;
	memcpy(msg + 1, user, ulen);
	memset(v, 0, sizeof(*v));
	if (HMAC(EVP_sha256(), key, (int)keylen, msg, 1 + ulen, mac, &n) == NULL)
		memset(mac, 0, sizeof(mac));
	v->hash = h;
	v->iter = SCRAM_ITER_MIN;
	v->saltlen = 16;	/* as pop3d-passwd and Dovecot write */
	memcpy(v->salt, mac, v->saltlen);
	/* Keys no proof can match: a random StoredKey. */
	arc4random_buf(v->stored, sizeof(v->stored));
	arc4random_buf(v->server, sizeof(v->server));
	explicit_bzero(mac, sizeof(mac));
}

int
scram_saslname(const char *name, char *out, size_t outlen)
{
	size_t	n = 0;
	const char *add;
	char	one[2] = { 0, 0 };

	for (; *name != '\0'; name++) {
		if (*name == ',')
			add = "=2C";
		else if (*name == '=')
			add = "=3D";
		else {
			one[0] = *name;
			add = one;
		}
		if (strlen(add) >= outlen - n)
			return -1;
		memcpy(out + n, add, strlen(add));
		n += strlen(add);
	}
	out[n] = '\0';
	return 0;
}
