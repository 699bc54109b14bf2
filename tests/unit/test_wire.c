/* The pre-login -> monitor request: round trip and strict decoding. */
#include <string.h>

#include "common/wire.h"
#include "prelogin/sasl.h"
#include "tap.h"

static struct wire_request a, b;
static unsigned char buf[WIRE_REQUEST_MAX + 16];

static void
test_roundtrip(void)
{
	long n;

	memset(&a, 0, sizeof(a));
	a.mech = MECH_PLAIN;
	strlcpy(a.user, "alice@example.org", sizeof(a.user));
	strlcpy(a.pass, "p a s s", sizeof(a.pass));
	strlcpy(a.tls, "TLSv1.3 TLS_AES_128_GCM_SHA256", sizeof(a.tls));
	memcpy(a.carry, "STAT\r\nLIST\r\n", 12);
	a.carrylen = 12;
	n = wire_encode_request(&a, buf, sizeof(buf));
	ok(n > 0 && wire_decode_request(buf, n, &b) == 0, "round trip");
	ok(b.mech == MECH_PLAIN && strcmp(b.user, a.user) == 0 &&
	    strcmp(b.pass, a.pass) == 0 && strcmp(b.tls, a.tls) == 0 &&
	    b.carrylen == 12 &&
	    memcmp(b.carry, a.carry, 12) == 0, "fields survive");
	ok(wire_decode_request(buf, n - 1, &b) == -1, "truncated: rejected");
	buf[n] = 'x';
	ok(wire_decode_request(buf, n + 1, &b) == -1, "trailing octet: rejected");
	buf[0] = WIRE_VERSION + 1;
	ok(wire_decode_request(buf, n, &b) == -1, "other version: rejected");
	buf[0] = WIRE_VERSION;
	buf[1] = 9;
	ok(wire_decode_request(buf, n, &b) == -1, "unknown mechanism: rejected");
}

static void
test_lengths(void)
{
	unsigned char m[40] = { WIRE_VERSION, MECH_USER, 0, 0xff, 0xff };

	ok(wire_decode_request(m, 5, &b) == -1, "length past the end: rejected");
	m[3] = 0; m[4] = 1; m[5] = 'a';
	m[6] = 0; m[7] = 1; m[8] = '\0';
	m[9] = 0; m[10] = 0;		/* tls */
	m[11] = 0; m[12] = 0;		/* client */
	m[13] = 0; m[14] = 0;		/* carry */
	ok(wire_decode_request(m, 15, &b) == -1, "NUL inside a string: rejected");
	m[8] = 'p';
	ok(wire_decode_request(m, 15, &b) == 0, "minimal request accepted");
	m[2] = 0x80;
	ok(wire_decode_request(m, 15, &b) == -1, "unknown flag: rejected");
	m[2] = WIRE_RELAY;
	ok(wire_decode_request(m, 15, &b) == 0, "relay flag accepted");
	m[14] = 1;
	m[15] = 'x';
	ok(wire_decode_request(m, 16, &b) == -1,
	    "carried octets with the relay flag: rejected");
	m[2] = 0;
	m[3] = (AUTH_USER_MAX + 1) >> 8;
	m[4] = (AUTH_USER_MAX + 1) & 0xff;
	ok(wire_decode_request(m, 16, &b) == -1, "over-long user: rejected");
	ok(wire_decode_request(m, 1, &b) == -1, "one octet: rejected");
}

/* The PROXY client field: absent, or family 4/6 with its exact length. */
static void
test_client(void)
{
	long n;

	memset(&a, 0, sizeof(a));
	a.mech = MECH_USER;
	strlcpy(a.user, "u", sizeof(a.user));
	a.clientlen = WIRE_CLIENT_LEN;
	a.client[0] = 4;
	memcpy(a.client + 1, "\xc0\x00\x02\x07", 4);
	a.client[17] = 0x04;
	a.client[18] = 0xd2;
	n = wire_encode_request(&a, buf, sizeof(buf));
	ok(n > 0 && wire_decode_request(buf, n, &b) == 0 &&
	    b.clientlen == WIRE_CLIENT_LEN && memcmp(b.client, a.client,
	    WIRE_CLIENT_LEN) == 0, "an IPv4 client survives");
	a.client[10] = 1;
	n = wire_encode_request(&a, buf, sizeof(buf));
	ok(wire_decode_request(buf, n, &b) == -1,
	    "an IPv4 client with octets past its address: rejected");
	a.client[10] = 0;
	a.client[0] = 5;
	n = wire_encode_request(&a, buf, sizeof(buf));
	ok(wire_decode_request(buf, n, &b) == -1, "family 5: rejected");
	a.client[0] = 6;
	a.clientlen = WIRE_CLIENT_LEN - 1;
	n = wire_encode_request(&a, buf, sizeof(buf));
	ok(wire_decode_request(buf, n, &b) == -1, "short client: rejected");
}

static void
test_sasl(void)
{
	char	u[AUTH_USER_MAX + 1], p[AUTH_PASS_MAX + 1];

	ok(sasl_plain_parse((const unsigned char *)"\0bob\0pw", 7, u, p) ==
	    SASL_PLAIN_OK && strcmp(u, "bob") == 0 && strcmp(p, "pw") == 0,
	    "PLAIN without authzid");
	ok(sasl_plain_parse((const unsigned char *)"bob\0bob\0pw", 10, u, p) ==
	    SASL_PLAIN_OK, "authzid equal to authcid");
	ok(sasl_plain_parse((const unsigned char *)"eve\0bob\0pw", 10, u, p) ==
	    SASL_PLAIN_AUTHZID, "authzid of another user refused");
	ok(sasl_plain_parse((const unsigned char *)"\0bob", 4, u, p) ==
	    SASL_PLAIN_MALFORMED, "one NUL only");
	ok(sasl_plain_parse((const unsigned char *)"\0\0pw", 4, u, p) ==
	    SASL_PLAIN_MALFORMED, "empty authcid");
	ok(sasl_plain_parse((const unsigned char *)"\0bob\0p\0w", 8, u, p) ==
	    SASL_PLAIN_MALFORMED, "NUL in password");
	ok(sasl_plain_parse((const unsigned char *)"\0bob\0", 5, u, p) ==
	    SASL_PLAIN_OK && p[0] == '\0', "empty password parses (and fails later)");
}

int
main(void)
{
	test_roundtrip();
	test_lengths();
	test_client();
	test_sasl();
	return tap_done();
}
