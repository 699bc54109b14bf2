/*
 * Configuration parser.  A table names each key, where its value goes and
 * what values are valid, so adding a key is one line.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "common/cidr.h"
#include "common/config.h"

enum key_type { KEY_STR, KEY_PATH, KEY_INT, KEY_BOOL, KEY_LOG, KEY_TLSVER,
    KEY_CIDRS, KEY_DAYS };

struct key {
	const char	*name;
	enum key_type	 type;
	size_t		 off;
	size_t		 size;		/* KEY_STR, KEY_PATH: room */
	long long	 min, max;	/* KEY_INT */
};

#define STR(f, t)	t, offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define NUM(f, lo, hi)	KEY_INT, offsetof(struct config, f), 0, lo, hi

static const struct key keys[] = {
	{ "passdb",		STR(passdb, KEY_STR), 0, 0 },
	{ "first_valid_uid",	NUM(first_valid_uid, 1, 2147483647) },
	{ "pam_service",	STR(pam_service, KEY_STR), 0, 0 },
	{ "users_file",		STR(users_file, KEY_PATH), 0, 0 },
	{ "ldap_uri",		STR(ldap_uri, KEY_STR), 0, 0 },
	{ "ldap_starttls",	KEY_BOOL, offsetof(struct config, ldap_starttls), 0, 0, 0 },
	{ "ldap_ca_file",	STR(ldap_ca_file, KEY_PATH), 0, 0 },
	{ "ldap_bind_dn",	STR(ldap_bind_dn, KEY_STR), 0, 0 },
	{ "ldap_bind_password_file", STR(ldap_bind_password_file, KEY_PATH), 0, 0 },
	{ "ldap_base",		STR(ldap_base, KEY_STR), 0, 0 },
	{ "ldap_filter",	STR(ldap_filter, KEY_STR), 0, 0 },
	{ "ldap_scope",		STR(ldap_scope, KEY_STR), 0, 0 },
	{ "ldap_uid_attr",	STR(ldap_uid_attr, KEY_STR), 0, 0 },
	{ "ldap_gid_attr",	STR(ldap_gid_attr, KEY_STR), 0, 0 },
	{ "ldap_home_attr",	STR(ldap_home_attr, KEY_STR), 0, 0 },
	{ "ldap_maildir_attr",	STR(ldap_maildir_attr, KEY_STR), 0, 0 },
	{ "ldap_timeout",	NUM(ldap_timeout, 1, 60) },
	{ "checkpassword",	STR(checkpassword, KEY_PATH), 0, 0 },
	{ "checkpassword_apop",	STR(checkpassword_apop, KEY_PATH), 0, 0 },
	{ "checkpassword_timeout", NUM(checkpassword_timeout, 1, 300) },
	{ "checkpassword_exec",	KEY_BOOL, offsetof(struct config, checkpassword_exec), 0, 0, 0 },
	{ "scram_secret",	STR(scram_secret, KEY_PATH), 0, 0 },
	{ "maildir",		STR(maildir, KEY_STR), 0, 0 },
	{ "login_user",		STR(login_user, KEY_STR), 0, 0 },
	{ "empty_dir",		STR(empty_dir, KEY_PATH), 0, 0 },
	{ "implementation",	STR(implementation, KEY_STR), 0, 0 },
	{ "greeting",		STR(greeting, KEY_STR), 0, 0 },
	{ "login_timeout",	NUM(login_timeout, 1, 3600) },
	{ "idle_timeout",	NUM(idle_timeout, MIN_IDLE_TIMEOUT, 86400) },
	{ "send_timeout",	NUM(send_timeout, 1, 86400) },
	{ "login_grace_time",	NUM(login_grace_time, 1, 3600) },
	{ "max_bad_commands",	NUM(max_bad_commands, 1, 1000) },
	{ "max_auth_failures",	NUM(max_auth_failures, 1, 100) },
	{ "auth_fail_delay_ms",	NUM(auth_fail_delay_ms, 0, 60000) },
	{ "apop",		KEY_BOOL, offsetof(struct config, apop), 0, 0, 0 },
	{ "tls_cert",		STR(tls_cert, KEY_PATH), 0, 0 },
	{ "tls_key",		STR(tls_key, KEY_PATH), 0, 0 },
	{ "tls_chain",		STR(tls_chain, KEY_PATH), 0, 0 },
	{ "tls_ciphers",	STR(tls_ciphers, KEY_STR), 0, 0 },
	{ "tls_ciphersuites",	STR(tls_ciphersuites, KEY_STR), 0, 0 },
	{ "tls_min_version",	KEY_TLSVER, offsetof(struct config, tls_min_version), 0, 0, 0 },
	{ "tls_wrapper",	KEY_BOOL, offsetof(struct config, tls_wrapper), 0, 0, 0 },
	{ "plaintext_auth",	KEY_BOOL, offsetof(struct config, plaintext_auth), 0, 0, 0 },
	{ "loopback_secure",	KEY_BOOL, offsetof(struct config, loopback_secure), 0, 0, 0 },
	{ "proxy_from",		STR(proxy_from, KEY_CIDRS), 0, 0 },
	{ "log",		KEY_LOG, offsetof(struct config, log_stderr), 0, 0, 0 },
	{ "login_delay",	NUM(login_delay, 0, LOGIN_DELAY_MAX) },
	{ "login_delay_dir",	STR(login_delay_dir, KEY_PATH), 0, 0 },
	{ "expire",		KEY_DAYS, offsetof(struct config, expire), 0, 0,
				EXPIRE_DAYS_MAX },
	{ "shared_storage",	KEY_BOOL, offsetof(struct config, shared_storage), 0, 0, 0 },
	{ "import_uidl",	STR(import_uidl, KEY_STR), 0, 0 },
	{ "import_uidl_format",	STR(import_uidl_format, KEY_STR), 0, 0 },
	{ "throttle",		KEY_BOOL, offsetof(struct config, throttle), 0, 0, 0 },
	{ "throttle_dir",	STR(throttle_dir, KEY_PATH), 0, 0 },
	{ "throttle_exempt",	STR(throttle_exempt, KEY_CIDRS), 0, 0 },
	{ "throttle_failures",	NUM(throttle_failures, 1, 1000) },
	{ "throttle_delay_ms",	NUM(throttle_delay_ms, 0, 60000) },
	{ "throttle_delay_max_ms", NUM(throttle_delay_max_ms, 0, 60000) },
	{ "throttle_block_time", NUM(throttle_block_time, 1, 86400) },
};

void
config_defaults(struct config *cf)
{
	memset(cf, 0, sizeof(*cf));
	strlcpy(cf->passdb, "file", sizeof(cf->passdb));
	cf->first_valid_uid = DEFAULT_FIRST_VALID_UID;
	strlcpy(cf->pam_service, "pop3d", sizeof(cf->pam_service));
	cf->checkpassword_timeout = DEFAULT_CHECKPASSWORD_TIMEOUT;
	strlcpy(cf->users_file, SYSCONFDIR "/pop3d/users", sizeof(cf->users_file));
	strlcpy(cf->ldap_uri, "ldapi:///", sizeof(cf->ldap_uri));
	strlcpy(cf->ldap_filter, "(&(objectClass=posixAccount)(uid=%u))",
	    sizeof(cf->ldap_filter));
	strlcpy(cf->ldap_scope, "sub", sizeof(cf->ldap_scope));
	strlcpy(cf->ldap_uid_attr, "uidNumber", sizeof(cf->ldap_uid_attr));
	strlcpy(cf->ldap_gid_attr, "gidNumber", sizeof(cf->ldap_gid_attr));
	strlcpy(cf->ldap_home_attr, "homeDirectory", sizeof(cf->ldap_home_attr));
	cf->ldap_timeout = DEFAULT_LDAP_TIMEOUT;
	strlcpy(cf->maildir, "%h/Maildir", sizeof(cf->maildir));
	/* On tmpfs: a new secret every boot, made by the first connection. */
	strlcpy(cf->scram_secret, "/run/pop3d-scram-secret",
	    sizeof(cf->scram_secret));
	strlcpy(cf->login_user, "pop3d", sizeof(cf->login_user));
	strlcpy(cf->empty_dir, "/var/empty", sizeof(cf->empty_dir));
	strlcpy(cf->implementation, "pop3d", sizeof(cf->implementation));
	strlcpy(cf->greeting, "POP3 server ready", sizeof(cf->greeting));
	cf->login_timeout = DEFAULT_LOGIN_TIMEOUT;
	cf->idle_timeout = DEFAULT_IDLE_TIMEOUT;
	cf->send_timeout = DEFAULT_SEND_TIMEOUT;
	cf->login_grace_time = DEFAULT_LOGIN_GRACE_TIME;
	cf->max_bad_commands = DEFAULT_MAX_BAD_COMMANDS;
	cf->max_auth_failures = DEFAULT_MAX_AUTH_FAILURES;
	cf->auth_fail_delay_ms = DEFAULT_AUTH_FAIL_DELAY_MS;
	/* Mozilla's "intermediate" list: forward secrecy and AEAD only. */
	strlcpy(cf->tls_ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
	    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	    "ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:"
	    "DHE-RSA-AES256-GCM-SHA384", sizeof(cf->tls_ciphers));
	strlcpy(cf->tls_ciphersuites, "TLS_AES_128_GCM_SHA256:"
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
	    sizeof(cf->tls_ciphersuites));
	cf->tls_min_version = CONFIG_TLS_1_2;
	cf->loopback_secure = 1;
	strlcpy(cf->login_delay_dir, DEFAULT_LOGIN_DELAY_DIR,
	    sizeof(cf->login_delay_dir));
	cf->expire = EXPIRE_UNSET;
	strlcpy(cf->import_uidl, "no", sizeof(cf->import_uidl));
	strlcpy(cf->import_uidl_format, "%08Xu%08Xv",
	    sizeof(cf->import_uidl_format));
	cf->throttle = 1;
	strlcpy(cf->throttle_dir, DEFAULT_LOGIN_DELAY_DIR,
	    sizeof(cf->throttle_dir));
	strlcpy(cf->throttle_exempt, DEFAULT_THROTTLE_EXEMPT,
	    sizeof(cf->throttle_exempt));
	cf->throttle_failures = DEFAULT_THROTTLE_FAILURES;
	cf->throttle_delay_ms = DEFAULT_THROTTLE_DELAY_MS;
	cf->throttle_delay_max_ms = DEFAULT_THROTTLE_DELAY_MAX_MS;
	cf->throttle_block_time = DEFAULT_THROTTLE_BLOCK_TIME;
}

/* Strip leading and trailing blanks in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			return 0;
	return 1;
}

static int
set_value(struct config *cf, const struct key *k, const char *val,
    char *err, size_t errlen)
{
	char		*dst = (char *)cf + k->off, why[128];
	const char	*errstr;
	long long	 n;

	if (k->type == KEY_CIDRS &&
	    cidr_list_check(val, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", k->name, why);
		return -1;
	}
	switch (k->type) {
	case KEY_PATH:
		if (val[0] != '/') {
			snprintf(err, errlen, "%s must be an absolute path", k->name);
			return -1;
		}
		/* FALLTHROUGH */
	case KEY_CIDRS:
	case KEY_STR:
		if (!printable(val)) {
			snprintf(err, errlen, "%s: control characters in value", k->name);
			return -1;
		}
		if (strlcpy(dst, val, k->size) >= k->size) {
			snprintf(err, errlen, "%s: value too long", k->name);
			return -1;
		}
		return 0;
	case KEY_INT:
		n = strtonum(val, k->min, k->max, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "%s: value %s (%lld..%lld)",
			    k->name, errstr, k->min, k->max);
			return -1;
		}
		*(int *)(void *)dst = (int)n;
		return 0;
	case KEY_TLSVER:
		if (strcmp(val, "TLSv1.2") == 0)
			*(int *)(void *)dst = CONFIG_TLS_1_2;
		else if (strcmp(val, "TLSv1.3") == 0)
			*(int *)(void *)dst = CONFIG_TLS_1_3;
		else {
			snprintf(err, errlen, "%s: expected TLSv1.2 or TLSv1.3",
			    k->name);
			return -1;
		}
		return 0;
	case KEY_DAYS:
		if (strcmp(val, "never") == 0) {
			*(int *)(void *)dst = EXPIRE_NEVER;
			return 0;
		}
		n = strtonum(val, 0, k->max, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "%s: expected never or days "
			    "(0..%lld)", k->name, k->max);
			return -1;
		}
		*(int *)(void *)dst = (int)n;
		return 0;
	case KEY_BOOL:
	case KEY_LOG:
		if (strcmp(val, k->type == KEY_LOG ? "stderr" : "yes") == 0)
			*(int *)(void *)dst = 1;
		else if (strcmp(val, k->type == KEY_LOG ? "syslog" : "no") == 0)
			*(int *)(void *)dst = 0;
		else {
			snprintf(err, errlen, "%s: expected %s", k->name,
			    k->type == KEY_LOG ? "syslog or stderr" : "yes or no");
			return -1;
		}
		return 0;
	}
	return -1;
}

static int
parse_line(struct config *cf, char *line, char *err, size_t errlen)
{
	char	*eq, *key, *val;
	size_t	 i;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, errlen, "expected key = value");
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, key) == 0)
			return set_value(cf, &keys[i], val, err, errlen);
	snprintf(err, errlen, "unknown key '%.64s'", key);
	return -1;
}

int
config_load_fd(struct config *cf, int fd, const char *name, char *err,
    size_t errlen)
{
	char	 line[CONFIG_LINE_MAX + 2], why[256];
	FILE	*fp;
	int	 lineno = 0, rc = 0, dfd;

	config_defaults(cf);
	if (lseek(fd, 0, SEEK_SET) == -1 || (dfd = dup(fd)) == -1 ||
	    (fp = fdopen(dfd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
		if (++lineno > CONFIG_LINES_MAX) {
			snprintf(why, sizeof(why), "too many lines");
			rc = -1;
		} else if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(why, sizeof(why), "line too long");
			rc = -1;
		} else {
			line[strcspn(line, "\n")] = '\0';
			rc = parse_line(cf, line, why, sizeof(why));
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(why, sizeof(why), "read error");
		rc = -1;
	}
	fclose(fp);
	if (rc == -1)
		snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
	return rc;
}
