# Near misses for the process-execution rules: nothing here may be flagged.
import os
import shutil
import subprocess  # imported, never called here
from mylib import runner

def main(subprocess_args):
    # Mentions of the module without a call are fine.
    doc = "see the subprocess module documentation"
    runner.run(["ls"])             # not subprocess.run
    os.systemctl_status = None     # os.system prefix, not a call
    os.popen_count = 0
    os.execution_mode = "fast"
    my_os.spawned = True
    os.dup2(fd_in, 0)              # dup2 of a plain descriptor (daemonize)
    os.dup2(self.rfile.fileno(), 0)  # http.server CGI: an attribute, not a socket name
    pty_spawn_count = 1
    shutil.which("git")
    return subprocess_args
