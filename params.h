/*
 * Every fixed limit of pop3d, with the reason for its value.
 * Nothing else in the tree hard-codes a size that a peer can influence.
 */
#ifndef POP3D_PARAMS_H
#define POP3D_PARAMS_H

/* RFC 2449 section 4: a command line is at most 255 octets, CRLF included. */
#define POP3_LINE_MAX		255

/*
 * RFC 5034 section 4: SASL responses are not bound by the 255-octet command
 * limit.  PLAIN with the longest user name and password below, base64
 * encoded, stays well inside this.
 */
#define SASL_LINE_MAX		1024

/* RFC 2449 section 4: the first line of a reply is at most 512 octets. */
#define POP3_REPLY_MAX		512

/* RFC 1939 section 3 allows 40; e-mail addresses as user names need more. */
#define AUTH_USER_MAX		128

/* Long enough for pass phrases and generated passwords; the line limit caps PASS anyway. */
#define AUTH_PASS_MAX		256

/* A stored "{SCHEME}hash": yescrypt and SHA512-CRYPT hashes are under 130. */
#define AUTH_HASH_MAX		512

/*
 * The APOP timestamp of the greeting, "<pid.clock.random@host>" with the
 * host name cut to 64 octets.
 */
#define APOP_CHALLENGE_MAX	128

/* The TLS protocol and cipher a login reports for the log. */
#define WIRE_TLS_MAX		96

/*
 * Digits of a message number or line count a client may send: 18 always
 * fit a long long, so strtonum(3) decides the range, never an overflow.
 */
#define NUMBER_DIGITS_MAX	18

/*
 * The TLS relay's buffer, one a direction: a few TLS records.  A client
 * that does not read stalls the session instead of growing memory.
 */
#define RELAY_BUF		(64 * 1024)

/*
 * Supplementary groups a session takes from a user source (PAM and
 * system accounts); more are refused rather than silently dropped.
 */
#define PASSDB_GROUPS_MAX	64

/* Paths taken from the users file and the configuration. */
#define POP3D_PATH_MAX		1024

/*
 * Allocations from this size up are mapped on their own and given back on
 * free.  Fixed, because glibc otherwise raises the threshold after the
 * first such free, and the listing's temporaries (the cache file, sort
 * keys) would stay on the heap for the whole session.
 */
#define SESSION_MMAP_THRESHOLD	(128 * 1024)

/*
 * The session program: beside pop3d in a build tree, else where make
 * install puts it, relative to pop3d's own directory.
 */
#define SESSION_PROGRAM		"pop3d-session"
#define SESSION_INSTALLED	"../libexec/pop3d/pop3d-session"

/* RFC 1939 section 7: a unique-id is 1 to 70 characters in 0x21..0x7E. */
#define UIDL_MAX		70

/* Input buffer of a connection: several pipelined command lines. */
#define IO_INBUF_SIZE		4096

/* Output buffer: large writes keep RETR away from one syscall per line. */
#define IO_OUTBUF_SIZE		(128 * 1024)

/* Bytes pipelined behind PASS/AUTH that are carried across to the session. */
#define PIPELINE_CARRY_MAX	IO_INBUF_SIZE

/* Messages in one maildrop; message numbers then always fit an int. */
#define MAILDROP_MAX_MESSAGES	10000000

/*
 * Reads of new/ or of cur/ at login while other clients change it.  A file
 * renamed during readdir(3) (moved, flags changed) can be passed over, so
 * a directory seen to change while it was read is read again: this many
 * times in all, and then the files left unsure are looked for once more.
 * Each read costs one readdir(3) of the directory, no stat(2) per file
 * already listed.  The same bound applies to the look for a moved file.
 */
#define MAILDROP_SCAN_PASSES	3

/*
 * RETR, TOP and QUIT look for a message gone from its listed name, and
 * may find it renamed again before they open it: so many looks at most.
 */
#define MAILDROP_FIND_TRIES	4

/* Defaults of the configuration (see pop3d.conf(5)). */
#define DEFAULT_LOGIN_TIMEOUT	60	/* seconds before login */
#define DEFAULT_IDLE_TIMEOUT	600	/* RFC 1939 section 3: at least 10 minutes */
#define MIN_IDLE_TIMEOUT	600
/* A client that accepts no octet of a reply for this long is gone. */
#define DEFAULT_SEND_TIMEOUT	600
/*
 * Greeting to login, whatever the client does meanwhile: a login takes a
 * client a second, a person at telnet a minute.
 */
#define DEFAULT_LOGIN_GRACE_TIME 120
/*
 * The TLS relay waits this much longer than the session for a stalled
 * client, so that the session, which knows the user, ends it and logs why.
 */
#define RELAY_MARGIN_MS		5000

/* The monitor waits this much past the grace time for the pre-login's end. */
#define LOGIN_GRACE_MARGIN_MS	5000
#define DEFAULT_MAX_BAD_COMMANDS 10	/* then the session ends */
#define DEFAULT_MAX_AUTH_FAILURES 3	/* then the connection closes */
#define DEFAULT_AUTH_FAIL_DELAY_MS 1000	/* slows down password guessing */
#define DEFAULT_FIRST_VALID_UID	1000	/* Debian's first ordinary user */

/*
 * Commands before login.  Every client logs in within a handful; the cap
 * keeps a connection from idling in AUTHORIZATION for ever with CAPA.
 */
#define LOGIN_COMMANDS_MAX	32

/* A log line, prefix included; longer ones are cut. */
#define LOG_LINE_MAX		1100

/* The configuration file: a line, and the number of lines. */
#define CONFIG_LINE_MAX		1024
#define CONFIG_LINES_MAX	1000

/* Resource limits of the unprivileged pre-login process. */
#define LOGIN_RLIMIT_NOFILE	16
#define LOGIN_RLIMIT_AS		(256UL * 1024 * 1024)

/*
 * Instructions of a seccomp filter (common/sysfilter.c): five a rule at
 * most; the kernel's own limit is 4096.
 */
#define SYSFILTER_INSNS_MAX	1024

#endif
