# expect: py-subprocess py-subprocess-shell py-os-system py-os-exec
import os
import subprocess

def handler(event, context):
    out = subprocess.check_output(["id"])
    filetype = subprocess.check_output(command,shell=True).decode("utf-8")
    os.system("rm -rf /tmp/x")
    with os.popen("uname -a") as p:
        banner = p.read()
    os.execvp("sh", ["sh", "-c", event["cmd"]])
