#!/usr/bin/env python3
"""Run every pop3d test and print one closing line:
N passed, N failed, N skipped.

Suites: the C unit tests (TAP programs), the transcript tests
(tests/transcripts/check.py) and the integration tests
(tests/integration/test_*.py, TAP via tests/lib/pop3test.py), first against
the normal build, then again against the ASan+UBSan build, where any
sanitizer report fails the run.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE_TIMEOUT = 900


def tap_count(out, rc):
    """Count a TAP producer's output: (passed, failed, skipped, why).

    "ok N - name # SKIP reason" is a skip, not a pass.  A plan ("1..N")
    that is missing, given twice or not equal to the number of test lines
    is one more failure, and so is a bad exit status that no "not ok" line
    explains; why then says which.
    """
    passed = failed = skipped = 0
    why = None
    for m in re.finditer(r"^(not )?ok\b[^#\n]*(?:#\s*(\w+))?", out, re.M):
        if m.group(1):
            failed += 1
        elif (m.group(2) or "").upper() == "SKIP":
            skipped += 1
        else:
            passed += 1
    plans = re.findall(r"^1\.\.(\d+)", out, re.M)
    if len(plans) != 1:
        why = f"{len(plans)} plan lines, want one"
    elif int(plans[0]) != passed + failed + skipped:
        why = (f"plan 1..{plans[0]}, but {passed + failed + skipped} "
               "test lines")
    elif rc != 0 and failed == 0:
        why = f"exit status {rc} with no failed test"
    if why is not None:
        failed += 1
    return passed, failed, skipped, why


def run_tap(name, argv, env):
    """Run one TAP producer; returns (passed, failed, skipped)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, env=env, cwd=TOP, capture_output=True,
                           timeout=SUITE_TIMEOUT)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = "timed out"
        rc = -1
    passed, failed, skipped, why = tap_count(out, rc)
    mark = "ok  " if failed == 0 else "FAIL"
    print(f"{mark} {name}: {passed} passed, {failed} failed, "
          f"{skipped} skipped ({time.monotonic() - t0:.1f}s)", flush=True)
    for line in out.splitlines():
        if (failed and (line.startswith("not ok") or line.startswith("#"))
                or re.match(r"ok\b[^#]*#\s*skip", line, re.I)):
            print("     " + line)
    if why is not None:
        print("     " + why)
    if failed and err.strip():
        print("     stderr: " + err.strip()[-3000:].replace("\n", "\n     "))
    return passed, failed, skipped


def run_valgrind(build, names):
    """Integration suites with every pop3d process under memcheck."""
    logdir = tempfile.mkdtemp(prefix="pop3d-vg-")
    os.chmod(logdir, 0o1777)        # sessions run as mailbox owners
    # pop3d-log is linked statically, where memcheck cannot replace
    # malloc and reports glibc's own start-up: it is left out here, and
    # checked by the ASan build, where it is linked dynamically.
    wrap = ("valgrind -q --trace-children=yes --vgdb=no --leak-check=full "
            "--trace-children-skip='*/pop3d-log' "
            "--show-leak-kinds=definite,indirect --errors-for-leak-kinds="
            f"definite,indirect --log-file={logdir}/vg.%p.%q{{POP3D_USER}}")
    # The session keeps the monitor's pid: the user in the log file's name
    # keeps their logs apart (the monitor's is named after this value).
    env = dict(os.environ, POP3D_BUILD=build, POP3D_WRAP=wrap,
               POP3D_USER="monitor")
    tp = tf = ts = 0
    for name, argv in suites(build, env, names):
        if "integration/" in name:
            p, f, s = run_tap(name + " (valgrind)", argv, env)
            tp += p
            tf += f
            ts += s
    bad = [r for r in sorted(glob.glob(os.path.join(logdir, "vg.*")))
           if os.path.getsize(r) > 0]
    if bad:
        tf += 1
        print(f"FAIL valgrind reports: {len(bad)}")
        for r in bad[:5]:
            with open(r, errors="replace") as fh:
                print("     " + fh.read()[-4000:].replace("\n", "\n     "))
    else:
        tp += 1
        print("ok   valgrind: no reports")
    shutil.rmtree(logdir, ignore_errors=True)
    return tp, tf, ts


# Suites that need no root, install nothing and start no network client or
# launcher: what make test runs.
HERMETIC = ("unit/", "layout", "transcripts", "integration/test_protocol.py",
            "integration/test_sasl.py",
            "integration/test_negative.py", "integration/test_ossl.py")


def suites(build, env, only, hermetic=False):
    out = []
    for exe in sorted(glob.glob(os.path.join(TOP, build, "tests/unit/test_*"))):
        if os.access(exe, os.X_OK) and not exe.endswith(".o"):
            out.append((f"{build}: unit/{os.path.basename(exe)}", [exe]))
    out.append((f"{build}: layout",
                [sys.executable, os.path.join(TOP, "tests/layout.py"), build]))
    out.append((f"{build}: transcripts",
                [sys.executable, os.path.join(TOP, "tests/transcripts/check.py")]))
    for py in sorted(glob.glob(os.path.join(TOP, "tests/integration/test_*.py"))):
        out.append((f"{build}: integration/{os.path.basename(py)}",
                    [sys.executable, py]))
    if hermetic:
        out = [s for s in out if any(h in s[0] for h in HERMETIC)]
    if only:
        out = [s for s in out if any(o in s[0] for o in only)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--asan-build")
    ap.add_argument("--valgrind", nargs="*", metavar="SUITE",
                    help="also run these integration suites with pop3d "
                         "under valgrind (memcheck, leaks)")
    ap.add_argument("--hermetic", action="store_true",
                    help="only the suites make test runs (see HERMETIC)")
    ap.add_argument("only", nargs="*", help="run suites whose name has this")
    a = ap.parse_args()

    total_p = total_f = total_s = 0
    # make test: test_cache lists a smaller large maildrop.
    runs = [(a.build, {"POP3D_TEST_QUICK": "1"} if a.hermetic else {})]
    sanlog = None
    if a.asan_build:
        sanlog = tempfile.mkdtemp(prefix="pop3d-san-")
        os.chmod(sanlog, 0o1777)
        runs.append((a.asan_build, {
            "ASAN_OPTIONS": f"log_path={sanlog}/asan:detect_leaks=1:"
                            "abort_on_error=0:exitcode=86",
            "UBSAN_OPTIONS": f"log_path={sanlog}/ubsan:print_stacktrace=1:"
                             "halt_on_error=1",
        }))
    for build, extra in runs:
        env = dict(os.environ, POP3D_BUILD=build, **extra)
        for name, argv in suites(build, env, a.only, a.hermetic):
            p, f, s = run_tap(name, argv, env)
            total_p += p
            total_f += f
            total_s += s
    if a.valgrind:
        p, f, s = run_valgrind(a.build, a.valgrind)
        total_p += p
        total_f += f
        total_s += s
    if sanlog:
        reports = sorted(glob.glob(os.path.join(sanlog, "*")))
        if reports:
            total_f += 1
            print(f"FAIL sanitizer reports: {len(reports)}")
            for r in reports[:5]:
                with open(r, errors="replace") as fh:
                    print("     " + fh.read()[-4000:].replace("\n", "\n     "))
        else:
            total_p += 1
            print("ok   sanitizers: no reports")
        shutil.rmtree(sanlog, ignore_errors=True)
    print(f"{total_p} passed, {total_f} failed, {total_s} skipped")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
