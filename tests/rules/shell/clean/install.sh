#!/bin/sh
# Near misses for the download rules: nothing here may be flagged.
curl -fsSL -o install.sh https://get.example.com/install.sh   # download, then review
sha256sum -c install.sh.sha256
curl -s https://api.example.com/v1/items | jq '.items[]'      # pipe to jq, not a shell
wget -qO- https://example.com/list.txt | sort | uniq
curl -s https://example.com/health | grep -q ok && echo healthy
curl -s https://example.com/data | shasum -a 256
curl -o /tmp/archive.tgz https://example.com/a.tgz && tar -C /opt -xzf /tmp/archive.tgz
echo "run: sh ./install.sh"
