/*
 * The system calls that architectures name differently, or lack, as rules
 * for a sysfilter allow-list (sysfilter.h): every confined process uses
 * them the same way.
 */
#ifndef POP3D_SYSFILTER_COMPAT_H
#define POP3D_SYSFILTER_COMPAT_H

#include <sys/mman.h>
#include <sys/syscall.h>

#include <fcntl.h>

#include "common/sysfilter.h"

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
 * 32-bit architectures (i386, armhf): mmap2, fcntl64, the 64-bit time
 * calls, sigreturn, and socketcall(2), through which glibc may make every
 * socket call (only those of the lists pass).  Untested here: the tests
 * run on x86-64.
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
/* socketcall(2) with call number call: each file lists those it allows. */
#define SOCKETCALL(call)	SF_ALLOW_IF(socketcall, 0, (call)),
#endif

/* All of the above, for the head of a rule list. */
#define SF_COMPAT_RULES	NEWFSTATAT MMAP OLD_POLL OLD_FSTAT OLD_TIME OLD_OPEN \
			OLD_MMAP2 OLD_FCNTL64 TIME64 OLD_SIGRETURN OLD_FSTAT64

#endif
