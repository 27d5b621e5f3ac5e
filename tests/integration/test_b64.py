"""The base64 readings the event inspection judges (rules/b64.c) are the
ones the runtimes really make: thousands of bodies that are not plain
base64 (stray bytes, padding in the middle, none at the end), each decoded
by /usr/bin/node's Buffer.from and /usr/bin/python3's base64.b64decode and
by tests/helpers/b64_check. A reading that differs from the runtime's
would be one an attack could hide behind."""
import base64
import binascii
import json
import random
import subprocess

from conftest import NODE, helper

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def bodies(n, seed=7):
    rnd = random.Random(seed)
    out = [b"", b"=", b"==", b"A", b"AB", b"ABC", b"ABCD", b"AB=", b"AB==", b"ABC=",
           b"=ABCD", b"A=BCD", b"AB=CD", b"ABC=D", b"ABCD=", b"ABCD====", b"AB=C=D==",
           b"OyBpZA==eA==", b"Oy=BpZA==", b"OyBpZA", b"O$yBpZA==", b"OyBp ZA==\n"]
    # Mostly alphabet, with padding and stray bytes (blanks, punctuation,
    # non-ASCII, NUL) anywhere: every path of both decoders.
    extra = "=" * 6 + " \t\r\n" + "!$*.-_" + "\x00\xe9\xff"
    for _ in range(n):
        size = rnd.choice((2, 3, 4, 5, 7, 8, 9, 12, 16, 23, 40))
        chars = [rnd.choice(ALPHABET) if rnd.random() < 0.8 else rnd.choice(extra)
                 for _ in range(size)]
        out.append("".join(chars).encode("latin-1"))
    return out


def python_reading(b):
    try:
        return base64.b64decode(b).hex() or "-"
    except (binascii.Error, ValueError):
        return "error"


def node_readings(items):
    # Node gets the bodies as latin-1 strings, as a JSON event gives them
    # (one UTF-16 unit per byte); Buffer.from(s, 'base64') then decodes.
    script = ("const xs = JSON.parse(require('fs').readFileSync(0, 'latin1'));"
              "process.stdout.write(xs.map(s => Buffer.from(s, 'base64').toString('hex') "
              "|| '-').join('\\n'));")
    p = subprocess.run([NODE, "-e", script], input=json.dumps(
        [b.decode("latin-1") for b in items]).encode("latin-1"), capture_output=True,
        check=True)
    return p.stdout.decode().split("\n")


def test_readings_match_node_and_python():
    items = bodies(4000)
    p = subprocess.run([helper("b64_check")], input="".join(b.hex() + "\n" for b in items),
                       capture_output=True, text=True, check=True)
    ours = [line.split(" ") for line in p.stdout.splitlines()]
    assert len(ours) == len(items)
    theirs = node_readings(items)
    assert len(theirs) == len(items)
    bad = []
    for b, (node, py), node_real in zip(items, ours, theirs):
        if node != node_real or py != python_reading(b):
            bad.append((b, node, node_real, py, python_reading(b)))
    assert not bad, f"{len(bad)} readings differ, e.g. {bad[:5]}"
    # The set is not all plain: the two runtimes disagree on many of them.
    assert sum(1 for b, (node, py) in zip(items, ours) if node != py) > 500
