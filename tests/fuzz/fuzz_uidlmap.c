/*
 * Imported unique-ids as untrusted input.  The first octet chooses the
 * file the rest becomes in a small Maildir: pop3d.uidl (after its magic
 * line), dovecot-uidlist or courierpop3dsizelist, read at a first login;
 * or, with a fourth value, the rest is import_uidl_format, expanded.
 * The maildrop must open, every unique-id must be one RFC 1939 allows,
 * no two may be equal, and nothing may crash or leak.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/cache.h"
#include "store/maildrop.h"
#include "store/uidl.h"
#include "store/uidlmap.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const messages[] = {
	"new/1700000001.M1P1.host", "cur/1700000002.M2P1.host:2,S",
	"cur/1700000003.M3P1.host:2,", "new/x", "cur/x:2,S",
};
static const char *const targets[] = {
	UIDLMAP_FILE, "dovecot-uidlist", "courierpop3dsizelist",
};
static char	md_path[64];

static void
path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", md_path, name);
}

/* Remove what a run leaves: the record, the inputs, the cache. */
static void
clean_run(void)
{
	char	p[128];
	size_t	i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		path(p, sizeof(p), targets[i]);
		unlink(p);
	}
	path(p, sizeof(p), CACHE_FILE);
	unlink(p);
}

static void
cleanup(void)
{
	static const char *const dirs[] = { "new", "cur", "tmp", "" };
	char	p[128];
	size_t	i;

	clean_run();
	for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		path(p, sizeof(p), messages[i]);
		unlink(p);
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path(p, sizeof(p), dirs[i]);
		rmdir(p);
	}
}

static void
setup(void)
{
	char	p[128], err[256];
	size_t	i;
	int	fd;

	snprintf(md_path, sizeof(md_path), "/tmp/fuzz-uidlmap.%ld",
	    (long)getpid());
	mkdir(md_path, 0700);
	path(p, sizeof(p), "new");
	mkdir(p, 0700);
	path(p, sizeof(p), "cur");
	mkdir(p, 0700);
	path(p, sizeof(p), "tmp");
	mkdir(p, 0700);
	for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		path(p, sizeof(p), messages[i]);
		if ((fd = open(p, O_WRONLY | O_CREAT, 0600)) == -1 ||
		    write(fd, "a\n", 2) != 2 || close(fd) == -1)
			__builtin_trap();
	}
	if (uidlmap_setup("dovecot courier", "%08Xu%08Xv", err,
	    sizeof(err)) == -1)
		__builtin_trap();
	atexit(cleanup);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A format as the configuration could give it, expanded if valid. */
static void
format(const uint8_t *data, size_t len)
{
	char	fmt[300], out[UIDL_MAX + 1], err[256];
	size_t	n;

	if (len >= sizeof(fmt))
		return;
	memcpy(fmt, data, len);
	fmt[len] = '\0';
	if (uidlmap_setup("dovecot", fmt, err, sizeof(err)) == 0) {
		n = uidlmap_expand(4294967295UL, 1, "base", 4, "guid", 4, out,
		    sizeof(out));
		if (n > UIDL_MAX || (n > 0 && strlen(out) != n))
			__builtin_trap();
	}
	if (uidlmap_setup("dovecot courier", "%08Xu%08Xv", err,
	    sizeof(err)) == -1)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	 ready;
	struct maildrop	 md;
	const char	*ids[sizeof(messages) / sizeof(messages[0])];
	char		 p[128], err[256];
	size_t		 i, t;
	int		 fd;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (len < 1 || len > 1 << 20)
		return 0;
	clean_run();
	if (data[0] % 4 == 3) {
		format(data + 1, len - 1);
		return 0;
	}
	t = data[0] % (sizeof(targets) / sizeof(targets[0]));
	path(p, sizeof(p), targets[t]);
	if ((fd = open(p, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    (t == 0 && write(fd, UIDLMAP_MAGIC, strlen(UIDLMAP_MAGIC)) !=
	    (ssize_t)strlen(UIDLMAP_MAGIC)) ||
	    write(fd, data + 1, len - 1) != (ssize_t)(len - 1) ||
	    close(fd) == -1)
		__builtin_trap();
	if (maildrop_open(&md, md_path, err, sizeof(err)) != STORE_OK ||
	    md.count != sizeof(ids) / sizeof(ids[0]))
		__builtin_trap();
	for (i = 0; i < md.count; i++) {
		ids[i] = maildrop_uidl(&md, i);
		if (!uidl_valid(ids[i], strlen(ids[i])))
			__builtin_trap();
	}
	qsort(ids, md.count, sizeof(ids[0]), str_cmp);
	for (i = 1; i < md.count; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			__builtin_trap();
	maildrop_close(&md);
	return 0;
}
