// SPDX-License-Identifier: GPL-2.0
/*
 * A demo service for luod_service_test.sh: it keeps a counter and a
 * 1 MiB buffer in a memfd that luod preserves across live updates.
 *
 *   luod_demo_client init SESSION     counter 1, buffer for 1; preserve
 *   luod_demo_client step SESSION     check what came over, finish the
 *                                     session, count one up, preserve again
 *   luod_demo_client check SESSION    check what came over, finish
 *   luod_demo_client crash SESSION    preserve a memfd in SESSION, send
 *                                     half a request and die by SIGKILL
 *
 * Options: -s SOCKET (default /run/luod.sock). Exit status 0 or 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "luod.h"

#define DEMO_SIZE	(1024UL * 1024)
#define DEMO_MAGIC	0x6f6d65646f756cULL	/* "luodemo" */
#define DEMO_TOKEN	1
#define DEMO_DATA	4096

struct demo_hdr {
	uint64_t	magic;
	uint64_t	counter;
	uint64_t	after;		/* written after preserving */
};

static const char *sock_path = LUOD_SOCKET_PATH;

static void die(const char *what, int err)
{
	fprintf(stderr, "luod_demo_client: %s: %s\n", what, strerror(err));
	exit(1);
}

/* The buffer for @counter: a xorshift stream seeded by it. */
static void pattern(uint8_t *buf, uint64_t counter, bool check, bool *ok)
{
	uint64_t x = counter * 0x9e3779b97f4a7c15ULL + 1, *p = (void *)buf;
	size_t i;

	for (i = 0; i < (DEMO_SIZE - DEMO_DATA) / sizeof(*p); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (!check)
			p[i] = x;
		else if (p[i] != x)
			*ok = false;
	}
}

static int connect_or_die(void)
{
	int s = luod_connect(sock_path);

	if (s < 0)
		die("connecting to luod", -s);
	return s;
}

static void logf_line(int s, const char *fmt, unsigned long long v)
{
	char line[128];
	int ret;

	snprintf(line, sizeof(line), fmt, v);
	ret = luod_log(s, line);
	if (ret)
		die("LOG", -ret);
}

/* Count one up, rewrite the buffer, preserve, then write once more. */
static void preserve(int s, int fd, struct demo_hdr *h, const char *session)
{
	int ret;

	h->counter++;
	h->after = 0;
	pattern((uint8_t *)h + DEMO_DATA, h->counter, false, NULL);
	ret = luod_create_session(s, session, 0);
	if (ret)
		die("CREATE_SESSION", -ret);
	ret = luod_preserve_fd(s, fd, DEMO_TOKEN);
	if (ret)
		die("PRESERVE", -ret);
	h->after = h->counter;	/* after preserving: must come over too */
	logf_line(s, "demo: preserved counter %llu", h->counter);
	printf("counter %llu preserved\n", (unsigned long long)h->counter);
}

static struct demo_hdr *map(int fd)
{
	void *p = mmap(NULL, DEMO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

static int do_init(const char *session)
{
	int s = connect_or_die(), fd;
	struct demo_hdr *h;

	fd = memfd_create("luod-demo", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, DEMO_SIZE))
		die("memfd", errno);
	h = map(fd);
	h->magic = DEMO_MAGIC;
	h->counter = 0;
	preserve(s, fd, h, session);
	return 0;
}

static int do_step(const char *session, bool again)
{
	int s = connect_or_die(), fd, ret;
	struct demo_hdr *h;
	bool ok = true;

	ret = luod_retrieve_session(s, session);
	if (ret)
		die("RETRIEVE_SESSION", -ret);
	fd = luod_retrieve_fd(s, DEMO_TOKEN);
	if (fd < 0)
		die("RETRIEVE", -fd);
	h = map(fd);
	if (h->magic != DEMO_MAGIC) {
		fprintf(stderr, "luod_demo_client: bad magic %llx\n",
			(unsigned long long)h->magic);
		return 1;
	}
	pattern((uint8_t *)h + DEMO_DATA, h->counter, true, &ok);
	printf("counter %llu came over, buffer %s, late write %s\n",
	       (unsigned long long)h->counter, ok ? "intact" : "CORRUPT",
	       h->after == h->counter ? "kept" : "LOST");
	if (!ok || h->after != h->counter)
		return 1;
	logf_line(s, "demo: counter %llu came over", h->counter);
	ret = luod_finish(s);
	if (ret)
		die("FINISH", -ret);
	if (again)
		preserve(s, fd, h, session);
	return 0;
}

static int do_crash(const char *session)
{
	struct luod_hdr hdr = {
		.magic = LUOD_MAGIC, .version = LUOD_PROTO_VERSION,
		.opcode = LUOD_OP_LOG, .length = 64,
	};
	int s = connect_or_die(), fd, ret;

	fd = memfd_create("luod-crash", MFD_CLOEXEC);
	if (fd < 0 || write(fd, "crash data\n", 11) != 11)
		die("memfd", errno);
	ret = luod_create_session(s, session, 0);
	if (!ret)
		ret = luod_preserve_fd(s, fd, DEMO_TOKEN);
	if (ret)
		die("preserving", -ret);
	logf_line(s, "crash client: about to die (%llu)", 0);
	/* Half a request: luod must not wait for the rest forever. */
	send(s, &hdr, sizeof(hdr), MSG_NOSIGNAL);
	send(s, "partial", 7, MSG_NOSIGNAL);
	fflush(NULL);
	kill(getpid(), SIGKILL);
	return 1;
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt != 's')
			goto usage;
		sock_path = optarg;
	}
	if (argc - optind != 2)
		goto usage;
	if (!strcmp(argv[optind], "init"))
		return do_init(argv[optind + 1]);
	if (!strcmp(argv[optind], "step"))
		return do_step(argv[optind + 1], true);
	if (!strcmp(argv[optind], "check"))
		return do_step(argv[optind + 1], false);
	if (!strcmp(argv[optind], "crash"))
		return do_crash(argv[optind + 1]);
usage:
	fprintf(stderr, "Usage: luod_demo_client [-s SOCKET] init|step|check|crash SESSION\n");
	return 2;
}
