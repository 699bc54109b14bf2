/*
 * APOP challenge and verification.  The monitor makes the challenge before
 * the pre-login process exists and keeps its own copy, so the digest is
 * always checked against what this server said.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/apop.h"

int
apop_challenge(char *buf, size_t len)
{
	char	host[256];
	int	n;

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	n = snprintf(buf, len, "<%ld.%lld.%08x@%.64s>", (long)getpid(),
	    (long long)time(NULL), arc4random(), host);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

int
apop_digest_valid(const char *s)
{
	size_t i;

	for (i = 0; i < APOP_DIGEST_LEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[i] == '\0';
}

enum password_result
apop_verify(const char *stored, const char *challenge, const char *digest)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	char		hex[2 * EVP_MAX_MD_SIZE + 1], want[APOP_DIGEST_LEN + 1];
	unsigned int	mdlen, i;
	EVP_MD_CTX	*ctx;
	int		good;

	if (strncasecmp(stored, "{PLAIN}", 7) != 0)
		return PASSWORD_BADHASH;
	if (!apop_digest_valid(digest))
		return PASSWORD_MISMATCH;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return PASSWORD_BADHASH;
	good = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, challenge, strlen(challenge)) == 1 &&
	    EVP_DigestUpdate(ctx, stored + 7, strlen(stored + 7)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16;
	EVP_MD_CTX_free(ctx);
	if (!good)
		return PASSWORD_BADHASH;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	for (i = 0; i < APOP_DIGEST_LEN; i++)
		want[i] = tolower((unsigned char)digest[i]);
	want[i] = '\0';
	good = CRYPTO_memcmp(hex, want, APOP_DIGEST_LEN) == 0;
	explicit_bzero(md, sizeof(md));
	explicit_bzero(hex, sizeof(hex));
	return good ? PASSWORD_MATCH : PASSWORD_MISMATCH;
}
