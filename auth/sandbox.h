/*
 * Privilege changes, each step checked, in one order: look up, chroot,
 * chdir, setgroups, setresgid, setresuid, verify, then limits.
 */
#ifndef POP3D_SANDBOX_H
#define POP3D_SANDBOX_H

#include <sys/types.h>

#include "common/config.h"

struct login_ids {
	uid_t	uid;
	gid_t	gid;
};

/*
 * Root only: find the pre-login user and check the empty directory, which
 * is made when missing if create is set (not by pop3d -t).
 */
void	sandbox_prepare(const struct config *, struct login_ids *, int create);

/*
 * Confine the pre-login process.  As root: new network and IPC
 * namespaces, chroot into the empty directory and become the pre-login
 * user.  As anyone: no new privileges, no core dumps, no forking, few
 * descriptors, bounded memory.  The system call filter comes last, right
 * before the AUTHORIZATION loop (prelogin/confine.h).
 */
void	sandbox_login(const struct config *, const struct login_ids *, int root);

/*
 * Become the mailbox owner for good (as root), with the given
 * supplementary groups, or the gid alone when there are none.  Refuses
 * uid, gid or a group 0.  Returns 0 or -1 (logged).
 */
int	sandbox_become(uid_t, gid_t, const gid_t *groups, int ngroups);

/*
 * Confine a helper forked by the monitor (the LDAP lookup): stdin and
 * stdout on /dev/null, fds[0..n-1] as descriptors 3 to 3 + n - 1 (open
 * across an exec) and nothing else past stderr; as root, the pre-login
 * user; as anyone, no new privileges, no core dumps, no forking.  Not
 * chrooted: the helper resolves names and reads CA files.
 */
#define SANDBOX_HELPER_FDS	4
void	sandbox_helper(const struct config *, const int *fds, int n);

#endif
