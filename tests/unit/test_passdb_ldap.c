/*
 * Unit tests of the monitor's reading of the LDAP lookup's reply
 * (auth/passdb_ldap.c): the lookup runs unprivileged, so every length,
 * id and path in its reply is checked again.
 */
#include <string.h>

#include "auth/passdb.h"
#include "lookup/lookup.h"
#include "tests/unit/tap.h"

static unsigned char	m[LOOKUP_REPLY_MAX + 8];

/* A reply for OK: returns its length. */
static size_t
make(unsigned verdict, unsigned long uid, unsigned long gid, const char *home,
    size_t homelen, const char *maildir)
{
	size_t n = 0, ml = strlen(maildir);

	m[n++] = LOOKUP_VERSION;
	m[n++] = (unsigned char)verdict;
	m[n++] = uid >> 24; m[n++] = uid >> 16; m[n++] = uid >> 8; m[n++] = uid;
	m[n++] = gid >> 24; m[n++] = gid >> 16; m[n++] = gid >> 8; m[n++] = gid;
	m[n++] = homelen >> 8; m[n++] = homelen & 0xff;
	memcpy(m + n, home, homelen);
	n += homelen;
	m[n++] = ml >> 8; m[n++] = ml & 0xff;
	memcpy(m + n, maildir, ml);
	return n + ml;
}

int
main(void)
{
	struct passdb_identity	id;
	size_t			n;
	char			longpath[POP3D_PATH_MAX + 1];

	n = make(LOOKUP_OK, 20001, 20501, "/home/alice", 11, "");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_OK && id.uid == 20001 &&
	    id.gid == 20501 && id.has_uid && id.has_gid && id.system &&
	    strcmp(id.home, "/home/alice") == 0 && id.maildir[0] == '\0',
	    "a good reply");
	n = make(LOOKUP_OK, 7, 8, "/h", 2, "/h/Maildir");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_OK &&
	    strcmp(id.maildir, "/h/Maildir") == 0, "with a maildir");
	ok(passdb_ldap_decode(m, n - 1, &id) == PASSDB_TEMPFAIL,
	    "one octet short");
	m[n] = 'x';
	ok(passdb_ldap_decode(m, n + 1, &id) == PASSDB_TEMPFAIL,
	    "one octet too many");
	m[0] = LOOKUP_VERSION + 1;
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL, "another version");
	n = make(LOOKUP_OK, 7, 8, "/h\0x", 4, "");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL, "a NUL in a path");
	n = make(LOOKUP_OK, 7, 8, "h", 1, "");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL, "a relative home");
	n = make(LOOKUP_OK, 7, 8, "/h", 2, "/h/../../etc");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL,
	    "a maildir that climbs");
	n = make(LOOKUP_OK, 0xffffffffUL, 8, "/h", 2, "");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL, "uid -1");
	n = make(LOOKUP_OK, 7, 0xffffffffUL, "/h", 2, "");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL, "gid -1");
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	n = make(LOOKUP_OK, 7, 8, longpath, POP3D_PATH_MAX, "");
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL &&
	    id.home[0] == '\0', "a home of POP3D_PATH_MAX octets");
	n = make(LOOKUP_OK, 7, 8, "/h", 2, "");
	m[10] = 0xea;		/* home: 60000 octets, in a 16-octet reply */
	m[11] = 0x60;
	ok(passdb_ldap_decode(m, n, &id) == PASSDB_TEMPFAIL,
	    "a length past the end");
	m[0] = LOOKUP_VERSION;
	m[1] = LOOKUP_FAIL;
	ok(passdb_ldap_decode(m, 2, &id) == PASSDB_FAIL, "FAIL");
	ok(passdb_ldap_decode(m, 3, &id) == PASSDB_TEMPFAIL,
	    "FAIL with more after it");
	m[1] = LOOKUP_TEMPFAIL;
	ok(passdb_ldap_decode(m, 2, &id) == PASSDB_TEMPFAIL, "TEMPFAIL");
	m[1] = 9;
	ok(passdb_ldap_decode(m, 2, &id) == PASSDB_TEMPFAIL, "an unknown verdict");
	ok(passdb_ldap_decode(m, 1, &id) == PASSDB_TEMPFAIL &&
	    passdb_ldap_decode(m, 0, &id) == PASSDB_TEMPFAIL, "too short");
	return tap_done();
}
