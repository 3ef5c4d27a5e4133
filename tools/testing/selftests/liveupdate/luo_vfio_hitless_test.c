// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a passthrough device (QEMU's edu) behind QEMU's intel-iommu,
 * driven through the vfio-pci cdev and iommufd, kept running through a
 * live update; the next kernel takes its translation over and nobody
 * retrieves the device file.
 *
 * One variant per scenario (lu.case= in vm/tests picks it):
 *
 * hitless keeps the device running through a kexec. Stage 1 sets the
 * liveness and factorial registers, DMAs a pattern into the device,
 * preserves the memfd and the vfio device file in a session, and starts
 * a DMA from the device into the memfd just before the reboot. Stage 2,
 * in the next kernel, with no driver bound (BAR0 through sysfs): the DMA
 * landed in the memfd, the registers kept their values (no reset), bus
 * mastering is still on, and DMA both ways goes on at the same IOVAs
 * without any remapping. Finishing the session stops it: bus mastering
 * off, and with it turned back on the IOMMU blocks the device. With a
 * virtio-blk disk behind the same IOMMU (iommu_platform=on), what stage 1
 * wrote to it reads back in stage 2, and it takes writes before and after
 * finish, with no DMAR fault: a neighbour of a preserved device is not
 * left blocked.
 *
 * retake does the same stage 1; in stage 2 a VMM takes the device back
 * while its DMA goes on: it binds it to vfio-pci and an iommufd of its
 * own (which ends the handed-over translation), maps the retrieved memfd
 * at the same IOVA, and the device does DMA again, its buffer as it was;
 * finishing the session then leaves the device to its new owner.
 *
 * split does the hitless stage 1 with the memfd in a session of its own,
 * and a small memfd in a third session, "idle"; stage 2 finishes the
 * memfd's session first, never retrieving the memfd, while the device
 * still writes into it: its memory stays reserved (one line says so)
 * until the device's session is finished, which stops the device, and
 * only then is it released, though "idle" is not finished. "idle" comes
 * back intact afterwards, and finishing it releases the handover.
 *
 * kept does split's stage 1 with a second memfd mapped too. In stage 2 a
 * strict overcommit limit makes the second one's retrieve fail (it
 * accounts for the whole file before it puts any folio in), leaving it
 * for a retry that never comes; the first
 * is retrieved, its session finished, then it is truncated and closed;
 * and the device's own record is damaged. Free memory filled with a
 * pattern shows the device's writes land in none of it; finishing the
 * device's session ends its translation (its record is unreadable, but
 * it was the last device), and only then does the memory of both memfds
 * come back.
 *
 * kept_memcg is kept with the first memfd retrieved by a process in a
 * memory cgroup whose memory.max is half the memfd's size: the retrieve
 * does not fail half-way, the memfd's pages are charged to the cgroup
 * past its limit (they are in use already), nobody is OOM-killed, and
 * the rest of kept holds. It needs a kernel with memory cgroups.
 *
 * kept_gmem is kept with a guest_memfd as the second file, mapped by
 * address (its mapping is the memory of a software-protected VM): its
 * session is finished, a hole punched over all of it and it is closed
 * while the device still writes it; the same must hold.
 *
 * kept_corrupt is kept with a HugeTLB memfd as the second file, whose
 * record the KHO test interface damages at the reboot: the folio in the
 * middle of its list is at an address where nothing was preserved. The
 * next kernel adopts the folios before it at boot, then gives them all
 * back, and the retrieve fails half-way (EIO). With the first memfd
 * finished, truncated and closed, the device writes both; none of their
 * memory returns to the allocator while it runs, not even the folio no
 * entry names any more, which only KHO knows of; all of it does once the
 * device stops.
 *
 * race does the hitless stage 1 while two threads detach and attach the
 * device and map and unmap part of its memfd in its IOAS, in a loop:
 * preserving the device file succeeds, and from then on every such
 * change fails with EBUSY while the device does DMA, through the reboot,
 * with the threads still trying; stage 2 is the hitless one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "lu_edu.h"
#include "lu_harness.h"
#include "lu_luo.h"
#include "lu_vfio.h"
#include "lu_vmm.h"

/* kept: the second memfd, and where the device has it */
#define B_SIZE		(8UL << 20)
#define IOVA_B		0x800000ULL

FIXTURE(vfio) {};

FIXTURE_VARIANT(vfio) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(vfio) *variant);
	/* split and kept: the memfd in a session of its own, "mem" */
	bool split;
	/* kept: and a second one, whose retrieve fails half-way in stage 2 */
	bool kept;
	/* kept_gmem: the second file is a guest_memfd, mapped by address */
	bool gmem;
	/* kept_memcg: the first memfd is retrieved in a small memory cgroup */
	bool memcg;
	/* kept_corrupt: the second is a HugeTLB memfd, its record damaged */
	bool corrupt;
};

/* IOMMU faults the kernel logged for the device at @bdf since boot. */
static int disk_faults(const char *bdf)
{
	char what[64];

	snprintf(what, sizeof(what), "Request device [%s]", bdf);
	return lu_vfio_kmsg_count(what);
}

/*
 * A memfd of @size bytes (of 2 MiB HugeTLB pages if @flags says so) filled
 * from @seed, left mapped at *@map if given.
 */
static int pattern_memfd_flags(const char *name, unsigned int flags,
			       size_t size, uint32_t seed, uint8_t **map)
{
	int fd = memfd_create(name, flags);
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, size))
		ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	lu_vfio_fill(p, size, seed);
	if (map)
		*map = p;
	else
		munmap(p, size);
	return fd;
}

static int pattern_memfd(const char *name, size_t size, uint32_t seed,
			 uint8_t **map)
{
	return pattern_memfd_flags(name, 0, size, seed, map);
}

/* split: the memfd of session "idle", which no device maps. */
#define IDLE_SIZE	LU_VFIO_PAGE(16)

static int idle_memfd(void)
{
	return pattern_memfd("lu-vfio-idle", IDLE_SIZE, 0x1d, NULL);
}

/* kept: a second memfd of B_SIZE (HugeTLB if @huge), mapped at IOVA_B. */
static int second_memfd(struct lu_edu *e, bool huge)
{
	unsigned int flags = huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0;
	uint8_t *b;
	int fd = pattern_memfd_flags("lu-vfio-b", flags, B_SIZE, 0xb, &b), err;

	err = lu_edu_map(e, b, B_SIZE, IOVA_B);
	if (err)
		ksft_exit_fail_msg("mapping the second memfd: %s\n",
				   strerror(-err));
	return fd;
}

/*
 * kept_gmem: a guest_memfd of B_SIZE (of a software-protected VM, left
 * open until the reboot), mapped in place and by address at IOVA_B: the
 * device's tables then lead to the guest_memfd's own pages.
 */
static int second_gmem(struct lu_edu *e)
{
	int vm, fd, err;
	uint8_t *b;

	fd = lu_vmm_ram_create(LU_VMM_GMEM, B_SIZE, &vm);
	if (fd < 0)
		ksft_exit_fail_msg("guest_memfd: %s\n", strerror(-fd));
	b = mmap(NULL, B_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED)
		ksft_exit_fail_msg("mmap (guest_memfd): %s\n", strerror(errno));
	memset(b, 0x0b, B_SIZE);
	err = lu_edu_map(e, b, B_SIZE, IOVA_B);
	if (err)
		ksft_exit_fail_msg("mapping the guest_memfd by address: %s\n",
				   strerror(-err));
	return fd;
}

static int write_file(const char *path, const char *text);

/*
 * The hitless stage 1: the device loaded, its memfd preserved in session
 * "dev" with it or, for split and kept, in a session of its own, "mem",
 * the device file preserved, and a DMA in flight through the reboot.
 */
static void hitless_stage1(const FIXTURE_VARIANT(vfio) *variant)
{
	int luo, session, fd, err;
	struct lu_edu e;

	lu_vfio_hitless_load(&e, &fd);
	luo = luo_open();
	session = luo_create_session(luo, "dev");
	if (variant->split) {
		int mem = luo_create_session(luo, "mem");

		luo_preserve_fd(mem, fd, 1);
		if (variant->kept)
			luo_preserve_fd(mem, variant->gmem ? second_gmem(&e) :
					     second_memfd(&e, variant->corrupt),
					2);
		else
			luo_preserve_fd(luo_create_session(luo, "idle"),
					idle_memfd(), 1);
	} else {
		luo_preserve_fd(session, fd, 1);
	}
	lu_vfio_hitless_preserve(&e, session);
	err = variant->corrupt ?
	      write_file("/sys/kernel/debug/kho_test/ctl",
			 "corrupt memfd-phys:mem:2") : 0;
	if (err)
		ksft_exit_fail_msg("arming the KHO test interface: %s\n",
				   strerror(-err));

	/* In flight through the reboot: the device writes 100 ms later. */
	lu_edu_dma_start(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(16), LU_EDU_DMA_MAX,
			 true);
	lu_kexec_next(NULL);
}

/*
 * Variant race: threads change the device's domain (detach, attach) and
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

#define RACE_IOVA	(LU_VFIO_IOVA + LU_VFIO_RAM_SIZE)

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
		int err = lu_edu_map(r->e, r->ram, LU_VFIO_PAGE(4), RACE_IOVA);

		race_count(r, was, err);
		was = __atomic_load_n(&r->preserved, __ATOMIC_ACQUIRE);
		err = lu_edu_unmap(r->e, RACE_IOVA, LU_VFIO_PAGE(4));
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

static void race_stage1(const FIXTURE_VARIANT(vfio) *variant)
{
	struct race r = {};
	pthread_t map, attach;
	int luo, session, fd, err, tries;
	struct lu_edu e;

	r.ram = lu_vfio_edu_load(&e, &fd, false);
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
	lu_check(!err, "preserved while its domain and mappings change (%d tries): %s\n",
		 tries, strerror(-err));
	if (err)
		ksft_exit_fail_msg("stopping: %s\n", strerror(-err));
	/* Let the threads try for a while. */
	while (__atomic_load_n(&r.after, __ATOMIC_RELAXED) < 2000)
		usleep(10000);
	lu_check(!r.let_through,
		 "after preserve, %lu of %lu domain and mapping changes got through (last error: %s)\n",
		 r.let_through, r.after, strerror(-r.last_err));
	lu_check(r.last_err == -EBUSY, "they fail with EBUSY\n");
	lu_check(lu_edu_dma(&e, LU_VFIO_IOVA, LU_EDU_DMA_MAX, false) == 0,
		 "the device still does DMA through its domain\n");
	lu_checks_stop();

	/* In flight through the reboot, with the threads still trying. */
	lu_edu_dma_start(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(16), LU_EDU_DMA_MAX,
			 true);
	lu_kexec_next(NULL);
}

/* Stage 2 of hitless and race. */
static void hitless_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	int session, err, fd;
	struct lu_edu e;
	uint16_t cmd;
	char bdf[16];
	bool disk = lu_vfio_disk_find(bdf, sizeof(bdf));

	lu_vfio_fill(pattern, sizeof(pattern), 0x5a);
	lu_check(lu_vfio_kmsg_has("keeps its DMA translation"),
		 "the IOMMU kept translating through the kexec\n");
	/* A VM with the disk must see it probe: a blocked one would not. */
	if (lu_vfio_disk_present())
		lu_check(disk, "the disk next to it probed after the update\n");
	if (disk) {
		/* Probing it needed DMA: it would not be here if blocked. */
		err = lu_vfio_disk_io(0, 0x3c, false);
		lu_check(!err, "the disk next to it (%s) reads what stage 1 wrote: %s\n",
			 bdf, strerror(-err));
		err = lu_vfio_disk_io(1 << 20, 0x4d, true);
		lu_check(!err, "and takes writes before finish: %s\n",
			 strerror(-err));
	}
	ram = lu_vfio_retrieve_ram(&session, &fd);
	lu_check(!memcmp(ram + LU_VFIO_PAGE(16), pattern, sizeof(pattern)),
		 "the DMA started before the reboot landed in preserved memory\n");

	lu_vfio_edu_sysfs(&e);
	lu_vfio_check_unreset(&e);

	/* The same IOVAs, no remapping: device to RAM, RAM to device. */
	err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(32), LU_EDU_DMA_MAX, true);
	lu_check(!err && !memcmp(ram + LU_VFIO_PAGE(32), pattern, sizeof(pattern)),
		 "DMA device -> RAM after the update: the device's buffer, intact\n");
	lu_check(lu_vfio_dma_round_trip(&e, ram, 48, 64, 0xa7),
		 "DMA RAM -> device -> RAM after the update\n");

	/* The device may still write it: no hole before finish. */
	err = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			LU_VFIO_RAM_SIZE) ? -errno : 0;
	lu_check(err == -EBUSY,
		 "before finish the retrieved memfd cannot lose pages: %s\n",
		 strerror(-err));

	/* Nobody retrieved the device: finishing stops it. */
	luo_finish(session);
	err = lu_edu_command(&e, &cmd);
	lu_check(!err && !(cmd & 0x4), "finish: bus mastering off\n");
	lu_check(lu_vfio_kmsg_has("released its adopted DMA translation"),
		 "finish: adopted translation released\n");
	if (disk) {
		err = lu_vfio_disk_io(2 << 20, 0x5e, true);
		if (!err)
			err = lu_vfio_disk_io(0, 0x3c, false);
		lu_check(!err, "the disk reads and writes after finish: %s\n",
			 strerror(-err));
		lu_check(!disk_faults(bdf), "no IOMMU fault for the disk (%d)\n",
			 disk_faults(bdf));
	}
	err = lu_edu_set_master(&e, true);
	if (!err)
		err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(80),
				 LU_EDU_DMA_MAX, true);
	usleep(200000);
	lu_check(!err && lu_vfio_all_zero(ram + LU_VFIO_PAGE(80), LU_EDU_DMA_MAX),
		 "after finish the IOMMU blocks the device\n");
	lu_check(lu_vfio_kmsg_has("DMAR: [DMA Write"), "and reports the fault\n");
	lu_edu_set_master(&e, false);
	err = ftruncate(fd, LU_VFIO_RAM_SIZE / 2) ? -errno : 0;
	lu_check(!err, "after finish the memfd is the VMM's: %s\n",
		 strerror(-err));
}

/* Stage 2 of retake. */
static void retake_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	uint8_t *ram, pattern[LU_EDU_DMA_MAX];
	struct lu_edu s, e;
	int session, err;
	const char *why;
	char bdf[16];

	lu_vfio_fill(pattern, sizeof(pattern), 0x5a);
	ram = lu_vfio_retrieve_ram(&session, NULL);
	lu_vfio_edu_sysfs(&s);
	snprintf(bdf, sizeof(bdf), "%s", s.bdf);
	err = lu_edu_dma(&s, LU_VFIO_IOVA + LU_VFIO_PAGE(32), LU_EDU_DMA_MAX, true);
	lu_check(!err && !memcmp(ram + LU_VFIO_PAGE(32), pattern, sizeof(pattern)),
		 "DMA goes on after the update\n");

	err = lu_edu_bind_vfio(bdf);
	if (!err)
		err = lu_edu_open(&e, bdf, &why);
	lu_check(!err, "a VMM binds %s to vfio-pci and an iommufd: %s\n",
		 bdf, err ? strerror(-err) : "ok");
	if (err)
		ksft_exit_fail_msg("%s: %s\n", why, strerror(-err));
	lu_check(lu_vfio_kmsg_has("released its adopted DMA translation"),
		 "which ends the handed-over translation\n");
	err = lu_edu_map(&e, ram, LU_VFIO_RAM_SIZE, LU_VFIO_IOVA);
	if (!err)
		err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(40),
				 LU_EDU_DMA_MAX, true);
	lu_check(!err && !memcmp(ram + LU_VFIO_PAGE(40), pattern, sizeof(pattern)),
		 "remapped at the same IOVA, the device does DMA, its buffer intact\n");
	lu_check(lu_edu_read(&e, 0x08) == LU_VFIO_FACT_OUT,
		 "factorial still %u\n", lu_edu_read(&e, 0x08));
	luo_finish(session);
	err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(44), LU_EDU_DMA_MAX, true);
	lu_check(!err && !memcmp(ram + LU_VFIO_PAGE(44), pattern, sizeof(pattern)),
		 "finish leaves the device to its new owner\n");
	lu_edu_close(&e);
}

/* The most KiB one "released ... KiB" line of KHO reports, or -1 */
static long kmsg_released_kib(void)
{
	long kib;

	lu_vfio_kmsg_scan("KHO: released ", &kib);
	return kib;
}

#define HELD_RELEASED	"folios held while devices did DMA are released"

/*
 * Stage 2 of split: the memfd's session is finished first, with the
 * memfd never retrieved, while the device still writes into it: its
 * memory stays reserved until the device's session is finished too, and
 * is released then, although session "idle" is not finished yet (nor is
 * it ever retrieved until the end).
 */
static void split_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	int luo, mem, dev, idle, fd, err;
	long long before, after = 0;
	struct lu_edu e;
	uint8_t *p, *want;
	uint16_t cmd;

	luo = luo_open();
	mem = luo_retrieve_session(luo, "mem");
	dev = luo_retrieve_session(luo, "dev");
	luo_finish(mem);
	lu_check(lu_vfio_kmsg_has("which nobody retrieved, is freed once no device does DMA") &&
		 lu_vfio_kmsg_count("folios stay held while devices still do DMA") == 1,
		 "the unretrieved memfd stays reserved: the device still writes it\n");
	lu_vfio_edu_sysfs(&e);
	err = lu_edu_dma(&e, LU_VFIO_IOVA + LU_VFIO_PAGE(32), LU_EDU_DMA_MAX, true);
	lu_check(!err && !lu_vfio_dmar_fault_seen(),
		 "the device's DMA goes on into it\n");
	before = lu_free_kib();
	luo_finish(dev);
	err = lu_edu_command(&e, &cmd);
	lu_check(!err && !(cmd & 0x4),
		 "finishing the device's session stops it\n");
	/* Released from a worker: give it a moment. */
	for (int i = 0; i < 50; i++) {
		after = lu_free_kib();
		if (lu_vfio_kmsg_has(HELD_RELEASED) &&
		    after - before >= (long long)(LU_VFIO_RAM_SIZE >> 10) * 3 / 4)
			break;
		usleep(100 * 1000);
	}
	lu_check(lu_vfio_kmsg_has(HELD_RELEASED) &&
		 after - before >= (long long)(LU_VFIO_RAM_SIZE >> 10) * 3 / 4,
		 "only then is the memfd's memory released, with session 'idle' not finished: %lld KiB\n",
		 after - before);

	idle = luo_retrieve_session(luo, "idle");
	fd = luo_retrieve_fd(idle, 1);
	p = mmap(NULL, IDLE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	want = malloc(IDLE_SIZE);
	if (p == MAP_FAILED || !want)
		ksft_exit_fail_msg("mapping the idle memfd: %s\n", strerror(errno));
	lu_vfio_fill(want, IDLE_SIZE, 0x1d);
	lu_check(!memcmp(p, want, IDLE_SIZE),
		 "session 'idle' comes back intact afterwards\n");
	munmap(p, IDLE_SIZE);
	free(want);
	close(fd);
	luo_finish(idle);
	lu_check(lu_vfio_kmsg_has("KHO: released the handover itself"),
		 "finishing it, the last one, releases the handover\n");
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

/* kept_memcg: the memory cgroup the first memfd is retrieved in */
#define CG_ROOT		"/sys/fs/cgroup"
#define CG_SMALL	CG_ROOT "/small"
/* Its memory.max, below the memfd's size */
#define CG_MAX		(1024UL * 1024)

/* Make CG_SMALL, with memory.max CG_MAX; exit if memory cgroups are off. */
static void small_cgroup(void)
{
	char max[32];
	int err;

	mkdir(CG_ROOT, 0755);
	if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL) && errno != EBUSY)
		ksft_exit_fail_msg("mounting cgroup2: %s\n", strerror(errno));
	err = write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
	if (!err && mkdir(CG_SMALL, 0755) && errno != EEXIST)
		err = -errno;
	snprintf(max, sizeof(max), "%lu", CG_MAX);
	if (!err)
		err = write_file(CG_SMALL "/memory.max", max);
	if (err)
		ksft_exit_fail_msg("a memory cgroup with memory.max %s: %s\n",
				   max, strerror(-err));
}

/* Move this process into the cgroup @dir. */
static void join_cgroup(const char *dir)
{
	char path[128], pid[32];
	int err;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	err = write_file(path, pid);
	if (err)
		ksft_exit_fail_msg("joining %s: %s\n", dir, strerror(-err));
}

/* A number from a memory cgroup file: memory.current, or a key of a list. */
static long long cg_num(const char *file, const char *key)
{
	char path[128], name[64];
	long long v, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), CG_SMALL "/%s", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!key)
		found = fscanf(f, "%lld", &v) == 1 ? v : -1;
	while (key && fscanf(f, "%63s %lld", name, &v) == 2)
		if (!strcmp(name, key))
			found = v;
	fclose(f);
	return found;
}

/*
 * Retrieve the first memfd from inside CG_SMALL, and nothing else: once
 * the memfd's pages are in, any other charge there would find no room.
 */
static int retrieve_in_small_cgroup(int mem)
{
	int fd;

	small_cgroup();
	join_cgroup(CG_SMALL);
	fd = __luo_retrieve_fd(mem, 1);
	join_cgroup(CG_ROOT);
	lu_check(fd >= 0,
		 "a retrieve in a memory cgroup whose memory.max (%lu KiB) is below the memfd's size (%lu KiB) succeeds: %s\n",
		 CG_MAX >> 10, LU_VFIO_RAM_SIZE >> 10,
		 strerror(fd < 0 ? -fd : 0));
	if (fd < 0)
		ksft_exit_fail_msg("cannot go on without the memfd\n");
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
	for (off = 0; !err && off < LU_VFIO_RAM_SIZE; off += LU_VFIO_PAGE(64))
		err = lu_edu_dma(e, LU_VFIO_IOVA + off, LU_EDU_DMA_MAX, true);
	for (off = 0; !err && off < B_SIZE; off += LU_VFIO_PAGE(64))
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
 * Stage 2 of kept: the memfds the device writes are retrieved, one of
 * them only half (strict overcommit), the other finished, then truncated
 * and closed, and the device's record is damaged: none of their memory
 * returns to the allocator while the device runs, and all of it does
 * once it stops, although its record is unreadable.
 */
static void kept_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	static char meminfo[8192];
	int luo, mem, dev, fd, err;
	long long before, after = 0;
	struct lu_edu e;
	size_t filled;
	uint8_t *ram;

	luo = luo_open();
	mem = luo_retrieve_session(luo, "mem");
	dev = luo_retrieve_session(luo, "dev");
	lu_vfio_edu_sysfs(&e);

	/* Room for about half of it */
	fd = lu_retrieve_fd_committed(mem, 2, B_SIZE >> 11);
	/* Before it took anything: all of it stays for a retry. */
	lu_check((fd == -ENOMEM || fd == -ENOSPC) &&
		 lu_vfio_kmsg_has("it may be retrieved again") &&
		 !lu_vfio_kmsg_has("folios stay held while devices still do DMA"),
		 "retrieving the second memfd fails before it takes anything: %s\n",
		 strerror(fd < 0 ? -fd : 0));

	fd = variant->memcg ? retrieve_in_small_cgroup(mem) :
			      luo_retrieve_fd(mem, 1);
	ram = mmap(NULL, LU_VFIO_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (ram == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	/* The device's buffer gets bytes the fill does not have. */
	memset(ram, 0xa5, LU_EDU_DMA_MAX);
	err = lu_edu_dma(&e, LU_VFIO_IOVA, LU_EDU_DMA_MAX, false);
	munmap(ram, LU_VFIO_RAM_SIZE);
	luo_finish(mem);
	/* The first memfd's folios, and all of the second's, never retrieved */
	lu_check(lu_vfio_kmsg_count("folios stay held while devices still do DMA") == 2,
		 "finishing their session holds both memfds' folios\n");
	/* Finish put every folio in: charged to the retriever's cgroup. */
	if (variant->memcg)
		lu_check(cg_num("memory.current", NULL) >= (long long)LU_VFIO_RAM_SIZE &&
			 cg_num("memory.events", "oom_kill") == 0,
			 "its pages are charged to that cgroup past its limit (%lld KiB), with no OOM kill (%lld)\n",
			 cg_num("memory.current", NULL) >> 10,
			 cg_num("memory.events", "oom_kill"));
	lu_check(!err && !ftruncate(fd, 0),
		 "the finished memfd is truncated\n");
	close(fd);

	lu_check(fill_and_dma(&e, &filled) && !lu_vfio_dmar_fault_seen(),
		 "the device wrote both memfds, none of %zu MiB of free memory\n",
		 filled >> 20);

	err = write_file("/sys/module/luo_test/parameters/damage", "dev 2");
	if (err)
		ksft_exit_fail_msg("damaging the device's record: %s\n",
				   strerror(-err));
	lu_meminfo_text(meminfo, sizeof(meminfo));
	before = lu_free_kib();
	luo_finish(dev);
	lu_check(lu_vfio_kmsg_has("the record of a finished device is gone"),
		 "finishing the device whose record is gone says so\n");
	lu_edu_dma(&e, LU_VFIO_IOVA, LU_EDU_DMA_MAX, true);
	/* The fault is logged from an interrupt: give it a moment. */
	for (int i = 0; i < 100 && !lu_vfio_dmar_fault_seen(); i++)
		usleep(10000);
	lu_check(lu_vfio_dmar_fault_seen(),
		 "its translation ended: its DMA faults\n");
	/* Released from a worker: give it a moment. */
	/* Both memfds: 10 MiB, less what the system took meanwhile. */
	for (int i = 0; i < 50; i++) {
		after = lu_free_kib();
		if (lu_vfio_kmsg_count(HELD_RELEASED) == 2 &&
		    after - before >= (long long)((LU_VFIO_RAM_SIZE + B_SIZE) >> 10) * 3 / 4)
			break;
		usleep(100 * 1000);
	}
	if (!lu_check(lu_vfio_kmsg_count(HELD_RELEASED) == 2 &&
		      after - before >= (long long)((LU_VFIO_RAM_SIZE + B_SIZE) >> 10) * 3 / 4,
		      "and the memory of both memfds came back: %lld KiB\n",
		      after - before))
		lu_meminfo_moved(meminfo, 256);
	lu_check(kmsg_released_kib() < (long)(B_SIZE >> 12),
		 "nothing of the failed retrieve was left to KHO (%ld KiB)\n",
		 kmsg_released_kib());
	lu_check(!lu_vfio_kmsg_has("never freed"),
		 "nothing was leaked to keep it safe\n");
}

/*
 * Stage 2 of kept_gmem: the memfd and the guest_memfd the device writes
 * are retrieved and their session finished; the memfd is truncated, the
 * guest_memfd gets a hole over all of it, and both are closed. None of
 * their memory returns to the allocator while the device runs, and all
 * of it does once its session is finished.
 */
static void kept_gmem_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	static char meminfo[8192];
	long long before, after = 0;
	int luo, mem, dev, fd, gmem, err;
	struct lu_edu e;
	size_t filled;
	bool back;

	luo = luo_open();
	mem = luo_retrieve_session(luo, "mem");
	dev = luo_retrieve_session(luo, "dev");
	lu_vfio_edu_sysfs(&e);
	fd = luo_retrieve_fd(mem, 1);
	gmem = luo_retrieve_fd(mem, 2);
	luo_finish(mem);
	err = fallocate(gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			B_SIZE) ? -errno : 0;
	lu_check(!err && !ftruncate(fd, 0),
		 "finished: a hole over all of the guest_memfd (%s), the memfd truncated\n",
		 strerror(-err));
	close(gmem);
	close(fd);

	lu_check(fill_and_dma(&e, &filled) && !lu_vfio_dmar_fault_seen(),
		 "the device wrote the memfd and the guest_memfd, none of %zu MiB of free memory\n",
		 filled >> 20);

	lu_meminfo_text(meminfo, sizeof(meminfo));
	before = lu_free_kib();
	luo_finish(dev);
	/* Released from a worker: give it a moment. */
	for (int i = 0; i < 50; i++) {
		after = lu_free_kib();
		back = lu_vfio_kmsg_count(HELD_RELEASED) == 2 &&
		       after - before >= (long long)((LU_VFIO_RAM_SIZE + B_SIZE) >> 10) * 3 / 4;
		if (back)
			break;
		usleep(100 * 1000);
	}
	if (!lu_check(back,
		      "once the device stops, the memory of both files comes back: %lld KiB\n",
		      after - before))
		lu_meminfo_moved(meminfo, 256);
	lu_check(!lu_vfio_kmsg_has("never freed"),
		 "nothing was leaked to keep it safe\n");
}

/*
 * Stage 2 of kept_corrupt: the second memfd's retrieve fails half-way;
 * the first is retrieved, its session finished, then it is truncated and
 * closed. None of their memory returns to the allocator while the device
 * runs, and all of it does once its session is finished, the folio no
 * entry names included (KHO's release of unclaimed memory).
 */
static void kept_corrupt_stage2(const FIXTURE_VARIANT(vfio) *variant)
{
	static char meminfo[8192];
	long long before, after = 0;
	int luo, mem, dev, fd, err;
	struct lu_edu e;
	size_t filled;
	bool back;

	luo = luo_open();
	mem = luo_retrieve_session(luo, "mem");
	dev = luo_retrieve_session(luo, "dev");
	lu_vfio_edu_sysfs(&e);

	err = __luo_retrieve_fd(mem, 2);
	lu_check(err == -EIO &&
		 lu_vfio_kmsg_count("cannot rebuild memfd 'memfd:lu-vfio-b': -5") == 1,
		 "the damaged HugeTLB memfd fails half-way: %s\n",
		 strerror(-err));
	lu_check(lu_vfio_kmsg_has("folios stay held while devices still do DMA"),
		 "what it adopted is held, not freed\n");

	fd = luo_retrieve_fd(mem, 1);
	luo_finish(mem);
	lu_check(!ftruncate(fd, 0), "the other memfd, finished, is truncated\n");
	close(fd);

	lu_check(fill_and_dma(&e, &filled) && !lu_vfio_dmar_fault_seen(),
		 "the device wrote both memfds, none of %zu MiB of free memory\n",
		 filled >> 20);

	lu_meminfo_text(meminfo, sizeof(meminfo));
	before = lu_free_kib();
	luo_finish(dev);
	/* Released from a worker: give it a moment. */
	for (int i = 0; i < 50; i++) {
		after = lu_free_kib();
		back = kmsg_released_kib() >= 2048 &&
		       after - before >= (long long)((LU_VFIO_RAM_SIZE + B_SIZE) >> 10) * 3 / 4;
		if (back)
			break;
		usleep(100 * 1000);
	}
	if (!lu_check(back,
		      "once the device stops, the memory of both comes back: %lld KiB, %ld KiB of it unclaimed\n",
		      after - before, kmsg_released_kib()))
		lu_meminfo_moved(meminfo, 256);
	lu_check(!lu_vfio_kmsg_has("never freed"),
		 "nothing was leaked to keep it safe\n");
}

FIXTURE_VARIANT_ADD(vfio, hitless) {
	.stage = { hitless_stage1, hitless_stage2 },
};

FIXTURE_VARIANT_ADD(vfio, retake) {
	.stage = { hitless_stage1, retake_stage2 },
};

FIXTURE_VARIANT_ADD(vfio, split) {
	.stage = { hitless_stage1, split_stage2 },
	.split = true,
};

FIXTURE_VARIANT_ADD(vfio, kept) {
	.stage = { hitless_stage1, kept_stage2 },
	.split = true,
	.kept = true,
};

FIXTURE_VARIANT_ADD(vfio, kept_memcg) {
	.stage = { hitless_stage1, kept_stage2 },
	.split = true,
	.kept = true,
	.memcg = true,
};

FIXTURE_VARIANT_ADD(vfio, kept_gmem) {
	.stage = { hitless_stage1, kept_gmem_stage2 },
	.split = true,
	.kept = true,
	.gmem = true,
};

FIXTURE_VARIANT_ADD(vfio, kept_corrupt) {
	.stage = { hitless_stage1, kept_corrupt_stage2 },
	.split = true,
	.kept = true,
	.corrupt = true,
};

FIXTURE_VARIANT_ADD(vfio, race) {
	.stage = { race_stage1, hitless_stage2 },
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
