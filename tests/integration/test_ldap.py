#!/usr/bin/env python3
"""passdb = ldap against a real slapd on 127.0.0.1.

Each test class starts its own slapd with an mdb database in a temporary
directory (suffix dc=pop3d,dc=test), loads it with ldapadd and stops it
by pid.  pop3d runs over pipes.  As root the entries carry test uids and
the session runs as them; as another user they carry that user's ids.
"""
import base64
import os
import signal
import socket
import subprocess
import sys
import tempfile
import shutil
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pop3test  # noqa: E402

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=pop3d,dc=test"
ROOTDN = "cn=admin," + SUFFIX
ROOTPW = "rootsecret"
SERVICE_DN = "cn=pop3d,ou=services," + SUFFIX
SERVICE_PW = "service-secret"
FAIL = b"-ERR [AUTH] Authentication failed"
TEMP = b"-ERR [SYS/TEMP] Authentication temporarily unavailable"
TIMEOUT = 2             # ldap_timeout of the tests, seconds
MARGIN = 3.0            # what a loaded machine may add to it

HAVE = all(pop3test.have(p) for p in (SLAPD, "ldapadd", "slappasswd",
                                      "ldapsearch"))

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
attributetype ( 1.3.6.1.4.1.99999.7.1.1 NAME 'mailMessageStore'
    EQUALITY caseExactIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26
    SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.7.2.1 NAME 'pop3dMailUser' SUP top
    AUXILIARY MAY mailMessageStore )
# As some servers do: a DN with an empty password binds, anonymously.
allow bind_anon_cred
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
{tls}
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
access to attrs=userPassword by self read by anonymous auth by * none
access to dn.subtree="ou=staff,{suffix}" by users read by * none
access to * by * read
"""


def ssha(password):
    return subprocess.run(["slappasswd", "-h", "{SSHA}", "-s", password],
                          capture_output=True, check=True, text=True,
                          timeout=pop3test.WAIT).stdout.strip()


class Slapd:
    """slapd on 127.0.0.1: ldap:// on self.port, ldaps:// on self.tls_port
    when given a TestCA."""

    def __init__(self, ca=None):
        self.dir = tempfile.mkdtemp(prefix="pop3d-ldap-")
        self.proc = None
        self.ca = ca
        os.mkdir(os.path.join(self.dir, "db"))
        self.port = pop3test.free_port()
        self.tls_port = pop3test.free_port() if ca else None
        tls = ""
        if ca:
            tls = (f"TLSCACertificateFile {ca.ca}\n"
                   f"TLSCertificateFile {ca.cert}\n"
                   f"TLSCertificateKeyFile {ca.key}\n")
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write(SLAPD_CONF.format(dir=self.dir, tls=tls, suffix=SUFFIX,
                                      rootdn=ROOTDN, rootpw=ROOTPW))
        self.uri = f"ldap://127.0.0.1:{self.port}/"
        self.start()

    def start(self):
        urls = self.uri
        if self.tls_port:
            urls += f" ldaps://127.0.0.1:{self.tls_port}/"
        self.log = open(os.path.join(self.dir, "slapd.log"), "wb")
        # -d 0: in the foreground, so that the pid is ours to stop.
        self.proc = subprocess.Popen([SLAPD, "-d", "0", "-h", urls,
                                      "-f", self.conf],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + pop3test.WAIT * 2
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            r = subprocess.run(["ldapsearch", "-x", "-H", self.uri, "-b", "",
                                "-s", "base", "-o", "nettimeout=2"],
                               capture_output=True, timeout=pop3test.WAIT)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        with open(os.path.join(self.dir, "slapd.log")) as f:
            raise RuntimeError("slapd did not start: " + f.read()[-2000:])

    def add(self, ldif):
        r = subprocess.run(["ldapadd", "-x", "-H", self.uri, "-D", ROOTDN,
                            "-w", ROOTPW], input=ldif.encode(),
                           capture_output=True, timeout=pop3test.WAIT * 2)
        if r.returncode != 0:
            raise RuntimeError("ldapadd: " + r.stderr.decode())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(pop3test.WAIT * 2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(pop3test.WAIT)
        self.proc = None
        if not self.log.closed:
            self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def base_ldif():
    return f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: pop3d test
dc: pop3d

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=staff,{SUFFIX}
objectClass: organizationalUnit
ou: staff

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: pop3d
userPassword: {ssha(SERVICE_PW)}

"""


def person(name, password, ou="people", uid=None, gid=None, home=None,
           maildir=None, posix=True):
    lines = [f"dn: uid={name},ou={ou},{SUFFIX}",
             "objectClass: inetOrgPerson"]
    if posix:
        lines.append("objectClass: posixAccount")
    if maildir is not None:
        lines.append("objectClass: pop3dMailUser")
        lines.append(f"mailMessageStore: {maildir}")
    lines += [f"uid: {name}", f"cn: {name}", f"sn: {name}",
              f"userPassword: {ssha(password)}"]
    if uid is not None:
        lines.append(f"uidNumber: {uid}")
    if gid is not None:
        lines.append(f"gidNumber: {gid}")
    if home is not None:
        lines.append(f"homeDirectory: {home}")
    return "\n".join(lines) + "\n\n"


def session(host, user, password, mech="PASS", env=None):
    """Log in; returns (reply to the password, seconds it took, log)."""
    p = pop3test.Pipe(host, env=env)
    try:
        assert p.line().startswith(b"+OK")
        t = time.monotonic()
        if mech == "PASS":
            assert p.cmd(f"USER {user}").startswith(b"+OK")
            r = p.cmd(f"PASS {password}")
        else:
            token = base64.b64encode(f"\0{user}\0{password}".encode())
            r = p.cmd("AUTH PLAIN " + token.decode())
        took = time.monotonic() - t
        if r.startswith(b"+OK"):
            assert p.cmd("LIST").startswith(b"+OK")
            listing = p.multi()
            assert p.cmd("QUIT").startswith(b"+OK")
            r = b"+OK %d" % len(listing)
        else:
            p.cmd("QUIT")
    finally:
        rc, log = p.close()
    return r, took, log


@unittest.skipUnless(HAVE, "slapd and ldap-utils are not installed")
class LdapCase(unittest.TestCase):
    """One slapd for the class, with these users:

    alice   posixAccount in ou=people; maildir from the template
    carol   maildir attribute "Maildir", relative to her home
    mallory maildir attribute that climbs out of her home
    erin    inetOrgPerson only: no uidNumber, gidNumber, homeDirectory
    twin    two entries (people and services)
    staffer in ou=staff: only a bound service account may find him
    """
    TLS = False

    @classmethod
    def setUpClass(cls):
        cls.ca = pop3test.TestCA() if cls.TLS else None
        if cls.ca:
            # The lookup runs as the pre-login user: the CA must be
            # readable to it (the key stays slapd's).
            os.chmod(cls.ca.dir, 0o755)
            os.chmod(cls.ca.ca, 0o644)
        try:
            cls.slapd = Slapd(cls.ca)
        except BaseException:
            if cls.ca:
                cls.ca.cleanup()
            raise
        try:
            cls.host = pop3test.Mailhost(passdb="ldap",
                                         ldap_uri=cls.slapd.uri,
                                         ldap_base=SUFFIX,
                                         ldap_filter="(uid=%u)",
                                         ldap_timeout=TIMEOUT)
            cls.load()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.slapd.cleanup()
        if getattr(cls, "host", None):
            cls.host.cleanup()
        if cls.ca:
            cls.ca.cleanup()

    @classmethod
    def ids(cls, name):
        """uid and gid: the gid differs from the uid as root."""
        uid = cls.host.uid_of(name)
        return uid, (uid + 500 if pop3test.ROOT else os.getgid())

    @classmethod
    def load(cls):
        h = cls.host
        ldif = base_ldif()
        for name in ("alice", "carol", "mallory", "erin", "twin", "staffer"):
            h.add_user(name, "x")       # a uid and a maildir for each
        h.deliver("alice", "Subject: a\n\nhello alice\n")
        # carol's mail is in ~/Maildir, as the directory says.
        home = os.path.join(h.dir, "home", "carol")
        for sub in ("", "new", "cur", "tmp"):
            os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)
            h.chown("carol", os.path.join(home, "Maildir", sub))
            os.chmod(os.path.join(home, "Maildir", sub), 0o700)
        os.chmod(os.path.join(h.dir, "home"), 0o755)
        os.chmod(home, 0o755)
        for n in ("m1", "m2"):
            path = os.path.join(home, "Maildir", "new", f"170000000{n[1]}.x")
            with open(path, "w") as f:
                f.write(f"Subject: {n}\n\nfor carol\n")
            h.chown("carol", path)
        for name in ("alice", "twin", "staffer"):
            uid, gid = cls.ids(name)
            ldif += person(name, name + "-pw", uid=uid, gid=gid,
                           home=os.path.join(h.dir, "home", name),
                           ou="staff" if name == "staffer" else "people")
        uid, gid = cls.ids("twin")
        ldif += person("twin", "twin-pw", ou="services", uid=uid, gid=gid,
                       home=os.path.join(h.dir, "home", "twin"))
        uid, gid = cls.ids("carol")
        ldif += person("carol", "carol-pw", uid=uid, gid=gid, home=home,
                       maildir="Maildir")
        uid, gid = cls.ids("mallory")
        ldif += person("mallory", "mallory-pw", uid=uid, gid=gid,
                       home=os.path.join(h.dir, "home", "mallory"),
                       maildir="../alice/Maildir")
        ldif += person("erin", "erin-pw", posix=False)
        cls.slapd.add(ldif)

    def login(self, user, password, **conf):
        saved = dict(self.host.conf)
        try:
            self.host.write_conf(**conf)
            return session(self.host, user, password)
        finally:
            self.host.conf = saved
            self.host.write_conf()


class TestLdap(LdapCase):

    def test_right_password(self):
        r, _, log = self.login("alice", "alice-pw")
        self.assertEqual(r, b"+OK 1", log)
        self.assertIn("auth ok user=alice", log)

    def test_session_runs_as_the_entry(self):
        """The session runs as uidNumber and gidNumber: what it writes
        into the Maildir (its size cache) is theirs."""
        # The cache is written for directories still for two seconds.
        time.sleep(2.5)
        r, _, log = self.login("alice", "alice-pw")
        self.assertTrue(r.startswith(b"+OK"), log)
        uid, gid = self.ids("alice")
        made = [os.path.join(dp, f) for dp, _, fs in
                os.walk(self.host.maildir("alice")) for f in fs
                if f.startswith("pop3d")]
        self.assertTrue(made, "the session wrote nothing into the Maildir")
        for path in made:
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid), (uid, gid), path)

    def test_maildir_attribute_relative_to_home(self):
        r, _, log = self.login("carol", "carol-pw",
                               ldap_maildir_attr="mailMessageStore")
        self.assertEqual(r, b"+OK 2", log)

    def test_maildir_attribute_climbing_out_refused(self):
        r, _, log = self.login("mallory", "mallory-pw",
                               ldap_maildir_attr="mailMessageStore")
        self.assertEqual(r, FAIL, log)
        self.assertIn("maildir attribute is not a usable path", log)

    def test_wrong_password_and_unknown_user_alike(self):
        delay = 1000
        r1, t1, log1 = self.login("alice", "wrong", auth_fail_delay_ms=delay)
        r2, t2, log2 = self.login("nobody", "wrong", auth_fail_delay_ms=delay)
        self.assertEqual(r1, FAIL, log1)
        self.assertEqual(r2, FAIL, log2)
        # The monitor counts whole milliseconds.
        self.assertGreaterEqual(t1, delay / 1000 - 0.01)
        self.assertGreaterEqual(t2, delay / 1000 - 0.01)
        self.assertLess(abs(t1 - t2), 0.4, (t1, t2))
        strip = [[line.split(": ", 1)[-1].replace(u, "U")
                  for line in lg.splitlines() if "user=" in line]
                 for lg, u in ((log1, "alice"), (log2, "nobody"))]
        self.assertEqual(strip[0], strip[1])
        self.assertTrue(strip[0], log1)

    def test_empty_password_refused(self):
        """An empty password would be an anonymous bind, which LDAP
        servers answer with success."""
        for mech in ("PASS", "PLAIN"):
            with self.subTest(mech=mech):
                r, _, log = session(self.host, "alice", "", mech)
                self.assertFalse(r.startswith(b"+OK"), (r, log))
                self.assertNotIn("auth ok", log)
                if mech == "PLAIN":     # PASS needs an argument
                    self.assertEqual(r, FAIL, log)

    def test_entry_without_ids_or_home(self):
        r, _, log = self.login("erin", "erin-pw")
        self.assertEqual(r, FAIL, log)
        self.assertIn("lacks a usable uid or gid number", log)
        # alice has no description: as the home attribute, it is missing.
        r, _, log = self.login("alice", "alice-pw",
                               ldap_home_attr="description")
        self.assertEqual(r, FAIL, log)
        self.assertIn("lacks a usable home directory", log)

    def test_entry_lacking_attributes_says_nothing_before_password(self):
        r, _, log = self.login("erin", "wrong")
        self.assertEqual(r, FAIL, log)
        self.assertNotIn("lacks", log)

    def test_filter_injection(self):
        """Without RFC 4515 escaping these would find alice."""
        for user, filt in (("alice)(uid=*", None), ("al*", None),
                           ("*", None), ("alice)(|(uid=*", None),
                           ("alice)(uid=*", "(&(objectClass=posixAccount)"
                            "(uid=%u))"),
                           ("al*", "(&(objectClass=posixAccount)(uid=%u))")):
            with self.subTest(user=user, filter=filt):
                r, _, log = self.login(user, "alice-pw",
                                       **({"ldap_filter": filt} if filt
                                          else {}))
                self.assertFalse(r.startswith(b"+OK"), (r, log))
                self.assertNotIn("auth ok", log)

    def test_filter_matching_two_entries(self):
        r, _, log = self.login("twin", "twin-pw")
        self.assertEqual(r, FAIL, log)
        self.assertIn("matched 2 entries", log)

    def test_anonymous_cannot_see_staff(self):
        r, _, log = self.login("staffer", "staffer-pw")
        self.assertEqual(r, FAIL, log)

    def test_service_bind(self):
        pwfile = os.path.join(self.host.dir, "ldap-bind-pw")
        with open(pwfile, "w") as f:
            f.write(SERVICE_PW + "\n")
        os.chmod(pwfile, 0o600)
        conf = {"ldap_bind_dn": SERVICE_DN, "ldap_bind_password_file": pwfile,
                "ldap_base": "ou=staff," + SUFFIX}
        r, _, log = self.login("staffer", "staffer-pw", **conf)
        self.assertEqual(r, b"+OK 0", log)
        r, _, log = self.login("staffer", "wrong", **conf)
        self.assertEqual(r, FAIL, log)
        # Readable by others: refused, and no bind is tried.
        os.chmod(pwfile, 0o640)
        r, _, log = self.login("staffer", "staffer-pw", **conf)
        self.assertEqual(r, TEMP, log)
        self.assertIn("ldap_bind_password_file", log)
        os.chmod(pwfile, 0o600)
        with open(pwfile, "w") as f:
            f.write("not-the-password\n")
        r, _, log = self.login("staffer", "staffer-pw", **conf)
        self.assertEqual(r, TEMP, log)
        self.assertIn("bind as ldap_bind_dn", log)

    def test_pop3d_t(self):
        r = subprocess.run([pop3test.POP3D, "-t", "-c", self.host.conf_path],
                           capture_output=True, text=True,
                           timeout=pop3test.WAIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.host.write_conf(ldap_filter="(uid=%x)")
        try:
            r = subprocess.run([pop3test.POP3D, "-t", "-c",
                                self.host.conf_path], capture_output=True,
                               text=True, timeout=pop3test.WAIT)
        finally:
            self.host.write_conf(ldap_filter="(uid=%u)")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ldap_filter", r.stderr)


@unittest.skipUnless(HAVE, "slapd and ldap-utils are not installed")
class TestLdapDown(unittest.TestCase):
    """A directory that is stopped, refuses, or never answers."""

    def setUp(self):
        self.host = pop3test.Mailhost(passdb="ldap", ldap_base=SUFFIX,
                                      ldap_timeout=TIMEOUT)
        self.addCleanup(self.host.cleanup)

    def expect_temp(self, uri):
        self.host.write_conf(ldap_uri=uri)
        r, took, log = session(self.host, "alice", "alice-pw")
        self.assertEqual(r, TEMP, log)
        self.assertLess(took, TIMEOUT + MARGIN, log)
        return log

    def test_stopped(self):
        slapd = Slapd()
        self.addCleanup(slapd.cleanup)
        self.host.add_user("alice", "x")
        uid, gid = self.host.uid_of("alice"), \
            (self.host.uid_of("alice") if pop3test.ROOT else os.getgid())
        slapd.add(base_ldif() + person("alice", "alice-pw", uid=uid, gid=gid,
                                       home="/nonexistent"))
        self.host.write_conf(ldap_uri=slapd.uri)
        r, _, log = session(self.host, "alice", "alice-pw")
        self.assertTrue(r.startswith(b"+OK"), log)
        slapd.stop()
        self.expect_temp(slapd.uri)

    def test_refused(self):
        self.expect_temp(f"ldap://127.0.0.1:{pop3test.free_port()}/")

    def test_never_answers(self):
        """A directory that accepts connections and then says nothing:
        the monitor gives up after ldap_timeout."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        self.addCleanup(s.close)
        log = self.expect_temp(f"ldap://127.0.0.1:{s.getsockname()[1]}/")
        self.assertIn("ldap", log)

    def test_second_uri_used(self):
        """Several URIs: the first is down, the second answers."""
        slapd = Slapd()
        self.addCleanup(slapd.cleanup)
        self.host.add_user("alice", "x")
        uid = self.host.uid_of("alice")
        slapd.add(base_ldif() + person(
            "alice", "alice-pw", uid=uid,
            gid=uid if pop3test.ROOT else os.getgid(), home="/nonexistent"))
        self.host.write_conf(ldap_uri=f"ldap://127.0.0.1:"
                             f"{pop3test.free_port()}/ {slapd.uri}")
        r, _, log = session(self.host, "alice", "alice-pw")
        self.assertTrue(r.startswith(b"+OK"), log)


class TestLdapTls(LdapCase):
    """StartTLS and ldaps:// with certificate checks."""
    TLS = True

    def test_starttls(self):
        r, _, log = self.login("alice", "alice-pw", ldap_starttls="yes",
                               ldap_ca_file=self.ca.ca)
        self.assertEqual(r, b"+OK 1", log)

    def test_ldaps(self):
        r, _, log = self.login("alice", "alice-pw", ldap_ca_file=self.ca.ca,
                               ldap_uri=f"ldaps://127.0.0.1:"
                               f"{self.slapd.tls_port}/")
        self.assertEqual(r, b"+OK 1", log)

    def test_wrong_ca(self):
        other = pop3test.TestCA()
        self.addCleanup(other.cleanup)
        os.chmod(other.dir, 0o755)
        os.chmod(other.ca, 0o644)
        ldaps = f"ldaps://127.0.0.1:{self.slapd.tls_port}/"
        for conf in ({"ldap_starttls": "yes", "ldap_ca_file": other.ca},
                     {"ldap_uri": ldaps, "ldap_ca_file": other.ca},
                     {"ldap_uri": ldaps}):
            with self.subTest(conf=conf):
                r, took, log = self.login("alice", "alice-pw", **conf)
                self.assertEqual(r, TEMP, log)
                self.assertLess(took, TIMEOUT + MARGIN)


# A stand-in for libldap's search, preloaded into pop3d: the lookup calls
# it once its system call filter is on, and it makes the call a subverted
# lookup would.  Were the call let through, the lookup exits unanswered.
FORBIDDEN_SHIM = r"""
#define _GNU_SOURCE
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <unistd.h>

int
ldap_search_ext_s(void)
{
	char *argv[] = { "true", 0 }, *envp[] = { 0 };

	CALL;
	_exit(99);
}
"""
FORBIDDEN_CALLS = {
    "execve": 'execve("/bin/true", argv, envp)',
    "fork": "fork()",
    "ptrace": "ptrace(PTRACE_TRACEME, 0, 0, 0)",
    "mkdir": 'mkdir(MADE, 0700)',
}
ALLOWED_CALLS = {"getpid": "getpid()"}
with open(pop3test.POP3D, "rb") as _f:
    # Relaxed filters (a sanitizer build) let the calls through.
    SANITIZED = b"__asan_init" in _f.read() or "ASAN_OPTIONS" in os.environ


@unittest.skipIf(SANITIZED, "a sanitizer build relaxes the filters")
@unittest.skipIf(pop3test.WRAP, "valgrind relaxes the filters (and takes "
                 "the shim's early exits for leaks)")
@unittest.skipUnless(pop3test.have("cc"), "no C compiler for the shim")
class TestLdapSandbox(LdapCase):
    """The lookup's seccomp filter: a forbidden call once it is on kills
    the lookup, the monitor logs it, and the client is told to try later."""

    def shim(self, name):
        d = tempfile.mkdtemp(prefix="pop3d-shim-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        os.chmod(d, 0o755)
        made = os.path.join(d, "made")
        src, lib = os.path.join(d, "shim.c"), os.path.join(d, "shim.so")
        with open(src, "w") as f:
            f.write(FORBIDDEN_SHIM.replace(
                "CALL", {**FORBIDDEN_CALLS, **ALLOWED_CALLS}[name]))
        subprocess.run(["cc", "-shared", "-fPIC", f'-DMADE="{made}"', "-o",
                        lib, src], check=True, capture_output=True,
                       timeout=pop3test.WAIT * 3)
        return lib, made

    def test_forbidden_call_killed_and_logged(self):
        for name in FORBIDDEN_CALLS:
            with self.subTest(call=name):
                lib, made = self.shim(name)
                r, took, log = session(self.host, "alice", "alice-pw",
                                       env={"LD_PRELOAD": lib})
                self.assertEqual(r, TEMP, log)
                self.assertIn("ldap lookup process killed by seccomp "
                              "(SIGSYS)", log)
                self.assertLess(took, TIMEOUT + MARGIN, log)
                self.assertFalse(os.path.exists(made))

    def test_allowed_call_not_killed(self):
        """The control: a call the filter allows goes through, and the
        shim's lookup ends unanswered, not killed."""
        lib, _ = self.shim("getpid")
        r, _, log = session(self.host, "alice", "alice-pw",
                            env={"LD_PRELOAD": lib})
        self.assertEqual(r, TEMP, log)
        self.assertIn("lookup process ended without an answer", log)
        self.assertNotIn("killed", log)


if __name__ == "__main__":
    pop3test.main()
