/*
 * The size cache as untrusted input.  The input becomes pop3d.cache of a
 * small Maildir, with the stamps of its new/ and cur/ and a good checksum
 * put in, so that every field after them is what the fuzzer chose and a
 * listing from the cache is reachable.  Then the maildrop is opened: a
 * bad cache must be ignored, a good one must give a listing whose names
 * are names a listing can hold, and nothing may crash or leak.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/cache.h"
#include "store/maildrop.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define STAMPS_AT	24
#define STAMP_LEN	40

static char	md_path[64];
static char	cache_path[128];

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int	i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = v & 0xff;
}

static void
stamp(unsigned char *p, const char *sub)
{
	char		path[128];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", md_path, sub);
	if (stat(path, &st) == -1)
		__builtin_trap();
	put_le(p, st.st_ino, 8);
	put_le(p + 8, st.st_size, 8);
	put_le(p + 16, st.st_mtim.tv_sec, 8);
	put_le(p + 24, st.st_ctim.tv_sec, 8);
	put_le(p + 32, st.st_mtim.tv_nsec, 4);
	put_le(p + 36, st.st_ctim.tv_nsec, 4);
}

/* What setup() and the maildrop made, so that no run leaves /tmp fuller. */
static void
cleanup(void)
{
	static const char *const files[] = {
		"cur/1.f:2,S", "tmp/" CACHE_TMP, CACHE_FILE, "new", "cur",
		"tmp", ""
	};
	char	path[128];
	size_t	i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", md_path, files[i]);
		remove(path);
	}
}

/* A Maildir with one message, made once per process. */
static void
setup(void)
{
	char	path[128];
	int	fd;

	snprintf(md_path, sizeof(md_path), "/tmp/fuzz-cache.%ld",
	    (long)getpid());
	snprintf(cache_path, sizeof(cache_path), "%s/%s", md_path, CACHE_FILE);
	mkdir(md_path, 0700);
	snprintf(path, sizeof(path), "%s/new", md_path);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cur", md_path);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/tmp", md_path);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cur/1.f:2,S", md_path);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    write(fd, "a\n", 2) != 2 || close(fd) == -1)
		__builtin_trap();
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	 ready;
	struct maildrop	 md;
	unsigned char	*buf;
	char		 err[256];
	size_t		 i, end;
	uint64_t	 sum;
	int		 fd;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (len < CACHE_HEADER + CACHE_TRAILER || len > 1 << 20)
		return 0;
	if ((buf = malloc(len)) == NULL)
		return 0;
	memcpy(buf, data, len);
	stamp(buf + STAMPS_AT, "new");
	stamp(buf + STAMPS_AT + STAMP_LEN, "cur");
	end = len - CACHE_TRAILER;
	sum = cache_checksum(buf, end);
	put_le(buf + end, sum, CACHE_TRAILER);
	unlink(cache_path);
	if ((fd = open(cache_path, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || close(fd) == -1)
		__builtin_trap();
	free(buf);

	if (maildrop_open(&md, md_path, err, sizeof(err)) != STORE_OK)
		return 0;
	for (i = 0; i < md.count; i++) {
		const char *name = maildrop_name(&md, i) + 4;	/* "new/" */

		if (name[0] == '.' || name[0] == '\0' || strchr(name, '/'))
			__builtin_trap();
		if (strlen(maildrop_uidl(&md, i)) > 70)
			__builtin_trap();
		/* A forged length or time is refused here, never trusted. */
		if ((fd = maildrop_open_message(&md, i)) != -1)
			close(fd);
		else if (errno != ESTALE && errno != ENOENT)
			__builtin_trap();
	}
	maildrop_close(&md);
	return 0;
}
