/*
 * The size cache of a Maildir; cache.h describes the key, the rules and
 * the file format.
 *
 * The file is read whole into one buffer and checked once, every field
 * against its range; a hash table of entry offsets keyed by the base name
 * then answers lookups.  cache_commit() reads the file a listing left and
 * writes it again with a commit's moves applied, for store/record.c.  An entry is named by its offset in that buffer,
 * or, with REF_ADDED, in the buffer of the entries added while listing;
 * the next file holds the entries the caller names, in the caller's order,
 * so that messages gone from the Maildir drop out.  Buffers and table live
 * only while the maildrop is listed.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "common/log.h"
#include "store/cache.h"

/* Offsets in the header. */
#define H_VERSION	8
#define H_COUNT		12
#define H_FLAGS		16
#define H_ZERO		20
#define H_STAMPS	24	/* new/, then cur/ */
#define STAMP_LEN	40

/* Offsets of the fields of an entry. */
#define E_INO		0
#define E_LEN		8
#define E_SEC		16
#define E_NSEC		24
#define E_NAMELEN	28
#define E_ZERO		30
#define E_DIR		31	/* 1: in new/, 0: in cur/ */
#define E_SIZE		32

#define NSEC_MAX	1000000000
#define SUM_INIT	UINT64_C(0x706f703364737a31)	/* "pop3dsz1" */
#define ADD_MIN		(64 * 1024)

/* One write(2) per 64 KiB while the cache is written; a multiple of 8. */
#define OUT_CHUNK	(64 * 1024)

/* An entry added while listing: its offset in c->add, with this bit set. */
#define REF_ADDED	UINT32_C(0x80000000)
_Static_assert(CACHE_FILE_MAX < REF_ADDED, "offsets below REF_ADDED");

struct cache {
	unsigned char	*buf;		/* the file as read, once checked */
	size_t		 len;
	size_t		 bufmap;	/* buf is mapped, this long; 0: malloc */
	uint32_t	 count;		/* entries in buf */
	uint32_t	*slots;		/* offsets of entries in buf, 0 empty */
	size_t		 mask;		/* number of slots - 1 */
	uint64_t	 seed;
	size_t		 next;		/* the entry after the last match */
	int		 in_order;	/* the last match was the one after its
					   own last match */
	size_t		 iter;		/* cache_next(): offset of the next */
	int		 iter_dir;	/* 0 new/, 1 cur/, -1 both */
	unsigned char	*add;		/* entries added, as in the file */
	size_t		 addlen;
	size_t		 addalloc;
	int		 stale;		/* a file was there but not valid */
	int		 complete;	/* its entries were the whole listing */
	int		 cur_complete;	/* and those of cur/ the whole of cur/ */
	int		 unique;	/* no base name twice, all indexed */
	unsigned char	 stamps[2][STAMP_LEN];	/* as read; zero: none */
	time_t		 settled;	/* files older than this are cached */
	struct stat	 filest;	/* fstat(2) of the file read */
};

/* The file being written: buffered, and summed as it goes out. */
struct out {
	int		 fd;
	int		 failed;
	uint64_t	 sum;
	uint64_t	 total;		/* octets summed */
	size_t		 len;
	unsigned char	 buf[OUT_CHUNK];
};

/*
 * A field of n octets (2, 4 or 8; 1 to 8 in all) at any alignment: one
 * load where n is a constant, as at every call here, since the listing
 * reads a few fields of every entry.
 */
static inline uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t	v = 0;
	uint32_t	v4;
	uint16_t	v2;

	switch (n) {
	case 8:
		memcpy(&v, p, 8);
		return le64toh(v);
	case 4:
		memcpy(&v4, p, 4);
		return le32toh(v4);
	case 2:
		memcpy(&v2, p, 2);
		return le16toh(v2);
	}
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

/*
 * Eight octets at a time, so that a name of 50 costs 7 multiplications,
 * not 50 as octet by octet: the listing hashes each name two or three
 * times.  The final mix makes the low bits, which pick the slot, depend
 * on every octet; the seed is random per process.
 */
uint64_t
cache_hash(uint64_t seed, const void *vp, size_t len)
{
	const unsigned char	*p = vp;
	uint64_t		 h = seed ^ len * UINT64_C(0x9e3779b97f4a7c15), w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 32;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 29);
}

static uint64_t
name_hash(const struct cache *c, const char *s, size_t len)
{
	return cache_hash(c->seed, s, len);
}

/* Length of the base name: the file name up to its first ':'. */
static size_t
base_len(const unsigned char *s, size_t len)
{
	const unsigned char *colon = memchr(s, ':', len);

	return colon == NULL ? len : (size_t)(colon - s);
}

/*
 * A name the listing itself would take: not empty, no NUL or '/', no
 * leading '.' or ':', and no longer than a file name.
 */
static int
name_ok(const unsigned char *s, size_t len)
{
	return len > 0 && len <= MAILDIR_NAME_MAX && s[0] != '.' &&
	    s[0] != ':' && memchr(s, '\0', len) == NULL &&
	    memchr(s, '/', len) == NULL;
}

/* Whether a file of flen octets can have this POP3 size (see size.h). */
static int
size_ok(uint64_t flen, uint64_t size)
{
	if (flen == 0)
		return size == 0;
	return flen <= MAILDIR_FILE_SIZE_MAX && size >= flen &&
	    size <= 2 * flen + 2;
}

/* The length of the valid entry at p, or 0 if it is not valid. */
static size_t
entry_check(const unsigned char *p, size_t left)
{
	size_t	nlen;

	if (left < CACHE_RECORD)
		return 0;
	nlen = get_le(p + E_NAMELEN, 2);
	if (nlen > left - CACHE_RECORD || p[E_ZERO] != 0 || p[E_DIR] > 1 ||
	    get_le(p + E_NSEC, 4) >= NSEC_MAX ||
	    !size_ok(get_le(p + E_LEN, 8), get_le(p + E_SIZE, 8)) ||
	    !name_ok(p + CACHE_RECORD, nlen))
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
stamp_ok(const unsigned char *p)
{
	return get_le(p + 32, 4) < NSEC_MAX && get_le(p + 36, 4) < NSEC_MAX;
}

static int
stamp_is_none(const unsigned char *p)
{
	static const unsigned char zero[STAMP_LEN];

	return memcmp(p, zero, STAMP_LEN) == 0;
}

/*
 * Header, then every entry, which must fill the file exactly (and
 * cache_check() the checksum too).  An entry's size is at most 2 * MAILDIR_FILE_SIZE_MAX + 2, so the total
 * below is checked before it can wrap.
 */
static int
cache_check_fields(struct cache *c)
{
	uint64_t	total = 0;
	size_t		off, end = c->len - CACHE_TRAILER, rlen;
	uint32_t	i;

	if (memcmp(c->buf, CACHE_MAGIC, 8) != 0 ||
	    get_le(c->buf + H_VERSION, 4) != CACHE_VERSION ||
	    (c->count = get_le(c->buf + H_COUNT, 4)) > MAILDROP_MAX_MESSAGES ||
	    (get_le(c->buf + H_FLAGS, 4) &
	    ~(uint64_t)(CACHE_COMPLETE | CACHE_CUR_COMPLETE)) != 0 ||
	    get_le(c->buf + H_ZERO, 4) != 0 ||
	    !stamp_ok(c->buf + H_STAMPS) ||
	    !stamp_ok(c->buf + H_STAMPS + STAMP_LEN))
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

/* The fields and the checksum: a file read at login. */
static int
cache_check(struct cache *c)
{
	size_t	end = c->len - CACHE_TRAILER;

	if (cache_check_fields(c) == -1 ||
	    cache_checksum(c->buf, end) != get_le(c->buf + end, CACHE_TRAILER))
		return -1;
	return 0;
}

/*
 * A buffer of len octets for the file: from len = HUGE_PAGE up, mapped on
 * its own on huge page boundaries with MADV_HUGEPAGE, so that a cache of
 * 8 MB costs a few page faults instead of 2,000, and the lookups, which
 * meet its entries at random, few TLB misses.  Where transparent huge
 * pages are off it is mapped as malloc(3) would map it.
 */
#define HUGE_PAGE	(2 * 1024 * 1024)

static int
buf_alloc(struct cache *c, size_t len)
{
	size_t		 want = (len + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	size_t		 head;
	unsigned char	*p;

	if (len < HUGE_PAGE)
		return (c->buf = malloc(len)) == NULL ? -1 : 0;
	p = mmap(NULL, want + HUGE_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	head = -(uintptr_t)p & (HUGE_PAGE - 1);
	if (head > 0)
		munmap(p, head);
	munmap(p + head + want, HUGE_PAGE - head);
	c->buf = p + head;
	c->bufmap = want;
	(void)madvise(c->buf, want, MADV_HUGEPAGE);
	return 0;
}

static void
buf_free(struct cache *c)
{
	if (c->bufmap > 0)
		munmap(c->buf, c->bufmap);
	else
		free(c->buf);
	c->buf = NULL;
	c->bufmap = 0;
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
	    buf_alloc(c, st.st_size) == -1) {
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
	c->filest = st;
	return off == (size_t)st.st_size ? 0 : -1;
}

/*
 * A slot holds the offset of its entry, below 2^26 (CACHE_FILE_MAX), and
 * in the bits above it six bits of the entry's hash: a probe that meets
 * another name reads that entry, out in the 8 MB buffer, only once in 64.
 */
#define SLOT_OFF_BITS	26
#define SLOT_OFF(s)	((s) & ((UINT32_C(1) << SLOT_OFF_BITS) - 1))
#define SLOT_TAG(h)	((uint32_t)((h) >> 58) << SLOT_OFF_BITS)
_Static_assert(CACHE_FILE_MAX <= (1 << SLOT_OFF_BITS), "offsets in 26 bits");

/* Entries hashed ahead of their insertion (cache_index()). */
#define INDEX_AHEAD	16

/* The base name of the entry at off and its length. */
static const unsigned char *
entry_base(const struct cache *c, size_t off, size_t *blen)
{
	const unsigned char	*name = c->buf + off + CACHE_RECORD;

	*blen = base_len(name, get_le(c->buf + off + E_NAMELEN, 2));
	return name;
}

/* A slot for the entry at off, unless its probe sequence is full. */
static void
slot_insert(struct cache *c, size_t off, uint64_t h)
{
	const unsigned char	*name, *o;
	size_t			 blen, olen, i;
	uint32_t		 s, tag = SLOT_TAG(h);

	name = entry_base(c, off, &blen);
	for (i = 0; i < CACHE_PROBE_MAX; i++, h++) {
		if ((s = c->slots[h & c->mask]) == 0) {
			c->slots[h & c->mask] = off | tag;
			return;
		}
		if ((s & ~SLOT_OFF(s)) != tag)
			continue;
		/* Two files with one base name: no listing from the cache. */
		o = entry_base(c, SLOT_OFF(s), &olen);
		if (olen == blen && memcmp(o, name, blen) == 0)
			c->unique = 0;
	}
	c->unique = 0;		/* not indexed: it cannot be checked */
}

/*
 * At most half the slots in use, so that probe sequences stay short.  The
 * slots are 1 MB at 100,000 entries, each met at random: the entries are
 * hashed INDEX_AHEAD at a time and their slots fetched before they are
 * filled, where one at a time waited for memory at every entry.
 */
static int
cache_index(struct cache *c)
{
	size_t		nslots = 16, off = CACHE_HEADER, blen, offs[INDEX_AHEAD];
	uint64_t	hs[INDEX_AHEAD];
	uint32_t	i, k, n;
	const unsigned char *name;

	while (nslots < 2 * (size_t)c->count)
		nslots *= 2;
	if ((c->slots = calloc(nslots, sizeof(*c->slots))) == NULL)
		return -1;
	c->mask = nslots - 1;
	c->unique = 1;
	for (i = 0; i < c->count; i += n) {
		n = c->count - i < INDEX_AHEAD ? c->count - i : INDEX_AHEAD;
		for (k = 0; k < n; k++) {
			name = entry_base(c, off, &blen);
			offs[k] = off;
			hs[k] = name_hash(c, (const char *)name, blen);
			__builtin_prefetch(&c->slots[hs[k] & c->mask], 1);
			off += CACHE_RECORD + get_le(c->buf + off + E_NAMELEN, 2);
		}
		for (k = 0; k < n; k++)
			slot_insert(c, offs[k], hs[k]);
	}
	return 0;
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
		/* Forget what was read: every lookup misses. */
		buf_free(c);
		free(c->slots);
		c->slots = NULL;
		c->len = 0;
		c->count = 0;
		return c;
	}
	c->stale = 0;
	c->next = CACHE_HEADER;
	c->in_order = 1;
	c->complete = (get_le(c->buf + H_FLAGS, 4) & CACHE_COMPLETE) != 0;
	c->cur_complete = c->complete ||
	    (get_le(c->buf + H_FLAGS, 4) & CACHE_CUR_COMPLETE) != 0;
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

/*
 * A file looked up: matched by its directory entry alone, else stat(2)ed
 * once, when an entry has its base name.
 */
struct probe {
	int		 dfd;
	const char	*name;
	size_t		 blen;		/* of the base name */
	uint64_t	 ino;		/* d_ino; 0: unknown */
	uint64_t	 hash;		/* name_hash() of the base name */
	int		 statted;	/* 1 done, -1 failed or not regular */
	struct stat	 st;		/* the key the size was counted for */
};

/* The key of entry e as a stat(2) would give it, for cache_add(). */
static void
entry_key(const unsigned char *e, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = get_le(e + E_INO, 8);
	st->st_size = get_le(e + E_LEN, 8);
	st->st_mtim.tv_sec = get_le(e + E_SEC, 8);
	st->st_mtim.tv_nsec = get_le(e + E_NSEC, 4);
}

/*
 * The base name, then the inode: readdir(3) gave the caller a regular file
 * under this base name with the inode of the entry, and the entry is taken
 * without a stat(2).  A file with that inode and base name is the file
 * counted (a file replaced under its name has another inode), unless it
 * was rewritten in place, which no Maildir writer does and which the open
 * of the message catches (maildrop_open_message()).  Where readdir(3)
 * gives an inode other than stat(2)'s (overlayfs without xino), every
 * file is stat(2)ed as before: slower, never wrong.
 */
static int
probe_match(struct probe *p, const unsigned char *e)
{
	if (base_len(e + CACHE_RECORD, get_le(e + E_NAMELEN, 2)) != p->blen ||
	    memcmp(e + CACHE_RECORD, p->name, p->blen) != 0)
		return 0;
	if (p->ino != 0 && get_le(e + E_INO, 8) == p->ino) {
		entry_key(e, &p->st);
		return 1;
	}
	if (p->statted == 0)
		p->statted = fstatat(p->dfd, p->name, &p->st,
		    AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(p->st.st_mode) ? 1 : -1;
	return p->statted == 1 && key_eq(e, &p->st);
}

/*
 * Entries are written in listing order, which readdir(3) gives on some
 * file systems: there the entry after the last match is tried before the
 * hash table, which saves two cache misses.  Where readdir(3) gives
 * another order (hash order on ext4 and XFS) the try would be a cache
 * miss of its own, so it is made only while the last one matched.
 */
static unsigned char *
cache_find(struct cache *c, struct probe *p)
{
	unsigned char	*e;
	uint64_t	 h;
	uint32_t	 s, tag;
	size_t		 i;

	e = c->buf + c->next;
	if (c->in_order && c->next < c->len - CACHE_TRAILER &&
	    probe_match(p, e))
		return e;
	if (p->statted == -1)
		return NULL;
	h = p->hash;
	tag = SLOT_TAG(h);
	for (i = 0; i < CACHE_PROBE_MAX && (s = c->slots[h & c->mask]) != 0;
	    i++, h++) {
		if ((s & ~SLOT_OFF(s)) != tag)
			continue;
		e = c->buf + SLOT_OFF(s);
		if (probe_match(p, e))
			return e;
		if (p->statted == -1)
			return NULL;
	}
	return NULL;
}

uint64_t
cache_ahead(const struct cache *c, const char *name)
{
	size_t		blen;
	uint64_t	h;

	if (c == NULL || c->count == 0)
		return 0;
	blen = strcspn(name, ":");
	h = name_hash(c, name, blen);
	__builtin_prefetch(&c->slots[h & c->mask]);
	return h;
}

void
cache_ahead_entry(const struct cache *c, uint64_t hash)
{
	const unsigned char	*e;
	uint32_t		 s;

	if (c == NULL || c->count == 0)
		return;
	/* The first slot probed: most lookups end there. */
	s = c->slots[hash & c->mask];
	if (s == 0 || (s & ~SLOT_OFF(s)) != SLOT_TAG(hash))
		return;
	e = c->buf + SLOT_OFF(s);
	__builtin_prefetch(e);
	__builtin_prefetch(e + 64);
}

int
cache_lookup(struct cache *c, int dfd, const char *name, uint64_t ino,
    int in_new, uint64_t *size, uint32_t *ref, struct stat *key)
{
	return cache_lookup_hashed(c, dfd, name, ino, in_new, size, ref, key,
	    NULL);
}

int
cache_lookup_hashed(struct cache *c, int dfd, const char *name, uint64_t ino,
    int in_new, uint64_t *size, uint32_t *ref, struct stat *key,
    const uint64_t *hash)
{
	struct probe	 p;
	unsigned char	*e;
	size_t		 nlen;

	if (c == NULL || c->count == 0)
		return 0;
	p.dfd = dfd;
	p.name = name;
	p.blen = strcspn(name, ":");
	p.ino = ino;
	p.statted = 0;
	if (p.blen == 0 || p.blen > MAILDIR_NAME_MAX)
		return 0;
	p.hash = hash != NULL ? *hash : name_hash(c, name, p.blen);
	if ((e = cache_find(c, &p)) == NULL)
		return 0;
	nlen = get_le(e + E_NAMELEN, 2);
	c->in_order = (size_t)(e - c->buf) == c->next;
	c->next = e - c->buf + CACHE_RECORD + nlen;
	*size = get_le(e + E_SIZE, 8);
	*key = p.st;
	/* Moved to cur/ or flags changed: the same file under a new name. */
	if (e[E_DIR] == in_new && nlen == strlen(name) &&
	    memcmp(e + CACHE_RECORD, name, nlen) == 0)
		*ref = e - c->buf;
	else
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
 * shrank while it was counted, or one still settling, is left out.  The
 * old file bounds the entries kept from it, so that the new one stays
 * within CACHE_FILE_MAX.
 */
static int
add_ok(const struct cache *c, const char *name, size_t len,
    const struct stat *st, uint64_t size)
{
	size_t	have = c->len ? c->len : CACHE_HEADER + CACHE_TRAILER;

	return name_ok((const unsigned char *)name, len) && st->st_size >= 0 &&
	    size_ok(st->st_size, size) && st->st_mtim.tv_sec < c->settled &&
	    have + c->addlen + CACHE_RECORD + len <= CACHE_FILE_MAX;
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
	e[E_ZERO] = 0;
	e[E_DIR] = in_new != 0;
	put_le(e + E_SIZE, size, 8);
	memcpy(e + CACHE_RECORD, name, len);
	c->addlen += CACHE_RECORD + len;
	return REF_ADDED | (e - c->add);
}

static const unsigned char *
ref_entry(const struct cache *c, uint32_t ref)
{
	return ref & REF_ADDED ? c->add + (ref & ~REF_ADDED) : c->buf + ref;
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
out_flush(struct out *o)
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
out_put(struct out *o, const void *p, size_t len)
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

/* What goes between the header and the checksum. */
typedef void	(*body_fn)(struct out *, void *);

/* The header, the entries body puts, the checksum. */
static int
cache_write_fd(int fd, const unsigned char *head, body_fn body, void *arg)
{
	unsigned char	 sum[CACHE_TRAILER];
	struct out	*o;
	int		 rv = -1;

	if ((o = malloc(sizeof(*o))) == NULL)
		return -1;
	o->fd = fd;
	o->failed = 0;
	o->sum = SUM_INIT;
	o->total = 0;
	o->len = 0;
	out_put(o, head, CACHE_HEADER);
	body(o, arg);
	out_flush(o);
	if (!o->failed) {
		put_le(sum, sum_end(o->sum, o->total), CACHE_TRAILER);
		rv = write_all(fd, sum, sizeof(sum));
	}
	free(o);
	return rv;
}

/* The new cache as tmp/pop3d.cache.tmp, complete and closed. */
static int
cache_write_tmp(int tmpfd, const unsigned char *head, body_fn body, void *arg)
{
	int	fd, rv, saved;

	/* A leftover of a crash: the maildrop lock keeps others out. */
	if (unlinkat(tmpfd, CACHE_TMP, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(tmpfd, CACHE_TMP,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	rv = cache_write_fd(fd, head, body, arg);
	saved = errno;
	if (close(fd) == -1 && rv == 0)
		return -1;
	errno = saved;
	return rv;
}

/* The new file through tmp/ and rename(2); a failure is logged once. */
static int
cache_replace(int dirfd, const unsigned char *head, body_fn body, void *arg)
{
	int	tmpfd, saved, rv = 0;

	tmpfd = openat(dirfd, "tmp",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd == -1) {
		cache_warn("write");
		return -1;
	}
	/*
	 * The old file is unlinked first: ext4 writes back a file renamed
	 * over another at once (auto_da_alloc), 8 MB of disk writes per
	 * session at 100,000 messages, for a file that needs no durability.
	 * The lock keeps readers out meanwhile.
	 */
	if (cache_write_tmp(tmpfd, head, body, arg) == -1 ||
	    (unlinkat(dirfd, CACHE_FILE, 0) == -1 && errno != ENOENT &&
	    errno != EISDIR) ||
	    renameat(tmpfd, CACHE_TMP, dirfd, CACHE_FILE) == -1) {
		saved = errno;
		unlinkat(tmpfd, CACHE_TMP, 0);
		errno = saved;
		cache_warn("write");
		rv = -1;
	}
	close(tmpfd);
	return rv;
}

/* The entries a listing names (struct listed), in its order. */
struct listed {
	const struct cache	*c;
	const uint32_t		*refs;
	size_t			 n;
};

static void
listed_body(struct out *o, void *arg)
{
	const struct listed	*l = arg;
	const unsigned char	*e;
	size_t			 i;

	for (i = 0; i < l->n; i++) {
		if (l->refs[i] == CACHE_NOREF)
			continue;
		e = ref_entry(l->c, l->refs[i]);
		out_put(o, e, CACHE_RECORD + get_le(e + E_NAMELEN, 2));
	}
}

/*
 * The stamp of directory i (0 new/, 1 cur/) for the next listing: none
 * unless it did not change while it was read and either has settled or
 * is the stamp the file holds already, so that no later change can leave
 * its times as they are.  A stamp in the file was recorded only once the
 * clock had passed its times (settled, or waited for by cache_commit()):
 * a directory still as it records was not changed since.
 */
static void
stamp_for(const struct cache *c, int i, unsigned char *out,
    const struct stat *before, const struct stat *after)
{
	unsigned char	b[STAMP_LEN];

	stamp_make(b, before);
	stamp_make(out, after);
	if (memcmp(b, out, STAMP_LEN) != 0)
		memset(out, 0, STAMP_LEN);
	else if (memcmp(out, c->stamps[i], STAMP_LEN) == 0)
		return;		/* recorded already, and still true */
	else if (before->st_mtim.tv_sec >= c->settled ||
	    before->st_ctim.tv_sec >= c->settled)
		memset(out, 0, STAMP_LEN);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Write len octets at off, all of them or fail. */
static int
pwrite_all(int fd, const void *p, size_t len, off_t off)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p = (const unsigned char *)p + n;
		len -= n;
		off += n;
	}
	return 0;
}

/*
 * The entries of the file read stay as they are, in its order, and only
 * the header (flags and stamps) and the checksum change: a listing that
 * met nothing but files still settling (new mail, at every poll), a
 * commit that moved nothing.  Those two are written over the file read,
 * unchanged since (its ctime too), instead of 8 MB written anew at
 * 100,000 messages before the reply to PASS, or while a login that comes
 * right after waits for the lock.  No one reads the file meanwhile (the
 * maildrop lock); a crash between the two writes leaves a checksum that
 * fails, and the next login rebuilds the file.
 */
static int
cache_restamp(int dirfd, struct cache *c, const unsigned char *head)
{
	unsigned char	sum[CACHE_TRAILER];
	size_t		end = c->len - CACHE_TRAILER;
	struct stat	st;
	int		fd, rv = -1;

	fd = openat(dirfd, CACHE_FILE,
	    O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == 0 && same_file(&st, &c->filest)) {
		memcpy(c->buf, head, CACHE_HEADER);
		put_le(sum, cache_checksum(c->buf, end), CACHE_TRAILER);
		if (pwrite_all(fd, head, CACHE_HEADER, 0) == 0 &&
		    pwrite_all(fd, sum, CACHE_TRAILER, end) == 0)
			rv = 0;
	}
	if (close(fd) == -1)
		rv = -1;
	if (rv == -1)
		cache_warn("write");
	return rv;
}

int
cache_save(struct cache *c, int dirfd, size_t listed,
    const struct stat before[2], const struct stat after[2],
    const uint32_t *refs, int cur_whole)
{
	unsigned char	head[CACHE_HEADER];
	struct listed	l;
	size_t		i, kept = 0;
	uint32_t	prev = 0;
	int		complete, cur_complete, same = 1;

	if (c == NULL)
		return -1;
	/* Whether refs are the entries of the file read, in its order. */
	for (i = 0; i < listed; i++) {
		if (refs[i] == CACHE_NOREF)
			continue;
		if ((refs[i] & REF_ADDED) || refs[i] <= prev)
			same = 0;
		prev = refs[i];
		kept++;
	}
	complete = kept == listed;
	cur_complete = complete || cur_whole;
	memset(head, 0, sizeof(head));
	memcpy(head, CACHE_MAGIC, 8);
	put_le(head + H_VERSION, CACHE_VERSION, 4);
	put_le(head + H_COUNT, kept, 4);
	put_le(head + H_FLAGS, (complete ? CACHE_COMPLETE : 0) |
	    (cur_complete ? CACHE_CUR_COMPLETE : 0), 4);
	stamp_for(c, 0, head + H_STAMPS, &before[0], &after[0]);
	stamp_for(c, 1, head + H_STAMPS + STAMP_LEN, &before[1], &after[1]);
	if (same && kept == c->count && !c->stale &&
	    complete == c->complete && cur_complete == c->cur_complete &&
	    memcmp(head + H_STAMPS, c->stamps, sizeof(c->stamps)) == 0)
		return 0;
	if (same && kept == c->count && !c->stale && c->len > 0)
		return cache_restamp(dirfd, c, head);
	l.c = c;
	l.refs = refs;
	l.n = listed;
	return cache_replace(dirfd, head, listed_body, &l);
}

/*
 * A commit's record of cur/ (cache_commit()): the file the listing left,
 * its entries with the moves applied in place, and the moved files it
 * had no entry for at the end.
 */
struct committed {
	const struct cache	 *c;
	struct cache_move	**found;	/* met in the file, by offset */
	size_t			  nfound;
	struct cache_move	**added;	/* not met: added, by order */
	size_t			  nadded;
	struct cache_move	 *moves;
	size_t			  n;
};

static int
move_cmp(const void *va, const void *vb)
{
	const struct cache_move	*a = va, *b = vb;

	if (a->was_new != b->was_new)
		return a->was_new - b->was_new;
	return strcmp(a->old, b->old);
}

static int
found_cmp(const void *va, const void *vb)
{
	const struct cache_move	*a = *(struct cache_move * const *)va;
	const struct cache_move	*b = *(struct cache_move * const *)vb;

	return a->off < b->off ? -1 : a->off > b->off;
}

static int
added_cmp(const void *va, const void *vb)
{
	const struct cache_move	*a = *(struct cache_move * const *)va;
	const struct cache_move	*b = *(struct cache_move * const *)vb;

	return a->order < b->order ? -1 : a->order > b->order;
}

/* The move of the file the entry at e names, if any. */
static struct cache_move *
move_find(struct cache_move *moves, size_t n, const unsigned char *e)
{
	const char	*name = (const char *)e + CACHE_RECORD;
	size_t		 nlen = get_le(e + E_NAMELEN, 2), lo = 0, hi = n, mid;
	int		 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = e[E_DIR] - moves[mid].was_new) == 0 &&
		    (c = strncmp(name, moves[mid].old, nlen)) == 0)
			c = moves[mid].old[nlen] == '\0' ? 0 : -1;
		if (c == 0)
			return &moves[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
entry_put(struct out *o, const unsigned char *e, const char *name, int in_new)
{
	unsigned char	rec[CACHE_RECORD];
	size_t		len = strlen(name);

	memcpy(rec, e, CACHE_RECORD);
	put_le(rec + E_NAMELEN, len, 2);
	rec[E_DIR] = in_new != 0;
	out_put(o, rec, CACHE_RECORD);
	out_put(o, name, len);
}

static void
committed_body(struct out *o, void *arg)
{
	const struct committed	*w = arg;
	const unsigned char	*buf = w->c->buf, *e;
	unsigned char		 rec[CACHE_RECORD];
	const struct cache_move	*m;
	size_t			 pos = CACHE_HEADER, i;

	for (i = 0; i < w->nfound; i++) {
		m = w->found[i];
		e = buf + m->off;
		out_put(o, buf + pos, m->off - pos);
		if (m->new != NULL)
			entry_put(o, e, m->new, m->in_new);
		pos = m->off + CACHE_RECORD + get_le(e + E_NAMELEN, 2);
	}
	out_put(o, buf + pos, w->c->len - CACHE_TRAILER - pos);
	/* In the listing's order, so that the next one needs no sorting. */
	for (i = 0; i < w->nadded; i++) {
		m = w->added[i];
		memset(rec, 0, sizeof(rec));
		put_le(rec + E_INO, m->st.st_ino, 8);
		put_le(rec + E_LEN, m->st.st_size, 8);
		put_le(rec + E_SEC, m->st.st_mtim.tv_sec, 8);
		put_le(rec + E_NSEC, m->st.st_mtim.tv_nsec, 4);
		put_le(rec + E_SIZE, m->size, 8);
		entry_put(o, rec, m->new, m->in_new);
	}
}

/*
 * Which entries the moves touch, and the count and length of the file
 * with them applied; -1 when a move cannot be recorded.
 */
static int
committed_plan(struct committed *w, uint32_t *count)
{
	const struct cache	*c = w->c;
	struct cache_move	*m;
	size_t			 off = CACHE_HEADER, len = c->len, i;
	uint32_t		 k;

	*count = c->count;
	for (k = 0; k < c->count; k++) {
		if ((m = move_find(w->moves, w->n, c->buf + off)) != NULL) {
			if (m->off != 0)
				return -1;
			m->off = off;
			w->found[w->nfound++] = m;
			len -= get_le(c->buf + off + E_NAMELEN, 2);
			if (m->new == NULL) {
				len -= CACHE_RECORD;
				(*count)--;
			} else
				len += strlen(m->new);
		}
		off += CACHE_RECORD + get_le(c->buf + off + E_NAMELEN, 2);
	}
	for (i = 0; i < w->n; i++) {
		m = &w->moves[i];
		if (m->new == NULL || m->off != 0)
			continue;
		if (!name_ok((const unsigned char *)m->new, strlen(m->new)) ||
		    !S_ISREG(m->st.st_mode) ||
		    !size_ok(m->st.st_size, m->size) || *count == UINT32_MAX)
			return -1;
		len += CACHE_RECORD + strlen(m->new);
		(*count)++;
		w->added[w->nadded++] = m;
	}
	return len <= CACHE_FILE_MAX && *count <= MAILDROP_MAX_MESSAGES ?
	    0 : -1;
}

/*
 * Whether the file read already says what a commit would write: nothing
 * moved, and its flags and stamps those of head.
 */
static int
committed_same(const struct cache *c, const unsigned char *head, size_t n)
{
	return n == 0 && memcmp(c->buf + H_FLAGS, head + H_FLAGS, 4) == 0 &&
	    memcmp(c->buf + H_STAMPS, head + H_STAMPS, 2 * STAMP_LEN) == 0;
}

int
cache_commit(int dirfd, const struct stat *was, const struct stat *cur,
    const struct stat *new, struct cache_move *moves, size_t n)
{
	unsigned char	 head[CACHE_HEADER];
	struct committed w;
	struct cache	*c;
	uint32_t	 count;
	size_t		 i;
	int		 rv = -1;

	memset(&w, 0, sizeof(w));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	w.c = c;
	w.moves = moves;
	w.n = n;
	for (i = 0; i < n; i++)
		moves[i].off = 0;
	qsort(moves, n, sizeof(*moves), move_cmp);
	/*
	 * The file the listing checked or wrote, unchanged since (its ctime
	 * too, which no one but the kernel sets): its sum is not taken again.
	 */
	if (cache_read(c, dirfd) == -1 || !same_file(&c->filest, was) ||
	    cache_check_fields(c) == -1 ||
	    (w.found = reallocarray(NULL, n + 1, sizeof(*w.found))) == NULL ||
	    (w.added = reallocarray(NULL, n + 1, sizeof(*w.added))) == NULL ||
	    committed_plan(&w, &count) == -1)
		goto done;
	qsort(w.found, w.nfound, sizeof(*w.found), found_cmp);
	qsort(w.added, w.nadded, sizeof(*w.added), added_cmp);
	memset(head, 0, sizeof(head));
	memcpy(head, CACHE_MAGIC, 8);
	put_le(head + H_VERSION, CACHE_VERSION, 4);
	put_le(head + H_COUNT, count, 4);
	put_le(head + H_FLAGS, CACHE_CUR_COMPLETE |
	    (new != NULL ? CACHE_COMPLETE : 0), 4);
	if (new != NULL)
		stamp_make(head + H_STAMPS, new);
	stamp_make(head + H_STAMPS + STAMP_LEN, cur);
	/* Nothing moved, and recorded as it is: nothing to write. */
	if (committed_same(c, head, n) ||
	    (new == NULL && n == 0 &&
	    (get_le(c->buf + H_FLAGS, 4) & CACHE_CUR_COMPLETE) &&
	    memcmp(c->buf + H_STAMPS + STAMP_LEN, head + H_STAMPS + STAMP_LEN,
	    STAMP_LEN) == 0)) {
		rv = 0;
		goto done;
	}
	if (w.nfound == 0 && w.nadded == 0 && count == c->count)
		rv = cache_restamp(dirfd, c, head);
	else
		rv = cache_replace(dirfd, head, committed_body, &w);
done:
	free(w.found);
	free(w.added);
	cache_free(c);
	return rv;
}

/* Whether directory i (0 new/, 1 cur/) is as its stamp recorded it. */
static int
dir_still(const struct cache *c, int i, const struct stat *dir)
{
	unsigned char	now[STAMP_LEN];

	stamp_make(now, dir);
	return !stamp_is_none(c->stamps[i]) &&
	    memcmp(now, c->stamps[i], STAMP_LEN) == 0;
}

int
cache_listing(struct cache *c, const struct stat dirs[2])
{
	if (c == NULL || !c->complete || !c->unique ||
	    !dir_still(c, 0, &dirs[0]) || !dir_still(c, 1, &dirs[1]))
		return 0;
	c->iter = CACHE_HEADER;
	c->iter_dir = -1;
	return 1;
}

int
cache_listing_cur(struct cache *c, const struct stat *cur)
{
	if (c == NULL || !c->cur_complete || !c->unique ||
	    !dir_still(c, 1, cur))
		return 0;
	c->iter = CACHE_HEADER;
	c->iter_dir = 1;
	return 1;
}

int
cache_next(struct cache *c, char name[MAILDIR_NAME_MAX + 1], int *in_new,
    uint64_t *size, uint32_t *ref, struct stat *key)
{
	const unsigned char	*e = c->buf + c->iter;
	size_t			 nlen;

	for (;; e = c->buf + c->iter) {
		if (c->iter == c->len - CACHE_TRAILER)
			return 0;
		nlen = get_le(e + E_NAMELEN, 2);	/* checked at open */
		/* E_DIR says new/, iter_dir 0 new/ and 1 cur/: unlike. */
		if (c->iter_dir == -1 || e[E_DIR] != c->iter_dir)
			break;
		c->iter += CACHE_RECORD + nlen;
	}
	memcpy(name, e + CACHE_RECORD, nlen);
	name[nlen] = '\0';
	*in_new = e[E_DIR];
	*size = get_le(e + E_SIZE, 8);
	entry_key(e, key);
	*ref = c->iter;
	c->iter += CACHE_RECORD + nlen;
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
	buf_free(c);
	free(c->slots);
	free(c->add);
	free(c);
}
