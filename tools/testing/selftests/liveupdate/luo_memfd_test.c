// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: memfds preserved in a LUO session cross two chained kexec
 * reboots in place, byte for byte, with their size, position, seals and
 * sparseness; a session closed before the reboot is gone; a memfd never
 * retrieved is released by finish.
 *
 * Stage 1 creates session "vm1" with four memfds (64 MiB of data; a
 * sparse 1 GiB file with three pages written, the last after preserve; a
 * sealed file; 16 MiB that stage 2 will not retrieve) and session
 * "abandon", which it closes.
 * It checks that a preserved memfd keeps its size (truncate, growth and
 * hole punching fail with EBUSY) while in-place writes go on, then
 * kexecs. Stage 2 retrieves in another order, checks everything, checks
 * the sysfs status, finishes (which frees the unretrieved 16 MiB), then
 * preserves the big memfd again and kexecs. Stage 3 checks it once more.
 * Each next kernel prepares every memfd at boot (the log says how many),
 * so retrieve and finish take over what prepare restored and checked.
 *
 * lazy checks that a retrieved shmem memfd gets its folios into its page
 * cache lazily, and that no lookup ever mistakes one still to come for a
 * hole. Stage 1 preserves a 64 MiB memfd, a sparse 1 GiB one with three
 * pages and an 8 MiB one. Stage 2 turns the background fill off
 * (luo_folios.test_no_fill_worker, CONFIG_LIVEUPDATE_TEST) and retrieves
 * the first two: the page cache (Shmem) does not grow, then grows only
 * by what read(), a page fault and write() touch, and each of them
 * sees the data; SEEK_DATA and SEEK_HOLE find the sparse file's pages
 * where they are. Finish puts in the rest. With the fill on again, the
 * 8 MiB memfd goes in untouched, in the background. lazy boots with
 * liveupdate.prepare=0: retrieve restores and checks everything itself.
 *
 * Variants memfd and lazy (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define MIB		(1024ULL * 1024)
#define BIG_SIZE	(64 * MIB)
#define SPARSE_SIZE	(1024 * MIB)
#define SEALED_SIZE	10000ULL
#define UNCLAIMED_SIZE	(16 * MIB)
#define BIG_POS		12345
#define SEALS		(F_SEAL_SHRINK | F_SEAL_GROW)

enum {
	TOKEN_BIG = 1, TOKEN_SPARSE = 2, TOKEN_SEALED = 3, TOKEN_UNCLAIMED = 4,
	TOKEN_FALLOC = 5,
};

#define FALLOC_SIZE	(4 * MIB)

static const off_t sparse_offsets[] = { 0, 300 * MIB, SPARSE_SIZE - 4096 };

FIXTURE(memfd) {};

FIXTURE_VARIANT(memfd) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(memfd) *variant);
};

/* The byte at @off of a file made with @seed. */
static uint8_t pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ULL + seed;

	return (uint8_t)(x >> (8 * (off & 7)));
}

static void fill(int fd, uint64_t seed, off_t off, size_t len)
{
	static uint8_t buf[1 << 16];
	size_t done = 0, i, n;

	while (done < len) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern(seed, off + done + i);
		if (pwrite(fd, buf, n, off + done) != (ssize_t)n)
			ksft_exit_fail_msg("pwrite: %s\n", strerror(errno));
		done += n;
	}
}

/* Return the offset of the first wrong byte, or -1. */
static off_t check(int fd, uint64_t seed, off_t off, size_t len)
{
	static uint8_t buf[1 << 16];
	size_t done = 0, i, n;

	while (done < len) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (pread(fd, buf, n, off + done) != (ssize_t)n)
			return off + done;
		for (i = 0; i < n; i++)
			if (buf[i] != pattern(seed, off + done + i))
				return off + done + i;
		done += n;
	}
	return -1;
}

static int all_zero(int fd, size_t len)
{
	static uint8_t buf[1 << 16];
	size_t done, i;

	for (done = 0; done < len; done += sizeof(buf)) {
		if (pread(fd, buf, sizeof(buf), done) != sizeof(buf))
			return 0;
		for (i = 0; i < sizeof(buf); i++)
			if (buf[i])
				return 0;
	}
	return 1;
}

static int make_memfd(const char *name, unsigned int flags, off_t size)
{
	int fd = memfd_create(name, flags);

	if (fd < 0)
		ksft_exit_fail_msg("memfd_create(%s): %s\n", name, strerror(errno));
	if (ftruncate(fd, size))
		ksft_exit_fail_msg("ftruncate(%s): %s\n", name, strerror(errno));
	return fd;
}

static void stage1(const FIXTURE_VARIANT(memfd) *variant)
{
	int luo, vm1, abandon, big, sparse, sealed, unclaimed, other, falloc;
	char buf[128];
	size_t i;

	luo_require();
	lu_check(luo_sysfs("enabled", buf, sizeof(buf)) == 1 &&
		 luo_sysfs("updates", buf, sizeof(buf)) == 0,
		 "sysfs: enabled, no live update since cold boot\n");

	luo = luo_open();
	vm1 = luo_create_session(luo, "vm1");

	big = make_memfd("guest-ram", 0, BIG_SIZE);
	fill(big, 1, 0, BIG_SIZE);
	lseek(big, BIG_POS, SEEK_SET);
	sparse = make_memfd("sparse", 0, SPARSE_SIZE);
	/* The last page is written after preserve (below). */
	for (i = 0; i < ARRAY_SIZE(sparse_offsets) - 1; i++)
		fill(sparse, 2, sparse_offsets[i], 4096);
	sealed = make_memfd("sealed", MFD_ALLOW_SEALING, SEALED_SIZE);
	fill(sealed, 3, 0, SEALED_SIZE);
	if (fcntl(sealed, F_ADD_SEALS, SEALS))
		ksft_exit_fail_msg("F_ADD_SEALS: %s\n", strerror(errno));
	unclaimed = make_memfd("unclaimed", 0, UNCLAIMED_SIZE);
	fill(unclaimed, 4, 0, UNCLAIMED_SIZE);

	/*
	 * fallocate() leaves shmem folios unzeroed (they read as zeros). Free
	 * memory full of 0xff first, so that such a folio has junk to leak.
	 */
	other = make_memfd("junk", 0, 32 * MIB);
	fill(other, 0xff, 0, 32 * MIB);
	close(other);
	falloc = make_memfd("fallocated", 0, FALLOC_SIZE);
	if (fallocate(falloc, 0, 0, FALLOC_SIZE))
		ksft_exit_fail_msg("fallocate: %s\n", strerror(errno));
	luo_preserve_fd(vm1, falloc, TOKEN_FALLOC);

	luo_preserve_fd(vm1, big, TOKEN_BIG);
	luo_preserve_fd(vm1, sparse, TOKEN_SPARSE);
	luo_preserve_fd(vm1, sealed, TOKEN_SEALED);
	luo_preserve_fd(vm1, unclaimed, TOKEN_UNCLAIMED);

	lu_check(ftruncate(big, BIG_SIZE / 2) && errno == EBUSY,
		 "a preserved memfd cannot shrink (EBUSY)\n");
	lu_check(pwrite(big, "x", 1, BIG_SIZE) < 0 && errno == EBUSY,
		 "a preserved memfd cannot grow by writing (EBUSY)\n");
	lu_check(fallocate(big, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			   0, 4096) && errno == EBUSY,
		 "a preserved memfd cannot get holes (EBUSY)\n");
	/* In-place writes go on after preserve and must arrive too. */
	fill(big, 5, BIG_SIZE - 8192, 8192);
	lu_check(check(big, 5, BIG_SIZE - 8192, 8192) < 0,
		 "a preserved memfd can change in place\n");
	/* So must a page that fills a hole: it is not in the list preserve wrote. */
	fill(sparse, 2, sparse_offsets[ARRAY_SIZE(sparse_offsets) - 1], 4096);

	other = luo_create_session(luo, "other");
	lu_check(__luo_preserve_fd(other, big, 1) == -EBUSY,
		 "a memfd cannot be in two sessions (EBUSY)\n");
	close(other);

	abandon = luo_create_session(luo, "abandon");
	other = make_memfd("abandoned", 0, MIB);
	luo_preserve_fd(abandon, other, 1);
	close(abandon);
	lu_check(!ftruncate(other, 2 * MIB),
		 "closing a session unpreserves its memfds\n");

	lu_check(luo_sysfs("sessions_out", buf, sizeof(buf)) == 1,
		 "sysfs: one outgoing session\n");
	/* The next kernel restores and checks them at boot, not at retrieve. */
	lu_expect_log("liveupdate: prepared for retrieve: 5 files of 1 sessions");
	lu_check(true, "stage 1 ready to kexec\n");
	lu_kexec_next(NULL);
}

static void check_big(int fd, const char *what)
{
	struct stat st;
	off_t bad;

	lu_check(!fstat(fd, &st) && st.st_size == (off_t)BIG_SIZE &&
		 lseek(fd, 0, SEEK_CUR) == BIG_POS,
		 "%s: size and file position kept\n", what);
	bad = check(fd, 1, 0, BIG_SIZE - 8192);
	if (bad < 0)
		bad = check(fd, 5, BIG_SIZE - 8192, 8192);
	lu_check(bad < 0, "%s: 64 MiB byte for byte (first bad: %lld)\n",
		 what, (long long)bad);
}

/* PRESERVE_FD with a struct larger than the kernel's, non-zero beyond. */
static int incoming_preserve_big_tail(int session, int fd)
{
	struct {
		struct liveupdate_session_preserve_fd arg;
		char tail[8];
	} big = { .arg.size = sizeof(big), .arg.fd = fd, .arg.token = 98,
		  .tail[0] = 1 };

	return ioctl(session, LIVEUPDATE_SESSION_PRESERVE_FD, &big) ? -errno : 0;
}

static void stage2(const FIXTURE_VARIANT(memfd) *variant)
{
	int luo, vm1, big, sparse, sealed, again;
	char buf[160], name[LIVEUPDATE_SESSION_NAME_LENGTH] = "";
	long long before, after;
	struct stat st;
	size_t i;
	off_t bad = -1;

	luo_require();
	lu_check(luo_sysfs("updates", buf, sizeof(buf)) == 1,
		 "sysfs: live update 1 since cold boot\n");
	lu_check(luo_sysfs("sessions_in", buf, sizeof(buf)) == 1,
		 "sysfs: one incoming session (the closed one is gone)\n");
	luo_sysfs("last_handover", buf, sizeof(buf));
	lu_check(!strcmp(buf, "ok"), "sysfs: last handover '%s'\n", buf);

	luo = luo_open();
	lu_check(__luo_open() == -EBUSY,
		 "/dev/liveupdate has one opener (EBUSY)\n");
	lu_check(__luo_retrieve_session(luo, "abandon") == -ENOENT,
		 "the session closed before the reboot is gone (ENOENT)\n");
	vm1 = luo_retrieve_session(luo, "vm1");
	lu_check(__luo_retrieve_session(luo, "vm1") == -EINVAL,
		 "a session is retrieved once (EINVAL)\n");

	sealed = luo_retrieve_fd(vm1, TOKEN_SEALED);
	big = luo_retrieve_fd(vm1, TOKEN_BIG);
	sparse = luo_retrieve_fd(vm1, TOKEN_SPARSE);
	lu_check(__luo_retrieve_fd(vm1, 99) == -ENOENT,
		 "an unknown token is ENOENT\n");
	lu_check(!__luo_get_session_name(vm1, name, sizeof(name)) &&
		 !strcmp(name, "vm1"),
		 "a retrieved session tells its name: '%s'\n", name);
	lu_check(__luo_preserve_fd(vm1, big, 99) == -EINVAL &&
		 incoming_preserve_big_tail(vm1, big) == -EINVAL,
		 "a retrieved session takes no new file (EINVAL, before the argument)\n");

	check_big(big, "big memfd");

	for (i = 0; i < ARRAY_SIZE(sparse_offsets) && bad < 0; i++)
		bad = check(sparse, 2, sparse_offsets[i], 4096);
	lu_check(bad < 0 && !fstat(sparse, &st) &&
		 st.st_size == (off_t)SPARSE_SIZE &&
		 st.st_blocks * 512 <= 16 * 4096,
		 "sparse memfd: 1 GiB, three pages, still sparse (%lld bytes used)\n",
		 (long long)st.st_blocks * 512);

	lu_check(fcntl(sealed, F_GET_SEALS) == SEALS &&
		 !fstat(sealed, &st) && st.st_size == (off_t)SEALED_SIZE &&
		 check(sealed, 3, 0, SEALED_SIZE) < 0,
		 "sealed memfd: seals, size and contents kept\n");
	lu_check(ftruncate(sealed, 2 * SEALED_SIZE) && errno == EPERM,
		 "sealed memfd: seals still apply (EPERM)\n");
	lu_check(all_zero(luo_retrieve_fd(vm1, TOKEN_FALLOC), FALLOC_SIZE),
		 "fallocated memfd: reads zeros, no stale memory\n");

	before = lu_meminfo_kib("MemTotal");
	luo_finish(vm1);
	after = lu_meminfo_kib("MemTotal");
	lu_check(after - before >= (long long)(UNCLAIMED_SIZE / 1024) &&
		 after - before < (long long)(UNCLAIMED_SIZE / 1024) + 1024,
		 "finish released the unretrieved 16 MiB (MemTotal +%lld KiB)\n",
		 after - before);
	lu_check(luo_sysfs("sessions_finished", buf, sizeof(buf)) == 1,
		 "sysfs: one session finished\n");
	lu_check(__luo_finish(vm1) == 0,
		 "finishing twice does nothing and succeeds\n");
	lu_check(__luo_retrieve_fd(vm1, TOKEN_BIG) == -ENOENT,
		 "after finish no token is left (ENOENT)\n");
	close(vm1);

	/* The memfd is an ordinary memfd now; preserve it for the next update. */
	again = luo_create_session(luo, "vm1");
	luo_preserve_fd(again, big, TOKEN_BIG);
	lu_expect_log("liveupdate: prepared for retrieve: 1 files of 1 sessions");
	lu_check(true, "stage 2 preserved the big memfd again\n");
	lu_kexec_next(NULL);
}

static void stage3(const FIXTURE_VARIANT(memfd) *variant)
{
	int luo, vm1, big;
	char buf[64];

	luo_require();
	lu_check(luo_sysfs("updates", buf, sizeof(buf)) == 2,
		 "sysfs: live update 2 since cold boot\n");
	luo = luo_open();
	vm1 = luo_retrieve_session(luo, "vm1");
	big = luo_retrieve_fd(vm1, TOKEN_BIG);
	check_big(big, "big memfd after two updates");
	luo_finish(vm1);
	lu_check(true, "stage 3 finished\n");
}

FIXTURE_VARIANT_ADD(memfd, memfd) {
	.stage = { stage1, stage2, stage3 },
};

#define LAZY_SIZE	(64 * MIB)
#define BG_SIZE		(8 * MIB)
#define TOKEN_BG	6

static void lazy_stage1(const FIXTURE_VARIANT(memfd) *variant)
{
	int luo, s, big, sparse, bg;
	size_t i;

	luo_require();
	big = make_memfd("lazy", 0, LAZY_SIZE);
	fill(big, 11, 0, LAZY_SIZE);
	sparse = make_memfd("sparse", 0, SPARSE_SIZE);
	for (i = 0; i < ARRAY_SIZE(sparse_offsets); i++)
		fill(sparse, 12, sparse_offsets[i], 4096);
	bg = make_memfd("background", 0, BG_SIZE);
	fill(bg, 13, 0, BG_SIZE);

	luo = luo_open();
	s = luo_create_session(luo, "lazy");
	luo_preserve_fd(s, big, TOKEN_BIG);
	luo_preserve_fd(s, sparse, TOKEN_SPARSE);
	s = luo_create_session(luo, "background");
	luo_preserve_fd(s, bg, TOKEN_BG);
	lu_check(true, "stage 1 preserved three memfds\n");
	lu_kexec_next(NULL);
}

static void set_fill_worker(bool on)
{
	int err = lu_fill_worker(on);

	if (err == -ENOENT)
		ksft_exit_skip("no luo_folios.test_no_fill_worker (CONFIG_LIVEUPDATE_TEST)\n");
	if (err)
		ksft_exit_fail_msg("luo_folios.test_no_fill_worker: %s\n",
				   strerror(-err));
}

/* How much the page cache of shmem grew since @base, in KiB. */
static long long shmem_grew(long long base)
{
	return lu_meminfo_kib("Shmem") - base;
}

/*
 * KiB of the first @size bytes of memfd @fd in its page cache: mincore()
 * looks the pages up without faulting anything in, and counts this file
 * alone, where Shmem moves with every other shmem user too.
 */
static long long resident_kib(int fd, size_t size)
{
	size_t pages = size / 4096, i;
	long long n = 0;
	unsigned char *vec;
	void *map;

	vec = malloc(pages);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (!vec || map == MAP_FAILED || mincore(map, size, vec))
		ksft_exit_fail_msg("mincore of a memfd: %s\n", strerror(errno));
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(map, size);
	free(vec);
	return n * 4;
}

static void lazy_stage2(const FIXTURE_VARIANT(memfd) *variant)
{
	long long base, grew;
	int luo, s, big, sparse, bg, i;
	uint8_t byte = 0x5a, page[4096];
	off_t bad, data, hole;
	uint8_t *map;

	luo_require();
	set_fill_worker(false);
	luo = luo_open();
	s = luo_retrieve_session(luo, "lazy");
	base = lu_meminfo_kib("Shmem");
	big = luo_retrieve_fd(s, TOKEN_BIG);
	sparse = luo_retrieve_fd(s, TOKEN_SPARSE);
	grew = shmem_grew(base);
	lu_check(grew < 1024,
		 "retrieve puts no folio into the page cache (Shmem +%lld KiB)\n",
		 grew);

	bad = check(big, 11, 32 * MIB, 4096);
	grew = shmem_grew(base);
	lu_check(bad < 0 && grew > 0 && grew <= 4096,
		 "read() of a page finds its data, and puts in its block only (+%lld KiB)\n",
		 grew);

	map = mmap(NULL, LAZY_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, big, 0);
	if (map == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < 4096 && map[48 * MIB + i] == pattern(11, 48 * MIB + i); i++)
		;
	grew = shmem_grew(base);
	lu_check(i == 4096 && grew <= 2 * 4096,
		 "a page fault finds its data, and puts in its block only (+%lld KiB)\n",
		 grew);
	munmap(map, LAZY_SIZE);

	/* A write into a page still to come keeps the rest of the page. */
	if (pwrite(big, &byte, 1, 40 * MIB + 100) != 1 ||
	    pread(big, page, sizeof(page), 40 * MIB) != sizeof(page))
		ksft_exit_fail_msg("pwrite/pread: %s\n", strerror(errno));
	for (i = 0; i < 4096; i++)
		if (page[i] != (i == 100 ? byte : pattern(11, 40 * MIB + i)))
			break;
	lu_check(i == 4096, "write() into a page still to come keeps its data\n");

	data = lseek(sparse, 4096, SEEK_DATA);
	hole = lseek(sparse, 300 * MIB, SEEK_HOLE);
	lu_check(data == (off_t)(300 * MIB) && hole == (off_t)(300 * MIB + 4096),
		 "SEEK_DATA and SEEK_HOLE find the sparse memfd's pages still to come (%lld, %lld)\n",
		 (long long)data, (long long)hole);

	luo_finish(s);
	grew = resident_kib(big, LAZY_SIZE);
	lu_check(grew == (long long)(LAZY_SIZE >> 10),
		 "finish puts in every folio (%lld KiB of %llu in the page cache)\n",
		 grew, LAZY_SIZE >> 10);
	bad = check(big, 11, 0, 40 * MIB + 100);
	if (bad < 0)
		bad = check(big, 11, 40 * MIB + 101, LAZY_SIZE - 40 * MIB - 101);
	for (i = 0; bad < 0 && i < (int)ARRAY_SIZE(sparse_offsets); i++)
		bad = check(sparse, 12, sparse_offsets[i], 4096);
	lu_check(bad < 0, "both memfds have all their data (first bad byte %lld)\n",
		 (long long)bad);
	lu_check(!ftruncate(big, MIB), "after finish the memfd may shrink\n");
	close(big);
	close(sparse);
	close(s);

	/* The background fill puts in a memfd nobody touches. */
	set_fill_worker(true);
	s = luo_retrieve_session(luo, "background");
	base = lu_meminfo_kib("Shmem");
	bg = luo_retrieve_fd(s, TOKEN_BG);
	for (i = 0; i < 200; i++) {
		grew = shmem_grew(base);
		/* Less what the rest of the system gave back meanwhile. */
		if (grew >= (long long)(BG_SIZE >> 10) - 256)
			break;
		usleep(50 * 1000);
	}
	lu_check(grew >= (long long)(BG_SIZE >> 10) - 256,
		 "the background fill puts in an untouched memfd (+%lld KiB)\n",
		 grew);
	bad = check(bg, 13, 0, BG_SIZE);
	lu_check(bad < 0, "with all its data (first bad byte %lld)\n",
		 (long long)bad);
	luo_finish(s);
}

FIXTURE_VARIANT_ADD(memfd, lazy) {
	.stage = { lazy_stage1, lazy_stage2 },
};

FIXTURE_SETUP(memfd)
{
}

FIXTURE_TEARDOWN(memfd)
{
}

TEST_F_TIMEOUT(memfd, stages, LU_STAGE_TIMEOUT)
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
