#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: memory preserved with KHO crosses three consecutive kexec
# reboots byte for byte, and the next kernel owns nothing twice.
#
# Stage 1, a cold boot, fills all free memory to measure it, then
# preserves 256 MiB in folios of orders 0 to 10 (each page filled
# with a pattern of its own), a vmalloc area listing them and a subtree
# describing both, through the kho_test debugfs interface, and kexecs.
# Stages 2 and 3 restore and check everything the previous kernel left
# (every byte, every folio's order, nothing restorable twice), fill all
# free memory with a pattern and check it, then preserve anew with a new
# seed and kexec again. Stage 4 checks the last handover and fills memory.
# After each fill, the kernel must own what the cold boot owned: MemTotal
# within 1% of stage 1's (256 MiB left reserved would be 26% of this
# VM's), and the fill at least 85% of stage 1's (it moves by up to 6%
# between boots).

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

ktap_print_header
if [ "$stage" = 1 ]; then
	ktap_set_plan 4
	ktap_test_result "stage 1 was booted without a handover" \
		grep -qx none "$kho/in/status"
	ktap_test_result "cold boot: fill all free memory" lu_kho_ctl fill
	cold="lu.cold_total=$(lu_mem_total) lu.cold_fill=$(lu_kho_filled_mib)"
	ktap_test_result "preserve 256 MiB (seed 1001)" lu_kho_ctl preserve 256 1001
	bytes=$(cat "$kho/out/preserved_bytes")
	ktap_print_msg "out: $bytes bytes in $(cat "$kho/out/preserved_blocks") blocks," \
		"tracker $(cat "$kho/out/tracker_bytes") bytes"
	ktap_test_result "the tracker holds at least 256 MiB" \
		[ "$bytes" -ge $((256 << 20)) ]
	[ $KTAP_CNT_FAIL = 0 ] || ktap_finished
	# shellcheck disable=SC2086
	lu_kexec_next $cold
fi

seed=$((1000 + stage - 1))
if [ "$stage" -lt 4 ]; then
	ktap_set_plan 7
else
	ktap_set_plan 5
fi
ktap_print_msg "in: $(cat "$kho/in/status")," \
	"$(cat "$kho/in/preserved_bytes" 2>/dev/null) bytes reserved"
ktap_test_result "stage $stage accepted the handover" \
	grep -qx accepted "$kho/in/status"
ktap_test_result "verify what stage $((stage - 1)) preserved (seed $seed)" \
	lu_kho_ctl verify
ktap_test_result "fill all free memory and check it" lu_kho_ctl fill
lu_mem_like_cold "$(lu_kho_filled_mib)"
if [ "$stage" -lt 4 ]; then
	ktap_test_result "preserve 64 MiB anew (seed $((seed + 1)))" \
		lu_kho_ctl preserve 64 $((seed + 1))
	ktap_test_result "nothing else is preserved" \
		[ "$(cat "$kho/out/preserved_bytes")" -lt $(((64 << 20) + (1 << 20))) ]
	[ $KTAP_CNT_FAIL = 0 ] || ktap_finished
	lu_kexec_next
fi
ktap_finished
