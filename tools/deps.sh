#!/bin/sh
# Install the Debian packages fnguard builds, tests and benchmarks with.
# chromium (headless) and python3-pil check the report's HTML dashboard in
# a real browser (tests/integration/test_report.py); jq is the reference
# `fnguard report` is measured against (tests/bench/bench_report.py).
# Idempotent: only missing packages are installed; nothing when all are there.
set -eu

PKGS="build-essential pkg-config clang clang-format llvm libclang-rt-14-dev \
libseccomp-dev libpcre2-dev libyaml-dev libcjson-dev nettle-dev libc-ares-dev \
python3 python3-pytest nodejs node-llhttp strace bubblewrap iproute2 curl \
chromium python3-pil bpftool libbpf-dev libelf-dev zlib1g-dev libminizip-dev"

# `deps.sh bench`: also the third-party code the rule packs' false-positive
# figures are measured on (tests/bench/fp_packs.py), and sqlmap, whose
# payloads measure the SQL-injection detector (tests/bench/sqli_rates.py).
if [ "${1:-}" = bench ]; then
	PKGS="$PKGS linux-perf hyperfine python3-botocore python3-requests python3-urllib3 \
node-express node-lodash node-debug node-axios node-commander node-yargs node-minimist sqlmap \
jq"
fi

# `deps.sh docker`: only what `make docker-test` needs (tools/docker-test.sh):
# Debian's docker engine (dockerd, containerd, runc) and debootstrap, which
# builds the test's base image locally (no image registry is needed).
if [ "${1:-}" = docker ]; then
	PKGS="docker.io debootstrap"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "fnguard deps: missing Debian packages:$missing" >&2
	echo "Hint: run 'sudo make deps' or 'apt-get install$missing' as root." >&2
	exit 1
fi
echo "fnguard deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
