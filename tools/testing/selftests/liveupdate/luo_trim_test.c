// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a session nobody finishes keeps only the part of KHO's
 * tracker that what it holds needs, not the tracker of all the memory
 * the previous kernel preserved.
 *
 * Stage 1 preserves a 256 MiB memfd, in single pages all over memory,
 * in session "big", and a one-page memfd in session "late", and kexecs.
 * Stage 2 notes the size of the incoming tracker, retrieves and
 * finishes "big": KHO frees the tracker pages none of whose blocks is
 * unclaimed any more (one line says how much), while "late" is still
 * not retrieved. "late" then comes back intact, and finishing it
 * releases the rest of the handover, the tracker's last pages included.
 *
 * One variant, trim (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "lu_harness.h"
#include "lu_luo.h"
#include "lu_vfio.h"

#define MIB		(1024ULL * 1024)
#define BIG_SIZE	(256 * MIB)
#define LATE_SIZE	4096
#define TRACKER		"/sys/kernel/debug/kho/in/tracker_bytes"

FIXTURE(trim) {};

FIXTURE_VARIANT(trim) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(trim) *variant);
};

static void stage1(const FIXTURE_VARIANT(trim) *variant)
{
	int luo = luo_open();

	luo_preserve_fd(luo_create_session(luo, "big"),
			lu_pattern_memfd("lu-trim-big", 0, BIG_SIZE, 1), 1);
	luo_preserve_fd(luo_create_session(luo, "late"),
			lu_pattern_memfd("lu-trim-late", 0, LATE_SIZE, 2), 1);
	lu_kexec_next(NULL);
}

static void stage2(const FIXTURE_VARIANT(trim) *variant)
{
	long long before, after = -1;
	int luo, big, late, fd;
	long kib = -1;

	before = lu_read_num(TRACKER);
	luo = luo_open();
	big = luo_retrieve_session(luo, "big");
	fd = luo_retrieve_fd(big, 1);
	lu_check(lu_pattern_intact(fd, BIG_SIZE, 1) == BIG_SIZE,
		 "the big memfd is intact\n");
	luo_finish(big);
	close(fd);
	/* From a worker, which logs once it is done: give it a moment. */
	for (int i = 0; i < 100; i++) {
		after = lu_read_num(TRACKER);
		lu_vfio_kmsg_scan("KHO: freed ", &kib);
		if (after < before && kib >= 0)
			break;
		usleep(20 * 1000);
	}
	lu_check(before > 0 && after >= 0 && after < before &&
		 kib == (before - after) >> 10,
		 "with 'late' not finished, the tracker went from %lld to %lld bytes (the log says %ld KiB freed)\n",
		 before, after, kib);
	lu_check(!lu_vfio_kmsg_has("KHO: released the handover itself"),
		 "the rest of the handover stays\n");

	late = luo_retrieve_session(luo, "late");
	fd = luo_retrieve_fd(late, 1);
	lu_check(lu_pattern_intact(fd, LATE_SIZE, 2) == LATE_SIZE,
		 "session 'late' comes back intact afterwards\n");
	close(fd);
	luo_finish(late);
	lu_check(lu_vfio_kmsg_has("KHO: released the handover itself") &&
		 !lu_vfio_kmsg_has("the tracker had"),
		 "finishing it releases the rest, every tracker page accounted for\n");
}

FIXTURE_VARIANT_ADD(trim, trim) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(trim)
{
}

FIXTURE_TEARDOWN(trim)
{
}

TEST_F_TIMEOUT(trim, stages, LU_STAGE_TIMEOUT)
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
