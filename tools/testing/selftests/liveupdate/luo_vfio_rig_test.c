// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a passthrough device (QEMU's edu) behind QEMU's intel-iommu,
 * driven through the vfio-pci cdev and iommufd, in one kernel. The
 * variants that take it through a live update are in
 * luo_vfio_hitless_test.c, luo_vfio_retrieve_test.c and
 * luo_vfio_refuse_test.c.
 *
 * One variant per scenario (lu.case= in vm/tests picks it), one stage
 * each:
 *
 * rig checks the rig: the device is bound to vfio-pci, attached to an
 * IOAS, and a memfd is mapped at a fixed IOVA; IOMMU_IOAS_MAP_FILE gives
 * the device no access its fd does not give; DMA goes RAM to device and
 * back through the IOMMU byte for byte, the liveness and factorial
 * registers work, and a DMA to an IOVA that is not mapped is stopped by
 * the IOMMU (a DMAR fault, nothing written).
 *
 * shared needs a second edu device in an IOMMU group of its own:
 * attached to the first one's IOAS, it shares its domain, and preserving
 * either device is refused (EBUSY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/memfd.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#include "lu_edu.h"
#include "lu_harness.h"
#include "lu_luo.h"
#include "lu_vfio.h"

#define IOVA_UNMAPPED	0x0ff00000ULL

FIXTURE(vfio) {};

FIXTURE_VARIANT(vfio) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(vfio) *variant);
};

/* A memfd of LU_VFIO_RAM_SIZE bytes, populated, with @seals added. */
static int sealed_memfd(unsigned int seals)
{
	int fd = memfd_create("lu-vfio-sealed", MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, LU_VFIO_RAM_SIZE) ||
	    fallocate(fd, 0, 0, LU_VFIO_RAM_SIZE) ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals)))
		ksft_exit_fail_msg("sealed memfd: %s\n", strerror(errno));
	return fd;
}

/*
 * IOMMU_IOAS_MAP_FILE gives the device no access its fd does not give
 * (6 results): a read-only fd maps for reading only, a memfd sealed
 * against writing maps for reading only, and a memfd a device may write
 * cannot be sealed against writing.
 */
static void map_file_access(struct lu_edu *e, int memfd)
{
	const uint64_t iova = 0x1000000;
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ksft_exit_fail_msg("%s: %s\n", path, strerror(errno));
	err = lu_edu_map_file_rw(e, fd, 0, LU_VFIO_RAM_SIZE, iova, true);
	lu_check(err == -EACCES,
		 "MAP_FILE writable from a read-only fd is refused: %s\n",
		 strerror(-err));
	err = lu_edu_map_file_rw(e, fd, 0, LU_VFIO_RAM_SIZE, iova, false);
	if (!err)
		err = lu_edu_unmap(e, iova, LU_VFIO_RAM_SIZE);
	lu_check(!err, "and read-only from it works: %s\n", strerror(-err));
	close(fd);

	fd = sealed_memfd(F_SEAL_FUTURE_WRITE);
	err = lu_edu_map_file_rw(e, fd, 0, LU_VFIO_RAM_SIZE, iova, true);
	lu_check(err == -EPERM,
		 "MAP_FILE writable of a F_SEAL_FUTURE_WRITE memfd is refused: %s\n",
		 strerror(-err));
	close(fd);
	fd = sealed_memfd(F_SEAL_WRITE);
	err = lu_edu_map_file_rw(e, fd, 0, LU_VFIO_RAM_SIZE, iova, true);
	lu_check(err == -EPERM,
		 "MAP_FILE writable of a F_SEAL_WRITE memfd is refused: %s\n",
		 strerror(-err));
	err = lu_edu_map_file_rw(e, fd, 0, LU_VFIO_RAM_SIZE, iova, false);
	if (!err)
		err = lu_edu_unmap(e, iova, LU_VFIO_RAM_SIZE);
	lu_check(!err, "and read-only works: %s\n", strerror(-err));
	close(fd);

	fd = sealed_memfd(0);
	err = lu_edu_map_file_rw(e, fd, 0, LU_VFIO_RAM_SIZE, iova, true);
	if (err)
		ksft_exit_fail_msg("MAP_FILE: %s\n", strerror(-err));
	err = fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) ? -errno : 0;
	lu_check(err == -EBUSY,
		 "a memfd the device may write cannot be sealed F_SEAL_WRITE: %s\n",
		 strerror(-err));
	lu_edu_unmap(e, iova, LU_VFIO_RAM_SIZE);
	close(fd);
}

static void rig_stage1(const FIXTURE_VARIANT(vfio) *variant)
{
	struct lu_edu e;
	uint32_t live;
	uint8_t *ram;
	int fd, err, i;

	lu_vfio_edu_setup(&e, 0);
	ram = lu_vfio_ram_memfd(&fd, false);
	err = lu_edu_map(&e, ram, LU_VFIO_RAM_SIZE, LU_VFIO_IOVA);
	if (err)
		ksft_exit_fail_msg("IOMMU_IOAS_MAP: %s\n", strerror(-err));
	map_file_access(&e, fd);

	lu_edu_write(&e, 0x04, 0x12345678);
	live = lu_edu_read(&e, 0x04);
	lu_check(live == ~0x12345678U, "%s: liveness 0x%08x\n", e.bdf, live);
	lu_edu_write(&e, 0x08, 10);
	for (i = 0; i < 1000 && (lu_edu_read(&e, 0x20) & 1); i++)
		usleep(1000);
	lu_check(lu_edu_read(&e, 0x08) == 3628800,
		 "factorial of 10: %u\n", lu_edu_read(&e, 0x08));

	lu_vfio_fill(ram, LU_EDU_DMA_MAX, 7);
	memset(ram + LU_EDU_DMA_MAX, 0, LU_EDU_DMA_MAX);
	err = lu_edu_dma(&e, LU_VFIO_IOVA, LU_EDU_DMA_MAX, false);
	if (!err)
		err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_EDU_DMA_MAX,
				 LU_EDU_DMA_MAX, true);
	lu_check(!err && !memcmp(ram, ram + LU_EDU_DMA_MAX,
				 LU_EDU_DMA_MAX),
		 "DMA RAM -> device -> RAM through the IOMMU: %s\n",
		 err ? strerror(-err) : "equal");

	/* To an IOVA nothing is mapped at: the IOMMU stops it. */
	memset(ram, 0, LU_VFIO_RAM_SIZE);
	err = lu_edu_dma(&e, IOVA_UNMAPPED, LU_EDU_DMA_MAX, true);
	for (i = 0; i < 100 && !lu_vfio_dmar_fault_seen(); i++)
		usleep(10000);	/* the fault is reported by an interrupt */
	lu_check(!err && i < 100, "DMA to an unmapped IOVA faults\n");
	for (i = 0; i < (int)LU_VFIO_RAM_SIZE && !ram[i]; i++)
		;
	lu_check(i == (int)LU_VFIO_RAM_SIZE, "and writes nothing\n");
	lu_edu_close(&e);
}

/*
 * Variant shared: a second edu device, in an IOMMU group of its own, is
 * attached to the first one's IOAS, so that both share one domain; its
 * tables cannot go to the next kernel with either device alone, and
 * preserving either is refused (EBUSY).
 */
static void shared_stage1(const FIXTURE_VARIANT(vfio) *variant)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int session, dev2, err;
	struct lu_edu e;
	char bdf[16];

	lu_vfio_edu_setup(&e, 0);
	if (lu_edu_find_nth(1, bdf, sizeof(bdf)))
		ksft_exit_fail_msg("a second edu device is needed\n");
	dev2 = lu_vfio_open_cdev(bdf);
	bind.iommufd = e.iommufd;
	if (ioctl(dev2, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		ksft_exit_fail_msg("VFIO_DEVICE_BIND_IOMMUFD: %s\n",
				   strerror(errno));
	attach.pt_id = e.ioas;
	err = ioctl(dev2, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) ? -errno : 0;
	lu_check(!err && attach.pt_id == e.hwpt,
		 "%s attached to the same IOAS shares the domain (page table %u)\n",
		 bdf, attach.pt_id);

	session = luo_create_session(luo_open(), "dev");
	err = __luo_preserve_fd(session, e.dev, 1);
	lu_check(err == -EBUSY,
		 "a device sharing its domain cannot be preserved: %s\n",
		 strerror(-err));
	err = __luo_preserve_fd(session, dev2, 2);
	lu_check(err == -EBUSY, "nor can the other one: %s\n", strerror(-err));
	close(session);
	close(dev2);
	lu_edu_close(&e);
}

FIXTURE_VARIANT_ADD(vfio, rig) {
	.stage = { rig_stage1 },
};

FIXTURE_VARIANT_ADD(vfio, shared) {
	.stage = { shared_stage1 },
};

FIXTURE_SETUP(vfio)
{
}

FIXTURE_TEARDOWN(vfio)
{
}

TEST_F_TIMEOUT(vfio, stages, LU_STAGE_TIMEOUT)
{
	int i = lu_stage_index(_metadata);

	if (i < 0)
		return;
	ASSERT_NE(NULL, variant->stage[i]);
	variant->stage[i](variant);
	EXPECT_EQ(0, lu_checks_failed());
}

int main(int argc, char **argv)
{
	return lu_harness_main(argc, argv);
}
