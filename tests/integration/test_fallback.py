"""Fallback and refusal paths, exercised on this kernel: a helper loads a
seccomp filter that refuses one newer feature, then execs fnguard."""
import json
import subprocess

from conftest import (EXIT_FNGUARD_FAILED, EXIT_VIOLATION, FNGUARD, PY, TIMEOUT, base_env,
                      helper)

POLICY = "version: 1\nexec:\n  allow: [/usr/bin/true]\n"


def env_for(mode):
    # LeakSanitizer stops the world with ptrace at exit: where the helper
    # refuses ptrace, an ASan build of fnguard could not run its leak check.
    return base_env(ASAN_OPTIONS="detect_leaks=0") if mode == "ptrace" else base_env()


def refused_run(tmp_path, mode, script, policy=POLICY):
    pol = tmp_path / "p.yaml"
    pol.write_text(policy)
    log = tmp_path / "log.jsonl"
    cmd = [helper("refuse"), mode, FNGUARD, "run", "-p", str(pol), "--log", str(log), "--",
           PY, "-c", script]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env_for(mode),
                       cwd=tmp_path, stdin=subprocess.DEVNULL)
    events = [json.loads(line) for line in log.read_text().splitlines()] \
        if log.exists() else []
    return p, events


def test_without_wait_killable_recv_still_enforces(tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    p, events = refused_run(
        tmp_path, "killable",
        f"import subprocess; subprocess.run(['/usr/bin/touch', '{marker}'])")
    assert p.returncode == EXIT_VIOLATION, p.stderr
    assert not marker.exists()
    start = [e for e in events if e["event"] == "start"][0]
    assert start["features"]["wait_killable_recv"] is False, start
    kills = [e for e in events if e["event"] == "exec" and e["action"] == "kill"]
    assert kills and kills[0]["path"] == "/usr/bin/touch", events


def test_without_wait_killable_recv_allowed_exec_runs(tmp_path, kernel_tier):
    p, events = refused_run(tmp_path, "killable",
                            "import subprocess; print(subprocess.run(['/usr/bin/true']).returncode)")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "0"


# Without `require: kernel` these step down to the preload tier
# (test_preload.py); with it, the workload must not start.
REQUIRE_KERNEL = POLICY + "require: kernel\n"


def test_ptrace_refused_fails_closed(tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    p, events = refused_run(tmp_path, "ptrace", f"open('{marker}', 'w').close()",
                            REQUIRE_KERNEL)
    assert p.returncode == EXIT_FNGUARD_FAILED, p.stderr
    assert not marker.exists(), "the workload must never start without its supervisor"
    assert "ptrace" in p.stderr and "Hint:" in p.stderr, p.stderr


def test_seccomp_refused_fails_closed(tmp_path, kernel_tier):
    marker = tmp_path / "MARKER"
    p, events = refused_run(tmp_path, "seccomp", f"open('{marker}', 'w').close()",
                            REQUIRE_KERNEL)
    assert p.returncode == EXIT_FNGUARD_FAILED, p.stderr
    assert not marker.exists()
    assert "seccomp" in p.stderr, p.stderr


def test_probe_reports_refusals(kernel_tier):
    for mode, key in (("ptrace", "ptrace"), ("seccomp", "seccomp_filter"),
                      ("killable", "wait_killable_recv")):
        p = subprocess.run([helper("refuse"), mode, FNGUARD, "probe", "--json"],
                           capture_output=True, text=True, timeout=TIMEOUT, env=env_for(mode))
        assert p.returncode == 0, p.stderr
        caps = json.loads(p.stdout)
        assert caps[key] is False, (mode, caps)
        if mode != "killable":
            assert caps["tier"] == "preload" and caps["tier_reason"], caps
        else:
            assert caps["tier"] == "kernel", caps


def test_without_pidfd_getfd_the_broker_enforces_network_rules(tmp_path, kernel_tier):
    """Docker's default profile refuses pidfd_getfd: fnguard then creates
    the workload's sockets itself (test_broker.py) instead of deciding on
    memory the workload can still change; exec control is unchanged."""
    pol = tmp_path / "net.yaml"
    pol.write_text("version: 1\nnetwork:\n  allow: [api.example.com]\n  loopback: false\n")
    log = tmp_path / "net.jsonl"
    p = subprocess.run([helper("refuse"), "getfd", FNGUARD, "run", "-p", str(pol), "--log",
                        str(log), "--", PY, "-c",
                        "import socket; socket.create_connection(('127.0.0.9', 9), 2)"],
                       capture_output=True, text=True, timeout=TIMEOUT, env=base_env(),
                       stdin=subprocess.DEVNULL)
    assert p.returncode == EXIT_VIOLATION, p.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()]
    start = [e for e in events if e["event"] == "start"][0]
    assert start["features"]["pidfd_getfd"] is False, start
    assert start["features"]["socket_broker"] is True, start
    assert [e["addr"] for e in events if e["event"] == "connect"] == ["127.0.0.9"], events
    p2, events = refused_run(tmp_path, "getfd",
                             "import subprocess; subprocess.run(['/usr/bin/id'])")
    assert p2.returncode == EXIT_VIOLATION, p2.stderr
    start = [e for e in events if e["event"] == "start"][0]
    assert start["features"]["pidfd_getfd"] is False, start
    assert start["features"]["socket_broker"] is False, start  # no network rules
