# SPDX-License-Identifier: GPL-2.0
#
# Stage helpers for shell tests run by the live update VM harness; the
# shell twin of lib/lu_stage.c. Source it after ktap_helpers.sh.
#
#   lu_cmdline_get KEY      print the value of KEY= on /proc/cmdline
#   lu_stage                print this stage's number (1 when not set)
#   lu_next_initrd          make the next stage's initramfs if it is not
#                           made yet (/lu/next-initrd), print its path
#   lu_kexec_next [WORD..]  load this kernel again with kexec-tools
#                           (kexec -s -l), lu.stage incremented and WORDs
#                           (key=value) replacing words of the same key,
#                           then reboot into it with kexec -e; with
#                           LU_KEXEC_LOAD=1, kexec_load() (kexec -l) is
#                           used instead of kexec_file_load()
#   lu_loader_type          boot_params.hdr.type_of_loader, as 2 hex digits
#   lu_mem_total            MemTotal in KiB
#   lu_within PCT A B       true if A is within PCT percent of B
#   lu_at_least PCT A B     true if A is at least PCT percent of B
#   lu_kho_ctl CMD...       run a command of the KHO test module
#   lu_kho_filled_mib       the MiB its last "fill" allocated
#   lu_mem_like_cold MIB    two KTAP results: MemTotal within 1% of the
#                           cold boot's (lu.cold_total=, KiB), and MIB
#                           filled at least 85% of its (lu.cold_fill=)

LU_KERNEL_IMAGE=/boot/bzImage
LU_NEXT_INITRD=/run/initrd.cpio

lu_next_initrd() {
	if [ -x /lu/next-initrd ]; then
		/lu/next-initrd
	else
		echo "$LU_NEXT_INITRD"
	fi
}

lu_cmdline_get() {
	for w in $(cat /proc/cmdline); do
		case "$w" in
		"$1"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	return 1
}

lu_stage() {
	lu_cmdline_get lu.stage || echo 1
}

lu_mem_total() {
	awk '/^MemTotal:/ { print $2 }' /proc/meminfo
}

lu_within() {
	[ -n "$2" ] && [ -n "$3" ] && [ "$3" -gt 0 ] &&
		[ $((($2 - $3) * 100)) -le $(($1 * $3)) ] &&
		[ $((($3 - $2) * 100)) -le $(($1 * $3)) ]
}

lu_at_least() {
	[ -n "$2" ] && [ -n "$3" ] && [ $(($2 * 100)) -ge $(($1 * $3)) ]
}

lu_mem_like_cold() {
	local total cold_total cold_fill

	total=$(lu_mem_total)
	cold_total=$(lu_cmdline_get lu.cold_total)
	cold_fill=$(lu_cmdline_get lu.cold_fill)
	ktap_print_msg "MemTotal $total KiB, filled $1 MiB;" \
		"cold boot: $cold_total KiB, $cold_fill MiB"
	ktap_test_result "MemTotal within 1% of the cold boot's" \
		lu_within 1 "$total" "$cold_total"
	ktap_test_result "filled at least 85% of the cold boot's" \
		lu_at_least 85 "$1" "$cold_fill"
}

lu_loader_type() {
	dd if=/sys/kernel/boot_params/data bs=1 skip=528 count=1 2>/dev/null |
		od -An -tx1 | tr -d ' \n'
}

# lu_start_luod LUOD LUOCTL SOCKET: start luod in the background, its
# stderr in /run/luod.log and its pid in LUOD_PID, and wait until it
# answers on SOCKET. "luoctl sessions" falls back to the kernel's counts
# when nobody listens, so only its JSON "source" tells that luod did.
lu_start_luod() {
	local _i

	"$1" --socket "$3" 2>/run/luod.log &
	LUOD_PID=$!
	for _i in $(seq 100); do
		"$2" -s "$3" sessions -j 2>/dev/null |
			grep -q '"source":"luod"' && return 0
		sleep 0.1
	done
	sed 's/^/# luod: /' /run/luod.log
	ktap_exit_fail_msg "luod did not answer on $3 within 10 s"
}

# lu_kho_ctl CMD...: run a command of the KHO test module (lib/test_kho.c,
# its debugfs file kho_test/ctl), print its outcome; fail if it failed.
lu_kho_ctl() {
	echo "$*" > /sys/kernel/debug/kho_test/ctl 2>/dev/null
	local rc=$?
	ktap_print_msg "$*: $(cat /sys/kernel/debug/kho_test/ctl)"
	return $rc
}

# lu_kho_filled_mib: the MiB the KHO test module's last "fill" allocated.
lu_kho_filled_mib() {
	sed -n 's/.*filled \([0-9]*\) MiB.*/\1/p' /sys/kernel/debug/kho_test/ctl
}

lu_kexec_next() {
	local next="" w k keep extra

	for w in $(cat /proc/cmdline); do
		k=${w%%=*}
		keep=1
		[ "$k" = lu.stage ] && keep=0
		for extra in "$@"; do
			[ "${extra%%=*}" = "$k" ] && keep=0
		done
		[ $keep = 1 ] && next="$next$w "
	done
	next="${next}lu.stage=$(($(lu_stage) + 1)) $*"
	local mode=-s
	[ "${LU_KEXEC_LOAD:-0}" = 1 ] && mode=
	# shellcheck disable=SC2086
	if ! kexec $mode -l "$LU_KERNEL_IMAGE" --initrd="$(lu_next_initrd)" \
			--command-line="$next"; then
		ktap_exit_fail_msg "kexec $mode -l $LU_KERNEL_IMAGE failed"
	fi
	# The harness's kmemleak scan, on kernels that have kmemleak.
	[ -x /lu/leak-scan ] && /lu/leak-scan
	ktap_print_msg "stage $(lu_stage): rebooting into the next kernel with kexec -e"
	sync
	kexec -e
	ktap_exit_fail_msg "kexec -e returned"
}

# The harness boots every kernel with lu.stage=N. Without it this is not
# the test VM but some machine a kexec would reboot: skip.
if ! lu_cmdline_get lu.stage >/dev/null; then
	ktap_print_header
	ktap_skip_all "not booted by the live update test harness" \
		"(no lu.stage= on the kernel command line), and this test" \
		"reboots the machine with kexec; run it with" \
		"tools/testing/selftests/liveupdate/vm/run.sh"
	exit "${KSFT_SKIP:-4}"
fi
