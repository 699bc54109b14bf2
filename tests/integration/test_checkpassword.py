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
        self.write_conf(passdb="checkpassword", checkpassword=self.prog,
                        maildir="%h/Maildir")

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


def session_uids():
    """uid of every running pop3d-session."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                st = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if st.get("Name", "").strip() == "pop3d-session":
            out.append(int(st["Uid"].split()[0]))
    return out


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class PipeTests(unittest.TestCase):
    """pop3d on pipes, as inetd runs it."""

    def setUp(self):
        self.host = CheckpasswordHost()
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

    def test_good_password(self):
        uid = self.host.add_cp_user("carol", "pw-carol")
        self.host.deliver("carol", b"Subject: a\n\nfirst\n")
        self.host.deliver("carol", b"Subject: b\n\nsecond\n")
        p = self.open()
        self.assertTrue(p.cmd("USER carol").startswith(b"+OK"))
        r = p.cmd("PASS pw-carol")
        self.assertTrue(r.startswith(b"+OK Logged in, 2 messages"), r)
        if pop3test.ROOT:
            self.assertIn(uid, session_uids())
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

    def test_config_check(self):
        import subprocess
        out = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                             capture_output=True, text=True, timeout=pop3test.WAIT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.host.write_conf(checkpassword=self.host.prog + ".missing")
        out = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                             capture_output=True, text=True, timeout=pop3test.WAIT)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("checkpassword", out.stderr)


class TcpserverTests(unittest.TestCase):
    """Under tcpserver on 127.0.0.1: the program sees the ucspi environment."""

    def setUp(self):
        if not pop3test.have("tcpserver"):
            self.skipTest("tcpserver (ucspi-tcp) not installed")
        self.host = CheckpasswordHost()
        self.launcher = pop3test.Launcher("tcpserver", self.host)

    def tearDown(self):
        self.launcher.stop()
        self.host.cleanup()

    def test_ucspi_environment(self):
        self.host.add_cp_user("jane", "pw-jane")
        self.host.deliver("jane", b"Subject: a\n\nfirst\n")
        c = poplib.POP3("127.0.0.1", self.launcher.port, timeout=pop3test.WAIT)
        c.user("jane")
        c.pass_("pw-jane")
        port = c.sock.getsockname()[1]
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        env = self.host.seen()[-1]["env"]
        self.assertEqual(env.get("PROTO"), "TCP")
        self.assertEqual(env.get("TCPREMOTEIP"), "127.0.0.1")
        self.assertEqual(env.get("TCPLOCALIP"), "127.0.0.1")
        self.assertEqual(env.get("TCPLOCALPORT"), str(self.launcher.port))
        self.assertEqual(env.get("TCPREMOTEPORT"), str(port))


if __name__ == "__main__":
    pop3test.main()
