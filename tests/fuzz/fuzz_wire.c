/* The monitor's request decoder: never crashes, and what it accepts re-encodes to the same octets. */
#include <stdint.h>
#include <string.h>

#include "common/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct wire_request	rq;
	static unsigned char		buf[WIRE_REQUEST_MAX];
	long				n;

	if (wire_decode_request(data, len, &rq) == -1)
		return 0;
	n = wire_encode_request(&rq, buf, sizeof(buf));
	if (n != (long)len || memcmp(buf, data, len) != 0)
		__builtin_trap();
	return 0;
}
