/*
 * The size cache of a Maildir, "pop3d.cache" in its top directory.  The
 * key, the rules and the file format are described in cache.h; in short:
 *
 *	"POP3DSZ\n", version, count		16 octets
 *	per entry: ino, st_size, mtime sec, mtime nsec, name length, 0,
 *	    POP3 size (40 octets), then the base name
 *	cache_checksum() of all of the above	 8 octets
 *
 * The file is read whole into one buffer and checked once, every field
 * against its range; a hash table of entry offsets keyed by the base name
 * then answers lookups.  A lookup that matches marks its entry in the
 * buffer (the field that is zero on disk), and the next cache is written
 * from the marked entries and the added ones, so that messages gone from
 * the Maildir drop out.  Buffer and table live only while the maildrop is
 * listed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "common/log.h"
#include "store/cache.h"

/* Offsets of the fields of an entry. */
#define E_INO		0
#define E_LEN		8
#define E_SEC		16
#define E_NSEC		24
#define E_NAMELEN	28
#define E_MARK		30	/* zero on disk; 1 in the buffer once matched */
#define E_DIR		31	/* 1: in new/, 0: in cur/ */

/* Offsets in the header. */
#define H_COUNT		12
#define H_FLAGS		16
#define H_STAMPS	24	/* new/, then cur/ */

/* A directory stamp: ino, size, mtime sec, ctime sec, mtime, ctime nsec. */
#define STAMP_LEN	40
#define E_SIZE		32

#define NSEC_MAX	1000000000
#define SUM_INIT	UINT64_C(0x706f703364737a31)	/* "pop3dsz1" */
#define ADD_MIN		(64 * 1024)

struct cache {
	unsigned char	*buf;		/* the file as read, once checked */
	size_t		 len;
	uint32_t	 count;		/* entries in buf */
	uint32_t	 used;		/* of them, matched by a lookup */
	size_t		 next;		/* the entry after the last match */
	uint32_t	*slots;		/* offsets of entries in buf, 0 empty */
	size_t		 mask;		/* number of slots - 1 */
	uint64_t	 seed;
	unsigned char	*add;		/* entries added, as in the file */
	size_t		 addlen;
	size_t		 addalloc;
	uint32_t	 nadd;
	int		 stale;		/* a file was there but not valid */
	int		 complete;	/* its entries were the whole listing */
	int		 unique;	/* no base name twice, all indexed */
	unsigned char	 stamps[2][STAMP_LEN];	/* as read; zero: none */
	size_t		 iter;		/* cache_next(): offset of the next */
	uint32_t	 iterated;
	uint32_t	*offs;		/* offset of the entry cache_next() gave */
	time_t		 settled;	/* files older than this are cached */
};

#define REF_ADDED	UINT32_C(0x80000000)	/* an offset in c->add */

/* Which entries a new file holds, and in what order. */
struct cache_src {
	const uint32_t	*order;		/* all of the old file, reordered */
	const uint32_t	*refs;		/* these, in this order */
	size_t		 nrefs;
	uint32_t	 count;		/* entries written */
};

/* The file being written: buffered, and hashed as it goes out. */
struct cache_out {
	int		 fd;
	uint64_t	 sum;
	uint64_t	 total;		/* octets summed */
	size_t		 len;
	int		 failed;
	unsigned char	 buf[CACHE_CHUNK];
};

static uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int	i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = v & 0xff;
}

/*
 * Eight octets at a time: xor in, multiply by an odd constant (a bijection
 * modulo 2^64) and fold the high half down, so that every octet of the
 * file moves every bit of the sum.  Any single damaged octet changes it.
 * The file is summed in pieces whose lengths are multiples of 8 except the
 * last, then sum_end() mixes in the total length.
 */
static uint64_t
sum_add(uint64_t h, const unsigned char *p, size_t len)
{
	unsigned char	tail[8];

	for (; len >= 8; p += 8, len -= 8) {
		h = (h ^ get_le(p, 8)) * UINT64_C(0x9e3779b97f4a7c15);
		h ^= h >> 32;
	}
	if (len > 0) {
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p, len);
		tail[7] = 0x80 | len;
		h = sum_add(h, tail, sizeof(tail));
	}
	return h;
}

static uint64_t
sum_end(uint64_t h, uint64_t total)
{
	h = (h ^ total) * UINT64_C(0xff51afd7ed558ccd);
	return h ^ h >> 33;
}

uint64_t
cache_checksum(const unsigned char *p, size_t len)
{
	return sum_end(sum_add(SUM_INIT, p, len), len);
}

/* One line in the log per process: a Maildir that refuses it stays so. */
static void
cache_warn(const char *what)
{
	static int	warned;

	if (warned)
		return;
	warned = 1;
	log_warn("%s %s, going on without it", what, CACHE_FILE);
}

/* FNV-1a, seeded, then mixed so that the low bits depend on every octet. */
static uint64_t
name_hash(const struct cache *c, const char *s, size_t len)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325) ^ c->seed;

	while (len-- > 0) {
		h ^= (unsigned char)*s++;
		h *= UINT64_C(0x100000001b3);
	}
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	return h ^ (h >> 33);
}

/* Length of the base name: the file name up to its first ':'. */
static size_t
base_len(const unsigned char *s, size_t len)
{
	const unsigned char *colon = memchr(s, ':', len);

	return colon == NULL ? len : (size_t)(colon - s);
}

/* A name the listing itself would take: no NUL or '/', no leading '.'. */
static int
name_ok(const unsigned char *s, size_t len)
{
	return len > 0 && s[0] != '.' && s[0] != ':' &&
	    memchr(s, '\0', len) == NULL && memchr(s, '/', len) == NULL;
}

/* The length of the valid entry at p, or 0 if it is not valid. */
static size_t
entry_check(const unsigned char *p, size_t left)
{
	uint64_t	flen, size;
	size_t		nlen;

	if (left < CACHE_RECORD)
		return 0;
	nlen = get_le(p + E_NAMELEN, 2);
	if (nlen == 0 || nlen > CACHE_NAME_MAX || nlen > left - CACHE_RECORD ||
	    p[E_MARK] != 0 || p[E_DIR] > 1 || get_le(p + E_NSEC, 4) >= NSEC_MAX)
		return 0;
	flen = get_le(p + E_LEN, 8);
	size = get_le(p + E_SIZE, 8);
	if (flen > CACHE_SIZE_MAX || size < flen || size > 2 * flen + 2 ||
	    (flen == 0 && size != 0))
		return 0;
	if (!name_ok(p + CACHE_RECORD, nlen))
		return 0;
	return CACHE_RECORD + nlen;
}

static void
stamp_make(unsigned char *p, const struct stat *st)
{
	put_le(p, st->st_ino, 8);
	put_le(p + 8, st->st_size, 8);
	put_le(p + 16, st->st_mtim.tv_sec, 8);
	put_le(p + 24, st->st_ctim.tv_sec, 8);
	put_le(p + 32, st->st_mtim.tv_nsec, 4);
	put_le(p + 36, st->st_ctim.tv_nsec, 4);
}

static int
stamp_check(const unsigned char *p)
{
	return get_le(p + 32, 4) < NSEC_MAX && get_le(p + 36, 4) < NSEC_MAX ?
	    0 : -1;
}

static int
stamp_is_none(const unsigned char *p)
{
	static const unsigned char zero[STAMP_LEN];

	return memcmp(p, zero, STAMP_LEN) == 0;
}

/*
 * Header, checksum, then every entry, which must fill the file exactly.
 * An entry's size is at most 2 * CACHE_SIZE_MAX + 2, so the total below
 * is checked before it can wrap.
 */
static int
cache_check(struct cache *c)
{
	uint64_t	total = 0;
	size_t		off, end = c->len - CACHE_TRAILER, rlen;
	uint32_t	i;

	if (memcmp(c->buf, CACHE_MAGIC, 8) != 0 ||
	    get_le(c->buf + 8, 4) != CACHE_VERSION)
		return -1;
	c->count = get_le(c->buf + H_COUNT, 4);
	if (c->count > MAILDROP_MAX_MESSAGES ||
	    (get_le(c->buf + H_FLAGS, 4) & ~(uint64_t)CACHE_COMPLETE) != 0 ||
	    get_le(c->buf + H_FLAGS + 4, 4) != 0 ||
	    stamp_check(c->buf + H_STAMPS) == -1 ||
	    stamp_check(c->buf + H_STAMPS + STAMP_LEN) == -1)
		return -1;
	if (cache_checksum(c->buf, end) != get_le(c->buf + end, CACHE_TRAILER))
		return -1;
	for (i = 0, off = CACHE_HEADER; i < c->count; i++, off += rlen) {
		if ((rlen = entry_check(c->buf + off, end - off)) == 0)
			return -1;
		total += get_le(c->buf + off + E_SIZE, 8);
		if (total > CACHE_TOTAL_MAX)
			return -1;
	}
	return off == end ? 0 : -1;
}

/* The whole file into c->buf; -1 when it is not there or not usable. */
static int
cache_read(struct cache *c, int dirfd)
{
	struct stat	st;
	size_t		off = 0;
	ssize_t		n;
	int		fd;

	fd = openat(dirfd, CACHE_FILE,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			c->stale = 1;
		return -1;
	}
	c->stale = 1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < CACHE_HEADER + CACHE_TRAILER ||
	    st.st_size > CACHE_FILE_MAX ||
	    (c->buf = malloc(st.st_size)) == NULL) {
		close(fd);
		return -1;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, c->buf + off, st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	close(fd);
	c->len = off;
	return off == (size_t)st.st_size ? 0 : -1;
}

/* A slot for the entry at off, unless its probe sequence is full. */
static void
slot_insert(struct cache *c, size_t off)
{
	const unsigned char	*e = c->buf + off;
	uint64_t		 h;
	size_t			 i;

	const unsigned char	*name = e + CACHE_RECORD, *o;
	size_t			 blen, olen;

	blen = base_len(name, get_le(e + E_NAMELEN, 2));
	h = name_hash(c, (const char *)name, blen);
	for (i = 0; i < CACHE_PROBE_MAX; i++, h++) {
		if (c->slots[h & c->mask] == 0) {
			c->slots[h & c->mask] = off;
			return;
		}
		/* Two files with one base name: no listing from the cache. */
		o = c->buf + c->slots[h & c->mask];
		olen = base_len(o + CACHE_RECORD, get_le(o + E_NAMELEN, 2));
		if (olen == blen && memcmp(o + CACHE_RECORD, name, blen) == 0)
			c->unique = 0;
	}
	c->unique = 0;		/* not indexed: it cannot be checked */
}

/* At most half the slots in use, so that probe sequences stay short. */
static int
cache_index(struct cache *c)
{
	size_t		nslots = 16, off = CACHE_HEADER;
	uint32_t	i;

	while (nslots < 2 * (size_t)c->count)
		nslots *= 2;
	if ((c->slots = calloc(nslots, sizeof(*c->slots))) == NULL)
		return -1;
	c->mask = nslots - 1;
	c->unique = 1;
	for (i = 0; i < c->count; i++) {
		slot_insert(c, off);
		off += CACHE_RECORD + get_le(c->buf + off + E_NAMELEN, 2);
	}
	return 0;
}

/* Forget what was read: every lookup misses, the next save rewrites. */
static void
cache_drop(struct cache *c)
{
	free(c->buf);
	free(c->slots);
	c->buf = NULL;
	c->slots = NULL;
	c->len = 0;
	c->count = 0;
}

struct cache *
cache_open(int dirfd)
{
	struct cache	*c;
	struct timespec	 now;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	c->settled = now.tv_sec - CACHE_SETTLE_SECONDS;
	c->seed = (uint64_t)arc4random() << 32 | arc4random();
	if (cache_read(c, dirfd) == -1 || cache_check(c) == -1 ||
	    cache_index(c) == -1) {
		cache_drop(c);
		return c;
	}
	c->stale = 0;
	c->next = CACHE_HEADER;
	c->complete = (get_le(c->buf + H_FLAGS, 4) & CACHE_COMPLETE) != 0;
	memcpy(c->stamps, c->buf + H_STAMPS, sizeof(c->stamps));
	return c;
}

static int
key_eq(const unsigned char *e, const struct stat *st)
{
	return get_le(e + E_INO, 8) == (uint64_t)st->st_ino &&
	    get_le(e + E_LEN, 8) == (uint64_t)st->st_size &&
	    get_le(e + E_SEC, 8) == (uint64_t)st->st_mtim.tv_sec &&
	    get_le(e + E_NSEC, 4) == (uint64_t)st->st_mtim.tv_nsec;
}

static void
entry_mark(struct cache *c, unsigned char *e)
{
	if (e[E_MARK] == 0)
		c->used++;
	e[E_MARK] = 1;
}

/* A file looked up: stat(2)ed once, when an entry has its name. */
struct probe {
	int		 dfd;
	const char	*name;
	size_t		 blen;		/* of the base name */
	int		 statted;	/* 1 done, -1 failed or not regular */
	struct stat	 st;
};

static int
probe_match(struct probe *p, const unsigned char *e)
{
	if (base_len(e + CACHE_RECORD, get_le(e + E_NAMELEN, 2)) != p->blen ||
	    memcmp(e + CACHE_RECORD, p->name, p->blen) != 0)
		return 0;
	if (p->statted == 0)
		p->statted = fstatat(p->dfd, p->name, &p->st,
		    AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(p->st.st_mode) ? 1 : -1;
	return p->statted == 1 && key_eq(e, &p->st);
}

/*
 * Entries are written in listing order, and readdir(3) gives the same
 * order again while a directory is unchanged: the entry after the last
 * match is tried before the hash table, which saves two cache misses.
 */
static unsigned char *
cache_find(struct cache *c, struct probe *p)
{
	unsigned char	*e;
	uint64_t	 h;
	size_t		 i;

	e = c->buf + c->next;
	if (c->next < c->len - CACHE_TRAILER && probe_match(p, e))
		return e;
	if (p->statted == -1)
		return NULL;
	h = name_hash(c, p->name, p->blen);
	for (i = 0; i < CACHE_PROBE_MAX && c->slots[h & c->mask] != 0;
	    i++, h++) {
		e = c->buf + c->slots[h & c->mask];
		if (probe_match(p, e))
			return e;
		if (p->statted == -1)
			return NULL;
	}
	return NULL;
}

int
cache_lookup(struct cache *c, int dfd, const char *name, int in_new,
    uint64_t *size, uint32_t *ref)
{
	struct probe	 p;
	unsigned char	*e;
	size_t		 nlen;

	if (c == NULL || c->count == 0)
		return 0;
	p.dfd = dfd;
	p.name = name;
	p.blen = strcspn(name, ":");
	p.statted = 0;
	if (p.blen == 0 || p.blen > CACHE_NAME_MAX ||
	    (e = cache_find(c, &p)) == NULL)
		return 0;
	nlen = get_le(e + E_NAMELEN, 2);
	c->next = e - c->buf + CACHE_RECORD + nlen;
	*size = get_le(e + E_SIZE, 8);
	/* Moved to cur/ or flags changed: the same file under a new name. */
	if (e[E_DIR] == in_new && nlen == strlen(name) &&
	    memcmp(e + CACHE_RECORD, name, nlen) == 0) {
		entry_mark(c, e);
		*ref = e - c->buf;
	} else
		*ref = cache_add(c, name, in_new, &p.st, *size);
	return 1;
}

/* Room for len more octets of added entries. */
static int
add_reserve(struct cache *c, size_t len)
{
	size_t		 want;
	unsigned char	*p;

	if (c->addlen + len <= c->addalloc)
		return 0;
	want = c->addalloc < ADD_MIN ? ADD_MIN : c->addalloc;
	while (want < c->addlen + len)
		want *= 2;
	if ((p = realloc(c->add, want)) == NULL)
		return -1;
	c->add = p;
	c->addalloc = want;
	return 0;
}

/*
 * Whether an entry would pass entry_check() when read back: a file that
 * shrank while it was counted, or one still settling, is left out.
 */
static int
add_ok(const struct cache *c, const char *name, size_t len,
    const struct stat *st, uint64_t size)
{
	size_t	have = c->len ? c->len : CACHE_HEADER + CACHE_TRAILER;

	if (len > CACHE_NAME_MAX || !name_ok((const unsigned char *)name, len) ||
	    st->st_size < 0 ||
	    (uint64_t)st->st_size > CACHE_SIZE_MAX ||
	    st->st_mtim.tv_sec >= c->settled)
		return 0;
	if (size < (uint64_t)st->st_size ||
	    size > 2 * (uint64_t)st->st_size + 2 ||
	    (st->st_size == 0 && size != 0))
		return 0;
	/* The old file bounds the entries kept from it. */
	return have + c->addlen + CACHE_RECORD + len <= CACHE_FILE_MAX;
}

uint32_t
cache_add(struct cache *c, const char *name, int in_new,
    const struct stat *st, uint64_t size)
{
	unsigned char	*e;
	size_t		 len;

	if (c == NULL)
		return CACHE_NOREF;
	len = strlen(name);
	if (!add_ok(c, name, len, st, size) ||
	    add_reserve(c, CACHE_RECORD + len) == -1)
		return CACHE_NOREF;
	e = c->add + c->addlen;
	put_le(e + E_INO, st->st_ino, 8);
	put_le(e + E_LEN, st->st_size, 8);
	put_le(e + E_SEC, st->st_mtim.tv_sec, 8);
	put_le(e + E_NSEC, st->st_mtim.tv_nsec, 4);
	put_le(e + E_NAMELEN, len, 2);
	e[E_MARK] = 0;
	e[E_DIR] = in_new != 0;
	put_le(e + E_SIZE, size, 8);
	memcpy(e + CACHE_RECORD, name, len);
	c->addlen += CACHE_RECORD + len;
	c->nadd++;
	return REF_ADDED | (e - c->add);
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static void
out_flush(struct cache_out *o)
{
	if (o->failed || o->len == 0)
		return;
	o->sum = sum_add(o->sum, o->buf, o->len);
	o->total += o->len;
	if (write_all(o->fd, o->buf, o->len) == -1)
		o->failed = 1;
	o->len = 0;
}

static void
out_put(struct cache_out *o, const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 n;

	while (len > 0 && !o->failed) {
		n = len < sizeof(o->buf) - o->len ? len :
		    sizeof(o->buf) - o->len;
		memcpy(o->buf + o->len, s, n);
		o->len += n;
		s += n;
		len -= n;
		if (o->len == sizeof(o->buf))
			out_flush(o);
	}
}

/* The rest of the buffer, then the checksum of everything written. */
static int
out_end(struct cache_out *o)
{
	unsigned char	sum[CACHE_TRAILER];

	out_flush(o);
	if (o->failed)
		return -1;
	put_le(sum, sum_end(o->sum, o->total), CACHE_TRAILER);
	return write_all(o->fd, sum, sizeof(sum));
}

static void
out_entry(struct cache_out *o, const unsigned char *e)
{
	unsigned char	rec[CACHE_RECORD];

	memcpy(rec, e, CACHE_RECORD);
	rec[E_MARK] = 0;
	out_put(o, rec, CACHE_RECORD);
	out_put(o, e + CACHE_RECORD, get_le(e + E_NAMELEN, 2));
}

/* The entries of the old file that a lookup matched, unmarked again. */
static void
out_used(struct cache *c, struct cache_out *o)
{
	const unsigned char *e;
	size_t		 off = CACHE_HEADER;
	uint32_t	 i;

	for (i = 0; i < c->count; i++) {
		e = c->buf + off;
		off += CACHE_RECORD + get_le(e + E_NAMELEN, 2);
		if (e[E_MARK] != 0)
			out_entry(o, e);
	}
}

/* The entries refs name, in that order; CACHE_NOREF ones left out. */
static void
out_refs(struct cache *c, struct cache_out *o, const uint32_t *refs,
    size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (refs[i] == CACHE_NOREF)
			continue;
		else if (refs[i] & REF_ADDED)
			out_entry(o, c->add + (refs[i] & ~REF_ADDED));
		else
			out_entry(o, c->buf + refs[i]);
}

/* Every entry of the old file, entry order[i] as the i-th. */
static void
out_ordered(struct cache *c, struct cache_out *o, const uint32_t *order)
{
	uint32_t	i;

	for (i = 0; i < c->count; i++)
		out_entry(o, c->buf + c->offs[order[i]]);
}

static int
cache_write_fd(struct cache *c, int fd, int complete,
    unsigned char stamps[2][STAMP_LEN], const struct cache_src *src)
{
	unsigned char		 head[CACHE_HEADER];
	struct cache_out	*o;
	int			 rv;

	if ((o = malloc(sizeof(*o))) == NULL)
		return -1;
	o->fd = fd;
	o->len = 0;
	o->failed = 0;
	o->sum = SUM_INIT;
	o->total = 0;
	memcpy(head, CACHE_MAGIC, 8);
	put_le(head + 8, CACHE_VERSION, 4);
	put_le(head + H_COUNT, src->count, 4);
	put_le(head + H_FLAGS, complete ? CACHE_COMPLETE : 0, 4);
	put_le(head + H_FLAGS + 4, 0, 4);
	memcpy(head + H_STAMPS, stamps, 2 * STAMP_LEN);
	out_put(o, head, sizeof(head));
	if (src->order != NULL)
		out_ordered(c, o, src->order);
	else if (src->refs != NULL)
		out_refs(c, o, src->refs, src->nrefs);
	else {
		out_used(c, o);
		out_put(o, c->add, c->addlen);
	}
	rv = out_end(o);
	free(o);
	return rv;
}

/* The new cache as tmp/pop3d.cache.tmp, complete and closed. */
static int
cache_write_tmp(struct cache *c, int tmpfd, int complete,
    unsigned char stamps[2][STAMP_LEN], const struct cache_src *src)
{
	int	fd, rv, saved;

	/* A leftover of a crash: the maildrop lock keeps others out. */
	if (unlinkat(tmpfd, CACHE_TMP, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(tmpfd, CACHE_TMP,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	rv = cache_write_fd(c, fd, complete, stamps, src);
	saved = errno;
	if (close(fd) == -1 && rv == 0)
		return -1;
	errno = saved;
	return rv;
}

/*
 * The stamp of a directory for the next listing: none unless it did not
 * change while it was read and has settled, so that no later change can
 * leave its times as they are.
 */
static void
stamp_for(const struct cache *c, unsigned char *out, const struct stat *before,
    const struct stat *after)
{
	unsigned char	b[STAMP_LEN];

	memset(out, 0, STAMP_LEN);
	stamp_make(b, before);
	stamp_make(out, after);
	if (memcmp(b, out, STAMP_LEN) != 0 ||
	    before->st_mtim.tv_sec >= c->settled ||
	    before->st_ctim.tv_sec >= c->settled)
		memset(out, 0, STAMP_LEN);
}

/* The new file through tmp/ and rename(2); a failure is logged once. */
static void
cache_replace(struct cache *c, int dirfd, int complete,
    unsigned char stamps[2][STAMP_LEN], const struct cache_src *src)
{
	int	tmpfd, saved;

	tmpfd = openat(dirfd, "tmp",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd == -1) {
		cache_warn("write");
		return;
	}
	if (cache_write_tmp(c, tmpfd, complete, stamps, src) == -1 ||
	    renameat(tmpfd, CACHE_TMP, dirfd, CACHE_FILE) == -1) {
		saved = errno;
		unlinkat(tmpfd, CACHE_TMP, 0);
		errno = saved;
		cache_warn("write");
	}
	close(tmpfd);
}

void
cache_save(struct cache *c, int dirfd, size_t listed,
    const struct stat before[2], const struct stat after[2],
    const uint32_t *refs)
{
	struct cache_src src = { NULL, refs, listed, 0 };
	unsigned char	stamps[2][STAMP_LEN];
	size_t		i;
	int		complete;

	if (c == NULL)
		return;
	stamp_for(c, stamps[0], &before[0], &after[0]);
	stamp_for(c, stamps[1], &before[1], &after[1]);
	if (refs == NULL)
		src.count = c->used + c->nadd;
	else
		for (i = 0; i < listed; i++)
			src.count += refs[i] != CACHE_NOREF;
	complete = src.count == listed;
	if (c->nadd == 0 && c->used == c->count && !c->stale &&
	    complete == c->complete &&
	    memcmp(stamps, c->stamps, sizeof(stamps)) == 0)
		return;
	cache_replace(c, dirfd, complete, stamps, &src);
}

void
cache_save_order(struct cache *c, int dirfd, const uint32_t *order)
{
	struct cache_src src = { order, NULL, 0, 0 };

	if (c == NULL || c->offs == NULL || c->iterated != c->count)
		return;
	src.count = c->count;
	cache_replace(c, dirfd, c->complete, c->stamps, &src);
}

int
cache_listing(struct cache *c, const struct stat dirs[2])
{
	unsigned char	now[STAMP_LEN];
	int		i;

	if (c == NULL || c->buf == NULL || !c->complete || !c->unique)
		return 0;
	for (i = 0; i < 2; i++) {
		stamp_make(now, &dirs[i]);
		if (stamp_is_none(c->stamps[i]) ||
		    memcmp(now, c->stamps[i], STAMP_LEN) != 0)
			return 0;
	}
	c->iter = CACHE_HEADER;
	c->iterated = 0;
	/* Without room to note the entries, they cannot be put in order. */
	free(c->offs);
	c->offs = reallocarray(NULL, c->count, sizeof(*c->offs));
	return 1;
}

int
cache_next(struct cache *c, char name[CACHE_NAME_MAX + 1], int *in_new,
    uint64_t *size)
{
	const unsigned char	*e;
	size_t			 nlen;

	if (c->iterated == c->count)
		return 0;
	e = c->buf + c->iter;
	nlen = get_le(e + E_NAMELEN, 2);	/* checked at open */
	if (c->offs != NULL)
		c->offs[c->iterated] = c->iter;
	memcpy(name, e + CACHE_RECORD, nlen);
	name[nlen] = '\0';
	*in_new = e[E_DIR];
	*size = get_le(e + E_SIZE, 8);
	c->iter += CACHE_RECORD + nlen;
	c->iterated++;
	return 1;
}

void
cache_remove(int dirfd)
{
	if (unlinkat(dirfd, CACHE_FILE, 0) == -1 && errno != ENOENT)
		log_warn("remove %s", CACHE_FILE);
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c->slots);
	free(c->add);
	free(c->offs);
	free(c);
}
