/*
 * The capability list.  The AUTHORIZATION capabilities (USER, SASL) stay
 * in the list after login too: RFC 2449 section 5 wants them announced in
 * both states, and clients that cache the list trip over one that changes.
 * Only what works is listed.
 */
#include "pop3/capa.h"

static const char *const capa_fixed[] = {
	"TOP",
	"UIDL",
	"USER",
	"RESP-CODES",
	"AUTH-RESP-CODE",
	"PIPELINING",
	"SASL PLAIN",
	NULL
};

int
capa_write(struct io *io, const struct config *cf)
{
	const char *const *c;

	for (c = capa_fixed; *c != NULL; c++)
		io_reply(io, "%s", *c);
	if (cf->implementation[0] != '\0')
		io_reply(io, "IMPLEMENTATION %s", cf->implementation);
	return io_reply(io, ".");
}
