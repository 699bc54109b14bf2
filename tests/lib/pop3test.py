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
# The launcher files shipped in systemd/: Launcher builds every launcher's
# configuration from these, so what is tested is what is installed.
UNITS = os.path.join(TOP, "systemd")
INSTALLED_POP3D = "/usr/local/sbin/pop3d"   # the path those files name


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
            # The key of SCRAM's fake salts, made here: pop3d would make
            # it on first use, a file the tests of the tree do not expect.
            "scram_secret": os.path.join(self.dir, "scram-secret"),
            # The throttle's state is the host's: tests do not share it.
            "throttle_dir": os.path.join(self.dir, "throttle"),
        }
        if ROOT:
            self.conf["empty_dir"] = "/var/empty"
        self.conf.update({k: str(v) for k, v in conf.items()})
        fd = os.open(self.conf["scram_secret"],
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32))
        os.close(fd)
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


class TestCA:
    """Certificates for one test run, made with openssl in a temporary
    directory (never kept): a CA, and signed by it

      cert, key                  localhost and 127.0.0.1, valid for 2 days
      expired_cert, expired_key  valid from 2020-01-01 to 2020-01-02
      other_key                  a key that matches none of them
      rsa_cert, rsa_key          localhost again, with an RSA-2048 key

    OpenSSL 3.0's "req" and "x509" cannot set a start date: the expired
    certificate comes from "openssl ca" with a minimal configuration.
    Keys are EC P-256 (quick to make) but rsa_key, and mode 0600."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pop3d-tls-")
        try:
            self._make()
        except BaseException:
            self.cleanup()
            raise

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        r = subprocess.run(["openssl", *args], cwd=self.dir,
                           capture_output=True, timeout=WAIT * 3)
        if r.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)}: "
                               + r.stderr.decode(errors="replace"))

    def _newkey(self, name, subject, csr=None, *x509, rsa=False):
        kind = ("rsa", "-pkeyopt", "rsa_keygen_bits:2048") if rsa else \
            ("ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")
        self._openssl("req", "-newkey", *kind, "-nodes",
                      "-keyout", self.path(name), "-subj", subject,
                      *(("-out", self.path(csr)) if csr else ("-x509", *x509)))
        os.chmod(self.path(name), 0o600)

    def _make(self):
        p = self.path
        self._newkey("ca.key", "/CN=pop3d test CA", None, "-out", p("ca.pem"),
                     "-days", "2",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        with open(p("server.ext"), "w") as f:
            f.write("subjectAltName = DNS:localhost, IP:127.0.0.1\n"
                    "basicConstraints = CA:FALSE\n"
                    "keyUsage = digitalSignature\n"
                    "extendedKeyUsage = serverAuth\n")
        self._newkey("server.key", "/CN=localhost", "server.csr")
        self._openssl("x509", "-req", "-in", p("server.csr"),
                      "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                      "-set_serial", "2", "-days", "2",
                      "-extfile", p("server.ext"), "-out", p("server.pem"))
        self._newkey("expired.key", "/CN=localhost", "expired.csr")
        os.mkdir(p("issued"))
        open(p("index.txt"), "w").close()
        with open(p("serial"), "w") as f:
            f.write("03\n")
        with open(p("ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = test\n"
                    "[test]\n"
                    f"database = {p('index.txt')}\n"
                    f"new_certs_dir = {p('issued')}\n"
                    f"serial = {p('serial')}\n"
                    "default_md = sha256\n"
                    "policy = any\n"
                    "unique_subject = no\n"
                    "[any]\ncommonName = supplied\n")
        self._openssl("ca", "-batch", "-notext", "-config", p("ca.cnf"),
                      "-cert", p("ca.pem"), "-keyfile", p("ca.key"),
                      "-in", p("expired.csr"), "-out", p("expired.pem"),
                      "-startdate", "20200101000000Z",
                      "-enddate", "20200102000000Z",
                      "-extfile", p("server.ext"))
        self._newkey("other.key", "/CN=other", "other.csr")
        self._newkey("rsa.key", "/CN=localhost", "rsa.csr", rsa=True)
        self._openssl("x509", "-req", "-in", p("rsa.csr"),
                      "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                      "-set_serial", "4", "-days", "2",
                      "-extfile", p("server.ext"), "-out", p("rsa.pem"))
        self.ca = p("ca.pem")
        self.cert, self.key = p("server.pem"), p("server.key")
        self.expired_cert = p("expired.pem")
        self.expired_key = p("expired.key")
        self.other_key = p("other.key")
        self.rsa_cert, self.rsa_key = p("rsa.pem"), p("rsa.key")

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
    need a package that may be missing (see have()).  Each kind is set up
    from the file shipped for it under systemd/, with only what a test must
    change substituted: the address and port, the path of pop3d (plus
    -c CONFIG), and the certificate for stunnel.

      systemd    UNIT.socket and UNIT@.service (unit "pop3d" unless told,
                 "pop3s" for implicit TLS): ExecStart= is the command,
                 Accept=yes gives -a, StandardInput=socket gives --inetd
      tcpserver  the tcpserver line of tcpserver.run
      xinetd     the service of xinetd.pop3d, with bind, port and
                 type = UNLISTED added
      stunnel    stunnel-pop3d.conf; cert and key are the given ones, or a
                 throw-away self-signed pair

    pop3d's log (stderr) goes to the launcher's log file for every kind:
    xinetd hands the connection to the server as stderr too, so there
    pop3d is started by a two-line wrapper that sends stderr to the log;
    stunnel in the foreground leaves stderr alone.  systemd-socket-activate
    clears the environment of what it starts: extra_env and the sanitizer
    options are handed on with -E.
    """

    KINDS = ("systemd", "tcpserver")
    OPTIONAL_KINDS = ("xinetd", "stunnel")
    PROGRAM = {"systemd": "systemd-socket-activate", "tcpserver": "tcpserver",
               "xinetd": "xinetd", "stunnel": "stunnel4"}
    # Passed through launchers that clear the environment of what they start.
    PASS_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")

    def __init__(self, kind, host, port=None, extra_env=None, unit="pop3d",
                 cert=None, key=None):
        self.kind = kind
        self.host = host
        self.port = port or free_port()
        self.log = open(os.path.join(host.dir, f"launcher-{kind}.log"), "ab")
        cmd = [POP3D, "-c", host.conf_path]
        env = dict(os.environ)
        env.update(extra_env or {})
        if kind == "systemd":
            argv = self._systemd(unit, cmd, env, extra_env)
        elif kind == "tcpserver":
            argv = self._tcpserver(cmd)
        elif kind == "xinetd":
            argv = self._xinetd(host, cmd)
        elif kind == "stunnel":
            argv = self._stunnel(host, cmd, cert, key)
        else:
            raise ValueError(kind)
        self.argv = argv
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

    def _systemd(self, unit, cmd, env, extra_env):
        sock = unit_file(f"{unit}.socket")["Socket"]
        service = unit_file(f"{unit}@.service")["Service"]
        argv = ["systemd-socket-activate"]
        if service.get("StandardInput") == "socket":
            argv.append("--inetd")
        if sock.get("Accept") == "yes":
            argv.append("-a")
        passed = [n for n in self.PASS_ENV if n in env]
        passed += [n for n in (extra_env or {}) if n not in passed]
        argv += ["-l", f"127.0.0.1:{self.port}",
                 *[f"-E{n}" for n in passed]]
        return argv + _substitute_pop3d(
            shlex.split(service["ExecStart"].lstrip("-@+!:")), cmd)

    def _tcpserver(self, cmd):
        with open(os.path.join(UNITS, "tcpserver.run")) as f:
            line = [ln for ln in f if ln.startswith("exec tcpserver ")][-1]
        words = shlex.split(line)[1:]
        i = words.index(INSTALLED_POP3D)
        words[i - 2:i] = ["127.0.0.1", str(self.port)]     # host, port
        return _substitute_pop3d(words, cmd)

    def _xinetd(self, host, cmd):
        wrapper = self._path("pop3d.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    f"exec {' '.join(_sh_quote(c) for c in cmd)} "
                    f"2>>{_sh_quote(self.log.name)}\n")
        os.chmod(wrapper, 0o755)
        with open(os.path.join(UNITS, "xinetd.pop3d")) as f:
            shipped = f.read()
        service = []
        for line in shipped.splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "server":
                line = f"\tserver = {wrapper}"
            elif words[0] == "user" and not ROOT:
                continue            # only root may name a user
            service.append(line)
            if words[0] == "{":
                service += ["\ttype = UNLISTED", "\tbind = 127.0.0.1",
                            f"\tport = {self.port}"]
        conf = self._path("xinetd.conf")
        with open(conf, "w") as f:
            f.write("defaults\n{\n"
                    f"\tlog_type = FILE {self._path('xinetd.log')}\n"
                    "}\n" + "\n".join(service) + "\n")
        return ["xinetd", "-dontfork", "-f", conf,
                "-pidfile", self._path("xinetd.pid")]

    def _stunnel(self, host, cmd, cert, key):
        if cert is None:
            key, cert = self._path("key.pem"), self._path("cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                            "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=localhost"],
                           check=True, capture_output=True, timeout=WAIT * 3)
        self.cert = cert
        values = {"accept": f"127.0.0.1:{self.port}", "cert": cert,
                  "key": key, "exec": cmd[0]}
        out = []
        with open(os.path.join(UNITS, "stunnel-pop3d.conf")) as f:
            for line in f:
                name, eq, value = line.partition("=")
                name = name.strip()
                if eq and name in values:
                    line = f"{name} = {values[name]}\n"
                elif eq and name == "execArgs":
                    args = _substitute_pop3d(value.split(), cmd)
                    line = f"execArgs = {' '.join(args)}\n"
                out.append(line)
        conf = self._path("stunnel.conf")
        with open(conf, "w") as f:
            f.writelines(out)
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


def unit_file(name):
    """A systemd unit under systemd/: {section: {key: last value}}."""
    out, section = {}, None
    with open(os.path.join(UNITS, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = out.setdefault(line[1:-1], {})
            elif "=" in line and section is not None:
                k, v = line.split("=", 1)
                section[k.strip()] = v.strip()
    return out


def _substitute_pop3d(words, cmd):
    """words with pop3d's installed path made cmd (the build's pop3d and
    -c CONFIG), or, for stunnel's execArgs, argv[0] "pop3d" followed by
    -c CONFIG; the arguments after it are kept."""
    for i, w in enumerate(words):
        if w in (INSTALLED_POP3D, "pop3d"):
            first = cmd if w == INSTALLED_POP3D else ["pop3d", *cmd[1:]]
            return words[:i] + first + words[i + 1:]
    raise ValueError(f"no pop3d in {words}")


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
