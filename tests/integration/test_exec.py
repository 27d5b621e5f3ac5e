"""exec: the initial command and allowed programs run, anything else is
refused by every route a workload has to execve/execveat."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import (EXIT_VIOLATION, FNGUARD, NODE, PY, TIMEOUT, base_env,
                      exec_policy, helper, write_script)

TOUCH = "/usr/bin/touch"
SHELLS = {"/bin/sh", "/usr/bin/sh", "/usr/bin/dash", "/bin/dash"}

# Each workload tries to run TARGET MARKER once, prints what it saw
# ("errno=N", "ran ...") and then "CONTINUED".
PY_SUBPROCESS = """
import subprocess, sys
t, m = sys.argv[1], sys.argv[2]
try:
    r = subprocess.run([t, m], timeout=20)
    print("ran status=%d" % r.returncode)
except OSError as e:
    print("errno=%d" % e.errno)
print("CONTINUED", flush=True)
"""

PY_OS_SYSTEM = """
import os, sys
st = os.system("%s %s" % (sys.argv[1], sys.argv[2]))
print("system status=%d" % st)
print("CONTINUED", flush=True)
"""

PY_POSIX_SPAWN = """
import os, sys
t, m = sys.argv[1], sys.argv[2]
try:
    pid = os.posix_spawn(t, [t, m], dict(os.environ))
    _, st = os.waitpid(pid, 0)
    print("ran status=%d" % st)
except OSError as e:
    print("errno=%d" % e.errno)
print("CONTINUED", flush=True)
"""

# Raw execve (nr 59) through libc's syscall(), in a forked child; the pipe is
# close-on-exec, so it is empty when the exec succeeded.
PY_CTYPES_EXECVE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
t, m = sys.argv[1].encode(), sys.argv[2].encode()
argv = (ctypes.c_char_p * 3)(t, m, None)
envp = (ctypes.c_char_p * 1)(None)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    libc.syscall(ctypes.c_long(59), ctypes.c_char_p(t), argv, envp)
    os.write(w, str(ctypes.get_errno()).encode())
    os._exit(127)
os.close(w)
err = os.read(r, 16)
_, st = os.waitpid(pid, 0)
print(("errno=" + err.decode()) if err else ("ran status=%d" % st))
print("CONTINUED", flush=True)
"""

# execveat(dirfd of /usr/bin, "touch"): a relative name the supervisor must
# resolve against the directory fd, not against the cwd.
PY_EXECVEAT_DIRFD = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
d, name = os.path.split(sys.argv[1])
m = sys.argv[2].encode()
argv = (ctypes.c_char_p * 3)(name.encode(), m, None)
envp = (ctypes.c_char_p * 1)(None)
os.chdir("/")
dfd = os.open(d, os.O_PATH | os.O_DIRECTORY)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    libc.syscall(ctypes.c_long(322), ctypes.c_int(dfd), ctypes.c_char_p(name.encode()),
                 argv, envp, ctypes.c_int(0))
    os.write(w, str(ctypes.get_errno()).encode())
    os._exit(127)
os.close(w)
err = os.read(r, 16)
_, st = os.waitpid(pid, 0)
print(("errno=" + err.decode()) if err else ("ran status=%d" % st))
print("CONTINUED", flush=True)
"""

# A relative path resolved against the cwd.
PY_RELATIVE_CWD = """
import os, subprocess, sys
d, name = os.path.split(sys.argv[1])
try:
    r = subprocess.run(["./" + name, sys.argv[2]], cwd=d, timeout=20)
    print("ran status=%d" % r.returncode)
except OSError as e:
    print("errno=%d" % e.errno)
print("CONTINUED", flush=True)
"""

# A thread other than the main one calls execve: the kernel gives the
# thread group leader's pid to the new image (de_thread).
PY_THREAD_EXECV = """
import os, sys, threading, time
t, m = sys.argv[1], sys.argv[2]
pid = os.fork()
if pid == 0:
    def go():
        try:
            os.execv(t, [t, m])
        except OSError as e:
            print("errno=%d" % e.errno, flush=True)
            os._exit(0)
    th = threading.Thread(target=go)
    th.start()
    time.sleep(20)
    os._exit(3)
_, st = os.waitpid(pid, 0)
print("child status=%d" % st)
print("CONTINUED", flush=True)
"""

NODE_EXECSYNC = """
const cp = require('child_process');
const [t, m] = process.argv.slice(2);
try {
  cp.execSync(t + ' ' + m, {stdio: 'inherit', timeout: 20000});
  console.log('ran');
} catch (e) {
  console.log('error code=' + e.code + ' errno=' + e.errno + ' status=' + e.status);
}
console.log('CONTINUED');
"""

NODE_SPAWNSYNC = """
const cp = require('child_process');
const [t, m] = process.argv.slice(2);
const r = cp.spawnSync(t, [m], {stdio: 'inherit', timeout: 20000});
if (r.error) console.log('error code=' + r.error.code + ' errno=' + r.error.errno);
else console.log('ran status=' + r.status);
console.log('CONTINUED');
"""


def _py(src):
    def build(tmp, marker, target=TOUCH):
        s = write_script(tmp / "w.py", src, 0o644)
        return [PY, str(s), str(target), str(marker)]
    return build


def _node(src):
    def build(tmp, marker):
        s = write_script(tmp / "w.js", src, 0o644)
        return [NODE, str(s), TOUCH, str(marker)]
    return build


def _vfork(tmp, marker):
    return [helper("vfork_exec"), TOUCH, str(marker)]


def _memfd(tmp, marker):
    return [helper("memfd_exec"), TOUCH, "touch", str(marker)]


def _is_touch(p):
    return p == TOUCH


def _is_shell(p):
    return p in SHELLS


def _any(p):
    return isinstance(p, str) and p != ""


# name: (argv builder, which exec is the violation, what "refused" looks like)
VECTORS = {
    "subprocess": (_py(PY_SUBPROCESS), _is_touch, "errno=13"),
    "os_system": (_py(PY_OS_SYSTEM), _is_shell, "system status=32512"),
    "posix_spawn": (_py(PY_POSIX_SPAWN), _is_touch, "errno=13"),
    "ctypes_execve": (_py(PY_CTYPES_EXECVE), _is_touch, "errno=13"),
    "vfork_execve": (_vfork, _is_touch, "execve errno=13"),
    "memfd_execveat": (_memfd, _any, "execveat errno=13"),
    "execveat_dirfd": (_py(PY_EXECVEAT_DIRFD), _is_touch, "errno=13"),
    "relative_cwd": (_py(PY_RELATIVE_CWD), _is_touch, "errno=13"),
    "thread_execv": (_py(PY_THREAD_EXECV), _is_touch, "errno=13"),
    "node_execSync": (_node(NODE_EXECSYNC), _is_shell, "code=EACCES"),
    "node_spawnSync": (_node(NODE_SPAWNSYNC), _is_touch, "code=EACCES"),
}


def _violations(res, action, is_path):
    return [e for e in res.of("exec", action=action) if is_path(e.get("path"))]


@pytest.mark.parametrize("vector", VECTORS)
def test_forbidden_exec_kill(run_fnguard, tmp_path, kernel_tier, vector):
    build, is_path, _ = VECTORS[vector]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="kill"), build(tmp_path, marker))
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), "the forbidden program ran\n" + res.dump()
    assert "CONTINUED" not in res.stdout, "the workload went on after a kill\n" + res.dump()
    hits = _violations(res, "kill", is_path)
    assert hits, "no exec/kill line naming the forbidden program\n" + res.dump()
    if is_path is _is_touch:
        assert str(marker) in hits[0].get("argv", []), res.dump()
    assert hits[0].get("reason"), res.dump()


@pytest.mark.parametrize("vector", VECTORS)
def test_forbidden_exec_deny(run_fnguard, tmp_path, kernel_tier, vector):
    build, is_path, refused = VECTORS[vector]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="deny"), build(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert not marker.exists(), "the forbidden program ran\n" + res.dump()
    assert refused in res.stdout, f"workload did not see EACCES ({refused!r})\n" + res.dump()
    assert "CONTINUED" in res.stdout, res.dump()
    assert _violations(res, "deny", is_path), "no exec/deny line\n" + res.dump()
    assert not res.of("exec", action="kill"), res.dump()


@pytest.mark.parametrize("vector", VECTORS)
def test_forbidden_exec_log_action(run_fnguard, tmp_path, kernel_tier, vector):
    """action: log lets it run and logs the violation as "audit" (written even
    without log.allowed: it is a violation let through, not an allowed exec)."""
    build, is_path, _ = VECTORS[vector]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="log"), build(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), "action log must let the program run\n" + res.dump()
    assert _violations(res, "audit", is_path), "no exec/audit line\n" + res.dump()
    assert not [e for e in res.events if e["action"] in ("kill", "deny")], res.dump()


@pytest.mark.parametrize("vector", VECTORS)
def test_forbidden_exec_audit_mode(run_fnguard, tmp_path, kernel_tier, vector):
    build, is_path, _ = VECTORS[vector]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="kill", mode="audit"),
                      build(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), "audit mode must let the program run\n" + res.dump()
    assert _violations(res, "audit", is_path), "no exec/audit line\n" + res.dump()
    assert not [e for e in res.events if e["action"] in ("kill", "deny")], res.dump()


def test_audit_mode_from_cli(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="kill"),
                      _py(PY_SUBPROCESS)(tmp_path, marker), mode="audit")
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()
    assert _violations(res, "audit", _is_touch), res.dump()
    assert "ran status=0" in res.stdout, res.dump()


def test_allowed_exec_runs(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    pol = exec_policy([TOUCH]) + "log:\n  allowed: true\n"
    res = run_fnguard(pol, _py(PY_SUBPROCESS)(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), "the allowed program did not run\n" + res.dump()
    assert "ran status=0" in res.stdout, res.dump()
    allowed = [e for e in res.of("exec", action="allow") if e.get("path") == TOUCH]
    assert allowed, "log.allowed: true must log the allowed exec\n" + res.dump()
    assert allowed[0].get("rule") == TOUCH, res.dump()


def test_allowed_exec_not_logged_by_default(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy([TOUCH]), _py(PY_SUBPROCESS)(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()
    assert not res.of("exec"), "allowed execs are logged only with log.allowed\n" + res.dump()


def test_allowed_exec_glob_node(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/to*"]), _node(NODE_SPAWNSYNC)(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()


def test_no_exec_section_allows_everything(run_fnguard, tmp_path):
    marker = tmp_path / "MARKER"
    res = run_fnguard("version: 1\n", _py(PY_SUBPROCESS)(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()


def test_exec_section_without_allow(run_fnguard, tmp_path, kernel_tier):
    """exec: present with no allow → only the initial command may run."""
    marker = tmp_path / "MARKER"
    res = run_fnguard("version: 1\nexec:\n  action: kill\n", _py(PY_SUBPROCESS)(tmp_path, marker))
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), res.dump()


def test_top_level_action_deny_inherited(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    pol = "version: 1\naction: deny\nexec:\n  allow: [/usr/bin/true]\n"
    res = run_fnguard(pol, _py(PY_SUBPROCESS)(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert "errno=13" in res.stdout, res.dump()
    assert not marker.exists(), res.dump()


def test_section_action_overrides_top_level(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    pol = "version: 1\naction: deny\nexec:\n  allow: [/usr/bin/true]\n  action: kill\n"
    res = run_fnguard(pol, _py(PY_SUBPROCESS)(tmp_path, marker))
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), res.dump()


def test_default_action_is_kill(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"]), _py(PY_SUBPROCESS)(tmp_path, marker))
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), res.dump()


def test_kill_takes_whole_tree(run_fnguard, tmp_path, kernel_tier):
    """A violation in a grandchild ends the top process too, and nothing of
    the tree survives."""
    marker = tmp_path / "MARKER"
    pids = tmp_path / "pids"
    src = f"""
import os, subprocess, sys, time
if os.fork() == 0:
    time.sleep(0.3)
    subprocess.run(["{TOUCH}", "{marker}"])
    os._exit(0)
with open("{pids}", "w") as f:
    f.write(str(os.getpid()))
time.sleep(30)
print("CONTINUED")
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy(["/usr/bin/true"]), [PY, s], timeout=60)
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), res.dump()
    top = int(pids.read_text())
    assert not os.path.exists(f"/proc/{top}") or _zombie(top), "top process survived"


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


# --- a thread races the path the supervisor checks -------------------------

@pytest.mark.parametrize("action", ["kill", "deny"])
def test_exec_path_race(run_fnguard, tmp_path, kernel_tier, action):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    ok, ko = bindir / "ok", bindir / "ko"
    shutil.copy("/usr/bin/true", ok)
    shutil.copy(TOUCH, ko)
    race = helper("exec_race")
    # Without fnguard the forbidden program wins within a few rounds; if it
    # does not, this test proves nothing.
    bare_marker = tmp_path / "BARE"
    subprocess.run([race, "300", ok, ko, bare_marker], timeout=60, capture_output=True)
    assert bare_marker.exists(), "race helper never ran the forbidden program bare"

    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy([str(ok)], action=action),
                      [race, "400", ok, ko, marker], timeout=240)
    assert not marker.exists(), "a racing thread got the forbidden program run\n" + res.dump()
    if action == "kill":
        assert res.returncode == EXIT_VIOLATION, res.dump()
    else:
        # Refused each time (EACCES) — or caught after the exec and killed.
        assert res.returncode in (0, EXIT_VIOLATION), res.dump()
        if res.returncode == 0:
            assert "rounds=400" in res.stdout, res.dump()
            assert res.of("exec", action="deny"), res.dump()


def test_exec_script_race_same_interpreter(run_fnguard, tmp_path, kernel_tier):
    """Two #! scripts with the same interpreter: the image identity alone
    cannot tell them apart, the script name handed to the interpreter can."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    ok, ko = bindir / "ok", bindir / "ko"
    write_script(ok, "#!/bin/sh\nexit 0\n")
    write_script(ko, '#!/bin/sh\n/usr/bin/touch "$1"\n')
    race = helper("exec_race")
    bare_marker = tmp_path / "BARE"
    subprocess.run([race, "300", ok, ko, bare_marker], timeout=60, capture_output=True)
    assert bare_marker.exists(), "race helper never ran the forbidden script bare"

    # deny: a refused read of "ko" lets the helper try again, so the race
    # window is really exercised (kill would end it at the first refusal).
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy([str(ok), "/usr/bin/touch"], action="deny"),
                      [race, "400", ok, ko, marker], timeout=240)
    assert not marker.exists(), "a racing thread got the forbidden script run\n" + res.dump()
    assert res.returncode in (0, EXIT_VIOLATION), res.dump()
    if res.returncode == EXIT_VIOLATION:
        caught = [e for e in res.of("exec", action="kill") if e.get("rule") == "exec.identity"]
        assert caught, res.dump()


# --- scripts, PATH lookup, re-exec ----------------------------------------

def test_script_as_command(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    s = write_script(tmp_path / "job.sh", f"#!/bin/sh\necho ran > {marker}\nexit 4\n")
    res = run_fnguard(exec_policy([]), [s])
    assert res.returncode == 4, res.dump()
    assert marker.read_text() == "ran\n", res.dump()


def test_script_as_allowed_child_with_interpreter(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    s = write_script(tmp_path / "job.sh", "#!/bin/sh\necho ran > \"$1\"\n")
    res = run_fnguard(exec_policy([s, "/bin/sh", "/usr/bin/dash"]),
                      _py(PY_SUBPROCESS)(tmp_path, marker, s))
    assert res.returncode == 0, res.dump()
    assert marker.read_text() == "ran\n", res.dump()


def test_script_as_allowed_child(run_fnguard, tmp_path, kernel_tier):
    """Allowing a script allows running it; its #! interpreter is started by
    the kernel, not by the workload."""
    marker = tmp_path / "MARKER"
    s = write_script(tmp_path / "job.sh", "#!/bin/sh\necho ran > \"$1\"\n")
    res = run_fnguard(exec_policy([s]), _py(PY_SUBPROCESS)(tmp_path, marker, s))
    assert res.returncode == 0, res.dump()
    assert marker.read_text() == "ran\n", res.dump()


def test_path_lookup_uses_real_path(run_fnguard, tmp_path, kernel_tier):
    """With /bin (a symlink to usr/bin) first in PATH, `env touch` runs
    /bin/touch, whose real path /usr/bin/touch is what /usr/bin/* allows."""
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/*"]), ["env", "touch", marker],
                      env=base_env(PATH="/bin:/usr/bin"))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()


def test_path_lookup_forbidden(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"]), ["env", "touch", marker],
                      env=base_env(PATH="/bin:/usr/bin"))
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), res.dump()
    assert [e for e in res.of("exec", action="kill")
            if e.get("path") in ("/bin/touch", "/usr/bin/touch")], res.dump()


def test_reexec_of_initial_command(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    src = f"""
import os, sys
if len(sys.argv) == 1:
    os.execv(sys.executable, [sys.executable, sys.argv[0], "again"])
open("{marker}", "w").write("again")
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy([]), [PY, s])
    assert res.returncode == 0, res.dump()
    assert marker.read_text() == "again", res.dump()


# --- odd arguments ------------------------------------------------------------

def test_exec_bad_pointer(run_fnguard, tmp_path, kernel_tier):
    """execve with an unmapped path pointer fails with EFAULT; the
    supervisor reading that memory must neither crash nor allow anything."""
    src = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for addr in (1, 0xdead0000, (1 << 47) - 1):
    r = libc.syscall(ctypes.c_long(59), ctypes.c_void_p(addr), None, None)
    print("ret=%d errno=%d" % (r, ctypes.get_errno()), flush=True)
print("CONTINUED", flush=True)
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="deny"), [PY, s])
    assert res.returncode in (0, EXIT_VIOLATION), res.dump()
    if res.returncode == 0:
        assert res.stdout.count("ret=-1 errno=14") == 3, res.dump()
        assert "CONTINUED" in res.stdout, res.dump()
    assert res.of("exit"), res.dump()


HUGE_ARGV = """
import subprocess, sys
t, m = sys.argv[1], sys.argv[2]
args = [t, m] + ["A" * 200 + str(i) for i in range(4000)]   # ~800 KiB
try:
    r = subprocess.run(args, timeout=30)
    print("ran status=%d" % r.returncode)
except OSError as e:
    print("errno=%d" % e.errno)
print("CONTINUED", flush=True)
"""


def test_huge_argv_allowed(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    s = write_script(tmp_path / "w.py", HUGE_ARGV, 0o644)
    res = run_fnguard(exec_policy([TOUCH]), [PY, s, TOUCH, marker])
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()


def test_huge_argv_forbidden_logged_truncated(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    s = write_script(tmp_path / "w.py", HUGE_ARGV, 0o644)
    res = run_fnguard(exec_policy(["/usr/bin/true"]), [PY, s, TOUCH, marker])
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), res.dump()
    k = [e for e in res.of("exec", action="kill") if e.get("path") == TOUCH]
    assert k, res.dump()
    assert k[0]["argv"][:2] == [TOUCH, str(marker)], res.dump()
    # One line per decision stays a sane size.
    assert max(len(l) for l in res.log_path.read_text().splitlines()) < 64 * 1024


def test_stdio_passthrough(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text(exec_policy([]))
    src = "import sys; d = sys.stdin.read(); print(d.upper()); sys.stderr.write('err:' + d)"
    p = subprocess.run([FNGUARD, "run", "-p", pol, "--log", tmp_path / "log", "--",
                        PY, "-c", src], input="hello\n", capture_output=True, text=True,
                       timeout=TIMEOUT, env=base_env())
    assert p.returncode == 0, p.stderr
    assert p.stdout == "HELLO\n\n", p.stdout
    assert p.stderr == "err:hello\n", p.stderr


def test_violation_kills_detached_daemon(run_fnguard, tmp_path, kernel_tier):
    """A kill verdict ends every process of the workload, also one that
    double-forked and called setsid() before the violation."""
    marker = tmp_path / "MARKER"
    daemon = tmp_path / "daemon.pid"
    src = f"""
import os, subprocess, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("{daemon}.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("{daemon}.tmp", "{daemon}")
        time.sleep(60)
    os._exit(0)
while not os.path.exists("{daemon}"):
    time.sleep(0.01)
subprocess.run(["{TOUCH}", "{marker}"])
time.sleep(30)
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy(["/usr/bin/true"]), [PY, s])
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), res.dump()
    pid = int(daemon.read_text())
    try:
        end = time.monotonic() + 5
        while time.monotonic() < end and not _zombie(pid):
            time.sleep(0.05)
        assert _zombie(pid), f"daemon {pid} outlived the kill verdict\n" + res.dump()
    finally:
        if not _zombie(pid):
            os.kill(pid, 9)


def test_allow_by_symlink_name(run_fnguard, tmp_path, kernel_tier):
    """allow: [/bin/sh] lets the workload run /bin/sh although the file the
    kernel runs is /usr/bin/dash (/bin -> usr/bin, sh -> dash)."""
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/bin/sh"]), [PY, "-c",
                      f"import os, sys; sys.exit(os.system('echo ok > {marker}') >> 8)"])
    assert res.returncode == 0, res.dump()
    assert marker.read_text() == "ok\n", res.dump()


def test_no_process_outlives_fnguard(run_fnguard, tmp_path):
    """When the top process exits, no process of the workload is left
    running without a supervisor (fnguard either waits for it or ends it)."""
    pidf = tmp_path / "bg.pid"
    done = tmp_path / "BG_DONE"
    src = f"""
import os, sys, time
if os.fork() == 0:
    with open("{pidf}.tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename("{pidf}.tmp", "{pidf}")
    time.sleep(2)
    open("{done}", "w").close()
    os._exit(0)
while not os.path.exists("{pidf}"):
    time.sleep(0.01)
sys.exit(4)
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy([]), [PY, s])
    assert res.returncode == 4, res.dump()
    pid = int(pidf.read_text())
    if done.exists():
        return  # fnguard waited for it, supervised, before exiting
    try:
        end = time.monotonic() + 5
        while time.monotonic() < end and not _zombie(pid):
            time.sleep(0.05)
        assert _zombie(pid), "a workload process runs on after fnguard exited"
        time.sleep(2.5)
        assert not done.exists(), "a workload process ran on unsupervised"
    finally:
        if not _zombie(pid):
            os.kill(pid, 9)


# --- symlinks: the real file is judged --------------------------------------

def test_symlink_under_allowed_glob_does_not_launder(run_fnguard, tmp_path, kernel_tier):
    """/tmp/x/** allowed; a link there to touch must not run touch."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    marker = tmp_path / "MARKER"
    src = (f"import os, subprocess\n"
           f"os.symlink('{TOUCH}', '{bindir}/t')\n"
           f"subprocess.run(['{bindir}/t', '{marker}'])\n")
    res = run_fnguard(exec_policy([f"{bindir}/**"]), [PY, "-c", src])
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), "a symlink under an allowed glob ran what it points to"
    kill = res.one("exec", action="kill")
    assert kill["path"] == f"{bindir}/t" and kill["real_path"] == TOUCH, res.dump()


def test_allow_entry_through_symlinked_dir(run_fnguard, tmp_path, kernel_tier):
    """An entry written through a symlinked directory (a link to /usr/bin)
    still allows the program: fnguard resolves the entry, not only the exec."""
    link = tmp_path / "ubin"
    link.symlink_to("/usr/bin")
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy([f"{link}/tou*"]),
                      [PY, "-c", f"import subprocess; subprocess.run(['{TOUCH}', '{marker}'])"])
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()
