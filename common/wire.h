/*
 * The messages between the pre-login process and the privileged monitor.
 * One request, one answer, over a SOCK_SEQPACKET socketpair so that each
 * message arrives whole or not at all.
 *
 * Credentials request, all integers big-endian:
 *	u8  version (WIRE_VERSION)
 *	u8  mechanism (enum wire_mech)
 *	u8  flags (WIRE_RELAY)
 *	u16 length, then the user name (no NUL)
 *	u16 length, then the password (no NUL)
 *	u16 length, then the TLS protocol and cipher, for the log (no NUL)
 *	u16 length, 0 or WIRE_CLIENT_LEN, then the client a PROXY header
 *	    named: u8 family (4 or 6), 16 octets of address (IPv4 in the
 *	    first 4, the rest zero), u16 port
 *	u16 length, then the octets the client pipelined behind the command
 * and nothing after.  Verdict: u8 version, u8 enum wire_verdict.
 *
 * With WIRE_RELAY the sender stays after a good verdict and relays the
 * session's plaintext through TLS; it then forwards the pipelined octets
 * itself and sends none here.
 *
 * SCRAM takes three requests (RFC 5802 section 5): the pre-login parses
 * the client's messages and sends their parts; the monitor keeps what it
 * was told and answered, and builds the AuthMessage itself.
 *	u8 version, u8 WIRE_SCRAM_FIRST, u8 mechanism (a SCRAM one),
 *	u8 channel binding flag (enum wire_cbind), u8 1 if the gs2 header
 *	names an authzid (the user itself), u16 + user name (decoded),
 *	u16 + client nonce, u16 + the PROXY client as in a credentials
 *	request (the exchange's failure is logged and throttled under it;
 *	client-final belongs to the same exchange and names none)
 *	    -> u8 version, u8 WIRE_SCRAM_CHALLENGE, u32 iterations,
 *	       u16 + salt, u16 + server nonce part; or a verdict
 *	u8 version, u8 WIRE_SCRAM_FINAL, u16 + channel binding data (what
 *	the pre-login's TLS session gives, empty without 'p'), u16 + ClientProof
 *	    -> u8 version, u8 WIRE_SCRAM_SIGNATURE, u16 + ServerSignature;
 *	       or a verdict (failure)
 *	then a credentials request with the same mechanism and an empty
 *	password, once the client took the signature: the verdict is VERDICT_OK.
 *
 * The TLS handshake's sign request shares the socket: common/wiresign.h.
 *
 * The monitor decodes with the wire_decode_*() functions, which check every
 * length against the limits in params.h and reject trailing octets: it
 * trusts nothing the unprivileged side sends.  The pre-login decodes the
 * answers with wire_decode_answer(), as strictly.
 */
#ifndef POP3D_WIRE_H
#define POP3D_WIRE_H

#include <stddef.h>

#include "params.h"

#define WIRE_VERSION	5
#define WIRE_CLIENT_LEN	19	/* family, address, port */
#define WIRE_REQUEST_MAX (3 + 5 * 2 + AUTH_USER_MAX + AUTH_PASS_MAX + \
	    WIRE_TLS_MAX + WIRE_CLIENT_LEN + PIPELINE_CARRY_MAX)

#define WIRE_RELAY	0x01	/* TLS is on: the sender relays the session */

enum wire_mech {
	MECH_USER = 1,		/* USER and PASS */
	MECH_PLAIN = 2,		/* AUTH PLAIN */
	MECH_APOP = 3,		/* APOP: the password field holds the digest */
	MECH_LOGIN = 4,		/* AUTH LOGIN */
	MECH_SCRAM_SHA1 = 5,	/* AUTH SCRAM-SHA-1 */
	MECH_SCRAM_SHA256 = 6,	/* AUTH SCRAM-SHA-256 */
	MECH_SCRAM_SHA256_PLUS = 7 /* AUTH SCRAM-SHA-256-PLUS */
};
#define MECH_IS_SCRAM(m) ((m) >= MECH_SCRAM_SHA1 && (m) <= MECH_SCRAM_SHA256_PLUS)

/* Request types besides credentials: where the mechanism would be. */
#define WIRE_SCRAM_FIRST	0x81
#define WIRE_SCRAM_FINAL	0x82

/* Answers besides verdicts. */
#define WIRE_SCRAM_CHALLENGE	0x91
#define WIRE_SCRAM_SIGNATURE	0x92

/* The gs2 channel binding flag of RFC 5802 section 7. */
enum wire_cbind {
	CBIND_NONE = 1,		/* 'n': the client does not support it */
	CBIND_CLIENT = 2,	/* 'y': the client does, thinks we do not */
	CBIND_EXPORTER = 3,	/* 'p=tls-exporter' (RFC 9266) */
	CBIND_ENDPOINT = 4	/* 'p=tls-server-end-point' (RFC 5929) */
};

#define WIRE_SCRAM_KEY_MAX	32	/* SHA-256 */
#define WIRE_ANSWER_MAX	(2 + 4 + 2 * 2 + SCRAM_SALT_MAX + SCRAM_NONCE_MAX)

enum wire_verdict {
	VERDICT_OK = 1,		/* the monitor takes over; the sender exits */
	VERDICT_FAIL = 2,	/* bad user or password */
	VERDICT_FAIL_LAST = 3,	/* bad, and no more tries: close */
	VERDICT_TEMPFAIL = 4,	/* the user database could not be read */
	VERDICT_REFUSED = 5,	/* right password, account refused: close */
	VERDICT_DELAY = 6	/* right password, but too soon after the
				   user's last login (LOGIN-DELAY) */
};

struct wire_request {
	enum wire_mech	mech;
	unsigned	flags;
	char		user[AUTH_USER_MAX + 1];
	char		pass[AUTH_PASS_MAX + 1];
	char		tls[WIRE_TLS_MAX + 1];
	unsigned char	client[WIRE_CLIENT_LEN];	/* from a PROXY header */
	size_t		clientlen;			/* 0: none */
	unsigned char	carry[PIPELINE_CARRY_MAX];
	size_t		carrylen;
};

struct wire_scram_first {
	enum wire_mech	 mech;
	enum wire_cbind	 cbind;
	int		 authzid;
	char		 user[AUTH_USER_MAX + 1];
	char		 cnonce[SCRAM_NONCE_MAX + 1];
	unsigned char	 client[WIRE_CLIENT_LEN];	/* from a PROXY header */
	size_t		 clientlen;			/* 0: none */
};

struct wire_scram_final {
	unsigned char	 cbind[SCRAM_CBIND_MAX];
	size_t		 cbindlen;
	unsigned char	 proof[WIRE_SCRAM_KEY_MAX];
	size_t		 prooflen;
};

/* A monitor's answer: a verdict, a challenge or a signature. */
struct wire_answer {
	int		 type;		/* enum wire_verdict or WIRE_SCRAM_* */
	unsigned long	 iter;
	unsigned char	 salt[SCRAM_SALT_MAX];
	size_t		 saltlen;
	char		 snonce[SCRAM_NONCE_MAX + 1];
	unsigned char	 sig[WIRE_SCRAM_KEY_MAX];
	size_t		 siglen;
};

const char *wire_mech_name(enum wire_mech);

/* The request's type: a wire_mech, WIRE_SCRAM_FIRST or _FINAL; -1 if none. */
int	wire_request_type(const unsigned char *buf, size_t len);

/* Encode into buf; returns the length, or -1 if a field is too long. */
long	wire_encode_request(const struct wire_request *, unsigned char *buf,
	    size_t len);
/* 0, or -1 when the message is malformed in any way. */
int	wire_decode_request(const unsigned char *buf, size_t len,
	    struct wire_request *);

long	wire_encode_scram_first(const struct wire_scram_first *,
	    unsigned char *buf, size_t len);
int	wire_decode_scram_first(const unsigned char *buf, size_t len,
	    struct wire_scram_first *);
long	wire_encode_scram_final(const struct wire_scram_final *,
	    unsigned char *buf, size_t len);
int	wire_decode_scram_final(const unsigned char *buf, size_t len,
	    struct wire_scram_final *);

/* Answers: encoded by the monitor, decoded by the pre-login. */
long	wire_encode_answer(const struct wire_answer *, unsigned char *buf,
	    size_t len);
int	wire_decode_answer(const unsigned char *buf, size_t len,
	    struct wire_answer *);

#endif
