"""`fnguard scan` over real trees: text, JSON and SARIF 2.1.0 output, exit
codes (0 clean, 1 findings, 2 error), protectLambda rule files, a policy's
code rules, and FILE:LINE:COL for bad rule files (also at `check` time)."""
import json
import os
import re
import subprocess

import pytest

from conftest import FNGUARD, TIMEOUT, base_env

PROTECT = r".*(call|check_output|system|popen|run|local|spawn).*\(.*"
FLAGGED = 'filetype = subprocess.check_output(command,shell=True).decode("utf-8")'


def fng(*args, cwd=None, **env):
    return subprocess.run([FNGUARD, *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env(**env), cwd=cwd,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def tree(tmp_path):
    """A tree with known findings, a clean tree and a protectLambda file."""
    bad = tmp_path / "app"
    (bad / "lib").mkdir(parents=True)
    (bad / "handler.py").write_text("import subprocess\n\n" + FLAGGED + "\n")
    (bad / "lib" / "util.js").write_text("const cp = require('child_process');\n"
                                         "  cp.spawn('sh', ['-c', x]);\n")
    (bad / "notes.txt").write_text("os.system('ignored: not a code file')\n")
    (bad / "link.py").symlink_to("/etc/passwd")  # not followed inside a tree
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "ok.py").write_text("def handler(event, context):\n    return 42\n")
    rules = tmp_path / "code_protect.txt"
    rules.write_text("# protectLambda code rules\r\n\r\n" + PROTECT + "\r\n")
    return tmp_path


def test_text_findings_and_clean(tree):
    r = fng("scan", "--rules", tree / "code_protect.txt", "app", cwd=tree)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines == [
        "app/handler.py:3:23: code_protect.txt:3: " + FLAGGED,
        "app/lib/util.js:2:6: code_protect.txt:3: cp.spawn('sh', ['-c', x]);",
    ], r.stdout
    r = fng("scan", "--rules", tree / "code_protect.txt", "clean", cwd=tree)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""


def test_named_file_scanned_whatever_its_extension(tree):
    r = fng("scan", "--rules", tree / "code_protect.txt", "app/notes.txt", cwd=tree)
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("app/notes.txt:1:4: code_protect.txt:3: os.system(")


def test_json(tree):
    r = fng("scan", "--rules", tree / "code_protect.txt", "--format", "json", "app", "clean",
            cwd=tree)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"findings", "files", "bytes", "rules"}
    assert doc["files"] == 3 and doc["rules"] == 1 and doc["bytes"] > 100
    f = doc["findings"][0]
    assert (f["file"], f["line"], f["col"], f["rule"]) == ("app/handler.py", 3, 23,
                                                            "code_protect.txt:3")
    assert f["excerpt"] == FLAGGED
    assert "Code Rule violation for" in f["message"]
    r = fng("scan", "--rules", tree / "code_protect.txt", "--format", "json", "clean", cwd=tree)
    assert r.returncode == 0
    assert json.loads(r.stdout)["findings"] == []


def test_sarif_shape(tree):
    r = fng("scan", "--rules", tree / "code_protect.txt", "--format", "sarif", "app",
            cwd=tree)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == "2.1.0"
    assert "sarif" in doc["$schema"]
    run = doc["runs"][0]
    drv = run["tool"]["driver"]
    assert drv["name"] == "fnguard" and re.match(r"^\d+\.\d+", drv["version"])
    assert "informationUri" not in drv  # optional in SARIF; no invented URL
    ids = [x["id"] for x in drv["rules"]]
    assert ids == ["code_protect.txt:3"]
    for x in drv["rules"]:
        assert x["shortDescription"]["text"]
        assert x["defaultConfiguration"]["level"] in ("none", "note", "warning", "error")
    assert len(run["results"]) == 2
    for res in run["results"]:
        assert res["ruleId"] in ids and res["level"] in ("note", "warning", "error")
        assert res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        uri = loc["artifactLocation"]["uri"]
        assert not uri.startswith("/") and uri.startswith("app/")
        reg = loc["region"]
        assert reg["startLine"] >= 1 and 1 <= reg["startColumn"] <= reg["endColumn"]
    first = run["results"][0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "app/handler.py"
    assert first["region"]["startLine"] == 3 and first["region"]["startColumn"] == 23
    r = fng("scan", "--rules", tree / "code_protect.txt", "--format", "sarif", "clean",
            cwd=tree)
    assert r.returncode == 0
    assert json.loads(r.stdout)["runs"][0]["results"] == []


def test_policy_code_rules(tree):
    (tree / "fnguard.yaml").write_text(
        "version: 1\ncode:\n  paths: [/var/task]\n  rules:\n"
        "    - id: node-child-process\n      pattern: 'require\\(.child_process.\\)'\n"
        "      severity: high\n"
        "  rule_files: [code_protect.txt]\n")
    r = fng("scan", "-p", tree / "fnguard.yaml", "--format", "sarif", "app", cwd=tree)
    assert r.returncode == 1, r.stderr
    run = json.loads(r.stdout)["runs"][0]
    got = {(x["ruleId"], x["level"]) for x in run["results"]}
    assert ("node-child-process", "error") in got
    assert ("code_protect.txt:3", "warning") in got
    r = fng("check", tree / "fnguard.yaml")
    assert r.returncode == 0, r.stderr


def test_bad_rule_files_are_errors(tree):
    bad = tree / "bad_protect.txt"
    bad.write_text("# ok\nos\\.system\n(unclosed\n")
    r = fng("scan", "--rules", bad, "app", cwd=tree)
    assert r.returncode == 2
    assert re.search(rf"^{re.escape(str(bad))}:3:10: invalid regex", r.stderr, re.M), r.stderr
    assert r.stdout == ""
    pack = tree / "pack.yaml"
    pack.write_text("rules:\n  - id: a\n    patern: x\n")
    r = fng("scan", "--rules", pack, "app", cwd=tree)
    assert r.returncode == 2
    assert re.search(rf"^{re.escape(str(pack))}:3:5: unknown key 'patern'", r.stderr, re.M)
    # `check` reports a bad or missing rule file of a policy as FILE:LINE:COL.
    pol = tree / "p.yaml"
    pol.write_text("version: 1\ncode:\n  paths: [/tmp]\n"
                   "  rule_files: [bad_protect.txt, missing.txt]\n")
    r = fng("check", pol)
    assert r.returncode == 1
    assert re.search(rf"^{re.escape(str(bad))}:3:10: ", r.stderr, re.M), r.stderr
    assert re.search(rf"^{re.escape(str(pol))}:4:33: rule file .*missing.txt", r.stderr, re.M)
    r = fng("scan", "-p", pol, "app", cwd=tree)
    assert r.returncode == 2


def test_errors_and_usage(tree):
    rules = tree / "code_protect.txt"
    r = fng("scan", "--rules", rules, "app", "does-not-exist", cwd=tree)
    assert r.returncode == 2
    assert "does-not-exist: No such file or directory" in r.stderr
    assert "app/handler.py:3:23:" in r.stdout  # the rest is still scanned
    assert fng("scan", "--rules", rules, cwd=tree).returncode == 2
    assert fng("scan", "--rules", rules, "--format", "xml", "app", cwd=tree).returncode == 2
    assert fng("scan", "--rules", tree / "nope.txt", "app", cwd=tree).returncode == 2
    assert fng("scan", "--help").returncode == 0


def test_no_rules_is_an_error(tree):
    empty = tree / "packs"
    empty.mkdir()
    r = fng("scan", "app", cwd=tree, FNGUARD_RULES_DIR=str(empty))
    assert r.returncode == 2
    assert "no rules" in r.stderr
    (empty / "mine.yaml").write_text("rules:\n  - {id: sh-eval, pattern: 'spawn', "
                                     "extensions: [.js]}\n")
    r = fng("scan", "app", cwd=tree, FNGUARD_RULES_DIR=str(empty))
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("app/lib/util.js:2:6: sh-eval: ")


def test_size_cap_and_unreadable(tree, tmp_path):
    big = tree / "app" / "big.py"
    with open(big, "wb") as f:
        f.truncate(17 << 20)
    r = fng("scan", "--rules", tree / "code_protect.txt", "app", cwd=tree)
    assert r.returncode == 1
    assert "big.py: skipped, larger than 16 MiB" in r.stderr
    big.unlink()
    if os.geteuid() != 0:
        locked = tree / "app" / "locked.py"
        locked.write_text("x\n")
        locked.chmod(0)
        r = fng("scan", "--rules", tree / "code_protect.txt", "app", cwd=tree)
        assert r.returncode == 2 and "locked.py: Permission denied" in r.stderr
