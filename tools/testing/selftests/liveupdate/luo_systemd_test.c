// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: the protocol a service manager (systemd's
 * FileDescriptorStorePreserve=) plays with /dev/liveupdate, across a
 * kexec.
 *
 * Stage 1 is the manager and its units. Each unit is a child process
 * that hands the manager its file descriptor store over a unix socket
 * (SCM_RIGHTS), one named fd a message: memfds of every kind (plain,
 * sealed, empty, sparse, HugeTLB) and, like a unit that keeps its own
 * state, a LUO session of its own. One unit tries to hijack the
 * manager's session name, "systemd". On its way to the kexec the manager
 * tells session fds from other fds with LIVEUPDATE_SESSION_GET_NAME,
 * refuses the hijacker (closing it frees the name), creates its session
 * "systemd", preserves every other fd under a token of its choosing and
 * then, as token 0, a sealed memfd holding a JSON index: which unit,
 * which fd name, which token, in store order; unit sessions are listed
 * by name, since they cross on their own.
 *
 * Stage 2 retrieves "systemd", reads and checks the sealed index first,
 * takes every fd back in index order and checks it byte for byte with
 * its kind and seals, gives each unit its session back by name, and
 * finishes "systemd" only when every token is taken: a token the index
 * does not list does not exist, and the fds stay good after finish.
 *
 * One variant, fdstore (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define MANAGER_SESSION	"systemd"
#define NR_UNITS	3
#define NR_CONN		40		/* small memfds of unit 0 */
#define MAX_ENTRIES	128
#define SPARSE_SIZE	(16UL << 20)
#define HUGE_SIZE	(2UL << 20)
#define SEALED_SIZE	12345UL
#define STATE_SIZE	(256UL << 10)
#define INNER_TOKEN	7
#define INNER_SIZE	(64UL << 10)
#define INDEX_SEALS	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

FIXTURE(systemd) {};

FIXTURE_VARIANT(systemd) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(systemd) *variant);
};

/* One fd store entry: a unit's named fd. */
struct entry {
	char unit[32];
	char fdname[32];
	char kind[16];		/* memfd, sealed, empty, sparse, huge, session */
	char session[LIVEUPDATE_SESSION_NAME_LENGTH];
	uint64_t token;
	int fd;
};

static struct entry store[MAX_ENTRIES];
static int nr_store;

static uint32_t seed_of(const char *unit, const char *fdname)
{
	uint32_t h = 2166136261u;

	for (; *unit; unit++)
		h = (h ^ (uint8_t)*unit) * 16777619u;
	for (; *fdname; fdname++)
		h = (h ^ (uint8_t)*fdname) * 16777619u;
	return h;
}

static uint8_t byte_at(uint32_t seed, size_t off)
{
	uint32_t x = seed ^ (uint32_t)(off / 4096 * 2654435761u);

	return (uint8_t)(x >> (8 * (off % 4))) ^ (uint8_t)off;
}

static void pattern(uint8_t *p, size_t len, uint32_t seed, size_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = byte_at(seed, off + i);
}

/* The first offset in [off, off + len) that does not match, or -1. */
static long mismatch(const uint8_t *p, size_t len, uint32_t seed, size_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != byte_at(seed, off + i))
			return (long)(off + i);
	return -1;
}

static size_t size_of(const char *kind)
{
	if (!strcmp(kind, "memfd"))
		return STATE_SIZE;
	if (!strcmp(kind, "sealed"))
		return SEALED_SIZE;
	if (!strcmp(kind, "sparse"))
		return SPARSE_SIZE;
	if (!strcmp(kind, "huge"))
		return HUGE_SIZE;
	return 0;
}

/* The byte ranges of a file that hold data: all of it, or two pages. */
static int data_ranges(const char *kind, size_t off[2], size_t len[2])
{
	if (!strcmp(kind, "sparse")) {
		off[0] = 0;
		off[1] = SPARSE_SIZE / 2;
		len[0] = 4096;
		len[1] = 4096;
		return 2;
	}
	off[0] = 0;
	len[0] = size_of(kind);
	return len[0] ? 1 : 0;
}

static int make_file(const char *unit, const char *fdname, const char *kind)
{
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	uint32_t seed = seed_of(unit, fdname);
	size_t size = size_of(kind), off[2], len[2];
	int fd, i, n;
	uint8_t *p;

	if (!strcmp(kind, "huge"))
		flags = MFD_CLOEXEC | MFD_HUGETLB;
	fd = memfd_create(fdname, flags);
	if (fd < 0)
		return -errno;
	if (size && ftruncate(fd, size))
		return -errno;
	n = data_ranges(kind, off, len);
	for (i = 0; i < n; i++) {
		p = mmap(NULL, len[i], PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 off[i]);
		if (p == MAP_FAILED)
			return -errno;
		pattern(p, len[i], seed, off[i]);
		munmap(p, len[i]);
	}
	if (!strcmp(kind, "sealed") &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE))
		return -errno;
	return fd;
}

/* Check a retrieved file: kind, size, seals, data. NULL when good. */
static const char *check_file(int fd, const char *unit, const char *fdname,
			      const char *kind, char *why, size_t whylen)
{
	uint32_t seed = seed_of(unit, fdname);
	size_t off[2], len[2];
	struct statfs sfs;
	struct stat st;
	int i, n, seals;
	bool huge;
	long bad;
	uint8_t *p;

	if (fstat(fd, &st) || fstatfs(fd, &sfs))
		return "fstat failed";
	if ((size_t)st.st_size != size_of(kind)) {
		snprintf(why, whylen, "size %lld, want %zu",
			 (long long)st.st_size, size_of(kind));
		return why;
	}
	huge = sfs.f_type == HUGETLBFS_MAGIC;
	if (huge != !strcmp(kind, "huge"))
		return "wrong file system";
	seals = fcntl(fd, F_GET_SEALS);
	if (!strcmp(kind, "sealed") &&
	    seals != (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)) {
		snprintf(why, whylen, "seals 0x%x", seals);
		return why;
	}
	if (!strcmp(kind, "sparse") && st.st_blocks * 512 > 16 * 4096)
		return "no longer sparse";
	n = data_ranges(kind, off, len);
	for (i = 0; i < n; i++) {
		p = mmap(NULL, len[i], PROT_READ, MAP_SHARED, fd, off[i]);
		if (p == MAP_FAILED)
			return "mmap failed";
		bad = mismatch(p, len[i], seed, off[i]);
		munmap(p, len[i]);
		if (bad >= 0) {
			snprintf(why, whylen, "byte %ld differs", bad);
			return why;
		}
	}
	return NULL;
}

/* One named fd over a unix socket, the way sd_notify's FDSTORE=1 does. */
static void send_fd(int sock, const char *fdname, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { (void *)fdname, strlen(fdname) + 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) < 0)
		_exit(10);
}

static int recv_fd(int sock, char *fdname, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { fdname, len - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	int fd;

	if (n <= 0)
		return -1;
	fdname[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* A unit's own session, holding one memfd, as the unit leaves it. */
static int unit_session(const char *unit, const char *name)
{
	int luo, s, m;

	luo = __luo_open();
	if (luo < 0)
		_exit(20);
	s = __luo_create_session(luo, name);
	if (s < 0)
		_exit(21);
	m = make_file(unit, "inner", "memfd");
	if (m < 0 || __luo_preserve_fd(s, m, INNER_TOKEN))
		_exit(22);
	close(m);
	close(luo);
	return s;
}

static void unit_main(int sock, int k, bool huge)
{
	static const char *const kinds[] = { "memfd", "sealed", "empty", "sparse" };
	char unit[32], fdname[32];
	unsigned int i;
	int fd;

	snprintf(unit, sizeof(unit), "unit-%d.service", k);
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		fd = make_file(unit, kinds[i], kinds[i]);
		if (fd < 0)
			_exit(30 + i);
		send_fd(sock, kinds[i], fd);
		close(fd);
	}
	if (k == 0) {
		for (i = 0; i < NR_CONN; i++) {
			snprintf(fdname, sizeof(fdname), "conn-%u", i);
			fd = make_file(unit, fdname, "sealed");
			if (fd < 0)
				_exit(40);
			send_fd(sock, fdname, fd);
			close(fd);
		}
	}
	if (k == 1 && huge) {
		fd = make_file(unit, "huge", "huge");
		if (fd < 0)
			_exit(41);
		send_fd(sock, "huge", fd);
		close(fd);
	}
	snprintf(fdname, sizeof(fdname), "unit-%d", k);
	fd = unit_session(unit, fdname);
	send_fd(sock, "session", fd);
	_exit(0);
}

/* A unit that stores a session named like the manager's own. */
static void hijack_main(int sock)
{
	send_fd(sock, "session", unit_session("hijack.service", MANAGER_SESSION));
	_exit(0);
}

/* Run one unit; add what it stored to the manager's fd store. */
static void run_unit(const char *unit, void (*body)(int, int, bool), int k,
		     bool huge)
{
	char fdname[32];
	int sv[2], fd, status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		ksft_exit_fail_msg("socketpair: %s\n", strerror(errno));
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (!pid) {
		close(sv[0]);
		body(sv[1], k, huge);
	}
	close(sv[1]);
	while ((fd = recv_fd(sv[0], fdname, sizeof(fdname))) >= 0) {
		struct entry *e = &store[nr_store++];

		if (nr_store > MAX_ENTRIES)
			ksft_exit_fail_msg("fd store full\n");
		snprintf(e->unit, sizeof(e->unit), "%s", unit);
		snprintf(e->fdname, sizeof(e->fdname), "%s", fdname);
		e->fd = fd;
	}
	close(sv[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ksft_exit_fail_msg("unit %s failed (status 0x%x)\n", unit, status);
}

static void hijack_body(int sock, int k, bool huge)
{
	hijack_main(sock);
}

static bool hugetlb_ready(void)
{
	int fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	bool ok = fd >= 0 && write(fd, "4", 1) == 1;
	int m;

	if (fd >= 0)
		close(fd);
	m = ok ? memfd_create("probe", MFD_HUGETLB) : -1;
	ok = m >= 0 && !ftruncate(m, HUGE_SIZE);
	if (m >= 0)
		close(m);
	return ok;
}

static void stage1(const FIXTURE_VARIANT(systemd) *variant)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH], unit[32], *json;
	int luo, s, idx, i, k, err, nr_fds = 0, nr_sessions = 0;
	bool huge, refused = false;
	size_t used = 0, cap = 64 << 10;

	luo_require();
	huge = hugetlb_ready();
	for (k = 0; k < NR_UNITS; k++) {
		snprintf(unit, sizeof(unit), "unit-%d.service", k);
		run_unit(unit, unit_main, k, huge);
	}
	run_unit("hijack.service", hijack_body, 0, false);
	ksft_print_msg("fd store: %d entries from %d units%s\n", nr_store,
		       NR_UNITS + 1, huge ? "" : " (no HugeTLB pages: no huge fd)");

	/* Tell sessions from other files by asking for their names. */
	for (i = 0; i < nr_store; i++) {
		struct entry *e = &store[i];

		err = __luo_get_session_name(e->fd, name, sizeof(name));
		if (err == -ENOTTY) {
			snprintf(e->kind, sizeof(e->kind), "%s",
				 !strncmp(e->fdname, "conn-", 5) ? "sealed" :
				 e->fdname);
			continue;
		}
		if (err)
			ksft_exit_fail_msg("GET_NAME on %s/%s: %s\n", e->unit,
					   e->fdname, strerror(-err));
		if (!strcmp(name, MANAGER_SESSION)) {
			/* Never serialize a session that poses as ours. */
			close(e->fd);
			e->fd = -1;
			refused = true;
			continue;
		}
		snprintf(e->kind, sizeof(e->kind), "session");
		snprintf(e->session, sizeof(e->session), "%s", name);
	}
	lu_check(refused, "the session posing as '%s' was refused\n",
		 MANAGER_SESSION);

	luo = luo_open();
	s = __luo_create_session(luo, MANAGER_SESSION);
	lu_check(s >= 0, "closing it freed the name: '%s' created\n",
		 MANAGER_SESSION);
	if (s < 0)
		ksft_exit_fail_msg("create %s: %s\n", MANAGER_SESSION, strerror(-s));

	json = malloc(cap);
	if (!json)
		ksft_exit_fail_msg("out of memory\n");
	used += snprintf(json + used, cap - used,
			 "{\n\"version\": 1,\n\"manager\": \"lu-test\",\n\"entries\": [\n");
	/* Tokens are the manager's to choose: not in store order. */
	for (i = 0; i < nr_store; i++) {
		struct entry *e = &store[i];

		if (e->fd < 0)
			continue;
		if (!strcmp(e->kind, "session")) {
			nr_sessions++;
			used += snprintf(json + used, cap - used,
					 "{\"unit\": \"%s\", \"fdname\": \"%s\", \"session\": \"%s\"},\n",
					 e->unit, e->fdname, e->session);
			continue;
		}
		e->token = 1000 + (uint64_t)((i * 37) % 251);
		err = __luo_preserve_fd(s, e->fd, e->token);
		if (err)
			ksft_exit_fail_msg("preserving %s/%s (%s): %s\n", e->unit,
					   e->fdname, e->kind, strerror(-err));
		nr_fds++;
		used += snprintf(json + used, cap - used,
				 "{\"unit\": \"%s\", \"fdname\": \"%s\", \"token\": %llu, \"kind\": \"%s\"},\n",
				 e->unit, e->fdname, (unsigned long long)e->token,
				 e->kind);
	}
	used += snprintf(json + used, cap - used, "{}\n]\n}\n");
	if (used >= cap)
		ksft_exit_fail_msg("index too long\n");
	lu_check(nr_fds > NR_CONN, "%d fds of 5 kinds preserved\n", nr_fds);

	idx = memfd_create("fdstore-index", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	err = idx < 0 || write(idx, json, used) != (ssize_t)used ||
	      fcntl(idx, F_ADD_SEALS, INDEX_SEALS) ? -errno : 0;
	lu_check(!err, "index: %zu bytes of JSON, sealed\n", used);
	err = err ? err : __luo_preserve_fd(s, idx, 0);
	lu_check(!err, "index preserved as token 0: %s\n", strerror(-err));
	free(json);
	ksft_print_msg("%d unit sessions cross by name\n", nr_sessions);
	/* Unit sessions stay open: the manager holds them through the kexec. */
	lu_kexec_next(NULL);
}

/* Parse one index line; returns 1 for a file, 2 for a session, 0 else. */
static int parse_line(const char *line, struct entry *e)
{
	unsigned long long token;
	int n = 0;

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "{\"unit\": \"%31[^\"]\", \"fdname\": \"%31[^\"]\", %n",
		   e->unit, e->fdname, &n) != 2 || !n)
		return 0;
	line += n;
	if (sscanf(line, "\"token\": %llu, \"kind\": \"%15[^\"]\"}", &token,
		   e->kind) == 2) {
		e->token = token;
		return 1;
	}
	if (sscanf(line, "\"session\": \"%63[^\"]\"}", e->session) == 1)
		return 2;
	return 0;
}

static void stage2(const FIXTURE_VARIANT(systemd) *variant)
{
	int luo, s, idx, fd, us, err, n, nr_files = 0, nr_sessions = 0;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH], why[128], *json, *line, *save;
	const char *bad = NULL;
	uint64_t max_token = 0;
	struct entry e;
	struct stat st;
	ssize_t len;

	luo_require();
	luo = luo_open();
	s = luo_retrieve_session(luo, MANAGER_SESSION);
	lu_check(!__luo_get_session_name(s, name, sizeof(name)) &&
		 !strcmp(name, MANAGER_SESSION),
		 "session '%s' retrieved and named\n", MANAGER_SESSION);

	idx = luo_retrieve_fd(s, 0);
	lu_check(fcntl(idx, F_GET_SEALS) == INDEX_SEALS &&
		 write(idx, "x", 1) < 0 && errno == EPERM,
		 "token 0, the index, is still sealed\n");
	json = fstat(idx, &st) ? NULL : calloc(1, st.st_size + 1);
	if (!json)
		ksft_exit_fail_msg("index: %s\n", strerror(errno));
	len = pread(idx, json, st.st_size, 0);
	lu_check(len == st.st_size && strstr(json, "\"manager\": \"lu-test\""),
		 "the index is the manager's own (%zd bytes)\n", len);

	/* Take every fd back in index order, and check it. */
	for (line = strtok_r(json, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		n = parse_line(line, &e);
		if (n == 1) {
			fd = __luo_retrieve_fd(s, e.token);
			if (fd < 0) {
				snprintf(why, sizeof(why), "%s/%s: retrieve: %s",
					 e.unit, e.fdname, strerror(-fd));
				bad = bad ? bad : strdup(why);
				continue;
			}
			if (!bad)
				bad = check_file(fd, e.unit, e.fdname, e.kind,
						 why, sizeof(why));
			if (bad && bad == why)
				bad = strdup(why);
			if (e.token > max_token)
				max_token = e.token;
			nr_files++;
			close(fd);
		} else if (n == 2) {
			us = __luo_retrieve_session(luo, e.session);
			err = us < 0 ? us : __luo_get_session_name(us, name, sizeof(name));
			if (!err && strcmp(name, e.session))
				err = -EINVAL;
			fd = err ? err : __luo_retrieve_fd(us, INNER_TOKEN);
			if (fd < 0 || check_file(fd, e.unit, "inner", "memfd",
						 why, sizeof(why)) ||
			    __luo_finish(us)) {
				ksft_print_msg("unit session %s: %s\n", e.session,
					       strerror(fd < 0 ? -fd : EIO));
				bad = bad ? bad : "a unit session";
			}
			if (fd >= 0)
				close(fd);
			if (us >= 0)
				close(us);
			nr_sessions++;
		}
	}
	lu_check(!bad && nr_files > NR_CONN,
		 "%d fds back in index order, kind, seals and bytes intact%s%s\n",
		 nr_files, bad ? ": " : "", bad ? bad : "");
	lu_check(!bad && nr_sessions == NR_UNITS,
		 "%d unit sessions back by name, each with its memfd\n",
		 nr_sessions);
	lu_check(__luo_retrieve_session(luo, "unit-0") == -ENOENT,
		 "a finished and closed unit session is gone\n");
	lu_check(__luo_retrieve_fd(s, max_token + 1) == -ENOENT &&
		 __luo_retrieve_fd(s, 1) == -ENOENT,
		 "no token beyond the index\n");

	/* Every token is taken: now finish, and the fds stay good. */
	fd = luo_retrieve_fd(s, 1000);
	lu_check(__luo_finish(s) == 0, "'%s' finished\n", MANAGER_SESSION);
	lu_check(!check_file(fd, "unit-0.service", "memfd", "memfd", why,
			     sizeof(why)),
		 "a file taken back is intact after finish\n");
	lu_check(luo_sysfs("sessions_finished", name, sizeof(name)) ==
		 1 + NR_UNITS, "sysfs: %d sessions finished\n", 1 + NR_UNITS);
	close(s);
	lu_check(__luo_retrieve_session(luo, MANAGER_SESSION) == -ENOENT,
		 "'%s' is gone once closed\n", MANAGER_SESSION);
	free(json);
}

FIXTURE_VARIANT_ADD(systemd, fdstore) {
	.stage = { stage1, stage2 },
};

FIXTURE_SETUP(systemd)
{
}

FIXTURE_TEARDOWN(systemd)
{
}

TEST_F_TIMEOUT(systemd, stages, LU_STAGE_TIMEOUT)
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
