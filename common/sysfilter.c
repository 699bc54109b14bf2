/*
 * The seccomp-bpf program: the architecture check, one block a rule, the
 * default action last.  A raw filter needs no library: the tables are
 * short, and the program is straight-line code a reader can check
 * against linux/filter.h.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>

#include "params.h"
#include "common/sysfilter.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#if defined(__x86_64__) && defined(__ILP32__)
/* x32: no filter (see below). */
#elif defined(__x86_64__)
#define SF_ARCH		AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define SF_ARCH		AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define SF_ARCH		AUDIT_ARCH_AARCH64
#elif defined(__arm__)
#define SF_ARCH		AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define SF_ARCH		AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SF_ARCH		AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define SF_ARCH		AUDIT_ARCH_S390X
#endif

/* The low 32 bits of an argument, wherever the byte order puts them. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i)	(offsetof(struct seccomp_data, args) + (i) * 8)
#else
#define ARG_LO(i)	(offsetof(struct seccomp_data, args) + (i) * 8 + 4)
#endif

#define STMT(code, k)		 ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf)	 ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

#ifdef SF_ARCH
static uint32_t
relax(uint32_t action, int relaxed)
{
	if (relaxed && (action & SECCOMP_RET_ACTION_FULL) ==
	    SECCOMP_RET_KILL_PROCESS)
		return SECCOMP_RET_LOG;
	return action;
}

int
sysfilter_install(const struct sysfilter_rule *rules, size_t nrules,
    uint32_t dflt, int relaxed)
{
	struct sock_filter	prog[SYSFILTER_INSNS_MAX];
	struct sock_fprog	fp;
	size_t			i, n = 0;

	dflt = relax(dflt, relaxed);
	/* Six to check the architecture, five a rule at most, the default. */
	if (6 + nrules * 5 + 1 > SYSFILTER_INSNS_MAX) {
		errno = E2BIG;
		return -1;
	}
	/* Another architecture's numbers mean other calls: kill. */
	prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SF_ARCH, 1, 0);
	prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 calls share the architecture, with this bit set. */
	prog[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
	prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
	for (i = 0; i < nrules; i++) {
		const struct sysfilter_rule *r = &rules[i];

		if (r->test == SF_ANY) {
			prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, r->nr, 0, 1);
			prog[n++] = STMT(BPF_RET | BPF_K,
			    relax(r->action, relaxed));
			continue;
		}
		/* The argument, then the number again for the next rules. */
		prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, r->nr, 0, 4);
		prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(r->arg));
		if (r->test == SF_NOBITS)
			prog[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, r->value,
			    1, 0);
		else
			prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, r->value,
			    0, 1);
		prog[n++] = STMT(BPF_RET | BPF_K, relax(r->action, relaxed));
		prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr));
	}
	prog[n++] = STMT(BPF_RET | BPF_K, dflt);
	fp.len = n;
	fp.filter = prog;
	/* valgrind knows no seccomp(2) but passes prctl(2) on. */
	if (sysfilter_valgrind())
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0);
	/* seccomp(2), not prctl(2): the only call a later filter needs. */
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) == 0 ?
	    0 : -1;
}
#else
/* An architecture whose audit number this file does not know. */
int
sysfilter_install(const struct sysfilter_rule *rules, size_t nrules,
    uint32_t dflt, int relaxed)
{
	(void)rules, (void)nrules, (void)dflt, (void)relaxed;
	errno = ENOSYS;
	return -1;
}
#endif

int
sysfilter_valgrind(void)
{
#ifdef RUNNING_ON_VALGRIND
	return RUNNING_ON_VALGRIND != 0;
#else
	return 0;
#endif
}

int
sysfilter_relaxed(void)
{
#ifdef POP3D_SANITIZE
	return 1;
#else
	return sysfilter_valgrind();
#endif
}
