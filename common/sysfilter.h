/*
 * A seccomp-bpf system call filter from a table of rules.  The filter
 * checks the architecture first (a 32-bit or x32 call on a 64-bit kernel
 * has other numbers: it is killed), then looks each call up in the table;
 * a call that is in no rule gets the default action.  Each process that
 * confines itself keeps its own table beside its code (prelogin/confine.c,
 * session/confine.c); this is the mechanism alone, used by every process.
 */
#ifndef POP3D_SYSFILTER_H
#define POP3D_SYSFILTER_H

#include <stddef.h>
#include <stdint.h>

#include <linux/seccomp.h>

/*
 * One call.  With arg >= 0 the rule applies only when that argument's low
 * 32 bits share no bit with mask (e.g. mmap without PROT_EXEC); otherwise
 * the call gets the default action.
 */
struct sysfilter_rule {
	int		nr;
	uint32_t	action;		/* SECCOMP_RET_ALLOW, _ERRNO | e, _KILL_PROCESS */
	int		arg;		/* -1: any arguments */
	uint32_t	mask;
};

#define SF_ALLOW(name)		{ __NR_##name, SECCOMP_RET_ALLOW, -1, 0 }
#define SF_ERRNO(name, e)	{ __NR_##name, SECCOMP_RET_ERRNO | (e), -1, 0 }
#define SF_KILL(name)		{ __NR_##name, SECCOMP_RET_KILL_PROCESS, -1, 0 }
#define SF_ALLOW_UNLESS(name, a, m) { __NR_##name, SECCOMP_RET_ALLOW, (a), (m) }

/*
 * Install the filter for this process and those it would start, for
 * good.  Needs no_new_privs (or CAP_SYS_ADMIN).  When relaxed, every kill
 * (the default included) becomes SECCOMP_RET_LOG: the call goes through
 * and the kernel's audit log records it.  Returns 0, or -1 with errno.
 */
int	sysfilter_install(const struct sysfilter_rule *, size_t,
	    uint32_t default_action, int relaxed);

/*
 * Whether the filters must be relaxed here: in a sanitizer build
 * (-DPOP3D_SANITIZE; AddressSanitizer and LeakSanitizer make calls of
 * their own, ptrace and clone at exit among them) and under valgrind,
 * which makes the calls itself and opens files to report.
 */
int	sysfilter_relaxed(void);

/*
 * Whether this runs under valgrind (RUNNING_ON_VALGRIND, when the build
 * had valgrind's header).  valgrind 3.19 does not know seccomp(2) nor
 * Landlock's calls, and reports them: the filter goes in by prctl(2), and
 * the session skips Landlock.
 */
int	sysfilter_valgrind(void);

#endif
