/*
 * Password schemes.  A stored password is "{SCHEME}data" as in Dovecot:
 * {SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT}, {CRYPT}, {PLAIN}, and a bare
 * "$y$..." (yescrypt) or any other bare crypt(3) string, and the SCRAM
 * verifiers {SCRAM-SHA-256} and {SCRAM-SHA-1} (auth/scram.h).  All hashing goes
 * through crypt_rn(3) from libxcrypt; all comparisons are constant-time.
 */
#ifndef POP3D_PASSWORD_H
#define POP3D_PASSWORD_H

#include <stddef.h>

enum password_result {
	PASSWORD_MATCH,
	PASSWORD_MISMATCH,
	PASSWORD_BADHASH	/* unknown scheme or malformed hash: logged by caller, never a match */
};

enum password_result password_verify(const char *stored, const char *password);

/*
 * Spend the time a real check costs, for a user that does not exist, so
 * that unknown users and wrong passwords cannot be told apart by timing.
 */
void	password_dummy_verify(const char *password);

/*
 * Hash password with scheme ("SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT",
 * "YESCRYPT", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN") into out as "{SCHEME}..." (yescrypt: bare "$y$...").
 * rounds is the scheme's cost, 0 for its default (see
 * password_scheme_rounds()); PLAIN takes 0 only.  Returns 0, or -1 for an
 * unknown scheme, rounds out of range or a failure of crypt.
 */
int	password_hash(const char *scheme, unsigned long rounds,
	    const char *password, char *out, size_t outlen);

/* 1 if scheme is one password_hash() knows. */
int	password_scheme_known(const char *scheme);

/*
 * The rounds a scheme takes, from min to max, and its default: the number
 * of rounds for SHA-crypt, the log2 cost for bcrypt, the cost for
 * yescrypt.  0, or -1 for an unknown scheme or one without rounds (PLAIN).
 */
int	password_scheme_rounds(const char *scheme, unsigned long *min,
	    unsigned long *max, unsigned long *def);

/* The i-th scheme password_hash() knows, from 0; NULL past the last. */
const char *password_scheme_name(size_t i);

#endif
