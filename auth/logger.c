/*
 * The log relay.  This process runs as root and holds the only descriptor
 * of the launcher's stderr, which may be a file that root opened.  The
 * monitor, the pre-login process and the session write their lines to a
 * SOCK_SEQPACKET socket instead, one message a line.  The kernel attaches
 * each sender's pid (SO_PASSCRED); a line whose "pop3d[pid]: " prefix
 * names another pid is written as the sender's, marked.  So a subverted
 * unprivileged process can neither truncate nor rewrite the log, nor
 * speak as another process.  It reads nothing else and ends when every
 * writer has closed the socket.
 *
 * It is a program of its own, pop3d-log (auth/pop3d-log.c), spawned
 * rather than forked: it lives as long as the connection, and a forked
 * copy of the monitor would keep the monitor's private pages (the
 * relocated libraries, the heap) for all that time, most of an idle
 * connection's memory.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "auth/logger.h"

extern char **environ;

/* Text after the sender's own "pop3d[pid]: " prefix, or NULL. */
static const char *
own_text(const char *line, pid_t pid)
{
	char	prefix[32];
	int	n;

	n = snprintf(prefix, sizeof(prefix), "pop3d[%ld]: ", (long)pid);
	if (n < 0 || (size_t)n >= sizeof(prefix) ||
	    strncmp(line, prefix, n) != 0)
		return NULL;
	return line + n;
}

static void
write_all(const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDERR_FILENO, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= n;
	}
}

/* One message: one line, control octets replaced, its sender made plain. */
static void
relay_line(char *msg, size_t len, pid_t pid)
{
	char		out[LOG_LINE_MAX + 64];
	const char	*text;
	size_t		i;
	int		n;

	while (len > 0 && msg[len - 1] == '\n')
		len--;
	msg[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	if ((text = own_text(msg, pid)) != NULL)
		n = snprintf(out, sizeof(out), "pop3d[%ld]: %s\n", (long)pid,
		    text);
	else
		n = snprintf(out, sizeof(out), "pop3d[%ld]: unattributed: %s\n",
		    (long)pid, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	write_all(out, n);
}

void
logger_run(int fd)
{
	char		 msg[LOG_LINE_MAX + 1];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(struct ucred))];
	}		 cm;
	struct iovec	 iov;
	struct msghdr	 mh;
	struct cmsghdr	*c;
	struct ucred	 cred;
	ssize_t		 n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = msg;
		iov.iov_len = sizeof(msg) - 1;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		if ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) == 0)
			_exit(0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		cred.pid = 0;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(cred)))
				memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		relay_line(msg, n, cred.pid);
	}
}

/* The relay's descriptors: /dev/null, /dev/null, stderr, the socket. */
static int
relay_fds(posix_spawn_file_actions_t *fa, int sock)
{
	if (posix_spawn_file_actions_init(fa) != 0)
		return -1;
	if (posix_spawn_file_actions_adddup2(fa, sock, LOG_RELAY_FD) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(fa, LOG_RELAY_FD + 1) != 0 ||
	    posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null",
	    O_RDWR, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, STDIN_FILENO,
	    STDOUT_FILENO) != 0) {
		posix_spawn_file_actions_destroy(fa);
		return -1;
	}
	return 0;
}

int
logger_start(const char *program, pid_t *relay)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[] = { LOG_PROGRAM, NULL };
	int				 sv[2], on = 1, e;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1 ||
	    relay_fds(&fa, sv[0]) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* Not a fork: the monitor's pages are never copied. */
	e = posix_spawn(relay, program, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[0]);
	if (e != 0) {
		close(sv[1]);
		errno = e;
		return -1;
	}
	return sv[1];
}
