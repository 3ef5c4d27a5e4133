/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of kexec handover share: the core (kexec_handover.c), the
 * incoming side's early boot (kexec_handover_boot.c) and restore API
 * (kexec_handover_restore.c), the outgoing side's preservation API
 * (kexec_handover_preserve.c), the tracker of preserved blocks
 * (kexec_handover_tracker.c) and debugfs (kexec_handover_debugfs.c).
 */
#ifndef _KERNEL_LIVEUPDATE_KEXEC_HANDOVER_INTERNAL_H
#define _KERNEL_LIVEUPDATE_KEXEC_HANDOVER_INTERNAL_H

#include <linux/atomic.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/utsname.h>

struct dentry;

/**
 * struct kho_tracker - the preserved-block tracker of this kernel
 * @root: the root page (see &struct kho_tracker_node_ser)
 * @root_phys: its physical address, as written into the root FDT
 * @nr_blocks: preserved blocks
 * @nr_bytes: preserved bytes
 * @nr_pages: pages the tracker itself uses, root included
 *
 * Setting and clearing bits is lock free: nodes are installed with
 * cmpxchg() and bits flipped with atomic bitops, so preservation can run
 * on many CPUs at once. Nodes are never freed while the tracker is in use
 * (a tracker only grows); kho_tracker_destroy() frees everything and must
 * not race with anything.
 */
struct kho_tracker {
	struct kho_tracker_node_ser *root;
	phys_addr_t root_phys;
	atomic64_t nr_blocks;
	atomic64_t nr_bytes;
	atomic64_t nr_pages;
};

int kho_tracker_init(struct kho_tracker *t);
void kho_tracker_destroy(struct kho_tracker *t);
unsigned long kho_tracker_release_in(struct kho_tracker_node_ser *root);

/**
 * struct kho_tracker_unlinked - a page kho_tracker_unlink_empty() took out
 * @slot: the slot that pointed at it
 * @phys: its physical address
 * @leaf: it is a leaf (not an interior node)
 */
struct kho_tracker_unlinked {
	u64 *slot;
	u64 phys;
	bool leaf;
};

unsigned long kho_tracker_unlink_empty(struct kho_tracker_node_ser *root,
				       struct kho_tracker_unlinked *pages,
				       unsigned long max);
unsigned long kho_tracker_free_unlinked(struct kho_tracker_unlinked *pages,
					unsigned long nr, bool reserved);
int kho_tracker_set(struct kho_tracker *t, unsigned long pfn,
		    unsigned int order);
int kho_tracker_clear(struct kho_tracker *t, unsigned long pfn,
		      unsigned int order);
bool kho_tracker_test(const struct kho_tracker_node_ser *root,
		      unsigned long pfn, unsigned int order);
int kho_tracker_covering_order(const struct kho_tracker_node_ser *root,
			       unsigned long pfn);
bool kho_tracker_test_and_clear(struct kho_tracker_node_ser *root,
				unsigned long pfn, unsigned int order);
int kho_tracker_claim_lowest(struct kho_tracker_node_ser *root,
			     unsigned long pfn);

/**
 * struct kho_tracker_cursor - the leaf kho_tracker_claim() found last
 * @leaf: its bitmap, or NULL before the first lookup
 * @base: the key of its first bit
 * @order: the order it records
 *
 * Consecutive blocks of one order mostly share a leaf: a claim in the
 * same leaf as the one before it needs no walk. Only valid while the
 * tracker's nodes cannot be freed.
 */
struct kho_tracker_cursor {
	unsigned long *leaf;
	u64 base;
	unsigned int order;
};

bool kho_tracker_claim(struct kho_tracker_node_ser *root,
		       struct kho_tracker_cursor *cursor, unsigned long pfn,
		       unsigned int order);
bool kho_tracker_mark(struct kho_tracker_node_ser *root, unsigned long pfn,
		      unsigned int order);

/**
 * struct kho_tracker_walk_ops - callbacks of kho_tracker_walk()
 * @node: called with the physical address of every tracker page below the
 *	  root before it is read; a non-zero return stops the walk with it
 * @run: called for every run of consecutive preserved blocks of one order,
 *	 in increasing pfn order within an order; a non-zero return stops
 *	 the walk with it
 */
struct kho_tracker_walk_ops {
	int (*node)(phys_addr_t phys, void *arg);
	int (*run)(unsigned int order, unsigned long pfn, unsigned long nr_blocks,
		   void *arg);
};

int kho_tracker_walk(const struct kho_tracker_node_ser *root, int order,
		     const struct kho_tracker_walk_ops *ops, void *arg);

/**
 * struct kho_subtree - a named blob handed over to the next kernel
 * @list: entry in &kho_out.subtrees
 * @name: node name in the root FDT
 * @fdt: the blob, an FDT in preserved memory
 * @dentry: its debugfs file, if any
 */
struct kho_subtree {
	struct list_head list;
	const char *name;
	void *fdt;
	struct dentry *dentry;
};

/**
 * struct kho_out_state - what this kernel hands over
 * @lock: protects @subtrees and the contents of @fdt
 * @subtrees: the &struct kho_subtree entries, in the order added
 * @fdt: the root FDT (%KHO_FDT_MAX_SIZE bytes, preserved)
 * @scratch: the scratch list handed over (one page, preserved)
 * @tracker: preserved blocks
 * @ready: set once, when all of the above exist; never cleared
 */
struct kho_out_state {
	struct mutex lock;	/* protects @subtrees and the contents of @fdt */
	struct list_head subtrees;
	void *fdt;
	struct kho_scratch_ser *scratch;
	struct kho_tracker tracker;
	bool ready;
};

/**
 * struct kho_in_state - what the previous kernel handed over
 * @fdt_phys: root FDT, as the boot protocol gave it
 * @fdt_len: its length
 * @scratch_phys: scratch list, as the boot protocol gave it
 * @scratch_len: its length
 * @tracker_phys: root page of the preserved-block tracker
 * @present: the boot protocol carried a handover
 * @scratch_only: the handover was checked and memblock is in scratch-only
 *		  mode until the preserved memory is reserved
 * @accepted: preserved memory is reserved and may be restored
 * @released: the final release began; nothing may be restored, and the
 *	      tracker, the root FDT and the scratch list are (being) freed
 * @refused: why the handover was refused, or NULL
 * @fdt: root FDT (valid when @accepted, until @released)
 * @tracker: root of the tracker (valid when @accepted, until @released);
 *	     blocks are cleared from it as they are restored
 * @nr_blocks: preserved blocks reserved at boot
 * @nr_bytes: preserved bytes reserved at boot
 * @nr_runs: ranges handed to memblock
 * @nr_pages: pages of the tracker, root included (0 once released)
 * @reserve_ns: time kho_reserve_preserved() took (local_clock()); 0 when
 *		that clock did not run yet
 * @reserve_cycles: the same in get_cycles() ticks, which run that early
 * @scratch_bytes: size of the scratch areas handed over
 * @scratch_used_bytes: bytes of them that early boot had reserved in
 *			memblock at its peak, when the preserved memory was
 *			reserved and scratch-only mode was about to end
 * @exec_from: the handing-over kernel's release string, "" if not given
 * @exec_count: kexec handovers since the cold boot, this one included
 *
 * Written during early boot and by kho_init(), read only afterwards,
 * but for the final release (kho_release_unclaimed(), under kho_dma_lock),
 * which sets @released and clears @fdt, @tracker and @nr_pages; readers of
 * @fdt and @tracker hold kho_in_get().
 */
struct kho_in_state {
	u64 fdt_phys;
	u64 fdt_len;
	u64 scratch_phys;
	u64 scratch_len;
	u64 tracker_phys;
	bool present;
	bool scratch_only;
	bool accepted;
	bool released;
	const char *refused;
	const void *fdt;
	struct kho_tracker_node_ser *tracker;
	u64 nr_blocks;
	u64 nr_bytes;
	u64 nr_runs;
	u64 nr_pages;
	u64 reserve_ns;
	u64 reserve_cycles;
	u64 scratch_bytes;
	u64 scratch_used_bytes;
	char exec_from[__NEW_UTS_LEN + 1];
	u64 exec_count;
};

extern struct kho_out_state kho_out;
extern struct kho_in_state kho_in;
extern struct kho_scratch_ser kho_scratch[KHO_SCRATCH_MAX];
extern unsigned int kho_scratch_cnt;

/* kho=, or its Kconfig default; cleared when KHO cannot be set up. */
extern bool kho_enable;

/* Does [@base, @base + @size) overlap a scratch area? */
bool kho_scratch_overlaps(phys_addr_t base, phys_addr_t size);

/* Is every page of [@phys, @phys + @size) in a block that @root tracks? */
bool kho_range_tracked(const struct kho_tracker_node_ser *root,
		       u64 phys, u64 size);

/*
 * The order of the block that starts a page range at @pfn, @left pages
 * long: preserving, unpreserving and restoring a range split it alike.
 */
unsigned int kho_range_order(unsigned long pfn, unsigned long left);

/*
 * May the previous kernel's tracker and root FDT be read? Call it, and
 * read them, under rcu_read_lock(); see kexec_handover_restore.c.
 */
bool kho_in_readable(void);

#ifdef CONFIG_KEXEC_HANDOVER_DEBUGFS
void kho_debugfs_add_subtree(struct kho_subtree *sub);
void kho_debugfs_remove_subtree(struct kho_subtree *sub);
#else
static inline void kho_debugfs_add_subtree(struct kho_subtree *sub) { }
static inline void kho_debugfs_remove_subtree(struct kho_subtree *sub) { }
#endif

/* The largest order a block may have, and the largest pfn. */
#define KHO_ORDER_MAX	(KHO_TRACKER_ORDERS - 1)
#define KHO_KEY_MAX	((1ULL << KHO_TRACKER_KEY_BITS) - 1)

#endif /* _KERNEL_LIVEUPDATE_KEXEC_HANDOVER_INTERNAL_H */
