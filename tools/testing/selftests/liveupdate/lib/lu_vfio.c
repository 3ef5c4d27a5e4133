// SPDX-License-Identifier: GPL-2.0
/*
 * What the VFIO live update tests share; see include/lu_vfio.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/memfd.h>
#include <sys/mman.h>

#include "../../kselftest.h"
#include "lu_luo.h"
#include "lu_stage.h"
#include "lu_vfio.h"

void lu_vfio_fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 8));
}

bool lu_vfio_all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

int lu_vfio_kmsg_scan(const char *what, long *num)
{
	char buf[1024], *p;
	int found = 0;
	ssize_t n;
	long v;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (num)
		*num = -1;
	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0 || errno == EPIPE) {
		if (n <= 0)
			continue;
		buf[n] = '\0';
		p = strstr(buf, what);
		if (!p)
			continue;
		found++;
		if (num && sscanf(p + strlen(what), "%ld", &v) == 1 && v > *num)
			*num = v;
	}
	close(fd);
	return found;
}

int lu_vfio_kmsg_count(const char *what)
{
	return lu_vfio_kmsg_scan(what, NULL);
}

bool lu_vfio_kmsg_has(const char *what)
{
	return lu_vfio_kmsg_count(what) > 0;
}

bool lu_vfio_dmar_fault_seen(void)
{
	return lu_vfio_kmsg_has("DMAR: [DMA Write");
}

bool lu_vfio_disk_find(char *bdf, size_t len)
{
	char path[PATH_MAX], *p;

	if (!realpath("/sys/block/vda/device/..", path))
		return false;
	p = strrchr(path, '/');
	if (!p || strlen(p) != strlen("/0000:00:00.0"))
		return false;
	snprintf(bdf, len, "%s", p + strlen("/0000:"));
	return true;
}

/* The first line of a small sysfs file, without its newline. */
static bool read_id(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok = f && fgets(buf, len, f);

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

bool lu_vfio_disk_present(void)
{
	char path[PATH_MAX], id[16];
	struct dirent *d;
	bool found = false;
	DIR *dir = opendir("/sys/bus/pci/devices");

	while (dir && !found && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 d->d_name);
		if (!read_id(path, id, sizeof(id)) || strcmp(id, "0x1af4"))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 d->d_name);
		found = read_id(path, id, sizeof(id)) &&
			(!strcmp(id, "0x1042") || !strcmp(id, "0x1001"));
	}
	if (dir)
		closedir(dir);
	return found;
}

int lu_vfio_disk_io(off_t off, uint32_t seed, bool write)
{
	uint8_t *buf = NULL, *want = malloc(LU_VFIO_DISK_IO);
	int fd, err = 0;

	fd = open("/dev/vda", O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || !want ||
	    posix_memalign((void **)&buf, 4096, LU_VFIO_DISK_IO)) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	lu_vfio_fill(want, LU_VFIO_DISK_IO, seed);
	if (write) {
		memcpy(buf, want, LU_VFIO_DISK_IO);
		if (pwrite(fd, buf, LU_VFIO_DISK_IO, off) != LU_VFIO_DISK_IO ||
		    fsync(fd)) {
			err = -EIO;
			goto out;
		}
	}
	memset(buf, 0, LU_VFIO_DISK_IO);
	if (pread(fd, buf, LU_VFIO_DISK_IO, off) != LU_VFIO_DISK_IO)
		err = -EIO;
	else if (memcmp(buf, want, LU_VFIO_DISK_IO))
		err = -EBADMSG;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(want);
	return err;
}

void lu_vfio_edu_setup(struct lu_edu *e, int nth)
{
	const char *why;
	char bdf[16];
	int err;

	err = lu_edu_find_nth(nth, bdf, sizeof(bdf));
	if (err)
		ksft_exit_fail_msg("no edu device (-device edu): %s\n",
				   strerror(-err));
	err = lu_edu_bind_vfio(bdf);
	if (err)
		ksft_exit_fail_msg("binding %s to vfio-pci: %s\n", bdf,
				   strerror(-err));
	err = lu_edu_open(e, bdf, &why);
	if (err)
		ksft_exit_fail_msg("%s %s: %s\n", bdf, why, strerror(-err));
}

int lu_vfio_open_cdev(const char *bdf)
{
	char path[300];
	int err, fd;

	err = lu_edu_bind_vfio(bdf);
	if (!err)
		err = lu_edu_cdev(bdf, path, sizeof(path));
	if (err)
		ksft_exit_fail_msg("vfio cdev of %s: %s\n", bdf, strerror(-err));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ksft_exit_fail_msg("%s: %s\n", path, strerror(errno));
	return fd;
}

uint8_t *lu_vfio_ram_memfd(int *fdp, bool huge)
{
	uint8_t *ram;
	unsigned int flags = huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0;
	int fd = memfd_create("lu-vfio-ram", flags);

	if (fd < 0 || ftruncate(fd, LU_VFIO_RAM_SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	ram = mmap(NULL, LU_VFIO_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	*fdp = fd;
	return ram;
}

uint8_t *lu_vfio_edu_load(struct lu_edu *e, int *fdp, bool huge)
{
	uint8_t *ram;
	int err, i;

	lu_vfio_edu_setup(e, 0);
	ram = lu_vfio_ram_memfd(fdp, huge);
	/* HugeTLB: by file, so that a file-backed mapping is preserved */
	if (huge)
		err = lu_edu_map_file(e, *fdp, 0, LU_VFIO_RAM_SIZE,
				      LU_VFIO_IOVA);
	else
		err = lu_edu_map(e, ram, LU_VFIO_RAM_SIZE, LU_VFIO_IOVA);
	if (err)
		ksft_exit_fail_msg("mapping the RAM: %s\n", strerror(-err));
	lu_edu_write(e, 0x04, LU_VFIO_LIVENESS);
	lu_edu_write(e, 0x08, LU_VFIO_FACT_IN);
	for (i = 0; i < 1000 && (lu_edu_read(e, 0x20) & 1); i++)
		usleep(1000);
	lu_vfio_fill(ram, LU_EDU_DMA_MAX, 0x5a);
	err = lu_edu_dma(e, LU_VFIO_IOVA, LU_EDU_DMA_MAX, false);
	lu_check(!err && lu_edu_read(e, 0x08) == LU_VFIO_FACT_OUT,
		 "device loaded: factorial %u, pattern in its buffer\n",
		 lu_edu_read(e, 0x08));
	return ram;
}

void lu_vfio_hitless_load(struct lu_edu *e, int *fdp)
{
	char bdf[16];
	int err;

	lu_vfio_edu_load(e, fdp, false);
	if (lu_vfio_disk_present())
		lu_check(lu_vfio_disk_find(bdf, sizeof(bdf)),
			 "the disk next to the device probed\n");
	if (lu_vfio_disk_find(bdf, sizeof(bdf))) {
		err = lu_vfio_disk_io(0, 0x3c, true);
		lu_check(!err, "the disk next to it (%s) reads and writes: %s\n",
			 bdf, strerror(-err));
	}
}

void lu_vfio_hitless_preserve(struct lu_edu *e, int session)
{
	int err;

	err = __luo_preserve_fd(session, e->dev, 2);
	lu_check(!err, "vfio device file preserved: %s\n", strerror(-err));
	err = __luo_preserve_fd(session, e->dev, 3);
	lu_check(err == -EBUSY || err == -EEXIST,
		 "preserving it twice is refused: %s\n", strerror(-err));
	lu_checks_stop();
}

uint8_t *lu_vfio_retrieve_ram(int *session, int *fdp)
{
	uint8_t *ram;
	int fd;

	*session = luo_retrieve_session(luo_open(), "dev");
	fd = luo_retrieve_fd(*session, 1);
	if (fdp)
		*fdp = fd;
	ram = mmap(NULL, LU_VFIO_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return ram;
}

void lu_vfio_edu_sysfs(struct lu_edu *e)
{
	char bdf[16];

	if (lu_edu_find(bdf, sizeof(bdf)) || lu_edu_open_sysfs(e, bdf))
		ksft_exit_fail_msg("edu device through sysfs: %s\n",
				   strerror(errno));
}

void lu_vfio_check_unreset(struct lu_edu *e)
{
	uint16_t cmd = 0;
	int err;

	lu_check(lu_edu_read(e, 0x04) == ~LU_VFIO_LIVENESS &&
		 lu_edu_read(e, 0x08) == LU_VFIO_FACT_OUT,
		 "never reset: liveness 0x%08x, factorial %u\n",
		 lu_edu_read(e, 0x04), lu_edu_read(e, 0x08));
	err = lu_edu_command(e, &cmd);
	lu_check(!err && (cmd & 0x4), "bus mastering still on (0x%04x)\n", cmd);
}

bool lu_vfio_dma_round_trip(struct lu_edu *e, uint8_t *ram, int from,
			    int to, uint32_t seed)
{
	int err;

	lu_vfio_fill(ram + LU_VFIO_PAGE(from), LU_EDU_DMA_MAX, seed);
	err = lu_edu_dma(e, LU_VFIO_IOVA + LU_VFIO_PAGE(from), LU_EDU_DMA_MAX,
			 false);
	if (!err)
		err = lu_edu_dma(e, LU_VFIO_IOVA + LU_VFIO_PAGE(to),
				 LU_EDU_DMA_MAX, true);
	return !err && !memcmp(ram + LU_VFIO_PAGE(from), ram + LU_VFIO_PAGE(to),
			       LU_EDU_DMA_MAX);
}
