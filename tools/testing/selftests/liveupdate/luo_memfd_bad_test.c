// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a memfd whose record arrives corrupt is refused by its
 * retrieve, alone, with one line in the log; the rest of its session
 * comes back intact, nothing the record names is freed that the previous
 * kernel did not preserve, and once the session is finished the kernel
 * owns all its memory again, the refused memfd's included.
 *
 * Stage 1, a cold boot, notes MemTotal, preserves in session "bad" the
 * memfd to damage (token 1, 32 MiB) and an intact one (token 2), has the
 * KHO test interface damage the first at the reboot, and kexecs:
 *
 * - order: a shmem memfd's first folio is of an order above what the
 *   page cache allows (MAX_PAGECACHE_ORDER): EINVAL;
 * - size: a HugeTLB memfd is one page smaller, no multiple of its huge
 *   page: EINVAL;
 * - phys: a HugeTLB memfd's middle folio is at an address where nothing
 *   was preserved (the previous kernel's text): the next kernel adopts
 *   the folios before it, then gives them all back: EIO.
 *
 * Stage 2 checks the refusal (twice: the same errno again), the intact
 * memfd byte for byte, and that finishing the session leaves MemTotal
 * within 1% of the cold boot's (the refused memfd is 6%): KHO releases
 * exactly what no sound entry names (one page with order, the 2 MiB
 * folio nobody names with phys, nothing with size), and the rest went
 * back at the failed retrieve.
 *
 * retry damages nothing: stage 2 retrieves the 32 MiB memfd under a
 * strict overcommit limit with room for half of it, which fails before
 * the kernel takes anything over (ENOMEM), then again with the limit
 * lifted: the memfd comes back intact, byte for byte, and the rest holds
 * as above (nothing left to KHO).
 *
 * Variants order, size, phys and retry (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/memfd.h>
#include <sys/mman.h>

#include "lu_harness.h"
#include "lu_luo.h"
#include "lu_vfio.h"

#define MIB		(1024ULL * 1024)
#define BAD_SIZE	(32 * MIB)
#define GOOD_SIZE	(1 * MIB)
#define BAD_NAME	"lu-bad-victim"
/* The name the kernel gives it */
#define BAD_MEMFD	"memfd:" BAD_NAME
#define KHO_CTL		"/sys/kernel/debug/kho_test/ctl"

FIXTURE(memfd_bad) {};

FIXTURE_VARIANT(memfd_bad) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(memfd_bad) *variant);
	/* What the KHO test interface damages, as "corrupt ..." takes it */
	const char *corrupt;
	/* The memfd to damage is a HugeTLB one (2 MiB pages) */
	bool hugetlb;
	/* Its retrieve fails with this */
	int err;
	/* KiB KHO must release as preserved memory nobody restored */
	long unclaimed_kib;
};

static void kho_test_ctl(const char *cmd)
{
	int fd = open(KHO_CTL, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, cmd, strlen(cmd)) < 0)
		ksft_exit_fail_msg("%s: %s: %s\n", KHO_CTL, cmd, strerror(errno));
	close(fd);
}

static void stage1(const FIXTURE_VARIANT(memfd_bad) *variant)
{
	unsigned int flags = variant->hugetlb ? MFD_HUGETLB | MFD_HUGE_2MB : 0;
	char extra[64], cmd[64];
	int session;

	session = luo_create_session(luo_open(), "bad");
	luo_preserve_fd(session, lu_pattern_memfd(BAD_NAME, flags, BAD_SIZE, 1), 1);
	luo_preserve_fd(session, lu_pattern_memfd("lu-bad-intact", 0, GOOD_SIZE, 2),
			2);
	if (variant->corrupt) {
		snprintf(cmd, sizeof(cmd), "corrupt %s:bad:1", variant->corrupt);
		kho_test_ctl(cmd);
	}
	snprintf(extra, sizeof(extra), "lu.cold_total=%lld",
		 lu_meminfo_kib("MemTotal"));
	lu_kexec_next(extra);
}

/* The most KiB one "released ... nobody restored" line of KHO says, or -1 */
static long unclaimed_kib(void)
{
	long kib;

	lu_vfio_kmsg_scan("KHO: released ", &kib);
	return kib;
}

static void stage2(const FIXTURE_VARIANT(memfd_bad) *variant)
{
	long long cold, total;
	int luo, session, fd, err;
	char val[32], what[64];
	size_t i;

	if (!lu_cmdline_get("lu.cold_total", val, sizeof(val)))
		ksft_exit_fail_msg("no lu.cold_total= on the command line\n");
	cold = atoll(val);
	luo = luo_open();
	session = luo_retrieve_session(luo, "bad");

	if (!variant->corrupt) {
		err = lu_retrieve_fd_committed(session, 1, BAD_SIZE >> 11);
		lu_check(err == -ENOMEM || err == -ENOSPC,
			 "retrieving it short of commit room fails: %s\n",
			 strerror(-err));
		lu_check(lu_vfio_kmsg_has("it may be retrieved again"),
			 "before anything was taken over\n");
		fd = __luo_retrieve_fd(session, 1);
		lu_check(fd >= 0, "with the limit lifted, it is retrieved: %s\n",
			 strerror(fd < 0 ? -fd : 0));
		if (fd < 0)
			ksft_exit_fail_msg("no memfd to check\n");
		i = lu_pattern_intact(fd, BAD_SIZE, 1);
		lu_check(i == BAD_SIZE, "intact, byte for byte (%zu of %llu)\n",
			 i, BAD_SIZE);
		close(fd);
	} else {
		err = __luo_retrieve_fd(session, 1);
		lu_check(err == variant->err,
			 "retrieving the damaged memfd fails: %s\n",
			 strerror(-err));
		err = __luo_retrieve_fd(session, 1);
		lu_check(err == variant->err,
			 "and again, with the same error: %s\n",
			 strerror(-err));
		snprintf(what, sizeof(what), "cannot rebuild memfd '%s': %d",
			 BAD_MEMFD, variant->err);
		lu_check(lu_vfio_kmsg_count(what) == 1,
			 "one line says why: %s\n", what);
	}

	fd = luo_retrieve_fd(session, 2);
	i = lu_pattern_intact(fd, GOOD_SIZE, 2);
	lu_check(i == GOOD_SIZE, "the other memfd of the session is intact (%zu of %llu bytes)\n",
		 i, GOOD_SIZE);
	close(fd);

	luo_finish(session);
	lu_check(lu_vfio_kmsg_has("KHO: released the handover itself"),
		 "finishing the session releases the handover\n");
	lu_check(unclaimed_kib() == variant->unclaimed_kib ||
		 (variant->unclaimed_kib < 0 &&
		  !lu_vfio_kmsg_has("nobody restored")),
		 "KHO released as unclaimed what no sound entry names: %ld KiB\n",
		 unclaimed_kib());
	total = lu_meminfo_kib("MemTotal");
	lu_check(total >= cold - cold / 100 && total <= cold + cold / 100,
		 "the kernel owns what the cold boot did: MemTotal %lld KiB, cold %lld KiB\n",
		 total, cold);
}

FIXTURE_VARIANT_ADD(memfd_bad, order) {
	.stage = { stage1, stage2 },
	.corrupt = "memfd-order",
	.err = -EINVAL,
	.unclaimed_kib = 4,
};

FIXTURE_VARIANT_ADD(memfd_bad, size) {
	.stage = { stage1, stage2 },
	.corrupt = "memfd-size",
	.hugetlb = true,
	.err = -EINVAL,
	.unclaimed_kib = -1,
};

FIXTURE_VARIANT_ADD(memfd_bad, retry) {
	.stage = { stage1, stage2 },
	.unclaimed_kib = -1,
};

FIXTURE_VARIANT_ADD(memfd_bad, phys) {
	.stage = { stage1, stage2 },
	.corrupt = "memfd-phys",
	.hugetlb = true,
	.err = -EIO,
	.unclaimed_kib = 2048,
};

FIXTURE_SETUP(memfd_bad)
{
}

FIXTURE_TEARDOWN(memfd_bad)
{
}

TEST_F_TIMEOUT(memfd_bad, stages, LU_STAGE_TIMEOUT)
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
