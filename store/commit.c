/*
 * The UPDATE state (RFC 1939 section 6): deletions, then the S flag on the
 * retrieved messages, then a line in maildirsize, then fsync(2) of new/
 * and cur/, so that "+OK" to QUIT speaks only of changes on disk (none
 * when the session deleted and retrieved nothing).
 *
 * Another client may have moved or re-flagged a file since the listing.  A
 * file gone from its listed name is looked for in new/ and cur/ by its base
 * name (and inode, if another listed file shares the base name), in one
 * walk of the two for all of them.  Such a file can be renamed again
 * between the walk meeting it and the unlink: then it, and every file not
 * met while a directory changed during the walk, is looked for in another
 * walk, up to MAILDROP_FIND_TRIES.  A file met in none of them, the last
 * over unchanged directories, was expunged by someone else and counts as
 * deleted; a deletion still unsure after the last walk counts as failed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "common/log.h"
#include "store/maildir.h"
#include "store/maildrop.h"

/* The Maildir++ quota file, to which a line is appended (quota_note()). */
#define MAILDIRSIZE_FILE	"maildirsize"

struct lost {
	const char	*base;
	size_t		 idx;
	uint64_t	 ino;		/* 0: any file with the base name */
	int		 found;		/* met, and updated under that name */
};

struct update {
	struct maildrop		*md;
	struct commit_result	*res;
	int			 quotafd;	/* maildirsize, or -1 */
	uint64_t		 qbytes;	/* on-disk octets unlinked */
	size_t			 qcount;
	struct lost		*lost;		/* gone from listed names */
	size_t			 nlost;
};

/*
 * "new/NAME" or "cur/NAME" of message i for the log, where a name the
 * delivery agent chose must not start lines of its own; errno is kept.
 */
static const char *
logged_name(const struct maildrop *md, size_t i)
{
	static char	buf[4 + MAILDIR_NAME_MAX + 1];

	return log_sanitize(maildrop_name(md, i), buf, sizeof(buf));
}

/* maildirsize, opened for appending only if the Maildir uses it. */
static int
quota_open(int dirfd)
{
	struct stat	st;
	int		fd;

	fd = openat(dirfd, MAILDIRSIZE_FILE,
	    O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			log_warn("open %s", MAILDIRSIZE_FILE);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One line "-bytes -count" in one write(2) on an O_APPEND descriptor, so
 * that lines of concurrent writers never interleave.  A file grown past
 * 5120 bytes is left as it is: Maildir++ readers recalculate it then, and
 * its first line may hold the only copy of the quota definition.
 */
static void
quota_note(struct update *u)
{
	char	line[64];
	int	n;

	if (u->quotafd == -1 || u->qcount == 0)
		return;
	n = snprintf(line, sizeof(line), "-%llu -%zu\n",
	    (unsigned long long)u->qbytes, u->qcount);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if (write(u->quotafd, line, n) != n)
		log_warn("append to %s", MAILDIRSIZE_FILE);
}

/* The on-disk size for maildirsize: ",S=<n>" in the name, else lstat. */
static uint64_t
disk_size(int dfd, const char *name)
{
	const char		*p, *end = name + strcspn(name, ":");
	unsigned long long	 n = 0;
	struct stat		 st;

	if ((p = strstr(name, ",S=")) != NULL && p < end &&
	    p[3] >= '0' && p[3] <= '9') {
		for (p += 3; *p >= '0' && *p <= '9' &&
		    n < MAILDIR_FILE_SIZE_MAX; p++)
			n = n * 10 + (*p - '0');
		return n;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	return st.st_size;
}

/*
 * Note for maildrop_record() that message i was unlinked (new NULL) or
 * renamed to cur/new.  Past RECORD_MOVES_MAX, or short of memory, the
 * commit is not recorded.
 */
static void
done_note(struct update *u, size_t i, const char *new)
{
	struct maildrop		*md = u->md;
	struct maildrop_done	*d;
	size_t			 len = new != NULL ? strlen(new) + 1 : 0;
	char			*p;

	if (!md->recordable)
		return;
	if (md->ndone == RECORD_MOVES_MAX) {
		md->recordable = 0;
		return;
	}
	if (md->done == NULL && (md->done = reallocarray(NULL,
	    RECORD_MOVES_MAX, sizeof(*md->done))) == NULL) {
		md->recordable = 0;
		return;
	}
	if (len > 0 && (p = realloc(md->donenames, md->donelen + len)) == NULL) {
		md->recordable = 0;
		return;
	} else if (len > 0)
		md->donenames = p;
	d = &md->done[md->ndone++];
	d->idx = i;
	d->name = new != NULL ? md->donelen : SIZE_MAX;
	if (len > 0) {
		memcpy(md->donenames + md->donelen, new, len);
		md->donelen += len;
	}
}

static void
lose(struct update *u, size_t i)
{
	u->lost[u->nlost].base = maildir_base(u->md, i);
	u->lost[u->nlost].idx = i;
	u->lost[u->nlost].ino = maildir_ino(u->md, i);
	u->lost[u->nlost].found = 0;
	u->nlost++;
}

/* Unlink message i, now called name in dfd; 0, or -1 with errno. */
static int
delete_file(struct update *u, size_t i, int dfd, const char *name)
{
	uint64_t	bytes = 0;

	if (u->quotafd != -1)
		bytes = disk_size(dfd, name);
	if (unlinkat(dfd, name, 0) == -1)
		return -1;
	done_note(u, i, NULL);
	u->res->deleted++;
	u->res->deleted_bytes += u->md->msgs[i].size;
	u->qbytes += bytes;
	u->qcount++;
	return 0;
}

/*
 * name with the S flag in cur/ form: no info becomes ":2,S"; "2,FR" becomes
 * "2,FRS", the flags kept in ASCII order as the Maildir format asks.  An
 * info of another kind is kept as it is.  -1 if the result does not fit.
 */
static int
seen_name(const char *name, char *out, size_t outlen)
{
	size_t		 blen = strcspn(name, ":"), k;
	const char	*flags;
	int		 n;

	if (name[blen] == '\0')
		n = snprintf(out, outlen, "%s:2,S", name);
	else if (strncmp(name + blen + 1, "2,", 2) != 0 ||
	    strchr(name + blen + 3, 'S') != NULL)
		n = snprintf(out, outlen, "%s", name);
	else {
		flags = name + blen + 3;
		for (k = 0; flags[k] != '\0' && flags[k] < 'S'; k++)
			continue;
		n = snprintf(out, outlen, "%.*sS%s",
		    (int)(flags + k - name), name, flags + k);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/*
 * Rename without replacing: a name taken in cur/ is another message.  File
 * systems without RENAME_NOREPLACE get link(2) and unlink(2), the classic
 * Maildir way, which refuses an existing name just the same.
 */
static int
move_file(int from, const char *old, int to, const char *new)
{
	if (renameat2(from, old, to, new, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(from, old, to, new, 0) == -1)
		return -1;
	if (unlinkat(from, old, 0) == -1)
		log_warn("unlink after link to %s", new);
	return 0;
}

/* Give message i, now called name in dfd, the S flag; 0, or -1 with errno. */
static int
mark_seen(struct update *u, size_t i, int dfd, const char *name)
{
	char	new[MAILDIR_NAME_MAX + 1];

	if (seen_name(name, new, sizeof(new)) == -1) {
		log_warnx("%s: name too long for the S flag",
		    logged_name(u->md, i));
		return 0;
	}
	if (dfd == u->md->curfd && strcmp(name, new) == 0)
		return 0;
	if (move_file(dfd, name, u->md->curfd, new) == -1)
		return -1;
	done_note(u, i, new);
	return 0;
}

static int
apply(struct update *u, size_t i, int dfd, const char *name)
{
	if (!maildir_is_message(u->md, i, dfd, name, NULL))
		return -1;
	if (u->md->msgs[i].flags & MSG_DELETED)
		return delete_file(u, i, dfd, name);
	return mark_seen(u, i, dfd, name);
}

/* Message i under its listed name. */
static void
update_message(struct update *u, size_t i)
{
	char	name[MAILDIR_NAME_MAX + 1];

	if (maildir_name(u->md, i, name, sizeof(name)) == -1)
		return;
	if (apply(u, i, maildir_dirfd(u->md, i), name) == 0)
		return;
	u->md->recordable = 0;
	if (errno == ENOENT)
		lose(u, i);
	else if (u->md->msgs[i].flags & MSG_DELETED) {
		log_warn("unlink %s", logged_name(u->md, i));
		u->res->failed++;
	} else
		log_warn("mark seen %s", logged_name(u->md, i));
}

static int
lost_cmp(const void *va, const void *vb)
{
	const struct lost	*a = va, *b = vb;

	return strcmp(a->base, b->base);
}

/* -1, 0 or 1 as the first blen octets of name sort before, as, after base. */
static int
base_cmp(const char *name, size_t blen, const char *base)
{
	int	c;

	if ((c = strncmp(name, base, blen)) != 0)
		return c;
	return base[blen] == '\0' ? 0 : -1;
}

/*
 * The first lost entry whose base name is the first blen octets of name;
 * the others with that base name follow it.
 */
static struct lost *
lost_lookup(struct update *u, const char *name, size_t blen)
{
	size_t	lo = 0, hi = u->nlost, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (base_cmp(name, blen, u->lost[mid].base) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < u->nlost && base_cmp(name, blen, u->lost[lo].base) == 0)
		return &u->lost[lo];
	return NULL;
}

/* Renamed again at once: left for the next walk. */
static void
found_moved(struct update *u, struct lost *l, int dfd, const char *name)
{
	size_t	i = l->idx;
	int	rv;

	if ((rv = apply(u, i, dfd, name)) == -1 && errno == ENOENT)
		return;
	l->found = 1;
	if (rv == 0)
		return;
	if (u->md->msgs[i].flags & MSG_DELETED) {
		log_warn("unlink %s", logged_name(u->md, i));
		u->res->failed++;
	} else
		log_warn("mark seen %s", logged_name(u->md, i));
}

static int
lost_visit(void *arg, int dfd, const struct dirent *de)
{
	struct update	*u = arg;
	struct lost	*l, *end = u->lost + u->nlost;
	size_t		 blen = strcspn(de->d_name, ":");

	if ((l = lost_lookup(u, de->d_name, blen)) == NULL)
		return 0;
	for (; l < end && base_cmp(de->d_name, blen, l->base) == 0; l++)
		if (!l->found && (l->ino == 0 || l->ino == de->d_ino)) {
			found_moved(u, l, dfd, de->d_name);
			break;
		}
	return 0;
}

static int
lost_left(const struct update *u)
{
	size_t	i;

	for (i = 0; i < u->nlost; i++)
		if (!u->lost[i].found)
			return 1;
	return 0;
}

/* Walks of new/ and cur/ for every file gone from its listed name. */
static void
find_lost(struct update *u)
{
	size_t	i, idx;
	int	rv = -1, tries;

	qsort(u->lost, u->nlost, sizeof(*u->lost), lost_cmp);
	for (tries = 0; tries < MAILDROP_FIND_TRIES && lost_left(u); tries++)
		if ((rv = maildir_walk(u->md, lost_visit, u)) != MAILDIR_CHANGED)
			break;
	if (rv == -1)
		log_warn("read new/ and cur/");
	for (i = 0; i < u->nlost; i++) {
		idx = u->lost[i].idx;
		if (u->lost[i].found ||
		    !(u->md->msgs[idx].flags & MSG_DELETED))
			continue;
		if (rv == MAILDIR_STILL) {
			u->res->deleted++;
			u->res->deleted_bytes += u->md->msgs[idx].size;
			continue;
		}
		log_warnx("%s: not found while being renamed, not deleted",
		    logged_name(u->md, idx));
		u->res->failed++;
	}
}

static int
sync_dirs(struct maildrop *md)
{
	int	rv = 0;

	if (fsync(md->newfd) == -1) {
		log_warn("fsync new/");
		rv = -1;
	}
	if (fsync(md->curfd) == -1) {
		log_warn("fsync cur/");
		rv = -1;
	}
	return rv;
}

enum store_status
maildrop_commit(struct maildrop *md, struct commit_result *res)
{
	struct update	u;
	size_t		i, n = 0;
	int		synced;

	memset(res, 0, sizeof(*res));
	memset(&u, 0, sizeof(u));
	u.md = md;
	u.res = res;
	for (i = 0; i < md->count; i++)
		if (md->msgs[i].flags & (MSG_DELETED | MSG_RETRIEVED))
			n++;
	if (n > 0)
		u.lost = reallocarray(NULL, n, sizeof(*u.lost));
	if (n > 0 && u.lost == NULL) {
		log_warn("commit");
		for (i = 0; i < md->count; i++)
			if (md->msgs[i].flags & MSG_DELETED)
				res->failed++;
		return STORE_TEMPFAIL;
	}
	u.quotafd = quota_open(md->dirfd);
	md->recordable = 1;
	md->ndone = 0;
	md->donelen = 0;
	for (i = 0; i < md->count; i++)
		if (md->msgs[i].flags & (MSG_DELETED | MSG_RETRIEVED))
			update_message(&u, i);
	if (u.nlost > 0)
		find_lost(&u);
	quota_note(&u);
	if (u.quotafd != -1)
		close(u.quotafd);
	free(u.lost);
	/* A session that moved and removed nothing has nothing to make durable. */
	synced = n > 0 ? sync_dirs(md) : 0;
	if (u.nlost > 0 || res->failed > 0 || synced != 0)
		md->recordable = 0;
	return res->failed == 0 && synced == 0 ? STORE_OK : STORE_TEMPFAIL;
}
