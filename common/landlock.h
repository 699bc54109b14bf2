/*
 * Landlock (Linux 5.13 and later, when the LSM is enabled): the mechanism
 * shared by the processes that confine themselves with it, the session
 * (session/confine.c) and the pre-login process (prelogin/confine.c).
 * What each may reach stays beside its code; this only speaks to the
 * kernel, at the newest ABI it has of those we know.
 */
#ifndef POP3D_LANDLOCK_H
#define POP3D_LANDLOCK_H

#include <stdint.h>

/*
 * The first ABI whose domains are scoped: no connecting to an abstract
 * UNIX socket made outside the domain, no signal to a process outside it
 * (Linux 6.12).
 */
#define LANDLOCK_ABI_SCOPED	6

/* The kernel's ABI, or 0 with errno (ENOSYS, EOPNOTSUPP: disabled). */
int	landlock_abi(void);

/*
 * Whether a process confining itself now gets a scoped domain: the
 * kernel's ABI has scopes, and this is not valgrind (which cannot pass
 * Landlock's calls on: common/sysfilter.h).
 */
int	landlock_scoped(void);

/*
 * A ruleset for abi that handles every file access the ABI knows of
 * unless files is 0, TCP bind and connect (ABI 4), and scopes abstract
 * sockets and signals (ABI 6): what no rule then grants is refused.
 * Returns its descriptor, or -1 with errno (EINVAL: nothing to handle).
 * *handled gets the file accesses handled, which a rule must stay within.
 */
int	landlock_ruleset(int abi, int files, uint64_t *handled);

/* Access, within the handled ones, to what lies beneath dirfd. */
int	landlock_allow(int ruleset, int dirfd, uint64_t access);

/*
 * Confine this process (and what it starts) to the ruleset, for good,
 * and close it.  Needs no_new_privs.  0, or -1 with errno.
 */
int	landlock_enforce(int ruleset);

#endif
