/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of the guest_memfd live update handler.
 */
#ifndef _LINUX_KHO_ABI_KVM_GMEM_H
#define _LINUX_KHO_ABI_KVM_GMEM_H

#include <linux/build_bug.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/kho/abi/luo_folios.h>
#include <linux/types.h>

/**
 * DOC: guest_memfd live update format
 *
 * A contract between a kernel and the next: changing anything here means
 * bumping the version in %KVM_GMEM_LUO_COMPATIBLE.
 *
 * The serialized data LUO hands over for a guest_memfd is the physical
 * address of a preserved page holding a &struct kvm_gmem_luo_ser. Its
 * @folios points to a preserved vmalloc area listing the file's folios,
 * one &struct luo_folio_ser each, in increasing @index order (see
 * include/linux/kho/abi/luo_folios.h, part of this format); the folios
 * themselves are preserved in place with their order. Every folio is a
 * single page (order 0).
 */

#define KVM_GMEM_LUO_COMPATIBLE	"kvm-guest-memfd-v1"

/**
 * struct kvm_gmem_luo_ser - a preserved guest_memfd
 * @size: file size in bytes, a multiple of 4 KiB
 * @flags: the GUEST_MEMFD_FLAG_* it was created with
 * @nr_folios: entries in @folios
 * @folios: the preserved vmalloc area listing the folios
 *
 * Wire format: changing it means bumping %KVM_GMEM_LUO_COMPATIBLE.
 */
struct kvm_gmem_luo_ser {
	u64 size;
	u64 flags;
	u64 nr_folios;
	struct kho_vmalloc folios;
} __packed;

static_assert(sizeof(struct kvm_gmem_luo_ser) <= 4096);

#endif /* _LINUX_KHO_ABI_KVM_GMEM_H */
