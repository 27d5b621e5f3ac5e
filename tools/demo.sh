#!/bin/sh
# tools/demo.sh FNGUARD: run the example function in tools/demo/ under
# fnguard and show what happened. The function does its job, then a
# poisoned dependency tries to send AWS_SECRET_ACCESS_KEY out with curl.
set -u
FNG=${1:?usage: tools/demo.sh path/to/fnguard}
DEMO=$(cd "$(dirname "$0")/demo" && pwd)
PY=/usr/bin/python3
LOG=$(mktemp /tmp/fnguard-demo.XXXXXX)
trap 'rm -f "$LOG"' EXIT INT TERM

echo "== policy: $DEMO/fnguard.yaml"
grep -v '^#' "$DEMO/fnguard.yaml"
echo
echo "== fnguard run -p fnguard.yaml -- python3 handler.py"
# A clean environment with a fake credential: the log must not show it.
env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
	AWS_LAMBDA_FUNCTION_NAME=orders-total \
	AWS_SECRET_ACCESS_KEY=demoSECRETdoNotLeak0123456789abcdef \
	"$FNG" run -p "$DEMO/fnguard.yaml" --log "$LOG" -- "$PY" -B "$DEMO/handler.py"
rc=$?
echo
echo "== log: violations in full, the rest in short"
"$PY" - "$LOG" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "start":
        print(f"{e['ts']} start  tier={e['tier']} function={e['function']} "
              f"policy_sha256={e['policy_sha256'][:12]}…")
    elif e["event"] == "exit":
        print(f"{e['ts']} exit   status={e['status']} signal={e['signal']} "
              f"after {e['duration_ms']} ms, counts={json.dumps(e['counts'])}")
    else:
        print(json.dumps(e, indent=2))
PYEOF
echo
"$PY" - "$LOG" "$rc" <<'PYEOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
rc = int(sys.argv[2])
kill = [e for e in ev if e.get("action") == "kill"]
if rc == 159 and kill:
    k = kill[0]
    what = k.get("path") or k.get("syscall") or k.get("event")
    print(f"== result: exit 159, fnguard killed the function: {k['event']} of {what} "
          f"({k.get('reason', 'no reason given')}; rule {k.get('rule', '-')}); "
          f"the secret never left and is not in the log: "
          f"{'yes' if 'demoSECRET' not in open(sys.argv[1]).read() else 'NO'}")
    sys.exit(0)
print(f"== result: UNEXPECTED exit {rc} ({len(kill)} kill lines): the demo expected 159")
sys.exit(1)
PYEOF
