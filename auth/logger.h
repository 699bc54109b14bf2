/*
 * The log relay of a connection, for pop3d started as root with its log
 * on stderr.  See logger.c.
 */
#ifndef POP3D_LOGGER_H
#define POP3D_LOGGER_H

#include <sys/types.h>

/*
 * Fork the relay, which alone keeps the launcher's stderr, and return the
 * descriptor that every other process of the connection is to use as its
 * stderr instead; -1 if the relay could not be started.  Its pid goes to
 * *pid: whoever ends the connection last closes its stderr and reaps the
 * relay (log_relay_wait()), so that no orphan outlives the connection.
 */
int	logger_start(pid_t *pid);

#endif
