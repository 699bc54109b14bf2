/*
 * Unit tests of the LDAP lookup's pure parts: the filter with the user
 * name escaped (RFC 4515 section 3), ldap_scope, the path rules for what
 * the directory sends, and the request pop3d-ldap reads.
 */
#include <string.h>

#include "lookup/lookup.h"
#include "tests/unit/tap.h"

static void
filter_is(const char *tmpl, const char *user, const char *want)
{
	char out[LDAP_FILTER_MAX];

	ok(lookup_filter(tmpl, user, out, sizeof(out)) == 0 &&
	    strcmp(out, want) == 0, "filter %s with %s: %s", tmpl, user, want);
}

static void
test_filter(void)
{
	char	out[16], big[AUTH_USER_MAX + 1];

	filter_is("(uid=%u)", "alice", "(uid=alice)");
	filter_is("(uid=%u)", "*", "(uid=\\2a)");
	filter_is("(uid=%u)", "alice)(uid=*", "(uid=alice\\29\\28uid=\\2a)");
	filter_is("(uid=%u)", "a\\b", "(uid=a\\5cb)");
	filter_is("(|(uid=%u)(mail=%u))", "b@x", "(|(uid=b@x)(mail=b@x))");
	filter_is("(x=100%%)(uid=%u)", "c", "(x=100%)(uid=c)");
	filter_is("(uid=%u)", "\x01\xff", "(uid=\\01\\ff)");
	ok(lookup_filter("(uid=%s)", "a", out, sizeof(out)) == -1,
	    "unknown %% sequence refused");
	ok(lookup_filter("(uid=%", "a", out, sizeof(out)) == -1,
	    "trailing %% refused");
	ok(lookup_filter("(uid=%u)", "0123456789", out, sizeof(out)) == -1,
	    "too long for the buffer refused");
	ok(lookup_filter("(uid=%u)", "01234567", out, sizeof(out)) == 0 &&
	    strcmp(out, "(uid=01234567)") == 0, "exactly fitting");
	ok(lookup_filter("(uid=%u)", "0123456*", out, sizeof(out)) == -1,
	    "an escape that would not fit refused");
	memset(big, '*', AUTH_USER_MAX);
	big[AUTH_USER_MAX] = '\0';
	ok(lookup_filter("(&(objectClass=posixAccount)(uid=%u))", big,
	    (char[LDAP_FILTER_MAX]){ 0 }, LDAP_FILTER_MAX) == 0,
	    "the longest user name, all escaped, fits LDAP_FILTER_MAX");
}

static void
test_scope(void)
{
	ok(lookup_scope("base") >= 0 && lookup_scope("one") >= 0 &&
	    lookup_scope("sub") >= 0, "base, one, sub");
	ok(lookup_scope("subtree") == -1 && lookup_scope("") == -1,
	    "other scopes refused");
}

static void
test_paths(void)
{
	static const char *good[] = { "/home/alice", "/", "/a/..b/c",
	    "/home/a b", "/srv/mail/alice/Maildir/" };
	static const char *bad[] = { "home/alice", "", "/home/../etc",
	    "/home/..", "/home/%u", "/home/\x7f", "/home/\n", "/h\xc3\xa9" };
	char	long_path[POP3D_PATH_MAX + 1];
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(lookup_path_ok(good[i]), "path %s accepted", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!lookup_path_ok(bad[i]), "bad path %zu refused", i);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	ok(!lookup_path_ok(long_path), "a path of POP3D_PATH_MAX refused");
}

static void
test_request(void)
{
	unsigned char		m[LOOKUP_REQUEST_MAX + 2];
	struct lookup_request	rq;
	char			user[AUTH_USER_MAX + 2], bindpw[LOOKUP_BINDPW_MAX + 2];
	long			n;

	n = lookup_request_encode("alice", "pw", "", m, sizeof(m));
	ok(n == 1 + 6 + 3 + 1 && lookup_request_decode(m, n, &rq) == 0 &&
	    strcmp(rq.user, "alice") == 0 && strcmp(rq.pass, "pw") == 0 &&
	    rq.bindpw[0] == '\0', "a request round trip, anonymous");
	ok(lookup_request_decode(m, n - 1, &rq) == -1 && rq.user[0] == '\0',
	    "an unterminated last string refused, nothing kept");
	ok(lookup_request_decode(m, n + 1, &rq) == -1, "octets left over refused");
	m[0] = LOOKUP_VERSION + 1;
	ok(lookup_request_decode(m, n, &rq) == -1, "another version refused");
	ok(lookup_request_decode(m, 0, &rq) == -1, "an empty request refused");

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	ok(lookup_request_encode(user, "pw", "", m, sizeof(m)) == -1,
	    "a user past AUTH_USER_MAX not encoded");
	user[AUTH_USER_MAX] = '\0';
	memset(bindpw, 'b', sizeof(bindpw) - 1);
	bindpw[LOOKUP_BINDPW_MAX] = '\0';
	n = lookup_request_encode(user, "pw", bindpw, m, sizeof(m));
	ok(n > 0 && lookup_request_decode(m, n, &rq) == 0 &&
	    strlen(rq.user) == AUTH_USER_MAX &&
	    strlen(rq.bindpw) == LOOKUP_BINDPW_MAX, "the longest fields fit");
	/* A forged message: the user's NUL moved past the limit. */
	m[1 + AUTH_USER_MAX] = 'u';
	ok(lookup_request_decode(m, n, &rq) == -1, "an overlong user refused");
}

int
main(void)
{
	test_filter();
	test_scope();
	test_paths();
	test_request();
	return tap_done();
}
