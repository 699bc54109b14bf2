/*
 * The capability list.  The AUTHORIZATION capabilities (USER, SASL) stay
 * in the list after login too: RFC 2449 section 5 wants them announced in
 * both states, and clients that cache the list trip over one that changes.
 * Only what works is listed: before TLS on a link that is not secured,
 * USER, PLAIN and LOGIN are left out (they would be refused), SCRAM only
 * where the user source holds verifiers, SCRAM-SHA-256-PLUS only over TLS,
 * and STLS only where it can be used.
 *
 * LOGIN-DELAY and EXPIRE (sections 6.5 and 6.7) are policies.  Before
 * login their values are the server-wide ones, followed by "USER"
 * because the users file may give a user others; after login they are
 * the user's own, without "USER".
 */
#include <stdio.h>
#include <string.h>

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

static const struct {
	const char	*name;
	unsigned	 bit;
} capa_mechs[] = {
	{ "SCRAM-SHA-256-PLUS", SASL_SCRAM_SHA256_PLUS },
	{ "SCRAM-SHA-256", SASL_SCRAM_SHA256 },
	{ "SCRAM-SHA-1", SASL_SCRAM_SHA1 },
	{ "PLAIN", SASL_PLAIN },
	{ "LOGIN", SASL_LOGIN },
};

const char *
capa_sasl_mech(size_t i, unsigned *bit)
{
	if (i >= sizeof(capa_mechs) / sizeof(capa_mechs[0]))
		return NULL;
	*bit = capa_mechs[i].bit;
	return capa_mechs[i].name;
}

int
capa_write(struct io *io, const struct config *cf, int flags, unsigned sasl,
    const struct capa_policy *pol)
{
	char		 line[POP3_LINE_MAX] = "SASL";
	const char	*name;
	unsigned	 bit;
	size_t		 i;

	for (i = 0; (name = capa_sasl_mech(i, &bit)) != NULL; i++)
		if (sasl & bit) {
			strlcat(line, " ", sizeof(line));
			strlcat(line, name, sizeof(line));
		}

	io_reply(io, "TOP");
	io_reply(io, "UIDL");
	if (flags & CAPA_LOGIN)
		io_reply(io, "USER");
	io_reply(io, "RESP-CODES");
	io_reply(io, "AUTH-RESP-CODE");
	io_reply(io, "PIPELINING");
	if (sasl != 0)
		io_reply(io, "%s", line);
	if (flags & CAPA_STLS)
		io_reply(io, "STLS");
	capa_policy(io, flags, pol);
	if (cf->implementation[0] != '\0')
		io_reply(io, "IMPLEMENTATION %s", cf->implementation);
	return io_reply(io, ".");
}
