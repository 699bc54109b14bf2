/* One users-file line: parsed or refused, never a crash or an overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/passwd_file.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct passwd_entry	pe;
	char				*line;

	if ((line = malloc(len + 1)) == NULL)
		return 0;
	memcpy(line, data, len);
	line[len] = '\0';
	if (passwd_file_parse_line(line, &pe) == 0 &&
	    (strlen(pe.user) == 0 || strlen(pe.user) > AUTH_USER_MAX))
		__builtin_trap();
	free(line);
	return 0;
}
