// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a dense 1 GiB memfd crosses a kexec in place, every word of
 * it checked, and its memory is handed over rather than copied (the
 * next kernel's memory use does not grow by another GiB).
 *
 * Stage 1 fills 1 GiB (through a shared mapping, as a VMM would), keeps
 * the mapping while preserving it, and kexecs. Stage 2 retrieves it, maps
 * it and checks every 64-bit word.
 *
 * One variant, dense_1g (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define SIZE	(1024ULL << 20)
#define WORDS	(SIZE / 8)

FIXTURE(memfd_1g) {};

FIXTURE_VARIANT(memfd_1g) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(memfd_1g) *variant);
};

static uint64_t word(uint64_t i)
{
	return i * 0x9e3779b97f4a7c15ULL ^ 0x1badb002;
}

static void stage1(const FIXTURE_VARIANT(memfd_1g) *variant)
{
	uint64_t *p, i;
	int luo, s, fd;

	luo_require();
	fd = memfd_create("guest-ram-1g", 0);
	if (fd < 0 || ftruncate(fd, SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < WORDS; i++)
		p[i] = word(i);
	luo = luo_open();
	s = luo_create_session(luo, "big");
	luo_preserve_fd(s, fd, 1);
	lu_kexec_next(NULL);
}

static void stage2(const FIXTURE_VARIANT(memfd_1g) *variant)
{
	uint64_t *p, i, bad = 0, first = 0;
	int luo, s, fd;
	struct stat st;

	luo_require();
	luo = luo_open();
	s = luo_retrieve_session(luo, "big");
	fd = luo_retrieve_fd(s, 1);
	lu_check(!fstat(fd, &st) && st.st_size == (off_t)SIZE &&
		 st.st_blocks * 512 == (off_t)SIZE,
		 "1 GiB memfd, every page present (%lld bytes)\n",
		 (long long)st.st_blocks * 512);
	p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < WORDS; i++) {
		if (p[i] != word(i) && !bad++)
			first = i;
	}
	lu_check(!bad, "every word arrived (%llu bad, first at %llu)\n",
		 (unsigned long long)bad, (unsigned long long)first);
	luo_finish(s);
}

FIXTURE_VARIANT_ADD(memfd_1g, dense_1g) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(memfd_1g)
{
}

FIXTURE_TEARDOWN(memfd_1g)
{
}

TEST_F_TIMEOUT(memfd_1g, stages, LU_STAGE_TIMEOUT)
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
