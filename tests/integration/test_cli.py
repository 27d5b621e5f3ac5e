"""CLI surface: --version, --help, probe, policy lookup, 126/127/125."""
import json
import os
import re
import subprocess

import pytest

from conftest import (EXIT_FNGUARD_FAILED, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND,
                      EXIT_VIOLATION, FNGUARD, PY, TIMEOUT, base_env, exec_policy,
                      write_script)


def fng(*args, env=None, cwd=None):
    return subprocess.run([FNGUARD, *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env or base_env(), cwd=cwd,
                          stdin=subprocess.DEVNULL)


def test_version():
    p = fng("--version")
    assert p.returncode == 0, p.stderr
    assert re.search(r"\b\d+\.\d+\.\d+\b", p.stdout), p.stdout


def test_help():
    p = fng("--help")
    assert p.returncode == 0, p.stderr
    for word in ("run", "check", "probe", "--mode", "--log", "--tier"):
        assert word in p.stdout, f"--help does not mention {word}:\n{p.stdout}"


def test_unknown_subcommand_fails():
    p = fng("frobnicate")
    assert p.returncode != 0, p.stdout


def test_probe_json():
    p = fng("probe", "--json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    for k in ("seccomp_user_notif", "ptrace", "pidfd_getfd"):
        assert isinstance(j.get(k), bool), f"{k}: {j.get(k)!r}"
    assert j.get("tier") in ("kernel", "preload"), j
    avail = open("/proc/sys/kernel/seccomp/actions_avail").read().split()
    assert j["seccomp_user_notif"] == ("user_notif" in avail), j
    if j["seccomp_user_notif"] and j["ptrace"]:
        assert j["tier"] == "kernel", j
    if os.geteuid() == 0:
        # Linux >= 5.6 and CAP_SYS_PTRACE: pidfd_getfd works.
        assert j["pidfd_getfd"] is True, j


def test_probe_text():
    p = fng("probe")
    assert p.returncode == 0, p.stderr
    assert "kernel" in p.stdout or "preload" in p.stdout, p.stdout


# --- policy lookup ----------------------------------------------------------

TOUCHER = "import subprocess, sys; subprocess.run(['/usr/bin/touch', sys.argv[1]])"


def test_missing_policy_is_125(tmp_path):
    marker = tmp_path / "MARKER"
    p = fng("run", "--", "/usr/bin/touch", marker,
            env=base_env(FNGUARD_POLICY=None, LAMBDA_TASK_ROOT=None))
    assert p.returncode == EXIT_FNGUARD_FAILED, p.stderr
    assert not marker.exists(), "workload started without a policy"
    assert p.stderr.strip(), "no message saying why"


def test_policy_file_not_found_is_125(tmp_path):
    marker = tmp_path / "MARKER"
    p = fng("run", "-p", tmp_path / "nope.yaml", "--", "/usr/bin/touch", marker)
    assert p.returncode == EXIT_FNGUARD_FAILED, p.stderr
    assert not marker.exists()


def test_fnguard_policy_env(tmp_path, kernel_tier):
    strict = tmp_path / "strict.yaml"
    strict.write_text(exec_policy(["/usr/bin/true"]))
    marker = tmp_path / "MARKER"
    p = fng("run", "--log", tmp_path / "log", "--", PY, "-c", TOUCHER, marker,
            env=base_env(FNGUARD_POLICY=str(strict)))
    assert p.returncode == EXIT_VIOLATION, p.stderr
    assert not marker.exists()


def test_lambda_task_root_policy(tmp_path, kernel_tier):
    (tmp_path / "fnguard.yaml").write_text(exec_policy(["/usr/bin/true"]))
    marker = tmp_path / "MARKER"
    p = fng("run", "--log", tmp_path / "log", "--", PY, "-c", TOUCHER, marker,
            env=base_env(LAMBDA_TASK_ROOT=str(tmp_path)))
    assert p.returncode == EXIT_VIOLATION, p.stderr
    assert not marker.exists()


def test_dash_p_wins_over_env(tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text(exec_policy(["/usr/bin/true"]))
    (tmp_path / "fnguard.yaml").write_text(exec_policy(["/usr/bin/true"]))
    loose = tmp_path / "loose.yaml"
    loose.write_text("version: 1\n")
    marker = tmp_path / "MARKER"
    p = fng("run", "-p", loose, "--log", tmp_path / "log", "--", PY, "-c", TOUCHER, marker,
            env=base_env(FNGUARD_POLICY=str(strict), LAMBDA_TASK_ROOT=str(tmp_path)))
    assert p.returncode == 0, p.stderr
    assert marker.exists()


def test_env_wins_over_task_root(tmp_path):
    root = tmp_path / "task"
    root.mkdir()
    (root / "fnguard.yaml").write_text(exec_policy(["/usr/bin/true"]))
    loose = tmp_path / "loose.yaml"
    loose.write_text("version: 1\n")
    marker = tmp_path / "MARKER"
    p = fng("run", "--log", tmp_path / "log", "--", PY, "-c", TOUCHER, marker,
            env=base_env(FNGUARD_POLICY=str(loose), LAMBDA_TASK_ROOT=str(root)))
    assert p.returncode == 0, p.stderr
    assert marker.exists()


# --- the command itself -------------------------------------------------------

def test_command_not_found_absolute(run_fnguard, tmp_path):
    res = run_fnguard(exec_policy([]), [tmp_path / "no-such-program"])
    assert res.returncode == EXIT_NOT_FOUND, res.dump()


def test_command_not_found_in_path(run_fnguard):
    res = run_fnguard(exec_policy([]), ["fnguard-no-such-command-xyz"])
    assert res.returncode == EXIT_NOT_FOUND, res.dump()


def test_command_not_executable(run_fnguard, tmp_path):
    s = write_script(tmp_path / "plain.sh", "#!/bin/sh\nexit 0\n", 0o644)
    res = run_fnguard(exec_policy([]), [s])
    assert res.returncode == EXIT_NOT_EXECUTABLE, res.dump()


def test_command_is_directory(run_fnguard, tmp_path):
    res = run_fnguard(exec_policy([]), [tmp_path])
    assert res.returncode == EXIT_NOT_EXECUTABLE, res.dump()


def test_command_via_path(run_fnguard, tmp_path):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy([]), ["touch", marker])
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()


def test_bad_mode_option_is_125(run_fnguard, tmp_path):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy([]), ["/usr/bin/touch", marker], mode="sneaky")
    assert res.returncode == EXIT_FNGUARD_FAILED, res.dump()
    assert not marker.exists(), res.dump()


def test_tier_kernel_forced(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy([]), ["/usr/bin/touch", marker], tier="kernel")
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()
    assert res.one("start")["tier"] == "kernel", res.dump()


def test_require_kernel_runs_here(run_fnguard, tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    res = run_fnguard("version: 1\nrequire: kernel\n", ["/usr/bin/touch", marker])
    assert res.returncode == 0, res.dump()
    assert marker.exists(), res.dump()


@pytest.mark.parametrize("argv", [[], ["--"]])
def test_run_without_command_fails(tmp_path, argv):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\n")
    p = fng("run", "-p", pol, *argv)
    assert p.returncode == EXIT_FNGUARD_FAILED, p.stderr


def test_unwritable_log_is_125(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\n")
    marker = tmp_path / "MARKER"
    p = fng("run", "-p", pol, "--log", tmp_path / "no" / "such" / "dir" / "log", "--",
            "/usr/bin/touch", marker)
    assert p.returncode == EXIT_FNGUARD_FAILED, p.stderr
    assert not marker.exists(), "workload ran without its log"
