#!/usr/bin/env python3
"""RFC 2449 policies: LOGIN-DELAY (section 6.5, the [LOGIN-DELAY] response
code of section 8.1.1) and EXPIRE (section 6.7), as pop3d.conf(5) and
pop3d-admin(7) describe them.  pop3d runs on pipes against a throw-away
mail host; the LOGIN-DELAY state lives in a directory of the test's."""
import os
import re
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "alice", "s3cret"
DELAY = 2
DELAYED = b"-ERR [LOGIN-DELAY] Too soon after the last login, try later"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


class PolicyCase(unittest.TestCase):
    CONF = {}

    def setUp(self):
        self.host = pop3test.Mailhost(**self.CONF)
        self.addCleanup(self.host.cleanup)
        self.state = os.path.join(self.host.dir, "run")
        self.host.write_conf(login_delay_dir=self.state)
        self.host.add_user(USER, PASSWORD)
        self.extra = {}
        self.logs = []

    def set_extra(self, user, extra):
        """The users file again, with extra fields for user."""
        self.extra[user] = extra
        with open(self.host.conf["users_file"], "w") as f:
            for name, (pw, uid, home) in self.host.users.items():
                f.write(f"{name}:{pw}:{uid}:{uid}::{home}::"
                        f"{self.extra.get(name, '')}\n")

    def client(self):
        c = pop3test.Pipe(self.host)
        self.addCleanup(self.finish, c)
        self.assertTrue(c.line().startswith(b"+OK"))
        return c

    def finish(self, c):
        if getattr(c, "result", None) is None:
            c.result = c.close()
            rc, log = c.result
            self.logs.append(log)
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, log)
            self.assertGreaterEqual(rc, 0, log)
        return c.result[1]

    def log(self):
        return "".join(self.logs)

    def attempt(self, user=USER, password=PASSWORD):
        """A connection, USER and PASS: the client and the PASS reply."""
        c = self.client()
        self.assertTrue(c.cmd(f"USER {user}").startswith(b"+OK"))
        return c, c.cmd(f"PASS {password}")

    def login_quit(self, user=USER, password=PASSWORD):
        c, r = self.attempt(user, password)
        self.assertTrue(r.startswith(b"+OK"), r)
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        return self.finish(c)

    def capa(self, c):
        self.assertTrue(c.cmd("CAPA").startswith(b"+OK"))
        return [ln.decode() for ln in c.multi()]


class LoginDelay(PolicyCase):
    CONF = {"login_delay": DELAY}

    def test_second_login_is_delayed_then_allowed(self):
        self.login_quit()
        c, r = self.attempt()
        self.assertEqual(r, DELAYED)
        # Still in AUTHORIZATION: the client may wait and try again.
        self.assertEqual(c.cmd("NOOP"), b"-ERR Not logged in")
        log = self.finish(c)
        self.assertRegex(log, r"auth delayed user=alice method=USER "
                         r"remote=\S+ wait=[12]\b")
        self.assertNotIn("auth failed", log)
        time.sleep(DELAY + 0.2)
        self.login_quit()

    def test_delay_is_checked_after_the_password(self):
        """Without the password nothing tells a delayed user apart."""
        self.login_quit()
        for user, password in ((USER, "wrong"), ("nobody", "wrong"),
                               ("nobody", PASSWORD)):
            with self.subTest(user=user, password=password):
                c, r = self.attempt(user, password)
                self.assertEqual(r, b"-ERR [AUTH] Authentication failed")
                self.finish(c)
        self.assertNotIn("auth delayed", self.log())

    def test_a_delayed_login_is_no_failed_login(self):
        self.host.write_conf(max_auth_failures=1)
        self.login_quit()
        c, r = self.attempt()
        self.assertEqual(r, DELAYED)
        self.assertTrue(c.cmd(f"USER {USER}").startswith(b"+OK"))
        self.assertEqual(c.cmd(f"PASS {PASSWORD}"), DELAYED)
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))

    def test_sasl_plain_and_apop_are_delayed_too(self):
        import base64
        self.login_quit()
        c = self.client()
        token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        self.assertEqual(c.cmd(f"AUTH PLAIN {token}"), DELAYED)

    def test_capa_before_and_after_login(self):
        c = self.client()
        before = self.capa(c)
        self.assertIn(f"LOGIN-DELAY {DELAY} USER", before)
        self.assertTrue(c.cmd(f"USER {USER}").startswith(b"+OK"))
        self.assertTrue(c.cmd(f"PASS {PASSWORD}").startswith(b"+OK"))
        after = self.capa(c)
        self.assertIn(f"LOGIN-DELAY {DELAY}", after)
        self.assertFalse([ln for ln in after if ln.endswith(" USER")], after)

    def test_per_user_override(self):
        self.host.add_user("bob", "pw-bob")
        self.set_extra(USER, "userdb_quota_rule=*:storage=1G login_delay=0")
        self.set_extra("bob", "login_delay=30")
        self.login_quit()
        self.login_quit()           # alice: 0, no delay
        c, r = self.attempt("bob", "pw-bob")
        self.assertTrue(r.startswith(b"+OK"), r)
        self.assertIn("LOGIN-DELAY 30", self.capa(c))
        self.finish(c)
        c, r = self.attempt("bob", "pw-bob")
        self.assertEqual(r, DELAYED)
        self.assertRegex(self.finish(c), r"auth delayed user=bob .* wait=(29|30)\b")

    def test_override_with_the_server_wide_delay_off(self):
        self.host.write_conf(login_delay=0)
        self.set_extra(USER, "login_delay=30")
        c = self.client()
        self.assertFalse([ln for ln in self.capa(c) if "LOGIN-DELAY" in ln])
        self.finish(c)
        self.login_quit()
        c, r = self.attempt()
        self.assertEqual(r, DELAYED)

    def test_bad_override_refuses_the_line(self):
        for extra in ("login_delay=-1", "login_delay=x", "login_delay=",
                      "login_delay=86401"):
            with self.subTest(extra=extra):
                self.set_extra(USER, extra)
                c, r = self.attempt()
                self.assertEqual(r, b"-ERR [AUTH] Authentication failed")
                self.assertIn("bad login_delay", self.finish(c))

    def test_state_directory_is_made_private(self):
        self.login_quit()
        st = os.stat(self.state)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        self.assertEqual(st.st_uid, os.geteuid())
        f = os.lstat(os.path.join(self.state, "login-delay"))
        self.assertTrue(stat.S_ISREG(f.st_mode))
        self.assertEqual(stat.S_IMODE(f.st_mode), 0o600)

    def test_pop3d_t_checks_the_directory(self):
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=pop3test.WAIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(self.state))
        os.chmod(self.state, 0o777)
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=pop3test.WAIT)
        self.assertEqual(r.returncode, 78, r.stdout)
        self.assertIn(b"login_delay_dir", r.stderr)


class BrokenState(PolicyCase):
    """A state file that cannot be trusted never blocks a login: it is
    logged, made anew, and the delay works again from then on."""
    CONF = {"login_delay": DELAY}

    def path(self):
        return os.path.join(self.state, "login-delay")

    def check_rebuilt(self, why):
        log = self.login_quit()
        self.assertIn(f"login-delay: {why}: made anew", log)
        c, r = self.attempt()
        self.assertEqual(r, DELAYED)
        st = os.lstat(self.path())
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(st.st_uid, os.geteuid())

    def test_truncated(self):
        self.login_quit()
        os.truncate(self.path(), 100)
        self.check_rebuilt("wrong size")

    def test_corrupted_header(self):
        self.login_quit()
        size = os.path.getsize(self.path())
        with open(self.path(), "r+b") as f:
            f.write(os.urandom(size))
        self.check_rebuilt("bad header")

    def test_corrupted_slots_are_free_slots(self):
        self.login_quit()
        size = os.path.getsize(self.path())
        with open(self.path(), "r+b") as f:
            f.seek(16)
            f.write(os.urandom(size - 16))
        # Whatever the slots held, the login goes on and is recorded.
        log = self.login_quit()
        self.assertNotIn("made anew", log)
        c, r = self.attempt()
        self.assertEqual(r, DELAYED)

    def test_future_time_does_not_lock_the_user_out(self):
        self.login_quit()
        with open(self.path(), "r+b") as f:
            data = bytearray(f.read())
        i = data.index(b"alice\0")
        data[i + 136:i + 144] = (2 ** 62).to_bytes(8, sys.byteorder)
        with open(self.path(), "wb") as f:
            f.write(data)
        self.login_quit()

    def test_symlink(self):
        os.makedirs(self.state, mode=0o700)
        target = os.path.join(self.host.dir, "target")
        with open(target, "wb") as f:
            f.write(b"keep me")
        os.symlink(target, self.path())
        self.check_rebuilt("a symbolic link")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"keep me")

    def test_owned_by_another_user(self):
        if not pop3test.ROOT:
            self.skipTest("needs root to give the file away")
        self.login_quit()
        os.chown(self.path(), 12345, 12345)
        self.check_rebuilt("owned by another user")

    def test_open_to_others(self):
        self.login_quit()
        os.chmod(self.path(), 0o666)
        self.check_rebuilt("open to others")

    def test_hard_link(self):
        self.login_quit()
        os.link(self.path(), os.path.join(self.state, "other"))
        self.check_rebuilt("has other links")

    def test_unusable_directory(self):
        os.chmod(self.host.dir, 0o755)
        with open(self.state, "w") as f:
            f.write("not a directory")
        log = self.login_quit()
        self.assertIn("no LOGIN-DELAY", log)
        self.login_quit()

    def test_directory_open_to_others(self):
        os.makedirs(self.state)
        os.chmod(self.state, 0o777)
        log = self.login_quit()
        self.assertIn("no LOGIN-DELAY", log)
        self.login_quit()


if __name__ == "__main__":
    pop3test.main()
