/*
 * The wire decoders: never crash, and what they accept re-encodes to the
 * same octets (the monitor's requests and the pre-login's answers alike).
 */
#include <stdint.h>
#include <string.h>

#include "common/wire.h"
#include "prelogin/sasl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same(long n, const uint8_t *buf, const uint8_t *data, size_t len)
{
	if (n != (long)len || memcmp(buf, data, len) != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct wire_request	rq;
	static struct wire_scram_first	f;
	static struct wire_scram_final	x;
	static struct wire_answer	a;
	static unsigned char		buf[WIRE_REQUEST_MAX];

	if (wire_decode_request(data, len, &rq) == 0)
		same(wire_encode_request(&rq, buf, sizeof(buf)), buf, data, len);
	if (wire_decode_scram_first(data, len, &f) == 0)
		same(wire_encode_scram_first(&f, buf, sizeof(buf)), buf, data,
		    len);
	if (wire_decode_scram_final(data, len, &x) == 0)
		same(wire_encode_scram_final(&x, buf, sizeof(buf)), buf, data,
		    len);
	if (wire_decode_answer(data, len, &a) == 0)
		same(wire_encode_answer(&a, buf, sizeof(buf)), buf, data, len);
	/* The client's SCRAM messages, as the pre-login parses them. */
	sasl_scram_first(data, len, &f);
	sasl_scram_final(data, len, &x);
	return 0;
}
