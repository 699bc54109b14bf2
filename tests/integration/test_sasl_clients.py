#!/usr/bin/env python3
"""AUTH LOGIN and SCRAM with real clients, behind systemd-socket-activate on
127.0.0.1: mpop (GNU SASL: SCRAM-SHA-256, SCRAM-SHA-256-PLUS over STLS and
implicit TLS, LOGIN, PLAIN), curl (LOGIN, PLAIN), fetchmail (auth password);
and Python over STLS for what no client sends: the channel binding
downgrade, tls-server-end-point, a -PLUS proof for the wrong channel."""
import base64
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sasl import Scram, b64  # noqa: E402

CLIENT_TIMEOUT = 30
CA = None
MESSAGE = b"From: a@example.org\nSubject: one\n\nHello\n"


def setUpModule():
    global CA
    if not pop3test.have("openssl"):
        raise unittest.SkipTest("openssl not installed")
    if not pop3test.have("systemd-socket-activate"):
        raise unittest.SkipTest("systemd-socket-activate not installed")
    CA = pop3test.TestCA()


def tearDownModule():
    if CA is not None:
        CA.cleanup()


def run(argv, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(argv, env=e, capture_output=True,
                          timeout=CLIENT_TIMEOUT)


class Conn:
    """A line-oriented POP3 connection that can start TLS."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=pop3test.WAIT)
        if tls:
            self.start_tls()
        self.f = self.sock.makefile("rb")

    def start_tls(self):
        ctx = ssl.create_default_context(cafile=CA.ca)
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")

    def line(self):
        return self.f.readline().rstrip(b"\r\n")

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def multi(self):
        out = []
        while (l := self.line()) != b".":
            out.append(l)
        return out

    def close(self):
        self.sock.close()


class SaslClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(tls_cert=CA.cert, tls_key=CA.key)
        cls.launchers = {}
        try:
            for unit in ("pop3d", "pop3s"):
                cls.launchers[unit] = pop3test.Launcher("systemd", cls.host,
                                                        unit=unit)
        except BaseException:
            cls.stop_all()
            raise
        cls.port = cls.launchers["pop3d"].port
        cls.tls_port = cls.launchers["pop3s"].port

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
            raise AssertionError("sanitizer output:\n" + "\n".join(bad[:20]))

    counter = 0

    def setUp(self):
        SaslClients.counter += 1
        self.user = f"s{SaslClients.counter}"
        self.password = f"pw-{SaslClients.counter}"
        self.host.add_user(self.user, self.password, scheme="SCRAM-SHA-256")
        self.host.deliver(self.user, MESSAGE)
        self.tmp = tempfile.mkdtemp(prefix="sasl-", dir=self.host.dir)

    def log(self):
        return "".join(l.read_log() for l in self.launchers.values())

    def assert_method(self, method):
        self.assert_logged(f"auth ok user={self.user} method={method} ")

    def assert_logged(self, want):
        """Log lines come through the log relay: wait for it."""
        deadline = time.monotonic() + pop3test.WAIT
        while want not in self.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn(want, self.log())

    # -- mpop ------------------------------------------------------------

    def mpop(self, auth, tls="off", starttls="on", port=None):
        home = os.path.join(self.tmp, "mpop")
        md = os.path.join(home, "md")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        rc = os.path.join(home, "mpoprc")
        with open(rc, "w") as f:
            f.write("account default\nhost localhost\n"
                    f"port {port or self.port}\nuser {self.user}\n"
                    f"password {self.password}\ntls {tls}\n"
                    f"tls_starttls {starttls}\ntls_trust_file {CA.ca}\n"
                    f"auth {auth}\nreceived_header off\nkeep on\n"
                    f"timeout {CLIENT_TIMEOUT}\ndelivery maildir {md}\n"
                    f"uidls_file {home}/uidls\n")
        os.chmod(rc, 0o600)
        r = run(["mpop", "-C", rc], env={"HOME": home})
        got = os.listdir(os.path.join(md, "new"))
        text = (r.stdout + r.stderr).decode(errors="replace")
        self.assertEqual(r.returncode, 0, text + self.log()[-3000:])
        self.assertEqual(len(got), 1, text)
        return text

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_scram_sha256(self):
        os.makedirs(os.path.join(self.tmp, "mpop"), mode=0o700)
        self.mpop("scram-sha-256")
        self.assert_method("SCRAM-SHA-256")

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_scram_sha256_stls(self):
        os.makedirs(os.path.join(self.tmp, "mpop"), mode=0o700)
        self.mpop("scram-sha-256", tls="on")
        self.assert_method("SCRAM-SHA-256")

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_scram_sha256_implicit(self):
        os.makedirs(os.path.join(self.tmp, "mpop"), mode=0o700)
        self.mpop("scram-sha-256", tls="on", starttls="off",
                  port=self.tls_port)
        self.assert_method("SCRAM-SHA-256")

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_login(self):
        os.makedirs(os.path.join(self.tmp, "mpop"), mode=0o700)
        self.mpop("login")
        self.assert_method("LOGIN")

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_plain_with_scram_verifier(self):
        os.makedirs(os.path.join(self.tmp, "mpop"), mode=0o700)
        self.mpop("plain", tls="on")
        self.assert_method("PLAIN")

    @unittest.skipUnless(pop3test.have("mpop"), "mpop not installed")
    def test_mpop_wrong_password_scram(self):
        os.makedirs(os.path.join(self.tmp, "mpop"), mode=0o700)
        self.password = "wrong"
        with self.assertRaises(AssertionError):
            self.mpop("scram-sha-256")
        self.assert_logged(f"auth failed user={self.user} "
                           "method=SCRAM-SHA-256 ")

    # -- curl -------------------------------------------------------------

    @unittest.skipUnless(pop3test.have("curl"), "curl not installed")
    def test_curl_login_and_plain(self):
        for mech in ("LOGIN", "PLAIN"):
            url = f"pop3://{self.user}:{self.password}@127.0.0.1:{self.port}/1"
            r = run(["curl", "-sS", "--max-time", str(CLIENT_TIMEOUT),
                     "--login-options", f"AUTH={mech}", url])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"Hello", r.stdout)
            self.assert_method(mech)

    # -- fetchmail ----------------------------------------------------------

    @unittest.skipUnless(pop3test.have("fetchmail"), "fetchmail not installed")
    def test_fetchmail_auth_password(self):
        home = os.path.join(self.tmp, "fm")
        os.makedirs(home, mode=0o700)
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no syslog\n"
                    f"poll 127.0.0.1 port {self.port} proto pop3 "
                    "auth password\n"
                    f"  user \"{self.user}\" there password \"{self.password}\"\n"
                    f"  keep sslproto '' mda \"cat >/dev/null\"\n")
        os.chmod(rc, 0o600)
        r = run(["fetchmail", "-f", rc, "--nosyslog", "-v",
                 "--pidfile", os.path.join(home, "pid")],
                env={"HOME": home, "FETCHMAILHOME": home})
        text = (r.stdout + r.stderr).decode(errors="replace")
        self.assertEqual(r.returncode, 0, text)
        self.assertRegex(self.log(), f"auth ok user={self.user} "
                         "method=(LOGIN|PLAIN|USER) ")

    # -- Python over STLS ---------------------------------------------------

    def stls(self):
        c = Conn(self.port)
        self.assertTrue(c.line().startswith(b"+OK"))
        self.assertTrue(c.cmd("CAPA").startswith(b"+OK"))
        before = c.multi()
        self.assertTrue(c.cmd("STLS").startswith(b"+OK"))
        c.start_tls()
        self.assertTrue(c.cmd("CAPA").startswith(b"+OK"))
        after = c.multi()
        return c, before, after

    def test_plus_listed_over_tls_only(self):
        c, before, after = self.stls()
        # Only SCRAM-SHA-256 verifiers in this users file: no SCRAM-SHA-1.
        self.assertIn(b"SASL SCRAM-SHA-256 PLAIN LOGIN", before)
        self.assertIn(b"SASL SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN",
                      after)
        c.close()

    def test_downgrade_refused(self):
        c, _, _ = self.stls()
        s = Scram(self.user, self.password, gs2="y,,")
        self.assertEqual(c.cmd(f"AUTH SCRAM-SHA-256 {s.first()}"),
                         b"-ERR [AUTH] Channel binding downgrade refused")
        # Over plaintext, where no -PLUS is offered, 'y' is fine.
        p = Conn(self.port)
        p.line()
        s = Scram(self.user, self.password, gs2="y,,")
        r = p.cmd(f"AUTH SCRAM-SHA-256 {s.first()}")
        r = p.cmd(s.final(r[2:].decode()))
        self.assertTrue(r.startswith(b"+ "), r)
        self.assertTrue(p.cmd("").startswith(b"+OK"))
        c.close()
        p.close()

    def plus(self, c, cbind, gs2="p=tls-server-end-point,,"):
        s = Scram(self.user, self.password, gs2=gs2, cbind=cbind)
        r = c.cmd(f"AUTH SCRAM-SHA-256-PLUS {s.first()}")
        self.assertTrue(r.startswith(b"+ "), r)
        r = c.cmd(s.final(r[2:].decode()))
        if r.startswith(b"+ "):
            self.assertEqual(base64.b64decode(r[2:]).decode(), "v=" + s.want_v)
            r = c.cmd("")
        return r

    def test_plus_tls_server_end_point(self):
        c, _, _ = self.stls()
        der = c.sock.getpeercert(binary_form=True)
        # The test CA signs with SHA-256: RFC 5929's hash is SHA-256.
        good = hashlib.sha256(der).digest()
        self.assertEqual(self.plus(c, b"\0" * 32),
                         b"-ERR [AUTH] Authentication failed")
        self.assertTrue(self.plus(c, good).startswith(b"+OK"))
        c.close()
        self.assert_method("SCRAM-SHA-256-PLUS")

    def s_client(self, starttls=True):
        """openssl s_client, which prints the tls-exporter value (RFC 9266):
        Python's ssl cannot export keying material."""
        port = self.port if starttls else self.tls_port
        argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                "-CAfile", CA.ca, "-servername", "localhost", "-ign_eof",
                "-keymatexport", "EXPORTER-Channel-Binding",
                "-keymatexportlen", "32"]
        if starttls:
            argv += ["-starttls", "pop3"]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait(), p.stdout.close(),
                                 p.stdin.close()))
        key = None
        while True:
            line = p.stdout.readline()
            self.assertNotEqual(line, b"", "s_client ended")
            if b"Keying material:" in line:
                key = bytes.fromhex(line.split(b":", 1)[1].strip().decode())
            if line.startswith(b"+OK") or (starttls and line.startswith(b"---")
                                           and key is not None):
                break
        return p, key

    @unittest.skipUnless(pop3test.have("openssl"), "openssl not installed")
    def test_plus_tls_exporter_openssl(self):
        for starttls in (True, False):
            p, key = self.s_client(starttls)
            self.assertEqual(len(key), 32)
            s = Scram(self.user, self.password, gs2="p=tls-exporter,,",
                      cbind=key)

            def cmd(text):
                p.stdin.write(text.encode() + b"\r\n")
                p.stdin.flush()
                while True:
                    line = p.stdout.readline()
                    self.assertNotEqual(line, b"", "s_client ended")
                    if line[:1] in (b"+", b"-"):
                        return line.rstrip(b"\r\n")
            # Another channel's binding: the proof fails.
            w = Scram(self.user, self.password, gs2="p=tls-exporter,,",
                      cbind=bytes(32))
            r = cmd(f"AUTH SCRAM-SHA-256-PLUS {w.first()}")
            self.assertEqual(cmd(w.final(r[2:].decode())),
                             b"-ERR [AUTH] Authentication failed")
            r = cmd(f"AUTH SCRAM-SHA-256-PLUS {s.first()}")
            self.assertTrue(r.startswith(b"+ "), r)
            r = cmd(s.final(r[2:].decode()))
            self.assertTrue(r.startswith(b"+ "), r)
            self.assertEqual(base64.b64decode(r[2:]).decode(), "v=" + s.want_v)
            self.assertTrue(cmd("").startswith(b"+OK"))
            self.assertTrue(cmd("QUIT").startswith(b"+OK"))
        self.assert_method("SCRAM-SHA-256-PLUS")

    def test_plus_needs_channel_binding_flag(self):
        c, _, _ = self.stls()
        s = Scram(self.user, self.password)
        self.assertEqual(c.cmd(f"AUTH SCRAM-SHA-256-PLUS {s.first()}"),
                         b"-ERR Malformed SCRAM message")
        c.close()


if __name__ == "__main__":
    pop3test.main()
