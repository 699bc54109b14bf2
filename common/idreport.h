/*
 * The identity report of a checkpassword program (passdb = checkpassword):
 * the program checks the password, becomes the user and executes
 * "pop3d-session -I", which tells the monitor in one message what the
 * program set up, and exits.  The monitor then starts the session with
 * those ids itself.
 *
 * One message on IDREPORT_FD, a SOCK_SEQPACKET socket, all integers
 * big-endian u32:
 *	u8  version (IDREPORT_VERSION)
 *	real, effective and saved uid; real, effective and saved gid
 *	number of supplementary groups (at most PASSDB_GROUPS_MAX), the groups
 *	u16 length, then $HOME (no NUL; may be empty)
 *	u16 length, then the working directory (no NUL; may be empty)
 * and nothing after.  idreport_decode() checks every length.
 */
#ifndef POP3D_IDREPORT_H
#define POP3D_IDREPORT_H

#include <sys/types.h>

#include <stddef.h>

#include "params.h"

/*
 * A fixed descriptor, not a number in the environment: a checkpassword
 * program keeps its descriptors across exec but may clear the
 * environment, and the reporter then parses nothing.
 */
#define IDREPORT_FD		4
#define IDREPORT_VERSION	1
#define IDREPORT_MAX		(1 + 7 * 4 + PASSDB_GROUPS_MAX * 4 + \
	    2 * (2 + POP3D_PATH_MAX))

struct idreport {
	uid_t	uid[3];			/* real, effective, saved */
	gid_t	gid[3];
	gid_t	groups[PASSDB_GROUPS_MAX];
	int	ngroups;
	char	home[POP3D_PATH_MAX];
	char	cwd[POP3D_PATH_MAX];
};

/* Encode into buf; returns the length, or -1 if something does not fit. */
long	idreport_encode(const struct idreport *, unsigned char *buf, size_t len);
/* 0, or -1 when the message is malformed in any way. */
int	idreport_decode(const unsigned char *buf, size_t len, struct idreport *);

#endif
