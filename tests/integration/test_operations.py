#!/usr/bin/env python3
"""The operational promises of README.md, pop3d(8), pop3d.conf(5),
pop3d-admin(7) and pop3d-passwd(1): pop3d -t and exit statuses, a configuration readable by
root alone, the log lines, APOP, the login command cap, make install,
make demo and every pop3d-passwd scheme."""
import base64
import hashlib
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "alice", "s3cret"
BUILD_NAME = os.environ.get("POP3D_BUILD", "build")
EX_USAGE, EX_CONFIG = 64, 78
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")
# Messages with CRLF line ends and no line starting with a dot: the size
# the server reports and the octets RETR sends are both len(message).
MESSAGES = (
    b"Subject: first\r\nFrom: a@example.org\r\n\r\nbody one\r\nline two\r\n",
    b"Subject: second\r\n\r\nbody 2\r\n",
    b"Subject: third\r\n\r\nthe third body, a little longer\r\n",
)


def run(argv, timeout=pop3test.WAIT, **kw):
    """A command with its output captured; never waits without bound."""
    return subprocess.run(argv, capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def log_lines(log, prefix):
    """The messages of log lines whose message starts with prefix."""
    out = []
    for line in log.splitlines():
        m = re.match(r"pop3d\[\d+\]: (.*)$", line)
        if m and m.group(1).startswith(prefix):
            out.append(m.group(1))
    return out


class Client(pop3test.Pipe):
    """A Pipe that counts every octet it receives and never takes EOF for
    a line."""

    def __init__(self, host, **kw):
        super().__init__(host, **kw)
        self.received = 0
        self.closed = False

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"pop3d said nothing more; have {self.buf[:200]!r}")
        r, _, _ = select.select([self.p.stdout.fileno()], [], [], left)
        if not r:
            return True
        chunk = os.read(self.p.stdout.fileno(), 1 << 20)
        if not chunk:
            return False
        self.received += len(chunk)
        self.buf += chunk
        return True

    def reply(self, timeout=pop3test.WAIT):
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            if not self._fill(deadline):
                raise AssertionError(f"connection closed; have {self.buf!r}")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def ask(self, line):
        if isinstance(line, str):
            line = line.encode("latin-1")
        self.send(line + b"\r\n")
        return self.reply()

    def body(self):
        out = []
        while True:
            line = self.reply()
            if line == b".":
                return out
            out.append(line[1:] if line.startswith(b".") else line)

    def wait_eof(self, timeout=pop3test.WAIT):
        """Read to the end of the stream; returns what came before it."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        rest, self.buf = self.buf, b""
        return rest


class Case(unittest.TestCase):
    CONF = {}

    def setUp(self):
        self.host = pop3test.Mailhost(**self.CONF)
        self.addCleanup(self.host.cleanup)

    def client(self, **kw):
        c = Client(self.host, **kw)
        self.addCleanup(self.finish, c)
        return c

    def finish(self, c):
        """Close c once and return its log; sanitizer reports and deaths
        by signal fail the test."""
        if not c.closed:
            c.closed = True
            c.result = c.close()
            rc, log = c.result
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, log)
            self.assertGreaterEqual(rc, 0, f"pop3d killed by a signal:\n{log}")
        return c.result[1]

    def greeted(self, **kw):
        c = self.client(**kw)
        g = c.reply()
        self.assertTrue(g.startswith(b"+OK"), g)
        c.greeting = g
        return c

    def ok(self, c, line):
        r = c.ask(line)
        self.assertTrue(r.startswith(b"+OK"), f"{line!r:.80} -> {r!r}")
        return r

    def err(self, c, line):
        r = c.ask(line)
        self.assertTrue(r.startswith(b"-ERR"), f"{line!r:.80} -> {r!r}")
        return r

    def login(self, user=USER, password=PASSWORD):
        c = self.greeted()
        self.ok(c, f"USER {user}")
        r = self.ok(c, f"PASS {password}")
        self.assertTrue(r.startswith(b"+OK Logged in"), r)
        return c

    def quit(self, c):
        self.ok(c, "QUIT")
        self.assertEqual(c.wait_eof(), b"")
        return self.finish(c)

    def check(self, conf_text, *args):
        """pop3d -t on a configuration file holding conf_text."""
        path = os.path.join(self.host.dir, "check.conf")
        with open(path, "w") as f:
            f.write(conf_text)
        return path, run([pop3test.POP3D, "-t", "-c", path, *args])

    def good_conf(self, **more):
        conf = dict(self.host.conf, **{k: str(v) for k, v in more.items()})
        return "".join(f"{k} = {v}\n" for k, v in conf.items())


class PlaintextWithoutTls(Case):
    """A remote client on a server with no certificate: passwords in the
    clear are refused, and nothing offers STLS that is not there."""

    REMOTE = {"REMOTE_ADDR": "192.0.2.7", "REMOTE_PORT": "40000"}

    def test_refusal_points_at_port_995_not_stls(self):
        c = self.greeted(env=self.REMOTE)
        self.ok(c, "CAPA")
        capa = c.body()
        for word in (b"STLS", b"USER", b"SASL PLAIN"):
            self.assertNotIn(word, capa)
        self.ok(c, "AUTH")
        # No user has a SCRAM verifier: nothing is left.
        self.assertEqual(c.body(), [])
        for line in (f"USER {USER}", f"PASS {PASSWORD}", "AUTH PLAIN",
                     "AUTH LOGIN"):
            r = self.err(c, line)
            self.assertEqual(r, b"-ERR [AUTH] Plaintext authentication "
                             b"disallowed on non-secure connection: use TLS "
                             b"(port 995)")
        self.err(c, "STLS")
        self.quit(c)

    def test_plaintext_auth_yes_lets_the_remote_client_in(self):
        self.host.add_user(USER, PASSWORD)
        self.host.write_conf(plaintext_auth="yes")
        c = self.greeted(env=self.REMOTE)
        self.ok(c, "AUTH")
        self.assertEqual(c.body(), [b"PLAIN", b"LOGIN"])
        self.ok(c, f"USER {USER}")
        self.assertTrue(self.ok(c, f"PASS {PASSWORD}").startswith(
            b"+OK Logged in"))
        self.quit(c)


class ConfigCheck(Case):
    """pop3d -t, and the exit statuses of a bad command line or file."""

    def assert_config_error(self, res, *words):
        err = res.stderr.decode("latin-1")
        self.assertEqual(res.returncode, EX_CONFIG, err)
        self.assertEqual(res.stdout, b"")
        self.assertNotIn("configuration OK", err)
        for w in words:
            self.assertIn(w, err)
        return err

    def test_good_configuration_ok(self):
        path, res = self.check(self.good_conf())
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.decode(), f"{path}: configuration OK\n")

    def test_comments_and_blanks_ok(self):
        path, res = self.check("# a comment\n\n   \n" + self.good_conf()
                               + "  # indented comment\n")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn(b"configuration OK", res.stdout)

    def test_unknown_key_names_key_and_line(self):
        path, res = self.check("# first\n" + self.good_conf()
                               + "frobnicate = yes\n")
        line = 2 + len(self.host.conf)
        self.assert_config_error(res, path, f":{line}:", "frobnicate")

    def test_idle_timeout_below_rfc_minimum(self):
        path, res = self.check(self.good_conf() + "idle_timeout = 60\n")
        line = 1 + len(self.host.conf)
        err = self.assert_config_error(res, f"{path}:{line}:", "idle_timeout")
        self.assertIn("600", err)

    def test_other_bad_values(self):
        for text, word in (("max_bad_commands = 0", "max_bad_commands"),
                           ("login_timeout = 3601", "login_timeout"),
                           ("apop = maybe", "apop"),
                           ("log = file", "log"),
                           ("auth_fail_delay_ms = -1", "auth_fail_delay_ms"),
                           ("greeting", "key = value")):
            with self.subTest(line=text):
                path, res = self.check(text + "\n" + self.good_conf())
                self.assert_config_error(res, f"{path}:1:", word)

    def test_relative_path_refused(self):
        for key in ("users_file", "empty_dir"):
            with self.subTest(key=key):
                path, res = self.check(self.good_conf()
                                       + f"{key} = etc/pop3d/file\n")
                line = 1 + len(self.host.conf)
                err = self.assert_config_error(res, f"{path}:{line}:", key)
                self.assertIn("absolute", err)

    def test_missing_users_file(self):
        missing = os.path.join(self.host.dir, "no-such-users")
        path, res = self.check(self.good_conf(users_file=missing))
        self.assert_config_error(res, missing)

    def test_maildir_template_with_unknown_escape(self):
        tmpl = os.path.join(self.host.dir, "mail", "%x", "Maildir")
        path, res = self.check(self.good_conf(maildir=tmpl))
        self.assert_config_error(res, "maildir", tmpl)

    def test_maildir_template_giving_relative_path(self):
        path, res = self.check(self.good_conf(maildir="Maildir/%u"))
        self.assert_config_error(res, "maildir", "Maildir/%u")

    @unittest.skipUnless(pop3test.ROOT, "empty_dir is checked only as root")
    def test_missing_empty_dir_reported_not_created(self):
        scratch = tempfile.mkdtemp(prefix="pop3d-t-")
        self.addCleanup(shutil.rmtree, scratch, True)
        empty = os.path.join(scratch, "empty")
        path, res = self.check(self.good_conf(empty_dir=empty))
        err = res.stderr.decode("latin-1")
        self.assertNotEqual(res.returncode, 0, err)
        self.assertNotIn(b"configuration OK", res.stdout)
        self.assertIn("empty_dir", err)
        self.assertIn(empty, err)
        self.assertFalse(os.path.exists(empty), "pop3d -t created empty_dir")
        self.assertEqual(os.listdir(scratch), [])

    @unittest.skipUnless(pop3test.ROOT, "empty_dir is checked only as root")
    def test_unsafe_empty_dir(self):
        unsafe = tempfile.mkdtemp(prefix="pop3d-t-")
        self.addCleanup(shutil.rmtree, unsafe, True)
        os.chmod(unsafe, 0o777)
        path, res = self.check(self.good_conf(empty_dir=unsafe))
        self.assert_config_error(res, "empty_dir", unsafe)

    def test_check_changes_nothing(self):
        before = sorted(os.walk(self.host.dir))
        res = run([pop3test.POP3D, "-t", "-c", self.host.conf_path])
        self.assertEqual(res.returncode, 0, res.stderr)
        after = sorted(os.walk(self.host.dir))
        self.assertEqual(before, after)

    def test_usage_errors_exit_64(self):
        for args in (["-x"], ["extra-argument"], ["-c"], ["-t", "-q"],
                     ["-c", self.host.conf_path, "surplus"]):
            with self.subTest(args=args):
                res = run([pop3test.POP3D, *args])
                self.assertEqual(res.returncode, EX_USAGE, res.stderr)
                self.assertIn(b"usage", res.stderr)
                self.assertEqual(res.stdout, b"")

    def test_session_program_by_hand_exits_64(self):
        session = os.path.join(os.path.dirname(pop3test.POP3D),
                               "pop3d-session")
        env = dict(os.environ, POP3D_SESSION="1", POP3D_USER="alice",
                   POP3D_MAILDIR=self.host.dir, POP3D_REMOTE="x",
                   POP3D_METHOD="USER", POP3D_CARRY_FD="3")
        for args, e in (([], None), (["-d"], None), (["-x"], env)):
            with self.subTest(args=args, env=e is not None):
                res = run([session, *args], env=e)
                self.assertEqual(res.returncode, EX_USAGE, res.stderr)
                self.assertIn(b"internal", res.stderr)
                self.assertEqual(res.stdout, b"")
        res = run([pop3test.POP3D, "-S", "-d"])
        self.assertEqual(res.returncode, EX_USAGE, res.stderr)
        self.assertIn(b"usage", res.stderr)

    def test_missing_session_program_is_named(self):
        lone = os.path.join(self.host.dir, "sbin")
        os.mkdir(lone)
        shutil.copy(pop3test.POP3D, lone)
        res = run([os.path.join(lone, "pop3d"), "-t", "-c",
                   self.host.conf_path])
        # Neither beside it nor where make install would have put it.
        self.assertEqual(res.returncode, 71, res.stderr)
        self.assertIn(os.path.join(lone, "../libexec/pop3d/pop3d-session")
                      .encode() + b": No such file", res.stderr)

    def test_missing_config_file_exits_78(self):
        missing = os.path.join(self.host.dir, "missing.conf")
        # Without -d or -t, and stderr not a terminal, the reason goes to
        # syslog: only the status is visible here.
        for args, on_stderr in ((["-c", missing], False),
                                (["-d", "-c", missing], True),
                                (["-t", "-c", missing], True)):
            with self.subTest(args=args):
                res = run([pop3test.POP3D, *args])
                self.assertEqual(res.returncode, EX_CONFIG, res.stderr)
                if on_stderr:
                    self.assertIn(missing.encode(), res.stderr)
                self.assertEqual(res.stdout, b"", "said something to a client")

    def test_invalid_config_refuses_connections(self):
        with open(self.host.conf_path, "a") as f:
            f.write("no_such_key = 1\n")
        res = run([pop3test.POP3D, "-d", "-c", self.host.conf_path])
        self.assertEqual(res.returncode, EX_CONFIG, res.stderr)
        self.assertIn(b"no_such_key", res.stderr)
        self.assertIn(f"{self.host.conf_path}:".encode(), res.stderr)


@unittest.skipUnless(pop3test.ROOT, "needs root: the session runs as another uid")
class RootOnlyConfig(Case):
    """A configuration file only root can read works: the session reads it
    through the monitor's descriptor."""

    CONF = {"implementation": "testimpl", "max_bad_commands": 2}

    def setUp(self):
        super().setUp()
        self.host.add_user(USER, PASSWORD)
        for m in MESSAGES:
            self.host.deliver(USER, m)
        os.chown(self.host.conf_path, 0, 0)
        os.chmod(self.host.conf_path, 0o600)
        st = os.stat(self.host.conf_path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, 0)

    def test_session_reads_root_only_config(self):
        c = self.login()
        size = sum(map(len, MESSAGES))
        self.assertEqual(c.ask("STAT"), f"+OK {len(MESSAGES)} {size}".encode())
        self.ok(c, "CAPA")
        capa = c.body()
        self.assertIn(b"IMPLEMENTATION testimpl", capa)
        self.assertNotIn(b"IMPLEMENTATION pop3d", capa)
        log = self.quit(c)
        self.assertEqual(c.result[0], 0, log)
        self.assertEqual(len(log_lines(log, "logout user=alice reason=quit")),
                         1, log)

    def test_session_honours_max_bad_commands(self):
        c = self.login()
        self.err(c, "FROB")
        self.assertEqual(c.ask("FROB"), b"-ERR Too many bad commands, closing")
        self.assertEqual(c.wait_eof(), b"")
        log = self.finish(c)
        self.assertEqual(
            len(log_lines(log, "logout user=alice reason=bad-commands")), 1, log)


class Logging(Case):
    """The log lines of pop3d-admin(7) LOGGING, with the right numbers."""

    def setUp(self):
        super().setUp()
        self.host.add_user(USER, PASSWORD)
        self.names = [self.host.deliver(USER, m) for m in MESSAGES]
        self.size = sum(map(len, MESSAGES))

    def test_full_session_log(self):
        c = self.greeted()
        before_login = c.received
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")
        # The session's octets start with the login reply.
        session_start = before_login + len(b"+OK Send PASS\r\n")
        r = c.ask("RETR 1")
        self.assertEqual(r, f"+OK {len(MESSAGES[0])} octets".encode())
        self.assertEqual(b"\r\n".join(c.body()) + b"\r\n", MESSAGES[0])
        self.ok(c, "TOP 2 0")
        c.body()
        self.ok(c, "DELE 3")
        self.quit(c)
        out = c.received - session_start
        log = self.finish(c)
        pids = set(re.findall(r"^pop3d\[(\d+)\]", log, re.M))
        self.assertEqual(len(pids), 1, f"one pid for the connection:\n{log}")
        want = [
            "connect remote=local",
            f"auth ok user={USER} method=USER remote=local",
            f"login user={USER} method=USER remote=local "
            f"messages={len(MESSAGES)} size={self.size}",
            f"logout user={USER} reason=quit retr=1/{len(MESSAGES[0])} top=1 "
            f"dele=1 messages={len(MESSAGES)} size={self.size} out={out}",
        ]
        got = [m for p in ("connect", "auth", "login", "logout")
               for m in log_lines(log, p)]
        self.assertEqual(got, want, log)
        self.assertEqual(len(self.host.files(USER)), 2)

    def test_disconnected_reason_and_no_deletions(self):
        c = self.login()
        self.ok(c, "RETR 2")
        c.body()
        self.ok(c, "DELE 1")
        c.p.stdin.close()
        self.assertEqual(c.wait_eof(), b"")
        log = self.finish(c)
        lines = log_lines(log, "logout ")
        self.assertEqual(len(lines), 1, log)
        self.assertRegex(
            lines[0], rf"^logout user={USER} reason=disconnected "
            rf"retr=1/{len(MESSAGES[1])} top=0 dele=0 messages=3 "
            rf"size={self.size} out=\d+$")
        self.assertEqual(len(self.host.files(USER)), 3)

    def test_bad_commands_reason(self):
        self.host.write_conf(max_bad_commands=1)
        c = self.login()
        self.assertEqual(c.ask("FROB"), b"-ERR Too many bad commands, closing")
        self.assertEqual(c.wait_eof(), b"")
        log = self.finish(c)
        self.assertEqual(len(log_lines(
            log, f"logout user={USER} reason=bad-commands retr=0/0 top=0 "
            "dele=0")), 1, log)

    def test_login_timeout(self):
        self.host.write_conf(login_timeout=1)
        c = self.greeted()
        t0 = time.monotonic()
        self.assertEqual(c.reply(timeout=5), b"-ERR Disconnected for inactivity")
        self.assertLess(time.monotonic() - t0, 4)
        self.assertEqual(c.wait_eof(3), b"")
        log = self.finish(c)
        self.assertEqual(c.result[0], 0, log)
        self.assertEqual(log_lines(log, "connect"), ["connect remote=local"])
        self.assertEqual(log_lines(log, "auth"), [], log)
        self.assertEqual(log_lines(log, "login"), [], log)

    def test_auth_plain_logged(self):
        c = self.greeted()
        bad = base64.b64encode(f"\0{USER}\0wrong-one".encode()).decode()
        r = c.ask(f"AUTH PLAIN {bad}")
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        good = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        r = c.ask(f"AUTH PLAIN {good}")
        self.assertTrue(r.startswith(b"+OK Logged in"), r)
        log = self.quit(c)
        self.assertEqual(log_lines(log, "auth "), [
            f"auth failed user={USER} method=PLAIN remote=local",
            f"auth ok user={USER} method=PLAIN remote=local"], log)
        self.assertEqual(len(log_lines(
            log, f"login user={USER} method=PLAIN remote=local")), 1, log)
        self.assertEqual(len(log_lines(
            log, f"logout user={USER} reason=quit")), 1, log)

    def test_wrong_user_logged_failed(self):
        c = self.greeted()
        self.ok(c, "USER nobody-here")
        self.assertTrue(c.ask("PASS x").startswith(b"-ERR [AUTH]"))
        log = self.quit(c)
        self.assertEqual(log_lines(log, "auth "), [
            "auth failed user=nobody-here method=USER remote=local"], log)

    def test_user_names_sanitized(self):
        cases = (
            (b"ev\x1b[31mil", "user=ev?[31mil "),
            (b"be\x07ll\x7f", "user=be?ll? "),
            (b"\xc3\xa9t\xe9", "user=??t? "),
            (b"tab\there", "user=tab?here "),
            (b"%s%n%x%p%99999999d", "user=%s%n%x%p%99999999d "),
        )
        for name, want in cases:
            with self.subTest(name=name):
                c = self.greeted()
                self.ok(c, b"USER " + name)
                self.assertTrue(c.ask("PASS x").startswith(b"-ERR [AUTH]"))
                log = self.quit(c)
                lines = log_lines(log, "auth failed ")
                self.assertEqual(len(lines), 1, log)
                self.assertIn(want, lines[0] + " ")
                for ch in log:
                    self.assertTrue(ch == "\n" or " " <= ch <= "~",
                                    f"octet {ch!r} in log {log!r}")

    def test_sasl_user_name_sanitized(self):
        c = self.greeted()
        resp = base64.b64encode(b"\0a\x1bb%n\x01\0pw").decode()
        self.assertTrue(c.ask(f"AUTH PLAIN {resp}").startswith(b"-ERR"))
        log = self.quit(c)
        lines = log_lines(log, "auth failed ")
        self.assertEqual(lines, ["auth failed user=a?b%n? method=PLAIN "
                                 "remote=local"], log)

    def test_passwords_never_logged(self):
        good, wrong = "Qx7-Good-Pass-91z", "Zk4-Wrong-Pass-58q"
        self.host.add_user("bob", good)
        logs, secrets = [], [good, wrong]
        # USER/PASS: a failure, then a success.
        c = self.greeted()
        self.ok(c, "USER bob")
        self.assertTrue(c.ask(f"PASS {wrong}").startswith(b"-ERR [AUTH]"))
        self.ok(c, "USER bob")
        self.ok(c, f"PASS {good}")
        logs.append(self.quit(c))
        # AUTH PLAIN, on the command line and after "+ ".
        c = self.greeted()
        for pw in (wrong, good):
            blob = base64.b64encode(f"\0bob\0{pw}".encode()).decode()
            secrets.append(blob)
            if pw == wrong:
                r = c.ask(f"AUTH PLAIN {blob}")
                self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
            else:
                self.assertEqual(c.ask("AUTH PLAIN"), b"+ ")
                self.assertTrue(c.ask(blob).startswith(b"+OK Logged in"))
        logs.append(self.quit(c))
        # A password sent for a user that does not exist.
        c = self.greeted()
        self.ok(c, "USER ghost")
        self.assertTrue(c.ask(f"PASS {good}").startswith(b"-ERR [AUTH]"))
        logs.append(self.quit(c))
        log = "\n".join(logs)
        self.assertEqual(len(log_lines(log, "auth ok user=bob")), 2, log)
        self.assertEqual(len(log_lines(log, "auth failed user=")), 3, log)
        for s in secrets:
            self.assertNotIn(s, log)
        for s in (good, wrong):
            for part in (s[:8], s[-8:]):
                self.assertNotIn(part, log)


class RewrittenInPlace(Case):
    """pop3d-admin(7) MAILDIR: a message file rewritten in place (same
    inode) keeps its cached size in the listing, so its open refuses it:
    RETR and TOP answer -ERR, never the stale size; the cache is removed
    and logged, and the next login counts the file again."""

    OLD = 1600000000

    def setUp(self):
        super().setUp()
        self.host.add_user(USER, PASSWORD)
        self.names = [self.host.deliver(USER, m) for m in MESSAGES[:2]]
        md = self.host.maildir(USER)
        self.paths = [os.path.join(md, "new", n) for n in self.names]
        self.cache = os.path.join(md, "pop3d.cache")
        # Delivered long ago: a file still settling is never cached.
        for path in self.paths:
            os.utime(path, (self.OLD, self.OLD))

    def listing(self, c):
        self.ok(c, "LIST")
        return [int(line.split()[1]) for line in c.body()]

    def test_retr_and_top_refused_then_recounted(self):
        c = self.login()
        self.assertEqual(self.listing(c), [len(m) for m in MESSAGES[:2]])
        self.quit(c)
        self.assertTrue(os.path.exists(self.cache), "the cache was written")
        ino = os.stat(self.paths[0]).st_ino
        changed = b"Subject: first\r\n\r\nnow another, longer body\r\n"
        with open(self.paths[0], "r+b") as f:     # same inode
            f.truncate(0)
            f.write(changed)
        os.utime(self.paths[0], (self.OLD, self.OLD))
        self.assertEqual(os.stat(self.paths[0]).st_ino, ino)

        c = self.login()
        self.assertEqual(self.listing(c), [len(m) for m in MESSAGES[:2]],
                         "the listing takes the cached size")
        r = self.err(c, "RETR 1")
        self.assertEqual(r, b"-ERR Message 1 changed since it was listed, "
                         b"log in again")
        self.err(c, "TOP 1 0")
        r = self.ok(c, "RETR 2")
        self.assertEqual(r, f"+OK {len(MESSAGES[1])} octets".encode())
        self.assertEqual(b"\r\n".join(c.body()) + b"\r\n", MESSAGES[1])
        log = self.quit(c)
        self.assertIn(f"message new/{self.names[0]} changed since it was "
                      "listed, size cache removed", log)
        self.assertFalse(os.path.exists(self.cache), "the cache was removed")
        self.assertTrue(os.path.exists(self.paths[0]),
                        "the refused message was not marked seen")

        c = self.login()
        self.assertEqual(self.listing(c), [len(changed), len(MESSAGES[1])],
                         "the next login counts the file again")
        r = self.ok(c, "RETR 1")
        self.assertEqual(r, f"+OK {len(changed)} octets".encode())
        self.assertEqual(b"\r\n".join(c.body()) + b"\r\n", changed)
        self.quit(c)


class Apop(Case):
    CONF = {"apop": "yes"}
    STAMP = re.compile(rb" (<[^<>@\s]+@[^<>\s]+>)$")

    def setUp(self):
        super().setUp()
        self.host.add_user(USER, PASSWORD)
        self.host.add_user("hashed", "hashed-pw", scheme="SHA512-CRYPT")
        self.host.deliver(USER, MESSAGES[0])

    def stamp(self, c):
        m = self.STAMP.search(c.greeting)
        self.assertIsNotNone(m, f"no APOP timestamp in {c.greeting!r}")
        return m.group(1)

    def digest(self, stamp, secret):
        return hashlib.md5(stamp + secret.encode()).hexdigest()

    def test_timestamp_differs_between_connections(self):
        a, b = self.greeted(), self.greeted()
        self.assertNotEqual(self.stamp(a), self.stamp(b))
        self.quit(a)
        self.quit(b)

    def test_correct_digest_logs_in(self):
        c = self.greeted()
        d = self.digest(self.stamp(c), PASSWORD)
        r = c.ask(f"APOP {USER} {d}")
        self.assertEqual(r, f"+OK Logged in, 1 messages "
                            f"({len(MESSAGES[0])} octets)".encode())
        self.assertEqual(c.ask("STAT"), f"+OK 1 {len(MESSAGES[0])}".encode())
        log = self.quit(c)
        self.assertEqual(log_lines(log, "auth "),
                         [f"auth ok user={USER} method=APOP remote=local"], log)
        self.assertEqual(len(log_lines(
            log, f"login user={USER} method=APOP remote=local")), 1, log)
        self.assertNotIn(d, log)

    def test_upper_case_digest_accepted(self):
        c = self.greeted()
        d = self.digest(self.stamp(c), PASSWORD).upper()
        self.assertTrue(c.ask(f"APOP {USER} {d}").startswith(b"+OK Logged in"))
        self.quit(c)

    def test_digest_of_other_timestamp_refused(self):
        a, b = self.greeted(), self.greeted()
        d = self.digest(self.stamp(a), PASSWORD)
        r = b.ask(f"APOP {USER} {d}")
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.quit(a)
        self.quit(b)

    def test_wrong_digest(self):
        c = self.greeted()
        d = self.digest(self.stamp(c), "not-the-password")
        r = c.ask(f"APOP {USER} {d}")
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        log = self.quit(c)
        self.assertEqual(log_lines(log, "auth "),
                         [f"auth failed user={USER} method=APOP remote=local"],
                         log)

    def test_malformed_digest(self):
        c = self.greeted()
        good = self.digest(self.stamp(c), PASSWORD)
        for bad in ("nothex", good[:-1], good + "0", "g" * 32, good[:31] + "-"):
            with self.subTest(digest=bad):
                r = c.ask(f"APOP {USER} {bad}")
                self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
                if b"closing" in r:
                    break
        log = self.finish(c)
        self.assertEqual(log_lines(log, "auth ok"), [], log)

    def test_hashed_user_refused_with_reason(self):
        c = self.greeted()
        d = self.digest(self.stamp(c), "hashed-pw")
        r = c.ask(f"APOP hashed {d}")
        self.assertTrue(r.startswith(b"-ERR"), r)
        log = self.quit(c)
        self.assertTrue(any("user=hashed" in l and "APOP needs a {PLAIN} secret"
                            in l for l in log.splitlines()), log)
        self.assertEqual(log_lines(log, "auth failed "),
                         ["auth failed user=hashed method=APOP remote=local"],
                         log)

    def test_user_pass_still_works(self):
        c = self.login()
        self.quit(c)


class ApopOff(Case):

    def setUp(self):
        super().setUp()
        self.host.add_user(USER, PASSWORD)

    def test_default_greeting_has_no_timestamp_and_apop_refused(self):
        c = self.greeted()
        self.assertEqual(c.greeting, b"+OK POP3 server ready")
        self.assertNotIn(b"<", c.greeting)
        d = hashlib.md5(b"<1.2@x>" + PASSWORD.encode()).hexdigest()
        self.assertEqual(c.ask(f"APOP {USER} {d}"), b"-ERR APOP not available")
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")
        log = self.quit(c)
        self.assertEqual(log_lines(log, "auth "),
                         [f"auth ok user={USER} method=USER remote=local"], log)

    def test_apop_no_explicitly(self):
        self.host.write_conf(apop="no", greeting="mail.example.org ready")
        c = self.greeted()
        self.assertEqual(c.greeting, b"+OK mail.example.org ready")
        self.assertEqual(c.ask(f"APOP {USER} {'0' * 32}"),
                         b"-ERR APOP not available")
        self.quit(c)


class CommandCap(Case):
    CAP = 32

    def test_login_command_cap(self):
        c = self.greeted()
        for i in range(1, self.CAP):
            with self.subTest(command=i):
                self.assertEqual(c.ask("CAPA"), b"+OK Capability list follows")
                self.assertIn(b"USER", c.body())
        self.assertEqual(c.ask("CAPA"), b"-ERR Too many commands, closing")
        self.assertEqual(c.wait_eof(), b"")
        log = self.finish(c)
        self.assertEqual(c.result[0], 0, log)

    def test_cap_counts_pipelined_commands(self):
        c = self.greeted()
        c.send(b"CAPA\r\n" * (self.CAP + 5))
        rest = c.wait_eof()
        lines = rest.split(b"\r\n")
        self.assertEqual(lines[-1], b"")
        self.assertEqual(lines[-2], b"-ERR Too many commands, closing")
        self.assertEqual(lines.count(b"+OK Capability list follows"),
                         self.CAP - 1)

    def test_cap_applies_before_login_only(self):
        self.host.add_user(USER, PASSWORD)
        c = self.login()
        for _ in range(self.CAP + 3):
            self.assertEqual(c.ask("NOOP"), b"+OK")
        self.quit(c)


class Install(unittest.TestCase):
    """make install DESTDIR=... PREFIX=/usr from the top of the tree."""

    @classmethod
    def setUpClass(cls):
        if not pop3test.have("make"):
            raise unittest.SkipTest("no make")
        cls.dest = tempfile.mkdtemp(prefix="pop3d-install-")
        argv = ["make", "install", f"DESTDIR={cls.dest}", "PREFIX=/usr",
                f"O={BUILD_NAME}"]
        # An out-of-date build dir is not rebuilt from here: the tree may be
        # mid-edit, and build-asan needs its own CFLAGS.  Then the install
        # recipe copies the programs as built.
        q = run(["make", "-q", "all", f"O={BUILD_NAME}"], cwd=pop3test.TOP,
                timeout=60)
        if q.returncode != 0:
            print(f"# {BUILD_NAME} is not up to date: make -o all install",
                  flush=True)
            argv.insert(1, "-o")
            argv.insert(2, "all")
        cls.res = run(argv, cwd=pop3test.TOP, timeout=300)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.dest, rel)

    def test_make_install_succeeds(self):
        self.assertEqual(self.res.returncode, 0,
                         self.res.stderr.decode("latin-1")[-3000:])

    def test_files_installed(self):
        want = {
            "usr/sbin/pop3d": 0o755,
            "usr/libexec/pop3d/pop3d-session": 0o711,
            "usr/bin/pop3d-passwd": 0o755,
            "usr/share/man/man8/pop3d.8": 0o644,
            "usr/share/man/man5/pop3d.conf.5": 0o644,
            "usr/share/man/man1/pop3d-passwd.1": 0o644,
            "usr/share/man/man7/pop3d-admin.7": 0o644,
            "lib/systemd/system/pop3d.socket": 0o644,
            "lib/systemd/system/pop3d@.service": None,
            "usr/share/doc/pop3d/examples/xinetd.pop3d": None,
            "usr/share/doc/pop3d/examples/tcpserver.run": 0o755,
            "usr/share/doc/pop3d/examples/pam.d-pop3d": 0o644,
        }
        for rel, mode in want.items():
            with self.subTest(file=rel):
                st = os.stat(self.path(rel))
                self.assertTrue(stat.S_ISREG(st.st_mode))
                self.assertGreater(st.st_size, 0)
                if mode is not None:
                    self.assertEqual(stat.S_IMODE(st.st_mode), mode)
        # Nothing lands under the default prefix.
        self.assertFalse(os.path.exists(self.path("usr/local")))

    def test_installed_files_match_sources(self):
        for src, rel in (("man/pop3d.8", "usr/share/man/man8/pop3d.8"),
                         ("systemd/pop3d.socket",
                          "lib/systemd/system/pop3d.socket")):
            with self.subTest(file=rel), \
                    open(os.path.join(pop3test.TOP, src), "rb") as a, \
                    open(self.path(rel), "rb") as b:
                self.assertEqual(a.read(), b.read())

    def test_units_and_examples_name_installed_pop3d(self):
        with open(self.path("lib/systemd/system/pop3d@.service")) as f:
            service = f.read()
        self.assertRegex(service, r"(?m)^ExecStart=/usr/sbin/pop3d(\s|$)")
        for rel in ("lib/systemd/system/pop3d@.service",
                    "lib/systemd/system/pop3d.socket",
                    "usr/share/doc/pop3d/examples/xinetd.pop3d",
                    "usr/share/doc/pop3d/examples/tcpserver.run"):
            with self.subTest(file=rel), open(self.path(rel)) as f:
                text = f.read()
                self.assertNotIn("/usr/local", text)
                if "examples" in rel:
                    self.assertIn("/usr/sbin/pop3d", text)

    def test_installed_pop3d_runs(self):
        """The staged pop3d finds its session in ../libexec/pop3d."""
        host = pop3test.Mailhost()
        self.addCleanup(host.cleanup)
        res = run([self.path("usr/sbin/pop3d"), "-t", "-c", host.conf_path])
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.decode(),
                         f"{host.conf_path}: configuration OK\n")
        res = run([self.path("usr/bin/pop3d-passwd"), "-l"])
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn(b"SHA512-CRYPT", res.stdout)


class Demo(unittest.TestCase):
    """tests/demo.sh, as make demo runs it, on a free port."""

    def setUp(self):
        for prog in ("systemd-socket-activate", "curl"):
            if not pop3test.have(prog):
                self.skipTest(f"no {prog}")
        self.port = pop3test.free_port()
        self.out = b""
        self.lock = threading.Lock()
        env = dict(os.environ, DEMO_PORT=str(self.port))
        self.p = subprocess.Popen(["sh", "tests/demo.sh", BUILD_NAME],
                                  cwd=pop3test.TOP, env=env,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.addCleanup(self.stop)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for chunk in iter(lambda: os.read(self.p.stdout.fileno(), 65536), b""):
            with self.lock:
                self.out += chunk

    def text(self):
        with self.lock:
            return self.out.decode("latin-1")

    def group_left(self):
        return [pid for pid, (_, pgrp) in pop3test._procs().items()
                if pgrp == self.p.pid]

    def stop(self):
        """Whatever happened, end the demo's process group and its files."""
        if self.p.poll() is None or self.group_left():
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.p.wait(5)
                except subprocess.TimeoutExpired:
                    continue
                deadline = time.monotonic() + 5
                while self.group_left() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not self.group_left():
                    break
        self.p.wait(5)
        self.reader.join(5)
        self.p.stdout.close()
        m = re.search(r"removes (/tmp/pop3d-demo\.[A-Za-z0-9]+)\.", self.text())
        if m:
            shutil.rmtree(m.group(1), ignore_errors=True)

    def wait_for(self, cond, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            if self.p.poll() is not None:
                time.sleep(0.1)
                self.fail(f"demo exited ({self.p.returncode}) while waiting "
                          f"for {what}:\n{self.text()}")
            time.sleep(0.05)
        self.fail(f"no {what} within {timeout}s:\n{self.text()}")

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                s.settimeout(2)
                return s.recv(512).startswith(b"+OK")
        except OSError:
            return False

    def test_demo(self):
        self.wait_for(lambda: "Ctrl-C stops the demo" in self.text(),
                      "demo banner")
        self.wait_for(self.answers, "POP3 greeting on the demo port")
        text = self.text()
        m = re.search(r"removes (/tmp/pop3d-demo\.[A-Za-z0-9]+)\.", text)
        self.assertIsNotNone(m, text)
        demo_dir = m.group(1)
        self.assertTrue(os.path.isdir(demo_dir))
        self.assertIn(f"curl pop3://demo:demo@127.0.0.1:{self.port}/1", text)

        res = run(["curl", "-s", "--max-time", "15",
                   f"pop3://demo:demo@127.0.0.1:{self.port}/1"], timeout=20)
        self.assertEqual(res.returncode, 0, f"curl: {res.stderr!r}\n{text}")
        body = res.stdout.decode("latin-1")
        self.assertIn("Subject: Welcome to pop3d", body)
        self.assertIn("This is message 1 of the pop3d demo.", body)
        self.assertIn("\n.A line that starts with a dot", body)
        self.assertNotIn("A second message", body)

        m = re.search(r"^\s*(python3 -c .*)$", text, re.M)
        self.assertIsNotNone(m, f"no python one-liner in:\n{text}")
        res = run(["sh", "-c", m.group(1)], timeout=20)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout.decode(), r"^\(3, \d+\)\n$")

        # Ctrl-C: SIGINT to the whole foreground process group.
        os.killpg(self.p.pid, signal.SIGINT)
        try:
            rc = self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.fail(f"demo still running 15 s after SIGINT:\n{self.text()}")
        self.reader.join(5)
        text = self.text()
        self.assertEqual(rc, 0, text)
        self.assertIn("pop3d demo stopped.", text)
        self.assertFalse(os.path.exists(demo_dir), f"{demo_dir} left behind")
        deadline = time.monotonic() + 5
        while self.group_left() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.group_left(), [], "processes left in the group")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.port), 1).close()


class PasswdSchemes(Case):
    """Every scheme pop3d-passwd lists gives an entry that logs in."""

    SCHEMES = ("SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "YESCRYPT",
               "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")
    PREFIX = {"SHA512-CRYPT": "{SHA512-CRYPT}$6$",
              "SCRAM-SHA-256": "{SCRAM-SHA-256}4096,",
              "SCRAM-SHA-1": "{SCRAM-SHA-1}4096,",
              "SHA256-CRYPT": "{SHA256-CRYPT}$5$",
              "BLF-CRYPT": "{BLF-CRYPT}$2b$10$",
              "YESCRYPT": "$y$",
              "PLAIN": "{PLAIN}"}

    def test_list_schemes(self):
        res = run([pop3test.POP3D_PASSWD, "-l"])
        self.assertEqual(res.returncode, 0, res.stderr)
        listed = res.stdout.decode().split()
        self.assertEqual(sorted(listed), sorted(self.SCHEMES))

    def test_each_scheme_logs_in(self):
        listed = run([pop3test.POP3D_PASSWD, "-l"]).stdout.decode().split()
        for scheme in listed:
            with self.subTest(scheme=scheme):
                name = "u-" + scheme.lower()
                password = f"pw {scheme} 7%x"
                hashed = pop3test.hash_password(password, scheme)
                if scheme in self.PREFIX:
                    self.assertTrue(hashed.startswith(self.PREFIX[scheme]),
                                    hashed)
                self.host.add_user(name, "placeholder")
                _, uid, home = self.host.users[name]
                self.host.users[name] = (hashed, uid, home)
                self.host.write_users()
                self.host.deliver(name, MESSAGES[1])
                c = self.greeted()
                self.ok(c, f"USER {name}")
                r = c.ask(f"PASS {password}x")
                self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
                self.ok(c, f"USER {name}")
                r = c.ask(f"PASS {password}")
                self.assertEqual(r, f"+OK Logged in, 1 messages "
                                    f"({len(MESSAGES[1])} octets)".encode())
                log = self.quit(c)
                self.assertEqual(log_lines(log, "auth ok"),
                                 [f"auth ok user={name} method=USER "
                                  "remote=local"], log)
                self.assertNotIn("unusable password hash", log)

    def test_password_option_and_stdin_agree(self):
        """-p and standard input hash the same password."""
        self.host.add_user("popt", "placeholder")
        res = run([pop3test.POP3D_PASSWD, "-p", "from-option"])
        self.assertEqual(res.returncode, 0, res.stderr)
        hashed = res.stdout.decode().strip()
        self.assertTrue(hashed.startswith("{SHA512-CRYPT}$6$"), hashed)
        _, uid, home = self.host.users["popt"]
        self.host.users["popt"] = (hashed, uid, home)
        self.host.write_users()
        c = self.login("popt", "from-option")
        self.quit(c)


if __name__ == "__main__":
    pop3test.main()
