#!/usr/bin/env python3
"""The TLS private key stays with the monitor.

The pre-login process (and after a login over TLS the relay) holds the
certificate and a key that asks the monitor for the handshake's
signature; the monitor reads the key after the fork.  Here:

- After a TLS login, over STLS and implicit TLS, with an RSA-2048 and an
  ECDSA P-256 key, the memory of every process of the connection that is
  not root (the relay and the session; and the pre-login process after the
  handshake, before login) holds none of the key's secret numbers: RSA's
  primes, private exponent and CRT values, EC's private scalar, each in
  big-endian form (as in the key file's DER) and reversed (OpenSSL's
  little-endian limbs on x86-64), whole and any 16-octet piece of their
  middle, nor a line of the key file's PEM; the same scan finds them in
  the monitor, which signs.  Needs root, to read the memory of processes
  of other uids.  Under AddressSanitizer its shadow memory is left out
  (see ASAN_SHADOW).
- Handshakes work: TLS 1.2 and 1.3, RSA (PSS and PKCS #1 v1.5 signatures)
  and ECDSA, STLS and implicit TLS, a certificate chain (checked by the
  client up to the CA), with Python's ssl and openssl s_client.
- A renewed certificate and key are used from the next connection on.

pop3d runs on connections accepted by the test on 127.0.0.1 (inetd
style: one pop3d per connection, on the accepted socket).
"""
import os
import platform
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pop3test  # noqa: E402
from pop3test import POP3D, ROOT, WAIT, WRAP  # noqa: E402

CA = None
PASSWORD = "tlskey-Pw-8812"
# An ASan build imports __asan_init (the runtime's messages live in
# libasan, not in the program); tests/run.py also sets ASAN_OPTIONS.
with open(POP3D, "rb") as _f:
    SANITIZED = b"__asan_init" in _f.read() or "ASAN_OPTIONS" in os.environ


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl", *args], capture_output=True, cwd=cwd,
                       timeout=WAIT * 3)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: "
                           + r.stderr.decode(errors="replace"))
    return r.stdout.decode()


def setUpModule():
    global CA
    if not pop3test.have("openssl"):
        raise unittest.SkipTest("openssl not installed")
    CA = pop3test.TestCA()
    try:
        make_chain()
    except BaseException:
        CA.cleanup()
        raise


def tearDownModule():
    if CA is not None:
        CA.cleanup()


def make_chain():
    """An intermediate CA signed by the test CA, and a server certificate
    (EC) signed by the intermediate: tls_cert is the leaf, tls_chain the
    intermediate."""
    p = CA.path
    with open(p("inter.ext"), "w") as f:
        f.write("basicConstraints = critical,CA:TRUE\n"
                "keyUsage = critical,keyCertSign,cRLSign\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", p("inter.key"), "-subj", "/CN=pop3d test "
            "intermediate", "-out", p("inter.csr"))
    openssl("x509", "-req", "-in", p("inter.csr"), "-CA", p("ca.pem"),
            "-CAkey", p("ca.key"), "-set_serial", "10", "-days", "2",
            "-extfile", p("inter.ext"), "-out", p("inter.pem"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", p("leaf.key"), "-subj", "/CN=localhost",
            "-out", p("leaf.csr"))
    openssl("x509", "-req", "-in", p("leaf.csr"), "-CA", p("inter.pem"),
            "-CAkey", p("inter.key"), "-set_serial", "11", "-days", "2",
            "-extfile", p("server.ext"), "-out", p("leaf.pem"))
    os.chmod(p("leaf.key"), 0o600)


def key_numbers(path):
    """The secret numbers of a PEM key, as big-endian octets, from
    openssl pkey -text: {name: bytes}."""
    text = openssl("pkey", "-in", path, "-text", "-noout")
    wanted = ("prime1", "prime2", "privateExponent", "exponent1",
              "exponent2", "coefficient", "priv")
    out, name = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\w+):\s*$", line)
        if m:
            name = m.group(1) if m.group(1) in wanted else None
            if name:
                out[name] = ""
            continue
        if name and re.match(r"^\s+[0-9a-f:]+$", line):
            out[name] += line.strip().replace(":", "")
        else:
            name = None
    nums = {k: bytes.fromhex(v).lstrip(b"\0") for k, v in out.items()}
    assert nums, "no secret numbers found in " + path
    return nums


def needles(path):
    """What an attacker who reads a process's memory would look for."""
    out = []
    for name, be in key_numbers(path).items():
        for order, b in (("big-endian", be), ("little-endian", be[::-1])):
            out.append((f"{name} {order}", b))
            mid = len(b) // 2
            out.append((f"{name} {order} middle", b[mid - 8:mid + 8]))
    with open(path) as f:
        body = [ln.strip() for ln in f if not ln.startswith("-----")]
    out.append(("a line of the PEM file", body[1].encode()))
    return out


STEP = 16 << 20             # read a mapping this much at a time
# What a scan may read of one process: a plain build's processes map
# some 10 MiB that hold data, an ASan build's some 50 MiB.  More means a
# mapping the scan should not read whole: the test fails, naming it,
# rather than read for hours.
SCAN_MAX = 1 << 30

# AddressSanitizer's shadow memory, on x86-64 Linux (compiler-rt's
# asan_mapping.h, GCC's libasan alike): the shadow of address a is the
# byte at (a >> 3) + 0x7fff8000, so the shadow of the whole user address
# space (up to 0x7fffffffffff), with the gap ASan keeps unmapped inside
# it, is [0x7fff8000, 0x10007fff8000), mapped from the page below its
# start.  A shadow byte tells how many of
# 8 application bytes may be touched: it never holds an application
# byte, so it cannot hold the key, and the scan leaves it out.  Its high
# part is one 15 TiB mapping of which a few pages are resident (the
# shadow of the heap and stacks): read whole, 16 MiB at a time, it took
# some 80 minutes for each process scanned, which was why this suite
# seemed to hang under ASan.
ASAN_SHADOW = (0x7fff8000 & ~0xfff, (0x7fffffffffff >> 3) + 0x7fff8000 + 1)


def asan_shadow(lo, hi):
    return SANITIZED and ASAN_SHADOW[0] <= lo and hi <= ASAN_SHADOW[1]


def mappings(pid):
    """(line, low, high) of each readable mapping of pid that holds data:
    one never touched (no page resident or swapped) reads as zeros, and
    a sanitizer build has terabytes of those.  An ASan build's shadow
    is left out (see ASAN_SHADOW)."""
    out, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if head:
                cur = [line.strip(), int(head.group(1), 16),
                       int(head.group(2), 16), head.group(3), 0]
                if cur[3].startswith("r") and "[vsyscall]" not in line:
                    out.append(cur)
            elif line.startswith(("Rss:", "Swap:")) and cur is not None:
                cur[4] += int(line.split()[1])
    return [(c[0], c[1], c[2]) for c in out
            if c[4] > 0 and not asan_shadow(c[1], c[2])]


def memory_hits(pid, what):
    """Where in pid's memory each needle is: every mapping that holds
    data, read in pieces that overlap by the longest needle; at most
    SCAN_MAX octets, else AssertionError."""
    hits = set()
    overlap = max(len(n) for _, n in what)
    maps = mappings(pid)
    total = sum(hi - lo for _, lo, hi in maps)
    if total > SCAN_MAX:
        big = sorted(maps, key=lambda m: m[1] - m[2])[:3]  # largest
        raise AssertionError(f"{total >> 20} MiB to read in pid {pid}, "
                             f"more than SCAN_MAX: {big}")
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line, lo, hi in maps:
            at = lo
            while at < hi:
                try:
                    mem.seek(at)
                    chunk = mem.read(min(STEP + overlap, hi - at))
                except (OSError, ValueError, OverflowError):
                    break
                for name, needle in what:
                    if needle in chunk:
                        hits.add(f"{name} in {line}")
                at += STEP
    return sorted(hits)


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rindex(b")") + 2:].split()[1]) == pid:
            out.append(int(name))
    return out


class Server:
    """A listener on 127.0.0.1 that runs one pop3d per connection on the
    accepted socket.  Every pop3d is waited for, or killed by pid."""

    def __init__(self, host, implicit=False):
        self.host, self.implicit = host, implicit
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.procs = []
        self.logs = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            log = tempfile.TemporaryFile()
            self.logs.append(log)
            self.procs.append(subprocess.Popen(
                [*WRAP, POP3D, "-c", self.host.conf_path,
                 *(["-i"] if self.implicit else [])],
                stdin=c, stdout=c, stderr=log))
            c.close()

    def last(self):
        return self.procs[-1]

    def log(self):
        text = ""
        for log in self.logs:
            log.seek(0)
            text += log.read().decode("latin-1")
        return text

    def close(self):
        self.stop = True
        try:    # wakes the accept(2) that close(2) alone would not
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(WAIT)
        for p in self.procs:
            try:
                p.wait(WAIT)
            except subprocess.TimeoutExpired:
                for c in children(p.pid):
                    try:
                        os.kill(c, 9)
                    except ProcessLookupError:
                        pass
                p.kill()
                p.wait(WAIT)
        for log in self.logs:
            log.close()


class Client:
    """A POP3 client over TLS: STLS or implicit, one protocol version."""

    def __init__(self, server, version=None, verify=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        if verify:
            ctx.load_verify_locations(CA.ca)
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if version is not None:
            ctx.minimum_version = ctx.maximum_version = version
        self.server = server
        raw = socket.create_connection(("127.0.0.1", server.port), WAIT)
        raw.settimeout(WAIT)
        self.buf = b""
        if server.implicit:
            self.sock = ctx.wrap_socket(raw)
            self.greeting = self.line()
        else:
            self.sock = raw
            self.greeting = self.line()
            assert self.cmd("STLS").startswith("+OK"), "STLS refused"
            self.sock = ctx.wrap_socket(raw)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def login(self):
        assert self.cmd("USER u").startswith("+OK")
        return self.cmd("PASS " + PASSWORD)

    def close(self):
        try:
            self.cmd("QUIT")
        except OSError:
            pass
        self.sock.close()


def mailhost(cert, key, **more):
    host = pop3test.Mailhost(tls_cert=cert, tls_key=key, **more)
    host.add_user("u", PASSWORD)
    host.deliver("u", "Subject: x\n\nbody\n")
    return host


@unittest.skipUnless(ROOT, "reading the memory of other uids needs root")
class KeyNotInMemory(unittest.TestCase):
    """No process of the connection that is not root holds the key."""

    def scan(self, kind, implicit):
        if WRAP:
            self.skipTest("a wrapper (valgrind) keeps copies of its own")
        if SANITIZED and platform.machine() != "x86_64":
            self.skipTest("ASan's shadow is known here on x86-64 alone")
        cert, key = (CA.rsa_cert, CA.rsa_key) if kind == "rsa" else \
            (CA.cert, CA.key)
        # The login must still be possible after the pre-login process
        # was read, however slowly.
        host = mailhost(cert, key, login_timeout=600, login_grace_time=600)
        server = Server(host, implicit)
        what = needles(key)
        try:
            c = Client(server)
            self.assertTrue(c.greeting.startswith("+OK"))
            # After the handshake, before login: the pre-login process.
            mon = server.last().pid
            pre = [p for p in children(mon) if uid_of(p) != 0]
            self.assertEqual(len(pre), 1, "one pre-login process")
            # The control: the monitor, which signs, holds the key, and
            # the scan (with what it leaves out) finds it there.
            self.assertNotEqual(memory_hits(mon, what), [],
                                "the key in the monitor")
            self.assertEqual(memory_hits(pre[0], what), [],
                             "the pre-login process after the handshake")
            self.assertTrue(c.login().startswith("+OK"))
            self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
            procs = [p for p in [mon] + children(mon) if uid_of(p) != 0]
            self.assertEqual(len(procs), 2, "session and relay")
            for pid in procs:
                with self.subTest(pid=pid, uid=uid_of(pid)):
                    self.assertEqual(memory_hits(pid, what), [])
            c.close()
        finally:
            server.close()
            host.cleanup()

    def test_rsa_stls(self):
        self.scan("rsa", False)

    def test_rsa_implicit(self):
        self.scan("rsa", True)

    def test_ec_stls(self):
        self.scan("ec", False)

    def test_ec_implicit(self):
        self.scan("ec", True)


class Handshakes(unittest.TestCase):
    """TLS 1.2 and 1.3, RSA and ECDSA, STLS and implicit TLS, a chain."""

    @classmethod
    def setUpClass(cls):
        cls.hosts, cls.servers = [], {}
        for kind, cert, key, chain in (
                ("rsa", CA.rsa_cert, CA.rsa_key, None),
                ("ec", CA.cert, CA.key, None),
                ("chain", CA.path("leaf.pem"), CA.path("leaf.key"),
                 CA.path("inter.pem"))):
            host = mailhost(cert, key, **({"tls_chain": chain} if chain
                                          else {}))
            cls.hosts.append(host)
            for implicit in (False, True):
                cls.servers[kind, implicit] = Server(host, implicit)

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers.values():
            s.close()
        for h in cls.hosts:
            h.cleanup()

    def login(self, kind, implicit, version):
        c = Client(self.servers[kind, implicit], version, verify=True)
        try:
            self.assertTrue(c.greeting.startswith("+OK"))
            self.assertTrue(c.login().startswith("+OK"))
            self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
            return c.sock.version(), c.sock.cipher()[0]
        finally:
            c.close()

    def test_python_matrix(self):
        versions = ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
                    (ssl.TLSVersion.TLSv1_3, "TLSv1.3"))
        for kind in ("rsa", "ec", "chain"):
            for implicit in (False, True):
                for v, name in versions:
                    with self.subTest(kind=kind, implicit=implicit, tls=name):
                        got, cipher = self.login(kind, implicit, v)
                        self.assertEqual(got, name)
                        if name == "TLSv1.2":
                            self.assertIn("RSA" if kind == "rsa" else
                                          "ECDSA", cipher)

    def s_client(self, kind, implicit, *args):
        server = self.servers[kind, implicit]
        cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
               "-CAfile", CA.ca, "-verify_return_error", "-ign_eof", *args]
        if not implicit:
            cmd += ["-starttls", "pop3"]
        r = subprocess.run(cmd, input=f"USER u\r\nPASS {PASSWORD}\r\n"
                           "STAT\r\nQUIT\r\n".encode(),
                           capture_output=True, timeout=WAIT * 3)
        return r.returncode, r.stdout.decode("latin-1")

    def test_s_client(self):
        cases = (
            ("rsa", ("-tls1_2", "-sigalgs", "RSA+SHA256"), "RSA"),
            ("rsa", ("-tls1_2", "-sigalgs", "rsa_pss_rsae_sha256"),
             "RSA-PSS"),
            ("rsa", ("-tls1_3",), "RSA-PSS"),
            ("ec", ("-tls1_2",), "ECDSA"),
            ("ec", ("-tls1_3",), "ECDSA"),
            ("chain", ("-tls1_3",), "ECDSA"),
        )
        for kind, args, sigtype in cases:
            for implicit in (False, True):
                with self.subTest(kind=kind, args=args, implicit=implicit):
                    rc, out = self.s_client(kind, implicit, *args)
                    self.assertEqual(rc, 0, out[-2000:])
                    self.assertIn("Verify return code: 0 (ok)", out)
                    self.assertRegex(out, r"Peer signature type: "
                                     + re.escape(sigtype) + r"\n")
                    self.assertRegex(out, r"\+OK 1 \d+")

    def test_chain_is_sent(self):
        rc, out = self.s_client("chain", True, "-showcerts")
        self.assertEqual(rc, 0, out[-2000:])
        self.assertIn("pop3d test intermediate", out)


class Renewal(unittest.TestCase):
    """A renewed certificate and key are used from the next connection."""

    def test_next_connection(self):
        host = pop3test.Mailhost(plaintext_auth="no")
        cert, key = os.path.join(host.dir, "cert.pem"), \
            os.path.join(host.dir, "key.pem")
        shutil.copy(CA.cert, cert)
        shutil.copy(CA.key, key)
        os.chmod(key, 0o600)
        host.write_conf(tls_cert=cert, tls_key=key)
        host.add_user("u", PASSWORD)
        server = Server(host, implicit=True)
        try:
            for src_cert, src_key in ((CA.cert, CA.key),
                                      (CA.rsa_cert, CA.rsa_key)):
                shutil.copy(src_cert, cert)
                shutil.copy(src_key, key)
                c = Client(server)
                with open(src_cert) as f:
                    want = ssl.PEM_cert_to_DER_cert(f.read())
                self.assertEqual(c.sock.getpeercert(binary_form=True), want)
                self.assertTrue(c.login().startswith("+OK"))
                c.close()
        finally:
            server.close()
            host.cleanup()


if __name__ == "__main__":
    pop3test.main()
