/*
 * Landlock's three calls, and which rights each ABI can handle: a ruleset
 * that names a right the kernel does not know is refused whole, so the
 * handled set grows with the ABI the kernel reports.
 */
#include <sys/syscall.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "common/landlock.h"
#include "common/sysfilter.h"

/* Newer than the oldest kernel headers we build with (Debian 12's 6.1). */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#define __NR_landlock_add_rule		445
#define __NR_landlock_restrict_self	446
#endif
#define LL_FS_REFER		(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)

/* Everything ABI 1 knows of files: bits 0 (EXECUTE) to 12 (MAKE_SYM). */
#define LL_FS_ABI1		((1ULL << 13) - 1)

/* struct landlock_ruleset_attr of the newest ABI we use. */
struct ll_ruleset {
	uint64_t	fs;
	uint64_t	net;
	uint64_t	scoped;
};

int
landlock_abi(void)
{
	int abi;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	return abi > 0 ? abi : 0;
}

int
landlock_scoped(void)
{
	return !sysfilter_valgrind() && landlock_abi() >= LANDLOCK_ABI_SCOPED;
}

static uint64_t
fs_handled(int abi)
{
	uint64_t fs = LL_FS_ABI1;

	if (abi >= 2)
		fs |= LL_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LL_FS_IOCTL_DEV;
	return fs;
}

int
landlock_ruleset(int abi, int files, uint64_t *handled)
{
	struct ll_ruleset	rs;
	size_t			size = sizeof(rs.fs);

	memset(&rs, 0, sizeof(rs));
	if (files)
		rs.fs = fs_handled(abi);
	if (abi >= 4) {
		rs.net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset, scoped);
	}
	if (abi >= LANDLOCK_ABI_SCOPED) {
		rs.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(rs);
	}
	if (handled != NULL)
		*handled = rs.fs;
	return syscall(__NR_landlock_create_ruleset, &rs, size, 0);
}

int
landlock_allow(int ruleset, int dirfd, uint64_t access)
{
	struct landlock_path_beneath_attr pb;

	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access;
	pb.parent_fd = dirfd;
	return syscall(__NR_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0 ? 0 : -1;
}

int
landlock_enforce(int ruleset)
{
	int r, saved;

	r = syscall(__NR_landlock_restrict_self, ruleset, 0);
	saved = errno;
	close(ruleset);
	errno = saved;
	return r == 0 ? 0 : -1;
}
