// SPDX-License-Identifier: GPL-2.0
/*
 * Live update demo, run by "make demo" in the test VM.
 *
 * Stage 1 plays a VMM: it puts a message and 256 MiB of "guest memory"
 * into memfds, preserves them in the LUO session "demo-vm", writes once
 * more after preserving, and reboots into the same kernel with kexec.
 * Stage 2 retrieves the session, shows the message, checks every byte of
 * the guest memory in place, finishes the session and shows the status
 * in /sys/kernel/liveupdate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../kselftest.h"
#include "lu_luo.h"
#include "lu_stage.h"

#define RAM_SIZE	(256UL << 20)
#define TOKEN_MSG	1
#define TOKEN_RAM	2

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void stage1(void)
{
	char msg[128], boot_id[64];
	uint64_t *ram, i;
	int luo, s, m, r;
	double t;

	lu_boot_id(boot_id, sizeof(boot_id));
	printf("demo: kernel boot id %s\n", boot_id);
	luo = luo_open();
	s = luo_create_session(luo, "demo-vm");

	m = memfd_create("demo-message", 0);
	snprintf(msg, sizeof(msg), "hello from the kernel with boot id %s",
		 boot_id);
	if (m < 0 || pwrite(m, msg, strlen(msg) + 1, 0) < 0)
		ksft_exit_fail_msg("message memfd: %s\n", strerror(errno));

	r = memfd_create("demo-guest-ram", 0);
	if (r < 0 || ftruncate(r, RAM_SIZE))
		ksft_exit_fail_msg("ram memfd: %s\n", strerror(errno));
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < RAM_SIZE / 8; i++)
		ram[i] = i * 0x9e3779b97f4a7c15ULL;

	t = now();
	luo_preserve_fd(s, m, TOKEN_MSG);
	luo_preserve_fd(s, r, TOKEN_RAM);
	printf("demo: preserved a message and 256 MiB of guest memory in %.3f s\n",
	       now() - t);
	/* The guest keeps running: this write must arrive too. */
	ram[RAM_SIZE / 8 - 1] = 0x600dcafe;
	printf("demo: rebooting into the next kernel with kexec\n");
	lu_kexec_next(NULL);
}

static void stage2(void)
{
	char msg[128], buf[160];
	uint64_t *ram, i, bad = 0;
	int luo, s, m, r;
	double t;

	ksft_print_header();
	ksft_set_plan(2);
	luo_sysfs("updates", buf, sizeof(buf));
	printf("demo: live update %s since cold boot; last handover: ", buf);
	luo_sysfs("last_handover", buf, sizeof(buf));
	printf("%s\n", buf);

	t = now();
	luo = luo_open();
	s = luo_retrieve_session(luo, "demo-vm");
	m = luo_retrieve_fd(s, TOKEN_MSG);
	r = luo_retrieve_fd(s, TOKEN_RAM);
	printf("demo: retrieved the session in %.3f s\n", now() - t);

	memset(msg, 0, sizeof(msg));
	if (pread(m, msg, sizeof(msg) - 1, 0) < 0)
		ksft_exit_fail_msg("pread: %s\n", strerror(errno));
	printf("demo: message: \"%s\"\n", msg);
	ksft_test_result(!strncmp(msg, "hello from", 10), "the message arrived\n");

	ram = mmap(NULL, RAM_SIZE, PROT_READ, MAP_SHARED, r, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < RAM_SIZE / 8 - 1; i++)
		bad += ram[i] != i * 0x9e3779b97f4a7c15ULL;
	bad += ram[RAM_SIZE / 8 - 1] != 0x600dcafe;
	printf("demo: 256 MiB of guest memory checked in place: %llu bad words\n",
	       (unsigned long long)bad);
	ksft_test_result(!bad, "every byte of the guest memory arrived\n");
	luo_finish(s);
	luo_sysfs("sessions_finished", buf, sizeof(buf));
	printf("demo: session finished (sessions finished: %s)\n", buf);
	ksft_finished();
}

int main(void)
{
	static void (*const stages[])(void) = { stage1, stage2 };

	luo_require();
	lu_run_stages(stages, ARRAY_SIZE(stages));
}
