#!/usr/bin/env python3
"""The Debian package: built, checked, installed, used and purged.

Needs root on Debian with dpkg-buildpackage, debhelper and lintian
(tests/deps.sh installs them); elsewhere every test is skipped.  The
package is built once, with dpkg-buildpackage -us -uc -b, from a copy of
the tracked (and new, not ignored) files in a temporary directory, so the
work tree gets no debian/.debhelper and no build folder.  The build skips
make test (nocheck): make check runs those suites itself.

  test_contents       what the .deb holds: programs and modes, the manual
                      pages make install puts there, the conffile, no
                      users file, the chroot
  test_install_login_purge
                      dpkg -i creates the pop3d user and an empty users
                      file, leaves the sockets disabled, pop3d -t passes;
                      a user logs in and RETRs a message through the
                      installed programs under systemd-socket-activate,
                      started as the installed unit says; dpkg --purge
                      then leaves no file, user or group behind
  test_lintian        no error and no warning on the .deb and .changes
  test_purge_keeps_admin_user
                      a pop3d user that the administrator made is used
                      as it is and survives the purge

The pop3d user that tests/deps.sh makes for the other suites is set aside
while the package makes and removes its own, and put back as it was.  If
the package is installed when the tests start (a run that was killed),
it is purged first.  Each test purges what it installed, also on failure.
"""
import glob
import os
import poplib
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402

PACKAGE = "pop3d"
UNIT_DIR = "/lib/systemd/system"
UNITS = ("pop3d.socket", "pop3d@.service", "pop3s.socket", "pop3s@.service")
SOCKETS = ("pop3d.socket", "pop3s.socket")
CHROOT = "/var/lib/pop3d/empty"
USERS_FILE = "/etc/pop3d/users"
# What the package installs and purge must remove, beyond its file list.
GONE = ("/usr/sbin/pop3d", "/usr/libexec/pop3d", "/usr/bin/pop3d-passwd",
        "/etc/pop3d", "/var/lib/pop3d", "/usr/share/doc/pop3d",
        *(os.path.join(UNIT_DIR, u) for u in UNITS))
# The mark postinst gives the user it makes (debian/pop3d.postinst).
GECOS = "pop3d pre-login process"
# Where a leftover of the package could be; any path under them with
# "pop3" in its name is compared before and after.
SCAN = ("/etc", "/usr", "/var/lib", "/var/cache", "/var/log", "/run")
BUILD_TIMEOUT = 600
DPKG_TIMEOUT = 120
MESSAGE = (b"From: sender@example.org\r\nSubject: packaged\r\n\r\n"
           b"delivered to the installed pop3d\r\n")


def run(argv, timeout=DPKG_TIMEOUT, check=True, **kw):
    """argv with no standard input, its output as text."""
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, **kw)
    out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {r.returncode}\n{out}")
    return r.returncode, out


def clean_env(**more):
    """A fixed environment: nothing from the make or test run that
    started us (MAKEFLAGS, CFLAGS, sanitizer options) reaches dpkg."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                   "/sbin:/bin",
           "LC_ALL": "C.UTF-8", "HOME": "/root",
           "DEBIAN_FRONTEND": "noninteractive"}
    env.update(more)
    return env


def status():
    """dpkg's status of the package, or None when dpkg knows none."""
    rc, out = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE],
                  check=False)
    return out.strip() if rc == 0 and out.strip() else None


def installed():
    """True if anything of the package is on the system, even only its
    configuration (dpkg's "rc")."""
    s = status()
    return s is not None and s[1] != "n"


def purge():
    return run(["dpkg", "--purge", PACKAGE], env=clean_env())[1]


def getent(db, name):
    rc, out = run(["getent", db, name], check=False)
    return out.strip() if rc == 0 else None


def names(path):
    with open(path) as f:
        return sorted(line.split(":", 1)[0] for line in f if ":" in line)


def leftovers():
    """Paths whose name has "pop3" under SCAN, plus the user and group
    databases by name."""
    found = set()
    for top in SCAN:
        for d, dirs, files in os.walk(top):
            found.update(os.path.join(d, n) for n in dirs + files
                         if "pop3" in n)
    return {"paths": sorted(found), "passwd": names("/etc/passwd"),
            "group": names("/etc/group")}


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class InstalledLauncher(pop3test.Launcher):
    """systemd-socket-activate on 127.0.0.1 running the command of the
    installed pop3d@.service, plus -d so that pop3d's log reaches the
    launcher's log (the unit's goes to the journal)."""

    def _systemd(self, unit, cmd, env, extra_env):
        # An absolute name makes unit_file read the installed unit.
        sock = pop3test.unit_file(os.path.join(UNIT_DIR, f"{unit}.socket"))
        service = pop3test.unit_file(
            os.path.join(UNIT_DIR, f"{unit}@.service"))["Service"]
        argv = ["systemd-socket-activate"]
        if service.get("StandardInput") == "socket":
            argv.append("--inetd")
        if sock["Socket"].get("Accept") == "yes":
            argv.append("-a")
        self.exec_start = service["ExecStart"].split()
        return argv + ["-l", f"127.0.0.1:{self.port}", *self.exec_start,
                       "-d"]


class Scratch:
    """A directory for the launcher's log and the test user's home; the
    configuration is the installed one (Launcher wants conf_path)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pop3d-package-")
        os.chmod(self.dir, 0o755)       # the mailbox owner traverses it
        self.conf_path = "/etc/pop3d/pop3d.conf"

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def why_not():
    """Why the package cannot be tested here, or None."""
    if not pop3test.ROOT:
        return "needs root (dpkg -i)"
    if not os.path.exists("/etc/debian_version"):
        return "not Debian"
    for prog in ("dpkg-buildpackage", "dh", "lintian", "adduser",
                 "systemd-socket-activate"):
        if not pop3test.have(prog):
            return f"{prog} not installed (tests/deps.sh installs it)"
    return None


WHY_NOT = why_not()


@unittest.skipIf(WHY_NOT, WHY_NOT)
class Package(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="pop3d-deb-")
        try:
            if installed():
                purge()
            cls.deb, cls.changes, cls.files = cls.build()
            # A file of the package that is there without it (an install
            # by hand with PREFIX=/usr, say) would be overwritten by
            # dpkg -i, or prompted for, and then purged.
            there = [p for p in cls.files if os.path.lexists(p)
                     and not os.path.isdir(p)]
            there += [p for p in GONE if os.path.lexists(p)]
            if there:
                raise unittest.SkipTest("not the package's, would be "
                                        f"replaced: {', '.join(there)}")
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise
        # The pop3d user as tests/deps.sh (or an administrator) left it.
        cls.user = getent("passwd", "pop3d")
        cls.group = getent("group", "pop3d")

    @classmethod
    def tearDownClass(cls):
        try:
            if installed():
                purge()
        finally:
            # What a faulty purge left (none was there before: see
            # setUpClass), or the next run would skip instead of failing.
            for p in GONE:
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                elif os.path.lexists(p):
                    os.unlink(p)
            cls.restore_user()
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def build(cls):
        src = os.path.join(cls.work, "pop3d")
        os.mkdir(src)
        rc, out = run(["git", "-C", pop3test.TOP, "ls-files", "-z",
                       "--cached", "--others", "--exclude-standard"],
                      check=False)
        if rc != 0:
            raise unittest.SkipTest("not a git checkout: " + out.strip())
        for rel in filter(None, out.split("\0")):
            path = os.path.join(pop3test.TOP, rel)
            if os.path.lexists(path) and not os.path.isdir(path):
                os.makedirs(os.path.join(src, os.path.dirname(rel)),
                            exist_ok=True)
                shutil.copy2(path, os.path.join(src, rel),
                             follow_symlinks=False)
        run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
            timeout=BUILD_TIMEOUT,
            env=clean_env(DEB_BUILD_OPTIONS="nocheck parallel=2"))
        version = run(["dpkg-parsechangelog", "-S", "Version"], cwd=src)[1]
        arch = run(["dpkg", "--print-architecture"])[1]
        name = f"{PACKAGE}_{version.strip()}_{arch.strip()}"
        deb = os.path.join(cls.work, name + ".deb")
        changes = os.path.join(cls.work, name + ".changes")
        for f in (deb, changes):
            if not os.path.exists(f):
                raise AssertionError(f"no {os.path.basename(f)} in "
                                     f"{os.listdir(cls.work)}")
        # {path: permissions as ls shows them}, "/" for the top.
        out = run(["dpkg-deb", "-c", deb])[1]
        files = {}
        for line in out.splitlines():
            perms, *_, path = line.split(None, 5)
            path = path.split(" -> ")[0][1:].rstrip("/") or "/"
            files[path] = perms
        cls.src = src
        return deb, changes, files

    # The pop3d user the other suites need, set aside and put back.

    @classmethod
    def set_user_aside(cls):
        if cls.user is None:
            return
        if cls.group and cls.group.split(":")[3]:
            raise unittest.SkipTest(f"group pop3d has members: {cls.group}")
        run(["userdel", "pop3d"])
        if getent("group", "pop3d"):
            run(["groupdel", "pop3d"])

    @classmethod
    def restore_user(cls):
        now = getent("passwd", "pop3d")
        if cls.user is None or now == cls.user:
            return
        if now is not None:
            if now.split(":")[4].split(",")[0] != GECOS:
                return                  # not the package's: leave it
            run(["userdel", "pop3d"])   # the package's, left by a failure
            if getent("group", "pop3d"):
                run(["groupdel", "pop3d"])
        name, _, uid, gid, gecos, home, shell = cls.user.split(":")
        if cls.group and not getent("group", "pop3d"):
            run(["groupadd", "--system", "-g", cls.group.split(":")[2],
                 "pop3d"])
        run(["useradd", "--system", "-u", uid, "-g", gid, "-M",
             "-d", home, "-s", shell, "-c", gecos, name])

    def install(self):
        out = run(["dpkg", "-i", self.deb], env=clean_env())[1]
        self.assertEqual(status(), "ii", out)
        return out

    def assert_gone(self, before):
        self.assertIsNone(status(), "dpkg still knows the package")
        for p in GONE:
            self.assertFalse(os.path.lexists(p), f"{p} left by purge")
        after = leftovers()
        self.assertEqual(after["paths"], before["paths"], "paths left")
        self.assertEqual(after["passwd"], before["passwd"])
        self.assertEqual(after["group"], before["group"])

    def test_contents(self):
        f = self.files
        for p in ("/usr/sbin/pop3d", "/usr/bin/pop3d-passwd",
                  "/usr/libexec/pop3d/pop3d-session", "/etc/pop3d/pop3d.conf",
                  CHROOT, *(os.path.join(UNIT_DIR, u) for u in UNITS)):
            self.assertIn(p, f)
        self.assertNotIn(USERS_FILE, f, "the users file is made by postinst")
        # Every manual page under man/, as make install puts them.
        for page in glob.glob(os.path.join(self.src, "man", "*.[1-9]")):
            name = os.path.basename(page)
            self.assertIn(f"/usr/share/man/man{name[-1]}/{name}.gz", f)
        ctl = os.path.join(self.work, "control")
        run(["dpkg-deb", "-e", self.deb, ctl])
        with open(os.path.join(ctl, "conffiles")) as fh:
            self.assertEqual(fh.read().split(), ["/etc/pop3d/pop3d.conf"])
        self.assertEqual(self.files["/usr/libexec/pop3d/pop3d-session"],
                         "-rwx--x--x")
        self.assertEqual(self.files["/usr/libexec/pop3d/pop3d-ldap"],
                         "-rwx--x--x")
        self.assertEqual(self.files["/usr/libexec/pop3d/pop3d-log"],
                         "-rwxr-xr-x")
        self.assertEqual(self.files["/usr/sbin/pop3d"], "-rwxr-xr-x")
        self.assertEqual(self.files[CHROOT], "drwxr-xr-x")

    def test_lintian(self):
        rc, out = run(["lintian", "--fail-on", "error,warning",
                       self.changes, self.deb], timeout=BUILD_TIMEOUT,
                      check=False, env=clean_env())
        bad = [line for line in out.splitlines() if line[:2] in ("E:", "W:")]
        self.assertEqual(bad, [], out)
        self.assertEqual(rc, 0, out)

    def test_install_login_purge(self):
        self.set_user_aside()
        before = leftovers()
        scratch = Scratch()
        launcher = None
        try:
            self.install()
            # The user, the users file, the chroot, the sockets.
            pw = getent("passwd", "pop3d")
            self.assertIsNotNone(pw, "postinst made no pop3d user")
            _, _, uid, gid, gecos, home, shell = pw.split(":")
            self.assertNotIn("0", (uid, gid))
            self.assertEqual((gecos.split(",")[0], home, shell),
                             (GECOS, "/nonexistent", "/usr/sbin/nologin"))
            self.assertIsNotNone(getent("group", "pop3d"))
            st = os.lstat(USERS_FILE)
            self.assertTrue(stat.S_ISREG(st.st_mode))
            self.assertEqual((st.st_uid, mode(USERS_FILE), st.st_size),
                             (0, 0o600, 0))
            st = os.lstat(CHROOT)
            self.assertTrue(stat.S_ISDIR(st.st_mode))
            self.assertEqual((st.st_uid, mode(CHROOT)), (0, 0o755))
            self.assertEqual(os.listdir(CHROOT), [])
            self.assertEqual(mode("/usr/libexec/pop3d/pop3d-session"), 0o711)
            for sock in SOCKETS:
                out = run(["systemctl", "is-enabled", sock], check=False)[1]
                self.assertEqual(out.strip(), "disabled", sock)
                self.assertFalse(glob.glob(f"/etc/systemd/system/*/{sock}"))
            rc, out = run(["/usr/sbin/pop3d", "-t"], check=False)
            self.assertEqual(rc, 0, out)
            self.assertIn("configuration OK", out)

            # A user with a Maildir and a message, as README says.
            maildir = os.path.join(scratch.dir, "alice", "Maildir")
            owner = pop3test.BASE_UID
            for sub in ("", "new", "cur", "tmp"):
                os.makedirs(os.path.join(maildir, sub))
                os.chown(os.path.join(maildir, sub), owner, owner)
                os.chmod(os.path.join(maildir, sub), 0o700)
            os.chown(os.path.dirname(maildir), owner, owner)
            msg = os.path.join(maildir, "new", "1700000000.M1P1.packaged")
            with open(msg, "wb") as fh:
                fh.write(MESSAGE)
            os.chown(msg, owner, owner)
            r = subprocess.run(["/usr/bin/pop3d-passwd", "-r"],
                               input=b"sesame\n", capture_output=True,
                               timeout=pop3test.WAIT, check=True)
            with open(USERS_FILE, "a") as fh:
                fh.write(f"alice:{r.stdout.decode().strip()}:{owner}:{owner}"
                         f"::{os.path.dirname(maildir)}\n")
            self.assertEqual(mode(USERS_FILE), 0o600)
            self.assertEqual(run(["/usr/sbin/pop3d", "-t"], check=False)[0], 0)

            launcher = InstalledLauncher("systemd", scratch)
            self.assertEqual(launcher.exec_start, ["/usr/sbin/pop3d"])
            c = poplib.POP3("127.0.0.1", launcher.port, timeout=pop3test.WAIT)
            try:
                c.user("alice")
                c.pass_("sesame")
                self.assertEqual(c.stat(), (1, len(MESSAGE)))
                _, lines, _ = c.retr(1)
                self.assertEqual(b"\r\n".join(lines) + b"\r\n", MESSAGE)
                self.assertTrue(c.quit().startswith(b"+OK"))
            finally:
                c.close()
            self.assertEqual(launcher.wait_idle(), [], launcher.read_log())
            self.assertIn("login user=alice ", launcher.read_log())
            launcher.stop()
            launcher = None

            purge()
            self.assert_gone(before)
        finally:
            if launcher is not None:
                launcher.stop()
            try:
                if installed():
                    purge()
            finally:
                self.restore_user()
                scratch.cleanup()

    def test_purge_keeps_admin_user(self):
        made = False
        if getent("passwd", "pop3d") is None:
            run(["useradd", "--system", "--no-create-home", "--home-dir",
                 "/nonexistent", "--shell", "/usr/sbin/nologin", "pop3d"])
            made = True
        try:
            admin = getent("passwd", "pop3d")
            self.assertNotEqual(admin.split(":")[4].split(",")[0], GECOS,
                                "the pop3d user is the package's")
            before = leftovers()
            try:
                self.install()
                self.assertEqual(getent("passwd", "pop3d"), admin)
                rc, out = run(["/usr/sbin/pop3d", "-t"], check=False)
                self.assertEqual(rc, 0, out)
                purge()
                self.assertEqual(getent("passwd", "pop3d"), admin)
                self.assert_gone(before)
            finally:
                if installed():
                    purge()
        finally:
            if made:
                run(["userdel", "pop3d"], check=False)


if __name__ == "__main__":
    pop3test.main()
