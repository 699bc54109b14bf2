#!/usr/bin/env python3
"""pop3d against hostile, broken and unlucky clients and mail hosts."""
import base64
import contextlib
import os
import select
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "alice", "s3cret"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")
LINE_MAX = 255          # RFC 2449: octets of a command line, CRLF included


class Client(pop3test.Pipe):
    """A Pipe with strict reply readers: EOF is never taken for a line."""

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
        self.send(line + ("\r\n" if isinstance(line, str) else b"\r\n"))
        return self.reply()

    def body(self, timeout=pop3test.WAIT):
        """Lines of a multi-line body, up to the terminator."""
        out = []
        while True:
            line = self.reply(timeout)
            if line == b".":
                return out
            out.append(line)

    def wait_eof(self, timeout=pop3test.WAIT):
        """Read to the end of the stream; returns what came before it."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        rest, self.buf = self.buf, b""
        return rest

    def send_quietly(self, data):
        """send(), tolerating a server that has already hung up."""
        try:
            self.send(data)
        except BrokenPipeError:
            pass


class NegativeCase(unittest.TestCase):
    CONF = {"max_bad_commands": 1000}
    MESSAGES = ("Subject: 1\n\nbody 1\n", "Subject: 2\n\nbody 2\n")
    OCTETS = sum(len(m) + m.count("\n") for m in MESSAGES)

    def setUp(self):
        self.host = pop3test.Mailhost(**self.CONF)
        self.addCleanup(self.host.cleanup)
        self.uid = self.host.add_user(USER, PASSWORD)
        self.names = [self.host.deliver(USER, m) for m in self.MESSAGES]

    @contextlib.contextmanager
    def case(self, **params):
        """Name the case in a failure; the first failing case ends the test."""
        try:
            yield
        except AssertionError as e:
            detail = ", ".join(f"{k}={v!r}" for k, v in params.items())
            raise self.failureException(f"[{detail}] {e}").with_traceback(
                e.__traceback__) from None

    def client(self):
        c = Client(self.host)
        c.closed = False
        self.addCleanup(self.finish, c)
        return c

    def finish(self, c):
        """Close c once; returns its log.  Sanitizer reports fail the test."""
        if not c.closed:
            c.closed = True
            c.result = c.close()
            rc, log = c.result
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, log)
            self.assertGreaterEqual(rc, 0, f"pop3d killed by a signal:\n{log}")
        return c.result[1]

    def greeted(self):
        c = self.client()
        self.assertTrue(c.reply().startswith(b"+OK"))
        return c

    def session(self, user=USER, password=PASSWORD):
        c = self.greeted()
        self.ok(c, f"USER {user}")
        self.ok(c, f"PASS {password}")
        return c

    def ok(self, c, line):
        r = c.ask(line)
        self.assertTrue(r.startswith(b"+OK"), f"{line!r:.80} -> {r!r}")
        return r

    def err(self, c, line):
        r = c.ask(line)
        self.assertTrue(r.startswith(b"-ERR"), f"{line!r:.80} -> {r!r}")
        return r

    def quit(self, c):
        self.ok(c, "QUIT")
        self.assertEqual(c.wait_eof(), b"")

    def all_files(self):
        return sorted(f"new/{n}" for n in self.names)

    def assert_untouched(self, c):
        """Message 1 is neither deleted nor shown; QUIT leaves every file."""
        self.assertEqual(c.ask("STAT"), f"+OK 2 {self.OCTETS}".encode())
        self.assertTrue(c.ask("LIST 1").startswith(b"+OK 1 "))
        self.quit(c)
        self.assertEqual(self.host.files(USER), self.all_files())


class LineLength(NegativeCase):

    def test_overlong_line_gets_one_error_then_next_command_runs(self):
        c = self.session()
        c.send("A" * 600 + "\r\nNOOP\r\n")
        self.assertTrue(c.reply().startswith(b"-ERR"))
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assert_untouched(c)

    def test_overlong_line_tail_is_never_executed(self):
        c = self.session()
        for total in (256, 300, 4096, 4097, 100000):
            for tail in ("DELE 1", "QUIT"):
                with self.case(total=total, tail=tail):
                    pad = total - len(tail) - 2
                    c.send("A" * pad + tail + "\r\nNOOP\r\n")
                    r = c.reply()
                    self.assertTrue(r.startswith(b"-ERR"), r)
                    self.assertTrue(c.reply().startswith(b"+OK"))
        self.assert_untouched(c)

    def test_overlong_line_split_across_writes(self):
        c = self.session()
        for first in (253, 254, 255, 256, 4096, 5000):
            with self.case(first=first):
                c.send("A" * first)
                time.sleep(0.02)
                c.send("DELE 1\r\nNOOP\r\n")
                self.assertTrue(c.reply().startswith(b"-ERR"))
                self.assertTrue(c.reply().startswith(b"+OK"))
        self.assert_untouched(c)

    def test_overlong_line_straddling_login(self):
        c = self.client()
        c.send(f"USER {USER}\r\nPASS {PASSWORD}\r\n" + "A" * 200)
        for _ in range(3):
            self.assertTrue(c.reply().startswith(b"+OK"))
        c.send("A" * 200 + "DELE 1\r\nNOOP\r\n")
        self.assertTrue(c.reply().startswith(b"-ERR"))
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assert_untouched(c)

    def test_tail_at_every_split_point_is_never_executed(self):
        c = self.session()
        for offset in list(range(250, 260)) + list(range(4090, 4100)):
            with self.case(offset=offset):
                c.send("X" * offset + "DELE 1\r\nNOOP\r\n")
                self.assertTrue(c.reply().startswith(b"-ERR"))
                self.assertTrue(c.reply().startswith(b"+OK"))
        self.assert_untouched(c)

    def test_overlong_line_before_login_is_not_split(self):
        c = self.greeted()
        for offset in (253, 254, 255, 256, 4096):
            c.send("X" * offset + f"USER {USER}\r\n"
                   + "X" * offset + f"PASS {PASSWORD}\r\nSTAT\r\n")
            self.assertTrue(c.reply().startswith(b"-ERR"))
            self.assertTrue(c.reply().startswith(b"-ERR"))
            r = c.reply()
            self.assertTrue(r.startswith(b"-ERR"), f"logged in at {offset}: {r!r}")

    def test_line_of_maximum_length_is_accepted(self):
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        line = "PASS " + "p" * (LINE_MAX - 2 - len("PASS "))
        self.assertEqual(len(line) + 2, LINE_MAX)
        # Parsed and checked as a password, not refused as too long.
        self.assertEqual(c.ask(line), b"-ERR [AUTH] Authentication failed")
        self.assertTrue(c.ask("PASS " + "p" * (LINE_MAX - 1 - len("PASS ")))
                        .startswith(b"-ERR Line too long"))

    def test_line_one_octet_over_maximum_is_refused(self):
        c = self.greeted()
        line = "USER" + " " * (LINE_MAX - 1 - len("USER") - len(USER)) + USER
        self.assertEqual(len(line) + 2, LINE_MAX + 1)
        self.err(c, line)
        self.err(c, f"PASS {PASSWORD}")

    def test_password_of_maximum_line_length(self):
        pw = "p" * (LINE_MAX - 2 - len("PASS "))
        self.host.add_user("bob", pw)
        c = self.greeted()
        self.ok(c, "USER bob")
        self.ok(c, f"PASS {pw}")

    def test_megabyte_user_line(self):
        c = self.greeted()
        c.send("USER " + "u" * (1 << 20) + "\r\n")
        self.assertTrue(c.reply().startswith(b"-ERR"))
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")
        self.assertEqual(c.ask("STAT")[:6], b"+OK 2 ")

    def test_megabyte_pass_line(self):
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        c.send("PASS " + "p" * (1 << 20) + "\r\n")
        self.assertTrue(c.reply().startswith(b"-ERR"))
        self.ok(c, "CAPA")
        c.body()
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")

    def test_megabyte_sasl_response(self):
        c = self.greeted()
        self.assertEqual(c.ask("AUTH PLAIN"), b"+ ")
        c.send("A" * (1 << 20) + "\r\n")
        self.assertTrue(c.reply().startswith(b"-ERR"))
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")


class Octets(NegativeCase):

    def test_nul_in_line_is_refused(self):
        c = self.session()
        self.err(c, b"NO\0OP")
        self.err(c, b"DELE 1\0")
        self.err(c, b"\0DELE 1")
        self.assert_untouched(c)

    def test_nul_in_user_name_is_refused(self):
        c = self.greeted()
        self.err(c, f"USER {USER}\0x".encode())
        self.err(c, f"PASS {PASSWORD}")

    def test_bare_lf_line_ends_accepted(self):
        c = self.greeted()
        c.send(f"USER {USER}\nPASS {PASSWORD}\nSTAT\nLIST 2\nQUIT\n")
        for _ in range(2):
            self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.reply()[:6], b"+OK 2 ")
        self.assertTrue(c.reply().startswith(b"+OK 2 "))
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.wait_eof(), b"")


class Numbers(NegativeCase):
    BAD = ("4294967297", "4294967296", "18446744073709551617",
           "18446744073709551616", "99999999999999999999999", "-1", "+1",
           "0", "1x", "0x1", "01x", "1.0", "\t1", "1\t")

    def ask_numbered(self, c, line):
        """One reply; a multi-line body behind an unexpected +OK is read too."""
        r = c.ask(line)
        if r.startswith(b"+OK") and line.split(" ")[0] in ("RETR", "TOP"):
            c.body()
        return r

    def accepted(self, c, lines):
        """The lines of lines that did not get -ERR, with their replies."""
        return [(line, r) for line in lines
                if not (r := self.ask_numbered(c, line)).startswith(b"-ERR")]

    def test_bad_message_numbers_refused(self):
        c = self.session()
        lines = [f"{cmd} {arg}" for cmd in ("LIST", "UIDL", "RETR", "DELE")
                 for arg in self.BAD]
        self.assertEqual(self.accepted(c, lines), [])
        self.ok(c, "NOOP")
        self.assert_untouched(c)

    def test_extra_spaces_around_argument_refused(self):
        c = self.session()
        lines = [f"{cmd}{sep}" for cmd in ("LIST", "UIDL", "RETR", "DELE")
                 for sep in ("  1", " 1 ")]
        self.assertEqual(self.accepted(c, lines), [])
        self.ok(c, "RSET")

    def test_message_zero_refused(self):
        c = self.session()
        self.err(c, "RETR 0")
        self.err(c, "TOP 0 1")
        self.err(c, "DELE 0")
        self.assert_untouched(c)

    def test_bad_top_line_counts_refused(self):
        c = self.session()
        for count in ("-1", "+1", "1x", "99999999999999999999",
                      "18446744073709551616", "9223372036854775808"):
            with self.case(count=count):
                r = c.ask(f"TOP 1 {count}")
                self.assertTrue(r.startswith(b"-ERR"), r)
        self.assertTrue(c.ask("NOOP").startswith(b"+OK"))
        self.assert_untouched(c)

    def test_huge_numbers_never_reach_message_one(self):
        c = self.session()
        for arg in ("4294967297", "18446744073709551617"):
            r = c.ask(f"LIST {arg}")
            self.assertFalse(r.startswith(b"+OK 1 "), r)
            self.assertTrue(r.startswith(b"-ERR"), r)


class Arguments(NegativeCase):

    def test_wrong_argument_counts_before_login(self):
        c = self.greeted()
        for line in ("USER", "USER a b", "PASS", "CAPA x", "QUIT now",
                     "AUTH PLAIN a b"):
            with self.case(line=line):
                self.err(c, line)
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")

    def test_wrong_argument_counts_after_login(self):
        c = self.session()
        for line in ("LIST 1 2", "UIDL 1 2", "STAT x", "RETR", "RETR 1 2",
                     "TOP 1", "TOP", "TOP 1 2 3", "DELE", "DELE 1 2",
                     "NOOP x", "RSET x", "CAPA x", "QUIT now"):
            with self.case(line=line):
                self.err(c, line)
        self.assert_untouched(c)

    def test_unknown_commands(self):
        c = self.greeted()
        for line in ("HELO", "STLS", "XYZZY 1", "LISTX", "  USER alice",
                     "USERalice"):
            with self.case(state="authorization", line=line):
                self.err(c, line)
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")
        for line in ("HELO", "XYZZY", "STATS", "RETR1", " STAT"):
            with self.case(state="transaction", line=line):
                self.err(c, line)
        self.assert_untouched(c)

    def test_empty_line_refused(self):
        c = self.session()
        self.err(c, "")
        self.ok(c, "NOOP")


class States(NegativeCase):

    def test_transaction_commands_before_login(self):
        c = self.greeted()
        for line in ("STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "NOOP",
                     "RSET", "TOP 1 0", "UIDL", "UIDL 1"):
            with self.case(line=line):
                self.err(c, line)
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")
        self.assert_untouched(c)

    def test_authorization_commands_after_login(self):
        c = self.session()
        plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        for line in (f"USER {USER}", f"PASS {PASSWORD}", "PASS",
                     f"AUTH PLAIN {plain}", "AUTH", "APOP a b"):
            with self.case(line=line):
                self.err(c, line)
        self.ok(c, "NOOP")
        self.assert_untouched(c)

    def test_pass_without_user(self):
        c = self.greeted()
        self.err(c, f"PASS {PASSWORD}")
        self.err(c, "STAT")

    def test_pass_after_failed_pass_needs_user_again(self):
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        self.err(c, "PASS wrong")
        r = self.err(c, f"PASS {PASSWORD}")
        self.assertFalse(r.startswith(b"+OK"))
        self.err(c, "STAT")


class TooManyBadCommands(NegativeCase):
    CONF = {"max_bad_commands": 3}

    def check_closed_after_three(self, c):
        for _ in range(3):
            c.send_quietly("XYZZY\r\n")
        for _ in range(2):
            self.assertEqual(c.reply(), b"-ERR Unknown command")
        # One reply to the last one, which says that the session ends.
        self.assertEqual(c.reply(), b"-ERR Too many bad commands, closing")
        self.assertEqual(c.wait_eof(), b"")

    def test_before_login(self):
        c = self.greeted()
        self.check_closed_after_three(c)

    def test_after_login_nothing_deleted(self):
        c = self.session()
        self.ok(c, "DELE 1")
        self.check_closed_after_three(c)
        self.finish(c)
        self.assertEqual(self.host.files(USER), self.all_files())

    def test_good_commands_do_not_reset_the_count(self):
        c = self.session()
        self.err(c, "XYZZY")
        self.ok(c, "NOOP")
        self.err(c, "XYZZY")
        self.ok(c, "NOOP")
        c.send_quietly("XYZZY\r\n")
        self.assertEqual(c.reply(), b"-ERR Too many bad commands, closing")
        self.assertEqual(c.wait_eof(), b"")


class UserNames(NegativeCase):

    def log_of(self, c):
        self.finish(c)
        return c.result[1]

    def assert_log_clean(self, log):
        for ch in log:
            self.assertTrue(ch == "\n" or " " <= ch <= "~",
                            f"control or non-ASCII octet {ch!r} in log")

    def test_format_directives_in_user_name(self):
        c = self.greeted()
        self.ok(c, "USER %s%n%x%p%99999999d")
        r = c.ask("PASS %s%n")
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.assertNotIn(b"%", r)
        self.ok(c, "QUIT")
        log = self.log_of(c)
        self.assertIn("%s%n%x%p%99999999d", log)
        self.assertNotIn("(nil)", log)
        self.assert_log_clean(log)

    def test_control_characters_in_user_name_not_logged(self):
        for name in (b"a\x1b[31mb", b"a\x07\x08\x7fb", b"\xff\xfe\xc3\xa9",
                     b"a\rb", b"x\tab"):
            with self.case(name=name):
                c = self.greeted()
                self.ok(c, b"USER " + name)
                self.assertTrue(c.ask("PASS x").startswith(b"-ERR [AUTH]"))
                log = self.log_of(c)
                self.assertIn("auth failed", log)
                self.assert_log_clean(log)

    def test_format_directives_in_sasl_user_name(self):
        c = self.greeted()
        resp = base64.b64encode(b"\0%n%n%s\x1b\0pw").decode()
        self.assertTrue(c.ask(f"AUTH PLAIN {resp}").startswith(b"-ERR [AUTH]"))
        self.ok(c, "QUIT")
        self.assert_log_clean(self.log_of(c))

    def add_entry(self, name, uid=None, gid=None, home=None):
        uid = uid if uid is not None else self.uid
        gid = gid if gid is not None else uid
        with open(self.host.conf["users_file"], "a") as f:
            f.write(f"{name}:{{PLAIN}}pw:{uid}:{gid}::"
                    f"{home or os.path.join(self.host.dir, 'home', 'x')}::\n")

    def assert_login_refused(self, name, password):
        """Refused at USER, or at PASS with [AUTH]; never logged in."""
        c = self.greeted()
        r = c.ask(f"USER {name}")
        if r.startswith(b"+OK"):
            r = c.ask(f"PASS {password}")
            self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.assertTrue(r.startswith(b"-ERR"), r)
        self.assertTrue(c.ask("STAT").startswith(b"-ERR"))

    def tree(self):
        out = []
        for top, dirs, files in os.walk(self.host.dir):
            out += [os.path.join(top, n) for n in dirs + files]
        return sorted(out)

    def test_path_names_refused_even_when_in_users_file(self):
        victim = os.path.join(self.host.dir, "victim")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(victim, sub))
        with open(os.path.join(victim, "new", "1700000000.secret"), "w") as f:
            f.write("secret outside the mail dir\n")
        if pop3test.ROOT:
            for top, dirs, files in os.walk(victim):
                for n in [top] + [os.path.join(top, f) for f in files]:
                    os.chown(n, self.uid, self.uid)
        names = ("../victim", "..", ".", "/victim", "a/../../victim",
                 "../../etc", "./alice", "..%2fvictim", "victim/")
        for name in names:
            self.add_entry(name)
        before = self.tree()
        for name in names:
            with self.case(name=name):
                self.assert_login_refused(name, "pw")
        self.assertEqual(self.tree(), before)

    def test_sasl_path_names_refused(self):
        self.add_entry("../victim")
        c = self.greeted()
        resp = base64.b64encode(b"\0../victim\0pw").decode()
        self.assertTrue(c.ask(f"AUTH PLAIN {resp}").startswith(b"-ERR [AUTH]"))

    def test_unknown_user_and_wrong_password_look_the_same(self):
        c = self.greeted()
        self.ok(c, "USER nosuchuser")
        unknown = c.ask("PASS whatever")
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        wrong = c.ask("PASS whatever")
        self.assertTrue(unknown.startswith(b"-ERR [AUTH]"), unknown)
        self.assertEqual(unknown, wrong)
        c = self.greeted()
        plain = base64.b64encode(b"\0nosuchuser\0whatever").decode()
        self.assertEqual(c.ask(f"AUTH PLAIN {plain}"), wrong)

    def test_user_reply_does_not_reveal_existence(self):
        c = self.greeted()
        self.assertEqual(c.ask("USER nosuchuser"), c.ask(f"USER {USER}"))

    def test_uid_zero_entry_refused(self):
        self.add_entry("rootish", uid=0, gid=0)
        self.add_entry("rootuid", uid=0, gid=self.uid)
        self.add_entry("rootgid", uid=self.uid, gid=0)
        for name in ("rootish", "rootuid", "rootgid"):
            with self.case(name=name):
                self.assert_login_refused(name, "pw")

    def test_entry_without_uid_refused(self):
        with open(self.host.conf["users_file"], "a") as f:
            f.write("noids:{PLAIN}pw::::/nonexistent::\n")
        c = self.greeted()
        self.ok(c, "USER noids")
        self.assertTrue(c.ask("PASS pw").startswith(b"-ERR"))


class AuthFailures(NegativeCase):

    def test_three_failed_logins_close_the_connection(self):
        c = self.greeted()
        for attempt in range(3):
            self.ok(c, f"USER {USER}")
            r = c.ask("PASS wrong")
            self.assertTrue(r.startswith(b"-ERR [AUTH]"), f"{attempt}: {r!r}")
        c.send_quietly(f"USER {USER}\r\nPASS {PASSWORD}\r\n")
        self.assertEqual(c.wait_eof(), b"")

    def test_failures_count_across_mechanisms(self):
        c = self.greeted()
        self.ok(c, "USER nosuchuser")
        self.err(c, "PASS x")
        bad = base64.b64encode(f"\0{USER}\0wrong".encode()).decode()
        self.assertTrue(c.ask(f"AUTH PLAIN {bad}").startswith(b"-ERR [AUTH]"))
        self.ok(c, f"USER {USER}")
        self.assertTrue(c.ask("PASS wrong").startswith(b"-ERR [AUTH]"))
        self.assertEqual(c.wait_eof(), b"")

    def test_missing_users_file_is_temporary_failure(self):
        os.rename(self.host.conf["users_file"], self.host.conf["users_file"] + ".off")
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        r = c.ask(f"PASS {PASSWORD}")
        self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)
        os.rename(self.host.conf["users_file"] + ".off", self.host.conf["users_file"])
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")

    def test_unreadable_users_file_is_temporary_failure(self):
        path = self.host.conf["users_file"]
        os.rename(path, path + ".off")
        os.mkdir(path)
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        r = c.ask(f"PASS {PASSWORD}")
        self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)


class Timeouts(NegativeCase):
    CONF = {"login_timeout": 1}

    def test_login_timeout_closes_idle_connection(self):
        c = self.greeted()
        t0 = time.monotonic()
        r = c.reply(timeout=4)
        elapsed = time.monotonic() - t0
        self.assertTrue(r.startswith(b"-ERR"), r)
        self.assertGreater(elapsed, 0.5)
        self.assertLess(elapsed, 3)
        self.assertEqual(c.wait_eof(2), b"")

    def test_login_timeout_inside_sasl_exchange(self):
        c = self.greeted()
        self.assertEqual(c.ask("AUTH PLAIN"), b"+ ")
        r = c.reply(timeout=4)
        self.assertTrue(r.startswith(b"-ERR"), r)
        self.assertEqual(c.wait_eof(2), b"")

    def test_activity_is_not_cut_short(self):
        c = self.greeted()
        for _ in range(3):
            time.sleep(0.4)
            self.ok(c, "CAPA")
            c.body()
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")


class Maildrop(NegativeCase):

    def test_dropped_connection_after_dele_deletes_nothing(self):
        c = self.session()
        self.ok(c, "DELE 1")
        self.ok(c, "DELE 2")
        self.ok(c, "NOOP")
        self.finish(c)
        self.assertEqual(self.host.files(USER), self.all_files())

    def test_dropped_connection_after_retr_moves_nothing(self):
        c = self.session()
        self.ok(c, "RETR 1")
        c.body()
        self.finish(c)
        self.assertEqual(self.host.files(USER), self.all_files())

    def test_second_session_for_same_user_is_in_use(self):
        first = self.session()
        second = self.greeted()
        self.ok(second, f"USER {USER}")
        r = second.ask(f"PASS {PASSWORD}")
        self.assertTrue(r.startswith(b"-ERR [IN-USE]"), r)
        self.assertEqual(first.ask("STAT")[:6], b"+OK 2 ")
        self.quit(first)
        third = self.session()
        self.quit(third)

    def test_message_removed_after_login(self):
        c = self.session()
        os.unlink(os.path.join(self.host.maildir(USER), "new", self.names[0]))
        self.err(c, "RETR 1")
        self.err(c, "TOP 1 0")
        self.assertTrue(c.ask("LIST 2").startswith(b"+OK 2 "))
        self.ok(c, "RETR 2")
        self.assertEqual(c.body(), [b"Subject: 2", b"", b"body 2"])
        self.ok(c, "DELE 1")
        self.quit(c)
        self.assertEqual(self.host.files(USER), [f"cur/{self.names[1]}:2,S"])

    def replace_by_symlink(self, target):
        path = os.path.join(self.host.maildir(USER), "new", self.names[0])
        os.unlink(path)
        os.symlink(target, path)

    def outside_file(self):
        path = os.path.join(self.host.dir, "outside")
        with open(path, "w") as f:
            f.write("Subject: 1\n\nSECRET-OUTSIDE\n")
        if pop3test.ROOT:
            os.chown(path, self.uid, self.uid)
        return path

    def assert_not_served(self, c):
        for line in ("RETR 1", "TOP 1 0", "TOP 1 5"):
            r = c.ask(line)
            self.assertTrue(r.startswith(b"-ERR"), f"{line}: {r!r}")
        self.ok(c, "NOOP")
        self.assertNotIn(b"SECRET", c.buf)
        self.assertNotIn(b"root:", c.buf)

    def test_message_replaced_by_symlink_to_shadow(self):
        c = self.session()
        self.replace_by_symlink("/etc/shadow")
        self.assert_not_served(c)
        self.quit(c)

    def test_message_replaced_by_symlink_to_owned_file(self):
        c = self.session()
        self.replace_by_symlink(self.outside_file())
        self.assert_not_served(c)
        self.ok(c, "RETR 2")
        self.assertEqual(c.body()[-1], b"body 2")
        self.quit(c)

    def test_symlink_present_at_login_is_not_listed(self):
        self.replace_by_symlink(self.outside_file())
        c = self.session()
        self.assertEqual(c.ask("STAT")[:6], b"+OK 1 ")
        self.ok(c, "RETR 1")
        body = c.body()
        self.assertEqual(body[-1], b"body 2")
        self.quit(c)

    def test_missing_maildir_is_created_empty(self):
        home = os.path.join(self.host.dir, "home")
        os.makedirs(home, mode=0o755, exist_ok=True)
        self.host.add_user("carol", "cpw", maildir=False)
        carol_home = self.host.users["carol"][2]
        os.mkdir(carol_home, 0o700)
        self.host.chown("carol", carol_home)
        self.host.write_conf(maildir="%h/Maildir")
        c = self.session("carol", "cpw")
        self.assertEqual(c.ask("STAT"), b"+OK 0 0")
        self.quit(c)
        for sub in ("new", "cur", "tmp"):
            self.assertTrue(os.path.isdir(os.path.join(carol_home, "Maildir", sub)))


if __name__ == "__main__":
    pop3test.main()
