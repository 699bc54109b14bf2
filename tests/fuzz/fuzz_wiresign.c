/*
 * The monitor's sign request decoder and the pre-login's reply decoder:
 * never crash, and what they accept re-encodes to the same octets.
 */
#include <stdint.h>
#include <string.h>

#include "common/wiresign.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct wire_sign	s;
	static unsigned char	buf[WIRE_SIGN_REQUEST_MAX], sig[WIRE_SIGN_MAX];
	long			n;

	if (wire_decode_sign(data, len, &s) == 0) {
		n = wire_encode_sign(&s, buf, sizeof(buf));
		if (n != (long)len || memcmp(buf, data, len) != 0)
			__builtin_trap();
	}
	if ((n = wire_decode_signature(data, len, sig, sizeof(sig))) >= 0) {
		n = wire_encode_signature(sig, n, buf, sizeof(buf));
		if (n != (long)len || memcmp(buf, data, len) != 0)
			__builtin_trap();
	}
	return 0;
}
