/* The identity report decoder (run as root by the monitor): never crashes, and what it accepts re-encodes to the same octets. */
#include <stdint.h>
#include <string.h>

#include "common/idreport.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct idreport	r;
	static unsigned char	buf[IDREPORT_MAX];
	long			n;

	if (idreport_decode(data, len, &r) == -1)
		return 0;
	n = idreport_encode(&r, buf, sizeof(buf));
	if (n != (long)len || memcmp(buf, data, len) != 0)
		__builtin_trap();
	return 0;
}
