#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: what happens when luod dies before the update (luod(8),
# "luod must run until the kexec"). Its sessions belong to it, so the
# kernel releases them the moment it dies: nothing is handed over, the
# update itself still works, and the next luod starts afresh.
#
# Stage 1 starts luod, saves a file through it, kills it with SIGKILL,
# checks that no session is left, and updates with luoctl. Stage 2
# checks that no session came over, that no previous luod log exists,
# and that a new luod serves clients.

here=$(dirname "$0")
# The test VM's layout, or the kernel tree's.
if [ -f "$here/kselftest/ktap_helpers.sh" ]; then
	. "$here/kselftest/ktap_helpers.sh"
else
	. "$here/../kselftest/ktap_helpers.sh"
fi
. "$here/lib/lu_stage.sh"

SOCK=/run/luod.sock
LUOD=$here/luod
LUOCTL=$here/luoctl
stage=$(lu_stage)

ktap_print_header
[ -x "$LUOD" ] && [ -x "$LUOCTL" ] || ktap_skip_all "luod or luoctl missing"
[ -c /dev/liveupdate ] || ktap_skip_all "no /dev/liveupdate"

sysfs_is() {
	[ "$(cat "/sys/kernel/liveupdate/$1")" = "$2" ]
}

save_file() {
	echo "kept by luod" > /tmp/data &&
		"$LUOCTL" -s "$SOCK" file save data 1 /tmp/data
}

kill_luod() {
	kill -KILL "$LUOD_PID" && wait "$LUOD_PID"
	[ $? = 137 ]
}

no_previous_log() {
	! "$LUOCTL" -s "$SOCK" log --previous >/dev/null 2>&1
}

new_luod_serves() {
	save_file && "$LUOCTL" -s "$SOCK" sessions | grep -q '^data '
}

if [ "$stage" = 1 ]; then
	ktap_set_plan 4
	lu_start_luod "$LUOD" "$LUOCTL" "$SOCK"
	ktap_test_result "a file is saved through luod" save_file
	ktap_test_result "luod holds its sessions" sysfs_is sessions_out 2
	ktap_test_result "luod dies by SIGKILL" kill_luod
	ktap_test_result "the kernel released every session it held" \
		sysfs_is sessions_out 0
	[ "$KTAP_CNT_FAIL" = 0 ] || ktap_finished
	"$LUOCTL" update --kernel "$LU_KERNEL_IMAGE" --initrd "$(lu_next_initrd)" \
		--reuse-cmdline --append "lu.stage=2"
	ktap_exit_fail_msg "luoctl update returned"
fi

ktap_set_plan 4
ktap_test_result "the update went through (live update 1)" sysfs_is updates 1
ktap_test_result "no session came over" sysfs_is sessions_in 0
lu_start_luod "$LUOD" "$LUOCTL" "$SOCK"
ktap_test_result "luod has no previous log" no_previous_log
ktap_test_result "a new luod serves clients" new_luod_serves
kill -TERM "$LUOD_PID"
wait "$LUOD_PID"
ktap_finished
