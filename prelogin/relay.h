/*
 * After a login over TLS, the pre-login process stays as the relay: TLS
 * records on the client's connection, plaintext on a socketpair to the
 * session.  The TLS state never crosses the privilege boundary, so the
 * session, running as the mailbox owner, holds no key and parses no TLS,
 * and the relay holds no mailbox.
 */
#ifndef POP3D_RELAY_H
#define POP3D_RELAY_H

#include "common/io.h"

/*
 * Forward until either side closes.  Octets the client pipelined behind
 * the login command (still in io's input buffer) go to the session first.
 * idle_ms bounds a wait with no progress at all; send_ms bounds how long
 * the client may leave a reply unread.
 */
enum relay_end { RELAY_DONE, RELAY_TIMEOUT };

enum relay_end relay_run(struct io *, int session_fd, int idle_ms, int send_ms);

#endif
