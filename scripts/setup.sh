#!/usr/bin/env bash
# setup.sh: installs the Debian packages sessiongw needs to build, test and
# run its demo. Does nothing when they are all there already.
#
#   scripts/setup.sh [build|test|demo|package]     (default: test)
set -euo pipefail

build=(cmake make gcc pkg-config libfcgi-dev libhiredis-dev libssl-dev
	libcmocka-dev libcrypt-dev libjansson-dev liblmdb-dev libpq-dev)
runtime=(redis-server postgresql nginx curl)
testing=(spawn-fcgi procps apache2 lighttpd clang libclang-rt-14-dev chromium
	lmdb-utils binutils clang-format iproute2)

# The Debian package (scripts/package.sh, test_package) and the manual
# pages (test_manpages): debhelper and the package's own build
# dependencies, lintian, mandoc for -Tlint, systemd for systemd-analyze.
packaging=(dpkg-dev debhelper fakeroot lintian mandoc systemd liblmdb-dev libpq-dev)

case "${1:-test}" in
build) want=("${build[@]}") ;;
demo) want=("${build[@]}" "${runtime[@]}") ;;
test) want=("${build[@]}" "${runtime[@]}" "${testing[@]}" "${packaging[@]}") ;;
package) want=("${build[@]}" "${packaging[@]}") ;;
*) echo "usage: $0 [build|test|demo|package]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
# The browser test needs node and npm; any node >= 18 will do (Debian's
# nodejs + npm where none is installed).
if [ "${1:-test}" = test ] && ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: missing packages: ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packaged services (nginx, redis, postgresql) must not start on their own here: the
# tests and the demo run private instances on loopback ports.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
