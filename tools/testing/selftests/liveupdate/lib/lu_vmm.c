// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny VMM for the live update selftests; see include/lu_vmm.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/memfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "lu_vmm.h"

#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP	1ULL
#endif
#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM	1
#endif

#define HUGE_2M	(21 << MFD_HUGE_SHIFT)

/*
 * The guest, 16-bit real mode at LU_VMM_CODE:
 *
 *	mov	ebx, [LU_VMM_COUNTER]
 * 1:	inc	ebx
 *	mov	[LU_VMM_COUNTER], ebx
 *	mov	di, bx
 *	and	di, 0x3ffc
 *	mov	[di + LU_VMM_RING], ebx
 *	test	ebx, LU_VMM_EXIT_EVERY - 1
 *	jnz	1b
 *	out	LU_VMM_PORT, al
 *	jmp	1b
 */
static const uint8_t guest_code[] = {
	0x66, 0x8b, 0x1e, 0x00, 0x20,
	0x66, 0x43,
	0x66, 0x89, 0x1e, 0x00, 0x20,
	0x89, 0xdf,
	0x81, 0xe7, 0xfc, 0x3f,
	0x66, 0x89, 0x9d, 0x00, 0x40,
	0x66, 0xf7, 0xc3, 0xff, 0x0f, 0x00, 0x00,
	0x75, 0xe5,
	0xe6, LU_VMM_PORT,
	0xeb, 0xe1,
};

/* The pattern words above the ring. */
#define PATTERN_START	(LU_VMM_RING + LU_VMM_RING_SIZE)

static uint64_t pattern(uint64_t i)
{
	return i * 0x9e3779b97f4a7c15ULL + 0x4c55;
}

const char *lu_vmm_ram_name(enum lu_vmm_ram kind)
{
	switch (kind) {
	case LU_VMM_SHMEM:
		return "shmem memfd";
	case LU_VMM_HUGETLB:
		return "hugetlb memfd";
	case LU_VMM_GMEM:
		return "guest_memfd";
	}
	return "?";
}

static int vm_create(int kvm, enum lu_vmm_ram kind)
{
	unsigned long type = kind == LU_VMM_GMEM ? KVM_X86_SW_PROTECTED_VM : 0;
	int vm = ioctl(kvm, KVM_CREATE_VM, type);

	return vm < 0 ? -errno : vm;
}

int lu_vmm_ram_create(enum lu_vmm_ram kind, uint64_t size, int *vm_fd)
{
	struct kvm_create_guest_memfd gmem = {
		.size = size,
		.flags = GUEST_MEMFD_FLAG_MMAP,
	};
	int fd, kvm;

	*vm_fd = -1;
	switch (kind) {
	case LU_VMM_SHMEM:
	case LU_VMM_HUGETLB:
		fd = memfd_create("lu-vmm-ram",
				  kind == LU_VMM_HUGETLB ? MFD_HUGETLB | HUGE_2M : 0);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, size)) {
			close(fd);
			return -errno;
		}
		return fd;
	case LU_VMM_GMEM:
		kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kvm < 0)
			return -errno;
		*vm_fd = vm_create(kvm, kind);
		close(kvm);
		if (*vm_fd < 0)
			return *vm_fd;
		fd = ioctl(*vm_fd, KVM_CREATE_GUEST_MEMFD, &gmem);
		if (fd < 0) {
			fd = -errno;
			close(*vm_fd);
			*vm_fd = -1;
		}
		return fd;
	}
	return -EINVAL;
}

int lu_vmm_build(struct lu_vmm *v, enum lu_vmm_ram kind, int ram_fd,
		 uint64_t size, int vm_fd, const char **why)
{
	struct kvm_userspace_memory_region2 slot = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = size,
	};
	int err;

	memset(v, 0, sizeof(*v));
	v->ram_kind = kind;
	v->ram_size = size;
	v->ram_fd = ram_fd;
	v->vm = vm_fd;
	v->vcpu = -1;
	v->ram = MAP_FAILED;

	*why = "open /dev/kvm";
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return -errno;
	if (v->vm < 0) {
		*why = "KVM_CREATE_VM";
		v->vm = vm_create(v->kvm, kind);
		if (v->vm < 0)
			return v->vm;
	}
	*why = "mmap the RAM";
	v->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
	if (v->ram == MAP_FAILED)
		return -errno;
	slot.userspace_addr = (uintptr_t)v->ram;
	if (kind == LU_VMM_GMEM) {
		slot.flags = KVM_MEM_GUEST_MEMFD;
		slot.guest_memfd = ram_fd;
	}
	*why = "KVM_SET_USER_MEMORY_REGION2";
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION2, &slot))
		return -errno;
	if (kind == LU_VMM_GMEM) {
		/* The ring is private: the guest reaches it through KVM's
		 * guest_memfd path, the rest through the shared mapping.
		 */
		struct kvm_memory_attributes attr = {
			.address = LU_VMM_RING,
			.size = LU_VMM_RING_SIZE,
			.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
		};

		*why = "KVM_SET_MEMORY_ATTRIBUTES";
		if (ioctl(v->vm, KVM_SET_MEMORY_ATTRIBUTES, &attr))
			return -errno;
	}

	*why = "KVM_CREATE_VCPU";
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return -errno;
	*why = "KVM_GET_VCPU_MMAP_SIZE";
	err = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (err < 0)
		return -errno;
	v->run_size = err;
	*why = "mmap the vCPU";
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	*why = NULL;
	return 0;
}

int lu_vmm_boot(struct lu_vmm *v)
{
	struct kvm_regs regs = { .rip = LU_VMM_CODE, .rflags = 2 };
	struct kvm_sregs sregs;
	uint64_t *w = (uint64_t *)v->ram;
	uint64_t i;

	memset(v->ram, 0, PATTERN_START);
	memcpy(v->ram + LU_VMM_CODE, guest_code, sizeof(guest_code));
	for (i = PATTERN_START / 8; i < v->ram_size / 8; i++)
		w[i] = pattern(i);

	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs))
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds = sregs.cs;
	sregs.ds.type = 3;	/* data, read/write, accessed */
	sregs.es = sregs.ds;
	sregs.ss = sregs.ds;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs))
		return -errno;
	if (ioctl(v->vcpu, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}

static int run_once(struct lu_vmm *v)
{
	if (ioctl(v->vcpu, KVM_RUN, 0))
		return -errno;
	if (v->run->exit_reason != KVM_EXIT_IO ||
	    v->run->io.port != LU_VMM_PORT ||
	    v->run->io.direction != KVM_EXIT_IO_OUT) {
		fprintf(stderr, "lu_vmm: unexpected exit %u (port 0x%x)\n",
			v->run->exit_reason, v->run->io.port);
		return -EIO;
	}
	v->exits++;
	return 0;
}

int lu_vmm_run_until(struct lu_vmm *v, uint64_t until)
{
	int err;

	do {
		err = run_once(v);
		if (err)
			return err;
	} while (lu_vmm_counter(v) < until);
	return 0;
}

int lu_vmm_pause(struct lu_vmm *v, struct lu_vmm_state *st)
{
	/*
	 * The "out" that caused the last exit completes in KVM_RUN; with
	 * immediate_exit set it returns EINTR right after, no guest
	 * instruction run, and the registers are consistent.
	 */
	v->run->immediate_exit = 1;
	if (!ioctl(v->vcpu, KVM_RUN, 0) || errno != EINTR)
		return -EIO;
	v->run->immediate_exit = 0;

	memset(st, 0, sizeof(*st));
	st->magic = LU_VMM_STATE_MAGIC;
	st->ram_kind = v->ram_kind;
	st->ram_size = v->ram_size;
	st->exits = v->exits;
	if (ioctl(v->vcpu, KVM_GET_REGS, &st->regs) ||
	    ioctl(v->vcpu, KVM_GET_SREGS, &st->sregs))
		return -errno;
	st->counter = lu_vmm_counter(v);
	return 0;
}

int lu_vmm_restore(struct lu_vmm *v, const struct lu_vmm_state *st)
{
	if (ioctl(v->vcpu, KVM_SET_SREGS, &st->sregs) ||
	    ioctl(v->vcpu, KVM_SET_REGS, &st->regs))
		return -errno;
	v->exits = st->exits;
	return 0;
}

uint32_t lu_vmm_counter(const struct lu_vmm *v)
{
	return __atomic_load_n((uint32_t *)(v->ram + LU_VMM_COUNTER),
			       __ATOMIC_RELAXED);
}

uint64_t lu_vmm_csum(const struct lu_vmm *v)
{
	const uint64_t *w = (const uint64_t *)v->ram;
	uint64_t h = 0xcbf29ce484222325ULL, i;

	for (i = 0; i < v->ram_size / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

bool lu_vmm_ring_ok(const struct lu_vmm *v, uint32_t counter)
{
	const uint32_t *ring = (const uint32_t *)(v->ram + LU_VMM_RING);
	uint32_t k, c;

	for (k = 0; k < LU_VMM_RING_SIZE / 4; k++) {
		c = ring[k];
		if (!c && counter < LU_VMM_RING_SIZE)
			continue;	/* not written yet */
		if ((c & 0x3ffc) != k * 4 || c > counter)
			return false;
		/* The newest value of the slot: none larger fits below. */
		if (counter - c >= LU_VMM_RING_SIZE)
			return false;
	}
	return true;
}

uint64_t lu_vmm_pattern_bad(const struct lu_vmm *v)
{
	const uint64_t *w = (const uint64_t *)v->ram;
	uint64_t i;

	if (memcmp(v->ram + LU_VMM_CODE, guest_code, sizeof(guest_code)))
		return LU_VMM_CODE + 1;
	for (i = PATTERN_START / 8; i < v->ram_size / 8; i++)
		if (w[i] != pattern(i))
			return i * 8 + 1;
	return 0;
}

uint64_t lu_vmm_pfn(const struct lu_vmm *v, uint64_t offset)
{
	uint8_t *p = v->ram + offset;
	uint64_t entry = 0;
	int fd;

	(void)__atomic_load_n(p, __ATOMIC_RELAXED);	/* fault it in */
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry),
		  (uintptr_t)p / 4096 * sizeof(entry)) != sizeof(entry))
		entry = 0;
	close(fd);
	return (entry >> 63) ? entry & ((1ULL << 55) - 1) : 0;
}

void lu_vmm_destroy(struct lu_vmm *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->ram != MAP_FAILED && v->ram)
		munmap(v->ram, v->ram_size);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->kvm >= 0)
		close(v->kvm);
	v->run = NULL;
	v->ram = MAP_FAILED;
	v->vcpu = -1;
	v->vm = -1;
	v->kvm = -1;
}
