"""`fnguard report` and `fnguard learn` on logs recorded from real runs:
exec, network, code and Lambda workloads run here under fnguard, their
logs read back; the HTML dashboard rendered by a real browser (Debian's
chromium, headless); a policy learned from an audit run enforced on the
same workload and on attack variants of it."""
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import (EXIT_VIOLATION, FNGUARD, PY, base_env, parse_log_file,
                      write_script)
from test_emulator import BOOTSTRAP, function  # noqa: F401 (fixture)
from test_rtapi import SEEN_APP, sns

CHROMIUM = shutil.which("chromium")
XSS = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


def fnguard(*args, stdin=None, check=True):
    p = subprocess.run([FNGUARD, *map(str, args)], capture_output=True, text=True,
                       input=stdin, timeout=120, env=base_env())
    if check:
        assert p.returncode == 0, f"fnguard {args}: {p.returncode}\n{p.stderr}"
    return p


def report_json(*logs, extra=()):
    return json.loads(fnguard("report", "--json", *extra, *logs).stdout)


def keys(table):
    return {e.get("key", e.get("payload")): e for e in table}


WORKLOAD = '''
import os, socket, subprocess, sys
sys.path.insert(0, os.environ["CODE"])
try:
    import bad
except PermissionError:
    pass
try:
    socket.getaddrinfo("exfil.attacker.example", 443)
except OSError:
    pass
try:
    socket.create_connection(("203.0.113.7", 443), timeout=2)
except OSError:
    pass
subprocess.run(["/usr/bin/id"])
'''

POLICY = """version: 1
name: {name}
exec:
  allow: [/usr/bin/python3*]
network:
  allow: ["api.example.com:443"]
  loopback: false
  action: deny
code:
  paths: [{code}]
  rules:
    - id: py-subprocess
      pattern: '\\bsubprocess\\.(call|check_call|check_output|run|Popen)\\s*\\('
  action: deny
"""


def real_runs(tmp_path, run_fnguard):
    """Logs of an exec/network/code workload (enforce: killed at the exec)
    and of the same in audit mode."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "bad.py").write_text("import subprocess\nsubprocess.run(['id'])\n")
    script = write_script(tmp_path / "w.py", WORKLOAD)
    env = base_env(CODE=str(code))
    logs = []
    for name, mode in (("orders-fn", None), ("billing-fn", "audit")):
        r = run_fnguard(POLICY.format(name=name, code=code), [PY, script], mode=mode, env=env)
        assert r.returncode == (EXIT_VIOLATION if mode is None else 0), r.dump()
        logs.append(r.log_path)
    return logs


def lambda_run(function, tmp_path):  # noqa: F811
    """A Lambda function behind the emulator: clean invocations and
    attacks in SNS messages, one of them an XSS payload for the dashboard."""
    pol = tmp_path / "lambda.yaml"
    pol.write_text("version: 1\nname: sns-checker\nevents:\n  detect: [sqli, xss]\n"
                   "  action: deny\nlog:\n  allowed: true\n")
    log = tmp_path / "lambda.jsonl"
    f = function([FNGUARD, "run", "-p", str(pol), "--log", str(log), "--", PY, BOOTSTRAP],
                 app=SEEN_APP)
    for _ in range(3):
        status, _, body = f.invoke(sns("hello"))
        assert status == 200 and json.loads(body) == {"ok": True}, body
    for msg in ("1' OR '1'='1' -- ", XSS):
        status, headers, body = f.invoke(sns(msg))
        assert json.loads(body)["errorType"] == "Security.Violation", body
    f.close()
    return log


def test_report_on_real_runs(run_fnguard, function, tmp_path):  # noqa: F811
    logs = real_runs(tmp_path, run_fnguard)
    lam = lambda_run(function, tmp_path)
    events = [e for p in logs + [lam] for e in parse_log_file(p)]
    want_viol = sum(e["action"] != "allow" and e["event"] != "exit" for e in events)

    # What log pipelines add: CloudWatch export lines, foreign lines.
    mixed = tmp_path / "mixed.log"
    with open(mixed, "w") as out:
        out.write("START RequestId: 1 Version: $LATEST\n")
        for p in logs:
            for line in Path(p).read_text().splitlines():
                out.write(f"2026-11-22T10:00:00.000Z\tc0ffee-1234\t{line}\n")
        out.write("END RequestId: 1\n{\"not\": \"fnguard\"}\n\x00\x01binary\xff\n")
    agg = report_json(mixed, lam)
    assert agg["input"]["skipped"] == 4, agg["input"]
    assert agg["input"]["fnguard_lines"] == len(events), agg["input"]
    t = agg["totals"]
    assert t["violations"] == want_viol and t["runs"] == 3, t
    assert t["kill"] == 1 and t["audit"] >= 4 and t["deny"] >= 5, t
    assert t["invocations"] == 5, t
    types = keys(agg["attack_types"])
    assert {"exec", "dns", "connect", "code", "sqli", "xss"} <= set(types), types
    assert types["sqli"]["deny"] == 1 and types["exec"]["kill"] == 1, types
    fns = keys(agg["functions"])
    assert set(fns) == {"orders-fn", "billing-fn", "sns-checker"}, fns
    assert fns["sns-checker"]["invocations"] == 5 and fns["sns-checker"]["violations"] == 2
    assert keys(agg["sources"])["aws:sns"]["violations"] == 2, agg["sources"]
    assert "exfil.attacker.example" in keys(agg["domains"]), agg["domains"]
    assert "203.0.113.7:443" in keys(agg["addresses"]), agg["addresses"]
    assert keys(agg["programs"])["/usr/bin/id"]["kill"] == 1, agg["programs"]
    assert {"exec.allow", "network.allow", "py-subprocess"} <= set(keys(agg["rules"]))
    payloads = {e["payload"]: e for e in agg["payloads"]}
    assert any("OR '1'='1'" in p for p in payloads), payloads
    assert sum(e["invocations"] for e in agg["timeline"]) == 5, agg["timeline"]

    # Filters: one function; a time after everything.
    one = report_json(mixed, lam, extra=("--function", "sns-checker"))
    assert one["totals"]["violations"] == 2 and one["input"]["filtered"] > 0, one
    late = report_json(mixed, lam, extra=("--since", "2099-01-01"))
    assert late["totals"]["violations"] == 0 and late["input"]["filtered"] == len(events)
    assert fnguard("report", "--since", "yesterday", lam, check=False).returncode == 2

    # The terminal summary: 80 columns, no escape sequence off a TTY (the
    # XSS payload's text is there, as text).
    text = fnguard("report", mixed, lam).stdout
    assert "\x1b" not in text
    width = max(len(line) for line in text.splitlines())
    assert width <= 80, [line for line in text.splitlines() if len(line) > 80]
    for what in ("By event", "Attack types", "By function", "By event source",
                 "Top blocked domains", "Top blocked programs", "Top payloads", "Timeline",
                 "orders-fn", "sns-checker", "exfil.attacker.example", "/usr/bin/id"):
        assert what in text, (what, text)
    # Stdin, as in `aws logs tail ... | fnguard report`.
    piped = fnguard("report", "--json", stdin=Path(lam).read_text()).stdout
    assert json.loads(piped)["totals"]["violations"] == 2

    if not CHROMIUM:
        pytest.skip("chromium is missing: run `make deps` (the dashboard is checked in it)")
    html = tmp_path / "report.html"
    fnguard("report", "--html", html, mixed, lam)
    check_dashboard(html, tmp_path, want_viol)


def chromium(*args):
    # --no-sandbox: chromium's sandbox refuses to run as root.
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-first-run", "--hide-scrollbars", *args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def check_dashboard(html, tmp_path, want_viol):
    src = html.read_text()
    # Self-contained: nothing to fetch, no script of any kind.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", src, re.I)
    assert "<script" not in src and "@import" not in src and "url(" not in src
    assert "Content-Security-Policy" in src and "default-src 'none'" in src

    # The DOM as the browser built it (scripts would have run by then).
    dom = chromium("--dump-dom", html.as_uri())
    assert "<title>fnguard report</title>" in dom, dom[:500]
    assert "pwned" in dom, "the XSS payload should be shown, as text"
    assert not re.search(r"<script|<img|<[^>]*\sonerror\s*=", dom, re.I), \
        "log text became markup"
    for chart in ("chart-timeline", "chart-types", "chart-functions", "chart-sources"):
        m = re.search(rf'<svg id="{chart}".*?</svg>', dom, re.S)
        assert m and "<rect" in m.group(0), (chart, m and m.group(0)[:300])
    for table in ("t-events", "t-functions", "t-domains", "t-programs", "violations"):
        assert f'id="{table}"' in dom, table
    rows = re.findall(r'<tr class="viol">.*?</tr>', dom, re.S)
    assert len(rows) == want_viol, (len(rows), want_viol)
    assert all("<details><summary>" in r and "<pre>" in r for r in rows)
    assert any("&lt;script&gt;document.title" in r for r in rows), "full record missing"

    from PIL import Image
    for w, h in ((1280, 900), (390, 844)):
        png = tmp_path / f"shot-{w}.png"
        chromium(f"--screenshot={png}", f"--window-size={w},{h}", html.as_uri())
        img = Image.open(png).convert("RGB")
        assert img.size == (w, h), img.size
        colours = img.getcolors(maxcolors=1 << 20)
        assert colours and len(colours) > 50, f"{w}px screenshot looks blank"
        # The violations red of the charts is drawn at both widths.
        assert any(abs(r - 0xc0) < 8 and abs(g - 0x39) < 8 and abs(b - 0x2b) < 8
                   for _, (r, g, b) in colours), f"no chart red at {w}px"


def test_report_empty_garbage_and_large(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    agg = report_json(empty)
    assert agg["input"]["lines"] == 0 and agg["totals"]["violations"] == 0, agg
    assert "no fnguard log lines" in fnguard("report", empty).stdout
    html = tmp_path / "empty.html"
    fnguard("report", "--html", html, empty)
    assert "</html>" in html.read_text()

    garbage = tmp_path / "garbage.log"
    with open(garbage, "wb") as f:
        f.write(b"\x00\xff\xfe garbage\n{\n}\n[1,2]\n{\"ts\":\"x\"}\n")
        f.write(b'{"ts":"2026-01-01T00:00:00.000Z","event":"exec","action":"kill","x":[}\n')
        f.write(b"A" * (3 << 20) + b"\n")  # far longer than any log line
        f.write(b'{"ts":"2026-01-01T00:00:00.000Z","event":"exec","action":"kill",'
                b'"function":"f","pid":1,"path":"/bin/sh"}')  # no final newline
    agg = report_json(garbage)
    assert agg["input"]["skipped"] == 7 and agg["input"]["fnguard_lines"] == 1, agg["input"]
    assert keys(agg["programs"])["/bin/sh"]["kill"] == 1
    assert fnguard("report", tmp_path / "missing.jsonl", check=False).returncode == 2

    # A large generated log: every count exact.
    big = tmp_path / "big.jsonl"
    acts = ("allow", "deny", "kill", "audit")
    want = dict.fromkeys(acts, 0)
    n = 200_000
    with open(big, "w") as f:
        for i in range(n):
            a = acts[i % 7 % 4]
            want[a] += 1
            f.write(json.dumps({
                "ts": f"2026-11-22T10:{i // 4000 % 60:02d}:{i % 60:02d}.000Z",
                "event": "dns", "action": a, "function": f"fn-{i // 3 % 13}", "pid": 7,
                "request_id": f"r-{i // 3}", "name": f"h{i % 50}.example.com", "qtype": "A"})
                + "\n")
    agg = report_json(big)
    assert agg["input"]["fnguard_lines"] == n
    for a in acts:
        assert agg["totals"][a] == want[a], (a, agg["totals"])
    assert agg["totals"]["invocations"] == (n + 2) // 3, agg["totals"]
    assert len(agg["functions"]) == 13 and len(agg["domains"]) == 50
    assert len(agg["timeline"]) == 50


# ---- learn -------------------------------------------------------------------

LEARN_WORKLOAD = '''
import os, socket, subprocess, sys
sys.path.insert(0, os.environ["CODE"])
import helper
for name in ["a.shard.example.org", "b.shard.example.org", "c.shard.example.org",
             "api.example.net"] + os.environ.get("NAMES", "").split():
    try:
        socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)
    except OSError:
        pass
socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=5).close()
subprocess.run(["/usr/bin/true"], check=True)
for prog in os.environ.get("EXTRA", "").split():
    subprocess.run([prog])
open(os.environ["MARKER"], "w").write("done")
'''

AUDIT = """version: 1
name: learner
mode: audit
exec:
  allow: []
network:
  allow: []
  loopback: false
code:
  paths: [{code}]
log:
  allowed: true
"""


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    stop = threading.Event()

    def serve():
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                s.accept()[0].close()
            except OSError:
                pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield s.getsockname()[1]
    stop.set()
    t.join()
    s.close()


def test_learn_round_trip(run_fnguard, tmp_path, listener):
    code = tmp_path / "code"
    code.mkdir()
    (code / "helper.py").write_text("VALUE = 1\n")
    script = write_script(tmp_path / "w.py", LEARN_WORKLOAD)
    marker = tmp_path / "marker"

    def run(policy, mode=None, **env):
        marker.unlink(missing_ok=True)
        e = base_env(CODE=str(code), PORT=str(listener), MARKER=str(marker), **env)
        return run_fnguard(policy, [PY, script], mode=mode, env=e)

    audit = run(AUDIT.format(code=code))
    assert audit.returncode == 0 and marker.exists(), audit.dump()
    assert audit.of("exec", action="audit") and audit.of("dns", action="audit"), audit.dump()

    learned = fnguard("learn", audit.log_path)
    yaml = learned.stdout
    pol = tmp_path / "learned.yaml"
    pol.write_text(yaml)
    assert fnguard("check", pol).returncode == 0
    assert re.search(r'- "/usr/bin/true"\s+# executed 1 time', yaml), yaml
    assert re.search(r'- "\*\.shard\.example\.org"\s+# resolved \d+ times, 3 names', yaml), yaml
    assert '"api.example.net"' in yaml, yaml
    assert re.search(rf'- "127\.0\.0\.1:{listener}"\s+# 1 connection', yaml), yaml
    assert re.search(rf'- "{re.escape(str(code))}"\s+# 1 code file loaded', yaml), yaml
    assert "mode: enforce" in yaml and "name: \"learner\"" in yaml, yaml
    assert learned.stderr == "", learned.stderr

    # Enforced with the learned policy, the same run passes untouched.
    ok = run(pol)
    assert ok.returncode == 0 and marker.exists(), ok.dump()
    assert not [e for e in ok.events if e["action"] not in ("allow",)], ok.dump()
    # Another name under the learned wildcard passes too.
    ok = run(pol, NAMES="d.shard.example.org")
    assert ok.returncode == 0 and marker.exists(), ok.dump()

    # Attack variants of the same workload are killed before they act.
    bad = run(pol, EXTRA="/usr/bin/id")
    assert bad.returncode == EXIT_VIOLATION and not marker.exists(), bad.dump()
    assert bad.one("exec", action="kill")["path"] == "/usr/bin/id"
    bad = run(pol, NAMES="exfil.attacker.example")
    assert bad.returncode == EXIT_VIOLATION and not marker.exists(), bad.dump()
    assert bad.of("dns", action="kill", name="exfil.attacker.example"), bad.dump()


def test_learn_notes_and_empty(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    p = fnguard("learn", empty)
    assert "no fnguard log lines" in p.stderr
    pol = tmp_path / "p.yaml"
    pol.write_text(p.stdout)
    assert fnguard("check", pol).returncode == 0
    assert "allow: []" in p.stdout
    enforce = tmp_path / "enforce.jsonl"
    enforce.write_text(json.dumps({"ts": "2026-01-01T00:00:00.000Z", "event": "start",
                                   "action": "allow", "function": "f", "pid": 1,
                                   "mode": "enforce"}) + "\n" +
                       json.dumps({"ts": "2026-01-01T00:00:00.001Z", "event": "exec",
                                   "action": "kill", "function": "f", "pid": 2,
                                   "path": "/usr/bin/x\ny: 1", "rule": "exec.allow"}) + "\n")
    p = fnguard("learn", enforce)
    assert "not (only) from audit runs" in p.stderr and "1 actions were blocked" in p.stderr
    pol.write_text(p.stdout)
    assert fnguard("check", pol).returncode == 0, p.stdout  # a newline in a path stays quoted


def on_a_tty(argv, env):
    """Output of argv run with a pseudo-terminal as its stdout."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out


def test_report_colour_only_on_a_tty_and_no_escapes_from_the_log(tmp_path):
    log = tmp_path / "l.jsonl"
    log.write_text(json.dumps({
        "ts": "2026-11-22T10:00:00.000Z", "event": "invoke", "action": "kill",
        "function": "f", "pid": 1, "attack": "xss", "source": "aws:sns",
        "payload": "\x1b]0;owned\x07\x1b[2J\u009b31mevil\u202egnp.exe"}) + "\n")
    out = on_a_tty([FNGUARD, "report", str(log)], base_env())
    assert b"\x1b[1m" in out and b"\x1b[31m" in out, out  # bold, red
    # The payload's own escapes (OSC title, clear screen, an 8-bit CSI, a
    # right-to-left override) reach the terminal as '?', never as controls.
    assert b"\x1b]" not in out and b"\x1b[2J" not in out and "\u009b".encode() not in out
    assert b"?]0;owned??[2J?31mevil?gnp.exe" in out, out
    plain = on_a_tty([FNGUARD, "report", str(log)], base_env(NO_COLOR="1"))
    assert b"\x1b" not in plain, plain
