// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/liveupdate wrappers that exit on failure, and readers of sysfs
 * and procfs numbers, for the selftests; see include/lu_luo.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../kselftest.h"
#include "lu_luo.h"
#include "lu_vfio.h"

int luo_open(void)
{
	int fd = __luo_open();

	if (fd < 0)
		ksft_exit_fail_msg("open(%s): %s\n", LUO_DEVICE, strerror(-fd));
	return fd;
}

int luo_create_session(int luo, const char *name)
{
	int fd = __luo_create_session(luo, name);

	if (fd < 0)
		ksft_exit_fail_msg("LIVEUPDATE_IOCTL_CREATE_SESSION(%s): %s\n",
				   name, strerror(-fd));
	return fd;
}

int luo_retrieve_session(int luo, const char *name)
{
	int fd = __luo_retrieve_session(luo, name);

	if (fd < 0)
		ksft_exit_fail_msg("LIVEUPDATE_IOCTL_RETRIEVE_SESSION(%s): %s\n",
				   name, strerror(-fd));
	return fd;
}

void luo_preserve_fd(int session, int fd, uint64_t token)
{
	int ret = __luo_preserve_fd(session, fd, token);

	if (ret)
		ksft_exit_fail_msg("LIVEUPDATE_SESSION_PRESERVE_FD(token %llu): %s\n",
				   (unsigned long long)token, strerror(-ret));
}

int luo_retrieve_fd(int session, uint64_t token)
{
	int fd = __luo_retrieve_fd(session, token);

	if (fd < 0)
		ksft_exit_fail_msg("LIVEUPDATE_SESSION_RETRIEVE_FD(token %llu): %s\n",
				   (unsigned long long)token, strerror(-fd));
	return fd;
}

void luo_finish(int session)
{
	int ret = __luo_finish(session);

	if (ret)
		ksft_exit_fail_msg("LIVEUPDATE_SESSION_FINISH: %s\n",
				   strerror(-ret));
}

long long luo_sysfs(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/liveupdate/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ksft_exit_fail_msg("open(%s): %s\n", path, strerror(errno));
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		ksft_exit_fail_msg("read(%s): %s\n", path, strerror(errno));
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return strtoll(buf, NULL, 0);
}

void luo_require(void)
{
	if (access(LUO_DEVICE, F_OK))
		ksft_exit_skip("no %s (CONFIG_LIVEUPDATE, liveupdate=on)\n",
			       LUO_DEVICE);
}

long long lu_read_num(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtoll(buf, NULL, 0) : -1;
}

void lu_write_num(const char *path, long long val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	char text[32];

	snprintf(text, sizeof(text), "%lld\n", val);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		ksft_exit_fail_msg("%s: %s\n", path, strerror(errno));
	close(fd);
}

int lu_retrieve_fd_committed(int session, uint64_t token, long long room_kib)
{
	long long committed = lu_meminfo_kib("Committed_AS");
	int fd;

	lu_write_num("/proc/sys/vm/overcommit_kbytes", committed + room_kib);
	lu_write_num("/proc/sys/vm/overcommit_memory", 2);
	fd = __luo_retrieve_fd(session, token);
	lu_write_num("/proc/sys/vm/overcommit_memory", 0);
	lu_write_num("/proc/sys/vm/overcommit_kbytes", 0);
	ksft_print_msg("committed %lld KiB, room for %lld KiB more\n",
		       committed, room_kib);
	return fd;
}

uint8_t lu_pattern(uint64_t seed, uint64_t off)
{
	return (uint8_t)(seed * 31 + off * 7 + (off >> 12) * 13);
}

int lu_pattern_memfd(const char *name, unsigned int flags, size_t size,
		     uint64_t seed)
{
	int fd = memfd_create(name, flags);
	uint8_t *p;
	size_t i;

	if (fd < 0 || ftruncate(fd, size))
		ksft_exit_fail_msg("memfd %s: %s\n", name, strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap %s: %s\n", name, strerror(errno));
	for (i = 0; i < size; i++)
		p[i] = lu_pattern(seed, i);
	munmap(p, size);
	return fd;
}

size_t lu_pattern_intact(int fd, size_t size, uint64_t seed)
{
	uint8_t *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	size_t i;

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (i = 0; i < size && p[i] == lu_pattern(seed, i); i++)
		;
	munmap(p, size);
	return i;
}

long long lu_meminfo_kib(const char *field)
{
	size_t len = strlen(field);
	long long kib = -1;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		ksft_exit_fail_msg("/proc/meminfo: %s\n", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kib = strtoll(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

long long lu_free_kib(void)
{
	long long pages = 0;
	char line[128];
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		ksft_exit_fail_msg("/proc/zoneinfo: %s\n", strerror(errno));
	/* "count:" lines belong to the per-CPU lists of each zone. */
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " ");

		if (!strncmp(p, "count:", 6))
			pages += strtoll(p + 6, NULL, 10);
	}
	fclose(f);
	return lu_meminfo_kib("MemFree") + pages * (sysconf(_SC_PAGESIZE) >> 10);
}

void lu_meminfo_text(char *buf, size_t len)
{
	FILE *f = fopen("/proc/meminfo", "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

void lu_meminfo_moved(const char *before, long long min_kib)
{
	char now[8192], name[64];
	long long was, is;
	const char *b;
	char *p;

	lu_meminfo_text(now, sizeof(now));
	for (p = strtok(now, "\n"); p; p = strtok(NULL, "\n")) {
		/* Fields in kB only: "Name:   123 kB". */
		if (sscanf(p, "%63[^:]: %lld", name, &is) != 2 || !strstr(p, " kB"))
			continue;
		/* The same field, not one whose name ends with this one. */
		for (b = strstr(before, name); b && b != before && b[-1] != '\n';
		     b = strstr(b + 1, name))
			;
		if (!b || sscanf(b + strlen(name), ": %lld", &was) != 1)
			continue;
		if (llabs(is - was) >= min_kib)
			ksft_print_msg("meminfo %s: %lld -> %lld KiB (%+lld)\n",
				       name, was, is, is - was);
	}
}

int lu_fill_worker(int on)
{
	int fd = open("/sys/module/luo_folios/parameters/test_no_fill_worker",
		      O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, on ? "0" : "1", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

bool lu_prepare_on(void)
{
	int fd = open("/sys/module/liveupdate/parameters/prepare",
		      O_RDONLY | O_CLOEXEC);
	char c = 'N';

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 'N';
	close(fd);
	return c == 'Y';
}

bool lu_wait_prepared(int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (lu_vfio_kmsg_has("liveupdate: prepared for retrieve:"))
			return true;
		usleep(100 * 1000);
	}
	return false;
}
