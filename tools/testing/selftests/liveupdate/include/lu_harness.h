/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multi-stage tests in kselftest_harness shape.
 *
 * A multi-stage test program has one FIXTURE with one test, "stages",
 * and one FIXTURE_VARIANT per scenario. A variant names the function
 * each stage runs, plus whatever else tells its scenario apart:
 *
 *	FIXTURE(vfio) {};
 *	FIXTURE_VARIANT(vfio) {
 *		void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(vfio) *variant);
 *		bool huge;
 *	};
 *	FIXTURE_VARIANT_ADD(vfio, retrieve_huge) {
 *		.stage = { retrieve_stage1, retrieve_stage2 },
 *		.huge = true,
 *	};
 *	FIXTURE_SETUP(vfio) {}
 *	FIXTURE_TEARDOWN(vfio) {}
 *	TEST_F_TIMEOUT(vfio, stages, LU_STAGE_TIMEOUT)
 *	{
 *		int i = lu_stage_index(_metadata);
 *
 *		if (i < 0)
 *			return;
 *		ASSERT_NE(NULL, variant->stage[i]);
 *		variant->stage[i](variant);
 *		EXPECT_EQ(0, lu_checks_failed());
 *	}
 *
 *	int main(int argc, char **argv)
 *	{
 *		return lu_harness_main(argc, argv);
 *	}
 *
 * The tests table (vm/tests) picks the scenario with lu.case=VARIANT on
 * the kernel command line, which every stage inherits: lu_harness_main()
 * runs that variant only, and its test runs the function of the stage
 * this kernel is (lu.stage=N). A stage ends in lu_kexec_next(), which
 * moves on only if every lu_check() of the stage passed, or, in the last
 * stage, by returning: the test then passes if no lu_check() failed.
 * A name that is no variant fails. Off the test VM (no lu.stage=),
 * every variant runs and skips.
 */
#ifndef _LU_HARNESS_H
#define _LU_HARNESS_H

#include "../../kselftest_harness.h"
#include "lu_stage.h"

/* Kernels a test may boot: luo_soak_test boots 21 (a cold boot, 20 updates). */
#define LU_STAGES_MAX		32
/* TCG is slow: a stage may take minutes; vm/tests bounds the whole run. */
#define LU_STAGE_TIMEOUT	1800

/*
 * The index in a variant's stage[] of this kernel's stage; -1 when the
 * test was skipped (not the test VM) or failed (no such stage).
 */
static inline int lu_stage_index(struct __test_metadata *_metadata)
{
	int stage;

	char val[16];

	if (!lu_in_vm())
		SKIP(return -1, "%s", LU_NOT_IN_VM);
	if (lu_cmdline_get("lu.refused_reboot", val, sizeof(val))) {
		TH_LOG("booted by a reboot() the previous stage expected the kernel to refuse");
		_metadata->exit_code = KSFT_FAIL;
		return -1;
	}
	stage = lu_stage();
	if (stage < 1 || stage > LU_STAGES_MAX) {
		TH_LOG("unexpected stage %d", stage);
		_metadata->exit_code = KSFT_FAIL;
		return -1;
	}
	return stage - 1;
}

/* Whether a variant of some fixture of this program is called @name. */
static inline bool lu_variant_exists(const char *name)
{
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;

	for (f = __fixture_list; f; f = f->next)
		for (v = f->variant; v; v = v->next)
			if (!strcmp(v->name, name))
				return true;
	return false;
}

static pid_t lu_harness_pid;

/*
 * The harness exits 0 when its one test was skipped; the VM harness
 * (vm/run.sh) tells a skip by exit code 4 (KSFT_SKIP), as before.
 */
static inline void lu_harness_exit(void)
{
	if (getpid() == lu_harness_pid && ksft_get_xskip_cnt() &&
	    !ksft_get_pass_cnt() && !ksft_get_fail_cnt())
		_exit(KSFT_SKIP);
}

/*
 * main() of a multi-stage test: on the test VM, run the variant lu.case=
 * names (exit code 0, 1, or 4 when it skipped); elsewhere, all of them
 * (each skips).
 */
static inline int lu_harness_main(int argc, char **argv)
{
	static char lu_case[64];
	static char *args[4];

	if (!lu_in_vm())
		return test_harness_run(argc, argv);
	if (!lu_cmdline_get("lu.case", lu_case, sizeof(lu_case)))
		ksft_exit_fail_msg("no lu.case= on the command line\n");
	if (!lu_variant_exists(lu_case))
		ksft_exit_fail_msg("lu.case=%s: no such scenario in this test\n",
				   lu_case);
	lu_harness_pid = getpid();
	atexit(lu_harness_exit);
	args[0] = argv[0];
	args[1] = "-v";
	args[2] = lu_case;
	return test_harness_run(3, args);
}

#endif /* _LU_HARNESS_H */
