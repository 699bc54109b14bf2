#!/usr/bin/env python3
"""TLS behind the other launchers, each set up from its file in systemd/.

  stunnel    stunnel-pop3d.conf: stunnel does the TLS, pop3d runs with
             tls_wrapper = yes and loopback_secure = no, so only the
             wrapper setting makes the link count as secured.  stdin is a
             socketpair: the address in the log can only come from
             stunnel's REMOTE_HOST and REMOTE_PORT.
  xinetd     xinetd.pop3d: STLS by pop3d; REMOTE_HOST, no port.
  tcpserver  tcpserver.run: STLS by pop3d; TCPREMOTEIP and TCPREMOTEPORT.

(systemd socket activation with STLS and with implicit TLS is in
test_tls.py.)
"""
import os
import poplib
import re
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

WAIT = pop3test.WAIT
CA = None

MESSAGES = [
    b"From: a@example.org\nSubject: one\n\nHello\n.dotline\n..two dots\n.\n",
    b"Subject: two\n\n" + b"".join(b"%sline %d\n" % (b"." * (i % 2), i)
                                   for i in range(2000)),
]


def setUpModule():
    global CA
    if not pop3test.have("openssl"):
        raise unittest.SkipTest("openssl not installed")
    CA = pop3test.TestCA()


def tearDownModule():
    if CA is not None:
        CA.cleanup()


def wire(data):
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
    return wire(data).split(b"\r\n")[:-1]


def client_context():
    return ssl.create_default_context(cafile=CA.ca)


def wait_for(pred, timeout=WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


class LauncherCase(unittest.TestCase):
    KIND = None
    CONF = {}
    counter = 0

    @classmethod
    def setUpClass(cls):
        if not pop3test.have(pop3test.Launcher.PROGRAM[cls.KIND]):
            raise unittest.SkipTest(f"{cls.KIND} not installed")
        cls.host = pop3test.Mailhost(**cls.CONF)
        try:
            cls.launcher = cls.start()
        except BaseException:
            cls.host.cleanup()
            raise

    @classmethod
    def start(cls):
        return pop3test.Launcher(cls.KIND, cls.host)

    @classmethod
    def tearDownClass(cls):
        cls.launcher.stop()
        bad = pop3test.sanitizer_lines(cls.launcher.read_log())
        cls.host.cleanup()
        if bad:
            raise AssertionError("sanitizer output in the launcher log:\n"
                                 + "\n".join(bad[:20]))

    def new_user(self):
        LauncherCase.counter += 1
        user = f"{self.KIND[0]}{LauncherCase.counter}"
        pw = f"pw-{LauncherCase.counter}"
        self.host.add_user(user, pw)
        for m in MESSAGES:
            self.host.deliver(user, m)
        return user, pw

    def log(self):
        return self.launcher.read_log()

    def tail(self):
        return "\n--- launcher log ---\n" + self.log()[-3000:]

    def expected_remote(self, port):
        return f"127.0.0.1:{port}"

    def session_lines(self, user):
        """The auth ok, login and logout lines of user's one session."""
        pat = re.compile(rf"^pop3d\[\d+\]: (auth ok|login|logout) "
                         rf"user={user} .*$", re.M)
        wait_for(lambda: len(pat.findall(self.log())) >= 3)
        return [m.group(0) for m in pat.finditer(self.log())]

    def retrieve(self, c, user, pw):
        c.user(user)
        c.pass_(pw)
        self.assertEqual(c.stat(), (len(MESSAGES),
                                    sum(len(wire(m)) for m in MESSAGES)))
        for i, m in enumerate(MESSAGES):
            self.assertEqual(c.retr(i + 1)[1], lines_of(m), f"message {i + 1}")
        self.assertEqual(c.quit(), b"+OK Logging out, 0 messages deleted")


class StlsLauncherTests:
    """Mixed into one TestCase per launcher kind: pop3d does STLS."""

    @classmethod
    def setUpClass(cls):
        cls.CONF = {"tls_cert": CA.cert, "tls_key": CA.key}
        super().setUpClass()

    def test_stls_session(self):
        user, pw = self.new_user()
        c = poplib.POP3("127.0.0.1", self.launcher.port, timeout=WAIT)
        port = c.sock.getsockname()[1]
        self.assertIn("STLS", c.capa())
        c.stls(client_context())
        self.assertNotIn("STLS", c.capa())
        self.retrieve(c, user, pw)
        got = self.session_lines(user)
        self.assertEqual(len(got), 3, got)
        for line in got[:2]:                    # logout names no remote
            self.assertRegex(line, rf" remote="
                             rf"{re.escape(self.expected_remote(port))}(\s|$)")
        self.assertRegex(got[1], r" tls=TLSv1\.3/TLS_AES_\w+ messages=2 ")
        self.assertRegex(self.log(), rf"(?m)^pop3d\[\d+\]: connect "
                         rf"remote={re.escape(self.expected_remote(port))}$")

    def test_drop_mid_retr_leaves_no_process(self):
        user, pw = self.new_user()
        s = socket.create_connection(("127.0.0.1", self.launcher.port), WAIT)
        s.recv(512)
        s.sendall(b"STLS\r\n")
        self.assertTrue(s.recv(512).startswith(b"+OK"))
        s = client_context().wrap_socket(s, server_hostname="localhost")
        s.sendall(f"USER {user}\r\nPASS {pw}\r\nRETR 2\r\n".encode())
        got = b""
        while got.count(b"\r\n") < 4:
            got += s.recv(4096)
        s.close()
        left = self.launcher.wait_idle()
        self.assertEqual(left, [], f"left behind: {left}" + self.tail())
        self.assertTrue(wait_for(lambda: re.search(
            rf"logout user={user} reason=", self.log())), self.tail())


@unittest.skipUnless(pop3test.have("xinetd"), "xinetd not installed")
class Xinetd(StlsLauncherTests, LauncherCase):
    KIND = "xinetd"

    def expected_remote(self, port):
        return "127.0.0.1"          # xinetd: REMOTE_HOST, no port


@unittest.skipUnless(pop3test.have("tcpserver"), "tcpserver not installed")
class Tcpserver(StlsLauncherTests, LauncherCase):
    KIND = "tcpserver"


@unittest.skipUnless(pop3test.have("stunnel4"), "stunnel4 not installed")
class Stunnel(LauncherCase):
    """stunnel does the TLS; pop3d is told so by tls_wrapper = yes."""

    KIND = "stunnel"
    CONF = {"tls_wrapper": "yes", "loopback_secure": "no"}

    @classmethod
    def start(cls):
        return pop3test.Launcher("stunnel", cls.host, cert=CA.cert,
                                 key=CA.key)

    def pop(self):
        return poplib.POP3_SSL("127.0.0.1", self.launcher.port,
                               context=client_context(), timeout=WAIT)

    def test_configuration_from_shipped_file(self):
        with open(self.launcher.argv[-1]) as f:
            conf = f.read()
        self.assertIn("sslVersionMin = TLSv1.2", conf)
        self.assertIn(f"accept = 127.0.0.1:{self.launcher.port}", conf)
        self.assertIn(f"cert = {CA.cert}", conf)
        self.assertIn(f"exec = {pop3test.POP3D}", conf)
        self.assertIn(f"execArgs = pop3d -c {self.host.conf_path}", conf)

    def test_wrapper_link_counts_as_secured(self):
        user, pw = self.new_user()
        c = self.pop()
        port = c.sock.getsockname()[1]
        capa = c.capa()
        self.assertIn("USER", capa)
        self.assertIn("SASL", capa)
        self.assertNotIn("STLS", capa)
        self.retrieve(c, user, pw)
        got = self.session_lines(user)
        self.assertEqual(len(got), 3, got)
        for line in got[:2]:                    # logout names no remote
            self.assertRegex(line, rf" remote=127\.0\.0\.1:{port}(\s|$)")
        for line in got:
            self.assertNotIn(" tls=", line)     # the TLS is stunnel's
        self.assertRegex(self.log(), rf"(?m)^pop3d\[\d+\]: connect "
                         rf"remote=127\.0\.0\.1:{port}$")

    def test_without_wrapper_setting_passwords_refused(self):
        """The same link with tls_wrapper = no: to pop3d it is a plaintext
        connection from a remote address (loopback_secure = no)."""
        user, pw = self.new_user()
        self.host.write_conf(tls_wrapper="no")
        try:
            c = self.pop()
            capa = c.capa()
            self.assertNotIn("USER", capa)
            self.assertNotIn("STLS", capa)      # no certificate in pop3d
            with self.assertRaises(poplib.error_proto) as e:
                c.user(user)
            self.assertRegex(e.exception.args[0], rb"^-ERR \[AUTH\] ")
            c.quit()
        finally:
            self.host.write_conf(tls_wrapper="yes")

    def test_wrapper_link_offers_no_stls_even_with_a_certificate(self):
        """stunnel-pop3d.conf: tls_wrapper = yes makes pop3d "not offer
        STLS": TLS inside stunnel's TLS is of no use, even where the
        configuration also names a certificate."""
        user, pw = self.new_user()
        self.host.write_conf(tls_cert=CA.cert, tls_key=CA.key)
        try:
            c = self.pop()
            capa = c.capa()
            self.assertIn("USER", capa)
            self.assertNotIn("STLS", capa)
            c.user(user)
            c.pass_(pw)
            c.quit()
        finally:
            del self.host.conf["tls_cert"], self.host.conf["tls_key"]
            self.host.write_conf()


if __name__ == "__main__":
    pop3test.main()
