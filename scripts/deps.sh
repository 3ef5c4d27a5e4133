#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make sure every host tool the build and the VM tests need is present.
# On Debian (as root) missing packages are installed with apt-get, saying
# which and why; anywhere else the run stops with the list to install.
#
# Usage: deps.sh [--check]    --check: report only, never install

set -u

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# "package:probe" pairs; a probe is a command name or an absolute path.
needs=(
	"make:make"
	"gcc:gcc"
	"libc6-dev:/usr/include/stdio.h"
	"flex:flex"
	"bison:bison"
	"bc:bc"
	"perl:perl"
	"xz-utils:xz"
	"cpio:cpio"
	"rsync:rsync"
	"git:git"
	"quilt:quilt"
	"libelf-dev:/usr/include/libelf.h"
	"libssl-dev:/usr/include/openssl/ssl.h"
	"sparse:sparse"
	"ccache:ccache"
	"qemu-system-x86:qemu-system-x86_64"
	"busybox-static:/usr/share/doc/busybox-static"
	"kexec-tools:/usr/sbin/kexec"
	"linux-source-6.12:/usr/src/linux-source-6.12.tar.xz"
)

missing=()
for pair in "${needs[@]}"; do
	pkg=${pair%%:*}
	probe=${pair#*:}
	case "$probe" in
	/*) [ -e "$probe" ] && continue ;;
	*) command -v "$probe" >/dev/null 2>&1 && continue ;;
	esac
	missing+=("$pkg")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ $check_only -eq 1 ] || ! command -v apt-get >/dev/null 2>&1 ||
   [ "$(id -u)" -ne 0 ]; then
	echo "Error: missing host packages: ${missing[*]}" >&2
	echo "  (install them as root: apt-get install ${missing[*]})" >&2
	exit 1
fi

echo "Installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >/dev/null ||
   ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "Error: apt-get could not install: ${missing[*]}" >&2
	echo "  (check the network and /etc/apt/sources.list, then retry)" >&2
	exit 1
fi
