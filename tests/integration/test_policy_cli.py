"""Invalid policies: `run` refuses to start the workload (exit 125) and
`check` reports every error as FILE:LINE:COL: message (exit 1)."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import (EXIT_FNGUARD_FAILED, FNGUARD, REPO, TIMEOUT, base_env)

# name: (policy text, line(s) where the error may be reported; None when
# the YAML parser decides)
BAD = {
    "yaml_syntax": ("version: 1\nexec:\n  allow: [/usr/bin/true\naction: kill\n", None),
    "yaml_tab_indent": ("version: 1\nexec:\n\tallow: [/usr/bin/true]\n", None),
    "unknown_key_top": ("version: 1\nexecute:\n  allow: [/usr/bin/true]\n", 2),
    "unknown_key_section": ("version: 1\nexec:\n  allw: [/usr/bin/true]\n", 3),
    "wrong_type_list": ("version: 1\nexec:\n  allow:\n    path: /usr/bin/true\n", (3, 4)),
    "wrong_type_bool": ("version: 1\nlog:\n  allowed: sometimes\n", 3),
    "wrong_type_section": ("version: 1\nexec: 42\n", 2),
    "bad_action": ("version: 1\naction: explode\n", 2),
    "bad_section_action": ("version: 1\nexec:\n  allow: []\n  action: shrug\n", 4),
    "bad_mode": ("version: 1\nmode: sneaky\n", 2),
    "bad_require": ("version: 1\nrequire: hypervisor\n", 2),
    "relative_exec_path": ("version: 1\nexec:\n  allow: [bin/true]\n", 3),
    "bad_glob": ("version: 1\nexec:\n  allow: ['/usr/bin/[a-']\n", 3),
    "bad_regex": ("version: 1\ncode:\n  paths: [/tmp]\n  rules:\n    - id: r1\n"
                  "      pattern: '(unclosed'\n", 6),
    "bad_cidr": ("version: 1\nnetwork:\n  allow: ['10.0.0.0/33']\n", 3),
    "bad_ipv6_cidr": ("version: 1\nnetwork:\n  allow: ['[2001:db8::]/129']\n", 3),
    "bad_port": ("version: 1\nnetwork:\n  allow: ['api.example.com:99999']\n", 3),
    "bad_version": ("version: 2\nexec:\n  allow: []\n", 1),
    "duplicate_key": ("version: 1\nexec:\n  allow: [/usr/bin/true]\nexec:\n  allow: []\n", 4),
    "duplicate_key_nested": ("version: 1\nexec:\n  allow: []\n  allow: [/usr/bin/true]\n", 4),
}


def fng(*args):
    return subprocess.run([FNGUARD, *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env(), stdin=subprocess.DEVNULL)


def _hit(line, d):
    want = line if isinstance(line, tuple) else (line,)
    return any(l in want for l, _ in d)


def diags(text, path):
    """(line, col) of every FILE:LINE:COL: message line naming path."""
    rx = re.compile(r"^" + re.escape(str(path)) + r":(\d+):(\d+): \S.*$", re.M)
    return [(int(a), int(b)) for a, b in rx.findall(text)]


@pytest.mark.parametrize("name", BAD)
def test_run_refuses_invalid_policy(tmp_path, name):
    text, line = BAD[name]
    pol = tmp_path / "bad.yaml"
    pol.write_text(text)
    marker = tmp_path / "MARKER"
    p = fng("run", "-p", pol, "--log", tmp_path / "log", "--", "/usr/bin/touch", marker)
    assert p.returncode == EXIT_FNGUARD_FAILED, f"exit {p.returncode}\n{p.stderr}"
    assert not marker.exists(), "the workload ran under an invalid policy"
    d = diags(p.stderr, pol)
    assert d, f"no {pol}:LINE:COL: message on stderr:\n{p.stderr}"
    if line is not None:
        assert _hit(line, d), f"want line {line}, got {d}\n{p.stderr}"


@pytest.mark.parametrize("name", BAD)
def test_check_rejects_invalid_policy(tmp_path, name):
    text, line = BAD[name]
    pol = tmp_path / "bad.yaml"
    pol.write_text(text)
    p = fng("check", pol)
    assert p.returncode == 1, f"exit {p.returncode}\n{p.stdout}{p.stderr}"
    d = diags(p.stdout + p.stderr, pol)
    assert d, f"no {pol}:LINE:COL: message:\n{p.stdout}{p.stderr}"
    assert all(l >= 1 and c >= 1 for l, c in d), d
    if line is not None:
        assert _hit(line, d), f"want line {line}, got {d}"


def test_check_reports_every_error(tmp_path):
    pol = tmp_path / "three.yaml"
    pol.write_text("version: 1\n"
                   "action: explode\n"
                   "exec:\n"
                   "  allow: [relative/path]\n"
                   "network:\n"
                   "  allow: ['10.0.0.0/33']\n")
    p = fng("check", pol)
    assert p.returncode == 1, p.stdout + p.stderr
    d = diags(p.stdout + p.stderr, pol)
    assert sorted({l for l, _ in d}) == [2, 4, 6], \
        f"want errors on lines 2, 4, 6; got {d}\n{p.stdout}{p.stderr}"


VALID = """version: 1
name: sns-db-checker
mode: enforce
action: kill
require: any
exec:
  allow: [/usr/bin/python3*, "/usr/lib/**"]
network:
  allow: ["*.amazonaws.com:443", "api.example.com", "10.0.0.0/8", "[2001:db8::]/32:443"]
  loopback: true
  action: kill
code:
  paths: [/var/task, /tmp]
  rules:
    - id: py-subprocess
      pattern: '\\bsubprocess\\.(call|check_call|check_output|run|Popen)\\s*\\('
  action: deny
log:
  allowed: false
"""


def test_check_accepts_valid(tmp_path):
    pol = tmp_path / "good.yaml"
    pol.write_text(VALID)
    p = fng("check", pol)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not diags(p.stdout + p.stderr, pol), p.stdout + p.stderr


def test_check_minimal(tmp_path):
    pol = tmp_path / "min.yaml"
    pol.write_text("version: 1\nexec:\n  allow: [/usr/bin/true]\naction: kill\n")
    assert fng("check", pol).returncode == 0


def test_check_many_files(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VALID)
    bad.write_text("version: 1\naction: explode\n")
    p = fng("check", good, bad)
    assert p.returncode == 1, p.stdout + p.stderr
    out = p.stdout + p.stderr
    assert diags(out, bad), out
    assert not diags(out, good), out


def test_check_missing_file(tmp_path):
    p = fng("check", tmp_path / "nope.yaml")
    assert p.returncode != 0
    assert str(tmp_path / "nope.yaml") in p.stdout + p.stderr


EXAMPLES = sorted((REPO / "policy" / "examples").glob("*.yaml"))


@pytest.mark.skipif(not EXAMPLES, reason="no policy/examples/*.yaml yet")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).name)
def test_shipped_examples_are_valid(path):
    p = fng("check", path)
    assert p.returncode == 0, p.stdout + p.stderr


def test_events_and_responses_outside_lambda_say_so(run_fnguard, tmp_path):
    """Without AWS_LAMBDA_RUNTIME_API there is no Runtime API to inspect:
    the sections are accepted and the start event says what is not done."""
    res = run_fnguard("version: 1\nevents:\n  detect: [sqli]\nresponses:\n  secrets: env\n",
                      ["/usr/bin/true"])
    assert res.returncode == 0, res.dump()
    start = res.one("start")
    assert start["features"]["runtime_api_proxy"] is False, start
    assert any("AWS_LAMBDA_RUNTIME_API" in lim for lim in start["limits"]), start


def test_events_rule_file_that_does_not_load_is_fatal(run_fnguard, tmp_path):
    marker = tmp_path / "MARKER"
    res = run_fnguard("version: 1\nevents:\n  rule_files: [missing_in_protect.txt]\n",
                      ["/usr/bin/touch", marker], log=False)
    assert res.returncode == 125, res.dump()
    assert not marker.exists()
    assert "missing_in_protect.txt" in res.stderr and "Hint:" in res.stderr, res.stderr


@pytest.mark.parametrize("tier", ["kernel", "preload"])
def test_code_rule_file_that_does_not_compile_is_fatal(run_fnguard, tmp_path, tier):
    """A code rule file with a broken pattern stops fnguard (125) before the
    workload runs anything, and says where: FILE:LINE:COL."""
    rules = tmp_path / "code_protect.txt"
    rules.write_text("# fine\n.*os\\.system.*\n(unclosed\n")
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "MARKER"
    res = run_fnguard(f"version: 1\ncode:\n  paths: [{app}]\n  rule_files: [{rules}]\n",
                      ["/usr/bin/touch", marker], log=False, tier=tier)
    assert res.returncode == 125, res.dump()
    assert not marker.exists(), "the workload ran"
    assert re.search(re.escape(str(rules)) + r":3:\d+: invalid regex", res.stderr), res.stderr
    assert "Hint:" in res.stderr, res.stderr
