#!/usr/bin/env python3
"""TLS in pop3d: STLS (RFC 2595), implicit TLS (RFC 8314, pop3d -i), the
plaintext policy, and what happens when a handshake goes wrong.

The certificates are made for this run by pop3test.TestCA (openssl, in a
temporary directory).  pop3d runs under systemd-socket-activate, set up
from the shipped systemd/pop3d.socket + pop3d@.service (STLS on the
plain port) and systemd/pop3s.socket + pop3s@.service (implicit TLS).
Clients: Python's poplib and ssl, openssl s_client, curl, fetchmail, mpop.

Log lines of one connection are found by the client's source port: the
monitor logs "connect remote=127.0.0.1:PORT", and a failed handshake is
logged by the pre-login process with the same remote=.
"""
import base64
import os
import poplib
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

WAIT = pop3test.WAIT
CLIENT_TIMEOUT = 30     # seconds any one client program may take
CA = None               # pop3test.TestCA, made once for the module

REFUSED = re.compile(rb"^-ERR \[AUTH\] .*\b(STLS|TLS)\b")


def setUpModule():
    global CA
    if not pop3test.have("openssl"):
        raise unittest.SkipTest("openssl not installed")
    CA = pop3test.TestCA()


def tearDownModule():
    if CA is not None:
        CA.cleanup()


MESSAGES = [
    b"From: a@example.org\nSubject: one\n\nHello\n.dotline\n..two dots\n"
    b".\n. space\nend\n",
    b"From: a@example.org\nSubject: two\n\nno final newline",
    b"From: a@example.org\r\nSubject: three\r\n\r\ncrlf body\r\n.\r\n",
    b"Subject: eight bit\n\n" + bytes(range(0x80, 0x100)) + b"\n"
    + b"".join(b"%s line %d\n" % (b"." * (i % 3), i) for i in range(3000)),
]


def wire(data):
    """The octets pop3d sends for a message file, before dot-stuffing."""
    out = bytearray()
    prev = None
    for b in data:
        if b == 0x0a and prev != 0x0d:
            out += b"\r"
        out.append(b)
        prev = b
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    return bytes(out)


def lines_of(data):
    """What poplib's retr() returns for a message file."""
    return wire(data).split(b"\r\n")[:-1]


def lf(data):
    return wire(data).replace(b"\r\n", b"\n")


def wait_for(pred, timeout=WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def run(argv, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(argv, env=e, capture_output=True,
                          timeout=CLIENT_TIMEOUT, **kw)


def client_context(**kw):
    """Verifies pop3d's certificate against the test CA."""
    ctx = ssl.create_default_context(cafile=CA.ca)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def client_hello():
    """The octets of a real TLS ClientHello, as Python's ssl sends it."""
    ctx = client_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


class Conn:
    """A line-level POP3 client on a TCP socket that can start TLS."""

    def __init__(self, port, tls=False, timeout=WAIT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]     # our end: in the log
        self.buf = b""
        if tls:             # True, or the ssl.SSLContext to use
            ctx = tls if isinstance(tls, ssl.SSLContext) else client_context()
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        """One line without CRLF; None when the server has closed."""
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                if self.buf:
                    raise AssertionError(f"unterminated line {self.buf!r}")
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def multi(self):
        out = []
        while True:
            line = self.line()
            if line == b".":
                return out
            if line is None:
                raise AssertionError("closed inside a multi-line reply")
            out.append(line[1:] if line.startswith(b".") else line)

    def capa(self):
        r = self.cmd("CAPA")
        assert r.startswith(b"+OK"), r
        return [c.decode() for c in self.multi()]

    def starttls(self, ctx=None):
        r = self.cmd("STLS")
        assert r == b"+OK Begin TLS negotiation", r
        assert self.buf == b"", self.buf
        self.sock = (ctx or client_context()).wrap_socket(
            self.sock, server_hostname="localhost")

    def quiet(self, wait=0.5):
        """What arrives within `wait` seconds beyond what was read."""
        self.sock.settimeout(wait)
        try:
            return self.buf + self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return self.buf
        finally:
            self.sock.settimeout(WAIT)

    def close(self):
        self.sock.close()


class SClient:
    """openssl s_client driven line by line, its output read by a thread."""

    def __init__(self, *args):
        self.p = subprocess.Popen(["openssl", "s_client", *args],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.out = b""
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for chunk in iter(lambda: self.p.stdout.read1(4096), b""):
            with self.lock:
                self.out += chunk

    def text(self):
        with self.lock:
            return self.out.decode("latin-1")

    def expect(self, pattern, timeout=WAIT):
        ok = wait_for(lambda: re.search(pattern, self.text(), re.M), timeout)
        assert ok, f"no {pattern!r} from s_client:\n{self.text()[-2000:]}"

    def send(self, text):
        try:
            self.p.stdin.write(text.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def finish(self, timeout=WAIT):
        """Wait for s_client to end (killed after timeout); its status."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait(timeout)
        self.t.join(timeout)
        self.p.stdout.close()
        return rc


class TLSCase(unittest.TestCase):
    """A Mailhost with the test certificate and launchers from systemd/."""

    CONF = {}
    UNITS = ("pop3d",)          # one systemd launcher per unit name
    counter = 0

    @classmethod
    def setUpClass(cls):
        if not pop3test.have("systemd-socket-activate"):
            raise unittest.SkipTest("systemd-socket-activate not installed")
        cls.host = pop3test.Mailhost(tls_cert=CA.cert, tls_key=CA.key,
                                     **cls.CONF)
        cls.launchers = {}
        try:
            for unit in cls.UNITS:
                cls.launchers[unit] = pop3test.Launcher("systemd", cls.host,
                                                        unit=unit)
        except BaseException:
            cls.stop_all()
            raise

    @classmethod
    def stop_all(cls):
        logs = ""
        for launcher in cls.launchers.values():
            launcher.stop()
            logs += launcher.read_log()
        cls.host.cleanup()
        return pop3test.sanitizer_lines(logs)

    @classmethod
    def tearDownClass(cls):
        bad = cls.stop_all()
        if bad:
            raise AssertionError("sanitizer output in the launcher log:\n"
                                 + "\n".join(bad[:20]))

    @property
    def port(self):
        return self.launchers[self.UNITS[0]].port

    def new_user(self, messages=MESSAGES):
        TLSCase.counter += 1
        user = f"t{TLSCase.counter}"
        password = f"pw-{TLSCase.counter}-secret"
        self.host.add_user(user, password)
        names = [self.host.deliver(user, m) for m in messages]
        return user, password, names

    def log(self):
        # Launchers of one kind on one Mailhost append to the same file.
        return next(iter(self.launchers.values())).read_log()

    def tail(self):
        return "\n--- launcher log ---\n" + self.log()[-3000:]

    def connection_lines(self, port, done=None):
        """pop3d's log lines for the connection from client port `port`:
        those of the process that logged its connect line and any that
        name the same remote.  Waits (bounded) until `done` matches one."""
        remote = re.compile(rf"remote=127\.0\.0\.1:{port}(\s|$)")

        def lines():
            log = self.log().splitlines()
            pids = {re.match(r"pop3d\[(\d+)\]", ln).group(1) for ln in log
                    if re.match(r"pop3d\[\d+\]: connect ", ln)
                    and remote.search(ln)}
            return [ln for ln in log if ln.startswith("pop3d[") and
                    (re.match(r"pop3d\[(\d+)\]", ln).group(1) in pids or
                     remote.search(ln))]

        if done is not None:
            wait_for(lambda: any(re.search(done, ln) for ln in lines()))
        return lines()

    def assert_clean_end(self, port, failure):
        """The connection ended with exactly one line saying why (matching
        failure), besides its connect line; nothing was left running."""
        for launcher in self.launchers.values():
            self.assertEqual(launcher.wait_idle(), [], self.tail())
        got = self.connection_lines(port, failure)
        self.assertTrue(got and "connect remote=" in got[0], got)
        self.assertEqual(len(got), 2, "\n".join(got) + self.tail())
        self.assertRegex(got[1], failure)
        self.assertNotIn("signal", "\n".join(got))


def log_tls(line):
    m = re.search(r" tls=(\S+)", line)
    return m.group(1) if m else None


class Stls(TLSCase):
    """STLS on the plain port (pop3d.socket), loopback, default policy."""

    def test_capa_before_and_after_stls(self):
        c = Conn(self.port)
        self.assertTrue(c.line().startswith(b"+OK"))
        before = c.capa()
        for want in ("STLS", "USER", "SASL PLAIN LOGIN", "PIPELINING"):
            self.assertIn(want, before)
        c.starttls()
        after = c.capa()
        self.assertNotIn("STLS", after)
        self.assertIn("USER", after)
        self.assertIn("SASL PLAIN LOGIN", after)
        self.assertEqual(c.cmd("STLS"), b"-ERR TLS already active")
        self.assertEqual(c.cmd("QUIT"), b"+OK Bye")
        self.assertIsNone(c.line())
        c.close()

    def test_poplib_stls_retrieve(self):
        user, pw, names = self.new_user()
        c = poplib.POP3("127.0.0.1", self.port, timeout=WAIT)
        self.assertIn("STLS", c.capa())
        self.assertTrue(c.stls(client_context()).startswith(b"+OK"))
        port = c.sock.getsockname()[1]
        self.assertNotIn("STLS", c.capa())
        c.user(user)
        c.pass_(pw)
        self.assertEqual(c.stat(), (len(MESSAGES),
                                    sum(len(wire(m)) for m in MESSAGES)))
        for i, m in enumerate(MESSAGES):
            resp, lines, octets = c.retr(i + 1)
            self.assertEqual(resp, b"+OK %d octets" % len(wire(m)))
            self.assertEqual(lines, lines_of(m), f"message {i + 1}")
            self.assertEqual(octets, len(wire(m)))
        self.assertEqual([u.split()[1].decode() for u in c.uidl()[1]], names)
        self.assertEqual(c.quit(), b"+OK Logging out, 0 messages deleted")
        got = self.connection_lines(port, r"logout user=")
        login = [ln for ln in got if " login user=" in ln]
        self.assertEqual(len(login), 1, got)
        self.assertRegex(log_tls(login[0]) or "", r"^TLSv1\.3/TLS_", got)

    def test_log_says_whether_tls(self):
        user, pw, _ = self.new_user([b"Subject: x\n\ny\n"])
        sessions = {}
        for how in ("plain", "tls1.3", "tls1.2"):
            c = poplib.POP3("127.0.0.1", self.port, timeout=WAIT)
            if how == "tls1.2":
                c.stls(client_context(
                    maximum_version=ssl.TLSVersion.TLSv1_2))
            elif how == "tls1.3":
                c.stls(client_context())
            sessions[how] = c.sock.getsockname()[1]
            c.user(user)
            c.pass_(pw)
            c.quit()
        seen = {}
        for how, port in sessions.items():
            got = self.connection_lines(port, r"logout user=")
            login = [ln for ln in got if " login user=" in ln]
            auth = [ln for ln in got if " auth ok user=" in ln]
            self.assertEqual((len(login), len(auth)), (1, 1), got)
            seen[how] = log_tls(login[0])
            self.assertEqual(log_tls(auth[0]), seen[how], got)
            self.assertNotIn(" tls=", got[0])      # the connect line
        self.assertIsNone(seen["plain"])
        self.assertRegex(seen["tls1.3"] or "", r"^TLSv1\.3/TLS_AES_\w+$")
        self.assertRegex(seen["tls1.2"] or "",
                         r"^TLSv1\.2/ECDHE-(ECDSA|RSA)-\w[\w-]*$")

    def test_pipelined_after_pass_inside_tls(self):
        user, pw, _ = self.new_user(MESSAGES[:2])
        c = Conn(self.port)
        c.line()
        c.starttls()
        c.send(f"USER {user}\r\nPASS {pw}\r\nSTAT\r\nLIST\r\nRETR 2\r\n"
               "NOOP\r\nQUIT\r\n")
        self.assertEqual(c.line(), b"+OK Send PASS")
        self.assertTrue(c.line().startswith(b"+OK Logged in, 2 messages"))
        self.assertEqual(c.line(), b"+OK %d %d" % (
            2, len(wire(MESSAGES[0])) + len(wire(MESSAGES[1]))))
        self.assertTrue(c.line().startswith(b"+OK"))
        self.assertEqual(c.multi(), [b"%d %d" % (i + 1, len(wire(m)))
                                     for i, m in enumerate(MESSAGES[:2])])
        self.assertTrue(c.line().startswith(b"+OK"))
        self.assertEqual(c.multi(), lines_of(MESSAGES[1]))
        self.assertTrue(c.line().startswith(b"+OK"))
        self.assertTrue(c.line().startswith(b"+OK Logging out"))
        self.assertIsNone(c.line())
        c.close()
        # More than the line reader holds (4 KB) behind PASS: the rest is
        # still in OpenSSL's buffer or the socket when the relay starts.
        c = Conn(self.port)
        c.line()
        c.starttls()
        n = 3000
        c.send(f"USER {user}\r\nPASS {pw}\r\n" + "NOOP\r\n" * n
               + "STAT\r\nQUIT\r\n")
        self.assertEqual(c.line(), b"+OK Send PASS")
        self.assertTrue(c.line().startswith(b"+OK Logged in"))
        replies = [c.line() for _ in range(n + 2)]
        self.assertEqual(replies[:n], [b"+OK"] * n)
        self.assertTrue(replies[n].startswith(b"+OK 2 "), replies[n])
        self.assertTrue(replies[n + 1].startswith(b"+OK Logging out"))
        self.assertIsNone(c.line())
        c.close()

    def test_large_retr_and_drop_mid_retr(self):
        big = b"Subject: large\n\n" + b"".join(
            b"%s%07d %s\n" % (b"." if i % 50 == 0 else b"", i, b"z" * 90)
            for i in range(52000))
        self.assertGreater(len(big), 5 * 1000 * 1000)
        user, pw, _ = self.new_user([big])
        c = poplib.POP3("127.0.0.1", self.port, timeout=WAIT)
        c.stls(client_context())
        c.user(user)
        c.pass_(pw)
        resp, lines, octets = c.retr(1)
        self.assertEqual(resp, b"+OK %d octets" % len(wire(big)))
        self.assertEqual(octets, len(wire(big)))
        self.assertTrue(lines == lines_of(big), "large message differs")
        c.quit()
        # Gone in the middle of RETR: the relay and the session both end.
        c = Conn(self.port)
        c.line()
        c.starttls()
        c.send(f"USER {user}\r\nPASS {pw}\r\nRETR 1\r\n")
        self.assertEqual(c.line(), b"+OK Send PASS")
        self.assertTrue(c.line().startswith(b"+OK Logged in"))
        self.assertTrue(c.line().startswith(b"+OK"))
        c.sock.recv(100000)
        port = c.port
        c.close()
        for launcher in self.launchers.values():
            left = launcher.wait_idle()
            self.assertEqual(left, [], f"left behind: {left}" + self.tail())
        got = self.connection_lines(port, r"logout user=")
        self.assertEqual(len([ln for ln in got if "logout user=" in ln]), 1,
                         got)
        self.assertNotIn("signal", "\n".join(got))
        # The maildrop lock is free again.
        c = poplib.POP3("127.0.0.1", self.port, timeout=WAIT)
        c.stls(client_context())
        c.user(user)
        c.pass_(pw)
        self.assertEqual(c.stat()[0], 1)
        c.quit()

    # -- STARTTLS command injection (CVE-2011-0411 class) --------------------

    def test_plaintext_pipelined_behind_stls_not_executed(self):
        c = Conn(self.port)
        c.line()
        c.send(b"STLS\r\nCAPA\r\n")                 # one packet
        self.assertEqual(c.line(), b"+OK Begin TLS negotiation")
        self.assertEqual(c.buf, b"")
        c.sock = client_context().wrap_socket(c.sock,
                                              server_hostname="localhost")
        # The first reply inside TLS answers what was sent inside TLS.
        self.assertEqual(c.cmd("NOOP"), b"-ERR Not logged in")
        self.assertEqual(c.quiet(), b"", "a stray reply inside TLS")
        self.assertNotIn("STLS", c.capa())
        self.assertEqual(c.quiet(), b"")
        c.cmd("QUIT")
        c.close()

    def test_user_pipelined_behind_stls_not_executed(self):
        user, pw, _ = self.new_user([])
        c = Conn(self.port)
        c.line()
        c.send(f"STLS\r\nUSER {user}\r\n".encode())
        self.assertEqual(c.line(), b"+OK Begin TLS negotiation")
        c.sock = client_context().wrap_socket(c.sock,
                                              server_hostname="localhost")
        # The injected USER did not count: PASS alone is out of order.
        self.assertEqual(c.cmd(f"PASS {pw}"), b"-ERR USER first")
        self.assertEqual(c.quiet(), b"")
        self.assertEqual(c.cmd(f"USER {user}"), b"+OK Send PASS")
        self.assertTrue(c.cmd(f"PASS {pw}").startswith(b"+OK Logged in"))
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        c.close()

    def test_user_before_stls_forgotten(self):
        """Nothing the client said in plaintext carries over into TLS
        (RFC 2595 section 4 and the injection class above): a USER given
        before STLS must be given again."""
        user, pw, _ = self.new_user([])
        c = Conn(self.port)
        c.line()
        self.assertEqual(c.cmd(f"USER {user}"), b"+OK Send PASS")
        c.starttls()
        r = c.cmd(f"PASS {pw}")
        c.cmd("QUIT")
        c.close()
        self.assertEqual(r, b"-ERR USER first",
                         "USER from before STLS was kept inside TLS")

    # -- other clients -----------------------------------------------------

    @unittest.skipUnless(pop3test.have("openssl"), "openssl not installed")
    def test_openssl_s_client_starttls(self):
        user, pw, _ = self.new_user(MESSAGES[:1])
        r = run(["openssl", "s_client", "-starttls", "pop3", "-connect",
                 f"127.0.0.1:{self.port}", "-quiet", "-CAfile", CA.ca,
                 "-verify_return_error", "-verify_hostname", "localhost"],
                input=f"USER {user}\r\nPASS {pw}\r\nRETR 1\r\nQUIT\r\n"
                .encode())
        out = r.stdout
        self.assertEqual(r.returncode, 0, r.stderr.decode() + self.tail())
        self.assertIn(b"+OK Logged in, 1 messages", out)
        body = out.split(b"+OK %d octets\r\n" % len(wire(MESSAGES[0])), 1)
        self.assertEqual(len(body), 2, out)
        self.assertTrue(body[1].startswith(
            wire(MESSAGES[0]).replace(b"\r\n.", b"\r\n..") + b".\r\n"
            + b"+OK Logging out"), out)

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_ssl_reqd(self):
        user, pw, _ = self.new_user()
        url = f"pop3://{user}:{pw}@127.0.0.1:{self.port}/"
        for i, m in enumerate(MESSAGES):
            r = run(["curl", "-sS", "--max-time", str(CLIENT_TIMEOUT),
                     "--ssl-reqd", "--cacert", CA.ca, url + str(i + 1)])
            self.assertEqual(r.returncode, 0,
                             r.stderr.decode(errors="replace") + self.tail())
            self.assertEqual(r.stdout, wire(m), f"message {i + 1}")
        self.assertRegex(self.log(), rf"login user={user} method=\w+ "
                         r"remote=\S+ tls=TLSv1\.[23]/")

    @unittest.skipUnless(pop3test.have("fetchmail"), "fetchmail not installed")
    def test_fetchmail_stls(self):
        user, pw, _ = self.new_user()
        r, got = fetchmail(self.host, self.port, user, pw,
                           "sslproto 'tls1.2+' sslcertck")
        assert_fetched(self, r, got, MESSAGES)
        self.assertIn("POP3> STLS", r.stderr.decode(errors="replace")
                      + r.stdout.decode(errors="replace"))
        self.assertRegex(self.log(), rf"login user={user} method=\w+ "
                         r"remote=\S+ tls=TLSv1\.3/")

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_starttls(self):
        user, pw, _ = self.new_user()
        r, got = mpop(self.host, self.port, user, pw, "on")
        assert_fetched(self, r, got, MESSAGES)
        self.assertRegex(self.log(), rf"login user={user} method=\w+ "
                         r"remote=\S+ tls=TLSv1\.3/")


# -- fetchmail and mpop, as in test_clients.py, with TLS options -------------

MDA = ("import os, sys, time\n"
       "data = sys.stdin.buffer.read()\n"
       "name = os.path.join(sys.argv[1],\n"
       "                    '%d.%d' % (time.time_ns(), os.getpid()))\n"
       "with open(name + '.tmp', 'wb') as f:\n"
       "    f.write(data)\n"
       "os.rename(name + '.tmp', name)\n")


def fetchmail(host, port, user, pw, tls):
    """fetchmail with the TLS keywords `tls`; the test CA is the only
    trust anchor.  fetchmail checks the name itself and knows no IP
    address SANs: sslcommonname says which name to expect."""
    home = tempfile.mkdtemp(prefix="fetchmail-", dir=host.dir)
    out = os.path.join(home, "out")
    os.mkdir(out)
    with open(os.path.join(home, "mda.py"), "w") as f:
        f.write(MDA)
    rc = os.path.join(home, "fetchmailrc")
    with open(rc, "w") as f:
        f.write("set no syslog\nset invisible\n"
                f"set idfile \"{home}/fetchids\"\n"
                f"poll 127.0.0.1 port {port} proto pop3 uidl\n"
                f"  user \"{user}\" there password \"{pw}\"\n"
                f"  keep no rewrite {tls}\n"
                f"  sslcertfile \"{CA.ca}\" sslcommonname localhost\n"
                f"  mda \"{sys.executable} {home}/mda.py {out}\"\n")
    os.chmod(rc, 0o600)
    r = run(["fetchmail", "-f", rc, "--nosyslog", "-v",
             "--pidfile", os.path.join(home, "fetchmail.pid")],
            env={"HOME": home, "FETCHMAILHOME": home})
    names = sorted(os.listdir(out), key=lambda n: int(n.split(".")[0]))
    return r, [open(os.path.join(out, n), "rb").read() for n in names]


def mpop(host, port, user, pw, starttls):
    home = tempfile.mkdtemp(prefix="mpop-", dir=host.dir)
    md = os.path.join(home, "maildir")
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, sub))
    rc = os.path.join(home, "mpoprc")
    with open(rc, "w") as f:
        f.write("account default\nhost 127.0.0.1\n"
                f"port {port}\nuser {user}\npassword {pw}\n"
                "tls on\n"
                f"tls_starttls {starttls}\n"
                f"tls_trust_file {CA.ca}\n"
                "auth user\nreceived_header off\nkeep on\n"
                f"timeout {CLIENT_TIMEOUT}\n"
                f"delivery maildir {md}\n"
                f"uidls_file {home}/uidls\n")
    os.chmod(rc, 0o600)
    r = run(["mpop", "-C", rc], env={"HOME": home})
    names = os.listdir(os.path.join(md, "new"))
    names.sort(key=lambda n: (n.split(".")[0],
                              int(n.split("Q")[1].split(".")[0])))
    return r, [open(os.path.join(md, "new", n), "rb").read() for n in names]


def assert_fetched(case, r, got, want):
    text = (r.stdout.decode(errors="replace")
            + r.stderr.decode(errors="replace"))
    case.assertEqual(r.returncode, 0, text + case.tail())
    case.assertEqual(len(got), len(want), text)
    for i, (g, w) in enumerate(zip(got, want)):
        case.assertEqual(g, lf(w), f"message {i + 1}")


class Implicit(TLSCase):
    """Implicit TLS: pop3s.socket + pop3s@.service, i.e. pop3d -i."""

    UNITS = ("pop3s",)

    def test_launcher_built_from_units(self):
        argv = self.launchers["pop3s"].argv
        self.assertIn("-a", argv)             # Accept=yes in pop3s.socket
        self.assertEqual(argv[-4:], [pop3test.POP3D, "-c",
                                     self.host.conf_path, "-i"])

    def test_poplib_pop3_ssl(self):
        user, pw, _ = self.new_user()
        c = poplib.POP3_SSL("127.0.0.1", self.port, context=client_context(),
                            timeout=WAIT)
        port = c.sock.getsockname()[1]
        self.assertTrue(c.getwelcome().startswith(b"+OK"))
        capa = c.capa()
        self.assertNotIn("STLS", capa)
        self.assertIn("USER", capa)
        self.assertEqual(capa.get("SASL"), ["PLAIN", "LOGIN"])
        c.user(user)
        c.pass_(pw)
        for i, m in enumerate(MESSAGES):
            self.assertEqual(c.retr(i + 1)[1], lines_of(m), f"message {i + 1}")
        c.quit()
        got = self.connection_lines(port, r"logout user=")
        self.assertRegex(got[0], r"connect remote=\S+ tls=implicit$")
        login = [ln for ln in got if " login user=" in ln]
        self.assertRegex(log_tls(login[0]) or "", r"^TLSv1\.3/", got)

    def test_dropped_tls_client_is_an_ordinary_end(self):
        """A client that goes away before login ends the connection the
        same way with or without TLS: pop3d exits 0 (its status is what
        systemd records for the pop3s@ instance), and with no log line.
        Many clients just close the socket without a TLS close_notify."""
        how = {}
        c = Conn(self.port, tls=True)
        c.line()
        c.sock.close()                          # no close_notify
        how["tls, no close_notify"] = c.port
        c = Conn(self.port, tls=True)
        c.line()
        c.sock.unwrap().close()                 # close_notify first
        how["tls, close_notify"] = c.port
        plain = pop3test.Launcher("systemd", self.host)   # same log file
        try:
            c = Conn(plain.port)
            c.line()
            c.close()
            how["plaintext"] = c.port
            for launcher in (plain, *self.launchers.values()):
                self.assertEqual(launcher.wait_idle(), [], self.tail())
        finally:
            plain.stop()
        status = {}
        for what, port in how.items():
            got = self.connection_lines(port)
            self.assertEqual(len(got), 1, got)  # connect alone
            pid = re.match(r"pop3d\[(\d+)\]", got[0]).group(1)
            m = wait_for(lambda: re.search(
                rf"(?m)^Child {pid} died with code (\d+)$", self.log()))
            self.assertTrue(m, self.tail())
            status[what] = int(m.group(1))
        self.assertEqual(status, {w: 0 for w in how})

    def test_stls_refused_on_implicit_port(self):
        c = Conn(self.port, tls=True)
        self.assertEqual(c.line(), b"+OK POP3 server ready")
        self.assertEqual(c.cmd("STLS"), b"-ERR TLS already active")
        self.assertEqual(c.cmd("QUIT"), b"+OK Bye")
        c.close()

    def test_no_session_tickets(self):
        """Every connection is a new process and the session cache is off
        (pop3/tls.c): a TLS 1.3 ticket could never be used to resume."""
        ctx = client_context()
        c = Conn(self.port, tls=ctx)
        self.assertTrue(c.line().startswith(b"+OK"))
        c.capa()                    # tickets come after the handshake
        self.assertEqual(c.sock.version(), "TLSv1.3")
        session = c.sock.session
        c.cmd("QUIT")
        c.close()
        # Offering the session again falls back to a full handshake.
        s = ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", self.port), WAIT),
            server_hostname="localhost", session=session)
        self.assertTrue(s.recv(512).startswith(b"+OK"))
        self.assertFalse(s.session_reused)
        s.close()
        self.assertFalse(session.has_ticket,
                         "pop3d sent a TLS 1.3 session ticket")

    def test_auth_plain_over_implicit_tls(self):
        user, pw, _ = self.new_user(MESSAGES[:1])
        c = Conn(self.port, tls=True)
        c.line()
        token = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
        self.assertTrue(c.cmd(f"AUTH PLAIN {token}").startswith(
            b"+OK Logged in, 1 messages"))
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        c.close()
        got = self.connection_lines(c.port, r"logout user=")
        self.assertTrue(any("method=PLAIN" in ln and " tls=TLSv1.3/" in ln
                            for ln in got), got)

    def test_openssl_s_client(self):
        user, pw, _ = self.new_user(MESSAGES[:1])
        r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}",
                 "-quiet", "-CAfile", CA.ca, "-verify_return_error",
                 "-verify_ip", "127.0.0.1"],
                input=f"USER {user}\r\nPASS {pw}\r\nRETR 1\r\nQUIT\r\n"
                .encode())
        self.assertEqual(r.returncode, 0, r.stderr.decode() + self.tail())
        self.assertTrue(r.stdout.startswith(b"+OK POP3 server ready\r\n"),
                        r.stdout)
        self.assertIn(b"+OK %d octets\r\n" % len(wire(MESSAGES[0]))
                      + wire(MESSAGES[0]).replace(b"\r\n.", b"\r\n..")
                      + b".\r\n+OK Logging out", r.stdout)

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_pop3s(self):
        user, pw, _ = self.new_user()
        url = f"pop3s://{user}:{pw}@127.0.0.1:{self.port}/"
        for i, m in enumerate(MESSAGES):
            r = run(["curl", "-sS", "--max-time", str(CLIENT_TIMEOUT),
                     "--cacert", CA.ca, url + str(i + 1)])
            self.assertEqual(r.returncode, 0,
                             r.stderr.decode(errors="replace") + self.tail())
            self.assertEqual(r.stdout, wire(m), f"message {i + 1}")

    @unittest.skipUnless(pop3test.have("fetchmail"), "fetchmail not installed")
    def test_fetchmail_ssl(self):
        user, pw, _ = self.new_user()
        r, got = fetchmail(self.host, self.port, user, pw, "ssl sslcertck")
        assert_fetched(self, r, got, MESSAGES)
        self.assertRegex(self.log(), rf"login user={user} method=\w+ "
                         r"remote=\S+ tls=TLSv1\.3/")

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_tls_without_starttls(self):
        user, pw, _ = self.new_user()
        r, got = mpop(self.host, self.port, user, pw, "off")
        assert_fetched(self, r, got, MESSAGES)
        self.assertRegex(self.log(), rf"login user={user} method=\w+ "
                         r"remote=\S+ tls=TLSv1\.3/")


class PlaintextPolicy(TLSCase):
    """loopback_secure = no: a loopback client counts as remote, so
    passwords need TLS first, unless plaintext_auth = yes."""

    CONF = {"loopback_secure": "no"}

    def test_capa_before_stls_hides_plaintext_login(self):
        c = Conn(self.port)
        c.line()
        capa = c.capa()
        self.assertIn("STLS", capa)
        self.assertNotIn("USER", capa)
        self.assertFalse([x for x in capa if x.startswith("SASL")], capa)
        c.starttls()
        capa = c.capa()
        self.assertNotIn("STLS", capa)
        self.assertIn("USER", capa)
        self.assertIn("SASL PLAIN LOGIN", capa)
        c.cmd("QUIT")
        c.close()

    def test_user_pass_auth_refused_before_stls(self):
        user, pw, _ = self.new_user(MESSAGES[:1])
        token = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
        c = Conn(self.port)
        c.line()
        for line in (f"USER {user}", f"PASS {pw}", f"AUTH PLAIN {token}",
                     "AUTH PLAIN", "AUTH LOGIN"):
            r = c.cmd(line)
            self.assertRegex(r, REFUSED, line)
        self.assertEqual(c.quiet(), b"")        # AUTH PLAIN: no "+ " asked
        # AUTH alone lists what CAPA's SASL line lists here: nothing.
        self.assertTrue(c.cmd("AUTH").startswith(b"+OK"))
        self.assertEqual(c.line(), b".")
        c.starttls()
        self.assertEqual(c.cmd(f"USER {user}"), b"+OK Send PASS")
        self.assertTrue(c.cmd(f"PASS {pw}").startswith(b"+OK Logged in"))
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        c.close()
        self.assertNotRegex(self.log(), rf"auth failed user={user}\b")
        # AUTH PLAIN after STLS, answering the "+ " prompt.
        c = Conn(self.port)
        c.line()
        c.starttls()
        self.assertEqual(c.cmd("AUTH PLAIN"), b"+ ")
        self.assertTrue(c.cmd(token).startswith(b"+OK Logged in"))
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        c.close()

    def test_plaintext_auth_yes_allows_again(self):
        user, pw, _ = self.new_user(MESSAGES[:1])
        host = pop3test.Mailhost(tls_cert=CA.cert, tls_key=CA.key,
                                 loopback_secure="no", plaintext_auth="yes")
        host.add_user(user, pw)
        launcher = pop3test.Launcher("systemd", host)
        try:
            c = Conn(launcher.port)
            c.line()
            capa = c.capa()
            self.assertIn("USER", capa)
            self.assertIn("SASL PLAIN LOGIN", capa)
            self.assertIn("STLS", capa)
            self.assertTrue(c.cmd("AUTH").startswith(b"+OK"))
            self.assertEqual([c.line() for _ in range(3)],
                             [b"PLAIN", b"LOGIN", b"."])
            self.assertEqual(c.cmd(f"USER {user}"), b"+OK Send PASS")
            self.assertTrue(c.cmd(f"PASS {pw}").startswith(b"+OK Logged in"))
            self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
            c.close()
            self.assertTrue(wait_for(lambda: re.search(
                rf"login user={user} method=USER remote=127\.0\.0\.1:"
                rf"{c.port} messages=", launcher.read_log())),
                launcher.read_log()[-2000:])
        finally:
            launcher.stop()
            bad = pop3test.sanitizer_lines(launcher.read_log())
            host.cleanup()
        self.assertEqual(bad, [])


class HandshakeFailures(TLSCase):
    """A handshake that fails ends the connection with one log line and
    leaves no process behind.  login_timeout is 2 seconds here."""

    CONF = {"login_timeout": "2"}
    UNITS = ("pop3d", "pop3s")

    @property
    def implicit(self):
        return self.launchers["pop3s"].port

    def after_stls(self):
        c = Conn(self.port)
        c.line()
        self.assertEqual(c.cmd("STLS"), b"+OK Begin TLS negotiation")
        return c

    def assert_closed(self, c, within=WAIT):
        """The server closes the connection (maybe after a TLS alert)."""
        deadline = time.monotonic() + within
        c.sock.settimeout(within)
        while time.monotonic() < deadline:
            try:
                if not c.sock.recv(4096):
                    return
            except ConnectionResetError:
                return
        self.fail("the server did not close the connection")

    def test_garbage_after_stls(self):
        c = self.after_stls()
        c.send(b"USER alice\r\nPASS secret\r\n" + b"\x00" * 64)
        self.assert_closed(c)
        c.close()
        self.assert_clean_end(c.port, r"TLS handshake: .*remote=127\.0\.0\.1:")

    def test_garbage_on_implicit_port(self):
        c = Conn(self.implicit)
        c.send(b"USER alice\r\n")
        self.assert_closed(c)
        c.close()
        self.assert_clean_end(c.port, r"TLS handshake: .*remote=127\.0\.0\.1:")
        c = Conn(self.implicit)
        c.send(os.urandom(2048))
        self.assert_closed(c)
        c.close()
        self.assert_clean_end(c.port, r"TLS handshake: .*remote=127\.0\.0\.1:")

    def test_silent_client_on_implicit_port(self):
        c = Conn(self.implicit)
        t0 = time.monotonic()
        self.assert_closed(c, within=2 + WAIT)
        took = time.monotonic() - t0
        c.close()
        self.assertGreater(took, 1.5)
        self.assertLess(took, 2 + WAIT)
        self.assert_clean_end(c.port, r"TLS handshake timed out "
                              r"remote=127\.0\.0\.1:")

    def test_silent_client_after_stls(self):
        c = self.after_stls()
        self.assert_closed(c, within=2 + WAIT)
        c.close()
        self.assert_clean_end(c.port, r"TLS handshake timed out "
                              r"remote=127\.0\.0\.1:")

    def test_silent_after_handshake(self):
        """After the handshake login_timeout still applies, inside TLS."""
        for port in (None, self.implicit):
            with self.subTest(port="stls" if port is None else "implicit"):
                if port is None:
                    c = Conn(self.port)
                    c.line()
                    c.starttls()
                else:
                    c = Conn(port, tls=True)
                    c.line()
                t0 = time.monotonic()
                self.assertEqual(c.line(), b"-ERR Disconnected for inactivity")
                self.assertGreater(time.monotonic() - t0, 1.5)
                try:
                    self.assertIsNone(c.line())
                except (ssl.SSLError, ConnectionResetError):
                    pass
                c.close()
                for launcher in self.launchers.values():
                    self.assertEqual(launcher.wait_idle(), [], self.tail())
                got = self.connection_lines(c.port)
                self.assertEqual(len(got), 2, got)
                self.assertIn("reason=timeout", got[1])

    def test_aborted_handshake(self):
        hello = client_hello()
        self.assertGreater(len(hello), 100)
        for port in (None, self.implicit):
            with self.subTest(port="stls" if port is None else "implicit"):
                c = self.after_stls() if port is None else Conn(port)
                c.send(hello[:len(hello) // 2])
                time.sleep(0.2)
                c.close()
                self.assert_clean_end(c.port, r"TLS handshake: .*"
                                      r"remote=127\.0\.0\.1:")

    def test_bad_key_share_reason_in_words(self):
        """A P-256 key share that is no point of the curve fails in
        OpenSSL's EC code, whose reasons the pre-login process loads only
        to word the error (prelogin/tls.c): the log still says why."""
        ctx = client_context()
        ctx.set_ecdh_curve("prime256v1")
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
        with self.assertRaises(ssl.SSLWantReadError):
            obj.do_handshake()
        hello = bytearray(out.read())
        # key_share (51): P-256 (23), 65 octets, uncompressed (4), x, y
        at = hello.find(b"\x00\x17\x00\x41\x04", hello.find(b"\x00\x33"))
        self.assertGreater(at, 0, "no P-256 key share in the ClientHello")
        hello[at + 5] ^= 0x55       # x changed: no longer on the curve
        for port in (None, self.implicit):
            with self.subTest(port="stls" if port is None else "implicit"):
                c = self.after_stls() if port is None else Conn(port)
                c.send(bytes(hello))
                self.assert_closed(c)
                c.close()
                self.assert_clean_end(c.port, r"TLS handshake: error:\w+:"
                                      r"elliptic curve routines::point is "
                                      r"not on curve remote=127\.0\.0\.1:")

    def test_closed_right_after_stls(self):
        c = self.after_stls()
        c.close()
        self.assert_clean_end(c.port, r"TLS handshake: .*"
                              r"remote=127\.0\.0\.1:")

    def test_tls_1_1_refused(self):
        """Debian's OpenSSL offers TLS 1.0/1.1 only at security level 0;
        pop3d must refuse it at any level (tls_min_version TLSv1.2)."""
        for port in (None, self.implicit):
            with self.subTest(port="stls" if port is None else "implicit"):
                try:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DeprecationWarning)
                        ctx.minimum_version = ssl.TLSVersion.TLSv1
                        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
                    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                except (ssl.SSLError, ValueError) as e:
                    self.skipTest(f"this OpenSSL cannot offer TLS 1.1: {e}")
                c = self.after_stls() if port is None else Conn(port)
                with self.assertRaises(ssl.SSLError) as e:
                    ctx.wrap_socket(c.sock)
                if "NO_PROTOCOLS_AVAILABLE" in str(e.exception) or \
                        "NO_CIPHERS_AVAILABLE" in str(e.exception):
                    self.skipTest(f"this OpenSSL cannot offer TLS 1.1: "
                                  f"{e.exception}")
                self.assertIn("PROTOCOL_VERSION", str(e.exception))
                c.close()
                self.assert_clean_end(c.port, r"TLS handshake: .*(unsupported"
                                      r" protocol|version).* remote=")

    def test_renegotiation_refused(self):
        """openssl s_client asks for a TLS 1.2 renegotiation on "R"; pop3d
        refuses with a no_renegotiation alert (SSL_OP_NO_RENEGOTIATION),
        on which s_client gives up.  No crash, no process left; after
        login the session logs its logout."""
        user, pw, _ = self.new_user(MESSAGES[:1])
        for when in ("before login", "after login"):
            with self.subTest(when=when):
                start = len(self.log())
                s = SClient("-starttls", "pop3", "-connect",
                            f"127.0.0.1:{self.port}", "-tls1_2",
                            "-CAfile", CA.ca)
                try:
                    s.expect(r"^New, TLSv1\.2, Cipher is ")
                    s.send("CAPA\n")
                    s.expect(r"^IMPLEMENTATION ")
                    if when == "after login":
                        s.send(f"USER {user}\nPASS {pw}\n")
                        s.expect(r"^\+OK Logged in")
                    s.send("R\n")
                    s.expect(r"^RENEGOTIATING")
                    s.expect(r"no renegotiation")
                finally:
                    s.finish()
                for launcher in self.launchers.values():
                    self.assertEqual(launcher.wait_idle(), [], self.tail())
                new = [ln for ln in self.log()[start:].splitlines()
                       if ln.startswith("pop3d[")]
                self.assertTrue(new and " connect remote=" in new[0], new)
                self.assertFalse([ln for ln in new if "signal" in ln], new)
                if when == "before login":
                    self.assertLessEqual(len(new), 2, new)
                else:
                    self.assertEqual(len([ln for ln in new if re.search(
                        rf"logout user={user} reason=", ln)]), 1, new)

    def test_key_update_inside_session(self):
        """A TLS 1.3 KeyUpdate (s_client "K", update requested) in the
        middle of a session: the relay answers it and the session goes on."""
        user, pw, _ = self.new_user(MESSAGES[:1])
        s = SClient("-starttls", "pop3", "-connect", f"127.0.0.1:{self.port}",
                    "-tls1_3", "-CAfile", CA.ca)
        try:
            s.expect(r"^New, TLSv1\.3, Cipher is ")
            s.send(f"USER {user}\nPASS {pw}\n")
            s.expect(r"^\+OK Logged in")
            s.send("K\n")
            s.expect(r"^KEYUPDATE")
            s.send("STAT\n")
            s.expect(r"^\+OK 1 \d+")
            # s_client takes a chunk of input starting with K as that
            # command alone, and a line starting with Q as its own quit.
            s.send("K\n")
            s.expect(r"(?s)KEYUPDATE.*KEYUPDATE")
            s.send("NOOP\n")
            s.expect(r"^\+OK\r?$")
            s.send("quit\n")
            s.expect(r"^\+OK Logging out")
        finally:
            rc = s.finish()
        self.assertEqual(rc, 0, s.text()[-2000:])
        self.assertTrue(wait_for(lambda: re.search(
            rf"logout user={user} reason=quit ", self.log())), self.tail())


class ConfigCheck(unittest.TestCase):
    """pop3d -t with TLS keys; and -i without them."""

    def setUp(self):
        self.host = pop3test.Mailhost()

    def tearDown(self):
        self.host.cleanup()

    def check(self, **tls):
        self.host.write_conf(**tls)
        return run([pop3test.POP3D, "-t", "-c", self.host.conf_path])

    def assert_refused(self, r, *words):
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 78, err)
        for w in words:
            self.assertIn(w, err)
        self.assertNotIn(b"configuration OK", r.stdout)

    def test_good_pair(self):
        r = self.check(tls_cert=CA.cert, tls_key=CA.key)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn(f"{self.host.conf_path}: TLS certificate and key OK",
                      out)
        self.assertIn("configuration OK", out)

    def test_mismatched_key(self):
        r = self.check(tls_cert=CA.cert, tls_key=CA.other_key)
        self.assert_refused(r, "tls_key")
        self.assertRegex(r.stderr.decode(), r"mismatch|does not match")

    def test_expired_certificate(self):
        r = self.check(tls_cert=CA.expired_cert, tls_key=CA.expired_key)
        self.assert_refused(r, "tls_cert", "expired")

    def test_missing_files(self):
        missing = os.path.join(self.host.dir, "no-such.pem")
        self.assert_refused(self.check(tls_cert=missing, tls_key=CA.key),
                            "tls_cert " + missing)
        self.assert_refused(self.check(tls_cert=CA.cert, tls_key=missing),
                            "tls_key " + missing)

    def test_openssl_reason_in_words(self):
        """OpenSSL is set up without its table of crypto error reasons
        (auth/tls_context.c); an error loads what it needs, so that pop3d
        -t and a connection's log still say why in words."""
        garbled = os.path.join(self.host.dir, "garbled.pem")
        with open(garbled, "w") as f:
            f.write("not a certificate\n")
        self.assert_refused(self.check(tls_cert=garbled, tls_key=CA.key),
                            "tls_cert " + garbled, "PEM routines",
                            "no start line")
        p = pop3test.Pipe(self.host, args=["-i"])
        rc, log = p.close()
        self.assertEqual(rc, 78, log)
        self.assertIn("PEM routines::no start line", log)
        self.assertNotRegex(log, r"lib\(\d+\)|reason\(\d+\)")

    def test_one_without_the_other(self):
        self.assert_refused(self.check(tls_cert=CA.cert), "tls_key")
        self.host.conf.pop("tls_cert")
        self.assert_refused(self.check(tls_key=CA.key), "tls_cert")

    def test_implicit_tls_needs_a_certificate(self):
        p = pop3test.Pipe(self.host, args=["-i"])
        rc, log = p.close()
        self.assertEqual(rc, 78, log)
        self.assertIn("-i needs tls_cert and tls_key", log)

    @unittest.skipUnless(pop3test.ROOT, "needs root: a key only root reads")
    @unittest.skipUnless(pop3test.have("systemd-socket-activate"),
                         "systemd-socket-activate not installed")
    def test_root_only_key_file(self):
        """The key is read before the pre-login process exists: mode 0600
        owned by root is enough, though that process does the handshake."""
        st = os.stat(CA.key)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        self.host.write_conf(tls_cert=CA.cert, tls_key=CA.key)
        self.host.add_user("keyuser", "pw")
        self.host.deliver("keyuser", MESSAGES[0])
        self.assertEqual(self.check().returncode, 0)
        for unit in ("pop3d", "pop3s"):
            launcher = pop3test.Launcher("systemd", self.host, unit=unit)
            try:
                if unit == "pop3s":
                    c = poplib.POP3_SSL("127.0.0.1", launcher.port,
                                        context=client_context(),
                                        timeout=WAIT)
                else:
                    c = poplib.POP3("127.0.0.1", launcher.port, timeout=WAIT)
                    c.stls(client_context())
                c.user("keyuser")
                c.pass_("pw")
                self.assertEqual(c.retr(1)[1], lines_of(MESSAGES[0]))
                c.quit()
            finally:
                launcher.stop()
            self.assertEqual(pop3test.sanitizer_lines(launcher.read_log()), [])


if __name__ == "__main__":
    pop3test.main()
