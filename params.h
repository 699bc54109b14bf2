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

/*
 * SCRAM (RFC 5802, 7677).  Salts: Dovecot and pop3d-passwd write 16
 * octets; 64 leaves room for other tools.  Nonces: the client's is
 * printable and clients send 24 to 48 characters.  Iterations: RFC 7677
 * asks for at least 4096; the ceiling keeps a forged users-file entry from
 * stalling the monitor (PBKDF2 runs on every PASS check of a SCRAM entry).
 * The channel binding data is a TLS exporter value (32) or a certificate
 * hash (at most SHA-512's 64).
 */
#define SCRAM_SALT_MAX		64
#define SCRAM_NONCE_MAX		128
#define SCRAM_ITER_MIN		4096
#define SCRAM_ITER_MAX		10000000
#define SCRAM_CBIND_MAX		64

/*
 * The pre-login process holds no TLS private key: it asks the monitor for
 * the handshake's signature (common/wiresign.h).  A signature is at most
 * the modulus of a 4096-bit RSA key; an ECDSA one is shorter.  A
 * connection has one handshake (no renegotiation, STLS once), which signs
 * once: more requests are refused and end the connection, so that the
 * monitor is no signing oracle for a subverted pre-login process.
 */
#define WIRE_SIGN_MAX		512
#define TLS_SIGN_MAX		1

/*
 * tls_key, read whole by the monitor: the largest key it signs with (an
 * RSA key of 4096 bits, WIRE_SIGN_MAX) takes some 3.3 KiB in PEM; a file
 * four times as large is no key pop3d can use.
 */
#define TLS_KEY_FILE_MAX	(16 * 1024)

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

/*
 * A passwd or group entry from getpwnam_r(3) (PAM and system accounts):
 * glibc asks for 1024 octets; LDAP entries with long gecos fields need
 * more.  Longer entries are a temporary failure, logged.
 */
#define PASSDB_PWBUF		16384

/*
 * PROXY protocol headers (HAProxy's proxy-protocol.txt): a version 1 line
 * is at most 107 octets, CRLF included; a version 2 body, addresses and
 * TLVs, is bounded here rather than at its 65535-octet field: the TLVs a
 * load balancer sends (SSL, ALPN, a unique id) take a few hundred.
 */
#define PROXY_V1_MAX		107
#define PROXY_V2_BODY_MAX	1024

/*
 * checkpassword reads at most 512 octets of user\0password\0timestamp\0
 * from descriptor 3 (cr.yp.to/checkpwd/interface.html); longer input is
 * refused there, so pop3d never sends it.
 */
#define CHECKPW_INPUT_MAX	512

/* Paths taken from the users file and the configuration. */
#define POP3D_PATH_MAX		1024

/*
 * LDAP (passdb = ldap): entries a search may return.  One is asked for;
 * a few more tell the administrator how far off the filter is, without
 * letting a filter that matches everyone fetch the whole directory.
 */
#define LDAP_ENTRIES_MAX	10
/* An entry's DN, an expanded filter and an attribute value from the directory. */
#define LDAP_DN_MAX		1024
#define LDAP_FILTER_MAX		1024
#define LDAP_VALUE_MAX		POP3D_PATH_MAX
/* ldap_bind_password_file: a secret like a login password. */
#define LDAP_BIND_PASS_MAX	AUTH_PASS_MAX
/*
 * Seconds a login waits on the directory.  At most 60 (pop3d.conf(5)):
 * the monitor does nothing else meanwhile, not even keep the login
 * deadline, and no client waits longer for an answer to PASS.
 */
#define DEFAULT_LDAP_TIMEOUT	5

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
/* The LDAP lookup (passdb = ldap), found the same way. */
#define LDAP_PROGRAM		"pop3d-ldap"
#define LDAP_INSTALLED		"../libexec/pop3d/pop3d-ldap"
/* The log relay (log = stderr, as root), found the same way. */
#define LOG_PROGRAM		"pop3d-log"
#define LOG_INSTALLED		"../libexec/pop3d/pop3d-log"
/* The descriptor of the relay's socket in pop3d-log. */
#define LOG_RELAY_FD		3

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

/*
 * Opens of the maildrop lock file (pop3d.lock) at login: it is locked,
 * then found to be still the file of that name; one replaced meanwhile
 * (removed by hand while a session held it) is opened again, so many
 * times at most, then the login fails for now.
 */
#define MAILDROP_LOCK_TRIES	4

/*
 * How long a login waits for the maildrop lock before it answers that the
 * maildrop is in use: a session that answered QUIT keeps the lock while it
 * records cur/ in the size cache (some 20 ms at 100,000 messages, more on
 * a loaded machine), and a client may log in again at once.
 */
#define MAILDROP_LOCK_WAIT_MS	500
/* Between two tries meanwhile: the wait is what a login loses after it. */
#define MAILDROP_LOCK_NAP_MS	1

/*
 * Slots a lookup by inode probes while the directories are read.  Files
 * of one inode (hard links under many base names) share a probe sequence:
 * past this many, a file is no longer found by its inode, and is listed as
 * a file of its own would be, in place of a quadratic listing.
 */
#define MAILDROP_INO_PROBE_MAX	64

/*
 * A file name in a Maildir, as the program that wrote it chose it:
 * NAME_MAX, the longest of Linux and the BSDs.  The size cache holds no
 * longer name either.
 */
#define MAILDIR_NAME_MAX	255

/*
 * Larger than any file.  The size cache takes no entry for a longer one,
 * which keeps its POP3 sizes (at most 2 * length + 2) far from overflowing,
 * and the digits of ",S=<n>" in a file name are read no further once n
 * reaches it.
 */
#define MAILDIR_FILE_SIZE_MAX	(UINT64_C(1) << 60)

/*
 * The size cache, pop3d.cache in the Maildir (store/cache.h).  Reading it
 * costs a buffer this large for the time of the listing: 64 MiB holds some
 * 600,000 entries of the usual 60-octet names.  A cache that would grow
 * beyond it keeps the entries it has; the other messages are read at every
 * login.
 */
#define CACHE_FILE_MAX		(64 * 1024 * 1024)

/*
 * The sum of the POP3 sizes in one cache.  A listing from the cache alone
 * believes every size without looking at the files, and eight entries at
 * the largest size a cache allows already wrap a 64-bit sum: STAT could
 * then report a few octets for an enormous maildrop.  A quarter of the
 * 64-bit range (4 EiB) is far beyond any mailbox and leaves the messages
 * counted at login room to add up without wrapping.
 */
#define CACHE_TOTAL_MAX		(UINT64_C(1) << 62)

/*
 * Slots a lookup in the cache's hash table probes before it gives up:
 * colliding names in a hostile cache then cost re-reads, never quadratic
 * time.
 */
#define CACHE_PROBE_MAX		32

/*
 * Files a commit may rename or unlink and still record cur/ as it left
 * it in the size cache (store/record.c).  Each makes at most two events
 * in the inotify queue, which holds 16,384 by default
 * (max_queued_events): beyond that the queue overflows and nothing is
 * recorded anyway.  A poll moves a few; the first download of a large
 * maildrop reads cur/ once more at the next login instead.  The same
 * bound applies to the listed files without a cache entry (still
 * settling), which the record adds.
 */
#define RECORD_MOVES_MAX	4096

/*
 * The longest wait, after the commit, for the clock that stamps directory
 * times to pass the times of cur/ (one tick of it, 1 to 10 ms), before
 * the size cache records cur/; past it nothing is recorded.  It runs
 * after the reply to QUIT, with the maildrop still locked.
 */
#define RECORD_WAIT_MS		50

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
 * A checkpassword program answers in milliseconds, or a few seconds when
 * it asks a database; one that takes longer is hung, and the monitor of
 * the connection must not wait on it for ever.
 */
#define DEFAULT_CHECKPASSWORD_TIMEOUT 10

/*
 * LOGIN-DELAY (RFC 2449 section 6.5).  A day at most: a client told to
 * wait longer would rather be told its account is closed.  The state is a
 * table of LOGIN_DELAY_SLOTS users, each looked for in LOGIN_DELAY_PROBE
 * slots from the hash of its name: a full window gives up its oldest
 * entry, so a site with more users logging in within one delay than the
 * table holds gets fewer delays, never a refused login.  4096 slots of
 * 144 octets are 576 KiB in /run, of which a login reads 16 slots.
 */
#define LOGIN_DELAY_MAX		86400
#define LOGIN_DELAY_SLOTS	4096
#define LOGIN_DELAY_PROBE	16
#define DEFAULT_LOGIN_DELAY_DIR	"/run/pop3d"
/*
 * The tables of LOGIN-DELAY and of the throttle (auth/statetable.c): a
 * monitor holds a table's lock for a few reads and writes; one that waits
 * this long for it gives up and lets the login through, so that nothing
 * holding the lock can stall every login.
 */
#define STATE_LOCK_MS		1000

/*
 * The login throttle (auth/throttle.c): failures by client address (an
 * IPv4 address, an IPv6 /64: what one customer is given) and by user
 * name, in a table of THROTTLE_SLOTS slots of 152 octets (1.2 MiB in
 * /run), each key looked for in THROTTLE_PROBE slots.  An attempt
 * touches two keys.  A full window gives up its oldest entry: a flood of
 * new keys can make the table forget a source, never refuse a login.
 */
#define THROTTLE_SLOTS		8192
#define THROTTLE_PROBE		16
#define THROTTLE_FAILS_MAX	1000000	/* a count past it is damage */
/*
 * Defaults (pop3d.conf(5) shows the arithmetic).  Ten failures from one
 * address get delays of 0, 0.25, 0.5, 1, 2, 4, 8, 8, 8 and 8 seconds;
 * the eleventh attempt is refused, unchecked, until ten minutes after
 * the tenth.  Then the address starts afresh: ten guesses per ten
 * minutes and forty seconds at most, so 200 take over three hours.  A
 * user name under attack slows each login for it from an address with
 * failures by at most the longest delay, 8 seconds, and refuses none.
 */
#define DEFAULT_THROTTLE_FAILURES	10
#define DEFAULT_THROTTLE_DELAY_MS	250
#define DEFAULT_THROTTLE_DELAY_MAX_MS	8000
#define DEFAULT_THROTTLE_BLOCK_TIME	600
#define DEFAULT_THROTTLE_EXEMPT	"127.0.0.0/8, ::1"

/*
 * EXPIRE (RFC 2449 section 6.7): days a retrieved message is kept.  Ten
 * years is "never" in practice and keeps days * 86400 far from overflow.
 * The record of retrieval times (store/expire.c) is read at QUIT in one
 * buffer of at most EXPIRE_FILE_MAX octets: some 800,000 records of the
 * usual 60-octet names; a larger file is not read and nothing expires.
 */
#define EXPIRE_DAYS_MAX		3650
#define EXPIRE_FILE_MAX		(64 * 1024 * 1024)

/*
 * Imported unique-ids (store/uidlmap.h): pop3d.uidl and the other
 * server's file it is made from (dovecot-uidlist, courierpop3dsizelist)
 * are read whole, each in a buffer of at most this many octets: some
 * 600,000 messages with the usual 60-octet names.  A larger file is not
 * read, and those messages keep pop3d's unique-ids.
 */
#define UIDLMAP_FILE_MAX	(64 * 1024 * 1024)

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
