#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: a handover the next kernel cannot trust or use is refused
# with exactly one log line, and that kernel boots normally and owns all
# of its memory.
#
# Stage 1, a cold boot, fills all free memory to measure it, preserves
# 64 MiB, then spoils the handover as lu.case= says, and kexecs. Stage 2
# checks the refusal (status, one "refusing" line, nothing restorable),
# that it owns what the cold boot owned (MemTotal within 1%: 64 MiB left
# reserved would be 13% of this VM's; and filling all free memory, every
# page checked, gets at least 85% of the cold boot's amount, which moves
# by up to 6% between boots), and that this kernel can itself preserve
# memory again. Cases:
#   compatible  unknown format version        fdt      oversized root FDT
#   tracker     tracker node outside memory   scratch  scratch outside memory
#   kho-off     the next kernel runs with kho=off
#   kexec-load  loaded with kexec_load(), which carries no handover

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
case=$(lu_cmdline_get lu.case) || ktap_exit_fail_msg "no lu.case= on the command line"

[ -w "$ctl" ] || ktap_skip_all "no $ctl (CONFIG_KEXEC_HANDOVER_TEST)"

# ktap_test_result runs its command unquoted: keep the tests in functions.
ctl_fails() {
	! lu_kho_ctl "$@"
}

status_is() {
	[ "$status" = "$1" ]
}

status_refused() {
	case "$status" in
	"refused: "*) return 0 ;;
	esac
	return 1
}

# KHO's error-level log lines (dmesg -r shows the level as <3>).
refusal_lines_are() {
	[ "$(dmesg -r | grep -c '^<3>.*KHO: ')" = "$1" ]
}

ktap_print_header
if [ "$(lu_stage)" = 1 ]; then
	ktap_set_plan 3
	ktap_test_result "cold boot: fill all free memory" lu_kho_ctl fill
	cold="lu.cold_total=$(lu_mem_total) lu.cold_fill=$(lu_kho_filled_mib)"
	ktap_test_result "preserve 64 MiB" lu_kho_ctl preserve 64 3001
	case "$case" in
	kho-off)
		ktap_test_pass "next kernel gets kho=off"
		set -- kho=off ;;
	kexec-load)
		ktap_test_pass "next kernel is loaded with kexec_load()"
		LU_KEXEC_LOAD=1
		set -- ;;
	*)
		ktap_test_result "corrupt the $case" lu_kho_ctl corrupt "$case"
		set -- ;;
	esac
	[ $KTAP_CNT_FAIL = 0 ] || ktap_finished
	# shellcheck disable=SC2086
	lu_kexec_next "$@" $cold
fi

ktap_set_plan 7
status=$(cat "$kho/in/status" 2>/dev/null)
ktap_print_msg "in/status: $status"
dmesg | grep 'KHO: ' | while read -r line; do ktap_print_msg "$line"; done
if [ "$case" = kexec-load ]; then
	ktap_test_result "no handover was seen" status_is none
	ktap_test_result "no KHO error was logged" refusal_lines_are 0
else
	ktap_test_result "the handover was refused" status_refused
	ktap_test_result "exactly one error line says so" refusal_lines_are 1
fi
ktap_test_result "nothing can be restored" ctl_fails verify
ktap_test_result "all memory is usable" lu_kho_ctl fill
lu_mem_like_cold "$(lu_kho_filled_mib)"
if [ "$case" = kho-off ]; then
	ktap_test_result "preserving is refused when off" \
		ctl_fails preserve 16 3002
else
	ktap_test_result "this kernel preserves memory again" \
		lu_kho_ctl preserve 16 3002
fi
ktap_finished
