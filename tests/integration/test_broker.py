"""The socket broker: where pidfd_getfd is refused (docker's default seccomp
profile without CAP_SYS_PTRACE), fnguard creates the workload's sockets
itself and keeps a copy, so network decisions are still carried out on
fnguard's own socket. The refuse helper makes this kernel refuse
pidfd_getfd for real. The network suites (test_network.py,
test_net_world.py) run every case in this mode too; these are the cases
that only the broker has: accept, signals during a blocking accept,
sockets closed by the workload, inherited sockets and sockets passed in
from outside the process tree."""
import array
import json
import os
import socket
import subprocess
import threading

import pytest

from conftest import (EXIT_VIOLATION, FNGUARD, PY, TIMEOUT, Runner, base_env, helper,
                      parse_log_file, runner_in_mode)

pytestmark = pytest.mark.usefixtures("kernel_tier")

POLICY = "version: 1\nnetwork:\n  allow: [127.0.0.1/32]\n  loopback: false\n"


@pytest.fixture
def brokered(tmp_path):
    return runner_in_mode(tmp_path, "broker")


def test_probe_and_start_event_name_the_broker(brokered, tmp_path):
    p = subprocess.run([helper("refuse"), "getfd", FNGUARD, "probe", "--json"],
                       capture_output=True, text=True, timeout=TIMEOUT, env=base_env())
    caps = json.loads(p.stdout)
    assert caps["pidfd_getfd"] is False and caps["network_sockets"] == "broker", caps
    res = brokered(POLICY, ["/usr/bin/true"])
    assert res.returncode == 0, res.dump()
    start = res.one("start")
    assert start["features"] == {**start["features"], "pidfd_getfd": False,
                                 "socket_broker": True}, start
    assert any("socket broker" in lim for lim in start["limits"]), start
    # With pidfd_getfd there is no broker (and no broker limits).
    (tmp_path / "plain").mkdir()
    plain = Runner(tmp_path / "plain")(POLICY, ["/usr/bin/true"])
    assert plain.one("start")["features"]["socket_broker"] is False
    assert not any("socket broker" in lim for lim in plain.one("start")["limits"])


SERVER_AND_CLIENT = r"""
import socket, threading
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen()
port = s.getsockname()[1]
got = []
def serve():
    c, peer = s.accept()                   # blocking: answered when a peer comes
    got.append((peer[0], c.recv(5)))
    c.sendall(b"pong"); c.close()
t = threading.Thread(target=serve); t.start()
c = socket.create_connection(("127.0.0.1", port))
c.sendall(b"ping")
print(c.recv(4).decode(), got[0][0] if t.join() is None else "", got[0][1].decode())
n = socket.socket(); n.bind(("127.0.0.1", 0)); n.listen(); n.setblocking(False)
try:
    n.accept(); print("accepted nothing?")
except BlockingIOError:
    print("EAGAIN")
a, b = socket.socketpair()
a.sendall(b"pair"); print(b.recv(4).decode())
"""


def test_accept_socketpair_and_nonblocking_accept(brokered):
    res = brokered(POLICY, [PY, "-c", SERVER_AND_CLIENT])
    assert res.returncode == 0, res.dump()
    assert res.stdout.split() == ["pong", "127.0.0.1", "ping", "EAGAIN", "pair"], res.dump()


SIGNAL_IN_ACCEPT = r"""
import signal, socket
class Stop(Exception):
    pass
def on_alarm(*_):
    raise Stop
signal.signal(signal.SIGALRM, on_alarm)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
signal.alarm(1)
try:
    s.accept()
    print("accepted")
except Stop:
    print("handler ran")
"""


def test_signal_handler_runs_during_a_blocking_accept(brokered):
    """The thread waits inside the notification (killable only): the
    broker notices the pending signal and answers EINTR, as the kernel's
    own accept would let the handler run."""
    res = brokered(POLICY, [PY, "-c", SIGNAL_IN_ACCEPT], timeout=20)
    assert res.returncode == 0, res.dump()
    assert res.stdout.strip() == "handler ran", res.dump()


def test_closed_socket_reaches_its_peer_while_the_workload_runs(brokered, tmp_path):
    """fnguard's copy keeps a socket open: the sweep must release it once
    the workload closed its fd, or the peer would never see EOF."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(15)
    port = srv.getsockname()[1]
    flag = tmp_path / "eof-seen"
    out = {}

    def serve():
        c, _ = srv.accept()
        c.settimeout(15)
        out["data"] = c.recv(10)
        out["eof"] = c.recv(10) == b""
        flag.write_text("1")
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    # The workload stays alive until the server has seen EOF (or 20 s).
    script = (f"import socket, os, time\n"
              f"c = socket.create_connection(('127.0.0.1', {port})); c.sendall(b'x'); c.close()\n"
              f"end = time.time() + 20\n"
              f"while not os.path.exists({str(flag)!r}) and time.time() < end: time.sleep(0.02)\n"
              f"print('alive' if os.path.exists({str(flag)!r}) else 'no eof')\n")
    res = brokered(POLICY, [PY, "-c", script], timeout=40)
    t.join()
    srv.close()
    assert res.returncode == 0, res.dump()
    assert out == {"data": b"x", "eof": True}, (out, res.dump())
    assert res.stdout.strip() == "alive", res.dump()


def udp_sink():
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(5)
    return sink


def test_inherited_socket_is_known(tmp_path):
    """A socket fnguard's caller passes down (here as stdin) exists before
    the filter: the broker files a copy at start, so it stays usable."""
    sink = udp_sink()
    port = sink.getsockname()[1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pol = tmp_path / "p.yaml"
    pol.write_text(POLICY)
    log = tmp_path / "log.jsonl"
    script = f"import socket; socket.socket(fileno=0).sendto(b'inherited', ('127.0.0.1', {port}))"
    p = subprocess.run([helper("refuse"), "getfd", FNGUARD, "run", "-p", str(pol), "--log",
                        str(log), "--", PY, "-c", script], stdin=sock.fileno(),
                       capture_output=True, text=True, timeout=TIMEOUT, env=base_env())
    sock.close()
    assert p.returncode == 0, p.stderr
    assert sink.recv(100) == b"inherited"
    start = [e for e in parse_log_file(log) if e["event"] == "start"][0]
    assert start["features"]["socket_broker"] is True, start


PASSED_IN = r"""
import socket, sys
u = socket.socket(socket.AF_UNIX)
u.connect(sys.argv[1])
_, fds, _, _ = socket.recv_fds(u, 10, 1)
d = socket.socket(fileno=fds[0])
try:
    d.sendto(b"smuggled", ("127.0.0.1", int(sys.argv[2])))
    print("sent")
except PermissionError:
    print("EPERM")
"""


@pytest.mark.parametrize("broker", [True, False], ids=["broker", "pidfd_getfd"])
def test_socket_passed_in_from_outside(tmp_path, broker):
    """A socket received with SCM_RIGHTS from a process outside the tree
    has no broker copy: its network calls are refused and logged, since
    they cannot be decided on a socket of fnguard's own. With pidfd_getfd
    the same call is judged as usual (127.0.0.1 is allowed)."""
    sink = udp_sink()
    port = sink.getsockname()[1]
    path = str(tmp_path / "pass.sock")
    lst = socket.socket(socket.AF_UNIX)
    lst.bind(path)
    lst.listen()
    lst.settimeout(20)
    gift = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def give():
        try:
            c, _ = lst.accept()
        except OSError:
            return
        socket.send_fds(c, [b"x"], [gift.fileno()])
        c.close()

    t = threading.Thread(target=give)
    t.start()
    r = runner_in_mode(tmp_path, "broker" if broker else "pidfd_getfd")
    res = r(POLICY, [PY, "-c", PASSED_IN, path, str(port)])
    lst.close()
    t.join()
    gift.close()
    assert res.returncode == 0, res.dump()
    if broker:
        assert res.stdout.strip() == "EPERM", res.dump()
        ev = res.one("syscall", syscall="sendto")
        assert ev["action"] == "deny" and "outside" in ev["reason"], ev
        with pytest.raises(socket.timeout):
            sink.settimeout(0.5)
            sink.recv(100)
    else:
        assert res.stdout.strip() == "sent", res.dump()
        assert sink.recv(100) == b"smuggled"


def test_refused_family_still_refused(brokered):
    """The broker sees every socket(): families outside the rules are
    refused exactly as the filter refuses them with pidfd_getfd."""
    script = ("import socket\n"
              "try:\n"
              "    socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
              "    print('made')\n"
              "except OSError as e:\n"
              "    print(e.errno)\n")
    res = brokered(POLICY, [PY, "-c", script])
    assert res.returncode == 0, res.dump()
    assert res.stdout.strip() == "97", res.dump()  # EAFNOSUPPORT
    ev = res.one("syscall", syscall="socket")
    assert ev["action"] == "deny" and ev["rule"] == "anti-escape", ev


def test_forbidden_connect_killed_in_broker_mode(brokered):
    res = brokered(POLICY, [PY, "-c",
                            "import socket; socket.create_connection(('127.0.0.2', 9), 2)"])
    assert res.returncode == EXIT_VIOLATION, res.dump()
    ev = res.one("connect", action="kill")
    assert ev["addr"] == "127.0.0.2", ev


def test_fd_numbers_and_cloexec_as_the_kernel_gives_them(brokered):
    """Sockets handed over with ADDFD take the lowest free number, and carry
    close-on-exec exactly when SOCK_CLOEXEC asked for it, as socket(2)."""
    script = ("import ctypes, fcntl, socket\n"
              "libc = ctypes.CDLL(None, use_errno=True)\n"
              "a = socket.socket(); b = socket.socket(); fb = b.fileno(); b.close()\n"
              "c = socket.socket(); print(c.fileno() == fb)\n"
              "plain = libc.socket(2, 1, 0)\n"
              "cloexec = libc.socket(2, 1 | 0o2000000, 0)\n"
              "print(fcntl.fcntl(plain, fcntl.F_GETFD), fcntl.fcntl(cloexec, fcntl.F_GETFD))\n")
    res = brokered(POLICY, [PY, "-c", script])
    assert res.returncode == 0, res.dump()
    assert res.stdout.split() == ["True", "0", "1"], res.dump()
