// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's edu device through the vfio-pci cdev and iommufd; see
 * include/lu_edu.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "lu_edu.h"

#define PCI_SYSFS	"/sys/bus/pci/devices"

static int read_sysfs(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int lu_edu_find_nth(int nth, char *bdf, size_t len)
{
	char path[300], vendor[16], device[16];
	struct dirent **names;
	int i, n, err = -ENODEV;

	n = scandir(PCI_SYSFS, &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (name[0] == '.' || err != -ENODEV)
			continue;
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/vendor", name);
		if (read_sysfs(path, vendor, sizeof(vendor)))
			continue;
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/device", name);
		if (read_sysfs(path, device, sizeof(device)))
			continue;
		if (strcmp(vendor, "0x1234") || strcmp(device, "0x11e8"))
			continue;
		if (nth-- == 0) {
			snprintf(bdf, len, "%s", name);
			err = 0;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

int lu_edu_find(char *bdf, size_t len)
{
	return lu_edu_find_nth(0, bdf, len);
}

int lu_edu_bind_vfio(const char *bdf)
{
	char path[300], link[300];
	ssize_t n;
	int err;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		if (strstr(link, "/vfio-pci"))
			return 0;
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/driver/unbind", bdf);
		err = write_sysfs(path, bdf);
		if (err)
			return err;
	}
	snprintf(path, sizeof(path), PCI_SYSFS "/%s/driver_override", bdf);
	err = write_sysfs(path, "vfio-pci");
	if (err)
		return err;
	return write_sysfs("/sys/bus/pci/drivers_probe", bdf);
}

int lu_edu_cdev(const char *bdf, char *dev, size_t len)
{
	char path[300];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (!strncmp(d->d_name, "vfio", 4)) {
			snprintf(dev, len, "/dev/vfio/devices/%s", d->d_name);
			closedir(dir);
			return 0;
		}
	}
	closedir(dir);
	return -ENOENT;
}

int lu_edu_command(struct lu_edu *e, uint16_t *cmd)
{
	if (pread(e->dev, cmd, 2, e->cfg_offset + 4) != 2)
		return -errno;
	return 0;
}

int lu_edu_open(struct lu_edu *e, const char *bdf, const char **why)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char dev[300];
	uint16_t cmd;
	int err;

	memset(e, 0, sizeof(*e));
	e->dev = -1;
	e->iommufd = -1;
	e->bar0 = MAP_FAILED;
	snprintf(e->bdf, sizeof(e->bdf), "%s", bdf);

	*why = "find the vfio cdev";
	err = lu_edu_cdev(bdf, dev, sizeof(dev));
	if (err)
		return err;
	*why = "open the vfio cdev";
	e->dev = open(dev, O_RDWR | O_CLOEXEC);
	if (e->dev < 0)
		return -errno;
	*why = "open /dev/iommu";
	e->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (e->iommufd < 0)
		return -errno;
	*why = "VFIO_DEVICE_BIND_IOMMUFD";
	bind.iommufd = e->iommufd;
	if (ioctl(e->dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -errno;
	e->devid = bind.out_devid;
	*why = "IOMMU_IOAS_ALLOC";
	if (ioctl(e->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return -errno;
	e->ioas = alloc.out_ioas_id;
	*why = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
	attach.pt_id = e->ioas;
	if (ioctl(e->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -errno;
	e->hwpt = attach.pt_id;

	*why = "VFIO_DEVICE_GET_REGION_INFO (config)";
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(e->dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		return -errno;
	e->cfg_offset = reg.offset;
	*why = "VFIO_DEVICE_GET_REGION_INFO (BAR0)";
	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(e->dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		return -errno;
	*why = "mmap BAR0";
	e->bar0_size = reg.size;
	e->bar0 = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       e->dev, reg.offset);
	if (e->bar0 == MAP_FAILED)
		return -errno;

	*why = "enable memory decoding and bus mastering";
	err = lu_edu_command(e, &cmd);
	if (err)
		return err;
	cmd |= 0x6;	/* PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER */
	if (pwrite(e->dev, &cmd, 2, e->cfg_offset + 4) != 2)
		return -errno;
	*why = NULL;
	return 0;
}

int lu_edu_open_sysfs(struct lu_edu *e, const char *bdf)
{
	char path[300];
	int fd;

	memset(e, 0, sizeof(*e));
	e->iommufd = -1;
	e->bar0 = MAP_FAILED;
	snprintf(e->bdf, sizeof(e->bdf), "%s", bdf);
	snprintf(path, sizeof(path), PCI_SYSFS "/%s/config", bdf);
	e->dev = open(path, O_RDWR | O_CLOEXEC);
	if (e->dev < 0)
		return -errno;
	snprintf(path, sizeof(path), PCI_SYSFS "/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e->bar0_size = 4096;
	e->bar0 = mmap(NULL, e->bar0_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	close(fd);
	return e->bar0 == MAP_FAILED ? -errno : 0;
}

int lu_edu_set_master(struct lu_edu *e, bool on)
{
	uint16_t cmd;
	int err = lu_edu_command(e, &cmd);

	if (err)
		return err;
	cmd = on ? cmd | 0x4 : cmd & ~0x4;
	if (pwrite(e->dev, &cmd, 2, e->cfg_offset + 4) != 2)
		return -errno;
	return 0;
}

int lu_edu_map_file(struct lu_edu *e, int fd, uint64_t start, uint64_t len,
		    uint64_t iova)
{
	return lu_edu_map_file_rw(e, fd, start, len, iova, true);
}

int lu_edu_map_file_rw(struct lu_edu *e, int fd, uint64_t start, uint64_t len,
		       uint64_t iova, bool writable)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 (writable ? IOMMU_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = e->ioas,
		.fd = fd,
		.start = start,
		.length = len,
		.iova = iova,
	};

	return ioctl(e->iommufd, IOMMU_IOAS_MAP_FILE, &map) ? -errno : 0;
}

int lu_edu_map(struct lu_edu *e, void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = e->ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(e->iommufd, IOMMU_IOAS_MAP, &map) ? -errno : 0;
}

int lu_edu_unmap(struct lu_edu *e, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = e->ioas,
		.iova = iova,
		.length = len,
	};

	return ioctl(e->iommufd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
}

uint32_t lu_edu_read(struct lu_edu *e, uint32_t reg)
{
	return __atomic_load_n((uint32_t *)(e->bar0 + reg), __ATOMIC_SEQ_CST);
}

void lu_edu_write(struct lu_edu *e, uint32_t reg, uint32_t val)
{
	__atomic_store_n((uint32_t *)(e->bar0 + reg), val, __ATOMIC_SEQ_CST);
}

static void write64(struct lu_edu *e, uint32_t reg, uint64_t val)
{
	__atomic_store_n((uint64_t *)(e->bar0 + reg), val, __ATOMIC_SEQ_CST);
}

void lu_edu_dma_start(struct lu_edu *e, uint64_t iova, uint32_t len,
		      bool to_ram)
{
	write64(e, 0x80, to_ram ? LU_EDU_BUF : iova);
	write64(e, 0x88, to_ram ? iova : LU_EDU_BUF);
	write64(e, 0x90, len);
	write64(e, 0x98, to_ram ? 0x3 : 0x1);
}

int lu_edu_dma_wait(struct lu_edu *e, int ms)
{
	struct timespec ts = { .tv_nsec = 1000000 };
	int i;

	for (i = 0; i < ms; i++) {
		if (!(lu_edu_read(e, 0x98) & 1))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int lu_edu_dma(struct lu_edu *e, uint64_t iova, uint32_t len, bool to_ram)
{
	lu_edu_dma_start(e, iova, len, to_ram);
	return lu_edu_dma_wait(e, 5000);
}

void lu_edu_close(struct lu_edu *e)
{
	if (e->bar0 != MAP_FAILED)
		munmap(e->bar0, e->bar0_size);
	if (e->dev >= 0)
		close(e->dev);
	if (e->iommufd >= 0)
		close(e->iommufd);
	e->bar0 = MAP_FAILED;
	e->dev = -1;
	e->iommufd = -1;
}
