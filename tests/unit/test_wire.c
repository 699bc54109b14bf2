/* The pre-login <-> monitor messages: round trip and strict decoding; SASL parsing. */
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
	buf[1] = WIRE_SCRAM_FIRST;
	ok(wire_decode_request(buf, n, &b) == -1, "SCRAM type as credentials: rejected");
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

/* client-first carries the PROXY client, checked as in credentials. */
static void
test_scram_client(struct wire_scram_first *f)
{
	struct wire_scram_first	g;
	long			n;

	f->clientlen = WIRE_CLIENT_LEN;
	memset(f->client, 0, sizeof(f->client));
	f->client[0] = 6;
	memcpy(f->client + 1, "\x20\x01\x0d\xb8", 4);
	f->client[16] = 1;
	f->client[17] = 0x9c;
	f->client[18] = 0x41;
	n = wire_encode_scram_first(f, buf, sizeof(buf));
	ok(n > 0 && wire_decode_scram_first(buf, n, &g) == 0 &&
	    g.clientlen == WIRE_CLIENT_LEN && memcmp(g.client, f->client,
	    WIRE_CLIENT_LEN) == 0, "client-first: an IPv6 client survives");
	ok(wire_decode_scram_first(buf, n - 1, &g) == -1,
	    "client-first: client cut short: rejected");
	f->client[0] = 4;
	n = wire_encode_scram_first(f, buf, sizeof(buf));
	ok(wire_decode_scram_first(buf, n, &g) == -1,
	    "client-first: IPv4 with octets past its address: rejected");
	f->client[0] = 0;
	n = wire_encode_scram_first(f, buf, sizeof(buf));
	ok(wire_decode_scram_first(buf, n, &g) == -1,
	    "client-first: family 0: rejected");
	f->client[0] = 4;
	memset(f->client + 5, 0, 12);
	n = wire_encode_scram_first(f, buf, sizeof(buf));
	ok(n > 0 && wire_decode_scram_first(buf, n, &g) == 0,
	    "client-first: an IPv4 client accepted");
	buf[n - WIRE_CLIENT_LEN - 1] = WIRE_CLIENT_LEN - 1;
	ok(wire_decode_scram_first(buf, n - 1, &g) == -1,
	    "client-first: a client field of 18 octets: rejected");
	f->clientlen = 0;
	n = wire_encode_scram_first(f, buf, sizeof(buf));
	ok(n > 0 && wire_decode_scram_first(buf, n, &g) == 0 &&
	    g.clientlen == 0, "client-first without a client: accepted");
}

static void
test_scram_wire(void)
{
	struct wire_scram_first	f, g;
	struct wire_scram_final	x, y;
	struct wire_answer	q, r;
	unsigned char		m[WIRE_ANSWER_MAX + 8];
	long			n;

	memset(&f, 0, sizeof(f));
	f.mech = MECH_SCRAM_SHA256;
	f.cbind = CBIND_CLIENT;
	f.authzid = 1;
	strlcpy(f.user, "a,b", sizeof(f.user));
	strlcpy(f.cnonce, "rOprNGfwEbeRWgbNEkqO", sizeof(f.cnonce));
	n = wire_encode_scram_first(&f, buf, sizeof(buf));
	ok(n > 0 && wire_decode_scram_first(buf, n, &g) == 0 &&
	    g.mech == f.mech && g.cbind == f.cbind && g.authzid == 1 &&
	    strcmp(g.user, f.user) == 0 && strcmp(g.cnonce, f.cnonce) == 0,
	    "client-first round trip");
	ok(wire_decode_scram_first(buf, n - 1, &g) == -1 &&
	    wire_decode_scram_first(buf, n + 1, &g) == -1,
	    "client-first: truncated or trailing: rejected");
	ok(wire_request_type(buf, n) == WIRE_SCRAM_FIRST, "request type");
	buf[3] = CBIND_EXPORTER;
	ok(wire_decode_scram_first(buf, n, &g) == -1,
	    "channel binding without -PLUS: rejected");
	buf[2] = MECH_SCRAM_SHA256_PLUS;
	ok(wire_decode_scram_first(buf, n, &g) == 0,
	    "channel binding with -PLUS: accepted");
	buf[3] = CBIND_NONE;
	ok(wire_decode_scram_first(buf, n, &g) == -1,
	    "-PLUS without channel binding: rejected");
	buf[2] = MECH_PLAIN;
	ok(wire_decode_scram_first(buf, n, &g) == -1, "not SCRAM: rejected");
	strlcpy(f.cnonce, "a,b", sizeof(f.cnonce));
	n = wire_encode_scram_first(&f, buf, sizeof(buf));
	ok(wire_decode_scram_first(buf, n, &g) == -1, "',' in a nonce: rejected");
	strlcpy(f.cnonce, "n", sizeof(f.cnonce));
	test_scram_client(&f);

	memset(&x, 0, sizeof(x));
	x.cbindlen = 32;
	x.prooflen = 32;
	memset(x.proof, 7, 32);
	n = wire_encode_scram_final(&x, buf, sizeof(buf));
	ok(n > 0 && wire_decode_scram_final(buf, n, &y) == 0 &&
	    y.cbindlen == 32 && y.prooflen == 32 &&
	    memcmp(y.proof, x.proof, 32) == 0, "client-final round trip");
	ok(wire_decode_scram_final(buf, n - 1, &y) == -1 &&
	    wire_decode_scram_final(buf, n + 1, &y) == -1,
	    "client-final: truncated or trailing: rejected");
	buf[2 + 2 + 32] = 0;
	buf[2 + 2 + 32 + 1] = 33;
	ok(wire_decode_scram_final(buf, n + 1, &y) == -1,
	    "a proof longer than SHA-256's: rejected");

	memset(&q, 0, sizeof(q));
	q.type = WIRE_SCRAM_CHALLENGE;
	q.iter = 4096;
	q.saltlen = 16;
	strlcpy(q.snonce, "abc", sizeof(q.snonce));
	n = wire_encode_answer(&q, m, sizeof(m));
	ok(n > 0 && wire_decode_answer(m, n, &r) == 0 && r.iter == 4096 &&
	    r.saltlen == 16 && strcmp(r.snonce, "abc") == 0,
	    "challenge round trip");
	ok(wire_decode_answer(m, n - 1, &r) == -1, "challenge truncated: rejected");
	m[2] = 0xff;
	ok(wire_decode_answer(m, n, &r) == -1, "iterations out of range: rejected");
	q.type = WIRE_SCRAM_SIGNATURE;
	q.siglen = 32;
	n = wire_encode_answer(&q, m, sizeof(m));
	ok(n == 36 && wire_decode_answer(m, n, &r) == 0 && r.siglen == 32,
	    "signature round trip");
	q.type = VERDICT_FAIL_LAST;
	n = wire_encode_answer(&q, m, sizeof(m));
	ok(n == 2 && wire_decode_answer(m, n, &r) == 0 &&
	    r.type == VERDICT_FAIL_LAST, "verdict round trip");
	m[1] = 0x77;
	ok(wire_decode_answer(m, n, &r) == -1, "unknown answer: rejected");
}

static void
test_scram_parse(void)
{
	struct wire_scram_first	f;
	struct wire_scram_final	x;
#define FIRST(s) sasl_scram_first((const unsigned char *)(s), strlen(s), &f)
#define FINAL(s) sasl_scram_final((const unsigned char *)(s), strlen(s), &x)

	ok(FIRST("n,,n=user,r=rOprNGfwEbeRWgbNEkqO") == SASL_SCRAM_OK &&
	    f.cbind == CBIND_NONE && !f.authzid && strcmp(f.user, "user") == 0 &&
	    strcmp(f.cnonce, "rOprNGfwEbeRWgbNEkqO") == 0, "RFC 7677 client-first");
	ok(FIRST("y,a=a=2Cb=3D,n=a=2Cb=3D,r=x") == SASL_SCRAM_OK &&
	    f.cbind == CBIND_CLIENT && f.authzid &&
	    strcmp(f.user, "a,b=") == 0, "escapes decoded, equal authzid");
	ok(FIRST("p=tls-server-end-point,,n=u,r=x") == SASL_SCRAM_OK &&
	    f.cbind == CBIND_ENDPOINT, "tls-server-end-point");
	ok(FIRST("p=tls-exporter,,n=u,r=x") == SASL_SCRAM_OK &&
	    f.cbind == CBIND_EXPORTER, "tls-exporter");
	ok(FIRST("p=tls-unique,,n=u,r=x") == SASL_SCRAM_CBTYPE, "tls-unique: unsupported");
	ok(FIRST("n,a=v,n=u,r=x") == SASL_SCRAM_AUTHZID, "other authzid");
	ok(FIRST("n,,n=u=2c,r=x") == SASL_SCRAM_MALFORMED, "lower-case escape");
	ok(FIRST("n,,n=u=,r=x") == SASL_SCRAM_MALFORMED, "cut escape");
	ok(FIRST("n,,n=,r=x") == SASL_SCRAM_MALFORMED, "empty user");
	ok(FIRST("n,,n=u,r=") == SASL_SCRAM_MALFORMED, "empty nonce");
	ok(FIRST("n,,n=u,r=x,e=1") == SASL_SCRAM_MALFORMED, "extension");
	ok(FIRST("n,,m=1,n=u,r=x") == SASL_SCRAM_MALFORMED, "mandatory extension");
	ok(FIRST("n,,n=u,r=x y") == SASL_SCRAM_MALFORMED, "space in the nonce");
	ok(FIRST("n,n=u,r=x") == SASL_SCRAM_MALFORMED, "gs2 header cut");
	ok(FIRST("") == SASL_SCRAM_MALFORMED, "empty");
	ok(sasl_scram_first((const unsigned char *)"n,,n=u\0,r=x", 11, &f) ==
	    SASL_SCRAM_MALFORMED, "NUL");
	ok(FINAL("c=biws,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=") ==
	    SASL_SCRAM_OK && x.prooflen == 32, "client-final");
	ok(FINAL("c=biws,r=abc,e=1,p=AAAA") == SASL_SCRAM_MALFORMED, "extension");
	ok(FINAL("c=biws,r=abc,p=!!!!") == SASL_SCRAM_MALFORMED, "bad base64");
	ok(FINAL("c=biws,r=abc") == SASL_SCRAM_MALFORMED, "no proof");
	ok(FINAL("r=abc,c=biws,p=AAAA") == SASL_SCRAM_MALFORMED, "order");
	ok(FINAL("c=biws,r=abc,p=" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	    == SASL_SCRAM_MALFORMED, "proof too long");
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
	test_scram_wire();
	test_scram_parse();
	return tap_done();
}
