#!/bin/sh
# Stands in for the public base images' /lambda-entrypoint.sh: the handler
# (CMD) is the argument; the Runtime API and the invoke endpoint on
# 127.0.0.1:8080 are tools/lambda_emulator.py's (aws-lambda-rie's there).
if [ $# -ne 1 ]; then
	echo "entrypoint requires the handler name as its argument" >&2
	exit 142
fi
exec /usr/bin/python3 /var/runtime/lambda_emulator.py --host 127.0.0.1 --port 8080 \
	--task-root "$LAMBDA_TASK_ROOT" --handler "$1" --function-name docker-test \
	--timeout 20 -- /var/runtime/bootstrap
