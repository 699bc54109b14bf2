/*
 * Recording cur/ as the commit left it, so that the next login takes cur/
 * from the size cache without a readdir(3): cache.h ("What a session
 * records") says why each step is needed; in order:
 *
 *	at login, before cur/ is looked at: an inotify(7) watch on cur/
 *	    for every change of its entries (maildrop_watch());
 *	after the commit: fstat(2) of cur/, the stamp to record;
 *	    the coarse clock waited for until it is past the stamp's times;
 *	    a lookup of a name that is not there, which takes cur/'s lock
 *	    after every change whose times the stamp shows;
 *	    every queued event one of the commit's own renames or unlinks;
 *	    the moved files still those counted at login;
 *	    the cache rewritten with the moves applied (cache_commit()).
 *
 * Any step that fails records nothing: the next login reads cur/.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "store/cache.h"
#include "store/maildir.h"
#include "store/maildrop.h"

/*
 * Everything that adds, removes or renames an entry of cur/, or cur/
 * itself.  Not IN_ATTRIB, IN_MODIFY and the like: a file changed in place
 * changes no directory time either, and the open of a message catches it
 * (cache.h).
 */
#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
			 IN_DONT_FOLLOW)

/* An event the commit's own changes make: a name arriving or leaving. */
#define ARRIVE		(IN_MOVED_TO | IN_CREATE)
#define LEAVE		(IN_MOVED_FROM | IN_DELETE)

/* A name the commit made arrive in cur/ or leave it, met at most once. */
struct expect {
	const char	*name;
	int		 met;
};

struct record {
	struct maildrop	*md;
	char		*old;		/* the listed names, NUL-terminated */
	struct expect	*arrive;	/* sorted by name */
	size_t		 narrive;
	struct expect	*leave;
	size_t		 nleave;
};

void
maildrop_watch(struct maildrop *md, const char *path)
{
	char		cur[PATH_MAX];
	struct stat	named, st;
	int		n;

	n = snprintf(cur, sizeof(cur), "%s/cur", path);
	if (n < 0 || (size_t)n >= sizeof(cur))
		return;
	/* ENOSYS, EMFILE (max_user_instances, per uid): as without it. */
	if ((md->notifyfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return;
	/*
	 * By name: inotify has no *at() call.  The name is still our cur/
	 * after the watch is added, so the watch is on it, or that
	 * directory was moved away since, an event (IN_MOVE_SELF).
	 */
	if ((md->curwd = inotify_add_watch(md->notifyfd, cur,
	    WATCH_MASK)) == -1 ||
	    stat(cur, &named) == -1 || fstat(md->curfd, &st) == -1 ||
	    named.st_ino != st.st_ino || named.st_dev != st.st_dev) {
		close(md->notifyfd);
		md->notifyfd = -1;
	}
}

static int
expect_cmp(const void *va, const void *vb)
{
	const struct expect	*a = va, *b = vb;

	return strcmp(a->name, b->name);
}

/* What the commit's renames and unlinks make cur/'s watch see. */
static int
record_expect(struct record *r)
{
	struct maildrop		*md = r->md;
	struct maildrop_done	*d;
	size_t			 i, off = 0;

	/* One more: a commit that renamed nothing is recorded too. */
	r->old = reallocarray(NULL, md->ndone + md->nunkeyed + 1,
	    MAILDIR_NAME_MAX + 1);
	r->arrive = reallocarray(NULL, md->ndone + 1, sizeof(*r->arrive));
	r->leave = reallocarray(NULL, md->ndone + 1, sizeof(*r->leave));
	if (r->old == NULL || r->arrive == NULL || r->leave == NULL)
		return -1;
	for (i = 0; i < md->ndone; i++, off += MAILDIR_NAME_MAX + 1) {
		d = &md->done[i];
		if (maildir_name(md, d->idx, r->old + off,
		    MAILDIR_NAME_MAX + 1) == -1)
			return -1;
		/* In cur/: leaves it, by rename (RENAME_NOREPLACE) or unlink. */
		if (!(md->msgs[d->idx].flags & MSG_NEW)) {
			r->leave[r->nleave].name = r->old + off;
			r->leave[r->nleave++].met = 0;
		}
		if (d->name != SIZE_MAX) {
			r->arrive[r->narrive].name = md->donenames + d->name;
			r->arrive[r->narrive++].met = 0;
		}
	}
	qsort(r->arrive, r->narrive, sizeof(*r->arrive), expect_cmp);
	qsort(r->leave, r->nleave, sizeof(*r->leave), expect_cmp);
	return 0;
}

/* Mark the expected event name; -1 if it was not expected, or met before. */
static int
expect_meet(struct expect *e, size_t n, const char *name)
{
	struct expect	key, *hit;

	key.name = name;
	hit = bsearch(&key, e, n, sizeof(*e), expect_cmp);
	if (hit == NULL || hit->met)
		return -1;
	hit->met = 1;
	return 0;
}

static int
event_ours(struct record *r, const struct inotify_event *ev)
{
	if (ev->wd != r->md->curwd || ev->len == 0 ||
	    (ev->mask & (IN_ISDIR | IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT |
	    IN_DELETE_SELF | IN_MOVE_SELF)) ||
	    memchr(ev->name, '\0', ev->len) == NULL)
		return 0;
	if (ev->mask & ARRIVE)
		return expect_meet(r->arrive, r->narrive, ev->name) == 0;
	if (ev->mask & LEAVE)
		return expect_meet(r->leave, r->nleave, ev->name) == 0;
	return 0;
}

/* Every queued event one of ours, and each of ours met. */
static int
record_drain(struct record *r)
{
	char			 buf[64 * 1024]
				     __attribute__((aligned(__alignof__(
				     struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t			 n;
	size_t			 off, i;

	for (;;) {
		n = read(r->md->notifyfd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		for (off = 0; off + sizeof(*ev) <= (size_t)n;
		    off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (off + sizeof(*ev) + ev->len > (size_t)n ||
			    !event_ours(r, ev))
				return -1;
		}
	}
	for (i = 0; i < r->narrive; i++)
		if (!r->arrive[i].met)
			return -1;
	for (i = 0; i < r->nleave; i++)
		if (!r->leave[i].met)
			return -1;
	return 0;
}

static int
ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/*
 * Wait until the clock the kernel stamps directory and file times with
 * (the coarse real-time clock) is past both times of st, so that any
 * later change gets other times; now is then that clock.  Times of whole
 * seconds are those of a coarse file system (1 or 2 s ticks): -1.
 */
static int
record_wait(const struct stat *st, struct timespec *now)
{
	struct timespec	start, t, nap = { 0, 1000000 };

	if (st->st_mtim.tv_nsec == 0 || st->st_ctim.tv_nsec == 0 ||
	    clock_gettime(CLOCK_MONOTONIC, &start) == -1)
		return -1;
	for (;;) {
		if (clock_gettime(CLOCK_REALTIME_COARSE, now) == -1)
			return -1;
		if (ts_after(now, &st->st_mtim) && ts_after(now, &st->st_ctim))
			return 0;
		if (clock_gettime(CLOCK_MONOTONIC, &t) == -1 ||
		    (t.tv_sec - start.tv_sec) * 1000 +
		    (t.tv_nsec - start.tv_nsec) / 1000000 > RECORD_WAIT_MS)
			return -1;
		nanosleep(&nap, NULL);
	}
}

/*
 * A lookup of a name that is in no directory takes cur/'s lock (shared),
 * which every rename, link, create and unlink in cur/ holds from the
 * change of its entries and times to its inotify event: once the lookup
 * has returned, every change whose times st showed has queued its event.
 * The name is random, so that no cached negative entry answers without
 * the lock.
 */
static int
record_barrier(struct maildrop *md)
{
	char		name[64];
	struct stat	st;

	snprintf(name, sizeof(name), ".pop3d-barrier-%08x%08x%08x",
	    arc4random(), arc4random(), arc4random());
	return fstatat(md->curfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT ? 0 : -1;
}

/*
 * A file whose modification time a write from now on would change: past
 * the tick of the clock (times in whole seconds may be those of a coarse
 * file system), or settled as cache_add() wants.
 */
static int
file_settled(const struct stat *st, const struct timespec *now)
{
	if (st->st_mtim.tv_sec + CACHE_SETTLE_SECONDS <= now->tv_sec)
		return 1;
	return st->st_mtim.tv_nsec != 0 && ts_after(now, &st->st_mtim);
}

/* The file of message idx, now m->new in cur/, for an entry of its own. */
static int
move_key(struct maildrop *md, size_t idx, struct cache_move *m,
    const struct timespec *now)
{
	return fstatat(md->curfd, m->new, &m->st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(m->st.st_mode) && maildir_check_ok(&md->msgs[idx], &m->st) &&
	    file_settled(&m->st, now) ? 0 : -1;
}

static int
done_cmp(const void *key, const void *vd)
{
	size_t				 idx = *(const size_t *)key;
	const struct maildrop_done	*d = vd;

	return idx < d->idx ? -1 : idx > d->idx;
}

/*
 * The moves for cache_commit(): what the commit did, then the listed files
 * of cur/ that the cache has no entry for and the commit left where they
 * are (a "move" to the same name); each file still the one counted at
 * login (its check), and settled (file_settled()).  The commit notes its
 * work in the order of the messages, so done is sorted by index.  *n is
 * the number of moves.
 */
static struct cache_move *
record_moves(struct record *r, const struct timespec *now, size_t *n)
{
	struct maildrop		*md = r->md;
	struct maildrop_done	*d;
	struct cache_move	*mv, *m;
	char			*name;
	size_t			 i, idx;

	if ((mv = calloc(md->ndone + md->nunkeyed + 1, sizeof(*mv))) == NULL)
		return NULL;
	for (i = 0; i < md->ndone; i++) {
		d = &md->done[i];
		m = &mv[i];
		m->old = r->old + i * (MAILDIR_NAME_MAX + 1);
		m->was_new = (md->msgs[d->idx].flags & MSG_NEW) != 0;
		m->size = md->msgs[d->idx].size;
		if (d->name == SIZE_MAX)
			continue;
		m->new = md->donenames + d->name;
		if (move_key(md, d->idx, m, now) == -1)
			goto fail;
	}
	for (*n = md->ndone, i = 0; i < md->nunkeyed; i++) {
		idx = md->unkeyed[i];
		if (md->ndone > 0 && bsearch(&idx, md->done, md->ndone,
		    sizeof(*md->done), done_cmp) != NULL)
			continue;
		name = r->old + *n * (MAILDIR_NAME_MAX + 1);
		m = &mv[(*n)++];
		if (maildir_name(md, idx, name, MAILDIR_NAME_MAX + 1) == -1)
			goto fail;
		m->old = m->new = name;
		m->size = md->msgs[idx].size;
		if (move_key(md, idx, m, now) == -1)
			goto fail;
	}
	return mv;
fail:
	free(mv);
	return NULL;
}

void
maildrop_record(struct maildrop *md)
{
	struct record		 r;
	struct cache_move	*mv = NULL;
	struct stat		 s1, s2;
	struct timespec		 now;
	size_t			 n;

	if (md->notifyfd == -1 || !md->recordable || md->cachest.st_ino == 0 ||
	    md->nunkeyed > RECORD_MOVES_MAX)
		return;
	memset(&r, 0, sizeof(r));
	r.md = md;
	if (fstat(md->curfd, &s1) == 0 && record_wait(&s1, &now) == 0 &&
	    record_barrier(md) == 0 && record_expect(&r) == 0 &&
	    record_drain(&r) == 0 && fstat(md->curfd, &s2) == 0 &&
	    maildir_same_times(&s1, &s2) &&
	    (mv = record_moves(&r, &now, &n)) != NULL &&
	    cache_commit(md->dirfd, &md->cachest, &s1, mv, n) == 0)
		md->cachest.st_ino = 0;	/* another file now */
	free(mv);
	free(r.old);
	free(r.arrive);
	free(r.leave);
}
