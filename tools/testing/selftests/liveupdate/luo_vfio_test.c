// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a passthrough device (QEMU's edu) behind QEMU's intel-iommu,
 * driven through the vfio-pci cdev and iommufd.
 *
 * lu.case=rig checks the rig in one kernel: the device is bound to
 * vfio-pci, attached to an IOAS, and a memfd is mapped at a fixed IOVA;
 * DMA goes RAM to device and back through the IOMMU byte for byte, the
 * liveness and factorial registers work, and a DMA to an IOVA that is
 * not mapped is stopped by the IOMMU (a DMAR fault, nothing written).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../kselftest.h"
#include "lu_edu.h"
#include "lu_stage.h"

#define RAM_SIZE	(2UL << 20)
#define IOVA		0x100000ULL
#define IOVA_UNMAPPED	0x0ff00000ULL

static char lu_case[16];

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 8));
}

/* Has the kernel logged a DMAR write fault since it booted? */
static bool dmar_fault_seen(void)
{
	char buf[1024];
	bool found = false;
	ssize_t n;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0 || errno == EPIPE) {
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, "DMAR: [DMA Write"))
			found = true;
	}
	close(fd);
	return found;
}

static void edu_setup(struct lu_edu *e)
{
	const char *why;
	char bdf[16];
	int err;

	err = lu_edu_find(bdf, sizeof(bdf));
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

static uint8_t *ram_memfd(int *fdp)
{
	uint8_t *ram;
	int fd = memfd_create("lu-vfio-ram", 0);

	if (fd < 0 || ftruncate(fd, RAM_SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	*fdp = fd;
	return ram;
}

static void case_rig(void)
{
	struct lu_edu e;
	uint32_t live;
	uint8_t *ram;
	int fd, err, i;

	ksft_set_plan(5);
	edu_setup(&e);
	ram = ram_memfd(&fd);
	err = lu_edu_map(&e, ram, RAM_SIZE, IOVA);
	if (err)
		ksft_exit_fail_msg("IOMMU_IOAS_MAP: %s\n", strerror(-err));

	lu_edu_write(&e, 0x04, 0x12345678);
	live = lu_edu_read(&e, 0x04);
	ksft_test_result(live == ~0x12345678U, "%s: liveness 0x%08x\n", e.bdf,
			 live);
	lu_edu_write(&e, 0x08, 10);
	for (i = 0; i < 1000 && (lu_edu_read(&e, 0x20) & 1); i++)
		usleep(1000);
	ksft_test_result(lu_edu_read(&e, 0x08) == 3628800,
			 "factorial of 10: %u\n", lu_edu_read(&e, 0x08));

	fill(ram, LU_EDU_DMA_MAX, 7);
	memset(ram + LU_EDU_DMA_MAX, 0, LU_EDU_DMA_MAX);
	err = lu_edu_dma(&e, IOVA, LU_EDU_DMA_MAX, false);
	if (!err)
		err = lu_edu_dma(&e, IOVA + LU_EDU_DMA_MAX, LU_EDU_DMA_MAX,
				 true);
	ksft_test_result(!err && !memcmp(ram, ram + LU_EDU_DMA_MAX,
					 LU_EDU_DMA_MAX),
			 "DMA RAM -> device -> RAM through the IOMMU: %s\n",
			 err ? strerror(-err) : "equal");

	/* To an IOVA nothing is mapped at: the IOMMU stops it. */
	memset(ram, 0, RAM_SIZE);
	err = lu_edu_dma(&e, IOVA_UNMAPPED, LU_EDU_DMA_MAX, true);
	for (i = 0; i < 100 && !dmar_fault_seen(); i++)
		usleep(10000);	/* the fault is reported by an interrupt */
	ksft_test_result(!err && i < 100,
			 "DMA to an unmapped IOVA faults\n");
	for (i = 0; i < (int)RAM_SIZE && !ram[i]; i++)
		;
	ksft_test_result(i == (int)RAM_SIZE, "and writes nothing\n");
	lu_edu_close(&e);
	ksft_finished();
}

static void stage1(void)
{
	ksft_print_header();
	if (!strcmp(lu_case, "rig"))
		case_rig();
	ksft_exit_fail_msg("unknown lu.case=%s\n", lu_case);
}

int main(void)
{
	static void (*const stages[])(void) = { stage1 };

	if (!lu_cmdline_get("lu.case", lu_case, sizeof(lu_case)))
		snprintf(lu_case, sizeof(lu_case), "rig");
	lu_run_stages(stages, ARRAY_SIZE(stages));
}
