#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: services keep state across three live updates through luod
# and luoctl, in four stages.
#
# Stage 1 starts luod; the demo client (luod_demo_client) keeps a counter
# and a 1 MiB buffer in a memfd that luod preserves in the session
# "demo"; a second client preserves a memfd in "crashy", then dies by
# SIGKILL in the middle of a request. A log line goes to luod right
# before "luoctl update --reuse-cmdline --append lu.stage=2" boots the
# same kernel with a live update.
# Stages 2 and 3 start luod again, which takes over its sessions; they
# check that the counter, the buffer and a write made after preserving
# came over, that the previous boot's log (with the last line logged
# before the kexec and the previous kernel's log) is readable and was
# written to /dev/kmsg, and that the crashed client's session came over
# on its own without disturbing "demo"; then they count one up and update
# again. Stage 4 checks the same and that "crashy", never finished, was
# not handed over a second time.
#
# Needs luod, luoctl and luod_demo_client next to this script or in PATH.

here=$(dirname "$0")
# The test VM's layout, or the kernel tree's.
if [ -f "$here/kselftest/ktap_helpers.sh" ]; then
	. "$here/kselftest/ktap_helpers.sh"
else
	. "$here/../kselftest/ktap_helpers.sh"
fi
. "$here/lib/lu_stage.sh"

LAST=4
SOCK=/run/luod.sock
stage=$(lu_stage)
boot_id=$(cat /proc/sys/kernel/random/boot_id)

find_bin() {
	if [ -x "$here/$1" ]; then
		echo "$here/$1"
	else
		command -v "$1"
	fi
}

LUOD=$(find_bin luod)
LUOCTL=$(find_bin luoctl)
CLIENT=$(find_bin luod_demo_client)

ktap_print_header
for b in "$LUOD" "$LUOCTL" "$CLIENT"; do
	if [ ! -x "$b" ]; then
		ktap_skip_all "luod, luoctl or luod_demo_client missing"
		exit "$KSFT_SKIP"
	fi
done
if [ ! -c /dev/liveupdate ]; then
	ktap_skip_all "no /dev/liveupdate (boot with liveupdate=on)"
	exit "$KSFT_SKIP"
fi

show_luod_log() {
	sed 's/^/# luod: /' /run/luod.log
}

no_previous_log() {
	! "$LUOCTL" -s "$SOCK" log --previous >/dev/null 2>&1
}

crash_client() {
	"$CLIENT" -s "$SOCK" crash crashy
	[ $? = 137 ] && "$LUOCTL" -s "$SOCK" sessions | grep -q '^crashy '
}

demo_step() {
	local out

	out=$("$CLIENT" -s "$SOCK" "$1" demo) || return 1
	ktap_print_msg "$out"
	echo "$out" | grep -q "^counter $2 came over, buffer intact, late write kept"
}

session_state() {
	"$LUOCTL" -s "$SOCK" sessions | grep -q "^$1 *$2 *$3\$"
}

previous_log_has() {
	"$LUOCTL" -s "$SOCK" log --previous | grep -q -- "$1"
}

# The previous kernel logged its command line, with its lu.stage.
previous_kernel_log() {
	"$LUOCTL" -s "$SOCK" log --previous |
		grep -Eq "kernel: .*ommand line: .*lu\.stage=$1( |\$)"
}

kexec_not_loaded() {
	[ "$(cat /sys/kernel/kexec_loaded)" = 0 ]
}

kmsg_has_marker() {
	dmesg | grep -q "luod: previous boot log follows" &&
		dmesg | grep -q "luod: previous boot log ends"
}

crashy_came_over() {
	[ "$("$LUOCTL" -s "$SOCK" file restore crashy 1 -)" = "crash data" ]
}

crashy_gone() {
	! "$LUOCTL" -s "$SOCK" sessions | grep -q '^crashy '
}

sysfs_is() {
	[ "$(cat "/sys/kernel/liveupdate/$1")" = "$2" ]
}

update_count_is() {
	"$LUOCTL" -j status | grep -q "\"updates\":$1,"
}

stop_luod() {
	kill -TERM "$LUOD_PID" && wait "$LUOD_PID"
}

# update: log a line, then boot the next stage with luoctl update.
update() {
	[ "$KTAP_CNT_FAIL" = 0 ] || { show_luod_log; ktap_finished; }
	"$LUOCTL" -s "$SOCK" log write "luod_service_test: last words of stage $stage ($boot_id)"
	ktap_print_msg "stage $stage: luoctl update into stage $((stage + 1))"
	"$LUOCTL" -s "$SOCK" update --kernel "$LU_KERNEL_IMAGE" \
		--initrd "$(lu_next_initrd)" --reuse-cmdline \
		--append "lu.stage=$((stage + 1)) lu.prev_boot_id=$boot_id"
	show_luod_log
	ktap_exit_fail_msg "luoctl update returned"
}

if [ "$stage" = 1 ]; then
	ktap_set_plan 7
	lu_start_luod "$LUOD" "$LUOCTL" "$SOCK"
	ktap_test_result "stage 1 has no previous luod log" no_previous_log
	ktap_test_result "the demo client preserves counter 1 through luod" \
		"$CLIENT" -s "$SOCK" init demo
	ktap_test_result "a client killed mid-request leaves its session with luod" \
		crash_client
	ktap_test_result "luod, demo and crashy are to be handed over" \
		sysfs_is sessions_out 3
	ktap_test_result "luoctl update --dry-run loads and unloads" \
		"$LUOCTL" update --kernel "$LU_KERNEL_IMAGE" \
		--initrd "$(lu_next_initrd)" --reuse-cmdline --dry-run
	ktap_test_result "no kexec image is left loaded" \
		kexec_not_loaded
	ktap_test_result "the log takes a line" \
		"$LUOCTL" -s "$SOCK" log write "stage 1 is ready"
	update
fi

prev=$((stage - 1))
prev_boot=$(lu_cmdline_get lu.prev_boot_id || true)
if [ "$stage" -lt "$LAST" ]; then
	ktap_set_plan 12
else
	ktap_set_plan 11
fi
lu_start_luod "$LUOD" "$LUOCTL" "$SOCK"
ktap_test_result "the handover was taken (last_handover ok)" \
	sysfs_is last_handover ok
ktap_test_result "luoctl status counts $prev live updates" \
	update_count_is "$prev"
ktap_test_result "luod took over the session demo" \
	session_state demo incoming 1
ktap_test_result "the last line logged before the kexec came over" \
	previous_log_has "last words of stage $prev ($prev_boot)"
ktap_test_result "luoctl update left its line in the log" \
	previous_log_has "luoctl: live update into $LU_KERNEL_IMAGE"
ktap_test_result "the previous kernel's log came over" \
	previous_kernel_log "$prev"
ktap_test_result "the previous log's tail is in /dev/kmsg between markers" \
	kmsg_has_marker
if [ "$stage" = 2 ]; then
	ktap_test_result "the crashed client's session came over" \
		crashy_came_over
else
	ktap_test_result "crashy, never finished, was not handed over again" \
		crashy_gone
fi
if [ "$stage" -lt "$LAST" ]; then
	ktap_test_result "demo: counter $prev, its buffer and a late write came over" \
		demo_step step "$prev"
	ktap_test_result "demo preserves counter $stage" \
		session_state demo outgoing 1
	ktap_test_result "luod and demo are to be handed over" \
		sysfs_is sessions_out 2
	ktap_test_result "the log takes a line" \
		"$LUOCTL" -s "$SOCK" log write "stage $stage is ready"
	update
fi
ktap_test_result "demo: counter $prev, its buffer and a late write came over" \
	demo_step check "$prev"
ktap_test_result "demo is finished" sysfs_is sessions_finished 2
ktap_test_result "luod exits with 0 on SIGTERM" stop_luod
[ "$KTAP_CNT_FAIL" = 0 ] || show_luod_log
ktap_finished
