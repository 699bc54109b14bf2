/* Unit tests of auth/password.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/password.h"
#include "common/log.h"
#include "params.h"
#include "tests/unit/tap.h"

/* Known answers from openssl passwd -6 / -5 -salt kNoWnAnSwEr 'correct horse'. */
#define KAT_SHA512 "$6$kNoWnAnSwEr$p9feRFfp1e1ThBkCM7stVgZJdWJSTr3Mtjlf2KfJS" \
	"EqZV2kLi684y3c5NzyjR2AAyQNQvFb0b28TU6yHjxjR0."
#define KAT_SHA256 "$5$kNoWnAnSwEr$rqvhkvUrJjXznpels3l2JrPotRY5RZBkDAB4rtHAAA/"
#define KAT_PASS   "correct horse"

static void
test_known_answers(void)
{
	ok(password_verify("{SHA512-CRYPT}" KAT_SHA512, KAT_PASS) ==
	    PASSWORD_MATCH, "SHA512-CRYPT known answer");
	ok(password_verify("{SHA512-CRYPT}" KAT_SHA512, "correct horsE") ==
	    PASSWORD_MISMATCH, "SHA512-CRYPT wrong password");
	ok(password_verify("{sha512-crypt}" KAT_SHA512, KAT_PASS) ==
	    PASSWORD_MATCH, "scheme names ignore case");
	ok(password_verify(KAT_SHA512, KAT_PASS) == PASSWORD_MATCH,
	    "bare $6$ hash");
	ok(password_verify("{CRYPT}" KAT_SHA512, KAT_PASS) == PASSWORD_MATCH,
	    "{CRYPT} with a $6$ hash");
	ok(password_verify("{SHA256-CRYPT}" KAT_SHA256, KAT_PASS) ==
	    PASSWORD_MATCH, "SHA256-CRYPT known answer");
	ok(password_verify("{SHA256-CRYPT}" KAT_SHA256, "correct") ==
	    PASSWORD_MISMATCH, "SHA256-CRYPT wrong password");
	ok(password_verify("{SHA512-CRYPT}" KAT_SHA512, "") ==
	    PASSWORD_MISMATCH, "empty password against a real hash");
	ok(password_verify("{SHA512-CRYPT}" KAT_SHA512,
	    KAT_PASS KAT_PASS) == PASSWORD_MISMATCH, "longer password");
}

static void
test_bad_hashes(void)
{
	ok(password_verify("{SHA512-CRYPT}" KAT_SHA256, KAT_PASS) ==
	    PASSWORD_BADHASH, "{SHA512-CRYPT} with a $5$ hash");
	ok(password_verify("{SHA256-CRYPT}" KAT_SHA512, KAT_PASS) ==
	    PASSWORD_BADHASH, "{SHA256-CRYPT} with a $6$ hash");
	ok(password_verify("{BLF-CRYPT}" KAT_SHA512, KAT_PASS) ==
	    PASSWORD_BADHASH, "{BLF-CRYPT} with a $6$ hash");
	ok(password_verify("{MD5}" KAT_SHA512, KAT_PASS) == PASSWORD_BADHASH,
	    "unknown scheme");
	ok(password_verify("{}" KAT_SHA512, KAT_PASS) == PASSWORD_BADHASH,
	    "empty scheme");
	ok(password_verify("{SHA512-CRYPT" KAT_SHA512, KAT_PASS) ==
	    PASSWORD_BADHASH, "unterminated scheme");
	ok(password_verify("", KAT_PASS) == PASSWORD_BADHASH, "empty hash");
	ok(password_verify("{SHA512-CRYPT}", KAT_PASS) == PASSWORD_BADHASH,
	    "scheme without a hash");
	ok(password_verify("*", "") == PASSWORD_BADHASH, "locked '*'");
	ok(password_verify("!" KAT_SHA512, KAT_PASS) == PASSWORD_BADHASH,
	    "locked '!'");
	ok(password_verify("{CRYPT}*0", KAT_PASS) == PASSWORD_BADHASH,
	    "crypt failure token");
	ok(password_verify("$6$kNoWnAnSwEr", KAT_PASS) == PASSWORD_BADHASH,
	    "salt without a hash");
	ok(password_verify("$6$kNoWnAnSwEr$p9fe", KAT_PASS) ==
	    PASSWORD_BADHASH, "truncated hash");
	ok(password_verify("{PLAIN}", "") == PASSWORD_BADHASH,
	    "empty {PLAIN}");
}

static void
test_plain(void)
{
	ok(password_verify("{PLAIN}secret", "secret") == PASSWORD_MATCH,
	    "{PLAIN} match");
	ok(password_verify("{plain}secret", "secret") == PASSWORD_MATCH,
	    "{plain} match");
	ok(password_verify("{PLAIN}secret", "Secret") == PASSWORD_MISMATCH,
	    "{PLAIN} differs in case");
	ok(password_verify("{PLAIN}secret", "secre") == PASSWORD_MISMATCH,
	    "{PLAIN} prefix of the password");
	ok(password_verify("{PLAIN}secret", "secrets") == PASSWORD_MISMATCH,
	    "{PLAIN} longer password");
	ok(password_verify("{PLAIN}secret", "") == PASSWORD_MISMATCH,
	    "{PLAIN} empty password");
	ok(password_verify("{PLAIN}a:b}c", "a:b}c") == PASSWORD_MATCH,
	    "{PLAIN} with '}' and ':'");
}

static void
test_roundtrip(const char *scheme, const char *tag)
{
	char	out[AUTH_HASH_MAX + 1];
	int	r;

	r = password_hash(scheme, 0, "p4ss w0rd", out, sizeof(out));
	ok(r == 0 && strncmp(out, tag, strlen(tag)) == 0,
	    "%s: hash starts with %s", scheme, tag);
	ok(password_verify(out, "p4ss w0rd") == PASSWORD_MATCH,
	    "%s: right password", scheme);
	ok(password_verify(out, "p4ss w0rD") == PASSWORD_MISMATCH,
	    "%s: wrong password", scheme);
	ok(password_verify(out, "") == PASSWORD_MISMATCH,
	    "%s: empty password", scheme);
}

static void
test_hash(void)
{
	char	 out[AUTH_HASH_MAX + 1], again[AUTH_HASH_MAX + 1];
	char	 big[AUTH_PASS_MAX + 2];
	size_t	 i;
	const char *name;

	test_roundtrip("SHA512-CRYPT", "{SHA512-CRYPT}$6$");
	test_roundtrip("SHA256-CRYPT", "{SHA256-CRYPT}$5$");
	test_roundtrip("BLF-CRYPT", "{BLF-CRYPT}$2b$");
	test_roundtrip("YESCRYPT", "$y$");
	test_roundtrip("PLAIN", "{PLAIN}p4ss w0rd");
	test_roundtrip("sha512-crypt", "{SHA512-CRYPT}$6$");

	ok(password_hash("SHA512-CRYPT", 0, "x", out, sizeof(out)) == 0 &&
	    password_hash("SHA512-CRYPT", 0, "x", again, sizeof(again)) == 0 &&
	    strcmp(out, again) != 0, "salts differ");
	ok(password_hash("MD5", 0, "x", out, sizeof(out)) == -1,
	    "hash: unknown scheme");
	ok(password_hash("CRYPT", 0, "x", out, sizeof(out)) == -1,
	    "hash: CRYPT names no algorithm");
	ok(password_hash("SHA512-CRYPT", 0, "", out, sizeof(out)) == -1,
	    "hash: empty password");
	ok(password_hash("SHA512-CRYPT", 0, "x", out, 20) == -1 &&
	    out[0] == '\0', "hash: output too small, wiped");
	ok(password_hash("PLAIN", 0, "secret", out, 10) == -1 && out[0] == '\0',
	    "hash: {PLAIN} too small, wiped");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(password_hash("PLAIN", 0, big, out, sizeof(out)) == -1,
	    "hash: password over AUTH_PASS_MAX");
	ok(password_verify("{PLAIN}x", big) == PASSWORD_MISMATCH,
	    "verify: password over AUTH_PASS_MAX");
	big[sizeof(big) - 2] = '\0';
	ok(password_hash("SHA256-CRYPT", 0, big, out, sizeof(out)) == 0 &&
	    password_verify(out, big) == PASSWORD_MATCH,
	    "hash: password of AUTH_PASS_MAX");

	ok(password_scheme_known("SHA512-CRYPT") &&
	    password_scheme_known("yescrypt") &&
	    password_scheme_known("PLAIN") && !password_scheme_known("CRYPT") &&
	    !password_scheme_known("MD5") && !password_scheme_known(""),
	    "password_scheme_known");
	for (i = 0; (name = password_scheme_name(i)) != NULL; i++)
		if (!password_scheme_known(name))
			break;
	ok(i == 7 && password_scheme_name(i) == NULL,
	    "password_scheme_name lists the 7 schemes");
}

/* The cost of each scheme: its default, a chosen one, the range. */
static void
test_rounds(void)
{
	char		out[AUTH_HASH_MAX + 1];
	unsigned long	min, max, def;

	ok(password_hash("BLF-CRYPT", 0, "pw", out, sizeof(out)) == 0 &&
	    strncmp(out, "{BLF-CRYPT}$2b$10$", 18) == 0,
	    "BLF-CRYPT: cost 10 by default");
	ok(password_hash("BLF-CRYPT", 4, "pw", out, sizeof(out)) == 0 &&
	    strncmp(out, "{BLF-CRYPT}$2b$04$", 18) == 0 &&
	    password_verify(out, "pw") == PASSWORD_MATCH,
	    "BLF-CRYPT: cost 4 chosen");
	ok(password_hash("BLF-CRYPT", 3, "pw", out, sizeof(out)) == -1 &&
	    out[0] == '\0' &&
	    password_hash("BLF-CRYPT", 32, "pw", out, sizeof(out)) == -1,
	    "BLF-CRYPT: cost outside 4 to 31 refused");
	ok(password_hash("SHA512-CRYPT", 0, "pw", out, sizeof(out)) == 0 &&
	    strncmp(out, "{SHA512-CRYPT}$6$", 17) == 0 &&
	    strstr(out, "rounds=") == NULL,
	    "SHA512-CRYPT: crypt(3)'s 5000 rounds by default");
	ok(password_hash("SHA512-CRYPT", 5000, "pw", out, sizeof(out)) == 0 &&
	    strstr(out, "rounds=") == NULL, "SHA512-CRYPT: 5000 is the default");
	ok(password_hash("SHA512-CRYPT", 1000, "pw", out, sizeof(out)) == 0 &&
	    strncmp(out, "{SHA512-CRYPT}$6$rounds=1000$", 29) == 0 &&
	    password_verify(out, "pw") == PASSWORD_MATCH,
	    "SHA512-CRYPT: 1000 rounds chosen");
	ok(password_hash("SHA256-CRYPT", 6000, "pw", out, sizeof(out)) == 0 &&
	    strncmp(out, "{SHA256-CRYPT}$5$rounds=6000$", 29) == 0 &&
	    password_verify(out, "pw") == PASSWORD_MATCH,
	    "SHA256-CRYPT: 6000 rounds chosen");
	ok(password_hash("SHA512-CRYPT", 999, "pw", out, sizeof(out)) == -1 &&
	    password_hash("SHA256-CRYPT", 999, "pw", out, sizeof(out)) == -1 &&
	    password_hash("SHA256-CRYPT", 1000000000, "pw", out,
	    sizeof(out)) == -1,
	    "SHA-crypt: rounds outside 1000 to 999999999 refused, not clamped");
	ok(password_hash("YESCRYPT", 3, "pw", out, sizeof(out)) == 0 &&
	    password_verify(out, "pw") == PASSWORD_MATCH &&
	    password_hash("YESCRYPT", 12, "pw", out, sizeof(out)) == -1,
	    "YESCRYPT: cost 3 chosen, 12 refused");
	ok(password_hash("PLAIN", 1, "pw", out, sizeof(out)) == -1 &&
	    password_hash("PLAIN", 0, "pw", out, sizeof(out)) == 0,
	    "PLAIN takes no rounds");
	ok(password_scheme_rounds("blf-crypt", &min, &max, &def) == 0 &&
	    min == 4 && max == 31 && def == 10, "rounds of BLF-CRYPT");
	ok(password_scheme_rounds("SHA256-CRYPT", &min, &max, &def) == 0 &&
	    min == 1000 && max == 999999999 && def == 5000,
	    "rounds of SHA256-CRYPT");
	ok(password_scheme_rounds("PLAIN", &min, &max, &def) == -1 &&
	    password_scheme_rounds("CRYPT", &min, &max, &def) == -1 &&
	    password_scheme_rounds("MD5", &min, &max, &def) == -1,
	    "no rounds for PLAIN, CRYPT or an unknown scheme");
}

/* Stored bcrypt and yescrypt forms that password_hash() does not write. */
static void
test_other_prefixes(void)
{
	static const char *prefix[] = { "$2y$05$", "$2a$05$" };
	char	out[AUTH_HASH_MAX + 1], other[2 * AUTH_HASH_MAX];
	size_t	i;

	if (password_hash("BLF-CRYPT", 5, "pw", out, sizeof(out)) != 0) {
		ok(0, "BLF-CRYPT hash");
		return;
	}
	/* {BLF-CRYPT}$2b$05$... */
	for (i = 0; i < 2; i++) {
		snprintf(other, sizeof(other), "{BLF-CRYPT}%s%s", prefix[i],
		    out + strlen("{BLF-CRYPT}$2b$05$"));
		ok(password_verify(other, "pw") == PASSWORD_MATCH &&
		    password_verify(other, "pW") == PASSWORD_MISMATCH,
		    "BLF-CRYPT with %.4s", prefix[i]);
	}
	ok(password_hash("YESCRYPT", 0, "pw", out, sizeof(out)) == 0, "yescrypt");
	snprintf(other, sizeof(other), "{CRYPT}%s", out);
	ok(password_verify(other, "pw") == PASSWORD_MATCH, "{CRYPT}$y$");
	snprintf(other, sizeof(other), "{SHA512-CRYPT}%s", out);
	ok(password_verify(other, "pw") == PASSWORD_BADHASH,
	    "{SHA512-CRYPT}$y$");
}

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The dummy check must cost about what a real SHA512-CRYPT check does. */
static void
test_dummy_timing(void)
{
	char		 stored[AUTH_HASH_MAX + 1];
	struct timespec	 t0, t1, t2, t3;
	double		 real, dummy, empty;
	int		 i, matched = 0;

	if (password_hash("SHA512-CRYPT", 0, "hunter2", stored,
	    sizeof(stored)) != 0) {
		ok(0, "SHA512-CRYPT hash for the timing");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 5; i++)
		matched += password_verify(stored, "hunter3") ==
		    PASSWORD_MISMATCH;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < 5; i++)
		password_dummy_verify("hunter3");
	clock_gettime(CLOCK_MONOTONIC, &t2);
	for (i = 0; i < 5; i++)
		password_dummy_verify("");
	clock_gettime(CLOCK_MONOTONIC, &t3);
	real = elapsed(&t0, &t1);
	dummy = elapsed(&t1, &t2);
	empty = elapsed(&t2, &t3);
	printf("# 5 real checks %.4fs, 5 dummy checks %.4fs, 5 of an empty "
	    "password %.4fs\n", real, dummy, empty);
	ok(matched == 5, "real checks ran");
	ok(dummy > 0.3 * real, "dummy check costs as much as a real one");
	ok(empty > 0.3 * real, "so does the dummy check of an empty password");
}

int
main(void)
{
	log_init("test_password", 1);
	test_known_answers();
	test_bad_hashes();
	test_plain();
	test_hash();
	test_rounds();
	test_other_prefixes();
	test_dummy_timing();
	return tap_done();
}
