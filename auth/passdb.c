/* The table of user sources; adding one is one line here. */
#include <stdio.h>
#include <string.h>

#include "auth/passdb.h"

static const struct passdb *const sources[] = {
	&passdb_file,
	&passdb_pam,
	&passdb_ldap,
	&passdb_checkpassword,
};

const struct passdb *
passdb_configured(const struct config *cf, char *why, size_t len)
{
	const struct passdb	*p = NULL;
	size_t			 i;

	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(sources[i]->name, cf->passdb) == 0)
			p = sources[i];
	if (p == NULL) {
		snprintf(why, len, "passdb '%s': no such user source", cf->passdb);
		return NULL;
	}
	if (cf->checkpassword_exec && p != &passdb_checkpassword) {
		snprintf(why, len, "checkpassword_exec = yes needs passdb = "
		    "checkpassword");
		return NULL;
	}
	if (cf->apop && !(p->can & PASSDB_APOP)) {
		snprintf(why, len, "apop = yes: passdb %s holds no clear "
		    "secrets", p->name);
		return NULL;
	}
	return p;
}
