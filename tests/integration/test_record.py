#!/usr/bin/env python3
"""What a session records of cur/ after its QUIT (store/record.c, cache.h).

A leave-on-server poll retrieves the new messages and quits; its commit
moves them to cur/ with the S flag and then records cur/ as it left it in
the size cache, so that the next login takes cur/ from the cache without
reading it.  Checked here with pop3d itself (inetd mode on a socket pair):

- after such a poll, the cache's stamps of cur/ and new/ are their
  fstat(2) as they are (inode, size, both times to the nanosecond) with
  CACHE_CUR_COMPLETE and CACHE_COMPLETE, at once, not after the two
  seconds a directory needs to settle; the next poll lists every message
  with its right size;
- a file put into cur/ by another program while a session is open is
  listed by the next one;
- another program that puts files into cur/ or new/ and renames them in
  cur/ while polls commit (an IMAP server, a delivery agent), at random
  moments, some of them right after the commit's renames, never
  makes a poll list a message twice or miss one: every poll lists each
  file on disk before its login, once, with its size, and once the
  program stops, a poll lists exactly the files on disk.
"""
import os
import poplib
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "rita", "record-pw"
OLD_TIME = 1600000000
CACHE = "pop3d.cache"
COMPLETE = 1
CUR_COMPLETE = 2
RACE_SECONDS = 6.0
RACE_ACTIONS_MIN = 12
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def body(tag):
    return (f"From: record@example.org\r\nSubject: {tag}\r\n\r\n"
            f"body of {tag}\r\n").encode()


def put(maildir, sub, name, data, uid, old=False):
    """A file written in tmp/ and renamed into sub/, as writers do."""
    tmp = os.path.join(maildir, "tmp", name.split(":")[0])
    with open(tmp, "wb") as f:
        f.write(data)
    if uid >= 0:
        os.chown(tmp, uid, uid)
    if old:
        os.utime(tmp, (OLD_TIME, OLD_TIME))
    os.rename(tmp, os.path.join(maildir, sub, name))


def racer(maildir, uid, seconds):
    """Until the time is up: watch cur/, and as soon as it changes (a
    session's commit renaming into it), put a file into cur/ or new/ or
    rename one in cur/ at once, within the commit's window, then keep
    quiet for a random while, often longer than a poll, so that a listing
    that missed the change is not saved by a later one.  Prints how many
    files it made and how many it renamed."""
    uid = int(uid)
    cur = os.path.join(maildir, "cur")
    made = flips = 0
    mine = []
    last = os.stat(cur).st_mtime_ns
    start = time.monotonic()
    # At least seconds, and on a slow machine (valgrind, load) on until
    # it has done enough to mean anything, within a generous bound.
    while time.monotonic() < start + float(seconds) or (
            made + flips < RACE_ACTIONS_MIN and
            time.monotonic() < start + pop3test.WAIT * 4):
        time.sleep(0.0005)
        now = os.stat(cur).st_mtime_ns
        if now == last:
            continue
        pick = random.random()
        if pick < 0.25:
            name = f"{1800000000 + made}.M{made}P{os.getpid()}.racer"
            put(maildir, "new", name, body(f"racer {made}"), uid)
            made += 1
        elif pick < 0.6 or not mine:
            name = f"{1800000000 + made}.M{made}P{os.getpid()}.racer"
            put(maildir, "cur", name + ":2,S", body(f"racer {made}"), uid)
            mine.append(name)
            made += 1
        else:
            base = random.choice(mine)
            for a, b in ((":2,S", ":2,RS"), (":2,RS", ":2,S")):
                try:
                    os.rename(os.path.join(cur, base + a),
                              os.path.join(cur, base + b))
                    flips += 1
                    break
                except FileNotFoundError:
                    continue
        time.sleep(random.choice((0, 0.02, 0.3)))
        last = os.stat(cur).st_mtime_ns
    print(made, flips, flush=True)


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


def cur_stamp(st):
    return (st.st_ino, st.st_size, st.st_mtime_ns // 10**9,
            st.st_ctime_ns // 10**9, st.st_mtime_ns % 10**9,
            st.st_ctime_ns % 10**9)


class Record(unittest.TestCase):

    def setUp(self):
        self.host = pop3test.Mailhost(plaintext_auth="yes")
        self.addCleanup(self.host.cleanup)
        self.uid = self.host.add_user(USER, PASSWORD)
        if not pop3test.ROOT:
            self.uid = -1
        self.maildir = self.host.maildir(USER)
        self.log = tempfile.TemporaryFile(dir=self.host.dir)
        self.addCleanup(self.log.close)
        self.seq = 0
        self.seen = set()

    def deliver(self, n, old=False, sub="new"):
        for _ in range(n):
            self.seq += 1
            name = f"{1700000000 + self.seq}.M{self.seq}P1.record"
            put(self.maildir, sub, name + (":2,S" if sub == "cur" else ""),
                body(f"message {self.seq}"), self.uid, old)

    def header(self):
        """flags and the stamps of cur/ and new/ of the cache, or None."""
        try:
            with open(os.path.join(self.maildir, CACHE), "rb") as f:
                head = f.read(104)
        except FileNotFoundError:
            return None
        if len(head) < 104 or head[:8] != b"POP3DSZ\n":
            return None
        flags = struct.unpack_from("<I", head, 16)[0]
        return (flags, struct.unpack_from("<QQqqII", head, 64),
                struct.unpack_from("<QQqqII", head, 24))

    def poll(self, n, meddle=False):
        """UIDL, LIST, RETR of the unseen, QUIT; the unique-ids listed.
        Every file on disk before the login must be listed, and nothing
        that is not on disk after it.  meddle: a file is put into cur/
        while the session is open, as another client would."""
        before = self.on_disk()
        c = PipePOP3(self.host, self.log)
        try:
            c.user(USER)
            c.pass_(PASSWORD)
            uidls = {int(k): v.decode() for k, v in
                     (x.split() for x in c.uidl()[1])}
            sizes = {int(k): int(v) for k, v in
                     (x.split() for x in c.list()[1])}
            self.assertEqual(sorted(uidls), sorted(sizes),
                             f"poll {n}: UIDL and LIST disagree")
            listed = sorted(uidls.values())
            self.assertEqual(len(set(listed)), len(listed),
                             f"poll {n}: a unique-id listed twice")
            for num, uid in sorted(uidls.items()):
                self.assertFalse(uid.startswith(":"), f"poll {n}: {uid}: "
                                 "a second entry for one message")
                if uid in self.seen:
                    continue
                octets = c.retr(num)[2]
                self.assertEqual(octets, sizes[num],
                                 f"poll {n}: RETR {num} ({uid}) size")
                self.seen.add(uid)
            if meddle:
                self.seq += 1
                put(self.maildir, "cur", f"{1750000000 + self.seq}.M"
                    f"{self.seq}P1.meddler:2,S", body("meddled"), self.uid)
            c.quit()
        finally:
            rc = c.finish()
        self.assertEqual(rc, 0, f"poll {n}: pop3d exit status")
        missed = set(before) - set(listed)
        self.assertFalse(missed, f"poll {n}: files on disk before the "
                         f"login not listed: {sorted(missed)[:5]}")
        self.assertFalse(set(listed) - set(self.on_disk()),
                         f"poll {n}: listed, but never on disk")
        return listed

    def on_disk(self):
        return sorted(f.split("/", 1)[1].split(":")[0]
                      for f in self.host.files(USER))

    def check_log(self):
        self.log.seek(0)
        log = self.log.read().decode("latin-1")
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log)

    def test_poll_recorded(self):
        self.deliver(20, old=True, sub="cur")
        self.deliver(3, old=True)
        self.assertEqual(self.poll(0), self.on_disk())
        for n in range(1, 4):
            self.deliver(3)
            self.assertEqual(self.poll(n), self.on_disk())
            head = self.header()
            self.assertIsNotNone(head, f"poll {n}: no cache")
            flags, stamp, new_stamp = head
            st = os.stat(os.path.join(self.maildir, "cur"))
            self.assertTrue(flags & CUR_COMPLETE,
                            f"poll {n}: cur/ not complete in the cache")
            self.assertEqual(stamp, cur_stamp(st), f"poll {n}: the stamp "
                             "of cur/ is not cur/ as the commit left it")
            self.assertTrue(flags & COMPLETE,
                            f"poll {n}: the listing not complete in the "
                            "cache")
            self.assertEqual(new_stamp, cur_stamp(os.stat(os.path.join(
                self.maildir, "new"))), f"poll {n}: the stamp of new/ is "
                "not new/ as the commit left it")
            self.assertNotEqual(st.st_mtime_ns % 10**9, 0,
                                "a file system of whole-second times")
        self.assertEqual(self.poll(4), self.on_disk(),
                         "the login after: every file listed")
        self.assertEqual(len(self.seen), 20 + 3 + 9)
        for n in range(5, 8):
            self.deliver(3)
            self.poll(n, meddle=True)
            self.assertEqual(self.poll(n + 10), self.on_disk(), "a file "
                             "put into cur/ during a session is listed next")
        self.check_log()

    def test_quiet_session_restamps_in_place(self):
        """A session that retrieves and deletes nothing, after a listing
        that could not stamp new/ (new/ changed just now), records new/ by
        writing the header and checksum over the file the listing wrote:
        the cache keeps that inode, is complete with both stamps right,
        and the next login lists every message with its size."""
        self.deliver(20, old=True, sub="cur")
        self.assertEqual(self.poll(0), self.on_disk())
        # Old files (settled, so cached at once) in a new/ changed now.
        self.deliver(3, old=True)
        path = os.path.join(self.maildir, CACHE)
        c = PipePOP3(self.host, self.log)
        try:
            c.user(USER)
            c.pass_(PASSWORD)
            self.assertEqual(len(c.uidl()[1]), 23)
            # The listing's own file: 23 entries, new/ not stamped.
            deadline = time.monotonic() + pop3test.WAIT
            while time.monotonic() < deadline:
                with open(path, "rb") as f:
                    head = f.read(24)
                if len(head) == 24 and \
                        struct.unpack_from("<I", head, 12)[0] == 23:
                    break
                time.sleep(0.01)
            listed = os.stat(path)
            self.assertEqual(self.header()[2], (0,) * 6, "new/ stamped "
                             "at once: this test needs it still settling")
            c.quit()
        finally:
            rc = c.finish()
        self.assertEqual(rc, 0, "pop3d exit status")
        flags, stamp, new_stamp = self.header()
        self.assertEqual(new_stamp, cur_stamp(os.stat(os.path.join(
            self.maildir, "new"))), "new/ not recorded as it is")
        self.assertEqual(stamp, cur_stamp(os.stat(os.path.join(
            self.maildir, "cur"))), "cur/ not recorded as it is")
        self.assertEqual(flags & (COMPLETE | CUR_COMPLETE),
                         COMPLETE | CUR_COMPLETE)
        after = os.stat(path)
        self.assertEqual((after.st_ino, after.st_size),
                         (listed.st_ino, listed.st_size),
                         "the record wrote a new file, not the header")
        self.assertEqual(self.poll(2), self.on_disk())
        self.check_log()

    def test_racing_writer(self):
        self.deliver(200, old=True, sub="cur")
        self.assertEqual(self.poll(0), self.on_disk())
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--race",
             self.maildir, str(self.uid), str(RACE_SECONDS)],
            stdout=subprocess.PIPE)
        self.addCleanup(self.stop, proc)
        n = 1
        while proc.poll() is None:
            # Every other poll finds new/ as the last one left it, and
            # takes it from the cache if that one recorded it.
            if n % 2:
                self.deliver(2)
            self.poll(n)
            n += 1
        made, flips = map(int, proc.communicate(
            timeout=pop3test.WAIT)[0].split())
        self.assertGreaterEqual(made + flips, RACE_ACTIONS_MIN,
                                "the racer did too little")
        self.assertGreater(n, 5, "too few polls to mean anything")
        # Quiet now: whatever was recorded must be the truth.
        for k in range(3):
            self.deliver(2)
            self.assertEqual(self.poll(n + k), self.on_disk(),
                             f"after the race, poll {n + k}: exactly the "
                             "files on disk")
        self.check_log()
        print(f"# {n + 3} polls; the racer made {made} files in cur/ and "
              f"renamed {flips}", flush=True)

    def stop(self, proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait(pop3test.WAIT)
        proc.stdout.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--race"]:
        racer(*sys.argv[2:5])
    else:
        pop3test.main()
