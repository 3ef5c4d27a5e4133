#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: a handover as fragmented as it can be crosses a kexec byte
# for byte, reserved at boot both ways the kernel can reserve it.
#
# Stage 1, a cold boot, fills all free memory to measure it, then
# preserves 70000 single pages that no two touch (each followed by a
# page that is not preserved): more ranges than the next kernel reserves
# in one batch (65536), so the batches meet in memblock. Stage 2 finds
# every one of those ranges reserved, restores and checks every byte,
# fills all free memory and checks it (nothing is owned twice, nothing
# lost: MemTotal as the cold boot's), then preserves 5000 such pages and
# kexecs with kho_test_reserve=plain, which reserves them one
# memblock_reserve() at a time, the way "make bench" compares with;
# stage 3 checks those the same way.

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
stage=$(lu_stage)

[ -w "$ctl" ] || ktap_skip_all "no $ctl (CONFIG_KEXEC_HANDOVER_TEST, kho=on)"

# Did this kernel reserve the handover one memblock_reserve() at a time?
reserved_plain() {
	dmesg | grep -q 'one memblock_reserve() per range'
}

reserved_sorted() {
	! reserved_plain
}

# The number of pages stage N preserves.
pages() {
	if [ "$1" = 1 ]; then echo 70000; else echo 5000; fi
}

ktap_print_header
if [ "$stage" = 1 ]; then
	ktap_set_plan 3
	ktap_test_result "cold boot: fill all free memory" lu_kho_ctl fill
	cold="lu.cold_total=$(lu_mem_total) lu.cold_fill=$(lu_kho_filled_mib)"
	ktap_test_result "preserve $(pages 1) single pages, no two touching" \
		lu_kho_ctl sparse "$(pages 1)" 3001
	blocks=$(cat "$kho/out/preserved_blocks")
	ktap_print_msg "out: $blocks blocks, tracker $(cat "$kho/out/tracker_bytes") bytes"
	ktap_test_result "the tracker holds them" [ "$blocks" -ge "$(pages 1)" ]
	[ $KTAP_CNT_FAIL = 0 ] || ktap_finished
	# shellcheck disable=SC2086
	lu_kexec_next $cold
fi

prev=$((stage - 1))
if [ "$stage" = 2 ]; then
	ktap_set_plan 8
else
	ktap_set_plan 7
fi
ranges=$(cat "$kho/in/preserved_ranges" 2>/dev/null)
ktap_print_msg "in: $(cat "$kho/in/status"), $ranges ranges reserved in" \
	"$(cat "$kho/in/reserve_ns" 2>/dev/null) ns"
ktap_test_result "stage $stage accepted the handover" \
	grep -qx accepted "$kho/in/status"
ktap_test_result "every page stage $prev preserved is a range of its own" \
	[ "${ranges:-0}" -ge "$(pages "$prev")" ]
if [ "$stage" = 3 ]; then
	ktap_test_result "reserved one memblock_reserve() at a time" reserved_plain
else
	ktap_test_result "reserved in batches" reserved_sorted
fi
ktap_test_result "verify every byte stage $prev preserved" lu_kho_ctl verify
ktap_test_result "fill all free memory and check it" lu_kho_ctl fill
lu_mem_like_cold "$(lu_kho_filled_mib)"
if [ "$stage" = 2 ]; then
	ktap_test_result "preserve $(pages 2) single pages anew" \
		lu_kho_ctl sparse "$(pages 2)" 3002
	[ $KTAP_CNT_FAIL = 0 ] || ktap_finished
	lu_kexec_next kho_test_reserve=plain
fi
ktap_finished
