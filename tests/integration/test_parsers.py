"""Events that cJSON refuses but the function's runtime reads: a value
after NaN or Infinity (Python's json.loads), or after a lone surrogate
escape (Python and Node). The runtime itself shows that the handler would
get the attack in its own field; the inspection (tests/helpers/insp_bench,
every detector) must refuse the event. Before jsonfix.h each of them went
through: the whole event became one text whose quotes hid the attack."""
import json
import subprocess

import pytest

from conftest import NODE, helper

ATTACK = "1' OR 1=1 --"

DOCS = [
    ('{"a": NaN, "q": "%s"}', ("python",)),
    ('{"a": [Infinity, -Infinity], "q": "%s"}', ("python",)),
    ('{"x": "\\ud800", "q": "%s"}', ("python", "node")),
    ('{"x": "\\udc00\\ud800", "q": "%s"}', ("python", "node")),
    ('{"x": "ok \\udfff", "q": "%s"}', ("python", "node")),
]


def node_q(doc):
    p = subprocess.run([NODE, "-e", "const d = JSON.parse(require('fs').readFileSync(0, "
                        "'utf8')); process.stdout.write(d.q)"], input=doc.encode(),
                       capture_output=True, check=True)
    return p.stdout.decode()


@pytest.mark.parametrize("doc,readers", DOCS)
def test_runtime_reads_it_and_fnguard_refuses_it(tmp_path, doc, readers):
    doc = doc % ATTACK
    if "python" in readers:
        assert json.loads(doc)["q"] == ATTACK
    if "node" in readers:
        assert node_q(doc) == ATTACK
    ev = tmp_path / "event.json"
    ev.write_text(doc)
    out = subprocess.run([helper("insp_bench"), str(ev), "1"], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[2] == "1", f"not refused: {doc}"
    # The same document without the attack is clean: nothing else flags it.
    ev.write_text(doc.replace(ATTACK, "fine"))
    out = subprocess.run([helper("insp_bench"), str(ev), "1"], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[2] == "0"
