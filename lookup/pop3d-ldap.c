/*
 * pop3d-ldap: the LDAP lookup of one login (passdb = ldap), executed by
 * the monitor's helper once it is the pre-login user (auth/passdb_ldap.c).
 * A program of its own so that only this process maps libldap and the
 * TLS library it brings, and so that nothing of the monitor's memory is
 * in the process that parses the directory's answers.
 *
 * Descriptors: the request arrives on LOOKUP_SOCKET_FD and the reply
 * leaves by it (lookup/lookup.h); the configuration the monitor read is
 * on LOOKUP_CONFIG_FD.  It is not meant to be run by hand.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "lookup/lookup.h"

static struct config		cf;
static struct lookup_request	rq;

static int
tempfail(void)
{
	unsigned char m[2] = { LOOKUP_VERSION, LOOKUP_TEMPFAIL };

	send(LOOKUP_SOCKET_FD, m, sizeof(m), 0);
	return EX_SOFTWARE;
}

int
main(int argc, char *argv[])
{
	unsigned char	m[LOOKUP_REQUEST_MAX + 1];
	char		why[512];
	ssize_t		n;
	int		dflag = argc == 2 && strcmp(argv[1], "-d") == 0, status;

	/* Readable builds (the build tree) are dumpable until here. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (geteuid() == 0 || getuid() == 0 || argc > 1 + dflag) {
		fprintf(stderr, "pop3d-ldap is internal: pop3d(8) runs it, "
		    "never as root\n");
		return EX_USAGE;
	}
	log_init("pop3d", 1);
	if (config_load_fd(&cf, LOOKUP_CONFIG_FD, "configuration", why,
	    sizeof(why)) == -1) {
		log_warnx("ldap lookup: %s", why);
		return tempfail();
	}
	close(LOOKUP_CONFIG_FD);
	if (!dflag && !cf.log_stderr)
		log_init("pop3d", 0);
	while ((n = recv(LOOKUP_SOCKET_FD, m, sizeof(m), 0)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0 || lookup_request_decode(m, (size_t)n, &rq) == -1) {
		explicit_bzero(m, sizeof(m));
		log_warnx("ldap lookup: malformed request");
		return tempfail();
	}
	explicit_bzero(m, sizeof(m));
	rq.bindpw[strcspn(rq.bindpw, "\r\n")] = '\0';
	status = lookup_run(&cf, rq.user, rq.pass,
	    cf.ldap_bind_dn[0] == '\0' ? NULL : rq.bindpw, LOOKUP_SOCKET_FD);
	explicit_bzero(&rq, sizeof(rq));
	return status;
}
