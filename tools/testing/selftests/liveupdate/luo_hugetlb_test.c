// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: HugeTLB memfds (2 MiB and 1 GiB pages) cross a kexec in
 * place, in one session with a shmem memfd, with the hugetlb pool
 * counters consistent at every step, and boot-time gigantic pages are
 * allocated in the next kernel alongside the preserved ones.
 *
 * Stage 1 (booted with 2 MiB and 1 GiB pools) preserves 256 MiB in
 * 2 MiB pages, 1 GiB in one 1 GiB page, 16 MiB of shmem and 4 MiB in
 * 2 MiB pages that stage 2 will not retrieve, then kexecs into a kernel
 * that allocates its own boot-time 1 GiB page and a small 2 MiB pool.
 * Stage 2 checks the pools before retrieving (the configured pool is
 * intact; the next kernel's prepare has built the files at boot, so their
 * pages are in-use surplus pages already, and with liveupdate.prepare=0
 * none are), while the files are retrieved (the adopted pages are in-use
 * surplus pages), after finish (the unretrieved pages are gone) and after
 * the files are closed (the pools are back to their configured sizes),
 * and every byte in between. A file retrieved under other file system
 * ids belongs to them, though prepare built it in a kernel thread.
 *
 * A 4 MiB file of which only the first page was touched (the other is
 * reserved by a shared mapping but not faulted in) is populated when
 * preserved and arrives with both pages.
 *
 * With the vmemmap optimization on, stage 1 first gives 2 MiB pages of
 * its pool back to the page allocator: their vmemmap is restored first,
 * as when a preserved folio is moved out of KHO scratch memory, and the
 * kernel must find their struct pages clean (no "Bad page state", which
 * taints it).
 *
 * One variant per scenario (lu.case= in vm/tests picks it):
 *   hvo_first   stage 1 with HugeTLB vmemmap optimization on, stage 2
 *               with it off and a 2 MiB pool of 8 pages
 *   hvo_second  the other way round, with an empty 2 MiB pool in stage 2
 * vm/tests runs hvo_second once more with liveupdate.prepare=0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/memfd.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define MIB		(1024ULL * 1024)
#define GIB		(1024 * MIB)
#define SZ_2M_FILE	(256 * MIB)
#define SZ_1G_FILE	GIB
#define SZ_SHMEM	(16 * MIB)
#define SZ_UNCLAIMED	(4 * MIB)
#define POOL1G_NEXT	1

enum { T_2M = 1, T_1G, T_SHMEM, T_UNCLAIMED, T_PARTIAL };

FIXTURE(hugetlb) {};

FIXTURE_VARIANT(hugetlb) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(hugetlb) *variant);
	/* HugeTLB vmemmap optimization in stage 1 and in stage 2 */
	bool hvo[2];
	/* 2 MiB pages in stage 2's pool (hugepages=) */
	long pool2m_next;
};

/* nr_hugepages, free, surplus and resv of one size, in one line. */
static int pool_is(const char *size, long total, long free, long surplus)
{
	static const char * const what[] = {
		"nr_hugepages", "free_hugepages", "surplus_hugepages",
		"resv_hugepages",
	};
	long long got[4];
	char p[96];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p),
			 "/sys/kernel/mm/hugepages/hugepages-%s/%s", size, what[i]);
		got[i] = lu_read_num(p);
	}
	ksft_print_msg("%s pool: total %lld free %lld surplus %lld resv %lld\n",
		       size, got[0], got[1], got[2], got[3]);
	ksft_print_msg("%s pool wanted: total %ld free %ld surplus %ld resv 0\n",
		       size, total, free, surplus);
	return got[0] == total && got[1] == free && got[2] == surplus &&
	       got[3] == 0;
}

static uint64_t word(uint64_t seed, uint64_t i)
{
	return (i + seed) * 0x9e3779b97f4a7c15ULL;
}

static int make_file(const char *name, unsigned int flags, uint64_t size,
		     uint64_t seed)
{
	uint64_t *p, i;
	int fd;

	fd = memfd_create(name, flags);
	if (fd < 0 || ftruncate(fd, size))
		ksft_exit_fail_msg("memfd %s: %s\n", name, strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap %s: %s\n", name, strerror(errno));
	for (i = 0; i < size / 8; i++)
		p[i] = word(seed, i);
	munmap(p, size);
	return fd;
}

static int file_ok(int fd, uint64_t size, uint64_t seed)
{
	uint64_t *p, i, bad = 0;
	struct stat st;

	if (fstat(fd, &st) || (uint64_t)st.st_size != size)
		return 0;
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 0;
	for (i = 0; i < size / 8; i++)
		bad += p[i] != word(seed, i);
	munmap(p, size);
	return !bad;
}

/* 4 MiB: both pages reserved by a shared mapping, only the first touched. */
static int make_partial(void)
{
	uint8_t *p;
	int fd;

	fd = memfd_create("partial", MFD_HUGETLB | MFD_HUGE_2MB);
	if (fd < 0 || ftruncate(fd, 4 * MIB))
		ksft_exit_fail_msg("memfd partial: %s\n", strerror(errno));
	p = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap partial: %s\n", strerror(errno));
	memset(p, 0xa5, 4096);
	munmap(p, 4 * MIB);
	return fd;
}

static int partial_ok(int fd)
{
	struct stat st;
	uint8_t *p;
	int ok;

	if (fstat(fd, &st) || st.st_blocks * 512 != (off_t)(4 * MIB))
		return 0;
	p = mmap(NULL, 4 * MIB, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 0;
	ok = p[0] == 0xa5 && p[4095] == 0xa5 && p[4096] == 0 &&
	     p[2 * MIB] == 0 && p[4 * MIB - 1] == 0;
	munmap(p, 4 * MIB);
	return ok;
}

/* Who retrieves the 2 MiB file (setfsuid(), setfsgid()). */
#define RETRIEVER_ID	1234

static int owned_by(int fd, unsigned int id)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	if (st.st_uid != id || st.st_gid != id)
		ksft_print_msg("owner %u:%u, wanted %u:%u\n", st.st_uid,
			       st.st_gid, id, id);
	return st.st_uid == id && st.st_gid == id;
}

static int hvo_is(int on)
{
	return lu_read_num("/proc/sys/vm/hugetlb_optimize_vmemmap") == on;
}

#define POOL2M	"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
/* TAINT_BAD_PAGE, bit 5 of /proc/sys/kernel/tainted */
#define TAINT_BAD_PAGE	0x20

/*
 * Give @n pages of the 2 MiB pool back to the page allocator, and say
 * whether the pool shrank by as many and the kernel found every struct
 * page of theirs clean (a "Bad page state" report taints it).
 */
static int pool2m_give_back(long n)
{
	long long before = lu_read_num(POOL2M), after;
	char buf[32];
	int fd, len;

	fd = open(POOL2M, O_WRONLY);
	if (fd < 0)
		return 0;
	len = snprintf(buf, sizeof(buf), "%lld\n", before - n);
	if (write(fd, buf, len) != len) {
		close(fd);
		return 0;
	}
	close(fd);
	after = lu_read_num(POOL2M);
	ksft_print_msg("2 MiB pool: %lld pages, then %lld\n", before, after);
	return after == before - n &&
	       !(lu_read_num("/proc/sys/kernel/tainted") & TAINT_BAD_PAGE);
}

static void stage1(const FIXTURE_VARIANT(hugetlb) *variant)
{
	char extra[256];
	int luo, s, f2m;

	luo_require();
	lu_check(hvo_is(variant->hvo[0]),
		 "stage 1 runs with HugeTLB vmemmap optimization %s\n",
		 variant->hvo[0] ? "on" : "off");
	if (variant->hvo[0])
		lu_check(pool2m_give_back(8),
			 "8 vmemmap-optimized 2 MiB pages go back to the page allocator clean\n");

	luo = luo_open();
	s = luo_create_session(luo, "huge");
	f2m = make_file("ram-2m", MFD_HUGETLB | MFD_HUGE_2MB, SZ_2M_FILE, 1);
	luo_preserve_fd(s, f2m, T_2M);
	luo_preserve_fd(s, make_file("ram-1g", MFD_HUGETLB | MFD_HUGE_1GB,
				     SZ_1G_FILE, 2), T_1G);
	luo_preserve_fd(s, make_file("shmem", 0, SZ_SHMEM, 3), T_SHMEM);
	luo_preserve_fd(s, make_file("unclaimed", MFD_HUGETLB | MFD_HUGE_2MB,
				     SZ_UNCLAIMED, 4), T_UNCLAIMED);
	luo_preserve_fd(s, make_partial(), T_PARTIAL);
	lu_check(ftruncate(f2m, 0) && errno == EBUSY,
		 "a preserved hugetlb memfd cannot change size (EBUSY)\n");
	snprintf(extra, sizeof(extra),
		 "hugetlb_free_vmemmap=%s hugepagesz=1G hugepages=%d hugepagesz=2M hugepages=%ld",
		 variant->hvo[1] ? "on" : "off", POOL1G_NEXT,
		 variant->pool2m_next);
	lu_kexec_next(extra);
}

static void stage2(const FIXTURE_VARIANT(hugetlb) *variant)
{
	long adopted = SZ_2M_FILE / (2 * MIB) + 2, unclaimed = SZ_UNCLAIMED / (2 * MIB);
	long pool2m_next = variant->pool2m_next;
	bool prepare = lu_prepare_on();
	long long before, after;
	int luo, s, f2m, f1g, fsh, fpart;

	luo_require();
	lu_check(hvo_is(variant->hvo[1]),
		 "stage 2 runs with HugeTLB vmemmap optimization %s\n",
		 variant->hvo[1] ? "on" : "off");
	if (prepare) {
		/* Prepare builds the files at boot: their pages are in use. */
		lu_check(lu_wait_prepared(60),
			 "the next kernel prepared the handed-over files at boot\n");
		lu_check(pool_is("1048576kB", POOL1G_NEXT + 1, POOL1G_NEXT, 1),
			 "the boot-time 1 GiB page was allocated next to the preserved one, an in-use surplus page once prepared\n");
		lu_check(pool_is("2048kB", pool2m_next + adopted + unclaimed,
				 pool2m_next, adopted + unclaimed),
			 "the 2 MiB pool is as configured, and the prepared files' pages are in-use surplus pages, before retrieving\n");
	} else {
		lu_check(pool_is("1048576kB", POOL1G_NEXT, POOL1G_NEXT, 0),
			 "the boot-time 1 GiB page was allocated next to the preserved one\n");
		lu_check(pool_is("2048kB", pool2m_next, pool2m_next, 0),
			 "the 2 MiB pool is as configured before retrieving\n");
	}

	luo = luo_open();
	s = luo_retrieve_session(luo, "huge");
	/* Retrieved with other file system ids, which the file must get. */
	setfsgid(RETRIEVER_ID);
	setfsuid(RETRIEVER_ID);
	f2m = luo_retrieve_fd(s, T_2M);
	setfsuid(0);
	setfsgid(0);
	f1g = luo_retrieve_fd(s, T_1G);
	fsh = luo_retrieve_fd(s, T_SHMEM);
	fpart = luo_retrieve_fd(s, T_PARTIAL);
	lu_check(owned_by(f2m, RETRIEVER_ID) && owned_by(f1g, 0),
		 "a retrieved hugetlb memfd belongs to the retriever's file system ids\n");
	lu_check(pool_is("2048kB",
			 pool2m_next + adopted + (prepare ? unclaimed : 0),
			 pool2m_next, adopted + (prepare ? unclaimed : 0)),
		 "retrieved 2 MiB pages are in-use surplus pages\n");
	lu_check(pool_is("1048576kB", POOL1G_NEXT + 1, POOL1G_NEXT, 1),
		 "the retrieved 1 GiB page is an in-use surplus page\n");
	lu_check(file_ok(f2m, SZ_2M_FILE, 1),
		 "256 MiB in 2 MiB pages, every word\n");
	lu_check(file_ok(f1g, SZ_1G_FILE, 2),
		 "1 GiB in a 1 GiB page, every word\n");
	lu_check(file_ok(fsh, SZ_SHMEM, 3),
		 "the shmem memfd in the same session, every word\n");
	lu_check(partial_ok(fpart),
		 "a half-touched file was populated and arrived with both pages\n");

	/*
	 * The next kernel restored them at boot (prepare), so MemTotal
	 * counts them already: finish makes them free.
	 */
	before = lu_free_kib();
	luo_finish(s);
	after = lu_free_kib();
	lu_check(after - before >= (long long)(SZ_UNCLAIMED >> 10),
		 "finish released the unretrieved huge pages (free +%lld KiB)\n",
		 after - before);
	lu_check(pool_is("2048kB", pool2m_next + adopted, pool2m_next, adopted),
		 "the unretrieved file's 2 MiB pages left the pool at finish\n");

	close(f2m);
	close(f1g);
	close(fsh);
	close(fpart);
	close(s);
	lu_check(pool_is("2048kB", pool2m_next, pool2m_next, 0),
		 "closing the files gives the 2 MiB pages back\n");
	lu_check(pool_is("1048576kB", POOL1G_NEXT, POOL1G_NEXT, 0),
		 "closing the files gives the 1 GiB page back\n");
}

FIXTURE_VARIANT_ADD(hugetlb, hvo_first) {
	.stage = { stage1, stage2 },
	.hvo = { true, false },
	.pool2m_next = 8,
};

FIXTURE_VARIANT_ADD(hugetlb, hvo_second) {
	.stage = { stage1, stage2 },
	.hvo = { false, true },
	/* An empty 2 MiB pool next time is fine too. */
	.pool2m_next = 0,
};

FIXTURE_SETUP(hugetlb)
{
}

FIXTURE_TEARDOWN(hugetlb)
{
}

TEST_F_TIMEOUT(hugetlb, stages, LU_STAGE_TIMEOUT)
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
