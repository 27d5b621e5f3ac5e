"""networld: a private, throw-away network for network tests.

Nothing here leaves the machine: a test's traffic goes only to fake servers in
a neighbouring network namespace.

Layout (one world per test, names unique per process/counter/random):

    client netns "nw-PID-N-XXXX-c"          net netns "nw-PID-N-XXXX-n"
    veth0 10.99.0.2/24, fd00:99::2/64  <->  veth0 10.99.0.1/24, fd00:99::1/64
    default routes via the net side         role addresses on lo (below), plus
    lo up                                   `local 0.0.0.0/0` and `local ::/0`
                                            in the main table: EVERY address
                                            is local there, so a connect to
                                            any destination reaches the fake
                                            servers (role "other")

    role       IPv4 (addr)      IPv6 (addr6)
    resolver   192.0.2.53       fd00:53::53    DNS, UDP+TCP 53 (the client's resolv.conf)
    http       192.0.2.80       fd00:80::80    the allowed HTTP server
    forbidden  203.0.113.7      fd00:bad::7    a server no policy should reach
    sink       198.51.100.9     fd00:9::9      TCP and UDP sinks

The servers (tests/networld/serve.py, one single-threaded process run with
`ip netns exec NET`) listen on wildcard addresses, so every role address
(and any other address) answers on every port below; the logged "addr" (where
the client sent to) says which role was reached:
    DNS  UDP+TCP 53          HTTP  TCP 80, 8080
    TCP sink  443, 9000      UDP sink  443, 9000
A TCP connect to another port is refused (RST), a UDP datagram to another
port is dropped (ICMP port unreachable). DNS answers on any address too, from
the address it was asked (so a query sent straight to 198.51.100.77:53 is
logged with addr 198.51.100.77, role "other"). TCP listeners accept TCP fast
open. addr/addr6 also hold "client" and "gateway" (the two veth ends); MACs
and neighbour entries are static (no ARP/ND: see MAC below).

DEFAULT_RECORDS (all under .test, TTL 60):
    api.allowed.test   A http, AAAA http     www.allowed.test   CNAME api.allowed.test
    v4.allowed.test    A http                v6.allowed.test    AAAA http
    tcp.allowed.test   A/AAAA http, TC=1 over UDP (forced: clients retry over TCP)
    big.allowed.test   40 A records 192.0.2.100-139 (too long for UDP: TC=1)
    sink.allowed.test  A/AAAA sink           evil.test          A/AAAA forbidden
    www.evil.test      CNAME evil.test       *.wild.test        A http
Anything else: NXDOMAIN (and logged).

The client's /etc/resolv.conf is /etc/netns/CLIENT/resolv.conf (bind-mounted
by `ip netns exec` in a private mount namespace): "nameserver 192.0.2.53",
"options timeout:2 attempts:2" by default.

Use:
    from networld import networld, networld_factory  # noqa: F401 (fixtures)

    def test_x(networld):
        p = networld.client_run([PY, "-c", "..."])        # CompletedProcess (text)
        networld.prefix          # ["ip", "netns", "exec", CLIENT]: wrap fnguard with it
                                 # (prefix + [FNGUARD, "run", ...]; the workload, the
                                 # stub's upstream and the resolv.conf are all in there)
        networld.addr["http"], networld.addr6["http"], networld.records
        networld.dns_queries()   # [{"name", "qtype", "transport", "addr", "tc", ...}]
        networld.connections("forbidden")                   # TCP connects + UDP datagrams
        networld.http_requests("http")

    def test_y(networld_factory):
        w = networld_factory(extra_records={"x.allowed.test": ["192.0.2.80"]},
                             tc_names=["x.allowed.test"], ttl=2)

NetWorld(...) is also a context manager for use outside pytest (benchmarks);
it raises NetWorldUnavailable where the fixtures skip (not root, no `ip`,
`ip netns add` refused).

Constructor keywords:
    records        name -> list of addresses/CNAME targets, or {"ttl", "data"}
                   (replaces DEFAULT_RECORDS; see tests/networld/fakedns.py)
    extra_records  merged over the records
    tc_names       names whose UDP answers have TC=1 (default: tcp.allowed.test)
    ttl            default TTL of the answers (60)
    http_ports, tcp_ports, udp_ports    listener ports (see above)
    nameservers    resolv.conf nameservers (default [resolver IPv4])
    resolv_options resolv.conf "options" line ("timeout:2 attempts:2")
    log_dir        where config, log and server stderr go (kept for post-mortem)

Reading what happened: every reader first syncs with the servers (a control
socket request that makes the single-threaded servers handle every pending
packet and connection before answering), so right after the client exits the
log holds everything the client sent; pass sync=False to skip that.
    events(server=None, event=None)  raw log lines (dicts)
    dns_queries(name=None, to=None)  DNS queries; name: case-insensitive,
                                     trailing dot ignored; to: role or address
    dns_names()                      queried names, lower-case
    connections(role=None, proto=None, port=None)
        merged per connection: {"proto": "tcp"|"udp", "server": "http"|"tcp"|
        "udp", "role", "conn", "peer", "peer_port", "addr", "port", "family",
        "data" (latin-1 text: bytes received), "requests" (HTTP), "closed"}
        role: a role name, "other", an address, or None for all
    http_requests(role=None)         HTTP request lines: {"line", "method",
                                     "path", "host", "headers", "body", ...}
    wait_for(fn, timeout=5)          poll fn() until truthy (bounded), return it
    role_of(address)                 "http", ..., or "other"
    dump()                           log + server stderr, for assertion messages
Running things in the client: client_run(argv, env=None, timeout=30,
input=None, cwd=None) -> CompletedProcess; client_popen(argv, **popen_kw);
client_cmd(argv) -> prefix + argv. env defaults to conftest.base_env().
"""
import glob
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

try:
    from conftest import PY, base_env
except ImportError:  # used outside the integration suite
    PY = "/usr/bin/python3"

    def base_env(**extra):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
               "LANG": "C.UTF-8"}
        env.update({k: v for k, v in extra.items() if v is not None})
        return env

SERVERS = Path(__file__).resolve().parents[1] / "networld" / "serve.py"

ADDR = {"client": "10.99.0.2", "gateway": "10.99.0.1", "resolver": "192.0.2.53",
        "http": "192.0.2.80", "forbidden": "203.0.113.7", "sink": "198.51.100.9"}
ADDR6 = {"client": "fd00:99::2", "gateway": "fd00:99::1", "resolver": "fd00:53::53",
         "http": "fd00:80::80", "forbidden": "fd00:bad::7", "sink": "fd00:9::9"}
# Fixed MACs and permanent neighbour entries: no ARP/ND at all. (On this
# kernel the first IPv6 neighbour discovery on a fresh veth costs ~1 s.)
MAC = {"client": "02:6e:77:00:00:02", "gateway": "02:6e:77:00:00:01"}
ROLES = ("resolver", "http", "forbidden", "sink")

DEFAULT_RECORDS = {
    "api.allowed.test": [ADDR["http"], ADDR6["http"]],
    "www.allowed.test": ["api.allowed.test"],            # CNAME
    "v4.allowed.test": [ADDR["http"]],
    "v6.allowed.test": [ADDR6["http"]],
    "tcp.allowed.test": [ADDR["http"], ADDR6["http"]],   # forced TC=1 over UDP
    # 40 A records: > 512 bytes, so a plain UDP answer is truncated (TC=1).
    # They are "other" addresses: the catch-all route still reaches the servers.
    "big.allowed.test": [f"192.0.2.{100 + i}" for i in range(40)],
    "sink.allowed.test": [ADDR["sink"], ADDR6["sink"]],
    "evil.test": [ADDR["forbidden"], ADDR6["forbidden"]],
    "www.evil.test": ["evil.test"],
    "*.wild.test": [ADDR["http"]],
}
DEFAULT_TC_NAMES = ("tcp.allowed.test",)
HTTP_PORTS = (80, 8080)
TCP_PORTS = (443, 9000)
UDP_PORTS = (443, 9000)

READY_TIMEOUT = 10
IP_TIMEOUT = 15
NAME_RE = re.compile(r"^nw-(\d+)-\d+-[0-9a-f]{4}-[cn]$")

_counter = 0
_swept = False


class NetWorldUnavailable(Exception):
    """This machine cannot build a world (not root, no ip, no netns)."""


def _ip(args, input=None, check=True):
    p = subprocess.run(["ip"] + list(args), input=input, capture_output=True, text=True,
                       timeout=IP_TIMEOUT, stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({p.returncode}): "
                           f"{p.stderr.strip()}\n{input or ''}")
    return p


def _netns_pids(name):
    p = _ip(["netns", "pids", name], check=False)
    return [int(x) for x in p.stdout.split() if x.isdigit()] if p.returncode == 0 else []


def _kill_netns(name):
    """Kill what still runs in a namespace of ours, delete it and its /etc/netns."""
    for _ in range(3):
        pids = _netns_pids(name)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    _ip(["netns", "del", name], check=False)
    shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
    try:
        os.rmdir("/etc/netns")  # only when empty: other users' entries stay
    except OSError:
        pass


def _sweep_stale():
    """Remove worlds left by test processes that died before their teardown."""
    global _swept
    if _swept:
        return
    _swept = True
    p = _ip(["netns", "list"], check=False)
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = NAME_RE.match(name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # its test process still runs: not ours to touch
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        _kill_netns(name)
        for d in glob.glob(os.path.join(tempfile.gettempdir(), name[:-2] + ".*")):
            shutil.rmtree(d, ignore_errors=True)


def _canon(name):
    return name.rstrip(".").lower()


def _norm(ip):
    a = ipaddress.ip_address(ip.split("%", 1)[0])
    if a.version == 6 and a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)
    return str(a)


class NetWorld:
    def __init__(self, records=None, extra_records=None, tc_names=None, ttl=60,
                 http_ports=HTTP_PORTS, tcp_ports=TCP_PORTS, udp_ports=UDP_PORTS,
                 nameservers=None, resolv_options="timeout:2 attempts:2", log_dir=None):
        self.records = dict(DEFAULT_RECORDS if records is None else records)
        self.records.update(extra_records or {})
        self.tc_names = list(DEFAULT_TC_NAMES if tc_names is None else tc_names)
        self.ttl = ttl
        self.ports = {"http": list(http_ports), "tcp": list(tcp_ports), "udp": list(udp_ports)}
        self.nameservers = list(nameservers or [ADDR["resolver"]])
        self.resolv_options = resolv_options
        self.addr = dict(ADDR)
        self.addr6 = dict(ADDR6)
        self._roles = {}
        for role in ROLES:
            self._roles[_norm(ADDR[role])] = role
            self._roles[_norm(ADDR6[role])] = role
        global _counter
        _counter += 1
        base = f"nw-{os.getpid()}-{_counter}-{secrets.token_hex(2)}"
        self.client, self.net = base + "-c", base + "-n"
        self.prefix = ["ip", "netns", "exec", self.client]
        self.net_prefix = ["ip", "netns", "exec", self.net]
        # Short (it holds a unix socket) and named after the world, so that
        # _sweep_stale can find it.
        self._tmp = Path(tempfile.mkdtemp(prefix=base + "."))
        self.dir = Path(log_dir) if log_dir else self._tmp
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "servers.jsonl"
        self.stderr_path = self.dir / "servers.stderr"
        self.control = str(self._tmp / "ctl")
        self.ready_path = self._tmp / "ready"
        self.resolv_conf = Path(f"/etc/netns/{self.client}/resolv.conf")
        self.proc = None
        self._created = []
        self._closed = False

    # ---- life cycle -------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def start(self):
        if os.geteuid() != 0:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise NetWorldUnavailable("network namespaces need root")
        if shutil.which("ip") is None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise NetWorldUnavailable("`ip` (iproute2) not found")
        _sweep_stale()
        p = _ip(["netns", "add", self.client], check=False)
        if p.returncode != 0:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise NetWorldUnavailable(f"`ip netns add` failed: {p.stderr.strip()}")
        self._created.append(self.client)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self):
        _ip(["netns", "add", self.net])
        self._created.append(self.net)
        # Created inside the namespaces: the root namespace never sees them.
        _ip(["-n", self.client, "link", "add", "veth0", "type", "veth",
             "peer", "name", "veth0", "netns", self.net])
        _ip(["-n", self.client, "-batch", "-"], input="\n".join([
            "link set lo up",
            f"link set veth0 address {MAC['client']}",
            f"addr add {ADDR['client']}/24 dev veth0",
            f"addr add {ADDR6['client']}/64 dev veth0 nodad",
            "link set veth0 up",
            f"neigh replace {ADDR['gateway']} lladdr {MAC['gateway']} dev veth0 nud permanent",
            f"neigh replace {ADDR6['gateway']} lladdr {MAC['gateway']} dev veth0 nud permanent",
            f"route add default via {ADDR['gateway']} dev veth0",
            f"route add default via {ADDR6['gateway']} dev veth0",
        ]) + "\n")
        lines = ["link set lo up",
                 f"link set veth0 address {MAC['gateway']}",
                 f"addr add {ADDR['gateway']}/24 dev veth0",
                 f"addr add {ADDR6['gateway']}/64 dev veth0 nodad",
                 "link set veth0 up",
                 f"neigh replace {ADDR['client']} lladdr {MAC['client']} dev veth0 nud permanent",
                 f"neigh replace {ADDR6['client']} lladdr {MAC['client']} dev veth0 nud permanent"]
        for role in ROLES:
            lines.append(f"addr add {ADDR[role]}/32 dev lo")
            lines.append(f"addr add {ADDR6[role]}/128 dev lo nodad")
        # Any address is local in the net namespace (after the connected
        # routes back to the client, which are more specific).
        lines.append("route add local 0.0.0.0/0 dev lo table main")
        lines.append("route add local ::/0 dev lo table main")
        _ip(["-n", self.net, "-batch", "-"], input="\n".join(lines) + "\n")

        text = f"# networld {self.client}\n"
        text += "".join(f"nameserver {ns}\n" for ns in self.nameservers)
        if self.resolv_options:
            text += f"options {self.resolv_options}\n"
        for attempt in range(5):  # another world may rmdir an empty /etc/netns
            try:
                self.resolv_conf.parent.mkdir(parents=True, exist_ok=True)
                self.resolv_conf.write_text(text)
                break
            except FileNotFoundError:
                if attempt == 4:
                    raise

        cfg = {"log": str(self.log_path), "control": self.control,
               "ready": str(self.ready_path),
               "dns": {"records": self.records, "tc_names": self.tc_names, "ttl": self.ttl},
               "http": {"ports": self.ports["http"]},
               "tcp": {"ports": self.ports["tcp"]},
               "udp": {"ports": self.ports["udp"]}}
        cfg_path = self.dir / "servers.json"
        cfg_path.write_text(json.dumps(cfg, indent=1))
        self.log_path.write_text("")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.net_prefix + [PY, str(SERVERS), str(cfg_path)],
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.ready_path.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"networld servers exited {self.proc.returncode}:\n"
                                   + self._stderr())
            if time.monotonic() > deadline:
                raise RuntimeError(f"networld servers not ready in {READY_TIMEOUT}s:\n"
                                   + self._stderr())
            time.sleep(0.005)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                try:
                    self.proc.wait(3)
                except subprocess.TimeoutExpired:
                    pass
        shutil.rmtree(f"/etc/netns/{self.client}", ignore_errors=True)
        for name in reversed(self._created):
            _kill_netns(name)
        shutil.rmtree(self._tmp, ignore_errors=True)

    # ---- running things in the client -------------------------------------

    def client_cmd(self, argv):
        return self.prefix + [str(a) for a in argv]

    def client_run(self, argv, env=None, timeout=30, input=None, cwd=None):
        return subprocess.run(self.client_cmd(argv), capture_output=True, text=True,
                              env=env if env is not None else base_env(), timeout=timeout,
                              input=input, cwd=cwd,
                              stdin=subprocess.DEVNULL if input is None else None)

    def client_popen(self, argv, env=None, **kw):
        return subprocess.Popen(self.client_cmd(argv),
                                env=env if env is not None else base_env(), **kw)

    # ---- what happened -----------------------------------------------------

    def sync(self, timeout=5):
        """Make the servers handle everything pending, then return."""
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError("networld servers are not running:\n" + self._stderr())
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.control)
            s.sendall(b"sync\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(64)
                if not chunk:
                    break
                buf += chunk
        if buf != b"ok\n":
            raise AssertionError(f"networld sync answered {buf!r}:\n" + self._stderr())

    def events(self, server=None, event=None, sync=True):
        if sync:
            self.sync()
        out = []
        # A line without its newline is still being written (sync=False).
        for line in self.log_path.read_text().split("\n")[:-1]:
            if not line.strip():
                continue
            ev = json.loads(line)
            if server is not None and ev.get("server") != server:
                continue
            if event is not None and ev.get("event") != event:
                continue
            out.append(ev)
        return out

    def role_of(self, ip):
        try:
            return self._roles.get(_norm(ip), "other")
        except ValueError:
            return "other"

    def _match_role(self, ev, role):
        if role is None:
            return True
        if role in ROLES or role == "other":
            return self.role_of(ev.get("addr") or "") == role
        return ev.get("addr") == _norm(role)

    def dns_queries(self, name=None, to=None, sync=True):
        out = []
        for ev in self.events("dns", "query", sync=sync):
            if name is not None and _canon(ev["name"]) != _canon(name):
                continue
            if not self._match_role(ev, to):
                continue
            ev["role"] = self.role_of(ev.get("addr") or "")
            out.append(ev)
        return out

    def dns_names(self, sync=True):
        return [_canon(q["name"]) for q in self.dns_queries(sync=sync)]

    def connections(self, role=None, proto=None, port=None, sync=True):
        conns, order = {}, []
        for ev in self.events(sync=sync):
            srv, kind = ev.get("server"), ev.get("event")
            if srv == "udp" and kind == "datagram":
                c = dict(ev, proto="udp", closed=True)
                order.append(c)
                continue
            if srv not in ("http", "tcp"):
                continue
            key = (srv, ev.get("conn"))
            if kind == "connect":
                c = {k: ev[k] for k in ("server", "conn", "peer", "peer_port", "addr", "port",
                                        "family", "ts")}
                c.update(proto="tcp", data="", requests=[], closed=False)
                conns[key] = c
                order.append(c)
            elif key in conns:
                c = conns[key]
                if kind == "data":
                    c["data"] += ev["data"]
                elif kind == "request":
                    c["requests"].append(ev)
                elif kind == "close":
                    c["closed"] = True
        out = []
        for c in order:
            c["role"] = self.role_of(c.get("addr") or "")
            if proto is not None and c["proto"] != proto:
                continue
            if port is not None and c["port"] != port:
                continue
            if not self._match_role(c, role):
                continue
            out.append(c)
        return out

    def http_requests(self, role=None, sync=True):
        return [r for r in self.events("http", "request", sync=sync) if self._match_role(r, role)]

    def wait_for(self, fn, timeout=5, interval=0.02, what=None):
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"networld: {what or fn} not seen in {timeout}s\n"
                                     + self.dump())
            time.sleep(interval)

    def _stderr(self):
        try:
            return self.stderr_path.read_text()[-4000:]
        except OSError:
            return ""

    def dump(self):
        try:
            log = self.log_path.read_text()[-6000:]
        except OSError:
            log = ""
        return (f"--- networld {self.client} / {self.net}\n--- server log\n{log}"
                f"--- server stderr\n{self._stderr()}")


@pytest.fixture
def networld_factory(tmp_path):
    """make(**NetWorld keywords) -> a started NetWorld; all closed at teardown."""
    worlds = []

    def make(**kw):
        kw.setdefault("log_dir", tmp_path / f"networld{len(worlds) + 1}")
        w = NetWorld(**kw)
        try:
            w.start()
        except NetWorldUnavailable as e:
            pytest.skip(f"networld unavailable: {e}")
        worlds.append(w)
        return w

    yield make
    for w in worlds:
        w.close()


@pytest.fixture
def networld(networld_factory):
    """A started NetWorld with the default records (see the module docstring)."""
    return networld_factory()
