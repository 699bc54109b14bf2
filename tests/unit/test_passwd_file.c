/* Unit tests of auth/passwd_file.c. */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/passwd_file.h"
#include "common/config.h"
#include "common/log.h"
#include "params.h"
#include "tests/unit/tap.h"

static char	path[64];

/* Write contents to a fresh temporary file named in path. */
static void
write_file(const char *contents, size_t len)
{
	const char	*tmpdir;
	FILE		*fp;
	size_t		 n;
	int		 fd;

	if (path[0] != '\0')
		unlink(path);
	if ((tmpdir = getenv("TMPDIR")) == NULL || strlen(tmpdir) > 40)
		tmpdir = "/tmp";
	snprintf(path, sizeof(path), "%s/pwfile.", tmpdir);
	/* The mkstemp(3) template ends in six of 'X'. */
	n = strlen(path);
	memset(path + n, 'X', 6);
	path[n + 6] = '\0';
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		err(1, "%s", path);
	if (fwrite(contents, 1, len, fp) != len || fclose(fp) == EOF)
		err(1, "%s", path);
}

static void
write_str(const char *contents)
{
	write_file(contents, strlen(contents));
}

static enum passwd_status
lookup(const char *user, struct passwd_entry *pe)
{
	return passwd_file_lookup(path, user, pe);
}

static void
test_parse_line(void)
{
	struct passwd_entry	pe;

	ok(passwd_file_parse_line("bob:{PLAIN}pw:1000:100:Bob B:/home/bob:"
	    "/bin/sh:userdb_quota=1G", &pe) == 0 &&
	    strcmp(pe.user, "bob") == 0 && strcmp(pe.hash, "{PLAIN}pw") == 0 &&
	    pe.has_uid && pe.uid == 1000 && pe.has_gid && pe.gid == 100 &&
	    strcmp(pe.home, "/home/bob") == 0, "full line");
	ok(passwd_file_parse_line("bob:$6$s$h", &pe) == 0 &&
	    strcmp(pe.hash, "$6$s$h") == 0 && !pe.has_uid && !pe.has_gid &&
	    pe.home[0] == '\0', "user and hash only");
	ok(passwd_file_parse_line("bob:x:1000", &pe) == 0 && pe.has_uid &&
	    pe.uid == 1000 && !pe.has_gid, "uid only");
	ok(passwd_file_parse_line("bob:x::", &pe) == 0 && !pe.has_uid &&
	    !pe.has_gid, "empty uid and gid");
	ok(passwd_file_parse_line("bob:x:0:0::/", &pe) == 0 && pe.has_uid &&
	    pe.uid == 0 && pe.has_gid && pe.gid == 0 &&
	    strcmp(pe.home, "/") == 0, "uid 0 and home /");
	ok(passwd_file_parse_line("bob:x:4294967294:4294967294", &pe) == 0 &&
	    pe.uid == 4294967294U && pe.gid == 4294967294U, "largest ids");
	ok(passwd_file_parse_line("bob:x:1:2:g:/h:/s:a:b:c", &pe) == 0 &&
	    strcmp(pe.home, "/h") == 0, "colons in the extra field");
	ok(passwd_file_parse_line("bob:x:1:2::::", &pe) == 0 &&
	    pe.home[0] == '\0', "empty trailing fields");

	ok(passwd_file_parse_line("bob:x:1:2::::a=b login_delay=300\tc",
	    &pe) == 0 && pe.has_login_delay && pe.login_delay == 300,
	    "login_delay among other extra fields");
	ok(passwd_file_parse_line("bob:x:1:2::::login_delay=0", &pe) == 0 &&
	    pe.has_login_delay && pe.login_delay == 0, "login_delay=0");
	ok(passwd_file_parse_line("bob:x:1:2::::xlogin_delay=5 login_delayed=1",
	    &pe) == 0 && !pe.has_login_delay, "other keys are not login_delay");
	ok(passwd_file_parse_line("bob:x:1:2::::login_delay=", &pe) == -1 &&
	    passwd_file_parse_line("bob:x:1:2::::login_delay=-1", &pe) == -1 &&
	    passwd_file_parse_line("bob:x:1:2::::login_delay=+1", &pe) == -1 &&
	    passwd_file_parse_line("bob:x:1:2::::login_delay=86401", &pe) == -1 &&
	    passwd_file_parse_line("bob:x:1:2::::login_delay=99999999999999999999",
	    &pe) == -1, "bad login_delay makes the line malformed");
	ok(passwd_file_parse_line("bob:x:1:2::::expire=30", &pe) == 0 &&
	    pe.has_expire && pe.expire == 30 && !pe.has_login_delay,
	    "expire=30");
	ok(passwd_file_parse_line("bob:x:1:2::::expire=never login_delay=5",
	    &pe) == 0 && pe.has_expire && pe.expire == EXPIRE_NEVER &&
	    pe.login_delay == 5, "expire=never with login_delay");
	ok(passwd_file_parse_line("bob:x:1:2::::expire=", &pe) == -1 &&
	    passwd_file_parse_line("bob:x:1:2::::expire=NEVER", &pe) == -1 &&
	    passwd_file_parse_line("bob:x:1:2::::expire=nevermore", &pe) == -1 &&
	    passwd_file_parse_line("bob:x:1:2::::expire=3651", &pe) == -1,
	    "bad expire makes the line malformed");
	ok(passwd_file_parse_line("bob", &pe) == -1, "no password field");
	ok(passwd_file_parse_line("bob:", &pe) == -1, "empty password");
	ok(passwd_file_parse_line(":x:1:1", &pe) == -1, "empty user");
	ok(passwd_file_parse_line("", &pe) == -1, "empty line");
	ok(passwd_file_parse_line("bob:x:abc", &pe) == -1, "uid not numeric");
	ok(passwd_file_parse_line("bob:x:12a", &pe) == -1, "uid 12a");
	ok(passwd_file_parse_line("bob:x:-1", &pe) == -1, "uid -1");
	ok(passwd_file_parse_line("bob:x:+1", &pe) == -1, "uid +1");
	ok(passwd_file_parse_line("bob:x: 1", &pe) == -1, "uid with a blank");
	ok(passwd_file_parse_line("bob:x:4294967295", &pe) == -1,
	    "uid 4294967295");
	ok(passwd_file_parse_line("bob:x:4294967296", &pe) == -1,
	    "uid 4294967296");
	ok(passwd_file_parse_line("bob:x:00000000001000", &pe) == -1,
	    "uid with too many digits");
	ok(passwd_file_parse_line("bob:x:1:4294967296", &pe) == -1,
	    "gid 4294967296");
	ok(passwd_file_parse_line("bob:x:1:1::home/bob", &pe) == -1,
	    "relative home");
	ok(passwd_file_parse_line("b\tb:x", &pe) == -1 && pe.user[0] == '\0',
	    "control character in the user name; entry wiped");
}

static void
test_field_limits(void)
{
	struct passwd_entry	 pe;
	char			*line;
	size_t			 n;

	n = AUTH_USER_MAX + AUTH_HASH_MAX + POP3D_PATH_MAX + 64;
	if ((line = calloc(1, n)) == NULL)
		err(1, NULL);

	memset(line, 'u', AUTH_USER_MAX);
	strlcpy(line + AUTH_USER_MAX, ":x", n - AUTH_USER_MAX);
	ok(passwd_file_parse_line(line, &pe) == 0 &&
	    strlen(pe.user) == AUTH_USER_MAX, "user of AUTH_USER_MAX");
	memset(line, 'u', AUTH_USER_MAX + 1);
	strlcpy(line + AUTH_USER_MAX + 1, ":x", n - AUTH_USER_MAX - 1);
	ok(passwd_file_parse_line(line, &pe) == -1, "user over AUTH_USER_MAX");

	strlcpy(line, "bob:", n);
	memset(line + 4, 'h', AUTH_HASH_MAX);
	line[4 + AUTH_HASH_MAX] = '\0';
	ok(passwd_file_parse_line(line, &pe) == 0 &&
	    strlen(pe.hash) == AUTH_HASH_MAX, "hash of AUTH_HASH_MAX");
	strlcat(line, "h:1:1", n);
	ok(passwd_file_parse_line(line, &pe) == -1, "hash over AUTH_HASH_MAX");

	strlcpy(line, "bob:x:1:1::/", n);
	memset(line + 12, 'd', POP3D_PATH_MAX - 2);
	line[12 + POP3D_PATH_MAX - 2] = '\0';
	ok(passwd_file_parse_line(line, &pe) == 0 &&
	    strlen(pe.home) == POP3D_PATH_MAX - 1, "home of POP3D_PATH_MAX - 1");
	strlcat(line, "d:/bin/sh", n);
	ok(passwd_file_parse_line(line, &pe) == -1, "home too long");
	free(line);
}

static void
test_lookup(void)
{
	struct passwd_entry	pe;

	write_str("# users\n"
	    "\n"
	    "   \n"
	    "\t# indented comment\n"
	    "bobby:{PLAIN}bobby:1001:1001::/home/bobby\n"
	    "alice:{PLAIN}a:1000:1000:Alice:/home/alice:/bin/sh\n"
	    "broken:{PLAIN}b:notanumber\n"
	    "carol:{PLAIN}c:4294967296\n"
	    "dave:{PLAIN}d:1002\n"
	    "eve:{PLAIN}e\r\n"
	    "bo:{PLAIN}bo\n"
	    "alice:{PLAIN}second\n"
	    "frank:{PLAIN}f");
	ok(lookup("alice", &pe) == PASSWD_FOUND &&
	    strcmp(pe.hash, "{PLAIN}a") == 0 && pe.uid == 1000 &&
	    strcmp(pe.home, "/home/alice") == 0, "full entry found");
	ok(lookup("bob", &pe) == PASSWD_NOUSER && pe.hash[0] == '\0',
	    "\"bob\" does not match \"bobby\" or \"bo\"");
	ok(lookup("bobby", &pe) == PASSWD_FOUND &&
	    strcmp(pe.hash, "{PLAIN}bobby") == 0, "bobby found");
	ok(lookup("Alice", &pe) == PASSWD_NOUSER, "case-sensitive");
	ok(lookup("broken", &pe) == PASSWD_NOUSER, "non-numeric uid skipped");
	ok(lookup("carol", &pe) == PASSWD_NOUSER, "uid overflow skipped");
	ok(lookup("dave", &pe) == PASSWD_FOUND && pe.has_uid &&
	    !pe.has_gid, "entry after malformed ones found");
	ok(lookup("eve", &pe) == PASSWD_FOUND &&
	    strcmp(pe.hash, "{PLAIN}e") == 0, "CRLF line");
	ok(lookup("frank", &pe) == PASSWD_FOUND &&
	    strcmp(pe.hash, "{PLAIN}f") == 0, "last line without newline");
	ok(lookup("nobody", &pe) == PASSWD_NOUSER, "user not found");
	ok(lookup("", &pe) == PASSWD_NOUSER, "empty user");
	ok(lookup("# users", &pe) == PASSWD_NOUSER, "comment never matches");
}

static void
test_long_lines(void)
{
	static const char	 nulfile[] = "nul:{PLAIN}a\0b\nzed:{PLAIN}z\n";
	struct passwd_entry	 pe;
	char			*buf;
	size_t			 n = 20000, len;

	if ((buf = calloc(1, n)) == NULL)
		err(1, NULL);
	/* A long line whose start looks like a valid entry for "mallory". */
	strlcpy(buf, "mallory:{PLAIN}m:1:1::/home/m:/bin/sh:", n);
	len = strlen(buf);
	memset(buf + len, 'x', 10000);
	strlcat(buf, "\nzed:{PLAIN}z\n", n);
	write_str(buf);
	ok(lookup("mallory", &pe) == PASSWD_NOUSER,
	    "over-long line is skipped, not truncated");
	ok(lookup("zed", &pe) == PASSWD_FOUND, "entry after a long line");

	/* A long field that still fits the line buffer. */
	strlcpy(buf, "long:{PLAIN}", n);
	len = strlen(buf);
	memset(buf + len, 'p', AUTH_HASH_MAX + 10);
	strlcat(buf, "\nzed:{PLAIN}z\n", n);
	write_str(buf);
	ok(lookup("long", &pe) == PASSWD_NOUSER, "over-long hash skipped");
	ok(lookup("zed", &pe) == PASSWD_FOUND, "entry after a long hash");

	write_file(nulfile, sizeof(nulfile) - 1);
	ok(lookup("nul", &pe) == PASSWD_NOUSER, "line with NUL skipped");
	ok(lookup("zed", &pe) == PASSWD_FOUND &&
	    strcmp(pe.hash, "{PLAIN}z") == 0, "entry after a NUL line");
	free(buf);
}

static void
test_tempfail(void)
{
	struct passwd_entry	pe;

	write_str("alice:{PLAIN}a\n");
	unlink(path);
	memset(&pe, 'z', sizeof(pe));
	ok(lookup("alice", &pe) == PASSWD_TEMPFAIL && pe.user[0] == '\0',
	    "missing file: TEMPFAIL, entry wiped");
	ok(passwd_file_lookup("/", "alice", &pe) == PASSWD_TEMPFAIL,
	    "a directory: TEMPFAIL");
	path[0] = '\0';

	write_str("");
	ok(lookup("alice", &pe) == PASSWD_NOUSER, "empty file");
}

static void
test_scram_schemes(void)
{
	write_str("alice:{SHA512-CRYPT}$6$x$y:1000:1000::/home/alice::\n"
	    "# bob:{SCRAM-SHA-1}4096,a,b,c\n");
	ok(passwd_file_scram(path) == 0, "no SCRAM verifier (a comment is none)");
	write_str("alice:{scram-sha-256}4096,a,b,c:1000:1000::/h::\r\n");
	ok(passwd_file_scram(path) == PASSWD_SCRAM_SHA256, "SCRAM-SHA-256, any case");
	write_str("a:{PLAIN}x\nb:{SCRAM-SHA-1}1,a,b,c\nc:{SCRAM-SHA-256}1,a,b,c\n");
	ok(passwd_file_scram(path) == (PASSWD_SCRAM_SHA1 | PASSWD_SCRAM_SHA256),
	    "both");
	ok(passwd_file_scram("/nonexistent/users") == 0, "unreadable: none");
}

int
main(void)
{
	log_init("test_passwd_file", 1);
	test_parse_line();
	test_field_limits();
	test_lookup();
	test_long_lines();
	test_tempfail();
	test_scram_schemes();
	if (path[0] != '\0')
		unlink(path);
	return tap_done();
}
