// SPDX-License-Identifier: GPL-2.0
/*
 * luod_unit - unit checks of luod's on-memfd formats and input validation.
 *
 * Links luod's log, session and handover code (not its main loop) and
 * checks, without /dev/liveupdate: the state memfd's round trip, a torn
 * slot, an unknown version and a bad size; the log ring's order, wrap
 * and partial last line, an unknown version and a bad size; and session
 * name validation. Prints TAP.
 *
 * Usage: luod_unit
 * Exit status: 0 pass, 1 fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../luod_internal.h"

/* The daemon as luod.c starts it, without a device or a socket. */
struct luod_daemon luod = {
	.luo = -1, .own_session = -1, .state_fd = -1, .kmsg = -1,
	.listen_fd = -1, .next_id = 1,
};

static int st_nr, st_failed;

static void st_check(bool ok, const char *what)
{
	st_nr++;
	if (!ok)
		st_failed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", st_nr, what);
}

/* Unit checks of the on-memfd formats and of input validation. */
int main(void)
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
