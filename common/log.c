/*
 * Logging to syslog(3) (LOG_MAIL) or to stderr.  Every line carries the
 * pid, which is the same for the monitor and the session of a connection,
 * so one grep follows a connection from connect to logout.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "params.h"
#include "common/log.h"

static int	log_stderr = 1;
static char	log_ident[32] = "pop3d";

void
log_init(const char *ident, int to_stderr)
{
	strlcpy(log_ident, ident, sizeof(log_ident));
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_reopen(void)
{
	if (!log_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/*
 * One write(2) a line: stderr may be the connection's log socket, where
 * each write is one message (see auth/logger.c).
 */
static void
log_write_line(const char *msg)
{
	char	line[LOG_LINE_MAX];
	int	n;

	n = snprintf(line, sizeof(line), "%s[%ld]: %s\n", log_ident,
	    (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	while (write(STDERR_FILENO, line, n) == -1 && errno == EINTR)
		;
}

static void __attribute__((format(printf, 2, 0)))
log_emit(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	msg[1024];
	int	saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		strlcat(msg, ": ", sizeof(msg));
		strlcat(msg, strerror(saved), sizeof(msg));
	}
	if (log_stderr)
		log_write_line(msg);
	else
		syslog(pri, "%s", msg);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, fmt, ap, 1);
	va_end(ap);
}

void
fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap, 0);
	va_end(ap);
	exit(status);
}

void
fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap, 1);
	va_end(ap);
	exit(status);
}

void
log_relay_wait(pid_t relay)
{
	int fd, i;

	if (relay <= 0)
		return;
	/*
	 * The client's descriptors go too: a TLS relay still holding stderr
	 * ends only when the session's end of its socket closes.  All three
	 * stay valid descriptors, on /dev/null.
	 */
	fd = open("/dev/null", O_RDWR);
	for (i = 0; i <= STDERR_FILENO; i++)
		if (fd == -1 || dup2(fd, i) == -1)
			close(i);
	if (fd > STDERR_FILENO)
		close(fd);
	while (waitpid(relay, NULL, 0) == -1 && errno == EINTR)
		;
}

const char *
log_sanitize(const char *s, char *buf, size_t bufsize)
{
	size_t i;

	if (bufsize == 0)
		return "";
	for (i = 0; s[i] != '\0' && i + 1 < bufsize; i++)
		buf[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}
