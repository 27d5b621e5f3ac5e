"""The persistent verdict cache (policy code.cache, `fnguard scan
--write-cache`) and the trust it depends on: a cache, like a .pyc, is
believed only where the workload could not have written it.

These tests switch users (root writes, uid 65534 runs) and make mount
namespaces, so they need root and a build tree uid 65534 can reach."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import FNGUARD, PY, TIMEOUT, base_env

AS_NOBODY = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# A reverse shell: the shipped packs' high/critical rules refuse it.
BAD = "import os, socket\ns = socket.socket()\nos.dup2(s.fileno(), 0)\n"
GOOD = 'def hello():\n    return "hello"\n'
MAIN = """import sys
sys.path.insert(0, {app!r})
for name in ("good", "bad"):
    try:
        __import__(name)
        print(name, "imported")
    except PermissionError:
        print(name, "refused")
"""


@pytest.fixture(scope="module")
def needs_root():
    if os.geteuid() != 0 or not os.path.exists("/usr/bin/setpriv"):
        pytest.skip("needs root to write root-owned caches and switch users")
    p = subprocess.run(AS_NOBODY + [FNGUARD, "scan", "--format", "json", "/dev/null"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode not in (0, 1):
        pytest.skip(f"the build tree is not reachable by uid 65534: {p.stderr.strip()}")


@pytest.fixture
def world(needs_root):
    """A root-owned tree readable by everyone: app/{good,bad}.py, a policy
    with a code.cache next to it, and main.py importing both."""
    root = tempfile.mkdtemp(prefix="fng-vcache-")
    os.chmod(root, 0o755)
    app = os.path.join(root, "app")
    os.mkdir(app)
    for name, text in (("good.py", GOOD), ("bad.py", BAD)):
        with open(os.path.join(app, name), "w") as f:
            f.write(text)
    with open(os.path.join(root, "main.py"), "w") as f:
        f.write(MAIN.format(app=app))
    pol = os.path.join(root, "p.yaml")
    with open(pol, "w") as f:
        f.write(f"version: 1\ncode:\n  paths: [{app}]\n  cache: verdicts.cache\n"
                f"  action: deny\n")
    yield {"root": root, "app": app, "pol": pol, "cache": os.path.join(root, "verdicts.cache"),
           "main": os.path.join(root, "main.py")}
    shutil.rmtree(root, ignore_errors=True)


def write_cache(w, extra=()):
    p = subprocess.run([FNGUARD, "scan", "-p", w["pol"], "--write-cache", w["cache"], *extra,
                        w["app"]], capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode in (0, 1), p.stderr
    return p


def run(w, as_nobody=True):
    # The log goes to a directory of its own: one the workload could write
    # above the cache would (rightly) make the cache untrusted.
    logdir = tempfile.mkdtemp(prefix="fng-vcache-log-")
    os.chmod(logdir, 0o777)
    log = os.path.join(logdir, "log.jsonl")
    try:
        p = subprocess.run((AS_NOBODY if as_nobody else []) +
                           [FNGUARD, "run", "-p", w["pol"], "--log", log, "--",
                            PY, "-B", w["main"]],
                           capture_output=True, text=True, timeout=TIMEOUT, env=base_env(),
                           stdin=subprocess.DEVNULL, cwd=w["root"])
        with open(log) as f:
            events = [json.loads(line) for line in f]
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    start = next(e for e in events if e["event"] == "start")
    return p, start["features"].get("code_cache", ""), events


def on_read_only_tmpfs(w, argv):
    """argv run as root in a mount namespace where w's tree is a copy on
    a tmpfs of its own, mounted read-only (like Lambda's /var/task)."""
    root = w["root"]
    script = (f'mount -t tmpfs -o mode=0755 fng {root} && cp -a "$0"/. {root} && '
              f'mount -o remount,ro {root} && exec "$@"')
    snap = tempfile.mkdtemp(prefix="fng-vcache-snap-")
    try:
        subprocess.run(["cp", "-a", root + "/.", snap], check=True)
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                               snap] + argv, capture_output=True, text=True, timeout=TIMEOUT,
                              env=base_env(), stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(snap, ignore_errors=True)


def test_scan_writes_only_what_run_would_let_through(world):
    p = write_cache(world)
    assert "verdict cache" in p.stderr and ": 1 clean files" in p.stderr, p.stderr
    assert os.stat(world["cache"]).st_mode & 0o777 == 0o644


def test_a_root_written_cache_is_believed_by_another_user(world):
    write_cache(world)
    p, state, events = run(world)
    assert state.endswith(": 1 clean files"), state
    assert p.stdout.split("\n")[:2] == ["good imported", "bad refused"], p.stdout
    refused = [e for e in events if e["event"] == "code" and e["action"] == "deny"]
    assert [os.path.basename(e["path"]) for e in refused] == ["bad.py"], refused


def test_a_file_changed_after_the_cache_is_judged_again(world):
    write_cache(world)
    with open(os.path.join(world["app"], "good.py"), "a") as f:
        f.write(BAD)
    p, state, _ = run(world)
    assert state.endswith(": 1 clean files"), state
    assert p.stdout.split("\n")[:2] == ["good refused", "bad refused"], p.stdout


def forge(w, path):
    """A cache saying path's present contents are clean: a legitimate
    cache's header (its rule digest) with one entry for the file's
    SHA-256 and an identity that matches nothing."""
    with open(w["cache"], "rb") as f:
        header = f.read(56)
    sha = hashlib.sha256(open(path, "rb").read()).digest()
    entry = (b"\xff" * 16) + (b"\0" * 32) + sha
    header = header[:16] + (1).to_bytes(8, "little") + header[24:]
    with open(w["cache"], "wb") as f:
        f.write(header + entry)


def test_contents_match_and_a_forged_cache_counts_only_out_of_reach(world):
    """Entries match by contents too (a tree copied elsewhere keeps its
    verdicts): shown with a cache that calls bad.py clean. Written by
    root it is believed, as the policy is; owned by the workload's user
    it is not, and bad.py is refused again."""
    write_cache(world)
    forge(world, os.path.join(world["app"], "bad.py"))
    p, state, _ = run(world)
    assert state.endswith(": 1 clean files"), state
    assert "bad imported" in p.stdout, p.stdout
    os.chown(world["cache"], 65534, 65534)
    p, state, _ = run(world)
    assert "not used" in state and "owns it" in state, state
    assert "bad refused" in p.stdout, p.stdout


def test_a_cache_in_a_directory_the_workload_can_write_is_not_used(world):
    write_cache(world)
    sub = os.path.join(world["root"], "w")
    os.mkdir(sub)
    os.chown(sub, 65534, 65534)
    os.rename(world["cache"], os.path.join(sub, "verdicts.cache"))
    with open(world["pol"]) as f:
        text = f.read().replace("cache: verdicts.cache", "cache: w/verdicts.cache")
    with open(world["pol"], "w") as f:
        f.write(text)
    _, state, _ = run(world)
    assert "not used" in state and "may rename or replace it" in state, state


def test_a_root_workload_believes_a_cache_only_on_a_read_only_mount(world):
    write_cache(world)
    _, state, _ = run(world, as_nobody=False)
    assert "not used" in state and "root" in state, state
    if not shutil.which("unshare"):
        pytest.skip("unshare(1) missing")
    # The cache's identities are the copy's no more: its entries match by
    # contents. The log goes to stderr (the tree is read-only).
    p = on_read_only_tmpfs(world, [FNGUARD, "run", "-p", world["pol"], "--",
                                   PY, "-B", world["main"]])
    start = next(json.loads(line) for line in p.stderr.splitlines()
                 if line.startswith("{") and '"start"' in line)
    assert start["features"]["code_cache"].endswith(": 1 clean files"), start
    assert p.stdout.split("\n")[:2] == ["good imported", "bad refused"], p.stdout


def test_a_cache_for_other_rules_is_not_used(world):
    protect = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "policy",
                           "examples", "code_protect.txt")
    p = subprocess.run([FNGUARD, "scan", "--rules", protect, "--write-cache", world["cache"],
                        world["app"]], capture_output=True, text=True, timeout=TIMEOUT)
    assert "verdict cache" in p.stderr, p.stderr
    _, state, _ = run(world)
    assert "not used" in state and "other rules" in state, state


def test_pyc_on_a_read_only_mount_is_used_by_a_root_workload(world):
    """As root every writable .pyc is refused (CPython compiles the
    scanned source); on a read-only mount nothing can rewrite it, so it
    is used once its source scans clean."""
    import py_compile
    if not shutil.which("unshare"):
        pytest.skip("unshare(1) missing")
    app = world["app"]
    src = os.path.join(app, "mod.py")
    with open(src, "w") as f:
        f.write('WHO = "from-pyc"\n')
    py_compile.compile(src, cfile=os.path.join(app, "__pycache__", "mod.cpython-311.pyc"),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    with open(src, "w") as f:
        f.write('WHO = "from-source"\n')
    code = f"import sys; sys.path.insert(0, {app!r}); import mod; print(mod.WHO)"
    argv = [FNGUARD, "run", "-p", world["pol"], "--log", "/dev/null", "--", PY, "-B", "-c", code]
    rw = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, env=base_env(),
                        stdin=subprocess.DEVNULL)
    ro = on_read_only_tmpfs(world, argv)
    assert (rw.returncode, rw.stdout.strip()) == (0, "from-source"), rw
    assert (ro.returncode, ro.stdout.strip()) == (0, "from-pyc"), ro


def test_write_cache_into_a_missing_directory_is_a_clear_error(world):
    p = subprocess.run([FNGUARD, "scan", "-p", world["pol"], "--write-cache",
                        "/nonexistent/dir/v.cache", world["app"]],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 2, p
    assert "cannot write /nonexistent/dir/v.cache" in p.stderr and "Hint:" in p.stderr, p.stderr
