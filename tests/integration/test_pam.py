#!/usr/bin/env python3
"""passdb = pam: system accounts checked by PAM (pam_unix), for real.

As root only.  The test makes its own accounts with useradd and chpasswd
(homes with a Maildir under a temporary directory, uids from 1000 up),
its own supplementary groups, its own pre-login user, and installs the
shipped systemd/pam.d-pop3d as /etc/pam.d/pop3d-test-TAG (pam_service
names it); everything is removed at the end, whatever happened.

- a right password logs in: the session runs with the account's uid, gid
  and supplementary groups, and serves ~/Maildir; over a socketpair and
  with poplib through systemd-socket-activate;
- a wrong password, an unknown user, root, an account below
  first_valid_uid, a locked account (usermod -L, expired or not), and
  with the right password an account in group 0 or in more than 64
  groups, all get the same "-ERR [AUTH] Authentication failed";
- an expired account (chage -E 0) and one that must change its password
  (chage -d 0) get "-ERR [SYS/PERM] Account unavailable, closing" with
  the right password only, the same failure as everyone else without;
- PAM sees the client's address (PAM_RHOST, no port), PAM_RUSER and
  PAM_TTY (pam_exec records them);
- an unknown user and a wrong password are answered at the same time, and
  the PAM check itself takes well under the default auth_fail_delay_ms;
- pop3d -t knows a missing PAM service;
- with only the capabilities of pop3d@.service and no new privileges,
  PAM still works;
- no copy of the password is left in the monitor after PAM ran.
"""
import os
import poplib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402
from pop3test import POP3D, ROOT, WAIT, WRAP  # noqa: E402

TOOLS = ("useradd", "usermod", "userdel", "chpasswd", "chage", "groupadd",
         "groupdel")
PAM_FILE = os.path.join(pop3test.UNITS, "pam.d-pop3d")
FAILED = "-ERR [AUTH] Authentication failed"
REFUSED = "-ERR [SYS/PERM] Account unavailable, closing"
MESSAGES = [b"Subject: one\n\nfirst body\n", b"Subject: two\n\nsecond\n"]

ACC = None          # the Accounts of this run


def admin(*argv):
    """Run an account tool; other work on this machine may hold the
    password file's lock for a moment: try again then."""
    deadline = time.monotonic() + WAIT * 3
    while True:
        r = subprocess.run(argv, capture_output=True, timeout=WAIT * 3)
        err = r.stderr.decode(errors="replace")
        if r.returncode == 0:
            return
        if "lock" not in err.lower() or time.monotonic() > deadline:
            raise RuntimeError(f"{' '.join(argv)}: status {r.returncode}: "
                               f"{err.strip()}")
        time.sleep(0.3)


def admin_quiet(*argv):
    try:
        admin(*argv)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"# cleanup: {e}")


class Accounts:
    """The run's accounts, groups, PAM service files and directory."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.dir = tempfile.mkdtemp(prefix="pop3d-pam-")
        os.chmod(self.dir, 0o755)
        self.users = []
        self.groups = []
        self.pam_files = []
        self.passwords = {}

    def name(self, what):
        return f"pt{self.tag}{what}"

    def service(self, suffix="", before=""):
        name = f"pop3d-test-{self.tag}{suffix}"
        path = os.path.join("/etc/pam.d", name)
        self.pam_files.append(path)
        with open(PAM_FILE) as f:
            shipped = f.read()
        with open(path, "w") as f:
            f.write(before + shipped)
        return name

    def group(self, what):
        name = self.name(what)
        admin("groupadd", name)
        self.groups.append(name)
        return name

    def user(self, what, password, system=False, groups=(), mail=True):
        name = self.name(what)
        home = os.path.join(self.dir, name)
        argv = ["useradd", "-m", "-d", home, "-s", "/usr/sbin/nologin"]
        if system:
            argv.append("-r")
        if groups:
            argv += ["-G", ",".join(groups)]
        admin(*argv, name)
        self.users.append(name)
        r = subprocess.run(["chpasswd"], input=f"{name}:{password}\n".encode(),
                           capture_output=True, timeout=WAIT * 3)
        if r.returncode != 0:
            raise RuntimeError(f"chpasswd {name}: {r.stderr!r}")
        self.passwords[name] = password
        if mail:
            self.maildir(name, home)
        return name

    @staticmethod
    def maildir(name, home):
        pw = _getpwnam(name)
        md = os.path.join(home, "Maildir")
        for sub in ("", "new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
            os.chown(os.path.join(md, sub), pw.pw_uid, pw.pw_gid)
            os.chmod(os.path.join(md, sub), 0o700)
        for i, m in enumerate(MESSAGES):
            path = os.path.join(md, "new", f"{1700000000 + i}.M{i}P1.host")
            with open(path, "wb") as f:
                f.write(m)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def cleanup(self):
        for name in self.users:
            admin_quiet("userdel", "-r", name)
        for name in self.groups:
            admin_quiet("groupdel", name)
        for path in self.pam_files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _getpwnam(name):
    import pwd
    return pwd.getpwnam(name)


def setUpModule():
    global ACC
    if not ROOT:
        return
    missing = [t for t in TOOLS if not pop3test.have(t)]
    if missing or not os.path.exists("/etc/pam.d/common-auth"):
        return
    ACC = Accounts()
    try:
        build(ACC)
    except BaseException:
        ACC.cleanup()
        ACC = None
        raise


def tearDownModule():
    if ACC is not None:
        ACC.cleanup()


def build(a):
    a.g1, a.g2 = a.group("g1"), a.group("g2")
    a.login_user = a.user("p", "x", system=True, mail=False)
    admin("usermod", "-L", a.login_user)
    a.good = a.user("a", "Right-1 pw", groups=(a.g1, a.g2))
    a.expired = a.user("x", "Right-2 pw")
    admin("chage", "-E", "0", a.expired)
    a.locked = a.user("l", "Right-3 pw")
    admin("usermod", "-L", a.locked)
    a.both = a.user("b", "Right-6 pw")
    admin("usermod", "-L", "-e", "1", a.both)
    a.change = a.user("c", "Right-4 pw")
    admin("chage", "-d", "0", a.change)
    a.system = a.user("s", "Right-5 pw", system=True)
    a.rooted = a.user("r", "Right-7 pw", groups=("root",))
    # One group more than PASSDB_GROUPS_MAX (64), the primary included.
    many = [a.group(f"m{i}") for i in range(64)]
    a.crowded = a.user("m", "Right-8 pw", groups=many)
    a.unknown = a.name("nobody")
    a.service_name = a.service()
    # pam_exec records what PAM was told, in front of the shipped stack.
    a.record = os.path.join(a.dir, "pam-items")
    script = os.path.join(a.dir, "record.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n"
                f"echo \"user=$PAM_USER rhost=$PAM_RHOST ruser=$PAM_RUSER "
                f"tty=$PAM_TTY\" >> {a.record}\n")
    os.chmod(script, 0o755)
    a.recording = a.service("-rec", f"auth optional pam_exec.so quiet {script}\n")


def host(**conf):
    """A Mailhost whose users come from PAM, mail from ~/Maildir."""
    conf = dict(dict(passdb="pam", pam_service=ACC.service_name,
                     login_user=ACC.login_user, plaintext_auth="yes"), **conf)
    h = pop3test.Mailhost(**conf)
    del h.conf["maildir"]           # the default: %h/Maildir
    del h.conf["users_file"]
    h.write_conf()
    return h


class Conn:
    """pop3d on one end of a socketpair; the test holds the other."""

    def __init__(self, h, env=None, before=()):
        a, b = socket.socketpair()
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen([*before, *WRAP, POP3D, "-c", h.conf_path],
                                  stdin=b, stdout=b, stderr=self.log,
                                  env=dict(os.environ, **(env or {})))
        b.close()
        self.sock = a
        self.sock.settimeout(WAIT)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def cmd(self, text):
        try:
            self.sock.sendall((text + "\r\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass                        # closed: what it said is still read
        return self.line()

    def multi(self):
        out = []
        while (line := self.line()) not in (".", None):
            out.append(line)
        return out

    def login(self, user, password):
        assert self.line().startswith("+OK")
        assert self.cmd(f"USER {user}") == "+OK Send PASS"
        return self.cmd(f"PASS {password}")

    def close(self):
        self.sock.close()
        try:
            self.p.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(WAIT)
        self.log.seek(0)
        return self.log.read().decode("latin-1")


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        text = f.read()
    uids = re.search(r"^Uid:\s+(.*)$", text, re.M).group(1).split()
    gids = re.search(r"^Gid:\s+(.*)$", text, re.M).group(1).split()
    groups = re.search(r"^Groups:\s*(.*)$", text, re.M).group(1).split()
    return ({int(u) for u in uids}, {int(g) for g in gids},
            sorted(int(g) for g in groups))


def ready():
    if not ROOT:
        return "needs root: accounts are made with useradd"
    if ACC is None:
        return "needs " + ", ".join(TOOLS) + " and /etc/pam.d/common-auth"
    return None


class PamTest(unittest.TestCase):
    CONF = {}

    @classmethod
    def setUpClass(cls):
        why = ready()
        if why:
            raise unittest.SkipTest(why)
        cls.host = host(**cls.CONF)

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def attempt(self, user, password, env=None):
        """The reply to PASS, what follows it, and the log."""
        c = Conn(self.host, env)
        reply = c.login(user, password)
        after = c.cmd("QUIT") if reply is not None else None
        return reply, after, c.close()


class Login(PamTest):

    def test_session_runs_as_the_account(self):
        pw = _getpwnam(ACC.good)
        c = Conn(self.host)
        reply = c.login(ACC.good, ACC.passwords[ACC.good])
        self.assertEqual(reply, "+OK Logged in, 2 messages (52 octets)")
        self.assertEqual(c.cmd("LIST"), "+OK 2 messages (52 octets)")
        self.assertEqual(c.multi(), ["1 28", "2 24"])
        self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
        self.assertEqual(c.multi(), ["Subject: one", "", "first body"])
        # The monitor became the session: its pid, the account's ids.
        uids, gids, groups = proc_status(c.p.pid)
        want = sorted(os.getgrouplist(ACC.good, pw.pw_gid))
        self.assertEqual(uids, {pw.pw_uid})
        self.assertEqual(gids, {pw.pw_gid})
        self.assertEqual(groups, want)
        import grp
        for g in (ACC.g1, ACC.g2):
            self.assertIn(grp.getgrnam(g).gr_gid, groups)
        self.assertEqual(c.cmd("QUIT"), "+OK Logging out, 0 messages deleted")
        log = c.close()
        self.assertIn(f"auth ok user={ACC.good} method=USER", log)
        self.assertIn(f"login user={ACC.good} method=USER", log)

    def test_auth_plain(self):
        import base64
        blob = base64.b64encode(
            f"\0{ACC.good}\0{ACC.passwords[ACC.good]}".encode()).decode()
        c = Conn(self.host)
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(c.cmd(f"AUTH PLAIN {blob}"),
                         "+OK Logged in, 2 messages (52 octets)")
        c.cmd("QUIT")
        c.close()

    def test_pop3d_t(self):
        r = subprocess.run([POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=WAIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        h = host(pam_service=f"pop3d-test-{ACC.tag}-none")
        try:
            r = subprocess.run([POP3D, "-t", "-c", h.conf_path],
                               capture_output=True, timeout=WAIT)
        finally:
            h.cleanup()
        self.assertEqual(r.returncode, 78)      # EX_CONFIG
        self.assertIn(b"no /etc/pam.d/pop3d-test-", r.stderr)
        # PAM holds no clear secrets: no APOP.
        h = host(apop="yes")
        try:
            r = subprocess.run([POP3D, "-t", "-c", h.conf_path],
                               capture_output=True, timeout=WAIT)
        finally:
            h.cleanup()
        self.assertEqual(r.returncode, 78)
        self.assertIn(b"passdb pam holds no clear secrets", r.stderr)


class Refusals(PamTest):

    def check_failed(self, user, password, logged=None):
        reply, after, log = self.attempt(user, password)
        self.assertEqual(reply, FAILED, log)
        self.assertEqual(after, "+OK Bye", log)
        self.assertIn(f"auth failed user={user} method=USER", log)
        if logged:
            self.assertIn(logged, log)
        self.assertNotIn("refused", log)
        return log

    def test_wrong_password(self):
        self.check_failed(ACC.good, "wrong")

    def test_unknown_user(self):
        log = self.check_failed(ACC.unknown, "wrong")
        # The log says no more about an unknown user than a wrong password.
        _, _, other = self.attempt(ACC.good, "wrong")
        strip = re.compile(r"pop3d\[\d+\]: |user=\S+")
        self.assertEqual(strip.sub("", log), strip.sub("", other))

    def test_root(self):
        self.check_failed("root", "whatever",
                          "user=root: uid 0 is below first_valid_uid 1000")

    def test_system_account(self):
        uid = _getpwnam(ACC.system).pw_uid
        self.assertLess(uid, 1000)
        self.check_failed(ACC.system, ACC.passwords[ACC.system],
                          f"uid {uid} is below first_valid_uid 1000")

    def test_locked(self):
        """pam_unix cannot check the password of a locked account, so the
        right one fails as a wrong one does."""
        self.check_failed(ACC.locked, ACC.passwords[ACC.locked])

    def test_group_0(self):
        self.check_failed(ACC.rooted, ACC.passwords[ACC.rooted],
                          f"user={ACC.rooted}: a member of group 0")

    def test_too_many_groups(self):
        self.check_failed(ACC.crowded, ACC.passwords[ACC.crowded],
                          f"user={ACC.crowded}: in 65 groups, more than 64")

    def test_locked_and_expired(self):
        """The locked password fails first: the account stack is never
        asked, and the right password tells nothing."""
        self.check_failed(ACC.both, ACC.passwords[ACC.both])

    def test_expired(self):
        self.check_failed(ACC.expired, "wrong")
        reply, after, log = self.attempt(ACC.expired,
                                         ACC.passwords[ACC.expired])
        self.assertEqual(reply, REFUSED, log)
        self.assertIsNone(after, "the connection is closed")
        self.assertIn(f"auth refused user={ACC.expired} method=USER", log)
        self.assertIn(f"user={ACC.expired}: pam_acct_mgmt:", log)

    def test_password_change_required(self):
        self.check_failed(ACC.change, "wrong")
        reply, after, log = self.attempt(ACC.change,
                                         ACC.passwords[ACC.change])
        self.assertEqual(reply, REFUSED, log)
        self.assertIsNone(after)


class Unit(PamTest):
    """With only the capabilities pop3d@.service grants, and without new
    privileges (NoNewPrivileges=yes), pam_unix still checks passwords and
    accounts."""

    @classmethod
    def setUpClass(cls):
        if not pop3test.have("setpriv"):
            raise unittest.SkipTest("needs setpriv")
        super().setUpClass()
        caps = pop3test.unit_file("pop3d@.service")["Service"][
            "CapabilityBoundingSet"].split()
        cls.before = ["setpriv", "--no-new-privs", "--bounding-set=-all," +
                      ",".join("+" + c.lower().removeprefix("cap_")
                               for c in caps)]

    def attempt(self, user, password, env=None):
        c = Conn(self.host, before=self.before)
        reply = c.login(user, password)
        c.cmd("QUIT")
        return reply, c.close()

    def test_login(self):
        reply, log = self.attempt(ACC.good, ACC.passwords[ACC.good])
        self.assertTrue(reply.startswith("+OK Logged in, 2 messages"), log)

    def test_refusals(self):
        self.assertEqual(self.attempt(ACC.good, "wrong")[0], FAILED)
        self.assertEqual(self.attempt(ACC.expired,
                                      ACC.passwords[ACC.expired])[0], REFUSED)


class Wiped(PamTest):
    """While the monitor waits to answer a failure, after PAM has run, no
    copy of the password is left in its memory: not the conversation's,
    not PAM's."""

    CONF = {"auth_fail_delay_ms": 4000}

    def test_no_copy_in_the_monitor(self):
        if WRAP:
            self.skipTest("valgrind keeps copies of its own")
        if "ASAN_OPTIONS" in os.environ:
            self.skipTest("ASan maps terabytes: read on the normal build")
        secret = "pw-" + uuid.uuid4().hex
        for user in (ACC.good, ACC.unknown):
            with self.subTest(user=user):
                c = Conn(self.host)
                self.assertTrue(c.line().startswith("+OK"))
                self.assertEqual(c.cmd(f"USER {user}"), "+OK Send PASS")
                c.sock.sendall(f"PASS {secret}\r\n".encode())
                time.sleep(2)           # PAM is done, the answer is not
                self.assertIsNone(c.p.poll())
                hits = memory_holds(c.p.pid, secret.encode())
                self.assertEqual(c.line(), FAILED)
                c.cmd("QUIT")
                c.close()
                self.assertEqual(hits, [])


def memory_holds(pid, needle):
    """The mappings of pid that hold needle."""
    hits = []
    with open(f"/proc/{pid}/maps") as maps, \
            open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r") or "[vsyscall]" in line:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            if needle in chunk:
                hits.append(line.strip())
    return hits


class Floor(PamTest):
    """first_valid_uid above the account's uid refuses it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host.write_conf(first_valid_uid=_getpwnam(ACC.good).pw_uid + 1)

    def test_below_the_floor(self):
        reply, _, log = self.attempt(ACC.good, ACC.passwords[ACC.good])
        self.assertEqual(reply, FAILED, log)
        self.assertIn("is below first_valid_uid", log)


class Items(PamTest):
    """What PAM is told about the client."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host.write_conf(pam_service=ACC.recording)

    def items(self, env):
        try:
            os.unlink(ACC.record)
        except FileNotFoundError:
            pass
        reply, _, log = self.attempt(ACC.good, ACC.passwords[ACC.good], env)
        self.assertTrue(reply.startswith("+OK Logged in"), log)
        with open(ACC.record) as f:
            return f.read().strip()

    def test_ipv4(self):
        self.assertEqual(self.items({"TCPREMOTEIP": "192.0.2.7",
                                     "TCPREMOTEPORT": "4242"}),
                         f"user={ACC.good} rhost=192.0.2.7 "
                         f"ruser={ACC.good} tty=pop3")

    def test_ipv6(self):
        self.assertEqual(self.items({"REMOTE_ADDR": "2001:db8::1",
                                     "REMOTE_PORT": "4242"}),
                         f"user={ACC.good} rhost=2001:db8::1 "
                         f"ruser={ACC.good} tty=pop3")

    def test_no_network(self):
        self.assertEqual(self.items({}), f"user={ACC.good} rhost= "
                         f"ruser={ACC.good} tty=pop3")


class Client(PamTest):
    """Python's poplib through systemd-socket-activate on 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.launcher = pop3test.Launcher("systemd", cls.host)

    @classmethod
    def tearDownClass(cls):
        cls.launcher.stop()
        super().tearDownClass()

    def pop(self):
        return poplib.POP3("127.0.0.1", self.launcher.port, timeout=WAIT)

    def test_poplib(self):
        c = self.pop()
        c.user(ACC.good)
        c.pass_(ACC.passwords[ACC.good])
        self.assertEqual(c.stat(), (2, 52))
        self.assertEqual(c.retr(2)[1], [b"Subject: two", b"", b"second"])
        self.assertEqual(c.quit(), b"+OK Logging out, 0 messages deleted")

    def test_poplib_refusals(self):
        for user, password, want in (
                (ACC.good, "wrong", FAILED),
                (ACC.unknown, "wrong", FAILED),
                (ACC.expired, ACC.passwords[ACC.expired], REFUSED)):
            with self.subTest(user=user):
                c = self.pop()
                c.user(user)
                with self.assertRaises(poplib.error_proto) as e:
                    c.pass_(password)
                self.assertEqual(e.exception.args[0], want.encode())
                c.close()


class Timing(PamTest):
    """An unknown user and a wrong password: the same time to the answer,
    and a PAM check far inside auth_fail_delay_ms."""

    DELAY_MS = 700
    TRIES = int(os.environ.get("POP3D_TIMING_TRIES", "5"))
    SPREAD = 0.06                   # as test_hostile.py's FailureTiming
    CONF = {"auth_fail_delay_ms": DELAY_MS, "max_auth_failures": 100,
            "max_bad_commands": 1000}

    def measure(self, user, out):
        times = []
        c = Conn(self.host)
        c.line()
        for _ in range(self.TRIES):
            c.cmd(f"USER {user}")
            t0 = time.monotonic()
            reply = c.cmd("PASS wrong")
            times.append(time.monotonic() - t0)
            if reply != FAILED:
                out.append(("bad reply", reply))
                break
        else:
            out.append(statistics.median(times))
        c.cmd("QUIT")
        c.close()

    def medians(self):
        results = {ACC.good: [], ACC.unknown: []}
        threads = [threading.Thread(target=self.measure, args=(u, r))
                   for u, r in results.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 4)
        for name, r in results.items():
            self.assertTrue(len(r) == 1 and isinstance(r[0], float),
                            (name, r))
        return results[ACC.good][0], results[ACC.unknown][0]

    def test_same_time(self):
        if WRAP:
            self.skipTest("not measured under valgrind")
        wrong, unknown = self.medians()
        summary = f"wrong {wrong * 1000:.0f} ms, unknown {unknown * 1000:.0f} ms"
        print(f"# medians over {self.TRIES} tries at {self.DELAY_MS} ms: "
              f"{summary}")
        self.assertGreaterEqual(min(wrong, unknown),
                                self.DELAY_MS / 1000 - 0.01, summary)
        self.assertLess(abs(wrong - unknown), self.SPREAD, summary)

    def test_check_cost(self):
        """Without the fixed delay: what PAM itself costs."""
        if WRAP:
            self.skipTest("not measured under valgrind")
        self.host.write_conf(auth_fail_delay_ms=0)
        try:
            wrong, unknown = self.medians()
        finally:
            self.host.write_conf(auth_fail_delay_ms=self.DELAY_MS)
        summary = f"wrong {wrong * 1000:.0f} ms, unknown {unknown * 1000:.0f} ms"
        print(f"# the check alone, medians over {self.TRIES} tries: {summary}")
        # Well inside the default auth_fail_delay_ms (1000 ms).
        self.assertLess(max(wrong, unknown), 0.5, summary)
        # pop3d's dummy hashes make an unknown user cost about as much.
        self.assertGreater(unknown, wrong / 3, summary)


if __name__ == "__main__":
    pop3test.main()
