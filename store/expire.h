/*
 * EXPIRE (RFC 2449 section 6.7): messages retrieved in an earlier session
 * are deleted in the UPDATE state once they were retrieved n days ago.
 *
 * The retrieval time is pop3d's own record, "pop3d.retrieved" in the
 * Maildir's top directory, written at QUIT under the maildrop lock, one
 * line a message retrieved and kept:
 *
 *	<seconds since the epoch> SP <base name> LF
 *
 * Keyed by the base name (the file name before ':'), it survives another
 * client moving the file to cur/ or changing its flags, which rename the
 * file and change its ctime; the file's own times are left to the
 * delivery agent and to mail readers, which take the mtime for the date
 * of delivery.  Only what the session itself sees is recorded: a message
 * read by another client, or retrieved in a session that did not end
 * with QUIT, has no record and does not expire.  The file is read and
 * written at QUIT alone and only with expire set, so a login costs
 * nothing more.
 *
 * The file is the mailbox owner's, and untrusted all the same: a file that
 * is not a regular one, is larger than EXPIRE_FILE_MAX or holds a line
 * that is not of the form above counts as absent (logged, then written
 * anew): nothing expires on a record that cannot be read.  Two messages
 * that share a base name (maildrop.h, MSG_SHARED) are neither recorded
 * nor expired.
 */
#ifndef POP3D_EXPIRE_H
#define POP3D_EXPIRE_H

#include <stddef.h>

#include "store/maildrop.h"

#define EXPIRE_FILE	"pop3d.retrieved"	/* in the top directory */
#define EXPIRE_TMP	"pop3d.retrieved.tmp"	/* in tmp/, then renamed */

struct expiry;

/* Read the record of the maildrop; NULL when memory is short. */
struct expiry *expire_load(const struct maildrop *);

/*
 * Mark deleted the messages retrieved days or more days before now, and
 * with days 0 also those retrieved in this session (RFC 2449: the client
 * may not leave mail).  Returns how many were marked.
 */
size_t	expire_mark(struct expiry *, struct maildrop *, int days,
	    long long now);

/*
 * After the UPDATE state: the record of what is left, the retrieval times
 * read kept and now for the messages first retrieved in this session.
 * Written only when it changed; an empty record removes the file.
 */
void	expire_save(struct expiry *, const struct maildrop *, long long now);

void	expire_free(struct expiry *);

#endif
