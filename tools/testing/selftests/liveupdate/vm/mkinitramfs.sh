#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test VM's initramfs (uncompressed newc cpio) with the
# kernel's own gen_init_cpio, so no root privileges are needed. It holds
# busybox-static, kexec-tools with its libraries, the selftests, the
# command of each test (/lu/cmd/NAME, generated from vm/tests), the
# guest /init and the kernel image itself (for kexec).
#
# Usage: mkinitramfs.sh SRCDIR BUILDDIR BZIMAGE OUTPUT

set -eu

src=$1
build=$2
bzimage=$3
out=$4
here=$(cd "$(dirname "$0")" && pwd)
stdir=$(dirname "$here")
gen=$build/gen_init_cpio
spec=$build/initramfs.list
cmds=$build/test-commands

die() {
	echo "Error: $*" >&2
	exit 1
}

[ -f "$bzimage" ] || die "no kernel image at $bzimage (run make kernel)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 &&
	die "$busybox is dynamically linked (apt-get install busybox-static)"
kexec=/usr/sbin/kexec
[ -x "$kexec" ] || die "$kexec not found (apt-get install kexec-tools)"

# One file a test, holding the command init runs for it: the guest reads
# /lu/cmd/NAME and parses nothing.
rm -rf "$cmds"
mkdir -p "$cmds"
awk '!/^#/ && $2 != "static" && $2 != "kunit" && NF >= 6 { print $1, $6 }' \
	"$here/tests" |
while read -r name cmd; do
	echo "$cmd" > "$cmds/$name"
done

if [ ! -x "$gen" ] || [ "$src/usr/gen_init_cpio.c" -nt "$gen" ]; then
	gcc -O2 -o "$gen" "$src/usr/gen_init_cpio.c" || die "cannot build gen_init_cpio"
fi

{
	for d in /bin /sbin /usr /usr/bin /usr/sbin /lib /lib64 /dev /proc \
		 /sys /run /tmp /mnt /etc /root /boot /lu /lu/cmd /lu/tests \
		 /lu/tests/kselftest /lu/tests/lib; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /init $here/init.sh 0755 0 0"
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "slink /bin/sh busybox 0777 0 0"
	echo "file /boot/bzImage $bzimage 0644 0 0"
	echo "file /sbin/kexec $kexec 0755 0 0"
	# kexec-tools is dynamically linked: bring its libraries along.
	ldd "$kexec" | awk '/=> \// { print $3 } /^\t\// { print $1 }' |
	while read -r lib; do
		real=$(readlink -f "$lib")
		echo "dir $(dirname "$lib") 0755 0 0"
		echo "file $lib $real 0755 0 0"
	done
	for c in "$cmds"/*; do
		echo "file /lu/cmd/$(basename "$c") $c 0644 0 0"
	done
	echo "file /lu/leak-scan $here/leak-scan.sh 0755 0 0"
	echo "file /lu/next-initrd $here/next-initrd.sh 0755 0 0"
	echo "file /lu/tests/kselftest/ktap_helpers.sh" \
		"$src/tools/testing/selftests/kselftest/ktap_helpers.sh 0644 0 0"
	# Stripped: the next stage's kernel and initramfs are kexec
	# segments, which must fit in the KHO scratch area.
	mkdir -p "$out.bin"
	for t in "$build"/selftests/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		b=$out.bin/$(basename "$t")
		strip -o "$b" "$t" 2>/dev/null || cp "$t" "$b"
		echo "file /lu/tests/$(basename "$t") $b 0755 0 0"
	done
	for t in "$stdir"/*.sh; do
		echo "file /lu/tests/$(basename "$t") $t 0755 0 0"
	done
	for t in "$stdir"/lib/*.sh; do
		echo "file /lu/tests/lib/$(basename "$t") $t 0644 0 0"
	done
} | awk '!seen[$0]++' > "$spec"

"$gen" "$spec" > "$out.tmp" || die "gen_init_cpio failed on $spec"
mv "$out.tmp" "$out"
echo "  INITRD  build/$(basename "$out") ($(($(stat -c %s "$out") / 1024)) KiB)"
