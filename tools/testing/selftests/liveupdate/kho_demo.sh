#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Kexec handover demo (make demo D=kho_demo): memory crosses a kexec.
#
# Stage 1 preserves 64 MiB of memory with kexec handover (KHO), each page
# holding a pattern of its own, loads the same kernel with kexec-tools
# (kexec -s -l) and reboots into it. Stage 2 shows that it arrived
# through kexec, that the memory was handed over in place, and checks
# every byte of it.

here=$(dirname "$0")
# The test VM's layout, or the kernel tree's.
if [ -f "$here/kselftest/ktap_helpers.sh" ]; then
	. "$here/kselftest/ktap_helpers.sh"
else
	. "$here/../kselftest/ktap_helpers.sh"
fi
. "$here/lib/lu_stage.sh"

ctl=/sys/kernel/debug/kho_test/ctl
kho=/sys/kernel/debug/kho
say() { echo "demo: $*"; }

case "$(lu_stage)" in
1)
	say "kernel $(uname -r), boot id $(cat /proc/sys/kernel/random/boot_id)"
	echo "preserve 64 4242" > "$ctl" ||
		ktap_exit_fail_msg "preserving failed: $(cat "$ctl")"
	say "$(cat "$ctl")"
	say "KHO tracks $(cat "$kho/out/preserved_bytes") bytes" \
	    "in $(cat "$kho/out/preserved_blocks") blocks" \
	    "with $(cat "$kho/out/tracker_bytes") bytes of tracker"
	say "loading the next kernel with kexec -s -l and rebooting into it"
	lu_kexec_next "lu.prev_boot_id=$(cat /proc/sys/kernel/random/boot_id)" \
		"lu.prev_uptime=$(cut -d' ' -f1 /proc/uptime)"
	;;
2)
	say "kernel $(uname -r), boot id $(cat /proc/sys/kernel/random/boot_id)," \
	    "up $(cut -d' ' -f1 /proc/uptime) s"
	say "the previous kernel (boot id $(lu_cmdline_get lu.prev_boot_id))" \
	    "handed over after $(lu_cmdline_get lu.prev_uptime) s"
	say "handover $(cat "$kho/in/status"):" \
	    "$(cat "$kho/in/preserved_bytes" 2>/dev/null) bytes reserved in place at boot"
	dmesg | grep "KHO: reserved" | sed 's/^/demo: /'
	ktap_print_header
	ktap_set_plan 1
	if echo verify > "$ctl"; then
		say "$(cat "$ctl")"
		ktap_test_pass "every preserved byte crossed the kexec"
	else
		say "$(cat "$ctl")"
		ktap_test_fail "every preserved byte crossed the kexec"
	fi
	ktap_finished
	;;
esac
