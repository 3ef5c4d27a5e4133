// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a writer stalled in a page fault does not hang live update.
 *
 * A write() into a memfd from a buffer whose page nobody ever supplies
 * (a userfaultfd region, as a hung FUSE file would do) sleeps holding the
 * memfd's inode lock. Stage 1 shows that preserving such a memfd fails
 * with EBUSY in bounded time, with one log line saying why, and works
 * once the fault is served; then that reboot() with a preserved memfd
 * whose writer stalls fails the same way, leaves everything preserved,
 * and goes through once the writer is done; and that closing a session
 * whose memfd's writer stalls returns at once, unpreserving it. Stage 2
 * checks the memfd byte for byte, both writes included.
 *
 * One variant, stalled_writer (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define MEM_SIZE	0x100000UL	/* 1 MiB */
#define PAGE		4096UL
#define TOKEN		1
/* The kernel waits 10 s; a TCG guest may be slow, but never this slow. */
#define BOUND_SECS	60

FIXTURE(stall) {};

FIXTURE_VARIANT(stall) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(stall) *variant);
};

static uint8_t byte_at(size_t off)
{
	if (off < PAGE)
		return 'W';		/* the first stalled write */
	if (off < 2 * PAGE)
		return 'X';		/* the second */
	return (uint8_t)(off * 7 + (off >> 12));
}

struct stall {
	int uffd;
	uint8_t *region;	/* one page nobody supplies, until release */
	int memfd;
	off_t off;
	ssize_t written;
	pthread_t thread;
};

static void *writer(void *arg)
{
	struct stall *st = arg;

	st->written = pwrite(st->memfd, st->region, PAGE, st->off);
	return NULL;
}

/* Start a write of one page at @off from a region whose fault stalls. */
static void stall_start(struct stall *st, int memfd, off_t off)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	st->uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (st->uffd < 0 || ioctl(st->uffd, UFFDIO_API, &api))
		ksft_exit_fail_msg("userfaultfd: %s\n", strerror(errno));
	st->region = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st->region == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	reg.range.start = (unsigned long)st->region;
	reg.range.len = PAGE;
	if (ioctl(st->uffd, UFFDIO_REGISTER, &reg))
		ksft_exit_fail_msg("UFFDIO_REGISTER: %s\n", strerror(errno));
	st->memfd = memfd;
	st->off = off;
	st->written = -2;
	if (pthread_create(&st->thread, NULL, writer, st))
		ksft_exit_fail_msg("pthread_create\n");
	usleep(300 * 1000);
}

/* Serve the fault with the page the writer should write; wait for it. */
static bool stall_release(struct stall *st, uint8_t fill)
{
	uint8_t *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_copy copy = {
		.dst = (unsigned long)st->region, .src = (unsigned long)page,
		.len = PAGE,
	};

	if (page == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	memset(page, fill, PAGE);
	if (ioctl(st->uffd, UFFDIO_COPY, &copy))
		ksft_exit_fail_msg("UFFDIO_COPY: %s\n", strerror(errno));
	munmap(page, PAGE);
	pthread_join(st->thread, NULL);
	close(st->uffd);
	munmap(st->region, PAGE);
	return st->written == (ssize_t)PAGE;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool kmsg_has(const char *text)
{
	char buf[8192];
	bool found = false;
	ssize_t n;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (!found && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		found = strstr(buf, text);
	}
	close(fd);
	return found;
}

struct closer {
	int session;
	int done;
	double secs;
	pthread_t thread;
};

static void *closer(void *arg)
{
	struct closer *c = arg;
	double t = now();

	/* The session's release runs before close() returns. */
	close(c->session);
	c->secs = now() - t;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Closing a session unpreserves its files; a memfd whose writer stalls
 * must not keep the close (and every live update operation behind it)
 * waiting. The close runs in a thread: if it still waits after
 * BOUND_SECS, the fault is served so that the test ends, and fails.
 */
static void test_close_under_stall(int luo)
{
	struct closer c = { 0 };
	struct stall st;
	int m, s, again;
	bool in_time;

	m = memfd_create("closing", MFD_CLOEXEC);
	if (m < 0 || ftruncate(m, PAGE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	s = luo_create_session(luo, "stall-close");
	luo_preserve_fd(s, m, TOKEN);
	stall_start(&st, m, 0);
	c.session = s;
	if (pthread_create(&c.thread, NULL, closer, &c))
		ksft_exit_fail_msg("pthread_create\n");
	for (int i = 0; i < BOUND_SECS * 10; i++) {
		if (__atomic_load_n(&c.done, __ATOMIC_ACQUIRE))
			break;
		usleep(100 * 1000);
	}
	in_time = __atomic_load_n(&c.done, __ATOMIC_ACQUIRE);
	lu_check(in_time,
		 "closing a session under a stalled writer: done in %.1f s\n",
		 in_time ? c.secs : (double)BOUND_SECS);
	lu_check(stall_release(&st, 'Y'), "the write ends\n");
	pthread_join(c.thread, NULL);
	s = luo_create_session(luo, "stall-again");
	again = __luo_preserve_fd(s, m, TOKEN);
	lu_check(!again, "the memfd was unpreserved: it can be preserved again (%s)\n",
		 strerror(-again));
	close(s);
	close(m);
}

static void stage1(const FIXTURE_VARIANT(stall) *variant)
{
	struct stall st;
	int luo, s, m, err;
	double t;
	uint8_t *p;
	size_t i;

	luo_require();
	m = memfd_create("stalled", MFD_CLOEXEC);
	if (m < 0 || ftruncate(m, MEM_SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	p = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 2 * PAGE; i < MEM_SIZE; i++)
		p[i] = byte_at(i);
	munmap(p, MEM_SIZE);
	luo = luo_open();
	s = luo_create_session(luo, "stall");

	/* Preserve while a writer holds the lock: EBUSY, not a hang. */
	stall_start(&st, m, 0);
	lu_check(st.written == -2, "the writer is stalled in its page fault\n");
	t = now();
	err = __luo_preserve_fd(s, m, TOKEN);
	t = now() - t;
	lu_check(err == -EBUSY && t < BOUND_SECS,
		 "preserving under a stalled writer: %s after %.1f s\n",
		 strerror(-err), t);
	lu_check(kmsg_has("preserving 'memfd:stalled': a writer has held it"),
		 "one log line says why\n");
	lu_check(stall_release(&st, 'W') && !__luo_preserve_fd(s, m, TOKEN),
		 "once the fault is served the write ends and preserve works\n");

	/* reboot() with a preserved memfd whose writer stalls. */
	stall_start(&st, m, PAGE);
	err = __lu_kexec_load_refused(NULL);
	if (err)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-err));
	fflush(stdout);
	t = now();
	err = __lu_kexec_reboot();
	t = now() - t;
	lu_check(err == -EBUSY && t < BOUND_SECS,
		 "reboot() under a stalled writer: %s after %.1f s\n",
		 strerror(-err), t);
	lu_check(kmsg_has("freezing 'memfd:stalled': a writer has held it"),
		 "one log line says why\n");
	lu_check(stall_release(&st, 'X'), "the second write ends\n");
	lu_check(__luo_preserve_fd(s, m, TOKEN + 1) == -EBUSY,
		 "the memfd is still preserved (a second preserve is EBUSY)\n");
	test_close_under_stall(luo);
	lu_kexec_next(NULL);
}

static void stage2(const FIXTURE_VARIANT(stall) *variant)
{
	long bad = -1;
	int luo, s, m;
	uint8_t *p;
	size_t i;

	luo_require();
	luo = luo_open();
	s = luo_retrieve_session(luo, "stall");
	m = luo_retrieve_fd(s, TOKEN);
	p = mmap(NULL, MEM_SIZE, PROT_READ, MAP_SHARED, m, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < MEM_SIZE && bad < 0; i++)
		if (p[i] != byte_at(i))
			bad = (long)i;
	lu_check(bad < 0,
		 "1 MiB byte for byte, both writes in (first bad: %ld)\n", bad);
	luo_finish(s);
}

FIXTURE_VARIANT_ADD(stall, stalled_writer) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(stall)
{
}

FIXTURE_TEARDOWN(stall)
{
}

TEST_F_TIMEOUT(stall, stages, LU_STAGE_TIMEOUT)
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
