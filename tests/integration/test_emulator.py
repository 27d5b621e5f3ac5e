"""The local Runtime API emulator (tools/lambda_emulator.py): a function is
run and invoked the way Lambda does it, with a real runtime loop
(tests/lambda/bootstrap.py) and real HTTP, bare and under fnguard."""
import http.client
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import FNGUARD, PY, REPO, base_env

EMULATOR = str(REPO / "tools" / "lambda_emulator.py")
BOOTSTRAP = str(REPO / "tests" / "lambda" / "bootstrap.py")

APP = '''
import os, subprocess, time
def handler(event, ctx):
    what = event.get("do") if isinstance(event, dict) else None
    if what == "exec":
        subprocess.run(["/usr/bin/id"])
    if what == "raise":
        raise ValueError("boom")
    if what == "sleep":
        time.sleep(event["s"])
    if what == "echo":
        return event["data"]
    return {"rid": ctx.aws_request_id, "deadline_in_future": ctx.deadline_ms > time.time() * 1000,
            "arn": ctx.invoked_function_arn, "pid": os.getpid(),
            "api": os.environ["AWS_LAMBDA_RUNTIME_API"]}
'''


class Function:
    def __init__(self, tmp_path, command, timeout=30, handler="app.handler", env_extra=None,
                 app=APP, args=()):
        (tmp_path / "app.py").write_text(app)
        ready = tmp_path / "url"
        self.stderr = open(tmp_path / "emulator.err", "w+")
        self.p = subprocess.Popen(
            [PY, EMULATOR, "--port", "0", "--ready-file", str(ready), "--handler", handler,
             "--task-root", str(tmp_path), "--timeout", str(timeout)] + list(args) + ["--"]
            + command,
            stdout=subprocess.DEVNULL, stderr=self.stderr, env=base_env(**(env_extra or {})),
            cwd=tmp_path)
        end = time.time() + 20
        while not ready.exists():
            assert self.p.poll() is None and time.time() < end, self.log()
            time.sleep(0.02)
        self.url = ready.read_text().strip()

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def invoke(self, event, raw=None, chunked=False, headers=None):
        """(status, headers, body bytes)"""
        u = urllib.parse.urlsplit(self.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        body = raw if raw is not None else json.dumps(event).encode()
        if chunked:
            c.request("POST", u.path, body=iter([body[:10], body[10:]]), encode_chunked=True,
                      headers=headers or {})
        else:
            c.request("POST", u.path, body=body, headers=headers or {})
        r = c.getresponse()
        out = (r.status, dict(r.getheaders()), r.read())
        c.close()
        return out

    def close(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
        self.stderr.close()


@pytest.fixture
def function(tmp_path):
    made = []

    def make(command=None, **kw):
        f = Function(tmp_path, command or [PY, BOOTSTRAP], **kw)
        made.append(f)
        return f
    yield make
    for f in made:
        f.close()


def test_invocations_round_trip_with_lambda_headers(function):
    f = function()
    seen = set()
    for _ in range(20):  # many in a row, one runtime process
        status, headers, body = f.invoke({})
        assert status == 200, body
        out = json.loads(body)
        assert out["rid"] == headers["X-Amz-Request-Id"] and out["deadline_in_future"], out
        assert out["arn"].startswith("arn:aws:lambda:"), out
        seen.add(out["pid"])
    assert len(seen) == 1, "the runtime must stay up between invocations"


def test_function_error_and_chunked_and_large(function):
    f = function()
    status, headers, body = f.invoke({"do": "raise"})
    assert status == 200 and headers.get("X-Amz-Function-Error") == "Unhandled", headers
    assert json.loads(body)["errorType"] == "ValueError"
    status, _, body = f.invoke({"do": "echo", "data": "c" * 100}, chunked=True)
    assert status == 200 and json.loads(body) == "c" * 100
    big = "x" * (5 * 1024 * 1024)
    status, _, body = f.invoke({"do": "echo", "data": big})
    assert status == 200 and json.loads(body) == big
    status, _, body = f.invoke(None, raw=b'"' + b"y" * (7 * 1024 * 1024) + b'"')
    assert status == 413 and b"RequestEntityTooLarge" in body, body[:200]


def test_init_error_and_timeout(function, tmp_path):
    f = function(handler="missing_module.handler")
    status, headers, body = f.invoke({})
    assert headers.get("X-Amz-Function-Error") == "Unhandled", (status, body)
    assert json.loads(body)["errorType"] == "ModuleNotFoundError", body
    f.close()
    (tmp_path / "url").unlink()
    g = function(timeout=2)
    status, headers, body = g.invoke({"do": "sleep", "s": 10})
    assert json.loads(body)["errorType"] == "Runtime.Timeout", body
    status, _, body = g.invoke({})  # a fresh runtime serves the next one
    assert status == 200 and "rid" in json.loads(body), body


def test_under_fnguard_a_blocked_exec_fails_the_invocation_not_the_function(function,
                                                                             tmp_path):
    """Through fnguard's Runtime API proxy: the kill's log line carries the
    invocation's request_id, and the invocation fails with fnguard's
    Security.Violation (posted before fnguard exits), not a timeout."""
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nexec:\n  allow: []\n")
    log = tmp_path / "fnguard.jsonl"
    f = function([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, BOOTSTRAP])
    status, _, body = f.invoke({})
    assert status == 200 and "rid" in json.loads(body), body
    status, headers, body = f.invoke({"do": "exec"})
    err = json.loads(body)
    assert headers.get("X-Amz-Function-Error") == "Unhandled", (headers, body)
    assert err["errorType"] == "Security.Violation", err
    assert err["errorMessage"].startswith("Security Violation"), err
    killed_rid = headers["X-Amz-Request-Id"]
    status, _, body = f.invoke({})  # restarted under fnguard
    assert status == 200 and "rid" in json.loads(body), body
    events = [json.loads(line) for line in log.read_text().splitlines()]
    kills = [e for e in events if e["event"] == "exec" and e["action"] == "kill"]
    assert kills and kills[0]["path"] == "/usr/bin/id", events
    assert kills[0]["request_id"] == killed_rid, kills[0]
    assert all("request_id" not in e for e in events if e["event"] in ("start", "exit"))
    assert len([e for e in events if e["event"] == "start"]) == 2, events
    assert os.path.basename(events[0]["argv"][-1]) == "bootstrap.py", events[0]


WRAPPER = str(REPO / "tools" / "lambda" / "exec-wrapper")
LAYER_BOOTSTRAP = str(REPO / "tools" / "lambda" / "bootstrap")


@pytest.mark.parametrize("how", ["exec-wrapper", "bootstrap"])
def test_layer_entry_points_run_the_function_under_fnguard(function, tmp_path, monkeypatch, how):
    """The two ways Lambda starts fnguard from the layer: the managed
    runtimes' AWS_LAMBDA_EXEC_WRAPPER (given the runtime's command line) and
    a custom runtime's /opt/bootstrap (which runs bootstrap.function); the
    policy is found as $LAMBDA_TASK_ROOT/fnguard.yaml."""
    # A custom bootstrap is a script that execs the interpreter: allowed.
    (tmp_path / "fnguard.yaml").write_text("version: 1\nexec:\n  allow: [/usr/bin/python3*]\n")
    monkeypatch.setenv("FNGUARD_BIN", FNGUARD)
    if how == "exec-wrapper":
        command = [WRAPPER, PY, BOOTSTRAP]
    else:
        fn = tmp_path / "bootstrap.function"
        fn.write_text(f"#!/bin/sh\nexec {PY} {BOOTSTRAP}\n")
        fn.chmod(0o755)
        command = [LAYER_BOOTSTRAP]
    f = function(command, env_extra={"FNGUARD_BIN": FNGUARD})
    status, _, body = f.invoke({})
    assert status == 200 and "rid" in json.loads(body), (body, f.log())
    status, headers, body = f.invoke({"do": "exec"})
    assert json.loads(body)["errorType"] == "Security.Violation", body


def test_layer_entry_points_fail_closed_without_fnguard(tmp_path):
    env = base_env(FNGUARD_BIN=str(tmp_path / "nope"), LAMBDA_TASK_ROOT=str(tmp_path))
    for cmd in ([WRAPPER, "/usr/bin/true"], [LAYER_BOOTSTRAP]):
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=10)
        assert p.returncode == 125 and "missing" in p.stderr, (cmd, p.stderr)


def test_layer_zip_runs_a_function(function, tmp_path):
    """`make layer`'s zip, unpacked as Lambda unpacks a layer into /opt: the
    static fnguard, the wrapper and the packs where they belong, working
    together through the wrapper."""
    import zipfile
    layer = os.environ.get("LAYER") or str(REPO / "build-static" / "fnguard-layer.zip")
    if not os.path.exists(layer):
        pytest.skip(f"{layer} not built (make layer; make check builds it)")
    opt = tmp_path / "opt"
    with zipfile.ZipFile(layer) as z:
        names = set(z.namelist())
        for info in z.infolist():  # keep the modes, as Lambda does
            z.extract(info, opt)
            os.chmod(opt / info.filename, (info.external_attr >> 16) & 0o777 or 0o644)
    assert {"bin/fnguard", "fnguard-wrapper", "bootstrap",
            "share/fnguard/rules/python.yaml"} <= names, names
    out = subprocess.run(["file", str(opt / "bin" / "fnguard")], capture_output=True, text=True)
    assert "statically linked" in out.stdout, out.stdout
    (tmp_path / "fnguard.yaml").write_text("version: 1\nexec:\n  allow: []\ncode:\n"
                                           f"  paths: [{tmp_path}]\n")
    f = function([str(opt / "fnguard-wrapper"), PY, BOOTSTRAP],
                 env_extra={"FNGUARD_BIN": str(opt / "bin" / "fnguard")})
    status, _, body = f.invoke({})
    assert status == 200 and "rid" in json.loads(body), (body, f.log())
    status, _, body = f.invoke({"do": "exec"})
    assert json.loads(body)["errorType"] == "Security.Violation", body


def test_function_under_docker_default_seccomp_profile(function, tmp_path):
    """As in a container run without --cap-add SYS_PTRACE: docker's default
    profile refuses pidfd_getfd and process_vm_readv/writev (the refuse
    helper's "docker" mode). fnguard brokers the sockets and reads the
    workload's memory through /proc/PID/mem: the runtime reaches the Runtime
    API proxy, and a blocked exec still
    fails only its invocation (make docker-test runs the same in a real
    container)."""
    from conftest import helper
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nexec:\n  allow: []\nnetwork:\n  allow: [localhost]\n")
    log = tmp_path / "fnguard.jsonl"
    f = function([helper("refuse"), "docker", FNGUARD, "run", "-p", str(pol), "--log", str(log),
                  "--", PY, BOOTSTRAP])
    status, _, body = f.invoke({})
    assert status == 200 and "rid" in json.loads(body), (body, f.log())
    status, headers, body = f.invoke({"do": "exec"})
    assert json.loads(body)["errorType"] == "Security.Violation", body
    events = [json.loads(line) for line in log.read_text().splitlines()]
    start = [e for e in events if e["event"] == "start"][0]
    assert start["features"]["socket_broker"] is True, start
    assert [e["path"] for e in events if e["event"] == "exec" and e["action"] == "kill"] == \
        ["/usr/bin/id"], events
