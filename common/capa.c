/*
 * The capability list.  The AUTHORIZATION capabilities (USER, SASL) stay
 * in the list after login too: RFC 2449 section 5 wants them announced in
 * both states, and clients that cache the list trip over one that changes.
 * Only what works is listed: before TLS on a link that is not secured,
 * USER and SASL are left out (they would be refused), and STLS is listed
 * only where it can be used.
 *
 * LOGIN-DELAY and EXPIRE (sections 6.5 and 6.7) are policies.  Before
 * login their values are the server-wide ones, followed by "USER"
 * because the users file may give a user others; after login they are
 * the user's own, without "USER".
 */
#include "common/capa.h"

static void
capa_policy(struct io *io, int flags, const struct capa_policy *pol)
{
	const char *user = flags & CAPA_USERVAL ? "" : " USER";

	if (pol->login_delay > 0)
		io_reply(io, "LOGIN-DELAY %d%s", pol->login_delay, user);
	if (pol->expire == EXPIRE_NEVER)
		io_reply(io, "EXPIRE NEVER%s", user);
	else if (pol->expire >= 0)
		io_reply(io, "EXPIRE %d%s", pol->expire, user);
}

int
capa_write(struct io *io, const struct config *cf, int flags,
    const struct capa_policy *pol)
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
	capa_policy(io, flags, pol);
	if (cf->implementation[0] != '\0')
		io_reply(io, "IMPLEMENTATION %s", cf->implementation);
	return io_reply(io, ".");
}
