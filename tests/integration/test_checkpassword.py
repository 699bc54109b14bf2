#!/usr/bin/env python3
"""passdb = checkpassword: a qmail-style checkpassword program as the
user source (cr.yp.to/checkpwd/interface.html).

The program is written here (CHECKPASSWORD below) and follows the
interface to the letter: user\\0password\\0timestamp\\0 on descriptor 3,
a table of users, setgid/setuid to the user when root, chdir to the home,
USER, HOME and SHELL set, then exec of its arguments; exit 1 for a bad
password, 111 for a temporary failure.  It records what it saw (input,
environment, arguments) so that the tests can check what pop3d gave it.
"""
import hashlib
import json
import os
import poplib
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

CHECKPASSWORD = r'''#!/usr/bin/python3
import hashlib, json, os, sys, time
STATE = %(state)r
data = b""
while len(data) <= 512:
    chunk = os.read(3, 513 - len(data))
    if not chunk:
        break
    data += chunk
fields = data.split(b"\0")
if len(data) > 512 or len(fields) < 4:
    sys.exit(2)
user, password, stamp = (f.decode("latin-1") for f in fields[:3])
with open(os.path.join(STATE, "seen.jsonl"), "a") as f:
    f.write(json.dumps({"user": user, "stamp": stamp, "argv": sys.argv,
                        "env": dict(os.environ), "pid": os.getpid()}) + "\n")
with open(os.path.join(STATE, "table.json")) as f:
    table = json.load(f)
e = table.get(user)
if e is None:
    sys.exit(1)
if e.get("mode") == "temp":
    sys.exit(111)
if e.get("mode") == "hang":
    time.sleep(3600)
apop = hashlib.md5((stamp + e["password"]).encode()).hexdigest()
if password != e["password"] and not (stamp and password == apop):
    sys.exit(1)
if os.getuid() == 0:
    os.setgroups([e["gid"]])
    os.setgid(e["gid"])
    os.setuid(e["uid"])
os.chdir(e["home"])
os.environ.update(USER=user, HOME=e["home"], SHELL="/bin/sh")
if e.get("mode") == "forge":
    # Not pop3d-session -I: a report that claims another uid.
    import socket, struct
    u, g = e["uid"] + 1, e["gid"] + 1
    home = e["home"].encode()
    msg = struct.pack(">B7I", 1, u, u, u, g, g, g, 0)
    msg += struct.pack(">H", len(home)) + home + struct.pack(">H", 0)
    socket.socket(fileno=4).send(msg)
    sys.exit(0)
os.execv(sys.argv[1], sys.argv[1:])
'''


class CheckpasswordHost(pop3test.Mailhost):
    """A Mailhost whose users come from the test's checkpassword program."""

    def __init__(self, **conf):
        super().__init__(**conf)
        self.table = {}
        self.prog = os.path.join(self.dir, "checkpassword")
        with open(self.prog, "w") as f:
            f.write(CHECKPASSWORD % {"state": self.dir})
        os.chmod(self.prog, 0o755)
        self.write_table()
        ours = {"passdb": "checkpassword", "checkpassword": self.prog,
                "maildir": "%h/Maildir"}
        ours.update(conf)
        self.write_conf(**ours)

    def write_table(self):
        with open(os.path.join(self.dir, "table.json"), "w") as f:
            json.dump(self.table, f)

    def add_cp_user(self, name, password, mode=None):
        uid = self.add_user(name, password)
        home = os.path.join(self.dir, "home", name)
        os.makedirs(home, exist_ok=True)
        self.chown(name, home)
        link = os.path.join(home, "Maildir")
        if not os.path.lexists(link):
            os.symlink(self.maildir(name), link)
        self.table[name] = {"password": password, "uid": uid, "gid": uid,
                            "home": home}
        if mode:
            self.table[name]["mode"] = mode
        self.write_table()
        return uid

    def seen(self):
        try:
            with open(os.path.join(self.dir, "seen.jsonl")) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []


def session_uids(host):
    """uid of every running pop3d-session of this host (its environment
    names the host's directory: other tests may run sessions too)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                st = dict(line.split(":", 1) for line in f if ":" in line)
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if st.get("Name", "").strip() == "pop3d-session" and \
                host.dir.encode() in env:
            out.append(int(st["Uid"].split()[0]))
    return out


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class PipeHelpers:
    """pop3d on pipes, as inetd runs it, with CONF added to the host's."""

    CONF = {}

    def setUp(self):
        self.host = CheckpasswordHost(**self.CONF)
        self.pipes = []

    def tearDown(self):
        for p in self.pipes:
            if p.p.poll() is None:
                p.p.kill()
                p.p.wait(pop3test.WAIT)
        self.host.cleanup()

    def open(self):
        p = pop3test.Pipe(self.host)
        self.pipes.append(p)
        self.greeting = p.line()
        self.assertTrue(self.greeting.startswith(b"+OK"), self.greeting)
        return p

    def finish(self, p):
        rc, log = p.close()
        self.assertEqual(rc, 0, log)
        return log

    def test_first_valid_uid(self):
        """A checkpassword program's users are system accounts: below
        first_valid_uid, a failed login (checked by the monitor, or by the
        session a chain starts)."""
        if not pop3test.ROOT:
            self.skipTest("needs root")
        uid = self.host.add_cp_user("sara", "pw-sara")
        self.host.write_conf(first_valid_uid=uid + 1)
        p = self.open()
        p.cmd("USER sara")
        self.assertEqual(p.cmd("PASS pw-sara"), b"-ERR [AUTH] Authentication failed")
        p.cmd("QUIT")
        log = self.finish(p)
        self.assertIn(f"user=sara: uid {uid} is below first_valid_uid {uid + 1}",
                      log)


class PipeTests(PipeHelpers, unittest.TestCase):
    """pop3d reports the identity the program set up (Mode A)."""

    def test_good_password(self):
        uid = self.host.add_cp_user("carol", "pw-carol")
        self.host.deliver("carol", b"Subject: a\n\nfirst\n")
        self.host.deliver("carol", b"Subject: b\n\nsecond\n")
        p = self.open()
        self.assertTrue(p.cmd("USER carol").startswith(b"+OK"))
        r = p.cmd("PASS pw-carol")
        self.assertTrue(r.startswith(b"+OK Logged in, 2 messages"), r)
        if pop3test.ROOT:
            self.assertEqual(session_uids(self.host), [uid])
        self.assertTrue(p.cmd("RETR 1").startswith(b"+OK"))
        self.assertEqual(p.multi(), [b"Subject: a", b"", b"first"])
        self.assertTrue(p.cmd("DELE 2").startswith(b"+OK"))
        self.assertEqual(p.cmd("QUIT"), b"+OK Logging out, 1 messages deleted")
        log = self.finish(p)
        self.assertIn("auth ok user=carol method=USER", log)
        self.assertEqual(len(self.host.files("carol")), 1)
        seen = self.host.seen()
        self.assertEqual(len(seen), 1)
        self.assertEqual(seen[0]["argv"][2:], ["-I"])
        self.assertEqual(seen[0]["env"].get("PROTO"), "TCP")
        self.assertNotIn("pw-carol", json.dumps(seen))

    def test_wrong_password_retry_and_limit(self):
        self.host.add_cp_user("dave", "pw-dave")
        self.host.write_conf(max_auth_failures=2)
        p = self.open()
        p.cmd("USER dave")
        self.assertEqual(p.cmd("PASS nope"), b"-ERR [AUTH] Authentication failed")
        p.cmd("USER nosuchuser")
        self.assertEqual(p.cmd("PASS nope"),
                         b"-ERR [AUTH] Authentication failed, closing")
        log = self.finish(p)
        self.assertEqual(log.count("auth failed user="), 2, log)
        # A retry after one failure succeeds, as with qmail-popup.
        p = self.open()
        p.cmd("USER dave")
        self.assertEqual(p.cmd("PASS nope"), b"-ERR [AUTH] Authentication failed")
        p.cmd("USER dave")
        self.assertTrue(p.cmd("PASS pw-dave").startswith(b"+OK Logged in"))
        p.cmd("QUIT")
        self.finish(p)

    def test_temporary_failure(self):
        self.host.add_cp_user("erin", "pw-erin", mode="temp")
        p = self.open()
        p.cmd("USER erin")
        self.assertEqual(p.cmd("PASS pw-erin"),
                         b"-ERR [SYS/TEMP] Authentication temporarily unavailable")
        self.assertEqual(p.cmd("QUIT"), b"+OK Bye")
        log = self.finish(p)
        self.assertIn("temporary failure", log)

    def test_misuse_exit_2(self):
        self.host.add_cp_user("fred", "pw-fred")
        with open(self.host.prog, "w") as f:
            f.write("#!/bin/sh\nexit 2\n")
        p = self.open()
        p.cmd("USER fred")
        self.assertEqual(p.cmd("PASS pw-fred"),
                         b"-ERR [SYS/TEMP] Authentication temporarily unavailable")
        p.cmd("QUIT")
        log = self.finish(p)
        self.assertIn("exit 2, misused", log)

    def test_hung_program_killed(self):
        self.host.add_cp_user("gina", "pw-gina", mode="hang")
        self.host.write_conf(checkpassword_timeout=2)
        p = self.open()
        p.cmd("USER gina")
        t0 = time.monotonic()
        r = p.cmd("PASS pw-gina")
        took = time.monotonic() - t0
        self.assertEqual(r, b"-ERR [SYS/TEMP] Authentication temporarily unavailable")
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, pop3test.WAIT)
        p.cmd("QUIT")
        log = self.finish(p)
        self.assertIn("no answer within 2 s: killed", log)
        pids = [s["pid"] for s in self.host.seen()]
        self.assertEqual(len(pids), 1)
        self.assertFalse(pid_alive(pids[0]), "the hung program survived")

    def test_apop(self):
        self.host.add_cp_user("hugo", "pw-hugo")
        self.host.deliver("hugo", b"Subject: a\n\nfirst\n")
        self.host.write_conf(apop="yes")
        p = self.open()
        stamp = self.greeting.split()[-1].decode()
        self.assertTrue(stamp.startswith("<") and stamp.endswith(">"), stamp)
        bad = hashlib.md5((stamp + "wrong").encode()).hexdigest()
        self.assertEqual(p.cmd(f"APOP hugo {bad}"),
                         b"-ERR [AUTH] Authentication failed")
        good = hashlib.md5((stamp + "pw-hugo").encode()).hexdigest()
        self.assertTrue(p.cmd(f"APOP hugo {good}").startswith(b"+OK Logged in, 1"))
        p.cmd("QUIT")
        log = self.finish(p)
        self.assertIn("auth ok user=hugo method=APOP", log)
        self.assertEqual([s["stamp"] for s in self.host.seen()], [stamp, stamp])

    def test_root_identity_refused(self):
        if not pop3test.ROOT:
            self.skipTest("needs root")
        self.host.add_cp_user("ivan", "pw-ivan")
        self.host.table["ivan"]["uid"] = 0
        self.host.table["ivan"]["gid"] = 0
        self.host.write_table()
        p = self.open()
        p.cmd("USER ivan")
        self.assertEqual(p.cmd("PASS pw-ivan"), b"-ERR [AUTH] Authentication failed")
        p.cmd("QUIT")
        log = self.finish(p)
        self.assertIn("needs a non-zero uid and gid", log)

    def test_forged_report_refused(self):
        """The uid and gid of a report are checked against the sender's,
        as the kernel gives them: a reporter cannot claim another user."""
        if not pop3test.ROOT:
            self.skipTest("needs root")
        self.host.add_cp_user("rita", "pw-rita", mode="forge")
        p = self.open()
        p.cmd("USER rita")
        self.assertEqual(p.cmd("PASS pw-rita"), b"-ERR [SYS/TEMP] "
                         b"Authentication temporarily unavailable")
        p.cmd("QUIT")
        log = self.finish(p)
        uid = self.host.uid_of("rita")
        self.assertIn(f"identity report of uid {uid + 1} gid {uid + 1} sent "
                      f"by uid {uid} gid {uid}", log)

    def test_config_check(self):
        out = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                             capture_output=True, text=True, timeout=pop3test.WAIT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.host.write_conf(checkpassword=self.host.prog + ".missing")
        out = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                             capture_output=True, text=True, timeout=pop3test.WAIT)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("checkpassword", out.stderr)
        self.host.write_conf(checkpassword=self.host.prog, passdb="file",
                             checkpassword_exec="yes")
        out = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                             capture_output=True, text=True, timeout=pop3test.WAIT)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("checkpassword_exec = yes needs passdb = checkpassword",
                      out.stderr)


class TcpserverTests(unittest.TestCase):
    """Under tcpserver on 127.0.0.1: the program sees the ucspi environment,
    tcpserver's own; under the other launchers, made from the socket
    (systemd) or the launcher's variables (stunnel)."""

    KIND = "tcpserver"

    def setUp(self):
        prog = pop3test.Launcher.PROGRAM[self.KIND]
        if not pop3test.have(prog):
            self.skipTest(f"{prog} not installed")
        self.host = CheckpasswordHost()
        self.launcher = pop3test.Launcher(self.KIND, self.host)

    def tearDown(self):
        self.launcher.stop()
        self.host.cleanup()

    def test_ucspi_environment(self):
        self.host.add_cp_user("jane", "pw-jane")
        self.host.deliver("jane", b"Subject: a\n\nfirst\n")
        if self.KIND == "stunnel":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE     # a throw-away certificate
            c = poplib.POP3_SSL("127.0.0.1", self.launcher.port, context=ctx,
                                timeout=pop3test.WAIT)
        else:
            c = poplib.POP3("127.0.0.1", self.launcher.port,
                            timeout=pop3test.WAIT)
        c.user("jane")
        c.pass_("pw-jane")
        port = c.sock.getsockname()[1]
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        env = self.host.seen()[-1]["env"]
        self.assertEqual(env.get("PROTO"), "TCP")
        self.assertEqual(env.get("TCPREMOTEIP"), "127.0.0.1")
        self.assertEqual(env.get("TCPREMOTEPORT"), str(port), env)
        if self.KIND != "stunnel":      # stunnel tells only the client's
            self.assertEqual(env.get("TCPLOCALIP"), "127.0.0.1")
            self.assertEqual(env.get("TCPLOCALPORT"), str(self.launcher.port))


class SystemdTests(TcpserverTests):
    KIND = "systemd"


class StunnelTests(TcpserverTests):
    KIND = "stunnel"


class ExecPipeTests(PipeHelpers, unittest.TestCase):
    """checkpassword_exec = yes: the program executes pop3d-session itself,
    as qmail-popup's chain executes qmail-pop3d (Mode B)."""

    CONF = {"checkpassword_exec": "yes"}

    def test_session_through_the_chain(self):
        uid = self.host.add_cp_user("kate", "pw-kate")
        self.host.deliver("kate", b"Subject: a\n\nfirst\n")
        self.host.deliver("kate", b"Subject: b\n\nsecond\n")
        p = self.open()
        p.cmd("USER kate")
        # Pipelined behind PASS: answered by the session the chain started.
        p.send("PASS pw-kate\r\nSTAT\r\n")
        r = p.line()
        self.assertTrue(r.startswith(b"+OK Logged in, 2 messages"), r)
        self.assertTrue(p.line().startswith(b"+OK 2 "))
        if pop3test.ROOT:
            self.assertEqual(session_uids(self.host), [uid])
        self.assertTrue(p.cmd("RETR 2").startswith(b"+OK"))
        self.assertEqual(p.multi(), [b"Subject: b", b"", b"second"])
        self.assertTrue(p.cmd("DELE 1").startswith(b"+OK"))
        self.assertEqual(p.cmd("QUIT"), b"+OK Logging out, 1 messages deleted")
        log = self.finish(p)
        self.assertIn("auth ok user=kate method=USER remote=local "
                      "checkpassword_exec", log)
        self.assertIn("login user=kate method=USER", log)
        self.assertEqual(len(self.host.files("kate")), 1)
        seen = self.host.seen()[-1]
        self.assertEqual(len(seen["argv"]), 2, seen["argv"])
        self.assertEqual(seen["env"].get("POP3D_SESSION"), "checkpassword")

    def test_bad_password_then_retry(self):
        self.host.add_cp_user("liam", "pw-liam")
        self.host.write_conf(max_auth_failures=2)
        p = self.open()
        p.cmd("USER liam")
        self.assertEqual(p.cmd("PASS nope"), b"-ERR [AUTH] Authentication failed")
        p.cmd("USER liam")
        self.assertTrue(p.cmd("PASS pw-liam").startswith(b"+OK Logged in, 0"))
        self.assertEqual(p.cmd("QUIT"), b"+OK Logging out, 0 messages deleted")
        self.finish(p)
        p = self.open()
        for last in (False, True):
            p.cmd("USER liam")
            self.assertEqual(p.cmd("PASS nope"), b"-ERR [AUTH] Authentication "
                             b"failed" + (b", closing" if last else b""))
        self.finish(p)

    def test_temporary_failure_and_timeout(self):
        self.host.add_cp_user("mona", "pw-mona", mode="temp")
        self.host.add_cp_user("nils", "pw-nils", mode="hang")
        self.host.write_conf(checkpassword_timeout=2)
        p = self.open()
        for user in ("mona", "nils"):
            p.cmd(f"USER {user}")
            self.assertEqual(p.cmd(f"PASS pw-{user}"), b"-ERR [SYS/TEMP] "
                             b"Authentication temporarily unavailable")
        p.cmd("QUIT")
        log = self.finish(p)
        self.assertIn("no answer within 2 s: killed", log)

    def test_session_refuses_root(self):
        if not pop3test.ROOT:
            self.skipTest("needs root")
        self.host.add_cp_user("olga", "pw-olga")
        self.host.table["olga"].update(uid=0, gid=0)
        self.host.write_table()
        p = self.open()
        p.cmd("USER olga")
        self.assertEqual(p.cmd("PASS pw-olga"), b"-ERR [SYS/TEMP] "
                         b"Authentication temporarily unavailable")
        p.cmd("QUIT")
        log = self.finish(p)
        self.assertIn("never as root", log)
        self.assertIn("unexpected exit 64", log)

    def test_qmail_popup_style_chain(self):
        """Behind another's chain (qmail-popup): USER and HOME, a Maildir
        argument, the client on 0 and 1, no pop3d monitor at all."""
        if not pop3test.ROOT:
            self.skipTest("needs root to run the session as another user")
        uid = self.host.add_cp_user("pete", "pw-pete")
        self.host.deliver("pete", b"Subject: a\n\nfirst\n")
        home = self.host.table["pete"]["home"]

        def become():
            os.setgroups([uid])
            os.setgid(uid)
            os.setuid(uid)
            os.chdir(home)
        env = {"USER": "pete", "HOME": home, "PATH": "/usr/bin:/bin"}
        s = subprocess.run([os.path.join(pop3test.BUILD, "pop3d-session"),
                            "./Maildir/"], input=b"STAT\r\nQUIT\r\n",
                           capture_output=True, env=env, preexec_fn=become,
                           timeout=pop3test.WAIT)
        self.assertEqual(s.returncode, 0, s.stderr)
        self.assertEqual(s.stdout.split(b"\r\n")[:3],
                         [b"+OK Logged in, 1 messages (21 octets)",
                          b"+OK 1 21", b"+OK Logging out, 0 messages deleted"])
        # The same as root is refused.
        s = subprocess.run([os.path.join(pop3test.BUILD, "pop3d-session"),
                            home + "/Maildir"], input=b"QUIT\r\n",
                           capture_output=True, env=env, timeout=pop3test.WAIT)
        self.assertEqual(s.returncode, 64)
        self.assertEqual(s.stdout, b"")


class ExecTlsTests(unittest.TestCase):
    """checkpassword_exec behind STLS: the chain's session talks through
    the pre-login's TLS relay."""

    def setUp(self):
        if not pop3test.have("tcpserver"):
            self.skipTest("tcpserver (ucspi-tcp) not installed")
        self.ca = pop3test.TestCA()
        self.host = CheckpasswordHost(checkpassword_exec="yes",
                                      tls_cert=self.ca.cert,
                                      tls_key=self.ca.key,
                                      loopback_secure="no")
        self.launcher = pop3test.Launcher("tcpserver", self.host)

    def tearDown(self):
        self.launcher.stop()
        self.host.cleanup()
        self.ca.cleanup()

    def test_stls(self):
        self.host.add_cp_user("quin", "pw-quin")
        big = b"Subject: a\n\n" + b"".join(b"%05d %s\n" % (i, b"y" * 70)
                                          for i in range(2000))
        self.host.deliver("quin", big)
        c = poplib.POP3("127.0.0.1", self.launcher.port, timeout=pop3test.WAIT)
        ctx = ssl.create_default_context(cafile=self.ca.ca)
        ctx.check_hostname = False
        c.stls(ctx)
        c.user("quin")
        c.pass_("pw-quin")
        self.assertEqual(c.stat(), (1, len(big.replace(b"\n", b"\r\n"))))
        self.assertEqual(c.retr(1)[1], big.rstrip(b"\n").split(b"\n"))
        c.quit()
        log = self.launcher.read_log()
        self.assertRegex(log, r"auth ok user=quin method=USER remote=\S+ "
                         r"tls=\S+ checkpassword_exec")
        self.assertEqual(self.host.seen()[-1]["env"].get("TCPREMOTEIP"),
                         "127.0.0.1")

    def test_stls_pipelined(self):
        """Commands pipelined behind PASS inside TLS reach the chain's
        session through the relay."""
        self.host.add_cp_user("tess", "pw-tess")
        self.host.deliver("tess", b"Subject: a\n\nfirst\n")
        s = socket.create_connection(("127.0.0.1", self.launcher.port),
                                     pop3test.WAIT)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"STLS\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        ctx = ssl.create_default_context(cafile=self.ca.ca)
        ctx.check_hostname = False
        t = ctx.wrap_socket(s)
        g = t.makefile("rb")
        t.sendall(b"USER tess\r\nPASS pw-tess\r\nSTAT\r\nQUIT\r\n")
        lines = [g.readline() for _ in range(4)]
        t.close()
        self.assertEqual([ln[:20] for ln in lines],
                         [b"+OK Send PASS\r\n", b"+OK Logged in, 1 mes",
                          b"+OK 1 21\r\n", b"+OK Logging out, 0 m"])


class DebianCheckpwTests(unittest.TestCase):
    """Debian's own checkpassword programs (package checkpw): checkpw
    checks ~/Maildir/.password of a system account, checkapoppw an APOP
    digest against it.  The account is made for the test and removed."""

    def setUp(self):
        if not pop3test.ROOT:
            self.skipTest("needs root (a system account)")
        if not (os.path.exists("/usr/bin/checkpw") and
                os.path.exists("/usr/bin/checkapoppw")):
            self.skipTest("checkpw (Debian package checkpw) not installed")
        self.host = CheckpasswordHost(checkpassword="/usr/bin/checkpw",
                                      checkpassword_apop="/usr/bin/checkapoppw",
                                      apop="yes")
        self.user = f"p3cpw{os.getpid() % 100000}"
        self.home = os.path.join(self.host.dir, "realhome")
        subprocess.run(["useradd", "--no-create-home", "--home-dir",
                        self.home, "--shell", "/usr/sbin/nologin", self.user],
                       check=True, capture_output=True, timeout=pop3test.WAIT)
        self.addCleanup(self.remove_account)
        import pwd
        pw = pwd.getpwnam(self.user)
        self.uid = pw.pw_uid
        for sub in ("", "Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"):
            os.makedirs(os.path.join(self.home, sub), exist_ok=True)
            os.chown(os.path.join(self.home, sub), pw.pw_uid, pw.pw_gid)
            os.chmod(os.path.join(self.home, sub), 0o700)
        path = os.path.join(self.home, "Maildir", ".password")
        with open(path, "w") as f:
            f.write("real-secret\n")
        os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, 0o600)
        path = os.path.join(self.home, "Maildir", "new", "1700000000.M1P1.host")
        with open(path, "wb") as f:
            f.write(b"Subject: real\n\nbody\n")
        os.chown(path, pw.pw_uid, pw.pw_gid)

    def remove_account(self):
        subprocess.run(["userdel", self.user], capture_output=True,
                       timeout=pop3test.WAIT)
        self.host.cleanup()

    def session(self, apop=False):
        p = pop3test.Pipe(self.host)
        try:
            greeting = p.line()
            if apop:
                stamp = greeting.split()[-1].decode()
                digest = hashlib.md5((stamp + "real-secret").encode()).hexdigest()
                r = p.cmd(f"APOP {self.user} {digest}")
            else:
                p.cmd(f"USER {self.user}")
                self.assertEqual(p.cmd("PASS wrong"),
                                 b"-ERR [AUTH] Authentication failed")
                p.cmd(f"USER {self.user}")
                r = p.cmd("PASS real-secret")
            self.assertTrue(r.startswith(b"+OK Logged in, 1 messages"), r)
            self.assertEqual(session_uids(self.host), [self.uid])
            self.assertTrue(p.cmd("RETR 1").startswith(b"+OK"))
            self.assertEqual(p.multi(), [b"Subject: real", b"", b"body"])
            p.cmd("QUIT")
        finally:
            rc, log = p.close()
        self.assertEqual(rc, 0, log)
        return log

    def test_checkpw(self):
        self.host.write_conf(first_valid_uid=min(self.uid, 1000))
        log = self.session()
        self.assertIn(f"auth ok user={self.user} method=USER", log)

    def test_checkapoppw(self):
        log = self.session(apop=True)
        self.assertIn(f"auth ok user={self.user} method=APOP", log)

    def test_checkpw_exec(self):
        self.host.write_conf(checkpassword_exec="yes")
        log = self.session()
        self.assertIn("checkpassword_exec", log)


if __name__ == "__main__":
    pop3test.main()
