/*
 * The LDAP lookup (see lookup.h): runs as the pre-login user, in a process
 * forked for one login, and trusts nothing the directory sends.
 *
 * One login is: a search for the user's entry (as ldap_bind_dn, or
 * anonymously), then a simple bind as that entry's DN with the password,
 * on a connection of its own, so that the search's identity never mixes
 * with the user's.  Both connections are made first, and then the system
 * call filter of lookup/confine.c goes on: what the directory sends is
 * parsed only under it.  The entry's ids and paths are read from the search
 * and checked only after the password was right: before that, nothing
 * is logged that would tell a user who exists from one who does not.
 */
#include <sys/socket.h>

#include <ldap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lookup/confine.h"
#include "lookup/lookup.h"
#include "common/log.h"

/* An attribute value as the directory sent it; "" when absent. */
struct value {
	char	s[LDAP_VALUE_MAX];
	int	bad;		/* several values, too long, or a NUL inside */
};

struct entry {
	char		dn[LDAP_DN_MAX];
	struct value	uid, gid, home, maildir;
};

static struct entry	ent;

/* Failures of the directory itself, as opposed to answers about the user. */
static int
directory_down(int rc)
{
	return LDAP_API_ERROR(rc) || rc == LDAP_BUSY ||
	    rc == LDAP_UNAVAILABLE || rc == LDAP_UNWILLING_TO_PERFORM ||
	    rc == LDAP_OTHER || rc == LDAP_TIMELIMIT_EXCEEDED ||
	    rc == LDAP_ADMINLIMIT_EXCEEDED || rc == LDAP_NO_SUCH_OBJECT ||
	    rc == LDAP_PROTOCOL_ERROR || rc == LDAP_CONFIDENTIALITY_REQUIRED ||
	    rc == LDAP_STRONG_AUTH_REQUIRED;
}

static int
set_options(LDAP *ld, const struct config *cf)
{
	struct timeval	tv = { cf->ldap_timeout, 0 };
	int		v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND;
	int		zero = 0;

	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != 0)
		return -1;
	if (cf->ldap_ca_file[0] != '\0' && ldap_set_option(ld,
	    LDAP_OPT_X_TLS_CACERTFILE, cf->ldap_ca_file) != 0)
		return -1;
	/* The options above apply to a TLS context made for this handle. */
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != 0)
		return -1;
	return 0;
}

/* A connection with every option set, StartTLS done if asked; NULL: logged. */
static LDAP *
conn_open(const struct config *cf)
{
	LDAP	*ld;
	int	 rc;

	if ((rc = ldap_initialize(&ld, cf->ldap_uri)) != LDAP_SUCCESS) {
		log_warnx("ldap_uri %s: %s", cf->ldap_uri, ldap_err2string(rc));
		return NULL;
	}
	if (set_options(ld, cf) == -1) {
		log_warnx("ldap: cannot set options (ldap_ca_file %s)",
		    cf->ldap_ca_file);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	/*
	 * Connected now, TLS included, while the process may still resolve
	 * names, make sockets and read CA files (lookup_confine() ends that).
	 */
	if ((rc = ldap_connect(ld)) != LDAP_SUCCESS) {
		log_warnx("ldap %s: connect: %s", cf->ldap_uri,
		    ldap_err2string(rc));
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	if (cf->ldap_starttls &&
	    (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		log_warnx("ldap %s: StartTLS: %s", cf->ldap_uri,
		    ldap_err2string(rc));
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	return ld;
}

/* A simple bind; an empty password is never sent (an anonymous bind). */
static int
bind_as(LDAP *ld, const char *dn, const char *pass)
{
	struct berval cred;

	if (pass[0] == '\0')
		return LDAP_INAPPROPRIATE_AUTH;
	cred.bv_val = (char *)pass;
	cred.bv_len = strlen(pass);
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL);
}

static void
get_value(LDAP *ld, LDAPMessage *e, const char *attr, struct value *v)
{
	struct berval	**vals;

	memset(v, 0, sizeof(*v));
	if (attr[0] == '\0' ||
	    (vals = ldap_get_values_len(ld, e, attr)) == NULL)
		return;
	if (ldap_count_values_len(vals) != 1 ||
	    vals[0]->bv_len >= sizeof(v->s) ||
	    memchr(vals[0]->bv_val, '\0', vals[0]->bv_len) != NULL)
		v->bad = 1;
	else
		memcpy(v->s, vals[0]->bv_val, vals[0]->bv_len);
	ldap_value_free_len(vals);
}

/* Search for the user's one entry and copy what pop3d needs from it. */
static enum lookup_verdict
find_entry(LDAP *ld, const struct config *cf, const char *filter)
{
	struct timeval	 tv = { cf->ldap_timeout, 0 };
	char		*attrs[5], *dn, safe[LDAP_FILTER_MAX];
	LDAPMessage	*res = NULL, *e;
	int		 rc, n = 0, count;

	attrs[n++] = (char *)cf->ldap_uid_attr;
	attrs[n++] = (char *)cf->ldap_gid_attr;
	attrs[n++] = (char *)cf->ldap_home_attr;
	if (cf->ldap_maildir_attr[0] != '\0')
		attrs[n++] = (char *)cf->ldap_maildir_attr;
	attrs[n] = NULL;
	log_sanitize(filter, safe, sizeof(safe));
	rc = ldap_search_ext_s(ld, cf->ldap_base, lookup_scope(cf->ldap_scope),
	    filter, attrs, 0, NULL, NULL, &tv, LDAP_ENTRIES_MAX, &res);
	if (rc == LDAP_SIZELIMIT_EXCEEDED) {
		log_warnx("ldap: filter %s matched more than %d entries, "
		    "not one", safe, LDAP_ENTRIES_MAX);
		ldap_msgfree(res);
		return LOOKUP_FAIL;
	}
	if (rc != LDAP_SUCCESS) {
		log_warnx("ldap %s: search %s: %s", cf->ldap_uri, safe,
		    ldap_err2string(rc));
		ldap_msgfree(res);
		/* The user name cannot cause one: it is escaped. */
		return LOOKUP_TEMPFAIL;
	}
	if ((count = ldap_count_entries(ld, res)) != 1) {
		/* None is an unknown user: nothing logged for it. */
		if (count > 1)
			log_warnx("ldap: filter %s matched %d entries, not one",
			    safe, count);
		ldap_msgfree(res);
		return LOOKUP_FAIL;
	}
	e = ldap_first_entry(ld, res);
	if ((dn = ldap_get_dn(ld, e)) == NULL ||
	    strlcpy(ent.dn, dn, sizeof(ent.dn)) >= sizeof(ent.dn) ||
	    ent.dn[0] == '\0') {
		log_warnx("ldap: filter %s: entry without a usable DN", safe);
		ldap_memfree(dn);
		ldap_msgfree(res);
		return LOOKUP_TEMPFAIL;
	}
	ldap_memfree(dn);
	get_value(ld, e, cf->ldap_uid_attr, &ent.uid);
	get_value(ld, e, cf->ldap_gid_attr, &ent.gid);
	get_value(ld, e, cf->ldap_home_attr, &ent.home);
	get_value(ld, e, cf->ldap_maildir_attr, &ent.maildir);
	ldap_msgfree(res);
	return LOOKUP_OK;
}

/* The user's password, on a connection of its own. */
static enum lookup_verdict
check_password(LDAP *ld, const struct config *cf, const char *pass)
{
	int rc;

	rc = bind_as(ld, ent.dn, pass);
	ldap_unbind_ext_s(ld, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return LOOKUP_OK;
	if (directory_down(rc)) {
		log_warnx("ldap %s: bind: %s", cf->ldap_uri,
		    ldap_err2string(rc));
		return LOOKUP_TEMPFAIL;
	}
	return LOOKUP_FAIL;	/* invalid credentials, and the like */
}

static int
get_id(const struct value *v, uint32_t *id)
{
	const char	*errstr;
	long long	 n;

	if (v->bad || v->s[0] == '\0')
		return -1;
	/* (uid_t)-1 means "unchanged" to setresuid(2). */
	n = strtonum(v->s, 0, UINT32_MAX - 1, &errstr);
	if (errstr != NULL)
		return -1;
	*id = (uint32_t)n;
	return 0;
}

/* The maildir attribute, made absolute against home; "" when unset. */
static int
get_maildir(const char *home, char *out, size_t len)
{
	const struct value *v = &ent.maildir;

	out[0] = '\0';
	if (v->bad)
		return -1;
	if (v->s[0] == '\0')
		return 0;
	if (v->s[0] == '/') {
		if (strlcpy(out, v->s, len) >= len)
			return -1;
	} else if (snprintf(out, len, "%s/%s", home, v->s) >= (int)len)
		return -1;
	return lookup_path_ok(out) ? 0 : -1;
}

static void
put16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static int
reply(int fd, enum lookup_verdict v, uint32_t uid, uint32_t gid,
    const char *home, const char *maildir)
{
	unsigned char	buf[LOOKUP_REPLY_MAX];
	size_t		n = 2, hl, ml;

	buf[0] = LOOKUP_VERSION;
	buf[1] = (unsigned char)v;
	if (v == LOOKUP_OK) {
		hl = strlen(home);
		ml = strlen(maildir);
		put32(buf + n, uid);
		put32(buf + n + 4, gid);
		n += 8;
		put16(buf + n, hl);
		memcpy(buf + n + 2, home, hl);
		n += 2 + hl;
		put16(buf + n, ml);
		memcpy(buf + n + 2, maildir, ml);
		n += 2 + ml;
	}
	if (send(fd, buf, n, 0) != (ssize_t)n) {
		log_warn("ldap: reply to the monitor");
		return EX_OSERR;
	}
	return 0;
}

/* After the right password: is the entry usable?  Logged when not. */
static int
entry_reply(int fd, const char *user)
{
	char		safe[AUTH_USER_MAX + 1], dn[LDAP_DN_MAX];
	char		maildir[POP3D_PATH_MAX];
	uint32_t	uid, gid;

	log_sanitize(user, safe, sizeof(safe));
	log_sanitize(ent.dn, dn, sizeof(dn));
	if (get_id(&ent.uid, &uid) == -1 || get_id(&ent.gid, &gid) == -1) {
		log_warnx("user=%s: LDAP entry %s lacks a usable uid or gid "
		    "number", safe, dn);
		return reply(fd, LOOKUP_FAIL, 0, 0, "", "");
	}
	if (ent.home.bad || !lookup_path_ok(ent.home.s)) {
		log_warnx("user=%s: LDAP entry %s lacks a usable home "
		    "directory", safe, dn);
		return reply(fd, LOOKUP_FAIL, 0, 0, "", "");
	}
	if (get_maildir(ent.home.s, maildir, sizeof(maildir)) == -1) {
		log_warnx("user=%s: LDAP entry %s: maildir attribute is not "
		    "a usable path", safe, dn);
		return reply(fd, LOOKUP_FAIL, 0, 0, "", "");
	}
	return reply(fd, LOOKUP_OK, uid, gid, ent.home.s, maildir);
}

int
lookup_run(const struct config *cf, const char *user, const char *pass,
    const char *bindpw, int fd)
{
	enum lookup_verdict	 v;
	char			 filter[LDAP_FILTER_MAX];
	LDAP			*ld, *user_ld;
	int			 rc;

	/*
	 * Neither ldap.conf nor an .ldaprc may change what pop3d.conf says
	 * (TLS_REQCERT never, another URI): libldap reads none with this set.
	 */
	if (setenv("LDAPNOINIT", "1", 1) == -1)
		return reply(fd, LOOKUP_TEMPFAIL, 0, 0, "", "");
	if (pass[0] == '\0')
		return reply(fd, LOOKUP_FAIL, 0, 0, "", "");
	if (lookup_scope(cf->ldap_scope) == -1 || lookup_filter(cf->ldap_filter,
	    user, filter, sizeof(filter)) == -1) {
		log_warnx("ldap: ldap_scope or ldap_filter unusable");
		return reply(fd, LOOKUP_TEMPFAIL, 0, 0, "", "");
	}
	if ((ld = conn_open(cf)) == NULL)
		return reply(fd, LOOKUP_TEMPFAIL, 0, 0, "", "");
	if (bindpw != NULL &&
	    (rc = bind_as(ld, cf->ldap_bind_dn, bindpw)) != LDAP_SUCCESS) {
		log_warnx("ldap %s: bind as ldap_bind_dn %s: %s", cf->ldap_uri,
		    cf->ldap_bind_dn, ldap_err2string(rc));
		ldap_unbind_ext_s(ld, NULL, NULL);
		return reply(fd, LOOKUP_TEMPFAIL, 0, 0, "", "");
	}
	/*
	 * The user's bind gets its connection now, whether or not the
	 * search finds anyone: after lookup_confine() no socket is made.
	 */
	if ((user_ld = conn_open(cf)) == NULL) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return reply(fd, LOOKUP_TEMPFAIL, 0, 0, "", "");
	}
	lookup_confine();
	v = find_entry(ld, cf, filter);
	ldap_unbind_ext_s(ld, NULL, NULL);
	if (v == LOOKUP_OK)
		v = check_password(user_ld, cf, pass);
	else
		ldap_unbind_ext_s(user_ld, NULL, NULL);
	if (v != LOOKUP_OK) {
		explicit_bzero(&ent, sizeof(ent));
		return reply(fd, v, 0, 0, "", "");
	}
	return entry_reply(fd, user);
}
