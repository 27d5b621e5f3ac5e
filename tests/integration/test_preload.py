"""The preload tier (LD_PRELOAD interposer; for hosts that refuse seccomp and
ptrace, as AWS Lambda does): the kernel tier's workloads it can stop, run
with --tier preload, and what it cannot stop reported in the start event."""
import inspect
import json
import re
import os
import signal
import socket
import subprocess
import time

import pytest

import test_archive
import test_code
import test_exec
import test_log
import test_net_world as net_cases
import test_rtapi
from conftest import (EXIT_FNGUARD_FAILED, EXIT_VIOLATION, FNGUARD, NODE, PY, TIMEOUT, Runner,
                      base_env, exec_policy, helper, write_script)
from networld import networld, networld_factory  # noqa: F401 (fixtures)
from test_emulator import function  # noqa: F401 (fixture)

TIER = "preload"

# The routes an interposer sees: libc's exec family and spawn, system/popen,
# through python and node. ctypes' raw syscall(59) is the tier's documented
# limit (test_raw_syscall_is_a_reported_limit).
STOPPED = ["subprocess", "os_system", "posix_spawn", "relative_cwd", "thread_execv",
           "node_execSync", "node_spawnSync", "vfork_execve"]


def limits(res):
    return " ".join(res.one("start")["limits"])


@pytest.mark.parametrize("vector", STOPPED)
def test_forbidden_exec_kill(run_fnguard, tmp_path, vector):
    build, is_path, _ = test_exec.VECTORS[vector]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="kill"), build(tmp_path, marker),
                      tier=TIER)
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists(), "the forbidden program ran\n" + res.dump()
    assert "CONTINUED" not in res.stdout, res.dump()
    hits = [e for e in res.of("exec", action="kill") if is_path(e.get("path"))]
    assert hits and hits[0]["tier"] == "preload" and hits[0]["reason"], res.dump()
    assert res.one("start")["tier"] == "preload"
    assert res.one("exit")["status"] == EXIT_VIOLATION


@pytest.mark.parametrize("vector", STOPPED)
def test_forbidden_exec_deny(run_fnguard, tmp_path, vector):
    build, is_path, refused = test_exec.VECTORS[vector]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="deny"), build(tmp_path, marker),
                      tier=TIER)
    assert res.returncode == 0, res.dump()
    assert not marker.exists(), res.dump()
    assert refused in res.stdout and "CONTINUED" in res.stdout, res.dump()
    assert [e for e in res.of("exec", action="deny") if is_path(e.get("path"))], res.dump()


def test_allowed_exec_runs_and_env_stripped_is_readded(run_fnguard, tmp_path):
    """A workload that drops LD_PRELOAD from a child's environment: the
    interposer puts it back, so the grandchild is still judged."""
    marker = tmp_path / "MARKER"
    src = f"""
import os, subprocess
env = {{k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "FNGUARD"))}}
print(subprocess.run(["/usr/bin/true"], env=env).returncode, flush=True)
# sh is allowed; what it runs (touch) is not: judged inside sh.
r = subprocess.run(["/bin/sh", "-c", "/usr/bin/touch {marker}; echo sh-went-on"], env=env)
print("sh status", r.returncode)
"""
    res = run_fnguard(exec_policy(["/usr/bin/true", "/usr/bin/dash", "/bin/sh"], action="deny"),
                      [PY, "-c", src], tier=TIER)
    assert res.returncode == 0, res.dump()
    assert res.stdout.splitlines()[0] == "0", res.dump()
    assert not marker.exists(), res.dump()
    assert "sh-went-on" in res.stdout, res.dump()
    ev = res.one("exec", action="deny")
    assert ev["path"] == "/usr/bin/touch", ev


def test_raw_syscall_is_a_reported_limit(run_fnguard, tmp_path):
    """ctypes' syscall(59) goes around the interposer: not stopped here, and
    the start event says so (the kernel tier stops it)."""
    build, _, _ = test_exec.VECTORS["ctypes_execve"]
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="kill"), build(tmp_path, marker),
                      tier=TIER)
    assert res.returncode == 0 and marker.exists(), \
        "the raw exec was stopped after all?\n" + res.dump()
    lim = limits(res)
    assert "raw system calls" in lim and "ctypes" in lim, lim
    assert "statically linked" in lim and "io_uring" in lim and "unhook" in lim, lim


def test_static_binary_is_a_reported_limit(run_fnguard, tmp_path):
    """A statically linked program (as Go builds them) never loads the
    interposer: what it execs is not judged in this tier, and the start
    event says so. (The kernel tier kills the same exec.)"""
    marker = tmp_path / "MARKER"
    static = helper("static_exec")
    res = run_fnguard(exec_policy([static]), [PY, "-c",
                      f"import subprocess; subprocess.run([{static!r}, '/usr/bin/touch', "
                      f"{str(marker)!r}])"], tier=TIER)
    assert res.returncode == 0, res.dump()
    assert marker.exists(), "the static program's exec was judged after all?\n" + res.dump()
    assert "statically linked programs (Go" in limits(res), limits(res)


def test_require_kernel_refuses_preload(run_fnguard, tmp_path):
    res = run_fnguard("version: 1\nrequire: kernel\n", ["/usr/bin/true"], tier=TIER)
    assert res.returncode == EXIT_FNGUARD_FAILED, res.dump()
    assert "require: kernel" in res.stderr and "Hint:" in res.stderr, res.stderr


# ---- the automatic choice, for real: seccomp() and ptrace() refused ----

def lambda_like(tmp_path, policy, script, mode="lambda"):
    pol = tmp_path / "p.yaml"
    pol.write_text(policy)
    log = tmp_path / "log.jsonl"
    cmd = [helper("refuse"), mode, FNGUARD, "run", "-p", str(pol), "--log", str(log), "--",
           PY, "-c", script]
    # LeakSanitizer needs ptrace, which the helper refuses.
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                       env=base_env(ASAN_OPTIONS="detect_leaks=0"), cwd=tmp_path,
                       stdin=subprocess.DEVNULL)
    events = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    return p, events


@pytest.mark.parametrize("mode", ["lambda", "seccomp", "ptrace"])
def test_refused_kernel_features_choose_preload(tmp_path, mode):
    marker = tmp_path / "MARKER"
    p, events = lambda_like(tmp_path, "version: 1\nexec:\n  allow: [/usr/bin/true]\n",
                            "import subprocess; subprocess.run(['/usr/bin/true']); "
                            f"subprocess.run(['/usr/bin/touch', '{marker}'])", mode)
    assert p.returncode == EXIT_VIOLATION, p.stderr
    assert not marker.exists()
    start = [e for e in events if e["event"] == "start"][0]
    assert start["tier"] == "preload" and start["tier_reason"], start
    assert any("raw system calls" in x for x in start["limits"]), start
    kills = [e for e in events if e["event"] == "exec" and e["action"] == "kill"]
    assert kills and kills[0]["path"] == "/usr/bin/touch", events


def test_refused_kernel_features_with_require_kernel_exit_125(tmp_path):
    marker = tmp_path / "MARKER"
    p, events = lambda_like(tmp_path, "version: 1\nrequire: kernel\n",
                            f"open('{marker}', 'w').close()")
    assert p.returncode == EXIT_FNGUARD_FAILED, p.stderr
    assert not marker.exists(), "the workload must not start"
    assert "require: kernel" in p.stderr and "Hint:" in p.stderr, p.stderr


def test_probe_names_preload_where_refused():
    p = subprocess.run([helper("refuse"), "lambda", FNGUARD, "probe", "--json"],
                       capture_output=True, text=True, timeout=TIMEOUT,
                       env=base_env(ASAN_OPTIONS="detect_leaks=0"))
    assert p.returncode == 0, p.stderr
    caps = json.loads(p.stdout)
    assert caps["tier"] == "preload" and caps["tier_reason"], caps
    assert caps["seccomp_filter"] is False and caps["ptrace"] is False, caps
    assert any("raw system calls" in x for x in caps["limits"]), caps
    assert caps["preload_library"].endswith("/libfnguard-preload.so"), caps


# ---- the kernel tier's exec and code cases, unchanged, in this tier ----

EXEC_CASES = [
    "test_allowed_exec_runs", "test_allowed_exec_glob_node", "test_exec_section_without_allow",
    "test_top_level_action_deny_inherited", "test_kill_takes_whole_tree",
    "test_script_as_allowed_child", "test_script_as_allowed_child_with_interpreter",
    "test_path_lookup_uses_real_path", "test_path_lookup_forbidden",
    "test_reexec_of_initial_command", "test_huge_argv_allowed",
    "test_violation_kills_detached_daemon", "test_allow_by_symlink_name",
    "test_symlink_under_allowed_glob_does_not_launder", "test_allow_entry_through_symlinked_dir",
    "test_no_process_outlives_fnguard", "test_no_exec_section_allows_everything",
]
CODE_CASES = [
    "test_flagged_module_refused_clean_one_imports", "test_kill_mode", "test_pth_file_is_code",
    "test_code_written_at_run_time_is_scanned", "test_pyc_cannot_stand_in_for_a_swapped_source",
    "test_node_require_of_flagged_file", "test_default_packs_refuse_a_reverse_shell",
    "test_a_pack_named_explicitly_enforces_every_rule",
    "test_prelaunch_scan_reports_before_anything_runs",
    "test_prelaunch_findings_come_before_the_first_code_file",
    "test_code_opened_with_the_workloads_rights", "test_code_the_rules_cannot_read_is_refused",
    "test_scripts_without_an_extension",
]


ARCHIVE_CASES = [
    "test_flagged_module_in_an_archive_is_refused", "test_zipapp_run_directly",
    "test_egg_named_by_a_pth_file", "test_archive_written_at_run_time",
    "test_bytecode_in_archives", "test_headers_cannot_hide_part_of_a_member",
    "test_unreadable_archive_is_refused",
]
LOG_CASES = [
    "test_exec_line_fields_and_counts", "test_secrets_never_logged",
    "test_secrets_in_start_argv_and_kill_line", "test_no_empty_or_partial_lines",
]
MODULES = {"exec": test_exec, "code": test_code, "log": test_log, "archive": test_archive}


@pytest.mark.parametrize("case", [("exec", c) for c in EXEC_CASES] +
                         [("code", c) for c in CODE_CASES] + [("log", c) for c in LOG_CASES] +
                         [("archive", c) for c in ARCHIVE_CASES],
                         ids=lambda c: c[1])
def test_kernel_tier_case(tmp_path, case):
    fn = getattr(MODULES[case[0]], case[1])
    args = {"run_fnguard": PreloadRunner(tmp_path), "tmp_path": tmp_path, "kernel_tier": None,
            "handover": None}
    fn(**{k: v for k, v in args.items() if k in inspect.signature(fn).parameters})


def test_code_lines_name_the_tier(run_fnguard, tmp_path):
    app, marker, main = test_code.layout(tmp_path)
    res = run_fnguard(test_code.policy(app), [PY, main], tier=TIER)
    assert res.returncode == 0 and not marker.exists(), res.dump()
    assert res.one("code", action="deny")["tier"] == "preload"


# ---- fail closed, threads and fork ----

def test_supervisor_gone_fails_closed(run_fnguard, tmp_path):
    """fnguard is SIGKILLed while the workload runs: its first process dies
    with it (PDEATHSIG); a descendant that survives can exec nothing, connect
    nowhere (even to a listening loopback port) and resolve no name."""
    out = tmp_path / "out"
    marker = tmp_path / "MARKER"
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    src = f"""
import os, subprocess, sys, time
if os.fork() == 0:
    os.setsid()
    time.sleep(1.5)  # fnguard is gone by now
    import socket
    res = []
    try:
        subprocess.run(["/usr/bin/touch", {str(marker)!r}])
        res.append("ran")
    except OSError as e:
        res.append("exec errno=%d" % e.errno)
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        res.append("connected")
    except OSError as e:
        res.append("connect errno=%d" % e.errno)
    try:
        socket.getaddrinfo("localhost", 80)
        res.append("resolved")
    except socket.gaierror as e:
        res.append("gai %d" % e.errno)
    with open({str(out)!r}, "w") as f:
        f.write(", ".join(res))
    os._exit(0)
print(os.getpid(), flush=True)
time.sleep(30)
"""
    script = write_script(tmp_path / "w.py", src, 0o644)
    pol = tmp_path / "p.yaml"
    pol.write_text(exec_policy(["/usr/bin/touch"]))
    p = subprocess.Popen([FNGUARD, "run", "-p", str(pol), "--tier", TIER, "--log",
                          str(tmp_path / "log"), "--", PY, str(script)],
                         stdout=subprocess.PIPE, text=True, env=base_env())
    first = int(p.stdout.readline())
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=TIMEOUT)
    deadline = time.time() + 20
    while not out.exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    srv.close()
    assert out.read_text() == f"exec errno=13, connect errno=1, gai {socket.EAI_NONAME}", \
        out.read_text()
    assert not marker.exists(), "an allowed program ran without its supervisor"
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(first, 0)
            time.sleep(0.1)


def test_a_shell_pipeline_after_a_command(run_fnguard, tmp_path):
    """dash runs a command through vfork: the child's channel number was
    kept in the memory it shares with the shell, and every later fork
    child closed that number, which was by then a pipe's end (`true; echo
    a | cat` printed nothing). With and without a code section."""
    src = "/bin/true; echo piped | /bin/cat; /bin/echo x; printf 'two\\n' | /usr/bin/od -c"
    for pol in ("version: 1\n", f"version: 1\ncode:\n  paths: [{tmp_path}]\n  action: deny\n"):
        res = run_fnguard(pol, ["/bin/sh", "-c", src], tier=TIER)
        assert res.returncode == 0, res.dump()
        assert res.stdout.splitlines()[0] == "piped" and "t   w   o" in res.stdout, res.dump()


def test_threads_and_fork_keep_their_verdicts(run_fnguard, tmp_path):
    """Eight threads and two forked children ask at once: each answer
    belongs to its own question (shared channels would cross them)."""
    src = """
import os, subprocess, threading
res = {}
def go(i):
    prog = "/usr/bin/true" if i % 2 else "/usr/bin/false-not-allowed"
    for _ in range(15):
        try:
            r = subprocess.run([prog] if i % 2 else ["/usr/bin/id"], capture_output=True)
            res.setdefault(i, []).append("ran")
        except PermissionError:
            res.setdefault(i, []).append("denied")
kids = []
for k in range(2):
    pid = os.fork()
    if pid == 0:
        ts = [threading.Thread(target=go, args=(i,)) for i in range(8)]
        [t.start() for t in ts]; [t.join() for t in ts]
        ok = all(set(v) == ({"ran"} if i % 2 else {"denied"}) for i, v in res.items())
        os._exit(0 if ok and len(res) == 8 else 1)
    kids.append(pid)
print([os.waitpid(p, 0)[1] for p in kids])
"""
    res = run_fnguard(exec_policy(["/usr/bin/true"], action="deny"), [PY, "-c", src],
                      tier=TIER, timeout=120)
    assert res.returncode == 0, res.dump()
    assert res.stdout.strip() == "[0, 0]", res.dump()
    denies = res.of("exec", action="deny")
    assert len(denies) == 2 * 4 * 15 and all(e["path"] == "/usr/bin/id" for e in denies)


def test_kill_takes_double_forked_tree(run_fnguard, tmp_path):
    """A detached grandchild (setsid, double fork) dies with the tree."""
    pidfile = tmp_path / "pid"
    src = f"""
import os, subprocess, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open({str(pidfile)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
    os._exit(0)
while not os.path.exists({str(pidfile)!r}):
    time.sleep(0.05)
time.sleep(0.2)
subprocess.run(["/usr/bin/id"])
"""
    res = run_fnguard(exec_policy(["/usr/bin/true"]), [PY, "-c", src], tier=TIER)
    assert res.returncode == EXIT_VIOLATION, res.dump()
    daemon = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(daemon, 0)


def test_node_child_process_killed(run_fnguard, tmp_path):
    marker = tmp_path / "MARKER"
    s = write_script(tmp_path / "w.js", test_exec.NODE_SPAWNSYNC, 0o644)
    res = run_fnguard(exec_policy([NODE]), [NODE, s, "/usr/bin/touch", marker], tier=TIER)
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists()


# ---- the network world's cases, unchanged, in this tier ----

class PreloadRunner(Runner):
    """A runner whose every run is forced into the preload tier."""

    def __call__(self, *a, **kw):
        kw.setdefault("tier", TIER)
        res = super().__call__(*a, **kw)
        for start in [e for e in res.events if e["event"] == "start"]:
            assert start["tier"] == TIER, res.dump()
        return res


NET_CASES = [
    "test_allowed_domain_python_urllib",
    "test_allowed_domain_node_http",
    "test_allowed_domain_with_port_node_http",
    "test_allowed_domain_curl",
    "test_unknown_domain_killed_never_asked_never_connected",
    "test_literal_ip_outside_list_killed",
    "test_dns_exfiltration_killed",
    "test_wildcard_and_case",
    "test_deny_mode_workload_goes_on",
    "test_udp_sendto_and_sendmsg_allowed_cidr",
    "test_udp_sendmmsg",
    "test_udp_send_to_learned_name",
    "test_ipv4_mapped_ipv6_judged_as_ipv4",
    "test_port_53_is_not_a_tunnel",
    "test_dns_over_tcp",
    "test_node_threadpool_and_cares_deny",
    "test_address_selection_probe_to_port_zero",
    "test_audit_connect_names_the_domain",
    "test_dns_exfiltration_of_a_secret_never_upstream_and_redacted",
    "test_refused_port_on_learned_address_names_the_domain",
]


@pytest.mark.parametrize("case", NET_CASES)
def test_net_world(tmp_path, networld, case):
    getattr(net_cases, case)(PreloadRunner(tmp_path), networld)


@pytest.mark.parametrize("how", ["lookup", "resolve4"])
def test_net_world_node_unknown_domain_killed(tmp_path, networld, how):
    net_cases.test_node_unknown_domain_killed(PreloadRunner(tmp_path), networld, how)


# ---- the Runtime API proxy works in this tier (it needs no seccomp) ----

RTAPI_CASES = ["test_transparent_keepalive_chunked_headers_many",
               "test_real_runtime_api_only_through_the_proxy",
               "test_attacks_never_reach_the_handler",
               "test_response_with_a_secret_is_replaced",
               "test_audit_lets_it_through_and_kill_ends_the_workload"]


@pytest.mark.parametrize("case", RTAPI_CASES)
def test_runtime_api_proxy(function, tmp_path, case):
    def in_preload(command=None, **kw):
        cmd = list(command)
        at = cmd.index("run") + 1
        return function(cmd[:at] + ["--tier", TIER] + cmd[at:], **kw)
    test = getattr(test_rtapi, case)
    # The preload tier has one network engine of its own (its interposer).
    extra = {"engine": "notify"} if "engine" in inspect.signature(test).parameters else {}
    test(in_preload, tmp_path, **extra)


def test_library_needs_only_old_glibc_symbols():
    """Lambda runs glibc 2.26 (Amazon Linux 2) and 2.34 (AL2023): the
    interposer must load there, so it may need no symbol version newer
    than 2.17 (the oldest aarch64 one), and export nothing but libc names."""
    base = os.path.dirname(FNGUARD)
    lib = next(p for p in (os.path.join(base, "libfnguard-preload.so"),
                           os.path.join(base, "..", "lib", "libfnguard-preload.so"))
               if os.path.exists(p))
    p = subprocess.run(["readelf", "-V", "--wide", lib], capture_output=True, text=True,
                       timeout=TIMEOUT, check=True)
    versions = re.findall(r"Name: GLIBC_([0-9.]+)", p.stdout)
    assert versions, p.stdout
    newest = max(tuple(int(x) for x in v.split(".")) for v in versions)
    assert newest <= (2, 17), f"needs GLIBC_{'.'.join(map(str, newest))}\n{p.stdout}"
    syms = subprocess.run(["readelf", "--dyn-syms", "--wide", lib], capture_output=True,
                          text=True, timeout=TIMEOUT, check=True).stdout
    exported = {ln.split()[-1] for ln in syms.splitlines()
                if " FUNC " in ln and " GLOBAL " in ln and " UND " not in ln}
    assert {"execve", "connect", "getaddrinfo", "open64", "posix_spawn"} <= exported
    assert not [s for s in exported if s.startswith("fngp_")], exported


PY_RES = r"""
import ctypes, sys
libc = ctypes.CDLL(None)
buf = ctypes.create_string_buffer(4096)
for name in sys.argv[1:]:
    n = libc.res_query(name.encode(), 1, 1, buf, 4096)  # class IN, type A
    m = libc.res_querydomain(name.split(".")[0].encode(), name.split(".", 1)[1].encode(),
                             1, 1, buf, 4096)
    print(name, "answer" if n > 0 else "none", "answer" if m > 0 else "none", flush=True)
"""


def test_res_query_family_judged_and_through_the_stub(run_fnguard, networld):
    """res_query/res_querydomain: an allowed name is asked upstream through
    the stub (which learns it), a name outside the list is refused before
    anything leaves."""
    w = networld
    pol = net_cases.policy("api.allowed.test", action="deny", log_allowed=True)
    res = run_fnguard(pol, [PY, "-c", PY_RES, "api.allowed.test", "evil.test"],
                      prefix=w.prefix, env=base_env(), timeout=30, tier=TIER)
    assert res.returncode == 0, net_cases.ctx(res, w)
    assert res.stdout.splitlines() == ["api.allowed.test answer answer",
                                       "evil.test none none"], net_cases.ctx(res, w)
    assert w.dns_queries("api.allowed.test", to="resolver"), net_cases.ctx(res, w)
    assert net_cases.names_like(w, "evil") == [], net_cases.ctx(res, w)
    assert res.of("dns", action="allow", name="api.allowed.test"), res.dump()
    assert len(res.of("dns", action="deny", name="evil.test")) == 2, res.dump()


def test_net_world_ipv6_nameserver(tmp_path, networld_factory):
    net_cases.test_ipv6_nameserver(PreloadRunner(tmp_path), networld_factory)


def test_missing_library_fails_closed(run_fnguard, tmp_path):
    marker = tmp_path / "MARKER"
    res = run_fnguard(exec_policy(["/usr/bin/touch"]), ["/usr/bin/touch", marker], tier=TIER,
                      env=base_env(FNGUARD_PRELOAD=str(tmp_path / "nowhere.so")))
    assert res.returncode == EXIT_FNGUARD_FAILED, res.dump()
    assert not marker.exists(), "the workload must not start unprotected"
    assert "FNGUARD_PRELOAD" in res.stderr and "Hint:" in res.stderr, res.stderr


def test_network_engine_in_the_preload_tier(run_fnguard):
    """The interposer is this tier's network engine: the start event says
    so, and a policy that insists on the bpf engine is refused (125)
    rather than run with another one."""
    res = run_fnguard("version: 1\nnetwork:\n  allow: [127.0.0.1/32]\n", [PY, "-c", "pass"],
                      tier=TIER)
    assert res.returncode == 0, res.dump()
    assert res.one("start")["network_engine"] == "preload", res.dump()
    res = run_fnguard("version: 1\nnetwork:\n  allow: [127.0.0.1/32]\n  engine: bpf\n",
                      [PY, "-c", "pass"], tier=TIER, log=False)
    assert res.returncode == EXIT_FNGUARD_FAILED, res.dump()
    assert "network.engine is bpf" in res.stderr and "Hint:" in res.stderr, res.dump()
