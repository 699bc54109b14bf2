/*
 * The log relay of a connection, for pop3d started as root with its log
 * on stderr.  See logger.c.
 */
#ifndef POP3D_LOGGER_H
#define POP3D_LOGGER_H

#include <sys/types.h>

/*
 * Start the relay, the program at path (pop3d-log), which alone keeps the
 * launcher's stderr, and return the descriptor that every other process
 * of the connection is to use as its stderr instead; -1 with errno if the
 * relay could not be started.  Its pid goes to *pid: whoever ends the
 * connection last closes its stderr and reaps the relay
 * (log_relay_wait()), so that no orphan outlives the connection.
 */
int	logger_start(const char *path, pid_t *pid);

/*
 * The relay itself (pop3d-log's main): lines from the socket fd to
 * stderr until the last writer has closed it, then exit.
 */
void	logger_run(int fd) __attribute__((noreturn));

#endif
