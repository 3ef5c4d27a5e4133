#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: a kernel boots through a kexec handover that preserves most
# of the machine's memory, from the default scratch areas, and reports
# how much of them its early boot used.
#
# Stage 1, a cold boot of an 8 GiB VM, preserves 6 GiB in folios of
# orders 0 to 10 (each page filled with a pattern of its own) through the
# kho_test debugfs interface, and kexecs. On a kernel whose memory is
# smaller than that outside scratch (the sanitizers' shadow takes a
# share, and they ask for a quarter of memory as scratch), it preserves
# what there is, less 768 MiB for the kernel; lu.kho_mib= tells stage 2
# how much. Stage 2 checks every byte, that at least half of the cold
# boot's memory came over, and that kho/in/scratch_used_bytes is more
# than 0 and at most kho/in/scratch_bytes, as the boot log says too.

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
want_mib=6144

[ -w "$ctl" ] || ktap_skip_all "no $ctl (CONFIG_KEXEC_HANDOVER_TEST, kho=on)"

# MiB of the scratch areas listed in FILE ("0xstart 0xsize" lines)
scratch_mib() {
	local sum=0 size

	while read -r _ size; do
		sum=$((sum + size))
	done < "$1"
	echo $((sum >> 20))
}

# ktap_test_result runs its command unquoted: keep the tests in functions.
used_is_positive() {
	[ "$used" -gt 0 ]
}

used_fits() {
	[ "$used" -le "$total" ]
}

logged_use() {
	dmesg | grep -q 'KHO: early boot used [0-9]* MiB of [0-9]* MiB scratch'
}

ktap_print_header
if [ "$(lu_stage)" = 1 ]; then
	ktap_set_plan 3
	ktap_test_result "stage 1 was booted without a handover" \
		grep -qx none "$kho/in/status"
	free=$(awk '/^MemFree:/ { print int($2 / 1024) }' /proc/meminfo)
	mib=$((free - $(scratch_mib "$kho/out/scratch") - 768))
	[ "$mib" -lt "$want_mib" ] || mib=$want_mib
	[ "$mib" -ge 1024 ] ||
		ktap_exit_fail_msg "only $mib MiB free outside scratch: give the VM more memory"
	ktap_print_msg "MemFree $free MiB, scratch $(scratch_mib "$kho/out/scratch") MiB:" \
		"preserving $mib MiB ($want_mib wanted)"
	ktap_test_result "preserve $mib MiB (seed 5001)" lu_kho_ctl preserve "$mib" 5001
	bytes=$(cat "$kho/out/preserved_bytes")
	ktap_test_result "the tracker holds at least $mib MiB" \
		[ "$bytes" -ge $((mib << 20)) ]
	[ $KTAP_CNT_FAIL = 0 ] || ktap_finished
	lu_kexec_next "lu.kho_mib=$mib" "lu.cold_total=$(lu_mem_total)"
fi

mib=$(lu_cmdline_get lu.kho_mib)
cold_total=$(lu_cmdline_get lu.cold_total)
ktap_set_plan 7
ktap_print_msg "in: $(cat "$kho/in/status")," \
	"$(cat "$kho/in/preserved_bytes" 2>/dev/null) bytes reserved"
ktap_test_result "stage 2 accepted the handover" \
	grep -qx accepted "$kho/in/status"
ktap_test_result "$mib MiB is most of the cold boot's $((cold_total >> 10)) MiB" \
	lu_at_least 50 $((mib << 10)) "$cold_total"
used=$(cat "$kho/in/scratch_used_bytes" 2>/dev/null || echo 0)
total=$(cat "$kho/in/scratch_bytes" 2>/dev/null || echo 0)
ktap_print_msg "scratch: early boot used $used of $total bytes"
dmesg | grep 'KHO: ' | while read -r line; do ktap_print_msg "$line"; done
ktap_test_result "early boot used some scratch" used_is_positive
ktap_test_result "no more than there is" used_fits
ktap_test_result "the boot log says how much" logged_use
ktap_test_result "at least $mib MiB was reserved" \
	[ "$(cat "$kho/in/preserved_bytes")" -ge $((mib << 20)) ]
ktap_test_result "verify what stage 1 preserved (seed 5001)" lu_kho_ctl verify
ktap_finished
