#!/usr/bin/env python3
"""Transcript tests: pop3d is fed NAME.in on its standard input, and what
it writes to its standard output must be NAME.out, byte for byte.

    python3 tests/transcripts/check.py [NAME...]      compare (TAP)
    python3 tests/transcripts/check.py -w [NAME...]   write NAME.out anew

NAME selects the transcripts whose name contains it.  -w records what
pop3d sends now; every line it writes must then be checked by hand
against RFC 1939, 2449, 3206 and 5034, pop3d(8) and pop3d-admin(7)
before it is committed: a transcript that records a wrong reply is a
bug.  tests/run.py (make check) never writes.

Each transcript runs against a fresh mail host (tests/lib/pop3test.py):
a users file and Maildirs in a temporary directory, owned by test uids as
root and by the running user otherwise, with the messages of MESSAGES
under fixed file names, so that sizes and unique-ids are the same on
every run.  The greeting is fixed because APOP is off.  The standard
error, pop3d's log, is shown when a transcript fails and compared with
nothing.

Transcripts named BASE.1, BASE.2, ... are connections made one after the
other to the same mail host, to show what a session left behind.  What
a transcript needs beyond the common set-up is in OPTIONS.

One more check: every "+OK" or "-ERR" reply quoted in a manual page,
man/*.[0-9], must be a line of some .out file (a quote that is only
a response code, such as "-ERR [IN-USE]", may begin one), or be listed
in NOT_IN_TRANSCRIPTS with the reason and be in the C source.
"""
import argparse
import fcntl
import glob
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import pop3test  # noqa: E402

TIMEOUT = pop3test.WAIT         # seconds a connection may take

# Messages by user: (directory, file name, content).  Numbered in this
# order, which is the order of the delivery times in the names.
LONG_NAME = "1700000005.M500005P4242." + "x" * 40 + ".mail.example.org"
MESSAGES = {
    "alice": [
        ("new", "1700000001.M100001P4242.mail.example.org",
         b"Return-Path: <bob@example.org>\r\n"
         b"From: Bob <bob@example.org>\r\n"
         b"To: alice@example.org\r\n"
         b"Subject: lunch\r\n"
         b"Message-ID: <1@example.org>\r\n"
         b"\r\n"
         b"Hello Alice,\r\n"
         b"\r\n"
         b"lunch tomorrow?\r\n"),
        # Bare LF line ends, lines that need dot-stuffing, no final LF.
        ("cur", "1700000002.M200002P4242.mail.example.org:2,S",
         b"From: carol@example.org\n"
         b"Subject: dots\n"
         b"\n"
         b".leading dot\n"
         b"..two dots\n"
         b".\n"
         b"a CRLF line\r\n"
         b". \n"
         b"mid.dle\n"
         b"no final line end"),
        # For TOP: a folded header and six body lines, one stuffed.
        ("cur", "1700000003.M300003P4242.mail.example.org:2,",
         b"Subject: top\r\n"
         b"X-Folded: first\r\n"
         b" second\r\n"
         b"\r\n"
         b"body 1\r\n"
         b"body 2\r\n"
         b"body 3\r\n"
         b".body 4\r\n"
         b"body 5\r\n"
         b"body 6\r\n"),
        ("new", "1700000004.M400004P4242.mail.example.org", b""),
        # A base name over 70 octets: the unique-id is ":" and its SHA-256.
        ("new", LONG_NAME, b"Subject: long name\r\n\r\nbody\r\n"),
        # A header and no blank line after it.
        ("new", "1700000006.M600006P4242.mail.example.org",
         b"Subject: header only\r\nX-Note: no body\r\n"),
    ],
    "erin": [
        ("new", "1700000007.M700007P4242.mail.example.org",
         b"Subject: stays\r\n\r\nnew/ is read-only\r\n"),
    ],
}

# Users and their passwords, all {PLAIN}.
USERS = {
    "alice": "secret",
    "bob": "two  spaces ",      # an empty Maildir
    "carol": "carol",           # this runner holds the Maildir's lock
    "dave": "dave",             # the Maildir is a regular file
    "erin": "erin",             # new/ is read-only: DELE cannot be done
}


def msg_path(host, user, i):
    sub, name, _ = MESSAGES[user][i - 1]
    return os.path.join(host.maildir(user), sub, name)


def unreadable(host):
    os.chmod(msg_path(host, "alice", 1), 0)


def vanish(host):
    """Another client removes message 2 and moves message 1 to cur/."""
    os.unlink(msg_path(host, "alice", 2))
    sub, name, _ = MESSAGES["alice"][0]
    os.rename(msg_path(host, "alice", 1),
              os.path.join(host.maildir("alice"), "cur", name + ":2,S"))


def login_delay_state(host):
    """LOGIN-DELAY's state in the mail host, not in /run/pop3d."""
    host.write_conf(login_delay_dir=os.path.join(host.dir, "run"))


# What a transcript needs besides the common set-up:
#   conf         settings added to pop3d.conf
#   tls          tls_cert and tls_key set (skipped without openssl)
#   hold         keep standard input open until pop3d closes its output
#                (for timeouts)
#   before       run on the mail host before the connection
#   after_login  run on the mail host once pop3d has answered "+OK Logged
#                in"; the input after the line that logged in is sent then
#   status       pop3d's exit status, 0 unless given
OPTIONS = {
    "login-timeout": dict(conf={"login_timeout": 1}, hold=True),
    "login-grace-time": dict(conf={"login_grace_time": 1,
                                   "login_timeout": 30}, hold=True),
    "not-logged-in": dict(conf={"max_bad_commands": 20}),
    "arguments": dict(conf={"max_bad_commands": 40}),
    "message-numbers": dict(conf={"max_bad_commands": 40}),
    "auth-tempfail": dict(conf={"users_file": "/nonexistent/users"}),
    "plaintext-refused": dict(conf={"loopback_secure": "no"}),
    "plaintext-refused-tls": dict(conf={"loopback_secure": "no"}, tls=True),
    "stls": dict(tls=True, status=1),
    "unreadable.2": dict(before=unreadable),
    "vanished": dict(after_login=vanish),
    "login-delay.1": dict(conf={"login_delay": 60}, before=login_delay_state),
    "login-delay.2": dict(conf={"login_delay": 60}, before=login_delay_state),
    "expire-never": dict(conf={"expire": "never"}),
    "expire-zero.1": dict(conf={"expire": 0}),
    "expire-zero.2": dict(conf={"expire": 0}),
}

# Replies the manual pages quote that no transcript can show, and why.
NOT_IN_TRANSCRIPTS = {
    "-ERR [AUTH] Channel binding downgrade refused":
        "needs a TLS client: tests/integration/test_sasl_clients.py",
    "-ERR TLS already active":
        "needs a TLS client: tests/integration/test_tls.py",
    "-ERR [SYS/TEMP] Deletions may not have reached the disk":
        "needs fsync(2) of new/ or cur/ to fail",
    "-ERR [SYS/TEMP] Maildrop unavailable, try later":
        "needs an I/O error or a shortage of memory while the Maildir is "
        "opened",
    "-ERR [SYS/TEMP] Authentication unavailable":
        "needs the monitor to fail while the pre-login process waits",
    "-ERR [SYS/PERM] Account unavailable, closing":
        "needs an expired system account (passdb = pam, root): "
        "tests/integration/test_pam.py",
}


class Host(pop3test.Mailhost):
    """The common set-up: USERS, MESSAGES, carol's lock, dave's file."""

    def __init__(self):
        super().__init__()
        for user, password in USERS.items():
            self.add_user(user, password, maildir=user != "dave")
        # A SCRAM verifier, so that SCRAM-SHA-256 is offered (and, with no
        # SCRAM-SHA-1 verifier, SCRAM-SHA-1 is not).
        self.add_user("frank", "frank", scheme="SCRAM-SHA-256",
                      maildir=False)
        for user, msgs in MESSAGES.items():
            for sub, name, data in msgs:
                self.deliver(user, data, sub=sub, name=name)
                # Delivered long ago, as the name says: settled files, which
                # the size cache keeps.
                t = int(name.split(".")[0])
                os.utime(os.path.join(self.maildir(user), sub, name), (t, t))
        with open(self.maildir("dave"), "w"):
            pass
        self.chown("dave", self.maildir("dave"))
        os.chmod(os.path.join(self.maildir("erin"), "new"), 0o555)
        self.lockfd = os.open(self.maildir("carol"), os.O_RDONLY)
        fcntl.flock(self.lockfd, fcntl.LOCK_EX)
        self.base = dict(self.conf)

    def configure(self, extra, tls):
        """pop3d.conf: the common settings, extra, and tls (cert, key)."""
        self.conf = dict(self.base)
        if tls is not None:
            self.conf.update(tls_cert=tls[0], tls_key=tls[1])
        self.write_conf(**extra)

    def cleanup(self):
        os.close(self.lockfd)
        os.chmod(os.path.join(self.maildir("erin"), "new"), 0o755)
        super().cleanup()


def make_cert(tmp):
    """A throw-away EC key and certificate, or None without openssl."""
    if not pop3test.have("openssl"):
        return None
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=TIMEOUT)
    os.chmod(key, 0o600)
    return cert, key


def split_at_login(data):
    """data cut after the line that logs in: PASS, or AUTH and, without
    an initial response, the line after it."""
    lines = data.splitlines(keepends=True)
    for i, line in enumerate(lines):
        word = line.split(b" ")[0].strip().upper()
        if word == b"PASS" or (word == b"AUTH" and len(line.split()) == 3):
            n = i + 1
            break
        if word == b"AUTH" and len(line.split()) == 2:
            n = i + 2
            break
    else:
        raise ValueError("after_login: no PASS or AUTH line")
    cut = sum(len(x) for x in lines[:n])
    return data[:cut], data[cut:]


def converse(host, data, opt):
    """Run pop3d on data; returns (stdout, stderr, exit status)."""
    later = None
    if "after_login" in opt:
        data, later = split_at_login(data)
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([*pop3test.WRAP, pop3test.POP3D, "-c", host.conf_path],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=err)
    infd, outfd = p.stdin.fileno(), p.stdout.fileno()
    os.set_blocking(infd, False)
    out = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            if not data and later is not None and b"+OK Logged in" in out:
                opt["after_login"](host)
                data, later = later, None
            if (not data and later is None and not opt.get("hold") and
                    not p.stdin.closed):
                p.stdin.close()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"pop3d still running after {TIMEOUT} s;"
                                   f" its output ends {out[-300:]!r}")
            writing = [infd] if data and not p.stdin.closed else []
            r, w, _ = select.select([outfd], writing, [], left)
            if w:
                try:
                    data = data[os.write(infd, data):]
                except BrokenPipeError:         # pop3d has gone
                    data, later = b"", None
            if r:
                chunk = os.read(outfd, 65536)
                if not chunk:
                    break
                out += chunk
        status = p.wait(max(deadline - time.monotonic(), 1))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if not p.stdin.closed:
            p.stdin.close()
        p.stdout.close()
        err.seek(0)
        log = err.read().decode("latin-1")
        err.close()
    return out, log, status


def first_difference(want, got):
    """Where got first differs from want, as comment lines."""
    w = want.splitlines(keepends=True)
    g = got.splitlines(keepends=True)
    for i in range(max(len(w), len(g))):
        a = w[i] if i < len(w) else None
        b = g[i] if i < len(g) else None
        if a != b:
            return [f"first difference at line {i + 1}:",
                    f"  want {a!r}" if a is not None else "  want end of output",
                    f"  got  {b!r}" if b is not None else "  got  end of output"]
    return []


class Tap:
    """TAP lines for tests/run.py: ok, not ok with comment lines, skip."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, notes=(), skip=None):
        self.n += 1
        if skip is not None:
            print(f"ok {self.n} - {name} # SKIP {skip}", flush=True)
            return
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}", flush=True)
        if not ok:
            self.failed += 1
            for line in notes:
                print("# " + line.replace("\n", "\n# "))

    def done(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


def transcripts(only):
    """[[name, ...], ...]: BASE.1, BASE.2, ... together and in order."""
    names = sorted(os.path.basename(f)[:-3]
                   for f in glob.glob(os.path.join(HERE, "*.in")))
    groups = {}
    for name in names:
        m = re.fullmatch(r"(.*)\.(\d+)", name)
        base, step = (m.group(1), int(m.group(2))) if m else (name, 0)
        groups.setdefault(base, []).append((step, name))
    out = []
    for base in sorted(groups):
        steps = [n for _, n in sorted(groups[base])]
        if not only or any(o in n for o in only for n in steps):
            out.append(steps)
    return out


def run_group(steps, tls, tap, write):
    """Run one transcript, or the steps of one, on a fresh mail host."""
    host = Host()
    try:
        for name in steps:
            opt = OPTIONS.get(name, {})
            if opt.get("tls") and tls is None:
                tap.result(True, name, skip="no openssl for a certificate")
                continue
            host.configure(opt.get("conf", {}),
                           tls if opt.get("tls") else None)
            if "before" in opt:
                opt["before"](host)
            with open(os.path.join(HERE, name + ".in"), "rb") as f:
                data = f.read()
            notes = []
            try:
                got, log, status = converse(host, data, opt)
            except (TimeoutError, OSError, ValueError) as e:
                tap.result(False, name, [str(e)])
                continue
            outpath = os.path.join(HERE, name + ".out")
            if write:
                with open(outpath, "wb") as f:
                    f.write(got)
                lines = got.count(b"\n")
                print(f"wrote {name}.out ({lines} lines), exit status "
                      f"{status}", flush=True)
                continue
            try:
                with open(outpath, "rb") as f:
                    want = f.read()
            except FileNotFoundError:
                want = None
                notes.append(f"no {name}.out: write it with -w, then check "
                             "every line")
            if want is not None and got != want:
                notes += first_difference(want, got)
            if status != opt.get("status", 0):
                notes.append(f"exit status {status}, want "
                             f"{opt.get('status', 0)}")
            if notes:
                notes.append("log:\n" + log.rstrip())
            tap.result(not notes, name, notes)
    finally:
        host.cleanup()


def man_quotes():
    """The +OK and -ERR replies the manual pages quote, as mandoc renders
    them (so that a word taken for a macro shows), each a regular
    expression; None without mandoc."""
    if not pop3test.have("mandoc"):
        return None
    quotes = {}
    for path in sorted(glob.glob(os.path.join(TOP, "man", "*.[0-9]"))):
        page = os.path.basename(path)
        md = subprocess.run(["mandoc", "-Tmarkdown", path],
                            capture_output=True, check=True,
                            timeout=TIMEOUT).stdout.decode()
        for q in re.findall(r'"([+-](?:OK|ERR)\b[^"]*)"', md):
            text = re.sub(r"\\(.)", r"\1", q)
            parts = re.split(r"\*[^*]+\*", text)    # *n*: an argument
            rx = r"\S+".join(re.escape(x) for x in parts)
            if re.fullmatch(r"[+-](OK|ERR)( \[[A-Z/-]+\])?", text):
                rx += r"(?: .*)?"     # a status or a code: a line's start
            quotes.setdefault(text, (page, rx))
    return quotes


def check_man(tap):
    quotes = man_quotes()
    if quotes is None:
        tap.result(True, "replies quoted in the manual pages",
                   skip="no mandoc")
        return
    lines = set()
    for f in glob.glob(os.path.join(HERE, "*.out")):
        with open(f, "rb") as fh:
            lines.update(x.decode("latin-1")
                         for x in fh.read().split(b"\r\n"))
    source = ""
    for f in glob.glob(os.path.join(TOP, "*", "*.c")):
        with open(f) as fh:
            source += fh.read()
    notes = []
    for text, (page, rx) in sorted(quotes.items()):
        if any(re.fullmatch(rx, x) for x in lines):
            continue
        if text in NOT_IN_TRANSCRIPTS:
            if text.split(" ", 1)[1] not in source:
                notes.append(f"{page}: {text!r} is not in the sources")
            continue
        notes.append(f"{page} quotes {text!r}, which no .out file shows")
    tap.result(not notes, "replies quoted in the manual pages", notes)


def main():
    ap = argparse.ArgumentParser(
        description="pop3d transcript tests (see the comment at the top)")
    ap.add_argument("-w", "--write", action="store_true",
                    help="write NAME.out from what pop3d sends; check "
                         "every line by hand before committing")
    ap.add_argument("only", nargs="*", help="transcripts whose name has this")
    a = ap.parse_args()
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix="pop3d-transcripts-")
    os.chmod(tmp, 0o755)
    try:
        tls = make_cert(tmp)
        for steps in transcripts(a.only):
            run_group(steps, tls, tap, a.write)
        for f in sorted(glob.glob(os.path.join(HERE, "*.out"))):
            if not a.only and not os.path.exists(f[:-4] + ".in"):
                tap.result(False, os.path.basename(f),
                           ["an .out file without its .in"])
        if not a.write and not a.only:
            check_man(tap)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.write:
        return 1 if tap.failed else 0
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
