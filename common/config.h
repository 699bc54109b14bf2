/*
 * The configuration file: "key = value" lines, '#' comments.  Unknown keys
 * and bad values are errors with the line number; see pop3d.conf(5).
 */
#ifndef POP3D_CONFIG_H
#define POP3D_CONFIG_H

#include <stddef.h>

#include "params.h"

#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/pop3d/pop3d.conf"
#define CONFIG_STR_MAX		256

/*
 * TLS protocol versions as the protocol numbers them (and OpenSSL's
 * TLS1_2_VERSION does): every program reads the configuration, but only
 * pop3d includes OpenSSL.
 */
#define CONFIG_TLS_1_2		0x0303
#define CONFIG_TLS_1_3		0x0304

struct config {
	char	passdb[CONFIG_STR_MAX];		/* where users come from */
	int	first_valid_uid;		/* system accounts below are refused */
	char	pam_service[CONFIG_STR_MAX];	/* passdb = pam: the PAM service */
	char	users_file[POP3D_PATH_MAX];
	char	ldap_uri[POP3D_PATH_MAX];	/* passdb = ldap: one or more URIs */
	int	ldap_starttls;
	char	ldap_ca_file[POP3D_PATH_MAX];
	char	ldap_bind_dn[CONFIG_STR_MAX];	/* "" = anonymous search */
	char	ldap_bind_password_file[POP3D_PATH_MAX];
	char	ldap_base[CONFIG_STR_MAX];
	char	ldap_filter[CONFIG_STR_MAX];	/* %u: the user, escaped */
	char	ldap_scope[CONFIG_STR_MAX];	/* base, one or sub */
	char	ldap_uid_attr[CONFIG_STR_MAX];
	char	ldap_gid_attr[CONFIG_STR_MAX];
	char	ldap_home_attr[CONFIG_STR_MAX];
	char	ldap_maildir_attr[CONFIG_STR_MAX]; /* "" = the maildir template */
	int	ldap_timeout;			/* seconds */
	char	checkpassword[POP3D_PATH_MAX];	/* passdb = checkpassword */
	char	checkpassword_apop[POP3D_PATH_MAX]; /* for APOP; "": the same */
	int	checkpassword_timeout;		/* seconds, then it is killed */
	int	checkpassword_exec;		/* it executes the session */
	char	scram_secret[POP3D_PATH_MAX];	/* key of SCRAM's fake salts */
	char	maildir[POP3D_PATH_MAX];	/* template: %u, %h, %% */
	char	login_user[CONFIG_STR_MAX];	/* runs the pre-login process */
	char	empty_dir[POP3D_PATH_MAX];	/* its chroot */
	char	implementation[CONFIG_STR_MAX];	/* CAPA IMPLEMENTATION; "" = none */
	char	greeting[CONFIG_STR_MAX];
	int	login_timeout;			/* seconds */
	int	idle_timeout;			/* seconds */
	int	send_timeout;			/* seconds a reply may stall */
	int	login_grace_time;		/* seconds from connect to login */
	int	max_bad_commands;
	int	max_auth_failures;
	int	auth_fail_delay_ms;
	int	log_stderr;			/* log = stderr */
	int	apop;				/* offer APOP ({PLAIN} users) */
	char	tls_cert[POP3D_PATH_MAX];	/* PEM; "" = no TLS in-process */
	char	tls_key[POP3D_PATH_MAX];
	char	tls_chain[POP3D_PATH_MAX];	/* intermediates; "" = none */
	char	tls_ciphers[CONFIG_STR_MAX];	/* TLS 1.2 cipher list */
	char	tls_ciphersuites[CONFIG_STR_MAX]; /* TLS 1.3 suites */
	int	tls_min_version;		/* CONFIG_TLS_1_2 or CONFIG_TLS_1_3 */
	int	tls_wrapper;			/* a wrapper (stunnel) secures the link */
	int	plaintext_auth;			/* allow passwords without TLS */
	int	loopback_secure;		/* loopback counts as secured */
	char	proxy_from[CONFIG_STR_MAX];	/* peers that send PROXY headers */
	int	login_delay;			/* seconds between logins; 0 off */
	char	login_delay_dir[POP3D_PATH_MAX]; /* its state, root's */
	int	expire;				/* days; EXPIRE_NEVER, EXPIRE_UNSET */
	int	shared_storage;			/* other hosts change the Maildirs */
	char	import_uidl[CONFIG_STR_MAX];	/* no, dovecot, courier */
	char	import_uidl_format[CONFIG_STR_MAX]; /* Dovecot's pop3_uidl_format */
	int	throttle;			/* the login throttle is on */
	char	throttle_dir[POP3D_PATH_MAX];	/* its state, root's */
	char	throttle_exempt[CONFIG_STR_MAX]; /* addresses never throttled */
	int	throttle_failures;		/* then an address is refused */
	int	throttle_delay_ms;		/* after the first failure */
	int	throttle_delay_max_ms;		/* the longest delay */
	int	throttle_block_time;		/* seconds refused, remembered */
};

/* expire: "never" (advertised, nothing deleted), or the key left out. */
#define EXPIRE_NEVER	(-1)
#define EXPIRE_UNSET	(-2)

void	config_defaults(struct config *);

/*
 * Read the configuration from fd (from its start; fd stays open).  The
 * session gets the monitor's descriptor, so it reads the very file the
 * monitor read, even one that only root may open.  name is for messages.
 */
int	config_load_fd(struct config *cf, int fd, const char *name,
	    char *err, size_t errlen);

#endif
