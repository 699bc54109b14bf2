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

    def test_logins_at_once_let_one_through(self):
        """The check and the update are one step under the lock."""
        clients = [self.client() for _ in range(4)]
        for c in clients:
            self.assertTrue(c.cmd(f"USER {USER}").startswith(b"+OK"))
        for c in clients:
            c.send(f"PASS {PASSWORD}\r\n")
        replies = sorted(c.line() for c in clients)
        self.assertTrue(replies[0].startswith(b"+OK Logged in"), replies)
        self.assertEqual(replies[1:], [DELAYED] * 3, replies)

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


class Expire(PolicyCase):
    CONF = {"expire": 3}
    MESSAGES = ("Subject: 1\r\n\r\none\r\n", "Subject: 2\r\n\r\ntwo\r\n",
                "Subject: 3\r\n\r\nthree\r\n")

    def setUp(self):
        super().setUp()
        self.names = [self.host.deliver(USER, m) for m in self.MESSAGES]
        self.record = os.path.join(self.host.maildir(USER), "pop3d.retrieved")

    def session(self, *commands, quit=True):
        """Log in, run commands (each must succeed), QUIT or drop the
        connection; returns (QUIT reply or None, log)."""
        c, r = self.attempt()
        self.assertTrue(r.startswith(b"+OK"), r)
        for cmd in commands:
            reply = c.cmd(cmd)
            self.assertTrue(reply.startswith(b"+OK"), (cmd, reply))
            if cmd.split()[0] in ("RETR", "TOP"):
                c.multi()
        bye = c.cmd("QUIT") if quit else None
        return bye, self.finish(c)

    def left(self):
        """The base names of the messages still there, in order."""
        return [n for n in self.names
                if any(f.split("/", 1)[1].split(":")[0] == n
                       for f in self.host.files(USER))]

    def records(self):
        with open(self.record) as f:
            return [ln.split(" ", 1) for ln in f.read().splitlines()]

    def backdate(self, seconds):
        """Every retrieval time moved seconds into the past, in place (the
        file keeps its owner)."""
        lines = [f"{int(t) - seconds} {n}\n" for t, n in self.records()]
        with open(self.record, "w") as f:
            f.write("".join(lines))

    def expired_count(self, log):
        m = re.findall(r"logout user=alice reason=quit .* expired=(\d+)$",
                       log, re.M)
        self.assertEqual(len(m), 1, log)
        return int(m[0])

    def test_capa_before_and_after_login(self):
        c = self.client()
        self.assertIn("EXPIRE 3 USER", self.capa(c))
        self.assertTrue(c.cmd(f"USER {USER}").startswith(b"+OK"))
        self.assertTrue(c.cmd(f"PASS {PASSWORD}").startswith(b"+OK"))
        self.assertIn("EXPIRE 3", self.capa(c))

    def test_per_user_value(self):
        self.set_extra(USER, "expire=never")
        c, r = self.attempt()
        self.assertIn("EXPIRE NEVER", self.capa(c))
        self.finish(c)
        self.session("RETR 1")
        self.assertFalse(os.path.exists(self.record))
        self.set_extra(USER, "login_delay=0 expire=0")
        c, r = self.attempt()
        self.assertIn("EXPIRE 0", self.capa(c))
        self.finish(c)
        bye, log = self.session("RETR 2")
        self.assertEqual(bye, b"+OK Logging out, 1 messages deleted")
        self.assertEqual(self.expired_count(log), 1)

    def test_per_user_value_with_expire_unset(self):
        self.host.conf.pop("expire")
        self.host.write_conf()
        self.set_extra(USER, "expire=5")
        c = self.client()
        self.assertFalse([ln for ln in self.capa(c) if "EXPIRE" in ln])
        self.finish(c)
        c, r = self.attempt()
        self.assertIn("EXPIRE 5", self.capa(c))
        self.finish(c)
        self.session("RETR 1")
        self.backdate(5 * 86400)
        bye, log = self.session()
        self.assertEqual(bye, b"+OK Logging out, 1 messages deleted")

    def test_bad_per_user_value_refuses_the_line(self):
        for extra in ("expire=", "expire=NEVER", "expire=-1", "expire=3651"):
            with self.subTest(extra=extra):
                self.set_extra(USER, extra)
                c, r = self.attempt()
                self.assertEqual(r, b"-ERR [AUTH] Authentication failed")
                self.assertIn("bad expire", self.finish(c))

    def test_capa_without_expire(self):
        self.host.conf.pop("expire")
        self.host.write_conf()
        c = self.client()
        self.assertFalse([ln for ln in self.capa(c) if "EXPIRE" in ln])
        bye, log = self.session("RETR 1")
        self.assertNotIn("expired=", log)
        self.assertFalse(os.path.exists(self.record))

    def test_never(self):
        self.host.write_conf(expire="never")
        c = self.client()
        self.assertIn("EXPIRE NEVER USER", self.capa(c))
        self.finish(c)
        self.session("RETR 1")
        self.assertFalse(os.path.exists(self.record))
        self.assertEqual(self.left(), self.names)

    def test_retrieved_message_expires_after_its_days(self):
        t0 = time.time()
        bye, log = self.session("RETR 1", "TOP 2 0")
        self.assertEqual(bye, b"+OK Logging out, 0 messages deleted")
        self.assertEqual(self.expired_count(log), 0)
        [(when, name)] = self.records()
        self.assertEqual(name, self.names[0])
        self.assertLessEqual(abs(int(when) - t0), 5)
        # Not yet three days.
        self.backdate(3 * 86400 - 3600)
        bye, log = self.session()
        self.assertEqual(bye, b"+OK Logging out, 0 messages deleted")
        self.assertEqual(self.left(), self.names)
        # Three days: a dropped connection deletes nothing ...
        self.backdate(3600)
        self.session("STAT", quit=False)
        self.assertEqual(self.left(), self.names)
        # ... QUIT does, and only the retrieved message.
        bye, log = self.session("STAT")
        self.assertEqual(bye, b"+OK Logging out, 1 messages deleted")
        self.assertEqual(self.expired_count(log), 1)
        self.assertEqual(self.left(), self.names[1:])
        self.assertFalse(os.path.exists(self.record))

    def test_retrieval_time_is_the_first(self):
        self.session("RETR 1")
        self.backdate(2 * 86400)
        first = self.records()
        self.session("RETR 1")
        self.assertEqual(self.records(), first)

    def test_record_survives_another_clients_renames(self):
        self.session("RETR 1")
        cur = os.path.join(self.host.maildir(USER), "cur")
        [seen] = [n for n in os.listdir(cur) if n.startswith(self.names[0])]
        os.rename(os.path.join(cur, seen),
                  os.path.join(cur, self.names[0] + ":2,FS"))
        self.backdate(3 * 86400)
        bye, log = self.session()
        self.assertEqual(bye, b"+OK Logging out, 1 messages deleted")
        self.assertEqual(self.left(), self.names[1:])

    def test_record_of_gone_messages_is_dropped(self):
        self.session("RETR 1", "RETR 2")
        self.session("DELE 1")
        self.assertEqual([n for _, n in self.records()], [self.names[1]])

    def test_expire_zero(self):
        self.host.write_conf(expire=0)
        c = self.client()
        self.assertIn("EXPIRE 0 USER", self.capa(c))
        self.finish(c)
        self.session("RETR 1", quit=False)
        self.assertEqual(self.left(), self.names)
        bye, log = self.session("RETR 1", "TOP 2 1")
        self.assertEqual(bye, b"+OK Logging out, 1 messages deleted")
        self.assertEqual(self.expired_count(log), 1)
        self.assertEqual(self.left(), self.names[1:])
        self.assertFalse(os.path.exists(self.record))

    def test_expire_zero_takes_earlier_records_too(self):
        self.session("RETR 1")
        self.host.write_conf(expire=0)
        bye, log = self.session()
        self.assertEqual(bye, b"+OK Logging out, 1 messages deleted")
        self.assertEqual(self.left(), self.names[1:])

    def test_damaged_record_expires_nothing(self):
        self.session("RETR 1", "RETR 2")
        self.backdate(4 * 86400)
        with open(self.record, "a") as f:
            f.write("not a record\n")
        bye, log = self.session("RETR 3")
        self.assertEqual(bye, b"+OK Logging out, 0 messages deleted")
        self.assertIn("pop3d.retrieved: unusable", log)
        self.assertEqual(self.left(), self.names)
        # Written anew, with what this session retrieved.
        self.assertEqual([n for _, n in self.records()], [self.names[2]])

    def test_bad_lines(self):
        name = self.names[0]
        old = int(time.time()) - 4 * 86400
        for text in (f"{old} {name}", f"{old}  {name}\n", f" {old} {name}\n",
                     f"-{old} {name}\n", f"{old} x/{name}\n",
                     f"{old} {name}:2,S\n", f"{old} .{name}\n",
                     f"{old} {name}\n{old} {name}\n",
                     f"{old} {name}\n\0\n", f"99999999999999999999 {name}\n"):
            with self.subTest(text=text):
                with open(self.record, "w") as f:
                    f.write(text)
                self.host.chown(USER, self.record)
                bye, log = self.session()
                self.assertEqual(bye, b"+OK Logging out, 0 messages deleted")
                self.assertIn("unusable", log)
                self.assertFalse(os.path.exists(self.record))

    def test_record_through_a_symlink_is_not_read(self):
        target = os.path.join(self.host.dir, "elsewhere")
        line = f"{int(time.time()) - 4 * 86400} {self.names[0]}\n"
        with open(target, "w") as f:
            f.write(line)
        self.host.chown(USER, target)
        os.symlink(target, self.record)
        bye, log = self.session("RETR 2")
        self.assertEqual(bye, b"+OK Logging out, 0 messages deleted")
        self.assertEqual(self.left(), self.names)
        self.assertFalse(os.path.islink(self.record))
        with open(target) as f:
            self.assertEqual(f.read(), line)


if __name__ == "__main__":
    pop3test.main()
