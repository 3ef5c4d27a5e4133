// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a passthrough device (QEMU's edu) behind QEMU's intel-iommu,
 * driven through the vfio-pci cdev and iommufd, whose handover is
 * refused: by the kernel it leaves, which will not let it go as it is,
 * or by the next kernel, which cannot use what it gets.
 *
 * One variant per scenario (lu.case= in vm/tests picks it):
 *
 * refuse needs a second and third edu device behind a PCIe-to-PCI bridge
 * (one IOMMU group). Preserving a vfio device file is refused when the
 * file is not bound to an iommufd (EINVAL), when the device is not
 * attached to a paging domain (EOPNOTSUPP) and when it shares its IOMMU
 * group (EBUSY). A device mapping memory that is not preserved fails the
 * reboot (EBUSY) with the session intact; its mappings cannot change
 * while it is preserved (unmapping is EBUSY), and once that memory is
 * preserved too, the update goes through and the device keeps doing DMA.
 *
 * kho_refused and kho_off do the hitless stage 1 (see
 * luo_vfio_hitless_test.c), but the next kernel refuses the whole
 * handover (an unknown format) or runs with kho=off: it keeps the IOMMU
 * on with empty tables (the driver never switches translation off, as it
 * does outside a live update), the PCI core stops the device, and its DMA
 * faults instead of reaching the physical address equal to its IOVA.
 *
 * bad_iommu and bad_pci do the same stage 1, but the IOMMU's or the PCI
 * core's part of the handover arrives in a format the next kernel does
 * not know (the KHO test interface overwrites it at reboot); with
 * bad_table the device's top-level page table is no longer preserved,
 * though its context entry still points at it. Stage 2: one line says
 * so, the device is stopped and the IOMMU blocks it, and the memfd of
 * the same session comes back intact.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#include "lu_edu.h"
#include "lu_harness.h"
#include "lu_luo.h"
#include "lu_vfio.h"

/* What part of the handover the next kernel cannot use (bad_*) */
enum bad {
	BAD_NONE,
	BAD_IOMMU,	/* the IOMMU's state: an unknown format */
	BAD_PCI,	/* the PCI core's state: an unknown format */
	BAD_TABLE,	/* the device's top-level page table: not preserved */
};

FIXTURE(vfio) {};

FIXTURE_VARIANT(vfio) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(vfio) *variant);
	/* What the KHO test interface spoils at the reboot, if anything */
	const char *corrupt;
	/* kho_off: the next kernel's extra command line */
	const char *next_extra;
	enum bad bad;
};

/* Stage 1 of refuse: the refusals, then the update once they are fixed. */
static void refuse_stage1(const FIXTURE_VARIANT(vfio) *variant)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int luo, session, fd, extra_fd, dev, iommufd, err;
	uint8_t *ram, *extra;
	struct lu_edu e, g;
	char bdf[16];

	luo = luo_open();
	session = luo_create_session(luo, "dev");

	if (lu_edu_find_nth(1, bdf, sizeof(bdf)))
		ksft_exit_fail_msg("no edu device behind the bridge\n");
	dev = lu_vfio_open_cdev(bdf);
	err = __luo_preserve_fd(session, dev, 10);
	lu_check(err == -EINVAL, "%s not bound to an iommufd: %s\n",
		 bdf, strerror(-err));
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	bind.iommufd = iommufd;
	if (iommufd < 0 || ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		ksft_exit_fail_msg("VFIO_DEVICE_BIND_IOMMUFD: %s\n",
				   strerror(errno));
	err = __luo_preserve_fd(session, dev, 10);
	lu_check(err == -EOPNOTSUPP,
		 "%s not attached to a paging domain: %s\n", bdf,
		 strerror(-err));
	close(dev);
	close(iommufd);

	lu_vfio_edu_setup(&g, 1);
	err = __luo_preserve_fd(session, g.dev, 11);
	lu_check(err == -EBUSY, "%s shares its IOMMU group: %s\n",
		 g.bdf, strerror(-err));
	lu_edu_close(&g);

	lu_vfio_edu_setup(&e, 0);
	ram = lu_vfio_ram_memfd(&fd, false);
	extra = lu_vfio_ram_memfd(&extra_fd, false);
	if (lu_edu_map(&e, ram, LU_VFIO_RAM_SIZE, LU_VFIO_IOVA) ||
	    lu_edu_map(&e, extra, LU_VFIO_RAM_SIZE,
		       LU_VFIO_IOVA + LU_VFIO_RAM_SIZE))
		ksft_exit_fail_msg("IOMMU_IOAS_MAP: %s\n", strerror(errno));
	lu_vfio_fill(ram, LU_EDU_DMA_MAX, 0x5a);
	luo_preserve_fd(session, fd, 1);
	err = __luo_preserve_fd(session, e.dev, 2);
	lu_check(!err, "%s preserved: %s\n", e.bdf, strerror(-err));

	err = __lu_kexec_load_refused(NULL);
	if (err)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-err));
	err = __lu_kexec_reboot();
	lu_check(err == -EBUSY,
		 "it maps a memfd that is not preserved: reboot fails: %s\n",
		 strerror(-err));
	lu_check(lu_vfio_kmsg_has("DMA to memory that is not preserved"),
		 "and says why\n");
	err = lu_edu_unmap(&e, LU_VFIO_IOVA + LU_VFIO_RAM_SIZE, LU_VFIO_RAM_SIZE);
	lu_check(err == -EBUSY,
		 "its mappings cannot change while it is preserved: %s\n",
		 strerror(-err));
	err = __luo_preserve_fd(session, extra_fd, 3);
	lu_check(!err, "preserving that memfd too: %s\n", strerror(-err));
	lu_checks_stop();
	lu_kexec_next(NULL);
}

/* Stage 2 of refuse: the device kept running. */
static void refuse_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	struct lu_edu e;
	uint8_t *ram;
	int session;

	lu_check(lu_vfio_kmsg_count("keeps its DMA translation") == 1,
		 "one device kept translating through the kexec\n");
	ram = lu_vfio_retrieve_ram(&session, NULL);
	lu_vfio_edu_sysfs(&e);
	lu_check(lu_vfio_dma_round_trip(&e, ram, 48, 64, 0x3c),
		 "and does DMA both ways after the update\n");
	luo_finish(session);
}

static void kho_test_ctl(const char *cmd)
{
	const char *ctl = "/sys/kernel/debug/kho_test/ctl";
	int fd = open(ctl, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, cmd, strlen(cmd)) < 0)
		ksft_exit_fail_msg("%s: %s: %s\n", ctl, cmd, strerror(errno));
	close(fd);
}

/*
 * The hitless stage 1 (luo_vfio_hitless_test.c), with the handover
 * spoiled at the reboot by the KHO test interface (@variant->corrupt) or
 * the next kernel booted with @variant->next_extra.
 */
static void spoiled_stage1(const FIXTURE_VARIANT(vfio) *variant)
{
	int session, fd;
	struct lu_edu e;

	lu_vfio_hitless_load(&e, &fd);
	session = luo_create_session(luo_open(), "dev");
	luo_preserve_fd(session, fd, 1);
	lu_vfio_hitless_preserve(&e, session);

	if (variant->corrupt)
		kho_test_ctl(variant->corrupt);
	/*
	 * In flight through the reboot: the device writes 100 ms later. Not
	 * through a table the next kernel does not reserve: it may be any
	 * page by then.
	 */
	if (variant->bad != BAD_TABLE)
		lu_edu_dma_start(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(16),
				 LU_EDU_DMA_MAX, true);
	lu_kexec_next(variant->next_extra);
}

/*
 * What the Intel IOMMU driver says when it switches off the translation a
 * previous kernel left on: the device's DMA would then reach the physical
 * address equal to its IOVA until translation is on again.
 */
#define TRANSLATION_OFF	"Translation was enabled for"

/*
 * Stage 2 of bad_iommu, bad_pci and bad_table: the next kernel refused
 * the IOMMU's or the PCI core's state, or the device's tables.
 */
static void bad_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, err, faults, i;
	struct lu_edu e;
	uint16_t cmd;

	lu_vfio_fill(pattern, sizeof(pattern), 0x5a);
	if (variant->bad == BAD_IOMMU)
		lu_check(lu_vfio_kmsg_count("IOMMU state refused (unknown format)") == 1 &&
			 !lu_vfio_kmsg_has("keeps its DMA translation"),
			 "one line: the IOMMU state is refused, nothing adopted\n");
	else if (variant->bad == BAD_TABLE)
		lu_check(lu_vfio_kmsg_count("not adopted (its tables are not all preserved") == 1 &&
			 !lu_vfio_kmsg_has("keeps its DMA translation"),
			 "one line: its tables are not all preserved, not adopted\n");
	else
		lu_check(lu_vfio_kmsg_count("PCI state refused (unknown format)") == 1 &&
			 lu_vfio_kmsg_has("released its adopted DMA translation"),
			 "one line: the PCI state is refused; adopted translation ended\n");
	lu_check(lu_vfio_kmsg_has("DMA stopped"), "the device was stopped\n");
	lu_check(!lu_vfio_kmsg_has(TRANSLATION_OFF),
		 "translation was never switched off\n");

	lu_vfio_edu_sysfs(&e);
	err = lu_edu_command(&e, &cmd);
	lu_check(!err && !(cmd & 0x4), "bus mastering off (0x%04x)\n", cmd);

	/* The rest of the handover goes on. */
	ram = lu_vfio_retrieve_ram(&session, NULL);
	lu_check(!memcmp(ram, pattern, sizeof(pattern)),
		 "the memfd of the session came back intact\n");

	/* Even with bus mastering turned back on, the IOMMU blocks it. */
	memset(ram + LU_VFIO_PAGE(96), 0, LU_EDU_DMA_MAX);
	faults = lu_vfio_kmsg_count("DMAR: [DMA Write");
	err = lu_edu_set_master(&e, true);
	if (!err)
		err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(96),
				 LU_EDU_DMA_MAX, true);
	/* The fault is reported by an interrupt: give it a moment. */
	for (i = 0; i < 100 && lu_vfio_kmsg_count("DMAR: [DMA Write") <= faults; i++)
		usleep(10000);
	lu_check(!err && lu_vfio_all_zero(ram + LU_VFIO_PAGE(96), LU_EDU_DMA_MAX),
		 "the IOMMU blocks the device\n");
	lu_edu_set_master(&e, false);
	luo_finish(session);
	lu_check(lu_vfio_kmsg_count("DMAR: [DMA Write") > faults,
		 "and reports the fault\n");
}

/*
 * Stage 2 of kho_refused and kho_off: this kernel has no handover it can
 * use, and the device was left doing DMA with the IOMMU translating. The
 * IOMMU stays on with empty tables, the PCI core stops the device, and
 * its DMA never reaches the physical address equal to its IOVA: the
 * IOMMU reports the fault at that IOVA.
 */
static void norestore_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	const uint64_t iova = LU_VFIO_IOVA + LU_VFIO_PAGE(80);
	char what[64];
	struct lu_edu e;
	uint16_t cmd;
	int err, i;

	lu_check(lu_vfio_kmsg_count("IOMMU state refused (not handed over") == 1,
		 "one line: no IOMMU state, translation stays on\n");
	lu_check(!lu_vfio_kmsg_has(TRANSLATION_OFF),
		 "translation was never switched off\n");
	lu_check(lu_vfio_kmsg_has("left running with no state handed over"),
		 "the device was stopped\n");
	lu_vfio_edu_sysfs(&e);
	err = lu_edu_command(&e, &cmd);
	lu_check(!err && !(cmd & 0x4), "bus mastering off (0x%04x)\n", cmd);

	snprintf(what, sizeof(what), "fault addr 0x%llx ",
		 (unsigned long long)iova);
	err = lu_edu_set_master(&e, true);
	if (!err)
		err = lu_edu_dma(&e, iova, LU_EDU_DMA_MAX, true);
	for (i = 0; i < 100 && !lu_vfio_kmsg_has(what); i++)
		usleep(10000);
	lu_edu_set_master(&e, false);
	lu_check(!err && i < 100,
		 "with bus mastering on again, the IOMMU blocks its DMA to IOVA 0x%llx\n",
		 (unsigned long long)iova);
}

FIXTURE_VARIANT_ADD(vfio, refuse) {
	.stage = { refuse_stage1, refuse_stage2 },
};

FIXTURE_VARIANT_ADD(vfio, kho_refused) {
	.stage = { spoiled_stage1, norestore_stage2 },
	.corrupt = "corrupt compatible",
};

FIXTURE_VARIANT_ADD(vfio, kho_off) {
	.stage = { spoiled_stage1, norestore_stage2 },
	.next_extra = "kho=off",
};

FIXTURE_VARIANT_ADD(vfio, bad_iommu) {
	.stage = { spoiled_stage1, bad_stage2 },
	.corrupt = "corrupt subtree:intel-iommu",
	.bad = BAD_IOMMU,
};

FIXTURE_VARIANT_ADD(vfio, bad_pci) {
	.stage = { spoiled_stage1, bad_stage2 },
	.corrupt = "corrupt subtree:pci",
	.bad = BAD_PCI,
};

FIXTURE_VARIANT_ADD(vfio, bad_table) {
	.stage = { spoiled_stage1, bad_stage2 },
	.corrupt = "corrupt iommu-table",
	.bad = BAD_TABLE,
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
