"""TCP and UDP sinks for networld: any address, the configured ports.

They never answer. Log lines (besides peer, peer_port, addr, port, family):
  {"server": "tcp", "event": "connect", "conn": N}        at accept
  {"server": "tcp", "event": "data", "conn": N, "data": latin-1 text, "len"}
                                                          per read, first 4 KiB logged
  {"server": "tcp", "event": "close", "conn": N, "total": bytes received}
  {"server": "udp", "event": "datagram", "data": latin-1 text, "len"}
"""
import loop as L


class TCPSink:
    def __init__(self, loop, log, cfg):
        self.loop, self.log = loop, log
        self.conns = {}
        for port in cfg.get("ports", []):
            loop.add(L.listen_tcp(int(port)), self.on_accept)

    def on_accept(self, s):
        try:
            c, _ = s.accept()
        except BlockingIOError:
            return
        ends = L.tcp_ends(c)
        cid = self.loop.next_conn()
        self.log("tcp", "connect", conn=cid, **ends)
        self.conns[c] = {"id": cid, "ends": ends, "total": 0}
        self.loop.add(c, self.on_data)

    def on_data(self, c):
        st = self.conns[c]
        try:
            chunk = c.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.log("tcp", "close", conn=st["id"], total=st["total"], **st["ends"])
            del self.conns[c]
            self.loop.remove(c)
            return
        if st["total"] < L.MAX_LOGGED:
            self.log("tcp", "data", conn=st["id"], data=L.b2s(chunk), len=len(chunk),
                     **st["ends"])
        st["total"] += len(chunk)


class UDPSink:
    def __init__(self, loop, log, cfg):
        self.loop, self.log = loop, log
        for port in cfg.get("ports", []):
            for s in L.udp_sockets(int(port)):
                loop.add(s, self.on_udp)

    def on_udp(self, sock):
        got = L.udp_recv(sock)
        if got is None:
            return
        data, ends, _ = got
        self.log("udp", "datagram", data=L.b2s(data), len=len(data), **ends)
