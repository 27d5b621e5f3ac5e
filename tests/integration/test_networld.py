"""Self-tests of networld, the network test world (no fnguard involved).

Each test builds a world (two namespaces, fake DNS/HTTP/TCP/UDP servers),
drives real clients in it (glibc via python, libuv's getaddrinfo and c-ares
via node) and checks what the fake servers logged.
"""
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import NODE, PY
from networld import (ADDR, ADDR6, NetWorld, NetWorldUnavailable, networld,  # noqa: F401
                      networld_factory)

T = 20  # seconds: bound on any one client run


def ok(p):
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}"
    return p.stdout


def no_errors(w):
    errs = w.events("loop", "error") + w.events("dns", "malformed")
    assert not errs, w.dump()


PY_GLIBC = r"""
import json, socket, urllib.request
out = {}
out["body"] = urllib.request.urlopen("http://api.allowed.test/", timeout=10).read().decode()
gai = lambda n: sorted({a[4][0] for a in socket.getaddrinfo(n, 80, socket.AF_INET,
                                                              socket.SOCK_STREAM)})
out["cname"] = gai("www.allowed.test")
out["wild"] = gai("Deep.Sub.WILD.test.")
try:
    socket.getaddrinfo("nope.test", 80)
    out["nx"] = "resolved?"
except socket.gaierror as e:
    out["nx"] = e.errno
print(json.dumps(out))
"""


def test_python_urllib_through_glibc_resolver(networld):
    out = json.loads(ok(networld.client_run([PY, "-c", PY_GLIBC], timeout=T)))
    assert out["body"].startswith("networld ok "), out
    assert out["cname"] == [ADDR["http"]]
    assert out["wild"] == [ADDR["http"]]
    assert out["nx"] == socket.EAI_NONAME

    qs = networld.dns_queries("api.allowed.test")
    assert {q["qtype"] for q in qs} >= {"A"}, networld.dump()
    assert all(q["transport"] == "udp" and q["role"] == "resolver" for q in qs)
    assert networld.dns_queries("www.allowed.test")[0]["answers"] == [
        "www.allowed.test CNAME api.allowed.test", f"api.allowed.test A {ADDR['http']}"]
    assert networld.dns_queries("deep.sub.wild.test")[0]["name"] == "Deep.Sub.WILD.test"
    assert {q["rcode"] for q in networld.dns_queries("nope.test")} == {"NXDOMAIN"}

    reqs = networld.http_requests("http")
    assert len(reqs) == 1, networld.dump()
    assert reqs[0]["line"] == "GET / HTTP/1.1" and reqs[0]["host"] == "api.allowed.test"
    conns = networld.connections("http")
    assert len(conns) == 1 and conns[0]["requests"] == reqs and conns[0]["port"] == 80
    assert conns[0]["peer"] in (ADDR["client"], ADDR6["client"])
    assert networld.connections("forbidden") == []
    no_errors(networld)


NODE_HTTP = r"""
const http = require('http');
http.get('http://api.allowed.test:8080/node', (r) => {
  let b = '';
  r.on('data', (d) => b += d);
  r.on('end', () => console.log(JSON.stringify({status: r.statusCode, body: b})));
}).on('error', (e) => { console.error(e); process.exit(1); });
"""


def test_node_http_get_resolves_in_threadpool(networld):
    out = json.loads(ok(networld.client_run([NODE, "-e", NODE_HTTP], timeout=T)))
    assert out["status"] == 200 and out["body"].startswith("networld ok "), out
    assert out["body"].strip().endswith(" /node")
    assert networld.dns_queries("api.allowed.test"), networld.dump()
    reqs = networld.http_requests("http")
    assert reqs and reqs[-1]["line"] == "GET /node HTTP/1.1", networld.dump()
    assert reqs[-1]["host"] == "api.allowed.test:8080" and reqs[-1]["port"] == 8080
    no_errors(networld)


NODE_CARES = r"""
const dns = require('dns').promises;
(async () => {
  const r = {};
  r.a = await dns.resolve4('api.allowed.test');
  r.aaaa = await dns.resolve6('api.allowed.test');
  r.cname = await dns.resolveCname('www.allowed.test');
  r.tc = await dns.resolve4('tcp.allowed.test');
  try { await dns.resolve4('nope.test'); r.nx = 'resolved?'; } catch (e) { r.nx = e.code; }
  console.log(JSON.stringify(r));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_node_dns_resolve_uses_cares_and_fake_server(networld):
    out = json.loads(ok(networld.client_run([NODE, "-e", NODE_CARES], timeout=T)))
    assert out == {"a": [ADDR["http"]], "aaaa": [ADDR6["http"]],
                   "cname": ["api.allowed.test"], "tc": [ADDR["http"]], "nx": "ENOTFOUND"}
    q = networld.dns_queries("api.allowed.test")
    assert {(x["qtype"], x["transport"]) for x in q} == {("A", "udp"), ("AAAA", "udp")}
    assert all(x["role"] == "resolver" for x in q)
    assert [x["qtype"] for x in networld.dns_queries("www.allowed.test")] == ["CNAME"]
    # c-ares falls back to TCP on TC=1 too.
    assert {(x["transport"], x["tc"]) for x in networld.dns_queries("tcp.allowed.test")} == {
        ("udp", True), ("tcp", False)}, networld.dump()
    no_errors(networld)


PY_TC = r"""
import json, socket
res = {}
for n in ("tcp.allowed.test", "big.allowed.test"):
    res[n] = sorted({a[4][0] for a in socket.getaddrinfo(n, 80, socket.AF_INET,
                                                          socket.SOCK_STREAM)})
print(json.dumps(res))
"""


def test_truncated_udp_answer_makes_glibc_retry_over_tcp(networld):
    out = json.loads(ok(networld.client_run([PY, "-c", PY_TC], timeout=T)))
    assert out["tcp.allowed.test"] == [ADDR["http"]]
    assert len(out["big.allowed.test"]) == 40  # > 512 bytes: truncated honestly
    for name in ("tcp.allowed.test", "big.allowed.test"):
        qs = networld.dns_queries(name)
        udp = [q for q in qs if q["transport"] == "udp"]
        tcp = [q for q in qs if q["transport"] == "tcp"]
        assert udp and all(q["tc"] and q["answers"] == [] for q in udp), networld.dump()
        assert tcp and not tcp[0]["tc"] and tcp[0]["answers"], networld.dump()
        assert tcp[0]["role"] == "resolver"
    no_errors(networld)


PY_UDP = r"""
import socket, struct, sys
a4, a6, other = sys.argv[1:4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"hello-v4", (a4, 9000))
s.sendto(b"\x00bin\xff", (other, 443))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.sendto(b"hello-v6", (a6, 9000))
# A DNS query straight to an arbitrary address is answered from that address.
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x03api\x07allowed\x04test\x00" \
    + struct.pack("!HH", 1, 1)
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.settimeout(5)
d.connect((other, 53))
d.send(q)
r = d.recv(2048)
print(struct.unpack("!HHHH", r[:8]), socket.inet_ntoa(r[-4:]))
"""


def test_udp_datagrams_reach_the_sink(networld):
    other = "198.51.100.77"
    out = ok(networld.client_run([PY, "-c", PY_UDP, ADDR["sink"], ADDR6["sink"], other],
                                 timeout=T))
    assert out.split() == ["(4660,", "34176,", "1,", "1)", ADDR["http"]], out
    sink = networld.connections("sink", proto="udp")
    assert sorted((c["data"], c["family"], c["port"]) for c in sink) == [
        ("hello-v4", 4, 9000), ("hello-v6", 6, 9000)], networld.dump()
    assert all(c["peer"] in (ADDR["client"], ADDR6["client"]) for c in sink)
    o = networld.connections(other)
    assert len(o) == 1 and o[0]["role"] == "other" and o[0]["port"] == 443
    assert o[0]["data"].encode("latin-1") == b"\x00bin\xff"
    assert [q["role"] for q in networld.dns_queries(to=other)] == ["other"]
    no_errors(networld)


PY_TCP = r"""
import socket, sys
http6, forbidden, other = sys.argv[1:4]
s = socket.create_connection((http6, 80), timeout=5)
assert s.family == socket.AF_INET6
s.sendall(b"GET /six HTTP/1.0\r\nHost: x\r\n\r\n")
buf = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    buf += c
print(buf.split(b"\r\n\r\n", 1)[1].decode().strip())
t = socket.create_connection((forbidden, 443), timeout=5)
t.sendall(b"secret-bytes")
t.close()
u = socket.create_connection((other, 80), timeout=5)
u.close()
# An IPv4-mapped IPv6 address is IPv4 on the wire.
m = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
m.connect(("::ffff:" + forbidden, 9000))
m.sendall(b"mapped")
m.close()
"""


def test_ipv6_connect_and_tcp_sink(networld):
    out = ok(networld.client_run([PY, "-c", PY_TCP, ADDR6["http"], ADDR["forbidden"],
                                  "198.51.100.200"], timeout=T))
    assert out.strip() == f"networld ok {ADDR6['http']} /six"
    h = networld.connections("http")
    assert len(h) == 1 and h[0]["family"] == 6 and h[0]["addr"] == ADDR6["http"]
    assert h[0]["peer"] == ADDR6["client"]
    assert h[0]["requests"][0]["line"] == "GET /six HTTP/1.0"
    f = networld.connections("forbidden")
    assert [(c["port"], c["server"], c["family"], c["data"], c["closed"]) for c in f] == [
        (443, "tcp", 4, "secret-bytes", True), (9000, "tcp", 4, "mapped", True)], networld.dump()
    o = networld.connections("other")
    assert [(c["addr"], c["port"], c["requests"]) for c in o] == [("198.51.100.200", 80, [])]
    no_errors(networld)


def test_custom_records_and_worlds_are_isolated(networld_factory):
    w1 = networld_factory(records={"only.custom.test": ["192.0.2.80", "fd00:80::80"],
                                   "alias.custom.test": {"ttl": 7, "data": ["only.custom.test"]}},
                          tc_names=["alias.custom.test"])
    w2 = networld_factory()
    assert w1.client != w2.client and w1.net != w2.net
    script = r"""
import socket, urllib.request
print(urllib.request.urlopen("http://alias.custom.test/w1", timeout=10).read().decode().strip())
try:
    socket.getaddrinfo("api.allowed.test", 80)
    print("resolved?")
except socket.gaierror:
    print("nx")
"""
    out = ok(w1.client_run([PY, "-c", script], timeout=T)).split("\n")
    assert out[0].startswith("networld ok ") and out[0].endswith(" /w1") and out[1] == "nx"
    tcp = [q for q in w1.dns_queries("alias.custom.test") if q["transport"] == "tcp"]
    assert tcp and tcp[0]["answers"][0] == "alias.custom.test CNAME only.custom.test"
    assert w1.records["alias.custom.test"]["ttl"] == 7
    assert len(w1.http_requests()) == 1
    # Nothing of w1's traffic shows up in w2.
    assert w2.events() == []
    no_errors(w1)


def test_teardown_leaves_nothing_behind(tmp_path):
    def names():
        return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                              timeout=10).stdout

    w = NetWorld(log_dir=tmp_path / "w")
    with pytest.raises(RuntimeError, match="test failure"):
        try:
            with w:
                assert w.client in names() and w.net in names()
                assert Path(f"/etc/netns/{w.client}/resolv.conf").read_text().startswith(
                    "# networld")
                bg = w.client_popen([PY, "-c", "import time; time.sleep(60)"])
                raise RuntimeError("test failure")
        except NetWorldUnavailable as e:
            pytest.skip(f"networld unavailable: {e}")
    left = names()
    assert w.client not in left and w.net not in left, left
    assert not os.path.exists(f"/etc/netns/{w.client}")
    assert w.proc.poll() is not None
    assert bg.wait(5) is not None  # the world's own processes are killed
    assert not w._tmp.exists()
    assert (tmp_path / "w" / "servers.jsonl").exists()  # kept for post-mortem
    w.close()  # idempotent
