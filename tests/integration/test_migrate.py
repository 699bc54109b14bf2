#!/usr/bin/env python3
"""Unique-ids taken over from another server (import_uidl, pop3d.uidl).

Over pipes, as any user: Dovecot's dovecot-uidlist (saved P fields, the
%08Xu%08Xv default, %f, %g, version 1) and Courier's courierpop3dsizelist
as their servers write them; the record surviving moves, flag changes and
new mail; forged and malformed files (bad octets, over-long, duplicates,
a unique-id that is another message's base name, a huge file) left out
and logged; a Maildir pop3d served before is not imported.

With root and Dovecot installed (dovecot-pop3d): a real Dovecot serves a
Maildir to fetchmail with keep and uidl, the test stops it, pop3d serves
the same Maildir (tcpserver) and the same fetchmail downloads nothing,
then exactly the new mail; both servers' UIDL lists are equal message for
message, also after another client renamed every file.  Once with
pop3_save_uidl = yes (pop3d reads the unique-ids Dovecot saved) and once
with Debian's default, no (pop3d expands %08Xu%08Xv itself).

With Courier's courierpop3d (courier-pop conflicts with dovecot-pop3d, so
tests/deps.sh unpacks it into a directory of its own): it serves the
Maildir over pipes, as couriertcpd starts it after a login, and writes
its courierpop3dsizelist; pop3d then sends the same unique-id and the
same message for every number, and keeps them across flag changes.
With root, Courier's whole login stack from that directory (couriertcpd,
courierpop3login, authdaemond with PAM, a system account made here)
serves fetchmail with keep and uidl, in a mount namespace of its own;
then pop3d serves the same fetchmail, which downloads nothing, and both
UIDL lists are equal message for message.
"""
import os
import poplib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

PASSWORD = "migrate-secret"
CLIENT_TIMEOUT = 60


def message(i):
    return (f"From: a@example.org\nSubject: message {i}\n\n"
            f"body of message {i}\n").encode()


class Base(unittest.TestCase):
    counter = 0
    IMPORT = "dovecot courier"

    def setUp(self):
        self.host = pop3test.Mailhost(import_uidl=self.IMPORT)
        Base.counter += 1
        self.user = f"m{Base.counter}"
        self.host.add_user(self.user, PASSWORD)
        self.md = self.host.maildir(self.user)

    def tearDown(self):
        self.host.cleanup()

    def put(self, name, data):
        path = os.path.join(self.md, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        self.host.chown(self.user, path)

    def uidls(self):
        """{message number: unique-id} of one session, and pop3d's log."""
        p = pop3test.Pipe(self.host)
        p.login(self.user, PASSWORD)
        r = p.cmd("UIDL")
        self.assertTrue(r.startswith(b"+OK"), r)
        got = {}
        for line in p.multi():
            n, u = line.decode().split(" ")
            got[int(n)] = u
        self.assertTrue(p.cmd("QUIT").startswith(b"+OK"))
        rc, log = p.close()
        self.assertEqual(pop3test.sanitizer_lines(log), [])
        return got, log

    def record(self):
        with open(os.path.join(self.md, "pop3d.uidl")) as f:
            return f.read()


class DovecotFile(Base):

    def deliver(self, n):
        return [self.host.deliver(self.user, message(i)) for i in range(n)]

    def test_saved_and_formatted(self):
        names = self.deliver(5)
        guid = "0123456789abcdef0123456789abcdef"
        self.put("dovecot-uidlist",
                 "3 V1700000123 N6 G" + guid + "\n"
                 f"1 P00000001deadbeef W120 :{names[0]}\n"
                 f"2 :{names[1]}\n"
                 f"3 P W10 :{names[2]}\n"
                 f"4 G{guid} :{names[3]}:2,S\n")
        got, log = self.uidls()
        # Saved P, then the default %08Xu%08Xv of uid 2 and uidvalidity
        # 1700000123 (0x6553f17b), an empty P (the base name), uid 4's
        # format, and a message Dovecot never listed: its base name.
        self.assertEqual(got, {1: "00000001deadbeef",
                               2: "000000026553f17b",
                               3: names[2],
                               4: "000000046553f17b",
                               5: names[4]}, log)
        self.assertIn("imported 3 unique-ids from dovecot-uidlist", log)
        self.assertEqual(self.record(),
                         "POP3DUIDL 1\n"
                         f"{names[0]} 00000001deadbeef\n"
                         f"{names[1]} 000000026553f17b\n"
                         f"{names[3]} 000000046553f17b\n")
        # A second session reads the record, not the other file.
        os.unlink(os.path.join(self.md, "dovecot-uidlist"))
        again, log = self.uidls()
        self.assertEqual(again, got, log)
        self.assertNotIn("imported", log)

    def test_other_formats(self):
        names = self.deliver(2)
        self.put("dovecot-uidlist",
                 "3 V42 N3 Gabc\n"
                 f"1 :{names[0]}\n"
                 f"2 GXYZ :{names[1]}\n")
        self.host.write_conf(import_uidl_format="%u-%v.%g")
        got, log = self.uidls()
        self.assertEqual(got, {1: f"1-42.{names[0]}", 2: "2-42.XYZ"}, log)

    def test_filename_format_and_version1(self):
        names = self.deliver(2)
        self.put("dovecot-uidlist", f"1 77 3\n1 {names[0]}\n2 {names[1]}:2,\n")
        self.host.write_conf(import_uidl_format="%f")
        got, log = self.uidls()
        # %f is the base name: nothing differs, nothing is recorded.
        self.assertEqual(got, {1: names[0], 2: names[1]}, log)
        self.assertEqual(self.record(), "POP3DUIDL 1\n")

    def test_pop3d_t(self):
        for fmt, rc in (("%08Xu%08Xv", 0), ("%{uid | hex(8)}%v", 0),
                        ("%m", 78), ("%08Xu%", 78)):
            self.host.write_conf(import_uidl_format=fmt)
            r = subprocess.run([pop3test.POP3D, "-t", "-c",
                                self.host.conf_path], capture_output=True,
                               timeout=CLIENT_TIMEOUT)
            self.assertEqual(r.returncode, rc, (fmt, r))
            if rc:
                self.assertIn(b"import_uidl_format: only text", r.stderr)
        self.host.write_conf(import_uidl="dovecot qmail")
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, timeout=CLIENT_TIMEOUT)
        self.assertEqual(r.returncode, 78, r)
        self.assertIn(b"import_uidl: expected no, dovecot or courier",
                      r.stderr)

    def test_unsupported_format(self):
        names = self.deliver(1)
        self.put("dovecot-uidlist", f"3 V1 N2\n1 :{names[0]}\n")
        self.host.write_conf(import_uidl_format="%m")
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0]}, log)
        self.assertIn("import_uidl_format", log)
        self.assertFalse(os.path.exists(os.path.join(self.md, "pop3d.uidl")))

    def test_moves_flags_and_new_mail(self):
        names = self.deliver(3)
        self.put("dovecot-uidlist", "3 V5 N4\n" + "".join(
            f"{i + 1} :{n}\n" for i, n in enumerate(names)))
        first, log = self.uidls()
        self.assertEqual(first[1], "0000000100000005", log)
        # Another client moves and re-flags; new mail arrives.
        os.rename(os.path.join(self.md, "new", names[0]),
                  os.path.join(self.md, "cur", names[0] + ":2,S"))
        os.rename(os.path.join(self.md, "new", names[1]),
                  os.path.join(self.md, "cur", names[1] + ":2,RS"))
        new = self.host.deliver(self.user, message(9))
        got, log = self.uidls()
        self.assertEqual([got[i] for i in (1, 2, 3)],
                         [first[i] for i in (1, 2, 3)], log)
        self.assertEqual(got[4], new)
        # A message deleted by another client leaves the record.
        os.unlink(os.path.join(self.md, "cur", names[0] + ":2,S"))
        got, log = self.uidls()
        self.assertEqual(list(got.values()),
                         [first[2], first[3], new], log)
        self.assertNotIn(names[0], self.record())

    def test_served_before(self):
        self.uidls()            # no messages: nothing to keep yet
        self.assertFalse(os.path.exists(os.path.join(self.md, "pop3d.uidl")))
        names = self.deliver(2)
        self.uidls()            # clients learn pop3d's unique-ids
        self.assertEqual(self.record(), "POP3DUIDL 1\n")
        self.put("dovecot-uidlist", "3 V5 N3\n" + "".join(
            f"{i + 1} :{n}\n" for i, n in enumerate(names)))
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0], 2: names[1]}, log)
        self.assertEqual(self.record(), "POP3DUIDL 1\n")

    def test_cache_means_served(self):
        names = self.deliver(2)
        self.host.write_conf(import_uidl="no")
        for n in names:         # settled files: the session caches them
            os.utime(os.path.join(self.md, "new", n), (1700000000,) * 2)
        self.uidls()
        self.assertTrue(os.path.exists(os.path.join(self.md, "pop3d.cache")))
        self.host.write_conf(import_uidl="dovecot")
        self.put("dovecot-uidlist", "3 V5 N3\n" + "".join(
            f"{i + 1} :{n}\n" for i, n in enumerate(names)))
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0], 2: names[1]}, log)
        self.assertEqual(self.record(), "POP3DUIDL 1\n")

    def test_import_off(self):
        self.host.write_conf(import_uidl="no")
        names = self.deliver(1)
        self.put("dovecot-uidlist", f"3 V5 N2\n1 :{names[0]}\n")
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0]}, log)
        self.assertFalse(os.path.exists(os.path.join(self.md, "pop3d.uidl")))


class CourierFile(Base):

    def test_sizelist(self):
        names = [self.host.deliver(self.user, message(i), sub="cur")
                 for i in range(4)]
        bases = [n.split(":")[0] for n in names]
        self.put("courierpop3dsizelist",
                 "/3 5 1700000000\n"
                 f"{names[0]} 51 1:1700000000:0\n"
                 f"{bases[1]}:2,S 51 2:0:0\n"
                 f"{names[2]} 51 0:1700000000:0\n")
        got, log = self.uidls()
        self.assertEqual(got, {1: "UID1-1700000000", 2: "UID2",
                               3: bases[2], 4: bases[3]}, log)
        self.assertIn("imported 2 unique-ids from courierpop3dsizelist", log)

    def test_version2_and_escaped(self):
        name = "1700000001.M1P1.host+x"
        self.host.deliver(self.user, message(1), sub="cur", name=name + ":2,")
        self.put("courierpop3dsizelist",
                 "/2 2 99\n" f"{name}:2, 51 0:99\n")
        got, log = self.uidls()
        self.assertEqual(got, {1: "1700000001.M1P1.host+2Bx"}, log)


class Forged(Base):
    """pop3d.uidl is the owner's file: untrusted, checked line by line."""

    def test_bad_lines(self):
        names = [self.host.deliver(self.user, message(i)) for i in range(7)]
        self.put("pop3d.uidl",
                 "POP3DUIDL 1\n"
                 f"{names[0]} good-one\n"
                 f"{names[1]} bad\x01octet\n"
                 f"{names[2]} {'x' * 71}\n"
                 f"{names[3]} same\n"
                 f"{names[4]} same\n"
                 f"{names[5]} {names[6]}\n"
                 f"{names[6]} has:colon\n"
                 "no-space-line\n"
                 f"{names[0]}x\n")
        got, log = self.uidls()
        self.assertEqual(got, {1: "good-one", 2: names[1], 3: names[2],
                               4: names[3], 5: names[4], 6: names[5],
                               7: names[6]}, log)
        self.assertIn("lines malformed or ambiguous", log)
        self.assertIn("taken by other messages", log)
        self.assertEqual(len(set(got.values())), 7)
        # Written anew with the good line alone.
        self.assertEqual(self.record(), f"POP3DUIDL 1\n{names[0]} good-one\n")

    def test_duplicate_base(self):
        names = [self.host.deliver(self.user, message(i)) for i in range(2)]
        self.put("pop3d.uidl", "POP3DUIDL 1\n"
                 f"{names[0]} one\n{names[0]} two\n{names[1]} three\n")
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0], 2: "three"}, log)

    def test_huge_and_foreign(self):
        names = [self.host.deliver(self.user, message(i)) for i in range(2)]
        path = os.path.join(self.md, "pop3d.uidl")
        with open(path, "wb") as f:
            f.write(b"POP3DUIDL 1\n")
            f.truncate(64 * 1024 * 1024 + 1)
        self.host.chown(self.user, path)
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0], 2: names[1]}, log)
        self.assertIn("pop3d.uidl: not a regular file of at most", log)
        os.unlink(path)
        self.put("pop3d.uidl", "something else\n")
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0], 2: names[1]}, log)
        self.assertIn("not a record of unique-ids", log)

    def test_symlink_not_followed(self):
        names = [self.host.deliver(self.user, message(0))]
        secret = os.path.join(self.host.dir, "elsewhere")
        with open(secret, "w") as f:
            f.write(f"POP3DUIDL 1\n{names[0]} stolen\n")
        os.symlink(secret, os.path.join(self.md, "pop3d.uidl"))
        got, log = self.uidls()
        self.assertEqual(got, {1: names[0]}, log)

    def test_forged_dovecot(self):
        names = [self.host.deliver(self.user, message(i)) for i in range(3)]
        self.put("dovecot-uidlist",
                 "3 V1 N9\n"
                 f"1 P{'y' * 80} :{names[0]}\n"
                 f"notanumber :{names[1]}\n"
                 f"2 P{names[2]} :{names[1]}\n"
                 f"3 :{names[2]}\n")
        got, log = self.uidls()
        # The over-long P is left out; the P that names another message
        # gives way to it.
        self.assertEqual(got, {1: names[0], 2: names[1],
                               3: "0000000300000001"}, log)
        self.assertIn("dovecot-uidlist: 1 lines malformed", log)


COURIER_TREES = ("/", "/opt/pop3d-test-courier")     # installed, unpacked
COURIER_PROGRAM = "usr/lib/courier/courier/courierpop3d"


def courier_tree():
    for t in COURIER_TREES:
        if os.access(os.path.join(t, COURIER_PROGRAM), os.X_OK):
            return t
    return None


def parse_session(out, count):
    """{n: (unique-id, message)} from a UIDL and count RETRs, un-stuffed,
    the message's line ends as LF."""
    lines = out.split(b"\r\n")
    i = 0

    def multi():
        nonlocal i
        assert lines[i].startswith(b"+OK"), lines[i]
        i += 1
        body = []
        while lines[i] != b".":
            body.append(lines[i][1:] if lines[i].startswith(b".")
                        else lines[i])
            i += 1
        i += 1
        return body

    while not lines[i].startswith(b"+OK logged in"):
        i += 1
    i += 1
    uidls = dict(line.decode().split(" ") for line in multi())
    return {int(n): (u, b"\n".join(multi()) + b"\n")
            for n, u in sorted(uidls.items(), key=lambda x: int(x[0]))
            if int(n) <= count}


@unittest.skipUnless(courier_tree(), "courier-pop not installed or unpacked "
                     "(tests/deps.sh)")
class RealCourier(Base):
    """Courier's own courierpop3d serves the Maildir (over pipes, as
    couriertcpd starts it after a login) and writes its
    courierpop3dsizelist; then pop3d gives every message the same
    unique-id."""
    IMPORT = "courier"

    def courier(self, count):
        tree = courier_tree()
        env = {"TCPREMOTEIP": "127.0.0.1", "AUTHENTICATED": self.user,
               "MAILDIR": self.md, "PATH": "/usr/bin:/bin"}
        if tree != "/":
            env["LD_LIBRARY_PATH"] = ":".join(
                os.path.join(tree, d) for d in
                ("usr/lib", "usr/lib/x86_64-linux-gnu"))
        kw = {}
        if pop3test.ROOT:
            uid = self.host.uid_of(self.user)
            kw = {"user": uid, "group": uid, "extra_groups": []}
        cmds = "UIDL\r\n" + "".join(f"RETR {i}\r\n"
                                     for i in range(1, count + 1))
        r = subprocess.run([os.path.join(tree, COURIER_PROGRAM)],
                           input=(cmds + "QUIT\r\n").encode(), env=env,
                           capture_output=True, timeout=CLIENT_TIMEOUT,
                           cwd=self.md, **kw)
        self.assertEqual(r.returncode, 0, r)
        return parse_session(r.stdout, count)

    def pop3d(self, count):
        p = pop3test.Pipe(self.host)
        p.login(self.user, PASSWORD)
        p.send("UIDL\r\n" + "".join(f"RETR {i}\r\n"
                                     for i in range(1, count + 1)) +
               "QUIT\r\n")
        out = b""
        while True:
            line = p.line()
            if line == b"" and p.eof():
                break
            out += line + b"\r\n"
        rc, log = p.close()
        self.assertEqual(pop3test.sanitizer_lines(log), [])
        return parse_session(b"+OK logged in\r\n" + out, count), log

    def test_courier_then_pop3d(self):
        for i in range(4):
            self.host.deliver(self.user, message(i))
        before = self.courier(4)
        self.assertEqual(len(before), 4)
        self.assertTrue(all(u.startswith("UID") for u, _ in
                            before.values()), before)
        got, log = self.pop3d(4)
        self.assertEqual(got, before, log)
        self.assertIn("imported 4 unique-ids from courierpop3dsizelist",
                      log)
        # Another client re-flags every file; new mail arrives.
        d = os.path.join(self.md, "cur")
        for n in os.listdir(d):
            os.rename(os.path.join(d, n),
                      os.path.join(d, n.split(":")[0] + ":2,RS"))
        name = self.host.deliver(self.user, message(9))
        got, log = self.pop3d(5)
        self.assertEqual({n: got[n] for n in before}, before, log)
        self.assertEqual(got[5][0], name)


DOVECOT_CONF = """\
protocols = pop3
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{maildir}
pop3_uidl_format = %08Xu%08Xv
pop3_save_uidl = {save}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def run(argv, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(argv, env=e, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=CLIENT_TIMEOUT)


def wait_port(port, proc):
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("server exited")
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class FetchmailClient:
    """One fetchmail (one idfile) in self.home, and poplib, against
    whatever server a test starts."""

    def fetchmail(self, port):
        """Messages the same fetchmail (same idfile) downloads now."""
        self.fetched += 1
        out = os.path.join(self.home, f"out-{self.fetched}")
        os.makedirs(out)
        rc = os.path.join(self.home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no syslog\n"
                    "set invisible\n"
                    f"set idfile \"{self.home}/fetchids\"\n"
                    f"poll 127.0.0.1 port {port} proto pop3 uidl\n"
                    f"  user \"{self.user}\" there password \"{PASSWORD}\"\n"
                    "  keep no rewrite sslproto ''\n"
                    f"  mda \"/bin/sh -c 'cat > {out}/$$'\"\n")
        os.chmod(rc, 0o600)
        r = run(["fetchmail", "-f", rc, "--nosyslog", "-v",
                 "--pidfile", os.path.join(self.home, "fetchmail.pid")],
                env={"HOME": self.home, "FETCHMAILHOME": self.home})
        text = r.stdout.decode(errors="replace") + \
            r.stderr.decode(errors="replace")
        self.assertIn(r.returncode, (0, 1), text)
        return sorted(open(os.path.join(out, n), "rb").read()
                      for n in os.listdir(out)), text

    def server_uidls(self, port):
        """Message number -> (unique-id, the message) through poplib."""
        c = poplib.POP3("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
        try:
            c.user(self.user)
            c.pass_(PASSWORD)
            out = {}
            for line in c.uidl()[1]:
                n, u = line.decode().split(" ")
                body = b"\n".join(c.retr(int(n))[1])
                out[int(n)] = (u, body.split(b"\n\n", 1)[1])
            c.quit()
        finally:
            c.close()
        return out


@unittest.skipUnless(pop3test.ROOT, "needs root: Dovecot runs as itself")
@unittest.skipUnless(shutil.which("dovecot") and
                     os.path.exists("/usr/lib/dovecot/pop3"),
                     "dovecot-pop3d not installed")
@unittest.skipUnless(pop3test.have("fetchmail"), "fetchmail not installed")
@unittest.skipUnless(pop3test.have("tcpserver"), "ucspi-tcp not installed")
class RealDovecot(FetchmailClient, Base):
    """pop3_save_uidl = yes: pop3d takes the P fields Dovecot saved."""
    IMPORT = "dovecot"
    SAVE = "yes"

    def setUp(self):
        super().setUp()
        self.dove = None
        self.launcher = None
        self.ddir = tempfile.mkdtemp(prefix="dovecot-", dir=self.host.dir)
        os.chmod(self.ddir, 0o755)
        self.home = os.path.join(self.host.dir, "fetchmail")
        os.makedirs(self.home, mode=0o700)
        self.fetched = 0

    def tearDown(self):
        if self.launcher is not None:
            self.launcher.stop()
        self.stop_dovecot()
        super().tearDown()

    def start_dovecot(self):
        self.port = pop3test.free_port()
        uid = self.host.uid_of(self.user)
        with open(os.path.join(self.ddir, "passwd"), "w") as f:
            f.write(f"{self.user}:{{PLAIN}}{PASSWORD}:{uid}:{uid}::"
                    f"{self.host.dir}/mail::\n")
        conf = os.path.join(self.ddir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(DOVECOT_CONF.format(dir=self.ddir, maildir=self.md,
                                        port=self.port, save=self.SAVE))
        self.dove = subprocess.Popen(["dovecot", "-F", "-c", conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        wait_port(self.port, self.dove)

    def stop_dovecot(self):
        if self.dove is None or self.dove.poll() is not None:
            return
        self.dove.send_signal(signal.SIGTERM)
        try:
            self.dove.wait(CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.dove.pid, signal.SIGKILL)
            self.dove.wait(CLIENT_TIMEOUT)

    def dovecot_log(self):
        try:
            with open(os.path.join(self.ddir, "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def test_dovecot_then_pop3d(self):
        for i in range(5):
            self.host.deliver(self.user, message(i))
        self.start_dovecot()
        got, text = self.fetchmail(self.port)
        self.assertEqual(len(got), 5, text + self.dovecot_log())
        before = self.server_uidls(self.port)
        self.assertEqual(len(before), 5)
        self.stop_dovecot()
        self.assertTrue(os.path.exists(os.path.join(self.md,
                                                    "dovecot-uidlist")))

        self.launcher = pop3test.Launcher("tcpserver", self.host)
        port = self.launcher.port
        got, text = self.fetchmail(port)
        self.assertEqual(got, [], text + self.launcher.read_log())
        self.assertEqual(self.server_uidls(port), before,
                         self.launcher.read_log())
        self.assertIn("imported 5 unique-ids from dovecot-uidlist",
                      self.launcher.read_log())

        # New mail: exactly that is downloaded, under pop3d's unique-id.
        new = message(99)
        name = self.host.deliver(self.user, new)
        got, text = self.fetchmail(port)
        self.assertEqual(got, [new], text)
        after = self.server_uidls(port)
        self.assertEqual({n: after[n] for n in before}, before)
        self.assertEqual(after[6][0], name)

        # Another client renames every file: nothing changes.
        for sub in ("new", "cur"):
            d = os.path.join(self.md, sub)
            for n in os.listdir(d):
                base = n.split(":")[0]
                os.rename(os.path.join(d, n),
                          os.path.join(self.md, "cur", base + ":2,FS"))
        got, text = self.fetchmail(port)
        self.assertEqual(got, [], text)
        self.assertEqual(self.server_uidls(port), after)
        bad = pop3test.sanitizer_lines(self.launcher.read_log())
        self.assertEqual(bad, [])
        uidlist = open(os.path.join(self.md, "dovecot-uidlist")).read()
        self.assertEqual(" P" in uidlist, self.SAVE == "yes", uidlist)


class RealDovecotFormat(RealDovecot):
    """Debian's default, pop3_save_uidl = no: pop3d expands the format."""
    SAVE = "no"


# Courier's real login stack, from the tree tests/deps.sh unpacked:
# couriertcpd accepts, courierpop3login asks authdaemond, which checks
# the password with PAM (authpam: Debian's courier-authlib has no module
# but authpam and authcustom), and courierpop3d serves the Maildir as the
# user, whom the test makes with useradd.  authdaemond's socket
# (/run/courier/authdaemon), its configuration (/etc/courier/authdaemonrc)
# and its modules (/usr/lib/courier-authlib) are paths compiled in, where
# the host has nothing of Courier's: the stack runs in a mount namespace
# of its own, in which a tmpfs covers /run and read-only overlays add the
# tree's /usr/lib and a configuration to /usr/lib and /etc.  The host's
# files are not touched, and the mounts go with the last process.
COURIER_UNPACKED = "/opt/pop3d-test-courier"
COURIER_STACK = """\
set -e
mount -t overlay overlay -o lowerdir={tree}/usr/lib:/usr/lib /usr/lib
mount -t overlay overlay -o lowerdir={dir}/etc:/etc /etc
mount -t tmpfs tmpfs /run
mkdir -p /run/courier/authdaemon
/usr/lib/courier/courier-authlib/authdaemond &
echo $! > {dir}/authdaemond.pid
i=0
while [ ! -S /run/courier/authdaemon/socket ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
exec env -i PATH=/usr/bin:/bin POP3AUTH= POP3_STARTTLS=NO \\
    POP3_TLS_REQUIRED=0 {tree}/usr/sbin/couriertcpd -address=127.0.0.1 \\
    -nodnslookup -noidentlookup -maxprocs=4 {port} \\
    /usr/lib/courier/courier/courierpop3login \\
    /usr/lib/courier/courier/courierpop3d Maildir
"""


def descendants(pid):
    """Every process below pid, from /proc."""
    parent = {}
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            parent[int(name)] = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


@unittest.skipUnless(pop3test.ROOT, "needs root: PAM accounts, mounts")
@unittest.skipUnless(os.access(os.path.join(
    COURIER_UNPACKED, "usr/lib/courier/courier/courierpop3login"), os.X_OK),
    "courier-pop not unpacked (tests/deps.sh)")
@unittest.skipUnless(all(shutil.which(p) for p in ("unshare", "useradd",
                                                   "userdel", "chpasswd")),
                     "util-linux or passwd tools missing")
@unittest.skipUnless(pop3test.have("fetchmail"), "fetchmail not installed")
@unittest.skipUnless(pop3test.have("tcpserver"), "ucspi-tcp not installed")
class RealCourierStack(FetchmailClient, Base):
    """fetchmail against Courier's couriertcpd, courierpop3login and
    authdaemond (PAM), then against pop3d on the same Maildir."""
    IMPORT = "courier"

    def setUp(self):
        super().setUp()
        # Should this setUp fail, tearDown is not run (cleanup is idempotent).
        self.addCleanup(self.host.cleanup)
        self.courier = self.launcher = None
        self.user = f"p3dcourier{os.getpid()}"
        try:
            pwd.getpwnam(self.user)
            self.skipTest(f"an account {self.user} exists")
        except KeyError:
            pass
        uid = self.host.add_user(self.user, PASSWORD)
        self.md = self.host.maildir(self.user)
        # Courier finds the Maildir as ~/Maildir.
        home = os.path.join(self.host.dir, "courier-home")
        os.mkdir(home, 0o755)
        os.symlink(self.md, os.path.join(home, "Maildir"))
        r = run(["useradd", "-o", "-u", str(uid), "-M", "-d", home, "-s",
                 "/usr/sbin/nologin", self.user])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(run, ["userdel", self.user])
        r = subprocess.run(["chpasswd"], input=f"{self.user}:{PASSWORD}\n",
                           text=True, capture_output=True,
                           timeout=CLIENT_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.home = os.path.join(self.host.dir, "fetchmail")
        os.makedirs(self.home, mode=0o700)
        self.fetched = 0

    def tearDown(self):
        if self.launcher is not None:
            self.launcher.stop()
        self.stop_courier()
        super().tearDown()

    def start_courier(self):
        self.cdir = tempfile.mkdtemp(prefix="courier-", dir=self.host.dir)
        os.chmod(self.cdir, 0o755)
        for sub in ("etc/courier", "etc/pam.d"):
            os.makedirs(os.path.join(self.cdir, sub))
        with open(os.path.join(self.cdir, "etc/courier/authdaemonrc"),
                  "w") as f:
            f.write('authmodulelist="authpam"\ndaemons=1\n')
        shutil.copy(os.path.join(COURIER_UNPACKED, "etc/pam.d/pop3"),
                    os.path.join(self.cdir, "etc/pam.d/pop3"))
        self.cport = pop3test.free_port()
        script = os.path.join(self.cdir, "stack.sh")
        with open(script, "w") as f:
            f.write(COURIER_STACK.format(tree=COURIER_UNPACKED, dir=self.cdir,
                                         port=self.cport))
        self.clog = open(os.path.join(self.cdir, "courier.log"), "wb")
        self.courier = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", script],
            stdin=subprocess.DEVNULL, stdout=self.clog, stderr=self.clog)
        try:
            wait_port(self.cport, self.courier)
        except RuntimeError as e:
            raise RuntimeError(f"{e}: {self.courier_log()}") from None

    def courier_log(self):
        with open(os.path.join(self.cdir, "courier.log"),
                  errors="replace") as f:
            return f.read()

    def stop_courier(self):
        """authdaemond, then couriertcpd (whose pid is the Popen's: sh
        and unshare exec), by pid; anything left below them is killed."""
        if self.courier is None:
            return
        left = descendants(self.courier.pid)
        try:
            with open(os.path.join(self.cdir, "authdaemond.pid")) as f:
                os.kill(int(f.read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        self.courier.terminate()
        try:
            self.courier.wait(CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.courier.kill()
            self.courier.wait(CLIENT_TIMEOUT)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.courier = None
        self.clog.close()

    def test_courier_then_pop3d(self):
        for i in range(5):
            self.host.deliver(self.user, message(i))
        self.start_courier()
        got, text = self.fetchmail(self.cport)
        self.assertEqual(len(got), 5, text + self.courier_log())
        before = self.server_uidls(self.cport)
        self.assertEqual(len(before), 5)
        self.assertTrue(all(u.startswith("UID") for u, _ in
                            before.values()), before)
        self.assertIn(f"LOGIN, user={self.user}", self.courier_log())
        self.stop_courier()
        self.assertTrue(os.path.exists(os.path.join(
            self.md, "courierpop3dsizelist")))

        self.launcher = pop3test.Launcher("tcpserver", self.host)
        port = self.launcher.port
        got, text = self.fetchmail(port)
        self.assertEqual(got, [], text + self.launcher.read_log())
        self.assertEqual(self.server_uidls(port), before,
                         self.launcher.read_log())
        self.assertIn("imported 5 unique-ids from courierpop3dsizelist",
                      self.launcher.read_log())

        # New mail: exactly that is downloaded, under pop3d's unique-id.
        new = message(99)
        name = self.host.deliver(self.user, new)
        got, text = self.fetchmail(port)
        self.assertEqual(got, [new], text)
        after = self.server_uidls(port)
        self.assertEqual({n: after[n] for n in before}, before)
        self.assertEqual(after[6][0], name)
        self.assertEqual(pop3test.sanitizer_lines(self.launcher.read_log()),
                         [])


if __name__ == "__main__":
    pop3test.main()
