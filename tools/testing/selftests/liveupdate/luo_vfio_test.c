// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a passthrough device (QEMU's edu) behind QEMU's intel-iommu,
 * driven through the vfio-pci cdev and iommufd.
 *
 * lu.case=rig checks the rig in one kernel: the device is bound to
 * vfio-pci, attached to an IOAS, and a memfd is mapped at a fixed IOVA;
 * IOMMU_IOAS_MAP_FILE gives the device no access its fd does not give;
 * DMA goes RAM to device and back through the IOMMU byte for byte, the
 * liveness and factorial registers work, and a DMA to an IOVA that is
 * not mapped is stopped by the IOMMU (a DMAR fault, nothing written).
 *
 * lu.case=hitless keeps the device running through a kexec. Stage 1
 * sets the liveness and factorial registers, DMAs a pattern into the
 * device, preserves the memfd and the vfio device file in a session, and
 * starts a DMA from the device into the memfd just before the reboot.
 * Stage 2, in the next kernel, with no driver bound (BAR0 through sysfs):
 * the DMA landed in the memfd, the registers kept their values (no
 * reset), bus mastering is still on, and DMA both ways goes on at the
 * same IOVAs without any remapping. Finishing the session stops it: bus
 * mastering off, and with it turned back on the IOMMU blocks the device.
 * With a virtio-blk disk behind the same IOMMU (iommu_platform=on), what
 * stage 1 wrote to it reads back in stage 2, and it takes writes before
 * and after finish, with no DMAR fault: a neighbour of a preserved device
 * is not left blocked.
 *
 * lu.case=retake does the same stage 1; in stage 2 a VMM takes the device
 * back while its DMA goes on: it binds it to vfio-pci and an iommufd of
 * its own (which ends the handed-over translation), maps the retrieved
 * memfd at the same IOVA, and the device does DMA again, its buffer as it
 * was; finishing the session then leaves the device to its new owner.
 *
 * lu.case=retrieve preserves the iommufd too: the memfd, the iommufd and
 * the device file, in this order, in one session. Once preserved, the
 * iommufd's mappings are fixed (map and unmap fail with EBUSY), and an
 * iommufd mapping anonymous memory (EOPNOTSUPP) or a memfd that is not
 * preserved in the same session (ENOENT) is refused, and so is one that
 * would bring a guest_memfd's memory (with KVM: the VM's CPU needs
 * +svm,+npt): a device never writes one through the update. Stage 2 retrieves
 * the device file first, which brings its iommufd and memfd back with
 * it: the device is bound and attached already, was never reset, its
 * DMA landed and goes on at the same IOVA with no new mapping; unmapping
 * the stage-1 mapping at the same IOAS id blocks it, mapping it again (by
 * file, IOMMU_IOAS_MAP_FILE, which refuses a file that is not a memfd)
 * lets it through, and finishing the session leaves the device to the
 * retrieved files.
 *
 * lu.case=retrieve-huge does the same with the memory in a HugeTLB memfd
 * of 2 MiB pages, mapped at a 2 MiB aligned IOVA.
 *
 * lu.case=downgrade does the same stage 1 into a kernel that reads
 * vfio-pci-v1 but not v2 (lu.kernels=cur,vfio1): the device is written
 * as v1, which has no place in an iommufd, so in stage 2 it cannot be
 * retrieved (EOPNOTSUPP where v2 would say ENODEV), but its DMA went on,
 * unreset, and finishing the session stops it.
 *
 * lu.case=retrieve-bad does the same stage 1; in stage 2 the retrieved
 * IOAS gets a mapping the device's tables lack before the device is
 * retrieved: retrieving the device is refused (EBUSY, one line naming the
 * IOVA), its bus mastering is off and its DMA blocked, it was not reset,
 * and a VMM can still take it over and map the memory again.
 *
 * lu.case=shared (one stage) needs a second edu device in an IOMMU group
 * of its own: attached to the first one's IOAS, it shares its domain, and
 * preserving either device is refused (EBUSY).
 *
 * lu.case=split does the hitless stage 1 with the memfd in a session of
 * its own, and a small memfd in a third session, "idle"; stage 2 finishes
 * the memfd's session first, never retrieving the memfd, while the device
 * still writes into it: its memory stays reserved (one line says so)
 * until the device's session is finished, which stops the device, and
 * only then is it released, though "idle" is not finished. "idle" comes
 * back intact afterwards, and finishing it releases the handover.
 *
 * lu.case=kept does split's stage 1 with a second memfd mapped too. In
 * stage 2 a strict overcommit limit makes the second one's retrieve fail
 * on the way; the first is retrieved, its session finished, then it is
 * truncated and closed; and the device's own record is
 * damaged. Free memory filled with a pattern shows the device's writes
 * land in none of it; finishing the device's session ends its
 * translation (its record is unreadable, but it was the last device),
 * and only then does the memory of both memfds come back.
 *
 * lu.case=refuse needs a second and third edu device behind a PCIe-to-PCI
 * bridge (one IOMMU group). Preserving a vfio device file is refused when
 * the file is not bound to an iommufd (EINVAL), when the device is not
 * attached to a paging domain (EOPNOTSUPP) and when it shares its IOMMU
 * group (EBUSY). A device mapping memory that is not preserved fails the
 * reboot (EBUSY) with the session intact; its mappings cannot change
 * while it is preserved (unmapping is EBUSY), and once that memory is
 * preserved too, the update goes through and the device keeps doing DMA.
 *
 * lu.case=race does the hitless stage 1 while two threads detach and
 * attach the device and map and unmap part of its memfd in its IOAS, in a
 * loop: preserving the device file succeeds, and from then on every such
 * change fails with EBUSY while the device does DMA, through the reboot,
 * with the threads still trying; stage 2 is the hitless one.
 *
 * lu.case=kho-refused and lu.case=kho-off do the same stage 1, but the
 * next kernel refuses the whole handover (an unknown format) or runs with
 * kho=off: it keeps the IOMMU on with empty tables, the PCI core stops the
 * device, and its DMA faults instead of reaching the physical address
 * equal to its IOVA.
 *
 * lu.case=bad-iommu and lu.case=bad-pci do the same stage 1, but the
 * IOMMU's or the PCI core's part of the handover arrives in a format the
 * next kernel does not know (the KHO test interface overwrites it at
 * reboot); with lu.case=bad-table the device's top-level page table is
 * no longer preserved, though its context entry still points at it.
 * Stage 2: one line says so, the device is stopped and the IOMMU blocks
 * it, and the memfd of the same session comes back intact.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/memfd.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "../kselftest.h"
#include "lu_edu.h"
#include "lu_luo.h"
#include "lu_stage.h"
#include "lu_vmm.h"

#define RAM_SIZE	(2UL << 20)
/* 2 MiB aligned, so that HugeTLB memory can be mapped with large pages */
#define IOVA		0x200000ULL
#define IOVA_UNMAPPED	0x0ff00000ULL
/* lu.case=kept: the second memfd, and where the device has it */
#define B_SIZE		(8UL << 20)
#define IOVA_B		0x800000ULL
#define DISK_IO		(64 << 10)

static char lu_case[16];
/* lu.case=retrieve-huge: the RAM memfd is backed by 2 MiB HugeTLB pages */
static bool huge;
/* lu.case=split and kept: the memfd in a session of its own, "mem" */
static bool split;
/* lu.case=kept: and a second one, retrieve fails half-way in stage 2 */
static bool kept;
/* lu.case=kho-off: the next kernel's extra command line */
static const char *next_extra;

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 8));
}

/*
 * The kernel log records since boot that contain @what: how many, and in
 * *@num (if not NULL) the largest number right after @what, or -1.
 */
static int kmsg_scan(const char *what, long *num)
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

static int kmsg_count(const char *what)
{
	return kmsg_scan(what, NULL);
}

static bool kmsg_has(const char *what)
{
	return kmsg_count(what) > 0;
}

/* Has the kernel logged a DMAR write fault since it booted? */
static bool dmar_fault_seen(void)
{
	return kmsg_has("DMAR: [DMA Write");
}

/*
 * The disk next to the device, if the VM has one (/dev/vda); its PCI
 * address as the IOMMU's fault lines name it ("00:03.0") in @bdf.
 */
static bool disk_find(char *bdf, size_t len)
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

/*
 * Write DISK_IO bytes of pattern @seed at @off of the disk (if @write),
 * then read them back past the page cache. Return 0 if they match.
 */
static int disk_io(off_t off, uint32_t seed, bool write)
{
	uint8_t *buf = NULL, *want = malloc(DISK_IO);
	int fd, err = 0;

	fd = open("/dev/vda", O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || !want || posix_memalign((void **)&buf, 4096, DISK_IO)) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	fill(want, DISK_IO, seed);
	if (write) {
		memcpy(buf, want, DISK_IO);
		if (pwrite(fd, buf, DISK_IO, off) != DISK_IO || fsync(fd)) {
			err = -EIO;
			goto out;
		}
	}
	memset(buf, 0, DISK_IO);
	if (pread(fd, buf, DISK_IO, off) != DISK_IO)
		err = -EIO;
	else if (memcmp(buf, want, DISK_IO))
		err = -EBADMSG;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(want);
	return err;
}

/* IOMMU faults the kernel logged for the device at @bdf since boot. */
static int disk_faults(const char *bdf)
{
	char what[64];

	snprintf(what, sizeof(what), "Request device [%s]", bdf);
	return kmsg_count(what);
}

static void edu_setup_nth(struct lu_edu *e, int nth)
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

static void edu_setup(struct lu_edu *e)
{
	edu_setup_nth(e, 0);
}

static uint8_t *ram_memfd(int *fdp)
{
	uint8_t *ram;
	unsigned int flags = huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0;
	int fd = memfd_create("lu-vfio-ram", flags);

	if (fd < 0 || ftruncate(fd, RAM_SIZE))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	*fdp = fd;
	return ram;
}

/* A memfd of RAM_SIZE bytes, populated, with @seals added. */
static int sealed_memfd(unsigned int seals)
{
	int fd = memfd_create("lu-vfio-sealed", MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, RAM_SIZE) ||
	    fallocate(fd, 0, 0, RAM_SIZE) ||
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
	err = lu_edu_map_file_rw(e, fd, 0, RAM_SIZE, iova, true);
	ksft_test_result(err == -EACCES,
			 "MAP_FILE writable from a read-only fd is refused: %s\n",
			 strerror(-err));
	err = lu_edu_map_file_rw(e, fd, 0, RAM_SIZE, iova, false);
	if (!err)
		err = lu_edu_unmap(e, iova, RAM_SIZE);
	ksft_test_result(!err, "and read-only from it works: %s\n",
			 strerror(-err));
	close(fd);

	fd = sealed_memfd(F_SEAL_FUTURE_WRITE);
	err = lu_edu_map_file_rw(e, fd, 0, RAM_SIZE, iova, true);
	ksft_test_result(err == -EPERM,
			 "MAP_FILE writable of a F_SEAL_FUTURE_WRITE memfd is refused: %s\n",
			 strerror(-err));
	close(fd);
	fd = sealed_memfd(F_SEAL_WRITE);
	err = lu_edu_map_file_rw(e, fd, 0, RAM_SIZE, iova, true);
	ksft_test_result(err == -EPERM,
			 "MAP_FILE writable of a F_SEAL_WRITE memfd is refused: %s\n",
			 strerror(-err));
	err = lu_edu_map_file_rw(e, fd, 0, RAM_SIZE, iova, false);
	if (!err)
		err = lu_edu_unmap(e, iova, RAM_SIZE);
	ksft_test_result(!err, "and read-only works: %s\n", strerror(-err));
	close(fd);

	fd = sealed_memfd(0);
	err = lu_edu_map_file_rw(e, fd, 0, RAM_SIZE, iova, true);
	if (err)
		ksft_exit_fail_msg("MAP_FILE: %s\n", strerror(-err));
	err = fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) ? -errno : 0;
	ksft_test_result(err == -EBUSY,
			 "a memfd the device may write cannot be sealed F_SEAL_WRITE: %s\n",
			 strerror(-err));
	lu_edu_unmap(e, iova, RAM_SIZE);
	close(fd);
}

static void case_rig(void)
{
	struct lu_edu e;
	uint32_t live;
	uint8_t *ram;
	int fd, err, i;

	ksft_set_plan(11);
	edu_setup(&e);
	ram = ram_memfd(&fd);
	err = lu_edu_map(&e, ram, RAM_SIZE, IOVA);
	if (err)
		ksft_exit_fail_msg("IOMMU_IOAS_MAP: %s\n", strerror(-err));
	map_file_access(&e, fd);

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

#define LIVENESS	0xc0ffee00U
#define FACT_IN		12
#define FACT_OUT	479001600U
#define PAGE(n)		((n) * 4096UL)

static void kho_test_ctl(const char *cmd)
{
	const char *ctl = "/sys/kernel/debug/kho_test/ctl";
	int fd = open(ctl, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, cmd, strlen(cmd)) < 0)
		ksft_exit_fail_msg("%s: %s: %s\n", ctl, cmd, strerror(errno));
	close(fd);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Stage 2: retrieve session "dev" and map its memfd (token 1). */
static uint8_t *retrieve_ram(int *session, int *fdp)
{
	uint8_t *ram;
	int fd;

	*session = luo_retrieve_session(luo_open(), "dev");
	fd = luo_retrieve_fd(*session, 1);
	if (fdp)
		*fdp = fd;
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return ram;
}

/* Stage 2: the first edu device, no driver bound, through sysfs. */
static void edu_sysfs(struct lu_edu *e)
{
	char bdf[16];

	if (lu_edu_find(bdf, sizeof(bdf)) || lu_edu_open_sysfs(e, bdf))
		ksft_exit_fail_msg("edu device through sysfs: %s\n",
				   strerror(errno));
}

/* DMA RAM page @from -> device -> RAM page @to: did the data come back? */
static bool dma_round_trip(struct lu_edu *e, uint8_t *ram, int from, int to,
			   uint32_t seed)
{
	int err;

	fill(ram + PAGE(from), LU_EDU_DMA_MAX, seed);
	err = lu_edu_dma(e, IOVA + PAGE(from), LU_EDU_DMA_MAX, false);
	if (!err)
		err = lu_edu_dma(e, IOVA + PAGE(to), LU_EDU_DMA_MAX, true);
	return !err && !memcmp(ram + PAGE(from), ram + PAGE(to), LU_EDU_DMA_MAX);
}

/*
 * Stage 1: the first edu device with RAM (a memfd, its descriptor in
 * @fdp) mapped at IOVA, its liveness and factorial registers set and the
 * RAM's first bytes in its buffer (one result line).
 */
static uint8_t *edu_load(struct lu_edu *e, int *fdp)
{
	uint8_t *ram;
	int err, i;

	edu_setup(e);
	ram = ram_memfd(fdp);
	/* HugeTLB: by file, so that a file-backed mapping is preserved */
	if (huge)
		err = lu_edu_map_file(e, *fdp, 0, RAM_SIZE, IOVA);
	else
		err = lu_edu_map(e, ram, RAM_SIZE, IOVA);
	if (err)
		ksft_exit_fail_msg("mapping the RAM: %s\n", strerror(-err));
	lu_edu_write(e, 0x04, LIVENESS);
	lu_edu_write(e, 0x08, FACT_IN);
	for (i = 0; i < 1000 && (lu_edu_read(e, 0x20) & 1); i++)
		usleep(1000);
	fill(ram, LU_EDU_DMA_MAX, 0x5a);
	err = lu_edu_dma(e, IOVA, LU_EDU_DMA_MAX, false);
	ksft_test_result(!err && lu_edu_read(e, 0x08) == FACT_OUT,
			 "device loaded: factorial %u, pattern in its buffer\n",
			 lu_edu_read(e, 0x08));
	return ram;
}

/* A memfd of @size bytes filled from @seed, left mapped at *@map if given. */
static int pattern_memfd(const char *name, size_t size, uint32_t seed,
			 uint8_t **map)
{
	int fd = memfd_create(name, 0);
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, size))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	fill(p, size, seed);
	if (map)
		*map = p;
	else
		munmap(p, size);
	return fd;
}

/* lu.case=split: the memfd of session "idle", which no device maps. */
#define IDLE_SIZE	PAGE(16)

static int idle_memfd(void)
{
	return pattern_memfd("lu-vfio-idle", IDLE_SIZE, 0x1d, NULL);
}

/* lu.case=kept: a second memfd of B_SIZE, mapped at IOVA_B. */
static int second_memfd(struct lu_edu *e)
{
	uint8_t *b;
	int fd = pattern_memfd("lu-vfio-b", B_SIZE, 0xb, &b), err;

	err = lu_edu_map(e, b, B_SIZE, IOVA_B);
	if (err)
		ksft_exit_fail_msg("mapping the second memfd: %s\n",
				   strerror(-err));
	return fd;
}

static void case_hitless_stage1(const char *corrupt)
{
	int luo, session, fd, err;
	struct lu_edu e;
	char bdf[16];

	ksft_set_plan(disk_find(bdf, sizeof(bdf)) ? 4 : 3);
	edu_load(&e, &fd);
	if (disk_find(bdf, sizeof(bdf))) {
		err = disk_io(0, 0x3c, true);
		ksft_test_result(!err, "the disk next to it (%s) reads and writes: %s\n",
				 bdf, strerror(-err));
	}

	luo = luo_open();
	session = luo_create_session(luo, "dev");
	if (split) {
		int mem = luo_create_session(luo, "mem");

		luo_preserve_fd(mem, fd, 1);
		if (kept)
			luo_preserve_fd(mem, second_memfd(&e), 2);
		else
			luo_preserve_fd(luo_create_session(luo, "idle"),
					idle_memfd(), 1);
	} else {
		luo_preserve_fd(session, fd, 1);
	}
	err = __luo_preserve_fd(session, e.dev, 2);
	ksft_test_result(!err, "vfio device file preserved: %s\n",
			 strerror(-err));
	err = __luo_preserve_fd(session, e.dev, 3);
	ksft_test_result(err == -EBUSY || err == -EEXIST,
			 "preserving it twice is refused: %s\n", strerror(-err));
	if (ksft_get_fail_cnt())
		ksft_exit_fail();

	if (corrupt)
		kho_test_ctl(corrupt);
	/*
	 * In flight through the reboot: the device writes 100 ms later. Not
	 * through a table the next kernel does not reserve: it may be any
	 * page by then.
	 */
	if (strcmp(lu_case, "bad-table"))
		lu_edu_dma_start(&e, IOVA + PAGE(16), LU_EDU_DMA_MAX, true);
	lu_kexec_next(next_extra);
}

/*
 * lu.case=race: threads change the device's domain (detach, attach) and
 * its IOAS's mappings (map, unmap, in the preserved memfd, at an IOVA of
 * their own) in a loop while preserve succeeds and the reboot follows.
 * Once preserve has returned, every such change must fail with EBUSY:
 * the tables the reboot hands over are the ones preserve saw.
 */
struct race {
	struct lu_edu *e;
	uint8_t *ram;
	bool preserved;			/* read and set atomically */
	unsigned long ops;		/* changes tried */
	unsigned long after;		/* of those, after preserve */
	unsigned long let_through;	/* after preserve, and succeeded */
	int last_err;			/* the last error after preserve */
};

#define RACE_IOVA	(IOVA + RAM_SIZE)

static void race_count(struct race *r, bool was_preserved, int err)
{
	__atomic_add_fetch(&r->ops, 1, __ATOMIC_RELAXED);
	if (!was_preserved)
		return;
	__atomic_add_fetch(&r->after, 1, __ATOMIC_RELAXED);
	if (!err)
		__atomic_add_fetch(&r->let_through, 1, __ATOMIC_RELAXED);
	else
		r->last_err = err;
}

static void *race_map(void *arg)
{
	struct race *r = arg;

	for (;;) {	/* until the reboot */
		bool was = __atomic_load_n(&r->preserved, __ATOMIC_ACQUIRE);
		int err = lu_edu_map(r->e, r->ram, PAGE(4), RACE_IOVA);

		race_count(r, was, err);
		was = __atomic_load_n(&r->preserved, __ATOMIC_ACQUIRE);
		err = lu_edu_unmap(r->e, RACE_IOVA, PAGE(4));
		race_count(r, was, err);
	}
	return NULL;
}

static void *race_attach(void *arg)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};
	struct race *r = arg;

	for (;;) {	/* until the reboot */
		struct vfio_device_attach_iommufd_pt attach = {
			.argsz = sizeof(attach), .pt_id = r->e->ioas,
		};
		bool was = __atomic_load_n(&r->preserved, __ATOMIC_ACQUIRE);
		int err = ioctl(r->e->dev, VFIO_DEVICE_DETACH_IOMMUFD_PT,
				&detach) ? -errno : 0;

		race_count(r, was, err);
		was = __atomic_load_n(&r->preserved, __ATOMIC_ACQUIRE);
		err = ioctl(r->e->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) ?
		      -errno : 0;
		race_count(r, was, err);
	}
	return NULL;
}

static void case_race_stage1(void)
{
	struct race r = {};
	pthread_t map, attach;
	int luo, session, fd, err, tries;
	struct lu_edu e;

	ksft_set_plan(4);
	r.ram = edu_load(&e, &fd);
	r.e = &e;
	luo = luo_open();
	session = luo_create_session(luo, "dev");
	luo_preserve_fd(session, fd, 1);
	if (pthread_create(&map, NULL, race_map, &r) ||
	    pthread_create(&attach, NULL, race_attach, &r))
		ksft_exit_fail_msg("pthread_create failed\n");

	/* Detached at that moment: EOPNOTSUPP; try again. */
	for (tries = 1; tries < 10000; tries++) {
		err = __luo_preserve_fd(session, e.dev, 2);
		if (!err || (err != -EOPNOTSUPP && err != -EBUSY))
			break;
	}
	__atomic_store_n(&r.preserved, !err, __ATOMIC_RELEASE);
	ksft_test_result(!err, "preserved while its domain and mappings change (%d tries): %s\n",
			 tries, strerror(-err));
	if (err)
		ksft_exit_fail();
	/* Let the threads try for a while. */
	while (__atomic_load_n(&r.after, __ATOMIC_RELAXED) < 2000)
		usleep(10000);
	ksft_test_result(!r.let_through,
			 "after preserve, %lu of %lu domain and mapping changes got through (last error: %s)\n",
			 r.let_through, r.after, strerror(-r.last_err));
	ksft_test_result(r.last_err == -EBUSY, "they fail with EBUSY\n");
	ksft_test_result(lu_edu_dma(&e, IOVA, LU_EDU_DMA_MAX, false) == 0,
			 "the device still does DMA through its domain\n");
	if (ksft_get_fail_cnt())
		ksft_exit_fail();

	/* In flight through the reboot, with the threads still trying. */
	lu_edu_dma_start(&e, IOVA + PAGE(16), LU_EDU_DMA_MAX, true);
	lu_kexec_next(NULL);
}

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

/* Stage 2: the device kept its registers and bus mastering (2 results). */
static void check_unreset(struct lu_edu *e)
{
	uint16_t cmd = 0;
	int err;

	ksft_test_result(lu_edu_read(e, 0x04) == ~LIVENESS &&
			 lu_edu_read(e, 0x08) == FACT_OUT,
			 "never reset: liveness 0x%08x, factorial %u\n",
			 lu_edu_read(e, 0x04), lu_edu_read(e, 0x08));
	err = lu_edu_command(e, &cmd);
	ksft_test_result(!err && (cmd & 0x4), "bus mastering still on (0x%04x)\n",
			 cmd);
}

static void case_hitless_stage2(void)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, err, fd;
	struct lu_edu e;
	uint16_t cmd;
	char bdf[16];
	bool disk = disk_find(bdf, sizeof(bdf));

	ksft_set_plan(disk ? 16 : 12);
	fill(pattern, sizeof(pattern), 0x5a);
	ksft_test_result(kmsg_has("keeps its DMA translation"),
			 "the IOMMU kept translating through the kexec\n");
	if (disk) {
		/* Probing it needed DMA: it would not be here if blocked. */
		err = disk_io(0, 0x3c, false);
		ksft_test_result(!err, "the disk next to it (%s) reads what stage 1 wrote: %s\n",
				 bdf, strerror(-err));
		err = disk_io(1 << 20, 0x4d, true);
		ksft_test_result(!err, "and takes writes before finish: %s\n",
				 strerror(-err));
	}
	ram = retrieve_ram(&session, &fd);
	ksft_test_result(!memcmp(ram + PAGE(16), pattern, sizeof(pattern)),
			 "the DMA started before the reboot landed in preserved memory\n");

	edu_sysfs(&e);
	check_unreset(&e);

	/* The same IOVAs, no remapping: device to RAM, RAM to device. */
	err = lu_edu_dma(&e, IOVA + PAGE(32), LU_EDU_DMA_MAX, true);
	ksft_test_result(!err && !memcmp(ram + PAGE(32), pattern, sizeof(pattern)),
			 "DMA device -> RAM after the update: the device's buffer, intact\n");
	ksft_test_result(dma_round_trip(&e, ram, 48, 64, 0xa7),
			 "DMA RAM -> device -> RAM after the update\n");

	/* The device may still write it: no hole before finish. */
	err = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			RAM_SIZE) ? -errno : 0;
	ksft_test_result(err == -EBUSY,
			 "before finish the retrieved memfd cannot lose pages: %s\n",
			 strerror(-err));

	/* Nobody retrieved the device: finishing stops it. */
	luo_finish(session);
	err = lu_edu_command(&e, &cmd);
	ksft_test_result(!err && !(cmd & 0x4), "finish: bus mastering off\n");
	ksft_test_result(kmsg_has("released its adopted DMA translation"),
			 "finish: adopted translation released\n");
	if (disk) {
		err = disk_io(2 << 20, 0x5e, true);
		if (!err)
			err = disk_io(0, 0x3c, false);
		ksft_test_result(!err, "the disk reads and writes after finish: %s\n",
				 strerror(-err));
		ksft_test_result(!disk_faults(bdf), "no IOMMU fault for the disk (%d)\n",
				 disk_faults(bdf));
	}
	err = lu_edu_set_master(&e, true);
	if (!err)
		err = lu_edu_dma(&e, IOVA + PAGE(80), LU_EDU_DMA_MAX, true);
	usleep(200000);
	ksft_test_result(!err && all_zero(ram + PAGE(80), LU_EDU_DMA_MAX),
			 "after finish the IOMMU blocks the device\n");
	ksft_test_result(kmsg_has("DMAR: [DMA Write"), "and reports the fault\n");
	lu_edu_set_master(&e, false);
	err = ftruncate(fd, RAM_SIZE / 2) ? -errno : 0;
	ksft_test_result(!err, "after finish the memfd is the VMM's: %s\n",
			 strerror(-err));
	ksft_finished();
}

/*
 * Stage 2 of lu.case=kho-refused and lu.case=kho-off: this kernel has no
 * handover it can use, and the device was left doing DMA with the IOMMU
 * translating. The IOMMU stays on with empty tables, the PCI core stops
 * the device, and its DMA never reaches the physical address equal to
 * its IOVA: the IOMMU reports the fault at that IOVA.
 */
static void case_norestore_stage2(void)
{
	const uint64_t iova = IOVA + PAGE(80);
	char what[64];
	struct lu_edu e;
	uint16_t cmd;
	int err, i;

	ksft_set_plan(4);
	ksft_test_result(kmsg_count("IOMMU state refused (not handed over") == 1,
			 "one line: no IOMMU state, translation stays on\n");
	ksft_test_result(kmsg_has("left running with no state handed over"),
			 "the device was stopped\n");
	edu_sysfs(&e);
	err = lu_edu_command(&e, &cmd);
	ksft_test_result(!err && !(cmd & 0x4), "bus mastering off (0x%04x)\n",
			 cmd);

	snprintf(what, sizeof(what), "fault addr 0x%llx ",
		 (unsigned long long)iova);
	err = lu_edu_set_master(&e, true);
	if (!err)
		err = lu_edu_dma(&e, iova, LU_EDU_DMA_MAX, true);
	for (i = 0; i < 100 && !kmsg_has(what); i++)
		usleep(10000);
	lu_edu_set_master(&e, false);
	ksft_test_result(!err && i < 100,
			 "with bus mastering on again, the IOMMU blocks its DMA to IOVA 0x%llx\n",
			 (unsigned long long)iova);
	ksft_finished();
}

/* The most KiB one "released ... KiB" line of KHO reports, or -1 */
static long kmsg_released_kib(void)
{
	long kib;

	kmsg_scan("KHO: released ", &kib);
	return kib;
}

#define HELD_RELEASED	"folios held while devices did DMA are released"

/*
 * Stage 2 of lu.case=split: the memfd's session is finished first, with
 * the memfd never retrieved, while the device still writes into it: its
 * memory stays reserved until the device's session is finished too, and
 * is released then, although session "idle" is not finished yet (nor is
 * it ever retrieved until the end).
 */
static void case_split_stage2(void)
{
	int luo, mem, dev, idle, fd, err;
	long long before, after = 0;
	struct lu_edu e;
	uint8_t *p, *want;
	uint16_t cmd;

	ksft_set_plan(6);
	luo = luo_open();
	mem = luo_retrieve_session(luo, "mem");
	dev = luo_retrieve_session(luo, "dev");
	luo_finish(mem);
	ksft_test_result(kmsg_has("which nobody retrieved, is freed once no device does DMA") &&
			 kmsg_count("folios stay held while devices still do DMA") == 1,
			 "the unretrieved memfd stays reserved: the device still writes it\n");
	edu_sysfs(&e);
	err = lu_edu_dma(&e, IOVA + PAGE(32), LU_EDU_DMA_MAX, true);
	ksft_test_result(!err && !dmar_fault_seen(),
			 "the device's DMA goes on into it\n");
	before = lu_free_kib();
	luo_finish(dev);
	err = lu_edu_command(&e, &cmd);
	ksft_test_result(!err && !(cmd & 0x4),
			 "finishing the device's session stops it\n");
	/* Released from a worker: give it a moment. */
	for (int i = 0; i < 50; i++) {
		after = lu_free_kib();
		if (kmsg_has(HELD_RELEASED) &&
		    after - before >= (long long)(RAM_SIZE >> 10) * 3 / 4)
			break;
		usleep(100 * 1000);
	}
	ksft_test_result(kmsg_has(HELD_RELEASED) &&
			 after - before >= (long long)(RAM_SIZE >> 10) * 3 / 4,
			 "only then is the memfd's memory released, with session 'idle' not finished: %lld KiB\n",
			 after - before);

	idle = luo_retrieve_session(luo, "idle");
	fd = luo_retrieve_fd(idle, 1);
	p = mmap(NULL, IDLE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	want = malloc(IDLE_SIZE);
	if (p == MAP_FAILED || !want)
		ksft_exit_fail_msg("mapping the idle memfd: %s\n", strerror(errno));
	fill(want, IDLE_SIZE, 0x1d);
	ksft_test_result(!memcmp(p, want, IDLE_SIZE),
			 "session 'idle' comes back intact afterwards\n");
	munmap(p, IDLE_SIZE);
	free(want);
	close(fd);
	luo_finish(idle);
	ksft_test_result(kmsg_has("KHO: released the handover itself"),
			 "finishing it, the last one, releases the handover\n");
	ksft_finished();
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	return err;
}

static void write_proc(const char *path, long long val)
{
	char text[32];
	int err;

	snprintf(text, sizeof(text), "%lld\n", val);
	err = write_file(path, text);
	if (err)
		ksft_exit_fail_msg("%s: %s\n", path, strerror(-err));
}

/*
 * Retrieve the second memfd with strict overcommit and room for about
 * half of it: the retrieve fails part of the way through.
 */
static int retrieve_half(int mem)
{
	long long committed = lu_meminfo_kib("Committed_AS");
	int fd;

	write_proc("/proc/sys/vm/overcommit_kbytes",
		   committed + (B_SIZE >> 11));
	write_proc("/proc/sys/vm/overcommit_memory", 2);
	fd = __luo_retrieve_fd(mem, 2);
	write_proc("/proc/sys/vm/overcommit_memory", 0);
	write_proc("/proc/sys/vm/overcommit_kbytes", 0);
	ksft_print_msg("committed %lld KiB, room for %lu KiB more\n",
		       committed, B_SIZE >> 11);
	return fd;
}

/*
 * Fill (nearly) all free memory with one byte, let the device write its
 * buffer to every 64th page of both memfds, then check the fill: a page
 * of theirs freed and reused would show the device's bytes.
 */
static bool fill_and_dma(struct lu_edu *e, size_t *filled)
{
	long long avail = lu_meminfo_kib("MemFree") - (24 << 10);
	size_t len = avail > 0 ? (size_t)avail << 10 : 0, i;
	bool intact = true;
	uint64_t off;
	uint8_t *p;
	int err = 0;

	*filled = 0;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (!len || p == MAP_FAILED)
		return false;
	memset(p, 0x3c, len);
	for (off = 0; !err && off < RAM_SIZE; off += PAGE(64))
		err = lu_edu_dma(e, IOVA + off, LU_EDU_DMA_MAX, true);
	for (off = 0; !err && off < B_SIZE; off += PAGE(64))
		err = lu_edu_dma(e, IOVA_B + off, LU_EDU_DMA_MAX, true);
	for (i = 0; i < len; i++)
		if (p[i] != 0x3c) {
			ksft_print_msg("the fill changed at %zu of %zu: 0x%02x\n",
				       i, len, p[i]);
			intact = false;
			break;
		}
	munmap(p, len);
	*filled = len;
	return !err && intact;
}

/*
 * Stage 2 of lu.case=kept: the memfds the device writes are retrieved,
 * one of them only half (strict overcommit), the other finished, then
 * truncated and closed, and the device's record is damaged: none of
 * their memory returns to the allocator while the device runs, and all
 * of it does once it stops, although its record is unreadable.
 */
static void case_kept_stage2(void)
{
	int luo, mem, dev, fd, err;
	long long before, after = 0;
	struct lu_edu e;
	size_t filled;
	uint8_t *ram;

	ksft_set_plan(8);
	luo = luo_open();
	mem = luo_retrieve_session(luo, "mem");
	dev = luo_retrieve_session(luo, "dev");
	edu_sysfs(&e);

	fd = retrieve_half(mem);
	/* Held: what it restored, and what it did not. */
	ksft_test_result((fd == -ENOMEM || fd == -ENOSPC) &&
			 kmsg_count("folios stay held while devices still do DMA") == 2,
			 "retrieving the second memfd fails on the way, all its folios held: %s\n",
			 strerror(fd < 0 ? -fd : 0));

	fd = luo_retrieve_fd(mem, 1);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	/* The device's buffer gets bytes the fill does not have. */
	memset(ram, 0xa5, LU_EDU_DMA_MAX);
	err = lu_edu_dma(&e, IOVA, LU_EDU_DMA_MAX, false);
	munmap(ram, RAM_SIZE);
	luo_finish(mem);
	ksft_test_result(!err && !ftruncate(fd, 0),
			 "the finished memfd is truncated\n");
	close(fd);

	ksft_test_result(fill_and_dma(&e, &filled) && !dmar_fault_seen(),
			 "the device wrote both memfds, none of %zu MiB of free memory\n",
			 filled >> 20);

	err = write_file("/sys/module/luo_test/parameters/damage", "dev 2");
	if (err)
		ksft_exit_fail_msg("damaging the device's record: %s\n",
				   strerror(-err));
	before = lu_free_kib();
	luo_finish(dev);
	ksft_test_result(kmsg_has("the record of a finished device is gone"),
			 "finishing the device whose record is gone says so\n");
	lu_edu_dma(&e, IOVA, LU_EDU_DMA_MAX, true);
	/* The fault is logged from an interrupt: give it a moment. */
	for (int i = 0; i < 100 && !dmar_fault_seen(); i++)
		usleep(10000);
	ksft_test_result(dmar_fault_seen(),
			 "its translation ended: its DMA faults\n");
	/* Released from a worker: give it a moment. */
	/* Both memfds: 10 MiB, less what the system took meanwhile. */
	for (int i = 0; i < 50; i++) {
		after = lu_free_kib();
		if (kmsg_count(HELD_RELEASED) == 3 &&
		    after - before >= (long long)((RAM_SIZE + B_SIZE) >> 10) * 3 / 4)
			break;
		usleep(100 * 1000);
	}
	ksft_test_result(kmsg_count(HELD_RELEASED) == 3 &&
			 after - before >= (long long)((RAM_SIZE + B_SIZE) >> 10) * 3 / 4,
			 "and the memory of both memfds came back: %lld KiB\n",
			 after - before);
	ksft_test_result(kmsg_released_kib() < (long)(B_SIZE >> 12),
			 "nothing of the failed retrieve was left to KHO (%ld KiB)\n",
			 kmsg_released_kib());
	ksft_test_result(!kmsg_has("never freed"),
			 "nothing was leaked to keep it safe\n");
	ksft_finished();
}

static void case_retake_stage2(void)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	struct lu_edu s, e;
	int session, err;
	const char *why;
	char bdf[16];

	ksft_set_plan(6);
	fill(pattern, sizeof(pattern), 0x5a);
	ram = retrieve_ram(&session, NULL);
	edu_sysfs(&s);
	snprintf(bdf, sizeof(bdf), "%s", s.bdf);
	err = lu_edu_dma(&s, IOVA + PAGE(32), LU_EDU_DMA_MAX, true);
	ksft_test_result(!err && !memcmp(ram + PAGE(32), pattern, sizeof(pattern)),
			 "DMA goes on after the update\n");

	err = lu_edu_bind_vfio(bdf);
	if (!err)
		err = lu_edu_open(&e, bdf, &why);
	ksft_test_result(!err, "a VMM binds %s to vfio-pci and an iommufd: %s\n",
			 bdf, err ? strerror(-err) : "ok");
	if (err)
		ksft_exit_fail_msg("%s: %s\n", why, strerror(-err));
	ksft_test_result(kmsg_has("released its adopted DMA translation"),
			 "which ends the handed-over translation\n");
	err = lu_edu_map(&e, ram, RAM_SIZE, IOVA);
	if (!err)
		err = lu_edu_dma(&e, IOVA + PAGE(40), LU_EDU_DMA_MAX, true);
	ksft_test_result(!err && !memcmp(ram + PAGE(40), pattern, sizeof(pattern)),
			 "remapped at the same IOVA, the device does DMA, its buffer intact\n");
	ksft_test_result(lu_edu_read(&e, 0x08) == FACT_OUT,
			 "factorial still %u\n", lu_edu_read(&e, 0x08));
	luo_finish(session);
	err = lu_edu_dma(&e, IOVA + PAGE(44), LU_EDU_DMA_MAX, true);
	ksft_test_result(!err && !memcmp(ram + PAGE(44), pattern, sizeof(pattern)),
			 "finish leaves the device to its new owner\n");
	lu_edu_close(&e);
	ksft_finished();
}

/*
 * Stage 2 of lu.case=retrieve-bad: the retrieved IOAS no longer says what
 * the device's tables map (a page is mapped before the device is
 * retrieved), so retrieving the device is refused and its DMA stopped;
 * the memory comes back intact and a VMM can still take the device over.
 */
static void case_retrieve_bad_stage2(void)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, memfd, iommufd, dev, err;
	char bdf[16], ids[64];
	struct lu_edu m, s, e;
	const char *why;
	uint16_t cmd;

	ksft_set_plan(9);
	fill(pattern, sizeof(pattern), 0x5a);
	ram = retrieve_ram(&session, &memfd);
	ksft_test_result(!memcmp(ram + PAGE(16), pattern, sizeof(pattern)),
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
	err = lu_edu_map(&m, ram, PAGE(1), IOVA + RAM_SIZE);
	ksft_test_result(!err, "the retrieved IOAS takes a mapping the device's tables lack: %s\n",
			 strerror(-err));

	edu_bind_vfio(bdf, sizeof(bdf));
	dev = __luo_retrieve_fd(session, 3);
	ksft_test_result(dev == -EBUSY, "retrieving the device is refused: %s\n",
			 strerror(dev < 0 ? -dev : 0));
	ksft_test_result(kmsg_has("adopted tables do not map IOVA"),
			 "one line says which mapping does not match\n");

	edu_sysfs(&s);
	err = lu_edu_command(&s, &cmd);
	ksft_test_result(!err && !(cmd & 0x4), "its bus mastering is off\n");
	err = lu_edu_set_master(&s, true);
	if (!err)
		err = lu_edu_dma(&s, IOVA + PAGE(80), LU_EDU_DMA_MAX, true);
	usleep(200000);
	lu_edu_set_master(&s, false);
	ksft_test_result(!err && all_zero(ram + PAGE(80), LU_EDU_DMA_MAX) &&
			 dmar_fault_seen(),
			 "and the IOMMU blocks its DMA (fault reported)\n");
	ksft_test_result(lu_edu_read(&s, 0x08) == FACT_OUT,
			 "the device was not reset: factorial %u\n",
			 lu_edu_read(&s, 0x08));
	lu_edu_close(&s);

	/* A VMM takes the device over and maps the memory again. */
	err = lu_edu_open(&e, bdf, &why);
	if (!err)
		err = lu_edu_map(&e, ram, RAM_SIZE, IOVA);
	if (!err)
		err = lu_edu_dma(&e, IOVA + PAGE(40), LU_EDU_DMA_MAX, true);
	ksft_test_result(!err && !memcmp(ram + PAGE(40), pattern, sizeof(pattern)),
			 "a VMM takes it over and maps again: DMA works, its buffer intact\n");
	err = __luo_finish(session);
	ksft_test_result(!err, "finish: %s\n", strerror(-err));
	lu_edu_close(&e);
	ksft_finished();
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
	err = va ? lu_edu_map(s, va, len, IOVA) : 0;
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
		ksft_test_result_skip("no guest_memfd here: the CPU has no SVM and NPT\n");
		ksft_test_result_skip("no guest_memfd here\n");
		return;
	}
	gmem = lu_vmm_ram_create(LU_VMM_GMEM, PAGE(16), &vm);
	if (gmem < 0)
		ksft_exit_fail_msg("guest_memfd: %s\n", strerror(-gmem));
	p = mmap(NULL, PAGE(16), PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap (guest_memfd): %s\n", strerror(errno));
	memset(p, 0x22, PAGE(16));
	scratch_ioas(&g, NULL, 0);
	err = lu_edu_map_file(&g, gmem, 0, PAGE(16), IOVA);
	ksft_test_result(err == -EINVAL,
			 "IOMMU_IOAS_MAP_FILE refuses a guest_memfd: %s\n",
			 strerror(-err));
	map_err = lu_edu_map(&g, p, PAGE(16), IOVA);
	if (!map_err)
		err = __luo_preserve_fd(scratch, g.iommufd, 3);
	ksft_test_result(map_err || err == -EOPNOTSUPP,
			 "an iommufd cannot bring a guest_memfd's memory across (map: %s, preserve: %s)\n",
			 strerror(-map_err), map_err ? "-" : strerror(-err));
	lu_edu_close(&g);
	munmap(p, PAGE(16));
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
	anon = mmap(NULL, PAGE(16), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	memset(anon, 0x11, PAGE(16));
	scratch_ioas(&a, anon, PAGE(16));
	err = __luo_preserve_fd(scratch, a.iommufd, 1);
	ksft_test_result(err == -EOPNOTSUPP,
			 "an iommufd mapping anonymous memory is refused: %s\n",
			 strerror(-err));

	/* The RAM memfd is preserved, but in session "dev". */
	scratch_ioas(&m, ram, PAGE(16));
	err = __luo_preserve_fd(scratch, m.iommufd, 2);
	ksft_test_result(err == -ENOENT,
			 "one mapping a memfd not preserved in its session is refused: %s\n",
			 strerror(-err));
	scratch_gmem_refusals(scratch);
	close(scratch);
	lu_edu_close(&m);
	lu_edu_close(&a);
	munmap(anon, PAGE(16));
}

static void case_retrieve_stage1(void)
{
	int luo, session, fd, err;
	struct lu_edu e;
	char ids[64];
	uint8_t *ram;

	ksft_set_plan(9);
	ram = edu_load(&e, &fd);

	luo = luo_open();
	session = luo_create_session(luo, "dev");
	luo_preserve_fd(session, fd, 1);
	err = __luo_preserve_fd(session, e.iommufd, 2);
	ksft_test_result(!err, "iommufd preserved: %s\n", strerror(-err));
	err = __luo_preserve_fd(session, e.dev, 3);
	ksft_test_result(!err, "vfio device file preserved: %s\n",
			 strerror(-err));
	if (ksft_get_fail_cnt())
		ksft_exit_fail();

	/* Its mappings are what the next kernel gets: fixed until then. */
	err = lu_edu_map(&e, ram, PAGE(1), IOVA + RAM_SIZE);
	ksft_test_result(err == -EBUSY,
			 "preserved iommufd: IOMMU_IOAS_MAP fails: %s\n",
			 strerror(-err));
	err = lu_edu_unmap(&e, IOVA, RAM_SIZE);
	ksft_test_result(err == -EBUSY,
			 "preserved iommufd: IOMMU_IOAS_UNMAP fails: %s\n",
			 strerror(-err));
	scratch_refusals(luo, ram);
	if (ksft_get_fail_cnt())
		ksft_exit_fail();

	/* In flight through the reboot: the device writes 100 ms later. */
	lu_edu_dma_start(&e, IOVA + PAGE(16), LU_EDU_DMA_MAX, true);
	if (!strcmp(lu_case, "downgrade"))
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

static void case_retrieve_stage2(void)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int session, dev, iommufd, memfd, faults, err, derr, i;
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	struct lu_edu e;
	char bdf[16];

	ksft_set_plan(huge ? 18 : 17);
	fill(pattern, sizeof(pattern), 0x5a);
	edu_bind_vfio(bdf, sizeof(bdf));

	/* The device first: its iommufd and memfd come back with it. */
	session = luo_retrieve_session(luo_open(), "dev");
	dev = __luo_retrieve_fd(session, 3);
	ksft_test_result(dev >= 0, "vfio device file retrieved first: %s\n",
			 strerror(dev < 0 ? -dev : 0));
	iommufd = __luo_retrieve_fd(session, 2);
	memfd = __luo_retrieve_fd(session, 1);
	ksft_test_result(iommufd >= 0 && memfd >= 0,
			 "then its iommufd (%s) and memfd (%s)\n",
			 strerror(iommufd < 0 ? -iommufd : 0),
			 strerror(memfd < 0 ? -memfd : 0));
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	edu_retrieved(&e, bdf, dev, iommufd);

	bind.iommufd = iommufd;
	err = ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? -errno : 0;
	ksft_test_result(err == -EINVAL,
			 "bound already: VFIO_DEVICE_BIND_IOMMUFD fails: %s\n",
			 strerror(-err));
	/* The same object ids: the device, and its page table, in use. */
	hw.dev_id = e.devid;
	err = ioctl(iommufd, IOMMU_GET_HW_INFO, &hw) ? -errno : 0;
	destroy.id = e.hwpt;
	derr = ioctl(iommufd, IOMMU_DESTROY, &destroy) ? -errno : 0;
	ksft_test_result(!err && derr == -EBUSY,
			 "device %u and page table %u kept their ids: %s, %s\n",
			 e.devid, e.hwpt, strerror(-err), strerror(-derr));
	ksft_test_result(kmsg_has("took over its adopted translation") &&
			 !dmar_fault_seen(),
			 "the IOMMU took the translation over with no fault\n");
	/* 2 MiB at a 2 MiB IOVA: one large page entry, checked in place */
	if (huge)
		ksft_test_result(kmsg_has("512 pages mapped, 1 leaf entries"),
				 "the HugeTLB page was mapped and adopted as one 2 MiB entry\n");
	check_unreset(&e);
	ksft_test_result(!memcmp(ram + PAGE(16), pattern, sizeof(pattern)),
			 "the DMA started before the reboot landed in preserved memory\n");

	/* The same IOVA, no IOMMU_IOAS_MAP: device to RAM, RAM to device. */
	err = lu_edu_dma(&e, IOVA + PAGE(32), LU_EDU_DMA_MAX, true);
	ksft_test_result(!err && !memcmp(ram + PAGE(32), pattern, sizeof(pattern)),
			 "DMA device -> RAM with no new mapping: the device's buffer, intact\n");
	ksft_test_result(dma_round_trip(&e, ram, 48, 64, 0xa7),
			 "DMA RAM -> device -> RAM with no new mapping\n");

	/* The stage-1 mapping came back in the same IOAS. */
	unmap.ioas_id = e.ioas;
	unmap.iova = IOVA;
	unmap.length = RAM_SIZE;
	err = ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
	ksft_test_result(!err && unmap.length == RAM_SIZE,
			 "IOMMU_IOAS_UNMAP of IOAS %u at 0x%llx: %s, %llu bytes\n",
			 e.ioas, IOVA, strerror(-err),
			 (unsigned long long)unmap.length);
	memset(ram + PAGE(80), 0, LU_EDU_DMA_MAX);
	faults = kmsg_count("DMAR: [DMA Write");
	err = lu_edu_dma(&e, IOVA + PAGE(80), LU_EDU_DMA_MAX, true);
	for (i = 0; i < 100 && kmsg_count("DMAR: [DMA Write") <= faults; i++)
		usleep(10000);	/* the fault is reported by an interrupt */
	ksft_test_result(!err && all_zero(ram + PAGE(80), LU_EDU_DMA_MAX),
			 "unmapped: the IOMMU blocks the device\n");
	ksft_test_result(i < 100, "and reports the fault\n");

	err = lu_edu_map_file(&e, iommufd, 0, RAM_SIZE, IOVA);
	ksft_test_result(err == -EINVAL,
			 "IOMMU_IOAS_MAP_FILE refuses a file that is not a memfd: %s\n",
			 strerror(-err));
	err = lu_edu_map_file(&e, memfd, 0, RAM_SIZE, IOVA);
	ksft_test_result(!err && dma_round_trip(&e, ram, 112, 128, 0x3c),
			 "mapped again by file at the same IOVA: DMA both ways: %s\n",
			 strerror(-err));

	/* The device is the retrieved files': finish leaves it alone. */
	err = __luo_finish(session);
	ksft_test_result(!err, "finish: %s\n", strerror(-err));
	ksft_test_result(!err && dma_round_trip(&e, ram, 144, 160, 0xc3),
			 "after finish the device still does DMA\n");
	lu_edu_close(&e);
	ksft_finished();
}

static int open_cdev(const char *bdf)
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

static void case_refuse_stage1(void)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int luo, session, fd, extra_fd, dev, iommufd, err;
	uint8_t *ram, *extra;
	struct lu_edu e, g;
	char bdf[16];

	ksft_set_plan(8);
	luo = luo_open();
	session = luo_create_session(luo, "dev");

	if (lu_edu_find_nth(1, bdf, sizeof(bdf)))
		ksft_exit_fail_msg("no edu device behind the bridge\n");
	dev = open_cdev(bdf);
	err = __luo_preserve_fd(session, dev, 10);
	ksft_test_result(err == -EINVAL, "%s not bound to an iommufd: %s\n",
			 bdf, strerror(-err));
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	bind.iommufd = iommufd;
	if (iommufd < 0 || ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		ksft_exit_fail_msg("VFIO_DEVICE_BIND_IOMMUFD: %s\n",
				   strerror(errno));
	err = __luo_preserve_fd(session, dev, 10);
	ksft_test_result(err == -EOPNOTSUPP,
			 "%s not attached to a paging domain: %s\n", bdf,
			 strerror(-err));
	close(dev);
	close(iommufd);

	edu_setup_nth(&g, 1);
	err = __luo_preserve_fd(session, g.dev, 11);
	ksft_test_result(err == -EBUSY, "%s shares its IOMMU group: %s\n",
			 g.bdf, strerror(-err));
	lu_edu_close(&g);

	edu_setup_nth(&e, 0);
	ram = ram_memfd(&fd);
	extra = ram_memfd(&extra_fd);
	if (lu_edu_map(&e, ram, RAM_SIZE, IOVA) ||
	    lu_edu_map(&e, extra, RAM_SIZE, IOVA + RAM_SIZE))
		ksft_exit_fail_msg("IOMMU_IOAS_MAP: %s\n", strerror(errno));
	fill(ram, LU_EDU_DMA_MAX, 0x5a);
	luo_preserve_fd(session, fd, 1);
	err = __luo_preserve_fd(session, e.dev, 2);
	ksft_test_result(!err, "%s preserved: %s\n", e.bdf, strerror(-err));

	err = __lu_kexec_load_next(NULL);
	if (err)
		ksft_exit_fail_msg("kexec_file_load: %s\n", strerror(-err));
	err = __lu_kexec_reboot();
	ksft_test_result(err == -EBUSY,
			 "it maps a memfd that is not preserved: reboot fails: %s\n",
			 strerror(-err));
	ksft_test_result(kmsg_has("DMA to memory that is not preserved"),
			 "and says why\n");
	err = lu_edu_unmap(&e, IOVA + RAM_SIZE, RAM_SIZE);
	ksft_test_result(err == -EBUSY,
			 "its mappings cannot change while it is preserved: %s\n",
			 strerror(-err));
	err = __luo_preserve_fd(session, extra_fd, 3);
	ksft_test_result(!err, "preserving that memfd too: %s\n",
			 strerror(-err));
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	lu_kexec_next(NULL);
}

static void case_refuse_stage2(void)
{
	struct lu_edu e;
	uint8_t *ram;
	int session;

	ksft_set_plan(2);
	ksft_test_result(kmsg_count("keeps its DMA translation") == 1,
			 "one device kept translating through the kexec\n");
	ram = retrieve_ram(&session, NULL);
	edu_sysfs(&e);
	ksft_test_result(dma_round_trip(&e, ram, 48, 64, 0x3c),
			 "and does DMA both ways after the update\n");
	luo_finish(session);
	ksft_finished();
}

/* The next kernel refused the IOMMU's or the PCI core's state. */
static void case_bad_stage2(const char *what)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, err, faults, i;
	struct lu_edu e;
	uint16_t cmd;

	ksft_set_plan(6);
	fill(pattern, sizeof(pattern), 0x5a);
	if (!strcmp(what, "iommu"))
		ksft_test_result(kmsg_count("IOMMU state refused (unknown format)") == 1 &&
				 !kmsg_has("keeps its DMA translation"),
				 "one line: the IOMMU state is refused, nothing adopted\n");
	else if (!strcmp(what, "table"))
		ksft_test_result(kmsg_count("not adopted (its tables are not all preserved") == 1 &&
				 !kmsg_has("keeps its DMA translation"),
				 "one line: its tables are not all preserved, not adopted\n");
	else
		ksft_test_result(kmsg_count("PCI state refused (unknown format)") == 1 &&
				 kmsg_has("released its adopted DMA translation"),
				 "one line: the PCI state is refused; adopted translation ended\n");
	ksft_test_result(kmsg_has("DMA stopped"), "the device was stopped\n");

	edu_sysfs(&e);
	err = lu_edu_command(&e, &cmd);
	ksft_test_result(!err && !(cmd & 0x4), "bus mastering off (0x%04x)\n",
			 cmd);

	/* The rest of the handover goes on. */
	ram = retrieve_ram(&session, NULL);
	ksft_test_result(!memcmp(ram, pattern, sizeof(pattern)),
			 "the memfd of the session came back intact\n");

	/* Even with bus mastering turned back on, the IOMMU blocks it. */
	memset(ram + PAGE(96), 0, LU_EDU_DMA_MAX);
	faults = kmsg_count("DMAR: [DMA Write");
	err = lu_edu_set_master(&e, true);
	if (!err)
		err = lu_edu_dma(&e, IOVA + PAGE(96), LU_EDU_DMA_MAX, true);
	/* The fault is reported by an interrupt: give it a moment. */
	for (i = 0; i < 100 && kmsg_count("DMAR: [DMA Write") <= faults; i++)
		usleep(10000);
	ksft_test_result(!err && all_zero(ram + PAGE(96), LU_EDU_DMA_MAX),
			 "the IOMMU blocks the device\n");
	lu_edu_set_master(&e, false);
	luo_finish(session);
	ksft_test_result(kmsg_count("DMAR: [DMA Write") > faults,
			 "and reports the fault\n");
	ksft_finished();
}

/*
 * lu.case=shared: a second edu device, in an IOMMU group of its own, is
 * attached to the first one's IOAS, so that both share one domain; its
 * tables cannot go to the next kernel with either device alone, and
 * preserving either is refused (EBUSY).
 */
static void case_shared(void)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int session, dev2, err;
	struct lu_edu e;
	char bdf[16];

	ksft_set_plan(3);
	edu_setup_nth(&e, 0);
	if (lu_edu_find_nth(1, bdf, sizeof(bdf)))
		ksft_exit_fail_msg("a second edu device is needed\n");
	dev2 = open_cdev(bdf);
	bind.iommufd = e.iommufd;
	if (ioctl(dev2, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		ksft_exit_fail_msg("VFIO_DEVICE_BIND_IOMMUFD: %s\n",
				   strerror(errno));
	attach.pt_id = e.ioas;
	err = ioctl(dev2, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) ? -errno : 0;
	ksft_test_result(!err && attach.pt_id == e.hwpt,
			 "%s attached to the same IOAS shares the domain (page table %u)\n",
			 bdf, attach.pt_id);

	session = luo_create_session(luo_open(), "dev");
	err = __luo_preserve_fd(session, e.dev, 1);
	ksft_test_result(err == -EBUSY,
			 "a device sharing its domain cannot be preserved: %s\n",
			 strerror(-err));
	err = __luo_preserve_fd(session, dev2, 2);
	ksft_test_result(err == -EBUSY, "nor can the other one: %s\n",
			 strerror(-err));
	close(session);
	close(dev2);
	lu_edu_close(&e);
	ksft_finished();
}

/*
 * Stage 2 of lu.case=downgrade: stage 1 was lu.case=retrieve's, into a
 * kernel whose catalog lists vfio-pci-v1 but not v2 (lu.kernels=cur,vfio1),
 * so the device was written as v1, which cannot say where it sits in its
 * iommufd: it cannot be retrieved, but its DMA went on and finish stops it.
 */
static void case_downgrade_stage2(void)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, memfd, dev, iommufd, err;
	struct lu_edu e;
	uint16_t cmd;

	ksft_set_plan(8);
	fill(pattern, sizeof(pattern), 0x5a);
	ksft_test_result(kmsg_has("keeps its DMA translation"),
			 "the IOMMU kept translating through the kexec\n");
	session = luo_retrieve_session(luo_open(), "dev");
	memfd = luo_retrieve_fd(session, 1);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	ksft_test_result(!memcmp(ram + PAGE(16), pattern, sizeof(pattern)),
			 "the DMA started before the reboot landed in the memfd\n");
	/* Unbound, a v2 record gives ENODEV; v1 has nothing to bind to. */
	dev = __luo_retrieve_fd(session, 3);
	ksft_test_result(dev == -EOPNOTSUPP,
			 "the device, written as vfio-pci-v1, cannot be retrieved: %s\n",
			 strerror(dev < 0 ? -dev : 0));
	iommufd = __luo_retrieve_fd(session, 2);
	ksft_test_result(iommufd >= 0, "its iommufd can: %s\n",
			 strerror(iommufd < 0 ? -iommufd : 0));

	edu_sysfs(&e);
	check_unreset(&e);
	luo_finish(session);
	err = lu_edu_command(&e, &cmd);
	ksft_test_result(!err && !(cmd & 0x4), "finish: bus mastering off\n");
	ksft_test_result(kmsg_has("released its adopted DMA translation"),
			 "finish: adopted translation released\n");
	ksft_finished();
}

static void stage1(void)
{
	ksft_print_header();
	if (!strcmp(lu_case, "rig"))
		case_rig();
	if (!strcmp(lu_case, "hitless"))
		case_hitless_stage1(NULL);
	if (!strcmp(lu_case, "refuse"))
		case_refuse_stage1();
	if (!strcmp(lu_case, "retake") || split)
		case_hitless_stage1(NULL);
	if (!strcmp(lu_case, "retrieve") || !strcmp(lu_case, "retrieve-huge") ||
	    !strcmp(lu_case, "retrieve-bad") || !strcmp(lu_case, "downgrade"))
		case_retrieve_stage1();
	if (!strcmp(lu_case, "shared"))
		case_shared();
	if (!strcmp(lu_case, "race"))
		case_race_stage1();
	if (!strcmp(lu_case, "bad-iommu"))
		case_hitless_stage1("corrupt subtree:intel-iommu");
	if (!strcmp(lu_case, "kho-refused"))
		case_hitless_stage1("corrupt compatible");
	if (!strcmp(lu_case, "kho-off"))
		case_hitless_stage1(NULL);
	if (!strcmp(lu_case, "bad-pci"))
		case_hitless_stage1("corrupt subtree:pci");
	if (!strcmp(lu_case, "bad-table"))
		case_hitless_stage1("corrupt iommu-table");
	ksft_exit_fail_msg("unknown lu.case=%s\n", lu_case);
}

static void stage2(void)
{
	ksft_print_header();
	if (!strcmp(lu_case, "hitless") || !strcmp(lu_case, "race"))
		case_hitless_stage2();
	if (!strcmp(lu_case, "refuse"))
		case_refuse_stage2();
	if (!strcmp(lu_case, "retake"))
		case_retake_stage2();
	if (!strcmp(lu_case, "retrieve-bad"))
		case_retrieve_bad_stage2();
	if (!strcmp(lu_case, "downgrade"))
		case_downgrade_stage2();
	if (kept)
		case_kept_stage2();
	if (split)
		case_split_stage2();
	if (!strcmp(lu_case, "retrieve") || !strcmp(lu_case, "retrieve-huge"))
		case_retrieve_stage2();
	if (!strncmp(lu_case, "bad-", 4))
		case_bad_stage2(lu_case + 4);
	if (!strcmp(lu_case, "kho-refused") || !strcmp(lu_case, "kho-off"))
		case_norestore_stage2();
	ksft_exit_fail_msg("lu.case=%s has no stage 2\n", lu_case);
}

int main(void)
{
	static void (*const stages[])(void) = { stage1, stage2 };

	if (!lu_cmdline_get("lu.case", lu_case, sizeof(lu_case)))
		snprintf(lu_case, sizeof(lu_case), "rig");
	huge = !strcmp(lu_case, "retrieve-huge");
	kept = !strcmp(lu_case, "kept");
	split = kept || !strcmp(lu_case, "split");
	if (!strcmp(lu_case, "kho-off"))
		next_extra = "kho=off";
	lu_run_stages(stages, ARRAY_SIZE(stages));
}
