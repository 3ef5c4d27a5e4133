// SPDX-License-Identifier: GPL-2.0
/*
 * luod - the live update daemon.
 *
 * luod owns /dev/liveupdate and serves the luod protocol (luod.h) on a
 * Unix stream socket, so that any number of services can keep files
 * across a live update while only one process holds the device. The
 * sessions belong to luod, not to the clients that made them: a client
 * that exits or crashes leaves its sessions in place.
 *
 * luod keeps a session of its own, "luod", with two memfds:
 *
 *   token 1, the state: which client sessions luod hands over, in two
 *	slots written in turn, each with a sequence number and a checksum,
 *	so a kexec in the middle of a write leaves the other slot valid.
 *   token 2, the log: a ring buffer of text lines (the kernel log, read
 *	from /dev/kmsg every LUOD_TICK_MS, luod's own messages and the
 *	clients' LOG lines, which are in it before their reply is sent).
 *
 * Both memfds have a fixed size (a preserved memfd cannot grow) and are
 * written in place, so what is in them at the kexec is what the next
 * kernel hands over. The next luod retrieves "luod", takes over the
 * sessions its state names, keeps the log for GET_LOG and writes its
 * tail to /dev/kmsg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "luod_internal.h"

struct luod_daemon luod = {
	.socket_path = LUOD_SOCKET_PATH,
	.max_fds = LUOD_DEFAULT_MAX_FDS,
	.max_clients = LUOD_DEFAULT_MAX_CLIENTS,
	.luo = -1, .own_session = -1, .state_fd = -1, .kmsg = -1,
	.listen_fd = -1, .next_id = 1,
};

/* ---- main loop ---- */

static int sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, ret = 0;

	if (!path || !*path)
		return 0;
	if ((path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return -EINVAL;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sun,
		   len) != 7)
		ret = -errno;
	close(fd);
	return ret;
}

static int listen_socket(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;
	mode_t old;

	ret = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		       luod.socket_path);
	if (ret < 0 || (size_t)ret >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket someone answers on belongs to a running luod. */
	if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    errno == EAGAIN) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(luod.socket_path);
	old = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret || listen(fd, 64)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int serve(void)
{
	struct signalfd_siginfo si = { 0 };
	long long next_tick = now_ms() + LUOD_TICK_MS;
	struct pollfd *pfd;
	unsigned int i;
	sigset_t block;
	int sfd;

	pfd = calloc(luod.max_clients + 2, sizeof(*pfd));
	luod.clients = calloc(luod.max_clients, sizeof(*luod.clients));
	if (!pfd || !luod.clients)
		return -ENOMEM;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sfd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);

	for (;;) {
		long long wait = next_tick - now_ms();
		unsigned int nr = luod.nr_clients;

		if (wait < 0)
			wait = 0;
		for (i = 0; i < nr; i++) {
			pfd[i].fd = luod.clients[i]->sock;
			pfd[i].events = luod.clients[i]->out_len ?
					POLLOUT : POLLIN;
			pfd[i].revents = 0;
		}
		pfd[nr].fd = luod.listen_fd;
		pfd[nr].events = POLLIN;
		pfd[nr + 1].fd = sfd;
		pfd[nr + 1].events = POLLIN;
		if (poll(pfd, nr + 2, wait) < 0 && errno != EINTR)
			return -errno;
		if (read(sfd, &si, sizeof(si)) == sizeof(si))
			break;
		if (now_ms() >= next_tick) {
			kmsg_drain();
			next_tick = now_ms() + LUOD_TICK_MS;
		}
		/* Walk backwards: dropping a client moves the last one in. */
		for (i = nr; i-- > 0;) {
			struct luod_client *c = luod.clients[i];
			short ev = pfd[i].revents;
			bool keep = true;
			int budget = 16;

			if (!ev)
				continue;
			if (ev & POLLNVAL) {
				keep = false;
			} else if (c->out_len) {
				keep = client_write(c);
			} else if (ev & (POLLIN | POLLHUP | POLLERR)) {
				/* Serve a few requests, then let others in. */
				while (keep && budget-- && !c->out_len) {
					size_t before = c->in_len;

					keep = client_read(c);
					if (keep && c->out_len)
						keep = client_write(c);
					if (c->in_len == before && !c->out_len)
						break;
				}
			}
			if (!keep)
				client_drop(i);
		}
		if (pfd[nr].revents & POLLIN)
			client_accept();
	}
	msg("exiting on signal %u", si.ssi_signo);
	kmsg_drain();
	close(sfd);
	free(pfd);
	return 0;
}

/* ---- startup ---- */

/* Testing: take a text file as the previous boot's log. */
static int load_file(const char *path)
{
	size_t cap = 0;
	ssize_t n;
	char *p;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		if (luod.prev_log_len + 4096 + 1 > cap) {
			cap = 2 * cap + 8192;
			p = realloc(luod.prev_log, cap);
			if (!p)
				break;
			luod.prev_log = p;
		}
		n = read(fd, luod.prev_log + luod.prev_log_len, 4096);
		if (n <= 0) {
			close(fd);
			if (n < 0)
				return -1;
			luod.prev_log[luod.prev_log_len] = '\0';
			return 0;
		}
		luod.prev_log_len += n;
	}
	close(fd);
	errno = ENOMEM;
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: luod [OPTIONS]\n"
		"\n"
		"The live update daemon: holds /dev/liveupdate and keeps files of\n"
		"services across a kexec live update (see luod(8)).\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH       listen on PATH (default %s)\n"
		"  -m, --max-fds N         most files one connection preserves (default %d)\n"
		"  -c, --max-clients N     most connections at a time (default %d)\n"
		"      --no-kmsg           do not copy /dev/kmsg into the log\n"
		"      --no-device         for testing only: do not open /dev/liveupdate;\n"
		"                          sessions are emulated and nothing is handed over\n"
		"      --previous-log FILE with --no-device: serve FILE as the previous log\n"
		"  -h, --help              show this help\n",
		LUOD_SOCKET_PATH, LUOD_DEFAULT_MAX_FDS, LUOD_DEFAULT_MAX_CLIENTS);
}

static bool parse_uint(const char *s, unsigned int min, unsigned int max,
		       unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "max-fds", required_argument, NULL, 'm' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "no-kmsg", no_argument, NULL, 'K' },
		{ "no-device", no_argument, NULL, 'D' },
		{ "previous-log", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "s:m:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			luod.socket_path = optarg;
			break;
		case 'm':
			if (!parse_uint(optarg, 1, 1 << 20, &luod.max_fds)) {
				fprintf(stderr,
					"Error: --max-fds %s: not a number from 1 to %d\n",
					optarg, 1 << 20);
				return 2;
			}
			break;
		case 'c':
			if (!parse_uint(optarg, 1, 4096, &luod.max_clients)) {
				fprintf(stderr,
					"Error: --max-clients %s: not a number from 1 to 4096\n",
					optarg);
				return 2;
			}
			break;
		case 'K':
			luod.no_kmsg = true;
			break;
		case 'D':
			luod.no_device = true;
			break;
		case 'P':
			luod.prev_log_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Error: unexpected argument '%s' (see luod --help)\n",
			argv[optind]);
		return 2;
	}

	if (luod.prev_log_file && (!luod.no_device ||
				   load_file(luod.prev_log_file))) {
		fprintf(stderr, "Error: --previous-log %s: %s\n",
			luod.prev_log_file, luod.no_device ? strerror(errno) :
			"for testing, with --no-device only");
		return luod.no_device ? 1 : 2;
	}
	if (!luod.no_device) {
		luod.luo = libluo_open();
		if (luod.luo < 0) {
			ret = -luod.luo;
			fprintf(stderr, "Error: opening %s: %s (%s)\n", LUO_DEVICE,
				strerror(ret), ret == EBUSY ?
				"another luod or LUO user holds it" :
				ret == ENOENT ?
				"boot with kho=on liveupdate=on" :
				"luod must run as root");
			return 1;
		}
	}
	ret = handover_out_setup();
	if (ret) {
		fprintf(stderr, "Error: setting up the session '%s': %s\n",
			LUOD_SESSION, strerror(-ret));
		return 1;
	}
	msg("starting%s, socket %s", luod.no_device ?
	    " without /dev/liveupdate (--no-device, testing only)" : "",
	    luod.socket_path);
	if (!luod.no_kmsg) {
		luod.kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (luod.kmsg < 0)
			msg("not copying the kernel log: /dev/kmsg: %s",
			    strerror(errno));
	}
	if (!luod.no_device) {
		handover_in();
		state_save();
		if (luod.prev_log) {
			msg("previous boot log: %zu bytes (luoctl log --previous)",
			    luod.prev_log_len);
			kmsg_replay();
		}
	}
	kmsg_drain();

	luod.listen_fd = listen_socket();
	if (luod.listen_fd < 0) {
		fprintf(stderr, "Error: listening on %s: %s (%s)\n",
			luod.socket_path, strerror(-luod.listen_fd),
			luod.listen_fd == -EADDRINUSE ?
			"is luod running already?" : "check --socket");
		return 1;
	}
	ret = sd_notify_ready();
	if (ret)
		msg("sd_notify READY=1 failed: %s", strerror(-ret));
	msg("ready");
	ret = serve();
	unlink(luod.socket_path);
	if (ret) {
		fprintf(stderr, "Error: serving: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
