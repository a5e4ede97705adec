#!/usr/bin/env bash
# package.sh: builds the Debian package from this tree and prints the path
# of the .deb (sessiongw_VERSION_ARCH.deb).
#
#   scripts/package.sh [-o DIR] [--lintian]
#
# As root on a fresh Debian 12 it first installs the build dependencies
# (debian/control) with apt-get, as scripts/setup.sh does. The build runs
# in a copy of the tree, so the source directory stays clean; the .deb
# (and the .buildinfo and .changes) land in DIR, default build-deb/ in the
# tree, with build.log. --lintian checks the .deb and fails on any error or warning that
# debian/sessiongw.lintian-overrides does not explain.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

out="$src/build-deb"
lintian=0
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=${2:?-o needs a directory}; shift 2 ;;
	--lintian) lintian=1; shift ;;
	*) echo "usage: $0 [-o DIR] [--lintian]" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The version has one source: CMake's project(VERSION). debian/rules
# refuses to build when debian/changelog says otherwise; say so early.
version=$(sed -n 's/^project(sessiongw VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb_version=$(dpkg-parsechangelog -l debian/changelog -SVersion 2>/dev/null ||
	sed -n '1s/^sessiongw (\([^)]*\)).*/\1/p' debian/changelog)
if [ "$version" != "$deb_version" ]; then
	echo "package.sh: CMakeLists.txt says $version, debian/changelog $deb_version;" \
		"add a changelog entry: dch -v $version" >&2
	exit 1
fi

# Build dependencies (and the tools) that are missing, as setup.sh does.
tools=(dpkg-dev debhelper fakeroot)
[ "$lintian" -eq 1 ] && tools+=(lintian)
missing=()
for p in "${tools[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && ! dpkg-checkbuilddeps 2>/dev/null; then
	missing+=(build-deps)
fi
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "package.sh: missing ${missing[*]}; run as root or install them" >&2
		dpkg-checkbuilddeps >&2 || true
		exit 1
	fi
	echo "package.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null
	# apt reads Build-Depends from debian/control of the directory itself.
	apt-get build-dep -y -qq --no-install-recommends "$src" >/dev/null
fi

# A copy of the tree without build output or version control: the build
# writes into debian/ and its parent directory.
work=$(mktemp -d /tmp/sessiongw-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/sessiongw-$version"
tar -C "$src" --exclude=./.git --exclude=./build --exclude='./build-*' \
	--exclude=./node_modules --exclude=./tests/browser/node_modules \
	--exclude=./debian/build --exclude=./debian/sessiongw \
	--exclude=./debian/.debhelper -cf - . | tar -C "$work/sessiongw-$version" -xf -

echo "package.sh: building sessiongw $version in $work" >&2
(cd "$work/sessiongw-$version" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || {
	tail -n 60 "$out/build.log" >&2
	echo "package.sh: dpkg-buildpackage failed" >&2
	exit 1
}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="sessiongw_${version}_${arch}.deb"
[ -f "$work/$deb" ] || { echo "package.sh: no $deb was built" >&2; exit 1; }
cp "$work/$deb" "$work"/sessiongw_"${version}"_"${arch}".buildinfo \
	"$work"/sessiongw_"${version}"_"${arch}".changes "$out/"

if [ "$lintian" -eq 1 ]; then
	# Overrides live in debian/sessiongw.lintian-overrides, each with its
	# reason; anything else at warning level or above fails.
	report=$(lintian --fail-on error,warning --display-info --show-overrides \
		"$out/$deb" 2>&1 | grep -v '^running with root privileges') || true
	if grep -q '^[EW]: ' <<<"$report"; then
		printf '%s\n' "$report" >&2
		echo "package.sh: lintian found problems" >&2
		exit 1
	fi
	[ -z "$report" ] || printf '%s\n' "$report" >&2
fi
echo "$out/$deb"
