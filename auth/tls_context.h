/*
 * The TLS context: certificate, chain, protocol floor and ciphers.  The
 * monitor makes it, as root, before the pre-login process exists, and
 * leaves the private key out: the pre-login process gets a key that asks
 * the monitor for its signatures (auth/signer.h, prelogin/signkey.h).
 */
#ifndef POP3D_TLS_CONTEXT_H
#define POP3D_TLS_CONTEXT_H

#include <stddef.h>

#include "common/config.h"
#include "common/ossl.h"

/*
 * Load the certificate and chain named in cf and set the protocol floor
 * and ciphers (key exchange by RSA decryption excluded).  NULL with a reason in err when TLS is not configured
 * (err empty) or cannot be set up (err says why).  check_expiry refuses an
 * expired certificate (pop3d -t).
 */
SSL_CTX	*tls_context(const struct config *cf, int check_expiry, char *err,
	    size_t errlen);

#endif
