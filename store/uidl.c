/*
 * Unique-ids from Maildir names; see uidl.h for the rules.
 */
#include <string.h>

#include <openssl/evp.h>

#include "params.h"
#include "store/uidl.h"

size_t
uidl_base_len(const char *name)
{
	return strcspn(name, ":");
}

int
uidl_valid(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > UIDL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

size_t
uidl_hash(const void *data, size_t len, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		md[EVP_MAX_MD_SIZE];
	unsigned int		mdlen = 0, i;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != UIDL_HASH_OCTETS) {
		out[0] = '\0';
		return 0;
	}
	out[0] = ':';
	for (i = 0; i < mdlen; i++) {
		out[1 + 2 * i] = hex[md[i] >> 4];
		out[2 + 2 * i] = hex[md[i] & 0x0f];
	}
	out[1 + 2 * mdlen] = '\0';
	return 1 + 2 * mdlen;
}

size_t
uidl_from_name(const char *name, char *out)
{
	size_t	len = uidl_base_len(name);

	if (!uidl_valid(name, len))
		return uidl_hash(name, len, out);
	memcpy(out, name, len);
	out[len] = '\0';
	return len;
}
