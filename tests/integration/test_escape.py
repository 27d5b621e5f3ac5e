"""Anti-escape: the workload cannot disarm, trace, signal or read the
supervisor, nor leave through other ABIs, io_uring or namespaces. These
refusals hold in every mode, audit included."""
import errno
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import (EXIT_VIOLATION, FNGUARD, PY, TIMEOUT, base_env,
                      exec_policy, helper, write_script)

EPERM, ENOSYS = errno.EPERM, errno.ENOSYS

# check: (errnos that count as refused, syscall name the log must carry;
#         None: the log line is not part of the contract)
CHECKS = {
    "io_uring": ({ENOSYS, EPERM}, "io_uring_setup"),
    "ptrace_attach": ({EPERM}, "ptrace"),
    "ptrace_seize": ({EPERM}, "ptrace"),
    "ptrace_child": ({EPERM}, "ptrace"),
    "kill_sup": ({EPERM}, "kill"),
    "tgkill_sup": ({EPERM}, "tgkill"),
    "pidfd_open_sup": ({EPERM}, "pidfd_open"),
    "kill_all": ({EPERM}, "kill"),
    "kill_sup_stop": ({EPERM}, "kill"),
    "tkill_sup": ({EPERM}, "tkill"),
    "sigqueue_sup": ({EPERM}, "rt_sigqueueinfo"),
    "tgsigqueue_sup": ({EPERM}, "rt_tgsigqueueinfo"),
    # pidfd_send_signal() on an fd of the /proc/PID directory: no pidfd_open.
    "pidfd_proc_sup": ({EPERM, errno.EACCES, errno.EBADF}, None),
    "proc_fd": (None, None),
    "vm_readv": ({EPERM}, "process_vm_readv"),
    "vm_writev": ({EPERM}, "process_vm_writev"),
    "unshare_user": ({EPERM}, "unshare"),
    "unshare_ns": ({EPERM}, "unshare"),
    "unshare_net": ({EPERM}, "unshare"),
    "mount": ({EPERM}, "mount"),
    "setns": ({EPERM}, "setns"),
    "clone_untraced": ({EPERM}, "clone"),
    "clone3": ({ENOSYS}, None),
    "bpf": ({EPERM}, "bpf"),
    "userfaultfd": ({EPERM}, None),
    "perf_event_open": ({EPERM, errno.EACCES}, None),
    "open_by_handle_at": ({EPERM}, None),
    # Non-dumpable supervisor: any failure to open its memory is fine.
    "proc_mem": (None, None),
}

LINE_RE = re.compile(r"^(\w+) ret=(-?\d+) errno=(\d+)$", re.M)


def run_checks(run_fnguard, checks, mode=None):
    res = run_fnguard(exec_policy([]), [helper("escape")] + list(checks), mode=mode)
    got = {m[0]: (int(m[1]), int(m[2])) for m in LINE_RE.findall(res.stdout)}
    return res, got


@pytest.mark.parametrize("mode", ["enforce", "audit"])
@pytest.mark.parametrize("check", CHECKS)
def test_refused(run_fnguard, kernel_tier, check, mode):
    want, sysname = CHECKS[check]
    res, got = run_checks(run_fnguard, [check], mode=mode)
    assert check in got, "helper did not report\n" + res.dump()
    ret, err = got[check]
    assert ret == -1, f"{check} succeeded (ret={ret}) under fnguard\n" + res.dump()
    if want is not None:
        assert err in want, f"{check}: errno {err} ({errno.errorcode.get(err)}), " \
            f"want {sorted(errno.errorcode[e] for e in want)}\n" + res.dump()
    assert "sup alive=1" in res.stdout, "supervisor gone\n" + res.dump()
    assert res.returncode == 0, res.dump()
    if sysname:
        lines = [e for e in res.of("syscall", action="deny") if sysname in e.values()]
        assert lines, f"no syscall/deny line naming {sysname}\n" + res.dump()
        assert lines[0].get("reason"), res.dump()


def test_no_supervisor_fds_leak(run_fnguard, tmp_path, kernel_tier):
    """The workload inherits stdin/stdout/stderr and nothing of the
    supervisor's (log file, notify fd, pidfds, policy)."""
    src = """
import os
for n in sorted(int(x) for x in os.listdir("/proc/self/fd")):
    try:
        print(n, os.readlink("/proc/self/fd/%d" % n))
    except OSError:
        pass
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy([]), [PY, s])
    assert res.returncode == 0, res.dump()
    fds = dict(l.split(" ", 1) for l in res.stdout.splitlines())
    extra = {n: t for n, t in fds.items() if n not in ("0", "1", "2")
             and not t.endswith("/fd")}   # the listdir's own fd
    assert not extra, f"fds leaked into the workload: {extra}\n" + res.dump()


def test_workload_in_own_session(run_fnguard, kernel_tier):
    res, _ = run_checks(run_fnguard, ["sid"])
    m = re.search(r"^sid self=(-?\d+) sup=(-?\d+)$", res.stdout, re.M)
    assert m, res.dump()
    assert int(m[1]) > 0 and m[1] != m[2], "workload shares the supervisor's session\n" + res.dump()
    assert res.returncode == 0, res.dump()


# CAP_DAC_READ_SEARCH, CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE, CAP_SYS_ADMIN
DROPPED_CAPS = {"DAC_READ_SEARCH": 2, "NET_ADMIN": 12, "SYS_MODULE": 16,
                "SYS_PTRACE": 19, "SYS_ADMIN": 21}


@pytest.mark.skipif(os.geteuid() != 0, reason="capabilities are dropped only for root")
def test_capabilities_dropped_as_root(run_fnguard, kernel_tier):
    res, _ = run_checks(run_fnguard, ["caps"])
    m = re.search(r"^caps eff=([0-9a-f]+) bnd=([0-9a-f]+)$", res.stdout, re.M)
    assert m, res.dump()
    eff, bnd = int(m[1], 16), int(m[2], 16)
    for name, bit in DROPPED_CAPS.items():
        assert not eff & (1 << bit), f"CAP_{name} still effective\n" + res.dump()
        assert not bnd & (1 << bit), f"CAP_{name} still in the bounding set\n" + res.dump()


def test_all_checks_at_once_supervisor_survives(run_fnguard, kernel_tier):
    """Everything in one process, in audit mode: nothing gets through, the
    supervisor outlives it all and the workload's exit status is 0."""
    res, got = run_checks(run_fnguard, list(CHECKS), mode="audit")
    escaped = [c for c, (ret, _) in got.items() if ret != -1]
    assert not escaped, f"escaped: {escaped}\n" + res.dump()
    assert set(got) == set(CHECKS), res.dump()
    assert "sup alive=1" in res.stdout, res.dump()
    assert res.returncode == 0, res.dump()


def test_supervisor_is_parent(tmp_path, kernel_tier):
    src = """
import os
ppid = os.getppid()
print("ppid=%d comm=%s" % (ppid, open("/proc/%d/comm" % ppid).read().strip()))
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    pol = tmp_path / "p.yaml"
    pol.write_text(exec_policy([]))
    p = subprocess.Popen([FNGUARD, "run", "-p", pol, "--log", tmp_path / "log", "--", PY, s],
                         stdout=subprocess.PIPE, text=True, env=base_env(),
                         stdin=subprocess.DEVNULL)
    out, _ = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, out
    m = re.search(r"ppid=(\d+) comm=(\S+)", out)
    assert m and int(m[1]) == p.pid, f"workload's parent is not fnguard ({p.pid}): {out}"


# --- other ABIs ------------------------------------------------------------

def _bare_abi(mode):
    return subprocess.run([helper("abi"), mode], capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.mark.parametrize("mode", ["enforce", "audit"])
@pytest.mark.parametrize("abi", ["i386", "x32"])
def test_foreign_abi_killed(run_fnguard, kernel_tier, abi, mode):
    if abi == "i386":
        bare = _bare_abi("i386")
        m = re.search(r"i386 ret=(\d+) pid=(\d+)", bare.stdout)
        if not (m and m[1] == m[2]):
            pytest.skip(f"no i386 emulation in this kernel: {bare.returncode} {bare.stdout!r}")
    res = run_fnguard(exec_policy([]), [helper("abi"), abi], mode=mode)
    assert f"{abi} ret=" not in res.stdout, "the foreign-ABI syscall returned\n" + res.dump()
    assert res.returncode == EXIT_VIOLATION, res.dump()
    lines = res.of("syscall", action="kill")
    assert lines, "no syscall/kill line\n" + res.dump()
    assert lines[0].get("reason"), res.dump()
    ex = res.of("exit")
    assert ex, "no exit line\n" + res.dump()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_all_checks_as_unprivileged_user(kernel_tier):
    """The usual deployment: supervisor and workload share one unprivileged
    uid, so only non-dumpability and the filter keep the workload away from
    the supervisor (no capability is there to drop)."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv (util-linux) missing")
    # pytest's own tmp dirs are root-only (0700): use a world-reachable one.
    tmpdir = tempfile.TemporaryDirectory(prefix="fng-nobody-")
    work = Path(tmpdir.name)
    work.chmod(0o777)
    pol = work / "p.yaml"
    pol.write_text(exec_policy([]))
    log = work / "log.jsonl"
    cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", FNGUARD, "run",
           "-p", str(pol), "--log", str(log), "--", helper("escape")] + list(CHECKS)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=base_env(),
                       cwd=work, stdin=subprocess.DEVNULL)
    tmpdir.cleanup()
    if p.returncode in (126, 127):
        pytest.skip(f"the build tree is not reachable by uid 65534: {p.stderr.strip()}")
    got = {m[0]: (int(m[1]), int(m[2])) for m in LINE_RE.findall(p.stdout)}
    escaped = [c for c, (ret, _) in got.items() if ret != -1]
    assert not escaped, f"escaped as an unprivileged user: {escaped}\n{p.stdout}{p.stderr}"
    assert set(got) == set(CHECKS), p.stdout + p.stderr
    assert "sup alive=1" in p.stdout, p.stdout + p.stderr
    assert p.returncode == 0, p.stdout + p.stderr


# --- the supervisor's threads ----------------------------------------------

THREADS_SRC = r"""
import ctypes, errno, os, signal
libc = ctypes.CDLL(None, use_errno=True)
SYS_tkill, SYS_pidfd_open, SYS_prlimit64 = 200, 434, 302
PIDFD_THREAD = os.O_EXCL
sup = os.getppid()
tids = [int(t) for t in os.listdir("/proc/%d/task" % sup) if int(t) != sup]
print("threads", len(tids))
def res(ret):
    return "ok" if ret != -1 else errno.errorcode[ctypes.get_errno()]
for t in tids:
    out = []
    for sig in (0, signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(t, sig)
            out.append("kill%d=ok" % sig)
        except OSError as e:
            out.append("kill%d=%s" % (sig, errno.errorcode[e.errno]))
    out.append("tkill=" + res(libc.syscall(SYS_tkill, t, 0)))
    out.append("pidfd=" + res(libc.syscall(SYS_pidfd_open, t, PIDFD_THREAD)))
    out.append("prlimit=" + res(libc.syscall(SYS_prlimit64, t, 7, None, None)))
    try:
        os.sched_setaffinity(t, {0})
        out.append("affinity=ok")
    except OSError as e:
        out.append("affinity=" + errno.errorcode[e.errno])
    print("tid", " ".join(out))
print("alive")
"""


def test_supervisor_threads_are_protected_like_its_pid(run_fnguard, tmp_path, kernel_tier):
    """With a code section the supervisor keeps the pre-launch scan's
    threads while the workload runs. A signal to any thread id reaches
    the whole supervisor, so each id is refused like the supervisor's pid:
    kill, tkill, pidfd_open, prlimit and sched_setaffinity all get EPERM,
    and the supervisor outlives the attempts."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "m.py").write_text("X = 1\n")
    s = write_script(tmp_path / "w.py", THREADS_SRC, 0o644)
    res = run_fnguard(f"version: 1\ncode:\n  paths: [{app}]\n", [PY, s])
    assert res.returncode == 0, res.dump()
    n = int(re.search(r"^threads (\d+)$", res.stdout, re.M)[1])
    assert n >= 1, res.dump()
    lines = re.findall(r"^tid (.*)$", res.stdout, re.M)
    assert len(lines) == n and "alive" in res.stdout, res.dump()
    for line in lines:
        assert set(line.split()) == {"kill0=EPERM", "kill19=EPERM", "kill9=EPERM",
                                     "tkill=EPERM", "pidfd=EPERM", "prlimit=EPERM",
                                     "affinity=EPERM"}, res.dump()
    assert res.of("exit"), res.dump()
