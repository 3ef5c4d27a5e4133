#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: Debian's kexec-tools ("kexec -s -l", then "kexec -e") boots a
# fresh kernel, as operators do it. Stage 1 loads the same kernel and
# initramfs with kexec_file_load() through kexec-tools and executes it;
# stage 2 proves it arrived through kexec (boot protocol loader type,
# the command line stage 1 gave, a new boot_id).

here=$(dirname "$0")
# The test VM's layout, or the kernel tree's.
if [ -f "$here/kselftest/ktap_helpers.sh" ]; then
	. "$here/kselftest/ktap_helpers.sh"
else
	. "$here/../kselftest/ktap_helpers.sh"
fi
. "$here/lib/lu_stage.sh"

boot_id=$(cat /proc/sys/kernel/random/boot_id)

# The release string names the base and the release of the series.
is_project_kernel() {
	lu=/sys/kernel/liveupdate
	[ "$(uname -r)" = "$(cat $lu/base)-$(cat $lu/release)" ]
}

case "$(lu_stage)" in
1)
	loader=$(lu_loader_type)
	[ "$loader" = d0 ] &&
		ktap_exit_fail_msg "stage 1 was booted by kexec; the harness must boot it"
	ktap_print_msg "stage 1: booted by loader 0x$loader"
	lu_kexec_next "lu.prev_boot_id=$boot_id"
	;;
2)
	ktap_print_header
	ktap_set_plan 3
	loader=$(lu_loader_type)
	ktap_test_result "boot protocol names kexec as the loader (0x$loader)" \
		[ "$loader" = d0 ]
	prev=$(lu_cmdline_get lu.prev_boot_id || true)
	ktap_test_result "boot_id changed across the kexec ($prev -> $boot_id)" \
		[ -n "$prev" -a "$prev" != "$boot_id" ]
	ktap_test_result "running the project kernel ($(uname -r))" \
		is_project_kernel
	ktap_finished
	;;
*)
	ktap_exit_fail_msg "unexpected stage $(lu_stage)"
	;;
esac
