/*
 * The log relay: lines reach the real stderr one by one, attributed to
 * the pid the kernel vouches for, whatever prefix the sender wrote; the
 * relay ends when its last writer is gone.
 */
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/logger.h"
#include "common/log.h"
#include "tap.h"

static char	path[] = "/tmp/pop3d-logger-XXXXXX";
static char	program[4096];	/* the build's pop3d-log */

/*
 * The relay is pop3d-log's image, holding descriptors 0 to 3 alone, none
 * of them the client's (here: the writer's stdin).
 */
static int
relay_alone(pid_t relay)
{
	char		 p[64], exe[4096];
	DIR		*d;
	struct dirent	*e;
	ssize_t		 n;
	int		 fds = 0;

	snprintf(p, sizeof(p), "/proc/%ld/exe", (long)relay);
	if ((n = readlink(p, exe, sizeof(exe) - 1)) <= 0)
		return 0;
	exe[n] = '\0';
	if (n < 10 || strcmp(exe + n - 10, "/pop3d-log") != 0)
		return 0;
	snprintf(p, sizeof(p), "/proc/%ld/fd", (long)relay);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			fds++;
	closedir(d);
	snprintf(p, sizeof(p), "/proc/%ld/fd/0", (long)relay);
	if ((n = readlink(p, exe, sizeof(exe) - 1)) <= 0)
		return 0;
	exe[n] = '\0';
	return fds == 4 && strcmp(exe, "/dev/null") == 0;
}

/* A connection's last process: writes through the relay, then waits for it. */
static void __attribute__((noreturn))
writer(int out)
{
	char	line[128];
	pid_t	relay;
	int	fd, n;

	if (dup2(out, STDERR_FILENO) == -1 ||
	    (fd = logger_start(program, &relay)) == -1)
		_exit(1);
	if (!relay_alone(relay))
		_exit(3);
	n = snprintf(line, sizeof(line), "pop3d[%ld]: hello\n", (long)getpid());
	if (write(fd, line, n) != n ||
	    write(fd, "pop3d[1]: forged\n", 17) != 17 ||
	    write(fd, "two\nlines\001\n", 11) != 11)
		_exit(1);
	if (dup2(fd, STDERR_FILENO) == -1)
		_exit(1);
	close(fd);
	log_init("pop3d", 1);
	log_info("through log_info");
	log_relay_wait(relay);
	/* Reaped: nothing of the relay is left. */
	_exit(waitpid(relay, NULL, WNOHANG) == -1 && errno == ECHILD ? 0 : 2);
}

/* Started by hand, with no relay socket: it says so and exits. */
static void
test_alone(void)
{
	char	cmd[4200];
	int	rc;

	snprintf(cmd, sizeof(cmd), "%s 3</dev/null 2>/dev/null", program);
	rc = system(cmd);
	ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 64,
	    "pop3d-log without its socket: exit 64 (status %d)", rc);
}

int
main(void)
{
	char	buf[1024], want[256];
	pid_t	pid;
	ssize_t	n;
	int	fd, status;

	if ((n = readlink("/proc/self/exe", program, sizeof(program) - 32)) <= 0)
		return 1;
	/* build/tests/unit/test_logger: the relay is build/pop3d-log. */
	program[n] = '\0';
	*strrchr(program, '/') = '\0';
	strcat(program, "/../../pop3d-log");
	if ((fd = mkstemp(path)) == -1)
		return 1;
	if ((pid = fork()) == 0)
		writer(fd);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the writer ran and reaped the relay (status %d)", status);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "pop3d[%ld]: hello\n"
	    "pop3d[%ld]: unattributed: pop3d[1]: forged\n"
	    "pop3d[%ld]: unattributed: two?lines?\n"
	    "pop3d[%ld]: through log_info\n",
	    (long)pid, (long)pid, (long)pid, (long)pid);
	ok(strcmp(buf, want) == 0, "lines as the relay wrote them");
	test_alone();
	if (strcmp(buf, want) != 0)
		printf("# got:\n# %s", buf);
	close(fd);
	unlink(path);
	return tap_done();
}
