#!/usr/bin/python3
"""The preload tier next to the kernel tier and the bare runtime, as
Markdown tables (ratios against bare, median of interleaved triples).

1. Cold start: true, python3 -S -c pass, node -e 0 (exec rules only).
2. Import-heavy start: python3 -c 'import json, asyncio, email, ...', with
   exec rules only, and with code validation over the standard library.
3. Many execs: python3 running /usr/bin/true 50 times through subprocess
   (each one a question to the supervisor in either tier).

Environment: FNGUARD, BENCH_PRELOAD_RUNS (default 10).
"""
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (timed runs, machine)

FNGUARD = os.environ.get("FNGUARD", "build/fnguard")
RUNS = int(os.environ.get("BENCH_PRELOAD_RUNS", "10"))
STDLIB = "/usr/lib/python3.11"
IMPORTS = "import json, asyncio, email, http.client, ssl, sqlite3, decimal"
EXECS = "import subprocess\nfor _ in range(50): subprocess.run(['/usr/bin/true'])"


def triples(bare, kernel, preload):
    for _ in range(2):  # warm the page cache for all three
        for argv in (bare, kernel, preload):
            bench.timed(argv)
    t = ([], [], [])
    for _ in range(RUNS):
        for i, argv in enumerate((bare, kernel, preload)):
            t[i].append(bench.timed(argv))
    return t


def row(name, argv, pol, kernel_ok):
    fng = [FNGUARD, "run", "-p", pol, "--log", "/dev/null"]
    kernel = fng + ["--tier", "kernel", "--"] + argv
    preload = fng + ["--tier", "preload", "--"] + argv
    try:
        b, k, p = triples(argv, kernel if kernel_ok else argv, preload)
    except bench.Failed as e:
        print(f"| {name} | — | — | — | — | — | failed: {e} |")
        return
    rk = statistics.median(x / y for x, y in zip(k, b))
    rp = statistics.median(x / y for x, y in zip(p, b))
    ks = f"{statistics.median(k):.1f}" if kernel_ok else "n/a"
    kr = f"{rk:.2f}×" if kernel_ok else "n/a"
    print(f"| {name} | {statistics.median(b):.1f} | {ks} | {statistics.median(p):.1f} | "
          f"{kr} | {rp:.2f}× |")
    sys.stdout.flush()


def main():
    ncpu, kernel, cpu = bench.machine()
    _, tier = bench.fnguard_info()
    kernel_ok = tier == "kernel"
    print("# fnguard preload tier\n")
    print(f"- machine: {ncpu} CPUs, Linux {kernel}, {cpu}")
    print(f"- kernel tier here: {'yes' if kernel_ok else 'no (column n/a)'}\n")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        execp = os.path.join(tmp, "exec.yaml")
        with open(execp, "w") as f:
            f.write("version: 1\nexec:\n  allow: [/usr/bin/true]\n")
        code = os.path.join(tmp, "code.yaml")
        with open(code, "w") as f:
            f.write(f"version: 1\ncode:\n  paths: [{STDLIB}]\n  action: deny\n")
        head = ("| workload | bare ms | kernel ms | preload ms | kernel / bare | "
                "preload / bare |\n|---|---:|---:|---:|---:|---:|")
        print(f"## Cold start, exec rules ({RUNS} interleaved triples)\n\n{head}")
        for name, argv in (("true", ["/usr/bin/true"]),
                           ("python3 -S -c pass", ["/usr/bin/python3", "-S", "-c", "pass"]),
                           ("node -e 0", ["/usr/bin/node", "-e", "0"])):
            row(name, argv, execp, kernel_ok)
        print(f"\n## Import-heavy start ({RUNS} interleaved triples)\n\n{head}")
        argv = ["/usr/bin/python3", "-c", IMPORTS]
        row("exec rules only", argv, execp, kernel_ok)
        row("code validation over the stdlib (root)", argv, code, kernel_ok)
        print(f"\n## 50 execs of /usr/bin/true from python ({RUNS} interleaved triples)\n\n"
              f"{head}")
        row("subprocess.run x50", ["/usr/bin/python3", "-c", EXECS], execp, kernel_ok)
    print(f"\nImport workload: `python3 -c '{IMPORTS}'`. As root every .pyc under code.paths "
          "is writable by the workload, so both tiers refuse it and CPython compiles the "
          "scanned sources.\n")


if __name__ == "__main__":
    main()
