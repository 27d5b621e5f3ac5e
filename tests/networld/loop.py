"""Event loop, JSON-lines log and UDP helpers shared by networld's fake servers.

Standard library only: these run under Debian's /usr/bin/python3 inside the
"net" namespace of a test world (see tests/integration/networld.py).

Every server is single-threaded and driven by one selector, so a `sync`
request on the control socket can drain every pending socket before it
answers: once the fixture gets "ok", everything the workload sent before has
been logged.
"""
import ipaddress
import json
import os
import selectors
import socket
import struct
import sys
import time
import traceback

IP_TRANSPARENT = getattr(socket, "IP_TRANSPARENT", 19)
IPV6_TRANSPARENT = getattr(socket, "IPV6_TRANSPARENT", 75)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)

# Bytes are logged as latin-1 text (one char per byte): .encode("latin-1")
# gives them back.
MAX_LOGGED = 4096


def b2s(data):
    return bytes(data[:MAX_LOGGED]).decode("latin-1")


def norm_ip(ip):
    """'::ffff:1.2.3.4' -> '1.2.3.4' (what was on the wire), else compressed."""
    ip = ip.split("%", 1)[0]
    a = ipaddress.ip_address(ip)
    if a.version == 6 and a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)
    return str(a)


def family_of(ip):
    return 6 if ":" in ip else 4


class Log:
    """One JSON object per line, one write(2) per line, O_APPEND."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def __call__(self, server, event, **fields):
        rec = {"ts": round(time.time(), 6), "server": server, "event": event}
        rec.update(fields)
        os.write(self.fd, (json.dumps(rec, sort_keys=True) + "\n").encode())


class Loop:
    """A selector with callbacks; errors in a callback are logged, not fatal."""

    def __init__(self, log):
        self.log = log
        self.sel = selectors.DefaultSelector()
        self.control = set()
        self.conn_ids = 0

    def next_conn(self):
        self.conn_ids += 1
        return self.conn_ids

    def add(self, sock, callback, control=False):
        sock.setblocking(False)
        self.sel.register(sock, selectors.EVENT_READ, callback)
        if control:
            self.control.add(sock)

    def remove(self, sock):
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass
        self.control.discard(sock)
        try:
            sock.close()
        except OSError:
            pass

    def _dispatch(self, key):
        try:
            key.data(key.fileobj)
        except Exception as e:  # keep serving whatever one client did
            self.log("loop", "error", error=repr(e))
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()

    def drain(self, limit=10000):
        """Handle every pending network event (not control ones)."""
        for _ in range(limit):
            ready = [k for k, _ in self.sel.select(0) if k.fileobj not in self.control]
            if not ready:
                return
            for k in ready:
                self._dispatch(k)

    def run(self):
        while True:
            for key, _ in self.sel.select():
                self._dispatch(key)


def listen_tcp(port, backlog=128):
    """A dual-stack wildcard listener: with the net namespace's catch-all
    local route it accepts connections to any address on `port`."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
    s.bind(("::", port))
    try:  # accept data in the SYN (clients testing TCP fast open)
        s.setsockopt(socket.IPPROTO_TCP, getattr(socket, "TCP_FASTOPEN", 23), 64)
    except OSError:
        pass
    s.listen(backlog)
    return s


def tcp_ends(conn):
    peer = conn.getpeername()
    local = conn.getsockname()
    p = norm_ip(peer[0])
    a = norm_ip(local[0])
    return {"peer": p, "peer_port": peer[1], "addr": a, "port": local[1],
            "family": family_of(a)}


def udp_sockets(port):
    """Wildcard UDP sockets (IPv4 and IPv6-only) that learn each datagram's
    destination (pktinfo) and can answer from it (transparent)."""
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s4.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s4.setsockopt(socket.IPPROTO_IP, IP_TRANSPARENT, 1)
    s4.bind(("0.0.0.0", port))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
    s6.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
    s6.bind(("::", port))
    return [s4, s6]


def udp_recv(sock):
    """-> (data, ends dict, reply-info) or None when nothing is pending."""
    try:
        data, anc, _flags, peer = sock.recvmsg(65535, socket.CMSG_SPACE(64))
    except BlockingIOError:
        return None
    dst = None
    for level, typ, cdata in anc:
        if level == socket.IPPROTO_IP and typ == IP_PKTINFO and len(cdata) >= 12:
            dst = socket.inet_ntop(socket.AF_INET, cdata[8:12])
        elif level == socket.IPPROTO_IPV6 and typ == IPV6_PKTINFO and len(cdata) >= 16:
            dst = socket.inet_ntop(socket.AF_INET6, cdata[:16])
    local_port = sock.getsockname()[1]
    a = norm_ip(dst) if dst else None
    ends = {"peer": norm_ip(peer[0]), "peer_port": peer[1], "addr": a,
            "port": local_port, "family": 6 if sock.family == socket.AF_INET6 else 4}
    return data, ends, (peer, dst)


def udp_send(sock, data, reply_info):
    """Answer from the address the datagram was sent to (glibc and c-ares
    drop replies from any other source)."""
    peer, dst = reply_info
    anc = []
    if dst and sock.family == socket.AF_INET:
        anc = [(socket.IPPROTO_IP, IP_PKTINFO,
                struct.pack("=I4s4s", 0, socket.inet_pton(socket.AF_INET, dst), b"\0" * 4))]
    elif dst:
        anc = [(socket.IPPROTO_IPV6, IPV6_PKTINFO,
                struct.pack("=16sI", socket.inet_pton(socket.AF_INET6, dst), 0))]
    sock.sendmsg([data], anc, 0, peer)


def add_control(loop, path):
    """A UNIX stream socket: 'sync\\n' -> drain every socket -> 'ok\\n'."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.bind(path)
    ctl.listen(16)

    def on_conn(c):
        c.setblocking(True)
        c.settimeout(5)
        try:
            buf = b""
            while not buf.endswith(b"\n") and len(buf) < 256:
                chunk = c.recv(256)
                if not chunk:
                    break
                buf += chunk
            if buf.strip() == b"sync":
                loop.drain()
                c.sendall(b"ok\n")
            else:
                c.sendall(b"unknown\n")
        finally:
            loop.remove(c)

    def on_accept(s):
        try:
            c, _ = s.accept()
        except BlockingIOError:
            return
        loop.add(c, on_conn, control=True)

    loop.add(ctl, on_accept, control=True)
    return ctl
