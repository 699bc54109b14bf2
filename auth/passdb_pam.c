/*
 * PAM and the system's accounts (passdb = pam): the PAM service
 * pam_service checks the password (its auth stack) and the account (its
 * account stack); who the user is, uid, gid, home and supplementary
 * groups, comes from the passwd and group databases through NSS, so
 * local files, LDAP through sssd or nslcd all work unchanged.  See
 * pop3d.conf(5).
 *
 * Only pam_authenticate(3) and pam_acct_mgmt(3) run: no credentials are
 * set and no PAM session is opened, since a POP3 session is no login and
 * runs no shell.  Modules may fork (unix_chkpwd) and may log to syslog
 * themselves; this runs in the monitor, as root, before any privilege is
 * dropped.
 *
 * libpam itself is mapped at the first check (pamlib_load()), as PAM maps
 * its modules: linked into pop3d, it would be mapped, with libaudit and
 * libcap-ng, by every connection whatever its passdb, at some 0.3 ms of
 * CPU each.
 */
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "auth/passdb.h"
#include "auth/password.h"
#include "common/log.h"

/* Where libpam looks for a service, in this order (Linux-PAM). */
#define PAM_DIR		"/etc/pam.d"
#define PAM_VENDOR_DIR	"/usr/lib/pam.d"

/* What the conversation answers with; lives as long as one check. */
struct conv_data {
	const char	*user;
	const char	*password;
};

static char	pwbuf[PASSDB_PWBUF];	/* the user's passwd entry */

/* libpam's soname, as the linker would have named it. */
#define LIBPAM		"libpam.so.0"

/* The calls of libpam this file makes, once it is mapped. */
static struct {
	void		*handle;
	int		(*start)(const char *, const char *,
			    const struct pam_conv *, pam_handle_t **);
	int		(*end)(pam_handle_t *, int);
	int		(*set_item)(pam_handle_t *, int, const void *);
	int		(*get_item)(const pam_handle_t *, int, const void **);
	int		(*authenticate)(pam_handle_t *, int);
	int		(*acct_mgmt)(pam_handle_t *, int);
	const char	*(*strerror)(pam_handle_t *, int);
} lib;

#define LOAD(f, name)	\
	((lib.f = (__typeof__(lib.f))dlsym(lib.handle, name)) != NULL)

/* 0 once libpam is mapped and its calls found; -1 with a reason. */
static int
pamlib_load(char *why, size_t len)
{
	if (lib.handle != NULL)
		return 0;
	if ((lib.handle = dlopen(LIBPAM, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, len, "%s", dlerror());
		return -1;
	}
	if (LOAD(start, "pam_start") && LOAD(end, "pam_end") &&
	    LOAD(set_item, "pam_set_item") && LOAD(get_item, "pam_get_item") &&
	    LOAD(authenticate, "pam_authenticate") &&
	    LOAD(acct_mgmt, "pam_acct_mgmt") && LOAD(strerror, "pam_strerror"))
		return 0;
	snprintf(why, len, "%s: %s", LIBPAM, dlerror());
	dlclose(lib.handle);
	memset(&lib, 0, sizeof(lib));
	return -1;
}

/*
 * pam_unix hashes nothing for a user it does not know, and a wrong
 * password twice (Debian 12's pam_unix 1.5.2, measured): for a user the
 * passwd database does not know, pop3d checks the password against this
 * as often, so that the two cost about the same.  yescrypt of a random
 * pass phrase at libxcrypt's default cost, as passwd(1), chpasswd(8) and
 * pam_unix write on Debian 12.  The monitor's fixed answer time is the
 * guard; this keeps the check well inside it whatever the user.
 */
#define DUMMY_CHECKS	2
static const char dummy_hash[] =
    "$y$j9T$zK8SpYB0kLMYxABtcUrjv/$F1PfcaCOogZa0RISZNAl.WVEnTO43up6VFZCE72ZGqC";

static void
free_responses(struct pam_response *r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
}

/*
 * Every hidden prompt gets the password, a visible one the user name;
 * messages get no answer.  The copies are PAM's to free: pam_unix wipes
 * its copy before freeing it, and pam_end(3) wipes PAM_AUTHTOK.  On an
 * error here our own copies are wiped before they are freed.
 */
static int
conversation(int n, const struct pam_message **msg,
    struct pam_response **resp, void *data)
{
	const struct conv_data	*cd = data;
	struct pam_response	*r;
	const char		*answer;
	int			 i;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG ||
	    (r = calloc(n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = cd->password;
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = cd->user;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			continue;
		default:
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
		if ((r[i].resp = strdup(answer)) == NULL) {
			free_responses(r, n);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/*
 * PAM's own failure delay (pam_unix's two seconds, pam_faildelay) is not
 * slept: the monitor answers every failure at auth_fail_delay_ms, and a
 * delay that runs past it would tell failures apart.
 */
static void
no_delay(int retval, unsigned usec, void *data)
{
	(void)retval;
	(void)usec;
	(void)data;
}

/*
 * The client's address without the port, for PAM_RHOST: "[v6]:port" and
 * "v4:port" are cut; a bare address (xinetd gives no port) stays; a pipe
 * ("local") or a vanished peer ("unknown") sets nothing.
 */
static int
remote_host(const char *remote, char *buf, size_t len)
{
	const char	*end;
	size_t		 n;

	if (strcmp(remote, "local") == 0 || strcmp(remote, "unknown") == 0)
		return -1;
	if (remote[0] == '[') {
		if ((end = strchr(remote, ']')) == NULL)
			return -1;
		remote++;
		n = end - remote;
	} else if ((end = strchr(remote, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL)
		n = end - remote;
	else
		n = strlen(remote);
	if (n == 0 || n >= len)
		return -1;
	memcpy(buf, remote, n);
	buf[n] = '\0';
	return 0;
}

static int
set_items(pam_handle_t *ph, const struct passdb_request *rq)
{
	char	host[64];
	int	rc;

	rc = lib.set_item(ph, PAM_FAIL_DELAY, (const void *)no_delay);
	if (rc == PAM_SUCCESS && remote_host(rq->remote, host,
	    sizeof(host)) == 0)
		rc = lib.set_item(ph, PAM_RHOST, host);
	/* As other network services do: pam_access matches on these. */
	if (rc == PAM_SUCCESS)
		rc = lib.set_item(ph, PAM_RUSER, rq->user);
	if (rc == PAM_SUCCESS)
		rc = lib.set_item(ph, PAM_TTY, "pop3");
	return rc;
}

/* A PAM error that no module answer explains: try later. */
static int
pam_tempfail(int rc)
{
	return rc == PAM_AUTHINFO_UNAVAIL || rc == PAM_BUF_ERR ||
	    rc == PAM_SYSTEM_ERR || rc == PAM_ABORT || rc == PAM_CONV_ERR;
}

/*
 * The auth and account stacks.  Every user, known or not, takes the same
 * path through PAM: pop3d adds no shortcut of its own for an unknown user.
 */
static enum passdb_result
pam_check(const struct config *cf, const struct passdb_request *rq,
    const char *safe)
{
	struct conv_data	 cd = { rq->user, rq->secret };
	struct pam_conv		 conv = { conversation, &cd };
	pam_handle_t		*ph = NULL;
	const void		*item;
	enum passdb_result	 r;
	char			 why[256];
	int			 rc;

	if (pamlib_load(why, sizeof(why)) == -1) {
		log_warnx("passdb pam: %s", why);
		return PASSDB_TEMPFAIL;
	}
	if ((rc = lib.start(cf->pam_service, rq->user, &conv, &ph)) !=
	    PAM_SUCCESS) {
		log_warnx("pam_start %s: %s", cf->pam_service,
		    lib.strerror(ph, rc));
		if (ph != NULL)
			lib.end(ph, rc);
		return PASSDB_TEMPFAIL;
	}
	if ((rc = set_items(ph, rq)) != PAM_SUCCESS) {
		log_warnx("pam_set_item: %s", lib.strerror(ph, rc));
		r = PASSDB_TEMPFAIL;
	} else if ((rc = lib.authenticate(ph, PAM_SILENT |
	    PAM_DISALLOW_NULL_AUTHTOK)) != PAM_SUCCESS) {
		/* A wrong password and an unknown user: no log line here. */
		r = PASSDB_FAIL;
		if (pam_tempfail(rc)) {
			log_warnx("user=%s: pam_authenticate: %s", safe,
			    lib.strerror(ph, rc));
			r = PASSDB_TEMPFAIL;
		}
	} else if ((rc = lib.get_item(ph, PAM_USER, &item)) != PAM_SUCCESS ||
	    item == NULL || strcmp(item, rq->user) != 0) {
		/* The account checked must be the one the session runs as. */
		log_warnx("user=%s: PAM changed the user name", safe);
		r = PASSDB_FAIL;
	} else if ((rc = lib.acct_mgmt(ph, PAM_SILENT |
	    PAM_DISALLOW_NULL_AUTHTOK)) != PAM_SUCCESS) {
		/* The password was right: the account is what is refused. */
		r = pam_tempfail(rc) ? PASSDB_TEMPFAIL : PASSDB_REFUSED;
		log_warnx("user=%s: pam_acct_mgmt: %s", safe,
		    lib.strerror(ph, rc));
	} else
		r = PASSDB_OK;
	lib.end(ph, rc);
	return r;
}

/* 0 found, 1 no such user, -1 the database could not be read (logged). */
static int
lookup(const char *user, struct passwd *pw, const char *safe)
{
	struct passwd	*res = NULL;
	int		 e;

	e = getpwnam_r(user, pw, pwbuf, sizeof(pwbuf), &res);
	if (res != NULL)
		return 0;
	/* glibc: 0, ENOENT, ESRCH, EBADF or EPERM all mean "not found". */
	if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		return 1;
	errno = e;
	log_warn("user=%s: getpwnam_r", safe);
	return -1;
}

/* uid, gid, home and every group the user is in, as initgroups(3) sets. */
static int
identity(const struct passwd *pw, struct passdb_identity *id,
    const char *safe)
{
	int n = PASSDB_GROUPS_MAX, i;

	memset(id, 0, sizeof(*id));
	id->has_uid = id->has_gid = 1;
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	id->system = 1;
	if (getgrouplist(pw->pw_name, pw->pw_gid, id->groups, &n) == -1) {
		log_warnx("user=%s: in %d groups, more than %d", safe, n,
		    PASSDB_GROUPS_MAX);
		return -1;
	}
	id->ngroups = n;
	for (i = 0; i < n; i++)
		if (id->groups[i] == 0) {
			log_warnx("user=%s: a member of group 0", safe);
			return -1;
		}
	if (strlcpy(id->home, pw->pw_dir, sizeof(id->home)) >=
	    sizeof(id->home)) {
		log_warnx("user=%s: home directory too long", safe);
		return -1;
	}
	return 0;
}

static enum passdb_result
pam_verify(const struct config *cf, const struct passdb_request *rq,
    struct passdb_identity *id)
{
	struct passwd		pw;
	enum passdb_result	r;
	char			safe[AUTH_USER_MAX + 1];
	int			found, i;

	log_sanitize(rq->user, safe, sizeof(safe));
	if (rq->mech == MECH_APOP)
		return PASSDB_FAIL;
	if ((found = lookup(rq->user, &pw, safe)) == -1)
		return PASSDB_TEMPFAIL;
	/*
	 * Root and system accounts never have their password tried here:
	 * POP3 must not be a way to test them, nor to lock them (faillock).
	 */
	if (found == 0 && pw.pw_uid < (uid_t)cf->first_valid_uid) {
		log_warnx("user=%s: uid %lu is below first_valid_uid %d", safe,
		    (unsigned long)pw.pw_uid, cf->first_valid_uid);
		r = PASSDB_FAIL;
	} else {
		r = pam_check(cf, rq, safe);
		for (i = 0; found != 0 && i < DUMMY_CHECKS; i++)
			password_verify(dummy_hash, rq->secret);
		if ((r == PASSDB_OK || r == PASSDB_REFUSED) && found != 0) {
			log_warnx("user=%s: known to PAM but not to the passwd "
			    "database", safe);
			r = PASSDB_FAIL;
		} else if (r == PASSDB_OK && identity(&pw, id, safe) == -1)
			r = PASSDB_FAIL;
	}
	explicit_bzero(pwbuf, sizeof(pwbuf));
	return r;
}

/* pop3d -t: without a file of its own, libpam would use "other". */
static int
pam_service_check(const struct config *cf, char *why, size_t len)
{
	const char	*dirs[] = { PAM_DIR, PAM_VENDOR_DIR };
	struct stat	 st;
	char		 path[POP3D_PATH_MAX];
	size_t		 i;

	if (pamlib_load(why, len) == -1)
		return -1;
	if (cf->pam_service[0] == '\0' || strchr(cf->pam_service, '/') != NULL) {
		snprintf(why, len, "pam_service '%s': not a service name",
		    cf->pam_service);
		return -1;
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], cf->pam_service);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
	}
	snprintf(why, len, "pam_service %s: no %s/%s (PAM would use its "
	    "\"other\" service)", cf->pam_service, PAM_DIR, cf->pam_service);
	return -1;
}

const struct passdb passdb_pam = {
	.name = "pam",
	.can = PASSDB_PASSWORD,
	.verify = pam_verify,
	.check = pam_service_check,
};
