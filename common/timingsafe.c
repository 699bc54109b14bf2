/*
 * Constant-time comparison (common/timingsafe.h).  Every octet is read,
 * through volatile pointers so that the compiler neither stops at the
 * first difference nor turns the loop into memcmp(3).
 */
#include "common/timingsafe.h"

int
timingsafe_bcmp(const void *b1, const void *b2, size_t n)
{
	const volatile unsigned char	*p1 = b1, *p2 = b2;
	unsigned char			 diff = 0;

	while (n-- > 0)
		diff |= *p1++ ^ *p2++;
	return diff != 0;
}
