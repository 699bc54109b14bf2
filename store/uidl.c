/*
 * Unique-ids from Maildir names; see uidl.h for the rules.
 */
#include <sys/types.h>

#include <sha2.h>		/* libmd, which libbsd links: no OpenSSL here */
#include <stdint.h>
#include <string.h>

#include "params.h"
#include "store/uidl.h"

size_t
uidl_base_len(const char *name)
{
	return strcspn(name, ":");
}

#define ONES	UINT64_C(0x0101010101010101)
#define HIGHS	UINT64_C(0x8080808080808080)

/*
 * Eight octets at a time: every name of a listing is checked, 100,000 at
 * a login.  An octet below 0x21 borrows into its high bit when 0x21 is
 * taken from it (and had that bit clear); one above 0x7e has it set, or
 * gets it when 1 is added.  A borrow or carry that crosses into the next
 * octet comes from an octet found already, so the test is exact.
 */
static int
word_ok(uint64_t w)
{
	return (((w - ONES * 0x21) & ~w) | (w + ONES) | w) & HIGHS ? 0 : 1;
}

int
uidl_valid(const char *s, size_t len)
{
	uint64_t	w;
	size_t		i;

	if (len == 0 || len > UIDL_MAX)
		return 0;
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if (!word_ok(w))
			return 0;
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

size_t
uidl_hash(const void *data, size_t len, char *out)
{
	char	hex[SHA256_DIGEST_STRING_LENGTH];

	_Static_assert(SHA256_DIGEST_LENGTH == UIDL_HASH_OCTETS, "SHA-256");

	/* Lower-case hex, as libmd writes it. */
	if (SHA256Data(data, len, hex) == NULL) {
		out[0] = '\0';
		return 0;
	}
	out[0] = ':';
	memcpy(out + 1, hex, 2 * UIDL_HASH_OCTETS);
	out[UIDL_HASH_LEN] = '\0';
	return UIDL_HASH_LEN;
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
