"""Fake authoritative DNS server (UDP and TCP) for networld.

Answers A, AAAA and CNAME (and ANY: everything) from a records dict; every
other name is NXDOMAIN, an existing name without the asked type is NOERROR
with no answer. Every query is logged:

  {"server": "dns", "event": "query", "transport": "udp"|"tcp",
   "name": "api.allowed.test" (as received, no trailing dot, \\DDD escapes),
   "qtype": "A", "qtype_num": 1, "id": ..., "rcode": "NOERROR"|"NXDOMAIN"|...,
   "tc": bool, "answers": ["api.allowed.test CNAME x", "x A 192.0.2.80"],
   "peer", "peer_port", "addr" (address the query was sent to), "port", "family"}

Records (config "records"): name -> list of strings, or {"ttl": N, "data": [...]}.
A string that is an IPv4/IPv6 address gives an A/AAAA record, anything else
is a CNAME target. A key "*.zone" answers every name below zone that has no
record of its own. Names match case-insensitively, trailing dot ignored.

"tc_names": names whose UDP answers always have TC=1 and no records (clients
must retry over TCP). UDP answers longer than 512 bytes (or the query's EDNS
size) are truncated honestly the same way.

DNS wire handling is plain struct/bytes code: this is test scaffolding.
"""
import ipaddress
import struct

import loop as L

QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
          28: "AAAA", 33: "SRV", 41: "OPT", 64: "SVCB", 65: "HTTPS", 255: "ANY"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED"}
T_A, T_CNAME, T_AAAA, T_OPT, T_ANY = 1, 5, 28, 41, 255


class Malformed(Exception):
    pass


def _label_text(label):
    out = []
    for b in label:
        if b in (0x2E, 0x5C):  # '.', '\\'
            out.append("\\" + chr(b))
        elif 0x21 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append("\\%03d" % b)
    return "".join(out)


def read_name(buf, pos):
    """-> (list of label bytes, position after the name). Follows pointers."""
    labels = []
    end = None
    hops = 0
    total = 0
    while True:
        if pos >= len(buf):
            raise Malformed("name runs past the message")
        n = buf[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(buf):
                raise Malformed("truncated pointer")
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | buf[pos + 1]
            hops += 1
            if hops > 64:
                raise Malformed("pointer loop")
            continue
        if n & 0xC0:
            raise Malformed("bad label type")
        pos += 1
        if n == 0:
            break
        if pos + n > len(buf):
            raise Malformed("label runs past the message")
        labels.append(bytes(buf[pos:pos + n]))
        total += n + 1
        if total > 255:
            raise Malformed("name longer than 255")
        pos += n
    return labels, (end if end is not None else pos)


def name_text(labels):
    return ".".join(_label_text(l) for l in labels)


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode("ascii")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def parse_query(buf):
    if len(buf) < 12:
        raise Malformed("shorter than a header")
    qid, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", buf, 0)
    q = {"id": qid, "flags": flags, "qdcount": qd, "edns": None}
    if qd < 1:
        raise Malformed("no question")
    labels, pos = read_name(buf, 12)
    if pos + 4 > len(buf):
        raise Malformed("truncated question")
    q["qtype"], q["qclass"] = struct.unpack_from("!HH", buf, pos)
    pos += 4
    q["labels"] = labels
    q["name"] = name_text(labels)
    q["question"] = bytes(buf[12:pos])
    try:  # look for EDNS in what follows; best effort
        for _ in range(qd - 1):
            _, pos = read_name(buf, pos)
            pos += 4
        for _ in range(an + ns + ar):
            _, pos = read_name(buf, pos)
            typ, cls, _ttl, rdlen = struct.unpack_from("!HHIH", buf, pos)
            pos += 10 + rdlen
            if typ == T_OPT:
                q["edns"] = cls
    except (Malformed, struct.error):
        pass
    return q


def _canon(name):
    return name.rstrip(".").lower()


class Zone:
    def __init__(self, records, ttl):
        self.ttl = ttl
        self.names = {}
        for name, value in (records or {}).items():
            if isinstance(value, dict):
                data, rttl = value.get("data", []), value.get("ttl", ttl)
            elif isinstance(value, str):
                data, rttl = [value], ttl
            else:
                data, rttl = list(value), ttl
            a, aaaa, cname = [], [], []
            for item in data:
                try:
                    ip = ipaddress.ip_address(item)
                except ValueError:
                    cname.append(_canon(item))
                    continue
                (a if ip.version == 4 else aaaa).append(ip.packed)
            self.names[_canon(name)] = {"a": a, "aaaa": aaaa, "cname": cname, "ttl": rttl}

    def lookup(self, name):
        name = _canon(name)
        if name in self.names:
            return self.names[name]
        labels = name.split(".")
        for i in range(1, len(labels)):
            w = "*." + ".".join(labels[i:])
            if w in self.names:
                return self.names[w]
        return None

    def answer(self, q):
        """-> (rcode, list of RR bytes, list of text forms)."""
        qtype = q["qtype"]
        rrs, text = [], []
        owner_wire = b"\xc0\x0c"  # the question's name, case preserved
        cur = _canon(q["name"])
        for _ in range(16):
            e = self.lookup(cur)
            if e is None:
                return 3, rrs, text
            if e["cname"] and qtype != T_CNAME:
                target = e["cname"][0]
                rd = encode_name(target)
                rrs.append(owner_wire + struct.pack("!HHIH", T_CNAME, 1, e["ttl"], len(rd)) + rd)
                text.append(f"{cur} CNAME {target}")
                if qtype == T_ANY:
                    return 0, rrs, text
                cur, owner_wire = target, encode_name(target)
                continue
            if qtype == T_CNAME:
                for target in e["cname"][:1]:
                    rd = encode_name(target)
                    rrs.append(owner_wire + struct.pack("!HHIH", T_CNAME, 1, e["ttl"], len(rd)) + rd)
                    text.append(f"{cur} CNAME {target}")
                return 0, rrs, text
            for typ, key in ((T_A, "a"), (T_AAAA, "aaaa")):
                if qtype not in (typ, T_ANY):
                    continue
                for packed in e[key]:
                    rrs.append(owner_wire + struct.pack("!HHIH", typ, 1, e["ttl"], len(packed))
                               + packed)
                    text.append(f"{cur} {QTYPES[typ]} {ipaddress.ip_address(packed)}")
            return 0, rrs, text
        return 2, [], text  # CNAME chain too long: SERVFAIL


class DNSServer:
    def __init__(self, loop, log, cfg):
        self.loop, self.log = loop, log
        self.zone = Zone(cfg.get("records"), int(cfg.get("ttl", 60)))
        self.tc_names = {_canon(n) for n in cfg.get("tc_names", [])}
        port = int(cfg.get("port", 53))
        for s in L.udp_sockets(port):
            loop.add(s, self.on_udp)
        loop.add(L.listen_tcp(port), self.on_accept)
        self.bufs = {}

    def respond(self, buf, transport, ends):
        try:
            q = parse_query(buf)
        except (Malformed, struct.error) as e:
            self.log("dns", "malformed", transport=transport, error=str(e),
                     data=L.b2s(buf), **ends)
            if len(buf) >= 12:
                qid, flags = struct.unpack_from("!HH", buf, 0)
                return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x7900) | 1, 0, 0, 0, 0)
            return None
        flags = q["flags"]
        opcode = (flags >> 11) & 0xF
        if flags & 0x8000:
            rcode, rrs, text = 1, [], []  # a response sent to us
        elif opcode != 0 or q["qdcount"] != 1:
            rcode, rrs, text = (4 if opcode else 1), [], []
        elif q["qclass"] not in (1, 255):
            rcode, rrs, text = 5, [], []
        else:
            rcode, rrs, text = self.zone.answer(q)
        opt = b""
        if q["edns"] is not None:
            opt = b"\0" + struct.pack("!HHIH", T_OPT, 1232, 0, 0)
        tc = False
        if transport == "udp":
            limit = max(512, min(q["edns"] or 512, 4096))
            body = b"".join(rrs)
            if _canon(q["name"]) in self.tc_names or 12 + len(q["question"]) + len(body) + len(opt) > limit:
                tc, rrs = True, []
        hdr_flags = (0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode
                     | (0x0200 if tc else 0))
        msg = (struct.pack("!HHHHHH", q["id"], hdr_flags, 1, len(rrs), 0, 1 if opt else 0)
               + q["question"] + b"".join(rrs) + opt)
        self.log("dns", "query", transport=transport, name=q["name"],
                 qtype=QTYPES.get(q["qtype"], str(q["qtype"])), qtype_num=q["qtype"],
                 id=q["id"], rcode=RCODES.get(rcode, str(rcode)), tc=tc,
                 answers=[] if tc else text, edns=q["edns"], **ends)
        return msg

    def on_udp(self, sock):
        got = L.udp_recv(sock)
        if got is None:
            return
        data, ends, reply = got
        msg = self.respond(data, "udp", ends)
        if msg is not None:
            L.udp_send(sock, msg, reply)

    def on_accept(self, s):
        try:
            c, _ = s.accept()
        except BlockingIOError:
            return
        ends = L.tcp_ends(c)
        self.bufs[c] = (b"", ends)
        self.loop.add(c, self.on_tcp)

    def on_tcp(self, c):
        try:
            chunk = c.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        buf, ends = self.bufs[c]
        if not chunk:
            del self.bufs[c]
            self.loop.remove(c)
            return
        buf += chunk
        while len(buf) >= 2:
            n = struct.unpack_from("!H", buf, 0)[0]
            if len(buf) < 2 + n:
                break
            msg = self.respond(buf[2:2 + n], "tcp", ends)
            buf = buf[2 + n:]
            if msg is not None:
                c.setblocking(True)
                c.settimeout(5)
                try:
                    c.sendall(struct.pack("!H", len(msg)) + msg)
                finally:
                    c.setblocking(False)
        self.bufs[c] = (buf, ends)
