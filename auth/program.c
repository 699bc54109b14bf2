/*
 * Finding the programs pop3d executes (auth/program.h).  Runs in the
 * monitor, as root, before any change of ids: afterwards /proc/self and
 * the program's directory may be closed to us.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "auth/program.h"
#include "common/log.h"

int
program_open(const char *name, const char *installed, char *path,
    size_t pathlen)
{
	const char	*where[2] = { name, installed };
	char		 dir[POP3D_PATH_MAX], *slash;
	ssize_t		 n;
	size_t		 i;
	int		 fd = -1;

	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0 || (size_t)n >= sizeof(dir) - 1) {
		log_warn("/proc/self/exe");
		return -1;
	}
	dir[n] = '\0';
	if ((slash = strrchr(dir, '/')) == NULL) {
		log_warnx("/proc/self/exe: %s: not a path", dir);
		errno = EINVAL;
		return -1;
	}
	slash[1] = '\0';
	for (i = 0; i < 2 && fd == -1; i++) {
		if (snprintf(path, pathlen, "%s%s", dir, where[i]) >=
		    (int)pathlen) {
			log_warnx("%s: path too long", dir);
			errno = ENAMETOOLONG;
			return -1;
		}
		if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1 &&
		    errno != ENOENT)
			break;
	}
	if (fd == -1)
		log_warn("%s", path);
	return fd;
}
