#!/usr/bin/python3
"""Code validation cost, as Markdown tables.

1. `fnguard scan` vs `grep -rP` with the same protectLambda rule over the
   Python standard library (MB/s, best of BENCH_CODE_RUNS).
2. An import-heavy start with code validation covering the standard
   library, bare vs `fnguard run` (interleaved pairs, median of ratios),
   for the setups that decide its cost: who runs the workload (a root
   workload could have written every .pyc, so each is refused and
   CPython compiles the scanned sources), whether the tree is read-only,
   and whether a verdict cache spares the pre-launch scan.

Environment: FNGUARD, BENCH_CODE_RUNS (default 5), BENCH_CODE_PAIRS (20).
"""
import os
import shutil
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
PAIRS = int(os.environ.get("BENCH_CODE_PAIRS", "20"))
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


AS_NOBODY = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def import_row(name, prefix, pol, argv=("-c", IMPORTS), pairs=PAIRS):
    bare = prefix + ["/usr/bin/python3", *argv]
    wrapped = prefix + [FNGUARD, "run", "-p", pol, "--log", "/dev/null", "--",
                        "/usr/bin/python3", *argv]
    b, w = bench.pairs(bare, wrapped, pairs)
    r = statistics.median(x / y for x, y in zip(w, b))
    print(f"| {name} | {statistics.median(b):.1f} | {statistics.median(w):.1f} | "
          f"{r:.2f}× | ≤ 1.15× {'✓' if r <= 1.15 else '✗'} |", flush=True)


def write_policy(d, cache=None):
    pol = os.path.join(d, "cache.yaml" if cache else "code.yaml")
    with open(pol, "w") as f:
        # The shipped packs (no rules named): what a policy gets by default.
        f.write(f"version: 1\ncode:\n  paths: [{STDLIB}]\n"
                + (f"  cache: {cache}\n" if cache else "") + "  action: deny\n")
    os.chmod(pol, 0o644)
    return pol


def archive_row(d):
    """The standard library's .py files as one zip archive on sys.path
    (no .pyc in it: CPython compiles every module, as from any zip without
    bytecode). fnguard inflates and scans the archive once (the pre-launch
    scan), then answers each of zipimport's reopens from its verdict."""
    import zipfile
    zdir = os.path.join(d, "zipped")
    os.mkdir(zdir)
    arch = os.path.join(zdir, "stdlib.zip")
    skip = {"__pycache__", "test", "idlelib", "tkinter", "lib2to3", "site-packages",
            "dist-packages"}
    with zipfile.ZipFile(arch, "w", zipfile.ZIP_DEFLATED) as z:
        for top, dirs, files in os.walk(STDLIB):
            dirs[:] = [x for x in dirs if x not in skip]
            for f in files:
                if f.endswith(".py"):
                    full = os.path.join(top, f)
                    z.write(full, os.path.relpath(full, STDLIB))
    pol = os.path.join(d, "zip.yaml")
    with open(pol, "w") as f:
        f.write(f"version: 1\ncode:\n  paths: [{zdir}]\n  action: deny\n")
    src = (f"import sys; sys.path[:] = [{arch!r}, {STDLIB + '/lib-dynload'!r}]; " + IMPORTS)
    mb = os.path.getsize(arch) / 1e6
    import_row(f"root, the stdlib's sources as one {mb:.1f} MB zip on sys.path (every module "
               "compiled; bare: the same)", [], pol, ("-S", "-I", "-c", src),
               min(PAIRS, 10))


def ro_row(d):
    """Inside a private mount namespace (bench_code.py --ro-row DIR): the
    standard library copied to a tmpfs of its own, mounted read-only over
    itself, as Lambda's /var/task is. The cache was written from the
    original tree, so its entries match by contents, as a cache shipped
    in a function package would. First under the writable root file
    system (a root workload could re-point /usr/lib, so every code file is
    handed over), then with the root read-only too, as on Lambda and
    under docker --read-only (the workload's own opens go on)."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "fng-stdlib", STDLIB + "-ro"],
                   check=True)
    subprocess.run(["cp", "-a", STDLIB + "/.", STDLIB + "-ro"], check=True)
    # Shipped with the code, as in a function package: read-only too.
    shutil.copy(os.path.join(d, "verdicts.cache"), STDLIB + "-ro/.fnguard-verdicts.cache")
    subprocess.run(["mount", "--move", STDLIB + "-ro", STDLIB], check=True)
    subprocess.run(["mount", "-o", "remount,ro", STDLIB], check=True)
    cpol = write_policy(d, STDLIB + "/.fnguard-verdicts.cache")
    import_row("root, read-only stdlib tmpfs, cache in it, writable root fs", [], cpol)
    subprocess.run(["mount", "-o", "remount,bind,ro", "/"], check=True)
    import_row("root, read-only root fs and stdlib (pyc trusted), no cache", [],
               os.path.join(d, "code.yaml"))
    import_row("root, read-only root fs and stdlib, verdict cache in it (by contents)", [], cpol)


def import_table():
    # As root every .pyc is writable by the workload and refused (CPython
    # compiles the scanned sources); as an unprivileged user the root-owned
    # standard library caches are used once their sources scan clean.
    # Rows with a verdict cache: `fnguard scan --write-cache` run by root
    # first; the workload must not be able to write it (trust.h).
    print(f"## Import-heavy start, code validation over the standard library "
          f"({PAIRS} interleaved pairs)\n")
    print("| workload user, setup | bare ms | fnguard ms | ratio | goal |")
    print("|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        pol = write_policy(tmp)
        cpol = write_policy(tmp, "verdicts.cache")
        subprocess.run([FNGUARD, "scan", "-p", cpol, "--write-cache",
                        os.path.join(tmp, "verdicts.cache"), STDLIB],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import_row("root", [], pol)
        archive_row(tmp)
        root = os.geteuid() == 0
        if root and os.path.exists(AS_NOBODY[0]):
            import_row("uid 65534", AS_NOBODY, pol)
            import_row("uid 65534, verdict cache written by root", AS_NOBODY, cpol)
        mnt = STDLIB + "-ro"
        if root and shutil.which("unshare") and not os.path.exists(mnt):
            os.mkdir(mnt)
            try:
                subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                                os.path.abspath(__file__), "--ro-row", tmp], check=True)
            finally:
                os.rmdir(mnt)
    print(f"\nWorkload: `python3 -c '{IMPORTS}'`; rules: the shipped packs.\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ro-row"]:
        ro_row(sys.argv[2])
        sys.exit(0)
    ncpu, kernel, cpu = bench.machine()
    print(f"# fnguard code validation\n\n- machine: {ncpu} CPUs, Linux {kernel}, {cpu}\n")
    scan_table()
    import_table()
