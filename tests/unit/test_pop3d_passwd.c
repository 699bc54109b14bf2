/*
 * Runs pop3d-passwd from the build directory: $POP3D_BUILD, else the one
 * this test was built into (argv[0] is BUILD/tests/unit/test_pop3d_passwd),
 * else "build".
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/password.h"
#include "common/log.h"
#include "params.h"
#include "tests/unit/tap.h"

#define OUT_MAX		(AUTH_HASH_MAX + 64)

static char	prog[1024];

static void
find_prog(const char *argv0)
{
	const char	*dir = getenv("POP3D_BUILD");
	const char	*suffix = "/tests/unit/test_pop3d_passwd";
	size_t		 len = strlen(argv0), slen = strlen(suffix);

	if (dir != NULL && *dir != '\0')
		snprintf(prog, sizeof(prog), "%s/pop3d-passwd", dir);
	else if (len > slen && strcmp(argv0 + len - slen, suffix) == 0)
		snprintf(prog, sizeof(prog), "%.*s/pop3d-passwd",
		    (int)(len - slen), argv0);
	else
		snprintf(prog, sizeof(prog), "build/pop3d-passwd");
}

/*
 * Run prog with args, input on its stdin (a pipe, so never a tty), and
 * return its exit status with its stdout in out.
 */
static int
run(char *const args[], const char *input, char *out, size_t outsize)
{
	int	in[2], res[2], status;
	size_t	len = 0;
	ssize_t	n;
	pid_t	pid;

	if (pipe(in) == -1 || pipe(res) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		if (dup2(in[0], STDIN_FILENO) == -1 ||
		    dup2(res[1], STDOUT_FILENO) == -1)
			_exit(127);
		close(in[0]);
		close(in[1]);
		close(res[0]);
		close(res[1]);
		execv(prog, args);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	/* The child may exit without reading: EPIPE is fine. */
	if (input != NULL && write(in[1], input, strlen(input)) == -1 &&
	    errno != EPIPE)
		err(1, "write");
	close(in[1]);
	while (len + 1 < outsize &&
	    (n = read(res[0], out + len, outsize - len - 1)) > 0)
		len += n;
	out[len] = '\0';
	close(res[0]);
	if (waitpid(pid, &status, 0) == -1)
		err(1, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Strip the one newline the output must end with; 0 if it is not there. */
static int
one_line(char *out)
{
	size_t	len = strlen(out);

	if (len == 0 || out[len - 1] != '\n')
		return 0;
	out[len - 1] = '\0';
	return strchr(out, '\n') == NULL;
}

static void
test_hashes(void)
{
	char	out[OUT_MAX];
	int	rc;

	rc = run((char *[]){ prog, "-p", "s3cret", NULL }, NULL, out,
	    sizeof(out));
	ok(rc == 0 && one_line(out) &&
	    strncmp(out, "{SHA512-CRYPT}$6$", 17) == 0 &&
	    password_verify(out, "s3cret") == PASSWORD_MATCH &&
	    password_verify(out, "s3cre") == PASSWORD_MISMATCH,
	    "-p: SHA512-CRYPT by default");

	rc = run((char *[]){ prog, "-r", NULL }, "pass word\n", out,
	    sizeof(out));
	ok(rc == 0 && one_line(out) &&
	    password_verify(out, "pass word") == PASSWORD_MATCH,
	    "-r: newline stripped");

	rc = run((char *[]){ prog, "-r", "-s", "sha256-crypt", NULL },
	    "no newline", out, sizeof(out));
	ok(rc == 0 && one_line(out) &&
	    strncmp(out, "{SHA256-CRYPT}$5$", 17) == 0 &&
	    password_verify(out, "no newline") == PASSWORD_MATCH,
	    "-r -s sha256-crypt: last line without newline");

	rc = run((char *[]){ prog, "-s", "BLF-CRYPT", NULL }, "b\nignored\n",
	    out, sizeof(out));
	ok(rc == 0 && one_line(out) &&
	    strncmp(out, "{BLF-CRYPT}$2b$10$", 18) == 0 &&
	    password_verify(out, "b") == PASSWORD_MATCH,
	    "stdin not a tty: one line read; bcrypt cost 10 by default");

	rc = run((char *[]){ prog, "-s", "blf-crypt", "-R", "12", "-r", NULL },
	    "b12\n", out, sizeof(out));
	ok(rc == 0 && one_line(out) &&
	    strncmp(out, "{BLF-CRYPT}$2b$12$", 18) == 0 &&
	    password_verify(out, "b12") == PASSWORD_MATCH, "-R 12: bcrypt cost 12");

	rc = run((char *[]){ prog, "-R", "20000", "-p", "s", NULL }, NULL, out,
	    sizeof(out));
	ok(rc == 0 && one_line(out) &&
	    strncmp(out, "{SHA512-CRYPT}$6$rounds=20000$", 30) == 0 &&
	    password_verify(out, "s") == PASSWORD_MATCH,
	    "-R 20000: SHA512-CRYPT rounds");

	rc = run((char *[]){ prog, "-s", "YESCRYPT", "-p", "y", NULL }, NULL,
	    out, sizeof(out));
	ok(rc == 0 && one_line(out) && strncmp(out, "$y$", 3) == 0 &&
	    password_verify(out, "y") == PASSWORD_MATCH, "-s YESCRYPT");

	rc = run((char *[]){ prog, "-s", "PLAIN", "-p", "pl", NULL }, NULL,
	    out, sizeof(out));
	ok(rc == 0 && strcmp(out, "{PLAIN}pl\n") == 0, "-s PLAIN");

	rc = run((char *[]){ prog, "-l", NULL }, NULL, out, sizeof(out));
	ok(rc == 0 && strstr(out, "SHA512-CRYPT\n") != NULL &&
	    strstr(out, "YESCRYPT\n") != NULL, "-l lists schemes");
}

static void
test_errors(void)
{
	char	out[OUT_MAX], big[AUTH_PASS_MAX + 3];
	int	rc;

	rc = run((char *[]){ prog, "-s", "MD5", "-p", "x", NULL }, NULL, out,
	    sizeof(out));
	ok(rc == 64 && out[0] == '\0', "unknown scheme: exit 64");
	rc = run((char *[]){ prog, "-x", NULL }, NULL, out, sizeof(out));
	ok(rc == 64 && out[0] == '\0', "unknown option: exit 64");
	rc = run((char *[]){ prog, "-r", "-p", "x", NULL }, NULL, out,
	    sizeof(out));
	ok(rc == 64, "-r with -p: exit 64");
	rc = run((char *[]){ prog, "extra", NULL }, NULL, out, sizeof(out));
	ok(rc == 64, "extra argument: exit 64");
	rc = run((char *[]){ prog, "-s", "BLF-CRYPT", "-R", "3", "-p", "x",
	    NULL }, NULL, out, sizeof(out));
	ok(rc == 64 && out[0] == '\0', "-R 3 for bcrypt: exit 64");
	rc = run((char *[]){ prog, "-s", "BLF-CRYPT", "-R", "32", "-p", "x",
	    NULL }, NULL, out, sizeof(out));
	ok(rc == 64 && out[0] == '\0', "-R 32 for bcrypt: exit 64");
	rc = run((char *[]){ prog, "-R", "999", "-p", "x", NULL }, NULL, out,
	    sizeof(out));
	ok(rc == 64 && out[0] == '\0', "-R 999 for SHA512-CRYPT: exit 64");
	rc = run((char *[]){ prog, "-R", "ten", "-p", "x", NULL }, NULL, out,
	    sizeof(out));
	ok(rc == 64 && out[0] == '\0', "-R ten: exit 64");
	rc = run((char *[]){ prog, "-s", "PLAIN", "-R", "5", "-p", "x", NULL },
	    NULL, out, sizeof(out));
	ok(rc == 64 && out[0] == '\0', "-R with PLAIN: exit 64");
	rc = run((char *[]){ prog, "-l", "-R", "5", NULL }, NULL, out,
	    sizeof(out));
	ok(rc == 64 && out[0] == '\0', "-l with -R: exit 64");
	rc = run((char *[]){ prog, "-r", NULL }, "\n", out, sizeof(out));
	ok(rc == 1 && out[0] == '\0', "empty password: exit 1");
	rc = run((char *[]){ prog, "-r", NULL }, "", out, sizeof(out));
	ok(rc == 1 && out[0] == '\0', "no input: exit 1");

	memset(big, 'a', AUTH_PASS_MAX + 1);
	big[AUTH_PASS_MAX + 1] = '\n';
	big[AUTH_PASS_MAX + 2] = '\0';
	rc = run((char *[]){ prog, "-r", "-s", "PLAIN", NULL }, big, out,
	    sizeof(out));
	ok(rc == 1 && out[0] == '\0', "password over AUTH_PASS_MAX: exit 1");
	big[AUTH_PASS_MAX] = '\n';
	big[AUTH_PASS_MAX + 1] = '\0';
	rc = run((char *[]){ prog, "-r", "-s", "PLAIN", NULL }, big, out,
	    sizeof(out));
	ok(rc == 0 && strlen(out) == strlen("{PLAIN}\n") + AUTH_PASS_MAX,
	    "password of AUTH_PASS_MAX");
	big[AUTH_PASS_MAX] = '\0';
	rc = run((char *[]){ prog, "-s", "PLAIN", "-p", big, NULL }, NULL,
	    out, sizeof(out));
	ok(rc == 0, "-p of AUTH_PASS_MAX");
	big[AUTH_PASS_MAX] = 'a';
	rc = run((char *[]){ prog, "-s", "PLAIN", "-p", big, NULL }, NULL,
	    out, sizeof(out));
	ok(rc == 1 && out[0] == '\0', "-p over AUTH_PASS_MAX: exit 1");
}

int
main(int argc, char *argv[])
{
	(void)argc;
	log_init("test_pop3d_passwd", 1);
	signal(SIGPIPE, SIG_IGN);
	find_prog(argv[0]);
	if (access(prog, X_OK) == -1) {
		skip("%s not built (make all)", prog);
		return tap_done();
	}
	test_hashes();
	test_errors();
	return tap_done();
}
