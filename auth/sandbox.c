/*
 * Dropping privileges.  Every call is checked and a failure is fatal:
 * a process that could not drop what it meant to must not go on.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/sandbox.h"
#include "common/landlock.h"
#include "common/log.h"

void
sandbox_prepare(const struct config *cf, struct login_ids *ids, int create)
{
	struct passwd	*pw;
	struct stat	 st;

	if ((pw = getpwnam(cf->login_user)) == NULL)
		fatalx(EX_CONFIG, "login_user %s: no such user", cf->login_user);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatalx(EX_CONFIG, "login_user %s must not be root", cf->login_user);
	ids->uid = pw->pw_uid;
	ids->gid = pw->pw_gid;
	if (stat(cf->empty_dir, &st) == -1) {
		if (errno != ENOENT || !create || mkdir(cf->empty_dir, 0755) == -1 ||
		    stat(cf->empty_dir, &st) == -1)
			fatal(EX_OSERR, "empty_dir %s", cf->empty_dir);
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		fatalx(EX_CONFIG, "empty_dir %s must be a directory owned by "
		    "root and writable by no one else", cf->empty_dir);
}

static void
limit(int resource, rlim_t value)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) == -1)
		fatal(EX_OSERR, "setrlimit");
}

/*
 * Lowering the hard limit can only fail under an emulator such as
 * valgrind, which keeps descriptors of its own: then lower the soft one.
 */
static void
limit_nofile(rlim_t value)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal(EX_OSERR, "getrlimit");
	rl.rlim_cur = value;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal(EX_OSERR, "setrlimit");
	log_warnx("descriptor hard limit kept at %llu",
	    (unsigned long long)rl.rlim_max);
}

static void
set_ids(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	uid_t	ru, eu, su;
	gid_t	rg, eg, sg;

	if (ngroups == 0) {
		groups = &gid;
		ngroups = 1;
	}
	if (setgroups(ngroups, groups) == -1)
		fatal(EX_OSERR, "setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal(EX_OSERR, "setresgid %lu", (unsigned long)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal(EX_OSERR, "setresuid %lu", (unsigned long)uid);
	if (getresuid(&ru, &eu, &su) == -1 || ru != uid || eu != uid ||
	    su != uid || getresgid(&rg, &eg, &sg) == -1 || rg != gid ||
	    eg != gid || sg != gid)
		fatalx(EX_OSERR, "uid/gid not changed as asked");
	if (uid != 0 && setuid(0) != -1)
		fatalx(EX_OSERR, "could regain root");
}

/*
 * Network and IPC namespaces of its own, empty: a socket the pre-login
 * process could still create would reach nothing, and it shares no SysV
 * IPC or message queue with any other process.  The client's socket,
 * already open, is not affected.  Only where the kernel's Landlock has
 * no scopes (before Linux 6.12, or under valgrind): with them the
 * pre-login's domain keeps it from abstract sockets and signals outside
 * it (prelogin/confine.c), and the namespaces would only add their cost,
 * about a millisecond of the kernel's work to make and tear down at
 * every connection.  Needs CAP_SYS_ADMIN, which pop3d@.service grants
 * for this alone; without it (a unit or container that withholds it, a
 * kernel without namespaces) the process goes on with the host's, said
 * in the log.
 */
static void
new_namespaces(void)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWIPC) == 0)
		return;
	if (errno != EPERM && errno != EINVAL && errno != ENOSPC)
		fatal(EX_OSERR, "unshare");
	log_warn("pre-login process keeps the host's network and IPC "
	    "namespaces: unshare");
}

void
sandbox_login(const struct config *cf, const struct login_ids *ids, int root)
{
	if (root) {
		if (!landlock_scoped())
			new_namespaces();
		if (chroot(cf->empty_dir) == -1 || chdir("/") == -1)
			fatal(EX_OSERR, "chroot %s", cf->empty_dir);
		set_ids(ids->uid, ids->gid, NULL, 0);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal(EX_OSERR, "prctl");
	/*
	 * No RLIMIT_FSIZE: the chroot leaves nothing to write, and the limit
	 * would kill the process whose output goes to a file (tests,
	 * valgrind's log).
	 */
	limit(RLIMIT_CORE, 0);
	limit(RLIMIT_NPROC, 0);
	limit_nofile(LOGIN_RLIMIT_NOFILE);
#ifndef POP3D_SANITIZE
	/* AddressSanitizer reserves terabytes of address space. */
	limit(RLIMIT_AS, LOGIN_RLIMIT_AS);
#endif
}

/*
 * The supplementary groups are those the user source gave (PAM and
 * system accounts), or else exactly the gid: mailbox owners of the users
 * file are often virtual, with no system account to take groups from, and
 * a lookup through NSS would cost more than the rest of the login.
 */
int
sandbox_become(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	int i;

	if (uid == 0 || gid == 0) {
		log_warnx("refusing to run a session as uid %lu gid %lu",
		    (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	for (i = 0; i < ngroups; i++)
		if (groups[i] == 0) {
			log_warnx("refusing to run a session in group 0");
			return -1;
		}
	set_ids(uid, gid, groups, ngroups);
	return 0;
}

void
sandbox_helper(const struct config *cf, const int *fds, int n)
{
	struct passwd	*pw;
	int		 i, null, high[SANDBOX_HELPER_FDS];

	if (n > SANDBOX_HELPER_FDS)
		fatalx(EX_SOFTWARE, "helper descriptors");
	/* syslog's socket goes too: a later line reopens it, never another fd. */
	closelog();
	/* Out of the way first: one of fds may be where another must go. */
	for (i = 0; i < n; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n)) == -1)
			fatal(EX_OSERR, "helper descriptors");
	if ((null = open("/dev/null", O_RDWR)) == -1 || dup2(null, 0) == -1 ||
	    dup2(null, 1) == -1)
		fatal(EX_OSERR, "helper descriptors");
	for (i = 0; i < n; i++)
		if (dup2(high[i], 3 + i) == -1)
			fatal(EX_OSERR, "helper descriptors");
	closefrom(3 + n);
	if (geteuid() == 0) {
		if ((pw = getpwnam(cf->login_user)) == NULL || pw->pw_uid == 0 ||
		    pw->pw_gid == 0)
			fatalx(EX_CONFIG, "login_user %s: no such user, or root",
			    cf->login_user);
		set_ids(pw->pw_uid, pw->pw_gid, NULL, 0);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal(EX_OSERR, "prctl");
	limit(RLIMIT_CORE, 0);
#ifndef POP3D_SANITIZE
	/*
	 * LeakSanitizer's check at exit starts a tracer process: with no
	 * process left to the uid it cannot, and reports a fatal error.
	 */
	limit(RLIMIT_NPROC, 0);
#endif
}
