// SPDX-License-Identifier: GPL-2.0
/*
 * luod_fuzz - a bounded fuzz test of luod's socket protocol.
 *
 * Starts luod --no-device (no /dev/liveupdate needed) on a socket in a
 * fresh directory under /tmp, waits for its sd_notify READY=1, then sends
 * a bounded number of malformed, truncated, oversized and random
 * messages and floods of file descriptors, each on its own connection or
 * on a long-lived one. Every malformed request must get an error reply
 * (or, after a framing error, the connection closed); a well-behaved
 * client must keep being served throughout; luod must not leak file
 * descriptors and must exit cleanly on SIGTERM.
 *
 * Usage: luod_fuzz [-l LUOD] [-n ITERATIONS] [-t SECONDS] [-S SEED]
 * Exit status: 0 pass, 1 fail, 4 skip (luod not found).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../luod.h"

#define FZ_MAX_FDS	8
#define FZ_MAX_CLIENTS	32
#define FZ_IDLE		40
#define FZ_GOOD_EVERY	50
#define KSFT_SKIP	4

static char dir[64], sock_path[96], notify_path[96];
static pid_t luod_pid = -1;
static int good = -1;
static int nr_test, nr_fail;
static unsigned long nr_case[16];

static void result(bool ok, const char *fmt, const char *arg)
{
	nr_test++;
	if (!ok)
		nr_fail++;
	printf("%s %d - ", ok ? "ok" : "not ok", nr_test);
	printf(fmt, arg);
	putchar('\n');
	fflush(stdout);
}

static void cleanup(void)
{
	char path[192];

	if (luod_pid > 0) {
		kill(luod_pid, SIGKILL);
		waitpid(luod_pid, NULL, 0);
	}
	unlink(sock_path);
	unlink(notify_path);
	snprintf(path, sizeof(path), "%s/luod.log", dir);
	unlink(path);
	rmdir(dir);
}

static void bail(const char *what)
{
	char path[192], buf[4096];
	ssize_t n;
	int fd;

	printf("Bail out! %s\n", what);
	snprintf(path, sizeof(path), "%s/luod.log", dir);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			printf("# luod's log:\n%s", buf);
		}
		close(fd);
	}
	cleanup();
	exit(1);
}

static unsigned int rnd(unsigned int n)
{
	return n ? (unsigned int)random() % n : 0;
}

static void rnd_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len--)
		*p++ = random();
}

static int fz_connect(void)
{
	struct timeval tv = { .tv_sec = 3 };
	int s = luod_connect(sock_path);

	if (s >= 0)
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

/* Send @len bytes with @nfds copies of a memfd attached. */
static int send_raw(int s, const void *buf, size_t len, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int fds[64], i, ret;

	if (nfds > 64)
		nfds = 64;
	for (i = 0; i < nfds; i++)
		fds[i] = memfd_create("fuzz", MFD_CLOEXEC);
	if (nfds) {
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ret = sendmsg(s, &m, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return ret;
}

static void make_hdr(void *buf, uint16_t op, uint32_t len)
{
	struct luod_hdr h = {
		.magic = LUOD_MAGIC, .version = LUOD_PROTO_VERSION,
		.opcode = op, .length = len,
	};

	memcpy(buf, &h, sizeof(h));
}

/*
 * Read one reply, dropping its payload and fds. Return 0 with @h set,
 * 1 at EOF (or reset), -ETIMEDOUT when luod does not answer.
 */
static int read_reply(int s, struct luod_hdr *h)
{
	char buf[4096], cbuf[CMSG_SPACE(sizeof(int) * 4)];
	size_t got = 0, want = sizeof(*h), total;
	ssize_t n;

	total = want;
	while (got < total) {
		struct iovec iov = { buf, got < want ? want - got :
				     (total - got > sizeof(buf) ?
				      sizeof(buf) : total - got) };
		struct msghdr m = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *c;

		n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (n <= 0)
			return 1;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			int fd, i, nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (i = 0; i < nr; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
				close(fd);
			}
		}
		if (got < want) {
			memcpy((char *)h + got, buf, n);
			got += n;
			if (got == want) {
				if (h->magic != LUOD_MAGIC ||
				    h->length > LUOD_MAX_REPLY)
					return -EPROTO;
				total = want + h->length;
			}
		} else {
			got += n;
		}
	}
	return 0;
}

/* Expect an error reply; with @then_eof, then the connection closed. */
static bool expect_error(int s, int err, bool then_eof)
{
	struct luod_hdr h;
	int ret = read_reply(s, &h);

	if (ret == 1 && !err)
		return true;	/* closed before answering: allowed */
	if (ret)
		return false;
	if (!h.error || (err && h.error != err))
		return false;
	if (then_eof)
		return read_reply(s, &h) == 1;
	return true;
}

static bool good_check(const char *why)
{
	static const char msg[] = "fuzz: the good client is still served";
	struct luod_session_info info[LUOD_MAX_SESSIONS];
	char buf[64] = { 0 };
	int nr, fd, i;
	bool found = false;

	if (luod_log(good, msg))
		goto fail;
	nr = luod_list(good, info, LUOD_MAX_SESSIONS);
	for (i = 0; i < nr; i++)
		found |= !strcmp(info[i].name, "good");
	if (!found)
		goto fail;
	if (luod_retrieve_session(good, "good"))
		goto fail;
	fd = luod_retrieve_fd(good, 1);
	if (fd < 0)
		goto fail;
	if (pread(fd, buf, sizeof(buf) - 1, 0) < 0 || strcmp(buf, "good data")) {
		close(fd);
		goto fail;
	}
	close(fd);
	return true;
fail:
	printf("# good client failed %s\n", why);
	return false;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dp;
	int nr = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dp = opendir(path);
	if (!dp)
		return -1;
	while ((d = readdir(dp)))
		nr += d->d_name[0] != '.';
	closedir(dp);
	return nr;
}

static int held_files(void)
{
	struct luod_session_info info[LUOD_MAX_SESSIONS];
	int nr, i, sum = 0;

	nr = luod_list(good, info, LUOD_MAX_SESSIONS);
	for (i = 0; i < nr; i++)
		sum += info[i].nr_files;
	return nr < 0 ? -1 : sum;
}

static void start_luod(const char *luod)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	char buf[64], logpath[192];
	ssize_t n;
	int ns, fd;

	snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", notify_path);
	ns = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ns < 0 || bind(ns, (struct sockaddr *)&sun, sizeof(sun)))
		bail("cannot bind the notify socket");
	snprintf(logpath, sizeof(logpath), "%s/luod.log", dir);

	luod_pid = fork();
	if (luod_pid < 0)
		bail("fork failed");
	if (!luod_pid) {
		char maxfds[16], maxcl[16];

		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		snprintf(maxfds, sizeof(maxfds), "%d", FZ_MAX_FDS);
		snprintf(maxcl, sizeof(maxcl), "%d", FZ_MAX_CLIENTS);
		setenv("NOTIFY_SOCKET", notify_path, 1);
		execl(luod, luod, "--no-device", "--no-kmsg", "--socket",
		      sock_path, "--max-fds", maxfds, "--max-clients", maxcl,
		      (char *)NULL);
		_exit(127);
	}
	pfd.fd = ns;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1)
		bail("luod did not send READY=1 within 5 s");
	n = recv(ns, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	result(n == 7 && !strcmp(buf, "READY=1"), "sd_notify sends %s", "READY=1");
	close(ns);
}

/* One fuzz case; return false if luod misbehaved. */
static bool fuzz_one(int persistent)
{
	uint8_t buf[LUOD_MAX_REQUEST + 64];
	struct luod_session_req req;
	unsigned int c = rnd(15);
	struct luod_hdr *h = (void *)buf;
	bool ok = true;
	size_t len;
	int s;

	nr_case[c]++;
	s = fz_connect();
	if (s < 0)
		return false;
	switch (c) {
	case 0:		/* garbage */
		len = 1 + rnd(300);
		rnd_bytes(buf, len);
		if (len >= 4 && h->magic == LUOD_MAGIC)
			h->magic++;
		send_raw(s, buf, len, 0);
		ok = len < sizeof(*h) || expect_error(s, EPROTO, true);
		break;
	case 1:		/* bad version */
		make_hdr(buf, LUOD_OP_LIST, 0);
		h->version = LUOD_PROTO_VERSION + 1 + rnd(1000);
		send_raw(s, buf, sizeof(*h), 0);
		ok = expect_error(s, EPROTONOSUPPORT, true);
		break;
	case 2:		/* oversized */
		make_hdr(buf, 1 + rnd(LUOD_OP_MAX),
			 LUOD_MAX_REQUEST + 1 + rnd(0x7fffffff));
		send_raw(s, buf, sizeof(*h) + rnd(64), 0);
		ok = expect_error(s, EMSGSIZE, true);
		break;
	case 3:		/* truncated header, then gone */
		make_hdr(buf, LUOD_OP_LIST, 0);
		send_raw(s, buf, 1 + rnd(sizeof(*h) - 1), rnd(2));
		break;
	case 4:		/* truncated payload, then gone */
		make_hdr(buf, LUOD_OP_LOG, 100);
		send_raw(s, buf, sizeof(*h) + rnd(100), rnd(2));
		break;
	case 5:		/* unknown opcode: answered, connection usable */
		make_hdr(buf, rnd(2) ? 0 : LUOD_OP_MAX + 1 + rnd(60000), 0);
		send_raw(s, buf, sizeof(*h), 0);
		ok = expect_error(s, EOPNOTSUPP, false);
		make_hdr(buf, LUOD_OP_LIST, 0);
		send_raw(s, buf, sizeof(*h), 0);
		ok = ok && !read_reply(s, h) && !h->error;
		break;
	case 6:		/* bad session requests */
		memset(&req, 0, sizeof(req));
		snprintf(req.name, sizeof(req.name), "fz%u", rnd(1000));
		len = sizeof(req);
		switch (rnd(8)) {
		case 0:
			len = rnd(sizeof(req));
			break;
		case 1:
			req.reserved = 1 + rnd(100);
			break;
		case 2:
			req.flags = 2 << rnd(30);
			break;
		case 3:
			memset(req.name, 'x', sizeof(req.name));
			break;
		case 4:
			req.name[1] = ' ';
			break;
		case 5:
			memset(req.name, 0, sizeof(req.name));
			break;
		case 6:
			req.name[sizeof(req.name) - 1] = 'z';
			break;
		default:
			snprintf(req.name, sizeof(req.name), "luod");
			break;
		}
		make_hdr(buf, rnd(2) ? LUOD_OP_CREATE_SESSION :
			 LUOD_OP_RETRIEVE_SESSION, len);
		memcpy(buf + sizeof(*h), &req, len);
		send_raw(s, buf, sizeof(*h) + len, 0);
		ok = expect_error(s, 0, false);
		break;
	case 7:		/* an fd where none belongs */
		make_hdr(buf, rnd(2) ? LUOD_OP_LIST : LUOD_OP_FINISH, 0);
		send_raw(s, buf, sizeof(*h), 1 + rnd(3));
		ok = expect_error(s, EINVAL, false);
		break;
	case 8:		/* PRESERVE without its fd */
		make_hdr(buf, LUOD_OP_PRESERVE, 8);
		memset(buf + sizeof(*h), 0, 8);
		send_raw(s, buf, sizeof(*h) + 8, 0);
		ok = expect_error(s, EBADF, false);
		break;
	case 9:		/* PRESERVE with too many fds */
		make_hdr(buf, LUOD_OP_PRESERVE, 8);
		memset(buf + sizeof(*h), 0, 8);
		send_raw(s, buf, sizeof(*h) + 8, 2 + rnd(60));
		ok = expect_error(s, EINVAL, false);
		break;
	case 10:	/* PRESERVE, RETRIEVE, GET_LOG: bad lengths */
		len = rnd(2) ? rnd(8) : 9 + rnd(200);
		make_hdr(buf, rnd(2) ? LUOD_OP_RETRIEVE : LUOD_OP_GET_LOG, len);
		rnd_bytes(buf + sizeof(*h), len);
		send_raw(s, buf, sizeof(*h) + len, 0);
		ok = expect_error(s, EINVAL, false);
		break;
	case 11:	/* LOG too long */
		len = LUOD_LOG_LINE_MAX + 1 + rnd(LUOD_MAX_REQUEST -
						  LUOD_LOG_LINE_MAX);
		make_hdr(buf, LUOD_OP_LOG, len);
		memset(buf + sizeof(*h), 'L', len);
		send_raw(s, buf, sizeof(*h) + len, 0);
		ok = expect_error(s, EINVAL, false);
		break;
	case 12:	/* a non-zero error field in a request */
		make_hdr(buf, LUOD_OP_LIST, 0);
		h->error = 1 + rnd(100);
		send_raw(s, buf, sizeof(*h), 0);
		ok = expect_error(s, EINVAL, true);
		break;
	case 13:	/* GET_LOG without a previous log */
		make_hdr(buf, LUOD_OP_GET_LOG, 8);
		memset(buf + sizeof(*h), 0, 8);
		send_raw(s, buf, sizeof(*h) + 8, 0);
		ok = expect_error(s, ENOENT, false);
		break;
	default:	/* random but well framed, on the shared connection */
		len = rnd(80);
		make_hdr(buf, rnd(LUOD_OP_MAX + 2), len);
		rnd_bytes(buf + sizeof(*h), len);
		if (h->opcode == LUOD_OP_CREATE_SESSION && rnd(4))
			buf[sizeof(*h)] = 1;	/* mostly invalid names */
		send_raw(persistent, buf, sizeof(*h) + len,
			 h->opcode == LUOD_OP_PRESERVE ? rnd(3) : 0);
		ok = read_reply(persistent, h) == 0;
		break;
	}
	close(s);
	if (!ok)
		printf("# case %u misbehaved\n", c);
	return ok;
}

/* Preserve more files than --max-fds allows on one connection. */
static void fd_flood(void)
{
	int s = fz_connect(), i, fd, ret, ok = 0, emfile = 0;
	char buf[sizeof(struct luod_hdr)];

	if (s < 0 || luod_create_session(s, "flood", 0)) {
		result(false, "%s", "flood: session created");
		return;
	}
	for (i = 0; i < FZ_MAX_FDS + 20; i++) {
		fd = memfd_create("flood", MFD_CLOEXEC);
		ret = luod_preserve_fd(s, fd, i);
		close(fd);
		ok += !ret;
		emfile += ret == -EMFILE;
	}
	result(ok == FZ_MAX_FDS && emfile == 20,
	       "the per-client fd cap holds (%s)", "--max-fds 8, 28 tries");

	/* 60 fds on one message: cut by luod's control buffer. */
	make_hdr(buf, LUOD_OP_PRESERVE, 0);
	send_raw(s, buf, sizeof(buf), 60);
	result(expect_error(s, 0, false), "%s", "60 fds in one message refused");
	close(s);
}

/* More connections than --max-clients, each stuck mid-header. */
static void idle_flood(void)
{
	int s[FZ_IDLE], i, open = 0;
	struct luod_hdr h;

	for (i = 0; i < FZ_IDLE; i++) {
		s[i] = fz_connect();
		if (s[i] >= 0)
			send(s[i], "LUO", 3, MSG_NOSIGNAL);
	}
	usleep(100000);
	for (i = 0; i < FZ_IDLE; i++) {
		struct timeval tv = { .tv_usec = 1000 };

		if (s[i] < 0)
			continue;
		setsockopt(s[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		open += read_reply(s[i], &h) == -ETIMEDOUT;
	}
	result(open <= FZ_MAX_CLIENTS - 1 && open > 0,
	       "--max-clients bounds stalled connections (%s)", "40 tried");
	result(good_check("next to stalled connections"),
	       "%s", "the good client is served next to stalled ones");
	for (i = 0; i < FZ_IDLE; i++)
		if (s[i] >= 0)
			close(s[i]);
}

int main(int argc, char **argv)
{
	const char *luod = NULL;
	unsigned long iters = 20000, i, bad = 0;
	unsigned int seed = 1, secs = 60;
	char self[256], *slash;
	struct timespec t0, t;
	int opt, fd, persistent, base_fds, base_files, status;
	bool ok;

	while ((opt = getopt(argc, argv, "l:n:t:S:h")) != -1) {
		switch (opt) {
		case 'l':
			luod = optarg;
			break;
		case 'n':
			iters = strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			seed = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr,
				"Usage: %s [-l LUOD] [-n ITERATIONS] [-t SECONDS] [-S SEED]\n",
				argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!luod) {
		/* Next to this binary, else one directory up. */
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);

		self[n > 0 ? n : 0] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			snprintf(slash, 6, "/luod");
			if (access(self, X_OK)) {
				*slash = '\0';
				slash = strrchr(self, '/');
				if (slash)
					snprintf(slash, 6, "/luod");
			}
		}
		luod = self;
	}
	printf("TAP version 13\n");
	if (access(luod, X_OK)) {
		printf("1..0 # SKIP no luod at %s (use -l)\n", luod);
		return KSFT_SKIP;
	}
	printf("# luod %s, seed %u, %lu iterations, %u s at most\n", luod,
	       seed, iters, secs);
	srandom(seed);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/luod_fuzz.XXXXXX");
	if (!mkdtemp(dir))
		bail("mkdtemp failed");
	snprintf(sock_path, sizeof(sock_path), "%s/luod.sock", dir);
	start_luod(luod);

	good = fz_connect();
	fd = memfd_create("good", MFD_CLOEXEC);
	if (good < 0 || fd < 0 || write(fd, "good data", 9) != 9 ||
	    luod_create_session(good, "good", 0) ||
	    luod_preserve_fd(good, fd, 1))
		bail("the good client cannot set up");
	close(fd);
	result(good_check("at the start"), "%s", "the good client is served");
	usleep(50000);
	base_fds = count_fds(luod_pid);
	base_files = held_files();

	fd_flood();
	idle_flood();

	persistent = fz_connect();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok = true;
	for (i = 0; i < iters; i++) {
		if (!fuzz_one(persistent)) {
			bad++;
			if (bad > 10)
				break;
		}
		if (i % FZ_GOOD_EVERY == 0 && !good_check("during fuzzing")) {
			ok = false;
			break;
		}
		if (waitpid(luod_pid, &status, WNOHANG) == luod_pid) {
			luod_pid = -1;
			bail("luod died during fuzzing");
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= secs)
			break;
	}
	close(persistent);
	printf("# %lu cases:", i);
	for (opt = 0; opt < 16; opt++)
		printf(" %lu", nr_case[opt]);
	printf("\n");
	result(!bad, "%s", "every malformed message got an error reply");
	result(ok && good_check("after fuzzing"), "%s",
	       "the good client was served throughout");

	usleep(100000);
	{
		int now = count_fds(luod_pid), files = held_files();

		printf("# luod fds: %d at the start (%d files held), %d now (%d files held)\n",
		       base_fds, base_files, now, files);
		result(now >= 0 && now - base_fds == files - base_files,
		       "%s", "luod leaks no file descriptors");
	}

	close(good);
	kill(luod_pid, SIGTERM);
	for (i = 0; i < 50 && waitpid(luod_pid, &status, WNOHANG) != luod_pid; i++)
		usleep(100000);
	result(i < 50 && WIFEXITED(status) && !WEXITSTATUS(status), "%s",
	       "luod exits with 0 on SIGTERM");
	if (i < 50)
		luod_pid = -1;
	printf("1..%d\n", nr_test);
	printf("# %d of %d failed\n", nr_fail, nr_test);
	cleanup();
	return nr_fail ? 1 : 0;
}
