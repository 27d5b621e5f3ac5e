#!/usr/bin/python3
"""A minimal custom-runtime bootstrap for tests: the Runtime API loop of a
Python function, as Lambda's own runtime client does it, with nothing but
the standard library. _HANDLER is "module.function" in LAMBDA_TASK_ROOT."""
import importlib
import json
import os
import sys
import traceback
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def post(path, body):
    req = urllib.request.Request(API + path, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


def error_body(e):
    return json.dumps({"errorMessage": str(e), "errorType": type(e).__name__,
                       "stackTrace": traceback.format_tb(e.__traceback__)}).encode()


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


def main():
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "."))
    modname, _, fname = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(modname), fname)
    except Exception as e:  # noqa: BLE001 (reported to the Runtime API)
        post("/init/error", error_body(e))
        sys.exit(1)
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as r:
            event, ctx = json.loads(r.read() or b"null"), Context(r.headers)
        try:
            out = json.dumps(handler(event, ctx)).encode()
        except Exception as e:  # noqa: BLE001
            post(f"/invocation/{ctx.aws_request_id}/error", error_body(e))
            continue
        post(f"/invocation/{ctx.aws_request_id}/response", out)


if __name__ == "__main__":
    main()
