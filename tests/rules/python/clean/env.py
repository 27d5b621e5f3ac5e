# Near misses for the credential rules: nothing here may be flagged.
import json, os, subprocess
env = dict(os.environ)                       # copy for a child process
env2 = os.environ.copy()
env2["LANG"] = "C"
home = os.environ["HOME"]
region = os.environ.get("AWS_REGION", "us-east-1")
key_name = "AWS_SECRET_ACCESS_KEY"           # the name, not a read
print(json.dumps({"path": os.environ.get("PATH")}))
log.debug("env has %d entries", len(os.environ))
path = "/proc/self/status"
