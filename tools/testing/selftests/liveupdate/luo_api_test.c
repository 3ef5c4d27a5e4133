// SPDX-License-Identifier: GPL-2.0
/*
 * Checks of the /dev/liveupdate interface that need no reboot: argument
 * validation with the errno each mistake gets (upstream Linux's, case by
 * case: the comments name the upstream selftest that checks the same),
 * and that sessions and files have no fixed limits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "../kselftest_harness.h"
#include "lu_luo.h"

FIXTURE(luo) {
	int luo;
};

FIXTURE_SETUP(luo)
{
	if (access(LUO_DEVICE, F_OK))
		SKIP(return, "no %s (CONFIG_LIVEUPDATE, liveupdate=on)", LUO_DEVICE);
	self->luo = __luo_open();
	ASSERT_LE(0, self->luo) TH_LOG("open: %s", strerror(-self->luo));
}

FIXTURE_TEARDOWN(luo)
{
	if (self->luo >= 0)
		close(self->luo);
}

static int create_raw(int luo, void *arg)
{
	return ioctl(luo, LIVEUPDATE_IOCTL_CREATE_SESSION, arg) ? -errno : 0;
}

/* Test case: the ioctl numbers and struct sizes are upstream's. */
TEST(uapi_layout)
{
	ASSERT_EQ(0xBA00U, LIVEUPDATE_IOCTL_CREATE_SESSION);
	ASSERT_EQ(0xBA01U, LIVEUPDATE_IOCTL_RETRIEVE_SESSION);
	ASSERT_EQ(0xBA40U, LIVEUPDATE_SESSION_PRESERVE_FD);
	ASSERT_EQ(0xBA41U, LIVEUPDATE_SESSION_RETRIEVE_FD);
	ASSERT_EQ(0xBA42U, LIVEUPDATE_SESSION_FINISH);
	ASSERT_EQ(0xBA43U, LIVEUPDATE_SESSION_GET_NAME);
	ASSERT_EQ(72UL, sizeof(struct liveupdate_ioctl_create_session));
	ASSERT_EQ(72UL, sizeof(struct liveupdate_ioctl_retrieve_session));
	ASSERT_EQ(16UL, sizeof(struct liveupdate_session_preserve_fd));
	ASSERT_EQ(16UL, sizeof(struct liveupdate_session_retrieve_fd));
	ASSERT_EQ(8UL, sizeof(struct liveupdate_session_finish));
	ASSERT_EQ(72UL, sizeof(struct liveupdate_session_get_name));
}

/* Test case: a second opener gets EBUSY. */
TEST_F(luo, one_opener)
{
	ASSERT_EQ(-EBUSY, __luo_open());
}

/* Test case: create checks size, tail, name, uniqueness; fds are CLOEXEC. */
TEST_F(luo, create_session_checks)
{
	struct {
		struct liveupdate_ioctl_create_session arg;
		char tail[8];
	} big = {};
	struct liveupdate_ioctl_create_session arg = {}, *page;
	int fd;

	arg.size = offsetof(struct liveupdate_ioctl_create_session, name);
	snprintf((char *)arg.name, sizeof(arg.name), "short");
	ASSERT_EQ(-EINVAL, create_raw(self->luo, &arg));

	big.arg.size = sizeof(big);
	snprintf((char *)big.arg.name, sizeof(big.arg.name), "tail");
	big.tail[3] = 1;
	ASSERT_EQ(-E2BIG, create_raw(self->luo, &big));
	big.tail[3] = 0;
	ASSERT_EQ(0, create_raw(self->luo, &big));
	close(big.arg.fd);

	/* Over 4096 bytes is E2BIG however zero, and nothing is scanned. */
	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	memcpy(page, &big.arg, sizeof(big.arg));
	page->size = 4096;
	snprintf((char *)page->name, sizeof(page->name), "page");
	ASSERT_EQ(0, create_raw(self->luo, page));
	close(page->fd);
	page->size = 4097;
	ASSERT_EQ(-E2BIG, create_raw(self->luo, page));
	page->size = UINT32_MAX;
	ASSERT_EQ(-E2BIG, create_raw(self->luo, page));
	munmap(page, 8192);

	arg.size = sizeof(arg);
	arg.name[0] = '\0';
	ASSERT_EQ(-EINVAL, create_raw(self->luo, &arg));
	memset(arg.name, 'x', sizeof(arg.name));
	ASSERT_EQ(-EINVAL, create_raw(self->luo, &arg));

	fd = __luo_create_session(self->luo, "dup");
	ASSERT_LE(0, fd);
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(-EEXIST, __luo_create_session(self->luo, "dup"));
	close(fd);
	/* Closing frees the name. */
	fd = __luo_create_session(self->luo, "dup");
	ASSERT_LE(0, fd);
	close(fd);
}

/*
 * Test case: unknown ioctls are ENOTTY, on both kinds of fd, as the uAPI
 * documents (upstream's code says EINVAL for numbers past its table).
 */
TEST_F(luo, unknown_ioctl)
{
	struct liveupdate_session_finish fin = { .size = sizeof(fin) };
	int s = __luo_create_session(self->luo, "ioctl");

	ASSERT_LE(0, s);
	ASSERT_EQ(-1, ioctl(self->luo, _IO(LIVEUPDATE_IOCTL_TYPE, 0x05), &fin));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->luo, LIVEUPDATE_SESSION_FINISH, &fin));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(s, LIVEUPDATE_IOCTL_CREATE_SESSION, &fin));
	ASSERT_EQ(ENOTTY, errno);
	close(s);
}

/*
 * Test case: nothing to retrieve after a cold boot: ENOENT, whatever the
 * name, as upstream (no name check on retrieve).
 */
TEST_F(luo, retrieve_missing)
{
	struct liveupdate_ioctl_retrieve_session arg = { .size = sizeof(arg) };

	ASSERT_EQ(-ENOENT, __luo_retrieve_session(self->luo, "nothing-here"));
	ASSERT_EQ(-ENOENT, __luo_retrieve_session(self->luo, ""));
	memset(arg.name, 'x', sizeof(arg.name));
	ASSERT_EQ(-1, ioctl(self->luo, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &arg));
	ASSERT_EQ(ENOENT, errno);
}

/*
 * Test case: preserve checks tokens, then fds, then file types (ENOENT
 * for a file no handler takes: upstream's preserve_unsupported_fd), and
 * sizes.
 */
TEST_F(luo, preserve_checks)
{
	struct liveupdate_session_preserve_fd arg = {};
	int s, m, p[2], null;

	s = __luo_create_session(self->luo, "preserve");
	ASSERT_LE(0, s);
	m = memfd_create("m", 0);
	ASSERT_LE(0, m);
	ASSERT_EQ(0, pipe(p));
	null = open("/dev/null", O_RDWR);
	ASSERT_LE(0, null);

	ASSERT_EQ(-EBADF, __luo_preserve_fd(s, 1000, 1));
	ASSERT_EQ(-ENOENT, __luo_preserve_fd(s, p[0], 1));
	ASSERT_EQ(-ENOENT, __luo_preserve_fd(s, null, 1));
	ASSERT_EQ(0, __luo_preserve_fd(s, m, 7));
	ASSERT_EQ(-EEXIST, __luo_preserve_fd(s, p[1], 7));
	/* The token is checked first. */
	ASSERT_EQ(-EEXIST, __luo_preserve_fd(s, 1000, 7));
	close(null);

	arg.size = offsetof(struct liveupdate_session_preserve_fd, token);
	arg.fd = m;
	ASSERT_EQ(-1, ioctl(s, LIVEUPDATE_SESSION_PRESERVE_FD, &arg));
	ASSERT_EQ(EINVAL, errno);
	close(p[0]);
	close(p[1]);
	close(m);
	close(s);
}

/*
 * Test case: a memfd comes back readable and writable, so an fd that is
 * open for reading or writing only cannot be preserved (EACCES): a
 * process with read access alone would get write access back.
 */
TEST_F(luo, preserve_access)
{
	int s, m, ro, wo;
	char path[64];

	s = __luo_create_session(self->luo, "access");
	ASSERT_LE(0, s);
	m = memfd_create("m", 0);
	ASSERT_LE(0, m);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	ro = open(path, O_RDONLY);
	ASSERT_LE(0, ro);
	wo = open(path, O_WRONLY);
	ASSERT_LE(0, wo);

	ASSERT_EQ(-EACCES, __luo_preserve_fd(s, ro, 1));
	ASSERT_EQ(-EACCES, __luo_preserve_fd(s, wo, 2));
	ASSERT_EQ(0, __luo_preserve_fd(s, m, 3));
	close(wo);
	close(ro);
	close(m);
	close(s);
}

/*
 * Test case: incoming-only operations on an outgoing session: EINVAL,
 * checked before the argument (so not E2BIG for a bad tail), as
 * upstream's fix of 7.2 does.
 */
TEST_F(luo, outgoing_state)
{
	struct {
		struct liveupdate_session_retrieve_fd arg;
		char tail[8];
	} big = { .arg.size = sizeof(big), .arg.token = 1, .tail[0] = 1 };
	int s = __luo_create_session(self->luo, "state");

	ASSERT_LE(0, s);
	ASSERT_EQ(-EINVAL, __luo_retrieve_fd(s, 1));
	ASSERT_EQ(-EINVAL, __luo_finish(s));
	ASSERT_EQ(-1, ioctl(s, LIVEUPDATE_SESSION_RETRIEVE_FD, &big));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(s, LIVEUPDATE_SESSION_FINISH, &big));
	ASSERT_EQ(EINVAL, errno);
	close(s);
}

/*
 * Test case: GET_NAME gives the name, up to the longest (upstream's
 * get_session_name and get_session_name_max_length), with the size and
 * reserved rules of the other ioctls; /proc names the session too.
 */
TEST_F(luo, get_name)
{
	struct {
		struct liveupdate_session_get_name arg;
		char tail[8];
	} big = {};
	struct liveupdate_session_get_name arg;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH], buf[128], link[64];
	ssize_t n;
	size_t i;
	int s, t;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	s = __luo_create_session(self->luo, name);
	ASSERT_LE(0, s);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, __luo_get_session_name(s, buf, sizeof(buf)));
	ASSERT_STREQ(name, buf);

	memset(&arg, 0xff, sizeof(arg));
	arg.size = sizeof(arg);
	arg.reserved = 0;
	ASSERT_EQ(0, ioctl(s, LIVEUPDATE_SESSION_GET_NAME, &arg));
	ASSERT_EQ(0, memcmp(arg.name, name, sizeof(name)));
	arg.reserved = 1;
	ASSERT_EQ(-1, ioctl(s, LIVEUPDATE_SESSION_GET_NAME, &arg));
	ASSERT_EQ(EINVAL, errno);
	arg.reserved = 0;
	arg.size = offsetof(struct liveupdate_session_get_name, name) + 8;
	ASSERT_EQ(-1, ioctl(s, LIVEUPDATE_SESSION_GET_NAME, &arg));
	ASSERT_EQ(EINVAL, errno);

	big.arg.size = sizeof(big);
	big.tail[7] = 1;
	ASSERT_EQ(-1, ioctl(s, LIVEUPDATE_SESSION_GET_NAME, &big));
	ASSERT_EQ(E2BIG, errno);
	big.tail[7] = 0;
	ASSERT_EQ(0, ioctl(s, LIVEUPDATE_SESSION_GET_NAME, &big));
	ASSERT_STREQ(name, (char *)big.arg.name);

	/* A short name: NUL-terminated and zero-padded, whatever was there. */
	t = __luo_create_session(self->luo, "short");
	ASSERT_LE(0, t);
	memset(&arg, 0xff, sizeof(arg));
	arg.size = sizeof(arg);
	arg.reserved = 0;
	ASSERT_EQ(0, ioctl(t, LIVEUPDATE_SESSION_GET_NAME, &arg));
	ASSERT_STREQ("short", (char *)arg.name);
	for (i = sizeof("short"); i < sizeof(arg.name); i++)
		ASSERT_EQ(0, arg.name[i]) TH_LOG("byte %zu", i);
	close(t);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", s);
	n = readlink(link, buf, sizeof(buf) - 1);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	/* Cut to what a /proc link holds: 63 characters. */
	ASSERT_EQ(63, n);
	ASSERT_EQ(0, strncmp(buf, "anon_inode:[luo_session] nnn", 28)) TH_LOG("%s", buf);
	close(s);
}

/*
 * Test case: a file is in one session at a time, whatever the token
 * (upstream's prevent_double_preservation): EBUSY.
 */
TEST_F(luo, double_preservation)
{
	int a = __luo_create_session(self->luo, "a");
	int b = __luo_create_session(self->luo, "b");
	int m = memfd_create("twice", 0);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, m);
	ASSERT_EQ(0, __luo_preserve_fd(a, m, 1));
	ASSERT_EQ(-EBUSY, __luo_preserve_fd(a, m, 2));
	ASSERT_EQ(-EBUSY, __luo_preserve_fd(b, m, 1));
	/* Closing the session unpreserves it: now it may go elsewhere. */
	close(a);
	ASSERT_EQ(0, __luo_preserve_fd(b, m, 1));
	close(b);
	close(m);
}

/* Test case: more sessions and files than upstream's fixed limits. */
TEST_F(luo, no_fixed_limits)
{
	struct rlimit rl = { 4096, 4096 };
	int sessions[1000], s, i, m;
	char name[32];

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "many-%d", i);
		sessions[i] = __luo_create_session(self->luo, name);
		ASSERT_LE(0, sessions[i]) TH_LOG("session %d", i);
	}
	s = sessions[999];
	for (i = 0; i < 1000; i++) {
		m = memfd_create("f", 0);
		ASSERT_LE(0, m);
		ASSERT_EQ(0, __luo_preserve_fd(s, m, 1000 + i)) TH_LOG("file %d", i);
		close(m);
	}
	ASSERT_EQ(-EEXIST, __luo_create_session(self->luo, "many-500"));
	for (i = 0; i < 1000; i++)
		close(sessions[i]);
}

TEST_HARNESS_MAIN
