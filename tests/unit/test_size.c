/*
 * The size counter against a plain per-octet model of the rules, whole and
 * split at every position, and over files larger than one read.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/size.h"
#include "tap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng >> 32;
}

/* The rules, one octet at a time. */
static uint64_t
model(const unsigned char *p, size_t len)
{
	uint64_t	n = 0;
	int		prev = -1;
	size_t		i;

	for (i = 0; i < len; i++) {
		n += (p[i] == '\n' && prev != '\r') ? 2 : 1;
		prev = p[i];
	}
	if (prev != -1 && prev != '\n')
		n += 2;
	return n;
}

static uint64_t
count(const void *p, size_t len)
{
	struct size_counter	sc;

	size_init(&sc);
	size_feed(&sc, p, len);
	return size_finish(&sc);
}

static uint64_t
count_split(const unsigned char *p, size_t len, size_t a, size_t b)
{
	struct size_counter	sc;

	size_init(&sc);
	size_feed(&sc, p, a);
	size_feed(&sc, p + a, 0);
	size_feed(&sc, p + a, b - a);
	size_feed(&sc, p + b, len - b);
	return size_finish(&sc);
}

/* Every split into three pieces counts the same as the whole. */
static int
splits_agree(const char *s)
{
	size_t	len = strlen(s), a, b;
	uint64_t want = count(s, len);

	for (a = 0; a <= len; a++)
		for (b = a; b <= len; b++)
			if (count_split((const unsigned char *)s, len, a,
			    b) != want)
				return 0;
	return 1;
}

static int
file_count(const unsigned char *p, size_t len, uint64_t *out)
{
	int	fd, rv;

	if ((fd = open("/tmp", O_TMPFILE | O_RDWR, 0600)) == -1)
		return -1;
	if (write(fd, p, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	rv = size_count_fd_len(fd, UINT64_MAX, out);
	close(fd);
	return rv;
}

static int
file_count_len(const unsigned char *p, size_t len, uint64_t n, uint64_t *out)
{
	int	fd, rv;

	if ((fd = open("/tmp", O_TMPFILE | O_RDWR, 0600)) == -1)
		return -1;
	if (write(fd, p, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	rv = size_count_fd_len(fd, n, out);
	close(fd);
	return rv;
}

static void
test_rules(void)
{
	ok(count("", 0) == 0, "empty is 0");
	ok(count("a\n", 2) == 3, "bare LF counts 2");
	ok(count("a\r\n", 3) == 3, "CRLF counts 2, not doubled");
	ok(count("a\rb\n", 4) == 5, "lone CR counts 1");
	ok(count("a", 1) == 3, "no final newline gets CRLF");
	ok(count("a\r", 2) == 4, "final lone CR gets CRLF after it");
	ok(count("\n", 1) == 2, "lone LF");
	ok(count("\r\n", 2) == 2, "lone CRLF");
	ok(count("\n\n", 2) == 4, "LF LF");
	ok(count("\r\r\n", 3) == 3, "CR then CRLF");
	ok(count(".\n", 2) == 3, "a dot line: no stuffing counted");
	ok(count("\0\n", 2) == 3, "NUL is an octet like any other");
}

static void
test_splits(void)
{
	static const char *cases[] = {
		"a\r\nb\nc\r\rd\n", "\r\n\r\n", "\n\r\n\r", "x\r", "\r",
		"ab\r\n\r\n.\r\n..\n", "\r\r\n\n\r",
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(splits_agree(cases[i]), "every split of case %zu", i);
}

static void
test_random(void)
{
	static const unsigned char alphabet[] = "a\r\n.";
	unsigned char	buf[512];
	size_t		len, i, a, b, n, bad = 0;

	for (n = 0; n < 2000; n++) {
		len = rnd() % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = alphabet[rnd() % 4];
		a = len ? rnd() % (len + 1) : 0;
		b = a + (len - a ? rnd() % (len - a + 1) : 0);
		if (count(buf, len) != model(buf, len) ||
		    count_split(buf, len, a, b) != model(buf, len))
			bad++;
	}
	ok(bad == 0, "2000 random strings match the model (%zu bad)", bad);
}

static void
test_files(void)
{
	size_t		len = 3 * 65536 + 7, i;
	unsigned char	*p;
	uint64_t	n = 0;

	if ((p = malloc(len)) == NULL)
		abort();
	for (i = 0; i < len; i++)
		p[i] = "abc\r\n.x\n"[rnd() % 8];
	p[65535] = '\r';	/* a CRLF across the first read boundary */
	p[65536] = '\n';
	p[131071] = 'z';	/* a bare LF at the start of the third read */
	p[131072] = '\n';
	ok(file_count(p, len, &n) == 0 && n == model(p, len),
	    "file over three reads: %llu", (unsigned long long)n);
	p[len - 1] = '\n';
	ok(file_count(p, len, &n) == 0 && n == model(p, len),
	    "file ending in LF");
	ok(file_count(p, 0, &n) == 0 && n == 0, "empty file is 0");
	ok(file_count((const unsigned char *)"x", 1, &n) == 0 && n == 3,
	    "one octet file is 3");
	ok(size_count_fd_len(-1, UINT64_MAX, &n) == -1, "bad descriptor is -1");
	ok(file_count_len(p, len, 65537, &n) == 0 && n == model(p, 65537),
	    "counting a prefix across a read boundary");
	ok(file_count_len(p, 10, 1000, &n) == 0 && n == model(p, 10),
	    "a length past the end stops at the end");
	free(p);
}

int
main(void)
{
	test_rules();
	test_splits();
	test_random();
	test_files();
	return tap_done();
}
