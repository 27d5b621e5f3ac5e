#!/usr/bin/python3
"""fnguard overhead, as Markdown tables.

Cold start: the runtime starting and exiting, bare vs wrapped, in
interleaved pairs (bare, wrapped, bare, wrapped, ...) so drift on the
machine hits both sides alike; the figure is the median of per-pair ratios.
Loops: a syscall-heavy C helper, bare vs fnguard; ratio of medians.

Environment: FNGUARD (binary), HELPERS (compiled test helpers),
BENCH_RUNS (cold-start pairs, default 60), BENCH_LOOP_RUNS (default 15),
BENCH_LOOP_N (syscalls per loop run, default 200000).
"""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FNGUARD = os.path.abspath(os.environ.get("FNGUARD", "build/fnguard"))
HELPERS = os.environ.get("HELPERS", "build/tests/helpers")
RUNS = int(os.environ.get("BENCH_RUNS", "60"))
LOOP_RUNS = int(os.environ.get("BENCH_LOOP_RUNS", "15"))
LOOP_N = os.environ.get("BENCH_LOOP_N", "200000")
COLD_GOAL, LOOP_GOAL = 1.10, 1.05

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
       "LANG": "C.UTF-8"}


class Failed(Exception):
    pass


def timed(argv):
    """Wall time in ms of one run of argv, output discarded; raises on a
    non-zero exit so a broken wrapper cannot look fast."""
    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
          (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, ENV, file_actions=fa)
    _, st = os.waitpid(pid, 0)
    ms = (time.perf_counter() - t0) * 1000
    code = os.waitstatus_to_exitcode(st)
    if code != 0:
        raise Failed(f"exit {code}: {' '.join(argv)}")
    return ms


def pairs(bare, wrapped, n):
    for _ in range(2):  # warm the page cache for both
        timed(bare)
        timed(wrapped)
    b, w = [], []
    for _ in range(n):
        b.append(timed(bare))
        w.append(timed(wrapped))
    return b, w


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return os.cpu_count(), platform.release(), cpu


def fnguard_info():
    v = subprocess.run([FNGUARD, "--version"], capture_output=True, text=True, timeout=30)
    p = subprocess.run([FNGUARD, "probe", "--json"], capture_output=True, text=True,
                       timeout=30)
    try:
        tier = json.loads(p.stdout).get("tier", "?")
    except ValueError:
        tier = "?"
    return v.stdout.strip() or "?", tier


def verdict(ratio, goal):
    return f"≤ {goal:.2f}× {'✓' if ratio <= goal else '✗'}"


def main():
    if not os.access(FNGUARD, os.X_OK):
        sys.exit(f"bench: {FNGUARD} is not executable (run make)")
    ncpu, kernel, cpu = machine()
    version, tier = fnguard_info()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print("# fnguard benchmark\n")
    print(f"- machine: {ncpu} CPUs, Linux {kernel}, {cpu}")
    print(f"- date: {now}")
    print(f"- fnguard: {version}, tier {tier}\n")

    tmp = tempfile.mkdtemp(prefix="fng-bench-")
    try:
        pol = os.path.join(tmp, "exec.yaml")
        with open(pol, "w") as f:
            f.write("version: 1\nexec:\n  allow: []\n")
        fng = [FNGUARD, "run", "-p", pol, "--log", "/dev/null", "--"]
        cold(fng)
        loops(fng)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cold(fng):
    # /usr/bin/true shows the fixed cost of starting the wrapper itself.
    workloads = [("true (fixed cost)", ["/usr/bin/true"]),
                 ("python3 -S -c pass", ["/usr/bin/python3", "-S", "-c", "pass"]),
                 ("node -e 0", ["/usr/bin/node", "-e", "0"])]
    strace, bwrap = shutil.which("strace", path=ENV["PATH"]), \
        shutil.which("bwrap", path=ENV["PATH"])
    wrappers = [("fnguard", fng, True),
                ("strace --seccomp-bpf (reference)",
                 [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=execve", "-o",
                  "/dev/null"] if strace else None, False),
                ("bwrap (reference)", [bwrap, "--dev-bind", "/", "/", "--"]
                 if bwrap else None, False)]
    print(f"## Cold start ({RUNS} interleaved pairs)\n")
    print("| workload | wrapper | bare ms | wrapped ms | ratio (median of pairs) | goal |")
    print("|---|---|---:|---:|---:|---|")
    notes = []
    for wname, argv in workloads:
        if not os.access(argv[0], os.X_OK):
            notes.append(f"{wname}: {argv[0]} missing, row skipped")
            continue
        for name, prefix, goal in wrappers:
            if prefix is None:
                notes.append(f"{name}: tool not installed, row skipped")
                continue
            try:
                b, w = pairs(argv, prefix + argv, RUNS)
            except Failed as e:
                print(f"| {wname} | {name} | — | — | — | failed: {e} |")
                continue
            r = statistics.median(x / y for x, y in zip(w, b))
            g = verdict(r, COLD_GOAL) if goal and argv[0] != "/usr/bin/true" else "—"
            print(f"| {wname} | {name} | {statistics.median(b):.1f} | "
                  f"{statistics.median(w):.1f} | {r:.3f}× | {g} |")
            sys.stdout.flush()
    for n in notes:
        print(f"\nNote: {n}")
    print()


def loops(fng):
    print(f"## Syscall loops ({LOOP_N} calls, {LOOP_RUNS} interleaved runs)\n")
    print("| loop | bare ms | any seccomp filter ms | fnguard ms | fnguard / bare | "
          "fnguard / any filter | goal (vs bare) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, helper in (("getppid()", "getppid_loop"),
                         ("openat(/dev/null) + close", "open_loop")):
        path = os.path.join(HELPERS, helper)
        if not os.access(path, os.X_OK):
            print(f"| {name} | — | — | — | {path} not built (make helpers) |")
            continue
        argv = [path, LOOP_N]
        try:
            b, w = pairs(argv, fng + argv, LOOP_RUNS)
            f = [timed(argv + ["floor"]) for _ in range(LOOP_RUNS)]
        except Failed as e:
            print(f"| {name} | — | — | — | — | — | failed: {e} |")
            continue
        mb, mw, mf = statistics.median(b), statistics.median(w), statistics.median(f)
        # Each run includes one process start; the fixed cost row above
        # says how much of the difference that is. "any seccomp filter"
        # is a one-instruction allow-all filter: the kernel's own floor.
        print(f"| {name} | {mb:.1f} | {mf:.1f} | {mw:.1f} | {mw / mb:.3f}× | "
              f"{mw / mf:.3f}× | {verdict(mw / mb, LOOP_GOAL)} |")
        sys.stdout.flush()
    print()


if __name__ == "__main__":
    main()
