/* PROXY protocol headers: what is taken, and everything refused. */
#include <sys/socket.h>

#include <string.h>
#include <unistd.h>

#include "common/cidr.h"
#include "prelogin/proxy.h"
#include "tap.h"

static struct proxy_info pi;

static enum proxy_status
parse(const void *buf, size_t len, size_t *used, size_t *need)
{
	return proxy_parse(buf, len, &pi, used, need);
}

static int
v1(const char *s, size_t *used)
{
	size_t need;

	return parse(s, strlen(s), used, &need);
}

static void
test_v1(void)
{
	char	buf[64];
	size_t	used, need;

	ok(v1("PROXY TCP4 192.0.2.7 198.51.100.1 54321 110\r\nUSER", &used) ==
	    PROXY_OK && used == 45 && pi.family == 4 && pi.port == 54321 &&
	    memcmp(pi.addr, "\xc0\x00\x02\x07", 4) == 0,
	    "TCP4: the client, and where the header ends");
	proxy_format(&pi, buf, sizeof(buf));
	ok(strcmp(buf, "192.0.2.7:54321") == 0, "formatted: %s", buf);
	ok(v1("PROXY TCP6 2001:db8::7 2001:db8::1 1 110\r\n", &used) ==
	    PROXY_OK && pi.family == 6 && pi.port == 1, "TCP6");
	proxy_format(&pi, buf, sizeof(buf));
	ok(strcmp(buf, "[2001:db8::7]:1") == 0, "formatted: %s", buf);
	ok(v1("PROXY UNKNOWN\r\n", &used) == PROXY_OK && pi.family == 0 &&
	    used == 15, "UNKNOWN");
	ok(v1("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &used) == PROXY_OK &&
	    pi.family == 0, "UNKNOWN with addresses: ignored");
	ok(parse("PROXY TCP4 1.2.3.4", 18, &used, &need) == PROXY_MORE &&
	    need == 19, "no CRLF yet: one more octet");
	ok(v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", &used) == PROXY_BAD,
	    "bare LF");
	ok(v1("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", &used) == PROXY_BAD,
	    "double space");
	ok(v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", &used) == PROXY_BAD,
	    "a sixth field");
	ok(v1("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", &used) == PROXY_BAD,
	    "a field missing");
	ok(v1("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", &used) == PROXY_BAD,
	    "port 65536");
	ok(v1("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", &used) == PROXY_BAD,
	    "port with a leading zero");
	ok(v1("PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", &used) == PROXY_BAD,
	    "TCP4 with an IPv6 address");
	ok(v1("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n", &used) == PROXY_BAD,
	    "octet 400");
	ok(v1("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", &used) == PROXY_BAD,
	    "UDP4");
	ok(v1("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", &used) == PROXY_BAD,
	    "lower case");
	ok(v1("USER bob\r\n", &used) == PROXY_BAD, "a POP3 command instead");
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	ok(parse(buf, sizeof(buf), &used, &need) == PROXY_MORE,
	    "64 octets without CRLF: still possible");
	{
		char long_line[PROXY_V1_MAX + 8];

		memset(long_line, 'x', sizeof(long_line));
		memcpy(long_line, "PROXY UNKNOWN ", 14);
		ok(parse(long_line, PROXY_V1_MAX, &used, &need) == PROXY_BAD,
		    "%d octets without CRLF: refused", PROXY_V1_MAX);
		memcpy(long_line + PROXY_V1_MAX - 1, "\r\n", 2);
		ok(parse(long_line, PROXY_V1_MAX + 1, &used, &need) ==
		    PROXY_BAD, "a CRLF at octet %d: refused", PROXY_V1_MAX + 1);
	}
}

static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* A v2 header: command, family byte, body. */
static size_t
v2(unsigned char *buf, int cmd, int fam, const void *body, size_t n)
{
	memcpy(buf, sig, 12);
	buf[12] = 0x20 | cmd;
	buf[13] = fam;
	buf[14] = n >> 8;
	buf[15] = n & 0xff;
	memcpy(buf + 16, body, n);
	return 16 + n;
}

static void
test_v2(void)
{
	static const unsigned char tcp4[12] = { 192, 0, 2, 7, 198, 51, 100, 1,
	    0xd4, 0x31, 0, 110 };
	unsigned char	buf[2048], body[64];
	size_t		n, used, need;

	n = v2(buf, 1, 0x11, tcp4, sizeof(tcp4));
	ok(parse(buf, n, &used, &need) == PROXY_OK && used == 28 &&
	    pi.family == 4 && pi.port == 54321 && !pi.tls, "TCP4");
	ok(parse(buf, 10, &used, &need) == PROXY_MORE && need == 16,
	    "part of the signature: the fixed header first");
	ok(parse(buf, 16, &used, &need) == PROXY_MORE && need == 28,
	    "the fixed header: then its body");
	ok(parse(buf, 27, &used, &need) == PROXY_MORE, "one octet short");
	n = v2(buf, 0, 0x11, tcp4, sizeof(tcp4));
	ok(parse(buf, n, &used, &need) == PROXY_OK && pi.family == 0,
	    "LOCAL: no client");
	n = v2(buf, 1, 0x00, "", 0);
	ok(parse(buf, n, &used, &need) == PROXY_OK && pi.family == 0,
	    "UNSPEC");
	memset(body, 0, sizeof(body));
	body[15] = 7;			/* ::7 */
	body[32] = 0;
	body[33] = 99;
	n = v2(buf, 1, 0x21, body, 36);
	ok(parse(buf, n, &used, &need) == PROXY_OK && pi.family == 6 &&
	    pi.port == 99 && pi.addr[15] == 7, "TCP6");
	ok(parse(buf, v2(buf, 1, 0x21, body, 35), &used, &need) == PROXY_BAD,
	    "TCP6 body shorter than its addresses");
	ok(parse(buf, v2(buf, 1, 0x12, tcp4, 12), &used, &need) == PROXY_BAD,
	    "UDP");
	ok(parse(buf, v2(buf, 1, 0x31, body, 64), &used, &need) == PROXY_BAD,
	    "a unix socket");
	ok(parse(buf, v2(buf, 2, 0x11, tcp4, 12), &used, &need) == PROXY_BAD,
	    "command 2");
	n = v2(buf, 1, 0x11, tcp4, 12);
	buf[12] = 0x31;
	ok(parse(buf, n, &used, &need) == PROXY_BAD, "version 3");
	buf[12] = 0x21;
	buf[11] = 0;
	ok(parse(buf, n, &used, &need) == PROXY_BAD, "a wrong signature");

	/* TLVs: an SSL one says the client spoke TLS; bounds are checked. */
	memcpy(body, tcp4, 12);
	memcpy(body + 12, "\x20\x00\x05\x01\x00\x00\x00\x00", 8);
	ok(parse(buf, v2(buf, 1, 0x11, body, 20), &used, &need) == PROXY_OK &&
	    pi.tls, "SSL TLV, client used TLS");
	body[15] = 0;
	ok(parse(buf, v2(buf, 1, 0x11, body, 20), &used, &need) == PROXY_OK &&
	    !pi.tls, "SSL TLV, plain client");
	memcpy(body + 12, "\x20\x00\x09\x01\x00\x00\x00\x00", 8);
	ok(parse(buf, v2(buf, 1, 0x11, body, 20), &used, &need) == PROXY_BAD,
	    "a TLV longer than the body");
	memcpy(body + 12, "\x20\x00\x02\x01\x00\x00\x00\x00", 8);
	ok(parse(buf, v2(buf, 1, 0x11, body, 17), &used, &need) == PROXY_BAD,
	    "an SSL TLV too short for its fields");
	ok(parse(buf, v2(buf, 1, 0x11, body, 14), &used, &need) == PROXY_BAD,
	    "a TLV header cut short");
	memcpy(body + 12, "\x04\x00\x00", 3);
	ok(parse(buf, v2(buf, 1, 0x11, body, 15), &used, &need) == PROXY_OK,
	    "an empty TLV of another type: skipped");
	memset(buf + 16, 0, PROXY_V2_BODY_MAX + 1);
	n = v2(buf, 1, 0x00, buf + 16, PROXY_V2_BODY_MAX + 1);
	ok(parse(buf, 16, &used, &need) == PROXY_BAD,
	    "a body over %d octets: refused from its length", PROXY_V2_BODY_MAX);
}

/* proxy_read takes exactly the header, never what follows. */
static void
test_read(void)
{
	char	err[128], rest[16];
	int	p[2];
	ssize_t	n;

	if (pipe(p) == -1)
		return;
	if (write(p[1], "PROXY UNKNOWN\r\nCAPA\r\n", 21) != 21)
		return;
	ok(proxy_read(p[0], 1e12, &pi, err, sizeof(err)) == 0,
	    "read a v1 header");
	n = read(p[0], rest, sizeof(rest));
	ok(n == 6 && memcmp(rest, "CAPA\r\n", 6) == 0,
	    "what follows it is left unread");
	close(p[1]);
	ok(proxy_read(p[0], 1e12, &pi, err, sizeof(err)) == -1 &&
	    strstr(err, "PROXY header") != NULL, "end of input: %s", err);
	close(p[0]);
}

static void
test_cidr(void)
{
	unsigned char	a[16];
	char		err[128];
	int		f;

	ok(cidr_list_check("10.0.0.0/8, ::1 192.0.2.7,2001:db8::/32", err,
	    sizeof(err)) == 0, "a list");
	ok(cidr_list_check("10.0.0.0/33", err, sizeof(err)) == -1,
	    "/33 refused: %s", err);
	ok(cidr_list_check("example.org", err, sizeof(err)) == -1,
	    "a name refused");
	f = cidr_parse_peer("10.1.2.3:4567", a);
	ok(f == 4 && cidr_list_match("10.0.0.0/8", f, a), "10.1.2.3 in /8");
	ok(!cidr_list_match("10.0.0.0/16", f, a), "not in 10.0/16");
	f = cidr_parse_peer("[::1]:110", a);
	ok(f == 6 && cidr_list_match("127.0.0.1, ::1", f, a), "::1");
	f = cidr_parse_peer("::ffff:127.0.0.1", a);
	ok(f == 6 && cidr_list_match("127.0.0.0/8", f, a),
	    "an IPv4-mapped address matches as IPv4");
	ok(cidr_parse_peer("local", a) == 0 && cidr_parse_peer("unknown", a) ==
	    0, "no address: no family");
	f = cidr_parse_peer("192.0.2.1", a);
	ok(f == 4 && cidr_list_match("192.0.2.0/25", f, a) &&
	    !cidr_list_match("192.0.2.128/25", f, a), "prefix bits");
}

int
main(void)
{
	test_v1();
	test_v2();
	test_read();
	test_cidr();
	return tap_done();
}
