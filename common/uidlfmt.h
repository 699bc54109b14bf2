/*
 * The values of import_uidl and import_uidl_format (pop3d.conf(5)), for
 * pop3d -t and for the session's import of unique-ids (store/uidlmap.h).
 */
#ifndef POP3D_UIDLFMT_H
#define POP3D_UIDLFMT_H

#include <stddef.h>
#include <sys/types.h>

#define UIDLFMT_DOVECOT		1	/* dovecot-uidlist */
#define UIDLFMT_COURIER		2	/* courierpop3dsizelist */
#define UIDLFMT_SOURCES_MAX	2
#define UIDLFMT_FORMAT_MAX	128	/* far more than any format needs */

/*
 * The sources import_uidl names, in order, into sources (room for
 * UIDLFMT_SOURCES_MAX) and their number into *n: 0 for "no".  -1 and a
 * reason when either value is invalid (then *n is 0).
 */
int	uidlfmt_parse(const char *import_uidl, const char *format,
	    int sources[], int *n, char *err, size_t errlen);

/*
 * Dovecot's pop3_uidl_format expanded into out, which holds UIDL_MAX + 1
 * octets: %u, %v, %f, %g and %% with Dovecot 2.3's width and X, their
 * long names between braces, and 2.4's " | hex(<width>)".  The length,
 * 0 when longer than UIDL_MAX, -1 when the format is not one of these.
 */
ssize_t	uidlfmt_expand(const char *format, unsigned long uid,
	    unsigned long uidvalidity, const char *base, size_t blen,
	    const char *guid, size_t glen, char *out);

#endif
