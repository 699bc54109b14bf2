/* Strict base64: never overruns, and every accepted input round-trips. */
#include <stdint.h>
#include <string.h>

#include "common/base64.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static unsigned char	dec[4096];
	static char		enc[8192];
	long			n, m;

	n = base64_decode((const char *)data, len, dec, sizeof(dec));
	if (n < 0)
		return 0;
	m = base64_encode(dec, n, enc, sizeof(enc));
	if (m != (long)len || memcmp(enc, data, len) != 0)
		__builtin_trap();
	return 0;
}
