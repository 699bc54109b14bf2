/*
 * The session's confinement, once its Maildir is open and before any
 * command of the client is parsed: Landlock keeps it to that Maildir, a
 * seccomp filter takes away the calls a POP3 session never makes.
 */
#ifndef POP3D_SESSION_CONFINE_H
#define POP3D_SESSION_CONFINE_H

/*
 * Landlock: read and write beneath the directory dirfd (files made,
 * renamed and removed there), /dev/null, and nothing else; nothing may
 * be executed, no TCP port bound or connected.  Returns the Landlock ABI
 * version enforced, 0 when the kernel has none (said in the log, once)
 * or under valgrind, or -1 with errno when it failed.
 */
int	confine_maildir(int dirfd);

/*
 * seccomp: no exec, ptrace, new sockets, mounts, namespaces, BPF, module
 * loading, io_uring, System V IPC or message queues, or reading another
 * process's memory or descriptors.  Returns 0, or
 * -1 with errno.
 */
int	confine_syscalls(void);

/* Both, after no_new_privs; a failure is fatal. */
void	confine_session(int dirfd);

#endif
