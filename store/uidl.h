/*
 * Unique-ids (RFC 1939 section 7).  The UIDL of a message is its Maildir
 * base name, the file name before the first ':', as qmail-pop3d and
 * Dovecot's %f give it, so clients keep their state across servers.
 * A base name that breaks the RFC (empty, over 70 characters, octets outside
 * 0x21..0x7E) gets a fallback: ':' and 64 hex digits of SHA-256 over the
 * base name.  ':' never occurs in a base name, so a fallback never equals a
 * real one, and it is stable across sessions.
 *
 * Two files of one maildrop can share a base name (the same name in new/
 * and cur/, or "a:1" and "a:2,S" in cur/).  maildrop_open() then keeps the
 * plain UIDL for the first in listing order and gives each later one ':'
 * and the hex SHA-256 of "new/NAME" or "cur/NAME", its full file name.
 * Base names hold no '/', so these never equal a fallback either.
 */
#ifndef POP3D_UIDL_H
#define POP3D_UIDL_H

#include <stddef.h>

#include "params.h"

#define UIDL_HASH_OCTETS	32	/* SHA-256 */
#define UIDL_HASH_LEN		(1 + 2 * UIDL_HASH_OCTETS)	/* ':' + hex */

/* The length of the base name: the octets before the first ':'. */
size_t	uidl_base_len(const char *name);

/* Whether len octets at s make an RFC 1939 unique-id as they stand. */
int	uidl_valid(const char *s, size_t len);

/*
 * ':' and the lowercase hex SHA-256 of len octets at data; out must hold
 * UIDL_HASH_LEN + 1.  Returns UIDL_HASH_LEN, or 0 when hashing failed.
 */
size_t	uidl_hash(const void *data, size_t len, char *out);

/*
 * For the unit tests, the rules above in one function (the listing puts
 * them together itself, so as not to copy each base name): the unique-id
 * of a file name into out, which must hold UIDL_MAX + 1 octets.  Returns
 * the length written, or 0 (out empty) only when the SHA-256 of a fallback
 * could not be computed.
 */
size_t	uidl_from_name(const char *name, char *out);

#endif
