#!/usr/bin/python3
"""The checks of `make docker-test` (started by tools/docker-test.sh, with
DOCKER_HOST pointing at its private dockerd): run the test image three times
— with and without --cap-add SYS_PTRACE, and "as on Lambda": a seccomp
profile that refuses seccomp(2) and ptrace(2) with EPERM, as public reports
say Lambda does, on a read-only root filesystem — always with --network
none (loopback only), and through the emulator's invoke endpoint (reached
with `docker exec`) show

  (a) a normal invocation works;
  (b) a handler that runs /usr/bin/id under `exec: allow: []` fails the
      invocation with Security.Violation and fnguard logs an `exec` kill;
  (c) a handler that puts AWS_SECRET_ACCESS_KEY in a DNS name under
      exfil.attacker.example is killed with a `dns` line (the secret shown
      as [REDACTED:...]), and one that connects to 203.0.113.7:443 is
      killed with a `connect` line;
  (d) the tier and pidfd_getfd / network_sockets that `fnguard probe --json`
      reports inside the container, and the start event's socket_broker:
      the kernel tier in the first two, the preload tier (the layer's
      libfnguard-preload.so) in the third.

Prints a short report; exits 1 on any failed expectation.

    tools/docker/check.py IMAGE
"""
import json
import subprocess
import sys
import time

DOCKER = "/usr/bin/docker"
SECRET = "fakesecret0fnguard0docker0test0a1b2c3d4"  # a valid DNS label, 40 chars
INVOKE = r'''
import http.client, json, sys, time
end = time.time() + 30
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=60)
        c.request("POST", "/2015-03-31/functions/function/invocations", body=sys.argv[1])
        r = c.getresponse()
        break
    except ConnectionError:
        if time.time() > end:
            raise
        time.sleep(0.1)
print(json.dumps({"status": r.status, "headers": dict(r.getheaders()),
                  "body": r.read().decode("utf-8", "replace")}))
'''

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"    FAIL: {what}")
    return ok


def docker(*args, check_rc=True, timeout=120):
    p = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {p.returncode}: {p.stderr.strip()}")
    return p


def invoke(name, event):
    p = docker("exec", name, "/usr/bin/python3", "-c", INVOKE, json.dumps(event))
    out = json.loads(p.stdout)
    try:
        out["json"] = json.loads(out["body"])
    except ValueError:
        out["json"] = None
    return out


def fnguard_events(name):
    """fnguard's JSON lines from the container's output (its log goes to
    stderr, as to CloudWatch on Lambda)."""
    p = docker("logs", name)
    events = []
    for line in (p.stdout + p.stderr).splitlines():
        if line.startswith("{"):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and "event" in e:
                events.append(e)
    return events, p.stdout + p.stderr


def violation(r):
    return (r["headers"].get("X-Amz-Function-Error") == "Unhandled"
            and isinstance(r["json"], dict)
            and r["json"].get("errorType") == "Security.Violation")


# Everything allowed but seccomp(2) and ptrace(2), which fail with EPERM.
LAMBDA_PROFILE = {"defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["seccomp", "ptrace"], "action": "SCMP_ACT_ERRNO",
                                "errnoRet": 1}]}
MODES = {
    "ptrace": "--cap-add SYS_PTRACE",
    "noptrace": "docker's defaults (no SYS_PTRACE)",
    "lambda": "as on Lambda: seccomp and ptrace refused, read-only root",
}


def run_mode(image, mode, profile):
    label = MODES[mode]
    ptrace = mode == "ptrace"
    tier = "preload" if mode == "lambda" else "kernel"
    name = "fnguard-test-" + mode
    print(f"\n== {label}")
    docker("rm", "-f", name, check_rc=False)
    args = ["run", "-d", "--name", name, "--network", "none",
            "-e", f"AWS_SECRET_ACCESS_KEY={SECRET}", "-e", "AWS_ACCESS_KEY_ID=AKIAFNGUARDTEST00000"]
    if ptrace:
        args += ["--cap-add", "SYS_PTRACE"]
    if mode == "lambda":
        args += ["--security-opt", f"seccomp={profile}", "--read-only", "--tmpfs", "/tmp"]
    docker(*args, image)
    res = {"mode": label}
    try:
        probe = json.loads(docker("exec", name, "/opt/bin/fnguard", "probe", "--json").stdout)
        res.update(tier=probe["tier"], pidfd_getfd=probe["pidfd_getfd"],
                   network_sockets=probe["network_sockets"])
        print(f"  probe: tier={probe['tier']} pidfd_getfd={probe['pidfd_getfd']} "
              f"network_sockets={probe['network_sockets']} ptrace={probe['ptrace']} "
              f"seccomp_user_notif={probe['seccomp_user_notif']}")
        check(probe["tier"] == tier, f"probe: tier {tier}")
        if mode != "lambda":
            check(probe["pidfd_getfd"] is ptrace, f"probe: pidfd_getfd {ptrace}")
            check(probe["network_sockets"] == ("pidfd_getfd" if ptrace else "broker"),
                  "probe: network_sockets")
        ifaces = docker("exec", name, "/usr/bin/python3", "-c",
                        "import socket; print(' '.join(n for _, n in socket.if_nameindex()))"
                        ).stdout.split()
        print(f"  network interfaces in the container: {' '.join(ifaces)}")
        check(ifaces == ["lo"], "container has loopback only")

        t = time.time()
        r = invoke(name, {})
        print(f"  (a) normal invocation: status {r['status']}, body {r['body'][:80]} "
              f"({(time.time() - t) * 1000:.0f} ms, cold start included)")
        check(r["status"] == 200 and "X-Amz-Function-Error" not in r["headers"]
              and isinstance(r["json"], dict) and r["json"].get("ok") is True,
              "(a) normal invocation answers ok")

        r = invoke(name, {"do": "exec"})
        rid_exec = r["headers"].get("X-Amz-Request-Id")
        print(f"  (b) exec /usr/bin/id: {r['json'] and r['json'].get('errorType')}")
        check(violation(r), "(b) blocked exec fails the invocation with Security.Violation")

        r = invoke(name, {"do": "dns"})
        rid_dns = r["headers"].get("X-Amz-Request-Id")
        print(f"  (c) DNS exfiltration: {r['json'] and r['json'].get('errorType')}")
        check(violation(r), "(c) DNS exfiltration fails the invocation with Security.Violation")

        r = invoke(name, {"do": "connect"})
        rid_conn = r["headers"].get("X-Amz-Request-Id")
        print(f"  (c) connect 203.0.113.7:443: {r['json'] and r['json'].get('errorType')}")
        check(violation(r), "(c) connect fails the invocation with Security.Violation")

        r = invoke(name, {})
        check(r["status"] == 200 and isinstance(r["json"], dict) and r["json"].get("ok") is True,
              "(a) a fresh runtime serves the next invocation")

        events, text = fnguard_events(name)
        starts = [e for e in events if e["event"] == "start"]
        check(starts and all(e["tier"] == tier for e in starts), f"start events: tier {tier}")
        if starts:
            feats = starts[0].get("features", {})
            res["socket_broker"] = feats.get("socket_broker")
            print(f"  start event: tier={starts[0]['tier']} features={json.dumps(feats)}")
            if mode == "lambda":
                print(f"  start event: tier_reason={starts[0].get('tier_reason')}")
                check(any("raw" in lim for lim in starts[0].get("limits", [])),
                      "start: the preload tier's limits are named")
            else:
                check(feats.get("socket_broker") is (not ptrace), "start: socket_broker")
            check(feats.get("runtime_api_proxy") is True, "start: runtime_api_proxy")
        kills = [e for e in events if e.get("action") == "kill" and e["event"] != "exit"]
        for e in kills:
            what = {k: e.get(k) for k in ("event", "action", "path", "name", "qtype", "addr",
                                          "port", "request_id") if k in e}
            print(f"  log: {json.dumps(what)}")
        ex = [e for e in kills if e["event"] == "exec" and e.get("path") == "/usr/bin/id"]
        check(ex and ex[0].get("request_id") == rid_exec, "(b) exec kill line with request_id")
        dn = [e for e in kills if e["event"] == "dns"
              and "exfil.attacker.example" in (e.get("name") or "")]
        check(dn and dn[0].get("request_id") == rid_dns, "(c) dns kill line with request_id")
        check(dn and "[REDACTED:AWS_SECRET_ACCESS_KEY]" in dn[0]["name"],
              "(c) the secret in the DNS name is redacted")
        check(SECRET not in text, "the secret never appears in the container's output")
        cn = [e for e in kills if e["event"] == "connect" and e.get("addr") == "203.0.113.7"]
        check(cn and cn[0].get("port") == 443 and cn[0].get("request_id") == rid_conn,
              "(c) connect kill line with request_id")
        others = [e for e in kills if e["event"] not in ("exec", "dns", "connect")]
        check(not others, f"no other kill lines (got {others})")
        exits = [e for e in events if e["event"] == "exit"]
        check(sorted(e.get("status") for e in exits).count(159) == 3,
              "three runtimes ended by fnguard (exit status 159)")
    finally:
        if failures:
            _, text = fnguard_events(name)
            print("  --- container output (last 40 lines) ---")
            print("\n".join("  " + line for line in text.splitlines()[-40:]))
        docker("rm", "-f", name, check_rc=False)
    return res


def main():
    image = sys.argv[1]
    print(f"docker-test: image {image}, containers with --network none")
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="fnguard-lambda-") as prof:
        json.dump(LAMBDA_PROFILE, prof)
        prof.flush()
        rows = [run_mode(image, m, prof.name) for m in MODES]
    print("\n| container | tier | pidfd_getfd | network_sockets | start socket_broker |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r.get('tier')} | {r.get('pidfd_getfd')} | "
              f"{r.get('network_sockets')} | {r.get('socket_broker')} |")
    if failures:
        print(f"\ndocker-test: {len(failures)} failed expectation(s):")
        for f in failures:
            print(f"  - {f}")
        return 1
    print("\ndocker-test: all expectations met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
