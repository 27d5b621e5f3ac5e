#!/usr/bin/python3
"""A minimal custom-runtime bootstrap for tests: the Runtime API loop of a
Python function, as Lambda's own runtime client does it, with nothing but
the standard library. _HANDLER is "module.function" in LAMBDA_TASK_ROOT.

RUNTIME_KEEPALIVE=1 keeps one HTTP/1.1 connection for every call (as the
managed runtimes' clients do); RUNTIME_CHUNKED=1 posts results with
chunked transfer coding."""
import http.client
import importlib
import json
import os
import socket
import sys
import traceback

HOST = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"
KEEP = os.environ.get("RUNTIME_KEEPALIVE") == "1"
CHUNKED = os.environ.get("RUNTIME_CHUNKED") == "1"
_conn = None


def call(method, path, body=None):
    """(status, headers, body) of one Runtime API call."""
    global _conn
    c = _conn if KEEP and _conn else http.client.HTTPConnection(HOST)
    if c.sock is None:
        c.connect()
        # As the managed runtimes' clients (curl) do: no Nagle delay.
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Content-Type": "application/json"}
    if body is not None and CHUNKED:
        c.request(method, BASE + path, body=iter([body[:7], body[7:]]), headers=headers,
                  encode_chunked=True)
    else:
        c.request(method, BASE + path, body=body, headers=headers)
    r = c.getresponse()
    out = (r.status, r.headers, r.read())
    if KEEP:
        _conn = c
    else:
        c.close()
    return out


def error_body(e):
    return json.dumps({"errorMessage": str(e), "errorType": type(e).__name__,
                       "stackTrace": traceback.format_tb(e.__traceback__)}).encode()


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.trace_id = headers.get("Lambda-Runtime-Trace-Id")
        self.client_context = headers.get("Lambda-Runtime-Client-Context")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


def main():
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "."))
    modname, _, fname = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(modname), fname)
    except Exception as e:  # noqa: BLE001 (reported to the Runtime API)
        call("POST", "/init/error", error_body(e))
        sys.exit(1)
    while True:
        status, headers, body = call("GET", "/invocation/next")
        if status != 200:
            sys.exit(f"runtime: next returned {status}")
        event, ctx = json.loads(body or b"null"), Context(headers)
        try:
            out = json.dumps(handler(event, ctx)).encode()
        except Exception as e:  # noqa: BLE001
            call("POST", f"/invocation/{ctx.aws_request_id}/error", error_body(e))
            continue
        call("POST", f"/invocation/{ctx.aws_request_id}/response", out)


if __name__ == "__main__":
    main()
