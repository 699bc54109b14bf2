#!/usr/bin/env python3
"""make bench: pop3d against Dovecot's POP3 server on this machine.

Three servers run side by side on 127.0.0.1, over the same users file and
the same Maildirs:

  pop3d          build/pop3d behind systemd-socket-activate --inetd -a;
  Dovecot        Debian's dovecot-pop3d with its defaults (a private
                 configuration in a temporary directory, never the system
                 service);
  Dovecot tuned  the same with Dovecot's high-performance settings: login
                 processes that serve many connections, pop3 processes
                 reused, an authentication cache.

Each scenario runs its repetitions interleaved (pop3d, Dovecot, tuned,
pop3d, ...); the table gives the median and the range of each figure and
the ratios of the medians.  Data sets are made with a seeded generator on
first use and kept under /var/tmp/pop3d-bench (POP3D_BENCH_DATA), keyed by
DATA_VERSION and their sizes.  Run as root: mailboxes belong to numeric
test uids, as in the integration tests.  bench/README.md says what each
figure means.
"""
import argparse
import bisect
import datetime
import email.utils
import os
import platform
import pwd
import random
import re
import select
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
DATA_VERSION = "1"
DATA_ROOT = os.environ.get("POP3D_BENCH_DATA", "/var/tmp/pop3d-bench")
PASSWORD = "bench-Pa55-word"
BASE_UID = 31000          # mailbox owners: BASE_UID + a fixed offset each
SEED = 1939               # RFC 1939
CLK_TCK = os.sysconf("SC_CLK_TCK")
WAIT = 15.0               # seconds for a server to start or to settle

PROFILES = {
    "full": dict(reps=3, storm_sessions=3000, concurrency=(1, 8, 32),
                 storm_users=64, storm_msgs=10, big=100000, arrivals=1000,
                 huge_mb=500, bulk=10000, bulk_kb=20, idle=20, window=32,
                 crypt_calls=200, polls=20),
    "quick": dict(reps=2, storm_sessions=300, concurrency=(1, 8, 32),
                  storm_users=64, storm_msgs=10, big=20000, arrivals=1000,
                  huge_mb=100, bulk=2000, bulk_kb=20, idle=20, window=32,
                  crypt_calls=50, polls=10),
}
SCENARIOS = ("storm", "tlsstorm", "maildrop", "poll", "throughput", "tls",
             "memory", "crypt")
# The polling pattern: a leave-on-server client every POLL_INTERVALS
# seconds, POLL_BATCH new messages before each poll; POLL_NEW_SHARE of the
# maildrop still in new/ (read by no client yet), the rest in cur/, seen.
# Each server has its maildrop, all three hard links to one master copy
# (one owner uid for the three users), so that none disturbs another's.
POLL_INTERVALS = (1, 10)
POLL_BATCH = 10
POLL_POOL = 500           # arrivals made for the polls: --polls at most 50
POLL_NEW_SHARE = 0.01
POLL_USERS = {"pop3d": "pollpop3d", "Dovecot": "polldovecot",
              "Dovecot tuned": "polltuned"}
QUIET_S = 3               # "after N s without change": more than pop3d's 2 s
# The TLS login storm: the key types a server is likely to have, and the
# concurrencies where the handshake's CPU cost shows.
TLS_STORM_KEYS = (("RSA-2048", ("rsa", "-pkeyopt", "rsa_keygen_bits:2048")),
                  ("ECDSA P-256", ("ec", "-pkeyopt",
                                   "ec_paramgen_curve:P-256")))
TLS_STORM_CONCURRENCY = (8, 32)
SERVERS = ("pop3d", "Dovecot", "Dovecot tuned")


class BenchError(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(argv, timeout=600, **kw):
    return subprocess.run(argv, check=True, timeout=timeout, **kw)


# ---------------------------------------------------------------- setup

def ensure_root_tools(dovecot=True):
    """Dovecot, systemd-socket-activate and pop3d's pre-login user."""
    if os.geteuid() != 0:
        raise BenchError("run as root: mailboxes belong to test uids and "
                         "Dovecot and pop3d separate privileges")
    need = []
    if dovecot and not (shutil.which("dovecot") and
                        os.path.exists("/usr/lib/dovecot/pop3")):
        need += ["dovecot-core", "dovecot-pop3d"]
    if not shutil.which("systemd-socket-activate"):
        need.append("systemd")
    if need:
        apt_install(need)
    try:
        pwd.getpwnam("pop3d")
    except KeyError:
        log("creating the pop3d user for pop3d's pre-login process")
        run(["useradd", "--system", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", "pop3d"])
    os.makedirs("/var/empty", mode=0o755, exist_ok=True)


def apt_install(pkgs):
    """apt-get install, without letting the packages start their system
    services: a policy-rc.d that says no, only while installing and only
    where there is none."""
    log(f"installing {' '.join(pkgs)} with apt-get")
    policy = "/usr/sbin/policy-rc.d"
    made = False
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        made = True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = subprocess.run(["apt-get", "install", "-y", "-q", *pkgs], env=env,
                           capture_output=True, timeout=900)
        if r.returncode != 0:
            run(["apt-get", "update", "-q"], env=env, capture_output=True)
            run(["apt-get", "install", "-y", "-q", *pkgs], env=env,
                capture_output=True, timeout=900)
    finally:
        if made:
            os.unlink(policy)


def build_client(tmp):
    out = os.path.join(tmp, "pop3load")
    run(["cc", "-O2", "-g", "-Wall", "-Wextra", "-std=gnu11", "-D_GNU_SOURCE",
         "-pthread", "-o", out, os.path.join(HERE, "pop3load.c"), "-lssl",
         "-lcrypto", "-lcrypt"],
        timeout=120)
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- data

SYLLABLES = ("ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko la le li "
             "lo lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru "
             "sa se si so su ta te ti to tu va ve vi vo za ze zi zo").split()
NAMES = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj "
         "Olivia Peggy Rupert Sybil Trent Victor Walter Yolanda").split()
DOMAINS = ("example.org", "example.com", "example.net", "mail.example.org",
           "lists.example.net")


class Corpus:
    """About 4 MB of text lines to cut message bodies from, some starting
    with a dot (so that RETR byte-stuffs) or with "From "."""

    def __init__(self, rng):
        words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
                 for _ in range(2000)]
        lines = []
        size = 0
        while size < 4 << 20:
            n = rng.randint(0, 76)
            line = []
            length = 0
            while length < n:
                w = rng.choice(words)
                line.append(w)
                length += len(w) + 1
            s = " ".join(line)
            r = rng.random()
            if r < 0.006:
                s = "." + s
            elif r < 0.008:
                s = "From " + s
            lines.append(s + "\n")
            size += len(s) + 1
        self.text = "".join(lines).encode()
        self.offsets = []
        off = 0
        for line in lines:
            self.offsets.append(off)
            off += len(line)
        # Starts that leave at least 64 KB after them.
        self.starts = bisect.bisect_left(self.offsets, len(self.text) - (64 << 10))

    def body(self, rng, size):
        """Whole lines, about size bytes (size <= 64 KB)."""
        i = rng.randrange(self.starts)
        start = self.offsets[i]
        j = bisect.bisect_left(self.offsets, start + size)
        return self.text[start:self.offsets[j]]


def headers(rng, user, when, n):
    name = rng.choice(NAMES)
    dom = rng.choice(DOMAINS)
    subject = " ".join("".join(rng.choice(SYLLABLES) for _ in range(3))
                       for _ in range(rng.randint(2, 8)))
    date = email.utils.formatdate(when)
    qid = "%010X" % rng.getrandbits(40)
    mid = "%016x.%d@%s" % (rng.getrandbits(64), n, dom)
    return (f"Return-Path: <{name.lower()}@{dom}>\n"
            f"Delivered-To: {user}@bench.example\n"
            f"Received: from mx{rng.randint(1, 9)}.{dom} (mx.{dom} "
            f"[192.0.2.{rng.randint(1, 254)}])\n"
            f"\tby mail.bench.example (Postfix) with ESMTPS id {qid}\n"
            f"\tfor <{user}@bench.example>; {date}\n"
            f"From: {name} <{name.lower()}@{dom}>\n"
            f"To: {user}@bench.example\n"
            f"Subject: {subject}\n"
            f"Date: {date}\n"
            f"Message-ID: <{mid}>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n").encode()


def write_file(path, data, uid):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchown(fd, uid, uid)
    finally:
        os.close(fd)


def make_maildir(home, uid):
    md = os.path.join(home, "Maildir")
    os.makedirs(home, exist_ok=True)
    os.chown(home, uid, uid)
    os.chmod(home, 0o700)
    for sub in ("", "new", "cur", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
        os.chown(os.path.join(md, sub), uid, uid)
        os.chmod(os.path.join(md, sub), 0o700)
    return md


def msg_name(when, n, pid, host, seen):
    return f"{when}.M{n:06d}P{pid}.{host}" + (":2,S" if seen else "")


class Data:
    """The cached data sets and the users that own them.

    Users: u000.. (the login storm and idle sessions: small maildrops),
    big (the large maildrop, all in new/), bulk (many 20 KB messages, in
    cur/ and seen), huge (one large message), empty (no message).  The
    arrivals for big wait in a staging folder of their own."""

    def __init__(self, p):
        self.p = p
        self.root = os.path.join(DATA_ROOT, f"v{DATA_VERSION}")
        self.corpus = None
        self.users = {}         # name -> (uid, home)
        for i in range(p["storm_users"]):
            self.users[f"u{i:03d}"] = (
                BASE_UID + i,
                self.dir(f"storm-{p['storm_users']}x{p['storm_msgs']}", f"u{i:03d}"))
        self.users["big"] = (BASE_UID + 1000, self.dir(f"big-{p['big']}", "big"))
        self.users["bulk"] = (BASE_UID + 1001,
                              self.dir(f"bulk-{p['bulk']}x{p['bulk_kb']}k", "bulk"))
        self.users["huge"] = (BASE_UID + 1002, self.dir(f"huge-{p['huge_mb']}m", "huge"))
        self.users["empty"] = (BASE_UID + 1003, self.dir("empty", "empty"))
        self.poll_root = os.path.join(self.root, f"poll-{p['big']}")
        for user in POLL_USERS.values():
            self.users[user] = (BASE_UID + 1004,
                                os.path.join(self.poll_root, "copies", user))
        self.arrivals = os.path.join(self.root, f"arrivals-{p['arrivals']}")
        # The bulk messages in one file, for the ceiling of reading them.
        self.bulk_cat = os.path.join(os.path.dirname(self.users["bulk"][1]),
                                     "all-messages")

    def dir(self, comp, user):
        return os.path.join(self.root, comp, user)

    def maildir(self, user):
        return os.path.join(self.users[user][1], "Maildir")

    def uid(self, user):
        return self.users[user][0]

    def ensure(self, scenarios=SCENARIOS):
        """Make the data the scenarios need (the login storms need only
        the storm mailboxes)."""
        os.makedirs(self.root, mode=0o755, exist_ok=True)
        os.chmod(DATA_ROOT, 0o755)
        os.chmod(self.root, 0o755)
        storm = os.path.dirname(self.users["u000"][1])
        self._component(storm, self._gen_storm)
        if "poll" in scenarios:
            self._component(self.poll_root, self._gen_poll)
        big = {"maildrop", "memory"} & set(scenarios)
        files = {"throughput", "tls"} & set(scenarios)
        if big:
            self._component(os.path.dirname(self.users["big"][1]),
                            self._gen_big)
            self._component(self.arrivals, self._gen_arrivals)
        if files:
            self._component(os.path.dirname(self.users["bulk"][1]),
                            self._gen_bulk)
            self._component(os.path.dirname(self.users["huge"][1]),
                            self._gen_huge)
        if big or files:
            self._component(os.path.dirname(self.users["empty"][1]),
                            self._gen_empty)

    def _component(self, path, gen):
        mark = os.path.join(path, ".complete")
        if os.path.exists(mark):
            with open(mark) as f:
                if f.read().strip() == DATA_VERSION:
                    return
        if os.path.exists(path):
            shutil.rmtree(path)
        os.makedirs(path, mode=0o755)
        t0 = time.monotonic()
        log(f"generating {path}")
        if self.corpus is None:
            self.corpus = Corpus(random.Random(SEED))
        gen(path, random.Random(f"{SEED}-{os.path.basename(path)}"))
        with open(mark, "w") as f:
            f.write(DATA_VERSION + "\n")
        log(f"  done in {time.monotonic() - t0:.1f} s")

    def _messages(self, md, user, rng, count, lo, hi, t0, pid, host,
                  sub="new", seen=False, uid=None):
        if uid is None:
            uid = self.uid(user) if user in self.users else self.uid("big")
        for n in range(count):
            when = t0 + n * 60
            head = headers(rng, user, when, n)
            size = rng.randint(lo, hi)
            body = self.corpus.body(rng, max(size - len(head), 1))
            write_file(os.path.join(md, sub, msg_name(when, n, pid, host, seen)),
                       head + body, uid)

    def _gen_storm(self, path, rng):
        for i in range(self.p["storm_users"]):
            user = f"u{i:03d}"
            md = make_maildir(self.users[user][1], self.uid(user))
            self._messages(md, user, rng, self.p["storm_msgs"], 1000, 20000,
                           1690000000, 4001, "bench.example")

    def _gen_big(self, path, rng):
        md = make_maildir(self.users["big"][1], self.uid("big"))
        self._messages(md, "big", rng, self.p["big"], 1000, 20000,
                       1600000000, 4242, "bench.example")

    def _gen_arrivals(self, path, rng):
        # After every message of big; ".arrival" marks them for reset_cold.
        os.chown(path, self.uid("big"), self.uid("big"))
        os.makedirs(os.path.join(path, "new"))
        self._messages(path, "big", rng, self.p["arrivals"], 1000, 20000,
                       1600000000 + self.p["big"] * 60 + 3600, 4343,
                       "arrival.bench.example")

    def _gen_poll(self, path, rng):
        """The polling maildrop's master copy, and the arrivals for the
        polls (both owned by the poll users' one uid)."""
        uid = self.uid("pollpop3d")
        os.chown(path, uid, uid)
        md = make_maildir(os.path.join(path, "master"), uid)
        fresh = max(1, int(self.p["big"] * POLL_NEW_SHARE))
        self._messages(md, "poll", rng, self.p["big"] - fresh, 1000, 20000,
                       1600000000, 4646, "bench.example", sub="cur",
                       seen=True, uid=uid)
        self._messages(md, "poll", rng, fresh, 1000, 20000,
                       1600000000 + self.p["big"] * 60, 4747, "bench.example",
                       uid=uid)
        pool = os.path.join(path, "arrivals")
        os.makedirs(os.path.join(pool, "new"))
        self._messages(pool, "poll", rng, POLL_POOL, 1000, 20000,
                       1600000000 + self.p["big"] * 120, 4848,
                       "arrival.bench.example", uid=uid)

    def _gen_bulk(self, path, rng):
        md = make_maildir(self.users["bulk"][1], self.uid("bulk"))
        kb = self.p["bulk_kb"] * 1000
        self._messages(md, "bulk", rng, self.p["bulk"], kb, kb, 1650000000,
                       4444, "bench.example", sub="cur", seen=True)
        with open(self.bulk_cat, "wb") as out:
            for f in self.paths("bulk"):
                with open(f, "rb") as src:
                    shutil.copyfileobj(src, out)

    def _gen_huge(self, path, rng):
        md = make_maildir(self.users["huge"][1], self.uid("huge"))
        name = msg_name(1660000000, 1, 4545, "bench.example", True)
        fpath = os.path.join(md, "cur", name)
        write_file(fpath, b"", self.uid("huge"))
        total = self.p["huge_mb"] * 1000 * 1000
        text = self.corpus.text
        with open(fpath, "wb") as f:
            f.write(headers(rng, "huge", 1660000000, 1))
            left = total - f.tell()
            while left > 0:
                chunk = text if left >= len(text) else \
                    text[:text.rfind(b"\n", 0, left) + 1]
                if not chunk:
                    break
                f.write(chunk)
                left -= len(chunk)

    def _gen_empty(self, path, rng):
        make_maildir(self.users["empty"][1], self.uid("empty"))

    def users_file(self, path, hashes):
        """One users file for pop3d and Dovecot's passwd-file: pop3d reads it
        as root, Dovecot's auth process as the dovecot group."""
        with open(path, "w") as f:
            for name, (uid, home) in self.users.items():
                f.write(f"{name}:{hashes[name]}:{uid}:{uid}::{home}::\n")
        try:
            gid = pwd.getpwnam("dovecot").pw_gid
        except KeyError:
            gid = 0
        os.chown(path, 0, gid)
        os.chmod(path, 0o640)

    # -- the large maildrop's states

    def reset_cold(self):
        """big as right after delivery: every message back in new/ under its
        delivered name, the arrivals gone, no index or cache of either
        server (Dovecot's dovecot.index*, dovecot-uidlist,
        dovecot-uidvalidity*; any pop3d* file of pop3d's)."""
        md = self.maildir("big")
        for sub in ("cur", "new", "tmp"):
            d = os.path.join(md, sub)
            for name in os.listdir(d):
                base = name.split(":", 1)[0]
                p = os.path.join(d, name)
                if sub == "tmp" or ".arrival." in base:
                    os.unlink(p)
                elif sub == "cur":
                    os.rename(p, os.path.join(md, "new", base))
        for name in os.listdir(md):
            p = os.path.join(md, name)
            if (name.startswith("dovecot") or name.startswith("pop3d")) \
                    and os.path.isfile(p):
                os.unlink(p)
        self.warm("big")

    def warm(self, *users):
        """Read every message into the page cache: a machine that reclaims
        idle page cache (DAMON here) would otherwise make whichever server
        comes first read from disk."""
        for user in users:
            for path in self.paths(user):
                with open(path, "rb") as f:
                    while f.read(1 << 20):
                        pass

    def deliver_arrivals(self):
        """The arrivals, each written to tmp/ and renamed into new/ as a
        delivery agent does."""
        md = self.maildir("big")
        src = os.path.join(self.arrivals, "new")
        uid = self.uid("big")
        for name in sorted(os.listdir(src)):
            tmp = os.path.join(md, "tmp", name)
            shutil.copyfile(os.path.join(src, name), tmp)
            os.chown(tmp, uid, uid)
            os.chmod(tmp, 0o600)
            os.rename(tmp, os.path.join(md, "new", name))

    # -- the polling maildrops

    def poll_master(self):
        return os.path.join(self.poll_root, "master", "Maildir")

    def reset_poll(self, user):
        """user's maildrop as the master copy: its own directories, the
        master's files hard-linked into them."""
        home = self.users[user][1]
        if os.path.exists(home):
            shutil.rmtree(home)
        os.makedirs(os.path.dirname(home), mode=0o755, exist_ok=True)
        md = make_maildir(home, self.uid(user))
        src = self.poll_master()
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(src, sub)):
                os.link(os.path.join(src, sub, name),
                        os.path.join(md, sub, name))

    def poll_arrivals(self, k):
        pool = os.path.join(self.poll_root, "arrivals", "new")
        names = sorted(os.listdir(pool))
        if (k + 1) * POLL_BATCH > len(names):
            raise BenchError(f"{len(names)} arrivals for the polls: too few")
        return [os.path.join(pool, n)
                for n in names[k * POLL_BATCH:(k + 1) * POLL_BATCH]]

    def deliver_poll(self, user, k):
        """The messages before poll k, each written to tmp/ and renamed
        into new/ as a delivery agent does."""
        md = self.maildir(user)
        uid = self.uid(user)
        for src in self.poll_arrivals(k):
            name = os.path.basename(src)
            tmp = os.path.join(md, "tmp", name)
            shutil.copyfile(src, tmp)
            os.chown(tmp, uid, uid)
            os.chmod(tmp, 0o600)
            os.rename(tmp, os.path.join(md, "new", name))

    def count(self, user):
        md = self.maildir(user)
        return sum(len(os.listdir(os.path.join(md, s))) for s in ("new", "cur"))

    def paths(self, user):
        md = self.poll_master() if user == "poll" else self.maildir(user)
        out = []
        for sub in ("cur", "new"):
            d = os.path.join(md, sub)
            out += sorted(os.path.join(d, n) for n in os.listdir(d))
        return out


def hash_passwords(build, users):
    """{SHA512-CRYPT} hashes from pop3d-passwd, one salt per user."""
    out = {}
    for name in users:
        r = run([os.path.join(build, "pop3d-passwd"), "-s", "SHA512-CRYPT", "-r"],
                input=(PASSWORD + "\n").encode(), capture_output=True, timeout=30)
        out[name] = r.stdout.decode().strip()
    return out


# ---------------------------------------------------------------- processes

def proc_table():
    """{pid: (ppid, state, comm, cpu ticks incl. reaped children)}."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index(b"(") + 1:stat.rindex(b")")].decode("latin-1")
        fields = stat[stat.rindex(b")") + 2:].split()
        ticks = sum(int(x) for x in fields[11:15])   # utime stime cutime cstime
        out[int(name)] = (int(fields[1]), fields[0].decode(), comm, ticks)
    return out


def descendants(root, table=None):
    table = table if table is not None else proc_table()
    kids = {}
    for pid, (ppid, *_rest) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_cpu(root, table=None):
    """CPU seconds of root and everything under it, dead children that
    were reaped included (each second is counted once: in the process
    that used it while it lives, then in its parent's cutime/cstime)."""
    table = table if table is not None else proc_table()
    pids = [root] + descendants(root, table)
    return sum(table[p][3] for p in pids if p in table) / CLK_TCK


def smaps(pid):
    """{'Rss': kB, 'Pss': kB, 'Anonymous': kB} of one process."""
    out = {"Rss": 0, "Pss": 0, "Anonymous": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in out:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


# The benchmark's TLS client side in Python: only to see a server answer.
NO_VERIFY = ssl.create_default_context()
NO_VERIFY.check_hostname = False
NO_VERIFY.verify_mode = ssl.CERT_NONE


def make_cert(tmp, kind=("ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
              name="tls"):
    """A throw-away self-signed certificate for 127.0.0.1, ECDSA P-256
    unless kind says otherwise (openssl req -newkey arguments)."""
    cert = os.path.join(tmp, f"{name}-cert.pem")
    key = os.path.join(tmp, f"{name}-key.pem")
    run(["openssl", "req", "-x509", "-newkey", *kind,
         "-nodes", "-days", "2", "-subj",
         "/CN=127.0.0.1", "-keyout", key, "-out", cert], capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


class Server:
    name = ""
    root = None     # pid of the process whose tree is the server
    tls = None      # (cert, key): implicit TLS on self.port
    session_comm = None     # the name of the process that runs a session

    def serving(self, table):
        """Pids that serve sessions (memory is summed over these)."""
        raise NotImplementedError

    def cpu(self):
        return tree_cpu(self.root)

    def mem(self, session_only=False):
        """Memory of the processes serving sessions, or with session_only
        of those that run a session (session_comm) alone."""
        table = proc_table()
        tot = {"Rss": 0, "Pss": 0, "Anonymous": 0}
        for pid in self.serving(table):
            if session_only and table[pid][2] != self.session_comm:
                continue
            for k, v in smaps(pid).items():
                tot[k] += v
        return tot

    def settle(self):
        """Wait until the sessions of the last run have ended and been
        reaped: no zombie in the tree and its CPU time steady."""
        deadline = time.monotonic() + WAIT
        last = None
        while time.monotonic() < deadline:
            table = proc_table()
            pids = descendants(self.root, table)
            if not any(table[p][1] == "Z" for p in pids if p in table) \
                    and self.quiet(table, pids):
                now = (tree_cpu(self.root, table), tuple(sorted(pids)))
                if now == last:
                    return
                last = now
            time.sleep(0.1)
        log(f"{self.name}: still busy after {WAIT:.0f} s")

    def quiet(self, table, pids):
        return True

    def wait_ready(self, proc, logpath):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                with open(logpath, errors="replace") as f:
                    raise BenchError(f"{self.name} exited: {f.read()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                    s.settimeout(5)
                    if self.tls:
                        s = NO_VERIFY.wrap_socket(s)
                    if s.recv(512).startswith(b"+OK"):
                        s.sendall(b"QUIT\r\n")
                        s.recv(512)
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name} does not answer on port {self.port}")

    def stop_group(self, proc):
        """Stop what we started, by its pid and process group."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(WAIT)


class Launched(Server):
    """A program behind systemd-socket-activate --inetd -a, one instance
    per connection, in a process group of its own."""

    def __init__(self, argv, logpath):
        self.port = free_port()
        self.logpath = logpath
        with open(logpath, "ab") as lf:
            self.p = subprocess.Popen(
                ["systemd-socket-activate", "--inetd", "-a",
                 "-l", f"127.0.0.1:{self.port}", *argv],
                stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                start_new_session=True)
        self.root = self.p.pid

    def serving(self, table):
        return descendants(self.root, table)

    def quiet(self, table, pids):
        return not pids

    def stop(self):
        self.stop_group(self.p)


class Pop3d(Launched):
    name = "pop3d"
    session_comm = "pop3d-session"

    def __init__(self, tmp, build, users_file, tls=None, tag=""):
        self.tls = tls
        what = ("pop3d-tls" if tls else "pop3d") + tag
        self.conf = os.path.join(tmp, f"{what}.conf")
        with open(self.conf, "w") as f:
            f.write(f"users_file = {users_file}\n"
                    "maildir = %h/Maildir\n"
                    "log = stderr\n"
                    "empty_dir = /var/empty\n")
            if tls:
                # The suite Dovecot ends up with (the client's first
                # choice), so that both servers do the same cipher work.
                f.write(f"tls_cert = {tls[0]}\ntls_key = {tls[1]}\n"
                        "tls_ciphersuites = TLS_AES_256_GCM_SHA384\n")
        super().__init__([os.path.join(build, "pop3d"), "-c", self.conf,
                          *(["-i"] if tls else [])],
                         os.path.join(tmp, f"{what}.log"))
        self.wait_ready(self.p, self.logpath)


class Ceiling(Launched):
    """cat(1) of the files named in a list, behind the same launcher."""

    def __init__(self, tmp, name):
        self.name = f"cat {name}"
        self.listfile = os.path.join(tmp, f"{name}.list")
        self.set_files([])
        super().__init__(["/bin/sh", "-c",
                          f"exec xargs -0 -r cat < '{self.listfile}'"],
                         os.path.join(tmp, f"cat-{name}.log"))
        deadline = time.monotonic() + WAIT
        while True:     # with an empty list, a connection just closes
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                    s.settimeout(5)
                    if s.recv(16) == b"":
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.p.poll() is not None:
                raise BenchError(f"{self.name}: the launcher does not answer")
            time.sleep(0.1)

    def set_files(self, paths):
        with open(self.listfile, "wb") as f:
            f.write(b"\0".join(p.encode() for p in paths))


DOVECOT_CONF = """\
# A private Dovecot for pop3d's benchmark: {name}.
protocols = pop3
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1000
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {tls_port}
  }}
{login_extra}}}
{extra}"""

# Dovecot's high-performance settings: login processes that each serve many
# connections, two always waiting (one per core), and passdb results cached.
# pop3 processes stay one per session (service_count = 1): a reused one keeps
# the uid of its first user, and every mailbox here has a uid of its own
# (Dovecot then fails with "setgid(...) failed ... Operation not permitted").
TUNED_LOGIN = "  service_count = 0\n  process_min_avail = 2\n"
TUNED_EXTRA = "auth_cache_size = 10M\n"


class Dovecot(Server):
    session_comm = "pop3"

    def __init__(self, tmp, users_file, tuned, tls=None, tag=""):
        self.name = "Dovecot tuned" if tuned else "Dovecot"
        self.tls = tls
        self.port = free_port()
        d = os.path.join(tmp, ("dovecot-tuned" if tuned else "dovecot") +
                         ("-tls" if tls else "") + tag)
        for sub in ("", "run", "state"):
            os.makedirs(os.path.join(d, sub), mode=0o755, exist_ok=True)
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(
                name=self.name, d=d, users=users_file,
                port=0 if tls else self.port, tls_port=self.port if tls else 0,
                ssl=(f"ssl = required\nssl_cert = <{tls[0]}\n"
                     f"ssl_key = <{tls[1]}" if tls else "ssl = no"),
                login_extra=TUNED_LOGIN if tuned else "",
                extra=TUNED_EXTRA if tuned else ""))
        self.logpath = os.path.join(d, "dovecot.log")
        self.stderr = os.path.join(d, "stderr.log")
        with open(self.stderr, "ab") as lf:
            self.p = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                      stdin=subprocess.DEVNULL, stdout=lf,
                                      stderr=lf, start_new_session=True)
        self.root = self.p.pid
        self.wait_ready(self.p, self.stderr)

    def serving(self, table):
        return [p for p in descendants(self.root, table)
                if table[p][2] in ("pop3", "pop3-login")]

    def quiet(self, table, pids):
        # Sessions over: no pop3 process running (tuned ones wait idle).
        return not any(table[p][2] == "pop3" and table[p][1] == "R"
                       for p in pids if p in table)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.stop_group(self.p)


def dovecot_version():
    try:
        return subprocess.run(["dovecot", "--version"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


# ---------------------------------------------------------------- client

class Client:
    def __init__(self, path):
        self.path = path

    def __call__(self, server, mode, *args, timeout=600):
        argv = [self.path, mode, "-p", str(server.port), *map(str, args)]
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{server.name}: pop3load {mode} took over {timeout} s")
        kv = parse_kv(r.stdout)
        if r.returncode != 0:
            why = kv.get("error") or kv.get("first_error") or r.stderr.strip()
            raise BenchError(f"{server.name}: pop3load {mode} {' '.join(map(str, args))}: {why}")
        return kv

    def crypt(self, hashed, calls):
        r = run([self.path, "crypt", "-w", PASSWORD, "-H", hashed, "-N", str(calls)],
                capture_output=True, text=True, timeout=600)
        return parse_kv(r.stdout)

    def idle(self, server, *args):
        """Start idle sessions; returns (process, kv) once they are ready."""
        p = subprocess.Popen([self.path, "idle", "-p", str(server.port),
                              *map(str, args)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        deadline = time.monotonic() + 300
        out = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 1)
            if r:
                line = p.stdout.readline()
                if not line:
                    break
                out += line
                if line.startswith("ready="):
                    return p
        p.kill()
        p.wait()
        raise BenchError(f"{server.name}: idle sessions not ready: {out.strip()}")

    @staticmethod
    def idle_end(server, p):
        try:
            out, err = p.communicate(timeout=60)    # closes stdin first
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise BenchError(f"{server.name}: idle sessions did not end")
        if p.returncode != 0:
            raise BenchError(f"{server.name}: idle: {out.strip()} {err.strip()}")


def parse_kv(text):
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if sep:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


# ---------------------------------------------------------------- results

class Results:
    def __init__(self):
        self.rows = {}      # (section, figure) -> {unit, better, values{server: []}}
        self.order = []
        self.refs = []      # (section, figure, unit, [values])
        self.notes = []

    def add(self, section, figure, unit, better, server, value):
        key = (section, figure)
        if key not in self.rows:
            self.rows[key] = dict(unit=unit, better=better, values={})
            self.order.append(key)
        self.rows[key]["values"].setdefault(server, []).append(value)

    def ref(self, section, figure, unit, value):
        for r in self.refs:
            if r[0] == section and r[1] == figure:
                r[3].append(value)
                return
        self.refs.append((section, figure, unit, [value]))


def fmt(v):
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a == 0:
        return "0"
    return f"{v:.3g}"


def cell(vals):
    if not vals:
        return "–"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(vals))}–{fmt(max(vals))})"


def ratio(a, b):
    if not a or not b:
        return "–"
    ma, mb = statistics.median(a), statistics.median(b)
    if mb == 0:
        return "–"
    r = ma / mb
    if r >= 100:
        return f"{r:.0f}"
    if r >= 10:
        return f"{r:.1f}"
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


# Why pop3d is behind on a figure, where the reason is known: (regular
# expression on the figure, the Dovecot it loses to or None for either,
# one line).  A loss with no entry here is printed as unexplained.
REASONS = (
    (r"time to the PASS reply", None,
     "Dovecot answers PASS before it reads the maildrop and reads it at the "
     "first command; pop3d lists the maildrop before its +OK to PASS (the "
     "reply says the maildrop is ready): compare whole sessions"),
    (r"^(sessions/s|p50 latency|p99 latency), c=1$", "Dovecot tuned",
     "one session at a time: the tuned Dovecot has a login process waiting "
     "and an authentication cache, pop3d starts a fresh process tree and "
     "checks the password for every connection (by design: no password "
     "cache)"),
    (r"^server CPU per (1,000 logins|login ÷)", "Dovecot tuned",
     "the tuned Dovecot reuses its login processes and caches "
     "authentication; pop3d starts a fresh process tree and checks the "
     "password for every connection (by design: no password cache)"),
    (r"^(RSS|PSS) per idle logged-in session \(", None,
     "every process of the connection counts: with log = stderr, as here, "
     "pop3d keeps a log relay per connection (pop3d-log, a small static "
     "image); Dovecot's log process is shared and not counted. "
     "The session process alone is the next rows"),
    (r"^(sessions/s|p50 latency|p99 latency), (RSA-2048|ECDSA P-256), c=",
     "Dovecot tuned",
     "the tuned Dovecot's login processes set TLS up once for many "
     "connections; pop3d sets it up in a fresh process for every one, some "
     "4 ms of CPU in a profile: loading libssl and libcrypto (1.1 ms), "
     "OpenSSL's provider tables and the TLS context (2 ms), the key, and "
     "the handshake"),
    (r"TLS", "Dovecot tuned",
     "the tuned Dovecot's login processes serve many connections with one "
     "TLS setup; pop3d sets up TLS in a fresh process tree for every "
     "connection and signs through the monitor"),
)
TIE = 0.05      # a loss by less than this share is a tie at bench noise


def loss(row, other):
    """pop3d's ratio to other when it is worse there, else None."""
    v = row["values"]
    a, b = v.get("pop3d"), v.get(other)
    if not a or not b or statistics.median(b) == 0:
        return None
    r = statistics.median(a) / statistics.median(b)
    worse = r > 1 if row["better"] == "lower" else r < 1
    return r if worse else None


def reason(fig, other, r):
    if abs(r - 1) < TIE:
        return f"within {TIE:.0%}: a tie at this run's noise (see the range)"
    for pat, who, why in REASONS:
        if (who is None or who == other) and re.search(pat, fig):
            return why
    return "NOT EXPLAINED YET: profile it before giving a reason"


def losses(res, keys):
    """A line for each figure among keys where pop3d is behind (one for
    each reason, when it is behind both Dovecots for different ones)."""
    out = []
    for key in keys:
        why = {}
        for other, short in (("Dovecot", "Dovecot"), ("Dovecot tuned", "tuned")):
            r = loss(res.rows[key], other)
            if r is not None:
                why.setdefault(reason(key[1], other, r), []).append(
                    f"pop3d/{short} {r:.2g}")
        for text, ratios in why.items():
            out.append(f"- {key[1]} ({', '.join(ratios)}): {text}")
    return out


def sections(res):
    """{section: [keys]} in the order the sections first appeared."""
    out = {}
    for key in res.order:
        out.setdefault(key[0], []).append(key)
    return out


def table(res):
    lines = []
    for sec, keys in sections(res).items():
        lines += ["", f"### {sec}", "",
                  "| figure | unit | pop3d | Dovecot | Dovecot tuned "
                  "| pop3d/Dovecot | pop3d/tuned |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for key in keys:
            row = res.rows[key]
            v = row["values"]
            arrow = "↑" if row["better"] == "higher" else "↓"
            lines.append(f"| {key[1]} | {row['unit']} {arrow} | "
                         f"{cell(v.get('pop3d'))} | {cell(v.get('Dovecot'))} | "
                         f"{cell(v.get('Dovecot tuned'))} | "
                         f"{ratio(v.get('pop3d'), v.get('Dovecot'))} | "
                         f"{ratio(v.get('pop3d'), v.get('Dovecot tuned'))} |")
        behind = losses(res, keys)
        if behind:
            lines += ["", "Where pop3d is behind:", ""] + behind
    if res.refs:
        lines += ["", "### For reference", "",
                  "| what | figure | unit | median (min–max) |",
                  "|---|---|---|---:|"]
        for sec, fig, unit, vals in res.refs:
            lines.append(f"| {sec} | {fig} | {unit} | {cell(vals)} |")
    return "\n".join(lines)


README_BEGIN = "<!-- bench table: bench/run.py --readme writes from here -->"
README_END = "<!-- bench table: to here -->"


def readme_table(res, rev):
    """Every figure's ratios, for the README's Performance section."""
    lines = [README_BEGIN,
             f"From `make bench` at {rev} (bench/RESULTS.md has the figures "
             "and ranges); ratio = pop3d / Dovecot as shipped, then / "
             "Dovecot tuned; ↑ higher is better, ↓ lower is better:", "",
             "| figure | ratio | vs tuned |", "|---|---:|---:|"]
    behind = []
    for sec, keys in sections(res).items():
        lines.append(f"| **{sec}** | | |")
        for key in keys:
            row = res.rows[key]
            v = row["values"]
            arrow = "↑" if row["better"] == "higher" else "↓"
            lines.append(f"| {key[1]} {arrow} | "
                         f"{ratio(v.get('pop3d'), v.get('Dovecot'))} | "
                         f"{ratio(v.get('pop3d'), v.get('Dovecot tuned'))} |")
        behind += losses(res, keys)
    if behind:
        lines += ["", "Where pop3d is behind:", ""] + behind
    return "\n".join(lines + ["", README_END])


def update_readme(block):
    path = os.path.join(TOP, "README.md")
    with open(path) as f:
        text = f.read()
    a, b = text.find(README_BEGIN), text.find(README_END)
    if a == -1 or b < a:
        raise BenchError(f"{path}: no bench table markers")
    with open(path, "w") as f:
        f.write(text[:a] + block + text[b + len(README_END):])


def per_crypt(res):
    """CPU per plaintext login as a multiple of one SHA512-CRYPT check
    (the reference), so that "within 2x of one check" reads off a row."""
    ref = [r[3] for r in res.refs if r[1].startswith("crypt(3)")]
    if not ref:
        return
    one = statistics.median(ref[0])
    for key in list(res.order):
        m = re.match(r"server CPU per 1,000 logins, (c=\d+)$", key[1])
        if not m:
            continue
        row = res.rows[key]
        for srv, vals in row["values"].items():
            for v in vals:      # s per 1,000 logins = ms per login
                res.add(key[0], "server CPU per login ÷ one SHA512-CRYPT "
                        f"check, {m.group(1)}", "×", "lower", srv, v / one)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return dict(nproc=os.cpu_count(), cpu=model, kernel=platform.release(),
                mem=mem, load=" ".join(f"{x:.2f}" for x in os.getloadavg()))


def git_rev():
    """("<short hash> (<subject>)", the uncommitted changes or "").
    Untracked files count: a new source file changes the build too."""
    def git(*argv):
        return subprocess.run(["git", "-C", TOP, *argv], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    try:
        rev = git("log", "-1", "--format=%h (%s)")
        return rev or "?", git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "?", "git status failed"


# ---------------------------------------------------------------- scenarios

class Bench:
    def __init__(self, p, data, client, servers, res, tmp):
        self.p, self.data, self.client = p, data, client
        self.servers, self.res, self.tmp = servers, res, tmp
        self.build = self.users = None     # set by main() for tls()
        self.ciphers = {}                   # server name -> "TLSv1.3 ..."
        self.pop3d_only = False             # --pop3d-only: no Dovecot

    def reps(self):
        return range(self.p["reps"])

    def storm(self):
        p, c = self.p, self.client
        sec = "1. Login storm (connect, USER, PASS, STAT, QUIT)"
        for srv in self.servers:        # first sessions build indexes
            c(srv, "storm", "-u", "u", "-n", p["storm_users"], "-w", PASSWORD,
              "-N", p["storm_users"], "-C", 1)
        per_rep = max(1, p["storm_sessions"] // p["reps"])
        for conc in p["concurrency"]:
            log(f"storm: {p['reps']} × {per_rep} sessions at concurrency {conc}")
            for _ in self.reps():
                for srv in self.servers:
                    srv.settle()
                    cpu0 = srv.cpu()
                    kv = c(srv, "storm", "-u", "u", "-n", p["storm_users"],
                           "-w", PASSWORD, "-N", per_rep, "-C", conc)
                    srv.settle()
                    cpu = srv.cpu() - cpu0
                    r = self.res
                    r.add(sec, f"sessions/s, c={conc}", "sessions/s", "higher",
                          srv.name, kv["sessions_per_s"])
                    r.add(sec, f"p50 latency, c={conc}", "ms", "lower", srv.name,
                          kv["p50_ms"])
                    r.add(sec, f"p99 latency, c={conc}", "ms", "lower", srv.name,
                          kv["p99_ms"])
                    r.add("5. CPU", f"server CPU per 1,000 logins, c={conc}",
                          "s", "lower", srv.name, cpu * 1000 / kv["ok"])

    def tlsstorm(self):
        """The login storm over implicit TLS (port 995), with an RSA-2048
        and an ECDSA P-256 certificate, the same for every server; each
        server started for this scenario alone."""
        p, c = self.p, self.client
        sec = "1b. TLS login storm (implicit TLS: handshake, USER, PASS, " \
            "STAT, QUIT)"
        per_rep = max(1, p["storm_sessions"] // p["reps"])
        for label, kind in TLS_STORM_KEYS:
            tag = "-" + label.split()[0].split("-")[0].lower()
            keys = make_cert(self.tmp, kind, "storm" + tag)
            servers = []
            try:
                servers.append(Pop3d(self.tmp, self.build, self.users,
                                     tls=keys, tag=tag))
                if not self.pop3d_only:
                    servers.append(Dovecot(self.tmp, self.users, False,
                                           tls=keys, tag=tag))
                    servers.append(Dovecot(self.tmp, self.users, True,
                                           tls=keys, tag=tag))
                for srv in servers:     # first sessions build indexes
                    c(srv, "storm", "-u", "u", "-n", p["storm_users"], "-w",
                      PASSWORD, "-N", p["storm_users"], "-C", 1, "-s")
                for conc in TLS_STORM_CONCURRENCY:
                    log(f"tlsstorm {label}: {p['reps']} × {per_rep} sessions "
                        f"at concurrency {conc}")
                    for _ in self.reps():
                        for srv in servers:
                            srv.settle()
                            cpu0 = srv.cpu()
                            kv = c(srv, "storm", "-u", "u", "-n",
                                   p["storm_users"], "-w", PASSWORD, "-N",
                                   per_rep, "-C", conc, "-s")
                            srv.settle()
                            cpu = srv.cpu() - cpu0
                            self.res.add(sec, f"sessions/s, {label}, "
                                         f"c={conc}", "sessions/s", "higher",
                                         srv.name, kv["sessions_per_s"])
                            self.res.add(sec, f"p50 latency, {label}, "
                                         f"c={conc}", "ms", "lower", srv.name,
                                         kv["p50_ms"])
                            self.res.add(sec, f"p99 latency, {label}, "
                                         f"c={conc}", "ms", "lower", srv.name,
                                         kv["p99_ms"])
                            self.res.add("5. CPU", "server CPU per 1,000 TLS "
                                         f"logins, {label}, c={conc}", "s",
                                         "lower", srv.name,
                                         cpu * 1000 / kv["ok"])
            finally:
                for srv in servers:
                    srv.stop()

    def maildrop(self):
        p, c, d = self.p, self.client, self.data
        n = p["big"]
        sec = f"2. Large maildrop ({n:,} messages, 1–20 KB)"
        figs = (("pass_ms", "time to the PASS reply"), ("stat_ms", "STAT"),
                ("list_ms", "LIST"), ("uidl_ms", "UIDL"),
                ("total_ms", "whole session"))
        for rep in self.reps():
            log(f"maildrop: repetition {rep + 1}")
            for srv in self.servers:
                srv.settle()
                d.reset_cold()
                # Each session starts as soon as the one before it ended,
                # but for the last: QUIET_S seconds of no change before it.
                cold = c(srv, "session", "-u", "big", "-w", PASSWORD)
                warm = c(srv, "session", "-u", "big", "-w", PASSWORD)
                d.deliver_arrivals()
                more = c(srv, "session", "-u", "big", "-w", PASSWORD)
                time.sleep(QUIET_S)
                quiet = c(srv, "session", "-u", "big", "-w", PASSWORD)
                m = n + p["arrivals"]
                for state, kv, want in (
                        ("cold (all in new/, no index)", cold, n),
                        ("second session, right after the first", warm, n),
                        (f"right after {p['arrivals']:,} new messages "
                         "arrived", more, m),
                        (f"after {QUIET_S} s without change", quiet, m)):
                    if kv["messages"] != want:
                        raise BenchError(f"{srv.name}: STAT gave {kv['messages']:.0f} "
                                         f"messages, not {want}")
                    for k, label in figs:
                        self.res.add(sec, f"{state}: {label}", "ms", "lower",
                                     srv.name, kv[k])

    def poll(self):
        """A leave-on-server client polling its maildrop while mail
        arrives, every POLL_INTERVALS seconds; each server polls its own
        copy, the servers interleaved within each interval."""
        p, d = self.p, self.data
        base = len(d.paths("poll"))
        sec = (f"2b. Polling ({base:,}-message maildrop, mostly in cur/; "
               f"{POLL_BATCH} new messages before each poll)")
        for interval in POLL_INTERVALS:
            log(f"poll: {p['polls']} polls every {interval} s")
            seen = self.poll_start(base)
            starts = self.poll_run(interval, base, seen, sec)
            for srv in self.servers:
                t = starts[srv.name]
                for a, b in zip(t, t[1:]):
                    self.res.ref("2b. Polling", f"every {interval} s: time "
                                 f"from one poll to the next, {srv.name}",
                                 "s", b - a)

    def poll_start(self, base):
        """Fresh copies, read into the page cache, then one session per
        server that retrieves nothing (a client set up on an old maildrop;
        Dovecot builds its index here).  Returns each server's seen list."""
        c, d = self.client, self.data
        for srv in self.servers:
            d.reset_poll(POLL_USERS[srv.name])
        d.warm("poll")
        seen = {}
        for srv in self.servers:
            user = POLL_USERS[srv.name]
            seen[srv.name] = os.path.join(self.tmp, f"seen-{user}")
            if os.path.exists(seen[srv.name]):
                os.unlink(seen[srv.name])
            kv = c(srv, "poll", "-u", user, "-w", PASSWORD, "-S",
                   seen[srv.name], "-A")
            if kv["messages"] != base:
                raise BenchError(f"{srv.name}: UIDL gave {kv['messages']:.0f} "
                                 f"messages, not {base}")
        return seen

    def poll_run(self, interval, base, seen, sec):
        """The polls: server i's k-th at k * interval + i * interval / n,
        its delivery half an interval before; a late event runs at once
        (the times between polls, in the reference table, show it)."""
        p, c, d = self.p, self.client, self.data
        n = len(self.servers)
        events = []
        for k in range(p["polls"]):
            for i in range(n):
                t = interval / 2 + k * interval + i * interval / n
                events += [(t - interval / 2, 0, i, k), (t, 1, i, k)]
        events.sort()
        starts = {srv.name: [] for srv in self.servers}
        figs = (("total_ms", f"whole session (UIDL, RETR of the {POLL_BATCH} "
                 "new)"), ("pass_ms", "time to the PASS reply"),
                ("uidl_ms", "UIDL"), ("retr_ms", f"RETR of the {POLL_BATCH} "
                                      "new messages"))
        t0 = time.monotonic() + 0.2
        for t, kind, i, k in events:
            delay = t0 + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            srv = self.servers[i]
            user = POLL_USERS[srv.name]
            if kind == 0:
                d.deliver_poll(user, k)
                continue
            starts[srv.name].append(time.monotonic())
            kv = c(srv, "poll", "-u", user, "-w", PASSWORD, "-S",
                   seen[srv.name], "-E", POLL_BATCH)
            want = base + POLL_BATCH * (k + 1)
            if kv["messages"] != want:
                raise BenchError(f"{srv.name}: poll {k + 1}: UIDL gave "
                                 f"{kv['messages']:.0f} messages, not {want}")
            for key, label in figs:
                self.res.add(sec, f"every {interval} s: {label}", "ms",
                             "lower", srv.name, kv[key])
        return starts

    def throughput(self):
        p, c, d = self.p, self.client, self.data
        sec = "3. Throughput"
        w = p["window"]
        cat = Ceiling(self.tmp, "files")
        try:
            for srv in self.servers:    # first sessions build indexes
                for user in ("bulk", "huge"):
                    c(srv, "session", "-u", user, "-w", PASSWORD)
            hl = f"RETR of one {p['huge_mb']} MB message"
            if not os.path.exists(d.bulk_cat):
                raise BenchError(f"{d.bulk_cat} missing: remove its folder "
                                 "to make the data again")
            bl = f"{p['bulk']:,} × {p['bulk_kb']} KB"
            for rep in self.reps():
                log(f"throughput: repetition {rep + 1}")
                d.warm("huge", "bulk")
                with open(d.bulk_cat, "rb") as f:
                    while f.read(1 << 20):
                        pass
                for srv in self.servers:
                    srv.settle()
                    cpu0 = srv.cpu()
                    kv = c(srv, "retr", "-u", "huge", "-w", PASSWORD, "-W", 1)
                    srv.settle()
                    cpu = srv.cpu() - cpu0
                    self.res.add(sec, hl, "MB/s", "higher", srv.name, kv["mb_per_s"])
                    self.res.add("5. CPU", f"server CPU per GB, {hl}", "s",
                                 "lower", srv.name, cpu / (kv["wire_bytes"] / 1e9))
                    kv = c(srv, "retr", "-u", "bulk", "-w", PASSWORD, "-W", 1)
                    self.res.add(sec, f"RETR {bl}, one at a time", "MB/s",
                                 "higher", srv.name, kv["mb_per_s"])
                    srv.settle()
                    cpu0 = srv.cpu()
                    kv = c(srv, "retr", "-u", "bulk", "-w", PASSWORD, "-W", w)
                    srv.settle()
                    cpu = srv.cpu() - cpu0
                    self.res.add(sec, f"RETR {bl}, pipelined ({w} in flight)",
                                 "MB/s", "higher", srv.name, kv["mb_per_s"])
                    self.res.add("5. CPU", f"server CPU per GB, RETR {bl} pipelined",
                                 "s", "lower", srv.name, cpu / (kv["wire_bytes"] / 1e9))
                    kv = c(srv, "retr", "-u", "bulk", "-w", PASSWORD, "-W", w, "-t")
                    self.res.add(sec, f"TOP n 0 over {p['bulk']:,} messages, "
                                 f"pipelined ({w} in flight)", "messages/s",
                                 "higher", srv.name, kv["messages"] / kv["elapsed_s"])
                for paths, label in (
                        (d.paths("huge"), f"the {p['huge_mb']} MB message"),
                        ([d.bulk_cat], f"the {bl} messages as one file"),
                        (d.paths("bulk"), f"the {bl} message files")):
                    cat.set_files(paths)
                    kv = c(cat, "raw")
                    self.res.ref(sec, f"ceiling: cat of {label} into the "
                                 "socket", "MB/s", kv["mb_per_s"])
        finally:
            cat.stop()

    def tls(self):
        """RETR over implicit TLS, from servers started for it alone (a
        TLS configuration must not slow the other scenarios down)."""
        p, c, d = self.p, self.client, self.data
        sec = "3. Throughput"
        w = p["window"]
        hl = f"RETR of one {p['huge_mb']} MB message over TLS"
        bl = f"RETR {p['bulk']:,} × {p['bulk_kb']} KB over TLS, pipelined"
        keys = make_cert(self.tmp)
        servers = []
        try:
            servers.append(Pop3d(self.tmp, self.build, self.users, tls=keys))
            if not self.pop3d_only:
                servers.append(Dovecot(self.tmp, self.users, False, tls=keys))
                servers.append(Dovecot(self.tmp, self.users, True, tls=keys))
            for srv in servers:         # first sessions build indexes
                for user in ("bulk", "huge"):
                    c(srv, "retr", "-u", user, "-w", PASSWORD, "-W", w, "-t",
                      "-s")
            for rep in self.reps():
                log(f"tls: repetition {rep + 1}")
                d.warm("huge", "bulk")
                for srv in servers:
                    srv.settle()
                    cpu0 = srv.cpu()
                    kv = c(srv, "retr", "-u", "huge", "-w", PASSWORD, "-W", 1,
                           "-s")
                    srv.settle()
                    cpu = srv.cpu() - cpu0
                    self.ciphers[srv.name] = kv.get("tls", "?")
                    self.res.add(sec, hl, "MB/s", "higher", srv.name,
                                 kv["mb_per_s"])
                    self.res.add("5. CPU", f"server CPU per GB, {hl}", "s",
                                 "lower", srv.name,
                                 cpu / (kv["wire_bytes"] / 1e9))
                    kv = c(srv, "retr", "-u", "bulk", "-w", PASSWORD, "-W", w,
                           "-s")
                    self.res.add(sec, f"{bl} ({w} in flight)", "MB/s",
                                 "higher", srv.name, kv["mb_per_s"])
        finally:
            for srv in servers:
                srv.stop()

    def memory(self):
        p, c = self.p, self.client
        k = p["idle"]
        sec = "4. Memory"
        for srv in self.servers:        # first sessions build indexes
            c(srv, "storm", "-u", "u", "-n", p["storm_users"], "-w", PASSWORD,
              "-N", k, "-C", 1)
        for rep in self.reps():
            log(f"memory: repetition {rep + 1}")
            for srv in self.servers:
                srv.settle()
                base = srv.mem()
                proc = c.idle(srv, "-u", "u", "-n", p["storm_users"],
                              "-w", PASSWORD, "-K", k)
                time.sleep(0.3)
                m, sess = srv.mem(), srv.mem(session_only=True)
                c.idle_end(srv, proc)
                for key, label in (("Rss", "RSS"), ("Pss", "PSS")):
                    self.res.add(sec, f"{label} per idle logged-in session "
                                 f"({k} sessions)", "KB", "lower", srv.name,
                                 (m[key] - base[key]) / k)
                # No session process runs before: none is subtracted.
                for key, label in (("Rss", "RSS"), ("Pss", "PSS")):
                    self.res.add(sec, f"{label} per idle logged-in session, "
                                 "session process alone", "KB", "lower",
                                 srv.name, sess[key] / k)
        self.memory_per_message()

    def memory_per_message(self):
        """A session on the large maildrop less one on an empty one, after
        STAT, LIST and UIDL (a leave-on-server client's listing), per
        message: in the session process alone (pop3d-session; Dovecot's
        pop3) and in every process serving the connection (pop3d: all under
        the launcher; Dovecot: pop3 and pop3-login)."""
        c, d = self.client, self.data
        sec = "4. Memory"
        d.warm("big")
        for srv in self.servers:        # a warm index for Dovecot
            c(srv, "session", "-u", "big", "-w", PASSWORD)
        nmsg = d.count("big")
        what = f"({nmsg:,}-message maildrop vs empty)"
        rows = (("session", "Anonymous", "anonymous memory per message, "
                 f"session process {what}"),
                ("session", "Rss", f"RSS per message, session process {what}"),
                ("tree", "Anonymous", "anonymous memory per message, every "
                 f"process of the connection {what}"),
                ("tree", "Rss", "RSS per message, every process of the "
                 f"connection {what}"))
        for _ in self.reps():
            for srv in self.servers:
                got = {}
                for user in ("empty", "big"):
                    srv.settle()
                    base = srv.mem()
                    proc = c.idle(srv, "-u", user, "-w", PASSWORD, "-K", 1,
                                  "-L")
                    time.sleep(0.3)
                    tree, sess = srv.mem(), srv.mem(session_only=True)
                    c.idle_end(srv, proc)
                    got[user] = {"session": sess, "tree": {
                        k: tree[k] - base[k] for k in tree}}
                for which, key, label in rows:
                    grow = got["big"][which][key] - got["empty"][which][key]
                    self.res.add(sec, label, "bytes", "lower", srv.name,
                                 grow * 1024 / nmsg)
                self.res.add(sec, f"RSS of the session process on the "
                             f"{nmsg:,}-message maildrop", "KB", "lower",
                             srv.name, got["big"]["session"]["Rss"])
                self.res.add(sec, f"RSS of every process of a connection to "
                             f"the {nmsg:,}-message maildrop", "KB", "lower",
                             srv.name, got["big"]["tree"]["Rss"])

    def crypt(self, hashes):
        h = hashes["u000"].split("}", 1)[1]
        for _ in self.reps():
            kv = self.client.crypt(h, self.p["crypt_calls"])
            self.res.ref("5. CPU", "crypt(3) of one SHA512-CRYPT hash "
                         "(5,000 rounds), bare C loop", "ms per call",
                         kv["ms_per_call"])


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repetitions and smaller data (under 3 minutes)")
    ap.add_argument("--build", default="build", help="where pop3d is built")
    ap.add_argument("--reps", type=int, help="repetitions of every scenario")
    ap.add_argument("--only", nargs="*", choices=SCENARIOS,
                    help="run only these scenarios")
    ap.add_argument("--out", help="write the results here (default: "
                    "bench/RESULTS.md for a full run, nowhere for --quick)")
    ap.add_argument("--pop3d-only", action="store_true",
                    help="measure pop3d alone (no Dovecot installed or "
                    "started)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (configs, logs)")
    ap.add_argument("--polls", type=int, help="polls at each interval "
                    f"(poll; at most {POLL_POOL // POLL_BATCH})")
    ap.add_argument("--readme", action="store_true",
                    help="also write the table of ratios into README.md's "
                    "Performance section (between its markers; full runs)")
    ap.add_argument("--allow-dirty", action="store_true",
                    help="write RESULTS.md or README.md from a tree with "
                    "uncommitted changes (marked so in the header)")
    a = ap.parse_args()

    profile = "quick" if a.quick else "full"
    p = dict(PROFILES[profile])
    if a.reps:
        p["reps"] = max(1, min(a.reps, 20))
    if a.polls:
        p["polls"] = max(2, min(a.polls, POLL_POOL // POLL_BATCH))
    scen = a.only or SCENARIOS
    out = a.out or (None if a.quick or a.only or a.reps or a.polls
                    else os.path.join(HERE, "RESULTS.md"))
    partial = a.quick or a.only or a.reps or a.polls
    if a.readme and partial:
        raise BenchError("--readme wants a full run: a partial one would "
                         "drop figures from README.md")
    rev, dirty = git_rev()
    if dirty and (a.readme or out == os.path.join(HERE, "RESULTS.md")) \
            and not a.allow_dirty:
        raise BenchError("uncommitted changes in the tree: commit them, or "
                         "give --allow-dirty (the results say so), or write "
                         "elsewhere with --out:\n" + dirty)
    build = os.path.join(TOP, a.build)
    for prog in ("pop3d", "pop3d-passwd"):
        if not os.access(os.path.join(build, prog), os.X_OK):
            raise BenchError(f"{build}/{prog} missing: run make first")
    ensure_root_tools(dovecot=not a.pop3d_only)
    t_start = time.monotonic()
    started = datetime.datetime.now(datetime.timezone.utc)
    mach = machine()
    tmp = tempfile.mkdtemp(prefix="pop3d-bench-")
    os.chmod(tmp, 0o755)
    servers = []
    res = Results()
    b = None
    try:
        client = Client(build_client(tmp))
        data = Data(p)
        data.ensure(scen)
        hashes = hash_passwords(build, data.users)
        users = os.path.join(tmp, "users")
        data.users_file(users, hashes)
        servers.append(Pop3d(tmp, build, users))
        if not a.pop3d_only:
            servers.append(Dovecot(tmp, users, tuned=False))
            servers.append(Dovecot(tmp, users, tuned=True))
        b = Bench(p, data, client, servers, res, tmp)
        b.build, b.users = build, users
        b.pop3d_only = a.pop3d_only
        # The login storm's CPU is also given per crypt check: it needs the
        # reference even when crypt was not asked for.
        for s in SCENARIOS:
            if s in scen or (s == "crypt" and "storm" in scen):
                t0 = time.monotonic()
                if s == "crypt":
                    b.crypt(hashes)
                else:
                    getattr(b, s)()
                log(f"{s}: {time.monotonic() - t0:.0f} s")
        per_crypt(res)
    finally:
        for s in servers:
            s.stop()
        if a.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - t_start
    mach_end = machine()
    head = [
        f"# pop3d benchmark results ({profile} run"
        + (f", only {' '.join(scen)}" if a.only else "")
        + (f", {p['reps']} repetition{'s' if p['reps'] > 1 else ''}"
           if a.reps else "") + ")",
        "",
        *(["**NOT FROM A CLEAN COMMIT: the tree had uncommitted changes "
           "(below). Do not quote these figures.**", ""] if dirty else []),
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}; took "
        f"{elapsed / 60:.1f} minutes",
        f"- Machine: {mach['nproc']} CPUs, {mach['cpu']}, {mach['mem']}, "
        f"Linux {mach['kernel']}; load average {mach['load']} at the start, "
        f"{mach_end['load']} at the end",
        f"- pop3d: commit {rev}"
        + (", WITH UNCOMMITTED CHANGES: " + "; ".join(dirty.splitlines())
           if dirty else ", a clean tree")
        + f"; {a.build}/pop3d behind systemd-socket-activate --inetd -a",
        "- Dovecot: not run (--pop3d-only)" if a.pop3d_only else
        f"- Dovecot {dovecot_version()} (Debian's dovecot-pop3d): its defaults, "
        "and tuned: pop3-login service_count = 0, process_min_avail = 2, "
        "auth_cache_size = 10M (pop3 processes are not reused: each mailbox "
        "has its own uid, and a reused pop3 process cannot change uid)",
        f"- {p['reps']} interleaved repetition{'s' if p['reps'] > 1 else ''} "
        "of every figure (polls: each poll; login storm: "
        f"{max(1, p['storm_sessions'] // p['reps']):,} sessions each): median "
        "(min–max); ratios are of the medians; ↑ higher is better, ↓ lower is "
        "better",
        "- All on 127.0.0.1, client and servers on the same CPUs; messages "
        "read into the page cache before each cold session and each "
        "throughput repetition (cold means no index, not a read from disk)",
        "- How to read each figure: bench/README.md",
    ]
    if b is not None and b.ciphers:
        head.insert(-1, "- TLS (implicit, self-signed ECDSA P-256 "
                    "certificate): " + "; ".join(
                        f"{k} {v}" for k, v in b.ciphers.items()))
    text = "\n".join(head) + "\n" + table(res) + "\n"
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text)
        log(f"wrote {out}")
    block = readme_table(res, rev.split()[0] + (" with uncommitted changes"
                                                 if dirty else ""))
    if a.readme:
        update_readme(block)
        log("wrote the table into README.md")
    else:
        print("README.md, Performance (--readme writes it there):\n")
        print(block)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
