// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: 20 live updates in a row in one VM run, each carrying a
 * memfd that changes between updates, a HugeTLB memfd, and luod with a
 * client; nothing may drift from one update to the next.
 *
 * Stage 1 is the cold boot: it notes MemTotal and the scratch the kernel
 * reserved, starts luod with the demo client (a counter and a buffer in
 * a memfd luod preserves), preserves session "soak" (token 1: 4 MiB of
 * shmem filled with seed 1; token 2: 4 MiB of 2 MiB HugeTLB pages, one
 * fixed seed) and kexecs. Every later stage starts luod, which takes its
 * sessions over; the client checks that its counter came over and steps
 * it; the stage retrieves "soak" and checks every byte of both memfds,
 * finishes it, and then, with every incoming session finished, checks
 * that the handover was released in full: the tracker is freed, MemTotal
 * is the same after every update (to DRIFT_KIB, and within 0.5% of the
 * cold boot's), the tracker the previous kernel handed over is no larger
 * than at the first update (to TRACKER_SLACK_KIB), the scratch is the
 * cold boot's, and the preserved memory handed over is the same every
 * time (to IN_SLACK_KIB). Then it rewrites the first memfd with the
 * stage's seed, preserves both again and kexecs, until stage
 * lu.soak_last (default 21: 20 updates; LU_STAGES_MAX at most). Each
 * stage prints one line of numbers: "update N: ...".
 *
 * Values from earlier stages come on the command line (lu.soak_*).
 *
 * One variant, luod_updates (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lu_harness.h"
#include "lu_luo.h"
#include "luod.h"

#define MIB		(1024ULL * 1024)
#define DATA_SIZE	(4 * MIB)
#define HUGE_SIZE	(4 * MIB)
#define HUGE_SEED	0xbeefULL
#define TOKEN_DATA	1
#define TOKEN_HUGE	2
#define SESSION		"soak"
#define SOCK		"/run/luod.sock"
#define KHO_IN		"/sys/kernel/debug/kho/in/"
#define KHO_OUT		"/sys/kernel/debug/kho/out/"
/*
 * Where the kexec loader places the next kernel's boot data varies by a
 * page or so from one update to the next; a leak of a page per update
 * goes past this within a few updates.
 */
#define DRIFT_KIB	16
/*
 * Where luod's pages land moves the tracker by a leaf now and then; a
 * tracker that leaks grows past this within a few updates.
 */
#define TRACKER_SLACK_KIB	8
/* luod's log, preserved with its state, grows by a page now and then. */
#define IN_SLACK_KIB	64
/* Not the previous boot's line, which luod copies to the log. */
#define RELEASED	"] KHO: released the handover itself"

FIXTURE(soak) {};

FIXTURE_VARIANT(soak) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(soak) *variant);
};

/* The directory of this program, where luod and luoctl are too. */
static char here[PATH_MAX];

static uint8_t pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ULL + seed;

	return (uint8_t)(x >> (8 * (off & 7)));
}

static void *map(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return p;
}

static void fill(int fd, size_t size, uint64_t seed)
{
	uint8_t *p = map(fd, size);

	for (size_t i = 0; i < size; i++)
		p[i] = pattern(seed, i);
	munmap(p, size);
}

/* The offset of the first wrong byte, or -1. */
static long long check(int fd, size_t size, uint64_t seed)
{
	uint8_t *p = map(fd, size);
	long long bad = -1;

	for (size_t i = 0; i < size && bad < 0; i++)
		if (p[i] != pattern(seed, i))
			bad = i;
	munmap(p, size);
	return bad;
}

/* Total size in KiB of the "0xstart 0xsize" lines of a scratch file. */
static long long scratch_kib(const char *path)
{
	unsigned long long start, size, total = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%llx %llx", &start, &size) == 2)
		total += size;
	fclose(f);
	return total >> 10;
}

static long long cmdline_num(const char *key)
{
	char buf[32];

	return lu_cmdline_get(key, buf, sizeof(buf)) ? strtoll(buf, NULL, 0) : -1;
}

static int kmsg_count(const char *text)
{
	char line[512];
	int n = 0;
	FILE *f = popen("dmesg", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, text);
	pclose(f);
	return n;
}

static int run(const char *cmd)
{
	int ret = system(cmd);

	return WIFEXITED(ret) ? WEXITSTATUS(ret) : -1;
}

/* Start luod in the background and wait until it answers. */
static void start_luod(void)
{
	char cmd[PATH_MAX + 128];

	snprintf(cmd, sizeof(cmd), "%s/luod --socket %s 2>/run/luod.log &",
		 here, SOCK);
	if (run(cmd))
		ksft_exit_fail_msg("cannot start luod\n");
	/* "luoctl sessions" answers without luod too: ask for its source. */
	snprintf(cmd, sizeof(cmd),
		 "%s/luoctl -s %s sessions -j 2>/dev/null | grep -q '\"source\":\"luod\"'",
		 here, SOCK);
	for (int i = 0; i < 100; i++) {
		if (!run(cmd))
			return;
		usleep(100 * 1000);
	}
	run("sed 's/^/# luod: /' /run/luod.log");
	ksft_exit_fail_msg("luod did not answer on %s within 10 s\n", SOCK);
}

/*
 * Run luod's demo client; return its exit status, and in *@got the
 * counter it says came over (-1 if none).
 */
static int client(const char *cmd, long long *got)
{
	unsigned long long counter;
	char line[256], path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/luod_demo_client -s %s %s %s",
		 here, SOCK, cmd, "demo");
	*got = -1;
	f = popen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		ksft_print_msg("luod_demo_client: %s", line);
		if (strstr(line, " came over, buffer intact, late write kept") &&
		    sscanf(line, "counter %llu", &counter) == 1)
			*got = counter;
	}
	return pclose(f);
}

static int luod_or_die(int ret, const char *what)
{
	if (ret < 0)
		ksft_exit_fail_msg("luod: %s: %s\n", what, strerror(-ret));
	return ret;
}

/* This test is a client of luod, as a VMM would be. */
static int connect_luod(void)
{
	return luod_or_die(luod_connect(SOCK), "connect");
}

static void preserve_soak(int sock, int data, int huge, int stage)
{
	fill(data, DATA_SIZE, stage);
	luod_or_die(luod_create_session(sock, SESSION, 0), "CREATE_SESSION");
	luod_or_die(luod_preserve_fd(sock, data, TOKEN_DATA), "PRESERVE data");
	luod_or_die(luod_preserve_fd(sock, huge, TOKEN_HUGE), "PRESERVE huge");
}

/* What every stage starts with. */
static void soak_start(void)
{
	char self[PATH_MAX];
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		ksft_exit_fail_msg("/proc/self/exe: %s\n", strerror(errno));
	self[n] = '\0';
	snprintf(here, sizeof(here), "%s", dirname(self));
	luo_require();
}

static void stage_cold(const FIXTURE_VARIANT(soak) *variant)
{
	char extra[256], cmd[PATH_MAX + 64];
	int sock, data, huge;
	long long counter;

	soak_start();
	start_luod();
	snprintf(cmd, sizeof(cmd), "%s/luoctl -s %s sessions | grep -q '^demo '",
		 here, SOCK);
	lu_check(!client("init", &counter) && !run(cmd),
		 "luod's client preserves its counter\n");

	data = memfd_create("soak-data", 0);
	huge = memfd_create("soak-huge", MFD_HUGETLB);
	lu_check(data >= 0 && huge >= 0 && !ftruncate(data, DATA_SIZE) &&
		 !ftruncate(huge, HUGE_SIZE),
		 "a shmem and a HugeTLB memfd of 4 MiB\n");
	if (lu_checks_failed())
		return;
	fill(huge, HUGE_SIZE, HUGE_SEED);
	sock = connect_luod();
	preserve_soak(sock, data, huge, 1);
	lu_check(true, "session %s preserved\n", SESSION);

	snprintf(extra, sizeof(extra),
		 "lu.soak_cold_total=%lld lu.soak_scratch=%lld",
		 lu_meminfo_kib("MemTotal"), scratch_kib(KHO_OUT "scratch"));
	ksft_print_msg("cold boot: MemTotal %lld KiB, scratch %lld KiB\n",
		       lu_meminfo_kib("MemTotal"), scratch_kib(KHO_OUT "scratch"));
	lu_kexec_next(extra);
}

/* Every stage after the cold boot: stage 2 to lu.soak_last. */
static void stage_update(const FIXTURE_VARIANT(soak) *variant)
{
	long long total, before, tracker, scratch, in_kib, bad_data, bad_huge;
	long long cold_total = cmdline_num("lu.soak_cold_total");
	long long first_total = cmdline_num("lu.soak_total");
	long long first_tracker = cmdline_num("lu.soak_tracker");
	long long first_in = cmdline_num("lu.soak_in");
	long long cold_scratch = cmdline_num("lu.soak_scratch");
	long long last = cmdline_num("lu.soak_last");
	int sock, data, huge, released, stage = lu_stage();
	char extra[512], buf[64];
	long long counter;

	soak_start();
	if (last < 2)
		last = 21;
	tracker = lu_read_num(KHO_IN "tracker_bytes") >> 10;
	in_kib = lu_read_num(KHO_IN "preserved_bytes") >> 10;
	scratch = scratch_kib(KHO_IN "scratch");
	before = lu_meminfo_kib("MemTotal");

	start_luod();
	lu_check(!client(stage < last ? "step" : "check", &counter) &&
		 counter == stage - 1,
		 "luod's client: counter %lld came over\n", counter);

	sock = connect_luod();
	luod_or_die(luod_retrieve_session(sock, SESSION), "RETRIEVE_SESSION");
	data = luod_or_die(luod_retrieve_fd(sock, TOKEN_DATA), "RETRIEVE data");
	huge = luod_or_die(luod_retrieve_fd(sock, TOKEN_HUGE), "RETRIEVE huge");
	bad_data = check(data, DATA_SIZE, stage - 1);
	bad_huge = check(huge, HUGE_SIZE, HUGE_SEED);
	lu_check(bad_data < 0,
		 "the memfd written before update %d came over (first wrong byte %lld)\n",
		 stage - 1, bad_data);
	lu_check(bad_huge < 0,
		 "the HugeTLB memfd came over (first wrong byte %lld)\n",
		 bad_huge);
	luod_or_die(luod_finish(sock), "FINISH");

	/* Every incoming session is finished: the handover is released. */
	for (int i = 0; i < 50 && !kmsg_count(RELEASED); i++)
		usleep(100 * 1000);
	released = kmsg_count(RELEASED);
	lu_check(luo_sysfs("sessions_finished", buf, sizeof(buf)) ==
		 luo_sysfs("sessions_in", buf, sizeof(buf)) &&
		 released == 1 && lu_read_num(KHO_IN "tracker_bytes") == 0,
		 "every session finished, the handover released, its tracker freed\n");
	total = lu_meminfo_kib("MemTotal");
	if (first_total < 0)
		first_total = total;
	lu_check(total <= first_total + DRIFT_KIB &&
		 total >= first_total - DRIFT_KIB && cold_total > 0 &&
		 (total - cold_total) * 200 <= cold_total &&
		 (cold_total - total) * 200 <= cold_total,
		 "MemTotal after it: %lld KiB, within %d KiB of the first update's (%lld), cold boot %lld\n",
		 total, DRIFT_KIB, first_total, cold_total);
	if (first_tracker < 0)
		first_tracker = tracker;
	lu_check(tracker > 0 && tracker <= first_tracker + TRACKER_SLACK_KIB,
		 "the tracker handed over: %lld KiB, within %d KiB of the first update's (%lld)\n",
		 tracker, TRACKER_SLACK_KIB, first_tracker);
	lu_check(scratch == cold_scratch,
		 "scratch: %lld KiB, as the cold boot reserved\n", scratch);

	/*
	 * What crossed: the two soak memfds, luod's state and its client's
	 * counter. The same every time, but for luod's log growing by a page.
	 */
	if (first_in < 0)
		first_in = in_kib;
	lu_check(in_kib >= (long long)(DATA_SIZE >> 10) &&
		 in_kib <= first_in + IN_SLACK_KIB &&
		 in_kib >= first_in - IN_SLACK_KIB,
		 "preserved memory handed over: %lld KiB, within %d KiB of the first update's (%lld)\n",
		 in_kib, IN_SLACK_KIB, first_in);
	ksft_print_msg("update %d: in %lld KiB preserved, tracker %lld KiB, scratch %lld KiB\n",
		       stage - 1, in_kib, tracker, scratch);
	ksft_print_msg("update %d: MemTotal %lld KiB at boot, %lld after finish, cold %lld\n",
		       stage - 1, before, total, cold_total);

	if (stage == last) {
		lu_check(!run("kill -TERM $(pidof luod)"),
			 "luod exits on SIGTERM\n");
		return;
	}
	preserve_soak(sock, data, huge, stage);
	lu_check(true, "session %s preserved with seed %d\n", SESSION, stage);
	if (lu_checks_failed()) {
		run("sed 's/^/# luod: /' /run/luod.log");
		return;
	}
	snprintf(extra, sizeof(extra),
		 "lu.soak_total=%lld lu.soak_tracker=%lld lu.soak_in=%lld",
		 first_total, first_tracker, first_in);
	lu_kexec_next(extra);
}

/* Stage 1 is the cold boot; every later one an update. */
FIXTURE_VARIANT_ADD(soak, luod_updates) {
	.stage = { stage_cold, [1 ... LU_STAGES_MAX - 1] = stage_update },
};

FIXTURE_SETUP(soak)
{
}

FIXTURE_TEARDOWN(soak)
{
}

TEST_F_TIMEOUT(soak, stages, LU_STAGE_TIMEOUT)
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
