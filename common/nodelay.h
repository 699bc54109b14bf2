/* The client's TCP connection, sending at once what was written. */
#ifndef POP3D_NODELAY_H
#define POP3D_NODELAY_H

/*
 * TCP_NODELAY on the client's socket (fd 0, and fd 1 when it is another):
 * every reply is written whole from a buffer (common/io.c), so Nagle's
 * algorithm only holds back the last, short segment of a long reply
 * until the client's delayed ACK, 40 ms on Linux.  Not TCP (a pipe, a
 * UNIX socket from stunnel): nothing to do, and no error.
 */
void	client_nodelay(void);

#endif
