#!/bin/sh
# make docker-test: run a function under fnguard inside a real docker
# container, and check what a user of the container image would see.
#
#   tools/docker-test.sh [LAYER_ZIP]      (as root; make docker-test builds the layer)
#
# 1. installs Debian's docker.io and debootstrap if missing (tools/deps.sh docker);
# 2. starts a private dockerd: data root, exec root, pidfile and socket under
#    build-docker/, no bridge, no iptables changes (stopped at the end, also on
#    failure or interrupt);
# 3. builds a Debian bookworm base image with debootstrap (minbase + python3;
#    the tarball is cached in build-docker/, so a rerun skips this) and
#    `docker import`s it: no image registry is needed;
# 4. builds a stand-in for public.ecr.aws/lambda/python:3.12 on it
#    (tools/docker/test/Dockerfile: the Runtime API emulator in place of
#    aws-lambda-rie, the minimal runtime client), tagged with that name in
#    the private dockerd only, and on it the users' tools/docker/Dockerfile,
#    unchanged, with the layer zip, a handler and its policy;
# 5. runs it with --network none (only loopback: nothing can leave the
#    machine), with and without --cap-add SYS_PTRACE, and as on Lambda
#    (seccomp and ptrace refused, read-only root: the preload tier), and
#    checks the invocations (tools/docker/check.py prints the report).
# Exits non-zero on any failed expectation.
set -eu

cd "$(dirname "$0")/.."
REPO=$PWD
LAYER=${1:-build-static/fnguard-layer.zip}
B=$REPO/build-docker
BASE_TAR=$B/bookworm-minbase-python3.tar
BASE_IMAGE=fnguard-test/bookworm:base
TEST_IMAGE=fnguard-test/function:latest
PUBLIC_IMAGE=public.ecr.aws/lambda/python:3.12
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PY=/usr/bin/python3
T0=$(date +%s)

say() { printf 'docker-test: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
elapsed() { echo "$(($(date +%s) - T0)) s"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (dockerd, debootstrap); run 'sudo make docker-test'"
[ -f "$LAYER" ] || fail "$LAYER is missing (make layer)"

tools/deps.sh docker

mkdir -p "$B"
# Our own client binary and config: Debian's docker CLI, which matches the
# engine, whatever other docker is on PATH.
export DOCKER_CONFIG="$B/client" DOCKER_BUILDKIT=0
mkdir -p "$DOCKER_CONFIG"
DOCKER_HOST=unix://$B/docker.sock
export DOCKER_HOST
docker() { /usr/bin/docker "$@"; }

# ---- a private dockerd ---------------------------------------------------
PIDFILE=$B/dockerd.pid
stop_dockerd() {
	[ -f "$PIDFILE" ] || return 0
	pid=$(cat "$PIDFILE" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dockerd ]; then
		kill "$pid" 2>/dev/null || true
		i=0
		while [ -d /proc/"$pid" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
		if [ -d /proc/"$pid" ]; then
			say "dockerd $pid did not stop in 15 s; killing it"
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$PIDFILE"
}
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -S "$B/docker.sock" ]; then
		for c in fnguard-test-ptrace fnguard-test-noptrace fnguard-test-lambda; do
			docker rm -f "$c" >/dev/null 2>&1 || true
		done
	fi
	stop_dockerd
	[ "$rc" -eq 0 ] || say "failed after $(elapsed) (dockerd log: $B/dockerd.log)"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_dockerd # one a previous run left behind (its pid, checked to be a dockerd)
echo '{}' >"$B/daemon.json"
say "starting dockerd (data root $B/data)"
/usr/sbin/dockerd --config-file "$B/daemon.json" --data-root "$B/data" \
	--exec-root "$B/exec" --pidfile "$PIDFILE" -H "$DOCKER_HOST" \
	--bridge none --iptables=false --ip-forward=false --ip-masq=false \
	--userland-proxy=false >"$B/dockerd.log" 2>&1 &
i=0
until docker version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "dockerd did not answer in 30 s (see $B/dockerd.log)"
	sleep 0.1
done
say "dockerd $(docker version -f '{{.Server.Version}}') up after $(elapsed)"

# ---- the base image: Debian bookworm, made here --------------------------
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
	if [ ! -s "$BASE_TAR" ]; then
		say "debootstrap bookworm (minbase + python3) from $MIRROR"
		rm -rf "$B/rootfs"
		debootstrap --variant=minbase --include=python3 bookworm "$B/rootfs" "$MIRROR" \
			>"$B/debootstrap.log" 2>&1 || { tail -20 "$B/debootstrap.log" >&2; fail "debootstrap"; }
		rm -rf "$B"/rootfs/var/cache/apt/archives/*.deb "$B"/rootfs/var/lib/apt/lists/*
		tar -C "$B/rootfs" --numeric-owner -cf "$BASE_TAR.tmp" .
		mv "$BASE_TAR.tmp" "$BASE_TAR"
		rm -rf "$B/rootfs"
	fi
	say "docker import $BASE_TAR"
	docker import "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi
say "base image ready after $(elapsed)"

# ---- the test image: the users' Dockerfile on a stand-in base ------------
# The public Lambda base image cannot be pulled here: a stand-in with its
# contract (tools/docker/test/Dockerfile) is built from the Debian image and
# tagged with the public name in this private dockerd only; then
# tools/docker/Dockerfile is built on it exactly as a user builds it.
STANDIN=$B/standin
rm -rf "$STANDIN"
mkdir -p "$STANDIN/runtime"
cp tools/docker/test/Dockerfile "$STANDIN/"
cp tools/lambda_emulator.py "$STANDIN/runtime/lambda_emulator.py"
cp tests/lambda/bootstrap.py "$STANDIN/runtime/bootstrap.py"
cp tools/docker/test/runtime-bootstrap "$STANDIN/runtime/bootstrap"
cp tools/docker/test/lambda-entrypoint.sh "$STANDIN/runtime/lambda-entrypoint.sh"
chmod 0755 "$STANDIN"/runtime/*
docker build -q --network none --build-arg BASE="$BASE_IMAGE" -t "$PUBLIC_IMAGE" "$STANDIN" \
	>"$B/build.log" 2>&1 || { cat "$B/build.log" >&2; fail "docker build (stand-in base)"; }

CTX=$B/context
rm -rf "$CTX"
mkdir -p "$CTX"
cp "$LAYER" "$CTX/fnguard-layer.zip"
cp tools/docker/test/app.py tools/docker/test/fnguard.yaml "$CTX/"
docker build -q --network none -f tools/docker/Dockerfile -t "$TEST_IMAGE" "$CTX" \
	>>"$B/build.log" 2>&1 || { cat "$B/build.log" >&2; fail "docker build (tools/docker/Dockerfile)"; }
say "images built after $(elapsed)"

# ---- run it, both ways ---------------------------------------------------
$PY tools/docker/check.py "$TEST_IMAGE"
say "done in $(elapsed)"
