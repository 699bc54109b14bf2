/*
 * Logging: syslog(3) with LOG_MAIL, or stderr.  One line per event, no
 * secrets ever.  Strings a client chose (user names) go through
 * log_sanitize() before they reach a format.
 */
#ifndef POP3D_LOG_H
#define POP3D_LOG_H

#include <sys/types.h>

#include <stddef.h>

void	log_init(const char *ident, int to_stderr);
/*
 * Connect to syslog again, after closelog(3), before a system call filter
 * takes socket(2) away; nothing when logging to stderr.
 */
void	log_reopen(void);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* As log_warnx, with ": strerror(errno)" appended. */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit with the given status. */
void	fatalx(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatal(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/*
 * The last act of the last process of a connection: point stdin, stdout
 * and stderr at /dev/null, so that the log relay (see auth/logger.c) sees
 * its last writer go, and wait until it has written everything and exited.
 */
void	log_relay_wait(pid_t relay);

/* Copy s into buf, replacing control and non-ASCII octets with '?'. */
const char *log_sanitize(const char *s, char *buf, size_t bufsize);

#endif
