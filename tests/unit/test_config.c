/* Configuration parsing, and the monitor's template and user-name rules. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/monitor.h"
#include "common/config.h"
#include "tap.h"

static char path[] = "/tmp/pop3d-test-config.XXXXXX";

static int
load(const char *text, struct config *cf, char *err, size_t errlen)
{
	FILE	*f = fopen(path, "w");
	int	 fd, rc;

	if (f == NULL)
		return -2;
	fputs(text, f);
	fclose(f);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -2;
	rc = config_load_fd(cf, fd, path, err, errlen);
	close(fd);
	return rc;
}

static void
test_config(void)
{
	struct config	cf;
	char		err[512];

	ok(load("# comment\n\n  users_file = /etc/x  \nidle_timeout=900\n"
	    "log = stderr\nimplementation =\n", &cf, err, sizeof(err)) == 0 &&
	    strcmp(cf.users_file, "/etc/x") == 0 && cf.idle_timeout == 900 &&
	    cf.log_stderr == 1 && cf.implementation[0] == '\0',
	    "keys, blanks, comments, empty value");
	ok(cf.max_auth_failures == DEFAULT_MAX_AUTH_FAILURES &&
	    strcmp(cf.maildir, "%h/Maildir") == 0, "defaults kept");
	ok(load("no_such_key = 1\n", &cf, err, sizeof(err)) == -1 &&
	    strstr(err, ":1: unknown key") != NULL, "unknown key, with line number");
	ok(load("idle_timeout = 60\n", &cf, err, sizeof(err)) == -1,
	    "idle_timeout below the RFC 1939 minimum");
	ok(load("idle_timeout = 10x\n", &cf, err, sizeof(err)) == -1,
	    "not a number");
	ok(load("max_bad_commands = 99999999999999999999\n", &cf, err,
	    sizeof(err)) == -1, "number overflow");
	ok(load("users_file = relative/path\n", &cf, err, sizeof(err)) == -1,
	    "paths must be absolute");
	ok(load("log = console\n", &cf, err, sizeof(err)) == -1, "bad enum value");
	ok(load("just words\n", &cf, err, sizeof(err)) == -1, "no '='");
	ok(load("", &cf, err, sizeof(err)) == 0 && cf.expire == EXPIRE_UNSET &&
	    cf.login_delay == 0 &&
	    strcmp(cf.login_delay_dir, "/run/pop3d") == 0,
	    "policies off by default");
	ok(load("expire = never\nlogin_delay = 900\n", &cf, err,
	    sizeof(err)) == 0 && cf.expire == EXPIRE_NEVER &&
	    cf.login_delay == 900, "expire never, login_delay");
	ok(load("expire = 0\n", &cf, err, sizeof(err)) == 0 && cf.expire == 0 &&
	    load("expire = 3650\n", &cf, err, sizeof(err)) == 0 &&
	    cf.expire == 3650, "expire 0 and 3650");
	ok(load("expire = 3651\n", &cf, err, sizeof(err)) == -1 &&
	    load("expire = -1\n", &cf, err, sizeof(err)) == -1 &&
	    load("expire = NEVER\n", &cf, err, sizeof(err)) == -1 &&
	    load("login_delay = 86401\n", &cf, err, sizeof(err)) == -1,
	    "expire and login_delay ranges");
	ok(load("greeting = a\tb\n", &cf, err, sizeof(err)) == -1,
	    "control characters refused");
	unlink(path);
}

static void
test_template(void)
{
	char out[64];

	ok(monitor_maildir("%h/Maildir", "bob", "/home/bob", out, sizeof(out)) == 0 &&
	    strcmp(out, "/home/bob/Maildir") == 0, "%%h");
	ok(monitor_maildir("/var/mail/%u/%%", "bob", "", out, sizeof(out)) == 0 &&
	    strcmp(out, "/var/mail/bob/%") == 0, "%%u and %%%%");
	ok(monitor_maildir("%h/Maildir", "bob", "", out, sizeof(out)) == -1,
	    "empty home: refused");
	ok(monitor_maildir("/m/%x", "bob", "", out, sizeof(out)) == -1,
	    "unknown escape");
	ok(monitor_maildir("/m/%u/../x", "bob", "", out, sizeof(out)) == -1,
	    "'..' component refused");
	ok(monitor_maildir("/m/%u/%u/%u/%u/%u/%u/%u", "abcdefghij", "", out,
	    sizeof(out)) == -1, "too long for the buffer");
}

static void
test_user_names(void)
{
	char long_name[AUTH_USER_MAX + 2];

	ok(monitor_user_valid("alice") && monitor_user_valid("a.b+c@example.org"),
	    "ordinary names");
	ok(!monitor_user_valid("../etc") && !monitor_user_valid("a/b") &&
	    !monitor_user_valid("..") && !monitor_user_valid(".hidden"),
	    "path tricks refused");
	ok(!monitor_user_valid("") && !monitor_user_valid("a b") &&
	    !monitor_user_valid("a\tb") && !monitor_user_valid("a\x7f") &&
	    !monitor_user_valid("%s%n") && !monitor_user_valid("a:b"),
	    "blanks, control, format and ':' refused");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ok(!monitor_user_valid(long_name), "over-long refused");
}

int
main(void)
{
	int fd = mkstemp(path);

	if (fd != -1)
		close(fd);
	test_config();
	test_template();
	test_user_names();
	unlink(path);
	return tap_done();
}
