/*
 * The key of SCRAM's fake salts (scram_fake() in auth/scram.h), read by
 * the monitor before the fork.  Every connection is its own process, so
 * the key must outlive one: it is a file (scram_secret in pop3d.conf, by
 * default on /run, a tmpfs, so a new key every boot), made by the first
 * connection whose user source holds SCRAM verifiers, with 32 octets from
 * the kernel, readable by its owner alone.  It is written beside its place and linked in, so a
 * concurrent connection reads a whole key or makes its own attempt.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/scram.h"
#include "common/log.h"

static int
secret_read(const char *path, unsigned char *key, size_t len)
{
	struct stat	st;
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		log_warnx("scram_secret %s: not a file of ours, mode 0600", path);
		close(fd);
		errno = EPERM;
		return -1;
	}
	n = read(fd, key, len);
	close(fd);
	if (n != (ssize_t)len) {
		log_warnx("scram_secret %s: not %zu octets", path, len);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
secret_make(const char *path)
{
	unsigned char	key[SCRAM_SECRET_LEN];
	char		tmp[POP3D_PATH_MAX];
	int		fd, r = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	arc4random_buf(key, sizeof(key));
	if (write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) &&
	    fsync(fd) == 0 && (link(tmp, path) == 0 || errno == EEXIST))
		r = 0;
	explicit_bzero(key, sizeof(key));
	close(fd);
	unlink(tmp);
	return r;
}

int
scram_secret_load(const char *path, unsigned char *key)
{
	if (secret_read(path, key, SCRAM_SECRET_LEN) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if (secret_make(path) == -1) {
		log_warn("scram_secret %s", path);
		return -1;
	}
	return secret_read(path, key, SCRAM_SECRET_LEN);
}
