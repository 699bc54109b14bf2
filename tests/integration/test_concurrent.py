#!/usr/bin/env python3
"""Another mail program renaming files while pop3d lists and serves them.

A churn process does to the Maildir what an MDA and an IMAP server do at
once, as fast as it can: it delivers messages (written in tmp/, given to
the mailbox owner, renamed into new/), many at first and then one every
few polls, moves every file in new/ to cur/ with ":2,S", and flips the
flags of every file in cur/ between ":2,S" and ":2,RS", round and round.
Meanwhile a leave-on-server client (Python's poplib, on a socket pair to
pop3d in inetd mode) polls again and again: UIDL and LIST, RETR of each
unique-id it has not seen, TOP of a few it has, QUIT, never DELE.

Every poll must list each message once, under its base name (a fallback
unique-id, ':' and a hash, means two entries for one message); every
listed message must be there for RETR and TOP whatever name it has by
then; RETR must send as many octets as LIST said; and across all polls
each message must be downloaded exactly once.  Once the churn stops, one
more poll must list every file in the Maildir.
"""
import os
import poplib
import select
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "carol", "churn-pw"
CHURN_SECONDS = 8.0         # how long the churn process runs
DELIVER_EVERY = 0.02        # seconds between deliveries
MAX_MESSAGES = 1850         # deliveries in all, at most
# Delivered before the polls start: enough that readdir(3) of cur/ takes
# several getdents(2) calls, between which a renamed file can be passed
# over or met twice.
FIRST_MESSAGES = 1500
MAX_POLLS = 2000            # the polls stop earlier when the churn does
TOPS_PER_POLL = 5           # messages seen before, TOP'd again each poll
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def message(i):
    """Message i: CRLF lines and no line starting with a dot, so that its
    POP3 size and what poplib returns are its octets exactly."""
    return (f"From: churn@example.org\r\nSubject: message {i}\r\n\r\n"
            f"body of message {i}\r\n" + "x" * (i % 97) + "\r\n").encode()


def deliver(tmp, new, uid, i):
    """Message i into new/ as an MDA puts it there: written in tmp/, given
    to the mailbox owner, renamed."""
    name = f"{1700000000 + i}.M{i}P{os.getpid()}.churn"
    with open(os.path.join(tmp, name), "wb") as f:
        f.write(message(i))
    if uid >= 0:
        os.chown(os.path.join(tmp, name), uid, uid)
    os.rename(os.path.join(tmp, name), os.path.join(new, name))


def churn(maildir, uid, seconds):
    """The other mail programs: says "ready" once the first messages are
    delivered, and what it did when its time is up."""
    uid = int(uid)
    new, cur, tmp = (os.path.join(maildir, d) for d in ("new", "cur", "tmp"))
    moves = flips = 0
    for delivered in range(FIRST_MESSAGES):
        deliver(tmp, new, uid, delivered)
    delivered = FIRST_MESSAGES
    print("ready", flush=True)
    start = time.monotonic()
    deadline = start + float(seconds)
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        due = FIRST_MESSAGES + int((now - start) / DELIVER_EVERY)
        while delivered < min(due, MAX_MESSAGES):
            deliver(tmp, new, uid, delivered)
            delivered += 1
        for name in os.listdir(new):
            try:
                os.rename(os.path.join(new, name),
                          os.path.join(cur, name.split(":")[0] + ":2,S"))
                moves += 1
            except FileNotFoundError:
                pass        # pop3d's QUIT moved it first
        for name in os.listdir(cur):
            base, _, info = name.partition(":")
            other = "2,RS" if info == "2,S" else "2,S"
            try:
                os.rename(os.path.join(cur, name),
                          os.path.join(cur, base + ":" + other))
                flips += 1
            except FileNotFoundError:
                pass
    print(delivered, moves, flips, flush=True)


class PipePOP3(poplib.POP3):
    """poplib on one end of a socket pair, pop3d (inetd mode) on the other."""

    def __init__(self, host, log):
        self.peer, self.mine = socket.socketpair()
        self.proc = subprocess.Popen(
            [*pop3test.WRAP, pop3test.POP3D, "-c", host.conf_path],
            stdin=self.peer, stdout=self.peer, stderr=log)
        self.peer.close()
        super().__init__("pop3d", 0, pop3test.WAIT)

    def _create_socket(self, timeout):
        self.mine.settimeout(timeout)
        return self.mine

    def finish(self):
        self.close()
        try:
            return self.proc.wait(pop3test.WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(pop3test.WAIT)


class Concurrent(unittest.TestCase):

    def setUp(self):
        # A socket pair is no loopback address: passwords in plaintext.
        self.host = pop3test.Mailhost(plaintext_auth="yes")
        self.addCleanup(self.host.cleanup)
        uid = self.host.add_user(USER, PASSWORD)
        self.maildir = self.host.maildir(USER)
        self.log = tempfile.TemporaryFile(dir=self.host.dir)
        self.addCleanup(self.log.close)
        self.churner = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--churn",
             self.maildir, str(uid if pop3test.ROOT else -1),
             str(CHURN_SECONDS)], stdout=subprocess.PIPE)
        self.addCleanup(self.stop_churn)
        self.downloaded = {}    # message number -> unique-id it came under
        self.uidl_of = {}       # unique-id -> message number

    def stop_churn(self):
        if self.churner.poll() is None:
            self.churner.kill()
        self.churner.wait(pop3test.WAIT)
        self.churner.stdout.close()

    def pop3d_log(self):
        self.log.seek(0)
        return self.log.read().decode("latin-1")

    def ask(self, n, what, call, *args):
        """A poplib call; an -ERR reply fails the test, naming the command."""
        try:
            return call(*args)
        except poplib.error_proto as e:
            self.fail(f"poll {n}: {what} {' '.join(map(str, args))}: {e}")

    def number_of(self, lines):
        """The message number in the Subject of a retrieved message."""
        for line in lines:
            if line.startswith(b"Subject: message "):
                return int(line.split()[-1])
        self.fail(f"no Subject in {lines[:4]!r}")

    def poll(self, n):
        """One leave-on-server poll; returns the unique-ids listed."""
        c = PipePOP3(self.host, self.log)
        try:
            self.ask(n, "USER", c.user, USER)
            self.ask(n, "PASS", c.pass_, PASSWORD)
            uidls = {int(k): v.decode() for k, v in
                     (x.split() for x in self.ask(n, "UIDL", c.uidl)[1])}
            sizes = {int(k): int(v) for k, v in
                     (x.split() for x in self.ask(n, "LIST", c.list)[1])}
            self.assertEqual(sorted(uidls), sorted(sizes),
                             f"poll {n}: UIDL and LIST disagree")
            listed = sorted(uidls.values())
            self.assertEqual(len(set(listed)), len(listed),
                             f"poll {n}: a unique-id listed twice")
            for num, uid in sorted(uidls.items()):
                self.assertFalse(uid.startswith(":"), f"poll {n}: message "
                                 f"{num} listed under fallback {uid}: a "
                                 "second entry for one message")
                if uid in self.uidl_of:
                    continue
                resp, lines, octets = self.ask(n, "RETR", c.retr, num)
                self.assertEqual(octets, sizes[num],
                                 f"poll {n}: RETR {num} ({uid}) size")
                i = self.number_of(lines)
                self.assertEqual(b"\r\n".join(lines) + b"\r\n", message(i))
                self.assertNotIn(i, self.downloaded,
                                 f"poll {n}: message {i} downloaded again "
                                 f"as {uid}, first as {self.downloaded.get(i)}")
                self.downloaded[i] = uid
                self.uidl_of[uid] = i
            seen = [num for num, uid in sorted(uidls.items())
                    if uid in self.uidl_of]
            for num in seen[n % max(len(seen), 1):][:TOPS_PER_POLL]:
                lines = self.ask(n, "TOP", c.top, num, 0)[1]
                self.assertEqual(self.number_of(lines),
                                 self.uidl_of[uidls[num]],
                                 f"poll {n}: TOP {num} gave another message")
            self.ask(n, "QUIT", c.quit)
        finally:
            rc = c.finish()
        self.assertEqual(rc, 0, f"poll {n}: pop3d exit status")
        return listed

    def test_renames_during_polls(self):
        ready, _, _ = select.select([self.churner.stdout], [], [],
                                    3 * pop3test.WAIT)
        self.assertTrue(ready, "the churn never got ready")
        self.assertEqual(self.churner.stdout.readline(), b"ready\n")
        deadline = time.monotonic() + CHURN_SECONDS
        polls = 0
        while polls < MAX_POLLS and time.monotonic() < deadline and \
                self.churner.poll() is None:
            self.poll(polls)
            polls += 1
        out = self.churner.communicate(timeout=CHURN_SECONDS + pop3test.WAIT)
        delivered, moves, flips = map(int, out[0].split())
        self.assertGreater(flips, 10 * delivered,
                           "the churn did too little to mean anything")
        listed = self.poll(polls)
        on_disk = sorted(f.split("/", 1)[1].split(":")[0]
                         for f in self.host.files(USER))
        self.assertEqual(len(on_disk), delivered)
        self.assertEqual(listed, on_disk, "the last poll lists every file")
        self.assertEqual(sorted(self.downloaded), list(range(delivered)),
                         "every message downloaded once")
        log = self.pop3d_log()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log)
        print(f"# {polls + 1} polls; {delivered} delivered, {moves} moved "
              f"to cur/, {flips} flag changes", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--churn"]:
        churn(*sys.argv[2:5])
    else:
        pop3test.main()
