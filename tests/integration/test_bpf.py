"""The bpf network engine itself (network.engine: bpf|auto): how it is
chosen and reported, how it falls back, its cgroup's life, the map of
addresses learned through DNS and its expiry. (Verdicts and log lines are
the network suites' job: they run with the bpf engine too, see NET_MODES.)"""
import json
import os
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (CGROUP2_WRAP, EXIT_FNGUARD_FAILED, FNGUARD, PY, base_env, helper,
                      parse_log_file)
from networld import ADDR, networld, networld_factory  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("kernel_tier")

CONNECT = """
import socket, sys
for a in sys.argv[2:]:
    try:
        socket.create_connection((a, int(sys.argv[1])), timeout=5).close(); print(a, "ok")
    except OSError as e:
        print(a, "err", e.errno)
"""


@pytest.fixture
def bpf_here(probe):
    if probe.get("network_engine") != "bpf":
        pytest.skip(f"the bpf engine cannot load here (probe: {probe})")
    return probe


def workload_can_leave(mount):
    """A root workload can write its pid into another cgroup unless the
    hierarchy is mounted with nsdelegate (then its cgroup namespace holds)."""
    for line in open("/proc/self/mountinfo"):
        if line.split()[4] == mount and " - cgroup2 " in line:
            return os.geteuid() == 0 and "nsdelegate" not in line.split(" - ")[1]
    return os.geteuid() == 0


def net_policy(engine, port=9, allow="127.0.0.1", action="deny", extra=""):
    return (f"version: 1\nnetwork:\n  allow: [\"{allow}/32:{port}\"]\n  loopback: false\n"
            f"  engine: {engine}\n  action: {action}\n" + extra)


def start_of(res):
    return next(e for e in res.events if e["event"] == "start")


def test_probe_names_the_engine_auto_picks(probe):
    want = "bpf" if probe["cgroup2"] and probe["bpf"] else "notify"
    assert probe["network_engine"] == want, probe
    p = subprocess.run([FNGUARD, "probe"], capture_output=True, text=True, env=base_env())
    assert f"network engine (auto) {want}" in p.stdout, p.stdout


def test_start_event_names_the_engine(run_fnguard, bpf_here):
    leave = workload_can_leave(bpf_here["cgroup2_mount"])
    for engine, want in (("auto", "notify" if leave else "bpf"), ("bpf", "bpf"),
                         ("notify", "notify")):
        res = run_fnguard(net_policy(engine), ["/bin/true"])
        assert res.returncode == 0, res.dump()
        start = start_of(res)
        assert start["network_engine"] == want, res.dump()
        assert ("network_engine_reason" in start) == (engine == "auto" and leave), res.dump()
        assert ("cgroup" in start) == (want == "bpf"), res.dump()
    res = run_fnguard("version: 1\n", ["/bin/true"])
    assert "network_engine" not in start_of(res), res.dump()


def test_verifier_rejection_is_a_clear_error(run_fnguard, tmp_path, bpf_here):
    marker = tmp_path / "ran"
    env = base_env(FNGUARD_TEST_BPF_REJECT="1")
    res = run_fnguard(net_policy("bpf"), ["/usr/bin/touch", marker], env=env)
    assert res.returncode == EXIT_FNGUARD_FAILED, res.dump()
    assert not marker.exists(), res.dump()
    assert "network.engine is bpf, but the bpf engine cannot run" in res.stderr, res.dump()
    # The verifier's own words: the refused instruction and its reason.
    assert "invalid mem access" in res.stderr, res.dump()
    assert "Hint:" in res.stderr, res.dump()
    # auto: the same rejection steps down to notify, says so, and enforces.
    # (Where a root workload could leave its cgroup, auto does not even
    # load the programs: that is its reason then.)
    server_port = 9
    res = run_fnguard(net_policy("auto", port=server_port),
                      [PY, "-c", CONNECT, str(server_port), "127.0.0.2"], env=env)
    assert res.returncode == 0, res.dump()
    start = start_of(res)
    assert start["network_engine"] == "notify", res.dump()
    why = ("nsdelegate" if workload_can_leave(bpf_here["cgroup2_mount"])
           else "invalid mem access")
    assert why in start["network_engine_reason"], res.dump()
    assert "127.0.0.2 err 1" in res.stdout, res.dump()
    deny = [e for e in res.events if e["event"] == "connect"]
    assert [(e["action"], e["addr"]) for e in deny] == [("deny", "127.0.0.2")], res.dump()


def test_auto_falls_back_without_bpf(run_fnguard, bpf_here):
    """bpf() refused (a container without CAP_BPF): auto runs notify and
    says why; engine bpf is a clear error."""
    run_fnguard.wrap = (helper("refuse"), "bpf")
    res = run_fnguard(net_policy("auto"), [PY, "-c", CONNECT, "9", "127.0.0.2"])
    assert res.returncode == 0, res.dump()
    start = start_of(res)
    assert start["network_engine"] == "notify", res.dump()
    assert "CAP_BPF" in start["network_engine_reason"], res.dump()
    assert "127.0.0.2 err 1" in res.stdout, res.dump()
    res = run_fnguard(net_policy("bpf"), ["/bin/true"])
    assert res.returncode == EXIT_FNGUARD_FAILED, res.dump()
    assert "CAP_BPF" in res.stderr, res.dump()


def wait_for(fn, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def test_cgroup_removed_after_run_and_after_sigkill(run_fnguard, tmp_path, bpf_here):
    mount = Path(bpf_here["cgroup2_mount"])
    log = tmp_path / "sigkill.jsonl"
    pol = run_fnguard.policy(net_policy("bpf"))
    p = subprocess.Popen([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--",
                          "/bin/sleep", "60"], env=base_env(), stdin=subprocess.DEVNULL)
    try:
        start = wait_for(lambda: [e for e in parse_log_file(log) if e["event"] == "start"]
                         if log.exists() else None)
        assert start, "no start event"
        cg = Path(start[0]["cgroup"])
        assert cg.parent == mount / os.path.relpath(cg.parent, mount)
        assert cg.name == f"fnguard-{p.pid}", start
        # The workload is inside before it runs anything.
        procs = wait_for(lambda: (cg / "cgroup.procs").read_text().split())
        assert str(start[0]["pid"]) in procs, procs
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        # Its workload dies with it (PDEATHSIG); the directory stays.
        assert wait_for(lambda: not (cg / "cgroup.procs").read_text().split()), cg
        assert cg.is_dir()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # The next run cleans it, and removes its own.
    res = run_fnguard(net_policy("bpf"), ["/bin/true"])
    assert res.returncode == 0, res.dump()
    assert not cg.exists(), f"stale cgroup {cg} left behind"
    assert not Path(start_of(res)["cgroup"]).exists(), res.dump()


def test_workload_joins_its_cgroup_without_clone3(run_fnguard, bpf_here):
    """Where clone3 is refused (kernels before 5.7, docker's profile) the
    child waits until fnguard has moved it into the cgroup."""
    run_fnguard.wrap = (helper("refuse"), "clone3")
    res = run_fnguard(net_policy("bpf", port=9), [PY, "-c", CONNECT, "9", "127.0.0.2"])
    assert res.returncode == 0, res.dump()
    assert start_of(res)["network_engine"] == "bpf", res.dump()
    # The filter does not trap connect under bpf: only the cgroup's
    # programs can have refused this.
    assert "127.0.0.2 err 1" in res.stdout, res.dump()
    deny = [e for e in res.events if e["event"] == "connect"]
    assert [(e["action"], e["addr"]) for e in deny] == [("deny", "127.0.0.2")], res.dump()


LEAVE = """
import errno, os, socket, sys
root = sys.argv[1]
print("cgroup", open("/proc/self/cgroup").read().strip().splitlines()[-1])
try:
    with open(os.path.join(root, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    print("moved")
except OSError as e:
    print("move err", e.errno)
try:
    socket.create_connection(("127.0.0.2", 9), timeout=5); print("connect ok")
except OSError as e:
    print("connect err", e.errno)
"""


def test_a_workload_that_leaves_its_cgroup(run_fnguard, bpf_here):
    """A root workload that writes its pid into the root cgroup leaves the
    programs' reach. With nsdelegate its cgroup namespace forbids that;
    without, engine bpf says so in the start event's limits, and auto
    picks notify, which judges the connect wherever the workload is."""
    mount = bpf_here["cgroup2_mount"]
    leave = workload_can_leave(mount)
    res = run_fnguard(net_policy("bpf"), [PY, "-c", LEAVE, mount])
    assert res.returncode == 0, res.dump()
    assert "cgroup 0::/" in res.stdout, res.dump()  # its own namespace's root
    limits = start_of(res)["limits"]
    said = any("move itself out of its cgroup" in x for x in limits)
    assert said == leave, res.dump()
    if not leave:
        assert "move err" in res.stdout and "connect err 1" in res.stdout, res.dump()
        return
    assert "moved" in res.stdout, res.dump()  # the limit is real, hence reported
    res = run_fnguard(net_policy("auto"), [PY, "-c", LEAVE, mount])
    start = start_of(res)
    assert start["network_engine"] == "notify", res.dump()
    assert "nsdelegate" in start["network_engine_reason"], res.dump()
    assert "connect err 1" in res.stdout, res.dump()


ICMP = """
import socket
for fam in (socket.AF_INET, socket.AF_INET6):
    proto = socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6
    try:
        socket.socket(fam, socket.SOCK_DGRAM, proto); print("icmp ok")
    except OSError as e:
        print("icmp err", e.errno)
"""


def test_protocols_the_hooks_do_not_see_are_refused(run_fnguard, bpf_here):
    """ping sockets (and SCTP) send to addresses the cgroup hooks never
    judge: refused and logged under the bpf engine."""
    res = run_fnguard(net_policy("bpf"), [PY, "-c", ICMP])
    assert res.stdout.split("\n")[:2] == ["icmp err 97", "icmp err 97"], res.dump()
    refused = [e for e in res.events if e["event"] == "syscall"]
    assert len(refused) == 2 and all(e["syscall"] == "socket" for e in refused), res.dump()
    assert "bpf engine" in refused[0]["reason"], res.dump()


V6DNS = """
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try:
    s.sendto(b"\\0" * 12, ("::1", 53)); print("sendto ok")
except OSError as e:
    print("sendto err", e.errno)
s.connect(("::1", 53))
print("connected send", s.send(b"\\0" * 12))
"""


def test_unconnected_ipv6_dns_is_refused_connected_goes_to_the_stub(run_fnguard, bpf_here):
    """The kernel refuses a v4-mapped rewrite in sendmsg6, so an unconnected
    IPv6 datagram to port 53 cannot reach the stub: refused and logged.
    connect() can be redirected (glibc and c-ares connect)."""
    res = run_fnguard(net_policy("bpf", extra="log:\n  allowed: true\n"), [PY, "-c", V6DNS])
    assert res.returncode == 0, res.dump()
    assert "sendto err 1" in res.stdout and "connected send 12" in res.stdout, res.dump()
    sends = [e for e in res.events if e["event"] == "send"]
    assert len(sends) == 1 and sends[0]["action"] == "deny", res.dump()
    assert sends[0]["addr"] == "::1" and sends[0]["port"] == 53, res.dump()
    assert "IPv6" in sends[0]["reason"], res.dump()


# ---- the map of addresses learned through DNS ----------------------------------

LEARN = """
import os, socket, sys, time
a = socket.getaddrinfo("api.allowed.test", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
def go():
    try:
        socket.create_connection((a, 80), timeout=5).close(); print("ok", flush=True)
    except OSError as e:
        print("err", e.errno, flush=True)
go()
print("ready", a, flush=True)
for _ in range(400):
    if os.path.exists(sys.argv[1]):
        break
    time.sleep(0.05)
go()
"""


def bpftool(*args):
    p = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def learned_map(cgroup):
    progs = bpftool("cgroup", "show", cgroup)
    c4 = next(p for p in progs if p["name"] == "fng_connect4")
    for mid in bpftool("prog", "show", "id", str(c4["id"]))["map_ids"]:
        if bpftool("map", "show", "id", str(mid))["name"] == "learned":
            return mid
    raise AssertionError("no map named learned")


def mono_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def test_dns_answer_fills_the_map_and_expiry_is_enforced(tmp_path, networld_factory, bpf_here):
    w = networld_factory(ttl=7)
    flag = tmp_path / "go"
    log = tmp_path / "learn.jsonl"
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nnetwork:\n  allow: [\"api.allowed.test:80\"]\n"
                   "  engine: bpf\n  action: deny\n")
    argv = list(w.prefix) + list(CGROUP2_WRAP) + [
        FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, "-c", LEARN, str(flag)]
    p = subprocess.Popen(argv, env=base_env(), stdout=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    try:
        assert p.stdout.readline().strip() == "ok"
        ready = p.stdout.readline().split()
        assert ready[:2] == ["ready", ADDR["http"]], ready
        start = next(e for e in parse_log_file(log) if e["event"] == "start")
        # The run's cgroup as this (host) mount namespace sees it.
        cg = os.path.join(bpf_here["cgroup2_mount"], os.path.basename(start["cgroup"]))
        mid = learned_map(cg)
        key = ["0x00"] * 10 + ["0xff", "0xff"] + [hex(int(b)) for b in ADDR["http"].split(".")]
        entry = bpftool("map", "lookup", "id", str(mid), "key", *key)
        v = entry["formatted"]["value"]
        assert v["n"] == 1 and v["port"][0] == 80 and v["rule"][0] == 0, entry
        left = (v["expires_ns"][0] - mono_ns()) / 1e9
        assert 7 + 30 - 5 < left <= 7 + 30, (left, entry)  # TTL + the stub's grace
        # Expire it in the map: the kernel alone must now refuse the address.
        raw = bytes(int(b, 16) for b in entry["value"])
        off = len(raw) - 8 * 8  # expires_ns[8] ends the value
        raw = raw[:off] + struct.pack("<Q", 1) + raw[off + 8:]
        subprocess.run(["bpftool", "map", "update", "id", str(mid), "key", *key, "value",
                        *[hex(b) for b in raw]], check=True, capture_output=True)
        flag.write_text("go")
        assert p.stdout.readline().strip() == "err 1"
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0
    ev = [e for e in parse_log_file(log) if e["event"] == "connect"]
    assert len(ev) == 1, ev
    # Refused by the kernel, attributed to the name by the supervisor.
    assert ev[0]["action"] == "deny" and ev[0]["addr"] == ADDR["http"], ev
    assert ev[0]["domain"] == "api.allowed.test", ev


def test_a_flood_of_refused_connects_loses_no_verdict(run_fnguard, bpf_here):
    """Refused calls faster than fnguard can write their lines fill the
    ring buffer: every refusal is still either its own `connect` line or
    counted in one line that says how many were not logged one by one."""
    n = 50000
    res = run_fnguard(net_policy("bpf"),
                      [helper("connect_loop"), "refused", "203.0.113.9", str(n)], timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == str(n), res.dump()
    denied = [e for e in res.events if e["event"] == "connect" and e["action"] == "deny"]
    one_by_one = sum(1 for e in denied if "count" not in e)
    counted = sum(e["count"] for e in denied if "count" in e)
    assert one_by_one + counted == n, (one_by_one, counted)
    assert all("event buffer was full" in e["reason"] for e in denied if "count" in e)
