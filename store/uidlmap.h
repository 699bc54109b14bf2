/*
 * Unique-ids taken over from the server that served a Maildir before
 * pop3d, so that clients that leave mail on the server download nothing
 * again (pop3d.conf(5), import_uidl).
 *
 * pop3d's own record is "pop3d.uidl" in the Maildir's top directory:
 *
 *	POP3DUIDL 1 LF
 *	<base name> SP <unique-id> LF		one line a message
 *
 * keyed by the base name (the file name before ':'), so that a move from
 * new/ to cur/ or a flag change keeps the unique-id.  A message with no
 * line has its usual unique-id (uidl.h), as has new mail.  The record is
 * read at every login once it exists, whatever import_uidl says: clients
 * keep the unique-ids they know after the key is taken out.
 *
 * It is written once, at the first login with import_uidl set that finds
 * no record: from the first of the files named in import_uidl that the
 * Maildir holds (Dovecot's "dovecot-uidlist", Courier's
 * "courierpop3dsizelist"), with a line for each listed message whose
 * unique-id there is not its base name.  A Maildir that pop3d served
 * before (it has pop3d.cache) gets an empty record instead: its clients
 * know pop3d's unique-ids already.  Later logins write it again only to
 * leave out the lines of messages that are gone.
 *
 * Every file read here is untrusted input, the mailbox owner's own or the
 * other server's: a file that is not a regular one or is larger than
 * UIDLMAP_FILE_MAX is not read (logged); a line that is malformed, a
 * unique-id that breaks RFC 1939 (uidl_valid()) or holds ':' (which only
 * pop3d's own fallbacks do), a base name given twice, and a unique-id
 * that another listed message has as its base name or imported unique-id
 * are all left out, logged, and those messages keep their usual
 * unique-ids.  The unique-ids of one maildrop are thus always distinct.
 */
#ifndef POP3D_UIDLMAP_H
#define POP3D_UIDLMAP_H

#include <stddef.h>

#include "store/maildrop.h"

#define UIDLMAP_FILE	"pop3d.uidl"		/* in the top directory */
#define UIDLMAP_TMP	"pop3d.uidl.tmp"	/* in tmp/, then renamed */
#define UIDLMAP_MAGIC	"POP3DUIDL 1\n"

struct uidlmap;

/*
 * The settings of the session: the sources to import, in order ("no", or
 * "dovecot", "courier" or both, separated by blanks or commas), and the
 * pop3_uidl_format Dovecot had (%u, %v, %f, %g, %%, with a width and the
 * X modifier as Dovecot 2.3 reads them, or %{uid | hex(8)} as 2.4 does).  -1 and a reason when either is
 * invalid: then nothing is imported, but pop3d.uidl is still read.
 */
int	uidlmap_setup(const char *sources, const char *format, char *err,
	    size_t errlen);

/*
 * The unique-ids to give the Maildir at dirfd, read or imported as above,
 * into *map: NULL when there are none (the common case).  -1 when they
 * cannot be read for now (out of memory, a read error): the login must
 * fail rather than give messages other unique-ids than it will later.
 */
int	uidlmap_load(int dirfd, struct uidlmap **map);

/* The unique-id recorded for the base name of blen octets at base. */
const char *uidlmap_find(const struct uidlmap *, const char *base,
	    size_t blen);

/*
 * Once md is listed: give back their base names to the messages whose
 * imported unique-id is not unique, write pop3d.uidl when it needs to be,
 * free the map.  A message has an imported unique-id when it has
 * MSG_OWNUIDL and a unique-id that does not start with ':'.
 */
void	uidlmap_finish(struct uidlmap *, struct maildrop *md);

/* Free the map without writing anything: the listing failed. */
void	uidlmap_free(struct uidlmap *);

/*
 * For the unit tests: the format uidlmap_setup() took, expanded into out;
 * its length, or 0 when it does not fit or has no valid unique-id length.
 */
size_t	uidlmap_expand(unsigned long uid, unsigned long uidvalidity,
	    const char *base, size_t blen, const char *guid, size_t glen,
	    char *out, size_t outlen);

#endif
