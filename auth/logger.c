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
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "auth/logger.h"

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

static void __attribute__((noreturn))
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

int
logger_start(pid_t *relay)
{
	int	sv[2], on = 1;
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1 ||
	    (pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* Nothing of the monitor's but the socket and stderr. */
		if (dup2(sv[0], 3) == -1)
			_exit(1);
		closefrom(4);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		logger_run(3);
	}
	close(sv[0]);
	*relay = pid;
	return sv[1];
}

