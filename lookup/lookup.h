/*
 * The LDAP lookup of one login (passdb = ldap), in a process of its own.
 * auth/passdb_ldap.c forks it from the monitor, reads the service bind
 * password for it while still root, confines it (sandbox_helper: the
 * pre-login user, no descriptors but its socket and the configuration)
 * and executes pop3d-ldap (lookup/pop3d-ldap.c), which runs lookup_run().
 * It is the only program that links libldap, talks to the directory and
 * parses what the directory sends: the monitor, as root, reads nothing
 * but the reply below, and checks that too.  pop3d itself maps no
 * libldap (nor GnuTLS, which Debian's libldap loads): every connection
 * would pay for loading them.
 *
 * The request is one SOCK_SEQPACKET message, put on the socket before
 * pop3d-ldap is executed, so that no secret is in its arguments or
 * environment:
 *
 *	version		1 octet, LOOKUP_VERSION
 *	user		the user name, then a NUL
 *	password	the client's password, then a NUL
 *	bind password	ldap_bind_password_file's, then a NUL ("" when
 *			ldap_bind_dn is unset: an anonymous search)
 *
 * The reply is one SOCK_SEQPACKET message on the same socket:
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
/* The bind password may keep one line end, which the lookup drops. */
#define LOOKUP_BINDPW_MAX	(LDAP_BIND_PASS_MAX + 1)
#define LOOKUP_REQUEST_MAX	(1 + AUTH_USER_MAX + 1 + AUTH_PASS_MAX + 1 + \
				    LOOKUP_BINDPW_MAX + 1)

/* pop3d-ldap's descriptors: the socket, and the configuration if any. */
#define LOOKUP_SOCKET_FD	3
#define LOOKUP_CONFIG_FD	4

struct lookup_request {
	char	user[AUTH_USER_MAX + 1];
	char	pass[AUTH_PASS_MAX + 1];
	char	bindpw[LOOKUP_BINDPW_MAX + 1];
};

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
 * The request in m, n octets, into rq; 0, or -1 when it is malformed (a
 * version, a string too long or unterminated, octets left over).
 */
int	lookup_request_decode(const unsigned char *m, size_t n,
	    struct lookup_request *rq);
/* The request into buf (LOOKUP_REQUEST_MAX octets); its length, or -1. */
long	lookup_request_encode(const char *user, const char *pass,
	    const char *bindpw, unsigned char *buf, size_t len);

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
