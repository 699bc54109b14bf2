/*
 * Password checks for the monitor and hashing for pop3d-passwd.
 *
 * Every crypt(3) call goes through crypt_rn() with one static work area
 * (about 32 KiB, too large for a stack we want small), wiped after each use
 * because it holds the pass phrase and the intermediate state.  Results are
 * compared in constant time with timingsafe_bcmp(); only lengths, which
 * are not secret, are compared in the ordinary way.  No check but SCRAM's
 * needs OpenSSL (libmd hashes {PLAIN}), so most logins never map it.
 */
#include <crypt.h>
#include <sha2.h>		/* libmd, which libbsd links: no OpenSSL */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/password.h"
#include "auth/scram.h"
#include "common/log.h"
#include "common/timingsafe.h"
#include "params.h"

enum pw_kind {
	PW_CRYPT,
	PW_PLAIN,
	PW_SCRAM_SHA1,
	PW_SCRAM_SHA256
};

struct pw_scheme {
	const char	*name;
	enum pw_kind	 kind;
	const char	*prefix[3];	/* the hash starts with one; none: any */
	const char	*gensalt;	/* for crypt_gensalt_rn(); NULL: no hashing */
	int		 tagged;	/* password_hash() writes "{name}" first */
	/* crypt_gensalt_rn()'s count, checked here: it clamps some. */
	unsigned long	 rounds_min, rounds_max, rounds_default;
};

/*
 * Default costs.  SHA-crypt keeps crypt(3)'s 5000 rounds, which the dummy
 * check below costs as much as.  bcrypt gets cost 10 (2^10 rounds), not
 * crypt(3)'s 5, which is too cheap for a password that may leak;
 * yescrypt keeps libxcrypt's 5.
 */
static const struct pw_scheme pw_schemes[] = {
	{ "SHA512-CRYPT", PW_CRYPT, { "$6$" }, "$6$", 1, 1000, 999999999, 5000 },
	{ "SHA256-CRYPT", PW_CRYPT, { "$5$" }, "$5$", 1, 1000, 999999999, 5000 },
	{ "BLF-CRYPT", PW_CRYPT, { "$2y$", "$2b$", "$2a$" }, "$2b$", 1,
	    4, 31, 10 },
	/* Written bare, as crypt(5) and other tools know it. */
	{ "YESCRYPT", PW_CRYPT, { "$y$" }, "$y$", 0, 1, 11, 5 },
	/*
	 * SCRAM verifiers (auth/scram.h) also check USER/PASS and PLAIN.
	 * 4096 iterations: RFC 7677's minimum and Dovecot's default.
	 */
	{ "SCRAM-SHA-256", PW_SCRAM_SHA256, { NULL }, NULL, 1,
	    SCRAM_ITER_MIN, SCRAM_ITER_MAX, SCRAM_ITER_MIN },
	{ "SCRAM-SHA-1", PW_SCRAM_SHA1, { NULL }, NULL, 1,
	    SCRAM_ITER_MIN, SCRAM_ITER_MAX, SCRAM_ITER_MIN },
	{ "PLAIN", PW_PLAIN, { NULL }, NULL, 1, 0, 0, 0 },
	/* Last: PW_CRYPT_ANY, for hashes stored without a scheme. */
	{ "CRYPT", PW_CRYPT, { NULL }, NULL, 1, 0, 0, 0 },
};
#define PW_NSCHEMES	(sizeof(pw_schemes) / sizeof(pw_schemes[0]))
#define PW_CRYPT_ANY	(&pw_schemes[PW_NSCHEMES - 1])

/*
 * SHA512-CRYPT of a random pass phrase, with a fixed salt and the default
 * 5000 rounds: what a check of a real SHA512-CRYPT entry costs.
 */
static const char pw_dummy_hash[] =
    "$6$pop3dummysalt$wqrO7L0Lw1hx8hT0aVyBm14t8CwOhFQbaK0NjccAmjwsOjuCSP"
    "kddhDpDvBV3wtkOOxnXRMx.8kNT8I7pMGrL1";

static struct crypt_data	pw_cd;

/* Read by nothing; keeps the work of the dummy check from being dropped. */
static volatile int		pw_sink;

static const struct pw_scheme *
pw_scheme_byname(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < PW_NSCHEMES; i++)
		if (strlen(pw_schemes[i].name) == len &&
		    strncasecmp(pw_schemes[i].name, name, len) == 0)
			return &pw_schemes[i];
	return NULL;
}

/* Split "{SCHEME}data"; a hash with no scheme is a crypt(3) string. */
static const struct pw_scheme *
pw_split(const char *stored, const char **data)
{
	const struct pw_scheme	*s;
	const char		*end;

	if (stored[0] != '{') {
		*data = stored;
		return PW_CRYPT_ANY;
	}
	if ((end = strchr(stored, '}')) == NULL)
		return NULL;
	if ((s = pw_scheme_byname(stored + 1, end - stored - 1)) == NULL)
		return NULL;
	*data = end + 1;
	return s;
}

static int
pw_prefix_ok(const struct pw_scheme *s, const char *hash)
{
	size_t	i;

	if (s->prefix[0] == NULL)
		return 1;
	for (i = 0; i < sizeof(s->prefix) / sizeof(s->prefix[0]); i++)
		if (s->prefix[i] != NULL &&
		    strncmp(hash, s->prefix[i], strlen(s->prefix[i])) == 0)
			return 1;
	return 0;
}

static enum password_result
pw_crypt_verify(const char *hash, const char *password)
{
	enum password_result	 r;
	const char		*out;
	size_t			 len;

	len = strlen(hash);
	if (len == 0 || len >= CRYPT_OUTPUT_SIZE)
		return PASSWORD_BADHASH;
	out = crypt_rn(password, hash, &pw_cd, sizeof(pw_cd));
	if (out == NULL || out[0] == '*')
		r = PASSWORD_BADHASH;
	else if (strlen(out) != len)
		r = PASSWORD_BADHASH;	/* a setting without the hash part */
	else if (timingsafe_bcmp(out, hash, len) == 0)
		r = PASSWORD_MATCH;
	else
		r = PASSWORD_MISMATCH;
	explicit_bzero(&pw_cd, sizeof(pw_cd));
	return r;
}

static void
pw_sha256(const char *s, unsigned char md[SHA256_DIGEST_LENGTH])
{
	SHA2_CTX	ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const unsigned char *)s, strlen(s));
	SHA256Final(md, &ctx);
	explicit_bzero(&ctx, sizeof(ctx));
}

/*
 * Compare SHA-256 digests rather than the strings: the digests have one
 * length, so the time taken does not depend on where the two differ or on
 * how long the stored password is, beyond the cost of hashing it.
 */
static enum password_result
pw_plain_verify(const char *stored, const char *password)
{
	unsigned char		a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
	enum password_result	r;

	if (stored[0] == '\0')
		return PASSWORD_BADHASH;
	pw_sha256(stored, a);
	pw_sha256(password, b);
	r = timingsafe_bcmp(a, b, sizeof(a)) == 0 ? PASSWORD_MATCH :
	    PASSWORD_MISMATCH;
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	return r;
}

static enum scram_hash
pw_scram_hash(const struct pw_scheme *s)
{
	return s->kind == PW_SCRAM_SHA1 ? SCRAM_SHA1 : SCRAM_SHA256;
}

static enum password_result
pw_scram_verify(const struct pw_scheme *s, const char *data,
    const char *password)
{
	struct scram_verifier	v;
	enum password_result	r;

	if (scram_parse(data, pw_scram_hash(s), &v) == -1)
		return PASSWORD_BADHASH;
	r = scram_password_matches(&v, password) ? PASSWORD_MATCH :
	    PASSWORD_MISMATCH;
	explicit_bzero(&v, sizeof(v));
	return r;
}

/* 16 random octets of salt, as Dovecot writes. */
static int
pw_scram_hash_new(const struct pw_scheme *s, unsigned long rounds,
    const char *password, char *out, size_t outlen)
{
	struct scram_verifier	v;
	unsigned char		salt[16];
	int			n, r = -1;

	arc4random_buf(salt, sizeof(salt));
	n = snprintf(out, outlen, "{%s}", s->name);
	if (n > 0 && (size_t)n < outlen &&
	    scram_make(pw_scram_hash(s), password, salt, sizeof(salt), rounds,
	    &v) == 0)
		r = scram_format(&v, out + n, outlen - n);
	explicit_bzero(&v, sizeof(v));
	return r;
}

/* An empty password never matches, whatever is stored. */
enum password_result
password_verify(const char *stored, const char *password)
{
	const struct pw_scheme	*s;
	const char		*data;
	enum password_result	 r;

	if (strlen(stored) > AUTH_HASH_MAX ||
	    (s = pw_split(stored, &data)) == NULL)
		return PASSWORD_BADHASH;
	/* Longer than any PASS can carry: the client knows its length. */
	if (strlen(password) > AUTH_PASS_MAX)
		return PASSWORD_MISMATCH;
	if (s->kind == PW_PLAIN)
		r = pw_plain_verify(data, password);
	else if (s->kind == PW_SCRAM_SHA1 || s->kind == PW_SCRAM_SHA256)
		r = pw_scram_verify(s, data, password);
	else if (!pw_prefix_ok(s, data))
		r = PASSWORD_BADHASH;
	else
		r = pw_crypt_verify(data, password);
	if (r == PASSWORD_MATCH && password[0] == '\0')
		r = PASSWORD_MISMATCH;
	return r;
}

void
password_dummy_verify(const char *password)
{
	const char	*out;
	size_t		 len = sizeof(pw_dummy_hash) - 1;

	if (strlen(password) > AUTH_PASS_MAX)
		return;		/* as password_verify() */
	out = crypt_rn(password, pw_dummy_hash, &pw_cd, sizeof(pw_cd));
	pw_sink = out != NULL && strlen(out) == len &&
	    timingsafe_bcmp(out, pw_dummy_hash, len) == 0;
	explicit_bzero(&pw_cd, sizeof(pw_cd));
}

static const struct pw_scheme *
pw_scheme_hashable(const char *scheme)
{
	const struct pw_scheme	*s;

	s = pw_scheme_byname(scheme, strlen(scheme));
	if (s == NULL || (s->gensalt == NULL && s->kind == PW_CRYPT))
		return NULL;
	return s;
}

int
password_scheme_known(const char *scheme)
{
	return pw_scheme_hashable(scheme) != NULL;
}

int
password_scheme_rounds(const char *scheme, unsigned long *min,
    unsigned long *max, unsigned long *def)
{
	const struct pw_scheme	*s;

	if ((s = pw_scheme_hashable(scheme)) == NULL || s->rounds_max == 0)
		return -1;
	*min = s->rounds_min;
	*max = s->rounds_max;
	*def = s->rounds_default;
	return 0;
}

const char *
password_scheme_name(size_t i)
{
	size_t	n;

	for (n = 0; n < PW_NSCHEMES; n++) {
		if (pw_scheme_hashable(pw_schemes[n].name) == NULL)
			continue;
		if (i-- == 0)
			return pw_schemes[n].name;
	}
	return NULL;
}

static int
pw_crypt_hash(const struct pw_scheme *s, unsigned long rounds,
    const char *password, char *out, size_t outlen)
{
	char		 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char	*h;
	int		 n = -1;

	/* NULL random bytes: crypt_gensalt_rn() asks the kernel itself. */
	if (crypt_gensalt_rn(s->gensalt, rounds, NULL, 0, salt,
	    sizeof(salt)) == NULL) {
		log_warn("password: crypt_gensalt %s", s->name);
		return -1;
	}
	h = crypt_rn(password, salt, &pw_cd, sizeof(pw_cd));
	if (h == NULL || h[0] == '*')
		log_warnx("password: crypt %s failed", s->name);
	else
		n = snprintf(out, outlen, "%s%s%s%s", s->tagged ? "{" : "",
		    s->tagged ? s->name : "", s->tagged ? "}" : "", h);
	explicit_bzero(&pw_cd, sizeof(pw_cd));
	explicit_bzero(salt, sizeof(salt));
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* An empty password is refused: it would never verify. */
int
password_hash(const char *scheme, unsigned long rounds, const char *password,
    char *out, size_t outlen)
{
	const struct pw_scheme	*s;
	int			 n, r;

	if (outlen > 0)
		out[0] = '\0';
	if ((s = pw_scheme_hashable(scheme)) == NULL) {
		log_warnx("password: unknown scheme");
		return -1;
	}
	if (rounds == 0)
		rounds = s->rounds_default;
	else if (rounds < s->rounds_min || rounds > s->rounds_max) {
		log_warnx("password: rounds out of range for %s", s->name);
		return -1;
	}
	if (password[0] == '\0' || strlen(password) > AUTH_PASS_MAX) {
		log_warnx("password: empty or longer than %d bytes",
		    AUTH_PASS_MAX);
		return -1;
	}
	if (s->kind == PW_PLAIN) {
		n = snprintf(out, outlen, "{%s}%s", s->name, password);
		r = (n < 0 || (size_t)n >= outlen) ? -1 : 0;
	} else if (s->kind != PW_CRYPT)
		r = pw_scram_hash_new(s, rounds, password, out, outlen);
	else
		r = pw_crypt_hash(s, rounds, password, out, outlen);
	if (r == -1 && outlen > 0)
		explicit_bzero(out, outlen);
	return r;
}
