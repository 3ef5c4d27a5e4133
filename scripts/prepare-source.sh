#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lay out the kernel source the project builds:
#   1. extract the base, Debian's linux-source-6.12, once (again only
#      when the package version changes),
#   2. apply the quilt series in patches/ with no fuzz (again only when
#      the series changes), naming the patch and file that fail,
#   3. copy the project's own files over it (only changed files are
#      touched, so kbuild rebuilds only what changed), removing files
#      the project no longer has,
#   4. record the base version in build/BASE_VERSION.
#
# Usage: prepare-source.sh TOPDIR BUILDDIR [BASE]
#   BASE: a 6.12.y version (fetched by fetch-base.sh); default: the
#   release the series is made for, patches/base-version

set -eu

top=$1
build=$2
base=${3:-}
src=$build/linux
overlay_dirs="arch drivers Documentation include kernel lib mm tools virt"

die() {
	echo "Error: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
fetched=$("$here/fetch-base.sh" "$top/build/bases" "$base") || exit 1
tarball=$(echo "$fetched" | sed -n 1p)
pkgver=$(echo "$fetched" | sed -n 2p)

mkdir -p "$build"

# 1. Extract.
if [ ! -f "$src/.base-package" ] || [ "$(cat "$src/.base-package")" != "$pkgver" ]; then
	echo "  EXTRACT linux-source-6.12 $pkgver"
	rm -rf "$src" "$build/linux-source-6.12"
	tar -C "$build" -xf "$tarball" || die "cannot extract $tarball"
	mv "$build/linux-source-6.12" "$src"
	echo "$pkgver" > "$src/.base-package"
fi

# 2. Patches. quilt keeps pristine copies in .pc/, so popping the old
# series restores the files it touched and nothing else.
# A base whose code differs where a patch applies has that patch's own
# version in patches/base-<version>/ (same name); the others are shared.
# An empty version there is a fix for code that base does not have:
# quilt applies it as an empty patch, and "make series" leaves it out.
variant=$top/patches/base-${pkgver%%-*}
export QUILT_PATCHES="$top/patches"
if [ -d "$variant" ]; then
	QUILT_PATCHES=$build/patches
	rm -rf "$QUILT_PATCHES"
	mkdir -p "$QUILT_PATCHES"
	cp "$top/patches/series" "$QUILT_PATCHES/series"
	for p in $(grep -v '^\s*#' "$top/patches/series"); do
		mkdir -p "$(dirname "$QUILT_PATCHES/$p")"
		if [ -f "$variant/$p" ]; then
			cp "$variant/$p" "$QUILT_PATCHES/$p"
		else
			cp "$top/patches/$p" "$QUILT_PATCHES/$p"
		fi
	done
fi
export QUILT_PC=.pc
series_sum=$(cd "$QUILT_PATCHES" && cat series $(grep -v '^#' series 2>/dev/null) 2>/dev/null | sha1sum | cut -d' ' -f1)
if [ ! -f "$src/.series-sum" ] || [ "$(cat "$src/.series-sum")" != "$series_sum" ]; then
	cd "$src"
	if [ -d .pc ] && [ -s .pc/applied-patches ]; then
		if ! quilt pop -a -q >/dev/null 2>&1; then
			echo "  quilt could not pop the old series; extracting afresh"
			cd "$build" && rm -rf "$src"
			exec "$0" "$top" "$build" "$base"
		fi
	fi
	rm -rf .pc
	if grep -qv '^\s*\(#.*\)\?$' "$top/patches/series" 2>/dev/null; then
		echo "  PATCH   $(grep -cv '^\s*\(#.*\)\?$' "$top/patches/series") patches from patches/series"
		if ! out=$(quilt push -a --fuzz=0 2>&1); then
			echo "$out" | grep -v '^Now at patch' | tail -n 20 >&2
			bad=$(echo "$out" | sed -n 's/^Applying patch .*\/\(.*\)$/\1/p' | tail -n1)
			file=$(echo "$out" | sed -n 's/^patching file \(.*\)$/\1/p' | tail -n1)
			[ -f "$variant/${bad:-?}" ] && bad="base-${pkgver%%-*}/$bad"
			die "patches/${bad:-?} does not apply to ${file:-the tree} of linux-source-6.12 $pkgver (refresh it with quilt, or add patches/base-${pkgver%%-*}/${bad##*/} for this base)"
		fi
	fi
	echo "$series_sum" > "$src/.series-sum"
	cd "$top"
fi

# 3. Overlay. Copy by checksum, without preserving times: a changed file
# gets a fresh mtime and is rebuilt, an unchanged one is left alone.
manifest=$build/overlay.manifest
newlist=$(mktemp)
trap 'rm -f "$newlist"' EXIT
cd "$top"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files --cached --others --exclude-standard -- $overlay_dirs
else
	for d in $overlay_dirs; do [ -d "$d" ] && find "$d" -type f; done
fi | while read -r f; do [ -f "$f" ] && echo "$f"; done | sort -u > "$newlist"
if [ -f "$manifest" ]; then
	comm -23 "$manifest" "$newlist" | while read -r gone; do
		rm -f "$src/$gone"
	done
fi
rsync -rc --files-from="$newlist" "$top" "$src"
cp "$newlist" "$manifest"

# 4. Record the base.
kver=$(make -s -C "$src" kernelversion)
echo "linux-source-6.12 $pkgver (kernel $kver)" > "$build/BASE_VERSION"
