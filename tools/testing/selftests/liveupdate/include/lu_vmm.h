/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny VMM for the live update selftests: one KVM vCPU in real mode
 * running a counting loop in RAM that comes from a memfd (shmem or
 * HugeTLB) or a guest_memfd, so that the RAM can be preserved with LUO
 * and the VM rebuilt on it after a kexec.
 *
 * The guest, at 0x1000, keeps a 32-bit counter at LU_VMM_COUNTER and
 * writes each value into a 16 KiB ring at LU_VMM_RING (the slot of a
 * value c is c & 0x3ffc), and exits with "out 0x10" each time the
 * counter reaches a multiple of LU_VMM_EXIT_EVERY. The rest of the RAM
 * holds a pattern the guest never touches.
 */
#ifndef _LU_VMM_H
#define _LU_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define LU_VMM_CODE		0x1000
#define LU_VMM_COUNTER		0x2000
#define LU_VMM_RING		0x4000
#define LU_VMM_RING_SIZE	0x4000
#define LU_VMM_PORT		0x10
#define LU_VMM_EXIT_EVERY	0x1000

/* Where the guest's RAM comes from. */
enum lu_vmm_ram {
	LU_VMM_SHMEM,		/* memfd_create() */
	LU_VMM_HUGETLB,		/* memfd_create(MFD_HUGETLB), 2 MiB pages */
	LU_VMM_GMEM,		/* guest_memfd, mmap()ed in place */
};

/* What the VMM saves across the update, in a preserved memfd. */
#define LU_VMM_STATE_MAGIC	0x315453564d4b554cULL	/* "LUKMVST1" */

struct lu_vmm_state {
	uint64_t magic;
	uint32_t ram_kind;	/* enum lu_vmm_ram */
	uint32_t reserved;
	uint64_t ram_size;	/* one memory slot at guest physical 0 */
	uint64_t counter;	/* the guest's counter when it was paused */
	uint64_t exits;		/* device state: port exits served */
	uint64_t csum;		/* checksum of the whole RAM when paused */
	uint64_t pfn[2];	/* host frames of the first and last RAM page */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

struct lu_vmm {
	enum lu_vmm_ram ram_kind;
	uint64_t ram_size;
	int kvm, vm, vcpu;
	int ram_fd;		/* the memfd or guest_memfd */
	uint8_t *ram;		/* its shared mapping */
	struct kvm_run *run;
	size_t run_size;
	uint64_t exits;		/* port exits served */
};

const char *lu_vmm_ram_name(enum lu_vmm_ram kind);
/* Make the RAM file (not yet mapped); return it or a negative errno. */
int lu_vmm_ram_create(enum lu_vmm_ram kind, uint64_t size, int *vm_fd);
/*
 * Build a VM on @ram_fd, which must hold @size bytes of RAM: create the
 * VM (unless *@vm_fd is already one), map the file and register it as
 * slot 0. Return 0 or a negative errno, with @why saying which step.
 */
int lu_vmm_build(struct lu_vmm *v, enum lu_vmm_ram kind, int ram_fd,
		 uint64_t size, int vm_fd, const char **why);
/* Put the guest code and pattern in RAM and reset the vCPU. */
int lu_vmm_boot(struct lu_vmm *v);
/* Run until the counter reaches @until; return 0 or a negative errno. */
int lu_vmm_run_until(struct lu_vmm *v, uint64_t until);
/*
 * Pause the vCPU with no I/O pending and read its state into @st (all but
 * @csum and @pfn, which take time and are the caller's to fill in).
 */
int lu_vmm_pause(struct lu_vmm *v, struct lu_vmm_state *st);
/* Load @st into the vCPU of a VM built on the same RAM. */
int lu_vmm_restore(struct lu_vmm *v, const struct lu_vmm_state *st);
uint32_t lu_vmm_counter(const struct lu_vmm *v);
uint64_t lu_vmm_csum(const struct lu_vmm *v);
/* Is every ring slot consistent with a guest that counted to @counter? */
bool lu_vmm_ring_ok(const struct lu_vmm *v, uint32_t counter);
/* The untouched pattern: 0 if intact, else the first bad offset + 1. */
uint64_t lu_vmm_pattern_bad(const struct lu_vmm *v);
/* Host frame number of the RAM page at @offset (0 if unknown). */
uint64_t lu_vmm_pfn(const struct lu_vmm *v, uint64_t offset);
void lu_vmm_destroy(struct lu_vmm *v);

#endif /* _LU_VMM_H */
