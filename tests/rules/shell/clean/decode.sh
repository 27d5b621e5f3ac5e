#!/bin/sh
# Near misses for the decode and exfiltration rules: nothing here may be flagged.
echo "$CERT_B64" | base64 -d > /etc/ssl/private/site.pem
base64 --decode < token.b64 | jq .
printf '\x1b[1m%s\x1b[0m\n' "bold text"
env | sort > /tmp/env.txt            # a local dump, not sent anywhere
env | grep -q '^HOME=' && echo ok
curl -s -d "name=$(hostname)" https://inventory.example/register
export -p > saved-env.sh
