#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the live update test VM (every stage). Mounts the usual file
# systems, repacks the root file system as the initramfs of the next
# stage, runs the test named by lu.test= for stage lu.stage=, reports,
# and resets the machine (QEMU runs with -no-reboot, so it exits).
#
# Lines starting "# lu:" are read by the host side (run.sh).

/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev 2>/dev/null
mount -t debugfs none /sys/kernel/debug 2>/dev/null
mount -t tmpfs -o mode=0755 none /run
mount -t tmpfs none /tmp
exec </dev/console >/dev/console 2>&1

# A kernel built with modules (mkkernels.sh's "modular") loads what the
# tests use from the initramfs, as a distribution's early boot would.
if [ -e /proc/modules ] && [ -d "/lib/modules/$(uname -r)" ]; then
	depmod && modprobe -a kvm_amd iommufd vfio_pci ||
		echo "# lu: loading modules failed"
	echo "# lu: modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
fi

test=
stage=1
for w in $(cat /proc/cmdline); do
	case "$w" in
	lu.test=*) test=${w#*=} ;;
	lu.stage=*) stage=${w#*=} ;;
	esac
done

echo "# lu: stage $stage test ${test:-none} kernel $(uname -r)"

finish() {
	/lu/leak-scan
	echo "# lu: done stage $stage rc=$1"
	sync
	reboot -f
	# Without -no-reboot this loops; the host's timeout ends it.
	while :; do sleep 1; done
}

case "$test" in
""|kunit)
	# KUnit ran during boot; there is nothing to do in user space.
	finish 0
	;;
esac

cmd=$(cat "/lu/cmd/$test" 2>/dev/null)
if [ -z "$cmd" ] || [ ! -x "/lu/tests/$cmd" ]; then
	echo "# lu: no test '$test' in this initramfs"
	finish 127
fi

# The next stage boots from the same root file system. A bind mount of /
# shows the initramfs as unpacked, without the file systems over it.
mkdir -p /run/rootfs
mount --bind / /run/rootfs
(cd /run/rootfs && find . | cpio -o -H newc > /run/initrd.cpio 2>/dev/null)
umount /run/rootfs

cd /lu/tests || finish 1
LU_STAGE=$stage "./$cmd"
finish $?
