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
import shlex
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
# A wrapper for pop3d on pipes, e.g. valgrind (tests/run.py --valgrind).
WRAP = shlex.split(os.environ.get("POP3D_WRAP", ""))
WAIT = 30.0 if WRAP else 10.0   # seconds any single expectation may take


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
        self.p = subprocess.Popen([*WRAP, POP3D, "-c", host.conf_path, *args],
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
    """A real launcher listening on 127.0.0.1, started and stopped by pid.

    KINDS are the launchers every test environment has; OPTIONAL_KINDS
    need a package that may be missing (see have()).  pop3d's log (stderr)
    goes to the launcher's log file for every kind: xinetd hands the
    connection to the server as stderr too, so there pop3d is started by a
    two-line wrapper that sends stderr to the log; stunnel in the
    foreground leaves stderr alone.  stunnel speaks TLS on the listening
    port with a throw-away self-signed certificate.  systemd-socket-activate
    clears the environment of what it starts: extra_env and the sanitizer
    options are handed on with -E.
    """

    KINDS = ("systemd", "tcpserver")
    OPTIONAL_KINDS = ("xinetd", "stunnel")
    PROGRAM = {"systemd": "systemd-socket-activate", "tcpserver": "tcpserver",
               "xinetd": "xinetd", "stunnel": "stunnel4"}
    # Passed through launchers that clear the environment of what they start.
    PASS_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")

    def __init__(self, kind, host, port=None, extra_env=None):
        self.kind = kind
        self.host = host
        self.port = port or free_port()
        self.log = open(os.path.join(host.dir, f"launcher-{kind}.log"), "ab")
        cmd = [POP3D, "-c", host.conf_path]
        env = dict(os.environ)
        env.update(extra_env or {})
        if kind == "systemd":
            passed = [n for n in self.PASS_ENV if n in env]
            passed += [n for n in (extra_env or {}) if n not in passed]
            argv = ["systemd-socket-activate", "--inetd", "-a",
                    "-l", f"127.0.0.1:{self.port}",
                    *[f"-E{n}" for n in passed], *cmd]
        elif kind == "tcpserver":
            argv = ["tcpserver", "-HRl", "localhost", "127.0.0.1",
                    str(self.port), *cmd]
        elif kind == "xinetd":
            argv = self._xinetd(host, cmd)
        elif kind == "stunnel":
            argv = self._stunnel(host, cmd)
        else:
            raise ValueError(kind)
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
            self.stop()
            raise RuntimeError(f"{kind} did not listen on {self.port}")
        time.sleep(0.2)   # let the probe connection's pop3d finish

    def _path(self, name):
        return os.path.join(self.host.dir, f"{self.kind}-{self.port}-{name}")

    def _xinetd(self, host, cmd):
        wrapper = self._path("pop3d.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    f"exec {' '.join(_sh_quote(c) for c in cmd)} "
                    f"2>>{_sh_quote(self.log.name)}\n")
        os.chmod(wrapper, 0o755)
        conf = self._path("xinetd.conf")
        with open(conf, "w") as f:
            f.write("defaults\n{\n"
                    f"\tlog_type = FILE {self._path('xinetd.log')}\n"
                    "}\n"
                    "service pop3d-test\n{\n"
                    "\ttype = UNLISTED\n"
                    "\tsocket_type = stream\n"
                    "\tprotocol = tcp\n"
                    "\twait = no\n"
                    + (f"\tuser = root\n" if ROOT else "") +
                    "\tbind = 127.0.0.1\n"
                    f"\tport = {self.port}\n"
                    f"\tserver = {wrapper}\n"
                    "\tflags = REUSE\n"
                    "\tinstances = UNLIMITED\n"
                    "\tper_source = UNLIMITED\n"
                    "\tcps = 10000 1\n"
                    "\tlog_on_success = PID HOST EXIT\n"
                    "\tlog_on_failure = HOST\n"
                    "}\n")
        return ["xinetd", "-dontfork", "-f", conf,
                "-pidfile", self._path("xinetd.pid")]

    def _stunnel(self, host, cmd):
        key, cert = self._path("key.pem"), self._path("cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=localhost"],
                       check=True, capture_output=True, timeout=WAIT * 3)
        self.cert = cert
        conf = self._path("stunnel.conf")
        with open(conf, "w") as f:
            f.write("foreground = yes\n"
                    f"pid = {self._path('stunnel.pid')}\n"
                    "[pop3s]\n"
                    f"accept = 127.0.0.1:{self.port}\n"
                    f"cert = {cert}\n"
                    f"key = {key}\n"
                    f"exec = {cmd[0]}\n"
                    f"execArgs = pop3d {' '.join(cmd[1:])}\n")
        return ["stunnel4", conf]

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("latin-1")

    def children(self):
        """Pids whose parent is the launcher (zombies included)."""
        return [pid for pid, (ppid, _) in _procs().items()
                if ppid == self.p.pid]

    def group(self):
        """Pids other than the launcher in its process group."""
        return [pid for pid, (_, pgrp) in _procs().items()
                if pgrp == self.p.pid and pid != self.p.pid]

    def wait_idle(self, timeout=WAIT):
        """Wait until the launcher has no child and its process group no
        other member; returns what is left (empty when idle)."""
        deadline = time.monotonic() + timeout
        while True:
            left = sorted(set(self.children()) | set(self.group()))
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.05)

    def stop(self):
        """Stop the launcher and the pop3d processes it started (by pid).

        Most launchers leave their children in the launcher's process
        group; xinetd puts each server in a session of its own, so those
        children's groups are ended one by one, found while the launcher
        is stopped and cannot start more."""
        own = []
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGSTOP)
                own = [c for c in self.children() if _pgrp(c) == c]
            except ProcessLookupError:
                pass
            for sig in (signal.SIGTERM, signal.SIGCONT):
                try:
                    os.killpg(self.p.pid, sig)
                except ProcessLookupError:
                    pass
            _killpgs(own, signal.SIGTERM)
            try:
                self.p.wait(WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(WAIT)
            deadline = time.monotonic() + WAIT
            while own and time.monotonic() < deadline:
                own = [c for c in own if _pgrp(c) == c]
                time.sleep(0.05)
            _killpgs(own, signal.SIGKILL)
        if not self.log.closed:
            self.log.close()


def _sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def _pgrp(pid):
    """The process group of pid, or None when it is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    return None if fields[0] == b"Z" else int(fields[2])


def _killpgs(pgrps, sig):
    for g in pgrps:
        try:
            os.killpg(g, sig)
        except ProcessLookupError:
            pass


def _procs():
    """{pid: (ppid, pgrp)} of every process, from /proc/PID/stat."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        out[int(name)] = (int(fields[1]), int(fields[2]))
    return out


def sanitizer_lines(text):
    """Lines of a log that come from ASan, UBSan or LSan (for logs that
    sanitizer log_path options do not reach, such as a launcher's)."""
    marks = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
             "runtime error:")
    return [line for line in text.splitlines() if any(m in line for m in marks)]


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

    def addSubTest(self, test, subtest, err):
        if err is not None:
            super().addSubTest(test, subtest, err)
            self._emit(subtest, False)
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
