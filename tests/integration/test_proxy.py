#!/usr/bin/env python3
"""pop3d behind a load balancer that speaks the PROXY protocol.

pop3d runs under tcpserver on 127.0.0.1 with proxy_from = 127.0.0.1, and
is reached through a real HAProxy (send-proxy, send-proxy-v2, and TLS
terminated by HAProxy with send-proxy-v2-ssl), through stunnel with
protocol = proxy, and directly with headers made by hand: malformed,
truncated, oversized, and from a peer that is not trusted.  SCRAM
through HAProxy is logged and throttled under the client's address.
"""
import base64
import os
import poplib
import re
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402
from pop3test import WAIT  # noqa: E402
from test_sasl import Scram  # noqa: E402  (the client side of RFC 5802)

CA = None
MESSAGE = b"Subject: proxied\r\n\r\nthrough a balancer\r\n"
V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_header(client, port, tls=None, cmd=1):
    """A version 2 header for TCP over IPv4 naming client:port."""
    body = socket.inet_aton(client) + socket.inet_aton("127.0.0.1")
    body += struct.pack("!HH", port, 110)
    if tls is not None:
        ssl_tlv = bytes([0x01 if tls else 0]) + b"\0\0\0\0"
        body += bytes([0x20]) + struct.pack("!H", len(ssl_tlv)) + ssl_tlv
    return V2SIG + bytes([0x20 | cmd, 0x11]) + struct.pack("!H", len(body)) \
        + body


def stop_daemon(proc, log):
    """A balancer the test started: stopped by its pid, its log closed."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT)
    if log is not None:
        log.close()


def setUpModule():
    global CA
    CA = pop3test.TestCA()


def tearDownModule():
    CA.cleanup()


class ProxyCase(unittest.TestCase):
    CONF = {"proxy_from": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        if not pop3test.have("tcpserver"):
            raise unittest.SkipTest("tcpserver not installed")
        cls.host = pop3test.Mailhost(login_timeout=3, **cls.CONF)
        cls.host.add_user("u", "pw")
        cls.host.deliver("u", MESSAGE)
        cls.pop3d = pop3test.Launcher("tcpserver", cls.host)

    @classmethod
    def tearDownClass(cls):
        cls.pop3d.stop()
        cls.host.cleanup()

    def log_since(self, mark, want, timeout=WAIT):
        """pop3d's log after offset mark, once it holds want (a regex)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.pop3d.read_log()[mark:]
            if re.search(want, log) or time.monotonic() > deadline:
                return log

    def raw(self, data):
        s = socket.create_connection(("127.0.0.1", self.pop3d.port), WAIT)
        s.settimeout(WAIT)
        if data:
            s.sendall(data)
        return s

    @staticmethod
    def lines(s, n):
        buf = b""
        while buf.count(b"\r\n") < n:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode("latin-1").split("\r\n")[:n]


class HandMade(ProxyCase):
    """Headers written here, from a peer in proxy_from."""

    def test_v1_client_is_used(self):
        mark = len(self.pop3d.read_log())
        s = self.raw(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 110\r\nCAPA\r\n")
        got = self.lines(s, 2)
        s.close()
        self.assertTrue(got[0].startswith("+OK"), got)
        self.assertEqual(got[1], "+OK Capability list follows")
        log = self.log_since(mark, r"proxy remote=")
        self.assertRegex(log, r"proxy remote=192\.0\.2\.7:40000 "
                              r"via=127\.0\.0\.1:\d+")

    def test_client_address_decides_plaintext(self):
        """The balancer is on loopback; the client it names is not."""
        s = self.raw(v2_header("192.0.2.7", 40001) + b"USER u\r\n")
        got = self.lines(s, 2)
        s.close()
        self.assertTrue(got[1].startswith("-ERR [AUTH] Plaintext"), got)
        s = self.raw(v2_header("127.0.0.1", 40002) + b"USER u\r\n")
        got = self.lines(s, 2)
        s.close()
        self.assertEqual(got[1], "+OK Send PASS")

    def test_tls_tlv_counts_as_tls(self):
        s = self.raw(v2_header("192.0.2.7", 40003, tls=True) +
                     b"USER u\r\nPASS pw\r\nQUIT\r\n")
        got = self.lines(s, 4)
        s.close()
        self.assertEqual(got[1], "+OK Send PASS")
        self.assertTrue(got[2].startswith("+OK Logged in"), got)
        s = self.raw(v2_header("192.0.2.7", 40004, tls=False) + b"USER u\r\n")
        got = self.lines(s, 2)
        s.close()
        self.assertTrue(got[1].startswith("-ERR [AUTH] Plaintext"), got)

    def test_login_logs_the_client(self):
        mark = len(self.pop3d.read_log())
        s = self.raw(v2_header("192.0.2.9", 40005, tls=True) +
                     b"USER u\r\nPASS pw\r\nQUIT\r\n")
        self.lines(s, 4)
        s.close()
        log = self.log_since(mark, r"logout user=u")
        self.assertRegex(log, r"auth ok user=u method=USER "
                              r"remote=192\.0\.2\.9:40005")
        self.assertRegex(log, r"login user=u method=USER "
                              r"remote=192\.0\.2\.9:40005")

    def test_scram_failure_logs_the_client(self):
        """SCRAM's messages carry the client, as USER/PASS's do."""
        self.host.add_user("hsc", "hscpw", scheme="SCRAM-SHA-256")
        sc = Scram("hsc", "wrong")
        mark = len(self.pop3d.read_log())
        s = self.raw(v2_header("192.0.2.77", 40008) +
                     f"AUTH SCRAM-SHA-256 {sc.first()}\r\n".encode())
        try:
            got = self.lines(s, 2)
            self.assertTrue(got[1].startswith("+ "), got)
            s.sendall(sc.final(got[1][2:]).encode() + b"\r\nQUIT\r\n")
            got = self.lines(s, 2)
        finally:
            s.close()
        self.assertEqual(got[0], "-ERR [AUTH] Authentication failed")
        log = self.log_since(mark, r"auth failed")
        self.assertRegex(log, r"auth failed user=hsc method=SCRAM-SHA-256 "
                              r"remote=192\.0\.2\.77:40008\n")

    def test_local_command_keeps_the_peer(self):
        mark = len(self.pop3d.read_log())
        s = self.raw(v2_header("192.0.2.7", 40006, cmd=0) + b"QUIT\r\n")
        got = self.lines(s, 2)
        s.close()
        self.assertEqual(got[1], "+OK Bye")
        self.assertNotIn("proxy remote=", self.log_since(mark, "x", 0.5))

    def refused(self, data, why, close=True):
        mark = len(self.pop3d.read_log())
        s = self.raw(data)
        if close:
            s.shutdown(socket.SHUT_WR)
        try:
            got = s.recv(100)
        except (ConnectionResetError, socket.timeout):
            got = b""
        s.close()
        self.assertEqual(got, b"", "no greeting after a bad header")
        self.assertIn(why, self.log_since(mark, re.escape(why)))

    def test_malformed_refused(self):
        for data in (b"PROXY TCP4 192.0.2.7 127.0.0.1 40000\r\n",
                     b"PROXY TCP4 192.0.2.700 127.0.0.1 1 2\r\n",
                     b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
                     b"USER u\r\n",
                     V2SIG + b"\x22\x11\x00\x0c" + b"\0" * 12,
                     V2SIG + b"\x21\x12\x00\x0c" + b"\0" * 12):
            with self.subTest(data=data):
                self.refused(data, "PROXY header malformed")

    def test_oversized_refused(self):
        self.refused(V2SIG + b"\x21\x11\x07\xd0" + b"\0" * 64,
                     "PROXY header malformed", close=False)
        self.refused(b"PROXY UNKNOWN " + b"x" * 200 + b"\r\n",
                     "PROXY header malformed")

    def test_truncated_times_out(self):
        t0 = time.monotonic()
        self.refused(b"PROXY TCP4 192.0.2.7 ", "PROXY header: timed out",
                     close=False)
        self.assertLess(time.monotonic() - t0, 3 + WAIT)

    def test_closed_mid_header(self):
        self.refused(V2SIG[:8], "PROXY header: ")


class Untrusted(ProxyCase):
    """A PROXY header from a peer not in proxy_from is a protocol error:
    pop3d greets and answers it as a command."""

    CONF = {"proxy_from": "10.0.0.0/8"}

    def test_header_is_a_bad_command(self):
        mark = len(self.pop3d.read_log())
        s = self.raw(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 110\r\nQUIT\r\n")
        got = self.lines(s, 3)
        s.close()
        self.assertTrue(got[0].startswith("+OK"), got)
        self.assertEqual(got[1], "-ERR Unknown command")
        self.assertEqual(got[2], "+OK Bye")
        self.assertNotIn("proxy remote=", self.log_since(mark, "x", 0.5))


@unittest.skipUnless(pop3test.have("haproxy"), "haproxy not installed")
class HAProxy(ProxyCase):
    """A real HAProxy in front: v1, v2, and TLS it terminates (v2-ssl)."""

    CONF = {"proxy_from": "127.0.0.1", "loopback_secure": "no"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ports = {k: pop3test.free_port() for k in ("v1", "v2", "ssl")}
        pem = os.path.join(cls.host.dir, "haproxy.pem")
        with open(pem, "wb") as out:
            for part in (CA.cert, CA.key):
                with open(part, "rb") as f:
                    out.write(f.read())
        os.chmod(pem, 0o600)
        backend = f"127.0.0.1:{cls.pop3d.port}"
        cfg = os.path.join(cls.host.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("global\n\tmaxconn 64\n"
                    "defaults\n\tmode tcp\n\ttimeout connect 5s\n"
                    "\ttimeout client 60s\n\ttimeout server 60s\n")
            for name, opt, bind in (("v1", "send-proxy", ""),
                                    ("v2", "send-proxy-v2", ""),
                                    ("ssl", "send-proxy-v2-ssl",
                                     f" ssl crt {pem}")):
                f.write(f"listen {name}\n"
                        f"\tbind 127.0.0.1:{cls.ports[name]}{bind}\n"
                        f"\tserver pop3d {backend} {opt}\n")
        cls.log = open(os.path.join(cls.host.dir, "haproxy.log"), "wb")
        cls.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg],
                                       stdout=cls.log, stderr=cls.log)
        deadline = time.monotonic() + WAIT
        for port in cls.ports.values():
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    if cls.haproxy.poll() is not None or \
                            time.monotonic() > deadline:
                        cls.tearDownClass()
                        raise RuntimeError("haproxy did not listen")
                    time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        stop_daemon(getattr(cls, "haproxy", None), getattr(cls, "log", None))
        super().tearDownClass()

    def session(self, client, mark):
        """Log in, fetch the message; the log from mark on (taken before
        the client connected: the proxy line comes at once)."""
        port = client.sock.getsockname()[1]
        client.user("u")
        client.pass_("pw")
        self.assertEqual(b"\r\n".join(client.retr(1)[1]) + b"\r\n", MESSAGE)
        client.quit()
        log = self.log_since(mark, r"logout user=u")
        self.assertRegex(log, rf"proxy remote=127\.0\.0\.1:{port} "
                              r"via=127\.0\.0\.1:\d+")
        self.assertRegex(log, rf"auth ok user=u .*remote=127\.0\.0\.1:{port}")
        return log

    def test_send_proxy_v1_and_v2_plaintext_refused(self):
        """loopback_secure = no: a plaintext client is refused, although
        the connection comes from loopback, HAProxy's."""
        for name in ("v1", "v2"):
            with self.subTest(version=name):
                c = poplib.POP3("127.0.0.1", self.ports[name], timeout=WAIT)
                with self.assertRaises(poplib.error_proto) as e:
                    c.user("u")
                self.assertIn(b"Plaintext authentication disallowed",
                              e.exception.args[0])
                c.quit()

    def test_send_proxy_v2_ssl(self):
        ctx = ssl.create_default_context(cafile=CA.ca)
        mark = len(self.pop3d.read_log())
        c = poplib.POP3_SSL("localhost", self.ports["ssl"], context=ctx,
                            timeout=WAIT)
        log = self.session(c, mark)
        self.assertIn("tls=proxy", log)


@unittest.skipUnless(pop3test.have("haproxy"), "haproxy not installed")
class HAProxyScram(ProxyCase):
    """SCRAM behind HAProxy is logged and throttled under the client's
    address, as USER/PASS is.  HAProxy listens on 127.0.0.1 and connects
    to pop3d from 127.0.0.2, the only trusted proxy; clients connect from
    127.0.0.5 and 127.0.0.6, so that the balancer, the attacker and the
    other client are three addresses.  Loopback is not exempt here."""

    CONF = {"proxy_from": "127.0.0.2", "throttle_exempt": "",
            "throttle_failures": 2, "throttle_delay_ms": 50,
            "throttle_delay_max_ms": 100, "throttle_block_time": 120}
    BALANCER, ATTACKER, OTHER = "127.0.0.2", "127.0.0.5", "127.0.0.6"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host.add_user("sc", "scrampw", scheme="SCRAM-SHA-256")
        cls.port = pop3test.free_port()
        cfg = os.path.join(cls.host.dir, "haproxy-scram.cfg")
        with open(cfg, "w") as f:
            f.write("global\n\tmaxconn 64\n"
                    "defaults\n\tmode tcp\n\ttimeout connect 5s\n"
                    "\ttimeout client 60s\n\ttimeout server 60s\n"
                    "listen scram\n"
                    f"\tbind 127.0.0.1:{cls.port}\n"
                    f"\tserver pop3d 127.0.0.1:{cls.pop3d.port} "
                    f"send-proxy-v2 source {cls.BALANCER}\n")
        cls.log = open(os.path.join(cls.host.dir, "haproxy-scram.log"), "wb")
        cls.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg],
                                       stdout=cls.log, stderr=cls.log)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), 1).close()
                break
            except OSError:
                if cls.haproxy.poll() is not None or \
                        time.monotonic() > deadline:
                    cls.tearDownClass()
                    raise RuntimeError("haproxy did not listen")
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        stop_daemon(getattr(cls, "haproxy", None), getattr(cls, "log", None))
        super().tearDownClass()

    def scram(self, source, password):
        """One connection from source through HAProxy: AUTH
        SCRAM-SHA-256 with password, then QUIT.  Returns the reply that
        ended the exchange and the client's port."""
        s = socket.create_connection(("127.0.0.1", self.port), WAIT,
                                     source_address=(source, 0))
        s.settimeout(WAIT)
        f = s.makefile("rb")

        def cmd(line):
            s.sendall(line.encode() + b"\r\n")
            return f.readline().rstrip(b"\r\n")

        try:
            self.assertTrue(f.readline().startswith(b"+OK"))
            sc = Scram("sc", password)
            r = cmd(f"AUTH SCRAM-SHA-256 {sc.first()}")
            if r.startswith(b"+ "):
                r = cmd(sc.final(r[2:].decode()))
            if r.startswith(b"+ "):
                self.assertEqual(base64.b64decode(r[2:]).decode(),
                                 "v=" + sc.want_v)
                r = cmd("")
            cmd("QUIT")
            return r, s.getsockname()[1]
        finally:
            f.close()
            s.close()

    def throttle_keys(self):
        path = os.path.join(self.host.conf["throttle_dir"], "throttle")
        with open(path, "rb") as f:
            return f.read()

    def test_scram_failure_counts_for_the_client(self):
        failed = b"-ERR [AUTH] Authentication failed"
        a = re.escape(self.ATTACKER)
        for i in range(2):
            mark = len(self.pop3d.read_log())
            r, port = self.scram(self.ATTACKER, f"wrong{i}")
            self.assertEqual(r, failed)
            log = self.log_since(mark, r"auth failed")
            self.assertRegex(log, r"auth failed user=sc method=SCRAM-SHA-256 "
                                  rf"remote={a}:{port}\n")
            self.assertNotRegex(log, rf"auth .*remote={re.escape(self.BALANCER)}:")
        keys = self.throttle_keys()
        self.assertIn(f"s:{self.ATTACKER}\0".encode(), keys)
        self.assertNotIn(f"s:{self.BALANCER}\0".encode(), keys)
        # The client is refused now, even with the right password ...
        mark = len(self.pop3d.read_log())
        r, port = self.scram(self.ATTACKER, "scrampw")
        self.assertEqual(r, failed)
        log = self.log_since(mark, r"auth blocked")
        self.assertRegex(log, r"auth blocked user=sc method=SCRAM-SHA-256 "
                              rf"remote={a}:{port} wait=\d+\n")
        self.assertNotIn("auth ok", log)
        # ... and another client behind the same balancer is not.
        mark = len(self.pop3d.read_log())
        r, port = self.scram(self.OTHER, "scrampw")
        self.assertTrue(r.startswith(b"+OK"), r)
        log = self.log_since(mark, r"logout user=sc")
        self.assertRegex(log, r"auth ok user=sc method=SCRAM-SHA-256 "
                              rf"remote={re.escape(self.OTHER)}:{port}\n")


@unittest.skipUnless(pop3test.have("stunnel4"), "stunnel not installed")
class Stunnel(ProxyCase):
    """stunnel terminates TLS and sends a version 1 header."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = pop3test.free_port()
        d = cls.host.dir
        conf = os.path.join(d, "stunnel-proxy.conf")
        with open(conf, "w") as f:
            f.write(f"foreground = yes\npid =\n"
                    f"[pop3s]\naccept = 127.0.0.1:{cls.port}\n"
                    f"connect = 127.0.0.1:{cls.pop3d.port}\n"
                    f"cert = {CA.cert}\nkey = {CA.key}\n"
                    "protocol = proxy\n")
        cls.log = open(os.path.join(d, "stunnel.log"), "wb")
        cls.stunnel = subprocess.Popen(["stunnel4", conf], stdout=cls.log,
                                       stderr=cls.log)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), 1).close()
                break
            except OSError:
                if cls.stunnel.poll() is not None or \
                        time.monotonic() > deadline:
                    cls.tearDownClass()
                    raise RuntimeError("stunnel did not listen")
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "stunnel", None) and cls.stunnel.poll() is None:
            cls.stunnel.terminate()
            try:
                cls.stunnel.wait(WAIT)
            except subprocess.TimeoutExpired:
                cls.stunnel.kill()
                cls.stunnel.wait(WAIT)
        if getattr(cls, "log", None):
            cls.log.close()
        super().tearDownClass()

    def test_protocol_proxy(self):
        mark = len(self.pop3d.read_log())
        ctx = ssl.create_default_context(cafile=CA.ca)
        c = poplib.POP3_SSL("localhost", self.port, context=ctx, timeout=WAIT)
        port = c.sock.getsockname()[1]
        c.user("u")
        c.pass_("pw")
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        log = self.log_since(mark, r"logout user=u")
        self.assertRegex(log, rf"proxy remote=127\.0\.0\.1:{port} ")


if __name__ == "__main__":
    pop3test.main()
