#!/usr/bin/env python3
"""Real POP3 clients against pop3d behind real launchers on 127.0.0.1.

For each launcher kind (systemd-socket-activate --inetd -a, tcpserver):
Python's poplib, curl, fetchmail and mpop fetch the same set of messages
and every message must arrive exactly once and byte for byte.

What each client hands over, for a message file F in the Maildir:
  on the wire   F with every bare LF made CRLF and a final CRLF added when
                F does not end with one (LIST counts exactly these octets);
  poplib        the lines of that, un-stuffed, CRLF removed;
  curl          that, un-stuffed, with CRLF line ends;
  fetchmail     that with LF line ends (mda delivery, "invisible" and
                "no rewrite": no Received: header, no header rewriting);
  mpop          that with LF line ends (received_header off).
"""
import os
import poplib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

CLIENT_TIMEOUT = 30     # seconds any one client run may take


def big_message():
    """About 100 KB: many lines, some starting with dots, 8-bit octets."""
    lines = [b"From: big@example.org", b"To: you@example.org",
             b"Subject: big", b"MIME-Version: 1.0",
             b"Content-Type: text/plain; charset=iso-8859-1",
             b"Content-Transfer-Encoding: 8bit", b""]
    for i in range(1500):
        if i % 7 == 0:
            lines.append(b"." * (i % 3 + 1) + b" dotted line %d" % i)
        elif i % 11 == 0:
            lines.append(b"")
        else:
            lines.append(b"line %05d \xe4\xf6\xfc\xdf " % i + b"x" * (i % 60))
    return b"\n".join(lines) + b"\n"


MESSAGES = [
    # LF line ends, dot-stuffing cases, a lone "." line.
    b"From: a@example.org\nTo: b@example.org\nSubject: one\n\n"
    b"Hello\n.dotline\n..two dots\n.\n. space\nend\n",
    # No final line end.
    b"From: a@example.org\nSubject: two\n\nno final newline",
    # CRLF line ends already.
    b"From: a@example.org\r\nSubject: three\r\n\r\ncrlf body\r\n.\r\nlast\r\n",
    # Headers only, empty body.
    b"From: a@example.org\nSubject: four\n\n",
    big_message(),
]


def wire(data):
    """The un-stuffed octets pop3d sends for a message file."""
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


def lf(data):
    return wire(data).replace(b"\r\n", b"\n")


def run(argv, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(argv, env=e, capture_output=True,
                          timeout=CLIENT_TIMEOUT, **kw)


class ClientTests:
    """Mixed into one TestCase per launcher kind (KIND)."""

    KIND = None
    counter = 0

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost()
        cls.launcher = pop3test.Launcher(cls.KIND, cls.host)
        cls.port = cls.launcher.port

    @classmethod
    def tearDownClass(cls):
        cls.launcher.stop()
        bad = pop3test.sanitizer_lines(cls.launcher.read_log())
        cls.host.cleanup()
        if bad:
            raise AssertionError("sanitizer output in the launcher log:\n"
                                 + "\n".join(bad[:20]))

    def setUp(self):
        ClientTests.counter += 1
        self.user = f"u{ClientTests.counter}"
        self.password = f"pw-{ClientTests.counter}-secret"
        self.host.add_user(self.user, self.password)
        self.names = [self.host.deliver(self.user, m) for m in MESSAGES]
        self.tmp = tempfile.mkdtemp(prefix="client-", dir=self.host.dir)

    def deliver(self, data):
        self.names.append(self.host.deliver(self.user, data))
        return len(self.names) - 1

    def on_disk(self):
        """Base names (UIDLs) of the messages in new/ and cur/."""
        return sorted(f.split("/", 1)[1].split(":", 1)[0]
                      for f in self.host.files(self.user))

    def log(self):
        return "\n--- launcher log ---\n" + self.launcher.read_log()[-4000:]

    def pop(self):
        c = poplib.POP3("127.0.0.1", self.port, timeout=pop3test.WAIT)
        c.user(self.user)
        c.pass_(self.password)
        return c

    # -- Python poplib --------------------------------------------------

    def test_poplib_retrieve(self):
        c = self.pop()
        self.assertEqual(c.stat(), (len(MESSAGES),
                                    sum(len(wire(m)) for m in MESSAGES)))
        resp, listing, _ = c.list()
        self.assertTrue(resp.startswith(b"+OK"), resp)
        self.assertEqual(listing, [b"%d %d" % (i + 1, len(wire(m)))
                                   for i, m in enumerate(MESSAGES)])
        resp, uidls, _ = c.uidl()
        self.assertEqual(uidls, [b"%d %s" % (i + 1, n.encode())
                                 for i, n in enumerate(self.names)])
        for i, m in enumerate(MESSAGES):
            resp, lines, octets = c.retr(i + 1)
            self.assertEqual(resp, b"+OK %d octets" % len(wire(m)))
            self.assertEqual(lines, wire(m).split(b"\r\n")[:-1], f"message {i + 1}")
            self.assertEqual(octets, len(wire(m)), f"message {i + 1}")
            self.assertEqual(c.list(i + 1), b"+OK %d %d" % (i + 1, len(wire(m))))
            if b"\r" not in m and m.endswith(b"\n"):
                self.assertEqual(b"\n".join(lines) + b"\n", m)
        # TOP n 0: the header and the blank line; TOP n 2: two body lines.
        head = wire(MESSAGES[0]).split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        self.assertEqual(c.top(1, 0)[1], head + [b""])
        self.assertEqual(c.top(1, 2)[1], head + [b"", b"Hello", b".dotline"])
        self.assertEqual(c.quit(), b"+OK Logging out, 0 messages deleted")
        self.assertEqual(self.on_disk(), sorted(self.names))

    def test_poplib_dele_quit(self):
        c = self.pop()
        c.dele(1)
        c.dele(3)
        with self.assertRaises(poplib.error_proto) as e:
            c.retr(1)
        self.assertIn(b"deleted", e.exception.args[0])
        self.assertEqual(c.stat()[0], len(MESSAGES) - 2)
        self.assertEqual(c.quit(), b"+OK Logging out, 2 messages deleted")
        left = [n for i, n in enumerate(self.names) if i not in (0, 2)]
        self.assertEqual(self.on_disk(), sorted(left))
        c = self.pop()
        self.assertEqual([u.split()[1].decode() for u in c.uidl()[1]], left)
        self.assertEqual(c.retr(1)[1], wire(MESSAGES[1]).split(b"\r\n")[:-1])
        c.quit()

    def test_poplib_rset_and_drop(self):
        c = self.pop()
        for i in range(len(MESSAGES)):
            c.dele(i + 1)
        self.assertEqual(c.stat(), (0, 0))
        self.assertTrue(c.rset().startswith(b"+OK %d messages" % len(MESSAGES)))
        self.assertEqual(c.stat()[0], len(MESSAGES))
        c.quit()
        self.assertEqual(self.on_disk(), sorted(self.names))
        # DELE then a dropped connection: nothing is deleted.
        c = self.pop()
        c.dele(1)
        c.close()
        c = self.pop()          # also proves the maildrop lock was released
        self.assertEqual(c.stat()[0], len(MESSAGES))
        c.quit()
        self.assertEqual(self.on_disk(), sorted(self.names))

    def test_poplib_wrong_password(self):
        c = poplib.POP3("127.0.0.1", self.port, timeout=pop3test.WAIT)
        c.user(self.user)
        with self.assertRaises(poplib.error_proto) as e:
            c.pass_("not-" + self.password)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"),
                        e.exception.args)
        c.close()
        self.assertEqual(self.on_disk(), sorted(self.names))

    # -- curl -------------------------------------------------------------

    def curl(self, path="", *args, password=None):
        pw = self.password if password is None else password
        url = f"pop3://{self.user}:{pw}@127.0.0.1:{self.port}/{path}"
        return run(["curl", "-sS", "--max-time", str(CLIENT_TIMEOUT),
                    *args, url])

    def assert_curl(self, r):
        self.assertEqual(r.returncode, 0,
                         f"curl: {r.stderr.decode(errors='replace')}{self.log()}")
        return r.stdout

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_list(self):
        out = self.assert_curl(self.curl())
        self.assertEqual(out, b"".join(b"%d %d\r\n" % (i + 1, len(wire(m)))
                                       for i, m in enumerate(MESSAGES)))
        out = self.assert_curl(self.curl("", "-l"))
        self.assertEqual(out, b"".join(b"%d %d\r\n" % (i + 1, len(wire(m)))
                                       for i, m in enumerate(MESSAGES)))
        out = self.assert_curl(self.curl("", "-X", "LIST 2", "-I"))
        self.assertEqual(out, b"")      # single-line reply: no body
        self.assertEqual(self.on_disk(), sorted(self.names))

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_retr(self):
        for i, m in enumerate(MESSAGES):
            out = self.assert_curl(self.curl(str(i + 1)))
            self.assertEqual(out, wire(m), f"message {i + 1}")
        self.assertEqual(self.on_disk(), sorted(self.names))

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_uidl_top(self):
        out = self.assert_curl(self.curl("", "-X", "UIDL"))
        self.assertEqual(out, b"".join(b"%d %s\r\n" % (i + 1, n.encode())
                                       for i, n in enumerate(self.names)))
        out = self.assert_curl(self.curl("", "-X", "TOP 1 0"))
        self.assertEqual(out, wire(MESSAGES[0]).split(b"\r\n\r\n", 1)[0]
                         + b"\r\n\r\n")
        out = self.assert_curl(self.curl("", "-X", "TOP 3 1"))
        self.assertEqual(out, wire(MESSAGES[2]).split(b"\r\n\r\n", 1)[0]
                         + b"\r\n\r\ncrlf body\r\n")

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_dele(self):
        self.assert_curl(self.curl("2", "-X", "DELE", "-I"))
        left = [n for i, n in enumerate(self.names) if i != 1]
        self.assertEqual(self.on_disk(), sorted(left))

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_wrong_password(self):
        r = self.curl("", password="wrong")
        self.assertEqual(r.returncode, 67, r)     # CURLE_LOGIN_DENIED
        self.assertEqual(r.stdout, b"")

    # -- fetchmail ----------------------------------------------------------

    MDA = ("import os, sys, time\n"
           "data = sys.stdin.buffer.read()\n"
           "name = os.path.join(sys.argv[1], '%d.%d' % (time.time_ns(), os.getpid()))\n"
           "with open(name + '.tmp', 'wb') as f:\n"
           "    f.write(data)\n"
           "os.rename(name + '.tmp', name)\n")

    def fetchmail(self, keep, tag):
        home = os.path.join(self.tmp, "fetchmail")
        out = os.path.join(home, "out-" + tag)
        os.makedirs(out)
        mda = os.path.join(home, "mda.py")
        with open(mda, "w") as f:
            f.write(self.MDA)
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no syslog\n"
                    "set invisible\n"
                    f"set idfile \"{home}/fetchids\"\n"
                    f"poll 127.0.0.1 port {self.port} proto pop3 uidl\n"
                    f"  user \"{self.user}\" there password \"{self.password}\"\n"
                    f"  {'keep' if keep else 'nokeep'} no rewrite sslproto ''\n"
                    f"  mda \"{sys.executable} {mda} {out}\"\n")
        os.chmod(rc, 0o600)
        # --pidfile: as root the lock is global (/var/run) by default.
        r = run(["fetchmail", "-f", rc, "--nosyslog", "-v",
                 "--pidfile", os.path.join(home, "fetchmail.pid")],
                env={"HOME": home, "FETCHMAILHOME": home})
        got = [open(os.path.join(out, n), "rb").read()
               for n in sorted(os.listdir(out), key=lambda n: int(n.split(".")[0]))]
        return r, got

    def assert_fetched(self, r, got, want, rc=0):
        text = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, rc, text + self.log())
        self.assertEqual(len(got), len(want), text)
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertEqual(g, lf(w), f"message {i + 1}")

    def setup_fetchmail_home(self):
        os.makedirs(os.path.join(self.tmp, "fetchmail"), mode=0o700)

    @unittest.skipUnless(pop3test.have("fetchmail"), "fetchmail not installed")
    def test_fetchmail_keep_uidl(self):
        self.setup_fetchmail_home()
        r, got = self.fetchmail(True, "1")
        self.assert_fetched(r, got, MESSAGES)
        self.assertEqual(self.on_disk(), sorted(self.names))
        # Everything is known by UIDL now: nothing new (exit status 1).
        r, got = self.fetchmail(True, "2")
        self.assert_fetched(r, got, [], rc=1)
        # One new message: only that one.
        new = b"From: c@example.org\nSubject: new\n\n.\n..\nnew body\n"
        self.deliver(new)
        r, got = self.fetchmail(True, "3")
        self.assert_fetched(r, got, [new])
        self.assertEqual(self.on_disk(), sorted(self.names))

    @unittest.skipUnless(pop3test.have("fetchmail"), "fetchmail not installed")
    def test_fetchmail_nokeep(self):
        self.setup_fetchmail_home()
        r, got = self.fetchmail(False, "1")
        self.assert_fetched(r, got, MESSAGES)
        self.assertEqual(self.on_disk(), [])
        r, got = self.fetchmail(False, "2")
        self.assert_fetched(r, got, [], rc=1)

    # -- mpop -----------------------------------------------------------------

    def mpop(self, *args, auth="user", keep=True, tag="1"):
        home = os.path.join(self.tmp, "mpop")
        md = os.path.join(home, "maildir-" + tag)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        rc = os.path.join(home, "mpoprc")
        with open(rc, "w") as f:
            f.write("account default\n"
                    "host 127.0.0.1\n"
                    f"port {self.port}\n"
                    f"user {self.user}\n"
                    f"password {self.password}\n"
                    "tls off\n"
                    f"auth {auth}\n"
                    "received_header off\n"
                    f"keep {'on' if keep else 'off'}\n"
                    f"timeout {CLIENT_TIMEOUT}\n"
                    f"delivery maildir {md}\n"
                    f"uidls_file {home}/uidls\n")
        os.chmod(rc, 0o600)
        r = run(["mpop", "-C", rc, *args], env={"HOME": home})
        # Maildir names start with the delivery time and mpop's counter Q.
        names = os.listdir(os.path.join(md, "new"))
        names.sort(key=lambda n: (n.split(".")[0], int(n.split("Q")[1].split(".")[0])))
        got = [open(os.path.join(md, "new", n), "rb").read() for n in names]
        return r, got

    def setup_mpop_home(self):
        os.makedirs(os.path.join(self.tmp, "mpop"), mode=0o700)

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_user_keep(self):
        self.setup_mpop_home()
        r, got = self.mpop(auth="user", keep=True, tag="1")
        self.assert_fetched(r, got, MESSAGES)
        self.assertEqual(self.on_disk(), sorted(self.names))
        r, got = self.mpop(auth="user", keep=True, tag="2")
        self.assert_fetched(r, got, [])
        new = b"Subject: new\n\n.\nnew body"
        self.deliver(new)
        r, got = self.mpop(auth="user", keep=True, tag="3")
        self.assert_fetched(r, got, [new])
        self.assertEqual(self.on_disk(), sorted(self.names))

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_plain_nokeep(self):
        self.setup_mpop_home()
        r, got = self.mpop(auth="plain", keep=False, tag="1")
        self.assert_fetched(r, got, MESSAGES)
        self.assertEqual(self.on_disk(), [])
        self.assertIn(f"method=PLAIN remote=127.0.0.1:", self.launcher.read_log())

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_serverinfo(self):
        self.setup_mpop_home()
        r, _ = self.mpop("--serverinfo", auth="user")
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        for want in ("POP3 server ready", "TOP:", "UIDL:", "PIPELINING:",
                     "RESP-CODES:", "AUTH-RESP-CODE:", "IMPLEMENTATION:",
                     "USER PLAIN"):
            self.assertIn(want, out)
        self.assertEqual(self.on_disk(), sorted(self.names))

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_wrong_password(self):
        self.setup_mpop_home()
        self.password = "wrong"
        r, got = self.mpop(auth="plain")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("authentication failed", r.stderr.decode(errors="replace").lower())
        self.assertEqual(got, [])


@unittest.skipUnless(pop3test.have("systemd-socket-activate"),
                     "systemd-socket-activate not installed")
class Systemd(ClientTests, unittest.TestCase):
    KIND = "systemd"


@unittest.skipUnless(pop3test.have("tcpserver"), "tcpserver not installed")
class Tcpserver(ClientTests, unittest.TestCase):
    KIND = "tcpserver"


if __name__ == "__main__":
    pop3test.main()
