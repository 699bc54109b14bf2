/*
 * PROXY headers: never a crash; an accepted header's length is within
 * the input, and a prefix asks for more than it has, never less.
 */
#include <stdint.h>
#include <string.h>

#include "prelogin/proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct proxy_info	pi;
	char			buf[64];
	size_t			used, need;

	switch (proxy_parse(data, len, &pi, &used, &need)) {
	case PROXY_OK:
		if (used == 0 || used > len)
			__builtin_trap();
		proxy_format(&pi, buf, sizeof(buf));
		break;
	case PROXY_MORE:
		if (need <= len)
			__builtin_trap();
		break;
	case PROXY_BAD:
		break;
	}
	return 0;
}
