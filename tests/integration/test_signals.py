"""Exit status passthrough, signal forwarding, and fail-closed on SIGKILL."""
import os
import signal
import subprocess
import time

import pytest

from conftest import (FNGUARD, PY, base_env, exec_policy, parse_log_file,
                      write_script)


@pytest.mark.parametrize("code,status,sig", [
    ("import sys; sys.exit(0)", 0, None),
    ("import sys; sys.exit(3)", 3, None),
    ("import sys; sys.exit(200)", 200, None),
    ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", None, signal.SIGTERM),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", None, signal.SIGKILL),
    ("import os, signal; signal.signal(signal.SIGSEGV, signal.SIG_DFL); "
     "os.kill(os.getpid(), signal.SIGSEGV)", None, signal.SIGSEGV),
])
def test_exit_status_passthrough(run_fnguard, code, status, sig):
    res = run_fnguard(exec_policy([]), [PY, "-c", code])
    want = status if sig is None else 128 + sig
    assert res.returncode == want, res.dump()
    ex = res.one("exit")
    if sig is None:
        assert ex.get("status") == status, res.dump()
        assert ex.get("signal") in (None, 0), res.dump()
    else:
        assert ex.get("signal") in (int(sig), sig.name), res.dump()


def _wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


HANDLER = """
import os, signal, sys, time
marker, ready = sys.argv[1], sys.argv[2]
def on(sig, frame):
    with open(marker, "w") as f:
        f.write(signal.Signals(sig).name)
    os._exit(7)
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, on)
open(ready, "w").close()
time.sleep(60)
sys.exit(1)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_forwarded(tmp_path, sig):
    marker, ready, log = tmp_path / "MARKER", tmp_path / "READY", tmp_path / "log"
    s = write_script(tmp_path / "w.py", HANDLER, 0o644)
    pol = tmp_path / "p.yaml"
    pol.write_text(exec_policy([]))
    p = subprocess.Popen([FNGUARD, "run", "-p", pol, "--log", log, "--", PY, s, marker, ready],
                         env=base_env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(ready.exists, 30), "workload never became ready"
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode == 7, f"exit {p.returncode}\n{err}"
    assert marker.read_text() == sig.name
    ex = [e for e in parse_log_file(log) if e["event"] == "exit"]
    assert ex and ex[0].get("status") == 7, ex


TREE = """
import os, sys, time
d = sys.argv[1]
def mark(name):
    with open(os.path.join(d, name + ".tmp"), "w") as f:
        f.write(str(os.getpid()))
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()                      # try to leave the process group
        mark("grandchild")
        time.sleep(300)
        os._exit(0)
    mark("child")
    time.sleep(300)
    os._exit(0)
mark("top")
time.sleep(300)
"""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_sigkill_of_fnguard_kills_tree(tmp_path):
    s = write_script(tmp_path / "tree.py", TREE, 0o644)
    pol = tmp_path / "p.yaml"
    pol.write_text(exec_policy([]))
    p = subprocess.Popen([FNGUARD, "run", "-p", pol, "--log", tmp_path / "log", "--",
                          PY, s, tmp_path], env=base_env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    names = ("top", "child", "grandchild")
    pids = []
    try:
        assert _wait_for(lambda: all((tmp_path / n).exists() for n in names), 30), \
            "workload tree never started"
        pids = [int((tmp_path / n).read_text()) for n in names]
        assert all(_alive(x) for x in pids)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        gone = _wait_for(lambda: not any(_alive(x) for x in pids), 10)
        left = [(n, x) for n, x in zip(names, pids) if _alive(x)]
        assert gone, f"orphans left after SIGKILL of fnguard: {left}"
    finally:
        for x in pids:
            if _alive(x):
                os.kill(x, signal.SIGKILL)
        if p.poll() is None:
            p.kill()
            p.wait(10)


STOPPER = """
import os, signal, sys, time
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
os.kill(os.getpid(), signal.SIGSTOP)
sys.exit(6)
"""


def _state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_job_control_stop_and_continue(tmp_path):
    """SIGSTOP stops the workload (it does not run on, and the supervisor
    does not hang); SIGCONT lets it finish with its own status."""
    pidfile = tmp_path / "pid"
    s = write_script(tmp_path / "w.py", STOPPER, 0o644)
    pol = tmp_path / "p.yaml"
    pol.write_text(exec_policy([]))
    p = subprocess.Popen([FNGUARD, "run", "-p", pol, "--log", tmp_path / "log", "--",
                          PY, s, pidfile], env=base_env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(pidfile.exists, 30), "workload never started"
        pid = int(pidfile.read_text())
        assert _wait_for(lambda: _state(pid) in ("T", "t"), 10), \
            f"workload not stopped (state {_state(pid)})"
        time.sleep(0.3)
        assert p.poll() is None, "fnguard exited while the workload was stopped"
        os.kill(pid, signal.SIGCONT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode == 6, err
