/*
 * The files behind a listed maildrop, shared by the listing (maildrop.c)
 * and the UPDATE state (commit.c).  Names here are relative to the new/ or
 * cur/ descriptor of the message; nothing takes a path from elsewhere.
 */
#ifndef POP3D_MAILDIR_H
#define POP3D_MAILDIR_H

#include <sys/stat.h>

#include <dirent.h>
#include <stddef.h>

#include "store/maildrop.h"

/* Octets of a file name and its NUL: NAME_MAX on Linux and the BSDs. */
#define MAILDIR_NAME_SIZE	256

/* The base name of message i: its file name up to the first ':'. */
const char *maildir_base(const struct maildrop *, size_t i);

/* The info after the ':', or NULL when the name has none. */
const char *maildir_info(const struct maildrop *, size_t i);

/* The descriptor of the directory message i was listed in. */
int	maildir_dirfd(const struct maildrop *, size_t i);

/* The file name of message i into buf; -1 if it does not fit. */
int	maildir_name(const struct maildrop *, size_t i, char *buf, size_t len);

/* Whether the file name has the given base name. */
int	maildir_base_eq(const char *name, const char *base);

/*
 * Open name in dfd for reading: a regular file only, never through a
 * symbolic link, never blocking on a FIFO.  -1 with errno ENOENT when the
 * name is gone or no longer a regular file.  st, if not NULL, gets its
 * fstat(2).
 */
int	maildir_open_file(int dfd, const char *name, struct stat *st);

/* A directory stream over dfd's directory with its own offset. */
DIR	*maildir_opendir(int dfd);

/*
 * Look in cur/ for a file with the base name of message i, once moved
 * there or given other flags by another client.  1 and its name in buf,
 * 0 if there is none, -1 on a read error.
 */
int	maildir_find_moved(const struct maildrop *, size_t i, char *buf,
	    size_t len);

#endif
