/*
 * Recording cur/ (and new/) as the commit left it, so that the next login
 * takes cur/ (or the whole listing) from the size cache without a
 * readdir(3): cache.h ("What a session records") says why each step is
 * needed; in order:
 *
 *	at login, before cur/ and new/ are looked at: an inotify(7) watch
 *	    on each for every change of its entries (maildrop_watch());
 *	after the commit: fstat(2) of cur/ and new/, the stamps to record;
 *	    the coarse clock waited for until it is past the stamps' times;
 *	    a lookup in each of a name that is not there, which takes the
 *	    directory's lock after every change whose times the stamp shows;
 *	    every queued event one of the commit's own renames or unlinks;
 *	    the moved files, and those without an entry, still those counted
 *	    at login;
 *	    the cache rewritten with the moves applied (cache_commit()).
 *
 * Any step for cur/ that fails records nothing: the next login reads cur/.
 * One for new/ records cur/ alone: the next login reads new/.
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
	struct expect	*leave_new;	/* the same, of new/ */
	size_t		 nleave_new;
	int		 new_ok;	/* new/ can be recorded too */
};

/*
 * A watch on the directory sub of the Maildir at path, open as dfd; -1
 * when there is none.  By name: inotify has no *at() call.  The name is
 * still that directory after the watch is added, so the watch is on it,
 * or the directory was moved away since, an event (IN_MOVE_SELF).
 */
static int
watch_dir(int notifyfd, const char *path, const char *sub, int dfd)
{
	char		dir[PATH_MAX];
	struct stat	named, st;
	int		n, wd;

	n = snprintf(dir, sizeof(dir), "%s/%s", path, sub);
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    (wd = inotify_add_watch(notifyfd, dir, WATCH_MASK)) == -1)
		return -1;
	if (stat(dir, &named) == -1 || fstat(dfd, &st) == -1 ||
	    named.st_ino != st.st_ino || named.st_dev != st.st_dev) {
		inotify_rm_watch(notifyfd, wd);
		return -1;
	}
	return wd;
}

void
maildrop_watch(struct maildrop *md, const char *path)
{
	md->newwd = -1;
	/* ENOSYS, EMFILE (max_user_instances, per uid): as without it. */
	if ((md->notifyfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return;
	if ((md->curwd = watch_dir(md->notifyfd, path, "cur",
	    md->curfd)) == -1) {
		close(md->notifyfd);
		md->notifyfd = -1;
		return;
	}
	/* Without it, cur/ alone is recorded. */
	md->newwd = watch_dir(md->notifyfd, path, "new", md->newfd);
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
	r->leave_new = reallocarray(NULL, md->ndone + 1,
	    sizeof(*r->leave_new));
	if (r->old == NULL || r->arrive == NULL || r->leave == NULL ||
	    r->leave_new == NULL)
		return -1;
	for (i = 0; i < md->ndone; i++, off += MAILDIR_NAME_MAX + 1) {
		d = &md->done[i];
		if (maildir_name(md, d->idx, r->old + off,
		    MAILDIR_NAME_MAX + 1) == -1)
			return -1;
		/* Leaves its directory, by rename (RENAME_NOREPLACE) or unlink. */
		if (!(md->msgs[d->idx].flags & MSG_NEW)) {
			r->leave[r->nleave].name = r->old + off;
			r->leave[r->nleave++].met = 0;
		} else {
			r->leave_new[r->nleave_new].name = r->old + off;
			r->leave_new[r->nleave_new++].met = 0;
		}
		if (d->name != SIZE_MAX) {
			r->arrive[r->narrive].name = md->donenames + d->name;
			r->arrive[r->narrive++].met = 0;
		}
	}
	qsort(r->arrive, r->narrive, sizeof(*r->arrive), expect_cmp);
	qsort(r->leave, r->nleave, sizeof(*r->leave), expect_cmp);
	qsort(r->leave_new, r->nleave_new, sizeof(*r->leave_new), expect_cmp);
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

/*
 * An event of new/: the commit's own moves out of it, else new/ is not
 * recorded (a delivery meanwhile, new/ itself moved or removed); cur/ may
 * still be.
 */
static void
event_new(struct record *r, const struct inotify_event *ev)
{
	if (ev->len == 0 || (ev->mask & (IN_ISDIR | IN_Q_OVERFLOW |
	    IN_IGNORED | IN_UNMOUNT | IN_DELETE_SELF | IN_MOVE_SELF)) ||
	    !(ev->mask & LEAVE) || memchr(ev->name, '\0', ev->len) == NULL ||
	    expect_meet(r->leave_new, r->nleave_new, ev->name) == -1)
		r->new_ok = 0;
}

static int
event_ours(struct record *r, const struct inotify_event *ev)
{
	if (r->md->newwd != -1 && ev->wd == r->md->newwd) {
		event_new(r, ev);
		return 1;
	}
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
	for (i = 0; i < r->nleave_new; i++)
		if (!r->leave_new[i].met)
			r->new_ok = 0;
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
 * A lookup of a name that is in no directory takes the directory's lock
 * (shared), which every rename, link, create and unlink in it holds from
 * the change of its entries and times to its inotify event: once the
 * lookup has returned, every change whose times its fstat(2) showed has
 * queued its event.  The name is random, so that no cached negative entry
 * answers without the lock.
 */
static int
record_barrier(int dfd)
{
	char		name[64];
	struct stat	st;

	snprintf(name, sizeof(name), ".pop3d-barrier-%08x%08x%08x",
	    arc4random(), arc4random(), arc4random());
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
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

/* The file of message idx, now m->new in dfd, for an entry of its own. */
static int
move_key(struct maildrop *md, int dfd, size_t idx, struct cache_move *m,
    const struct timespec *now)
{
	return fstatat(dfd, m->new, &m->st, AT_SYMLINK_NOFOLLOW) == 0 &&
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
 * The listed files the cache has no entry for and the commit left where
 * they are, of cur/ (in_new 0) or of new/: a "move" each to the same
 * name.  -1 when one is not the file counted or not settled.
 */
static int
record_unkeyed(struct record *r, const struct timespec *now, int in_new,
    struct cache_move *mv, size_t *n)
{
	struct maildrop	*md = r->md;
	struct cache_move *m;
	char		*name;
	size_t		 i, idx;

	for (i = 0; i < md->nunkeyed; i++) {
		idx = md->unkeyed[i];
		if (((md->msgs[idx].flags & MSG_NEW) != 0) != in_new ||
		    (md->ndone > 0 && bsearch(&idx, md->done, md->ndone,
		    sizeof(*md->done), done_cmp) != NULL))
			continue;
		name = r->old + *n * (MAILDIR_NAME_MAX + 1);
		m = &mv[(*n)++];
		if (maildir_name(md, idx, name, MAILDIR_NAME_MAX + 1) == -1)
			return -1;
		m->old = m->new = name;
		m->was_new = m->in_new = in_new;
		m->size = md->msgs[idx].size;
		m->order = idx;
		if (move_key(md, in_new ? md->newfd : md->curfd, idx, m,
		    now) == -1)
			return -1;
	}
	return 0;
}

/*
 * The moves for cache_commit(): what the commit did, then the listed files
 * of cur/ that the cache has no entry for and the commit left where they
 * are, then, when new/ is recorded too, those of new/; each file still the
 * one counted at login (its check), and settled (file_settled()).  The
 * commit notes its work in the order of the messages, so done is sorted
 * by index.  *n is the number of moves.  A file of new/ that fails only
 * keeps new/ from being recorded.
 */
static struct cache_move *
record_moves(struct record *r, const struct timespec *now, size_t *n)
{
	struct maildrop		*md = r->md;
	struct maildrop_done	*d;
	struct cache_move	*mv, *m;
	size_t			 i, kept;

	if ((mv = calloc(md->ndone + md->nunkeyed + 1, sizeof(*mv))) == NULL)
		return NULL;
	for (i = 0; i < md->ndone; i++) {
		d = &md->done[i];
		m = &mv[i];
		m->old = r->old + i * (MAILDIR_NAME_MAX + 1);
		m->was_new = (md->msgs[d->idx].flags & MSG_NEW) != 0;
		m->size = md->msgs[d->idx].size;
		m->order = d->idx;
		if (d->name == SIZE_MAX)
			continue;
		m->new = md->donenames + d->name;
		if (move_key(md, md->curfd, d->idx, m, now) == -1)
			goto fail;
	}
	*n = md->ndone;
	if (record_unkeyed(r, now, 0, mv, n) == -1)
		goto fail;
	kept = *n;
	if (r->new_ok && record_unkeyed(r, now, 1, mv, n) == -1) {
		r->new_ok = 0;
		*n = kept;
	}
	return mv;
fail:
	free(mv);
	return NULL;
}

/*
 * new/ as the commit left it (n1), proven as cur/ is: its times passed by
 * the clock (now, then the later of the two), a barrier lookup in it; its
 * events are checked with cur/'s.
 */
static void
record_new_begin(struct record *r, struct stat *n1, struct timespec *now)
{
	struct timespec	t;

	r->new_ok = r->md->newwd != -1 && fstat(r->md->newfd, n1) == 0 &&
	    record_wait(n1, &t) == 0 && record_barrier(r->md->newfd) == 0;
	if (r->new_ok && ts_after(&t, now))
		*now = t;
}

void
maildrop_record(struct maildrop *md)
{
	struct record		 r;
	struct cache_move	*mv = NULL;
	struct stat		 s1, s2, n1, n2;
	struct timespec		 now;
	size_t			 n;

	if (md->notifyfd == -1 || !md->recordable || md->cachest.st_ino == 0 ||
	    md->nunkeyed > RECORD_MOVES_MAX)
		return;
	memset(&r, 0, sizeof(r));
	r.md = md;
	if (fstat(md->curfd, &s1) == -1 || record_wait(&s1, &now) == -1 ||
	    record_barrier(md->curfd) == -1)
		return;
	record_new_begin(&r, &n1, &now);
	if (record_expect(&r) == 0 && record_drain(&r) == 0 &&
	    fstat(md->curfd, &s2) == 0 && maildir_same_times(&s1, &s2)) {
		if (r.new_ok && (fstat(md->newfd, &n2) == -1 ||
		    !maildir_same_times(&n1, &n2)))
			r.new_ok = 0;
		if ((mv = record_moves(&r, &now, &n)) != NULL &&
		    cache_commit(md->dirfd, &md->cachest, &s1,
		    r.new_ok ? &n1 : NULL, mv, n) == 0)
			md->cachest.st_ino = 0;	/* another file now */
	}
	free(mv);
	free(r.old);
	free(r.arrive);
	free(r.leave);
	free(r.leave_new);
}
