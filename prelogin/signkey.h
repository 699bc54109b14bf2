/*
 * The pre-login process's TLS key: the certificate's public key, whose
 * private operation is a question to the monitor (common/wiresign.h).
 * The private key never enters this process, which parses every octet a
 * client sends: a bug here, before or after login (the TLS relay), gives
 * no key away.
 */
#ifndef POP3D_SIGNKEY_H
#define POP3D_SIGNKEY_H

#include <stddef.h>

#include "common/ossl.h"

/*
 * Give ctx a key made from its certificate's public key (RSA or EC) that
 * signs by asking the monitor on monitor_fd.  0, or -1 with the reason.
 */
int	signkey_attach(SSL_CTX *, int monitor_fd, char *err, size_t errlen);

#endif
