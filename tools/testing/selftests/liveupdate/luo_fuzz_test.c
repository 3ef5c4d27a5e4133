// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: an ioctl fuzzer for /dev/liveupdate and session fds, then a
 * kexec: whatever the fuzzer did, the memfds preserved before it arrive
 * byte for byte.
 *
 * Stage 1 preserves three memfds in session "keep", then runs random
 * ioctls (bounded by lu.fuzz_iters and lu.fuzz_secs) with:
 *
 * - every command of both fds, and random numbers of the LUO type;
 * - random sizes: 0, below the minimum, exact, larger with a zero tail,
 *   larger with a non-zero tail, over 4096, up to UINT32_MAX, the struct
 *   at the end of its mapping;
 * - random fds of every kind: memfds read-write, read-only and sealed,
 *   a HugeTLB memfd, a guest_memfd when KVM works, O_PATH, a socket, a
 *   pipe, /dev/null, session fds, /dev/liveupdate itself, closed numbers;
 * - random tokens (a few values, so that they collide) and names (empty,
 *   unterminated, random bytes, taken);
 *
 * interleaved with closing sessions and reopening /dev/liveupdate. Every
 * call must fail with an errno from the uAPI's list or succeed; a size
 * over 4096 is E2BIG and a non-zero tail never succeeds. The seed is
 * printed (lu.fuzz_seed= replays a run). Then "keep" must still list its
 * three memfds, and the kexec follows. Stage 2: "keep" arrives with its
 * three memfds byte for byte; then the fuzzer runs again with "keep" as
 * a retrieved session (retrieve, finish, names), and finishing releases
 * whatever else it preserved.
 *
 * One variant, ioctls (lu.case= in vm/tests).
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
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define KEEP		"keep"
#define KEEP_FILES	3
#define KEEP_SIZE	0x100000UL	/* 1 MiB */
#define MAX_SESSIONS	16
#define MAX_FDS		32
#define ARG_SPAN	(2 * 4096)

FIXTURE(fuzz) {};

FIXTURE_VARIANT(fuzz) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(fuzz) *variant);
};

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static uint8_t keep_byte(int file, size_t off)
{
	return (uint8_t)(off * 31 + file * 101 + (off >> 12));
}

static int keep_memfd(int file)
{
	int fd = memfd_create("keep", MFD_CLOEXEC);
	uint8_t *p;
	size_t i;

	if (fd < 0 || ftruncate(fd, KEEP_SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	p = mmap(NULL, KEEP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < KEEP_SIZE; i++)
		p[i] = keep_byte(file, i);
	munmap(p, KEEP_SIZE);
	return fd;
}

static long keep_check(int fd, int file)
{
	uint8_t *p = mmap(NULL, KEEP_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	long bad = -1;
	size_t i;

	if (p == MAP_FAILED)
		return 0;
	for (i = 0; i < KEEP_SIZE && bad < 0; i++)
		if (p[i] != keep_byte(file, i))
			bad = (long)i;
	munmap(p, KEEP_SIZE);
	return bad;
}

/* The fds the fuzzer aims at, besides sessions and /dev/liveupdate. */
static int fds[MAX_FDS];
static const char *fd_kind[MAX_FDS];
static int nr_fds;

static void add_fd(int fd, const char *kind)
{
	if (fd < 0) {
		ksft_print_msg("no %s fd: %s\n", kind, strerror(errno));
		return;
	}
	fds[nr_fds] = fd;
	fd_kind[nr_fds++] = kind;
}

static int guest_memfd(void)
{
	struct kvm_create_guest_memfd gmem = { .size = 1 << 20 };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, fd;

	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	close(kvm);
	if (vm < 0)
		return -1;
	fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gmem);
	close(vm);
	return fd;
}

static void make_fds(void)
{
	int m, sv[2], p[2];
	char path[64];

	m = memfd_create("rw", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m >= 0 && ftruncate(m, 16384))
		m = -1;
	add_fd(m, "memfd");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	add_fd(open(path, O_RDONLY | O_CLOEXEC), "memfd-ro");
	m = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m >= 0 && (ftruncate(m, 8192) ||
		       fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)))
		m = -1;
	add_fd(m, "memfd-sealed");
	m = memfd_create("huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (m >= 0 && ftruncate(m, 2 << 20))
		m = -1;
	add_fd(m, "hugetlb");
	add_fd(guest_memfd(), "guest_memfd");
	add_fd(open("/", O_PATH | O_CLOEXEC), "O_PATH");
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		add_fd(sv[0], "socket");
		add_fd(sv[1], "socket");
	}
	if (!pipe2(p, O_CLOEXEC)) {
		add_fd(p[0], "pipe");
		add_fd(p[1], "pipe");
	}
	add_fd(open("/dev/null", O_RDWR | O_CLOEXEC), "/dev/null");
	add_fd(memfd_create("empty", MFD_CLOEXEC), "memfd-empty");
}

static int count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += !access(path, F_OK);
	}
	return n;
}

#define OUTGOING	"/sys/kernel/liveupdate/outgoing"

/* The sysfs list of outgoing files: a line for each preserved file. */
static void outgoing(char *buf, size_t len)
{
	int fd = open(OUTGOING, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static int luo = -1, keep = -1;
static int sessions[MAX_SESSIONS];
static int nr_sessions;
static unsigned long calls, fails, succ, big_e2big, tail_succeeded;

/* Any fd: ours of every kind, a session, the device, or a closed one. */
static int some_fd(void)
{
	switch (rnd(6)) {
	case 0:
		return nr_sessions ? sessions[rnd(nr_sessions)] : keep;
	case 1:
		return luo;
	case 2:
		return keep;
	case 3:
		return 900 + (int)rnd(50);	/* closed */
	case 4:
		return (int)rnd(3);		/* stdio */
	default:
		return nr_fds ? fds[rnd(nr_fds)] : -1;
	}
}

static const unsigned int cmds[] = {
	LIVEUPDATE_IOCTL_CREATE_SESSION, LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
	LIVEUPDATE_SESSION_PRESERVE_FD, LIVEUPDATE_SESSION_RETRIEVE_FD,
	LIVEUPDATE_SESSION_FINISH, LIVEUPDATE_SESSION_GET_NAME,
};

/*
 * The uAPI's errnos, and EBADF for fds that are not open. Not EFAULT:
 * every argument is mapped, so EFAULT would mean the kernel read or wrote
 * beyond its size.
 */
static bool known_errno(int e)
{
	switch (e) {
	case EINVAL: case E2BIG: case ENOTTY: case EBADF: case ENOENT:
	case EEXIST: case EBUSY: case ENOMEM: case EOPNOTSUPP: case EOVERFLOW:
	case EACCES:
		return true;
	}
	return false;
}

static bool incoming;	/* stage 2: "keep" is a retrieved session */

/* Whether @cmd is one @fd takes: its size is then checked. */
static bool cmd_fits(int fd, unsigned int cmd)
{
	bool session = fd == keep;
	int i;

	for (i = 0; i < nr_sessions; i++)
		session |= fd == sessions[i];
	if (fd == luo)
		return cmd == LIVEUPDATE_IOCTL_CREATE_SESSION ||
		       cmd == LIVEUPDATE_IOCTL_RETRIEVE_SESSION;
	if (!session)
		return false;
	if (cmd == LIVEUPDATE_SESSION_GET_NAME)
		return true;
	if (incoming && fd == keep)
		return cmd == LIVEUPDATE_SESSION_RETRIEVE_FD ||
		       cmd == LIVEUPDATE_SESSION_FINISH;
	return cmd == LIVEUPDATE_SESSION_PRESERVE_FD;
}

/* The argument: at the start, or ending right at an unmapped page. */
static uint8_t *arg_area;

static void fill_arg(uint8_t *arg, size_t len)
{
	struct liveupdate_ioctl_create_session *c = (void *)arg;
	struct liveupdate_session_preserve_fd *p = (void *)arg;
	size_t i;

	memset(arg, 0, len);
	if (rnd(4) == 0)
		for (i = 0; i < len && i < 128; i++)
			arg[i] = (uint8_t)rnd(256);
	switch (rnd(3)) {
	case 0:		/* a name, maybe empty, taken or unterminated */
		if (len >= sizeof(*c)) {
			switch (rnd(4)) {
			case 0:
				c->name[0] = '\0';
				break;
			case 1:
				memset(c->name, 'u', sizeof(c->name));
				break;
			case 2:
				snprintf((char *)c->name, sizeof(c->name), KEEP);
				break;
			default:
				snprintf((char *)c->name, sizeof(c->name), "fz%u", rnd(8));
			}
		}
		break;
	case 1:		/* an fd and a token that collide often */
		if (len >= sizeof(*p)) {
			p->fd = some_fd();
			p->token = rnd(4) ? rnd(8) : ((uint64_t)rnd(UINT32_MAX) << 32);
		}
		break;
	}
}

/* The size of a command's struct; 8 for a command this test does not know. */
static uint32_t struct_size(unsigned int cmd)
{
	switch (cmd) {
	case LIVEUPDATE_IOCTL_CREATE_SESSION:
	case LIVEUPDATE_IOCTL_RETRIEVE_SESSION:
	case LIVEUPDATE_SESSION_GET_NAME:
		return 72;
	case LIVEUPDATE_SESSION_PRESERVE_FD:
	case LIVEUPDATE_SESSION_RETRIEVE_FD:
		return 16;
	default:
		return 8;
	}
}

static void one_call(void)
{
	unsigned int cmd = rnd(8) ? cmds[rnd(ARRAY_SIZE(cmds))] :
			   _IO(LIVEUPDATE_IOCTL_TYPE, rnd(0x60));
	int target = rnd(3) ? (rnd(2) ? luo : (nr_sessions && rnd(2) ?
			       sessions[rnd(nr_sessions)] : keep)) : some_fd();
	uint32_t exact = struct_size(cmd), size;
	int kind = rnd(8), ret, err;
	bool tail = false, at_end = rnd(4) == 0;
	uint8_t *arg;

	switch (kind) {
	case 0:
		size = 0;
		break;
	case 1:
		size = rnd(exact);
		break;
	case 2:
		size = exact + 1 + rnd(64);
		tail = true;
		break;
	case 3:
		size = 4097 + rnd(1 << 20);
		break;
	case 4:
		size = UINT32_MAX - rnd(16);
		break;
	default:
		size = exact + (rnd(2) ? 0 : 8 * rnd(8));
	}
	if (size <= 4096 && at_end)
		arg = arg_area + ARG_SPAN - (size < 8 ? 8 : size);
	else
		arg = arg_area;
	fill_arg(arg, size < 8 ? 8 : (size > 4096 ? 4096 : size));
	if (tail)
		arg[size - 1] = 1 + (uint8_t)rnd(255);
	memcpy(arg, &size, sizeof(size));

	calls++;
	ret = ioctl(target, cmd, arg);
	err = errno;
	if (ret < 0) {
		fails++;
		if (!known_errno(err))
			ksft_exit_fail_msg("ioctl 0x%x size %u on fd %d: unexpected %s\n",
					   cmd, size, target, strerror(err));
		if (size > 4096 && cmd_fits(target, cmd)) {
			if (err != E2BIG)
				ksft_exit_fail_msg("ioctl 0x%x size %u: %s, not E2BIG\n",
						   cmd, size, strerror(err));
			big_e2big++;
		}
		return;
	}
	succ++;
	if (size > 4096)
		ksft_exit_fail_msg("ioctl 0x%x with size %u succeeded\n", cmd, size);
	if (tail)
		tail_succeeded++;
	/* A new fd: a session to use, or a file to close. */
	if (cmd == LIVEUPDATE_IOCTL_CREATE_SESSION ||
	    cmd == LIVEUPDATE_IOCTL_RETRIEVE_SESSION) {
		int fd = ((struct liveupdate_ioctl_create_session *)arg)->fd;

		if (target != luo)
			return;
		if (nr_sessions < MAX_SESSIONS)
			sessions[nr_sessions++] = fd;
		else
			close(fd);
	} else if (cmd == LIVEUPDATE_SESSION_RETRIEVE_FD) {
		close(((struct liveupdate_session_retrieve_fd *)arg)->fd);
	}
}

static void other_op(void)
{
	int i;

	switch (rnd(3)) {
	case 0:		/* close a session */
		if (!nr_sessions)
			break;
		i = rnd(nr_sessions);
		close(sessions[i]);
		sessions[i] = sessions[--nr_sessions];
		break;
	case 1:		/* the device closed and opened again */
		close(luo);
		luo = __luo_open();
		if (luo < 0)
			ksft_exit_fail_msg("reopening %s: %s\n", LUO_DEVICE,
					   strerror(-luo));
		break;
	default:	/* a second opener */
		i = __luo_open();
		if (i != -EBUSY)
			ksft_exit_fail_msg("second open: %d\n", i);
	}
}

static unsigned long fuzz(unsigned long iters, unsigned long secs)
{
	time_t start = time(NULL);
	unsigned long n;

	for (n = 0; n < iters && time(NULL) - start < (time_t)secs; n++) {
		if (rnd(50) == 0)
			other_op();
		else
			one_call();
	}
	return n;
}

static void setup_args(void)
{
	arg_area = mmap(NULL, ARG_SPAN + 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arg_area == MAP_FAILED ||
	    mprotect(arg_area + ARG_SPAN, 4096, PROT_NONE))
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
}

static void stage1(const FIXTURE_VARIANT(fuzz) *variant)
{
	unsigned long iters = 20000, secs = 60, n;
	char buf[4096];
	time_t start = time(NULL);
	int i, m, fd_before, fd_after;
	uint64_t seed;

	luo_require();
	seed = lu_cmdline_get("lu.fuzz_seed", buf, 32) ? strtoull(buf, NULL, 0) :
	       (uint64_t)time(NULL) * 2654435761u;
	if (lu_cmdline_get("lu.fuzz_iters", buf, 32))
		iters = strtoul(buf, NULL, 0);
	if (lu_cmdline_get("lu.fuzz_secs", buf, 32))
		secs = strtoul(buf, NULL, 0);
	rng = seed | 1;
	ksft_print_msg("seed %llu (replay with lu.fuzz_seed=%llu), %lu calls, %lu s at most\n",
		       (unsigned long long)seed, (unsigned long long)seed, iters, secs);

	luo = luo_open();
	keep = luo_create_session(luo, KEEP);
	for (i = 0; i < KEEP_FILES; i++) {
		m = keep_memfd(i);
		luo_preserve_fd(keep, m, 1000 + i);
		close(m);
	}
	setup_args();
	make_fds();
	ksft_print_msg("%d target fds besides sessions\n", nr_fds);
	fd_before = count_fds();

	n = fuzz(iters, secs);
	ksft_print_msg("%lu rounds (a replay needs as many), %lu calls in %ld s: %lu ok, %lu not\n",
		       n, calls, (long)(time(NULL) - start), succ, fails);
	lu_check(calls > 0 && succ > 0 && fails > 0,
		 "every call succeeded or failed with a documented errno\n");
	lu_check(big_e2big > 0, "sizes over 4096: E2BIG (%lu times)\n",
		 big_e2big);
	lu_check(!tail_succeeded,
		 "a non-zero tail never succeeded (%lu did)\n", tail_succeeded);

	while (nr_sessions)
		close(sessions[--nr_sessions]);
	fd_after = count_fds();
	lu_check(fd_after == fd_before,
		 "no fd leaked: %d before, %d after\n", fd_before, fd_after);
	outgoing(buf, sizeof(buf));
	lu_check(strstr(buf, "file keep 1000 ") && strstr(buf, "file keep 1001 ") &&
		 strstr(buf, "file keep 1002 "),
		 "'keep' still holds its three memfds\n");
	lu_kexec_next(NULL);
}

static void stage2(const FIXTURE_VARIANT(fuzz) *variant)
{
	char buf[64], name[LIVEUPDATE_SESSION_NAME_LENGTH] = "";
	int fd, i, fd_before, fd_after;
	unsigned long n;
	long bad;

	luo_require();
	luo = luo_open();
	keep = luo_retrieve_session(luo, KEEP);
	for (i = 0; i < KEEP_FILES; i++) {
		fd = luo_retrieve_fd(keep, 1000 + i);
		bad = keep_check(fd, i);
		lu_check(bad < 0, "memfd %d: 1 MiB byte for byte (first bad: %ld)\n",
			 i, bad);
		close(fd);
	}
	lu_check(!__luo_get_session_name(keep, name, sizeof(name)) &&
		 !strcmp(name, KEEP), "the retrieved session is '%s'\n", name);

	/* The incoming side: retrieve, finish and names, with "keep" in. */
	rng = (lu_cmdline_get("lu.fuzz_seed", buf, 32) ?
	       strtoull(buf, NULL, 0) : (uint64_t)time(NULL)) * 31 | 1;
	incoming = true;
	setup_args();
	make_fds();
	fd_before = count_fds();
	n = fuzz(50000, 30);
	while (nr_sessions)
		close(sessions[--nr_sessions]);
	fd_after = count_fds();
	ksft_print_msg("incoming side: %lu rounds, %lu calls: %lu succeeded, %lu failed\n",
		       n, calls, succ, fails);
	lu_check(!tail_succeeded && fd_after == fd_before,
		 "incoming side: documented errnos, no tail taken, no fd leaked (%d, %d)\n",
		 fd_before, fd_after);
	lu_check(__luo_finish(keep) == 0,
		 "finish (again, maybe) releases what else the fuzzer preserved\n");
	close(keep);
}

FIXTURE_VARIANT_ADD(fuzz, ioctls) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, stages, LU_STAGE_TIMEOUT)
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
