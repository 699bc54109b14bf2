#!/usr/bin/env python3
"""Clients that try to pin pop3d or to learn from it.

- A client that stops reading (mid-RETR, or pipelining without reading
  replies) is dropped after send_timeout, over plaintext, STLS and
  implicit TLS; the maildrop lock goes with it.
- AUTHORIZATION has one deadline (login_grace_time), whatever the client
  sends meanwhile; a cancelled AUTH counts as a bad command.
- Failed logins are answered a fixed time after the request, whatever the
  user, scheme or method.
- As root, no process that runs as the pre-login user or the mailbox owner
  holds the log file or a descriptor the launcher left open, the session
  cannot be traced by its owner, and every process's lines still reach
  the log.

pop3d runs on a socketpair (inetd style), started by the test.
"""
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt    # Python's own: bcrypt hashes without pop3d-passwd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402
from pop3test import POP3D, ROOT, WAIT, WRAP  # noqa: E402

CA = None
MAPPING_MAX = 1 << 30           # a relay's heap and stacks are far smaller
BIG = 20 * 1024 * 1024      # far more than any socket buffer holds
SEND_TIMEOUT = 2


def big_message():
    line = b"x" * 76 + b"\n"
    return b"Subject: big\n\n" + line * (BIG // len(line))


class Conn:
    """pop3d on one end of a socketpair; the test holds the other."""

    def __init__(self, host, args=(), stderr=None, pass_fds=()):
        a, b = socket.socketpair()
        self.log = stderr if stderr is not None else tempfile.TemporaryFile()
        self.p = subprocess.Popen([*WRAP, POP3D, "-c", host.conf_path, *args],
                                  stdin=b, stdout=b, stderr=self.log,
                                  pass_fds=pass_fds)
        b.close()
        self.sock = a
        self.sock.settimeout(WAIT)
        self.buf = b""

    def tls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def wait(self, timeout):
        """pop3d's exit status, or None if it is still running."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        if self.wait(WAIT) is None:
            self.p.kill()
            self.p.wait(WAIT)
        self.log.seek(0)
        return self.log.read().decode("latin-1")


def setUpModule():
    global CA
    CA = pop3test.TestCA()


def tearDownModule():
    CA.cleanup()


class StalledReader(unittest.TestCase):
    """A client that takes nothing is gone after send_timeout."""

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(send_timeout=SEND_TIMEOUT,
                                     plaintext_auth="yes",
                                     tls_cert=CA.cert, tls_key=CA.key)
        cls.host.add_user("big", "pw")
        cls.host.deliver("big", big_message())

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def open(self, mode):
        c = Conn(self.host, args=("-i",) if mode == "implicit" else ())
        if mode == "implicit":
            c.tls()
        self.assertTrue(c.line().startswith("+OK"))
        if mode == "stls":
            self.assertEqual(c.cmd("STLS"), "+OK Begin TLS negotiation")
            c.tls()
        return c

    def login(self, c):
        self.assertEqual(c.cmd("USER big"), "+OK Send PASS")
        return c.cmd("PASS pw")

    def assert_dropped(self, c, t0):
        """pop3d ends by itself within send_timeout and a margin, saying
        why in the log."""
        status = c.wait(SEND_TIMEOUT + (40 if WRAP else 15))
        took = time.monotonic() - t0
        log = c.close()
        self.assertIsNotNone(status, "pop3d still running:\n" + log)
        self.assertGreaterEqual(took, SEND_TIMEOUT - 0.5)
        self.assertRegex(log, r"logout user=big reason=timeout")
        return log

    def check_mode(self, mode, request):
        c = self.open(mode)
        self.assertTrue(self.login(c).startswith("+OK Logged in"))
        t0 = time.monotonic()
        c.send(request)
        self.assert_dropped(c, t0)
        # The lock went with it: the next login gets the maildrop.
        c = self.open(mode)
        reply = self.login(c)
        self.assertTrue(reply.startswith("+OK Logged in, 1 messages"), reply)
        c.cmd("QUIT")
        c.close()

    def test_retr_never_read(self):
        for mode in ("plain", "stls", "implicit"):
            with self.subTest(mode=mode):
                self.check_mode(mode, "RETR 1\r\n")

    def test_pipelined_never_read(self):
        self.check_mode("plain", "LIST\r\nRETR 1\r\n" * 40)


class LoginDeadline(unittest.TestCase):
    """login_grace_time bounds AUTHORIZATION as a whole."""

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(login_grace_time=3, login_timeout=2,
                                     max_bad_commands=3, plaintext_auth="yes")
        cls.host.add_user("u", "pw")

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def test_capa_drip(self):
        c = Conn(self.host)
        t0 = time.monotonic()
        self.assertTrue(c.line().startswith("+OK"))
        last = None
        for _ in range(30):             # 30 s at most, were there no bound
            try:
                c.send("CAPA\r\n")
            except OSError:
                pass                    # closed: the reason is still to read
            reply = c.line()
            if reply is None or reply.startswith("-ERR"):
                last = reply
                break
            while c.line() not in (".", None):
                pass
            time.sleep(1)
        took = time.monotonic() - t0
        self.assertEqual(last, "-ERR Login time exceeded, closing")
        self.assertLess(took, 3 + (20 if WRAP else 4))
        self.assertIsNone(c.line())
        log = c.close()
        self.assertRegex(log, r"disconnect remote=\S+ reason=timeout")

    def test_cancelled_auth_counts(self):
        """With max_bad_commands 3, the third "*" ends the session."""
        c = Conn(self.host)
        self.assertTrue(c.line().startswith("+OK"))
        tries = 0
        for _ in range(10):
            if c.cmd("AUTH PLAIN") != "+ ":
                break
            tries += 1
            if c.cmd("*") != "-ERR Authentication cancelled":
                break
        rest = []
        while (line := c.line()) is not None:
            rest.append(line)
        self.assertEqual(tries, 3, rest)
        self.assertTrue(all(r.startswith("-ERR") for r in rest), rest)
        c.close()


def bcrypt(password, cost=11):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH,
                                              rounds=2 ** cost))


class FailureTiming(unittest.TestCase):
    """Every failed USER/PASS, AUTH and APOP is answered at the same time
    after its request: medians of TRIES tries per case, cases run side
    by side, each on its own connection."""

    DELAY_MS = 700
    TRIES = int(os.environ.get("POP3D_TIMING_TRIES", "5"))
    SPREAD = 0.06                   # seconds between the fastest and slowest median
    PER_CONN = 10

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(auth_fail_delay_ms=cls.DELAY_MS,
                                     max_auth_failures=100, apop="yes",
                                     max_bad_commands=1000,
                                     plaintext_auth="yes")
        cls.host.add_user("sha", "right", scheme="SHA512-CRYPT")
        cls.host.add_user("plain", "right")
        cls.host.add_user("blf", "x")
        cls.host.add_user("locked", "x")
        stored = dict(cls.host.users)
        stored["blf"] = (bcrypt("right"),) + stored["blf"][1:]
        stored["locked"] = ("!",) + stored["locked"][1:]
        cls.host.users = stored
        cls.host.write_users()

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def measure(self, send, out):
        """Median seconds from request to reply; a connection takes at
        most PER_CONN tries (a login is at most 32 commands)."""
        times = []
        while len(times) < self.TRIES:
            c = Conn(self.host)
            greeting = c.line()
            for _ in range(min(self.PER_CONN, self.TRIES - len(times))):
                t0 = send(c, greeting)
                reply = c.line()
                times.append(time.monotonic() - t0)
                if reply is None or not reply.startswith("-ERR [AUTH]"):
                    out.append(("bad reply", reply))
                    c.close()
                    return
            c.cmd("QUIT")
            c.close()
        out.append(statistics.median(times))

    @staticmethod
    def userpass(user):
        def send(c, _):
            c.send(f"USER {user}\r\n")
            c.line()
            t0 = time.monotonic()
            c.send("PASS wrong\r\n")
            return t0
        return send

    @staticmethod
    def apop(user):
        def send(c, _):
            t0 = time.monotonic()
            c.send(f"APOP {user} {'0' * 32}\r\n")
            return t0
        return send

    @staticmethod
    def plain(user):
        import base64
        blob = base64.b64encode(f"\0{user}\0wrong".encode()).decode()

        def send(c, _):
            t0 = time.monotonic()
            c.send(f"AUTH PLAIN {blob}\r\n")
            return t0
        return send

    def test_failures_take_the_same_time(self):
        if WRAP:
            self.skipTest("under valgrind a bcrypt check outlasts any delay")
        cases = {
            "unknown": self.userpass("nobody"),
            "sha512": self.userpass("sha"),
            "bcrypt": self.userpass("blf"),
            "plain": self.userpass("plain"),
            "locked": self.userpass("locked"),
            "auth-unknown": self.plain("nobody"),
            "auth-bcrypt": self.plain("blf"),
            "apop-unknown": self.apop("nobody"),
            "apop-known": self.apop("plain"),
            "apop-bcrypt": self.apop("blf"),
        }
        results = {name: [] for name in cases}
        threads = [threading.Thread(target=self.measure, args=(f, results[n]))
                   for n, f in cases.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 4)
        medians = {}
        for name, r in results.items():
            self.assertTrue(len(r) == 1 and isinstance(r[0], float),
                            (name, r))
            medians[name] = r[-1]
        summary = ", ".join(f"{n} {m * 1000:.0f} ms"
                            for n, m in sorted(medians.items()))
        print(f"# medians over {self.TRIES} tries: {summary}")
        self.assertGreaterEqual(min(medians.values()), self.DELAY_MS / 1000
                                - 0.01, summary)
        self.assertLess(max(medians.values()) - min(medians.values()),
                        self.SPREAD * (4 if WRAP else 1), summary)


@unittest.skipUnless(ROOT, "descriptors and ptrace across uids need root")
class Descriptors(unittest.TestCase):
    """Nothing writable of root's reaches an unprivileged process."""

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(plaintext_auth="yes")
        cls.host.add_user("u", "pw")
        cls.host.deliver("u", "Subject: x\n\nbody\n")

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    @staticmethod
    def fds(pid):
        out = {}
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                pass
        return out

    @staticmethod
    def uid(pid):
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))

    @staticmethod
    def children(pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def unprivileged(self, top):
        """(pid, uid) of every process of the connection not running as root."""
        out = []
        for pid in [top] + self.children(top):
            try:
                uid = self.uid(pid)
            except (OSError, AttributeError):
                continue
            if uid != 0:
                out.append((pid, uid))
        return out

    def check_clean(self, procs, logpath, extrapath):
        for pid, uid in procs:
            for fd, target in self.fds(pid).items():
                self.assertNotIn(target, (logpath, extrapath),
                                 f"pid {pid} (uid {uid}) fd {fd}")

    def test_log_file_and_inherited_descriptors(self):
        d = tempfile.mkdtemp(prefix="pop3d-fds-")
        logpath = os.path.join(d, "log")
        extrapath = os.path.join(d, "extra")
        logf = open(logpath, "w+b")
        extra = os.open(extrapath, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            c = Conn(self.host, stderr=logf, pass_fds=(extra,))
            self.assertTrue(c.line().startswith("+OK"))
            pre = self.unprivileged(c.p.pid)
            self.assertTrue(pre, "no pre-login process found")
            self.check_clean(pre, logpath, extrapath)
            self.assertEqual(c.cmd("USER u"), "+OK Send PASS")
            self.assertTrue(c.cmd("PASS pw").startswith("+OK Logged in"))
            session = [(pid, uid) for pid, uid in self.unprivileged(c.p.pid)
                       if pid == c.p.pid]
            self.assertEqual(len(session), 1, "session not found")
            self.check_clean(session, logpath, extrapath)
            # Not dumpable: its /proc entries belong to root, not the owner.
            self.assertEqual(os.stat(f"/proc/{c.p.pid}/fd").st_uid, 0)
            self.assertEqual(session[0][1], self.host.uid_of("u"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            log = c.close()
            for what in ("connect remote=", "auth ok user=u",
                         "login user=u", "logout user=u reason=quit"):
                self.assertIn(what, log)
            self.assertNotIn("unattributed", log)
        finally:
            logf.close()
            os.close(extra)
            for n in os.listdir(d):
                os.unlink(os.path.join(d, n))
            os.rmdir(d)


@unittest.skipUnless(ROOT, "reading another uid's memory needs root")
class NoPasswordLeft(unittest.TestCase):
    """After a login over STLS, no process of the connection that is not
    root (the TLS relay, the session) holds the password anywhere in its
    memory: OpenSSL's record buffers are cleansed
    (SSL_OP_CLEANSE_PLAINTEXT) and every copy pop3d makes is wiped."""

    PASSWORD = "pw-Zq8-unique-4711-secret"

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(tls_cert=CA.cert, tls_key=CA.key,
                                     plaintext_auth="yes")
        cls.host.add_user("u", cls.PASSWORD)
        cls.host.deliver("u", "Subject: x\n\nbody\n")

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    @staticmethod
    def memory_holds(pid, needle):
        hits = []
        with open(f"/proc/{pid}/maps") as maps, \
                open(f"/proc/{pid}/mem", "rb", 0) as mem:
            for line in maps:
                addr, perms = line.split()[:2]
                if not perms.startswith("r") or "[vsyscall]" in line:
                    continue
                lo, hi = (int(x, 16) for x in addr.split("-"))
                if hi - lo > MAPPING_MAX:
                    continue        # ASan's shadow: terabytes, no heap
                try:
                    mem.seek(lo)
                    chunk = mem.read(hi - lo)
                except (OSError, ValueError, OverflowError, MemoryError):
                    continue
                if needle in chunk:
                    hits.append(line.strip())
        return hits

    def test_no_copy_after_tls_login(self):
        if WRAP:
            self.skipTest("valgrind keeps copies of its own")
        c = Conn(self.host)
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(c.cmd("STLS"), "+OK Begin TLS negotiation")
        c.tls()
        self.assertEqual(c.cmd("USER u"), "+OK Send PASS")
        self.assertTrue(c.cmd("PASS " + self.PASSWORD)
                        .startswith("+OK Logged in"))
        # Nothing more: the PASS record is the last the relay decrypted.
        procs = [c.p.pid] + Descriptors.children(c.p.pid)
        procs = [p for p in procs if Descriptors.uid(p) != 0]
        self.assertGreaterEqual(len(procs), 2, "session and relay")
        for pid in procs:
            with self.subTest(pid=pid, uid=Descriptors.uid(pid)):
                self.assertEqual(self.memory_holds(
                    pid, self.PASSWORD.encode()), [])
        c.cmd("QUIT")
        c.close()


@unittest.skipUnless(ROOT and pop3test.have("setpriv"),
                     "capability bounding sets need root and setpriv")
class KillUnderTheUnit(unittest.TestCase):
    """With only the capabilities pop3d@.service grants, the monitor can
    still kill a pre-login process (another uid) past its deadline."""

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(login_grace_time=1)
        service = pop3test.unit_file("pop3d@.service")["Service"]
        caps = service["CapabilityBoundingSet"].split()
        cls.bounding = "-all," + ",".join(
            "+" + c.lower().removeprefix("cap_") for c in caps)

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def test_stuck_pre_login_is_killed(self):
        a, b = socket.socketpair()
        log = tempfile.TemporaryFile()
        p = subprocess.Popen(["setpriv", f"--bounding-set={self.bounding}",
                              POP3D, "-c", self.host.conf_path],
                             stdin=b, stdout=b, stderr=log)
        b.close()
        stuck = []
        try:
            a.settimeout(WAIT)
            self.assertTrue(a.recv(100).startswith(b"+OK"))
            stuck = [pid for pid in Descriptors.children(p.pid)
                     if Descriptors.uid(pid) != 0]
            self.assertEqual(len(stuck), 1, "one pre-login process")
            os.kill(stuck[0], signal.SIGSTOP)
            p.wait(1 + 5 + WAIT)
        finally:
            for pid in stuck:           # only if the monitor could not
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if p.poll() is None:
                p.kill()
                p.wait(WAIT)
            a.close()
        log.seek(0)
        text = log.read().decode("latin-1")
        self.assertIn("past its deadline", text)
        self.assertIn("pre-login process killed by signal 9", text)
        self.assertNotIn("Operation not permitted", text)


if __name__ == "__main__":
    pop3test.main()
