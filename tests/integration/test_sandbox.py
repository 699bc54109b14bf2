#!/usr/bin/env python3
"""The confinement of each process, seen from outside (as root).

- The pre-login process has a seccomp filter and no_new_privs; where the
  kernel's Landlock has scopes (ABI 6) its domain stands in for network
  and IPC namespaces, which are then not made; elsewhere it has namespaces
  other than the monitor's.  The TLS relay it becomes has a second
  filter; the session has its filter too.  (What each filter and domain
  refuses is tests/unit/test_sandbox.c.)
- Without Landlock scopes: with the capabilities pop3d@.service grants,
  the namespaces are made; without CAP_SYS_ADMIN the log says the
  pre-login process kept the host's, and logins still work.  With them,
  neither case tries.
- A pre-login process or TLS relay that dies of SIGSYS (sent here by
  the test: the wait status is the same as a filter's kill) is logged as
  killed by seccomp.

pop3d runs on a socketpair (inetd style), started by the test.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import ctypes
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402
from pop3test import POP3D, ROOT, WAIT, WRAP  # noqa: E402

CA = None


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines()
                    if ":\t" in line)


def field(pid, name):
    return status(pid)[name].strip()


def landlock_abi():
    """The kernel's Landlock ABI (landlock_create_ruleset's version query,
    x86-64 and arm64 number 444), 0 without it."""
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(abi, 0)


# pop3d makes namespaces for the pre-login only without Landlock's scopes.
SCOPED = landlock_abi() >= 6


def namespace(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def wait_for(predicate, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def unit_bounding(drop=()):
    caps = pop3test.unit_file("pop3d@.service")["Service"][
        "CapabilityBoundingSet"].split()
    return "-all," + ",".join("+" + c.lower().removeprefix("cap_")
                              for c in caps if c not in drop)


class Conn:
    """pop3d on one end of a socketpair, maybe under setpriv."""

    def __init__(self, host, prefix=()):
        a, b = socket.socketpair()
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen([*prefix, *WRAP, POP3D, "-c",
                                   host.conf_path],
                                  stdin=b, stdout=b, stderr=self.log)
        b.close()
        self.sock = a
        self.sock.settimeout(WAIT)
        self.buf = b""

    def tls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def pre_login(self):
        """The pid of the one unprivileged child of the monitor."""
        def find():
            kids = [k for k in children(self.p.pid)
                    if field(k, "Uid").split()[0] != "0"]
            return kids[0] if len(kids) == 1 else None
        return wait_for(find, "the pre-login process")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.p.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(WAIT)
        self.log.seek(0)
        return self.log.read().decode("latin-1")


def setUpModule():
    global CA
    if ROOT:
        CA = pop3test.TestCA()


def tearDownModule():
    if CA is not None:
        CA.cleanup()


@unittest.skipUnless(ROOT, "the processes are separated only as root")
class Confined(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(plaintext_auth="yes",
                                     tls_cert=CA.cert, tls_key=CA.key)
        cls.host.add_user("u", "pw")
        cls.host.deliver("u", "Subject: x\n\nbody\n")

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def login(self, c):
        self.assertTrue(c.cmd("USER u").startswith("+OK"))
        self.assertTrue(c.cmd("PASS pw").startswith("+OK"))

    def test_pre_login(self):
        c = Conn(self.host)
        try:
            self.assertTrue(c.line().startswith("+OK"))
            pid = c.pre_login()
            self.assertEqual(field(pid, "Seccomp"), "2")
            self.assertEqual(field(pid, "Seccomp_filters"), "1")
            self.assertEqual(field(pid, "NoNewPrivs"), "1")
            for kind in ("net", "ipc"):
                if SCOPED:
                    self.assertEqual(namespace(pid, kind),
                                     namespace(c.p.pid, kind), kind)
                else:
                    self.assertNotEqual(namespace(pid, kind),
                                        namespace(c.p.pid, kind), kind)
            self.assertEqual(field(c.p.pid, "Seccomp"), "0",
                             "the monitor has no filter")
            self.login(c)
            # The monitor became the session: its own filter.
            wait_for(lambda: field(c.p.pid, "Seccomp") == "2",
                     "the session's filter")
            self.assertEqual(field(c.p.pid, "NoNewPrivs"), "1")
            self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        finally:
            log = c.close()
        self.assertIn("logout user=u", log)
        self.assertNotIn("seccomp", log)
        self.assertNotIn("Landlock", log)
        self.assertEqual(pop3test.sanitizer_lines(log), [])

    def test_tls_relay(self):
        c = Conn(self.host)
        try:
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.cmd("STLS").startswith("+OK"))
            c.tls()
            relay = c.pre_login()
            self.login(c)
            wait_for(lambda: field(relay, "Seccomp_filters") == "2",
                     "the relay's second filter")
            self.assertEqual(field(relay, "Seccomp"), "2")
            self.assertIn(relay, children(c.p.pid), "the session's child")
            self.assertEqual(field(c.p.pid, "Seccomp"), "2")
            self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
            while c.line() != ".":
                pass
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        finally:
            log = c.close()
        self.assertIn("logout user=u", log)
        self.assertNotIn("seccomp", log)

    def test_relay_sigsys_is_named(self):
        c = Conn(self.host)
        try:
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.cmd("STLS").startswith("+OK"))
            c.tls()
            relay = c.pre_login()
            self.login(c)
            os.kill(relay, signal.SIGSYS)
            try:
                self.assertIsNone(c.line())
            except (OSError, ssl.SSLError):
                pass
        finally:
            log = c.close()
        self.assertIn("TLS relay killed by seccomp (SIGSYS)", log)

    def test_sigsys_is_named(self):
        c = Conn(self.host)
        try:
            self.assertTrue(c.line().startswith("+OK"))
            os.kill(c.pre_login(), signal.SIGSYS)
            self.assertIsNone(c.line())
        finally:
            log = c.close()
        self.assertIn("pre-login process killed by seccomp (SIGSYS)", log)


@unittest.skipUnless(ROOT, "namespaces are made only as root")
@unittest.skipUnless(pop3test.have("setpriv"), "setpriv (util-linux)")
class UnderTheUnit(unittest.TestCase):
    """With the unit's capabilities the namespaces are made; without
    CAP_SYS_ADMIN the pre-login process keeps the host's, and says so."""

    @classmethod
    def setUpClass(cls):
        cls.host = pop3test.Mailhost(plaintext_auth="yes")
        cls.host.add_user("u", "pw")

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def run_with(self, bounding):
        c = Conn(self.host, ["setpriv", f"--bounding-set={bounding}"])
        try:
            self.assertTrue(c.line().startswith("+OK"))
            pid = c.pre_login()
            own = namespace(pid, "net") != namespace(c.p.pid, "net")
            self.assertEqual(field(pid, "Seccomp"), "2")
            self.assertTrue(c.cmd("USER u").startswith("+OK"))
            self.assertTrue(c.cmd("PASS pw").startswith("+OK"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        finally:
            log = c.close()
        self.assertIn("logout user=u", log)
        return own, log

    def test_unit_capabilities(self):
        own, log = self.run_with(unit_bounding())
        self.assertEqual(own, not SCOPED, "a network namespace of its own "
                         "exactly when Landlock has no scopes")
        self.assertNotIn("host's network", log)

    def test_without_sys_admin(self):
        own, log = self.run_with(unit_bounding(drop=("CAP_SYS_ADMIN",)))
        self.assertFalse(own)
        if SCOPED:
            self.assertNotIn("host's network", log)
        else:
            self.assertIn("pre-login process keeps the host's network and "
                          "IPC namespaces: unshare: Operation not permitted",
                          log)


if __name__ == "__main__":
    pop3test.main()
