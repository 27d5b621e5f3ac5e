#!/usr/bin/python3
"""Code validation cost, as Markdown tables.

1. `fnguard scan` vs `grep -rP` with the same protectLambda rule over the
   Python standard library (MB/s, best of BENCH_CODE_RUNS).
2. An import-heavy start with code validation covering the standard
   library, bare vs `fnguard run` (interleaved pairs, median of ratios).
   Under code.paths fnguard refuses .pyc files, so CPython compiles every
   imported module from its (scanned) source: that is most of the cost.

Environment: FNGUARD, BENCH_CODE_RUNS (default 5), BENCH_CODE_PAIRS (10).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (header, timed runs)

FNGUARD = os.environ.get("FNGUARD", "build/fnguard")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULE = os.path.join(REPO, "policy", "examples", "code_protect.txt")
STDLIB = "/usr/lib/python3.11"
RUNS = int(os.environ.get("BENCH_CODE_RUNS", "5"))
PAIRS = int(os.environ.get("BENCH_CODE_PAIRS", "10"))
IMPORTS = "import json, asyncio, email, http.client, ssl, sqlite3, decimal"


def tree_bytes(root):
    total = 0
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                total += os.path.getsize(os.path.join(d, f))
    return total


def best(argv, ok=(0, 1)):
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        if p.returncode not in ok:
            raise SystemExit(f"bench_code: {argv[0]} exited {p.returncode}")
    return min(times)


def scan_table():
    pattern = [l for l in open(RULE) if l.strip() and not l.startswith("#")][0].strip()
    mb = tree_bytes(STDLIB) / 1e6
    g = best(["grep", "-rP", "--include=*.py", "-c", pattern, STDLIB])
    f = best([FNGUARD, "scan", "--rules", RULE, "--format", "json", STDLIB])
    print(f"## fnguard scan vs grep -rP ({mb:.1f} MB of .py in {STDLIB}, best of {RUNS})\n")
    print("| tool | s | MB/s | vs grep | goal |")
    print("|---|---:|---:|---:|---|")
    print(f"| grep -rP | {g:.3f} | {mb / g:.0f} | 1.00× | |")
    r = g / f
    print(f"| fnguard scan | {f:.3f} | {mb / f:.0f} | {r:.2f}× | ≥ 1.5× {'✓' if r >= 1.5 else '✗'} |\n")


def import_table():
    # As root every .pyc is writable by the workload and refused (CPython
    # compiles the scanned sources); as an unprivileged user the root-owned
    # standard library caches are used once their sources scan clean.
    users = [("root", [])]
    if os.geteuid() == 0 and os.path.exists("/usr/bin/setpriv"):
        users.append(("uid 65534", ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                    "--clear-groups"]))
    print(f"## Import-heavy start, code validation over the standard library "
          f"({PAIRS} interleaved pairs)\n")
    print("| workload user | bare ms | fnguard ms | ratio | goal |")
    print("|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        pol = os.path.join(tmp, "code.yaml")
        with open(pol, "w") as f:
            # The shipped packs (no rules named): what a policy gets by default.
            f.write(f"version: 1\ncode:\n  paths: [{STDLIB}]\n  action: deny\n")
        os.chmod(pol, 0o644)
        for name, prefix in users:
            bare = prefix + ["/usr/bin/python3", "-c", IMPORTS]
            wrapped = prefix + [FNGUARD, "run", "-p", pol, "--log", "/dev/null", "--",
                                "/usr/bin/python3", "-c", IMPORTS]
            b, w = bench.pairs(bare, wrapped, PAIRS)
            r = statistics.median(x / y for x, y in zip(w, b))
            print(f"| {name} | {statistics.median(b):.1f} | {statistics.median(w):.1f} | "
                  f"{r:.2f}× | ≤ 1.15× {'✓' if r <= 1.15 else '✗'} |")
    print(f"\nWorkload: `python3 -c '{IMPORTS}'`; rules: the shipped packs.\n")


if __name__ == "__main__":
    ncpu, kernel, cpu = bench.machine()
    print(f"# fnguard code validation\n\n- machine: {ncpu} CPUs, Linux {kernel}, {cpu}\n")
    scan_table()
    import_table()
