/*
 * The programs pop3d executes (pop3d-session, pop3d-ldap): beside pop3d
 * in a build tree, where the tests run them, else where make install
 * puts them, relative to pop3d's own directory.
 */
#ifndef POP3D_PROGRAM_H
#define POP3D_PROGRAM_H

#include <stddef.h>

/*
 * Open the program name, or installed (a path relative to pop3d's
 * directory), O_PATH: fexecve(3) needs no read permission, and make
 * install leaves the programs unreadable (0711).  Its path into path.
 * The descriptor, or -1 with errno set (logged).
 */
int	program_open(const char *name, const char *installed, char *path,
	    size_t pathlen);

#endif
