/*
 * SCRAM (RFC 5802, RFC 7677) on the monitor's side: stored verifiers in
 * Dovecot's format, "{SCRAM-SHA-256}iter,salt,StoredKey,ServerKey" with
 * the last three in base64, and the proof check.  The server never holds
 * a password-equivalent: StoredKey checks a proof but cannot make one.
 * The pre-login process parses the client's messages (prelogin/sasl.c);
 * what reaches here was decoded by common/wire.c.
 */
#ifndef POP3D_SCRAM_H
#define POP3D_SCRAM_H

#include <stddef.h>

#include "params.h"

enum scram_hash {
	SCRAM_SHA1 = 1,
	SCRAM_SHA256 = 2
};

#define SCRAM_KEY_MAX	32	/* SHA-256 */

struct scram_verifier {
	enum scram_hash	hash;
	unsigned long	iter;
	unsigned char	salt[SCRAM_SALT_MAX];
	size_t		saltlen;
	unsigned char	stored[SCRAM_KEY_MAX];	/* H(ClientKey) */
	unsigned char	server[SCRAM_KEY_MAX];	/* ServerKey */
};

/* The digest length of hash: 20 or 32. */
size_t	scram_keylen(enum scram_hash);

/* Parse the part after "{SCRAM-SHA-...}"; 0, or -1 if malformed. */
int	scram_parse(const char *data, enum scram_hash, struct scram_verifier *);

/* The verifier of password with the given salt and iterations; 0 or -1. */
int	scram_make(enum scram_hash, const char *password,
	    const unsigned char *salt, size_t saltlen, unsigned long iter,
	    struct scram_verifier *);

/* "iter,salt,StoredKey,ServerKey" (no scheme); 0, or -1 if out is short. */
int	scram_format(const struct scram_verifier *, char *out, size_t outlen);

/* 1 if password gives this verifier's StoredKey (compared in constant time). */
int	scram_password_matches(const struct scram_verifier *, const char *password);

/*
 * Check ClientProof over AuthMessage.  1 with ServerSignature in sig (room
 * for SCRAM_KEY_MAX), 0 if the proof is wrong.
 */
int	scram_check_proof(const struct scram_verifier *, const char *authmsg,
	    const unsigned char *proof, size_t prooflen, unsigned char *sig);

/*
 * The salt and iterations shown for a user without a verifier: the first
 * octets of HMAC-SHA-256(key, hash || user), and SCRAM_ITER_MIN (what
 * pop3d-passwd writes).  The same user gets the same answer on every
 * connection, as a real one does, so asking twice tells nothing.
 */
void	scram_fake(enum scram_hash, const unsigned char *key, size_t keylen,
	    const char *user, struct scram_verifier *);

#define SCRAM_SECRET_LEN	32

/*
 * The key for scram_fake(), from the file at path, made if it is missing
 * (auth/scram_secret.c).  0, or -1 (logged): then SCRAM is not offered.
 */
int	scram_secret_load(const char *path, unsigned char *key);

/* Encode a SASL name: ',' as "=2C", '=' as "=3D"; 0, or -1 if out is short. */
int	scram_saslname(const char *name, char *out, size_t outlen);

#endif
