#!/usr/bin/python3
"""fnguard network overhead, as Markdown tables.

Every workload times its own loop (process start and exit left out) and
prints nanoseconds; bare and wrapped runs are interleaved (bare, wrapped,
bare, ...), and the "added" figure is the median over the pairs of
(wrapped - bare) / operations. Wrapped: `fnguard run -p POLICY --log
/dev/null --` with a policy whose
network.allow names the target, so every connect is really judged.

1. TCP connect + close to a 127.0.0.1 listener (tests/helpers/connect_loop,
   policy 127.0.0.1/32 with loopback: false).
   Next to it, the kernel's floor: one notification round trip with a
   bare listener that answers CONTINUE (tests/helpers/notify_floor).
2. getaddrinfo of an allowed name in a networld (tests/integration/
   networld.py): bare goes straight to the fake resolver, wrapped goes
   through fnguard's DNS stub to the same resolver.
3. python3 http.client, a new connection per request, to the networld
   HTTP server by address and by name (the by-name row resolves each time).
Every table has a row per network engine: notify (the supervisor judges
each call after a seccomp notification) and bpf (cgroup programs judge it
in the kernel; network.engine: bpf).
Tables 2 and 3 need network namespaces (root, iproute2); without them they
are skipped with a note.

Environment: FNGUARD (binary), HELPERS (compiled test helpers),
BENCH_NET_RUNS (interleaved pairs, default 7), BENCH_NET_CONNECTS (per run,
default 1000), BENCH_NET_LOOKUPS (default 200), BENCH_NET_REQUESTS
(default 1000).
"""
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "integration"))

import bench  # noqa: E402  (machine(), fnguard_info(), ENV)

FNGUARD = bench.FNGUARD
HELPERS = bench.HELPERS
RUNS = int(os.environ.get("BENCH_NET_RUNS", "7"))
CONNECTS = int(os.environ.get("BENCH_NET_CONNECTS", "1000"))
LOOKUPS = int(os.environ.get("BENCH_NET_LOOKUPS", "200"))
REQUESTS = int(os.environ.get("BENCH_NET_REQUESTS", "1000"))
CONNECT_GOAL_US, LOOKUP_GOAL_US = 30, 150
BPF_CONNECT_GOAL_US = 3
ENGINES = ("notify", "bpf")
# `ip netns exec` leaves no cgroup mount: the bpf engine needs one there.
CGROUP2_WRAP = ["/bin/sh", "-c", "grep -q ' - cgroup2 ' /proc/self/mountinfo || "
                "mount -t cgroup2 cgroup2 /sys/fs/cgroup; exec \"$@\"", "sh"]
PY = "/usr/bin/python3"

ENV = dict(bench.ENV)

HTTP_LOOP = """
import http.client, sys, time
host, n = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter_ns()
for _ in range(n):
    c = http.client.HTTPConnection(host, 80, timeout=10)
    c.request("GET", "/", headers={"Connection": "close"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"status {r.status}")
    c.close()
print(time.perf_counter_ns() - t0)
"""


class Failed(Exception):
    pass


def loop_ns(argv, timeout=120):
    """Run argv; its stdout is the loop's time in ns. Raises on failure."""
    p = subprocess.run(argv, env=ENV, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["?"])[-1][:160]
        raise Failed(f"exit {p.returncode}: {err}")
    try:
        return int(p.stdout.split()[-1])
    except (IndexError, ValueError):
        raise Failed(f"no timing in output: {p.stdout[:80]!r}") from None


def pairs(bare, wrapped, n, ops):
    """(bare µs/op median, wrapped µs/op median, median of per-pair added µs/op)."""
    loop_ns(bare)  # warm both
    loop_ns(wrapped)
    b, w = [], []
    for _ in range(n):
        b.append(loop_ns(bare) / 1000 / ops)
        w.append(loop_ns(wrapped) / 1000 / ops)
    return statistics.median(b), statistics.median(w), \
        statistics.median(y - x for x, y in zip(b, w))


def policy(tmp, name, allow, loopback=None, engine="notify"):
    path = os.path.join(tmp, f"{engine}-{name}")
    with open(path, "w") as f:
        f.write("version: 1\nnetwork:\n  allow: [" + ", ".join(f'"{a}"' for a in allow)
                + f"]\n  action: deny\n  engine: {engine}\n"
                + (f"  loopback: {'true' if loopback else 'false'}\n"
                   if loopback is not None else ""))
    fng = [FNGUARD, "run", "-p", path, "--log", "/dev/null", "--"]
    return CGROUP2_WRAP + fng if engine == "bpf" else fng


def goal(added, limit):
    if limit is None:
        return "—"
    return f"≤ {limit} µs {'✓' if added <= limit else '✗'}"


def row(name, bare, wrapped, ops, limit, extra=""):
    try:
        mb, mw, added = pairs(bare, wrapped, RUNS, ops)
    except (Failed, subprocess.TimeoutExpired) as e:
        print(f"| {name} | — | — | — | — | failed: {e} |")
        return
    print(f"| {name} | {mb:.1f} | {mw:.1f} | {added:.1f} | {mw / mb:.2f}× | "
          f"{goal(added, limit)} |{extra}")
    sys.stdout.flush()


HEAD = ("| workload | bare µs/op | fnguard µs/op | added µs/op (median of pairs) | "
        "ratio | goal |\n|---|---:|---:|---:|---:|---|")


def connects(tmp):
    print(f"## TCP connect + close, 127.0.0.1 ({CONNECTS} per run, {RUNS} interleaved pairs)\n")
    helper = os.path.join(HELPERS, "connect_loop")
    if not os.access(helper, os.X_OK):
        print(f"Skipped: {helper} not built (make helpers)\n")
        return
    print(HEAD)
    argv = [helper, "tcp", "127.0.0.1", str(CONNECTS)]
    for engine in ENGINES:
        fng = policy(tmp, "lo.yaml", ["127.0.0.1/32"], loopback=False, engine=engine)
        row(f"connect, accept, close (C), {engine}", argv, fng + argv, CONNECTS,
            BPF_CONNECT_GOAL_US if engine == "bpf" else CONNECT_GOAL_US)
    floor = notify_floor()
    if floor:
        print(f"\nFloor on this machine: one seccomp user notification answered CONTINUE "
              f"by a bare listener (tests/helpers/notify_floor, no fnguard code) costs "
              f"{floor:.1f} µs; a judged connect needs one notification, and its TCP "
              f"handshake then runs in fnguard's context (softirq) rather than the "
              f"workload's.")
    print()


def notify_floor():
    """µs per notification round trip (median of RUNS), or None."""
    helper = os.path.join(HELPERS, "notify_floor")
    if not os.access(helper, os.X_OK):
        return None
    n, got = 20000, []
    for _ in range(RUNS):
        p = subprocess.run([helper, str(n)], capture_output=True, text=True, timeout=60)
        try:
            trapped, bare = (int(x) for x in p.stdout.split())
        except ValueError:
            return None
        got.append((trapped - bare) / n / 1000)
    return statistics.median(got)


def world_tables(tmp):
    try:
        from networld import NetWorld, NetWorldUnavailable
    except ImportError as e:
        print(f"## DNS and HTTP\n\nSkipped: networld not importable ({e})\n")
        return
    try:
        w = NetWorld(log_dir=os.path.join(tmp, "networld")).start()
    except NetWorldUnavailable as e:
        print(f"## DNS and HTTP\n\nSkipped: network namespaces unavailable ({e})\n")
        return
    try:
        lookups(w, tmp)
        http(w, tmp)
    finally:
        w.close()


def lookups(w, tmp):
    print(f"## DNS lookups, stub vs direct ({LOOKUPS} getaddrinfo per run, "
          f"{RUNS} interleaved pairs)\n")
    helper = os.path.join(HELPERS, "connect_loop")
    if not os.access(helper, os.X_OK):
        print(f"Skipped: {helper} not built (make helpers)\n")
        return
    print(HEAD)
    for engine in ENGINES:
        fng = w.prefix + policy(tmp, "dns.yaml", ["api.allowed.test:80"], engine=engine)
        for name, mode in (("getaddrinfo AF_INET (A)", "dns4"),
                           ("getaddrinfo AF_UNSPEC (A + AAAA)", "dns")):
            argv = [helper, mode, "api.allowed.test", str(LOOKUPS)]
            row(f"{name}, {engine}", w.prefix + argv, fng + argv, LOOKUPS, LOOKUP_GOAL_US)
    print(f"\nBare: straight to the fake resolver {w.addr['resolver']}; fnguard: the "
          "same resolver through the stub. The fake servers are one python process, "
          "so the bare figure is mostly theirs. Notifications per lookup (glibc 2.36): "
          "AF_INET 2 (connect, recvfrom); AF_UNSPEC 9 (connect to the nameserver, "
          "sendmmsg, 2 recvfrom, the rtnetlink sendto and 2 recvmsg glibc makes to sort "
          "two answers, and 2 connects to port 0 for RFC 3484 source selection), each "
          "costing at least the floor above, plus two extra hops through the stub.\n")


def http(w, tmp):
    print(f"## python3 http.client, new connection per request ({REQUESTS} per run, "
          f"{RUNS} interleaved pairs)\n")
    print(HEAD)
    for engine in ENGINES:
        by_addr = w.prefix + policy(tmp, "http_addr.yaml", [f"{w.addr['http']}/32:80"],
                                    engine=engine)
        by_name = w.prefix + policy(tmp, "http_name.yaml", ["api.allowed.test:80"],
                                    engine=engine)
        for name, host, fng in (("GET by address", w.addr["http"], by_addr),
                                ("GET by name (getaddrinfo each time)", "api.allowed.test",
                                 by_name)):
            argv = [PY, "-I", "-c", HTTP_LOOP, host, str(REQUESTS)]
            row(f"{name}, {engine}", w.prefix + argv, fng + argv, REQUESTS, None)
    print()


def main():
    if not os.access(FNGUARD, os.X_OK):
        sys.exit(f"bench_net: {FNGUARD} is not executable (run make)")
    ncpu, kernel, cpu = bench.machine()
    version, tier = bench.fnguard_info()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print("# fnguard network benchmark\n")
    print(f"- machine: {ncpu} CPUs, Linux {kernel}, {cpu}")
    print(f"- date: {now}")
    print(f"- fnguard: {version}, tier {tier}\n")
    sys.stdout.flush()
    tmp = tempfile.mkdtemp(prefix="fng-bench-net-")
    try:
        connects(tmp)
        world_tables(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
