#!/usr/bin/python3
"""fnguard's Lambda side, as Markdown tables.

1. Invocation round trip through fnguard's Runtime API proxy (with every
   event detector on) vs the runtime talking to the emulator directly:
   p50 and p99 over many invocations of 1 KB, 100 KB and 1 MB events. The
   client, the emulator (tools/lambda_emulator.py) and the runtime loop
   (tests/lambda/bootstrap.py, one keep-alive connection, as the managed
   runtimes' clients) are the same both ways; only fnguard is added.
2. Inspection throughput: the event inspection alone (tests/helpers/
   insp_bench: every detector, every string leaf with its decodings) over
   realistic event shapes, in MB/s.

Environment: FNGUARD, HELPERS; BENCH_LAMBDA_N (invocations of 1 KB,
default 400; fewer for the bigger sizes).
"""
import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import bench  # noqa: E402

FNGUARD = bench.FNGUARD
HELPERS = bench.HELPERS
PY = "/usr/bin/python3"
EMULATOR = os.path.join(REPO, "tools", "lambda_emulator.py")
BOOTSTRAP = os.path.join(REPO, "tests", "lambda", "bootstrap.py")
N1K = int(os.environ.get("BENCH_LAMBDA_N", "400"))
P50_GOAL_US, MBS_GOAL = 100, 200

APP = "def handler(event, ctx):\n    return {'ok': True}\n"
POLICY = "version: 1\nevents:\n  detect: [sqli, cmdi, xss, path_traversal]\n  action: deny\n"


def event_of(size):
    """An SQS batch of JSON messages with ordinary text, about size bytes."""
    words = ("order", "shipped", "customer", "O'Brien", "rock & roll", "see ../docs",
             "total", "42.50", "EUR", "note:", "don't -- really", "a < b")
    recs, i = [], 0
    while len(json.dumps(recs)) < size:
        msg = {"id": i, "text": " ".join(words[(i + k) % len(words)] for k in range(12)),
               "items": [{"sku": f"S{i}-{k}", "qty": k} for k in range(3)]}
        recs.append({"eventSource": "aws:sqs", "messageId": f"m{i}", "body": json.dumps(msg)})
        i += 1
    return json.dumps({"Records": recs}).encode()


class Emu:
    def __init__(self, tmp, wrapped):
        with open(os.path.join(tmp, "app.py"), "w") as f:
            f.write(APP)
        pol = os.path.join(tmp, "p.yaml")
        with open(pol, "w") as f:
            f.write(POLICY)
        ready = os.path.join(tmp, "url")
        if os.path.exists(ready):
            os.unlink(ready)
        cmd = [PY, BOOTSTRAP]
        if wrapped:
            cmd = [FNGUARD, "run", "-p", pol, "--log", "/dev/null", "--"] + cmd
        env = dict(bench.ENV, RUNTIME_KEEPALIVE="1")
        self.p = subprocess.Popen([PY, EMULATOR, "--port", "0", "--ready-file", ready,
                                   "--task-root", tmp, "--"] + cmd, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 20
        while not os.path.exists(ready):
            if time.time() > end or self.p.poll() is not None:
                raise RuntimeError("emulator did not start")
            time.sleep(0.02)
        u = urllib.parse.urlsplit(open(ready).read().strip())
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.path = u.path

    def invoke(self, body):
        t = time.perf_counter_ns()
        self.conn.request("POST", self.path, body=body)
        r = self.conn.getresponse()
        out = r.read()
        dt = time.perf_counter_ns() - t
        if r.status != 200 or b'"ok"' not in out:
            raise RuntimeError(f"invoke failed: {r.status} {out[:120]!r}")
        return dt

    def close(self):
        self.p.terminate()
        self.p.wait()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def round_trips():
    print("## Invocation round trip: direct to the emulator vs through fnguard's proxy\n")
    print("Every event detector on; one keep-alive runtime connection; the same client, "
          "emulator and runtime both ways. Both set-ups run side by side and are invoked in "
          "turn, so the host's drift hits both; added = median of the pairs' differences.\n")
    print("| event | n | direct p50 µs | fnguard p50 µs | added p50 µs | direct p99 µs | "
          "fnguard p99 µs | goal |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for label, size, n in (("1 KB", 1024, N1K), ("100 KB", 100 * 1024, max(40, N1K // 4)),
                           ("1 MB", 1024 * 1024, max(12, N1K // 20))):
        body = event_of(size)
        with tempfile.TemporaryDirectory(prefix="fng-bench-lambda-") as t0, \
                tempfile.TemporaryDirectory(prefix="fng-bench-lambda-") as t1:
            emus = [Emu(t0, False), Emu(t1, True)]
            try:
                for _ in range(min(20, n)):
                    for e in emus:
                        e.invoke(body)  # warm
                res = {False: [], True: []}
                for i in range(n):
                    # Alternate which goes first: neither always follows the other.
                    order = (0, 1) if i % 2 == 0 else (1, 0)
                    for k in order:
                        res[bool(k)].append(emus[k].invoke(body) / 1000)
            finally:
                for e in emus:
                    e.close()
        d50, f50 = statistics.median(res[False]), statistics.median(res[True])
        added = statistics.median(f - d for d, f in zip(res[False], res[True]))
        goal = ""
        if size == 1024:
            goal = f"≤ {P50_GOAL_US} µs {'✓' if added <= P50_GOAL_US else '✗'}"
        print(f"| {label} | {n} | {d50:.0f} | {f50:.0f} | {added:.0f} | "
              f"{pct(res[False], 0.99):.0f} | {pct(res[True], 0.99):.0f} | {goal} |")
        sys.stdout.flush()
    print()


def shapes():
    big_text = " ".join(["The customer's order (#1234) shipped -- see notes; total 42.50"] * 1500)
    apigw = {"resource": "/orders", "httpMethod": "POST", "requestContext": {"stage": "prod"},
             "headers": {f"X-H{i}": f"value {i}" for i in range(30)},
             "queryStringParameters": {"q": "rock & roll", "page": "2"},
             "body": base64.b64encode(json.dumps(
                 {"items": [{"name": f"item {i}", "note": "it's fine -- really"}
                  for i in range(2000)]}).encode()).decode(),
             "isBase64Encoded": True}
    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(
        {"text": big_text, "tags": ["a", "b"] * 200})}}]}
    return (("SQS batch of JSON messages, 1 MB", event_of(1024 * 1024)),
            ("API Gateway, base64 JSON body", json.dumps(apigw).encode()),
            ("SNS with a JSON message of prose", json.dumps(sns).encode()))


def best_mbs(helper, path, reps, *mode):
    best = 0.0
    for _ in range(3):
        out = subprocess.run([helper, path, str(reps), *mode], capture_output=True, text=True,
                             check=True).stdout.split()
        nbytes, ns, verdict = int(out[0]), int(out[1]), int(out[2])
        if verdict != 0:
            raise RuntimeError(f"benign event flagged: {path}")
        best = max(best, nbytes / (ns / 1e9) / 1e6)
    return best


def throughput():
    helper = os.path.join(HELPERS, "insp_bench")
    print("## Event inspection throughput (tests/helpers/insp_bench, every detector)\n")
    if not os.access(helper, os.X_OK):
        print(f"Skipped: {helper} not built (make helpers)\n")
        return
    print("cJSON alone: only cJSON's parsing of the event and of every JSON document in its "
          "strings (decoded beforehand, untimed), the ceiling of any inspection built on "
          "it here. Best of 6 runs each, the two in turn.\n")
    print("| event | size | MB/s | cJSON alone MB/s | goal |\n|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="fng-bench-insp-") as tmp:
        for name, body in shapes():
            path = os.path.join(tmp, "event.json")
            with open(path, "wb") as f:
                f.write(body)
            reps = max(3, int(50e6 / len(body)))
            best = ceiling = 0.0
            for _ in range(2):
                best = max(best, best_mbs(helper, path, reps))
                ceiling = max(ceiling, best_mbs(helper, path, reps, "parse"))
            mark = "✓" if best >= MBS_GOAL else "✗"
            print(f"| {name} | {len(body) / 1024:.0f} KB | {best:.0f} | {ceiling:.0f} | "
                  f"≥ {MBS_GOAL} {mark} |")
    print()


def main():
    ncpu, kernel, cpu = bench.machine()
    print("# fnguard Lambda benchmark\n")
    print(f"- machine: {ncpu} CPUs, Linux {kernel}, {cpu}\n")
    throughput()
    round_trips()


if __name__ == "__main__":
    main()
