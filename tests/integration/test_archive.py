"""Zip archives Python imports from (zipimport): a .zip/.egg/.pyz/.pex/.whl
under the code paths is judged member by member when it is opened, found
by the pre-launch scan and by `fnguard scan`, and refused whole when it
cannot be judged: unreadable, bytecode with no source, bytecode the
workload could have written, or headers that hide part of a member."""
import importlib.util
import json
import marshal
import os
import struct
import subprocess
import time
import zipfile
import zlib

from conftest import FNGUARD, PY, TIMEOUT, base_env
from test_code import nobody_tree, run_as_nobody

PROTECT = "  rule_files: [{rules}]\n"
EVIL = 'import os\nopen({marker!r}, "w").write("ran")\nos.system("true")\n'


def policy(app, tmp_path):
    rules = tmp_path / "code_protect.txt"
    rules.write_text(r".*(call|check_output|system|popen|run|local|spawn).*\(.*" + "\n")
    return f"version: 1\ncode:\n  paths: [{app}]\n" + PROTECT.format(rules=rules) + \
        "  action: deny\n"


def zip_of(path, members, prefix=b""):
    """An archive of name -> text (or bytes), behind prefix bytes."""
    tmp = str(path) + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    with open(tmp, "rb") as f:
        body = f.read()
    os.unlink(tmp)
    with open(path, "wb") as f:
        f.write(prefix + body)
    return path


def importer(*archives, modules):
    """A script that puts archives on sys.path and imports each module,
    printing `name ok` or `name refused`."""
    return ("import sys\n" + "".join(f"sys.path.insert(0, {str(a)!r})\n" for a in archives) +
            f"for m in {list(modules)!r}:\n"
            "    try:\n        __import__(m); print(m, 'ok')\n"
            "    except ImportError:\n        print(m, 'refused')\n")


def test_flagged_module_in_an_archive_is_refused(run_fnguard, tmp_path, kernel_tier):
    """The flagged member's archive cannot be opened (zipimport then finds
    nothing in it) and its code never runs; a clean archive imports. The
    pre-launch scan already named the member."""
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "RAN"
    evil = zip_of(app / "Evil.Zip", {"evilmod.py": EVIL.format(marker=str(marker))})
    good = zip_of(app / "good.egg", {"goodmod.py": "def hi():\n    return 'hi'\n"})
    res = run_fnguard(policy(app, tmp_path),
                      [PY, "-c", importer(evil, good, modules=["goodmod", "evilmod"])])
    assert res.returncode == 0, res.dump()
    assert "goodmod ok" in res.stdout and "evilmod refused" in res.stdout, res.dump()
    assert not marker.exists(), "the flagged member ran"
    ev = res.one("code", action="deny")
    assert ev["path"] == f"{evil}/evilmod.py" and ev["line"] == 3, ev
    pre = res.one("code", action="audit")
    assert pre["path"] == f"{evil}/evilmod.py" and pre["phase"] == "prelaunch", pre
    assert res.events.index(pre) < res.events.index(ev)


def test_zipapp_run_directly(run_fnguard, tmp_path, kernel_tier):
    """`python3 app.pyz`: a zip behind a shebang line, whose __main__.py
    runs; flagged, it never does."""
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "RAN"
    shebang = b"#!/usr/bin/python3\n"
    bad = zip_of(app / "bad.pyz", {"__main__.py": EVIL.format(marker=str(marker))}, shebang)
    good = zip_of(app / "good.pyz", {"__main__.py": "print('zipapp ran')\n"}, shebang)
    assert subprocess.run([PY, good], capture_output=True, text=True).stdout == "zipapp ran\n"
    res = run_fnguard(policy(app, tmp_path), [PY, good])
    assert res.returncode == 0 and res.stdout == "zipapp ran\n", res.dump()
    res = run_fnguard(policy(app, tmp_path), [PY, bad])
    assert not marker.exists(), "the flagged __main__.py ran"
    assert res.returncode != 0, res.dump()
    # Refused as an archive, then as a script: the same member each time.
    denied = res.of("code", action="deny")
    assert denied and {e["path"] for e in denied} == {f"{bad}/__main__.py"}, res.dump()


def test_egg_named_by_a_pth_file(run_fnguard, tmp_path, kernel_tier):
    """A site directory's .pth line puts an .egg on sys.path (as
    easy-install.pth did): the .pth is clean, the egg's module is not."""
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "RAN"
    zip_of(site / "dep-1.0.egg", {"dep/__init__.py": EVIL.format(marker=str(marker))})
    (site / "easy-install.pth").write_text("./dep-1.0.egg\n")
    src = (f"import site; site.addsitedir({str(site)!r})\n"
           "try:\n    import dep; print('imported')\nexcept ImportError:\n    print('refused')\n")
    res = run_fnguard(policy(site, tmp_path), [PY, "-c", src])
    assert res.returncode == 0 and "refused" in res.stdout, res.dump()
    assert not marker.exists()
    assert res.one("code", action="deny")["path"] == f"{site}/dep-1.0.egg/dep/__init__.py"


def test_archive_written_at_run_time(run_fnguard, tmp_path, kernel_tier):
    """An archive the workload writes itself, then imports from."""
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "RAN"
    src = f"""
import sys, zipfile
with zipfile.ZipFile({str(app / 'late.zip')!r}, 'w') as z:
    z.writestr('late.py', {EVIL.format(marker=str(marker))!r})
sys.path.insert(0, {str(app / 'late.zip')!r})
try:
    import late; print('imported')
except ImportError:
    print('refused')
"""
    res = run_fnguard(policy(app, tmp_path), [PY, "-c", src])
    assert res.returncode == 0 and "refused" in res.stdout, res.dump()
    assert not marker.exists()
    assert res.one("code", action="deny")["path"] == f"{app}/late.zip/late.py"


def forged_pyc(source_mtime, source_size, text):
    """Bytecode of text, with a header that matches a source of that
    mtime and size: zipimport runs it instead of the source."""
    code = compile(text, "mod.py", "exec")
    return (importlib.util.MAGIC_NUMBER + struct.pack("<III", 0, source_mtime, source_size) +
            marshal.dumps(code))


def archive_with_forged_pyc(path, marker):
    src = 'WHO = "from-source"\n'
    when = (2020, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mod.py", date_time=when), src)
        mtime = int(time.mktime(when + (0, 0, -1)))
        z.writestr("mod.pyc", forged_pyc(mtime, len(src),
                                         f'open({str(marker)!r}, "w").write("ran")\n'
                                         'WHO = "from-pyc"\n'))
    return path


def test_bytecode_in_archives(run_fnguard, tmp_path, kernel_tier):
    """zipimport prefers mod.pyc to mod.py once a timestamp matches, and
    runs a .pyc with no source as it is. Sourceless bytecode is refused
    with its archive; bytecode beside a clean source is refused where the
    workload could have written it (a root workload: anywhere)."""
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "RAN"
    forged = archive_with_forged_pyc(app / "forged.zip", marker)
    bare = subprocess.run([PY, "-c", importer(forged, modules=["mod"]) +
                           "import mod; print(mod.WHO)"], capture_output=True, text=True)
    assert "from-pyc" in bare.stdout, bare  # the attack is real without fnguard
    marker.unlink()
    sourceless = zip_of(app / "sourceless.zip",
                        {"only.pyc": forged_pyc(0, 0, f'open({str(marker)!r}, "w")\n')})
    res = run_fnguard(policy(app, tmp_path),
                      [PY, "-c", importer(forged, sourceless, modules=["mod", "only"])])
    assert res.returncode == 0, res.dump()
    assert "mod refused" in res.stdout and "only refused" in res.stdout, res.dump()
    assert not marker.exists(), "forged bytecode ran"
    by_rule = {e["rule"]: e for e in res.of("code", action="deny")}
    assert by_rule["code.bytecode"]["path"] == f"{sourceless}/only.pyc", res.dump()
    assert by_rule["code.archive-bytecode"]["path"] == str(forged), res.dump()


def test_bytecode_in_an_archive_out_of_reach(kernel_tier):
    """Run as uid 65534: the same archive, root's and read-only to it, is
    used as shipped (its source scans clean), as a trusted __pycache__ is."""
    with nobody_tree("fng-zip-trust-") as (root, scratch):
        app = os.path.join(root, "app")
        os.mkdir(app)
        marker = os.path.join(scratch, "RAN")
        forged = archive_with_forged_pyc(os.path.join(app, "forged.zip"), marker)
        rules = os.path.join(root, "code_protect.txt")
        with open(rules, "w") as f:
            f.write(r".*(call|check_output|system|popen|run|local|spawn).*\(.*" + "\n")
        os.chmod(rules, 0o644)
        os.chmod(app, 0o755)
        os.chmod(forged, 0o644)
        pol = (f"version: 1\ncode:\n  paths: [{app}]\n  rule_files: [{rules}]\n"
               "  action: deny\n")
        p = run_as_nobody(root, pol, importer(forged, modules=["mod"]) +
                          "import mod; print(mod.WHO)")
        assert p.returncode == 0 and "from-pyc" in p.stdout, (p.stdout, p.stderr)


def lying_archive(path, clean, hidden):
    """One member whose headers claim only `clean` (size and CRC), over a
    deflate stream of clean + hidden."""
    zip_of(path, {"mod.py": clean + hidden})
    data = bytearray(open(path, "rb").read())
    crc = zlib.crc32(clean.encode())
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, 14, crc)
    struct.pack_into("<I", data, 22, len(clean))
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, len(clean))
    open(path, "wb").write(bytes(data))
    return path


def test_headers_cannot_hide_part_of_a_member(run_fnguard, tmp_path, kernel_tier):
    """zipimport inflates a member's whole stream whatever size and CRC
    its headers give; a reader that trusts them would judge only the
    clean first line. The whole stream is judged."""
    app = tmp_path / "app"
    app.mkdir()
    marker = tmp_path / "RAN"
    arch = lying_archive(app / "lying.zip", 'WHO = "clean"\n', EVIL.format(marker=str(marker)))
    bare = subprocess.run([PY, "-c", importer(arch, modules=["mod"])],
                          capture_output=True, text=True)
    assert marker.exists() and "mod ok" in bare.stdout, bare  # Python runs all of it
    marker.unlink()
    res = run_fnguard(policy(app, tmp_path), [PY, "-c", importer(arch, modules=["mod"])])
    assert res.returncode == 0 and "mod refused" in res.stdout, res.dump()
    assert not marker.exists()
    ev = res.one("code", action="deny")
    assert ev["path"] == f"{arch}/mod.py" and ev["line"] == 4, ev


def test_unreadable_archive_is_refused(run_fnguard, tmp_path, kernel_tier):
    """A .zip that is no zip archive fnguard can read whole is refused,
    with why; the workload's other files are untouched."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    src = (f"try:\n    open({str(app / 'broken.zip')!r}, 'rb').read(); print('read')\n"
           "except PermissionError:\n    print('refused')\n")
    res = run_fnguard(policy(app, tmp_path), [PY, "-c", src])
    assert res.returncode == 0 and "refused" in res.stdout, res.dump()
    ev = res.one("code", action="deny")
    assert ev["rule"] == "code.archive" and ev["path"] == str(app / "broken.zip"), ev
    assert "not a zip archive" in ev["reason"], ev


def scan(*args):
    return subprocess.run([FNGUARD, "scan", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env(), stdin=subprocess.DEVNULL)


def test_scan_reads_archives(tmp_path):
    """`fnguard scan` names findings ARCHIVE/MEMBER in every format; an
    archive `run` would refuse whole is an error (exit 2); --write-cache
    leaves archives out (their bytecode is judged when opened)."""
    app = tmp_path / "app"
    app.mkdir()
    zip_of(app / "lib.whl", {"pkg/__init__.py": "", "pkg/m.py": "import os\nos.system('x')\n",
                             "pkg/data.txt": "os.system('not code')\n"})
    rules = tmp_path / "r.txt"
    rules.write_text(r".*(call|check_output|system|popen|run|local|spawn).*\(.*" + "\n")
    p = scan("--rules", rules, app)
    assert p.returncode == 1, p
    assert p.stdout == f"{app}/lib.whl/pkg/m.py:2:4: r.txt:1: os.system('x')\n", p
    j = json.loads(scan("--rules", rules, "--format", "json", app).stdout)
    assert [(f["file"], f["line"]) for f in j["findings"]] == [(f"{app}/lib.whl/pkg/m.py", 2)]
    s = json.loads(scan("--rules", rules, "--format", "sarif", app).stdout)
    loc = s["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("/app/lib.whl/pkg/m.py"), loc
    zip_of(app / "old.egg", {"only.pyc": b"\x00"})
    p = scan("--rules", rules, app)
    assert p.returncode == 2 and "old.egg: holds only.pyc" in p.stderr, p
    clean = tmp_path / "clean"
    clean.mkdir()
    zip_of(clean / "ok.zip", {"ok.py": "X = 1\n"})
    (clean / "ok.py").write_text("Y = 2\n")
    cache = tmp_path / "v.cache"
    p = scan("--rules", rules, "--write-cache", cache, clean)
    assert p.returncode == 0 and "1 clean file" in p.stderr, p
