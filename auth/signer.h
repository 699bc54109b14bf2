/*
 * The TLS private key, held by the monitor alone.  The monitor loads it
 * after the pre-login process is forked, so that no copy of the key, nor
 * of the file it came from, is ever in that process's memory, and signs
 * the handshake for it (common/wiresign.h).  The key is dropped before
 * the session is executed and in every helper the monitor forks.
 */
#ifndef POP3D_SIGNER_H
#define POP3D_SIGNER_H

#include <stddef.h>

#include "common/config.h"
#include "common/ossl.h"

/*
 * Read tls_key and check that it is an RSA or EC key that matches cert.
 * Returns the key, or NULL with the reason in err.
 */
EVP_PKEY *signer_read_key(const struct config *, X509 *cert, char *err,
	    size_t errlen);

/* Sign with this key from now on (taken over: freed by signer_forget()). */
void	signer_use(EVP_PKEY *);

/*
 * Answer the sign request in msg on sock.  -1 when the request is
 * malformed, comes when there is no key, or is one too many: the caller
 * then ends the pre-login process.
 */
int	signer_answer(int sock, const unsigned char *msg, size_t len);

/* Free the key (OpenSSL wipes its numbers). */
void	signer_forget(void);

#endif
