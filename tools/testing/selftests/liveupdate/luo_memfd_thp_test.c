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
 * scratch places the huge pages in KHO scratch for real, under memory
 * pressure: the KHO test interface first takes (and preserves) all but
 * SCRATCH_ROOM MiB of the memory outside scratch in 2 MiB blocks, then
 * fragments the rest (it takes blocks of two pages and frees every
 * second page). The memfd's huge pages, movable, can then only come from
 * scratch (MIGRATE_CMA), and freeze must really move them out, with
 * little memory left outside scratch, and no free 2 MiB block there
 * unless compaction makes one. With memfd_luo.test_split=1 as well,
 * freeze splits each before it moves it (or, when splitting needs
 * memory it cannot get, moves it whole), and must collect the pages the
 * move left behind. Stage 2 checks every byte.
 *
 * Variants thp_split and scratch (lu.case= in vm/tests).
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
	/* Place the huge pages in scratch by taking the memory outside it */
	bool scratch;
};

/* scratch: MiB of the memory outside scratch left to fragment */
#define SCRATCH_ROOM	64
#define KHO_CTL		"/sys/kernel/debug/kho_test/ctl"

static void kho_test_ctl(const char *cmd)
{
	char out[128] = "";
	int fd = open(KHO_CTL, O_RDWR | O_CLOEXEC);

	if (fd < 0 || write(fd, cmd, strlen(cmd)) < 0 ||
	    pread(fd, out, sizeof(out) - 1, 0) < 0)
		ksft_exit_fail_msg("%s: %s: %s\n", KHO_CTL, cmd, strerror(errno));
	close(fd);
	ksft_print_msg("%s: %s", cmd, out);
}

/*
 * Take all but SCRATCH_ROOM MiB of the free memory outside scratch, in
 * 2 MiB blocks, and fragment the rest.
 */
static void take_outside_scratch(void)
{
	long long outside = lu_meminfo_kib("MemFree") - lu_meminfo_kib("CmaFree");
	long long mib = (outside >> 10) - SCRATCH_ROOM;
	char cmd[64];

	mib &= ~1LL;
	if (mib <= 0)
		ksft_exit_fail_msg("only %lld KiB free outside scratch\n", outside);
	snprintf(cmd, sizeof(cmd), "preserve %lld 7 9", mib);
	kho_test_ctl(cmd);
	snprintf(cmd, sizeof(cmd), "fragment %d", SCRATCH_ROOM);
	kho_test_ctl(cmd);
}

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
	int luo, session, fd, sys, err;
	long long huge, cma = 0;
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
	if (variant->scratch) {
		/* Loading the next kernel takes memory outside scratch. */
		err = __lu_kexec_load_next(NULL);
		if (err)
			ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-err));
		take_outside_scratch();
		cma = lu_meminfo_kib("CmaFree");
	}

	p = map(fd);
	if (madvise(p, THP_SIZE, MADV_HUGEPAGE))
		ksft_print_msg("MADV_HUGEPAGE: %s\n", strerror(errno));
	for (i = 0; i < THP_SIZE; i++)
		p[i] = pattern(i);
	munmap(p, THP_SIZE);
	huge = lu_meminfo_kib("ShmemHugePages");
	lu_check(huge >= 2048, "the memfd has huge pages: %lld KiB\n", huge);
	if (variant->scratch) {
		cma -= lu_meminfo_kib("CmaFree");
		lu_check(cma >= (long long)(THP_SIZE >> 10) * 3 / 4,
			 "they are in KHO scratch: %lld KiB of it taken\n", cma);
		ksft_print_msg("free outside scratch: %lld KiB\n",
			       lu_meminfo_kib("MemFree") -
			       lu_meminfo_kib("CmaFree"));
	}
	lu_check(true, "stage 1 ready to kexec\n");
	if (!variant->scratch)
		lu_kexec_next(NULL);
	/* As lu_kexec_next() does, but the kernel is loaded already. */
	lu_checks_stop();
	lu_leak_scan();
	ksft_print_msg("stage 1: rebooting into the loaded kernel\n");
	err = __lu_kexec_reboot();
	ksft_exit_fail_msg("reboot(LINUX_REBOOT_CMD_KEXEC): %s\n",
			   strerror(-err));
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
	luo_finish(session);
	ksft_print_msg("it arrived with %lld KiB in huge pages\n",
		       lu_meminfo_kib("ShmemHugePages"));
	close(fd);
}

FIXTURE_VARIANT_ADD(memfd_thp, thp_split) {
	.stage = { stage1, stage2 },
};

FIXTURE_VARIANT_ADD(memfd_thp, scratch) {
	.stage = { stage1, stage2 },
	.scratch = true,
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
