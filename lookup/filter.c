/*
 * The parts of the LDAP lookup that call no libldap: the filter, the
 * scope and the path rules.  The monitor checks the configuration and the
 * lookup's reply with them; pop3d-ldap builds its search with them.
 */
#include <ldap.h>
#include <string.h>

#include "lookup/lookup.h"

int
lookup_filter(const char *tmpl, const char *user, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*u;
	size_t			 n = 0;
	int			 c;

	for (; *tmpl != '\0'; tmpl++) {
		if (*tmpl != '%') {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *tmpl;
			continue;
		}
		if (*++tmpl == '%') {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = '%';
			continue;
		}
		if (*tmpl != 'u')
			return -1;
		/* RFC 4515 section 3: '*', '(', ')', '\' and NUL as \XX. */
		for (u = user; *u != '\0'; u++) {
			c = (unsigned char)*u;
			if (n + 3 >= outlen)
				return -1;
			if (c == '*' || c == '(' || c == ')' || c == '\\' ||
			    c < 0x20 || c >= 0x7f) {
				out[n++] = '\\';
				out[n++] = hex[c >> 4];
				out[n++] = hex[c & 0xf];
			} else
				out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return 0;
}

int
lookup_scope(const char *s)
{
	if (strcmp(s, "base") == 0)
		return LDAP_SCOPE_BASE;
	if (strcmp(s, "one") == 0)
		return LDAP_SCOPE_ONELEVEL;
	if (strcmp(s, "sub") == 0)
		return LDAP_SCOPE_SUBTREE;
	return -1;
}

int
lookup_path_ok(const char *p)
{
	size_t i, n = strlen(p);

	if (p[0] != '/' || n >= POP3D_PATH_MAX || strstr(p, "/../") != NULL ||
	    (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '%')
			return 0;
	return 1;
}
