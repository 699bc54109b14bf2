/*
 * The LDAP lookup's system call filter (seccomp-bpf), for good, fatal
 * when it cannot be installed; relaxed in a sanitizer build and under
 * valgrind (common/sysfilter.h).
 */
#ifndef POP3D_LOOKUP_CONFINE_H
#define POP3D_LOOKUP_CONFINE_H

/*
 * Once both connections to the directory are open (TLS included) and
 * the log is connected: reads and writes on the descriptors held, time,
 * memory, random numbers, exit.  After no_new_privs (sandbox_helper).
 */
void	lookup_confine(void);

#endif
