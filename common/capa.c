/*
 * The capability list.  The AUTHORIZATION capabilities (USER, SASL) stay
 * in the list after login too: RFC 2449 section 5 wants them announced in
 * both states, and clients that cache the list trip over one that changes.
 * Only what works is listed: before TLS on a link that is not secured,
 * USER and SASL are left out (they would be refused), and STLS is listed
 * only where it can be used.
 */
#include "common/capa.h"

int
capa_write(struct io *io, const struct config *cf, int flags)
{
	io_reply(io, "TOP");
	io_reply(io, "UIDL");
	if (flags & CAPA_LOGIN)
		io_reply(io, "USER");
	io_reply(io, "RESP-CODES");
	io_reply(io, "AUTH-RESP-CODE");
	io_reply(io, "PIPELINING");
	if (flags & CAPA_LOGIN)
		io_reply(io, "SASL PLAIN");
	if (flags & CAPA_STLS)
		io_reply(io, "STLS");
	if (cf->implementation[0] != '\0')
		io_reply(io, "IMPLEMENTATION %s", cf->implementation);
	return io_reply(io, ".");
}
