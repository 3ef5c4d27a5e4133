#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: Debian's kexec-tools ("kexec -s -l", then "kexec -e") boots a
# fresh kernel, as operators do it. Stage 1 loads the same kernel and
# initramfs with kexec_file_load() through kexec-tools and executes it;
# stage 2 proves it arrived through kexec (boot protocol loader type,
# the command line stage 1 gave, a new boot_id).

. "$(dirname "$0")/kselftest/ktap_helpers.sh"

cmdline_get() {
	for w in $(cat /proc/cmdline); do
		case "$w" in
		"$1"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	return 1
}

# boot_params.hdr.type_of_loader, as two hex digits.
loader_type() {
	dd if=/sys/kernel/boot_params/data bs=1 skip=528 count=1 2>/dev/null |
		od -An -tx1 | tr -d ' \n'
}

is_project_kernel() {
	case "$(uname -r)" in
	*-liveupdate) return 0 ;;
	esac
	return 1
}

stage=$(cmdline_get lu.stage || echo 1)
boot_id=$(cat /proc/sys/kernel/random/boot_id)

case "$stage" in
1)
	loader=$(loader_type)
	if [ "$loader" = d0 ]; then
		ktap_exit_fail_msg "stage 1 was booted by kexec; the harness must boot it"
	fi
	ktap_print_msg "stage 1: booted by loader 0x$loader"
	next=""
	for w in $(cat /proc/cmdline); do
		case "$w" in
		lu.stage=*|lu.prev_boot_id=*) ;;
		*) next="$next$w " ;;
		esac
	done
	next="${next}lu.stage=2 lu.prev_boot_id=$boot_id"
	if ! kexec -s -l /boot/bzImage --initrd=/run/initrd.cpio \
			--command-line="$next"; then
		ktap_exit_fail_msg "kexec -s -l /boot/bzImage failed"
	fi
	ktap_print_msg "stage 1: kexec -s -l done, running kexec -e"
	sync
	kexec -e
	ktap_exit_fail_msg "kexec -e returned"
	;;
2)
	ktap_print_header
	ktap_set_plan 3
	loader=$(loader_type)
	ktap_test_result "boot protocol names kexec as the loader (0x$loader)" \
		[ "$loader" = d0 ]
	prev=$(cmdline_get lu.prev_boot_id || true)
	ktap_test_result "boot_id changed across the kexec ($prev -> $boot_id)" \
		[ -n "$prev" -a "$prev" != "$boot_id" ]
	ktap_test_result "running the project kernel ($(uname -r))" \
		is_project_kernel
	ktap_finished
	;;
*)
	ktap_exit_fail_msg "unexpected stage $stage"
	;;
esac
