/*
 * The pre-login process's system call filters (seccomp-bpf) and its
 * Landlock domain.  Each is for
 * good and fatal when it cannot be installed; a sanitizer build and a run
 * under valgrind get them relaxed (common/sysfilter.h).
 */
#ifndef POP3D_CONFINE_H
#define POP3D_CONFINE_H

/*
 * AUTHORIZATION: the client, the monitor's socket, the relay's socket,
 * time, memory and random numbers; Landlock first, where the kernel has
 * it.  After no_new_privs (sandbox_login).
 */
void	confine_login(void);

/*
 * Its Landlock domain alone (confine_login's first step): no file, TCP
 * bind or connect and, from ABI 6, no abstract socket or signal outside.
 */
void	confine_login_domain(void);

/* The TLS relay: less still, stacked on the first. */
void	confine_relay(void);

#endif
