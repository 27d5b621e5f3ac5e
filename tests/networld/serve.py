"""networld's fake servers in one single-threaded process.

    /usr/bin/python3 serve.py CONFIG.json

CONFIG: {"log": path, "control": unix socket path, "ready": path,
         "dns": {"records": {...}, "tc_names": [...], "ttl": 60, "port": 53},
         "http": {"ports": [80, 8080]},
         "tcp": {"ports": [443, 9000]},
         "udp": {"ports": [9000]}}
A missing section means that server is not started. Every listener is a
wildcard one: run inside a namespace whose catch-all local route makes every
address local, it serves every address. Once all are bound, the ready file is
written (atomically) with {"pid": ...}. SIGTERM exits.
"""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakedns  # noqa: E402
import fakehttp  # noqa: E402
import loop as L  # noqa: E402
import sinks  # noqa: E402


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    log = L.Log(cfg["log"])
    loop = L.Loop(log)
    if "dns" in cfg:
        fakedns.DNSServer(loop, log, cfg["dns"])
    if "http" in cfg:
        fakehttp.HTTPServer(loop, log, cfg["http"])
    if "tcp" in cfg:
        sinks.TCPSink(loop, log, cfg["tcp"])
    if "udp" in cfg:
        sinks.UDPSink(loop, log, cfg["udp"])
    if cfg.get("control"):
        L.add_control(loop, cfg["control"])
    if cfg.get("ready"):
        tmp = cfg["ready"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pid": os.getpid()}, f)
        os.rename(tmp, cfg["ready"])
    loop.run()


if __name__ == "__main__":
    main()
