/*
 * The TLS context: certificate, chain, private key, protocol floor and
 * ciphers.  The monitor makes it, as root, before the pre-login process
 * exists, so that the key file may be readable by root alone.
 */
#ifndef POP3D_TLS_CONTEXT_H
#define POP3D_TLS_CONTEXT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "common/config.h"

/*
 * Load the certificate, chain and key named in cf and set the protocol
 * floor and ciphers.  NULL with a reason in err when TLS is not configured
 * (err empty) or cannot be set up (err says why).  check_expiry refuses an
 * expired certificate (pop3d -t).
 */
SSL_CTX	*tls_context(const struct config *cf, int check_expiry, char *err,
	    size_t errlen);

#endif
