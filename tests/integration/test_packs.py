"""The shipped rule packs (rules/packs/*.yaml) against their evidence.

tests/rules/PACK/flag/*: every sample names on its first line, as a comment,
the rule ids it must raise (`# expect: id1 id2` or `// expect: ...`); the
scan must report exactly those ids (an extra id means a rule is wider than
its samples say). tests/rules/PACK/clean/*: realistic near misses; a scan
with the pack must report nothing. Every rule of a pack is expected by at
least one flag sample. All scans go through the real binary:
`fnguard scan --format json --rules rules/packs/PACK.yaml FILE`.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import FNGUARD, REPO, base_env

PACKS = REPO / "rules" / "packs"
SAMPLES = REPO / "tests" / "rules"
PACK_NAMES = ("python", "node", "shell")
PREFIX = {"python": "py-", "node": "node-", "shell": "sh-"}
SEVERITIES = {"low", "medium", "high", "critical"}
EXPECT_RE = re.compile(r"^\s*(?:#|//)\s*expect:\s*(.*)$")


def samples(kind):
    out = []
    for pack in PACK_NAMES:
        for p in sorted((SAMPLES / pack / kind).glob("*")):
            if p.is_file():
                out.append(pytest.param(pack, p, id=f"{pack}/{kind}/{p.name}"))
    return out


def expected_ids(path):
    lines = path.read_text().splitlines()
    # a shebang may come first; the expect line is the first comment after it
    for line in lines[:2]:
        m = EXPECT_RE.match(line)
        if m:
            return set(m.group(1).split())
    raise AssertionError(f"{path}: no '# expect: ...' line at the top")


def pack_rules(pack):
    return yaml.safe_load((PACKS / f"{pack}.yaml").read_text())["rules"]


def scan(*args):
    env = base_env(FNGUARD_RULES_DIR=str(PACKS))
    p = subprocess.run([FNGUARD, "scan", "--format", "json", *args], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode in (0, 1), f"scan failed ({p.returncode}): {p.stderr}"
    rep = json.loads(p.stdout)
    assert (p.returncode == 1) == bool(rep["findings"]), (p.returncode, rep)
    return rep


@pytest.mark.parametrize("pack", PACK_NAMES)
def test_pack_is_well_formed(pack):
    rules = pack_rules(pack)
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), f"duplicate ids in {pack}"
    for r in rules:
        assert r["id"].startswith(PREFIX[pack]), r["id"]
        assert r["severity"] in SEVERITIES, r
        assert r["message"] and r["pattern"] and r["extensions"], r
        # line-level: \s would let a match run across lines
        assert "\\s" not in r["pattern"], f"{r['id']}: use [ \\t], not \\s"
    # the engine compiles every pattern (PCRE2, JIT) or the scan fails
    rep = scan("--rules", str(PACKS / f"{pack}.yaml"), "/dev/null")
    assert rep["rules"] == len(rules)


@pytest.mark.parametrize("pack", PACK_NAMES)
def test_every_rule_has_flag_and_clean_samples(pack):
    covered = set()
    flag = [p for p in (SAMPLES / pack / "flag").glob("*") if p.is_file()]
    for p in flag:
        covered |= expected_ids(p)
    ids = {r["id"] for r in pack_rules(pack)}
    assert ids - covered == set(), f"rules without a flag sample: {sorted(ids - covered)}"
    assert covered - ids == set(), f"samples expect unknown rules: {sorted(covered - ids)}"
    assert any(p.is_file() for p in (SAMPLES / pack / "clean").glob("*"))


@pytest.mark.parametrize("pack,path", samples("flag"))
def test_flag_sample(pack, path):
    want = expected_ids(path)
    rep = scan("--rules", str(PACKS / f"{pack}.yaml"), str(path))
    got = {f["rule"] for f in rep["findings"]}
    assert got == want, (f"{path.name}: missing {sorted(want - got)}, "
                         f"unexpected {sorted(got - want)}")
    for f in rep["findings"]:
        assert f["line"] >= 1 and f["col"] >= 1 and f["severity"] in SEVERITIES, f


@pytest.mark.parametrize("pack,path", samples("clean"))
def test_clean_sample(pack, path):
    rep = scan("--rules", str(PACKS / f"{pack}.yaml"), str(path))
    assert rep["files"] == 1, f"{path.name} was not scanned as a code file"
    assert rep["findings"] == [], "\n".join(
        f"{f['line']}:{f['col']}: {f['rule']}: {f['excerpt']}" for f in rep["findings"])


def nfkc_letters():
    """Every character that may stand in a Python identifier and that NFKC
    folds to ASCII letters, digits or _ (what Python does to names), from
    the running Python's own Unicode data."""
    import unicodedata
    out = []
    for cp in range(0x80, 0x110000):
        c = chr(cp)
        n = unicodedata.normalize("NFKC", c)
        if n and all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in n) and \
                ("a" + c).isidentifier():
            out.append(c)
    return out


def test_nfkc_rule_knows_every_look_alike(tmp_path):
    """py-nfkc-identifier's byte classes cover the whole set: each letter
    in a name beside ASCII letters is flagged (ª and º, which the rule
    takes only in a name that is called, are tried that way)."""
    letters = nfkc_letters()
    assert len(letters) > 900, len(letters)
    src = tmp_path / "names.py"
    src.write_text("".join(f"v{c}x(1)\n" if c in "ªº" else f"v{c}x = 1\n" for c in letters),
                   encoding="utf-8")
    rep = scan("--rules", str(PACKS / "python.yaml"), str(src))
    flagged = {f["line"] for f in rep["findings"] if f["rule"] == "py-nfkc-identifier"}
    missed = [f"U+{ord(c):04X}" for i, c in enumerate(letters, 1) if i not in flagged]
    assert not missed, f"not flagged: {missed[:20]}"


def test_default_packs_load_all():
    """With no --rules, scan loads every shipped pack."""
    total = sum(len(pack_rules(p)) for p in PACK_NAMES)
    clean = scan(*(str(SAMPLES / p / "clean") for p in PACK_NAMES))
    assert clean["rules"] >= total
    assert clean["findings"] == []
    flagged = scan(*(str(SAMPLES / p / "flag") for p in PACK_NAMES))
    want = set()
    for p in PACK_NAMES:
        for f in (SAMPLES / p / "flag").glob("*"):
            want |= expected_ids(f)
    assert {f["rule"] for f in flagged["findings"]} == want
