#!/usr/bin/env python3
"""AUTH LOGIN and SCRAM (RFC 5802, 7677) over pipes: a SCRAM client written
here from the RFC drives pop3d's exchange, good and malformed."""
import base64
import hashlib
import hmac
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402
from pop3test import Mailhost, Pipe  # noqa: E402

USER, PASSWORD = "alice", "pencil"


def b64(b):
    return base64.b64encode(b).decode()


class Scram:
    """The client side of RFC 5802, one exchange."""

    def __init__(self, user, password, hashname="sha256", gs2="n,,",
                 cbind=b""):
        self.user, self.password, self.h = user, password, hashname
        self.gs2, self.cbind = gs2, cbind
        self.cnonce = b64(os.urandom(18))
        name = user.replace("=", "=3D").replace(",", "=2C")
        self.bare = f"n={name},r={self.cnonce}"

    def first(self):
        return b64((self.gs2 + self.bare).encode())

    def final(self, server_first_b64, nonce=None, proof=None):
        sf = base64.b64decode(server_first_b64).decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        assert attrs["r"].startswith(self.cnonce), sf
        salt, it = base64.b64decode(attrs["s"]), int(attrs["i"])
        self.salt, self.iter = salt, it
        salted = hashlib.pbkdf2_hmac(self.h, self.password.encode(), salt, it)
        ckey = hmac.new(salted, b"Client Key", self.h).digest()
        stored = hashlib.new(self.h, ckey).digest()
        skey = hmac.new(salted, b"Server Key", self.h).digest()
        c = b64(self.gs2.encode() + self.cbind)
        without = f"c={c},r={nonce or attrs['r']}"
        am = f"{self.bare},{sf},{without}".encode()
        csig = hmac.new(stored, am, self.h).digest()
        p = bytes(a ^ b for a, b in zip(ckey, csig))
        self.want_v = b64(hmac.new(skey, am, self.h).digest())
        return b64((f"{without},p={b64(proof or p)}").encode())


class SaslTest(unittest.TestCase):
    def setUp(self):
        self.host = Mailhost()
        self.host.add_user(USER, PASSWORD, scheme="SCRAM-SHA-256")
        self.host.add_user("bob", "bobpw", scheme="SCRAM-SHA-1")
        self.host.add_user("carol", "carolpw", scheme="SHA512-CRYPT")
        self.pipes = []

    def tearDown(self):
        try:
            for p in self.pipes:
                if not p.p.stdout.closed:
                    p.close()
        finally:
            self.host.cleanup()

    def pipe(self):
        p = Pipe(self.host)
        self.pipes.append(p)
        self.assertTrue(p.line().startswith(b"+OK"))
        return p

    def scram(self, p, s, mech="SCRAM-SHA-256", initial=True, **kw):
        if initial:
            r = p.cmd(f"AUTH {mech} {s.first()}")
        else:
            self.assertEqual(p.cmd(f"AUTH {mech}"), b"+ ")
            r = p.cmd(s.first())
        if not r.startswith(b"+ "):
            return r
        r = p.cmd(s.final(r[2:].decode(), **kw))
        if not r.startswith(b"+ "):
            return r
        v = base64.b64decode(r[2:]).decode()
        self.assertEqual(v, "v=" + s.want_v)
        return p.cmd("")

    def test_capa_lists_scram(self):
        p = self.pipe()
        self.assertTrue(p.cmd("CAPA").startswith(b"+OK"))
        caps = p.multi()
        self.assertIn(b"SASL SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN", caps)
        self.assertTrue(p.cmd("AUTH").startswith(b"+OK"))
        self.assertEqual(p.multi(), [b"SCRAM-SHA-256", b"SCRAM-SHA-1",
                                     b"PLAIN", b"LOGIN"])

    def test_scram_sha256_login(self):
        p = self.pipe()
        r = self.scram(p, Scram(USER, PASSWORD))
        self.assertTrue(r.startswith(b"+OK"), r)
        self.assertTrue(p.cmd("STAT").startswith(b"+OK 0 0"))
        rc, log = p.close()
        self.assertIn("method=SCRAM-SHA-256", log)

    def test_scram_sha1_login(self):
        p = self.pipe()
        r = self.scram(p, Scram("bob", "bobpw", "sha1"), "SCRAM-SHA-1")
        self.assertTrue(r.startswith(b"+OK"), r)

    def test_scram_sha256_verifier_takes_pass(self):
        p = self.pipe()
        p.cmd(f"USER {USER}")
        self.assertTrue(p.cmd(f"PASS {PASSWORD}").startswith(b"+OK"))

    def test_wrong_password(self):
        p = self.pipe()
        r = self.scram(p, Scram(USER, "wrong"))
        self.assertEqual(r, b"-ERR [AUTH] Authentication failed")

    def test_wrong_nonce_and_proof(self):
        p = self.pipe()
        r = self.scram(p, Scram(USER, PASSWORD), nonce="abc")
        self.assertEqual(r, b"-ERR [AUTH] Authentication failed")
        r = self.scram(p, Scram(USER, PASSWORD), proof=b"\0" * 32)
        self.assertEqual(r, b"-ERR [AUTH] Authentication failed")

    def test_three_failures_close(self):
        p = self.pipe()
        for i in range(2):
            self.assertEqual(self.scram(p, Scram(USER, "x")),
                             b"-ERR [AUTH] Authentication failed")
        self.assertEqual(self.scram(p, Scram(USER, "x")),
                         b"-ERR [AUTH] Authentication failed, closing")

    def test_unknown_user_indistinguishable(self):
        """The same salt on every connection for an unknown user, the same
        iterations as a real one, the same failure."""
        salts = []
        for _ in range(2):
            p = self.pipe()
            s = Scram("nobody", "x")
            r = p.cmd(f"AUTH SCRAM-SHA-256 {s.first()}")
            self.assertTrue(r.startswith(b"+ "), r)
            sf = dict(kv.split("=", 1) for kv in
                      base64.b64decode(r[2:]).decode().split(","))
            salts.append(sf["s"])
            self.assertEqual(sf["i"], "4096")
            self.assertEqual(len(base64.b64decode(sf["s"])), 16)
            r = p.cmd(s.final(r[2:].decode()))
            self.assertEqual(r, b"-ERR [AUTH] Authentication failed")
        self.assertEqual(salts[0], salts[1])
        p = self.pipe()
        self.assertEqual(self.scram(p, Scram("carol", "carolpw")),
                         b"-ERR [AUTH] Authentication failed")

    def test_failure_timing(self):
        if pop3test.WRAP:
            self.skipTest("under valgrind PBKDF2 may outlast the delay")
        self.host.write_conf(auth_fail_delay_ms=400)
        times = {}
        for who in (USER, "nobody"):
            p = self.pipe()
            s = Scram(who, "wrong")
            r = p.cmd(f"AUTH SCRAM-SHA-256 {s.first()}")
            fin = s.final(r[2:].decode())
            t = time.monotonic()
            r = p.cmd(fin)
            times[who] = time.monotonic() - t
            self.assertEqual(r, b"-ERR [AUTH] Authentication failed")
        for t in times.values():
            self.assertGreaterEqual(t, 0.39)
            self.assertLess(t, 0.39 + 2.0)

    def test_malformed(self):
        p = self.pipe()
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-256 !!!"),
                         b"-ERR Invalid base64 data")
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-256 " + b64(b"x,,n=a,r=b")),
                         b"-ERR Malformed SCRAM message")
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-256 " + b64(b"n,,n=a=2X,r=b")),
                         b"-ERR Malformed SCRAM message")
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-256 " +
                               b64(b"n,a=bob,n=alice,r=b")),
                         b"-ERR [AUTH] Authorization identity refused")
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-256 " +
                               b64(b"p=tls-unique,,n=alice,r=b")),
                         b"-ERR [AUTH] Unsupported channel binding type")
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-256 " +
                               b64(b"p=tls-exporter,,n=alice,r=b")),
                         b"-ERR Malformed SCRAM message")
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-256-PLUS"),
                         b"-ERR Unsupported authentication mechanism")
        s = Scram(USER, PASSWORD)
        r = p.cmd(f"AUTH SCRAM-SHA-256 {s.first()}")
        self.assertEqual(p.cmd(b64(b"c=biws,r=x")),
                         b"-ERR Malformed SCRAM message")
        r = p.cmd(f"AUTH SCRAM-SHA-256 {s.first()}")
        self.assertEqual(p.cmd("*"), b"-ERR Authentication cancelled")
        # Nothing counted: a good exchange still works.
        self.assertTrue(self.scram(p, Scram(USER, PASSWORD)).startswith(b"+OK"))

    def test_secret_made_on_first_use(self):
        path = os.path.join(self.host.dir, "new-secret")
        self.host.write_conf(scram_secret=path)
        salts = []
        for _ in range(2):
            p = self.pipe()
            r = p.cmd(f"AUTH SCRAM-SHA-256 {Scram('nobody', 'x').first()}")
            self.assertTrue(r.startswith(b"+ "), r)
            salts.append(base64.b64decode(r[2:]).split(b",")[1])
        self.assertEqual(salts[0], salts[1])
        st = os.stat(path)
        self.assertEqual((st.st_size, st.st_mode & 0o777), (32, 0o600))
        # A secret others may read is refused: no SCRAM then.
        os.chmod(path, 0o644)
        p = self.pipe()
        self.assertTrue(p.cmd("CAPA").startswith(b"+OK"))
        self.assertIn(b"SASL PLAIN LOGIN", p.multi())
        rc, log = p.close()
        self.assertIn("scram_secret", log)

    def test_doveadm_entry(self):
        """An entry doveadm pw -s SCRAM-SHA-256 -p pencil made (Dovecot
        2.3.19.1), and one made now if doveadm is installed."""
        entries = ["{SCRAM-SHA-256}4096,y63W0vWar+3heHdFt5+8uw==,"
                   "eFdWFfhZkJLQh8AFX6KH5rhPjdXM9HhNSd1I1189iAc=,"
                   "coQTH6BvvCRLCJ0I42Y6vGagQMExSCQjsF/ocPYI3sU="]
        if pop3test.have("doveadm"):
            r = subprocess.run(["doveadm", "-O", "pw", "-s", "SCRAM-SHA-256",
                                "-p", "pencil"], capture_output=True,
                               timeout=pop3test.WAIT)
            entries.append(r.stdout.decode().strip())
        for stored in entries:
            self.host.add_user("dove", "pencil")
            uid, home = self.host.users["dove"][1:]
            self.host.users["dove"] = (stored, uid, home)
            self.host.write_users()
            p = self.pipe()
            self.assertTrue(self.scram(p, Scram("dove", "pencil"))
                            .startswith(b"+OK"), stored)
            p.close()

    def test_longest_escaped_names(self):
        """110 commas, three octets each escaped, as user and authzid (a
        gs2 header longer than a command line; both fit SASL_LINE_MAX): a
        failure like any other, not a broken connection."""
        p = self.pipe()
        name = "," * 110
        s = Scram(name, "x", gs2="n,a=" + "=2C" * 110 + ",")
        self.assertEqual(self.scram(p, s, initial=False),
                         b"-ERR [AUTH] Authentication failed")
        self.assertTrue(self.scram(p, Scram(USER, PASSWORD), initial=False)
                        .startswith(b"+OK"))

    def test_users_file_unreadable(self):
        """The source cannot answer: a temporary failure at the first
        message, not a salt, and not counted."""
        p = self.pipe()         # the mechanisms are known: SCRAM offered
        users = self.host.conf["users_file"]
        os.rename(users, users + ".away")
        for _ in range(4):
            self.assertEqual(
                p.cmd(f"AUTH SCRAM-SHA-256 {Scram(USER, PASSWORD).first()}"),
                b"-ERR [SYS/TEMP] Authentication temporarily unavailable")
        rc, log = p.close()
        self.assertIn(f"auth tempfail user={USER} remote=local", log)

    def test_escaped_user_name(self):
        self.host.add_user("a,b=c", "pw", scheme="SCRAM-SHA-256")
        p = self.pipe()
        self.assertTrue(self.scram(p, Scram("a,b=c", "pw")).startswith(b"+OK"))

    def test_auth_login(self):
        self.host.add_user("dave", "davepw")
        p = self.pipe()
        self.assertEqual(p.cmd("AUTH LOGIN"), b"+ VXNlcm5hbWU6")
        self.assertEqual(p.cmd(b64(b"dave")), b"+ UGFzc3dvcmQ6")
        self.assertTrue(p.cmd(b64(b"davepw")).startswith(b"+OK"))
        rc, log = p.close()
        self.assertIn("method=LOGIN", log)

    def test_auth_login_initial_and_wrong(self):
        self.host.add_user("dave", "davepw")
        p = self.pipe()
        self.assertEqual(p.cmd("AUTH LOGIN " + b64(b"dave")), b"+ UGFzc3dvcmQ6")
        self.assertEqual(p.cmd(b64(b"nope")),
                         b"-ERR [AUTH] Authentication failed")
        self.assertEqual(p.cmd("AUTH LOGIN ="), b"-ERR Malformed LOGIN message")

    def test_scram_offered_only_for_stored_verifiers(self):
        """A client picking the strongest mechanism offered must not pick
        one no user could pass: SCRAM-SHA-1 goes with the last SHA-1
        verifier, and all SCRAM with the last verifier."""
        del self.host.users["bob"]
        self.host.write_users()
        p = self.pipe()
        self.assertTrue(p.cmd("CAPA").startswith(b"+OK"))
        self.assertIn(b"SASL SCRAM-SHA-256 PLAIN LOGIN", p.multi())
        self.assertEqual(p.cmd("AUTH SCRAM-SHA-1"),
                         b"-ERR Unsupported authentication mechanism")
        p.close()
        for name in list(self.host.users):
            if self.host.users[name][0].startswith("{SCRAM"):
                del self.host.users[name]
        self.host.write_users()
        p = self.pipe()
        self.assertTrue(p.cmd("CAPA").startswith(b"+OK"))
        self.assertIn(b"SASL PLAIN LOGIN", p.multi())
        p.close()
        # Nothing made or read for SCRAM then.
        self.host.write_conf(scram_secret=os.path.join(self.host.dir, "none"))
        p = self.pipe()
        rc, log = p.close()
        self.assertFalse(os.path.exists(os.path.join(self.host.dir, "none")))
        self.assertNotIn("scram_secret", log)

    def test_plaintext_rules_for_login(self):
        self.host.write_conf(loopback_secure="no")
        p = self.pipe()
        self.assertTrue(p.cmd("AUTH LOGIN").startswith(
            b"-ERR [AUTH] Plaintext authentication disallowed"))
        self.assertTrue(p.cmd("CAPA").startswith(b"+OK"))
        self.assertIn(b"SASL SCRAM-SHA-256 SCRAM-SHA-1", p.multi())
        self.assertTrue(self.scram(p, Scram(USER, PASSWORD)).startswith(b"+OK"))


if __name__ == "__main__":
    pop3test.main()
