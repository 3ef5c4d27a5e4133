/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's edu PCI device (1234:11e8) driven from user space through the
 * vfio-pci cdev and iommufd, for the VFIO and IOMMU live update tests.
 *
 * BAR0: 0x04 liveness (reads back inverted), 0x08 factorial, 0x20
 * status (bit 0: factorial busy), 0x80 DMA source, 0x88 destination,
 * 0x90 count, 0x98 command (bit 0 start/busy, bit 1 device to RAM).
 * The device's own DMA buffer is at LU_EDU_BUF (4 KiB); its DMA mask is
 * 28 bits, so RAM is mapped at an IOVA below 256 MiB.
 */
#ifndef _LU_EDU_H
#define _LU_EDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LU_EDU_BUF	0x40000
/* QEMU's bounds check stops the machine on a full 4 KiB transfer. */
#define LU_EDU_DMA_MAX	2048

struct lu_edu {
	char bdf[16];		/* 0000:00:03.0 */
	int dev;		/* /dev/vfio/devices/vfioN */
	int iommufd;		/* /dev/iommu */
	uint32_t devid;		/* iommufd device id */
	uint32_t ioas;		/* IOAS id */
	uint32_t hwpt;		/* hardware page table the device is attached to */
	uint8_t *bar0;
	size_t bar0_size;
	uint64_t cfg_offset;	/* of the config space region in @dev */
};

/* Find the first edu device; return 0 and its address, or -ENODEV. */
int lu_edu_find(char *bdf, size_t len);
/* The same for the one at index @nth, in the order of their addresses. */
int lu_edu_find_nth(int nth, char *bdf, size_t len);
/* Bind it to vfio-pci (driver_override); return 0 or a negative errno. */
int lu_edu_bind_vfio(const char *bdf);
/* The path of its vfio cdev in @dev. */
int lu_edu_cdev(const char *bdf, char *dev, size_t len);
/*
 * Open its cdev, bind it to a new iommufd, attach it to a new IOAS, map
 * BAR0 and enable memory decoding and bus mastering. @why names the step
 * that failed.
 */
int lu_edu_open(struct lu_edu *e, const char *bdf, const char **why);
/*
 * Reach the device with no driver bound, through sysfs (resource0 and
 * config): for a device whose DMA went on through a live update.
 */
int lu_edu_open_sysfs(struct lu_edu *e, const char *bdf);
/* Set or clear bus mastering in its PCI command register. */
int lu_edu_set_master(struct lu_edu *e, bool on);
/* Map @len bytes at @va to @iova in the IOAS. */
int lu_edu_map(struct lu_edu *e, void *va, uint64_t len, uint64_t iova);
int lu_edu_unmap(struct lu_edu *e, uint64_t iova, uint64_t len);
/* Map @len bytes of memfd @fd from @start to @iova (IOMMU_IOAS_MAP_FILE). */
int lu_edu_map_file(struct lu_edu *e, int fd, uint64_t start, uint64_t len,
		    uint64_t iova);
/* The same, the device only reading unless @writable. */
int lu_edu_map_file_rw(struct lu_edu *e, int fd, uint64_t start, uint64_t len,
		       uint64_t iova, bool writable);
/* Start a DMA of @len bytes, RAM at @iova to or from the device buffer. */
void lu_edu_dma_start(struct lu_edu *e, uint64_t iova, uint32_t len,
		      bool to_ram);
/* Wait for the DMA to finish; 0, or -ETIMEDOUT after @ms. */
int lu_edu_dma_wait(struct lu_edu *e, int ms);
int lu_edu_dma(struct lu_edu *e, uint64_t iova, uint32_t len, bool to_ram);
uint32_t lu_edu_read(struct lu_edu *e, uint32_t reg);
void lu_edu_write(struct lu_edu *e, uint32_t reg, uint32_t val);
/* PCI command register through the VFIO config region. */
int lu_edu_command(struct lu_edu *e, uint16_t *cmd);
void lu_edu_close(struct lu_edu *e);

#endif /* _LU_EDU_H */
