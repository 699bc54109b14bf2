/*
 * Each confinement against the calls it forbids.  Every call runs in a
 * child of its own that confines itself first, the way pop3d's processes
 * do; the child exits with the call's errno (0: it went through) or dies
 * of SIGSYS when the filter kills it.  In a sanitizer build the filters
 * are relaxed (kills only logged): the kills are skipped there.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/landlock.h"
#include "common/sysfilter.h"
#include "lookup/confine.h"
#include "prelogin/confine.h"
#include "session/confine.h"
#include "tap.h"

#define KILLED	(-1)		/* the child died of SIGSYS */
#define BROKEN	(-2)		/* it died otherwise, or could not confine */

static char	top[] = "/tmp/pop3d-sandbox-XXXXXX";
static char	maildir[300], outside[300];
static char	made[300];	/* what the lookup would make, if let */
static int	sp[2];		/* a socket pair opened before confinement */
static int	dirfd_md = -1;

static struct sockaddr_un abstract;	/* a listening socket made outside */
static struct sockaddr_in tcp;		/* and a TCP one */

enum confinement { NONE, LOGIN, LOGIN_DOMAIN, RELAY, MAILDIR, SYSCALLS, SESSION, NO_LANDLOCK,
	LOOKUP };

/* A kernel without Landlock, played by a filter: its calls fail with ENOSYS. */
static const struct sysfilter_rule no_landlock[] = {
	SF_ERRNO(landlock_create_ruleset, ENOSYS),
};

static void
confine(enum confinement c)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		_exit(200);
	switch (c) {
	case NONE:
		break;
	case RELAY:
		confine_login();
		confine_relay();
		break;
	case LOGIN:
		confine_login();
		break;
	case LOGIN_DOMAIN:
		confine_login_domain();
		break;
	case LOOKUP:
		lookup_confine();
		break;
	case MAILDIR:
		if (confine_maildir(dirfd_md) <= 0)
			_exit(201);
		break;
	case SYSCALLS:
		if (confine_syscalls() == -1)
			_exit(201);
		break;
	case SESSION:
		confine_session(dirfd_md);
		break;
	case NO_LANDLOCK:
		if (sysfilter_install(no_landlock, 1, SECCOMP_RET_ALLOW, 0) == -1)
			_exit(201);
		confine_session(dirfd_md);
		break;
	}
}

/* The call's errno, 0 when it went through, or KILLED or BROKEN. */
static int
run(enum confinement c, int (*call)(void))
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return BROKEN;
	if (pid == 0) {
		confine(c);
		_exit(call());
	}
	if (waitpid(pid, &status, 0) == -1)
		return BROKEN;
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGSYS ? KILLED : BROKEN;
	return WEXITSTATUS(status) >= 200 ? BROKEN : WEXITSTATUS(status);
}

static int
result(int r)
{
	return r == -1 ? errno : 0;
}

static int
do_socket(void)
{
	return result(socket(AF_INET, SOCK_STREAM, 0));
}

static int
do_open(void)
{
	return result(open("/etc/passwd", O_RDONLY));
}

static int
do_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid == -1 ? errno : 0;
}

static int
do_kill(void)
{
	return result(kill(getppid(), 0));
}

static int
do_exec(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };

	execve("/bin/true", argv, envp);
	return errno;
}

static int
do_ptrace(void)
{
	return result(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int
do_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? errno : 0;
}

static int
do_unshare(void)
{
	return result(unshare(CLONE_NEWUSER));
}

static int
do_io_uring(void)
{
	return result(syscall(__NR_io_uring_setup, 1, NULL));
}

static int
do_shmget(void)
{
	return result(shmget(IPC_PRIVATE, 4096, 0600));
}

static int
do_seccomp(void)
{
	return result(syscall(__NR_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL));
}

static int
do_setfl(void)
{
	int fl = fcntl(sp[1], F_GETFL);

	return fl == -1 ? errno : result(fcntl(sp[1], F_SETFL, fl | O_NONBLOCK));
}

/* Have the kernel signal another process (of the same uid) on I/O. */
static int
do_setown(void)
{
	return result(fcntl(sp[1], F_SETOWN, getppid()));
}

static int
do_connect(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };

	strlcpy(sun.sun_path, "/dev/log", sizeof(sun.sun_path));
	return result(connect(sp[1], (struct sockaddr *)&sun, sizeof(sun)));
}

/* A socket made inside, connected to one made outside the domain. */
static int
connect_to(int family, const struct sockaddr *sa, socklen_t len)
{
	int fd, r;

	if ((fd = socket(family, SOCK_STREAM, 0)) == -1)
		return errno;
	r = result(connect(fd, sa, len));
	close(fd);
	return r;
}

static int
do_connect_abstract(void)
{
	return connect_to(AF_UNIX, (struct sockaddr *)&abstract,
	    offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(abstract.sun_path + 1));
}

static int
do_connect_tcp(void)
{
	return connect_to(AF_INET, (struct sockaddr *)&tcp, sizeof(tcp));
}

/* A file made by the lookup: open(O_CREAT), then mkdir(2). */
static int
do_create(void)
{
	return result(open(made, O_WRONLY | O_CREAT, 0600));
}

static int
do_mkdir(void)
{
	return result(mkdir(made, 0700));
}

/* recv(2) on a socket held from before: EAGAIN, nothing to read. */
static int
do_recv(void)
{
	char c;

	return result(recv(sp[1], &c, 1, MSG_DONTWAIT));
}

/* What the pre-login process does all the time. */
static int
do_allowed(void)
{
	struct timespec	 ts;
	unsigned char	 rnd[32];
	char		*p;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd) ||
	    write(sp[1], "x", 1) != 1 || (p = malloc(1 << 20)) == NULL)
		return errno != 0 ? errno : 1;
	memset(p, 1, 1 << 20);
	free(p);
	return 0;
}

/* Make, write, rename between folders and remove a file in the Maildir. */
static int
do_maildir(void)
{
	int fd;

	if ((fd = openat(dirfd_md, "tmp/1.x", O_WRONLY | O_CREAT | O_EXCL,
	    0600)) == -1 || write(fd, "From: a\n", 8) != 8 ||
	    ftruncate(fd, 4) == -1 || close(fd) == -1)
		return errno;
	if (renameat(dirfd_md, "tmp/1.x", dirfd_md, "new/1.x") == -1 ||
	    (fd = openat(dirfd_md, "new/1.x", O_RDONLY)) == -1 ||
	    close(fd) == -1 || unlinkat(dirfd_md, "new/1.x", 0) == -1)
		return errno;
	return 0;
}

static int
do_write_outside(void)
{
	return result(open(outside, O_WRONLY | O_CREAT, 0600));
}

/* Relaxed: where AddressSanitizer writes its report. */
static char	sanlog[300];

static int
do_sanitizer_log(void)
{
	int fd = open(sanlog, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (fd == -1)
		return errno;
	close(fd);
	return unlink(sanlog) == -1 ? errno : 0;
}

/* The directory of ASAN_OPTIONS's log_path, a file name in it: 0 or -1. */
static int
sanitizer_log(void)
{
	const char	*v = getenv("ASAN_OPTIONS"), *p;
	char		*slash;
	size_t		 len;

	if (v == NULL || (p = strstr(v, "log_path=")) == NULL)
		return -1;
	p += strlen("log_path=");
	len = strcspn(p, ":");
	if (len >= sizeof(sanlog) - 32)
		return -1;
	memcpy(sanlog, p, len);
	sanlog[len] = '\0';
	if ((slash = strrchr(sanlog, '/')) == NULL)
		return -1;
	snprintf(slash, sizeof(sanlog) - (slash - sanlog),
	    "/sandbox-probe.%ld", (long)getpid());
	return 0;
}

static int
do_devnull(void)
{
	return result(open("/dev/null", O_RDWR));
}

/* A forbidden call: killed, or (relaxed) not killed. */
static void
killed(enum confinement c, int (*call)(void), const char *what)
{
	int r = run(c, call);

	if (sysfilter_relaxed()) {
		ok(r != BROKEN && r != KILLED, "%s: relaxed, not killed (%d)",
		    what, r);
		return;
	}
	ok(r == KILLED, "%s: killed by SIGSYS (got %d)", what, r);
}

static void
refused(enum confinement c, int (*call)(void), int e, const char *what)
{
	int r = run(c, call);

	ok(r == e, "%s: refused with %s (got %d)", what, strerror(e), r);
}

static void
test_login(void)
{
	ok(run(LOGIN, do_allowed) == 0, "pre-login: time, random, "
	    "write, memory");
	ok(run(LOGIN, do_recv) == EAGAIN, "pre-login: recv on its socket");
	refused(LOGIN, do_socket, EACCES, "pre-login: socket");
	refused(LOGIN, do_open, EACCES, "pre-login: open");
	killed(LOGIN, do_fork, "pre-login: fork");
	killed(LOGIN, do_kill, "pre-login: kill");
	killed(LOGIN, do_exec, "pre-login: execve");
	killed(LOGIN, do_ptrace, "pre-login: ptrace");
	killed(LOGIN, do_mmap_exec, "pre-login: executable mmap");
	killed(LOGIN, do_io_uring, "pre-login: io_uring_setup");
	killed(LOGIN, do_shmget, "pre-login: shmget");
	ok(run(LOGIN, do_setfl) == 0, "pre-login: fcntl F_GETFL, F_SETFL");
	killed(LOGIN, do_setown, "pre-login: fcntl F_SETOWN");
}

/* Where to connect: an abstract UNIX socket and a TCP one, listening. */
static int
listeners(void)
{
	socklen_t	len = sizeof(tcp);
	int		u, t;

	abstract.sun_family = AF_UNIX;
	snprintf(abstract.sun_path + 1, sizeof(abstract.sun_path) - 1,
	    "pop3d-sandbox-%ld", (long)getpid());
	tcp.sin_family = AF_INET;
	tcp.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(u, (struct sockaddr *)&abstract, offsetof(struct sockaddr_un,
	    sun_path) + 1 + strlen(abstract.sun_path + 1)) == -1 ||
	    listen(u, 1) == -1 ||
	    (t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(t, (struct sockaddr *)&tcp, sizeof(tcp)) == -1 ||
	    getsockname(t, (struct sockaddr *)&tcp, &len) == -1 ||
	    listen(t, 1) == -1)
		return -1;
	return 0;
}

/*
 * The pre-login's Landlock domain alone, without the filter that refuses
 * most of this anyway: the second layer must hold by itself.
 */
static void
test_login_domain(void)
{
	int abi = sysfilter_valgrind() ? 0 : landlock_abi();

	if (abi == 0) {
		skip("pre-login Landlock: the kernel has none");
		return;
	}
	ok(run(LOGIN_DOMAIN, do_allowed) == 0, "pre-login domain: time, "
	    "random, write, memory");
	ok(run(LOGIN_DOMAIN, do_recv) == EAGAIN, "pre-login domain: recv on "
	    "its socket");
	if (sysfilter_relaxed())
		skip("relaxed build: files not handled");
	else
		refused(LOGIN_DOMAIN, do_open, EACCES, "pre-login domain: open");
	if (abi < 4) {
		skip("pre-login domain: TCP (Landlock ABI %d)", abi);
	} else {
		ok(run(NONE, do_connect_tcp) == 0, "TCP connect, unconfined");
		refused(LOGIN_DOMAIN, do_connect_tcp, EACCES,
		    "pre-login domain: TCP connect");
	}
	if (abi < LANDLOCK_ABI_SCOPED) {
		skip("pre-login domain: scopes (Landlock ABI %d)", abi);
		return;
	}
	ok(run(NONE, do_connect_abstract) == 0, "abstract socket, unconfined");
	refused(LOGIN_DOMAIN, do_connect_abstract, EPERM,
	    "pre-login domain: an abstract socket made outside");
	ok(run(NONE, do_kill) == 0, "signal to the parent, unconfined");
	refused(LOGIN_DOMAIN, do_kill, EPERM,
	    "pre-login domain: a signal out of the domain");
}

static void
test_relay(void)
{
	ok(run(RELAY, do_allowed) == 0, "relay: time, random, write, memory");
	refused(RELAY, do_socket, EACCES, "relay: socket");
	refused(RELAY, do_open, EACCES, "relay: open");
	killed(RELAY, do_recv, "relay: recv (the monitor's socket is done)");
	killed(RELAY, do_seccomp, "relay: another filter");
	killed(RELAY, do_fork, "relay: fork");
	ok(run(RELAY, do_setfl) == 0, "relay: fcntl F_GETFL, F_SETFL");
	killed(RELAY, do_setown, "relay: fcntl F_SETOWN");
}

/* The LDAP lookup, once connected: its sockets, and nothing new. */
static void
test_lookup(void)
{
	ok(run(LOOKUP, do_allowed) == 0, "lookup: time, random, write, memory");
	ok(run(LOOKUP, do_recv) == EAGAIN, "lookup: recv on its socket");
	ok(run(LOOKUP, do_setfl) == 0, "lookup: fcntl F_GETFL, F_SETFL");
	refused(LOOKUP, do_socket, EACCES, "lookup: socket");
	refused(LOOKUP, do_connect, EACCES, "lookup: connect");
	refused(LOOKUP, do_open, EACCES, "lookup: open");
	refused(LOOKUP, do_create, EACCES, "lookup: open with O_CREAT");
	killed(LOOKUP, do_mkdir, "lookup: mkdir");
	killed(LOOKUP, do_fork, "lookup: fork");
	killed(LOOKUP, do_kill, "lookup: kill");
	killed(LOOKUP, do_exec, "lookup: execve");
	killed(LOOKUP, do_ptrace, "lookup: ptrace");
	killed(LOOKUP, do_mmap_exec, "lookup: executable mmap");
	killed(LOOKUP, do_unshare, "lookup: unshare");
	killed(LOOKUP, do_io_uring, "lookup: io_uring_setup");
	killed(LOOKUP, do_shmget, "lookup: shmget");
	killed(LOOKUP, do_seccomp, "lookup: another filter");
	killed(LOOKUP, do_setown, "lookup: fcntl F_SETOWN");
	if (sysfilter_relaxed())
		rmdir(made);	/* relaxed: mkdir(2) went through */
	else
		ok(access(made, F_OK) == -1, "lookup: nothing was made");
}

/*
 * Without Landlock the session goes on, the Maildir usable, and says so
 * in the log once.
 */
static void
test_no_landlock(void)
{
	char	log[1024];
	ssize_t	n;
	size_t	len = 0;
	int	p[2], saved, r, lines = 0;
	char	*at;

	if (pipe(p) == -1 || (saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(p[1], STDERR_FILENO) == -1)
		return;
	r = run(NO_LANDLOCK, do_maildir);
	run(NO_LANDLOCK, do_write_outside);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	while (len < sizeof(log) - 1 &&
	    (n = read(p[0], log + len, sizeof(log) - 1 - len)) > 0)
		len += n;
	close(p[0]);
	log[len] = '\0';
	for (at = log; (at = strstr(at, "Landlock unavailable: ")) != NULL; at++)
		lines++;
	ok(r == 0, "no Landlock: the session still uses its Maildir");
	ok(lines == 2 && strstr(log, "Function not implemented") != NULL,
	    "no Landlock: one log line a session (%d)", lines);
	unlink(outside);
}

static void
test_session(void)
{
	int strict = !sysfilter_relaxed();

	if (landlock_abi() == 0) {
		skip("Landlock: the kernel has none");
	} else {
		ok(run(MAILDIR, do_maildir) == 0, "Landlock: make, write, "
		    "rename and remove in the Maildir");
		ok(run(MAILDIR, do_devnull) == 0, "Landlock: /dev/null");
		refused(MAILDIR, do_write_outside, EACCES,
		    "Landlock: a file outside the Maildir");
		refused(MAILDIR, do_exec, EACCES, "Landlock: execve");
		if (strict)
			refused(MAILDIR, do_open, EACCES,
			    "Landlock: reading outside the Maildir");
		else
			skip("relaxed build: reads everywhere");
		if (strict)
			skip("strict build: no sanitizer log to write");
		else if (sanitizer_log() == -1)
			skip("no log_path in ASAN_OPTIONS");
		else
			ok(run(MAILDIR, do_sanitizer_log) == 0, "relaxed "
			    "Landlock: the sanitizer's log directory");
	}
	ok(access(outside, F_OK) == -1, "nothing was made outside");
	ok(run(SYSCALLS, do_open) == 0, "session seccomp: open still works");
	refused(SYSCALLS, do_socket, EPERM, "session seccomp: socket");
	killed(SYSCALLS, do_exec, "session seccomp: execve");
	killed(SYSCALLS, do_ptrace, "session seccomp: ptrace");
	killed(SYSCALLS, do_unshare, "session seccomp: unshare");
	killed(SYSCALLS, do_io_uring, "session seccomp: io_uring_setup");
	killed(SYSCALLS, do_shmget, "session seccomp: shmget");
	ok(run(SESSION, do_maildir) == 0, "session: the Maildir, both on");
	killed(SESSION, do_exec, "session: execve, both on");
}

int
main(void)
{
	if (mkdtemp(top) == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0,
	    sp) == -1)
		return 1;
	snprintf(maildir, sizeof(maildir), "%s/Maildir", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	snprintf(made, sizeof(made), "%s/made", top);
	if (mkdir(maildir, 0700) == -1 ||
	    (dirfd_md = open(maildir, O_RDONLY | O_DIRECTORY)) == -1 ||
	    mkdirat(dirfd_md, "tmp", 0700) == -1 ||
	    mkdirat(dirfd_md, "new", 0700) == -1 ||
	    mkdirat(dirfd_md, "cur", 0700) == -1)
		return 1;
	if (listeners() == -1)
		return 1;
	test_login();
	test_login_domain();
	test_relay();
	test_lookup();
	test_session();
	test_no_landlock();
	unlinkat(dirfd_md, "tmp", AT_REMOVEDIR);
	unlinkat(dirfd_md, "new", AT_REMOVEDIR);
	unlinkat(dirfd_md, "cur", AT_REMOVEDIR);
	unlink(outside);
	rmdir(maildir);
	rmdir(top);
	return tap_done();
}
