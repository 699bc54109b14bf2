/*
 * The system calls the LDAP lookup may make once it has connected to the
 * directory: libldap's search and bind, GnuTLS's records, the reply to
 * the monitor, the log.  Everything else kills the process, so that code
 * subverted by what the directory sends can read and write the sockets
 * it holds and nothing more: no exec, fork, ptrace, signal, file made or
 * opened, new socket or connection.
 *
 * The lookup makes both its connections (the search's and the user's
 * bind's) before this, with name resolution, the TLS handshake and the
 * CA file behind it; referrals are off, and a process that lives for
 * one login never reconnects after idling.  Were libldap to reconnect
 * all the same, socket(2) and connect(2) fail with EACCES, as do
 * open(2) and openat(2): libldap then reports an error, the monitor a
 * temporary failure, rather than a kill.  syslog(3) reconnects the same
 * way after syslogd restarts, so its socket is opened first.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <sysexits.h>

#include "common/log.h"
#include "common/sysfilter.h"
#include "common/sysfilter_compat.h"
#include "lookup/confine.h"

#ifdef __NR_socketcall
/* send, recv, sendto, recvfrom, shutdown, sendmsg, recvmsg */
#define OLD_SOCKETCALL	SOCKETCALL(9) SOCKETCALL(10) SOCKETCALL(11)	\
			SOCKETCALL(12) SOCKETCALL(13) SOCKETCALL(16)	\
			SOCKETCALL(17)					\
			{ __NR_socketcall, SECCOMP_RET_ERRNO | EACCES, 0,	\
			    SF_EQUALS, 1 },				\
			{ __NR_socketcall, SECCOMP_RET_ERRNO | EACCES, 0,	\
			    SF_EQUALS, 3 },
#else
#define OLD_SOCKETCALL
#endif

static const struct sysfilter_rule lookup_rules[] = {
	SF_COMPAT_RULES OLD_SOCKETCALL
	/* The directory's sockets, the monitor's, the log's. */
	SF_ALLOW(read), SF_ALLOW(write), SF_ALLOW(readv), SF_ALLOW(writev),
	SF_ALLOW(recvfrom), SF_ALLOW(sendto), SF_ALLOW(recvmsg),
	SF_ALLOW(sendmsg), SF_ALLOW(ppoll), SF_ALLOW(close),
	SF_ALLOW(shutdown),
	/* libldap toggles O_NONBLOCK; F_SETOWN would aim signals. */
	SF_ALLOW_IF(fcntl, 1, F_GETFL), SF_ALLOW_IF(fcntl, 1, F_SETFL),
	/* Timeouts, GnuTLS's nonces and allocations, the end. */
	SF_ALLOW(clock_gettime), SF_ALLOW(clock_getres),
	SF_ALLOW(gettimeofday), SF_ALLOW(nanosleep),
	SF_ALLOW(clock_nanosleep), SF_ALLOW(getpid), SF_ALLOW(gettid),
	SF_ALLOW(getrandom), SF_ALLOW(brk), SF_ALLOW(munmap),
	SF_ALLOW(mremap), SF_ALLOW(madvise), SF_ALLOW(futex),
	SF_ALLOW_UNLESS(mprotect, 2, PROT_EXEC),
	SF_ALLOW(rt_sigreturn), SF_ALLOW(rt_sigprocmask),
	SF_ALLOW(restart_syscall), SF_ALLOW(exit), SF_ALLOW(exit_group),
	/* Reconnecting, anything opened: refused, not fatal (see above). */
	SF_ERRNO(openat, EACCES), SF_ERRNO(socket, EACCES),
	SF_ERRNO(connect, EACCES),
};

void
lookup_confine(void)
{
	log_reopen();
	if (sysfilter_install(lookup_rules, sizeof(lookup_rules) /
	    sizeof(lookup_rules[0]), SECCOMP_RET_KILL_PROCESS,
	    sysfilter_relaxed()) == 0)
		return;
	if (errno != ENOSYS)
		fatal(EX_OSERR, "seccomp filter of the LDAP lookup");
	log_warnx("no seccomp filter for the LDAP lookup on this architecture");
}
