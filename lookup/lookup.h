/*
 * The LDAP lookup of one login (passdb = ldap), in a process of its own.
 * auth/passdb_ldap.c forks it from the monitor, reads the service bind
 * password for it while still root, confines it (sandbox_helper: the
 * pre-login user, no descriptors but its reply socket) and calls
 * lookup_run().  It is the only code that links libldap, talks to the
 * directory and parses what the directory sends: the monitor, as root,
 * reads nothing but the reply below, and checks that too.
 *
 * The reply is one SOCK_SEQPACKET message:
 *
 *	version		1 octet, LOOKUP_VERSION
 *	verdict		1 octet, enum lookup_verdict
 * and for LOOKUP_OK only:
 *	uid, gid	4 octets each, big-endian
 *	home		2 octets of length, big-endian, then that many octets
 *	maildir		likewise; length 0: the maildir template applies
 *
 * Strings carry no NUL.  Anything else is no answer: TEMPFAIL.
 */
#ifndef POP3D_LOOKUP_H
#define POP3D_LOOKUP_H

#include <stddef.h>

#include "params.h"
#include "common/config.h"

#define LOOKUP_VERSION		1
#define LOOKUP_REPLY_MAX	(2 + 8 + 2 * (2 + POP3D_PATH_MAX))

enum lookup_verdict {
	LOOKUP_OK,
	LOOKUP_FAIL,		/* no such entry, wrong password, bad entry */
	LOOKUP_TEMPFAIL		/* the directory did not answer */
};

/*
 * Check the user's password against the directory and write the reply to
 * fd.  bindpw is the service bind password, or NULL to search
 * anonymously.  Returns the exit status of the helper.
 */
int	lookup_run(const struct config *, const char *user, const char *pass,
	    const char *bindpw, int fd);

/*
 * The filter for user: "%u" becomes the user escaped as RFC 4515 asks,
 * "%%" a '%'.  0, or -1 if the template is bad or the result too long.
 */
int	lookup_filter(const char *tmpl, const char *user, char *out,
	    size_t outlen);

/* ldap_scope as libldap numbers it, or -1. */
int	lookup_scope(const char *);

/*
 * A path from the directory: absolute, printable ASCII, no '%' (the
 * maildir is a template to the monitor), no "/../", not ending in "/..".
 */
int	lookup_path_ok(const char *);

#endif
