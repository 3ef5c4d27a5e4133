// SPDX-License-Identifier: GPL-2.0
/*
 * luod's log: its own messages, the log ring in the preserved memfd
 * (token 2 of the session "luod") and the kernel log, copied in from
 * /dev/kmsg and, after an update, the previous boot's tail written back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "luod_internal.h"

void timestamp(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, len, "[%5lld.%06ld] ", (long long)ts.tv_sec,
		 ts.tv_nsec / 1000);
}

/* A message of luod's own: on stderr, and in the log ring when there. */
void msg(const char *fmt, ...)
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

/* ---- the log ring ---- */

int ring_init(struct luod_ring *ring, int fd, size_t size)
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
void ring_append(struct luod_ring *ring, const char *buf, size_t len)
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
int ring_extract(const uint8_t *map, size_t size, char **text,
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

/* ---- the kernel log ---- */

/* Copy new /dev/kmsg records into the ring, skipping our own replay. */
void kmsg_drain(void)
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
void kmsg_replay(void)
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
