// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a kexec reboot through kexec_file_load() and
 * reboot(LINUX_REBOOT_CMD_KEXEC) boots a fresh kernel.
 *
 * Stage 1 (booted by QEMU) records its boot_id and checks that the boot
 * protocol names QEMU as the loader, then loads the same kernel with
 * kexec_file_load() and reboots into it. Stage 2 proves that it arrived
 * through kexec: the boot protocol names kexec as the loader, the
 * command line is the one stage 1 built, and the boot_id is new.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "../kselftest.h"
#include "lu_stage.h"

static void stage1(void)
{
	char boot_id[64], extra[128];
	int loader = lu_boot_loader_type();

	if (loader == LU_LOADER_KEXEC)
		ksft_exit_fail_msg("stage 1 booted by kexec (loader %#x)\n",
				   loader);
	ksft_print_msg("stage 1: booted by loader %#x\n", loader);

	lu_boot_id(boot_id, sizeof(boot_id));
	snprintf(extra, sizeof(extra), "lu.prev_boot_id=%s", boot_id);
	lu_kexec_next(extra);
}

static void stage2(void)
{
	char boot_id[64], prev[64];
	struct utsname u;
	int loader;

	ksft_print_header();
	ksft_set_plan(4);

	loader = lu_boot_loader_type();
	ksft_test_result(loader == LU_LOADER_KEXEC,
			 "boot protocol names kexec as the loader (%#x)\n", loader);

	ksft_test_result(lu_stage() == 2, "command line carries lu.stage=2\n");

	lu_boot_id(boot_id, sizeof(boot_id));
	if (!lu_cmdline_get("lu.prev_boot_id", prev, sizeof(prev)))
		prev[0] = '\0';
	ksft_test_result(prev[0] && strcmp(prev, boot_id),
			 "boot_id changed across the kexec (%s -> %s)\n",
			 prev[0] ? prev : "?", boot_id);

	ksft_test_result(!uname(&u) && strstr(u.release, "-liveupdate"),
			 "running the project kernel (%s)\n", u.release);
	ksft_finished();
}

int main(void)
{
	static void (*const stages[])(void) = { stage1, stage2 };

	lu_run_stages(stages, ARRAY_SIZE(stages));
}
