"""Shared fixtures for fnguard's live tests.

Every test starts the real binary ($FNGUARD) on a real workload and judges
what happened in the world (marker files, exit status) and in the log.
Workloads always use /usr/bin/python3 and /usr/bin/node: `python3` on PATH
may be a pyenv shim, which is a bash script that execs other programs.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FNGUARD = os.environ.get("FNGUARD") or str(REPO / "build" / "fnguard")
HELPERS = os.environ.get("HELPERS") or str(REPO / "build" / "tests" / "helpers")
PY = "/usr/bin/python3"
NODE = "/usr/bin/node"
TIMEOUT = 60

# A PATH with no pyenv shims, no cargo, nothing the workload does not need.
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"

CONTRACT_FIELDS = ("ts", "event", "action", "function", "pid")
ACTIONS = {"allow", "deny", "kill", "audit"}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DIAG_RE = r"^{file}:(\d+):(\d+): \S.*$"

EXIT_VIOLATION = 159
EXIT_FNGUARD_FAILED = 125
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127


def base_env(**extra):
    """A small, predictable environment for fnguard and its workload."""
    env = {
        "PATH": CLEAN_PATH,
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        # ASan's own reports would otherwise go to the workload's stderr.
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "detect_leaks=1"),
    }
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def check_line(line, where):
    """Parse one log line and check the fields every line must have."""
    try:
        ev = json.loads(line)
    except json.JSONDecodeError as e:
        raise AssertionError(f"{where}: not JSON ({e}): {line!r}") from None
    assert isinstance(ev, dict), f"{where}: not an object: {line!r}"
    for k in CONTRACT_FIELDS:
        assert k in ev, f"{where}: missing {k!r}: {line!r}"
    assert TS_RE.match(str(ev["ts"])), f"{where}: ts not RFC 3339 UTC ms: {ev['ts']!r}"
    assert ev["action"] in ACTIONS, f"{where}: bad action {ev['action']!r}"
    assert isinstance(ev["pid"], int), f"{where}: pid not an integer: {ev['pid']!r}"
    assert isinstance(ev["event"], str) and ev["event"], f"{where}: bad event"
    return ev


def parse_log_file(path):
    """Every line of a --log file must be a whole JSON object."""
    if not Path(path).exists():
        return []
    data = Path(path).read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{path}: last line not terminated"
    return [check_line(l, f"{path}:{i}") for i, l in
            enumerate(data.decode("utf-8").splitlines(), 1)]


def parse_stderr(text):
    """Lines of stderr that start with '{' are log lines and must be JSON."""
    return [check_line(l, f"stderr:{i}") for i, l in
            enumerate(text.splitlines(), 1) if l.startswith("{")]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    events: list
    log_path: Path = None
    policy_path: Path = None
    argv: list = field(default_factory=list)

    def of(self, event, **kv):
        """Events named `event` whose fields equal every kv given."""
        return [e for e in self.events if e["event"] == event
                and all(e.get(k) == v for k, v in kv.items())]

    def one(self, event, **kv):
        got = self.of(event, **kv)
        assert len(got) == 1, f"want one {event} {kv}, got {len(got)}:\n{self.dump()}"
        return got[0]

    def dump(self):
        return (f"argv: {self.argv}\nexit: {self.returncode}\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}\n"
                f"--- log\n" + "\n".join(json.dumps(e) for e in self.events))


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Runner:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.n = 0
        # argv between prefix and fnguard for every run of this test: e.g.
        # the refuse helper, to run a suite where pidfd_getfd is refused.
        self.wrap = ()
        # network.engine written into every policy's network section (None:
        # as the test wrote it).
        self.engine = None

    def policy(self, text, name=None):
        self.n += 1
        p = self.tmp / (name or f"policy{self.n}.yaml")
        if self.engine and "\nnetwork:\n" in "\n" + text and "engine:" not in text:
            text = ("\n" + text).replace("\nnetwork:\n", f"\nnetwork:\n  engine: {self.engine}\n",
                                         1)[1:]
        p.write_text(text)
        return p

    def __call__(self, policy_yaml, argv, *, mode=None, tier=None, log=True,
                 env=None, extra=(), timeout=TIMEOUT, cwd=None, policy_name=None, prefix=()):
        """Run `fnguard run` and return a Result.

        policy_yaml: YAML text (written to tmp_path), a Path, or None for no -p.
        log: True → --log FILE in tmp_path (parsed strictly); False → log lines
        come from stderr (lines starting with '{').
        prefix: argv put in front of fnguard (e.g. a network world's
        ["ip", "netns", "exec", NS]).
        """
        cmd = list(prefix) + list(self.wrap) + [FNGUARD, "run"]
        ppath = None
        if isinstance(policy_yaml, Path):
            ppath = policy_yaml
        elif policy_yaml is not None:
            ppath = self.policy(policy_yaml, policy_name)
        if ppath is not None:
            cmd += ["-p", str(ppath)]
        if mode:
            cmd += ["--mode", mode]
        if tier:
            cmd += ["--tier", tier]
        log_path = None
        if log:
            self.n += 1
            log_path = self.tmp / f"log{self.n}.jsonl"
            cmd += ["--log", str(log_path)]
        cmd += list(extra) + ["--"] + [str(a) for a in argv]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=env if env is not None else base_env(),
                           cwd=cwd or self.tmp, stdin=subprocess.DEVNULL)
        events = parse_log_file(log_path) if log else parse_stderr(p.stderr)
        return Result(p.returncode, p.stdout, p.stderr, events, log_path, ppath, cmd)


@pytest.fixture(scope="session", autouse=True)
def _binaries():
    assert os.access(FNGUARD, os.X_OK), \
        f"fnguard binary {FNGUARD} missing: run `make` (or set $FNGUARD)"
    assert os.path.isdir(HELPERS), \
        f"helpers dir {HELPERS} missing: run `make helpers` (or set $HELPERS)"


@pytest.fixture
def run_fnguard(tmp_path):
    """run_fnguard(policy_yaml, argv, ...) -> Result (see Runner.__call__)."""
    return Runner(tmp_path)


# Where pidfd_getfd is refused (docker's default profile, which the refuse
# helper's "docker" mode imitates: process_vm_* refused too) fnguard brokers the
# workload's sockets instead; network suites run every case in both modes.
SOCKET_MODES = ("pidfd_getfd", "broker")
# The network suites also run with the bpf engine (network.engine: bpf, in
# the pidfd_getfd mode: the engine needs no socket copies), and must give
# the same verdicts and log lines.
NET_MODES = SOCKET_MODES + ("bpf",)

# `ip netns exec` remounts /sys without the cgroup mounts: the bpf engine's
# runs mount cgroup v2 in that private mount namespace first.
CGROUP2_WRAP = ("/bin/sh", "-c", "grep -q ' - cgroup2 ' /proc/self/mountinfo || "
                "mount -t cgroup2 cgroup2 /sys/fs/cgroup; exec \"$@\"", "sh")


def runner_in_mode(tmp_path, mode):
    r = Runner(tmp_path)
    if mode == "broker":
        r.wrap = (helper("refuse"), "docker")
    elif mode == "bpf":
        r.engine = "bpf"
        r.wrap = CGROUP2_WRAP
    return r


def helper(name):
    p = os.path.join(HELPERS, name)
    assert os.access(p, os.X_OK), f"helper {p} not built: run `make helpers`"
    return p


@pytest.fixture(scope="session")
def probe():
    p = subprocess.run([FNGUARD, "probe", "--json"], capture_output=True, text=True,
                       timeout=TIMEOUT, env=base_env())
    assert p.returncode == 0, f"fnguard probe --json failed: {p.returncode}\n{p.stderr}"
    return json.loads(p.stdout)


@pytest.fixture
def kernel_tier(probe):
    """Hard-boundary tests need the kernel tier; elsewhere they skip."""
    if probe.get("tier") != "kernel":
        pytest.skip(f"kernel tier unavailable here (probe: {probe})")


def write_script(path, text, mode=0o755):
    path = Path(path)
    path.write_text(text)
    path.chmod(mode)
    return path


def exec_policy(allow=(), action=None, mode=None, extra=""):
    """A policy with an exec section allowing `allow` (a list of globs)."""
    lines = ["version: 1"]
    if mode:
        lines.append(f"mode: {mode}")
    lines.append("exec:")
    lines.append("  allow: [" + ", ".join(json.dumps(str(a)) for a in allow) + "]")
    if action:
        lines.append(f"  action: {action}")
    return "\n".join(lines) + "\n" + extra


def have(tool):
    return shutil.which(tool, path=CLEAN_PATH) is not None
