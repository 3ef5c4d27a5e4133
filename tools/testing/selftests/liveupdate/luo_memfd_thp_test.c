// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a memfd's transparent huge pages that must be moved out of
 * KHO scratch memory, and are split on the way, lose no page.
 *
 * Needs a kernel with CONFIG_TRANSPARENT_HUGEPAGE and, on its command
 * line, memfd_luo.test_split=1 (CONFIG_LIVEUPDATE_TEST): the memfd
 * handler then treats every large folio as if it were in scratch and
 * splits it before moving it out, as a migration may do; only the page
 * at its start is moved that way, the rest must be collected by another
 * pass.
 *
 * Stage 1 preserves an empty memfd, then fills it with huge pages (after
 * preserve, so that freeze is the first to see them, with no later pass
 * to make up for a lost page), and kexecs. Stage 2 retrieves it and
 * checks every byte.
 *
 * One variant, thp_split (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define MIB		(1024UL * 1024)
#define THP_SIZE	(16 * MIB)
#define SHMEM_ENABLED	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"

FIXTURE(memfd_thp) {};

FIXTURE_VARIANT(memfd_thp) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(memfd_thp) *variant);
};

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off * 7 + (off >> 12) * 13) ^ 0x5a);
}

static uint8_t *map(int fd)
{
	uint8_t *p = mmap(NULL, THP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  fd, 0);

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return p;
}

static void stage1(const FIXTURE_VARIANT(memfd_thp) *variant)
{
	int luo, session, fd, sys;
	long long huge;
	uint8_t *p;
	size_t i;
	char buf[8];

	if (!lu_cmdline_get("memfd_luo.test_split", buf, sizeof(buf)))
		ksft_exit_skip("boot with memfd_luo.test_split=1\n");
	sys = open(SHMEM_ENABLED, O_WRONLY | O_CLOEXEC);
	if (sys < 0)
		ksft_exit_skip("no transparent huge pages in this kernel\n");
	if (write(sys, "always", 6) != 6)
		ksft_exit_fail_msg("%s: %s\n", SHMEM_ENABLED, strerror(errno));
	close(sys);

	fd = memfd_create("lu-thp", 0);
	if (fd < 0 || ftruncate(fd, THP_SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	luo = luo_open();
	session = luo_create_session(luo, "thp");
	luo_preserve_fd(session, fd, 1);

	p = map(fd);
	if (madvise(p, THP_SIZE, MADV_HUGEPAGE))
		ksft_print_msg("MADV_HUGEPAGE: %s\n", strerror(errno));
	for (i = 0; i < THP_SIZE; i++)
		p[i] = pattern(i);
	munmap(p, THP_SIZE);
	huge = lu_meminfo_kib("ShmemHugePages");
	lu_check(huge >= 2048, "the memfd has huge pages: %lld KiB\n", huge);
	lu_check(true, "stage 1 ready to kexec\n");
	lu_kexec_next(NULL);
}

static void stage2(const FIXTURE_VARIANT(memfd_thp) *variant)
{
	size_t i, bad = 0, first = 0;
	int session, fd;
	uint8_t *p;

	session = luo_retrieve_session(luo_open(), "thp");
	fd = luo_retrieve_fd(session, 1);
	p = map(fd);
	for (i = 0; i < THP_SIZE; i += 4096) {
		size_t j;

		for (j = i; j < i + 4096 && p[j] == pattern(j); j++)
			;
		if (j < i + 4096 && !bad++)
			first = i;
	}
	lu_check(!bad, "every page arrived: %zu of %lu wrong (first at %zu)\n",
		 bad, THP_SIZE / 4096, first);
	munmap(p, THP_SIZE);
	close(fd);
	luo_finish(session);
}

FIXTURE_VARIANT_ADD(memfd_thp, thp_split) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(memfd_thp)
{
}

FIXTURE_TEARDOWN(memfd_thp)
{
}

TEST_F_TIMEOUT(memfd_thp, stages, LU_STAGE_TIMEOUT)
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
