#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /lu/next-initrd in the test VM: make the initramfs of the next stage,
# /run/initrd.cpio, if it is not made yet, and print its path. The next
# stage boots from this root file system as it is now, without the file
# systems mounted over it (a bind mount of / shows it so).
#
# Made when a test first loads a kernel for the next stage, not at boot:
# a stage that reboots nowhere never pays for it, and a stage that does
# pays before it starts the update, never inside the blackout that
# "make bench" measures.

out=/run/initrd.cpio
if [ ! -s "$out" ]; then
	mkdir -p /run/rootfs
	mount --bind / /run/rootfs || exit 1
	(cd /run/rootfs && find . | cpio -o -H newc > "$out.tmp" 2>/dev/null)
	rc=$?
	umount /run/rootfs
	if [ $rc != 0 ] || ! mv "$out.tmp" "$out"; then
		rm -f "$out.tmp"
		exit 1
	fi
fi
echo "$out"
