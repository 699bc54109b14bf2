"""Fixtures for pop3d's integration tests.

A Mailhost is a throw-away mail host: a config file, a users file and
Maildirs in a temporary directory.  As root (CI) the mailboxes belong to
numeric test uids and pop3d runs with full privilege separation; as an
ordinary user they belong to that user and pop3d serves only them.

Clients talk to pop3d over pipes (inetd style) or through a real launcher
listening on 127.0.0.1.  Every wait is bounded.
"""
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(TOP, os.environ.get("POP3D_BUILD", "build"))
POP3D = os.path.join(BUILD, "pop3d")
POP3D_PASSWD = os.path.join(BUILD, "pop3d-passwd")
ROOT = os.geteuid() == 0
BASE_UID = 20001          # as root: first mailbox owner uid
WAIT = 10.0               # seconds any single expectation may take


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def hash_password(password, scheme="SHA512-CRYPT"):
    out = subprocess.run([POP3D_PASSWD, "-s", scheme, "-r"],
                         input=password.encode() + b"\n",
                         capture_output=True, check=True, timeout=WAIT)
    return out.stdout.decode().strip()


class Mailhost:
    """A temporary configuration, users file and set of Maildirs."""

    def __init__(self, **conf):
        self.dir = tempfile.mkdtemp(prefix="pop3d-test-")
        os.chmod(self.dir, 0o755)       # mailbox owners must traverse it
        self.users = {}
        self.next_uid = BASE_UID
        self.seq = 0
        self.conf = {
            "users_file": os.path.join(self.dir, "users"),
            "maildir": os.path.join(self.dir, "mail", "%u"),
            "log": "stderr",
            "auth_fail_delay_ms": "0",
            "login_timeout": "20",
        }
        if ROOT:
            self.conf["empty_dir"] = "/var/empty"
        self.conf.update({k: str(v) for k, v in conf.items()})
        os.mkdir(os.path.join(self.dir, "mail"))
        os.chmod(os.path.join(self.dir, "mail"), 0o755)
        self.write_conf()
        self.write_users()

    @property
    def conf_path(self):
        return os.path.join(self.dir, "pop3d.conf")

    def write_conf(self, **more):
        self.conf.update({k: str(v) for k, v in more.items()})
        with open(self.conf_path, "w") as f:
            for k, v in self.conf.items():
                f.write(f"{k} = {v}\n")

    def write_users(self):
        with open(self.conf["users_file"], "w") as f:
            for name, (pw, uid, home) in self.users.items():
                f.write(f"{name}:{pw}:{uid}:{uid}::{home}::\n")
        os.chmod(self.conf["users_file"], 0o600)

    def uid_of(self, user):
        return self.users[user][1]

    def maildir(self, user):
        return os.path.join(self.dir, "mail", user)

    def add_user(self, name, password, scheme="PLAIN", maildir=True):
        if ROOT:
            uid = self.next_uid
            self.next_uid += 1
        else:
            uid = os.getuid()
        stored = ("{PLAIN}" + password) if scheme == "PLAIN" \
            else hash_password(password, scheme)
        self.users[name] = (stored, uid, os.path.join(self.dir, "home", name))
        self.write_users()
        if maildir:
            md = self.maildir(name)
            for sub in ("", "new", "cur", "tmp"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
                self.chown(name, os.path.join(md, sub))
                os.chmod(os.path.join(md, sub), 0o700)
        return uid

    def chown(self, user, path):
        if ROOT:
            uid = self.uid_of(user)
            os.chown(path, uid, uid)

    def deliver(self, user, data, sub="new", name=None, when=None):
        """Put one message into user's Maildir; returns its file name."""
        if isinstance(data, str):
            data = data.encode()
        self.seq += 1
        if name is None:
            t = int(when if when is not None else 1700000000 + self.seq)
            name = f"{t}.M{self.seq:06d}P{os.getpid()}.testhost"
            if sub == "cur":
                name += ":2,"
        path = os.path.join(self.maildir(user), sub, name)
        with open(path, "wb") as f:
            f.write(data)
        self.chown(user, path)
        return name

    def files(self, user):
        """Names in new/ and cur/ as 'new/NAME', sorted."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(user), sub)
            out += [f"{sub}/{n}" for n in os.listdir(d)]
        return sorted(out)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Pipe:
    """pop3d on a pair of pipes, as inetd would run it."""

    def __init__(self, host, env=None, args=()):
        e = dict(os.environ)
        e.update(env or {})
        self.stderr = tempfile.TemporaryFile()
        self.p = subprocess.Popen([POP3D, "-c", host.conf_path, *args],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=self.stderr, env=e)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def line(self, timeout=WAIT):
        """One CRLF-terminated line, CRLF removed; b'' at EOF."""
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line from pop3d; have {self.buf!r}")
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                if self.buf:
                    raise AssertionError(f"unterminated line {self.buf!r}")
                return b""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def text(self, line):
        return self.line().decode("latin-1")

    def multi(self):
        """The lines of a multi-line body, un-stuffed, up to '.'."""
        out = []
        while True:
            line = self.line()
            if line == b".":
                return out
            if line == b"" and self.eof():
                raise AssertionError("connection closed inside a multi-line reply")
            out.append(line[1:] if line.startswith(b".") else line)

    def eof(self):
        return self.p.poll() is not None and not self.buf

    def login(self, user, password):
        assert self.line().startswith(b"+OK")
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        r = self.cmd(f"PASS {password}")
        assert r.startswith(b"+OK"), r
        return r

    def close(self, timeout=WAIT):
        """Close our end, wait for pop3d; returns (status, stderr text)."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait(timeout)
        self.p.stdout.close()
        self.stderr.seek(0)
        log = self.stderr.read().decode("latin-1")
        self.stderr.close()
        return rc, log


class Launcher:
    """A real launcher listening on 127.0.0.1, started and stopped by pid."""

    KINDS = ("systemd", "tcpserver")

    def __init__(self, kind, host, port=None, extra_env=None):
        self.port = port or free_port()
        self.log = open(os.path.join(host.dir, f"launcher-{kind}.log"), "ab")
        cmd = [POP3D, "-c", host.conf_path]
        if kind == "systemd":
            argv = ["systemd-socket-activate", "--inetd", "-a",
                    "-l", f"127.0.0.1:{self.port}", *cmd]
        elif kind == "tcpserver":
            argv = ["tcpserver", "-HRl", "localhost", "127.0.0.1",
                    str(self.port), *cmd]
        else:
            raise ValueError(kind)
        env = dict(os.environ)
        env.update(extra_env or {})
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=self.log,
                                  env=env, start_new_session=True)
        self.logpath = self.log.name
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if self.p.poll() is not None:
                    raise RuntimeError(f"{kind} exited: {self.read_log()}")
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{kind} did not listen on {self.port}")
        time.sleep(0.2)   # let the probe connection's pop3d finish

    def read_log(self):
        self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("latin-1")

    def stop(self):
        """Stop the launcher and the pop3d processes it started (by pid)."""
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(WAIT)
        self.log.close()


def have(program):
    return shutil.which(program) is not None


class TapResult(unittest.TestResult):
    """unittest results as TAP lines, counted by tests/run.py."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def _emit(self, test, ok, extra=""):
        self.n += 1
        name = test.id().split(".", 1)[-1]
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}{extra}", flush=True)

    def addSuccess(self, test):
        self._emit(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit(test, False)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "))

    def addError(self, test, err):
        super().addError(test, err)
        self._emit(test, False)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "))

    def addSkip(self, test, reason):
        self._emit(test, True, f" # SKIP {reason}")


def main():
    """Run the calling module's tests and print TAP."""
    mod = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    if len(sys.argv) > 1:
        suite = unittest.TestSuite(
            t for t in _flatten(suite) if any(a in t.id() for a in sys.argv[1:]))
    result = TapResult()
    suite.run(result)
    print(f"1..{result.n}")
    sys.exit(0 if result.wasSuccessful() else 1)


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t
