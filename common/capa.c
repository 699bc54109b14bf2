/*
 * The capability list.  The AUTHORIZATION capabilities (USER, SASL) stay
 * in the list after login too: RFC 2449 section 5 wants them announced in
 * both states, and clients that cache the list trip over one that changes.
 * Only what works is listed: before TLS on a link that is not secured,
 * USER and SASL are left out (they would be refused), and STLS is listed
 * only where it can be used.
 *
 * LOGIN-DELAY and EXPIRE (sections 6.5 and 6.7) are policies.  Before
 * login the LOGIN-DELAY value is the server-wide one, followed by "USER"
 * because the users file may give a user another; after login it is the
 * user's own, without "USER".  EXPIRE has no per-user value.
 */
#include "common/capa.h"

static void
capa_policy(struct io *io, const struct config *cf, int flags,
    int login_delay)
{
	if (login_delay > 0)
		io_reply(io, "LOGIN-DELAY %d%s", login_delay,
		    flags & CAPA_USERVAL ? "" : " USER");
	if (cf->expire == EXPIRE_NEVER)
		io_reply(io, "EXPIRE NEVER");
	else if (cf->expire >= 0)
		io_reply(io, "EXPIRE %d", cf->expire);
}

int
capa_write(struct io *io, const struct config *cf, int flags, int login_delay)
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
	capa_policy(io, cf, flags, login_delay);
	if (cf->implementation[0] != '\0')
		io_reply(io, "IMPLEMENTATION %s", cf->implementation);
	return io_reply(io, ".");
}
