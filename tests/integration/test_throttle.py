#!/usr/bin/env python3
"""The login throttle (pop3d.conf(5), THROTTLE): failures remembered
across connections by client address and user name.  pop3d runs on
pipes with the client address in TCPREMOTEIP, as tcpserver sets it,
against a throw-away mail host whose throttle state is its own; the
settings are small so that a block lasts seconds."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

USER, PASSWORD = "alice", "s3cret"
FAILED = b"-ERR [AUTH] Authentication failed"
ATTACKER, OTHER = "192.0.2.66", "198.51.100.7"
FAILURES, DELAY_MS, DELAY_MAX_MS, BLOCK = 3, 100, 400, 3
FAIL_DELAY_MS = 200
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


class ThrottleCase(unittest.TestCase):
    def setUp(self):
        self.host = pop3test.Mailhost(
            plaintext_auth="yes", auth_fail_delay_ms=FAIL_DELAY_MS,
            throttle_failures=FAILURES, throttle_delay_ms=DELAY_MS,
            throttle_delay_max_ms=DELAY_MAX_MS,
            throttle_block_time=BLOCK)
        self.addCleanup(self.host.cleanup)
        self.state = self.host.conf["throttle_dir"]
        self.path = os.path.join(self.state, "throttle")
        self.host.add_user(USER, PASSWORD)

    def close(self, c):
        rc, log = c.close()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log)
        self.assertGreaterEqual(rc, 0, log)
        return log

    def connect(self, addr):
        c = pop3test.Pipe(self.host, env={"TCPREMOTEIP": addr})
        try:
            self.assertTrue(c.line().startswith(b"+OK"))
        except BaseException:
            self.close(c)
            raise
        return c

    def attempts(self, addr, *passwords, user=USER):
        """One connection: USER and PASS for each password.  Returns the
        replies to PASS, the seconds each took, and pop3d's log."""
        c = self.connect(addr)
        replies, took = [], []
        try:
            for pw in passwords:
                self.assertTrue(c.cmd(f"USER {user}").startswith(b"+OK"))
                t0 = time.monotonic()
                replies.append(c.cmd(f"PASS {pw}"))
                took.append(time.monotonic() - t0)
                if replies[-1].startswith(b"+OK"):
                    self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
                    break
        finally:
            log = self.close(c)
        return replies, took, log

    def attempt(self, addr, password, user=USER):
        replies, took, log = self.attempts(addr, password, user=user)
        return replies[0], took[0], log

    def block(self, addr, user=USER):
        """Wrong passwords from addr until it is refused."""
        for i in range(FAILURES):
            r, _, log = self.attempt(addr, f"wrong{i}", user)
            self.assertEqual(r, FAILED)
            self.assertIn("auth failed", log)


class Source(ThrottleCase):
    def test_delays_grow_then_the_address_is_refused_unchecked(self):
        took, logs = [], []
        for i in range(FAILURES):
            r, t, log = self.attempt(ATTACKER, f"wrong{i}")
            self.assertEqual(r, FAILED)
            took.append(t)
            logs.append(log)
        self.assertNotIn("auth throttled", logs[0])
        self.assertRegex(logs[1], r"auth throttled user=alice method=USER "
                         rf"remote={ATTACKER} delay={DELAY_MS}\n")
        self.assertIn(f"delay={2 * DELAY_MS}\n", logs[2])
        # Each failure answered auth_fail_delay_ms after its delay.
        for t, extra in zip(took, (0, DELAY_MS, 2 * DELAY_MS)):
            self.assertGreaterEqual(t, (FAIL_DELAY_MS + extra) / 1000 - 0.01)
        self.assertLess(took[0], took[2])
        # Blocked: even the right password is refused, and not checked.
        r, t, log = self.attempt(ATTACKER, PASSWORD)
        self.assertEqual(r, FAILED)
        self.assertRegex(log, r"auth blocked user=alice method=USER "
                         rf"remote={ATTACKER} wait=[1-{BLOCK}]\n")
        self.assertNotIn("auth failed", log)
        self.assertNotIn("auth ok", log)
        self.assertGreaterEqual(t, FAIL_DELAY_MS / 1000 - 0.01)
        # The block ends throttle_block_time after the last failure.
        time.sleep(BLOCK + 0.2)
        r, _, log = self.attempt(ATTACKER, PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)
        self.assertNotIn("auth throttled", log)

    def test_unknown_user_is_throttled_alike(self):
        seen = {}
        for user in (USER, "nobody"):
            addr = "192.0.2.1" if user == USER else "192.0.2.2"
            replies, logs = [], []
            for i in range(FAILURES + 1):
                r, _, log = self.attempt(addr, f"wrong{i}", user)
                replies.append(r)
                # The seconds left may differ by a clock tick.
                logs.append(re.sub(r"pop3d\[\d+\]|user=\S+|remote=\S+|"
                                   r"wait=\d+", "", log))
            seen[user] = (replies, logs)
        self.assertEqual(seen[USER], seen["nobody"])

    def test_success_clears_the_address(self):
        replies, _, log = self.attempts(ATTACKER, "wrong1", "wrong2", PASSWORD)
        self.assertEqual(replies[:2], [FAILED, FAILED])
        self.assertTrue(replies[2].startswith(b"+OK"), log)
        self.assertIn(f"delay={2 * DELAY_MS}\n", log)
        r, _, log = self.attempt(ATTACKER, "wrong3")
        self.assertEqual(r, FAILED)
        self.assertNotIn("auth throttled", log)

    def test_max_auth_failures_still_closes(self):
        self.host.write_conf(max_auth_failures=2, throttle_failures=10)
        c = self.connect(ATTACKER)
        try:
            for i, want in enumerate((FAILED, FAILED + b", closing")):
                self.assertTrue(c.cmd(f"USER {USER}").startswith(b"+OK"))
                self.assertEqual(c.cmd(f"PASS wrong{i}"), want)
            self.assertEqual(c.line(), b"")
        finally:
            self.close(c)

    def test_attempts_in_parallel_are_counted_before_the_check(self):
        clients = [self.connect(ATTACKER) for _ in range(6)]
        try:
            for c in clients:
                self.assertTrue(c.cmd(f"USER {USER}").startswith(b"+OK"))
            for c in clients:
                c.send("PASS wrong\r\n")
            self.assertEqual([c.line() for c in clients], [FAILED] * 6)
        finally:
            log = "".join(self.close(c) for c in clients)
        self.assertEqual(log.count("auth failed"), FAILURES, log)
        self.assertEqual(log.count("auth blocked"), 6 - FAILURES, log)

    def test_guesses_take_block_times(self):
        """The arithmetic of pop3d.conf(5) at small settings: two
        passwords a connection, as many connections as it takes, until
        3 * FAILURES + 1 passwords were checked; each FAILURES checked
        cost a block.  (At the defaults, 200 over 100 connections take
        over three hours.)"""
        want, checked, conns = 3 * FAILURES + 1, 0, 0
        t0 = time.monotonic()
        deadline = t0 + 4 * BLOCK + 30
        while checked < want and time.monotonic() < deadline:
            _, _, log = self.attempts(ATTACKER, "wrong-a", "wrong-b")
            conns += 1
            checked += log.count("auth failed")
            if "auth blocked" in log:
                time.sleep(0.1)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(checked, want)
        # Three blocks; a time in whole seconds ends one up to 1 s early.
        self.assertGreaterEqual(elapsed, 3 * (BLOCK - 1), (elapsed, conns))

    def test_ipv6_is_keyed_by_its_64(self):
        self.block("2001:db8:1:2::1")
        r, _, log = self.attempt("2001:db8:1:2:ffff::9", PASSWORD)
        self.assertEqual(r, FAILED)
        self.assertIn("auth blocked", log)
        r, _, log = self.attempt("2001:db8:1:3::1", PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)

    def test_ipv4_mapped_is_the_ipv4_address(self):
        self.block("192.0.2.9")
        r, _, log = self.attempt("::ffff:192.0.2.9", PASSWORD)
        self.assertIn("auth blocked", log)

    def test_exempt_and_off(self):
        for i in range(FAILURES + 2):
            r, _, log = self.attempt("127.0.0.1", f"wrong{i}")
            self.assertNotIn("auth throttled", log)
            self.assertNotIn("auth blocked", log)
        self.host.write_conf(throttle_exempt="192.0.2.0/24")
        self.block(ATTACKER)
        r, _, log = self.attempt(ATTACKER, PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)
        self.host.write_conf(throttle_exempt="", throttle="no")
        self.block(ATTACKER)
        r, _, log = self.attempt(ATTACKER, PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)
        self.assertFalse(os.path.exists(self.path))

    def test_over_a_pipe_nothing_is_throttled(self):
        """No address (a pipe, "local"): nothing to key a throttle by."""
        for _ in range(2):
            c = pop3test.Pipe(self.host)
            self.assertTrue(c.line().startswith(b"+OK"))
            for i in range(FAILURES - 1):
                self.assertTrue(c.cmd(f"USER {USER}").startswith(b"+OK"))
                self.assertEqual(c.cmd("PASS wrong"), FAILED)
            log = self.close(c)
            self.assertIn("remote=local", log)
            self.assertNotIn("auth throttled", log)
        self.assertFalse(os.path.exists(self.path))


class Scram(ThrottleCase):
    """SCRAM checks its proof in a second message: the throttle stands
    before that check as before a password's."""

    def exchange(self, addr, password):
        from test_sasl import Scram as Client
        c = self.connect(addr)
        try:
            s = Client("sam", password)
            r = c.cmd(f"AUTH SCRAM-SHA-256 {s.first()}")
            self.assertTrue(r.startswith(b"+ "), r)
            r = c.cmd(s.final(r[2:].decode()))
            if r.startswith(b"+ "):
                r = c.cmd("")
        finally:
            log = self.close(c)
        return r, log

    def test_blocked_address_gets_no_proof_check(self):
        self.host.add_user("sam", "pencil", scheme="SCRAM-SHA-256")
        logs = []
        for i in range(FAILURES):
            r, log = self.exchange(ATTACKER, f"wrong{i}")
            self.assertEqual(r, FAILED)
            logs.append(log)
        self.assertIn("auth throttled user=sam method=SCRAM-SHA-256 "
                      f"remote={ATTACKER} delay={DELAY_MS}\n", logs[1])
        r, log = self.exchange(ATTACKER, "pencil")
        self.assertEqual(r, FAILED)
        self.assertIn("auth blocked user=sam method=SCRAM-SHA-256", log)
        self.assertNotIn("auth ok", log)
        r, log = self.exchange(OTHER, "pencil")
        self.assertTrue(r.startswith(b"+OK"), log)


class User(ThrottleCase):
    def login_times(self, addr, n=5):
        took = []
        for _ in range(n):
            r, t, log = self.attempt(addr, PASSWORD)
            self.assertTrue(r.startswith(b"+OK"), log)
            self.assertNotIn("auth throttled", log)
            took.append(t)
        return statistics.median(took)

    def test_right_login_from_another_address_stays_fast(self):
        before = self.login_times(OTHER)
        # An attack on alice from several addresses, each one blocked.
        for n in range(1, 4):
            self.block(f"192.0.2.{n}")
        during = self.login_times(OTHER)
        self.assertLess(during, FAIL_DELAY_MS / 1000, (before, during))
        self.assertLess(during, before + 0.1, (before, during))

    def test_user_under_attack_slows_addresses_that_failed(self):
        # Four addresses fail once each: the user name has four failures.
        for n in range(1, 5):
            r, _, log = self.attempt(f"192.0.2.{n}", "wrong")
            self.assertNotIn("auth throttled", log)
        # An address with one failure of its own would wait DELAY_MS; the
        # user name's count makes it the longest delay, never more.
        r, t, log = self.attempt("192.0.2.1", PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)
        self.assertIn(f"auth throttled user=alice method=USER "
                      f"remote=192.0.2.1 delay={DELAY_MAX_MS}\n", log)
        self.assertGreaterEqual(t, DELAY_MAX_MS / 1000 - 0.01)
        # The right password cleared the user name too.
        r, _, log = self.attempt("192.0.2.2", PASSWORD)
        self.assertIn(f"delay={DELAY_MS}\n", log)

    def test_user_is_never_refused(self):
        for n in range(1, 4 * FAILURES):
            self.attempt(f"192.0.2.{n}", "wrong")
        r, t, log = self.attempt("192.0.2.1", PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)
        self.assertLess(t, DELAY_MAX_MS / 1000 + 2)


class BrokenState(ThrottleCase):
    """A state that cannot be trusted refuses no login: it is logged and,
    where it can be, made anew."""

    def failed_then_right(self, want):
        r, _, log = self.attempt(ATTACKER, "wrong")
        self.assertEqual(r, FAILED)
        self.assertIn(want, log)
        r, _, log = self.attempt(ATTACKER, PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)
        return log

    def test_corrupted(self):
        self.attempt(ATTACKER, "wrong")
        size = os.path.getsize(self.path)
        with open(self.path, "r+b") as f:
            f.write(os.urandom(size))
        self.failed_then_right("throttle: bad header: made anew")
        # Made anew, it throttles again.
        log = self.failed_then_right("auth failed")
        self.assertIn(f"delay={DELAY_MS}", log)

    def test_corrupted_slots(self):
        self.attempt(ATTACKER, "wrong")
        size = os.path.getsize(self.path)
        with open(self.path, "r+b") as f:
            f.seek(16)
            f.write(os.urandom(size - 16))
        log = self.failed_then_right("auth failed")
        self.assertNotIn("made anew", log)

    def test_count_out_of_range_is_a_free_slot(self):
        self.block(ATTACKER)
        with open(self.path, "r+b") as f:
            data = bytearray(f.read())
        i = data.index(f"s:{ATTACKER}\0".encode())
        data[i + 144:i + 148] = (2 ** 31).to_bytes(4, sys.byteorder)
        with open(self.path, "wb") as f:
            f.write(data)
        r, _, log = self.attempt(ATTACKER, PASSWORD)
        self.assertTrue(r.startswith(b"+OK"), log)

    def test_truncated(self):
        self.attempt(ATTACKER, "wrong")
        os.truncate(self.path, 100)
        self.failed_then_right("throttle: wrong size: made anew")

    def test_symlink(self):
        os.makedirs(self.state, mode=0o700)
        target = os.path.join(self.host.dir, "target")
        with open(target, "wb") as f:
            f.write(b"keep me")
        os.symlink(target, self.path)
        self.failed_then_right("throttle: a symbolic link: made anew")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"keep me")

    def test_unwritable(self):
        """A directory in the file's place can be neither written nor
        removed: no throttle, logged, and the logins go on."""
        os.makedirs(os.path.join(self.path, "x"), mode=0o700)
        log = self.failed_then_right("throttle: remove")
        self.assertNotIn("auth throttled", log)

    def test_directory_open_to_others(self):
        os.makedirs(self.state)
        os.chmod(self.state, 0o777)
        log = self.failed_then_right("no throttle")
        self.assertIn("throttle_dir", log)

    def test_pop3d_t_checks_the_directory(self):
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=pop3test.WAIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(self.state), "pop3d -t made it")
        os.makedirs(self.state)
        os.chmod(self.state, 0o777)
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=pop3test.WAIT)
        self.assertEqual(r.returncode, 78, r.stdout)
        self.assertIn(b"throttle_dir", r.stderr)
        os.rmdir(self.state)
        self.host.write_conf(throttle_dir="/nonexistent/pop3d")
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=pop3test.WAIT)
        self.assertEqual(r.returncode, 78, r.stdout)
        self.assertIn(b"cannot be made", r.stderr)
        self.host.write_conf(throttle="no")
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=pop3test.WAIT)
        self.assertEqual(r.returncode, 0, r.stderr)


class Fail2ban(ThrottleCase):
    """The shipped filter matches pop3d's own lines for a wrong password
    and a refused address, with the client's address, and nothing else."""
    FILTER = os.path.join(pop3test.UNITS, "fail2ban-pop3d.conf")
    COMMON = "/etc/fail2ban/filter.d/common.conf"

    def regex(self, lines):
        """fail2ban-regex on lines as syslog writes them: (matched
        addresses, output)."""
        tmp = tempfile.mkdtemp(prefix="pop3d-f2b-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.mkdir(os.path.join(tmp, "filter.d"))
        shutil.copy(self.COMMON, os.path.join(tmp, "filter.d"))
        shutil.copy(self.FILTER, os.path.join(tmp, "filter.d", "pop3d.conf"))
        logfile = os.path.join(tmp, "mail.log")
        stamp = time.strftime("%b %e %H:%M:%S")
        with open(logfile, "w") as f:
            for line in lines:
                f.write(f"{stamp} mail {line}\n")
        r = subprocess.run(["fail2ban-regex", "-c", tmp, "-v", logfile,
                            "pop3d"], capture_output=True, text=True,
                           timeout=pop3test.WAIT * 6)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        hits = re.findall(r"^\|\s+(\S+)\s+\w{3} \w{3} +\d+ ", r.stdout, re.M)
        return hits, r.stdout

    def test_filter_matches_real_failures(self):
        if not pop3test.have("fail2ban-regex") or \
                not os.path.exists(self.COMMON):
            self.skipTest("fail2ban not installed")
        self.host.write_conf(throttle_failures=1)
        _, _, failed = self.attempt("192.0.2.7", "wrong")
        _, _, blocked = self.attempt("192.0.2.7", "wrong")
        _, _, v6 = self.attempt("2001:db8::7", "wrong", user="nobody")
        _, _, good = self.attempt(OTHER, PASSWORD)
        _, _, loopback = self.attempt("127.0.0.1", "wrong")
        lines = [ln for log in (failed, blocked, v6, good, loopback)
                 for ln in log.splitlines() if ln.startswith("pop3d[")]
        self.assertTrue([ln for ln in lines if "auth blocked" in ln], lines)
        hits, out = self.regex(lines)
        self.assertEqual(hits, ["192.0.2.7", "192.0.2.7", "2001:db8::7",
                                "127.0.0.1"], out)
        self.assertRegex(out, rf"Lines: {len(lines)} lines, 0 ignored, "
                         r"4 matched")


if __name__ == "__main__":
    pop3test.main()
