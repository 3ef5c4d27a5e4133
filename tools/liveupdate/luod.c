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
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/liveupdate.h>

#include "luod.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define LUOD_DEVICE		"/dev/liveupdate"
#define LUOD_SESSION		"luod"
#define LUOD_TOKEN_STATE	1
#define LUOD_TOKEN_LOG		2
#define LUOD_TICK_MS		200
#define LUOD_DEFAULT_MAX_FDS	1024
#define LUOD_DEFAULT_MAX_CLIENTS 64
#define LUOD_PENDING_FDS	4
#define LUOD_KMSG_TAIL		8
#define LUOD_KMSG_BUDGET	1024

/* The state memfd: two slots, each a header and the session entries. */
#define LUOD_STATE_MAGIC	0x5344554cU	/* "LUDS" */
#define LUOD_STATE_VERSION	1
#define LUOD_STATE_SLOT		32768
#define LUOD_STATE_SIZE		(2 * LUOD_STATE_SLOT)

struct luod_state_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	hdr_size;
	uint64_t	seq;
	uint32_t	nr_sessions;
	uint32_t	entry_size;
	uint32_t	csum;		/* FNV-1a of header (csum 0) and entries */
	uint32_t	reserved;
};

struct luod_state_entry {
	char		name[LUOD_NAME_MAX + 1];
	uint32_t	nr_files;
	uint32_t	flags;
};

/* The log memfd: a header and a ring of text. */
#define LUOD_LOG_MAGIC		0x4c44554cU	/* "LUDL" */
#define LUOD_LOG_VERSION	1
#define LUOD_LOG_SIZE		(256 * 1024)

struct luod_log_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	hdr_size;
	uint32_t	data_size;
	uint32_t	reserved;
	uint64_t	head;		/* bytes ever written; data at head % size */
};

struct luod_file {
	uint64_t	token;
	int		fd;		/* held: retrieved, or (--no-device) kept */
};

struct luod_session {
	bool		used;
	char		name[LUOD_NAME_MAX + 1];
	uint32_t	state;		/* enum luod_session_state */
	uint64_t	id;
	int		fd;		/* the LUO session, -1 with --no-device */
	uint32_t	nr_handed;	/* files the previous luod preserved */
	struct luod_file *files;
	size_t		nr_files;
	size_t		cap_files;
};

struct luod_client {
	int		sock;
	pid_t		pid;
	uint64_t	cur;		/* id of the current session, 0: none */
	unsigned int	nr_preserved;
	uint8_t		in[sizeof(struct luod_hdr) + LUOD_MAX_REQUEST];
	size_t		in_len;
	int		fds[LUOD_PENDING_FDS];
	int		nr_fds;
	bool		fd_error;
	uint8_t		out[sizeof(struct luod_hdr) + LUOD_MAX_REPLY];
	size_t		out_len;
	size_t		out_off;
	int		out_fd;
	bool		close_after;
};

struct luod_ring {
	uint8_t		*map;
	size_t		size;		/* of the whole mapping */
};

static struct {
	const char	*socket_path;
	const char	*prev_log_file;
	unsigned int	max_fds;
	unsigned int	max_clients;
	bool		no_device;
	bool		no_kmsg;
	int		luo;
	int		own_session;
	int		state_fd;
	uint64_t	state_seq;
	struct luod_ring ring;
	int		kmsg;
	char		*prev_log;
	size_t		prev_log_len;
	struct luod_session sessions[LUOD_MAX_SESSIONS];
	uint64_t	next_id;
	struct luod_client **clients;
	unsigned int	nr_clients;
	int		listen_fd;
} luod = {
	.socket_path = LUOD_SOCKET_PATH,
	.max_fds = LUOD_DEFAULT_MAX_FDS,
	.max_clients = LUOD_DEFAULT_MAX_CLIENTS,
	.luo = -1, .own_session = -1, .state_fd = -1, .kmsg = -1,
	.listen_fd = -1, .next_id = 1,
};

static void ring_append(struct luod_ring *ring, const char *buf, size_t len);

static void timestamp(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, len, "[%5lld.%06ld] ", (long long)ts.tv_sec,
		 ts.tv_nsec / 1000);
}

/* A message of luod's own: on stderr, and in the log ring when there. */
static void msg(const char *fmt, ...)
{
	char line[LUOD_LOG_LINE_MAX + 64];
	size_t n;
	va_list ap;

	timestamp(line, sizeof(line));
	n = strlen(line);
	n += snprintf(line + n, sizeof(line) - n, "luod: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	ring_append(&luod.ring, line, n);
}

static uint32_t fnv1a(uint32_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len--) {
		h ^= *p++;
		h *= 16777619U;
	}
	return h;
}

/* ---- the log ring ---- */

static int ring_init(struct luod_ring *ring, int fd, size_t size)
{
	struct luod_log_hdr *hdr;

	if (ftruncate(fd, size))
		return -errno;
	ring->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring->map == MAP_FAILED) {
		ring->map = NULL;
		return -errno;
	}
	ring->size = size;
	hdr = (struct luod_log_hdr *)ring->map;
	hdr->magic = LUOD_LOG_MAGIC;
	hdr->version = LUOD_LOG_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->data_size = size - sizeof(*hdr);
	hdr->head = 0;
	return 0;
}

/* Copy the text in, then move the head: a torn write is never visible. */
static void ring_append(struct luod_ring *ring, const char *buf, size_t len)
{
	struct luod_log_hdr *hdr = (struct luod_log_hdr *)ring->map;
	uint8_t *data;
	size_t pos, n;
	uint64_t head;

	if (!ring->map)
		return;
	data = ring->map + sizeof(*hdr);
	head = hdr->head;
	if (len > hdr->data_size) {
		buf += len - hdr->data_size;
		len = hdr->data_size;
	}
	pos = head % hdr->data_size;
	n = hdr->data_size - pos < len ? hdr->data_size - pos : len;
	memcpy(data + pos, buf, n);
	memcpy(data, buf + n, len - n);
	__atomic_store_n(&hdr->head, head + len, __ATOMIC_RELEASE);
}

/*
 * Read a log ring the previous luod left: validate it and return its text
 * in order, from the first whole line. Return 0 or -errno with @why set.
 */
static int ring_extract(const uint8_t *map, size_t size, char **text,
			size_t *text_len, const char **why)
{
	const struct luod_log_hdr *hdr = (const void *)map;
	const uint8_t *data, *nl;
	size_t len, pos, skip;
	char *out;

	*why = NULL;
	if (size < sizeof(*hdr) || hdr->magic != LUOD_LOG_MAGIC) {
		*why = "bad magic";
		return -EINVAL;
	}
	if (hdr->version != LUOD_LOG_VERSION) {
		*why = "unknown format version";
		return -EOPNOTSUPP;
	}
	if (hdr->hdr_size != sizeof(*hdr) ||
	    hdr->data_size != size - sizeof(*hdr) || !hdr->data_size) {
		*why = "bad header";
		return -EINVAL;
	}
	data = map + sizeof(*hdr);
	len = hdr->head < hdr->data_size ? hdr->head : hdr->data_size;
	pos = hdr->head < hdr->data_size ? 0 : hdr->head % hdr->data_size;
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, data + pos, pos ? hdr->data_size - pos : len);
	if (pos)
		memcpy(out + hdr->data_size - pos, data, pos);
	skip = 0;
	if (hdr->head > hdr->data_size) {
		/* The oldest line was cut by the wrap: start after it. */
		nl = memchr(out, '\n', len);
		skip = nl ? (size_t)(nl - (uint8_t *)out) + 1 : len;
	}
	memmove(out, out + skip, len - skip);
	len -= skip;
	out[len] = '\0';
	*text = out;
	*text_len = len;
	return 0;
}

/* ---- the state ---- */

static size_t state_serialize(uint8_t *slot, uint64_t seq)
{
	struct luod_state_hdr *hdr = (struct luod_state_hdr *)slot;
	struct luod_state_entry *ent = (void *)(slot + sizeof(*hdr));
	uint32_t nr = 0, h;
	size_t i;

	memset(slot, 0, LUOD_STATE_SLOT);
	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++) {
		struct luod_session *s = &luod.sessions[i];

		if (!s->used || s->state != LUOD_SESSION_OUT)
			continue;
		memcpy(ent[nr].name, s->name, sizeof(ent[nr].name));
		ent[nr].nr_files = s->nr_files;
		nr++;
	}
	hdr->magic = LUOD_STATE_MAGIC;
	hdr->version = LUOD_STATE_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->seq = seq;
	hdr->nr_sessions = nr;
	hdr->entry_size = sizeof(*ent);
	h = fnv1a(2166136261U, slot, sizeof(*hdr) + nr * sizeof(*ent));
	hdr->csum = h;
	return sizeof(*hdr) + nr * sizeof(*ent);
}

/* Write the slot not holding the newest state; then it is the newest. */
static int state_save(void)
{
	static uint8_t slot[LUOD_STATE_SLOT];
	size_t len;
	off_t off;

	if (luod.state_fd < 0)
		return 0;
	luod.state_seq++;
	len = state_serialize(slot, luod.state_seq);
	off = (luod.state_seq & 1) * LUOD_STATE_SLOT;
	if (pwrite(luod.state_fd, slot, len, off) != (ssize_t)len) {
		msg("writing the state memfd failed: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Check one slot; return 0, -ENOENT (empty), -EOPNOTSUPP or -EINVAL. */
static int state_check_slot(const uint8_t *slot, const char **why)
{
	struct luod_state_hdr hdr;
	uint32_t csum;

	memcpy(&hdr, slot, sizeof(hdr));
	if (hdr.magic == 0 && hdr.seq == 0)
		return -ENOENT;
	if (hdr.magic != LUOD_STATE_MAGIC) {
		*why = "bad magic";
		return -EINVAL;
	}
	if (hdr.version != LUOD_STATE_VERSION) {
		*why = "unknown format version";
		return -EOPNOTSUPP;
	}
	if (hdr.hdr_size != sizeof(hdr) ||
	    hdr.entry_size != sizeof(struct luod_state_entry) ||
	    hdr.nr_sessions > LUOD_MAX_SESSIONS) {
		*why = "bad header";
		return -EINVAL;
	}
	csum = hdr.csum;
	hdr.csum = 0;
	if (fnv1a(fnv1a(2166136261U, &hdr, sizeof(hdr)), slot + sizeof(hdr),
		  hdr.nr_sessions * sizeof(struct luod_state_entry)) != csum) {
		*why = "bad checksum";
		return -EINVAL;
	}
	return 0;
}

/*
 * Read the state the previous luod left in @fd: the valid slot with the
 * higher sequence number. Entries go to @ent (LUOD_MAX_SESSIONS of them).
 * Return the number of entries, or -errno with @why set.
 */
static int state_load(int fd, struct luod_state_entry *ent, uint64_t *seq,
		      const char **why)
{
	static uint8_t buf[LUOD_STATE_SIZE];
	const struct luod_state_hdr *hdr;
	int ret[2], best = -1, i;
	uint32_t j, nr;

	*why = "empty";
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		*why = "short state file";
		return -EINVAL;
	}
	for (i = 0; i < 2; i++) {
		const char *w = NULL;

		ret[i] = state_check_slot(buf + i * LUOD_STATE_SLOT, &w);
		if (ret[i] == -EOPNOTSUPP) {
			*why = w;
			return -EOPNOTSUPP;
		}
		if (ret[i] == -EINVAL)
			*why = w;
		if (ret[i])
			continue;
		hdr = (const void *)(buf + i * LUOD_STATE_SLOT);
		if (best < 0 || hdr->seq >
		    ((const struct luod_state_hdr *)(buf + best * LUOD_STATE_SLOT))->seq)
			best = i;
	}
	if (best < 0)
		return ret[0] == -ENOENT && ret[1] == -ENOENT ? -ENOENT : -EINVAL;
	hdr = (const void *)(buf + best * LUOD_STATE_SLOT);
	nr = hdr->nr_sessions;
	memcpy(ent, buf + best * LUOD_STATE_SLOT + sizeof(*hdr),
	       nr * sizeof(*ent));
	for (j = 0; j < nr; j++)
		ent[j].name[LUOD_NAME_MAX] = '\0';
	*seq = hdr->seq;
	*why = NULL;
	return nr;
}

/* ---- sessions ---- */

static bool name_valid(const char *name, size_t size)
{
	size_t len = strnlen(name, size), i;

	if (!len || len >= size || len > LUOD_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == '/')
			return false;
	for (i = len; i < size; i++)
		if (name[i])
			return false;
	return true;
}

static struct luod_session *session_find(const char *name, uint32_t state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++)
		if (luod.sessions[i].used && luod.sessions[i].state == state &&
		    !strcmp(luod.sessions[i].name, name))
			return &luod.sessions[i];
	return NULL;
}

static struct luod_session *session_by_id(uint64_t id)
{
	size_t i;

	if (!id)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++)
		if (luod.sessions[i].used && luod.sessions[i].id == id)
			return &luod.sessions[i];
	return NULL;
}

static struct luod_session *session_add(const char *name, uint32_t state,
					int fd)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++) {
		struct luod_session *s = &luod.sessions[i];

		if (s->used)
			continue;
		memset(s, 0, sizeof(*s));
		s->used = true;
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->state = state;
		s->fd = fd;
		s->id = luod.next_id++;
		return s;
	}
	return NULL;
}

static void session_del(struct luod_session *s)
{
	size_t i;

	for (i = 0; i < s->nr_files; i++)
		if (s->files[i].fd >= 0)
			close(s->files[i].fd);
	free(s->files);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
}

static struct luod_file *session_file(struct luod_session *s, uint64_t token)
{
	size_t i;

	for (i = 0; i < s->nr_files; i++)
		if (s->files[i].token == token)
			return &s->files[i];
	return NULL;
}

static struct luod_file *session_file_add(struct luod_session *s,
					  uint64_t token, int fd)
{
	if (s->nr_files == s->cap_files) {
		size_t cap = s->cap_files ? 2 * s->cap_files : 8;
		struct luod_file *f = realloc(s->files, cap * sizeof(*f));

		if (!f)
			return NULL;
		s->files = f;
		s->cap_files = cap;
	}
	s->files[s->nr_files].token = token;
	s->files[s->nr_files].fd = fd;
	return &s->files[s->nr_files++];
}

static int luo_session_open(unsigned long cmd, const char *name)
{
	struct liveupdate_ioctl_create_session arg = { .size = sizeof(arg) };

	snprintf((char *)arg.name, sizeof(arg.name), "%s", name);
	if (ioctl(luod.luo, cmd, &arg))
		return -errno;
	return arg.fd;
}

static int luo_preserve(int session, int fd, uint64_t token)
{
	struct liveupdate_session_preserve_fd arg = {
		.size = sizeof(arg), .fd = fd, .token = token,
	};

	return ioctl(session, LIVEUPDATE_SESSION_PRESERVE_FD, &arg) ? -errno : 0;
}

static int luo_retrieve(int session, uint64_t token)
{
	struct liveupdate_session_retrieve_fd arg = {
		.size = sizeof(arg), .token = token,
	};

	if (ioctl(session, LIVEUPDATE_SESSION_RETRIEVE_FD, &arg))
		return -errno;
	return arg.fd;
}

static int luo_finish(int session)
{
	struct liveupdate_session_finish arg = { .size = sizeof(arg) };

	return ioctl(session, LIVEUPDATE_SESSION_FINISH, &arg) ? -errno : 0;
}

/* ---- the kernel log ---- */

/* Copy new /dev/kmsg records into the ring, skipping our own replay. */
static void kmsg_drain(void)
{
	char rec[2048], line[2200];
	unsigned long long ts;
	int budget = LUOD_KMSG_BUDGET;
	char *text, *nl;
	ssize_t n;
	int len;

	while (luod.kmsg >= 0 && budget--) {
		n = read(luod.kmsg, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE || errno == EINTR)
				continue;	/* overwritten records: go on */
			if (errno != EAGAIN)
				msg("reading /dev/kmsg failed: %s", strerror(errno));
			return;
		}
		if (n == 0)
			return;
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (!text || sscanf(rec, "%*u,%*u,%llu", &ts) != 1)
			continue;
		text++;
		nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(text, "luod: prev", 10))
			continue;
		len = snprintf(line, sizeof(line), "[%5llu.%06llu] kernel: %s\n",
			       ts / 1000000, ts % 1000000, text);
		if (len > 0)
			ring_append(&luod.ring, line,
				    (size_t)len < sizeof(line) ? (size_t)len :
				    sizeof(line) - 1);
	}
}

/* Write the previous boot log's tail into this boot's kernel log. */
static void kmsg_replay(void)
{
	const char *p = luod.prev_log, *end = p + luod.prev_log_len;
	char line[512];
	int fd, nr = 0, skip;

	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		msg("cannot write the previous log to /dev/kmsg: %s",
		    strerror(errno));
		return;
	}
	for (const char *q = p; q < end; q++)
		nr += *q == '\n';
	skip = nr > LUOD_KMSG_TAIL ? nr - LUOD_KMSG_TAIL : 0;
	/* One write() is one kernel log record: no stdio on /dev/kmsg. */
	snprintf(line, sizeof(line),
		 "luod: previous boot log follows (last %d of %d lines; all: luoctl log --previous)\n",
		 nr - skip, nr);
	if (write(fd, line, strlen(line)) < 0)
		msg("cannot write to /dev/kmsg: %s", strerror(errno));
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (skip-- <= 0) {
			snprintf(line, sizeof(line), "luod: prev: %.*s\n",
				 (int)len, p);
			if (write(fd, line, strlen(line)) < 0)
				break;
		}
		p += len + 1;
	}
	snprintf(line, sizeof(line), "luod: previous boot log ends\n");
	if (write(fd, line, strlen(line)) < 0)
		msg("cannot write to /dev/kmsg: %s", strerror(errno));
	close(fd);
}

/* ---- handover ---- */

/* Take over what the previous luod handed over, if anything. */
static void handover_in(void)
{
	static struct luod_state_entry ent[LUOD_MAX_SESSIONS];
	int sfd, state_fd = -1, log_fd = -1, nr, i, ret;
	const char *why;
	struct stat st;
	uint64_t seq;
	void *map;

	sfd = luo_session_open(LIVEUPDATE_IOCTL_RETRIEVE_SESSION, LUOD_SESSION);
	if (sfd == -ENOENT) {
		msg("no session '%s' from a previous kernel: starting fresh",
		    LUOD_SESSION);
		return;
	}
	if (sfd < 0) {
		msg("retrieving session '%s' failed: %s", LUOD_SESSION,
		    strerror(-sfd));
		return;
	}
	state_fd = luo_retrieve(sfd, LUOD_TOKEN_STATE);
	if (state_fd < 0)
		msg("retrieving the previous state failed: %s",
		    strerror(-state_fd));
	log_fd = luo_retrieve(sfd, LUOD_TOKEN_LOG);
	if (log_fd < 0)
		msg("retrieving the previous log failed: %s", strerror(-log_fd));

	if (log_fd >= 0 && !fstat(log_fd, &st) && st.st_size > 0) {
		map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, log_fd, 0);
		if (map == MAP_FAILED) {
			msg("mapping the previous log failed: %s",
			    strerror(errno));
		} else {
			ret = ring_extract(map, st.st_size, &luod.prev_log,
					   &luod.prev_log_len, &why);
			if (ret)
				msg("refusing the previous log: %s (this luod reads log format %d)",
				    why ? why : strerror(-ret), LUOD_LOG_VERSION);
			munmap(map, st.st_size);
		}
	}

	if (state_fd >= 0) {
		nr = state_load(state_fd, ent, &seq, &why);
		if (nr == -EOPNOTSUPP)
			msg("refusing the previous state: %s (this luod reads state format %d); %s",
			    why, LUOD_STATE_VERSION,
			    "its sessions are not taken over");
		else if (nr < 0)
			msg("refusing the previous state: %s", why);
		for (i = 0; i < nr; i++) {
			struct luod_session *s;
			int fd;

			fd = luo_session_open(LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
					      ent[i].name);
			if (fd < 0) {
				msg("session '%s' of the previous luod: retrieve failed: %s",
				    ent[i].name, strerror(-fd));
				continue;
			}
			s = session_add(ent[i].name, LUOD_SESSION_IN, fd);
			if (!s) {
				close(fd);
				continue;
			}
			s->nr_handed = ent[i].nr_files;
			msg("took over session '%s' (%u files)", s->name,
			    s->nr_handed);
		}
	}
	if (state_fd >= 0)
		close(state_fd);
	if (log_fd >= 0)
		close(log_fd);
	ret = luo_finish(sfd);
	if (ret)
		msg("finishing session '%s' failed: %s", LUOD_SESSION,
		    strerror(-ret));
	close(sfd);
}

/* Make this luod's state and log memfds, and preserve them. */
static int handover_out_setup(void)
{
	int log_fd, ret;

	luod.state_fd = memfd_create("luod-state", MFD_CLOEXEC);
	log_fd = memfd_create("luod-log", MFD_CLOEXEC);
	if (luod.state_fd < 0 || log_fd < 0)
		return -errno;
	if (ftruncate(luod.state_fd, LUOD_STATE_SIZE))
		return -errno;
	ret = ring_init(&luod.ring, log_fd, LUOD_LOG_SIZE);
	if (ret)
		return ret;
	state_save();
	if (luod.no_device) {
		close(log_fd);
		return 0;
	}
	luod.own_session = luo_session_open(LIVEUPDATE_IOCTL_CREATE_SESSION,
					    LUOD_SESSION);
	if (luod.own_session < 0)
		return luod.own_session;
	ret = luo_preserve(luod.own_session, luod.state_fd, LUOD_TOKEN_STATE);
	if (!ret)
		ret = luo_preserve(luod.own_session, log_fd, LUOD_TOKEN_LOG);
	close(log_fd);
	return ret;
}

/* ---- requests ---- */

static void reply(struct luod_client *c, uint16_t op, int err,
		  const void *payload, size_t len, int fd)
{
	struct luod_hdr hdr = {
		.magic = LUOD_MAGIC, .version = LUOD_PROTO_VERSION,
		.opcode = op, .length = len, .error = err,
	};

	memcpy(c->out, &hdr, sizeof(hdr));
	if (len)
		memcpy(c->out + sizeof(hdr), payload, len);
	c->out_len = sizeof(hdr) + len;
	c->out_off = 0;
	c->out_fd = fd;
}

static void client_close_fds(struct luod_client *c)
{
	while (c->nr_fds)
		close(c->fds[--c->nr_fds]);
	c->fd_error = false;
}

static int parse_session_req(const void *p, size_t len, bool create,
			     struct luod_session_req *req)
{
	if (len != sizeof(*req))
		return -EINVAL;
	memcpy(req, p, sizeof(*req));
	if (req->reserved || (req->flags & ~(create ? LUOD_SESSION_ATTACH : 0)))
		return -EINVAL;
	if (!name_valid(req->name, sizeof(req->name)))
		return -EINVAL;
	if (!strcmp(req->name, LUOD_SESSION))
		return -EPERM;
	return 0;
}

static int count_sessions(void)
{
	int nr = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++)
		nr += luod.sessions[i].used;
	return nr;
}

static int op_create(struct luod_client *c, const void *p, size_t len)
{
	struct luod_session_req req;
	struct luod_session *s;
	int ret, fd = -1;

	ret = parse_session_req(p, len, true, &req);
	if (ret)
		return ret;
	s = session_find(req.name, LUOD_SESSION_OUT);
	if (s) {
		if (!(req.flags & LUOD_SESSION_ATTACH))
			return -EEXIST;
		c->cur = s->id;
		return 0;
	}
	if (count_sessions() >= LUOD_MAX_SESSIONS)
		return -ENOSPC;
	if (!luod.no_device) {
		fd = luo_session_open(LIVEUPDATE_IOCTL_CREATE_SESSION, req.name);
		if (fd < 0)
			return fd;
	}
	s = session_add(req.name, LUOD_SESSION_OUT, fd);
	if (!s) {
		if (fd >= 0)
			close(fd);
		return -ENOSPC;
	}
	c->cur = s->id;
	state_save();
	msg("pid %d created session '%s'", c->pid, s->name);
	return 0;
}

static int op_retrieve_session(struct luod_client *c, const void *p, size_t len)
{
	struct luod_session_req req;
	struct luod_session *s;
	int ret, fd;

	ret = parse_session_req(p, len, false, &req);
	if (ret)
		return ret;
	s = session_find(req.name, LUOD_SESSION_IN);
	if (!s && luod.no_device) {
		/* Testing: a session made in this run stands in for one. */
		s = session_find(req.name, LUOD_SESSION_OUT);
		if (!s)
			return -ENOENT;
	}
	if (!s) {
		if (count_sessions() >= LUOD_MAX_SESSIONS)
			return -ENOSPC;
		fd = luo_session_open(LIVEUPDATE_IOCTL_RETRIEVE_SESSION,
				      req.name);
		if (fd < 0)
			return fd;
		s = session_add(req.name, LUOD_SESSION_IN, fd);
		if (!s) {
			close(fd);
			return -ENOSPC;
		}
		msg("pid %d retrieved session '%s'", c->pid, s->name);
	}
	c->cur = s->id;
	return 0;
}

static int parse_token(const void *p, size_t len, uint64_t *token)
{
	struct luod_token_req req;

	if (len != sizeof(req))
		return -EINVAL;
	memcpy(&req, p, sizeof(req));
	*token = req.token;
	return 0;
}

static int op_preserve(struct luod_client *c, const void *p, size_t len,
		       int fd)
{
	struct luod_session *s = session_by_id(c->cur);
	uint64_t token;
	int ret;

	ret = parse_token(p, len, &token);
	if (ret)
		return ret;
	if (!s)
		return -ENOENT;
	if (s->state != LUOD_SESSION_OUT)
		return -EINVAL;
	if (c->nr_preserved >= luod.max_fds)
		return -EMFILE;
	if (session_file(s, token))
		return -EEXIST;
	if (!luod.no_device) {
		ret = luo_preserve(s->fd, fd, token);
		if (ret)
			return ret;
	}
	if (!session_file_add(s, token, luod.no_device ? fd : -1)) {
		/* Out of memory: LUO holds it, but we cannot count it. */
		return -ENOMEM;
	}
	c->nr_preserved++;
	state_save();
	return luod.no_device ? 1 : 0;	/* 1: the fd is kept */
}

static int op_retrieve(struct luod_client *c, const void *p, size_t len,
		       int *fd_out)
{
	struct luod_session *s = session_by_id(c->cur);
	struct luod_file *f;
	uint64_t token;
	int ret, fd;

	ret = parse_token(p, len, &token);
	if (ret)
		return ret;
	if (!s)
		return -ENOENT;
	f = session_file(s, token);
	if (f && f->fd >= 0) {
		*fd_out = f->fd;
		return 0;
	}
	/* --no-device keeps every preserved fd, so only real ones get here. */
	if (s->state != LUOD_SESSION_IN || s->fd < 0)
		return s->state == LUOD_SESSION_IN ? -ENOENT : -EINVAL;
	fd = luo_retrieve(s->fd, token);
	if (fd < 0)
		return fd;
	f = session_file_add(s, token, fd);
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	*fd_out = fd;
	return 0;
}

static int op_finish(struct luod_client *c, size_t len)
{
	struct luod_session *s = session_by_id(c->cur);
	int ret;

	if (len)
		return -EINVAL;
	if (!s)
		return -ENOENT;
	/* Testing: --no-device finishes (drops) a session made in this run. */
	if (s->state != LUOD_SESSION_IN && !luod.no_device)
		return -EINVAL;
	if (s->fd >= 0) {
		ret = luo_finish(s->fd);
		if (ret)
			return ret;
	}
	msg("pid %d finished session '%s'", c->pid, s->name);
	session_del(s);
	c->cur = 0;
	state_save();
	return 0;
}

static size_t op_list(struct luod_session_info *info)
{
	size_t i, nr = 0;

	for (i = 0; i < ARRAY_SIZE(luod.sessions); i++) {
		struct luod_session *s = &luod.sessions[i];

		if (!s->used)
			continue;
		memset(&info[nr], 0, sizeof(info[nr]));
		memcpy(info[nr].name, s->name, sizeof(info[nr].name));
		info[nr].state = s->state;
		info[nr].nr_files = s->state == LUOD_SESSION_IN ?
				    s->nr_handed : s->nr_files;
		nr++;
	}
	return nr * sizeof(*info);
}

static int op_log(struct luod_client *c, const char *p, size_t len)
{
	char line[LUOD_LOG_LINE_MAX + 64];
	size_t n, i;

	if (!len || len > LUOD_LOG_LINE_MAX)
		return -EINVAL;
	kmsg_drain();	/* keep the kernel's lines before this one */
	timestamp(line, sizeof(line));
	n = strlen(line);
	n += snprintf(line + n, sizeof(line) - n, "pid %d: ", c->pid);
	for (i = 0; i < len; i++)
		line[n++] = (p[i] < ' ' || p[i] == 0x7f) ? '?' : p[i];
	line[n++] = '\n';
	ring_append(&luod.ring, line, n);
	return 0;
}

static int op_get_log(const void *p, size_t len, size_t *off, size_t *n)
{
	struct luod_get_log_req req;

	if (len != sizeof(req))
		return -EINVAL;
	memcpy(&req, p, sizeof(req));
	if (!luod.prev_log)
		return -ENOENT;
	if (req.offset > luod.prev_log_len)
		return -EINVAL;
	*off = req.offset;
	*n = luod.prev_log_len - req.offset;
	if (*n > LUOD_MAX_REPLY)
		*n = LUOD_MAX_REPLY;
	return 0;
}

static void dispatch(struct luod_client *c)
{
	static struct luod_session_info info[LUOD_MAX_SESSIONS];
	struct luod_hdr hdr;
	const uint8_t *p = c->in + sizeof(hdr);
	int ret = 0, fd_out = -1, fd_in = -1;
	size_t len, off = 0, n = 0;

	memcpy(&hdr, c->in, sizeof(hdr));
	len = hdr.length;

	/* An fd may come with PRESERVE only, and then exactly one. */
	if (c->fd_error || c->nr_fds > 1 ||
	    (hdr.opcode != LUOD_OP_PRESERVE && c->nr_fds)) {
		client_close_fds(c);
		reply(c, hdr.opcode, EINVAL, NULL, 0, -1);
		return;
	}
	if (hdr.opcode == LUOD_OP_PRESERVE) {
		if (!c->nr_fds) {
			reply(c, hdr.opcode, EBADF, NULL, 0, -1);
			return;
		}
		fd_in = c->fds[0];
		c->nr_fds = 0;
	}

	switch (hdr.opcode) {
	case LUOD_OP_CREATE_SESSION:
		ret = op_create(c, p, len);
		break;
	case LUOD_OP_RETRIEVE_SESSION:
		ret = op_retrieve_session(c, p, len);
		break;
	case LUOD_OP_PRESERVE:
		ret = op_preserve(c, p, len, fd_in);
		if (ret == 1) {
			fd_in = -1;	/* kept */
			ret = 0;
		}
		break;
	case LUOD_OP_RETRIEVE:
		ret = op_retrieve(c, p, len, &fd_out);
		break;
	case LUOD_OP_FINISH:
		ret = op_finish(c, len);
		break;
	case LUOD_OP_LIST:
		if (len) {
			ret = -EINVAL;
			break;
		}
		reply(c, hdr.opcode, 0, info, op_list(info), -1);
		return;
	case LUOD_OP_LOG:
		ret = op_log(c, (const char *)p, len);
		break;
	case LUOD_OP_GET_LOG:
		ret = op_get_log(p, len, &off, &n);
		if (!ret) {
			reply(c, hdr.opcode, 0, luod.prev_log + off, n, -1);
			return;
		}
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	if (fd_in >= 0)
		close(fd_in);
	reply(c, hdr.opcode, -ret, NULL, 0, ret ? -1 : fd_out);
}

/* ---- clients ---- */

static void client_drop(unsigned int i)
{
	struct luod_client *c = luod.clients[i];

	client_close_fds(c);
	close(c->sock);
	free(c);
	luod.clients[i] = luod.clients[--luod.nr_clients];
}

static void client_accept(void)
{
	struct luod_client *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int sock;

	for (;;) {
		sock = accept4(luod.listen_fd, NULL, NULL,
			       SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (sock < 0)
			return;
		if (luod.nr_clients >= luod.max_clients) {
			close(sock);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(sock);
			return;
		}
		c->sock = sock;
		c->out_fd = -1;
		c->pid = -1;
		if (!getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
			c->pid = cred.pid;
		luod.clients[luod.nr_clients++] = c;
	}
}

/* Return false when the client must go. */
static bool client_write(struct luod_client *c)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = {
		c->out + c->out_off, c->out_len - c->out_off,
	};
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	ssize_t n;

	while (c->out_off < c->out_len) {
		if (c->out_fd >= 0) {
			m.msg_control = cbuf;
			m.msg_controllen = sizeof(cbuf);
			cmsg = CMSG_FIRSTHDR(&m);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &c->out_fd, sizeof(int));
		}
		n = sendmsg(c->sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_fd = -1;		/* held by luod; sent once */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		c->out_off += n;
		iov.iov_base = c->out + c->out_off;
		iov.iov_len = c->out_len - c->out_off;
	}
	c->out_len = 0;
	c->out_off = 0;
	return !c->close_after;
}

static void client_take_fds(struct luod_client *c, struct msghdr *m)
{
	struct cmsghdr *cm;
	size_t i, nr;
	int fd;

	if (m->msg_flags & MSG_CTRUNC)
		c->fd_error = true;
	for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			c->fd_error = true;
			continue;
		}
		nr = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->nr_fds < LUOD_PENDING_FDS) {
				c->fds[c->nr_fds++] = fd;
			} else {
				close(fd);
				c->fd_error = true;
			}
		}
	}
}

/* Check a complete header; on a framing error, answer and hang up. */
static bool header_ok(struct luod_client *c)
{
	struct luod_hdr hdr;
	int err = 0;

	memcpy(&hdr, c->in, sizeof(hdr));
	if (hdr.magic != LUOD_MAGIC)
		err = EPROTO;
	else if (hdr.version != LUOD_PROTO_VERSION)
		err = EPROTONOSUPPORT;
	else if (hdr.length > LUOD_MAX_REQUEST)
		err = EMSGSIZE;
	else if (hdr.error)
		err = EINVAL;
	if (!err)
		return true;
	client_close_fds(c);
	reply(c, hdr.opcode, err, NULL, 0, -1);
	c->close_after = true;
	return false;
}

/* Read one message at most; return false when the client must go. */
static bool client_read(struct luod_client *c)
{
	char cbuf[CMSG_SPACE(sizeof(int) * LUOD_PENDING_FDS)];
	struct luod_hdr hdr;
	struct iovec iov;
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	size_t want;
	ssize_t n;

	if (c->in_len < sizeof(hdr)) {
		want = sizeof(hdr) - c->in_len;
	} else {
		memcpy(&hdr, c->in, sizeof(hdr));
		want = sizeof(hdr) + hdr.length - c->in_len;
	}
	iov.iov_base = c->in + c->in_len;
	iov.iov_len = want;
	n = recvmsg(c->sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;	/* gone; its sessions stay with luod */
	client_take_fds(c, &m);
	c->in_len += n;
	if (c->in_len == sizeof(hdr) && !header_ok(c))
		return true;
	memcpy(&hdr, c->in, sizeof(hdr));
	if (c->in_len == sizeof(hdr) + hdr.length) {
		dispatch(c);
		c->in_len = 0;
	}
	return true;
}

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

/* ---- self-test ---- */

static int st_nr, st_failed;

static void st_check(bool ok, const char *what)
{
	st_nr++;
	if (!ok)
		st_failed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", st_nr, what);
}

/* Unit checks of the on-memfd formats and of input validation. */
static int self_test(void)
{
	static struct luod_state_entry ent[LUOD_MAX_SESSIONS];
	struct luod_ring ring = { 0 };
	struct luod_log_hdr *lh;
	struct luod_state_hdr sh;
	const char *why;
	char *text, line[64];
	size_t len;
	uint64_t seq;
	int fd, lfd, i, nr;
	struct luod_session *a, *b;

	printf("TAP version 13\n1..17\n");
	fd = memfd_create("st-state", MFD_CLOEXEC);
	lfd = memfd_create("st-log", MFD_CLOEXEC);
	if (fd < 0 || lfd < 0 || ftruncate(fd, LUOD_STATE_SIZE)) {
		printf("Bail out! memfd_create: %s\n", strerror(errno));
		return 1;
	}
	luod.state_fd = fd;
	nr = state_load(fd, ent, &seq, &why);
	st_check(nr == -ENOENT, "an empty state file has no state");

	a = session_add("alpha", LUOD_SESSION_OUT, -1);
	b = session_add("beta", LUOD_SESSION_OUT, -1);
	session_add("gamma", LUOD_SESSION_IN, -1);
	session_file_add(a, 7, -1);
	session_file_add(a, 8, -1);
	state_save();
	session_file_add(b, 9, -1);
	state_save();
	nr = state_load(fd, ent, &seq, &why);
	st_check(nr == 2 && !strcmp(ent[0].name, "alpha") &&
		 ent[0].nr_files == 2 && !strcmp(ent[1].name, "beta") &&
		 ent[1].nr_files == 1 && seq == 2,
		 "state round trip keeps outgoing sessions only, newest slot");

	/* Corrupt the newest slot (seq 2 sits in slot 0): the other wins. */
	pwrite(fd, "X", 1, sizeof(struct luod_state_hdr) + 1);
	nr = state_load(fd, ent, &seq, &why);
	st_check(nr == 2 && seq == 1 && ent[1].nr_files == 0,
		 "a torn slot falls back to the older slot");

	pread(fd, &sh, sizeof(sh), LUOD_STATE_SLOT);
	sh.version = 99;
	pwrite(fd, &sh, sizeof(sh), LUOD_STATE_SLOT);
	nr = state_load(fd, ent, &seq, &why);
	st_check(nr == -EOPNOTSUPP && why && strstr(why, "version"),
		 "an unknown state version is refused");

	sh.version = LUOD_STATE_VERSION;
	sh.nr_sessions = LUOD_MAX_SESSIONS + 1;
	pwrite(fd, &sh, sizeof(sh), LUOD_STATE_SLOT);
	nr = state_load(fd, ent, &seq, &why);
	st_check(nr == -EINVAL, "a state with too many sessions is refused");

	st_check(ring_init(&ring, lfd, sizeof(struct luod_log_hdr) + 256) == 0,
		 "log ring set up");
	ring_append(&ring, "one\n", 4);
	ring_append(&ring, "two\n", 4);
	st_check(!ring_extract(ring.map, ring.size, &text, &len, &why) &&
		 len == 8 && !strcmp(text, "one\ntwo\n"),
		 "log ring keeps lines in order");
	free(text);
	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line %03d\n", i);
		ring_append(&ring, line, strlen(line));
	}
	st_check(!ring_extract(ring.map, ring.size, &text, &len, &why) &&
		 len > 200 && !strncmp(text, "line ", 5) &&
		 strstr(text, "line 099\n") && len % 9 == 0,
		 "a wrapped log ring starts at a whole line, ends at the newest");
	free(text);
	ring_append(&ring, "x", 1);
	ring_append(&ring, "0123456789", 10);
	st_check(!ring_extract(ring.map, ring.size, &text, &len, &why) &&
		 len && text[len - 1] == '9',
		 "a partial last line is kept");
	free(text);
	lh = (struct luod_log_hdr *)ring.map;
	lh->version = 2;
	st_check(ring_extract(ring.map, ring.size, &text, &len, &why) ==
		 -EOPNOTSUPP, "an unknown log version is refused");
	lh->version = LUOD_LOG_VERSION;
	lh->data_size = 1 << 30;
	st_check(ring_extract(ring.map, ring.size, &text, &len, &why) ==
		 -EINVAL, "a log with a bad size is refused");

	st_check(name_valid("demo\0\0\0", 8), "name 'demo' is valid");
	st_check(!name_valid("a b\0", 4), "a name with a space is not");
	st_check(!name_valid("ab\0x", 4), "bytes after the NUL must be 0");
	memset(line, 'n', sizeof(line));
	st_check(!name_valid(line, sizeof(line)), "a name without NUL is not");
	st_check(!name_valid("\0\0", 2), "an empty name is not");
	st_check(!name_valid("../x\0", 5), "a name with '/' is not");
	printf("# %d of %d failed\n", st_failed, st_nr);
	return st_failed ? 1 : 0;
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
		"       luod --self-test\n"
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
		"      --self-test         check the state and log formats, then exit\n"
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
		{ "self-test", no_argument, NULL, 'T' },
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
		case 'T':
			return self_test();
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
		luod.luo = open(LUOD_DEVICE, O_RDWR | O_CLOEXEC);
		if (luod.luo < 0) {
			ret = errno;
			fprintf(stderr, "Error: opening %s: %s (%s)\n", LUOD_DEVICE,
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
