# pop3d -- one plain Makefile.  Objects go to $(O) so that a sanitizer
# build (O=build-asan) can sit beside the normal one.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system
DOCDIR	?= $(PREFIX)/share/doc/pop3d
O	?= build

CC	?= cc
CFLAGS	?= -O2 -g
PKGS	 = libbsd-overlay libmd openssl libcrypt
WARN	 = -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith \
	   -Wstrict-prototypes -Wmissing-prototypes -Wvla
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The session maps no TLS library: libbsd, and libmd (which libbsd itself
# links) for SHA-256.
SESSION_LIBS := $(shell pkg-config --libs libbsd-overlay libmd 2>/dev/null)
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -I. \
	   -DSYSCONFDIR='"$(SYSCONFDIR)"' $(PKG_CFLAGS) $(CFLAGS_EXTRA)
LDLIBS	 = $(PKG_LIBS)

# Every .c in these folders is part of the library the programs share.
LIB_SRCS = $(wildcard common/*.c pop3/*.c auth/*.c store/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(O)/%.o)
HDRS	 = $(wildcard *.h common/*.h pop3/*.h auth/*.h store/*.h)
PROGS	 = $(O)/pop3d $(O)/pop3d-session $(O)/pop3d-passwd
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:%.c=$(O)/%)

all: $(PROGS)

$(O)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/libpop3d.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(O)/pop3d: $(O)/pop3d.o $(O)/libpop3d.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/pop3d-session: $(O)/pop3d-session.o $(O)/libpop3d.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(SESSION_LIBS)

$(O)/pop3d-passwd: $(O)/pop3d-passwd.o $(O)/libpop3d.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(O)/libpop3d.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libpop3d.a $(LDLIBS)

unit: $(UNIT_BINS)

# The test command: installs what it needs (as root, on Debian), builds,
# runs every test, then the whole suite again under ASan and UBSan.
check:
	sh tests/deps.sh
	$(MAKE) all unit
	$(MAKE) O=build-asan CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -DPOP3D_SANITIZE' all unit
	$(MAKE) fuzz FUZZ_SECONDS=10
	python3 tests/run.py --build $(O) --asan-build build-asan --valgrind test_protocol --

demo:
	sh tests/deps.sh
	$(MAKE) all
	sh tests/demo.sh $(O)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(O)/pop3d $(O)/pop3d-session $(DESTDIR)$(SBINDIR)/
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

clean:
	rm -rf build build-asan

.PHONY: all unit check demo install clean

# Fuzzing (clang's libFuzzer): every tests/fuzz/fuzz_*.c against a library
# built with the fuzzer's instrumentation.  FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	     -fno-sanitize-recover=all -DPOP3D_SANITIZE

fuzz-build:
	$(MAKE) O=build-fuzz CC=clang CFLAGS='$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link' build-fuzz/libpop3d.a
	@for f in $(FUZZ_SRCS); do \
	    b=build-fuzz/$$(basename $$f .c); \
	    echo "clang $$f -> $$b"; \
	    clang $(FUZZ_FLAGS) -fsanitize=fuzzer -std=gnu11 -D_GNU_SOURCE -I. \
	        $(PKG_CFLAGS) -o $$b $$f build-fuzz/libpop3d.a $(LDLIBS) || exit 1; \
	done

fuzz: fuzz-build
	@for f in $(FUZZ_SRCS); do \
	    b=build-fuzz/$$(basename $$f .c); c=build-fuzz/corpus-$$(basename $$f .c); \
	    mkdir -p $$c; \
	    $$b -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
	        $$c tests/fuzz/seeds 2>&1 | tail -n 12 || exit 1; \
	done

.PHONY: fuzz fuzz-build

# Benchmark against Dovecot (as root; see bench/README.md).
bench: all
	python3 bench/run.py --build $(O)

bench-quick: all
	python3 bench/run.py --build $(O) --quick

.PHONY: bench bench-quick
