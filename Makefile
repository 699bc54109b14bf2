# pop3d -- one plain Makefile.  Objects go to $(O) so that a sanitizer
# build (O=build-asan) can sit beside the normal one.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
# pop3d finds pop3d-session at ../libexec/pop3d/ from its own directory
# (or beside itself, in a build tree): wherever the tree is installed or
# staged, the two stay together.
LIBEXECDIR = $(dir $(SBINDIR))libexec/pop3d
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system
DOCDIR	?= $(PREFIX)/share/doc/pop3d
O	?= build

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith \
	   -Wstrict-prototypes -Wmissing-prototypes -Wvla
# pop3d links libcrypt and libbsd with libmd (libbsd itself links libmd);
# it maps OpenSSL with dlopen(3) when TLS or SCRAM first needs it
# (common/ossl.c), so that a plaintext login loads no TLS library.  The
# session links libbsd and libmd alone.  libldap (with the GnuTLS it
# brings) is pop3d-ldap's alone, the LDAP lookup (lookup/): pop3d would
# load it at every connection.  libmd comes before libbsd, whose MD5
# functions are deprecated wrappers of libmd's.
POP3D_PKGS   = libmd libbsd-overlay libcrypt
LDAP_PKGS    = ldap lber
SESSION_PKGS = libbsd-overlay libmd
PKG_CFLAGS  := $(shell pkg-config --cflags $(POP3D_PKGS) openssl $(LDAP_PKGS) 2>/dev/null)
POP3D_LIBS  := $(shell pkg-config --libs $(POP3D_PKGS) 2>/dev/null)
LDAP_LIBS   := $(shell pkg-config --libs $(LDAP_PKGS) 2>/dev/null)
SESSION_LIBS := $(shell pkg-config --libs $(SESSION_PKGS) 2>/dev/null)
# libpam (passdb = pam): the monitor maps it with dlopen(3) when it first
# checks a password with PAM (auth/passdb_pam.c); only the tests link it.
PAM_LIBS    := $(shell pkg-config --libs pam 2>/dev/null || echo -lpam)
# The unit tests and fuzzers link OpenSSL as well: some call it themselves.
ALL_LIBS    := $(shell pkg-config --libs $(POP3D_PKGS) openssl $(LDAP_PKGS) 2>/dev/null) \
	       $(PAM_LIBS)
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -I. \
	   -DSYSCONFDIR='"$(SYSCONFDIR)"' \
	   $(PKG_CFLAGS) $(CFLAGS_EXTRA)

# One folder per process and privilege (see the table in pop3d.c); each
# becomes an archive, and each program links only the archives of the
# processes it runs.  tests/layout.sh checks that no folder reaches into
# one it must not.
FOLDERS	 = common auth lookup prelogin session store
MAINS	 = pop3d.c session/pop3d-session.c admin/pop3d-passwd.c \
	   lookup/pop3d-ldap.c auth/pop3d-log.c
lib	 = $(O)/lib$(1).a
objs	 = $(patsubst %.c,$(O)/%.o,$(filter-out $(MAINS),$(wildcard $(1)/*.c)))
HDRS	 = $(wildcard *.h $(addsuffix /*.h,$(FOLDERS)))

# pop3d: the monitor (auth/) and the pre-login process (prelogin/); of
# lookup/ only what checks the LDAP configuration and replies.
POP3D_LINK   = $(O)/pop3d.o $(call lib,prelogin) $(call lib,auth) \
	       $(call lib,lookup) $(call lib,common)
# pop3d-session: the mailbox owner's session and the Maildir.
SESSION_LINK = $(O)/session/pop3d-session.o $(call lib,session) \
	       $(call lib,store) $(call lib,common)
# pop3d-ldap: the LDAP lookup, executed by the monitor's helper.
LDAP_LINK    = $(O)/lookup/pop3d-ldap.o $(call lib,lookup) $(call lib,common)
# pop3d-log: the log relay (log = stderr), libc alone, linked statically:
# it starts at every connection, and loading libc.so costs more than the
# rest of its exec (bench/README.md); the sanitizers need a dynamic one.
LOG_LINK     = $(O)/auth/pop3d-log.o $(call lib,auth) $(call lib,common)
LOG_STATIC   = $(if $(findstring -fsanitize,$(CFLAGS)),,-static)
# pop3d-passwd: the password schemes of the monitor, run by an administrator.
PASSWD_LINK  = $(O)/admin/pop3d-passwd.o $(call lib,auth) $(call lib,common)
ALL_ARCHIVES = $(foreach f,prelogin auth lookup session store common,$(call lib,$(f)))

PROGS	 = $(O)/pop3d $(O)/pop3d-session $(O)/pop3d-passwd $(O)/pop3d-ldap \
	   $(O)/pop3d-log
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:%.c=$(O)/%)

all: $(PROGS)

$(O)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The objects stay: they are what the archives are made of.
.SECONDARY:
.SECONDEXPANSION:
$(O)/lib%.a: $$(call objs,%)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/pop3d: $(POP3D_LINK)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(POP3D_LIBS)

$(O)/pop3d-ldap: $(LDAP_LINK)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDAP_LIBS) $(SESSION_LIBS)

$(O)/pop3d-session: $(SESSION_LINK)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(SESSION_LIBS)

$(O)/pop3d-log: $(LOG_LINK)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LOG_STATIC) -o $@ $^

$(O)/pop3d-passwd: $(PASSWD_LINK)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(POP3D_LIBS)

$(O)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(ALL_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_ARCHIVES) $(ALL_LIBS)

unit: $(UNIT_BINS)

SANITIZE = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=all -DPOP3D_SANITIZE

# The hermetic tests: no root needed, nothing installed, no network client
# or launcher; the unit tests, the layout, the transcripts and the tests
# that drive pop3d over pipes.
test: all unit
	python3 tests/run.py --build $(O) --hermetic

# The test command: installs what it needs (as root, on Debian), builds,
# runs every test, then the whole suite again under ASan and UBSan.
check:
	sh tests/deps.sh
	$(MAKE) all unit
	$(MAKE) O=build-asan CFLAGS='$(SANITIZE)' all unit
	$(MAKE) fuzz FUZZ_SECONDS=10
	python3 tests/run.py --build $(O) --asan-build build-asan --valgrind test_protocol --

demo:
	sh tests/deps.sh
	$(MAKE) all
	sh tests/demo.sh $(O)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(O)/pop3d $(DESTDIR)$(SBINDIR)/pop3d
	# Not readable by the mailbox owners it runs as: the kernel then
	# makes the session untraceable by them from its first instruction.
	install -m 711 $(O)/pop3d-session $(DESTDIR)$(LIBEXECDIR)/pop3d-session
	# The same for the LDAP lookup, which runs as login_user.
	install -m 711 $(O)/pop3d-ldap $(DESTDIR)$(LIBEXECDIR)/pop3d-ldap
	install -m 755 $(O)/pop3d-log $(DESTDIR)$(LIBEXECDIR)/pop3d-log
	install -m 755 $(O)/pop3d-passwd $(DESTDIR)$(BINDIR)/pop3d-passwd
	install -m 644 man/pop3d.8 $(DESTDIR)$(MANDIR)/man8/pop3d.8
	install -m 644 man/pop3d.conf.5 $(DESTDIR)$(MANDIR)/man5/pop3d.conf.5
	install -m 644 man/pop3d-passwd.1 $(DESTDIR)$(MANDIR)/man1/pop3d-passwd.1
	install -m 644 man/pop3d-admin.7 $(DESTDIR)$(MANDIR)/man7/pop3d-admin.7
	install -m 644 systemd/pop3d.socket systemd/pop3s.socket $(DESTDIR)$(UNITDIR)/
	for f in pop3d@.service pop3s@.service; do \
	    sed 's|/usr/local/sbin/pop3d|$(SBINDIR)/pop3d|' systemd/$$f \
	        >$(DESTDIR)$(UNITDIR)/$$f; \
	done
	# Examples only: enabling xinetd as well as the socket would contend for port 110.
	for f in xinetd.pop3d tcpserver.run stunnel-pop3d.conf; do \
	    sed 's|/usr/local/sbin/pop3d|$(SBINDIR)/pop3d|' systemd/$$f \
	        >$(DESTDIR)$(DOCDIR)/examples/$$f; \
	done
	chmod 755 $(DESTDIR)$(DOCDIR)/examples/tcpserver.run
	# passdb = pam: the PAM service, to copy to /etc/pam.d/pop3d.
	install -m 644 systemd/pam.d-pop3d $(DESTDIR)$(DOCDIR)/examples/pam.d-pop3d
	install -m 644 systemd/fail2ban-pop3d.conf systemd/fail2ban-pop3d.local $(DESTDIR)$(DOCDIR)/examples/

clean:
	rm -rf build build-*

.PHONY: all unit test check demo install clean

# Fuzzing (clang's libFuzzer): every tests/fuzz/fuzz_*.c against a library
# built with the fuzzer's instrumentation.  FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_FLAGS = $(SANITIZE)

fuzz-build:
	$(MAKE) O=build-fuzz CC=clang CFLAGS='$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link' \
	    $(foreach f,prelogin auth lookup session store common,build-fuzz/lib$(f).a)
	@for f in $(FUZZ_SRCS); do \
	    b=build-fuzz/$$(basename $$f .c); \
	    echo "clang $$f -> $$b"; \
	    clang $(FUZZ_FLAGS) -fsanitize=fuzzer -std=gnu11 -D_GNU_SOURCE -I. \
	        $(PKG_CFLAGS) -o $$b $$f \
	        $(foreach f,prelogin auth lookup session store common,build-fuzz/lib$(f).a) \
	        $(ALL_LIBS) || exit 1; \
	done

fuzz: fuzz-build
	@for f in $(FUZZ_SRCS); do \
	    b=build-fuzz/$$(basename $$f .c); c=build-fuzz/corpus-$$(basename $$f .c); \
	    mkdir -p $$c; \
	    $$b -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
	        $$c tests/fuzz/seeds 2>&1 | tail -n 12 || exit 1; \
	done

.PHONY: fuzz fuzz-build

# Benchmark against Dovecot (as root; see bench/README.md).  BENCHFLAGS:
# more options of bench/run.py, e.g. --readme or --only poll.
bench: all
	python3 bench/run.py --build $(O) $(BENCHFLAGS)

bench-quick: all
	python3 bench/run.py --build $(O) --quick $(BENCHFLAGS)

.PHONY: bench bench-quick
