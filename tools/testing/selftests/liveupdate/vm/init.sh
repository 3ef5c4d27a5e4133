#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the live update test VM (every stage). Mounts the usual file
# systems, runs the test named by lu.test= for stage lu.stage=, reports,
# and resets the machine (QEMU runs with -no-reboot, so it exits). A
# test that boots a next stage makes its initramfs from this root file
# system with /lu/next-initrd (vm/next-initrd.sh).
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

# The next stage boots from the same root file system: the test makes
# its initramfs with /lu/next-initrd when it loads the next kernel.
cd /lu/tests || finish 1
LU_STAGE=$stage "./$cmd"
finish $?
