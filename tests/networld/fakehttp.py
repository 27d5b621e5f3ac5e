"""Fake HTTP/1.x server for networld: any address, the configured ports.

Log lines (besides the address fields peer, peer_port, addr, port, family):
  {"server": "http", "event": "connect", "conn": N}      at accept
  {"server": "http", "event": "request", "conn": N, "line": "GET / HTTP/1.1",
   "method", "path", "host", "headers": {lower-case name: value},
   "body": latin-1 text (first bytes), "body_len"}       before the answer
  {"server": "http", "event": "close", "conn": N}
Every request gets "200 OK", body "networld ok <addr> <path>\\n", and the
connection is closed (Connection: close).
"""
import socket

import loop as L

MAX_HEAD = 65536
MAX_BODY = 1 << 20


class HTTPServer:
    def __init__(self, loop, log, cfg):
        self.loop, self.log = loop, log
        self.conns = {}
        for port in cfg.get("ports", [80]):
            loop.add(L.listen_tcp(int(port)), self.on_accept)

    def on_accept(self, s):
        try:
            c, _ = s.accept()
        except BlockingIOError:
            return
        ends = L.tcp_ends(c)
        cid = self.loop.next_conn()
        self.log("http", "connect", conn=cid, **ends)
        self.conns[c] = {"id": cid, "ends": ends, "buf": b"", "done": False}
        self.loop.add(c, self.on_data)

    def close(self, c, st):
        self.log("http", "close", conn=st["id"], **st["ends"])
        del self.conns[c]
        self.loop.remove(c)

    def on_data(self, c):
        st = self.conns[c]
        try:
            chunk = c.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close(c, st)
            return
        if st["done"]:
            return  # answered already: discard until the client closes
        st["buf"] += chunk
        buf = st["buf"]
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            if len(buf) > MAX_HEAD:
                self.answer(c, st, buf, b"", bad=True)
            return
        head = buf[:head_end].decode("latin-1")
        lines = head.split("\r\n")
        headers = {}
        for h in lines[1:]:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = buf[head_end + 4:]
        try:
            want = min(int(headers.get("content-length", "0")), MAX_BODY)
        except ValueError:
            want = 0
        if len(body) < want:
            return
        self.answer(c, st, lines[0], body, headers=headers)

    def answer(self, c, st, line, body, headers=None, bad=False):
        headers = headers or {}
        if isinstance(line, bytes):
            line = line[:200].decode("latin-1")
        parts = line.split(" ")
        method = parts[0] if parts else ""
        path = parts[1] if len(parts) > 1 else ""
        self.log("http", "request", conn=st["id"], line=line, method=method, path=path,
                 host=headers.get("host"), headers=headers, body=L.b2s(body),
                 body_len=len(body), **st["ends"])
        text = f"networld ok {st['ends']['addr']} {path}\n".encode()
        status = "400 Bad Request" if bad else "200 OK"
        resp = (f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n").encode() + text
        st["done"] = True
        c.setblocking(True)
        c.settimeout(5)
        try:
            c.sendall(resp)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.setblocking(False)
