#!/usr/bin/python3
"""A local AWS Lambda Runtime API emulator, to run and invoke a function
(under fnguard or not) with no AWS account.

    tools/lambda_emulator.py [--port 9000] [--handler app.handler] -- COMMAND [ARG...]

COMMAND is the function's runtime (a custom runtime's bootstrap, or
`fnguard run -p POLICY -- bootstrap`): it is started with
AWS_LAMBDA_RUNTIME_API pointing at the emulator's Runtime API and the
usual Lambda environment, and restarted for the next invocation if it
exits. Invoke it like the official runtime interface emulator:

    curl -d '{"name": "x"}' http://127.0.0.1:9000/2015-03-31/functions/function/invocations

The Runtime API side implements what runtimes call (2018-06-01):
GET  /runtime/invocation/next              (long poll; headers Lambda-Runtime-*)
POST /runtime/invocation/{id}/response     (202)
POST /runtime/invocation/{id}/error        (202; the invoke gets X-Amz-Function-Error)
POST /runtime/init/error                   (202; the invoke fails with the error)
with Content-Length or chunked bodies, keep-alive, and the 6 MB limit on
synchronous payloads (413 both ways, as Lambda). Python standard library
only: it runs wherever the function's tests run.
"""
import argparse
import http.server
import json
import os
import queue
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid

API = "/2018-06-01"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
MAX_PAYLOAD = 6 * 1024 * 1024


class Invocation:
    def __init__(self, event, timeout_s, client_context=None):
        self.id = str(uuid.uuid4())
        self.event = event
        self.deadline_ms = int((time.time() + timeout_s) * 1000)
        self.client_context = client_context
        self.done = threading.Event()
        self.status = 200
        self.body = b""
        self.function_error = None  # "Unhandled" when the runtime posted an error
        self.taken = False  # a runtime received it

    def finish(self, body, function_error=None):
        if not self.done.is_set():
            self.body, self.function_error = body, function_error
            self.done.set()


class Emulator:
    def __init__(self, args):
        self.args = args
        self.pending = queue.Queue()
        self.running = {}  # request id -> Invocation
        self.lock = threading.Lock()
        self.proc = None
        self.init_error = None
        self.runtime_port = None
        self.invoke_lock = threading.Lock()  # one invocation at a time, as one sandbox
        self.generation = 0  # bumped per runtime process started

    # ---- the function's process ----

    def env(self):
        a = self.args
        e = dict(os.environ)
        e.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.runtime_port}",
            "AWS_LAMBDA_FUNCTION_NAME": a.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(a.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{a.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "emulator",
            "AWS_REGION": e.get("AWS_REGION", "us-east-1"),
            "AWS_DEFAULT_REGION": e.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_EXECUTION_ENV": "AWS_Lambda_emulator",
            "LAMBDA_TASK_ROOT": a.task_root,
            "LAMBDA_RUNTIME_DIR": a.task_root,
            "_HANDLER": a.handler,
            "TZ": ":UTC",
        })
        return e

    def ensure_running(self):
        if self.proc is None or self.proc.poll() is not None:
            self.init_error = None
            self.generation += 1
            self.proc = subprocess.Popen(self.args.command, env=self.env(), cwd=self.args.task_root)
            threading.Thread(target=self.watch, args=(self.proc,), daemon=True).start()

    def watch(self, proc):
        """A runtime that exits fails the invocation it was running."""
        rc = proc.wait()
        with self.lock:
            running = list(self.running.values())
            self.running.clear()
        err = {"errorType": "Runtime.ExitError",
               "errorMessage": f"RequestId: {{}} Error: Runtime exited with status {rc}"}
        for inv in running:
            err["errorMessage"] = err["errorMessage"].format(inv.id)
            inv.finish(json.dumps(err).encode(), "Unhandled")

    # ---- invoke side ----

    def invoke(self, event, client_context):
        with self.invoke_lock:
            self.ensure_running()
            inv = Invocation(event, self.args.timeout, client_context)
            self.pending.put(inv)
            end = time.time() + self.args.timeout
            while not inv.done.wait(0.1) and time.time() < end:
                if inv.taken or self.proc.poll() is None:
                    continue  # a runtime that took it and dies fails it (watch)
                if self.init_error is not None:
                    inv.finish(self.init_error, "Unhandled")
                else:
                    # The previous runtime was still on its way out: a fresh
                    # one takes this invocation.
                    self.ensure_running()
            if not inv.done.is_set():
                # As Lambda: a timed-out sandbox is reset (the answer first,
                # or the runtime's exit would be reported instead).
                msg = f"Task timed out after {self.args.timeout:.2f} seconds"
                inv.finish(json.dumps({"errorType": "Runtime.Timeout",
                                       "errorMessage": msg}).encode(), "Unhandled")
                with self.lock:
                    self.running.pop(inv.id, None)
                self.stop_function()
            return inv

    def stop_function(self):
        p = self.proc
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # ---- runtime side ----

    def next_invocation(self, generation):
        """The next invocation for a runtime started as `generation`, or None
        once that runtime is gone (its long poll must not swallow one)."""
        while True:
            if generation != self.generation or (self.proc and self.proc.poll() is not None):
                return None
            try:
                inv = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            if generation != self.generation:
                self.pending.put(inv)
                return None
            if self.init_error is not None:
                inv.finish(self.init_error, "Unhandled")
                continue
            with self.lock:
                self.running[inv.id] = inv
                inv.taken = True
            return inv


def read_body(handler, limit):
    """The request body (Content-Length or chunked), or None past limit."""
    te = handler.headers.get("Transfer-Encoding", "").lower()
    if "chunked" in te:
        out = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(out) if len(out) <= limit else None
            chunk = handler.rfile.read(size)
            if len(out) <= limit:  # past it, read on (and drop) to answer 413
                out += chunk
            handler.rfile.readline()
    n = int(handler.headers.get("Content-Length") or 0)
    if n > limit:
        while n > 0:  # drained, so the client reads our 413 rather than EPIPE
            n -= len(handler.rfile.read(min(n, 1 << 20)) or b"x" * n)
        return None
    return handler.rfile.read(n) if n else b""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoints
    emulator = None
    server_version = "lambda-emulator"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle
        # and the peer's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):
        if self.emulator.args.verbose:
            sys.stderr.write("emulator: " + fmt % a + "\n")

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def too_large(self):
        self.close_connection = True
        self.reply(413, json.dumps({
            "errorType": "RequestEntityTooLarge",
            "errorMessage": f"Request must be smaller than {MAX_PAYLOAD} bytes for the "
                            "InvokeFunction operation"}).encode())

    def do_GET(self):
        em = self.emulator
        if self.path == API + "/runtime/invocation/next":
            inv = em.next_invocation(em.generation)
            if inv is None:
                self.close_connection = True
                return
            headers = [("Lambda-Runtime-Aws-Request-Id", inv.id),
                       ("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms)),
                       ("Lambda-Runtime-Invoked-Function-Arn",
                        f"arn:aws:lambda:us-east-1:000000000000:function:"
                        f"{em.args.function_name}"),
                       ("Lambda-Runtime-Trace-Id",
                        f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0")]
            if inv.client_context:
                headers.append(("Lambda-Runtime-Client-Context", inv.client_context))
            self.reply(200, inv.event, headers)
        else:
            self.reply(404, b'{"errorType":"NotFound"}')

    def do_POST(self):
        em = self.emulator
        body = read_body(self, MAX_PAYLOAD)
        if body is None:
            self.too_large()
            return
        if self.path == INVOKE_PATH:
            inv = em.invoke(body, self.headers.get("X-Amz-Client-Context"))
            headers = [("X-Amz-Executed-Version", "$LATEST"),
                       ("X-Amz-Request-Id", inv.id)]
            if inv.function_error:
                headers.append(("X-Amz-Function-Error", inv.function_error))
            self.reply(200, inv.body, headers)
            return
        parts = self.path.split("/")
        # /2018-06-01/runtime/invocation/{id}/(response|error)
        if self.path.startswith(API + "/runtime/invocation/") and len(parts) == 6:
            rid, what = parts[4], parts[5]
            with em.lock:
                inv = em.running.pop(rid, None)
            if inv is None or what not in ("response", "error"):
                self.reply(400 if inv is None else 404,
                           b'{"errorType":"InvalidRequestID","errorMessage":"unknown id"}')
                return
            if what == "error":
                inv.finish(body or b'{"errorType":"Unknown"}', "Unhandled")
            else:
                inv.finish(body)
            self.reply(202, b'{"status":"OK"}')
            return
        if self.path == API + "/runtime/init/error":
            em.init_error = body or b'{"errorType":"Runtime.InitError"}'
            with em.lock:
                running = list(em.running.values())
                em.running.clear()
            for inv in running:
                inv.finish(em.init_error, "Unhandled")
            self.reply(202, b'{"status":"OK"}')
            return
        self.reply(404, b'{"errorType":"NotFound"}')


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=9000, help="invoke endpoint port (0: any)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--runtime-port", type=int, default=0)
    ap.add_argument("--handler", default="app.handler")
    ap.add_argument("--function-name", default="function")
    ap.add_argument("--task-root", default=os.getcwd())
    ap.add_argument("--memory", type=int, default=128)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--ready-file", help="write the invoke URL here once listening")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()
    em = Emulator(args)
    Handler.emulator = em
    runtime = Server(("127.0.0.1", args.runtime_port), Handler)
    em.runtime_port = runtime.server_address[1]
    invoke = Server((args.host, args.port), Handler)
    for srv in (runtime, invoke):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://{invoke.server_address[0]}:{invoke.server_address[1]}{INVOKE_PATH}"
    print(f"emulator: invoke with POST {url}", file=sys.stderr, flush=True)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(url + "\n")
        os.rename(args.ready_file + ".tmp", args.ready_file)
    em.ensure_running()  # init now, as Lambda does before the first invoke
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    done.wait()
    em.stop_function()


if __name__ == "__main__":
    main()
