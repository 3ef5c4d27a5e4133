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
#            archive of that commit under build/rel-lu0, on the base it
#            was made for (LU0_BASE): its patches know no later one
#   stock    Debian's newest linux-image-6.12.*-cloud-amd64-unsigned
#            kernel (no live update at all), downloaded once
#   nomemfd  this tree's kernel with "memfd-v1" renamed "memfd-v9" in its
#            format catalog: a kernel that does not read shmem memfds
#   vfio1    the same with "vfio-pci-v2" renamed: a kernel that reads only
#            vfio-pci-v1, as a previous release would
#   badcat   the same with a catalog of an unknown layout version
#   modular  this tree built as distributions build it (scripts/modular.config:
#            KVM, VFIO and iommufd as modules), with its modules under
#            /lib/modules/RELEASE for vm/init.sh to load
#
# Each is build/kernels/NAME/bzImage, with build/kernels/NAME.cpio holding
# it as /lu/kernels/NAME. Every kernel is rebuilt only when its inputs
# changed (kbuild and ccache decide). A kernel that cannot be had leaves
# build/kernels/NAME.missing saying why: the tests that boot it fail, or
# are skipped when it is out of this machine's reach (no network, a
# shallow clone). Usage: mkkernels.sh TOPDIR BUILDDIR

set -eu -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$1
build=$2
out=$build/kernels
LU0_COMMIT=676d356
LU0_BASE=6.12.117
MAKE=${MAKE:-make}

die() {
	echo "Error: $*" >&2
	exit 1
}

mkdir -p "$out"

# put NAME FILE [ROOT]: build/kernels/NAME/bzImage, and NAME.cpio holding
# it as /lu/kernels/NAME (and what is under ROOT, the kernel's modules),
# appended to the test initramfs by run.sh.
put() {
	mkdir -p "$out/$1"
	rm -f "$out/$1.missing"
	[ $# -lt 3 ] && cmp -s "$2" "$out/$1/bzImage" && [ -f "$out/$1.cpio" ] && return
	cp "$2" "$out/$1/bzImage"
	{
		echo "dir /lu 0755 0 0"
		echo "dir /lu/kernels 0755 0 0"
		echo "file /lu/kernels/$1 $out/$1/bzImage 0644 0 0"
		if [ $# -ge 3 ]; then
			(cd "$3" && find . -mindepth 1 -type d | sort) |
				sed 's|^\.\(.*\)|dir \1 0755 0 0|'
			(cd "$3" && find . -type f | sort) |
				sed "s|^\\.\\(.*\\)|file \\1 $3\\1 0644 0 0|"
		fi
	} > "$out/$1.list"
	"$build/gen_init_cpio" "$out/$1.list" > "$out/$1.cpio.tmp"
	mv "$out/$1.cpio.tmp" "$out/$1.cpio"
}

# missing NAME WHY: the tests that need NAME fail, or skip if WHY
# starts with "SKIP: ".
missing() {
	echo "$2" > "$out/$1.missing"
	rm -rf "${out:?}/$1" "$out/$1.cpio"
}

put cur "$build/kernel/arch/x86/boot/bzImage"

# lu0: an earlier state of this repository.
lu0=$build/rel-lu0
rm -f "$out/lu0.missing"
if ! git -C "$top" cat-file -e "$LU0_COMMIT^{commit}" 2>/dev/null; then
	# Not a failure of the series: the tests that need it are skipped.
	echo "Warning: commit $LU0_COMMIT is not in this clone (a shallow clone?): no lu0 kernel" >&2
	missing lu0 "SKIP: commit $LU0_COMMIT is not in this clone (clone with full history)"
elif [ "$(cat "$lu0/commit" 2>/dev/null)" != "$LU0_COMMIT" ]; then
	echo "  ARCHIVE $LU0_COMMIT -> build/rel-lu0" >&2
	rm -rf "$lu0/src" "$lu0/base"
	mkdir -p "$lu0/src"
	git -C "$top" archive "$LU0_COMMIT" | tar -x -C "$lu0/src" ||
		die "cannot unpack commit $LU0_COMMIT"
	echo "$LU0_COMMIT" > "$lu0/commit"
fi
# That commit's prepare-source.sh takes the installed linux-source-6.12,
# whatever its version, and its patches apply to LU0_BASE: its source
# tree is laid out here first, from LU0_BASE, and marked with the
# installed package's version so that it is kept.
if [ ! -f "$out/lu0.missing" ]; then
	instver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
	if ! fetched=$("$here/fetch-base.sh" "$top/build/bases" "$LU0_BASE"); then
		missing lu0 "SKIP: linux-source-6.12 $LU0_BASE, the base of release lu0, could not be fetched"
	elif [ "$(cat "$lu0/base" 2>/dev/null)" != "$LU0_BASE $instver" ]; then
		echo "  EXTRACT linux-source-6.12 $LU0_BASE -> build/rel-lu0" >&2
		rm -rf "$lu0/src/build"
		mkdir -p "$lu0/src/build"
		tar -C "$lu0/src/build" -xf "$(echo "$fetched" | sed -n 1p)" ||
			die "cannot extract linux-source-6.12 $LU0_BASE"
		mv "$lu0/src/build/linux-source-6.12" "$lu0/src/build/linux"
		echo "$instver" > "$lu0/src/build/linux/.base-package"
		echo "$LU0_BASE $instver" > "$lu0/base"
	fi
fi
if [ ! -f "$out/lu0.missing" ]; then
	# Its own Makefile builds it under build/rel-lu0/src/build, sharing
	# ccache with this tree's builds; for git it is outside this
	# repository, so that its own files are overlaid, not ours.
	if GIT_CEILING_DIRECTORIES=$lu0 $MAKE -s -C "$lu0/src" kernel >&2; then
		put lu0 "$lu0/src/build/kernel/arch/x86/boot/bzImage"
	else
		echo "Error: building release lu0 (commit $LU0_COMMIT) failed; its tests fail" >&2
		missing lu0 "building release lu0 (commit $LU0_COMMIT) failed"
	fi
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
	put stock "$stock/vmlinuz"
else
	# The apt sources are out of reach: the tests that need it are skipped.
	echo "Warning: cannot download Debian's cloud kernel: no stock kernel" >&2
	missing stock "SKIP: Debian's linux-image-6.12.*-cloud-amd64-unsigned could not be downloaded"
fi

# nomemfd, vfio1: the catalog of cur with one format renamed (same
# length, first occurrence: the catalog is in the uncompressed setup code).
renamed() {	# renamed NAME FROM TO
	perl -0777 -pe "s/\\0$2\\0/\\0$3\\0/" "$out/cur/bzImage" > "$out/$1.tmp"
	cmp -s "$out/cur/bzImage" "$out/$1.tmp" &&
		die "no $2 in the catalog of build/kernels/cur/bzImage"
	put "$1" "$out/$1.tmp"
	rm -f "$out/$1.tmp"
}
renamed nomemfd memfd-v1 memfd-v9
renamed vfio1 vfio-pci-v2 vfio-pci-v9

# badcat: the catalog of cur with a layout version no kernel knows.
perl -0777 -pe 's/LUCATLG\0\x01\0/LUCATLG\0\x09\0/' "$out/cur/bzImage" > "$out/badcat.tmp"
cmp -s "$out/cur/bzImage" "$out/badcat.tmp" &&
	die "no catalog in build/kernels/cur/bzImage"
put badcat "$out/badcat.tmp"
rm -f "$out/badcat.tmp"

# modular: the static check config-modular builds the same tree; here it
# also gets its modules installed (depmod runs in the VM: busybox's).
if LU_BUILD=$build "$here/build-config.sh" modular >&2; then
	rm -rf "$out/modular.root"
	$MAKE -s -C "$build/linux" O="$build/kernel-modular" ARCH=x86_64 \
		INSTALL_MOD_PATH="$out/modular.root" DEPMOD=true modules_install >&2
	put modular "$build/kernel-modular/arch/x86/boot/bzImage" "$out/modular.root"
else
	echo "Error: building the modular configuration failed; its tests fail" >&2
	missing modular "building the modular configuration failed (scripts/build-config.sh modular)"
fi

# 111: the same series on an older base.
if ! "$here/fetch-base.sh" "$top/build/bases" 6.12.111 >/dev/null; then
	missing 111 "SKIP: linux-source-6.12 6.12.111 could not be fetched"
elif ! $MAKE -s -C "$top" BASE=6.12.111 kernel >&2; then
	echo "Error: building the series on 6.12.111 failed; its tests fail" >&2
	missing 111 "building the series on 6.12.111 failed (make BASE=6.12.111 kernel)"
else
	put 111 "$build/base-6.12.111/kernel/arch/x86/boot/bzImage"
fi

echo "  KERNELS $(cd "$out" && find . -maxdepth 1 -name '*.cpio' | sort |
	sed 's|^\./||; s|\.cpio$||' | tr '\n' ' ')-> build/kernels/" >&2
