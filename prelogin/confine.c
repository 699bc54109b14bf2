/*
 * The system calls the pre-login process may make, installed as its last
 * step before the AUTHORIZATION loop, and a tighter list for the TLS relay
 * it becomes after a login over TLS.  Everything else kills the process,
 * so that code that has been subverted can read and write the descriptors
 * it holds and nothing more: no open, connect, fork, exec or signal.
 *
 * fcntl(2) is limited to the flags (non-blocking descriptors): F_SETOWN
 * would let it have the kernel signal the other pre-login processes,
 * which share its uid.
 *
 * Both lists are allow-lists of what this code and OpenSSL's handshake
 * and record layer do once the TLS context exists: OpenSSL seeds from
 * getrandom(2) and allocates; nothing else of it needs the kernel.  A few
 * calls that libc may attempt harmlessly (syslog(3) reconnecting, a time
 * zone or message catalogue lookup in the empty chroot) fail with EACCES
 * instead of killing.
 *
 * Before the filter, Landlock where the kernel has it: no file, no TCP
 * bind or connect and, from its ABI 6, no abstract UNIX socket and no
 * signal outside the process's own domain.  That is a second layer under
 * the filter's refusals, made by another part of the kernel; where it
 * has no scopes, network and IPC namespaces are that layer
 * (auth/sandbox.c), at about a millisecond of kernel work each time.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <sysexits.h>

#include "common/landlock.h"
#include "common/log.h"
#include "common/sysfilter.h"
#include "common/sysfilter_compat.h"
#include "prelogin/confine.h"

/* What both the AUTHORIZATION state and the relay do. */
#define COMMON_RULES							\
	SF_ALLOW(read), SF_ALLOW(write), SF_ALLOW(readv),		\
	SF_ALLOW(writev), SF_ALLOW(close), SF_ALLOW(ppoll),		\
	SF_ALLOW(sendto), SF_ALLOW(shutdown),				\
	SF_ALLOW_IF(fcntl, 1, F_GETFL), SF_ALLOW_IF(fcntl, 1, F_SETFL),	\
	SF_ALLOW(clock_gettime), SF_ALLOW(clock_getres),		\
	SF_ALLOW(gettimeofday), SF_ALLOW(nanosleep),			\
	SF_ALLOW(clock_nanosleep), SF_ALLOW(getpid), SF_ALLOW(gettid),	\
	SF_ALLOW(getrandom), SF_ALLOW(brk), SF_ALLOW(munmap),		\
	SF_ALLOW(mremap), SF_ALLOW(madvise), SF_ALLOW(futex),		\
	SF_ALLOW(rt_sigreturn), SF_ALLOW(rt_sigprocmask),		\
	SF_ALLOW(restart_syscall), SF_ALLOW(exit), SF_ALLOW(exit_group), \
	SF_ALLOW_UNLESS(mprotect, 2, PROT_EXEC),			\
	SF_ERRNO(openat, EACCES), SF_ERRNO(socket, EACCES),		\
	SF_ERRNO(connect, EACCES)

#ifdef __NR_socketcall
#define OLD_SOCKETCALL	SOCKETCALL(9) SOCKETCALL(11) SOCKETCALL(13)	/* send, sendto, shutdown */
#define OLD_MONITOR	SOCKETCALL(10) SOCKETCALL(12) SOCKETCALL(16) SOCKETCALL(17)
#else
#define OLD_SOCKETCALL
#define OLD_MONITOR
#endif
#define OLD_RULES	SF_COMPAT_RULES OLD_SOCKETCALL

static const struct sysfilter_rule login_rules[] = {
	OLD_RULES
	COMMON_RULES,
	/* The monitor's socket: a request out, a verdict in. */
	OLD_MONITOR
	SF_ALLOW(recvfrom), SF_ALLOW(sendmsg), SF_ALLOW(recvmsg),
	/* The relay's tighter filter, stacked on this one. */
	SF_ALLOW(seccomp),
};

/* The relay holds the client and the session's socket; nothing more. */
static const struct sysfilter_rule relay_rules[] = {
	OLD_RULES
	COMMON_RULES,
};

static void
install(const char *what, const struct sysfilter_rule *rules, size_t n)
{
	if (sysfilter_install(rules, n, SECCOMP_RET_KILL_PROCESS,
	    sysfilter_relaxed()) == 0)
		return;
	if (errno != ENOSYS)
		fatal(EX_OSERR, "seccomp filter of the %s", what);
	log_warnx("no seccomp filter for the %s on this architecture", what);
}

/*
 * In a relaxed build files are not handled: a sanitizer's report must
 * still get out, as the filter lets it.
 */
void
confine_login_domain(void)
{
	int abi, ruleset;

	if (sysfilter_valgrind() || (abi = landlock_abi()) == 0)
		return;
	ruleset = landlock_ruleset(abi, !sysfilter_relaxed(), NULL);
	if (ruleset == -1 && errno == EINVAL && sysfilter_relaxed())
		return;		/* an ABI before 4: nothing left to handle */
	if (ruleset == -1 || landlock_enforce(ruleset) == -1)
		fatal(EX_OSERR, "Landlock of the pre-login process");
}

void
confine_login(void)
{
	confine_login_domain();
	install("pre-login process", login_rules,
	    sizeof(login_rules) / sizeof(login_rules[0]));
}

void
confine_relay(void)
{
	install("TLS relay", relay_rules,
	    sizeof(relay_rules) / sizeof(relay_rules[0]));
}
