#!/usr/bin/env python3
"""pop3d maps OpenSSL only when it needs it (common/ossl.h): a plaintext
login (USER/PASS against crypt(3) and {PLAIN} entries, APOP) leaves
libssl and libcrypto out of every process of the connection; the first
SCRAM computation maps them in the monitor; with tls_cert set the
monitor maps them before it forks the pre-login process, which inherits
them.  Each check reads /proc/PID/maps of the monitor and of its
children (the pre-login process and the log relay) during the session.
The pre-login process is not dumpable: only root reads its maps, and as
another user the checks cover the monitor alone."""
import base64
import hashlib
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402
from pop3test import Mailhost, Pipe  # noqa: E402

OPENSSL = re.compile(r"/lib(ssl|crypto)\.so")


def children(pid):
    return [c for c, (ppid, _) in pop3test._procs().items() if ppid == pid]


def openssl_mapped(pid):
    """The OpenSSL libraries pid maps; None if its maps cannot be read
    (not dumpable, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            maps = f.read()
    except OSError:
        return None
    return sorted({m.group(0) for m in OPENSSL.finditer(maps)})


class MapsCase(unittest.TestCase):
    def setUp(self):
        self.host = Mailhost(apop="yes", max_auth_failures=10)
        self.host.add_user("alice", "secret", scheme="SHA512-CRYPT")
        self.host.add_user("bob", "bobpw")      # {PLAIN}, for APOP
        self.host.add_user("carol", "carolpw", scheme="SCRAM-SHA-256")
        self.pipes = []

    def tearDown(self):
        for p in self.pipes:
            p.close()
        self.host.cleanup()

    def pipe(self):
        p = Pipe(self.host)
        self.pipes.append(p)
        self.greeting = p.line()
        self.assertTrue(self.greeting.startswith(b"+OK"), self.greeting)
        return p

    def tree(self, p):
        """{pid: libraries} for the monitor and its children, readable ones.
        Root reads them all; another user not those of a process that is
        not dumpable (the pre-login process; the session)."""
        self.assertIsNone(p.p.poll(), "pop3d has exited")
        pids = [p.p.pid] + children(p.p.pid)
        got = {pid: openssl_mapped(pid) for pid in pids}
        got = {pid: libs for pid, libs in got.items() if libs is not None}
        if p.p.pid not in got:
            if pop3test.ROOT:
                self.fail("the monitor's maps cannot be read")
            self.skipTest("not root: the maps of pop3d cannot be read")
        return got

    def assert_none(self, p, when):
        got = self.tree(p)
        self.assertEqual({pid: libs for pid, libs in got.items() if libs}, {},
                         f"OpenSSL mapped {when}")

    def apop(self, user, password):
        stamp = re.search(rb"<[^>]+>", self.greeting).group(0)
        return hashlib.md5(stamp + password.encode()).hexdigest()


class Plaintext(MapsCase):
    def test_no_openssl_before_login(self):
        self.assert_none(self.pipe(), "before any command")

    def test_failed_crypt_and_plain_checks(self):
        p = self.pipe()
        for user in ("alice", "bob", "nobody"):
            self.assertTrue(p.cmd(f"USER {user}").startswith(b"+OK"))
            self.assertTrue(p.cmd("PASS wrong").startswith(b"-ERR"))
        self.assert_none(p, "after failed USER/PASS checks")

    def test_apop_without_openssl(self):
        """APOP's MD5 is libmd's: a wrong digest fails, the right one
        logs in, and neither maps OpenSSL."""
        p = self.pipe()
        self.assertTrue(p.cmd("APOP bob " + "0" * 32).startswith(b"-ERR"))
        self.assert_none(p, "after a failed APOP")
        r = p.cmd("APOP bob " + self.apop("bob", "bobpw"))
        self.assertTrue(r.startswith(b"+OK"), r)
        self.assert_none(p, "in the session after APOP")

    def test_plain_and_crypt_logins(self):
        """{PLAIN} is compared by SHA-256 of libmd; the session that a
        good login starts maps no OpenSSL either."""
        for user, pw in (("bob", "bobpw"), ("alice", "secret")):
            p = self.pipe()
            self.assertTrue(p.cmd(f"USER {user}").startswith(b"+OK"))
            r = p.cmd(f"PASS {pw}")
            self.assertTrue(r.startswith(b"+OK"), r)
            self.assertTrue(p.cmd("STAT").startswith(b"+OK"))
            self.assert_none(p, f"in {user}'s session")


class Scram(MapsCase):
    def first(self, p, user):
        c = base64.b64encode(f"n,,n={user},r=abcdefghijklmnopqrstuvwx".encode())
        r = p.cmd("AUTH SCRAM-SHA-256 " + c.decode())
        self.assertTrue(r.startswith(b"+ "), r)
        return dict(kv.split("=", 1) for kv in
                    base64.b64decode(r[2:]).decode().split(","))

    def test_mapped_at_first_scram(self):
        """CAPA lists SCRAM without mapping OpenSSL.  The first SCRAM
        message maps it in the monitor, for a known user as for an
        unknown one (whose fake salt is an HMAC): the answer takes as
        long for both.  A wrong proof fails."""
        for user in ("carol", "nobody"):
            p = self.pipe()
            self.assertTrue(p.cmd("CAPA").startswith(b"+OK"))
            self.assertIn(b"SASL SCRAM-SHA-256", b" ".join(p.multi()))
            self.assert_none(p, "before AUTH SCRAM")
            sf = self.first(p, user)
            self.assertIn("/libcrypto.so", self.tree(p)[p.p.pid],
                          f"OpenSSL not mapped at SCRAM for {user}")
            final = f"c=biws,r={sf['r']},p={base64.b64encode(bytes(32)).decode()}"
            r = p.cmd(base64.b64encode(final.encode()).decode())
            self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)

    def test_pass_against_scram_verifier(self):
        """PASS checked against a SCRAM verifier maps OpenSSL then."""
        p = self.pipe()
        self.assertTrue(p.cmd("USER carol").startswith(b"+OK"))
        self.assertTrue(p.cmd("PASS carolpw").startswith(b"+OK"))
        self.assertTrue(p.cmd("STAT").startswith(b"+OK"))


class Tls(MapsCase):
    @classmethod
    def setUpClass(cls):
        if not pop3test.have("openssl"):
            raise unittest.SkipTest("openssl not installed")
        cls.ca = pop3test.TestCA()

    @classmethod
    def tearDownClass(cls):
        cls.ca.cleanup()

    def test_mapped_with_tls_cert(self):
        """With tls_cert set the monitor maps OpenSSL before the fork,
        and the pre-login process (as root: its maps are readable) has
        it from there."""
        self.host.write_conf(tls_cert=self.ca.cert, tls_key=self.ca.key)
        p = self.pipe()
        got = self.tree(p)
        self.assertEqual(got[p.p.pid], ["/libcrypto.so", "/libssl.so"])
        if not pop3test.ROOT:
            return
        kids = [pid for pid in got if pid != p.p.pid]
        prelogin = [pid for pid in kids if uid_of(pid) != 0]
        self.assertEqual(len(prelogin), 1, got)
        self.assertEqual(got[prelogin[0]], ["/libcrypto.so", "/libssl.so"])
        self.assertTrue(p.cmd("CAPA").startswith(b"+OK"))
        self.assertIn(b"STLS", p.multi())


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


if __name__ == "__main__":
    pop3test.main()
