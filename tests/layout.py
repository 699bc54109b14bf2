#!/usr/bin/env python3
"""The layout is the design: check it on the built objects (TAP).

Each folder holds the code of one process and privilege (see pop3d.c):

  common/    every process       may use nothing of another folder
  auth/      the monitor (root)  no pre-login, session or store code
  lookup/    the LDAP lookup     no auth, pre-login, session or store code;
             (pre-login user)    the only folder that calls libldap
  prelogin/  unprivileged        no auth (users file, password checks),
                                 session or store code; reads no private
                                 key (the monitor signs for it)
  session/   the mailbox owner   no auth or pre-login code
  store/     the mailbox owner   no auth or pre-login code

A folder "uses" another when one of its objects leaves undefined a symbol
that an object of the other defines; an OpenSSL function called through
common/ossl.h is the undefined symbol ossl_fn_NAME.  Besides: nothing
compiled into the session includes an OpenSSL header, pop3d-session needs
no TLS or password library, and pop3d maps OpenSSL only with dlopen(3).

usage: tests/layout.py [BUILD]    (default build; after make all unit)
"""
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, sys.argv[1] if len(sys.argv) > 1 else "build")

FORBIDDEN = {
    "common": ("auth", "lookup", "prelogin", "session", "store"),
    "auth": ("prelogin", "session", "store"),
    "lookup": ("auth", "prelogin", "session", "store"),
    "prelogin": ("auth", "lookup", "session", "store"),
    "session": ("auth", "lookup", "prelogin"),
    "store": ("auth", "lookup", "prelogin", "session"),
}
SESSION_FOLDERS = ("common", "session", "store")
SESSION_MAIN = "session/pop3d-session.c"
OSSL_SRC = "common/ossl.c"

n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {what}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print(f"#   {line}")


def nm(path, *flags):
    out = subprocess.run(["nm", *flags, path], capture_output=True,
                         check=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if line.strip() and not line.endswith(":")}


def archive(folder):
    return os.path.join(BUILD, f"lib{folder}.a")


def main():
    defined = {f: nm(archive(f), "-g", "--defined-only") for f in FORBIDDEN}
    for folder, banned in FORBIDDEN.items():
        undefined = nm(archive(folder), "-u")
        for other in banned:
            reached = sorted(undefined & defined[other])
            ok(not reached, f"{folder}/ uses nothing of {other}/",
               ", ".join(reached))

    # The monitor parses nothing a directory sends: libldap is called
    # from lookup/, the helper that runs unprivileged, alone.
    calls = sorted(s for f in FORBIDDEN if f != "lookup"
                   for s in nm(archive(f), "-u")
                   if re.match(r"(ldap|ber)_", s))
    ok(not calls, "no folder but lookup/ calls libldap", ", ".join(calls))

    # The TLS private key is read and used by the monitor (auth/signer.c)
    # alone: the pre-login process signs through it, so no other folder
    # reads a private key or signs with one.
    calls = sorted(f"{f}/: {s}" for f in FORBIDDEN if f != "auth"
                   for s in nm(archive(f), "-u")
                   if re.match(r"(ossl_fn_)?(PEM_read\w*PrivateKey|"
                               r"d2i\w*PrivateKey|SSL_CTX_use_PrivateKey_file|"
                               r"SSL_use_PrivateKey_file|EVP_PKEY_sign|"
                               r"OSSL_DECODER\w*)$", s))
    ok(not calls, "only auth/ reads a private key or signs", ", ".join(calls))

    # The session's sources, headers included, never see OpenSSL.  Of
    # common/, ossl.c includes it: pop3d-session must not link it (below).
    cflags = subprocess.run(["pkg-config", "--cflags", "libbsd-overlay",
                             "libmd"], capture_output=True,
                            text=True).stdout.split()
    srcs = [SESSION_MAIN] + [os.path.join(f, s) for f in SESSION_FOLDERS
                             for s in sorted(os.listdir(os.path.join(TOP, f)))
                             if s.endswith(".c")
                             and os.path.join(f, s) != OSSL_SRC]
    leaks = []
    for src in srcs:
        deps = subprocess.run(["cc", "-M", "-std=gnu11", "-D_GNU_SOURCE",
                               "-I.", "-DSYSCONFDIR=\"/etc\"", *cflags, src],
                              cwd=TOP, capture_output=True, text=True)
        if deps.returncode != 0:
            leaks.append(f"{src}: {deps.stderr.strip()}")
        elif "openssl/" in deps.stdout:
            leaks.append(f"{src}: includes OpenSSL")
    ok(not leaks, "no session source includes an OpenSSL header",
       "\n".join(leaks))

    dyn = subprocess.run(["readelf", "-d", os.path.join(BUILD,
                                                        "pop3d-session")],
                         capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", dyn)
    bad = [lib for lib in needed
           if re.match(r"lib(ssl|crypto|crypt|pam|ldap|lber|gnutls)[.-]", lib)]
    ok(needed and not bad, "pop3d-session needs no TLS or password library",
       " ".join(needed))

    # pop3d starts at every connection: it maps no libldap (and the GnuTLS
    # that brings; the LDAP lookup is pop3d-ldap's) nor libpam (mapped at
    # the first PAM check, auth/passdb_pam.c).
    dyn = subprocess.run(["readelf", "-d", os.path.join(BUILD, "pop3d")],
                         capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", dyn)
    bad = [lib for lib in needed
           if re.match(r"lib(ldap|lber|gnutls|pam)[.-]", lib)]
    ok(needed and not bad, "pop3d needs no LDAP or PAM library",
       " ".join(needed))
    # Nor OpenSSL: a plaintext login calls none of it, and relocating
    # libcrypto at every exec cost more than the rest of ld.so's work
    # (common/ossl.h maps it for TLS and SCRAM).
    bad = [lib for lib in needed if re.match(r"lib(ssl|crypto)[.-]", lib)]
    ok(needed and not bad, "pop3d needs no OpenSSL library",
       " ".join(needed))

    # The log relay lives as long as the connection: libc alone, linked
    # statically but in a sanitizer build.
    dyn = subprocess.run(["readelf", "-d", os.path.join(BUILD, "pop3d-log")],
                         capture_output=True, text=True, check=True).stdout
    needed = [lib for lib in re.findall(r"\(NEEDED\).*\[(.*)\]", dyn)
              if not re.match(r"lib(asan|ubsan)[.]", lib)]
    ok(needed in ([], ["libc.so.6"]), "pop3d-log needs libc alone",
       " ".join(needed))

    syms = nm(os.path.join(BUILD, "pop3d-session"))
    bad = sorted(s for s in syms
                 if re.match(r"(passwd_file|password|monitor|login|sasl|"
                             r"tls|relay|apop|lookup|ossl)_", s))
    ok(not bad, "pop3d-session holds no users-file, password or TLS code",
       ", ".join(bad))

    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
