#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Live update demo, run by "make demo" in the test VM.
#
# Stage 1 shows the running kernel, loads the same kernel with
# kexec_file_load() (through kexec-tools) and reboots into it; stage 2
# shows that it arrived through kexec and what the previous kernel
# handed it on the command line. Once KHO and LUO land, this demo
# preserves memory and memfds across the reboot instead.

here=$(dirname "$0")
. "$here/kselftest/ktap_helpers.sh"
. "$here/lib/lu_stage.sh"

cmdline_get() {
	lu_cmdline_get "$@"
}

stage=$(lu_stage)
say() { echo "demo: $*"; }

case "$stage" in
1)
	say "kernel $(uname -r), boot id $(cat /proc/sys/kernel/random/boot_id)"
	say "up $(cut -d' ' -f1 /proc/uptime) s; loading the next kernel with kexec -s -l"
	next=""
	for w in $(cat /proc/cmdline); do
		case "$w" in
		lu.stage=*|lu.prev_*=*) ;;
		*) next="$next$w " ;;
		esac
	done
	next="${next}lu.stage=2 lu.prev_boot_id=$(cat /proc/sys/kernel/random/boot_id)"
	next="$next lu.prev_uptime=$(cut -d' ' -f1 /proc/uptime)"
	kexec -s -l /boot/bzImage --initrd=/run/initrd.cpio --command-line="$next" ||
		ktap_exit_fail_msg "kexec -s -l failed"
	say "rebooting with kexec -e"
	sync
	kexec -e
	ktap_exit_fail_msg "kexec -e returned"
	;;
2)
	say "kernel $(uname -r), boot id $(cat /proc/sys/kernel/random/boot_id)"
	say "the previous kernel (boot id $(cmdline_get lu.prev_boot_id)) handed over after $(cmdline_get lu.prev_uptime) s of uptime"
	say "this kernel has been up $(cut -d' ' -f1 /proc/uptime) s"
	ktap_print_header
	ktap_set_plan 1
	ktap_test_result "demo crossed a kexec reboot" \
		[ "$(cmdline_get lu.prev_boot_id)" != "$(cat /proc/sys/kernel/random/boot_id)" ]
	ktap_finished
	;;
esac
