// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a global object shared by preserved files is preserved with
 * the first of them and released with the last, and crosses the kexec
 * once for all of them.
 *
 * Uses the test handler (CONFIG_LIVEUPDATE_TEST), whose files all hold
 * the global "luo-test-global-v1" (a page with a magic number). Stage 1
 * preserves two test files in session "g" and one in session "x", then
 * closes "x": two files hold the global. Stage 2 retrieves one file of
 * "g" (the global comes back with its magic), then finishes "g" with
 * the other file unretrieved: the global is finished with its last file.
 *
 * One variant, shared_global (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define PARAM(name)	"/sys/module/luo_test/parameters/" name

FIXTURE(global) {};

FIXTURE_VARIANT(global) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(global) *variant);
};

static void param(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		ksft_exit_skip("no %s (CONFIG_LIVEUPDATE_TEST)\n", path);
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

static int test_memfd(const char *name)
{
	int fd = memfd_create(name, 0);

	if (fd < 0 || ftruncate(fd, 65536))
		ksft_exit_fail_msg("memfd %s: %s\n", name, strerror(errno));
	return fd;
}

static void stage1(const FIXTURE_VARIANT(global) *variant)
{
	char users[32], state[32];
	int luo, g, x;

	luo_require();
	luo = luo_open();
	g = luo_create_session(luo, "g");
	x = luo_create_session(luo, "x");
	luo_preserve_fd(g, test_memfd("luo-test-a"), 1);
	param(PARAM("global_state"), state, sizeof(state));
	lu_check(!strcmp(state, "preserved"),
		 "the first file preserved the global (%s)\n", state);
	luo_preserve_fd(g, test_memfd("luo-test-b"), 2);
	luo_preserve_fd(x, test_memfd("luo-test-c"), 1);
	close(x);
	param(PARAM("global_users"), users, sizeof(users));
	lu_check(!strcmp(users, "2"), "two files hold it (%s)\n", users);
	lu_check(true, "ready to kexec\n");
	lu_kexec_next(NULL);
}

static void stage2(const FIXTURE_VARIANT(global) *variant)
{
	char state[32];
	int luo, g;

	luo_require();
	luo = luo_open();
	g = luo_retrieve_session(luo, "g");
	param(PARAM("global_state"), state, sizeof(state));
	lu_check(!strcmp(state, "none"),
		 "not retrieved before a file is (%s)\n", state);
	luo_retrieve_fd(g, 2);
	param(PARAM("global_state"), state, sizeof(state));
	lu_check(!strcmp(state, "retrieved"),
		 "retrieved with the first file, magic intact (%s)\n",
		 state);
	luo_finish(g);
	param(PARAM("global_state"), state, sizeof(state));
	lu_check(!strcmp(state, "finished"),
		 "finished with the last file (%s)\n", state);
}

FIXTURE_VARIANT_ADD(global, shared_global) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(global)
{
}

FIXTURE_TEARDOWN(global)
{
}

TEST_F_TIMEOUT(global, stages, LU_STAGE_TIMEOUT)
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
