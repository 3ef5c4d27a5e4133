// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: threads and processes racing each other and reboot().
 *
 * Stage 1 races, with nothing left to chance in what it checks:
 * - a session closed by one thread while another preserves into it: the
 *   preserving thread sees only EBADF once the close won, the session's
 *   name is free again and its files can be preserved elsewhere;
 * - two processes passing session fds to each other (SCM_RIGHTS) and
 *   preserving into the same session at once, the child into a session
 *   it created through the parent's /dev/liveupdate and passed back;
 * and then NR_WORKERS threads create sessions, preserve memfds into them
 * and close some, while the main thread calls reboot() after a random
 * delay. Each worker logs every operation into a memfd preserved before
 * the race, "about to" before its ioctl and the result after: the log
 * crosses the kexec in place with whatever was written last. Meanwhile a
 * process fills the holes of a sparse preserved memfd, a page a
 * millisecond, and logs each page written.
 *
 * Stage 2 checks that every file preserved when the reboot won is there,
 * byte for byte, and nothing else: an operation that returned before the
 * reboot is there (or gone, for a close followed by a later success of
 * the same worker); one that was under way may be either; one never
 * tried or failed is not; sessions_in counts nothing beyond; every page
 * the hole writer wrote is there: once the freeze handed the memfd's
 * folios over, a write into a hole is refused (SIGBUS or EBUSY), not
 * lost. Then the same race again, while two threads also race each
 * other to retrieve, check and finish the spare sessions stage 1 left.
 * Stage 3 checks the second race as the first, that each spare was
 * retrieved by one thread at most and came over intact, and that no
 * spare crossed again.
 *
 * The harness fails the test on any report of lockdep, KASAN or the
 * hung-task detector. lu.race_seed=N replays a run (the seed is printed).
 *
 * One variant, reboot_race (lu.case= in vm/tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "lu_harness.h"
#include "lu_luo.h"

#define NR_WORKERS	3
#define MAX_ROUNDS	150	/* sessions a worker creates at most */
#define MAX_TOKENS	3	/* files per worker session at most */
#define MAX_RECS	1024	/* log records per worker */
#define NR_SPARE	48
#define NR_RETRIEVERS	2
#define NR_CLOSING	100	/* close-versus-preserve rounds */
#define CLOSING_FILES	64
#define NR_PASSED	40	/* tokens of session "passed" */
#define CHILD_TOKEN	7
#define FILE_SIZE	(16UL << 10)
#define LOG_TOKEN	1
#define LOG_MAGIC	0x6c752d7261636531ULL
#define MAX_DELAY_MS	120
#define HOLES_SIZE	(16UL << 20)	/* pages the hole writer fills */
#define HOLES_TOKEN	1

enum { OP_CREATE = 1, OP_PRESERVE, OP_CLOSE, OP_RETRIEVE, OP_VERIFY };
enum { ST_INTENT = 1, ST_DONE };

/* One operation; err is meaningful once state is ST_DONE. */
struct rec {
	uint32_t op;
	uint32_t state;
	int32_t err;
	uint32_t round;
	uint64_t token;
};

/* What crosses the kexec: written in place until the CPUs stop. */
struct race_log {
	uint64_t magic;
	/* The hole writer: the page it writes, pages done, where refused. */
	uint32_t hole_at, hole_done, hole_refused;
	int32_t hole_err;
	uint32_t nr[NR_WORKERS + NR_RETRIEVERS];
	struct rec rec[NR_WORKERS + NR_RETRIEVERS][MAX_RECS];
};

#define LOG_SIZE	((sizeof(struct race_log) + 0xfffUL) & ~0xfffUL)

FIXTURE(race) {};

FIXTURE_VARIANT(race) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(race) *variant);
};

static int luo;
static struct race_log *lg;
static int cur_stage;
static unsigned int seed;
static int stop;		/* set when reboot() returned: it failed */
static int holes = -1;		/* the sparse memfd of the hole writer */

static bool stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static uint64_t file_seed(int stage, int who, int round, uint64_t token)
{
	return ((uint64_t)stage << 48) | ((uint64_t)who << 32) |
	       ((uint64_t)round << 8) | token;
}

static void fill(int fd, uint64_t s)
{
	uint64_t buf[FILE_SIZE / 8];

	for (size_t i = 0; i < FILE_SIZE / 8; i++)
		buf[i] = s * 0x9e3779b97f4a7c15ULL + i;
	if (pwrite(fd, buf, FILE_SIZE, 0) != (ssize_t)FILE_SIZE)
		ksft_exit_fail_msg("pwrite: %s\n", strerror(errno));
}

/* 0 when the file holds the pattern of @s, else -EILSEQ or -errno. */
static int check(int fd, uint64_t s)
{
	uint64_t buf[FILE_SIZE / 8];

	if (pread(fd, buf, FILE_SIZE, 0) != (ssize_t)FILE_SIZE)
		return -errno ? -errno : -EIO;
	for (size_t i = 0; i < FILE_SIZE / 8; i++)
		if (buf[i] != s * 0x9e3779b97f4a7c15ULL + i)
			return -EILSEQ;
	return 0;
}

static int new_file(uint64_t s)
{
	int fd = memfd_create("race", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, FILE_SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	fill(fd, s);
	return fd;
}

/* Log "about to" for @who; returns the record to complete. */
static struct rec *log_begin(int who, uint32_t op, uint32_t round,
			     uint64_t token)
{
	uint32_t n = lg->nr[who];
	struct rec *r;

	if (n >= MAX_RECS)
		return NULL;
	r = &lg->rec[who][n];
	r->op = op;
	r->round = round;
	r->token = token;
	r->err = 0;
	__atomic_store_n(&r->state, ST_INTENT, __ATOMIC_RELEASE);
	__atomic_store_n(&lg->nr[who], n + 1, __ATOMIC_RELEASE);
	return r;
}

static void log_end(struct rec *r, int err)
{
	r->err = err;
	__atomic_store_n(&r->state, ST_DONE, __ATOMIC_RELEASE);
}

static void session_name(char *buf, size_t len, int stage, int who, int round)
{
	snprintf(buf, len, "race%d-w%d-%d", stage, who, round);
}

/*
 * Create sessions, preserve files into them, close some. Once the reboot
 * froze the sessions every create and preserve must fail: go on trying
 * until the CPUs stop.
 */
static void *worker(void *arg)
{
	int who = (long)arg, fd, mfd, err, nr_tokens;
	unsigned int rs = seed ^ (who * 7919);
	char name[64];
	struct rec *r;

	for (int round = 0; round < MAX_ROUNDS && !stopped(); round++) {
		session_name(name, sizeof(name), cur_stage, who, round);
		r = log_begin(who, OP_CREATE, round, 0);
		if (!r)
			return NULL;
		fd = __luo_create_session(luo, name);
		log_end(r, fd < 0 ? fd : 0);
		if (fd < 0)
			continue;
		nr_tokens = 1 + rand_r(&rs) % MAX_TOKENS;
		for (int tok = 1; tok <= nr_tokens; tok++) {
			mfd = new_file(file_seed(cur_stage, who, round, tok));
			r = log_begin(who, OP_PRESERVE, round, tok);
			if (!r)
				return NULL;
			err = __luo_preserve_fd(fd, mfd, tok);
			log_end(r, err);
			close(mfd);
			if (err)
				break;
		}
		if (rand_r(&rs) % 3 == 0) {
			r = log_begin(who, OP_CLOSE, round, 0);
			if (!r)
				return NULL;
			close(fd);
			log_end(r, 0);
		}
	}
	return NULL;
}

/* Race the other retriever for every spare: retrieve, check, finish. */
static void *retriever(void *arg)
{
	int who = (long)arg, s, fd, err;
	char name[64];
	struct rec *r;

	for (int i = 0; i < NR_SPARE && !stopped(); i++) {
		/* The two go through the spares from both ends. */
		int j = who > NR_WORKERS ? NR_SPARE - 1 - i : i;

		snprintf(name, sizeof(name), "spare-%d", j);
		r = log_begin(who, OP_RETRIEVE, j, 0);
		if (!r)
			return NULL;
		s = __luo_retrieve_session(luo, name);
		log_end(r, s < 0 ? s : 0);
		if (s < 0)
			continue;
		r = log_begin(who, OP_VERIFY, j, 1);
		if (!r)
			return NULL;
		fd = __luo_retrieve_fd(s, 1);
		err = fd < 0 ? fd : check(fd, file_seed(0, 0, j, 1));
		if (!err)
			err = __luo_finish(s);
		log_end(r, err);
		if (fd >= 0)
			close(fd);
		close(s);
	}
	return NULL;
}

static void make_log(const char *name)
{
	int s = luo_create_session(luo, name);
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, LOG_SIZE))
		ksft_exit_fail_msg("log memfd: %s\n", strerror(errno));
	lg = mmap(NULL, LOG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (lg == MAP_FAILED)
		ksft_exit_fail_msg("mmap log: %s\n", strerror(errno));
	/* Every page now: a frozen memfd takes no new one. */
	memset(lg, 0, LOG_SIZE);
	lg->magic = LOG_MAGIC;
	luo_preserve_fd(s, fd, LOG_TOKEN);
}

static const struct race_log *take_log(const char *name)
{
	int s = luo_retrieve_session(luo, name);
	int fd = luo_retrieve_fd(s, LOG_TOKEN);
	const struct race_log *in;

	in = mmap(NULL, LOG_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (in == MAP_FAILED)
		ksft_exit_fail_msg("mmap log: %s\n", strerror(errno));
	if (in->magic != LOG_MAGIC)
		ksft_exit_fail_msg("%s: the log came over without its magic\n",
				   name);
	return in;
}

static uint64_t hole_word(uint32_t page, size_t i)
{
	return ((uint64_t)page << 32 | i) ^ 0x5a5aa5a55a5aa5a5ULL;
}

static void on_sigbus(int sig)
{
	lg->hole_refused = lg->hole_at + 1;
	lg->hole_err = SIGBUS;
	_exit(0);
}

/*
 * A process that goes on writing through the reboot, each page of a
 * sparse preserved memfd in turn, the even ones through a shared mapping
 * and the odd ones with pwrite(): once the freeze handed the memfd's
 * folios over, a page in a hole cannot cross, and must be refused
 * (SIGBUS, EBUSY) rather than written and lost.
 */
static void start_hole_writer(void)
{
	uint64_t buf[4096 / 8];
	uint8_t *map;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (pid)
		return;
	signal(SIGBUS, on_sigbus);
	map = mmap(NULL, HOLES_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   holes, 0);
	if (map == MAP_FAILED)
		_exit(1);
	for (uint32_t page = 0; page < HOLES_SIZE / 4096; page++) {
		uint64_t *dst = page % 2 ? buf : (uint64_t *)(map + page * 4096UL);

		__atomic_store_n(&lg->hole_at, page, __ATOMIC_RELEASE);
		for (size_t i = 0; i < 4096 / 8; i++)
			dst[i] = hole_word(page, i);
		if (page % 2 && pwrite(holes, buf, 4096, page * 4096UL) != 4096) {
			lg->hole_err = errno;
			lg->hole_refused = page + 1;
			_exit(0);
		}
		__atomic_store_n(&lg->hole_done, page + 1, __ATOMIC_RELEASE);
		usleep(1000);
	}
	_exit(0);
}

static void make_holes(const char *name)
{
	int s = luo_create_session(luo, name);

	holes = memfd_create(name, MFD_CLOEXEC);
	if (holes < 0 || ftruncate(holes, HOLES_SIZE))
		ksft_exit_fail_msg("holes memfd: %s\n", strerror(errno));
	luo_preserve_fd(s, holes, HOLES_TOKEN);
}

/* Every page the writer wrote came over; a refusal is SIGBUS or EBUSY. */
static void check_holes(const struct race_log *in, const char *name)
{
	int s = luo_retrieve_session(luo, name);
	int fd = luo_retrieve_fd(s, HOLES_TOKEN);
	uint32_t bad = 0, first_bad = 0;
	const uint64_t *map;

	map = mmap(NULL, HOLES_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		ksft_exit_fail_msg("mmap %s: %s\n", name, strerror(errno));
	for (uint32_t page = 0; page < in->hole_done; page++) {
		for (size_t i = 0; i < 4096 / 8; i++) {
			if (map[page * 512UL + i] != hole_word(page, i)) {
				if (!bad++)
					first_bad = page;
				break;
			}
		}
	}
	ksft_print_msg("%s: %u pages written, refused at page %d (%s)\n",
		       name, in->hole_done, (int)in->hole_refused - 1,
		       in->hole_err == SIGBUS ? "SIGBUS" :
		       in->hole_err ? strerror(in->hole_err) : "-");
	/*
	 * Whether the writer ran again between the freeze and the kexec is up
	 * to the scheduler; that no page it wrote was lost is not.
	 */
	lu_check(!bad && (!in->hole_refused || in->hole_err == SIGBUS ||
			  in->hole_err == EBUSY),
		 "a writer filling holes through the reboot: no page lost (%u bad, the first %u)\n",
		 bad, first_bad);
	munmap((void *)map, HOLES_SIZE);
	luo_finish(s);
	close(fd);
	close(s);
}

struct closing {
	int session;
	int files[CLOSING_FILES];
	int ok, ebadf, other;
};

static void *closing_preserver(void *arg)
{
	struct closing *c = arg;

	for (int i = 0; i < CLOSING_FILES; i++) {
		int err = __luo_preserve_fd(c->session, c->files[i], i + 1);

		if (err) {
			if (err == -EBADF)
				c->ebadf++;
			else
				c->other = err;
			break;
		}
		c->ok++;
	}
	return NULL;
}

/*
 * One thread preserves into a session while another closes it. The files
 * are made first so that no fd number is reused during the race.
 */
static void test_close_vs_preserve(void)
{
	int ok = 0, won = 0, other = 0, again = 0, reuse = 0, i, k, s;
	unsigned int rs = seed;
	struct closing c;
	pthread_t t;

	for (k = 0; k < CLOSING_FILES; k++)
		c.files[k] = new_file(k);
	for (i = 0; i < NR_CLOSING; i++) {
		c.session = luo_create_session(luo, "closing");
		c.ok = 0;
		c.ebadf = 0;
		c.other = 0;
		if (pthread_create(&t, NULL, closing_preserver, &c))
			ksft_exit_fail_msg("pthread_create\n");
		usleep(rand_r(&rs) % 3000);
		close(c.session);
		pthread_join(t, NULL);
		ok += c.ok;
		won += c.ebadf;
		if (c.other && !other)
			ksft_print_msg("round %d: preserve failed with %s, not EBADF\n",
				       i, strerror(-c.other));
		other += !!c.other;

		/* The close took the session's name and files with it. */
		s = __luo_create_session(luo, "closing");
		if (s < 0) {
			ksft_print_msg("round %d: the name is still taken: %s\n",
				       i, strerror(-s));
			again++;
			continue;
		}
		k = __luo_preserve_fd(s, c.files[0], 1);
		if (k) {
			ksft_print_msg("round %d: %s of the closed session: %s\n",
				       i, "preserving a file again", strerror(-k));
			reuse++;
		}
		close(s);
	}
	for (k = 0; k < CLOSING_FILES; k++)
		close(c.files[k]);
	ksft_print_msg("close versus preserve: %d preserves, %s %d of %d rounds\n",
		       ok, "the close won", won, NR_CLOSING);
	lu_check(!other && !again && !reuse && won > 0,
		 "a session closed while another thread preserves into it: EBADF, then its name and files are free\n");
}

static void send_fds(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		ksft_exit_fail_msg("sendmsg: %s\n", strerror(errno));
}

static void recv_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		ksft_exit_fail_msg("recvmsg: %s\n", strerror(errno));
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(n * sizeof(int)))
		ksft_exit_fail_msg("recvmsg: no %d fds\n", n);
	memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
}

/* Preserve the tokens of "passed" that are @odd, from 1 to NR_PASSED. */
static int preserve_passed(int s, int odd)
{
	int bad = 0;

	for (int tok = 2 - odd; tok <= NR_PASSED; tok += 2) {
		int fd = new_file(file_seed(0, 1, 0, tok));

		bad |= __luo_preserve_fd(s, fd, tok);
		close(fd);
	}
	return bad;
}

/*
 * The parent creates "passed" and sends it, with /dev/liveupdate, to a
 * child; both preserve into it at once. The child creates "child"
 * through the parent's /dev/liveupdate and passes it back, then exits:
 * the sessions stay while the parent holds them.
 */
static void test_passed_fds(void)
{
	int sv[2], fds[2], s, status, bad;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		ksft_exit_fail_msg("socketpair: %s\n", strerror(errno));
	s = luo_create_session(luo, "passed");
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (!pid) {
		int got[2], c, fd;

		recv_fds(sv[1], got, 2);
		bad = preserve_passed(got[1], 1);
		c = __luo_create_session(got[0], "child");
		if (c < 0)
			_exit(2);
		fd = new_file(file_seed(0, 2, 0, CHILD_TOKEN));
		bad |= __luo_preserve_fd(c, fd, CHILD_TOKEN);
		send_fds(sv[1], &c, 1);
		_exit(bad ? 1 : 0);
	}
	fds[0] = luo;
	fds[1] = s;
	send_fds(sv[0], fds, 2);
	bad = preserve_passed(s, 0);
	recv_fds(sv[0], fds, 1);
	if (waitpid(pid, &status, 0) != pid)
		ksft_exit_fail_msg("waitpid: %s\n", strerror(errno));
	close(sv[0]);
	close(sv[1]);
	lu_check(!bad && WIFEXITED(status) && !WEXITSTATUS(status),
		 "two processes preserve into sessions they pass each other\n");
	/* fds[0] ("child") and s stay open until the reboot. */
}

static void check_passed(void)
{
	int s, c, fd, bad = 0;

	s = __luo_retrieve_session(luo, "passed");
	c = __luo_retrieve_session(luo, "child");
	if (s < 0 || c < 0) {
		lu_check(false, "sessions passed between processes: %s\n",
			 strerror(-(s < 0 ? s : c)));
		return;
	}
	for (int tok = 1; tok <= NR_PASSED; tok++) {
		fd = __luo_retrieve_fd(s, tok);
		bad += fd < 0 || check(fd, file_seed(0, 1, 0, tok));
		if (fd >= 0)
			close(fd);
	}
	bad += __luo_retrieve_fd(s, NR_PASSED + 1) != -ENOENT;
	fd = __luo_retrieve_fd(c, CHILD_TOKEN);
	bad += fd < 0 || check(fd, file_seed(0, 2, 0, CHILD_TOKEN));
	luo_finish(s);
	luo_finish(c);
	close(s);
	close(c);
	if (fd >= 0)
		close(fd);
	lu_check(!bad,
		 "sessions passed between processes came over: %d tokens and the child's (%d wrong)\n",
		 NR_PASSED, bad);
}

static void make_spares(void)
{
	for (int i = 0; i < NR_SPARE; i++) {
		char name[32];
		int s, fd;

		snprintf(name, sizeof(name), "spare-%d", i);
		s = luo_create_session(luo, name);
		fd = new_file(file_seed(0, 0, i, 1));
		luo_preserve_fd(s, fd, 1);
		close(fd);
	}
}

/* What a worker's log says about one of its sessions. */
struct verdict {
	int create;		/* 0 not tried, ST_INTENT, ST_DONE (ok) */
	int closed;		/* 0, ST_INTENT, ST_DONE, ST_DONE + 1 (sure) */
	int token[MAX_TOKENS + 1];	/* 0, ST_INTENT, ST_DONE (ok) */
};

/*
 * Check one stage's workers against what came over; return the number of
 * sessions found. A close is sure to have removed the session only when
 * a later operation of the same worker succeeded: it then ran before the
 * freeze.
 */
static int check_workers(const struct race_log *in, int stage, int *bad)
{
	static struct verdict v[MAX_ROUNDS];
	int found = 0, must = 0, shown = 0, refused = 0;

	for (int w = 0; w < NR_WORKERS; w++) {
		uint32_t nr = in->nr[w];
		int last_ok = -1;

		memset(v, 0, sizeof(v));
		if (nr > MAX_RECS) {
			ksft_print_msg("worker %d: %u records\n", w, nr);
			(*bad)++;
			continue;
		}
		for (uint32_t i = 0; i < nr; i++) {
			const struct rec *r = &in->rec[w][i];

			if (r->state == ST_DONE && !r->err && r->op != OP_CLOSE)
				last_ok = i;
		}
		for (uint32_t i = 0; i < nr; i++) {
			const struct rec *r = &in->rec[w][i];
			int st = r->state;

			if (r->round >= MAX_ROUNDS || r->token > MAX_TOKENS ||
			    (st != ST_INTENT && st != ST_DONE)) {
				ksft_print_msg("worker %d: record %u of %u: op %u state %u\n",
					       w, i, nr, r->op, st);
				(*bad)++;
				break;
			}
			/* Only the freeze may fail an operation. */
			if (st == ST_DONE && r->err && r->err != -EBUSY) {
				ksft_print_msg("worker %d: op %u of session %u failed: %s\n",
					       w, r->op, r->round, strerror(-r->err));
				(*bad)++;
			}
			if (st == ST_DONE && r->err) {
				refused++;
				continue;
			}
			switch (r->op) {
			case OP_CREATE:
				v[r->round].create = st;
				break;
			case OP_PRESERVE:
				v[r->round].token[r->token] = st;
				break;
			case OP_CLOSE:
				v[r->round].closed = st == ST_DONE &&
					(int)i < last_ok ? ST_DONE + 1 : st;
				break;
			}
		}
		for (int round = 0; round < MAX_ROUNDS; round++) {
			struct verdict *e = &v[round];
			char name[64];
			int s, fd, err;

			if (!e->create)
				continue;
			session_name(name, sizeof(name), stage, w, round);
			s = __luo_retrieve_session(luo, name);
			if (s < 0) {
				if (s != -ENOENT || (e->create == ST_DONE &&
						     !e->closed)) {
					if (shown++ < 5)
						ksft_print_msg("%s: missing (%s)\n",
							       name, strerror(-s));
					(*bad)++;
				}
				continue;
			}
			found++;
			must += e->create == ST_DONE && !e->closed;
			if (e->closed > ST_DONE) {
				if (shown++ < 5)
					ksft_print_msg("%s: closed before the reboot, yet here\n",
						       name);
				(*bad)++;
			}
			for (int tok = 1; tok <= MAX_TOKENS; tok++) {
				fd = __luo_retrieve_fd(s, tok);
				if (fd < 0) {
					err = fd != -ENOENT ||
					      e->token[tok] == ST_DONE;
				} else {
					err = !e->token[tok] ||
					      check(fd, file_seed(stage, w, round, tok));
					close(fd);
				}
				if (err && shown++ < 5)
					ksft_print_msg("%s: token %d: %s (logged %d)\n",
						       name, tok, fd < 0 ?
						       strerror(-fd) : "wrong",
						       e->token[tok]);
				*bad += !!err;
			}
			luo_finish(s);
			close(s);
		}
	}
	ksft_print_msg("stage %d race: %d sessions came over (%d certain), %d ops refused\n",
		       stage, found, must, refused);
	return found;
}

/* sessions_in counts exactly what was found: nothing else came over. */
static void check_nothing_else(int found)
{
	char buf[32];
	long long in = luo_sysfs("sessions_in", buf, sizeof(buf));

	lu_check(in == found,
		 "nothing else came over: %lld sessions handed over, %d found\n",
		 in, found);
}

/* Start the threads, then reboot() after a random delay. */
static void race_reboot(int retrievers)
{
	pthread_t t[NR_WORKERS + NR_RETRIEVERS];
	unsigned int rs = seed + cur_stage;
	int n = 0, ret, delay;
	char extra[64];

	/* A failed check ends the test here, as lu_kexec_next() would. */
	if (lu_checks_failed())
		ksft_exit_fail_msg("stage %d: %d check(s) failed, not moving on\n",
				   cur_stage, lu_checks_failed());
	delay = rand_r(&rs) % MAX_DELAY_MS;
	snprintf(extra, sizeof(extra), "lu.race_seed=%u", seed);
	ret = __lu_kexec_load_next(extra);
	if (ret)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-ret));
	lu_leak_scan();
	start_hole_writer();
	ksft_print_msg("stage %d: %d workers%s race reboot(), due in %d ms\n",
		       cur_stage, NR_WORKERS,
		       retrievers ? " and two retrievers" : "", delay);
	for (long w = 0; w < NR_WORKERS; w++, n++)
		if (pthread_create(&t[n], NULL, worker, (void *)w))
			ksft_exit_fail_msg("pthread_create\n");
	for (long r = 0; retrievers && r < NR_RETRIEVERS; r++, n++)
		if (pthread_create(&t[n], NULL, retriever,
				   (void *)(NR_WORKERS + r)))
			ksft_exit_fail_msg("pthread_create\n");
	usleep(delay * 1000);
	ret = __lu_kexec_reboot();
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	ksft_exit_fail_msg("reboot(LINUX_REBOOT_CMD_KEXEC): %s\n",
			   strerror(-ret));
}

/* What every stage starts with: the seed and /dev/liveupdate. */
static void race_start(void)
{
	char val[32];

	luo_require();
	cur_stage = lu_stage();
	seed = lu_cmdline_get("lu.race_seed", val, sizeof(val)) ?
	       strtoul(val, NULL, 0) : (unsigned int)time(NULL);
	ksft_print_msg("seed %u (lu.race_seed=%u replays it)\n", seed, seed);
	luo = luo_open();
}

static void stage_1(const FIXTURE_VARIANT(race) *variant)
{
	race_start();
	make_log("race-log1");
	make_holes("race-holes1");
	test_close_vs_preserve();
	test_passed_fds();
	make_spares();
	race_reboot(0);
}

static void stage_2(const FIXTURE_VARIANT(race) *variant)
{
	const struct race_log *in;
	int bad = 0, found;

	race_start();
	in = take_log("race-log1");
	check_holes(in, "race-holes1");
	check_passed();
	found = check_workers(in, 1, &bad);
	lu_check(!bad && __luo_retrieve_session(luo, "closing") == -ENOENT,
		 "every file preserved when reboot() won came over, and no closed session\n");
	/* The log, the holes, "passed", "child" and the spares. */
	check_nothing_else(found + 4 + NR_SPARE);
	make_log("race-log2");
	make_holes("race-holes2");
	race_reboot(1);
}

static void stage_3(const FIXTURE_VARIANT(race) *variant)
{
	int bad = 0, found, got[NR_SPARE] = { 0 }, verified = 0, err;
	const struct race_log *in;

	race_start();
	in = take_log("race-log2");
	check_holes(in, "race-holes2");
	found = check_workers(in, 2, &bad);
	lu_check(!bad,
		 "the second race: every file preserved when reboot() won came over\n");
	check_nothing_else(found + 2);
	bad = 0;

	/* One retriever at most got each spare; what it read was intact. */
	for (int w = NR_WORKERS; w < NR_WORKERS + NR_RETRIEVERS; w++) {
		for (uint32_t i = 0; i < in->nr[w] && i < MAX_RECS; i++) {
			const struct rec *r = &in->rec[w][i];

			if (r->state != ST_DONE || r->round >= NR_SPARE)
				continue;
			if (r->op == OP_RETRIEVE && !r->err) {
				got[r->round]++;
			} else if ((r->op == OP_RETRIEVE && r->err != -EINVAL &&
				    r->err != -ENOENT) ||
				   (r->op == OP_VERIFY && r->err)) {
				ksft_print_msg("retriever %d: op %u of spare-%u: %s\n",
					       w - NR_WORKERS, r->op, r->round,
					       strerror(-r->err));
				bad++;
			} else if (r->op == OP_VERIFY) {
				verified++;
			}
		}
	}
	for (int i = 0; i < NR_SPARE; i++) {
		char name[32];

		snprintf(name, sizeof(name), "spare-%d", i);
		err = __luo_retrieve_session(luo, name);
		if (got[i] > 1 || err != -ENOENT) {
			ksft_print_msg("%s: retrieved %d times in stage 2, now: %s\n",
				       name, got[i], strerror(-err));
			bad++;
		}
	}
	lu_check(!bad,
		 "the retrievers: %d spares checked and finished before the reboot, none twice, none came over again\n",
		 verified);
}

FIXTURE_VARIANT_ADD(race, reboot_race) {
	.stage = { stage_1, stage_2, stage_3 },
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F_TIMEOUT(race, stages, LU_STAGE_TIMEOUT)
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
