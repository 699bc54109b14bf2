/*
 * The users file (users_file in pop3d.conf): pop3d's own source, in the
 * format of Dovecot's passwd-file.  See pop3d.conf(5).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/apop.h"
#include "auth/passdb.h"
#include "auth/passwd_file.h"
#include "auth/password.h"
#include "common/log.h"

static struct passwd_entry	pe;	/* holds the hash: wiped after use */

static void
file_identity(struct passdb_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->has_uid = pe.has_uid;
	id->has_gid = pe.has_gid;
	id->uid = pe.uid;
	id->gid = pe.gid;
	strlcpy(id->home, pe.home, sizeof(id->home));
	id->has_login_delay = pe.has_login_delay;
	id->login_delay = pe.login_delay;
	id->has_expire = pe.has_expire;
	id->expire = pe.expire;
}

static enum passdb_result
check_secret(const struct config *cf, const struct passdb_request *rq,
    char *safe)
{
	enum password_result pr;

	if (rq->mech == MECH_APOP) {
		if (rq->challenge[0] == '\0')
			return PASSDB_FAIL;
		pr = apop_verify(pe.hash, rq->challenge, rq->secret);
		if (pr == PASSWORD_BADHASH)
			log_warnx("user=%s: APOP needs a {PLAIN} secret", safe);
	} else {
		pr = password_verify(pe.hash, rq->secret);
		if (pr == PASSWORD_BADHASH)
			log_warnx("user=%s: unusable password hash in %s", safe,
			    cf->users_file);
	}
	return pr == PASSWORD_MATCH ? PASSDB_OK : PASSDB_FAIL;
}

static enum passdb_result
file_verify(const struct config *cf, const struct passdb_request *rq,
    struct passdb_identity *id)
{
	enum passdb_result	r;
	char			safe[AUTH_USER_MAX + 1];

	switch (passwd_file_lookup(cf->users_file, rq->user, &pe)) {
	case PASSWD_TEMPFAIL:
		return PASSDB_TEMPFAIL;
	case PASSWD_NOUSER:
		/* The same work as for a user who exists. */
		password_dummy_verify(rq->secret);
		explicit_bzero(&pe, sizeof(pe));
		return PASSDB_FAIL;
	case PASSWD_FOUND:
		break;
	}
	log_sanitize(rq->user, safe, sizeof(safe));
	r = check_secret(cf, rq, safe);
	if (r == PASSDB_OK)
		file_identity(id);
	explicit_bzero(&pe, sizeof(pe));
	return r;
}

/* The entry's SCRAM verifier for hash: "{SCRAM-SHA-256}..." or "{SCRAM-SHA-1}...". */
static enum passdb_result
file_scram(const struct config *cf, const char *user, enum scram_hash h,
    struct scram_verifier *v, struct passdb_identity *id)
{
	const char	*tag = h == SCRAM_SHA1 ? "{SCRAM-SHA-1}" :
			    "{SCRAM-SHA-256}";
	char		 safe[AUTH_USER_MAX + 1];
	enum passdb_result r = PASSDB_FAIL;

	switch (passwd_file_lookup(cf->users_file, user, &pe)) {
	case PASSWD_TEMPFAIL:
		return PASSDB_TEMPFAIL;
	case PASSWD_NOUSER:
		break;
	case PASSWD_FOUND:
		if (strncasecmp(pe.hash, tag, strlen(tag)) != 0)
			break;
		if (scram_parse(pe.hash + strlen(tag), h, v) == -1) {
			log_sanitize(user, safe, sizeof(safe));
			log_warnx("user=%s: unusable password hash in %s", safe,
			    cf->users_file);
			break;
		}
		file_identity(id);
		r = PASSDB_OK;
		break;
	}
	explicit_bzero(&pe, sizeof(pe));
	return r;
}

static unsigned
file_scram_hashes(const struct config *cf)
{
	unsigned f = passwd_file_scram(cf->users_file), h = 0;

	if (f & PASSWD_SCRAM_SHA1)
		h |= 1U << SCRAM_SHA1;
	if (f & PASSWD_SCRAM_SHA256)
		h |= 1U << SCRAM_SHA256;
	return h;
}

static int
file_check(const struct config *cf, char *why, size_t len)
{
	if (access(cf->users_file, R_OK) == -1) {
		snprintf(why, len, "users_file %s: %s", cf->users_file,
		    strerror(errno));
		return -1;
	}
	return 0;
}

const struct passdb passdb_file = {
	.name = "file",
	.can = PASSDB_PASSWORD | PASSDB_APOP | PASSDB_SCRAM,
	.verify = file_verify,
	.scram = file_scram,
	.scram_hashes = file_scram_hashes,
	.check = file_check,
};
