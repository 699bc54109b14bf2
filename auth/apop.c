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

#include <md5.h>		/* libmd, which libbsd links: no OpenSSL */

#include "auth/apop.h"
#include "common/timingsafe.h"

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
	MD5_CTX		ctx;
	unsigned char	md[MD5_DIGEST_LENGTH];
	char		hex[2 * MD5_DIGEST_LENGTH + 1], want[APOP_DIGEST_LEN + 1];
	unsigned int	i;
	int		good;

	if (strncasecmp(stored, "{PLAIN}", 7) != 0)
		return PASSWORD_BADHASH;
	if (!apop_digest_valid(digest))
		return PASSWORD_MISMATCH;
	MD5Init(&ctx);
	MD5Update(&ctx, (const unsigned char *)challenge, strlen(challenge));
	MD5Update(&ctx, (const unsigned char *)stored + 7, strlen(stored + 7));
	MD5Final(md, &ctx);
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	for (i = 0; i < APOP_DIGEST_LEN; i++)
		want[i] = tolower((unsigned char)digest[i]);
	want[i] = '\0';
	good = timingsafe_bcmp(hex, want, APOP_DIGEST_LEN) == 0;
	explicit_bzero(&ctx, sizeof(ctx));
	explicit_bzero(md, sizeof(md));
	explicit_bzero(hex, sizeof(hex));
	return good ? PASSWORD_MATCH : PASSWORD_MISMATCH;
}
