/* Who is on the other end: taken from the launcher, in one place. */
#ifndef POP3D_PEER_H
#define POP3D_PEER_H

#include <stddef.h>

#define PEER_MAX	64	/* "[ipv6]:port" fits */

/*
 * The remote address as the launcher tells it: REMOTE_ADDR/REMOTE_PORT
 * (systemd Accept=yes), TCPREMOTEIP/TCPREMOTEPORT (tcpserver),
 * REMOTE_HOST (xinetd, stunnel), else getpeername(2) on fd 0, else
 * "local" (not a socket: a pipe, as in tests), else "unknown" (a socket
 * whose peer is already gone).  Only well-formed addresses are taken.
 */
void	peer_address(char *buf, size_t len);

/* 1 if the address from peer_address() is loopback or not a network at all. */
int	peer_is_local(const char *remote);

#endif
