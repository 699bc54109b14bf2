/*
 * TLS for the pre-login process: STLS (RFC 2595) and implicit TLS
 * (RFC 8314).  The context, with the certificate but not the private key,
 * is made by the monitor (auth/tls_context.h) before the pre-login process
 * exists; the key that signs the handshake is a request to the monitor
 * (prelogin/signkey.h).  The handshake and every record afterwards are handled in
 * the unprivileged, chrooted pre-login process; after login it relays the
 * session's plaintext (see relay.h).
 */
#ifndef POP3D_TLS_H
#define POP3D_TLS_H

#include <stddef.h>

#include "common/config.h"
#include "common/io.h"
#include "common/ossl.h"

/*
 * Run the server handshake on the io's descriptors, waiting at most
 * timeout_ms in all; on success the io carries TLS from then on.
 * Returns 0, or -1 with a reason in err.
 */
int	tls_start(struct io *, SSL_CTX *, int timeout_ms, char *err,
	    size_t errlen);

/* Protocol and cipher of the io's TLS session, or "" for plaintext. */
const char *tls_describe(struct io *, char *buf, size_t len);

/*
 * Channel binding data of the io's TLS session for SCRAM-PLUS: type is
 * CBIND_EXPORTER (RFC 9266: 32 octets of keying material, TLS 1.3 or a
 * TLS 1.2 session with the extended master secret) or CBIND_ENDPOINT
 * (RFC 5929: a hash of our certificate).  Returns the length written to
 * out (room for SCRAM_CBIND_MAX), or -1 when the session has none.
 */
int	tls_channel_binding(struct io *, int type, unsigned char *out);

/* Send close_notify, without waiting for the peer's. */
void	tls_close(struct io *);

#endif
