// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of "make bench" (scripts/bench.sh of the live update
 * project boots it and reads what it prints). Not a test: it measures
 * and asserts nothing.
 *
 * It prints "BENCH mark NAME" at the instants the host times (the host
 * stamps every serial line with its own clock), and "BENCH key=value"
 * for what only the guest can measure. The scenario comes from the
 * command line: lu.bench=MODE lu.size=MIB [lu.order=N].
 *
 * A blackout ends at "usable", when the owner has its data back and can
 * use it; the data is then checked word by word, which a real owner
 * would not do, and "verified" marks the end of that check. The check
 * is timed on its own ("check_ns") and its result is printed as
 * "bad_words" (the VM: "vm_bad"), which must be 0.
 *
 *   kexec   a kexec reboot with nothing preserved (the baseline)
 *   luo     a memfd of lu.size MiB in a session across a kexec reboot;
 *           blackout is from "reboot" (just before reboot()) to
 *           "usable": the session and the file are retrieved, the file
 *           is mapped whole and its first and last words are read (the
 *           mapping works to the end; other pages fault in on first
 *           use, as they would for the owner); with lu.huge=1 the memfd
 *           is backed by 2 MiB HugeTLB pages
 *   finish  the same, but the file is not retrieved: times FINISH,
 *           which releases it
 *   disk    the alternative without live update: write the data to the
 *           virtio disk, cold reboot (the VM resets), read it back;
 *           blackout is from "save" to "usable", the data read back
 *           into memory
 *   kho     lu.size MiB in folios of order lu.order through the KHO test
 *           interface: tracker size, and the next kernel's reserve and
 *           restore times (restore_ns with kho_restore_folios(),
 *           restore1_ns with kho_restore_folio() one folio at a time);
 *           with lu.ranges=N instead, N single pages that no two touch:
 *           N ranges for the next kernel to reserve at boot
 *           (kho_test_reserve=plain on the command line reserves them
 *           one memblock_reserve() at a time)
 *   vm      a KVM guest with lu.size MiB of RAM (lu.ram=shmem, hugetlb
 *           or gmem) that keeps counting, live updated the way a VMM
 *           would: RAM and an empty state memfd are preserved while the
 *           guest runs, then the vCPU is paused ("save", the guest's
 *           last instruction), its state written and the kernel
 *           kexec'ed; the next kernel retrieves both, rebuilds the VM on
 *           the same RAM and runs the vCPU: "usable" is its first exit,
 *           a few microseconds of guest time after its first instruction;
 *           then the RAM's pattern and the guest's count are checked
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/memfd.h>
#include <linux/reboot.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>

#include "../kselftest.h"
#include "lu_luo.h"
#include "lu_stage.h"
#include "lu_vmm.h"

#define DISK		"/dev/vda"
#define DISK_MAGIC	0x4c55424e43484453ULL	/* "LUBNCHDS" */
#define KHO_CTL		"/sys/kernel/debug/kho_test/ctl"
#define KHO_DIR		"/sys/kernel/debug/kho/"

static char mode[16];
static unsigned long long size;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void bench_mark(const char *name)
{
	printf("BENCH mark %s\n", name);
	fflush(stdout);
}

static uint64_t word(uint64_t i)
{
	return i * 0x9e3779b97f4a7c15ULL + 17;
}

static void fill(uint64_t *p, unsigned long long bytes)
{
	unsigned long long i;

	for (i = 0; i < bytes / 8; i++)
		p[i] = word(i);
}

static unsigned long long check(const uint64_t *p, unsigned long long bytes)
{
	unsigned long long i, bad = 0;

	for (i = 0; i < bytes / 8; i++)
		bad += p[i] != word(i);
	return bad;
}

/* The check's result; a corruption is said loudly, not just counted. */
static void report_check(unsigned long long check_ns, unsigned long long bad)
{
	printf("BENCH check_ns=%llu bad_words=%llu\n", check_ns, bad);
	if (bad)
		printf("BENCH ERROR: %llu of %llu words corrupted\n", bad, size / 8);
}

static int kho_ctl(const char *cmd, char *out, size_t len)
{
	int fd = open(KHO_CTL, O_RDWR);
	int ret = 0;
	ssize_t n;

	if (fd < 0)
		ksft_exit_fail_msg("%s: %s\n", KHO_CTL, strerror(errno));
	if (write(fd, cmd, strlen(cmd)) < 0)
		ret = -errno;
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return ret;
}

static int make_memfd(uint64_t **map)
{
	char huge[4];
	unsigned int flags = 0;
	int fd;

	if (lu_cmdline_get("lu.huge", huge, sizeof(huge)) && huge[0] == '1')
		flags = MFD_HUGETLB | MFD_HUGE_2MB;
	fd = memfd_create("bench", flags);

	if (fd < 0 || ftruncate(fd, size))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	*map = NULL;
	if (size) {
		*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*map == MAP_FAILED)
			ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
		fill(*map, size);
	}
	return fd;
}

/*
 * The next kernel of a HugeTLB scenario boots without a pool of its own:
 * the preserved 2 MiB pages come back as adopted folios outside any pool,
 * and a pool for new users is set up after the update (nr_hugepages), not
 * inside the blackout a plain kexec is compared with.
 */
static const char *next_words(void)
{
	char pages[16];

	return lu_cmdline_get("hugepages", pages, sizeof(pages)) ?
	       "hugepages=0" : NULL;
}

static void kexec_reboot(void)
{
	int ret = __lu_kexec_load_next(next_words());

	if (ret)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-ret));
	bench_mark("reboot");
	ret = __lu_kexec_reboot();
	ksft_exit_fail_msg("reboot: %s\n", strerror(-ret));
}

static void luo_stage1(void)
{
	unsigned long long t;
	int luo, s, fd;
	uint64_t *map;

	luo = luo_open();
	s = luo_create_session(luo, "bench");
	fd = make_memfd(&map);
	t = now_ns();
	luo_preserve_fd(s, fd, 1);
	printf("BENCH preserve_ns=%llu\n", now_ns() - t);
	kexec_reboot();
}

static void luo_stage2(void)
{
	unsigned long long t, retrieve, bad = 0;
	int luo, s, fd;
	uint64_t *map;

	t = now_ns();
	luo = luo_open();
	s = luo_retrieve_session(luo, "bench");
	if (!strcmp(mode, "finish")) {
		t = now_ns();
		luo_finish(s);
		printf("BENCH finish_ns=%llu\n", now_ns() - t);
		bench_mark("usable");
		return;
	}
	fd = luo_retrieve_fd(s, 1);
	retrieve = now_ns() - t;
	map = NULL;
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
		/* Readable from the first page to the last. */
		(void)__atomic_load_n(&map[0], __ATOMIC_RELAXED);
		(void)__atomic_load_n(&map[size / 8 - 1], __ATOMIC_RELAXED);
	}
	bench_mark("usable");
	t = now_ns();
	if (size)
		bad = check(map, size);
	bench_mark("verified");
	report_check(now_ns() - t, bad);
	printf("BENCH retrieve_ns=%llu\n", retrieve);
	printf("BENCH reserve_ns=%lld\n", lu_read_num(KHO_DIR "in/reserve_ns"));
	luo_finish(s);
}

/* The disk holds a header (magic, boot id, size) and then the data. */
struct disk_header {
	uint64_t magic;
	uint64_t size;
	char boot_id[64];
};

static void disk_run(void)
{
	unsigned long long t, read_ns, bad;
	struct disk_header *h;
	char boot_id[64];
	uint64_t *data;
	int fd;

	lu_boot_id(boot_id, sizeof(boot_id));
	fd = open(DISK, O_RDWR | O_DIRECT);
	if (fd < 0)
		ksft_exit_fail_msg("%s: %s\n", DISK, strerror(errno));
	h = aligned_alloc(4096, 4096 + size);
	if (!h)
		ksft_exit_fail_msg("out of memory\n");
	data = (uint64_t *)((char *)h + 4096);
	if (pread(fd, h, 4096, 0) != 4096)
		ksft_exit_fail_msg("read %s: %s\n", DISK, strerror(errno));

	if (h->magic == DISK_MAGIC && strcmp(h->boot_id, boot_id)) {
		/* After the cold reboot: read back, then check. */
		t = now_ns();
		if (pread(fd, data, h->size, 4096) != (ssize_t)h->size)
			ksft_exit_fail_msg("read back: %s\n", strerror(errno));
		bench_mark("usable");
		read_ns = now_ns() - t;
		t = now_ns();
		bad = check(data, h->size);
		bench_mark("verified");
		report_check(now_ns() - t, bad);
		printf("BENCH read_ns=%llu\n", read_ns);
		memset(h, 0, 4096);
		if (pwrite(fd, h, 4096, 0) != 4096)
			ksft_exit_fail_msg("clear %s: %s\n", DISK, strerror(errno));
		fsync(fd);
		sync();
		reboot(RB_POWER_OFF);
		ksft_exit_fail_msg("power off: %s\n", strerror(errno));
	}

	fill(data, size);
	bench_mark("save");
	t = now_ns();
	h->magic = DISK_MAGIC;
	h->size = size;
	snprintf(h->boot_id, sizeof(h->boot_id), "%s", boot_id);
	if (pwrite(fd, h, 4096 + size, 0) != (ssize_t)(4096 + size) || fsync(fd))
		ksft_exit_fail_msg("write %s: %s\n", DISK, strerror(errno));
	printf("BENCH write_ns=%llu\n", now_ns() - t);
	bench_mark("reboot");
	sync();
	reboot(RB_AUTOBOOT);
	ksft_exit_fail_msg("reboot: %s\n", strerror(errno));
}

static void kho_stage1(void)
{
	char cmd[64], out[256];
	long long before, after;
	char order[8], ranges[16];

	if (!lu_cmdline_get("lu.order", order, sizeof(order)))
		snprintf(order, sizeof(order), "0");
	before = lu_read_num(KHO_DIR "out/tracker_bytes");
	if (lu_cmdline_get("lu.ranges", ranges, sizeof(ranges)))
		snprintf(cmd, sizeof(cmd), "sparse %s 7", ranges);
	else
		snprintf(cmd, sizeof(cmd), "preserve %llu 7 %s", size >> 20,
			 order);
	if (kho_ctl(cmd, out, sizeof(out)))
		ksft_exit_fail_msg("%s: %s", cmd, out);
	after = lu_read_num(KHO_DIR "out/tracker_bytes");
	printf("BENCH tracker_bytes=%lld\n", after - before);
	kexec_reboot();
}

/* The number after @key in the outcome of "verify", or -1. */
static long long verify_num(const char *out, const char *key)
{
	const char *p = strstr(out, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void kho_stage2(void)
{
	char out[256];

	bench_mark("usable");
	printf("BENCH reserve_ns=%lld\n", lu_read_num(KHO_DIR "in/reserve_ns"));
	printf("BENCH ranges=%lld\n", lu_read_num(KHO_DIR "in/preserved_ranges"));
	if (kho_ctl("verify", out, sizeof(out)))
		ksft_exit_fail_msg("verify: %s", out);
	printf("BENCH restore_ns=%lld\n", verify_num(out, " restore_ns "));
	printf("BENCH restore1_ns=%lld\n", verify_num(out, " restore1_ns "));
}

static enum lu_vmm_ram vm_ram(void)
{
	char ram[16] = "shmem";

	lu_cmdline_get("lu.ram", ram, sizeof(ram));
	if (!strcmp(ram, "hugetlb"))
		return LU_VMM_HUGETLB;
	if (!strcmp(ram, "gmem"))
		return LU_VMM_GMEM;
	return LU_VMM_SHMEM;
}

static void vm_stage1(void)
{
	enum lu_vmm_ram kind = vm_ram();
	struct lu_vmm_state st;
	struct lu_vmm v;
	const char *why;
	int luo, s, ram, vm, state, err;

	ram = lu_vmm_ram_create(kind, size, &vm);
	if (ram < 0)
		ksft_exit_fail_msg("%s: %s\n", lu_vmm_ram_name(kind),
				   strerror(-ram));
	err = lu_vmm_build(&v, kind, ram, size, vm, &why);
	if (!err)
		err = lu_vmm_boot(&v);
	if (!err)
		err = lu_vmm_run_until(&v, 0x10000);
	if (err)
		ksft_exit_fail_msg("VM: %s: %s\n", why ? why : "run",
				   strerror(-err));

	/* Everything that can be done with the guest running is. */
	state = memfd_create("vm-state", 0);
	if (state < 0 || ftruncate(state, sizeof(st)) ||
	    pwrite(state, &st, sizeof(st), 0) != sizeof(st))
		ksft_exit_fail_msg("state memfd: %s\n", strerror(errno));
	luo = luo_open();
	s = luo_create_session(luo, "vm");
	luo_preserve_fd(s, ram, 1);
	luo_preserve_fd(s, state, 2);
	err = __lu_kexec_load_next(next_words());
	if (err)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-err));
	err = lu_vmm_run_until(&v, 0x20000);
	if (!err)
		err = lu_vmm_pause(&v, &st);
	bench_mark("save");
	if (err || pwrite(state, &st, sizeof(st), 0) != sizeof(st))
		ksft_exit_fail_msg("pause: %s\n", strerror(err ? -err : errno));
	bench_mark("reboot");
	err = __lu_kexec_reboot();
	ksft_exit_fail_msg("reboot: %s\n", strerror(-err));
}

static void vm_stage2(void)
{
	unsigned long long t0, t_retrieve, t_build, t_run;
	struct lu_vmm_state st;
	struct lu_vmm v;
	const char *why;
	int luo, s, ram, state, err, bad;

	t0 = now_ns();
	luo = luo_open();
	s = luo_retrieve_session(luo, "vm");
	state = luo_retrieve_fd(s, 2);
	if (pread(state, &st, sizeof(st), 0) != sizeof(st) ||
	    st.magic != LU_VMM_STATE_MAGIC || st.ram_size != size)
		ksft_exit_fail_msg("no VM state\n");
	ram = luo_retrieve_fd(s, 1);
	t_retrieve = now_ns();
	err = lu_vmm_build(&v, st.ram_kind, ram, st.ram_size, -1, &why);
	if (!err)
		err = lu_vmm_restore(&v, &st);
	t_build = now_ns();
	if (!err)
		err = lu_vmm_run_until(&v, 0);
	if (err)
		ksft_exit_fail_msg("VM: %s: %s\n", why ? why : "run",
				   strerror(-err));
	bench_mark("usable");
	t_run = now_ns();
	/* The guest went on from its count, its RAM as it was. */
	bad = lu_vmm_counter(&v) != st.counter + LU_VMM_EXIT_EVERY ||
	      lu_vmm_pattern_bad(&v);
	bench_mark("verified");
	printf("BENCH vm_restore_ns=%llu check_ns=%llu vm_bad=%d\n",
	       t_run - t0, now_ns() - t_run, bad);
	/* Its parts: retrieve the files, rebuild the VM, run to the first exit. */
	printf("BENCH vm_retrieve_ns=%llu vm_build_ns=%llu vm_run_ns=%llu\n",
	       t_retrieve - t0, t_build - t_retrieve, t_run - t_build);
	if (bad)
		printf("BENCH ERROR: the guest's count or RAM is not as it was\n");
	luo_finish(s);
}

int main(void)
{
	char buf[32];
	int stage = lu_stage();

	if (!lu_cmdline_get("lu.bench", mode, sizeof(mode)))
		ksft_exit_fail_msg("no lu.bench= on the command line\n");
	if (lu_cmdline_get("lu.size", buf, sizeof(buf)))
		size = strtoull(buf, NULL, 0) << 20;

	if (!strcmp(mode, "disk"))
		disk_run();
	else if (!strcmp(mode, "kexec") && stage == 1)
		kexec_reboot();
	else if (!strcmp(mode, "kexec"))
		bench_mark("usable");
	else if (!strcmp(mode, "kho"))
		stage == 1 ? kho_stage1() : kho_stage2();
	else if (!strcmp(mode, "vm"))
		stage == 1 ? vm_stage1() : vm_stage2();
	else if (stage == 1)
		luo_stage1();
	else
		luo_stage2();
	return 0;
}
