"""exec: the initial command and allowed programs run, anything else is
refused by every route a workload has to execve/execveat."""
import os
import shutil
import subprocess

import pytest

from conftest import (EXIT_VIOLATION, NODE, PY, base_env, exec_policy, helper,
                      write_script)

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
    """action: log lets it run and logs it as allowed (without log.allowed)."""
    build, is_path, _ = VECTORS[vector]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="log"), build(tmp_path, marker))
    assert res.returncode == 0, res.dump()
    assert marker.exists(), "action log must let the program run\n" + res.dump()
    assert _violations(res, "allow", is_path), "no exec/allow line\n" + res.dump()
    assert not [e for e in res.events if e["action"] in ("kill", "deny", "audit")], res.dump()


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
