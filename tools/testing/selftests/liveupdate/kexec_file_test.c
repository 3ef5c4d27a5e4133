// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a kexec reboot through kexec_file_load() and
 * reboot(LINUX_REBOOT_CMD_KEXEC) boots a fresh kernel.
 *
 * Stage 1 (booted by QEMU) records its boot_id and checks that the boot
 * protocol names QEMU as the loader, then loads the same kernel with
 * kexec_file_load() and reboots into it. Stage 2 proves that it arrived
 * through kexec: the boot protocol names kexec as the loader, the
 * command line is the one stage 1 built, and the boot_id is new. Both
 * stages check that the kernel release names the base and the release of
 * the series (sysfs release and base), and stage 2 that it knows which
 * kernel it came from and how many kexec handovers led to it. Between
 * different kernels (lu.kernels=), stage 2 names the other one, or
 * "unknown" after a kernel of release lu0, which does not say.
 *
 * One variant, kexec_file (lu.case= in vm/tests).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "lu_harness.h"
#include "lu_luo.h"

FIXTURE(kexec) {};

FIXTURE_VARIANT(kexec) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(kexec) *variant);
};

/* Is uname -r "<base>-<release>", as sysfs gives them? */
static bool release_named(const char *release)
{
	char base[32], rel[32], want[80];

	luo_sysfs("base", base, sizeof(base));
	luo_sysfs("release", rel, sizeof(rel));
	snprintf(want, sizeof(want), "%s-%s", base, rel);
	ksft_print_msg("kernel %s: base %s, release %s\n", release, base, rel);
	return !strcmp(release, want);
}

static void stage1(const FIXTURE_VARIANT(kexec) *variant)
{
	char boot_id[64], extra[256], from[80];
	int loader = lu_boot_loader_type();
	struct utsname u;

	if (loader == LU_LOADER_KEXEC)
		ksft_exit_fail_msg("stage 1 booted by kexec (loader %#x)\n",
				   loader);
	ksft_print_msg("stage 1: booted by loader %#x\n", loader);

	if (uname(&u))
		ksft_exit_fail_msg("uname: %s\n", strerror(errno));
	/* A kernel of release lu0 (lu.kernels=lu0,...) does not say. */
	if (!access("/sys/kernel/liveupdate/release", F_OK)) {
		if (!release_named(u.release))
			ksft_exit_fail_msg("uname -r is not <base>-<release>\n");
		if (luo_sysfs("exec_count", from, sizeof(from)) != 0 ||
		    luo_sysfs("exec_from", from, sizeof(from)) ||
		    strcmp(from, "none"))
			ksft_exit_fail_msg("a cold boot claims to come from a kexec (%s)\n",
					   from);
	} else {
		snprintf(u.release, sizeof(u.release), "unknown");
	}

	lu_boot_id(boot_id, sizeof(boot_id));
	snprintf(extra, sizeof(extra), "lu.prev_boot_id=%s lu.prev_release=%s",
		 boot_id, u.release);
	lu_kexec_next(extra);
}

static void stage2(const FIXTURE_VARIANT(kexec) *variant)
{
	char boot_id[64], prev[64], prev_rel[80], from[80];
	struct utsname u;
	long long count;
	int loader;

	loader = lu_boot_loader_type();
	lu_check(loader == LU_LOADER_KEXEC,
		 "boot protocol names kexec as the loader (%#x)\n", loader);

	lu_check(lu_stage() == 2, "command line carries lu.stage=2\n");

	lu_boot_id(boot_id, sizeof(boot_id));
	if (!lu_cmdline_get("lu.prev_boot_id", prev, sizeof(prev)))
		prev[0] = '\0';
	lu_check(prev[0] && strcmp(prev, boot_id),
		 "boot_id changed across the kexec (%s -> %s)\n",
		 prev[0] ? prev : "?", boot_id);

	lu_check(!uname(&u) && release_named(u.release),
		 "the kernel release names base and release (%s)\n",
		 u.release);

	if (!lu_cmdline_get("lu.prev_release", prev_rel, sizeof(prev_rel)))
		prev_rel[0] = '\0';
	luo_sysfs("exec_from", from, sizeof(from));
	lu_check(prev_rel[0] && !strcmp(from, prev_rel),
		 "exec_from names the previous kernel (%s, was %s)\n",
		 from, prev_rel);
	count = luo_sysfs("exec_count", from, sizeof(from));
	lu_check(count == 1, "exec_count is 1 (%lld)\n", count);
}

FIXTURE_VARIANT_ADD(kexec, kexec_file) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(kexec)
{
}

FIXTURE_TEARDOWN(kexec)
{
}

TEST_F_TIMEOUT(kexec, stages, LU_STAGE_TIMEOUT)
{
	int i = lu_stage_index(_metadata);

	if (i < 0)
		return;
	ASSERT_NE(NULL, variant->stage[i]);
	variant->stage[i](variant);
	EXPECT_EQ(0, lu_checks_failed());
}

int main(int argc, char **argv)
{
	return lu_harness_main(argc, argv);
}
