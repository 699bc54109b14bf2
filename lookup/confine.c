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
#include "lookup/confine.h"

/* Calls that some architectures have under other names, or not at all. */
#ifdef __NR_poll
#define OLD_POLL	SF_ALLOW(poll),
#else
#define OLD_POLL
#endif
#ifdef __NR_fstat
#define OLD_FSTAT	SF_ALLOW(fstat),
#else
#define OLD_FSTAT
#endif
#ifdef __NR_newfstatat
#define NEWFSTATAT	SF_ALLOW(newfstatat),
#else
#define NEWFSTATAT
#endif
#ifdef __NR_mmap
#define MMAP		SF_ALLOW_UNLESS(mmap, 2, PROT_EXEC),
#else
#define MMAP
#endif
#ifdef __NR_time
#define OLD_TIME	SF_ALLOW(time),
#else
#define OLD_TIME
#endif
#ifdef __NR_open
#define OLD_OPEN	SF_ERRNO(open, EACCES),
#else
#define OLD_OPEN
#endif
/*
 * 32-bit architectures: mmap2, fcntl64, the 64-bit time calls,
 * sigreturn, and socketcall(2), through which glibc may make every
 * socket call: those of the list below pass (3 connect and 1 socket
 * fail).  Untested here: the tests run on x86-64.
 */
#ifdef __NR_mmap2
#define OLD_MMAP2	SF_ALLOW_UNLESS(mmap2, 2, PROT_EXEC),
#else
#define OLD_MMAP2
#endif
#ifdef __NR_fcntl64
#define OLD_FCNTL64	SF_ALLOW_IF(fcntl64, 1, F_GETFL),			\
			SF_ALLOW_IF(fcntl64, 1, F_SETFL),
#else
#define OLD_FCNTL64
#endif
#ifdef __NR_clock_gettime64
#define TIME64		SF_ALLOW(clock_gettime64), SF_ALLOW(clock_nanosleep_time64), \
			SF_ALLOW(ppoll_time64), SF_ALLOW(futex_time64),
#else
#define TIME64
#endif
#ifdef __NR_sigreturn
#define OLD_SIGRETURN	SF_ALLOW(sigreturn),
#else
#define OLD_SIGRETURN
#endif
#ifdef __NR_fstat64
#define OLD_FSTAT64	SF_ALLOW(fstat64), SF_ALLOW(fstatat64),
#else
#define OLD_FSTAT64
#endif
#ifdef __NR_socketcall
#define SOCKETCALL(call)	SF_ALLOW_IF(socketcall, 0, (call)),
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
	NEWFSTATAT MMAP OLD_POLL OLD_FSTAT OLD_TIME OLD_OPEN OLD_MMAP2
	OLD_FCNTL64 TIME64 OLD_SIGRETURN OLD_FSTAT64 OLD_SOCKETCALL
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
