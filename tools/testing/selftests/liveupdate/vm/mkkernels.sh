#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The other kernels the cross-kernel tests boot, and the cpio archive
# that carries them into the test VM as /lu/kernels/NAME:
#
#   cur      this tree's kernel (the one "make" built)
#   111      this tree's series on linux-source-6.12 6.12.111
#            ("make BASE=6.12.111 kernel", under build/base-6.12.111)
#   lu0      the series as it was at commit LU0_COMMIT, before releases
#            were cut (vfio-pci-v1, no format catalog), built from a git
#            archive of that commit under build/rel-lu0
#   stock    Debian's newest linux-image-6.12.*-cloud-amd64-unsigned
#            kernel (no live update at all), downloaded once
#   nomemfd  this tree's kernel with "memfd-v1" renamed "memfd-v9" in its
#            format catalog: a kernel that does not read shmem memfds
#
# Each is build/kernels/NAME/bzImage, with build/kernels/NAME.cpio holding
# it as /lu/kernels/NAME. Every kernel is rebuilt only when its inputs
# changed (kbuild and ccache decide). Usage: mkkernels.sh TOPDIR BUILDDIR

set -eu

top=$1
build=$2
out=$build/kernels
LU0_COMMIT=676d356
MAKE=${MAKE:-make}

die() {
	echo "Error: $*" >&2
	exit 1
}

mkdir -p "$out"

put() {	# put NAME FILE
	mkdir -p "$out/$1"
	cmp -s "$2" "$out/$1/bzImage" || cp "$2" "$out/$1/bzImage"
}

put cur "$build/kernel/arch/x86/boot/bzImage"

# lu0: an earlier state of this repository.
lu0=$build/rel-lu0
if ! git -C "$top" cat-file -e "$LU0_COMMIT^{commit}" 2>/dev/null; then
	# Not a failure of the series: the tests that need it are skipped.
	echo "Warning: commit $LU0_COMMIT is not in this clone (a shallow clone?): no lu0 kernel" >&2
	echo "SKIP: commit $LU0_COMMIT is not in this clone (clone with full history)" > "$out/lu0.missing"
	rm -f "$out/lu0/bzImage"
elif [ "$(cat "$lu0/commit" 2>/dev/null)" != "$LU0_COMMIT" ]; then
	echo "  ARCHIVE $LU0_COMMIT -> build/rel-lu0" >&2
	rm -rf "$lu0/src"
	mkdir -p "$lu0/src"
	git -C "$top" archive "$LU0_COMMIT" | tar -x -C "$lu0/src"
	echo "$LU0_COMMIT" > "$lu0/commit"
fi
if [ ! -f "$out/lu0.missing" ]; then
	# Its own Makefile builds it under build/rel-lu0/src/build, sharing
	# ccache with this tree's builds; for git it is outside this
	# repository, so that its own files are overlaid, not ours.
	GIT_CEILING_DIRECTORIES=$lu0 $MAKE -s -C "$lu0/src" kernel >&2 ||
		die "building commit $LU0_COMMIT failed"
	put lu0 "$lu0/src/build/kernel/arch/x86/boot/bzImage"
fi

# stock: Debian's cloud kernel.
stock=$build/stock
if [ ! -f "$stock/vmlinuz" ]; then
	pkg=$(apt-cache search --names-only '^linux-image-6\.12\..*-cloud-amd64-unsigned$' 2>/dev/null |
	      awk '{ print $1 }' | sort -V | tail -n1)
	if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -q >/dev/null 2>&1 || true
		pkg=$(apt-cache search --names-only '^linux-image-6\.12\..*-cloud-amd64-unsigned$' 2>/dev/null |
		      awk '{ print $1 }' | sort -V | tail -n1)
	fi
	echo "  FETCH   ${pkg:-linux-image-6.12.*-cloud-amd64-unsigned}" >&2
	rm -rf "$stock"
	mkdir -p "$stock/deb"
	if [ -n "$pkg" ] &&
	   (cd "$stock/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) &&
	   dpkg-deb -x "$stock"/deb/*.deb "$stock/x"; then
		cp "$stock"/x/boot/vmlinuz-* "$stock/vmlinuz.tmp"
		echo "$pkg" > "$stock/package"
		mv "$stock/vmlinuz.tmp" "$stock/vmlinuz"
	fi
	rm -rf "$stock/x" "$stock/deb"
fi
if [ -f "$stock/vmlinuz" ]; then
	rm -f "$out/stock.missing"
	put stock "$stock/vmlinuz"
else
	# The apt sources are out of reach: the tests that need it are skipped.
	echo "Warning: cannot download Debian's cloud kernel: no stock kernel" >&2
	echo "SKIP: Debian's linux-image-6.12.*-cloud-amd64-unsigned could not be downloaded" > "$out/stock.missing"
	rm -f "$out/stock/bzImage"
fi

# nomemfd: the catalog of cur, with memfd-v1 renamed (same length).
perl -0777 -pe 's/\0memfd-v1\0/\0memfd-v9\0/' "$out/cur/bzImage" > "$out/nomemfd.tmp"
cmp -s "$out/cur/bzImage" "$out/nomemfd.tmp" &&
	die "no memfd-v1 in the catalog of build/kernels/cur/bzImage"
put nomemfd "$out/nomemfd.tmp"
rm -f "$out/nomemfd.tmp"

# 111: the same series on an older base.
$MAKE -s -C "$top" BASE=6.12.111 kernel >&2 ||
	die "building the series on 6.12.111 failed"
put 111 "$build/base-6.12.111/kernel/arch/x86/boot/bzImage"

# One archive a kernel, appended to the test initramfs by run.sh.
for k in cur 111 lu0 stock nomemfd; do
	rm -f "$out/$k.cpio"
	[ -f "$out/$k/bzImage" ] || continue
	{
		echo "dir /lu 0755 0 0"
		echo "dir /lu/kernels 0755 0 0"
		echo "file /lu/kernels/$k $out/$k/bzImage 0644 0 0"
	} > "$out/$k.list"
	"$build/gen_init_cpio" "$out/$k.list" > "$out/$k.cpio.tmp"
	mv "$out/$k.cpio.tmp" "$out/$k.cpio"
done
echo "  KERNELS $(cd "$out" && ls ./*.cpio | sed 's|^\./||; s|\.cpio$||' | tr '\n' ' ')-> build/kernels/" >&2
