#!/usr/bin/env python3
"""pop3d behind each real launcher on 127.0.0.1.

For every launcher kind: a session works; the remote address in the log
is the client's (address and source port) as that launcher reports it;
sessions of different users run at the same time; clients that go away
at any point leave no process behind; Launcher.stop ends only its own
process group.  Where each launcher puts the remote address:

  systemd-socket-activate   nothing (pop3d asks the socket); systemd
                            proper sets REMOTE_ADDR and REMOTE_PORT
  tcpserver                 TCPREMOTEIP, TCPREMOTEPORT
  xinetd                    REMOTE_HOST only (no port)
  stunnel                   REMOTE_HOST, REMOTE_PORT (stdin is a socketpair)

The pipe (inetd style, no socket) logs remote=local.
"""
import os
import poplib
import re
import socket
import ssl
import struct
import sys
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

LAUNCHER_VARS = ("REMOTE_ADDR", "REMOTE_PORT", "REMOTE_HOST",
                 "TCPREMOTEIP", "TCPREMOTEPORT")

BIG = b"Subject: big\n\n" + b"".join(b"line %06d %s\n" % (i, b"y" * 70)
                                     for i in range(4000))


def wait_for(pred, timeout=pop3test.WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # the launcher's throw-away certificate
    return ctx


class LauncherTests:
    """Mixed into one TestCase per launcher kind (KIND)."""

    KIND = None
    EXTRA_ENV = None
    counter = 0

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost()
        cls.launcher = pop3test.Launcher(cls.KIND, cls.host,
                                         extra_env=cls.EXTRA_ENV)

    @classmethod
    def tearDownClass(cls):
        cls.launcher.stop()
        bad = pop3test.sanitizer_lines(cls.launcher.read_log())
        cls.host.cleanup()
        if bad:
            raise AssertionError("sanitizer output in the launcher log:\n"
                                 + "\n".join(bad[:20]))

    def new_user(self, messages=(b"Subject: one\n\nbody one\n",)):
        LauncherTests.counter += 1
        user = f"l{LauncherTests.counter}"
        password = f"secret-{LauncherTests.counter}"
        self.host.add_user(user, password)
        for m in messages:
            self.host.deliver(user, m)
        return user, password

    def log(self):
        return self.launcher.read_log()

    def pop(self, launcher=None):
        port = (launcher or self.launcher).port
        if self.KIND == "stunnel":
            return poplib.POP3_SSL("127.0.0.1", port, context=tls_context(),
                                   timeout=pop3test.WAIT)
        return poplib.POP3("127.0.0.1", port, timeout=pop3test.WAIT)

    def raw(self):
        """A connected socket (after the TLS handshake for stunnel)."""
        s = socket.create_connection(("127.0.0.1", self.launcher.port),
                                     pop3test.WAIT)
        if self.KIND == "stunnel":
            s = tls_context().wrap_socket(s)
        return s

    def login(self, user, password, launcher=None):
        c = self.pop(launcher)
        c.user(user)
        c.pass_(password)
        return c

    def expected_remote(self, port):
        """The remote= values pop3d may log for client port `port`."""
        return (f"127.0.0.1:{port}",)

    def assert_remote_logged(self, port, user=None):
        want = self.expected_remote(port)
        line = re.compile(r"^pop3d\[(\d+)\]: connect remote=(\S+)$", re.M)
        ok = wait_for(lambda: any(m.group(2) in want
                                  for m in line.finditer(self.log())))
        self.assertTrue(ok, f"no 'connect remote={want}' in\n{self.log()[-3000:]}")
        pid = [m.group(1) for m in line.finditer(self.log())
               if m.group(2) in want][-1]
        if user is not None:
            login = re.compile(rf"^pop3d\[{pid}\]: login user={user} "
                               rf"method=USER remote=(\S+) ", re.M)
            m = wait_for(lambda: login.search(self.log()))
            self.assertTrue(m, self.log()[-3000:])
            self.assertIn(m.group(1), want)
        return pid

    def test_session(self):
        user, pw = self.new_user([b"Subject: a\n\nfirst\n", b"Subject: b\n\n.\n"])
        c = self.login(user, pw)
        self.assertEqual(c.stat(), (2, 38))
        self.assertEqual(c.retr(1)[1], [b"Subject: a", b"", b"first"])
        self.assertEqual(c.retr(2)[1], [b"Subject: b", b"", b"."])
        self.assertEqual(c.quit(), b"+OK Logging out, 0 messages deleted")

    def test_remote_address_logged(self):
        user, pw = self.new_user()
        c = self.login(user, pw)
        port = c.sock.getsockname()[1]
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        self.assert_remote_logged(port, user)
        # A connection that never logs in is logged with its address too.
        s = self.raw()
        port = s.getsockname()[1]
        s.recv(512)
        s.close()
        self.assert_remote_logged(port)

    def test_concurrent_users(self):
        n = 4
        users = [self.new_user([b"Subject: %d.%d\n\nfor user %d\n" % (i, j, i)
                                for j in range(i + 1)]) for i in range(n)]
        conns = [self.login(u, p) for u, p in users]
        try:
            # All logged in at once: each its own maildrop.
            got = wait_for(lambda: len(self.launcher.children()) == n)
            self.assertTrue(got, f"launcher children {self.launcher.children()}")
            for i, c in enumerate(conns):
                self.assertEqual(c.stat()[0], i + 1)
            for i, c in enumerate(conns):
                for j in range(i + 1):
                    self.assertEqual(c.retr(j + 1)[1],
                                     [b"Subject: %d.%d" % (i, j), b"",
                                      b"for user %d" % i])
            # A second session of a logged-in user finds the maildrop locked.
            c2 = self.pop()
            c2.user(users[0][0])
            with self.assertRaises(poplib.error_proto) as e:
                c2.pass_(users[0][1])
            self.assertTrue(e.exception.args[0].startswith(b"-ERR [IN-USE]"),
                            e.exception.args)
            c2.close()
            for c in conns:
                self.assertTrue(c.quit().startswith(b"+OK"))
        finally:
            for c in conns:
                c.close()
        left = self.launcher.wait_idle()
        self.assertEqual(left, [], "processes left after the sessions ended")

    def test_early_disconnects_leave_no_process(self):
        user, pw = self.new_user([BIG])
        ports = []

        def connect():
            s = self.raw()
            ports.append(s.getsockname()[1])
            return s

        s = connect()                       # gone before the greeting
        s.close()
        s = self.raw()                      # reset: whether pop3d still
        if self.KIND != "stunnel":          # sees the address depends on
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,  # the launcher
                         struct.pack("ii", 1, 0))
        s.close()
        s = connect()                       # half-way through USER/PASS
        s.recv(512)
        s.sendall(b"USER " + user.encode() + b"\r\n")
        s.close()
        s = connect()                       # logs in and goes away unread
        s.sendall(f"USER {user}\r\nPASS {pw}\r\n".encode())
        time.sleep(0.1)
        s.close()
        s = connect()                       # goes away in the middle of RETR
        s.sendall(f"USER {user}\r\nPASS {pw}\r\nRETR 1\r\n".encode())
        s.recv(512)
        s.close()
        left = self.launcher.wait_idle()
        self.assertEqual(left, [], f"left behind: {left}\n{self.log()[-3000:]}")
        for p in ports:
            self.assert_remote_logged(p)
        log = self.log()
        logins = len(re.findall(rf"login user={user} ", log))
        logouts = len(re.findall(rf"logout user={user} ", log))
        self.assertEqual(logins, logouts, log[-3000:])
        self.assertGreaterEqual(logins, 1, log[-3000:])
        # The mailbox is untouched and free for the next session.
        c = self.login(user, pw)
        self.assertEqual(c.stat()[0], 1)
        c.quit()

    def test_stop_ends_only_own_group(self):
        user, pw = self.new_user()
        other_user, other_pw = self.new_user()
        other = pop3test.Launcher(self.KIND, self.host)
        try:
            mine = self.login(user, pw)
            theirs = self.login(other_user, other_pw, launcher=other)
            self.assertTrue(wait_for(lambda: len(other.children()) == 1),
                            other.children())
            started = set(other.children()) | set(other.group())
            other_pid = other.p.pid
            other.stop()
            self.assertIsNotNone(other.p.returncode)
            left = wait_for(lambda: not [
                pid for pid, (_, pgrp) in pop3test._procs().items()
                if pgrp == other_pid or pid in started])
            self.assertTrue(left, "the stopped launcher's sessions still run")
            with self.assertRaises((OSError, poplib.error_proto, EOFError)):
                theirs.stat()
            theirs.close()
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", other.port), 2).close()
            # This launcher and its session are untouched.
            self.assertIsNone(self.launcher.p.poll())
            self.assertEqual(mine.stat()[0], 1)
            self.assertTrue(mine.quit().startswith(b"+OK"))
            c = self.login(other_user, other_pw)
            c.quit()
        finally:
            other.stop()
            self.assertEqual(pop3test.sanitizer_lines(other.read_log()), [])


@unittest.skipUnless(pop3test.have("systemd-socket-activate"),
                     "systemd-socket-activate not installed")
class Systemd(LauncherTests, unittest.TestCase):
    KIND = "systemd"


@unittest.skipUnless(pop3test.have("systemd-socket-activate"),
                     "systemd-socket-activate not installed")
class SystemdEnvironment(unittest.TestCase):
    """The variables systemd proper sets for an Accept=yes service."""

    def session_log(self, env):
        # The forged addresses are not loopback: allow passwords without TLS.
        host = pop3test.Mailhost(plaintext_auth="yes")
        host.add_user("envuser", "pw")
        launcher = pop3test.Launcher("systemd", host, extra_env=env)
        try:
            c = poplib.POP3("127.0.0.1", launcher.port, timeout=pop3test.WAIT)
            port = c.sock.getsockname()[1]
            c.user("envuser")
            c.pass_("pw")
            c.quit()
            wait_for(lambda: "logout user=envuser" in launcher.read_log())
            return port, launcher.read_log()
        finally:
            launcher.stop()
            bad = pop3test.sanitizer_lines(launcher.read_log())
            host.cleanup()
            self.assertEqual(bad, [])

    def test_remote_addr_and_port(self):
        _, log = self.session_log({"REMOTE_ADDR": "192.0.2.7",
                                   "REMOTE_PORT": "4242"})
        self.assertIn("login user=envuser method=USER remote=192.0.2.7:4242 ", log)

    def test_ipv6_remote_addr(self):
        _, log = self.session_log({"REMOTE_ADDR": "2001:db8::7",
                                   "REMOTE_PORT": "4242"})
        self.assertIn("method=USER remote=[2001:db8::7]:4242 ", log)

    def test_forged_remote_addr_ignored(self):
        port, log = self.session_log({"REMOTE_ADDR": "10.0.0.1 user=root",
                                      "REMOTE_PORT": "1"})
        self.assertIn(f"method=USER remote=127.0.0.1:{port} ", log)
        self.assertNotIn("10.0.0.1", log)


@unittest.skipUnless(pop3test.have("tcpserver"), "tcpserver not installed")
class Tcpserver(LauncherTests, unittest.TestCase):
    KIND = "tcpserver"


@unittest.skipUnless(pop3test.have("xinetd"), "xinetd not installed")
class Xinetd(LauncherTests, unittest.TestCase):
    KIND = "xinetd"

    def expected_remote(self, port):
        # xinetd sets REMOTE_HOST and no port: pop3d logs the address
        # alone; the port from the socket would be right as well.
        return ("127.0.0.1", f"127.0.0.1:{port}")


@unittest.skipUnless(pop3test.have("stunnel4") and pop3test.have("openssl"),
                     "stunnel4 or openssl not installed")
class Stunnel(LauncherTests, unittest.TestCase):
    KIND = "stunnel"


class PipeRemote(unittest.TestCase):
    """pop3d on pipes: there is no peer, whatever the environment says."""

    def run_pipe(self, env):
        host = pop3test.Mailhost()
        host.add_user("pipeuser", "pw")
        try:
            with mock.patch.dict(os.environ):
                for v in LAUNCHER_VARS:
                    os.environ.pop(v, None)
                os.environ.update(env)
                p = pop3test.Pipe(host)
            p.login("pipeuser", "pw")
            self.assertTrue(p.cmd("QUIT").startswith(b"+OK"))
            rc, log = p.close()
            self.assertEqual(rc, 0, log)
            return log
        finally:
            host.cleanup()

    def test_local(self):
        log = self.run_pipe({})
        self.assertRegex(log, r"(?m)^pop3d\[\d+\]: connect remote=local$")
        self.assertIn("login user=pipeuser method=USER remote=local ", log)

    def test_garbage_environment(self):
        log = self.run_pipe({"REMOTE_ADDR": "evil\nhost", "TCPREMOTEIP": "x",
                             "REMOTE_HOST": "999.1.1.1"})
        self.assertRegex(log, r"(?m)^pop3d\[\d+\]: connect remote=local$")
        self.assertNotIn("evil", log)


if __name__ == "__main__":
    pop3test.main()
