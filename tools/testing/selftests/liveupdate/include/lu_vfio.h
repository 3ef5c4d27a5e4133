/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the VFIO live update tests (luo_vfio_*_test.c) share: the first
 * edu device (lu_edu.h) set up with RAM mapped at LU_VFIO_IOVA, the
 * checks of a device kept running through a kexec, and the kernel log
 * lines they look for.
 *
 * A helper that cannot go on says why through kselftest and exits; one
 * that checks something reports with lu_check() ("N result lines").
 */
#ifndef _LU_VFIO_H
#define _LU_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lu_edu.h"

/* The RAM memfd the device does DMA to */
#define LU_VFIO_RAM_SIZE	(2UL << 20)
/* 2 MiB aligned, so that HugeTLB memory can be mapped with large pages */
#define LU_VFIO_IOVA		0x200000ULL
#define LU_VFIO_PAGE(n)		((n) * 4096UL)
/* What lu_vfio_edu_load() leaves in the device's registers */
#define LU_VFIO_LIVENESS	0xc0ffee00U
#define LU_VFIO_FACT_IN		12
#define LU_VFIO_FACT_OUT	479001600U
/* What lu_vfio_disk_io() writes and reads */
#define LU_VFIO_DISK_IO		(64 << 10)

/* Fill @len bytes at @p with a pattern made from @seed. */
void lu_vfio_fill(uint8_t *p, size_t len, uint32_t seed);
bool lu_vfio_all_zero(const uint8_t *p, size_t len);

/*
 * The kernel log records since boot that contain @what: how many, and in
 * *@num (if not NULL) the largest number right after @what, or -1.
 */
int lu_vfio_kmsg_scan(const char *what, long *num);
int lu_vfio_kmsg_count(const char *what);
bool lu_vfio_kmsg_has(const char *what);
/* Has the kernel logged a DMAR write fault since it booted? */
bool lu_vfio_dmar_fault_seen(void);

/*
 * The disk next to the device, if the VM has one (/dev/vda); its PCI
 * address as the IOMMU's fault lines name it ("00:03.0") in @bdf.
 */
bool lu_vfio_disk_find(char *bdf, size_t len);
/* Is a virtio-blk PCI function present, whether or not it probed? */
bool lu_vfio_disk_present(void);
/*
 * Write LU_VFIO_DISK_IO bytes of pattern @seed at @off of the disk (if
 * @write), then read them back past the page cache. Return 0 if they
 * match.
 */
int lu_vfio_disk_io(off_t off, uint32_t seed, bool write);

/*
 * The edu device at index @nth bound to vfio-pci and opened
 * (lu_edu_open()); exits on failure.
 */
void lu_vfio_edu_setup(struct lu_edu *e, int nth);
/* The vfio cdev of the edu device at @bdf, bound to vfio-pci, opened. */
int lu_vfio_open_cdev(const char *bdf);
/*
 * A memfd of LU_VFIO_RAM_SIZE bytes (of 2 MiB HugeTLB pages if @huge),
 * its descriptor in *@fdp, mapped.
 */
uint8_t *lu_vfio_ram_memfd(int *fdp, bool huge);
/*
 * Stage 1: the first edu device with RAM (lu_vfio_ram_memfd(), its
 * descriptor in @fdp) mapped at LU_VFIO_IOVA, its liveness and factorial
 * registers set and the RAM's first bytes in its buffer (one result
 * line).
 */
uint8_t *lu_vfio_edu_load(struct lu_edu *e, int *fdp, bool huge);
/*
 * Stage 1 of a device kept running through the update ("the hitless
 * stage 1"), in two steps around the caller's sessions. The first:
 * lu_vfio_edu_load(), and the disk next to the device, if the VM has
 * one, takes a write (one more result line).
 */
void lu_vfio_hitless_load(struct lu_edu *e, int *fdp);
/*
 * The second: the device file preserved in @session (token 2), and
 * preserving it twice refused (two result lines); exits if a check of
 * the stage failed. The caller starts the DMA in flight and reboots.
 */
void lu_vfio_hitless_preserve(struct lu_edu *e, int session);

/* Stage 2: retrieve session "dev" and map its memfd (token 1). */
uint8_t *lu_vfio_retrieve_ram(int *session, int *fdp);
/* Stage 2: the first edu device, no driver bound, through sysfs. */
void lu_vfio_edu_sysfs(struct lu_edu *e);
/* Stage 2: the device kept its registers and bus mastering (2 results). */
void lu_vfio_check_unreset(struct lu_edu *e);
/* DMA RAM page @from -> device -> RAM page @to: did the data come back? */
bool lu_vfio_dma_round_trip(struct lu_edu *e, uint8_t *ram, int from,
			    int to, uint32_t seed);

#endif /* _LU_VFIO_H */
