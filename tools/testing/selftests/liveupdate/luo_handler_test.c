// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a failing freeze fails reboot() and leaves every session as
 * it was; a file whose format the next kernel does not know fails its
 * retrieve with EOPNOTSUPP, is reported in sysfs, and disturbs nothing
 * else; its memory is released once every session is finished, so
 * nothing leaks; closing a retrieved session finishes it.
 *
 * Uses the test handler (CONFIG_LIVEUPDATE_TEST), which takes memfds
 * named "luo-test-*" and fails to freeze "luo-test-fail-freeze*".
 * Stage 1 preserves a data memfd and a fail-freeze memfd in session "s"
 * and a test memfd in session "t"; reboot() must fail with EAGAIN and
 * leave the sessions intact. It then rebuilds "s" without the failing
 * file and reboots into a kernel booted with luo_test.off=1. Stage 2
 * checks the data and that "t"'s file is refused with EOPNOTSUPP.
 *
 * One variant, handler_errors (lu.case= in vm/tests).
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

#define DATA_SIZE	(8 << 20)

FIXTURE(handler) {};

FIXTURE_VARIANT(handler) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(handler) *variant);
};

static int make_memfd(const char *name, size_t size, uint8_t byte)
{
	static uint8_t buf[1 << 16];
	size_t done;
	int fd;

	fd = memfd_create(name, 0);
	if (fd < 0 || ftruncate(fd, size))
		ksft_exit_fail_msg("memfd %s: %s\n", name, strerror(errno));
	memset(buf, byte, sizeof(buf));
	for (done = 0; done < size; done += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), done) != sizeof(buf))
			ksft_exit_fail_msg("pwrite: %s\n", strerror(errno));
	return fd;
}

static int all_bytes(int fd, size_t size, uint8_t byte)
{
	static uint8_t buf[1 << 16];
	size_t done, i;

	for (done = 0; done < size; done += sizeof(buf)) {
		if (pread(fd, buf, sizeof(buf), done) != sizeof(buf))
			return 0;
		for (i = 0; i < sizeof(buf); i++)
			if (buf[i] != byte)
				return 0;
	}
	return 1;
}

static void stage1(const FIXTURE_VARIANT(handler) *variant)
{
	int luo, s, t, data, bad, test, ret;
	char buf[64];

	luo_require();
	luo = luo_open();
	s = luo_create_session(luo, "s");
	t = luo_create_session(luo, "t");
	data = make_memfd("data", DATA_SIZE, 0x5a);
	bad = make_memfd("luo-test-fail-freeze", 4096, 0);
	/* The test handler preserves a 4 MiB folio for it. */
	test = make_memfd("luo-test-unknown", 4 << 20, 0);
	luo_preserve_fd(s, data, 1);
	luo_preserve_fd(s, bad, 2);
	luo_preserve_fd(t, test, 1);

	ret = __lu_kexec_load_refused("luo_test.off=1");
	if (ret)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-ret));
	ret = __lu_kexec_reboot();
	lu_check(ret == -EAGAIN,
		 "reboot() fails with the freeze's error (%s)\n",
		 strerror(-ret));
	lu_check(ftruncate(data, 4096) && errno == EBUSY,
		 "after the failed reboot the data memfd is still preserved\n");
	lu_check(luo_sysfs("sessions_out", buf, sizeof(buf)) == 2,
		 "both sessions are still there\n");
	lu_check(__luo_preserve_fd(s, data, 3) == -EBUSY,
		 "the sessions still take preserve requests\n");

	/* Rebuild "s" without the file that cannot freeze. */
	close(s);
	s = luo_create_session(luo, "s");
	luo_preserve_fd(s, data, 1);
	lu_check(true, "session s rebuilt without the failing file\n");
	if (lu_checks_failed())
		return;
	ret = __lu_kexec_load_next("luo_test.off=1");
	if (!ret)
		ret = __lu_kexec_reboot();
	ksft_exit_fail_msg("the second reboot failed: %s\n", strerror(-ret));
}

static void stage2(const FIXTURE_VARIANT(handler) *variant)
{
	long long before, after;
	int luo, s, t, data;
	char buf[160];

	luo_require();
	luo = luo_open();
	t = luo_retrieve_session(luo, "t");
	lu_check(__luo_retrieve_fd(t, 1) == -EOPNOTSUPP,
		 "a file of an unknown format is EOPNOTSUPP\n");
	luo_sysfs("last_handover", buf, sizeof(buf));
	lu_check(strstr(buf, "unknown format 'luo-test-v1'"),
		 "sysfs says which file and why: %s\n", buf);

	s = luo_retrieve_session(luo, "s");
	data = luo_retrieve_fd(s, 1);
	lu_check(all_bytes(data, DATA_SIZE, 0x5a),
		 "the other session's memfd arrived whole\n");
	lu_check(__luo_finish(t) == 0,
		 "a session with an unreadable file still finishes\n");
	before = lu_meminfo_kib("MemTotal");
	close(s);
	after = lu_meminfo_kib("MemTotal");
	lu_check(luo_sysfs("sessions_finished", buf, sizeof(buf)) == 2,
		 "closing the last session finished it\n");
	lu_check(after - before >= 4096 && after - before < 4096 + 512,
		 "what nobody could read was released (MemTotal +%lld KiB)\n",
		 after - before);
}

FIXTURE_VARIANT_ADD(handler, handler_errors) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(handler)
{
}

FIXTURE_TEARDOWN(handler)
{
}

TEST_F_TIMEOUT(handler, stages, LU_STAGE_TIMEOUT)
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
