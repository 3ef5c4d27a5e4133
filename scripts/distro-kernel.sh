#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The series built as a distribution builds its kernel: Debian's own
# cloud-amd64 configuration of the base version (from the package
# linux-image-<version>+deb12-cloud-amd64-unsigned, downloaded once),
# with the live update options of scripts/distro-liveupdate.config merged
# over it (debug info off, modules not compressed; signed with a key the
# build makes).
# It is built into build/kernel-distro/ with its modules, and put into
# build/kernels/distro/ (with the modules the tests load) for the tests
# of kind "distro" in tools/testing/selftests/liveupdate/vm/tests, which
# "make distro-kernel" then runs.
#
# Usage: distro-kernel.sh TOPDIR BUILDDIR

set -eu -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$1
build=$2
src=$build/linux
obj=$build/kernel-distro
out=$build/kernels
dl=$build/distro
log=$build/kernel-distro-build.log
jobs=${JOBS:-$(nproc)}

die() {
	echo "Error: $*" >&2
	exit 1
}

[ -f "$build/BASE_VERSION" ] || die "no prepared source (run make)"
kver=$(make -s -C "$src" kernelversion)
pkg=linux-image-$kver+deb12-cloud-amd64-unsigned
start=$(date +%s)

# Debian's configuration of this base.
mkdir -p "$dl"
if [ ! -f "$dl/config-$kver" ]; then
	echo "  FETCH   $pkg"
	rm -rf "$dl/deb" "$dl/x"
	mkdir -p "$dl/deb"
	(cd "$dl/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		{ apt-get update -q >/dev/null 2>&1 || true
		  (cd "$dl/deb" && apt-get download -q "$pkg" >/dev/null 2>&1); } ||
		die "cannot download $pkg (apt-get download $pkg)"
	dpkg-deb -x "$dl"/deb/*.deb "$dl/x" || die "cannot unpack $pkg"
	cp "$dl"/x/boot/config-* "$dl/config-$kver.tmp"
	mv "$dl/config-$kver.tmp" "$dl/config-$kver"
	rm -rf "$dl/deb" "$dl/x"
fi

# Debian's config, the live update options over it, then olddefconfig;
# each option of the fragment must survive.
mkdir -p "$obj"
cp "$dl/config-$kver" "$obj/.config.new"
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config.new" \
	"$here/distro-liveupdate.config" "$build/release.config" >/dev/null
rm -f "$obj/.config.new"
make -s -C "$src" O="$obj" ARCH=x86_64 olddefconfig >/dev/null
bad=0
while read -r line; do
	case $line in
	CONFIG_*=*) grep -qxF "$line" "$obj/.config" || { echo "Error: $line did not stay set" >&2; bad=1; } ;;
	esac
done < "$here/distro-liveupdate.config"
[ $bad = 0 ] || die "Debian's configuration does not take the live update options (above)"

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top/build} CCACHE_NOHASHDIR=1
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
echo "  KERNEL  $(cat "$build/BASE_VERSION"), Debian's cloud-amd64 configuration"
if ! make -s -C "$src" O="$obj" ARCH=x86_64 CC="$cc" -j"$jobs" bzImage modules >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "building the distribution's configuration failed (${log#"$top"/})"
fi
if grep -q -E 'warning:|WARNING:' "$log"; then
	grep -E 'warning:|WARNING:' "$log" | head -n 10 >&2
	die "the distribution's configuration builds with warnings (${log#"$top"/})"
fi
release=$(cat "$obj/include/config/kernel.release")
echo "  BUILT   $release, $(grep -c '' "$obj/modules.order") modules, in $(($(date +%s) - start)) s"

# The modules the tests load, and what they depend on.
root=$out/distro.root
rm -rf "$root" "$out/distro.all"
make -s -C "$src" O="$obj" ARCH=x86_64 INSTALL_MOD_PATH="$out/distro.all" \
	DEPMOD=true modules_install >/dev/null
all=$out/distro.all/lib/modules/$release
declare -A path=() keep=()
while read -r ko; do
	m=$(basename "$ko" .ko)
	path[${m//-/_}]=$ko
done < <(cd "$all" && find kernel -name '*.ko')
want=(kvm_amd kvm_intel iommufd vfio_pci)
while [ ${#want[@]} -gt 0 ]; do
	m=${want[0]}
	want=("${want[@]:1}")
	[ -n "${keep[$m]:-}" ] && continue
	[ -n "${path[$m]:-}" ] || continue	# built in
	keep[$m]=1
	deps=$(objcopy -O binary --only-section=.modinfo "$all/${path[$m]}" /dev/stdout |
	       tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' ')
	for d in $deps; do want+=("${d//-/_}"); done
done
for m in "${!keep[@]}"; do
	mkdir -p "$root/lib/modules/$release/$(dirname "${path[$m]}")"
	cp "$all/${path[$m]}" "$root/lib/modules/$release/${path[$m]}"
done
cp "$all"/modules.order "$all"/modules.builtin* "$root/lib/modules/$release/"
rm -rf "$out/distro.all"

# build/kernels/distro/bzImage and distro.cpio, as mkkernels.sh makes them.
mkdir -p "$out/distro"
cp "$obj/arch/x86/boot/bzImage" "$out/distro/bzImage"
rm -f "$out/distro.missing"
{
	echo "dir /lu 0755 0 0"
	echo "dir /lu/kernels 0755 0 0"
	echo "file /lu/kernels/distro $out/distro/bzImage 0644 0 0"
	(cd "$root" && find . -mindepth 1 -type d | sort) |
		sed 's|^\.\(.*\)|dir \1 0755 0 0|'
	(cd "$root" && find . -type f | sort) |
		sed "s|^\\.\\(.*\\)|file \\1 $root\\1 0644 0 0|"
} > "$out/distro.list"
"$build/gen_init_cpio" "$out/distro.list" > "$out/distro.cpio"
echo "  KERNELS distro ($release, modules: $(printf '%s ' "${!keep[@]}")) -> build/kernels/"
