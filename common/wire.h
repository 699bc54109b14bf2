/*
 * The message between the pre-login process and the privileged monitor.
 * One request, one verdict, over a SOCK_SEQPACKET socketpair so that each
 * message arrives whole or not at all.
 *
 * Request, all integers big-endian:
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
 * The TLS handshake's sign request shares the socket: common/wiresign.h.
 *
 * The monitor decodes with wire_decode_request(), which checks every
 * length against the limits in params.h and rejects trailing octets: it
 * trusts nothing the unprivileged side sends.
 */
#ifndef POP3D_WIRE_H
#define POP3D_WIRE_H

#include <stddef.h>

#include "params.h"

#define WIRE_VERSION	3
#define WIRE_CLIENT_LEN	19	/* family, address, port */
#define WIRE_REQUEST_MAX (3 + 5 * 2 + AUTH_USER_MAX + AUTH_PASS_MAX + \
	    WIRE_TLS_MAX + WIRE_CLIENT_LEN + PIPELINE_CARRY_MAX)

#define WIRE_RELAY	0x01	/* TLS is on: the sender relays the session */

enum wire_mech {
	MECH_USER = 1,		/* USER and PASS */
	MECH_PLAIN = 2,		/* AUTH PLAIN */
	MECH_APOP = 3		/* APOP: the password field holds the digest */
};

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

const char *wire_mech_name(enum wire_mech);

/* Encode into buf; returns the length, or -1 if a field is too long. */
long	wire_encode_request(const struct wire_request *, unsigned char *buf,
	    size_t len);
/* 0, or -1 when the message is malformed in any way. */
int	wire_decode_request(const unsigned char *buf, size_t len,
	    struct wire_request *);

#endif
