/*
 * The multi-line writer: the only code that sends message text.
 * In one pass it turns LF into CRLF (an existing CRLF is kept), byte-stuffs
 * lines that start with '.', counts lines for TOP, adds a final CRLF to a
 * message that lacks one and ends with ".\r\n".
 *
 * store/size.c counts octets by the same rules: what msgout_send() sends,
 * less the stuffing dots and the terminator, is exactly size_count().
 */
#ifndef POP3D_MSGOUT_H
#define POP3D_MSGOUT_H

#include <stdint.h>

#include "common/io.h"

#define MSGOUT_ALL	(-1L)	/* body_lines: send the whole message */

enum msgout_status {
	MSGOUT_OK,	/* sent, terminator included */
	MSGOUT_CHANGED,	/* file size differs from expect; reply ended with the terminator, caller logs */
	MSGOUT_READERR,	/* read failed midway; reply ended with the terminator, caller logs */
	MSGOUT_IOERR	/* the client connection failed */
};

/*
 * Send the message in fd (read from offset 0) as a multi-line reply body,
 * after the caller's "+OK" line.  body_lines: MSGOUT_ALL, or for TOP the
 * number of body lines after the header and the blank line.
 * expect: the size reported by LIST (only checked when sending it all).
 */
enum msgout_status msgout_send(struct io *, int fd, long body_lines,
	    uint64_t expect, uint64_t *sent);

#endif
