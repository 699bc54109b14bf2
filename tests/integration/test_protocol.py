#!/usr/bin/env python3
"""RFC 1939, 2449 and 5034 behaviour of pop3d, driven over pipes."""
import base64
import contextlib
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "alice", "s3cret pass"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def wire_form(data):
    """What RETR must deliver for file content data, after un-stuffing."""
    data = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def plain(authzid, authcid, password):
    raw = f"{authzid}\0{authcid}\0{password}".encode()
    return base64.b64encode(raw).decode()


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
        """One status line; AssertionError if the connection ends first."""
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            if not self._fill(deadline):
                raise AssertionError(f"connection closed; have {self.buf!r}")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def ask(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def body(self, timeout=pop3test.WAIT):
        """A multi-line body as the octets it stands for, un-stuffed."""
        deadline = time.monotonic() + timeout
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            if len(self.buf) >= 3 or not self.buf.startswith(b"."):
                i = self.buf.find(b"\r\n.\r\n", start)
                if i >= 0:
                    raw, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                    if raw.startswith(b"."):
                        raw = raw[1:]
                    return raw.replace(b"\r\n.", b"\r\n")
                start = max(0, len(self.buf) - 4)
            if not self._fill(deadline):
                raise AssertionError("connection closed inside a multi-line reply")

    def body_lines(self):
        return self.body().split(b"\r\n")[:-1]

    def wait_eof(self, timeout=pop3test.WAIT):
        """Read to the end of the stream; returns what came before it."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        rest, self.buf = self.buf, b""
        return rest


class ProtocolCase(unittest.TestCase):
    """A fresh mail host with one user for every test."""

    def setUp(self):
        self.host = pop3test.Mailhost()
        self.addCleanup(self.host.cleanup)
        self.host.add_user(USER, PASSWORD)

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
        """Close c once; a sanitizer report in its log fails the test."""
        if c.closed:
            return c.result
        c.closed = True
        c.result = c.close()
        rc, log = c.result
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log)
        self.assertGreaterEqual(rc, 0, f"pop3d killed by a signal:\n{log}")
        return c.result

    def greeted(self):
        c = self.client()
        self.assertTrue(c.reply().startswith(b"+OK"))
        return c

    def session(self, user=USER, password=PASSWORD):
        c = self.greeted()
        self.assertTrue(c.ask(f"USER {user}").startswith(b"+OK"))
        r = c.ask(f"PASS {password}")
        self.assertTrue(r.startswith(b"+OK"), r)
        return c

    def ok(self, c, line):
        r = c.ask(line)
        self.assertTrue(r.startswith(b"+OK"), f"{line!r} -> {r!r}")
        return r

    def err(self, c, line):
        r = c.ask(line)
        self.assertTrue(r.startswith(b"-ERR"), f"{line!r} -> {r!r}")
        return r

    def quit(self, c):
        self.ok(c, "QUIT")
        self.assertEqual(c.wait_eof(), b"")

    def deliver(self, *messages, **kw):
        return [self.host.deliver(USER, m, **kw) for m in messages]

    def stat(self, c):
        m = re.fullmatch(rb"\+OK (\d+) (\d+)", c.ask("STAT"))
        self.assertIsNotNone(m)
        return int(m.group(1)), int(m.group(2))

    def listing(self, c, cmd="LIST"):
        """LIST or UIDL as {number: value}."""
        self.ok(c, cmd)
        out = {}
        for line in c.body_lines():
            n, v = line.split(b" ")
            out[int(n)] = v.decode()
        return out

    def capabilities(self, c):
        self.ok(c, "CAPA")
        return [l.decode() for l in c.body_lines()]


class GreetingAndCapabilities(ProtocolCase):

    def test_greeting_is_positive_single_line(self):
        c = self.client()
        r = c.reply()
        self.assertTrue(r.startswith(b"+OK "), r)
        self.assertLessEqual(len(r) + 2, 512)

    def test_capa_lists_required_capabilities(self):
        caps = self.capabilities(self.greeted())
        for want in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE",
                     "PIPELINING"):
            self.assertIn(want, caps)
        sasl = [c.split()[1:] for c in caps if c.startswith("SASL ")]
        self.assertIn("PLAIN", sasl[0])
        self.assertTrue(any(c.startswith("IMPLEMENTATION ") for c in caps), caps)

    def test_capa_identical_before_and_after_login(self):
        c = self.greeted()
        before = self.capabilities(c)
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")
        self.assertEqual(self.capabilities(c), before)


    def test_quit_before_login_ends_connection(self):
        c = self.greeted()
        self.ok(c, "QUIT")
        self.assertEqual(c.wait_eof(), b"")

class Login(ProtocolCase):

    def test_user_pass_reports_messages_and_octets(self):
        self.deliver("a\n", "bb\n")
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        r = c.ask(f"PASS {PASSWORD}")
        self.assertTrue(r.startswith(b"+OK"), r)
        self.assertIn(b"2", r)
        self.assertEqual(self.stat(c), (2, 3 + 4))

    def test_wrong_password_is_auth_error(self):
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        self.assertTrue(c.ask("PASS wrong").startswith(b"-ERR [AUTH]"))

    def test_password_with_spaces_is_taken_whole(self):
        c = self.greeted()
        self.ok(c, f"USER {USER}")
        self.err(c, "PASS s3cret")
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")


class Transaction(ProtocolCase):

    def test_stat_and_list_give_count_and_sizes(self):
        self.deliver("one\n", "two two\n", "three\r\n")
        c = self.session()
        self.assertEqual(self.stat(c), (3, 5 + 9 + 7))
        self.assertEqual(self.listing(c), {1: "5", 2: "9", 3: "7"})

    def test_list_of_one_message(self):
        self.deliver("one\n", "two two\n")
        c = self.session()
        self.assertEqual(c.ask("LIST 2"), b"+OK 2 9")

    def test_list_of_missing_message_fails(self):
        self.deliver("one\n")
        c = self.session()
        self.err(c, "LIST 2")
        self.ok(c, "LIST 1")

    def test_empty_maildrop(self):
        c = self.session()
        self.assertEqual(self.stat(c), (0, 0))
        self.assertEqual(self.listing(c), {})
        self.assertEqual(self.listing(c, "UIDL"), {})
        self.err(c, "RETR 1")

    def test_uidl_gives_base_names(self):
        new, = self.deliver("n\n")
        cur, = self.deliver("c\n", sub="cur")
        c = self.session()
        uidls = self.listing(c, "UIDL")
        self.assertEqual(sorted(uidls.values()), sorted([new, cur.split(":")[0]]))
        for n, u in uidls.items():
            self.assertEqual(c.ask(f"UIDL {n}"), f"+OK {n} {u}".encode())

    def test_uidls_stable_across_sessions(self):
        self.deliver("a\n", "b\n", "c\n")
        c = self.session()
        first = self.listing(c, "UIDL")
        self.ok(c, "RETR 2")
        c.body()
        self.quit(c)
        c = self.session()
        self.assertEqual(self.listing(c, "UIDL"), first)

    def test_keywords_are_case_insensitive(self):
        self.deliver("a\n", "bb\n")
        c = self.session()
        self.assertEqual(c.ask("stat"), b"+OK 2 7")
        self.assertEqual(c.ask("LiSt 1"), b"+OK 1 3")
        self.assertEqual(c.ask("uidl 2").split(b" ")[:2], [b"+OK", b"2"])
        self.ok(c, "noop")
        self.ok(c, "rEtR 1")
        self.assertEqual(c.body(), b"a\r\n")
        self.ok(c, "Top 2 0")
        c.body()
        self.ok(c, "dele 1")
        self.ok(c, "rset")
        self.ok(c, "capa")
        c.body()
        self.ok(c, "quit")

    def test_noop(self):
        c = self.session()
        self.ok(c, "NOOP")
        self.ok(c, "NOOP")


class MessageContent(ProtocolCase):
    """STAT, LIST and RETR agree with the octets of the message."""

    KINDS = {
        "lf": b"Subject: lf\n\nline one\nline two\n",
        "crlf": b"Subject: crlf\r\n\r\nline one\r\nline two\r\n",
        "mixed": b"Subject: mixed\r\nX: y\n\r\nbody\nmore\r\nend\n",
        "no_final_newline": b"Subject: nfn\n\nlast line without end",
        "dot_lines": b"Subject: dots\n\n.\n..\n.hidden\n...three\nend.\n.",
        "empty": b"",
        "only_newline": b"\n",
        "cr_inside_line": b"Subject: cr\n\na\rb\n",
    }

    def big_message(self):
        line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\n"
        body = bytearray(b"Subject: big\n\n")
        i = 0
        while len(body) < (1 << 20):
            body += (b"." if i % 97 == 0 else b"") + line
            i += 1
        return bytes(body[:1 << 20])

    def check_retrieved(self, c, n, data):
        want = wire_form(data)
        self.assertEqual(c.ask(f"LIST {n}"), f"+OK {n} {len(want)}".encode())
        r = c.ask(f"RETR {n}")
        self.assertTrue(r.startswith(b"+OK"), r)
        got = c.body()
        self.assertEqual(len(got), len(want))
        self.assertEqual(got, want)

    def test_sizes_match_retrieved_octets(self):
        kinds = dict(self.KINDS, one_mebibyte=self.big_message())
        names = list(kinds)
        self.deliver(*(kinds[k] for k in names))
        c = self.session()
        total = sum(len(wire_form(kinds[k])) for k in names)
        self.assertEqual(self.stat(c), (len(names), total))
        sizes = self.listing(c)
        for n, k in enumerate(names, 1):
            with self.case(kind=k):
                self.assertEqual(int(sizes[n]), len(wire_form(kinds[k])))
                self.check_retrieved(c, n, kinds[k])
        self.quit(c)

    def test_retr_reply_names_the_size(self):
        self.deliver("abc\n")
        c = self.session()
        r = c.ask("RETR 1")
        self.assertEqual(r.split(b" ")[:2], [b"+OK", b"5"])
        self.assertEqual(c.body(), b"abc\r\n")

    def test_dot_lines_are_stuffed_on_the_wire(self):
        self.deliver(b"S: x\n\n.\n.a\nb\n")
        c = self.session()
        self.ok(c, "RETR 1")
        lines = [c.reply() for _ in range(6)]
        self.assertEqual(lines, [b"S: x", b"", b"..", b"..a", b"b", b"."])

    def test_empty_message_is_just_the_terminator(self):
        self.deliver(b"")
        c = self.session()
        self.assertEqual(c.ask("LIST 1"), b"+OK 1 0")
        self.ok(c, "RETR 1")
        self.assertEqual(c.reply(), b".")
        self.ok(c, "NOOP")


class Top(ProtocolCase):
    MSG = b"From: a\nSubject: t\n\nb1\nb2\n.b3\nb4\n"

    def setUp(self):
        super().setUp()
        self.deliver(self.MSG, b"Subject: no body\nX-Other: header\n")
        self.c = self.session()

    def top(self, n, lines):
        self.ok(self.c, f"TOP {n} {lines}")
        return self.c.body()

    def test_top_zero_sends_header_and_separator(self):
        self.assertEqual(self.top(1, 0), b"From: a\r\nSubject: t\r\n\r\n")

    def test_top_two_lines(self):
        self.assertEqual(self.top(1, 2),
                         b"From: a\r\nSubject: t\r\n\r\nb1\r\nb2\r\n")

    def test_top_dot_line_is_stuffed_and_counted_once(self):
        self.assertEqual(self.top(1, 3),
                         b"From: a\r\nSubject: t\r\n\r\nb1\r\nb2\r\n.b3\r\n")

    def test_top_beyond_end_sends_whole_message(self):
        self.assertEqual(self.top(1, 1000), wire_form(self.MSG))

    def test_top_of_message_without_blank_line(self):
        want = b"Subject: no body\r\nX-Other: header\r\n"
        self.assertEqual(self.top(2, 0), want)
        self.assertEqual(self.top(2, 5), want)

    def test_top_with_largest_accepted_count(self):
        self.assertEqual(self.top(1, "9" * 18), wire_form(self.MSG))

    def test_top_keeps_session_in_step(self):
        self.top(1, 0)
        self.assertEqual(self.c.ask("LIST 2").split(b" ")[:2], [b"+OK", b"2"])


class DeleteAndReset(ProtocolCase):

    def setUp(self):
        super().setUp()
        self.names = self.deliver("first\n", "second\n", "third\n")

    def test_deleted_message_leaves_stat_list_and_uidl(self):
        c = self.session()
        self.ok(c, "DELE 2")
        self.assertEqual(self.stat(c), (2, 7 + 7))
        self.assertEqual(sorted(self.listing(c)), [1, 3])
        uidls = self.listing(c, "UIDL")
        self.assertEqual(sorted(uidls), [1, 3])
        self.assertNotIn(self.names[1], uidls.values())
        self.err(c, "LIST 2")
        self.err(c, "UIDL 2")

    def test_deleted_message_cannot_be_read_or_deleted_again(self):
        c = self.session()
        self.ok(c, "DELE 1")
        self.err(c, "RETR 1")
        self.err(c, "TOP 1 0")
        self.err(c, "DELE 1")
        self.ok(c, "RETR 2")
        self.assertEqual(c.body(), b"second\r\n")

    def test_numbers_do_not_shift_after_dele(self):
        c = self.session()
        self.ok(c, "DELE 1")
        self.ok(c, "RETR 3")
        self.assertEqual(c.body(), b"third\r\n")

    def test_rset_restores_deleted_messages(self):
        c = self.session()
        before = (self.stat(c), self.listing(c), self.listing(c, "UIDL"))
        self.ok(c, "DELE 1")
        self.ok(c, "DELE 3")
        self.ok(c, "RSET")
        self.assertEqual((self.stat(c), self.listing(c), self.listing(c, "UIDL")),
                         before)
        self.ok(c, "RETR 1")
        self.assertEqual(c.body(), b"first\r\n")
        self.quit(c)
        self.assertEqual(len(self.host.files(USER)), 3)

    def test_quit_removes_exactly_the_deleted_files(self):
        c = self.session()
        self.ok(c, "DELE 1")
        self.ok(c, "DELE 3")
        self.ok(c, "NOOP")
        self.assertEqual(len(self.host.files(USER)), 3, "deleted before QUIT")
        self.quit(c)
        self.assertEqual(self.host.files(USER), [f"new/{self.names[1]}"])

    def test_dele_then_rset_then_dele_deletes_only_the_last(self):
        c = self.session()
        self.ok(c, "DELE 1")
        self.ok(c, "RSET")
        self.ok(c, "DELE 2")
        self.quit(c)
        self.assertEqual(self.host.files(USER),
                         sorted(f"new/{self.names[i]}" for i in (0, 2)))


class Update(ProtocolCase):

    def test_retrieved_new_messages_move_to_cur_as_seen(self):
        a, b, d = self.deliver("a\n", "b\n", "d\n")
        c = self.session()
        self.ok(c, "RETR 1")
        c.body()
        self.ok(c, "TOP 2 0")
        c.body()
        self.assertEqual(len([f for f in self.host.files(USER)
                              if f.startswith("cur/")]), 0, "moved before QUIT")
        self.quit(c)
        self.assertEqual(self.host.files(USER),
                         sorted([f"cur/{a}:2,S", f"new/{b}", f"new/{d}"]))

    def test_retrieved_cur_message_gains_seen_flag(self):
        name, = self.deliver("x\n", sub="cur")
        c = self.session()
        self.ok(c, "RETR 1")
        c.body()
        self.quit(c)
        self.assertEqual(self.host.files(USER), [f"cur/{name}S"])

    def test_quit_without_changes_touches_nothing(self):
        names = self.deliver("a\n", "b\n")
        c = self.session()
        self.ok(c, "TOP 1 0")
        c.body()
        self.quit(c)
        self.assertEqual(self.host.files(USER), sorted(f"new/{n}" for n in names))

    def test_retrieved_message_still_readable_next_session(self):
        self.deliver("kept\n")
        c = self.session()
        uidl = self.listing(c, "UIDL")
        self.ok(c, "RETR 1")
        c.body()
        self.quit(c)
        c = self.session()
        self.assertEqual(self.listing(c, "UIDL"), uidl)
        self.ok(c, "RETR 1")
        self.assertEqual(c.body(), b"kept\r\n")


class Snapshot(ProtocolCase):

    def test_message_delivered_after_login_waits_for_next_session(self):
        self.deliver("early\n")
        c = self.session()
        self.deliver("late\n")
        self.assertEqual(self.stat(c)[0], 1)
        self.err(c, "RETR 2")
        self.assertEqual(len(self.listing(c, "UIDL")), 1)
        self.quit(c)
        c = self.session()
        self.assertEqual(self.stat(c)[0], 2)
        self.ok(c, "RETR 2")
        self.assertEqual(c.body(), b"late\r\n")

    def test_order_follows_delivery_time_in_file_name(self):
        self.host.deliver(USER, "third\n", when=1700000300)
        self.host.deliver(USER, "first\n", when=1700000100)
        self.host.deliver(USER, "second\n", sub="cur", when=1700000200)
        c = self.session()
        for n, want in enumerate((b"first", b"second", b"third"), 1):
            self.ok(c, f"RETR {n}")
            self.assertEqual(c.body(), want + b"\r\n")


class Pipelining(ProtocolCase):

    def test_commands_in_one_write_answered_in_order(self):
        self.deliver("a\n", "bb\n")
        c = self.session()
        c.send("STAT\r\nLIST 2\r\nRETR 1\r\nNOOP\r\nUIDL 1\r\nDELE 2\r\nSTAT\r\n")
        self.assertEqual(c.reply(), b"+OK 2 7")
        self.assertEqual(c.reply(), b"+OK 2 4")
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.body(), b"a\r\n")
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertTrue(c.reply().startswith(b"+OK 1 "))
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.reply(), b"+OK 1 3")

    def check_pipelined_transaction(self, c, names):
        self.assertEqual(c.reply(), b"+OK 2 7")
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.body_lines(), [b"1 3", b"2 4"])
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.body_lines(),
                         [f"{i} {n}".encode() for i, n in enumerate(names, 1)])
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.wait_eof(), b"")

    def test_commands_pipelined_behind_pass(self):
        names = self.deliver("a\n", "bb\n")
        c = self.client()
        c.send(f"USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nUIDL\r\nQUIT\r\n")
        self.assertTrue(c.reply().startswith(b"+OK"))      # greeting
        self.assertTrue(c.reply().startswith(b"+OK"))      # USER
        self.assertTrue(c.reply().startswith(b"+OK"))      # PASS
        self.check_pipelined_transaction(c, names)

    def test_commands_pipelined_behind_auth_plain(self):
        names = self.deliver("a\n", "bb\n")
        c = self.client()
        c.send(f"AUTH PLAIN {plain('', USER, PASSWORD)}\r\n"
               "STAT\r\nLIST\r\nUIDL\r\nQUIT\r\n")
        self.assertTrue(c.reply().startswith(b"+OK"))      # greeting
        self.assertTrue(c.reply().startswith(b"+OK"))      # AUTH
        self.check_pipelined_transaction(c, names)

    def test_commands_pipelined_behind_auth_plain_continuation(self):
        names = self.deliver("a\n", "bb\n")
        c = self.client()
        c.send(f"AUTH PLAIN\r\n{plain('', USER, PASSWORD)}\r\n"
               "STAT\r\nLIST\r\nUIDL\r\nQUIT\r\n")
        self.assertTrue(c.reply().startswith(b"+OK"))      # greeting
        self.assertEqual(c.reply(), b"+ ")
        self.assertTrue(c.reply().startswith(b"+OK"))      # AUTH
        self.check_pipelined_transaction(c, names)

    def test_pipelined_input_larger_than_input_buffer_crosses_login(self):
        self.deliver("a\n")
        c = self.client()
        count = 1000
        c.send(f"USER {USER}\r\nPASS {PASSWORD}\r\n" + "NOOP\r\n" * count +
               "STAT\r\nQUIT\r\n")
        for _ in range(3):
            self.assertTrue(c.reply().startswith(b"+OK"))
        for i in range(count):
            r = c.reply()
            self.assertTrue(r.startswith(b"+OK"), f"NOOP {i}: {r!r}")
        self.assertEqual(c.reply(), b"+OK 1 3")
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.wait_eof(), b"")

    def test_command_split_across_login_boundary(self):
        self.deliver("a\n")
        c = self.client()
        c.send(f"USER {USER}\r\nPASS {PASSWORD}\r\nST")
        for _ in range(3):
            self.assertTrue(c.reply().startswith(b"+OK"))
        c.send("AT\r\nQUIT\r\n")
        self.assertEqual(c.reply(), b"+OK 1 3")
        self.assertTrue(c.reply().startswith(b"+OK"))

    def test_failed_login_does_not_run_pipelined_commands_as_user(self):
        self.deliver("a\n")
        c = self.client()
        c.send(f"USER {USER}\r\nPASS wrong\r\nSTAT\r\nQUIT\r\n")
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertTrue(c.reply().startswith(b"-ERR [AUTH]"))
        self.assertTrue(c.reply().startswith(b"-ERR"))     # STAT: not logged in
        self.assertTrue(c.reply().startswith(b"+OK"))
        self.assertEqual(c.wait_eof(), b"")


class SaslPlain(ProtocolCase):

    def assert_logged_in(self, c):
        self.assertEqual(self.stat(c), (0, 0))

    def test_initial_response(self):
        c = self.greeted()
        self.ok(c, f"AUTH PLAIN {plain('', USER, PASSWORD)}")
        self.assert_logged_in(c)

    def test_mechanism_name_case_insensitive(self):
        c = self.greeted()
        self.ok(c, f"auth plain {plain('', USER, PASSWORD)}")
        self.assert_logged_in(c)

    def test_continuation(self):
        c = self.greeted()
        self.assertEqual(c.ask("AUTH PLAIN"), b"+ ")
        self.ok(c, plain("", USER, PASSWORD))
        self.assert_logged_in(c)

    def test_response_longer_than_command_line_via_continuation(self):
        password = "p" * 200
        self.host.add_user("bob", password)
        response = plain("bob", "bob", password)
        self.assertGreater(len(response), 255)
        c = self.greeted()
        self.assertEqual(c.ask("AUTH PLAIN"), b"+ ")
        self.ok(c, response)
        self.assert_logged_in(c)

    def test_empty_initial_response_fails_cleanly(self):
        c = self.greeted()
        r = self.err(c, "AUTH PLAIN =")
        self.assertFalse(r.startswith(b"+ "))
        self.ok(c, f"AUTH PLAIN {plain('', USER, PASSWORD)}")
        self.assert_logged_in(c)

    def test_star_cancels_and_stays_in_authorization(self):
        c = self.greeted()
        self.assertEqual(c.ask("AUTH PLAIN"), b"+ ")
        self.err(c, "*")
        self.err(c, "STAT")
        self.ok(c, f"USER {USER}")
        self.ok(c, f"PASS {PASSWORD}")
        self.assert_logged_in(c)

    def test_bad_base64_refused(self):
        c = self.greeted()
        for bad in ("!!!!", "AGFsaWNl=x", "A"):
            self.err(c, f"AUTH PLAIN {bad}")
        self.assertEqual(c.ask("AUTH PLAIN"), b"+ ")
        self.err(c, "not base64 at all")
        self.ok(c, f"AUTH PLAIN {plain('', USER, PASSWORD)}")

    def test_malformed_plain_message_refused(self):
        c = self.greeted()
        no_nul = base64.b64encode(b"alice").decode()
        one_nul = base64.b64encode(b"alice\0pw").decode()
        for bad in (no_nul, one_nul, plain("", "", PASSWORD)):
            self.err(c, f"AUTH PLAIN {bad}")
        self.ok(c, f"AUTH PLAIN {plain('', USER, PASSWORD)}")

    def test_foreign_authzid_refused(self):
        self.host.add_user("bob", "bobpw")
        c = self.greeted()
        r = self.err(c, f"AUTH PLAIN {plain('bob', USER, PASSWORD)}")
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.err(c, "STAT")

    def test_authzid_equal_to_authcid_accepted(self):
        c = self.greeted()
        self.ok(c, f"AUTH PLAIN {plain(USER, USER, PASSWORD)}")
        self.assert_logged_in(c)

    def test_wrong_password_is_auth_error(self):
        c = self.greeted()
        r = self.err(c, f"AUTH PLAIN {plain('', USER, 'nope')}")
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)

    def test_auth_without_argument_lists_plain(self):
        c = self.greeted()
        self.ok(c, "AUTH")
        self.assertIn(b"PLAIN", c.body_lines())

    def test_other_mechanisms_refused(self):
        c = self.greeted()
        for mech in ("CRAM-MD5", "GSSAPI", "XOAUTH2", "DIGEST-MD5"):
            r = self.err(c, f"AUTH {mech}")
            self.assertNotEqual(r, b"+ ")
        self.ok(c, f"AUTH PLAIN {plain('', USER, PASSWORD)}")


class TcpClient(ProtocolCase):
    """pop3d on a TCP connection, as a launcher hands it over."""

    def test_nodelay(self):
        """Nagle's algorithm off on the client's socket (common/nodelay.h):
        read on the server's end of the connection, which the test holds
        too."""
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        cli = socket.create_connection(ls.getsockname(), pop3test.WAIT)
        srv, _ = ls.accept()
        ls.close()
        self.addCleanup(cli.close)
        self.addCleanup(srv.close)
        self.assertEqual(srv.getsockopt(socket.IPPROTO_TCP,
                                        socket.TCP_NODELAY), 0)
        log = tempfile.TemporaryFile()
        self.addCleanup(log.close)
        p = subprocess.Popen([*pop3test.WRAP, pop3test.POP3D, "-c",
                              self.host.conf_path], stdin=srv.fileno(),
                             stdout=srv.fileno(), stderr=log)
        f = cli.makefile("rb")
        self.addCleanup(f.close)
        self.assertTrue(f.readline().startswith(b"+OK"), "no greeting")
        self.assertNotEqual(srv.getsockopt(socket.IPPROTO_TCP,
                                           socket.TCP_NODELAY), 0)
        cli.sendall(b"QUIT\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertEqual(p.wait(pop3test.WAIT), 0)
        log.seek(0)
        text = log.read().decode("latin-1")
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, text)


if __name__ == "__main__":
    pop3test.main()
