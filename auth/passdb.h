/*
 * Where users come from.  A source, named by passdb in pop3d.conf, checks
 * a password (or an APOP digest, where it holds clear secrets) and says
 * who the user is: the ids, groups, home and maildir the session runs
 * with.  Every source runs in the monitor, as root, and parses no network
 * input: the request was decoded and checked by common/wire.c, the user
 * name by monitor_user_valid().  A source that must talk to a server
 * does so from an unprivileged helper (passdb_ldap.c).
 *
 * A failure must not tell whether the user exists: the monitor answers
 * every failure at the same time (auth_fail_delay_ms), so a source need
 * only avoid logging or returning anything that differs.
 */
#ifndef POP3D_PASSDB_H
#define POP3D_PASSDB_H

#include <sys/types.h>

#include "params.h"
#include "common/config.h"
#include "common/wire.h"
#include "auth/scram.h"

enum passdb_result {
	PASSDB_OK,
	PASSDB_FAIL,		/* unknown user, wrong password, refused account */
	PASSDB_TEMPFAIL,	/* the source could not answer: try later */
	/*
	 * The password was right but the account may not log in (expired,
	 * disabled): the client may be told so, having proved the password.
	 * Never for an account the monitor would refuse anyway (uid 0, below
	 * first_valid_uid): that would make POP3 a test of its password.
	 */
	PASSDB_REFUSED
};

/* What a source can check. */
#define PASSDB_PASSWORD	0x01	/* USER/PASS, AUTH PLAIN, AUTH LOGIN */
#define PASSDB_APOP	0x02	/* APOP: the source holds clear secrets */
#define PASSDB_SCRAM	0x04	/* SCRAM: the source holds SCRAM verifiers */

struct passdb_identity {
	int	has_uid;		/* the source named a uid */
	int	has_gid;
	uid_t	uid;
	gid_t	gid;
	gid_t	groups[PASSDB_GROUPS_MAX];	/* supplementary, gid aside */
	int	ngroups;
	int	system;			/* a system account: first_valid_uid applies */
	char	home[POP3D_PATH_MAX];	/* may be empty */
	char	maildir[POP3D_PATH_MAX]; /* from the source; "": the template */
	int	has_login_delay;	/* the source gives the user's own */
	int	login_delay;		/* seconds, 0..LOGIN_DELAY_MAX */
	int	has_expire;		/* the source gives the user's own */
	int	expire;			/* days, or EXPIRE_NEVER */
};

struct passdb_request {
	enum wire_mech	 mech;
	const char	*user;		/* valid by monitor_user_valid() */
	const char	*secret;	/* the password, or the APOP digest */
	const char	*challenge;	/* the APOP timestamp, or "" */
	const char	*remote;	/* the client, for the source's logs */
	const char	*session;	/* pop3d-session's path, for checkpassword */
	int		 config_fd;	/* the configuration, for a helper; or -1 */
	int		 log_stderr;	/* pop3d -d: a helper logs to stderr too */
};

struct passdb {
	const char	*name;		/* as in pop3d.conf */
	unsigned	 can;		/* PASSDB_PASSWORD | PASSDB_APOP */
	enum passdb_result (*verify)(const struct config *,
			    const struct passdb_request *,
			    struct passdb_identity *);
	/*
	 * PASSDB_SCRAM: the user's verifier for hash, and who the user is.
	 * PASSDB_FAIL for an unknown user or one without such a verifier;
	 * the monitor then answers with a fake salt, never telling which.
	 */
	enum passdb_result (*scram)(const struct config *, const char *user,
			    enum scram_hash, struct scram_verifier *,
			    struct passdb_identity *);
	/*
	 * PASSDB_SCRAM: the hashes some user has a verifier for, as bits
	 * 1 << enum scram_hash.  Only those mechanisms are offered, so that
	 * a client choosing the strongest one offered does not pick SCRAM
	 * where no user could pass it.
	 */
	unsigned	 (*scram_hashes)(const struct config *);
	/* pop3d -t: can the source be used?  0, or -1 with a reason. */
	int		 (*check)(const struct config *, char *why, size_t);
};

/*
 * The source the configuration names, if it exists and can do what the
 * configuration asks of it (APOP); else NULL with a reason in why.
 */
const struct passdb *passdb_configured(const struct config *, char *why,
	    size_t);

/* The users file: auth/passdb_file.c. */
extern const struct passdb passdb_file;
/* PAM and the system's accounts: auth/passdb_pam.c. */
extern const struct passdb passdb_pam;
/* An LDAP directory: auth/passdb_ldap.c, with lookup/lookup.c. */
extern const struct passdb passdb_ldap;
/*
 * The LDAP lookup's reply (lookup/lookup.h), checked as anything from an
 * unprivileged process: PASSDB_OK with id filled, PASSDB_FAIL, or
 * PASSDB_TEMPFAIL for anything malformed.
 */
enum passdb_result passdb_ldap_decode(const unsigned char *, size_t,
	    struct passdb_identity *);
/* A checkpassword program: auth/passdb_checkpassword.c. */
extern const struct passdb passdb_checkpassword;

#endif
