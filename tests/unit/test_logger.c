/*
 * The log relay: lines reach the real stderr one by one, attributed to
 * the pid the kernel vouches for, whatever prefix the sender wrote; the
 * relay ends when its last writer is gone.
 */
#include <sys/wait.h>

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

/* A connection's last process: writes through the relay, then waits for it. */
static void __attribute__((noreturn))
writer(int out)
{
	char	line[128];
	pid_t	relay;
	int	fd, n;

	if (dup2(out, STDERR_FILENO) == -1 || (fd = logger_start(&relay)) == -1)
		_exit(1);
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

int
main(void)
{
	char	buf[1024], want[256];
	pid_t	pid;
	ssize_t	n;
	int	fd, status;

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
	if (strcmp(buf, want) != 0)
		printf("# got:\n# %s", buf);
	close(fd);
	unlink(path);
	return tap_done();
}
