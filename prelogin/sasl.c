/*
 * PLAIN: [authzid] NUL authcid NUL passwd, each without NUL.  We log in
 * only as ourselves, so an authzid naming someone else is refused.
 */
#include <string.h>

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
