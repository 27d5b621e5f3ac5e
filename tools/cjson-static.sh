#!/bin/sh
# tools/cjson-static.sh OUTDIR: a static libcjson.a for the Lambda layer's
# static fnguard. Debian ships cJSON only as a shared library, so this
# fetches Debian's own source package (apt verifies it against the signed
# archive index; the Debian patches, security fixes included, are applied
# by dpkg-source) and compiles it. Nothing of cJSON enters the repository.
set -eu
OUT=${1:?usage: tools/cjson-static.sh OUTDIR}
CC=${CC:-gcc}
[ -f "$OUT/libcjson.a" ] && exit 0
mkdir -p "$OUT/apt/etc" "$OUT/apt/lists/partial" "$OUT/apt/cache/archives/partial" "$OUT/src"
OUT=$(cd "$OUT" && pwd)
cat >"$OUT/apt/etc/cjson-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
APT="-q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$OUT/apt/etc \
-o Dir::State::Lists=$OUT/apt/lists -o Dir::Cache=$OUT/apt/cache -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $APT update >/dev/null
cd "$OUT/src"
# The version the build's headers come from (libcjson-dev), so the API matches.
VER=$(dpkg-query -W -f='${Version}' libcjson-dev)
# shellcheck disable=SC2086
apt-get $APT source --download-only "cjson=$VER" >/dev/null
dpkg-source --no-check -x cjson_*.dsc cjson >/dev/null
$CC -std=c89 -O2 -g -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -c cjson/cJSON.c \
	-o "$OUT/cJSON.o"
ar rcs "$OUT/libcjson.a" "$OUT/cJSON.o"
echo "cjson-static: built $OUT/libcjson.a from Debian's cjson $VER" >&2
