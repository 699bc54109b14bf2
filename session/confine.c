/*
 * The session runs as the mailbox owner, whose files outside the Maildir
 * (a home, other mail, keys) it has no need of: Landlock keeps it to the
 * Maildir, where the kernel has Landlock (5.13 and later, when enabled).
 * A seccomp filter takes away what a POP3 session never does whatever
 * the kernel: exec, ptrace, new sockets, mounts and namespaces, BPF,
 * modules, io_uring, System V IPC, another process's descriptors.  It is a deny-list: the session's own calls (the
 * Maildir, the size cache, the quota file, libc) stay as they are.
 *
 * Sanitizer builds and runs under valgrind are relaxed: they may read
 * everywhere and write the sanitizers' log directories (their reports
 * must get out), and the filter's kills are only logged by the kernel.
 * Under valgrind, which cannot pass Landlock's calls on, there is no
 * Landlock at all.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "params.h"
#include "common/landlock.h"
#include "common/log.h"
#include "common/sysfilter.h"
#include "session/confine.h"

/* Newer than the oldest kernel headers we build with (Debian 12's 6.1). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif

#define LL_READ		(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* A Maildir: files read, written, made, renamed between its folders, removed. */
#define LL_MAILDIR	(LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE |		\
			 LANDLOCK_ACCESS_FS_MAKE_REG |				\
			 LANDLOCK_ACCESS_FS_REMOVE_FILE |			\
			 LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)
#define LL_DEVNULL	(LANDLOCK_ACCESS_FS_READ_FILE |			\
			 LANDLOCK_ACCESS_FS_WRITE_FILE)

/* A path that may be missing (then no rule): 0, or -1 with errno. */
static int
add_path(int ruleset, const char *path, uint64_t access)
{
	int fd, r, saved;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	r = landlock_allow(ruleset, fd, access);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/*
 * Relaxed: the directory of each sanitizer's log_path, where its report
 * goes, writable.  "ASAN_OPTIONS=log_path=/dir/asan:..." gives /dir.
 */
static int
add_sanitizer_logs(int ruleset, uint64_t handled)
{
	static const char *const vars[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
	    "LSAN_OPTIONS" };
	char		 dir[POP3D_PATH_MAX], *slash;
	const char	*v, *p;
	size_t		 i, len;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if ((v = getenv(vars[i])) == NULL ||
		    (p = strstr(v, "log_path=")) == NULL)
			continue;
		p += strlen("log_path=");
		len = strcspn(p, ":");
		if (len == 0 || len >= sizeof(dir))
			continue;
		memcpy(dir, p, len);
		dir[len] = '\0';
		if ((slash = strrchr(dir, '/')) == NULL)
			continue;
		slash[slash == dir] = '\0';
		if (add_path(ruleset, dir, (LL_MAILDIR | LL_READ) & handled) == -1)
			return -1;
	}
	return 0;
}

int
confine_maildir(int dirfd)
{
	uint64_t	handled;
	int		abi, ruleset, saved;

	if (sysfilter_valgrind())
		return 0;
	if ((abi = landlock_abi()) == 0) {
		log_warnx("Landlock unavailable: %s; the session is confined "
		    "by its uid alone", errno == EOPNOTSUPP ?
		    "disabled at boot (lsm=)" : strerror(errno));
		return 0;
	}
	if ((ruleset = landlock_ruleset(abi, 1, &handled)) == -1)
		return -1;
	if (landlock_allow(ruleset, dirfd, LL_MAILDIR & handled) == -1 ||
	    add_path(ruleset, "/dev/null", LL_DEVNULL) == -1 ||
	    (sysfilter_relaxed() &&
	    (add_path(ruleset, "/", LL_READ) == -1 ||
	    add_sanitizer_logs(ruleset, handled) == -1))) {
		saved = errno;
		close(ruleset);
		errno = saved;
		return -1;
	}
	return landlock_enforce(ruleset) == 0 ? abi : -1;
}

/* Calls of the deny-list that some architectures lack. */
#ifdef __NR_accept
#define ACCEPT		SF_ERRNO(accept, EPERM),
#else
#define ACCEPT
#endif
#ifdef __NR_kexec_file_load
#define KEXEC_FILE	SF_KILL(kexec_file_load),
#else
#define KEXEC_FILE
#endif

/* System V IPC: one call, ipc(2), on some 32-bit architectures. */
#ifdef __NR_shmget
#define SYSV_IPC							\
	SF_KILL(shmget), SF_KILL(shmat), SF_KILL(shmctl),		\
	SF_KILL(msgget), SF_KILL(msgsnd), SF_KILL(msgrcv),		\
	SF_KILL(msgctl), SF_KILL(semget), SF_KILL(semop),		\
	SF_KILL(semctl),
#else
#define SYSV_IPC	SF_KILL(ipc),
#endif

static const struct sysfilter_rule session_rules[] = {
	KEXEC_FILE
	/* What the owner's other processes share: IPC, their descriptors. */
	SYSV_IPC
	SF_KILL(mq_open), SF_KILL(pidfd_getfd), SF_KILL(kcmp),
	/* Running or reading other programs. */
	SF_KILL(execve), SF_KILL(execveat), SF_KILL(ptrace),
	SF_KILL(process_vm_readv), SF_KILL(process_vm_writev),
	/* The kernel's larger interfaces. */
	SF_KILL(bpf), SF_KILL(io_uring_setup), SF_KILL(io_uring_enter),
	SF_KILL(io_uring_register), SF_KILL(userfaultfd),
	SF_KILL(perf_event_open), SF_KILL(keyctl), SF_KILL(add_key),
	SF_KILL(request_key),
	/* The system's state. */
	SF_KILL(mount), SF_KILL(umount2), SF_KILL(pivot_root),
	SF_KILL(chroot), SF_KILL(unshare), SF_KILL(setns),
	SF_KILL(open_tree), SF_KILL(move_mount), SF_KILL(fsopen),
	SF_KILL(fsconfig), SF_KILL(fsmount), SF_KILL(fspick),
	SF_KILL(kexec_load), SF_KILL(init_module), SF_KILL(finit_module),
	SF_KILL(delete_module), SF_KILL(reboot), SF_KILL(swapon),
	SF_KILL(swapoff), SF_KILL(acct), SF_KILL(quotactl),
	SF_KILL(open_by_handle_at), SF_KILL(name_to_handle_at),
	SF_KILL(personality),
	/*
	 * Sockets: syslog(3) may try to reconnect, harmlessly refused.  The
	 * session's own are the descriptors it was handed.
	 */
	SF_ERRNO(socket, EPERM), SF_ERRNO(socketpair, EPERM),
	SF_ERRNO(connect, EPERM), SF_ERRNO(bind, EPERM),
	SF_ERRNO(listen, EPERM), ACCEPT SF_ERRNO(accept4, EPERM),
};

int
confine_syscalls(void)
{
	return sysfilter_install(session_rules,
	    sizeof(session_rules) / sizeof(session_rules[0]),
	    SECCOMP_RET_ALLOW, sysfilter_relaxed());
}

void
confine_session(int dirfd)
{
	/*
	 * syslog(3) stamps lines in local time: the zone file is read now,
	 * while it may be.
	 */
	tzset();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal(EX_OSERR, "prctl");
	if (confine_maildir(dirfd) == -1)
		fatal(EX_OSERR, "Landlock");
	if (confine_syscalls() == -1) {
		if (errno != ENOSYS)
			fatal(EX_OSERR, "seccomp filter of the session");
		log_warnx("no seccomp filter for the session on this "
		    "architecture");
	}
}
