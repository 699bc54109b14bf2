/*
 * pop3d-passwd: print a password hash for the users file.
 *
 * The password comes from the terminal (asked twice, without echo), from
 * one line of standard input, or from -p.  Every copy of it lives in the
 * static buffers below, which are wiped at exit on every path.
 */
#include <err.h>
#include <errno.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/password.h"
#include "common/log.h"
#include "params.h"

#define DEFAULT_SCHEME	"SHA512-CRYPT"

/* One byte over the limit, to tell a long password from a truncated one. */
static char	pass[AUTH_PASS_MAX + 2];
static char	again[AUTH_PASS_MAX + 2];
static char	hash[AUTH_HASH_MAX + 1];

static void
wipe(void)
{
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(again, sizeof(again));
	explicit_bzero(hash, sizeof(hash));
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s [-r] [-p password] [-R rounds] "
	    "[-s scheme]\n"
	    "       %s -l\n", getprogname(), getprogname());
	exit(EX_USAGE);
}

/* -R: a number the scheme takes, or exit 64 saying which it takes. */
static unsigned long
parse_rounds(const char *scheme, const char *arg)
{
	unsigned long	 min, max, def;
	const char	*errstr;
	long long	 n;

	if (password_scheme_rounds(scheme, &min, &max, &def) == -1)
		errx(EX_USAGE, "%s takes no rounds", scheme);
	n = strtonum(arg, min, max, &errstr);
	if (errstr != NULL)
		errx(EX_USAGE, "rounds %s for %s: %s, want %lu to %lu",
		    arg, scheme, errstr, min, max);
	return n;
}

static void
list_schemes(void)
{
	const char	*name;
	size_t		 i;

	for (i = 0; (name = password_scheme_name(i)) != NULL; i++)
		printf("%s\n", name);
}

static void
check_length(const char *p)
{
	if (strlen(p) > AUTH_PASS_MAX)
		errx(1, "password longer than %d bytes", AUTH_PASS_MAX);
	if (p[0] == '\0')
		errx(1, "empty password");
}

static void
read_tty(void)
{
	if (readpassphrase("New password: ", pass, sizeof(pass),
	    RPP_REQUIRE_TTY) == NULL)
		err(1, "readpassphrase");
	check_length(pass);
	if (readpassphrase("Retype new password: ", again, sizeof(again),
	    RPP_REQUIRE_TTY) == NULL)
		err(1, "readpassphrase");
	if (strcmp(pass, again) != 0)
		errx(1, "passwords do not match");
}

/*
 * One line from standard input, a byte at a time with read(2) so that no
 * stdio buffer keeps a copy of the password.
 */
static void
read_line(void)
{
	size_t	len = 0;
	ssize_t	n;
	char	c;

	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "read");
		if (n == 0 || c == '\n')
			break;
		if (c == '\0')
			errx(1, "NUL byte in password");
		if (len + 1 >= sizeof(pass))
			errx(1, "password longer than %d bytes", AUTH_PASS_MAX);
		pass[len++] = c;
	}
	explicit_bzero(&c, sizeof(c));
	pass[len] = '\0';
	check_length(pass);
}

int
main(int argc, char *argv[])
{
	const char	*scheme = DEFAULT_SCHEME, *rounds_arg = NULL;
	unsigned long	 rounds = 0;
	int		 ch, lflag = 0, pflag = 0, rflag = 0;

	log_init("pop3d-passwd", 1);
	if (atexit(wipe) != 0)
		err(1, "atexit");
	while ((ch = getopt(argc, argv, "lp:R:rs:")) != -1) {
		switch (ch) {
		case 'l':
			lflag = 1;
			break;
		case 'p':
			pflag = 1;
			if (strlcpy(pass, optarg, sizeof(pass)) >= sizeof(pass))
				errx(1, "password longer than %d bytes",
				    AUTH_PASS_MAX);
			/* Keep it out of ps(1) from now on. */
			explicit_bzero(optarg, strlen(optarg));
			break;
		case 'R':
			rounds_arg = optarg;
			break;
		case 'r':
			rflag = 1;
			break;
		case 's':
			scheme = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc != optind || (pflag && rflag) ||
	    (lflag && (pflag || rflag || rounds_arg != NULL)))
		usage();
	if (lflag) {
		list_schemes();
		return 0;
	}
	if (!password_scheme_known(scheme))
		errx(EX_USAGE, "unknown scheme %s (-l lists them)", scheme);
	if (rounds_arg != NULL)
		rounds = parse_rounds(scheme, rounds_arg);

	if (pflag)
		check_length(pass);
	else if (!rflag && isatty(STDIN_FILENO))
		read_tty();
	else
		read_line();

	if (password_hash(scheme, rounds, pass, hash, sizeof(hash)) == -1)
		errx(1, "cannot hash the password");
	if (printf("%s\n", hash) < 0 || fflush(stdout) == EOF)
		err(1, "stdout");
	return 0;
}
