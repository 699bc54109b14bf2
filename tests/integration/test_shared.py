#!/usr/bin/env python3
"""Two front-ends on one Maildir tree, as two hosts behind a load balancer.

Host A is tcpserver and host B systemd-socket-activate, each on its own
port of 127.0.0.1 with its own pop3d.conf (shared_storage = yes, its own
greeting); both name the same users file and the same Maildirs.  The
hosts are separate launchers on loopback, not network namespaces: what
two hosts share is the file system, and the maildrop lock is taken on it
(an OFD lock on pop3d.lock), whichever host asks.

- Logins of one user through both at the same instant: exactly one gets
  in, the other gets -ERR [IN-USE]; once the first quits, the other gets
  in.
- A delivery process writes messages as an MDA does (tmp/, then a
  rename into new/) while leave-on-server polls go to A and B in turn:
  no poll lists a message twice, every size is right, every message is
  downloaded exactly once, and the last poll lists every file.
- kill -9 of A's session right after its QUIT, during the unlinks of
  many DELE'd messages: B logs in at once (the lock died with the
  process); every message not deleted is listed, each once, with its
  size and its content; a DELE'd one is gone or still whole.

Not covered here, for want of NFS on the test machine: attribute
caching, lease expiry of a crashed host and clock skew between hosts;
tests/unit/test_cache.c shows that shared_storage lists a change that
stamps looking unchanged would hide.
"""
import os
import poplib
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "shared", "both-hosts-pw"
ROUNDS = 5              # simultaneous logins through both hosts
DELIVERY_SECONDS = 4.0
KILL_MESSAGES = 3000    # in the maildrop whose UPDATE is killed
KILL_DELE = 2000        # of which DELE'd


def message(i, tag="m"):
    """CRLF lines, no line starting with a dot: the POP3 size is the
    length, and poplib gives back the octets exactly."""
    return (f"From: mda@example.org\r\nSubject: {tag} {i}\r\n\r\n"
            f"body of {tag} {i}\r\n" + "y" * (i % 53) + "\r\n").encode()


class HostView:
    """What Launcher needs of a host: its directory and its pop3d.conf."""

    def __init__(self, base, name, **extra):
        self.dir = os.path.join(base.dir, f"host-{name}")
        os.mkdir(self.dir)
        self.conf_path = os.path.join(self.dir, "pop3d.conf")
        conf = dict(base.conf, **extra)
        with open(self.conf_path, "w") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")


def wait_gone(pid, timeout=pop3test.WAIT):
    """Until pid has exited (gone or a zombie): its files are closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False


@unittest.skipUnless(all(pop3test.have(p) for p in
                         ("tcpserver", "systemd-socket-activate")),
                     "tcpserver or systemd-socket-activate not installed")
class SharedTree(unittest.TestCase):

    def setUp(self):
        self.host = pop3test.Mailhost(shared_storage="yes")
        self.addCleanup(self.host.cleanup)
        self.uid = self.host.add_user(USER, PASSWORD)
        self.maildir = self.host.maildir(USER)
        self.hosts = {}
        for name, kind in (("A", "tcpserver"), ("B", "systemd")):
            view = HostView(self.host, name, greeting=f"host {name} ready")
            launcher = pop3test.Launcher(kind, view)
            self.addCleanup(self.stop, launcher)
            self.hosts[name] = launcher
        self.seq = 0

    def stop(self, launcher):
        launcher.stop()
        bad = pop3test.sanitizer_lines(launcher.read_log())
        self.assertEqual(bad, [], "sanitizer output in the launcher log")

    def connect(self, name):
        c = poplib.POP3("127.0.0.1", self.hosts[name].port,
                        timeout=pop3test.WAIT)
        self.assertIn(f"host {name} ready".encode(), c.getwelcome())
        return c

    def login(self, name):
        c = self.connect(name)
        c.user(USER)
        c.pass_(PASSWORD)
        return c

    def deliver(self, data):
        """As an MDA: written in tmp/, given to the owner, renamed."""
        self.seq += 1
        name = f"{1700000000 + self.seq}.M{self.seq}P{os.getpid()}.mda"
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        self.host.chown(USER, tmp)
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return name

    def listing(self, c):
        """{unique-id: (number, size)}, failing on a unique-id twice."""
        uidls = [x.split() for x in c.uidl()[1]]
        sizes = {int(k): int(v) for k, v in (x.split() for x in c.list()[1])}
        self.assertEqual(len(uidls), len(sizes), "UIDL and LIST disagree")
        out = {}
        for num, uid in uidls:
            uid = uid.decode()
            self.assertNotIn(uid, out, f"{uid} listed twice")
            self.assertFalse(uid.startswith(":"), f"{uid}: a second entry")
            out[uid] = (int(num), sizes[int(num)])
        return out

    def test_simultaneous_logins(self):
        self.deliver(message(0))
        for r in range(ROUNDS):
            conns = {n: self.connect(n) for n in self.hosts}
            for c in conns.values():
                c.user(USER)
            barrier = threading.Barrier(len(conns))
            result = {}

            def password(name, c):
                barrier.wait(pop3test.WAIT)
                try:
                    result[name] = c.pass_(PASSWORD)
                except poplib.error_proto as e:
                    result[name] = e.args[0]

            threads = [threading.Thread(target=password, args=(n, c))
                       for n, c in conns.items()]
            for t in threads:
                t.start()
            for t in threads:
                t.join(pop3test.WAIT)
            try:
                won = [n for n, r in result.items() if r.startswith(b"+OK")]
                lost = [n for n, r in result.items()
                        if r.startswith(b"-ERR [IN-USE]")]
                self.assertEqual((len(won), len(lost)), (1, 1),
                                 f"round {r}: {result}")
                self.assertEqual(conns[won[0]].stat()[0], 1)
                self.assertTrue(conns[won[0]].quit().startswith(b"+OK"))
                # Its lock goes with its process (which replies to QUIT
                # just before it ends): then the other host lets the
                # user in.
                self.assertEqual(self.hosts[won[0]].wait_idle(), [])
                c = self.login(lost[0])
                self.assertEqual(c.stat()[0], 1)
                self.assertTrue(c.quit().startswith(b"+OK"))
            finally:
                for c in conns.values():
                    c.close()

    def test_delivery_while_both_serve(self):
        sent = {}           # base name -> octets
        stop = threading.Event()

        def mda():
            i = 0
            while not stop.is_set():
                data = message(i, "delivery")
                sent[self.deliver(data)] = data
                i += 1
                time.sleep(0.005)

        t = threading.Thread(target=mda)
        t.start()
        got = {}            # unique-id -> octets, downloaded once
        polls = 0
        try:
            deadline = time.monotonic() + DELIVERY_SECONDS
            while time.monotonic() < deadline or polls < 4:
                self.poll("AB"[polls % 2], got)
                polls += 1
        finally:
            stop.set()
            t.join(pop3test.WAIT)
        listed = self.poll("AB"[polls % 2], got)
        self.assertEqual(sorted(listed), sorted(sent),
                         "the last poll lists every file")
        self.assertEqual(got, sent, "every message downloaded once, intact")
        print(f"# {polls + 1} polls through A and B, {len(sent)} delivered",
              flush=True)

    def poll(self, name, got):
        c = self.login(name)
        try:
            listed = self.listing(c)
            for uid, (num, size) in sorted(listed.items()):
                if uid in got:
                    continue
                _, lines, octets = c.retr(num)
                self.assertEqual(octets, size, f"RETR {num} via {name}")
                got[uid] = b"\r\n".join(lines) + b"\r\n"
            self.assertTrue(c.quit().startswith(b"+OK"))
        finally:
            c.close()
        return listed

    def session_pid(self, name):
        """The session of the one connection to host name: the launcher's
        child, which became pop3d-session at login."""
        kids = self.hosts[name].children()
        self.assertEqual(len(kids), 1, f"host {name} children {kids}")
        return kids[0]

    def test_kill_during_update(self):
        sent = {}
        for i in range(KILL_MESSAGES):
            data = message(i, "kill")
            sent[self.deliver(data)] = data
        a = self.login("A")
        listed = self.listing(a)
        by_num = {num: uid for uid, (num, _) in listed.items()}
        deleted = {by_num[n] for n in range(1, KILL_DELE + 1)}
        for n in range(1, KILL_DELE + 1):
            a.sock.sendall(b"DELE %d\r\n" % n)
        for n in range(1, KILL_DELE + 1):
            self.assertTrue(a._getresp().startswith(b"+OK"))
        pid = self.session_pid("A")
        new = os.path.join(self.maildir, "new")
        before = len(os.listdir(new))
        a.sock.sendall(b"QUIT\r\n")
        # Killed as soon as the first unlink shows, or at the deadline.
        deadline = time.monotonic() + pop3test.WAIT
        while len(os.listdir(new)) == before and time.monotonic() < deadline:
            pass
        os.kill(pid, 9)
        self.assertTrue(wait_gone(pid), "the killed session did not exit")
        left = len(os.listdir(new))
        a.close()
        print(f"# killed with {before - left} of {KILL_DELE} unlinked",
              flush=True)

        b = self.login("B")    # at once: no -ERR [IN-USE]
        try:
            now = self.listing(b)
            for uid in set(sent) - deleted:
                self.assertIn(uid, now, f"{uid}, never deleted, is lost")
            for uid, (num, size) in now.items():
                self.assertEqual(size, len(sent[uid]), f"size of {uid}")
                if uid in deleted or num % 50 == 0:
                    _, lines, octets = b.retr(num)
                    self.assertEqual(b"\r\n".join(lines) + b"\r\n",
                                     sent[uid], f"{uid} not whole")
            on_disk = sorted(f.split("/", 1)[1].split(":")[0]
                             for f in self.host.files(USER))
            self.assertEqual(sorted(now), on_disk,
                             "the listing is what is on disk")
            self.assertTrue(b.quit().startswith(b"+OK"))
        finally:
            b.close()


if __name__ == "__main__":
    pop3test.main()
