#!/usr/bin/python3
"""Detection and false-positive rates of the SQL-injection detector (rules/sqli.c).

Attacks: the strings sqlmap itself sends, rebuilt from Debian's sqlmap package
(/usr/share/sqlmap/data/xml: payloads/*.xml and boundaries.xml) the way its
checks.py combines them, at --level=5 --risk=3 (every test, every boundary):

  for each <test>, each <boundary> whose <clause> overlaps the test's (0 = any)
  and each <where> of the test the boundary also allows:
    where 1 (append):   ORIGVALUE + prefix + " " + payload + comment-or-suffix
    where 2 (negative): "-RANDNUM" + prefix + " " + payload + comment-or-suffix
    where 3 (replace):  payload + comment
  (stacked tests and GROUP/ORDER BY clauses take the prefix without the space;
  a <comment> replaces the boundary's suffix, as in sqlmap's agent.py). UNION
  tests have no payload: "UNION ALL SELECT" with 1, 3 and 10 columns of the
  test's <char>, one of them a CONCAT of the delimiters, is built instead. Every
  test's <vector> is used too, with [INFERENCE] and [QUERY] filled by a
  data-extraction expression for the test's DBMS, which is what sqlmap sends
  once it exploits the injection. Placeholders get random values ([RANDNUM]
  4 digits, [RANDSTR] 4 letters, [DELIMITER_*] 5 letters, [SLEEPTIME] 5), the
  original value is "1"; duplicates are dropped.

Benign: text lines from Debian's documentation on this machine
(/usr/share/common-licenses, /usr/share/doc/*/{copyright,README*,changelog*.gz},
man pages with the roff requests dropped), stripped, non-empty, deduplicated.
The lines most likely to look like SQL (quotes, apostrophes, backticks, ';',
'#', '--', '/*', or words such as select, union, drop, where, or, and, not) are
all taken first, up to --benign-max, then ordinary lines fill up to
--benign-max; the table shows the rate on those hard lines too.

Inputs go to the detector through tests/helpers/sqli_check (one per line).
Prints a Markdown table with the goals (>= 99% detected, <= 0.1% false
positives) and up to --show missed attacks and false positives for review.
Exit status 1 when a goal is missed.

  HELPERS=build/tests/helpers /usr/bin/python3 tests/bench/sqli_rates.py
"""
import argparse
import glob
import gzip
import os
import random
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HELPERS = Path(os.environ.get("HELPERS") or REPO / "build" / "tests" / "helpers")
SQLMAP_XML = Path("/usr/share/sqlmap/data/xml")
GOAL_DETECT = 99.0
GOAL_FP = 0.1

# What sqlmap asks once it exploits an injection, per DBMS (its queries.xml
# has the real ones; these are of the same shape).
INFERENCE = {
    "MySQL": "ORD(MID((SELECT IFNULL(CAST(COUNT(*) AS NCHAR),0x20) FROM "
             "INFORMATION_SCHEMA.SCHEMATA),1,1))>51",
    "PostgreSQL": "ASCII(SUBSTRING((SELECT COALESCE(CAST(CURRENT_USER AS "
                  "VARCHAR(10000))::text,(CHR(32)))),1,1))>64",
    "Microsoft SQL Server": "UNICODE(SUBSTRING((SELECT ISNULL(CAST(@@VERSION AS "
                            "NVARCHAR(4000)),CHAR(32))),1,1))>64",
    "Oracle": "ASCII(SUBSTRC((SELECT NVL(CAST(USER AS VARCHAR(4000)),CHR(32)) FROM "
              "DUAL),1,1))>64",
}
QUERY = {
    "MySQL": "SELECT IFNULL(CAST(CURRENT_USER() AS NCHAR),0x20)",
    "PostgreSQL": "SELECT COALESCE(CAST(CURRENT_USER AS VARCHAR(10000))::text,(CHR(32)))",
    "Microsoft SQL Server": "SELECT ISNULL(CAST(SYSTEM_USER AS NVARCHAR(4000)),CHAR(32))",
    "Oracle": "SELECT NVL(CAST(USER AS VARCHAR(4000)),CHR(32)) FROM DUAL",
}
DEFAULT_INFERENCE = "ASCII(SUBSTR((SELECT VERSION()),1,1))>64"
DEFAULT_QUERY = "SELECT VERSION()"


def ints(spec):
    """"1,2,3", also with ranges ("1-8"), as sqlmap's XML writes them."""
    out = []
    for x in (spec or "0").split(","):
        lo, _, hi = x.strip().partition("-")
        if lo:
            out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def text(node, path):
    e = node.find(path)
    return None if e is None else (e.text or "")


class Filler:
    """Fills sqlmap's placeholders with random values, like agent.cleanupPayload."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    def num(self):
        return str(self.r.randint(1000, 9999))

    def word(self, n=4):
        return "".join(self.r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))

    def __call__(self, s, dbms, orig="1"):
        s = s.replace("[GENERIC_SQL_COMMENT]", "-- [RANDSTR]")
        s = s.replace("[INFERENCE]", INFERENCE.get(dbms, DEFAULT_INFERENCE))
        s = s.replace("[QUERY]", QUERY.get(dbms, DEFAULT_QUERY))
        for tag in ("[DELIMITER_START]", "[DELIMITER_STOP]"):
            s = s.replace(tag, self.word(5))
        for tag in ("[SPACE_REPLACE]", "[AT_REPLACE]", "[DOLLAR_REPLACE]", "[HASH_REPLACE]"):
            s = s.replace(tag, self.word(6))
        s = s.replace("[SLEEPTIME]", "5").replace("[DELAYED]", "5")
        s = s.replace("[ORIGVALUE]", orig).replace("[ORIGINAL]", orig)
        for tag in set(re.findall(r"\[RANDNUM\d*\]", s)):
            s = s.replace(tag, self.num())
        for tag in set(re.findall(r"\[RANDSTR\d*\]", s)):
            s = s.replace(tag, self.word())
        return s


def union_payloads(test, fill, dbms):
    char = text(test, "request/char") or "NULL"
    comment = text(test, "request/comment")
    out = []
    for n in (1, 3, 10):
        cols = [fill(char, dbms) if char != "[CHAR]" else "NULL" for _ in range(n)]
        cols[n // 2] = ("CONCAT('%s','%s','%s')" % (fill.word(5), fill.word(10), fill.word(5)))
        q = "UNION ALL SELECT " + ",".join(cols)
        if dbms == "Oracle":
            q += " FROM DUAL"
        out.append((q, comment))
    return out


def compose(prefix, payload, comment, suffix, where, stype, tclause):
    """sqlmap's agent.prefixQuery + suffixQuery + payload, for one boundary."""
    if where == 3:
        expr = payload
    elif stype == 4 or tclause in ([2, 3], [2], [3]):
        expr = prefix + payload
    else:
        expr = prefix + ("" if payload.startswith(";") else " ") + payload
    if comment is not None:
        expr += comment
    if where != 3 and suffix and not comment:
        if re.search(r"\w\Z", expr) and re.match(r"\w", suffix):
            expr += " "
        expr += suffix
    return re.sub(r";\W*;", ";", expr)


def attacks(seed):
    fill = Filler(seed)
    broot = ET.parse(SQLMAP_XML / "boundaries.xml").getroot()
    bounds = [(ints(text(b, "clause")), ints(text(b, "where")), text(b, "prefix") or "",
               text(b, "suffix") or "") for b in broot.findall("boundary")]
    out = {}
    ntests = 0
    for f in sorted((SQLMAP_XML / "payloads").glob("*.xml")):
        for test in ET.parse(f).getroot().findall("test"):
            ntests += 1
            stype = int(text(test, "stype"))
            tclause, twhere = ints(text(test, "clause")), ints(text(test, "where"))
            dbms = (text(test, "details/dbms") or "").strip()
            if stype == 6:
                bodies = union_payloads(test, fill, dbms)
            else:
                comment = text(test, "request/comment")
                bodies = [(text(test, "request/payload") or "", comment),
                          (text(test, "vector") or "", comment)]
            for clause, bwhere, prefix, suffix in bounds:
                if tclause != [0] and clause != [0] and not set(tclause) & set(clause):
                    continue
                for where in twhere:
                    if where not in bwhere:
                        continue
                    for body, comment in bodies:
                        if not body:
                            continue
                        p = compose(prefix, body, comment, suffix, where, stype, tclause)
                        orig = {1: "1", 2: "-" + fill.num(), 3: ""}[where]
                        s = fill(orig + p, dbms)
                        out.setdefault(s, f"{f.stem}: {text(test, 'title')}")
    return out, ntests, len(bounds)


# Lines a detector is most likely to trip on: quotes, apostrophes, comment
# and statement punctuation, or SQL words in prose.
HARD = re.compile(r"""['"`;#]|--|/\*|\b(?:select|union|insert|update|delete|drop|where|order by|"""
                  r"""sleep|exec|table|or|and|not)\b""", re.I)
ROFF_ESCAPES = re.compile(r"\\f[BIRP]|\\f\(..|\\\*?\(..|\\[&|^]")


def doc_lines():
    """Text lines of Debian's documentation, each file in turn."""
    for p in sorted(glob.glob("/usr/share/common-licenses/*")) + \
            sorted(glob.glob("/usr/share/doc/*/copyright")) + \
            sorted(p for p in glob.glob("/usr/share/doc/*/README*") if not p.endswith(".gz")):
        try:
            with open(p, "rb") as fh:
                yield from fh.read().decode("utf-8", "replace").splitlines()
        except OSError:
            pass
    for p in sorted(glob.glob("/usr/share/doc/*/changelog*.gz")):
        try:
            with gzip.open(p, "rb") as fh:
                yield from fh.read().decode("utf-8", "replace").splitlines()
        except (OSError, EOFError):
            pass
    # man pages as text: roff requests dropped, font and character escapes
    # undone ("\-" is the dash the rendered page shows)
    for p in sorted(glob.glob("/usr/share/man/man[1-8]/*.gz")):
        try:
            with gzip.open(p, "rb") as fh:
                src = fh.read().decode("utf-8", "replace")
        except (OSError, EOFError):
            continue
        for ln in src.splitlines():
            if ln.startswith((".", "'\\\"")):
                continue
            yield ROFF_ESCAPES.sub("", ln).replace("\\-", "-").replace("\\e", "\\")


def benign(limit, seed):
    """Up to limit unique lines: every hard line first (sampled if there are
    more), then ordinary ones to fill up."""
    seen = set()
    hard, plain = [], []
    for ln in doc_lines():
        ln = ln.strip()
        if not ln or ln in seen:
            continue
        seen.add(ln)
        (hard if HARD.search(ln) else plain).append(ln)
    r = random.Random(seed)
    r.shuffle(hard)
    r.shuffle(plain)
    hard = hard[:limit]
    return hard, plain[:limit - len(hard)]


def escape(s):
    return (s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
            .replace("\t", "\\t").replace("\0", "\\0"))


def run(inputs):
    helper = HELPERS / "sqli_check"
    if not helper.exists():
        sys.exit(f"sqli_rates: {helper} missing\nHint: run 'make helpers' first.")
    data = "".join(escape(s) + "\n" for s in inputs)
    t0 = time.monotonic()
    p = subprocess.run([str(helper)], input=data.encode("utf-8", "surrogateescape"),
                       stdout=subprocess.PIPE, check=True)
    dt = time.monotonic() - t0
    res = p.stdout.decode().splitlines()
    if len(res) != len(inputs):
        sys.exit(f"sqli_rates: {len(res)} answers for {len(inputs)} inputs")
    return [r.split("\t") for r in res], dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--show", type=int, default=20, help="misses and false positives to list")
    ap.add_argument("--benign-max", type=int, default=300000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not (SQLMAP_XML / "boundaries.xml").exists():
        sys.exit("sqli_rates: sqlmap's payloads are missing\nHint: apt-get install sqlmap "
                 "(tools/deps.sh bench does).")
    t0 = time.monotonic()
    atk, ntests, nbounds = attacks(a.seed)
    hard, plain = benign(a.benign_max, a.seed)
    ben = hard + plain
    atk_in = list(atk)
    res_a, dt_a = run(atk_in)
    res_b, dt_b = run(ben)
    missed = [s for s, r in zip(atk_in, res_a) if r[0] != "1"]
    fps = [(s, r) for s, r in zip(ben, res_b) if r[0] == "1"]
    fp_hard = sum(1 for r in res_b[:len(hard)] if r[0] == "1")
    det = 100.0 * (len(atk_in) - len(missed)) / len(atk_in)
    fp = 100.0 * len(fps) / len(ben)
    nbytes = sum(len(s) for s in atk_in) + sum(len(s) for s in ben)
    mark = lambda ok: "✓" if ok else "✗"
    print(f"\n== SQL injection detector (rules/sqli.c): sqlmap {ntests} tests x "
          f"{nbounds} boundaries, Debian documentation lines")
    print("\n| corpus | inputs | flagged | rate | goal |")
    print("|---|---:|---:|---:|---|")
    print(f"| sqlmap attacks | {len(atk_in)} | {len(atk_in) - len(missed)} | {det:.2f}% detected "
          f"| ≥ {GOAL_DETECT:g}% {mark(det >= GOAL_DETECT)} |")
    print(f"| benign text lines | {len(ben)} | {len(fps)} | {fp:.3f}% "
          f"false positives | ≤ {GOAL_FP:g}% {mark(fp <= GOAL_FP)} |")
    print(f"| … of which with quotes, ; # -- /* or SQL words | {len(hard)} | {fp_hard} | "
          f"{100.0 * fp_hard / max(len(hard), 1):.3f}% | |")
    print(f"\ndetector: {nbytes / 1e6:.1f} MB in {dt_a + dt_b:.2f} s (helper process, I/O "
          f"included); whole run {time.monotonic() - t0:.1f} s")
    if missed:
        print(f"\nmissed attacks ({len(missed)}; first {min(a.show, len(missed))}):")
        for s in missed[:a.show]:
            print(f"  [{atk[s]}] {s[:200]}")
    if fps:
        print(f"\nfalse positives ({len(fps)}; first {min(a.show, len(fps))}):")
        for s, r in fps[:a.show]:
            print(f"  [{r[1]} {r[2]} {r[3]}] {s[:200]}")
    return 0 if det >= GOAL_DETECT and fp <= GOAL_FP else 1


if __name__ == "__main__":
    sys.exit(main())
