/*
 * The pre-login process's system call filters (seccomp-bpf).  Each is for
 * good and fatal when it cannot be installed; a sanitizer build and a run
 * under valgrind get them relaxed (common/sysfilter.h).
 */
#ifndef POP3D_CONFINE_H
#define POP3D_CONFINE_H

/*
 * AUTHORIZATION: the client, the monitor's socket, the relay's socket,
 * time, memory and random numbers.  After no_new_privs (sandbox_login).
 */
void	confine_login(void);

/* The TLS relay: less still, stacked on the first. */
void	confine_relay(void);

#endif
