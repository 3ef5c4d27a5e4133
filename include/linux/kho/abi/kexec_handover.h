/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kexec handover (KHO) wire format.
 */
#ifndef _LINUX_KHO_ABI_KEXEC_HANDOVER_H
#define _LINUX_KHO_ABI_KEXEC_HANDOVER_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/sizes.h>
#include <linux/types.h>

/**
 * DOC: Kexec handover wire format
 *
 * Everything below is a contract between a kernel and the kernel it
 * kexecs into, which may be a different build or version. Changing any
 * of it means bumping the version in %KHO_FDT_COMPATIBLE; a kernel that
 * finds a compatible string it does not know refuses the whole handover
 * with one log line and boots as if there had been none. All numbers are
 * in the byte order of the machine (both kernels run on the same one).
 *
 * The outgoing kernel tells the next one two physical addresses (on x86
 * through a setup_data entry of type SETUP_KEXEC_KHO): the root FDT and
 * the scratch list.
 *
 * The root FDT::
 *
 *   / {
 *           compatible = "kho-radix-v1";
 *           preserved-memory-map = <u64: phys of the tracker root page>;
 *           exec-from = "<release of the kernel that wrote it>";  (lu1)
 *           exec-count = <u64: kexec handovers since the cold boot>; (lu1)
 *
 *           <subtree name> {
 *                   fdt = <u64: phys of the subtree's own FDT>;
 *           };
 *           ...
 *   };
 *
 * The scratch list is an array of &struct kho_scratch_ser: the memory the
 * next kernel may allocate from before it has reserved what was preserved.
 *
 * The tracker records every preserved block (a naturally aligned run of
 * 2^order pages) as one bit. Its root page holds, for each order, the
 * physical address of a radix tree keyed by pfn >> order: three levels of
 * &struct kho_tracker_node_ser (512 slots each, indexed by bits 33-41,
 * 24-32 and 15-23 of the key) above &struct kho_tracker_leaf_ser bitmaps
 * (indexed by bits 0-14). An empty slot is 0. Tracker pages are not
 * themselves in the tracker: the next kernel reserves each one it walks.
 *
 *   root.slot[order] -> node -> node -> node -> leaf: bit (key & 0x7fff)
 */

/* The root FDT's compatible string; the version is the format's. */
#define KHO_FDT_COMPATIBLE		"kho-radix-v1"
/* Root property: u64 physical address of the tracker root page. */
#define KHO_FDT_PROP_MEMORY_MAP		"preserved-memory-map"
/*
 * Root properties added in release lu1 without a version bump: a reader
 * ignores what it does not know, and treats an absent one as unknown.
 * exec-from: the writer's kernel release string (uname -r), NUL-terminated.
 * exec-count: u64, 1 for the first kexec handover after a cold boot.
 */
#define KHO_FDT_PROP_EXEC_FROM		"exec-from"
#define KHO_FDT_PROP_EXEC_COUNT		"exec-count"
/* Subtree node property: u64 physical address of the subtree's FDT. */
#define KHO_FDT_PROP_SUBTREE		"fdt"
/* The root FDT never grows beyond this. */
#define KHO_FDT_MAX_SIZE		SZ_16K
/* A reader refuses a scratch list longer than this. */
#define KHO_SCRATCH_MAX			64

/**
 * struct kho_scratch_ser - one scratch area
 * @addr: physical start, page aligned
 * @size: size in bytes, page aligned
 *
 * Wire format: changing it means bumping %KHO_FDT_COMPATIBLE.
 */
struct kho_scratch_ser {
	u64 addr;
	u64 size;
} __packed;

/* Orders the tracker can hold: blocks of up to 2^31 pages. */
#define KHO_TRACKER_ORDERS		32
#define KHO_TRACKER_SLOTS_SHIFT		9
#define KHO_TRACKER_SLOTS		BIT(KHO_TRACKER_SLOTS_SHIFT)
#define KHO_TRACKER_LEAF_SHIFT		15
#define KHO_TRACKER_LEAF_BITS		BIT(KHO_TRACKER_LEAF_SHIFT)
#define KHO_TRACKER_LEVELS		3
/* Bits of the key (pfn >> order) the tree can index. */
#define KHO_TRACKER_KEY_BITS		(KHO_TRACKER_LEAF_SHIFT + \
					 KHO_TRACKER_LEVELS * KHO_TRACKER_SLOTS_SHIFT)

/**
 * struct kho_tracker_node_ser - root or interior node of the tracker
 * @slot: physical addresses of the children, 0 for none; in the root page,
 *	  slot[order] for order < %KHO_TRACKER_ORDERS is the top node of that
 *	  order's tree and the other slots are 0
 *
 * Wire format: changing it means bumping %KHO_FDT_COMPATIBLE.
 */
struct kho_tracker_node_ser {
	u64 slot[KHO_TRACKER_SLOTS];
};

/**
 * struct kho_tracker_leaf_ser - bitmap of preserved blocks
 * @bits: bit n (bit n % 64 of word n / 64) is set when block n is preserved
 *
 * Wire format: changing it means bumping %KHO_FDT_COMPATIBLE.
 */
struct kho_tracker_leaf_ser {
	u64 bits[KHO_TRACKER_LEAF_BITS / 64];
};

static_assert(sizeof(struct kho_tracker_node_ser) == SZ_4K);
static_assert(sizeof(struct kho_tracker_leaf_ser) == SZ_4K);

/**
 * struct kho_vmalloc_chunk_ser - one page of a preserved vmalloc area's
 * page list
 * @next: physical address of the next chunk, 0 for the last
 * @nr: number of valid entries in @phys
 * @phys: physical addresses of the area's pages, in order
 *
 * Wire format: changing it means bumping %KHO_FDT_COMPATIBLE.
 */
struct kho_vmalloc_chunk_ser {
	u64 next;
	u64 nr;
	u64 phys[(SZ_4K - 2 * sizeof(u64)) / sizeof(u64)];
};

static_assert(sizeof(struct kho_vmalloc_chunk_ser) == SZ_4K);

/**
 * struct kho_vmalloc - handle of a preserved vmalloc area
 * @first: physical address of the first page of the area's page list
 * @total_pages: number of pages in the area
 * @flags: reserved, zero
 * @order: order of the area's pages, zero
 *
 * kho_preserve_vmalloc() fills it in; the caller hands it to the next
 * kernel inside its own preserved data (for example as a property of its
 * subtree), where kho_restore_vmalloc() takes it back. Wire format:
 * changing it means bumping KHO_FDT_COMPATIBLE.
 */
struct kho_vmalloc {
	u64 first;
	u32 total_pages;
	u16 flags;
	u16 order;
} __packed;

#endif /* _LINUX_KHO_ABI_KEXEC_HANDOVER_H */
