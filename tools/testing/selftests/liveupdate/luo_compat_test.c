// SPDX-License-Identifier: GPL-2.0
/*
 * Test cases: a live update into a kernel that cannot read what is
 * preserved is refused before the reboot; an image that reads nothing
 * (a stock kernel) gets the sessions only dropped, at the operator's
 * explicit request, and then owns all its memory with no device left
 * doing DMA. The other kernels come from lu.kernels= (built by
 * scripts/mkkernels.sh of the live update project).
 *
 * One variant per scenario (lu.case= in vm/tests picks it); its
 * lu.kernels= names the kernel of each stage.
 *
 * refuse (lu.kernels=cur,nomemfd): "nomemfd" is this kernel with
 * memfd-v1 missing from its format catalog. Stage 1 preserves a shmem
 * memfd in session "mem" and a HugeTLB memfd in session "huge";
 * "luoctl check" says the image does not read memfd-v1; reboot() fails
 * with ENOEXEC and one line naming the session, token and format, and
 * both sessions stay as they were (still listed, still accepting
 * files). Once "mem" is closed the same reboot goes through. Stage 2:
 * "huge" arrived byte for byte, "mem" does not exist.
 *
 * badcat (lu.kernels=cur,badcat, one stage): an image whose catalog has
 * an unknown layout version reads nothing: loading it says so, and
 * reboot() with a session open fails with EOPNOTSUPP.
 *
 * stock (lu.kernels=stock,cur,stock): stage 1 is a cold boot of
 * Debian's stock kernel, which records MemTotal and MemFree, and fills
 * and checks all free memory but 64 MiB. Stage 2 (this kernel, nothing handed over)
 * boots normally, preserves a memfd and the edu device (vfio-pci,
 * iommufd, DMA going), and loads the stock kernel: reboot() fails with
 * EOPNOTSUPP and the sessions stay; with "drop" written to
 * /sys/kernel/liveupdate/on_incompatible the reboot goes through. Stage
 * 3 (stock again): MemTotal matches stage 1 within 1% (nothing is left
 * reserved), MemFree is at least 80% of stage 1's (it moves with page
 * cache and slab), the free memory fills and checks the same way, and
 * the edu device has bus mastering off and caused no DMA fault.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "lu_edu.h"
#include "lu_harness.h"
#include "lu_luo.h"

#define MEM_SIZE	(4UL << 20)
#define HUGE_SIZE	(2UL << 20)
#define IOVA		0x200000ULL

FIXTURE(compat) {};

FIXTURE_VARIANT(compat) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(compat) *variant);
};

static void pattern(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 12));
}

static bool pattern_ok(const uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i * 7 + seed + (i >> 12)))
			return false;
	return true;
}

static int memfd_with(const char *name, size_t len, unsigned int flags,
		      uint8_t seed)
{
	int fd = memfd_create(name, flags);
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, len))
		ksft_exit_fail_msg("memfd %s: %s\n", name, strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap %s: %s\n", name, strerror(errno));
	pattern(p, len, seed);
	munmap(p, len);
	return fd;
}

static bool memfd_ok(int fd, size_t len, uint8_t seed)
{
	uint8_t *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	bool ok;

	if (p == MAP_FAILED)
		return false;
	ok = pattern_ok(p, len, seed);
	munmap(p, len);
	return ok;
}

/* Does the kernel log have a line containing @what? */
static bool kmsg_has(const char *what)
{
	char buf[8192];
	bool found = false;
	ssize_t n;
	int fd;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, what)) {
			found = true;
			break;
		}
	}
	close(fd);
	return found;
}

/* Run a command; its exit status, or -1. */
static int run(const char *cmd)
{
	int st = system(cmd);

	return st < 0 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* /sys/kernel/liveupdate/outgoing, every line ending with a newline. */
static void outgoing(char *buf, size_t len)
{
	size_t n;

	luo_sysfs("outgoing", buf, len - 1);
	n = strlen(buf);
	if (n && buf[n - 1] != '\n')
		snprintf(buf + n, len - n, "\n");
}

static int reboot_kexec(void)
{
	fflush(stdout);
	sync();
	return __lu_kexec_reboot();
}

/* ---- refuse ------------------------------------------------------------ */

static void refuse_stage1(const FIXTURE_VARIANT(compat) *variant)
{
	char image[256], out[4096], want[256];
	int luo, mem, huge, mfd, hfd, err, st;
	struct utsname u;

	luo = luo_open();
	mem = luo_create_session(luo, "mem");
	huge = luo_create_session(luo, "huge");
	mfd = memfd_with("lu-mem", MEM_SIZE, 0, 1);
	hfd = memfd_with("lu-huge", HUGE_SIZE, MFD_HUGETLB | MFD_HUGE_2MB, 2);
	luo_preserve_fd(mem, mfd, 1);
	luo_preserve_fd(huge, hfd, 1);

	if (lu_next_image(image, sizeof(image)))
		ksft_exit_fail_msg("no next kernel in lu.kernels=\n");
	snprintf(out, sizeof(out), "./luoctl check %s", image);
	st = run(out);
	lu_check(st == 1, "luoctl check %s says the update would be refused (exit %d)\n",
		 image, st);
	snprintf(out, sizeof(out),
		 "./luoctl check -j %s | grep -q '\"compatible\": \"memfd-v1\", \"reads\": false'",
		 image);
	lu_check(!run(out), "its JSON names memfd-v1 as not read\n");

	err = __lu_kexec_load_refused(NULL);
	if (err)
		ksft_exit_fail_msg("kexec_file_load(%s): %s\n", image,
				   strerror(-err));
	err = reboot_kexec();
	lu_check(err == -ENOEXEC,
		 "reboot() into a kernel that lacks memfd-v1 fails: %s\n",
		 strerror(-err));
	uname(&u);
	snprintf(want, sizeof(want),
		 "refusing the reboot: the loaded kernel %s does not read session 'mem' token 1 (memfd-v1)",
		 u.release);
	lu_check(kmsg_has(want), "one line says why: %s\n", want);
	outgoing(out, sizeof(out));
	lu_check(strstr(out, "file mem 1 memfd-v1\n") &&
		 strstr(out, "file huge 1 memfd-hugetlb-v1\n"),
		 "both sessions are still preserved\n");
	err = __luo_preserve_fd(mem, memfd_with("lu-more", 4096, 0, 3), 2);
	lu_check(!err && memfd_ok(mfd, MEM_SIZE, 1),
		 "the sessions are not frozen and their data is intact: %s\n",
		 strerror(-err));

	/* Without the session the loaded kernel cannot read, it goes. */
	close(mem);
	outgoing(out, sizeof(out));
	lu_check(!strstr(out, "session mem\n") &&
		 !strstr(out, "file mem ") &&
		 strstr(out, "file huge 1 memfd-hugetlb-v1\n"),
		 "closing session mem unpreserves it, and only it\n");
	lu_check(run("./luoctl check /lu/kernels/nomemfd >/dev/null") == 0,
		 "luoctl check now says the update goes through\n");
	if (lu_checks_failed())
		return;
	ksft_print_msg("rebooting into %s with session huge\n", image);
	err = __lu_kexec_load_next(NULL);
	if (!err)
		err = reboot_kexec();
	ksft_exit_fail_msg("reboot() after closing mem: %s\n", strerror(-err));
}

static void refuse_stage2(const FIXTURE_VARIANT(compat) *variant)
{
	int luo, s, fd;

	luo = luo_open();
	s = luo_retrieve_session(luo, "huge");
	fd = luo_retrieve_fd(s, 1);
	lu_check(memfd_ok(fd, HUGE_SIZE, 2),
		 "session huge arrived byte for byte\n");
	lu_check(__luo_retrieve_session(luo, "mem") == -ENOENT,
		 "session mem was not handed over\n");
	luo_finish(s);
}

/* ---- stock ------------------------------------------------------------- */

static long meminfo_kib(const char *key)
{
	char line[256];
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			val = strtol(line + strlen(key) + 1, NULL, 10);
	if (f)
		fclose(f);
	return val;
}

/*
 * Fill all free memory but 64 MiB with a pattern, 1 MiB at a time, and
 * check it: the memory the kernel counts as free is really its own. No
 * swap: anonymous memory cannot be reclaimed, so it is there or the test
 * dies. Return the MemFree it started from, in KiB.
 */
static long fill_free_kib(void)
{
	const size_t chunk = 1UL << 20;
	long free_kib = meminfo_kib("MemFree"), n, i;
	long want = free_kib / 1024 - 64;
	uint8_t **chunks = calloc(want > 0 ? want : 1, sizeof(*chunks));

	for (n = 0; n < want; n++) {
		chunks[n] = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (chunks[n] == MAP_FAILED)
			ksft_exit_fail_msg("filling free memory: no MiB %ld of %ld\n",
					   n, want);
		memset(chunks[n], (int)n, chunk);
	}
	for (i = 0; i < n; i++) {
		if (chunks[i][0] != (uint8_t)i || chunks[i][chunk - 1] != (uint8_t)i)
			ksft_exit_fail_msg("filled memory lost its pattern at MiB %ld\n", i);
		munmap(chunks[i], chunk);
	}
	free(chunks);
	ksft_print_msg("MemFree %ld KiB: filled and checked %ld MiB of it\n",
		       free_kib, n);
	return free_kib;
}

static void stock_stage1(const FIXTURE_VARIANT(compat) *variant)
{
	char extra[128];
	long total = meminfo_kib("MemTotal"), free_kib = fill_free_kib();

	ksft_print_msg("cold stock kernel: MemTotal %ld KiB, MemFree %ld KiB\n",
		       total, free_kib);
	snprintf(extra, sizeof(extra), "lu.cold_total=%ld lu.cold_free=%ld",
		 total, free_kib);
	lu_kexec_next(extra);
}

static void stock_stage2(const FIXTURE_VARIANT(compat) *variant)
{
	char buf[1024], bdf[16];
	int luo, s, fd, err;
	const char *why;
	struct lu_edu e;
	uint8_t *ram;

	luo_sysfs("exec_from", buf, sizeof(buf));
	lu_check(luo_sysfs("sessions_in", buf, sizeof(buf)) == 0 &&
		 luo_sysfs("exec_count", buf, sizeof(buf)) == 0,
		 "after a stock kernel nothing was handed over and this kernel boots normally\n");

	/* A device doing DMA into a preserved memfd. */
	if (lu_edu_find(bdf, sizeof(bdf)) || lu_edu_bind_vfio(bdf) ||
	    lu_edu_open(&e, bdf, &why))
		ksft_exit_fail_msg("setting up the edu device %s failed\n", bdf);
	fd = memfd_with("lu-ram", HUGE_SIZE, 0, 4);
	ram = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED || lu_edu_map(&e, ram, HUGE_SIZE, IOVA))
		ksft_exit_fail_msg("mapping the memfd for the device\n");
	luo = luo_open();
	s = luo_create_session(luo, "vm");
	luo_preserve_fd(s, fd, 1);
	luo_preserve_fd(s, e.dev, 2);

	err = __lu_kexec_load_refused(NULL);
	if (err)
		ksft_exit_fail_msg("kexec_file_load(stock): %s\n", strerror(-err));
	err = reboot_kexec();
	lu_check(err == -EOPNOTSUPP,
		 "reboot() into a kernel with no format catalog fails: %s\n",
		 strerror(-err));
	lu_check(kmsg_has("has no live update format catalog"),
		 "one line says why\n");
	outgoing(buf, sizeof(buf));
	lu_check(strstr(buf, "file vm 1 memfd-v1\n") &&
		 strstr(buf, "file vm 2 vfio-pci-v2 vfio-pci-v1\n"),
		 "the session is still preserved\n");
	lu_check(run("./luoctl check /lu/kernels/stock >/dev/null") == 1,
		 "luoctl check says the stock kernel reads nothing\n");

	fd = open("/sys/kernel/liveupdate/on_incompatible", O_WRONLY);
	err = fd < 0 || write(fd, "drop", 4) != 4 ? -errno : 0;
	lu_check(!err, "on_incompatible=drop: %s\n", strerror(-err));
	if (fd >= 0)
		close(fd);
	if (lu_checks_failed())
		return;
	/* In flight through the reboot, if nothing stopped the device. */
	lu_edu_dma_start(&e, IOVA, LU_EDU_DMA_MAX, true);
	lu_expect_log("liveupdate: dropping 1 sessions (2 files) as asked");
	err = __lu_kexec_load_next(NULL);
	if (!err)
		err = reboot_kexec();
	ksft_exit_fail_msg("reboot() with on_incompatible=drop: %s\n",
			   strerror(-err));
}

static bool within_1pct(long a, long b)
{
	return a > 0 && b > 0 && labs(a - b) * 100 <= b;
}

static void stock_stage3(const FIXTURE_VARIANT(compat) *variant)
{
	char buf[64], bdf[16], path[128];
	long total, free_kib, cold_total, cold_free;
	unsigned char cfg[8] = {};
	int fd;

	cold_total = lu_cmdline_get("lu.cold_total", buf, sizeof(buf)) ? atol(buf) : -1;
	cold_free = lu_cmdline_get("lu.cold_free", buf, sizeof(buf)) ? atol(buf) : -1;
	total = meminfo_kib("MemTotal");
	free_kib = fill_free_kib();
	lu_check(within_1pct(total, cold_total),
		 "MemTotal %ld KiB, cold boot %ld KiB\n", total, cold_total);
	/*
	 * MemTotal above shows that nothing stayed reserved; MemFree moves
	 * by several percent between boots with page cache and slab, so it is
	 * only bounded from below here. What matters is that all of it was
	 * written and read back with no device writing into it.
	 */
	lu_check(cold_free > 0 && free_kib * 10 >= cold_free * 8,
		 "free memory, all of it filled and checked: %ld KiB, cold boot %ld KiB\n",
		 free_kib, cold_free);

	if (lu_edu_find(bdf, sizeof(bdf)))
		ksft_exit_fail_msg("no edu device\n");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, cfg, sizeof(cfg), 0) != sizeof(cfg))
		ksft_exit_fail_msg("reading %s: %s\n", path, strerror(errno));
	close(fd);
	lu_check(!(cfg[4] & 0x4),
		 "the edu device was stopped: bus mastering off (command %#x)\n",
		 cfg[4] | cfg[5] << 8);
	lu_check(!kmsg_has("DMAR: [DMA"), "no DMA fault in the stock kernel\n");
}

/* ---- badcat (one stage) ------------------------------------------------ */

/*
 * An image whose catalog has a layout version this kernel does not know
 * reads nothing: with a session open its reboot is refused, and one line
 * says why. on_incompatible takes only "refuse" and "drop".
 */
static void badcat_stage1(const FIXTURE_VARIANT(compat) *variant)
{
	int luo, s, fd, err;

	luo = luo_open();
	s = luo_create_session(luo, "mem");
	luo_preserve_fd(s, memfd_with("lu-mem", MEM_SIZE, 0, 5), 1);

	fd = open("/sys/kernel/liveupdate/on_incompatible", O_WRONLY);
	if (fd < 0)
		ksft_exit_fail_msg("on_incompatible: %s\n", strerror(errno));
	err = write(fd, "dropp", 5) < 0 ? -errno : 0;
	lu_check(err == -EINVAL, "on_incompatible=dropp: %s\n",
		 strerror(-err));
	close(fd);

	err = __lu_kexec_load_refused(NULL);
	if (err)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-err));
	lu_check(kmsg_has("image has an unknown catalog version"),
		 "loading it says its catalog cannot be read\n");
	err = reboot_kexec();
	lu_check(err == -EOPNOTSUPP,
		 "reboot() into it fails: %s\n", strerror(-err));
	lu_check(run("./luoctl check /lu/kernels/badcat >/dev/null") == 1,
		 "luoctl check agrees\n");
}

/* ---- variants ---------------------------------------------------------- */

FIXTURE_VARIANT_ADD(compat, refuse) {
	.stage = { refuse_stage1, refuse_stage2 },
};

FIXTURE_VARIANT_ADD(compat, stock) {
	.stage = { stock_stage1, stock_stage2, stock_stage3 },
};

FIXTURE_VARIANT_ADD(compat, badcat) {
	.stage = { badcat_stage1 },
};

FIXTURE_SETUP(compat)
{
}

FIXTURE_TEARDOWN(compat)
{
}

TEST_F_TIMEOUT(compat, stages, LU_STAGE_TIMEOUT)
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
