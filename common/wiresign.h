/*
 * The sign request: the pre-login process holds the certificate but not
 * the private key, and asks the monitor for the one signature a TLS
 * handshake needs.  A message kind of its own beside the login request
 * (common/wire.h), on the same SOCK_SEQPACKET socket, told apart by its
 * second octet, which no login request uses.
 *
 * Request, integers big-endian:
 *	u8  version (WIRE_VERSION)
 *	u8  WIRE_SIGN
 *	u8  algorithm (enum wire_sign_alg)
 *	u16 length, then the octets to sign
 * and nothing after.  Reply: u8 version, u8 1 (signed) or 0 (refused),
 * u16 length, then the signature; a refusal carries none.
 *
 * What the octets are, by algorithm:
 *	SIGN_RSA_PKCS1	a DigestInfo, for RSASSA-PKCS1-v1_5 (TLS 1.2)
 *	SIGN_RSA_PSS	an encoded message that OpenSSL padded for
 *			RSASSA-PSS already, as long as the modulus: the
 *			monitor applies the private key alone (TLS 1.3,
 *			and TLS 1.2 with rsa_pss_rsae_*)
 *	SIGN_ECDSA	a digest
 * Each is checked for its lengths here; the monitor checks the rest
 * against its key and allows TLS_SIGN_MAX requests a connection.
 */
#ifndef POP3D_WIRESIGN_H
#define POP3D_WIRESIGN_H

#include <stddef.h>

#include "params.h"

#define WIRE_SIGN	0x80	/* second octet: not a login mechanism */
#define WIRE_SIGN_REQUEST_MAX	(5 + WIRE_SIGN_MAX)
#define WIRE_SIGN_REPLY_MAX	(4 + WIRE_SIGN_MAX)

enum wire_sign_alg {
	SIGN_RSA_PKCS1 = 1,
	SIGN_RSA_PSS = 2,
	SIGN_ECDSA = 3
};

struct wire_sign {
	enum wire_sign_alg	alg;
	unsigned char		data[WIRE_SIGN_MAX];
	size_t			len;
};

/* Is this message a sign request (which wire_decode_sign() then checks)? */
int	wire_is_sign(const unsigned char *buf, size_t len);

/* Encode into buf; returns the length, or -1 if it does not fit. */
long	wire_encode_sign(const struct wire_sign *, unsigned char *buf,
	    size_t len);
/* 0, or -1 when the message is malformed in any way. */
int	wire_decode_sign(const unsigned char *buf, size_t len,
	    struct wire_sign *);

/* The reply: len 0 for a refusal.  Same conventions. */
long	wire_encode_signature(const unsigned char *sig, size_t siglen,
	    unsigned char *buf, size_t len);
/* The signature's length (0: refused), or -1 when malformed or longer than max. */
long	wire_decode_signature(const unsigned char *buf, size_t len,
	    unsigned char *sig, size_t max);

#endif
