#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/handover.h"

static const char *const handover_names[] = {
	"POP3D_SESSION",
	"POP3D_USER",
	"POP3D_MAILDIR",
	"POP3D_REMOTE",
	"POP3D_METHOD",
	"POP3D_CARRY_FD",
	"POP3D_CONFIG_FD",
	"POP3D_TLS",
	"POP3D_RELAY_PID",
	"POP3D_LOGGER_PID",
	"POP3D_LOGIN_DELAY",
	"POP3D_EXPIRE",
	"HOME",
	"USER",
	"PATH",
	"POP3D_STARTED_FD",
	"POP3D_SASL",
};

_Static_assert(sizeof(handover_names) / sizeof(handover_names[0]) ==
    HO_COUNT, "one name for every hand-over variable");

void
handover_init(struct handover_env *he)
{
	he->n = 0;
	he->envp[0] = NULL;
}

int
handover_set(struct handover_env *he, enum handover v, const char *fmt, ...)
{
	char	*var = he->vars[he->n];
	size_t	 len;
	va_list	 ap;
	int	 n;

	if (he->n >= HO_COUNT)
		return -1;
	len = strlcpy(var, handover_names[v], HANDOVER_VAR_MAX);
	if (len + 1 >= HANDOVER_VAR_MAX)
		return -1;
	var[len++] = '=';
	va_start(ap, fmt);
	n = vsnprintf(var + len, HANDOVER_VAR_MAX - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= HANDOVER_VAR_MAX - len)
		return -1;
	he->envp[he->n++] = var;
	he->envp[he->n] = NULL;
	return 0;
}

const char *
handover_get(enum handover v)
{
	return getenv(handover_names[v]);
}
