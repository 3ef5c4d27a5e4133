#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Find the source tarball of a 6.12.y base and print two lines: its path
# and its Debian package version.
#
#   (no BASE)   the release the series is made for, patches/base-version
#   BASE=6.12.N that version of linux-source-6.12
#
# The installed linux-source-6.12 package is used when it is that
# version; any other is downloaded once with "apt-get download" into
# CACHEDIR and unpacked there. A new Debian point release therefore
# changes nothing until patches/base-version names it.
#
# Usage: fetch-base.sh CACHEDIR [BASE]

set -eu

cache=$1
base=${2:-}
pkg=linux-source-6.12
installed=/usr/src/$pkg.tar.xz

die() {
	echo "Error: $*" >&2
	exit 1
}

instver=$(dpkg-query -W -f='${Version}' $pkg 2>/dev/null || true)
if [ -z "$base" ]; then
	base=$(sed -n 's/^\(6\.12\.[0-9]*\)$/\1/p' "$(dirname "$0")/../patches/base-version" 2>/dev/null)
	[ -n "$base" ] || die "patches/base-version does not name a 6.12.y release"
fi

case "$base" in
6.12.[0-9]|6.12.[0-9][0-9]|6.12.[0-9][0-9][0-9]) ;;
*) die "BASE=$base: expected a 6.12.y version such as 6.12.111" ;;
esac

if [ -r "$installed" ] && [ "${instver%%-*}" = "$base" ]; then
	echo "$installed"
	echo "$instver"
	exit 0
fi

tarball=$cache/$pkg-$base.tar.xz
if [ -r "$tarball" ] && [ -r "$tarball.version" ]; then
	echo "$tarball"
	cat "$tarball.version"
	exit 0
fi

# The newest Debian revision of that upstream version.
versions() {
	apt-cache madison $pkg 2>/dev/null | awk -v b="$base" -F' *[|] *' \
		'index($2, b "-") == 1 { print $2 }' | sort -V | tail -n1
}
ver=$(versions)
if [ -z "$ver" ] && [ "$(id -u)" -eq 0 ]; then
	apt-get update -q >/dev/null 2>&1 || true
	ver=$(versions)
fi
if [ -z "$ver" ]; then
	echo "Error: BASE=$base: no $pkg of that version in the apt sources" >&2
	echo "  (these are: $(apt-cache madison $pkg 2>/dev/null |
		awk -F' *[|] *' '{ sub(/-.*/, "", $2); printf "%s ", $2 }'))" >&2
	exit 1
fi

echo "  FETCH   $pkg $ver" >&2
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
	die "apt-get download $pkg=$ver failed (check the network and the apt sources)"
dpkg-deb -x "$tmp"/*.deb "$tmp/x" || die "cannot unpack the $pkg $ver package"
mv "$tmp/x/usr/src/$pkg.tar.xz" "$tarball.tmp"
echo "$ver" > "$tarball.version"
mv "$tarball.tmp" "$tarball"
echo "$tarball"
echo "$ver"
