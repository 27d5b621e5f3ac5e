#!/bin/bash
# Near misses for the reverse-shell rules: nothing here may be flagged.
nc -z -w 2 db.internal 5432 && echo "db is up"     # port check
nc -l 8080 < response.http
ls /dev/tty* /dev/null
mkfifo "$RUNDIR/ctl" && chmod 600 "$RUNDIR/ctl"
bash -i -c 'echo interactive'
python3 -c 'import socket; print(socket.gethostname())'
perl -e 'print "hello\n"'
