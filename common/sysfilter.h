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
 * 32 bits share no bit with value (SF_NOBITS: mmap without PROT_EXEC) or
 * equal it (SF_EQUALS: fcntl's F_SETFL); otherwise the next rules are
 * tried, and the default action ends them.
 */
enum sysfilter_test { SF_ANY, SF_NOBITS, SF_EQUALS };

struct sysfilter_rule {
	int			nr;
	uint32_t		action;	/* SECCOMP_RET_ALLOW, _ERRNO | e, _KILL_PROCESS */
	int			arg;
	enum sysfilter_test	test;
	uint32_t		value;
};

#define SF_ALLOW(name)	{ __NR_##name, SECCOMP_RET_ALLOW, -1, SF_ANY, 0 }
#define SF_ERRNO(name, e) { __NR_##name, SECCOMP_RET_ERRNO | (e), -1, SF_ANY, 0 }
#define SF_KILL(name)	{ __NR_##name, SECCOMP_RET_KILL_PROCESS, -1, SF_ANY, 0 }
#define SF_ALLOW_UNLESS(name, a, bits)					\
	{ __NR_##name, SECCOMP_RET_ALLOW, (a), SF_NOBITS, (bits) }
#define SF_ALLOW_IF(name, a, v)						\
	{ __NR_##name, SECCOMP_RET_ALLOW, (a), SF_EQUALS, (v) }

/*
 * Install the filter for this process and those it would start, for
 * good.  Needs no_new_privs (or CAP_SYS_ADMIN).  When relaxed, every kill
 * (the default included) becomes SECCOMP_RET_LOG: the call goes through
 * and the kernel's audit log records it.  Returns 0, or -1 with errno:
 * ENOSYS on an architecture this code has no audit number for.
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
