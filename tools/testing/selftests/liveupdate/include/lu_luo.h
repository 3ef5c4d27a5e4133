/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wrappers of the /dev/liveupdate interface for the selftests. Each comes
 * in two forms: __luo_foo() returns a negative errno, luo_foo() reports a
 * failure through kselftest (with the call's name) and exits. The
 * __luo_foo() forms are libluo's calls (tools/liveupdate/libluo.h, which
 * lists their errnos), shared with luod.
 */
#ifndef _LU_LUO_H
#define _LU_LUO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/liveupdate.h>

#include "libluo.h"

static inline int __luo_open(void)
{
	return libluo_open();
}

static inline int __luo_create_session(int luo, const char *name)
{
	return libluo_create_session(luo, name);
}

static inline int __luo_retrieve_session(int luo, const char *name)
{
	return libluo_retrieve_session(luo, name);
}

static inline int __luo_preserve_fd(int session, int fd, uint64_t token)
{
	return libluo_preserve_fd(session, fd, token);
}

static inline int __luo_retrieve_fd(int session, uint64_t token)
{
	return libluo_retrieve_fd(session, token);
}

static inline int __luo_finish(int session)
{
	return libluo_finish(session);
}

/* The session's name, by LIVEUPDATE_SESSION_GET_NAME, into @buf. */
static inline int __luo_get_session_name(int session, char *buf, size_t len)
{
	return libluo_get_session_name(session, buf, len);
}

int luo_open(void);
int luo_create_session(int luo, const char *name);
int luo_retrieve_session(int luo, const char *name);
void luo_preserve_fd(int session, int fd, uint64_t token);
int luo_retrieve_fd(int session, uint64_t token);
void luo_finish(int session);

/* Read /sys/kernel/liveupdate/NAME into @buf; return its number value. */
long long luo_sysfs(const char *name, char *buf, size_t len);
/* Skip the whole test when there is no /dev/liveupdate. */
void luo_require(void);
/*
 * A /proc/meminfo field in KiB. Preserved memory is reserved until it is
 * restored, then counted in MemTotal: what a finish releases shows there
 * exactly (MemFree lags behind the per-CPU free lists).
 */
long long lu_meminfo_kib(const char *field);
/* The number a sysfs, debugfs or procfs file holds; -1 if none. */
long long lu_read_num(const char *path);
/* Write @val to a sysfs or procfs file, or end the test. */
void lu_write_num(const char *path, long long val);
/*
 * __luo_retrieve_fd() under a strict overcommit limit (vm.overcommit_memory
 * 2) with room for @room_kib KiB more than is committed now; the limit is
 * lifted again before this returns.
 */
int lu_retrieve_fd_committed(int session, uint64_t token, long long room_kib);
/* The byte at @off of a memfd lu_pattern_memfd() filled from @seed */
uint8_t lu_pattern(uint64_t seed, uint64_t off);
/* A memfd of @size bytes (memfd_create() @flags), filled from @seed. */
int lu_pattern_memfd(const char *name, unsigned int flags, size_t size,
		     uint64_t seed);
/* How many bytes from the start of the memfd @fd are as @seed made them. */
size_t lu_pattern_intact(int fd, size_t size, uint64_t seed);
/*
 * Free memory in KiB, counting the pages on the per-CPU free lists that
 * MemFree leaves out: a few MiB freed show here at once.
 */
long long lu_free_kib(void);
/*
 * Print every /proc/meminfo field that moved by @min_kib or more since
 * @before, a copy of /proc/meminfo the caller read earlier
 * (lu_meminfo_text()): where memory went when a check of it fails.
 */
void lu_meminfo_moved(const char *before, long long min_kib);
/* Read /proc/meminfo into @buf (@len bytes); @buf is "" on error. */
void lu_meminfo_text(char *buf, size_t len);

/*
 * Turn the background fill of retrieved files on or off
 * (luo_folios.test_no_fill_worker, CONFIG_LIVEUPDATE_TEST); with it off,
 * only lookups put a retrieved memfd's or guest_memfd's folios into it
 * until its session is finished. 0, or -errno (-ENOENT: no such knob).
 */
int lu_fill_worker(int on);

/* Does this kernel prepare handed-over files at boot (liveupdate.prepare)? */
bool lu_prepare_on(void);
/*
 * Wait up to @secs seconds for the next kernel's pass over the handed-over
 * files ("prepared for retrieve" in its log); false if it did not come.
 */
bool lu_wait_prepared(int secs);

#endif /* _LU_LUO_H */
