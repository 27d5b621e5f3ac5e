"""fnguard's Runtime API proxy, between a real runtime loop and the local
emulator (which stands in for Lambda): transparent for everything the
runtime does, and the only way to the real API."""
import json
import socket

from conftest import FNGUARD, PY
from test_emulator import BOOTSTRAP, function  # noqa: F401 (fixture)

APP = '''
import http.client, json, os
def handler(event, ctx):
    do = event.get("do")
    if do == "echo":
        return event["data"]
    if do == "raw":  # the runtime API as the workload sees it
        c = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
        c.request(event["method"], event["path"], body=event.get("body"))
        r = c.getresponse()
        return {"status": r.status, "body": r.read().decode()}
    if do == "direct":
        s = socket_connect(event["port"])
        return {"direct": s}
    return {"rid": ctx.aws_request_id, "deadline": ctx.deadline_ms, "arn": ctx.invoked_function_arn,
            "trace": ctx.trace_id, "client_context": ctx.client_context,
            "api": os.environ["AWS_LAMBDA_RUNTIME_API"]}

def socket_connect(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        return "connected"
    except OSError as e:
        return f"refused {e.errno}"
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def under_fnguard(function, tmp_path, policy="version: 1\n", env=None, args=()):
    pol = tmp_path / "p.yaml"
    pol.write_text(policy)
    log = tmp_path / "fnguard.jsonl"
    f = function([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, BOOTSTRAP],
                 app=APP, env_extra=env, args=args)
    return f, log


def test_transparent_keepalive_chunked_headers_many(function, tmp_path):
    rport = free_port()
    f, log = under_fnguard(function, tmp_path, args=["--runtime-port", str(rport)],
                           env={"RUNTIME_KEEPALIVE": "1", "RUNTIME_CHUNKED": "1"})
    rids = []
    for i in range(30):
        status, headers, body = f.invoke({}, headers={"X-Amz-Client-Context": f"cc{i}"})
        assert status == 200, (body, f.log())
        out = json.loads(body)
        assert out["rid"] == headers["X-Amz-Request-Id"], out
        assert out["client_context"] == f"cc{i}" and out["trace"].startswith("Root="), out
        assert out["arn"].startswith("arn:aws:lambda:") and out["deadline"] > 0, out
        # The workload talks to fnguard, never to the real API.
        assert out["api"].startswith("127.0.0.1:") and out["api"] != f"127.0.0.1:{rport}"
        rids.append(out["rid"])
    big = "b" * (5 * 1024 * 1024)
    status, _, body = f.invoke({"do": "echo", "data": big})
    assert status == 200 and json.loads(body) == big
    status, headers, body = f.invoke({"do": "nope"} | {"do": "raise"})
    assert status == 200


def test_status_codes_and_unknown_endpoints_pass_through(function, tmp_path):
    f, log = under_fnguard(function, tmp_path)
    status, _, body = f.invoke({"do": "raw", "method": "GET",
                                "path": "/2018-06-01/runtime/no-such-endpoint"})
    assert json.loads(body)["status"] == 404, body
    status, _, body = f.invoke({"do": "raw", "method": "POST", "body": "{}",
                                "path": "/2018-06-01/runtime/invocation/bogus-id/response"})
    assert json.loads(body)["status"] == 400, body
    status, _, body = f.invoke({})  # the loop goes on
    assert status == 200 and "rid" in json.loads(body)


def test_real_runtime_api_only_through_the_proxy(function, tmp_path):
    """With network rules, the workload may reach fnguard's proxy whatever
    the rules say, and never the real API (it would skip the inspection)."""
    rport = free_port()
    f, log = under_fnguard(function, tmp_path,
                           policy="version: 1\nnetwork:\n  allow: []\n  loopback: false\n"
                                  "  action: deny\n",
                           args=["--runtime-port", str(rport)])
    status, _, body = f.invoke({"do": "direct", "port": rport})
    assert json.loads(body) == {"direct": "refused 1"}, (body, f.log())
    events = [json.loads(line) for line in log.read_text().splitlines()]
    deny = [e for e in events if e["event"] == "connect" and e["action"] == "deny"]
    assert deny and deny[0]["rule"] == "runtime-api" and deny[0]["port"] == rport, events
    assert deny[0]["request_id"], deny[0]
    status, _, body = f.invoke({})
    assert status == 200 and "rid" in json.loads(body)
