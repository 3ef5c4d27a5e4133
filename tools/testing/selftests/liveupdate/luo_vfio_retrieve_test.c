// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a passthrough device (QEMU's edu) behind QEMU's intel-iommu,
 * driven through the vfio-pci cdev and iommufd, preserved with its
 * iommufd, kept running through a live update and retrieved in the next
 * kernel.
 *
 * One variant per scenario (lu.case= in vm/tests picks it):
 *
 * retrieve preserves the iommufd too: the memfd, the iommufd and the
 * device file, in this order, in one session. Once preserved, the
 * iommufd's mappings are fixed (map and unmap fail with EBUSY), and an
 * iommufd mapping anonymous memory (EOPNOTSUPP) or a memfd that is not
 * preserved in the same session (ENOENT) is refused, and so is one that
 * would bring a guest_memfd's memory (with KVM: the VM's CPU needs
 * +svm,+npt): a device never writes one through the update. Stage 2
 * retrieves the device file first, which brings its iommufd and memfd
 * back with it: the device is bound and attached already, was never
 * reset, its DMA landed and goes on at the same IOVA with no new
 * mapping; unmapping the stage-1 mapping at the same IOAS id blocks it,
 * mapping it again (by file, IOMMU_IOAS_MAP_FILE, which refuses a file
 * that is not a memfd) lets it through, and finishing the session leaves
 * the device to the retrieved files.
 *
 * retrieve_huge does the same with the memory in a HugeTLB memfd of
 * 2 MiB pages, mapped at a 2 MiB aligned IOVA.
 *
 * retrieve_bad does the same stage 1; in stage 2 the retrieved IOAS gets
 * a mapping the device's tables lack before the device is retrieved:
 * retrieving the device is refused (EBUSY, one line naming the IOVA), its
 * bus mastering is off and its DMA blocked, it was not reset, and a VMM
 * can still take it over and map the memory again.
 *
 * downgrade does the same stage 1 into a kernel that reads vfio-pci-v1
 * but not v2 (lu.kernels=cur,vfio1): the device is written as v1, which
 * has no place in an iommufd, so in stage 2 it cannot be retrieved
 * (EOPNOTSUPP where v2 would say ENODEV), but its DMA went on, unreset,
 * and finishing the session stops it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "lu_edu.h"
#include "lu_harness.h"
#include "lu_luo.h"
#include "lu_vfio.h"
#include "lu_vmm.h"

FIXTURE(vfio) {};

FIXTURE_VARIANT(vfio) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(vfio) *variant);
	/* retrieve_huge: the RAM memfd is backed by 2 MiB HugeTLB pages */
	bool huge;
	/* downgrade: the next kernel reads vfio-pci-v1 only */
	bool downgrade;
};

/* Stage 2: bind the first edu device to vfio-pci; its address in @bdf. */
static void edu_bind_vfio(char *bdf, size_t len)
{
	int err = lu_edu_find(bdf, len);

	if (!err)
		err = lu_edu_bind_vfio(bdf);
	if (err)
		ksft_exit_fail_msg("binding the edu device to vfio-pci: %s\n",
				   strerror(-err));
}

/*
 * A fresh iommufd and IOAS with no device, @len bytes at @va mapped at
 * IOVA (unless @va is NULL); kept in a struct lu_edu for lu_edu_map()
 * and lu_edu_close().
 */
static void scratch_ioas(struct lu_edu *s, void *va, uint64_t len)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int err;

	memset(s, 0, sizeof(*s));
	s->dev = -1;
	s->bar0 = MAP_FAILED;
	s->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (s->iommufd < 0 || ioctl(s->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		ksft_exit_fail_msg("scratch iommufd: %s\n", strerror(errno));
	s->ioas = alloc.out_ioas_id;
	err = va ? lu_edu_map(s, va, len, LU_VFIO_IOVA) : 0;
	if (err)
		ksft_exit_fail_msg("IOMMU_IOAS_MAP (scratch): %s\n",
				   strerror(-err));
}

/* Does the CPU have both flags (software-protected VMs need NPT)? */
static bool cpu_has(const char *flag1, const char *flag2)
{
	char line[4096], *p;
	bool a = false, b = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (p = strtok(line, " \t\n"); p; p = strtok(NULL, " \t\n")) {
			a = a || !strcmp(p, flag1);
			b = b || !strcmp(p, flag2);
		}
		break;
	}
	if (f)
		fclose(f);
	return a && b;
}

/*
 * A device kept running through the update never writes a guest_memfd:
 * IOMMU_IOAS_MAP_FILE refuses one, and an iommufd mapping its memory by
 * address (if it can be pinned at all) cannot be preserved. Two results,
 * skipped unless the VM's CPU has SVM and NPT (-cpu qemu64,+svm,+npt:
 * software-protected VMs, whose guest_memfds can be mapped).
 */
static void scratch_gmem_refusals(int scratch)
{
	int vm, gmem, map_err, err = 0;
	struct lu_edu g;
	uint8_t *p;

	if (!cpu_has("svm", "npt")) {
		ksft_print_msg("SKIP: no guest_memfd here: the CPU has no SVM and NPT\n");
		ksft_print_msg("SKIP: no guest_memfd here\n");
		return;
	}
	gmem = lu_vmm_ram_create(LU_VMM_GMEM, LU_VFIO_PAGE(16), &vm);
	if (gmem < 0)
		ksft_exit_fail_msg("guest_memfd: %s\n", strerror(-gmem));
	p = mmap(NULL, LU_VFIO_PAGE(16), PROT_READ | PROT_WRITE, MAP_SHARED,
		 gmem, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap (guest_memfd): %s\n", strerror(errno));
	memset(p, 0x22, LU_VFIO_PAGE(16));
	scratch_ioas(&g, NULL, 0);
	err = lu_edu_map_file(&g, gmem, 0, LU_VFIO_PAGE(16), LU_VFIO_IOVA);
	lu_check(err == -EINVAL,
		 "IOMMU_IOAS_MAP_FILE refuses a guest_memfd: %s\n",
		 strerror(-err));
	map_err = lu_edu_map(&g, p, LU_VFIO_PAGE(16), LU_VFIO_IOVA);
	if (!map_err)
		err = __luo_preserve_fd(scratch, g.iommufd, 3);
	lu_check(map_err || err == -EOPNOTSUPP,
		 "an iommufd cannot bring a guest_memfd's memory across (map: %s, preserve: %s)\n",
		 strerror(-map_err), map_err ? "-" : strerror(-err));
	lu_edu_close(&g);
	munmap(p, LU_VFIO_PAGE(16));
	close(gmem);
	close(vm);
}

/*
 * An iommufd is preserved only with the memfds its IOASes map, in the
 * same session: tried in a scratch session, closed afterwards.
 */
static void scratch_refusals(int luo, uint8_t *ram)
{
	struct lu_edu a, m;
	int scratch, err;
	void *anon;

	scratch = luo_create_session(luo, "scratch");
	anon = mmap(NULL, LU_VFIO_PAGE(16), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	memset(anon, 0x11, LU_VFIO_PAGE(16));
	scratch_ioas(&a, anon, LU_VFIO_PAGE(16));
	err = __luo_preserve_fd(scratch, a.iommufd, 1);
	lu_check(err == -EOPNOTSUPP,
		 "an iommufd mapping anonymous memory is refused: %s\n",
		 strerror(-err));

	/* The RAM memfd is preserved, but in session "dev". */
	scratch_ioas(&m, ram, LU_VFIO_PAGE(16));
	err = __luo_preserve_fd(scratch, m.iommufd, 2);
	lu_check(err == -ENOENT,
		 "one mapping a memfd not preserved in its session is refused: %s\n",
		 strerror(-err));
	scratch_gmem_refusals(scratch);
	close(scratch);
	lu_edu_close(&m);
	lu_edu_close(&a);
	munmap(anon, LU_VFIO_PAGE(16));
}

/* Stage 1 of retrieve, retrieve_huge, retrieve_bad and downgrade. */
static void retrieve_stage1(const FIXTURE_VARIANT(vfio) *variant)
{
	int luo, session, fd, err;
	struct lu_edu e;
	char ids[64];
	uint8_t *ram;

	ram = lu_vfio_edu_load(&e, &fd, variant->huge);

	luo = luo_open();
	session = luo_create_session(luo, "dev");
	luo_preserve_fd(session, fd, 1);
	err = __luo_preserve_fd(session, e.iommufd, 2);
	lu_check(!err, "iommufd preserved: %s\n", strerror(-err));
	err = __luo_preserve_fd(session, e.dev, 3);
	lu_check(!err, "vfio device file preserved: %s\n", strerror(-err));
	lu_checks_stop();

	/* Its mappings are what the next kernel gets: fixed until then. */
	err = lu_edu_map(&e, ram, LU_VFIO_PAGE(1),
			 LU_VFIO_IOVA + LU_VFIO_RAM_SIZE);
	lu_check(err == -EBUSY,
		 "preserved iommufd: IOMMU_IOAS_MAP fails: %s\n",
		 strerror(-err));
	err = lu_edu_unmap(&e, LU_VFIO_IOVA, LU_VFIO_RAM_SIZE);
	lu_check(err == -EBUSY,
		 "preserved iommufd: IOMMU_IOAS_UNMAP fails: %s\n",
		 strerror(-err));
	scratch_refusals(luo, ram);
	lu_checks_stop();

	/* In flight through the reboot: the device writes 100 ms later. */
	lu_edu_dma_start(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(16), LU_EDU_DMA_MAX,
			 true);
	if (variant->downgrade)
		lu_expect_log("liveupdate: session 'dev': token 3 is written as vfio-pci-v1");
	snprintf(ids, sizeof(ids), "lu.ids=%u,%u,%u", e.devid, e.ioas,
		 e.hwpt);
	lu_kexec_next(ids);
}

/*
 * Stage 2: the retrieved device file @dev and iommufd @iommufd, filled
 * in as lu_edu_open() does, without binding or attaching anything; the
 * iommufd ids are stage 1's, from the command line.
 */
static void edu_retrieved(struct lu_edu *e, const char *bdf, int dev,
			  int iommufd)
{
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	char ids[64];

	memset(e, 0, sizeof(*e));
	snprintf(e->bdf, sizeof(e->bdf), "%s", bdf);
	e->dev = dev;
	e->iommufd = iommufd;
	if (!lu_cmdline_get("lu.ids", ids, sizeof(ids)) ||
	    sscanf(ids, "%u,%u,%u", &e->devid, &e->ioas, &e->hwpt) != 3)
		ksft_exit_fail_msg("no lu.ids=DEVID,IOAS,HWPT from stage 1\n");

	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		ksft_exit_fail_msg("VFIO_DEVICE_GET_REGION_INFO (config): %s\n",
				   strerror(errno));
	e->cfg_offset = reg.offset;
	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		ksft_exit_fail_msg("VFIO_DEVICE_GET_REGION_INFO (BAR0): %s\n",
				   strerror(errno));
	e->bar0_size = reg.size;
	e->bar0 = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       dev, reg.offset);
	if (e->bar0 == MAP_FAILED)
		ksft_exit_fail_msg("mmap BAR0 of the retrieved device: %s\n",
				   strerror(errno));
}

/* Stage 2 of retrieve and retrieve_huge. */
static void retrieve_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int session, dev, iommufd, memfd, faults, err, derr, i;
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	struct lu_edu e;
	char bdf[16];

	lu_vfio_fill(pattern, sizeof(pattern), 0x5a);
	edu_bind_vfio(bdf, sizeof(bdf));

	/* The device first: its iommufd and memfd come back with it. */
	session = luo_retrieve_session(luo_open(), "dev");
	dev = __luo_retrieve_fd(session, 3);
	lu_check(dev >= 0, "vfio device file retrieved first: %s\n",
		 strerror(dev < 0 ? -dev : 0));
	iommufd = __luo_retrieve_fd(session, 2);
	memfd = __luo_retrieve_fd(session, 1);
	lu_check(iommufd >= 0 && memfd >= 0,
		 "then its iommufd (%s) and memfd (%s)\n",
		 strerror(iommufd < 0 ? -iommufd : 0),
		 strerror(memfd < 0 ? -memfd : 0));
	lu_checks_stop();
	ram = mmap(NULL, LU_VFIO_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   memfd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	edu_retrieved(&e, bdf, dev, iommufd);

	bind.iommufd = iommufd;
	err = ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? -errno : 0;
	lu_check(err == -EINVAL,
		 "bound already: VFIO_DEVICE_BIND_IOMMUFD fails: %s\n",
		 strerror(-err));
	/* The same object ids: the device, and its page table, in use. */
	hw.dev_id = e.devid;
	err = ioctl(iommufd, IOMMU_GET_HW_INFO, &hw) ? -errno : 0;
	destroy.id = e.hwpt;
	derr = ioctl(iommufd, IOMMU_DESTROY, &destroy) ? -errno : 0;
	lu_check(!err && derr == -EBUSY,
		 "device %u and page table %u kept their ids: %s, %s\n",
		 e.devid, e.hwpt, strerror(-err), strerror(-derr));
	lu_check(lu_vfio_kmsg_has("took over its adopted translation") &&
		 !lu_vfio_dmar_fault_seen(),
		 "the IOMMU took the translation over with no fault\n");
	/* 2 MiB at a 2 MiB IOVA: one large page entry, checked in place */
	if (variant->huge)
		lu_check(lu_vfio_kmsg_has("512 pages mapped, 1 leaf entries"),
			 "the HugeTLB page was mapped and adopted as one 2 MiB entry\n");
	lu_vfio_check_unreset(&e);
	lu_check(!memcmp(ram + LU_VFIO_PAGE(16), pattern, sizeof(pattern)),
		 "the DMA started before the reboot landed in preserved memory\n");

	/* The same IOVA, no IOMMU_IOAS_MAP: device to RAM, RAM to device. */
	err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(32), LU_EDU_DMA_MAX, true);
	lu_check(!err && !memcmp(ram + LU_VFIO_PAGE(32), pattern, sizeof(pattern)),
		 "DMA device -> RAM with no new mapping: the device's buffer, intact\n");
	lu_check(lu_vfio_dma_round_trip(&e, ram, 48, 64, 0xa7),
		 "DMA RAM -> device -> RAM with no new mapping\n");

	/* The stage-1 mapping came back in the same IOAS. */
	unmap.ioas_id = e.ioas;
	unmap.iova = LU_VFIO_IOVA;
	unmap.length = LU_VFIO_RAM_SIZE;
	err = ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
	lu_check(!err && unmap.length == LU_VFIO_RAM_SIZE,
		 "IOMMU_IOAS_UNMAP of IOAS %u at 0x%llx: %s, %llu bytes\n",
		 e.ioas, LU_VFIO_IOVA, strerror(-err),
		 (unsigned long long)unmap.length);
	memset(ram + LU_VFIO_PAGE(80), 0, LU_EDU_DMA_MAX);
	faults = lu_vfio_kmsg_count("DMAR: [DMA Write");
	err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(80), LU_EDU_DMA_MAX, true);
	for (i = 0; i < 100 && lu_vfio_kmsg_count("DMAR: [DMA Write") <= faults; i++)
		usleep(10000);	/* the fault is reported by an interrupt */
	lu_check(!err && lu_vfio_all_zero(ram + LU_VFIO_PAGE(80), LU_EDU_DMA_MAX),
		 "unmapped: the IOMMU blocks the device\n");
	lu_check(i < 100, "and reports the fault\n");

	err = lu_edu_map_file(&e, iommufd, 0, LU_VFIO_RAM_SIZE, LU_VFIO_IOVA);
	lu_check(err == -EINVAL,
		 "IOMMU_IOAS_MAP_FILE refuses a file that is not a memfd: %s\n",
		 strerror(-err));
	err = lu_edu_map_file(&e, memfd, 0, LU_VFIO_RAM_SIZE, LU_VFIO_IOVA);
	lu_check(!err && lu_vfio_dma_round_trip(&e, ram, 112, 128, 0x3c),
		 "mapped again by file at the same IOVA: DMA both ways: %s\n",
		 strerror(-err));

	/* The device is the retrieved files': finish leaves it alone. */
	err = __luo_finish(session);
	lu_check(!err, "finish: %s\n", strerror(-err));
	lu_check(!err && lu_vfio_dma_round_trip(&e, ram, 144, 160, 0xc3),
		 "after finish the device still does DMA\n");
	lu_edu_close(&e);
}

/*
 * Stage 2 of retrieve_bad: the retrieved IOAS no longer says what the
 * device's tables map (a page is mapped before the device is retrieved),
 * so retrieving the device is refused and its DMA stopped; the memory
 * comes back intact and a VMM can still take the device over.
 */
static void retrieve_bad_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, memfd, iommufd, dev, err;
	char bdf[16], ids[64];
	struct lu_edu m, s, e;
	const char *why;
	uint16_t cmd;

	lu_vfio_fill(pattern, sizeof(pattern), 0x5a);
	ram = lu_vfio_retrieve_ram(&session, &memfd);
	lu_check(!memcmp(ram + LU_VFIO_PAGE(16), pattern, sizeof(pattern)),
		 "the DMA started before the reboot landed in preserved memory\n");

	memset(&m, 0, sizeof(m));
	iommufd = __luo_retrieve_fd(session, 2);
	m.iommufd = iommufd;
	if (iommufd < 0)
		ksft_exit_fail_msg("retrieving the iommufd: %s\n",
				   strerror(-iommufd));
	if (!lu_cmdline_get("lu.ids", ids, sizeof(ids)) ||
	    sscanf(ids, "%*u,%u", &m.ioas) != 1)
		ksft_exit_fail_msg("no lu.ids=DEVID,IOAS,HWPT from stage 1\n");
	err = lu_edu_map(&m, ram, LU_VFIO_PAGE(1), LU_VFIO_IOVA + LU_VFIO_RAM_SIZE);
	lu_check(!err, "the retrieved IOAS takes a mapping the device's tables lack: %s\n",
		 strerror(-err));

	edu_bind_vfio(bdf, sizeof(bdf));
	dev = __luo_retrieve_fd(session, 3);
	lu_check(dev == -EBUSY, "retrieving the device is refused: %s\n",
		 strerror(dev < 0 ? -dev : 0));
	lu_check(lu_vfio_kmsg_has("adopted tables do not map IOVA"),
		 "one line says which mapping does not match\n");

	lu_vfio_edu_sysfs(&s);
	err = lu_edu_command(&s, &cmd);
	lu_check(!err && !(cmd & 0x4), "its bus mastering is off\n");
	err = lu_edu_set_master(&s, true);
	if (!err)
		err = lu_edu_dma(&s, LU_VFIO_IOVA + LU_VFIO_PAGE(80),
				 LU_EDU_DMA_MAX, true);
	usleep(200000);
	lu_edu_set_master(&s, false);
	lu_check(!err && lu_vfio_all_zero(ram + LU_VFIO_PAGE(80), LU_EDU_DMA_MAX) &&
		 lu_vfio_dmar_fault_seen(),
		 "and the IOMMU blocks its DMA (fault reported)\n");
	lu_check(lu_edu_read(&s, 0x08) == LU_VFIO_FACT_OUT,
		 "the device was not reset: factorial %u\n",
		 lu_edu_read(&s, 0x08));
	lu_edu_close(&s);

	/* A VMM takes the device over and maps the memory again. */
	err = lu_edu_open(&e, bdf, &why);
	if (!err)
		err = lu_edu_map(&e, ram, LU_VFIO_RAM_SIZE, LU_VFIO_IOVA);
	if (!err)
		err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(40),
				 LU_EDU_DMA_MAX, true);
	lu_check(!err && !memcmp(ram + LU_VFIO_PAGE(40), pattern, sizeof(pattern)),
		 "a VMM takes it over and maps again: DMA works, its buffer intact\n");
	err = __luo_finish(session);
	lu_check(!err, "finish: %s\n", strerror(-err));
	lu_edu_close(&e);
}

/*
 * Stage 2 of downgrade: stage 1 was retrieve's, into a kernel whose
 * catalog lists vfio-pci-v1 but not v2 (lu.kernels=cur,vfio1), so the
 * device was written as v1, which cannot say where it sits in its
 * iommufd: it cannot be retrieved, but its DMA went on and finish stops
 * it.
 */
static void downgrade_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, memfd, dev, iommufd, err;
	struct lu_edu e;
	uint16_t cmd;

	lu_vfio_fill(pattern, sizeof(pattern), 0x5a);
	lu_check(lu_vfio_kmsg_has("keeps its DMA translation"),
		 "the IOMMU kept translating through the kexec\n");
	session = luo_retrieve_session(luo_open(), "dev");
	memfd = luo_retrieve_fd(session, 1);
	ram = mmap(NULL, LU_VFIO_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   memfd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	lu_check(!memcmp(ram + LU_VFIO_PAGE(16), pattern, sizeof(pattern)),
		 "the DMA started before the reboot landed in the memfd\n");
	/* Unbound, a v2 record gives ENODEV; v1 has nothing to bind to. */
	dev = __luo_retrieve_fd(session, 3);
	lu_check(dev == -EOPNOTSUPP,
		 "the device, written as vfio-pci-v1, cannot be retrieved: %s\n",
		 strerror(dev < 0 ? -dev : 0));
	iommufd = __luo_retrieve_fd(session, 2);
	lu_check(iommufd >= 0, "its iommufd can: %s\n",
		 strerror(iommufd < 0 ? -iommufd : 0));

	lu_vfio_edu_sysfs(&e);
	lu_vfio_check_unreset(&e);
	luo_finish(session);
	err = lu_edu_command(&e, &cmd);
	lu_check(!err && !(cmd & 0x4), "finish: bus mastering off\n");
	lu_check(lu_vfio_kmsg_has("released its adopted DMA translation"),
		 "finish: adopted translation released\n");
}

FIXTURE_VARIANT_ADD(vfio, retrieve) {
	.stage = { retrieve_stage1, retrieve_stage2 },
};

FIXTURE_VARIANT_ADD(vfio, retrieve_huge) {
	.stage = { retrieve_stage1, retrieve_stage2 },
	.huge = true,
};

FIXTURE_VARIANT_ADD(vfio, retrieve_bad) {
	.stage = { retrieve_stage1, retrieve_bad_stage2 },
};

FIXTURE_VARIANT_ADD(vfio, downgrade) {
	.stage = { retrieve_stage1, downgrade_stage2 },
	.downgrade = true,
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
