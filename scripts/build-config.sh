#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the prepared tree in another configuration: the test kernel's
# fragments with vm/NAME.config merged over them, into build/kernel-NAME
# (bzImage, and the modules when the configuration has them). Any
# compiler or modpost warning fails the build: the base tree builds
# these configurations cleanly, so a warning is the series'.
#
#   nokho    kexec handover and live update off, everything they touch on
#   modular  modules on; KVM, VFIO and iommufd built as modules
#   sanitize KASAN, kmemleak, UBSAN and KFENCE (make check SANITIZE=1)
#
# Usage: build-config.sh NAME  (LU_BUILD: the build directory, JOBS)

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${LU_BUILD:-$top/build}
name=${1:-}
frag=$here/$name.config
src=$build/linux
obj=$build/kernel-$name
log=$build/kernel-$name-build.log

if [ -z "$name" ] || [ ! -f "$frag" ]; then
	echo "Usage: $0 nokho|modular|sanitize" >&2
	exit 2
fi
[ -d "$src" ] || { echo "Error: no prepared source in $src (run make)" >&2; exit 1; }
[ -f "$build/release.config" ] || { echo "Error: no $build/release.config (run make)" >&2; exit 1; }

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top/build}
export CCACHE_NOHASHDIR=1
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"

"$here/kconfig.sh" "$src" "$build/kconfig-$name" "$obj" \
	"$top/tools/testing/selftests/liveupdate/vm/x86_64.config" \
	"$top/tools/testing/selftests/liveupdate/config" "$build/release.config" "$frag" || exit 1

targets=bzImage
grep -q '^CONFIG_MODULES=y' "$obj/.config" && targets="bzImage modules"
start=$(date +%s)
# shellcheck disable=SC2086
if ! make -s -C "$src" O="$obj" ARCH=x86_64 CC="$cc" -j"${JOBS:-$(nproc)}" \
	$targets >"$log" 2>&1; then
	tail -n 30 "$log"
	echo "Error: the $name configuration does not build (full log: ${log#"$top"/})"
	exit 1
fi
nmod=$(find "$obj" -name '*.ko' 2>/dev/null | wc -l)
echo "SUMMARY: $name configuration ($targets, $nmod modules) built in $(( $(date +%s) - start )) s"
if grep -E 'warning:|WARNING:' "$log"; then
	echo "Error: the $name configuration builds with warnings (full log: ${log#"$top"/})"
	exit 1
fi
exit 0
