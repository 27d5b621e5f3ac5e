#!/usr/bin/python3
"""False-positive measurement of the shipped rule packs on real third-party code.

Runs `fnguard scan --format json --rules rules/packs/PACK.yaml` over code
installed from Debian and prints, per corpus and pack, then per rule: files
scanned, files flagged, findings; and the scan throughput (MB/s, wall clock of
the whole `fnguard scan` run, best of --runs, page cache warm).

Corpora (missing ones are skipped and said so):
  python-stdlib  /usr/lib/python3.11                         (python pack)
  python-libs    dist-packages/{botocore,requests,urllib3}   (apt: python3-botocore
                 python3-requests python3-urllib3)
  node-libs      /usr/share/nodejs (apt: node-express node-lodash node-debug
                 node-axios node-commander node-yargs node-minimist and their deps)
  shell          *.sh under /usr and /etc, plus the shebang shell scripts in
                 /usr/bin /usr/sbin /etc/init.d (copied to a temporary
                 directory with a .sh suffix, since rules select by extension
                 and scan does not follow symlinks)

Every finding on this code is a false positive for the purpose of a default
pack (ordinary library code must load); --show N prints N excerpts per rule.
Exit status 1 when a high or critical rule flags more than --max-high files
(default 0) in any corpus, not counting the reviewed findings in KNOWN, so
`make bench` notices a regression.

  FNGUARD=build/fnguard /usr/bin/python3 tests/bench/fp_packs.py [--show 3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
FNGUARD = os.environ.get("FNGUARD") or str(REPO / "build" / "fnguard")
PACKS = REPO / "rules" / "packs"

# Findings of high/critical rules that were reviewed and accepted: (rule,
# path substring) -> why. They are printed, and not counted against --max-high.
KNOWN = {
    ("py-eval-untrusted", "lib2to3/fixes/fix_input.py"):
        "docstring 'changes input(...) into eval(input(...))'",
    ("node-process-binding", "/spawn-wrap/"):
        "nyc's spawn-wrap hooks process.binding('spawn_sync') on purpose (test tooling)",
    ("node-process-binding", "/process-on-spawn/"):
        "same technique as spawn-wrap (test tooling)",
}
DIST = Path("/usr/lib/python3/dist-packages")


def shell_corpus(tmp):
    """A directory of shell scripts: *.sh files and shebang scripts renamed .sh."""
    out = Path(tmp) / "shell"
    out.mkdir()
    n = 0
    seen = set()

    def add(p):
        nonlocal n
        try:
            rp = p.resolve()
            if rp in seen or not rp.is_file() or rp.stat().st_size > 4 << 20:
                return
            seen.add(rp)
            n += 1
            shutil.copyfile(rp, out / f"{n:05d}_{p.name}{'' if p.name.endswith('.sh') else '.sh'}")
        except OSError:
            pass

    for root in ("/usr", "/etc"):
        for dirpath, dirnames, files in os.walk(root):
            for f in files:
                if f.endswith((".sh", ".bash")):
                    add(Path(dirpath) / f)
    for d in ("/usr/bin", "/usr/sbin", "/etc/init.d", "/usr/lib/git-core"):
        if not os.path.isdir(d):
            continue
        for p in sorted(Path(d).iterdir()):
            try:
                with open(p, "rb") as fh:
                    head = fh.read(64)
            except OSError:
                continue
            if head.startswith(b"#!") and any(s in head.split(b"\n")[0] for s in
                                              (b"/sh", b"bash", b"dash", b"env sh")):
                add(p)
    return out


def corpora(tmp):
    c = [("python-stdlib", "python", ["/usr/lib/python3.11"]),
         ("python-libs", "python",
          [str(DIST / m) for m in ("botocore", "requests", "urllib3") if (DIST / m).is_dir()]),
         ("node-libs", "node", ["/usr/share/nodejs"] if os.path.isdir("/usr/share/nodejs") else []),
         ("shell", "shell", [str(shell_corpus(tmp))])]
    return c


def scan(pack, paths, runs):
    best = None
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.run([FNGUARD, "scan", "--format", "json", "--rules",
                            str(PACKS / f"{pack}.yaml"), *paths],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        dt = time.monotonic() - t0
        if p.returncode not in (0, 1):
            sys.exit(f"fnguard scan failed ({p.returncode}): {p.stderr.strip()}")
        if best is None or dt < best[0]:
            best = (dt, json.loads(p.stdout))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--show", type=int, default=0, help="excerpts to print per rule")
    ap.add_argument("--max-high", type=int, default=0,
                    help="files a high/critical rule may flag per corpus")
    a = ap.parse_args()
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, pack, paths in corpora(tmp):
            if not paths:
                print(f"\n== {name}: not installed, skipped")
                continue
            rules = yaml.safe_load((PACKS / f"{pack}.yaml").read_text())["rules"]
            sev = {r["id"]: r.get("severity") for r in rules}
            dt, rep = scan(pack, paths, a.runs)
            fs = rep["findings"]
            files = defaultdict(set)
            count = defaultdict(int)
            ex = defaultdict(list)
            for f in fs:
                files[f["rule"]].add(f["file"])
                count[f["rule"]] += 1
                if len(ex[f["rule"]]) < a.show:
                    ex[f["rule"]].append(f"{f['file']}:{f['line']}: {f['excerpt'][:160]}")
            flagged = len({f["file"] for f in fs})
            hi = {f["file"] for f in fs if sev.get(f["rule"]) in ("high", "critical")}
            mb = rep["bytes"] / 1e6
            print(f"\n== {name} ({pack} pack, {len(rules)} rules): {' '.join(paths)}")
            print(f"   files scanned {rep['files']}, flagged {flagged} "
                  f"({100.0 * flagged / max(rep['files'], 1):.2f}%), findings {len(fs)}; "
                  f"high/critical: {len(hi)} files; {mb:.1f} MB in {dt:.2f} s = {mb / dt:.0f} MB/s")
            print(f"   {'rule':28} {'severity':9} {'files':>6} {'findings':>8}")
            for r in rules:
                rid = r["id"]
                print(f"   {rid:28} {sev[rid]:9} {len(files[rid]):6} {count[rid]:8}")
                for e in ex[rid]:
                    print(f"      {e}")
                if sev[rid] not in ("high", "critical"):
                    continue
                unknown = set()
                for fn in sorted(files[rid]):
                    why = next((w for (k, sub), w in KNOWN.items() if k == rid and sub in fn), None)
                    if why:
                        print(f"      known: {fn}: {why}")
                    else:
                        unknown.add(fn)
                if len(unknown) > a.max_high:
                    bad.append(f"{name}: {rid} ({sev[rid]}) flags {len(unknown)} files: "
                               + " ".join(sorted(unknown)[:5]))
    if bad:
        print("\nhigh/critical rules over the limit:\n  " + "\n  ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
