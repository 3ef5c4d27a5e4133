// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover: the tracker of preserved memory.
 */

/**
 * DOC: KHO preserved-memory tracker
 *
 * The tracker records which memory the next kernel must keep: one bit for
 * each preserved block, a naturally aligned run of 2^order pages. For each
 * order a radix tree keyed by pfn >> order leads to bitmap leaves of 32768
 * bits; the layout is the wire format of <linux/kho/abi/kexec_handover.h>.
 *
 * The tracker is stateless in the sense that matters for kexec: it lives
 * in ordinary kernel pages, is updated when memory is preserved or
 * unpreserved, and is read in place by the next kernel. Nothing is
 * serialized at reboot, so a kexec costs the same whatever is preserved.
 *
 * The cost is one bit per preserved block of its order, plus one page per
 * leaf (32768 blocks of one order) and three interior pages per 2^42 keys
 * at most: 1 GiB preserved in 4 KiB pages takes 8 leaves and 3 nodes.
 *
 * Life cycle: kho_tracker_init() allocates the root, kho_tracker_set() and
 * kho_tracker_clear() flip bits (allocating nodes on demand, lock free),
 * the next kernel walks the tree with kho_tracker_walk() to reserve the
 * memory, and claims blocks as they are restored: one with
 * kho_tracker_test_and_clear() or kho_tracker_claim_lowest(), a series
 * with kho_tracker_claim(), which reuses the leaf of the claim before it.
 * The outgoing tracker never frees an interior node while it is live.
 * The next kernel frees the pages of the incoming one as the blocks they
 * record are claimed: kho_tracker_unlink_empty() takes out the leaves
 * left empty and the nodes left with no child (readers may still hold
 * them), and kho_tracker_free_unlinked() frees them after a grace
 * period; kho_tracker_release_in() frees the rest once nothing can be
 * restored any more.
 */

#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>

#include "kexec_handover_internal.h"

static unsigned int kho_key_shift(int level)
{
	return KHO_TRACKER_LEAF_SHIFT + (level - 1) * KHO_TRACKER_SLOTS_SHIFT;
}

static unsigned int kho_key_slot(u64 key, int level)
{
	return (key >> kho_key_shift(level)) & (KHO_TRACKER_SLOTS - 1);
}

static bool kho_block_valid(unsigned long pfn, unsigned int order)
{
	if (order > KHO_ORDER_MAX)
		return false;
	if (pfn & ((1UL << order) - 1))
		return false;
	return ((u64)pfn >> order) <= KHO_KEY_MAX;
}

/*
 * Follow @slot to its child page. With @t, a missing child is allocated
 * and installed; whoever loses the race frees its page and uses the
 * winner's. cmpxchg() orders the zeroing of the page before it is seen.
 */
static void *kho_tracker_child(struct kho_tracker *t, u64 *slot)
{
	u64 phys = READ_ONCE(*slot);
	struct page *page;
	u64 old;

	if (phys)
		return phys_to_virt(phys);
	if (!t)
		return NULL;

	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		return NULL;
	phys = page_to_phys(page);
	old = cmpxchg(slot, 0, phys);
	if (old) {
		__free_page(page);
		return phys_to_virt(old);
	}
	atomic64_inc(&t->nr_pages);
	return page_address(page);
}

/* The leaf bitmap holding @key of @order; nodes are allocated with @t. */
static unsigned long *kho_tracker_leaf(const struct kho_tracker_node_ser *root,
				       struct kho_tracker *t,
				       unsigned int order, u64 key)
{
	u64 *slot = (u64 *)&root->slot[order];
	struct kho_tracker_node_ser *node;
	struct kho_tracker_leaf_ser *leaf;
	int level;

	for (level = KHO_TRACKER_LEVELS; level >= 1; level--) {
		node = kho_tracker_child(t, slot);
		if (!node)
			return NULL;
		slot = &node->slot[kho_key_slot(key, level)];
	}
	leaf = kho_tracker_child(t, slot);
	return leaf ? (unsigned long *)leaf->bits : NULL;
}

/*
 * Find the leaf bitmap holding the bit of a block, and the bit's number.
 * NULL for an invalid block (-EINVAL in *@err, if given), or when the leaf
 * does not exist (-ENOENT); with @t, missing nodes are allocated first
 * (-ENOMEM when that fails).
 */
static unsigned long *kho_tracker_bit(const struct kho_tracker_node_ser *root,
				      struct kho_tracker *t, unsigned long pfn,
				      unsigned int order, unsigned int *bit,
				      int *err)
{
	unsigned long *leaf;
	u64 key;

	if (!kho_block_valid(pfn, order)) {
		if (err)
			*err = -EINVAL;
		return NULL;
	}
	key = (u64)pfn >> order;
	leaf = kho_tracker_leaf(root, t, order, key);
	if (err)
		*err = leaf ? 0 : t ? -ENOMEM : -ENOENT;
	*bit = key & (KHO_TRACKER_LEAF_BITS - 1);
	return leaf;
}

/**
 * kho_tracker_init - allocate an empty tracker
 * @t: the tracker
 *
 * Context: may sleep.
 * Return: 0, or -ENOMEM.
 */
int kho_tracker_init(struct kho_tracker *t)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

	if (!page)
		return -ENOMEM;
	t->root = page_address(page);
	t->root_phys = page_to_phys(page);
	atomic64_set(&t->nr_blocks, 0);
	atomic64_set(&t->nr_bytes, 0);
	atomic64_set(&t->nr_pages, 1);
	return 0;
}

/*
 * Free the page at @phys and, above the leaves, all below it; @reserved
 * for the pages of an incoming tracker, which memblock reserved at boot.
 * Return: the number of pages freed.
 */
static unsigned long kho_tracker_free(u64 phys, int level, bool reserved)
{
	struct kho_tracker_node_ser *node = phys_to_virt(phys);
	unsigned long nr = 1;
	int i;

	if (level > 0) {
		for (i = 0; i < KHO_TRACKER_SLOTS; i++)
			if (node->slot[i])
				nr += kho_tracker_free(node->slot[i], level - 1,
						       reserved);
	}
	if (reserved)
		free_reserved_page(virt_to_page(node));
	else
		free_page((unsigned long)node);
	return nr;
}

static unsigned long kho_tracker_free_all(struct kho_tracker_node_ser *root,
					  bool reserved)
{
	unsigned long nr = 0;
	int order;

	for (order = 0; order < KHO_TRACKER_ORDERS; order++)
		if (root->slot[order])
			nr += kho_tracker_free(root->slot[order],
					       KHO_TRACKER_LEVELS, reserved);
	if (reserved)
		free_reserved_page(virt_to_page(root));
	else
		free_page((unsigned long)root);
	return nr + 1;
}

/**
 * kho_tracker_destroy - free a tracker and all its pages
 * @t: the tracker
 *
 * Context: nothing else may use @t.
 */
void kho_tracker_destroy(struct kho_tracker *t)
{
	if (!t->root)
		return;
	kho_tracker_free_all(t->root, false);
	t->root = NULL;
}

/**
 * kho_tracker_release_in - free the tracker the previous kernel handed over
 * @root: its root
 *
 * Its pages were reserved at boot (kho_reserve_preserved()) and go back
 * to the page allocator, counted in MemTotal again.
 *
 * Context: may sleep; nothing may read the tracker any more.
 * Return: the number of pages freed, root included.
 */
unsigned long kho_tracker_release_in(struct kho_tracker_node_ser *root)
{
	return kho_tracker_free_all(root, true);
}

/* What kho_tracker_unlink_empty() took out so far, and room for more */
struct kho_tracker_trim {
	struct kho_tracker_unlinked *pages;
	unsigned long nr;
	unsigned long max;
};

/*
 * Unlink the page @slot points at (a node of @level, or a leaf at level 0)
 * if no block is recorded below it; return true if nothing is below
 * @slot any more.
 */
static bool kho_unlink_empty(u64 *slot, int level,
			     struct kho_tracker_trim *trim)
{
	u64 phys = READ_ONCE(*slot);
	struct kho_tracker_node_ser *node;
	bool empty = true;
	int i;

	if (!phys)
		return true;
	if (!level) {
		empty = bitmap_empty(phys_to_virt(phys), KHO_TRACKER_LEAF_BITS);
	} else {
		node = phys_to_virt(phys);
		/* Every child, even once one is not empty. */
		for (i = 0; i < KHO_TRACKER_SLOTS; i++)
			empty &= kho_unlink_empty(&node->slot[i], level - 1,
						  trim);
	}
	if (!empty || trim->nr == trim->max)
		return false;
	WRITE_ONCE(*slot, 0);
	trim->pages[trim->nr++] = (struct kho_tracker_unlinked) {
		.slot = slot,
		.phys = phys,
		.leaf = !level,
	};
	return true;
}

/**
 * kho_tracker_unlink_empty - take the empty pages out of an incoming tracker
 * @root: its root, which stays
 * @pages: where the pages taken out are recorded, children before their
 *	   parent
 * @max: how many @pages holds; once it is full, the rest stays
 *
 * Takes out every leaf that records no block any more (all were claimed)
 * and every node left with no child. A reader that found one before may
 * still read it: the caller waits for a grace period (see
 * kho_in_readable()), then calls kho_tracker_free_unlinked().
 *
 * Context: any; the caller keeps any other unlink and the release of the
 * tracker away. Claims and kho_tracker_mark() may run meanwhile.
 * Return: the number of pages taken out.
 */
unsigned long kho_tracker_unlink_empty(struct kho_tracker_node_ser *root,
				       struct kho_tracker_unlinked *pages,
				       unsigned long max)
{
	struct kho_tracker_trim trim = { .pages = pages, .max = max };
	int order;

	for (order = 0; order < KHO_TRACKER_ORDERS; order++)
		kho_unlink_empty(&root->slot[order], KHO_TRACKER_LEVELS, &trim);
	return trim.nr;
}

/**
 * kho_tracker_free_unlinked - free what kho_tracker_unlink_empty() took out
 * @pages: the pages it recorded
 * @nr: how many
 * @reserved: the tracker's pages were reserved at boot (the one the
 *	      previous kernel handed over)
 *
 * Once no reader can still see them. If a block was marked again in one
 * of the leaves meanwhile (kho_tracker_mark() undoing a claim that failed
 * half way, through the leaf it had found before), they all go back in
 * place instead, children first, and nothing is freed.
 *
 * Context: as kho_tracker_unlink_empty(), after a grace period.
 * Return: the number of pages freed, @nr or 0.
 */
unsigned long kho_tracker_free_unlinked(struct kho_tracker_unlinked *pages,
					unsigned long nr, bool reserved)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		if (pages[i].leaf &&
		    !bitmap_empty(phys_to_virt(pages[i].phys),
				  KHO_TRACKER_LEAF_BITS)) {
			for (i = 0; i < nr; i++)
				WRITE_ONCE(*pages[i].slot, pages[i].phys);
			return 0;
		}
	}
	for (i = 0; i < nr; i++) {
		if (reserved)
			free_reserved_page(pfn_to_page(PHYS_PFN(pages[i].phys)));
		else
			free_page((unsigned long)phys_to_virt(pages[i].phys));
	}
	return nr;
}

/**
 * kho_tracker_set - record a preserved block
 * @t: the tracker
 * @pfn: first pfn of the block, aligned to 2^@order
 * @order: order of the block
 *
 * Context: may sleep (allocates tracker pages); lock free otherwise.
 * Return: 0; -EINVAL for a misaligned block, an order above %KHO_ORDER_MAX
 * or a pfn beyond the tracker; -ENOMEM; -EEXIST if already recorded.
 */
int kho_tracker_set(struct kho_tracker *t, unsigned long pfn,
		    unsigned int order)
{
	unsigned long *leaf;
	unsigned int bit;
	int err;

	leaf = kho_tracker_bit(t->root, t, pfn, order, &bit, &err);
	if (!leaf)
		return err;
	if (test_and_set_bit(bit, leaf))
		return -EEXIST;
	atomic64_inc(&t->nr_blocks);
	atomic64_add(PAGE_SIZE << order, &t->nr_bytes);
	return 0;
}

/**
 * kho_tracker_clear - forget a preserved block
 * @t: the tracker
 * @pfn: first pfn of the block
 * @order: order of the block
 *
 * Context: any; never sleeps.
 * Return: 0; -EINVAL for an invalid block; -ENOENT if it was not recorded
 * at this order.
 */
int kho_tracker_clear(struct kho_tracker *t, unsigned long pfn,
		      unsigned int order)
{
	unsigned long *leaf;
	unsigned int bit;
	int err;

	leaf = kho_tracker_bit(t->root, NULL, pfn, order, &bit, &err);
	if (!leaf)
		return err;
	if (!test_and_clear_bit(bit, leaf))
		return -ENOENT;
	atomic64_dec(&t->nr_blocks);
	atomic64_sub(PAGE_SIZE << order, &t->nr_bytes);
	return 0;
}

/**
 * kho_tracker_test - is a block recorded?
 * @root: root page of the tracker
 * @pfn: first pfn of the block
 * @order: order of the block
 *
 * Return: true if the block starting at @pfn is recorded at @order.
 */
bool kho_tracker_test(const struct kho_tracker_node_ser *root,
		      unsigned long pfn, unsigned int order)
{
	unsigned int bit;
	unsigned long *leaf = kho_tracker_bit(root, NULL, pfn, order, &bit,
					      NULL);

	return leaf && test_bit(bit, leaf);
}

/**
 * kho_tracker_covering_order - find the block that holds a page
 * @root: root page of the tracker
 * @pfn: the page
 *
 * Return: the order of the recorded block that contains @pfn (it starts at
 * @pfn rounded down to that order), or -ENOENT.
 */
int kho_tracker_covering_order(const struct kho_tracker_node_ser *root,
			       unsigned long pfn)
{
	unsigned int order;

	for (order = 0; order <= KHO_ORDER_MAX; order++) {
		unsigned long start = pfn & ~((1UL << order) - 1);

		if (kho_tracker_test(root, start, order))
			return order;
	}
	return -ENOENT;
}

/**
 * kho_tracker_test_and_clear - claim a recorded block
 * @root: root page of the tracker
 * @pfn: first pfn of the block
 * @order: order of the block
 *
 * Used on the tracker the previous kernel handed over: a block can be
 * claimed once. No counters are kept for such a tracker.
 *
 * Context: any; never sleeps.
 * Return: true if the block was recorded (and now is not).
 */
bool kho_tracker_test_and_clear(struct kho_tracker_node_ser *root,
				unsigned long pfn, unsigned int order)
{
	unsigned int bit;
	unsigned long *leaf = kho_tracker_bit(root, NULL, pfn, order, &bit,
					      NULL);

	return leaf && test_and_clear_bit(bit, leaf);
}

/**
 * kho_tracker_claim_lowest - claim the block of the lowest order at a pfn
 * @root: root page of the tracker
 * @pfn: first pfn of the block
 *
 * As kho_tracker_test() for each order in turn, then
 * kho_tracker_test_and_clear() at the first order recorded, but with one
 * lookup per order: orders @pfn is not aligned to are not even looked at.
 *
 * Context: any; never sleeps.
 * Return: the order of the block claimed, or -ENOENT if no block starts
 * at @pfn or the lowest one recorded there was claimed under us.
 */
int kho_tracker_claim_lowest(struct kho_tracker_node_ser *root,
			     unsigned long pfn)
{
	unsigned long *leaf;
	unsigned int order, bit;

	for (order = 0; order <= KHO_ORDER_MAX; order++) {
		if (pfn & ((1UL << order) - 1))
			break;
		leaf = kho_tracker_bit(root, NULL, pfn, order, &bit, NULL);
		if (leaf && test_bit(bit, leaf))
			return test_and_clear_bit(bit, leaf) ? order : -ENOENT;
	}
	return -ENOENT;
}

/**
 * kho_tracker_claim - claim a recorded block, looking up few leaves
 * @root: root page of the tracker
 * @cursor: the leaf the last claim found; zeroed before the first claim
 * @pfn: first pfn of the block
 * @order: order of the block
 *
 * As kho_tracker_test_and_clear(), for a series of blocks: the leaf of
 * the last one is kept in @cursor, and a block in the same leaf (32768
 * blocks of one order) is claimed without walking the tree again.
 *
 * Context: any; never sleeps. @cursor is valid as long as the tracker's
 * nodes are: for the tracker the previous kernel handed over, inside one
 * RCU read-side section (see kho_in_readable()).
 * Return: true if the block was recorded (and now is not).
 */
bool kho_tracker_claim(struct kho_tracker_node_ser *root,
		       struct kho_tracker_cursor *cursor, unsigned long pfn,
		       unsigned int order)
{
	u64 key, base;

	if (!kho_block_valid(pfn, order))
		return false;
	key = (u64)pfn >> order;
	base = key & ~(u64)(KHO_TRACKER_LEAF_BITS - 1);
	if (!cursor->leaf || cursor->order != order || cursor->base != base) {
		cursor->leaf = kho_tracker_leaf(root, NULL, order, key);
		if (!cursor->leaf)
			return false;
		cursor->order = order;
		cursor->base = base;
	}
	return test_and_clear_bit(key - base, cursor->leaf);
}

/**
 * kho_tracker_mark - give a claimed block back
 * @root: root page of the tracker
 * @pfn: first pfn of the block
 * @order: order of the block
 *
 * Undoes kho_tracker_test_and_clear() when a restore fails half way. Only
 * existing leaves are used; nothing is allocated.
 *
 * Context: any; never sleeps.
 * Return: true if the block is recorded now.
 */
bool kho_tracker_mark(struct kho_tracker_node_ser *root, unsigned long pfn,
		      unsigned int order)
{
	unsigned int bit;
	unsigned long *leaf = kho_tracker_bit(root, NULL, pfn, order, &bit,
					      NULL);

	if (!leaf)
		return false;
	set_bit(bit, leaf);
	return true;
}

static int kho_walk_leaf(const unsigned long *bits, unsigned int order,
			 u64 base, const struct kho_tracker_walk_ops *ops,
			 void *arg)
{
	unsigned long bit, end;
	int ret;

	if (!ops->run)
		return 0;
	for (bit = find_first_bit(bits, KHO_TRACKER_LEAF_BITS);
	     bit < KHO_TRACKER_LEAF_BITS;
	     bit = find_next_bit(bits, KHO_TRACKER_LEAF_BITS, end)) {
		end = find_next_zero_bit(bits, KHO_TRACKER_LEAF_BITS, bit);
		/* The physical address of every block must fit. */
		if (base + end - 1 > ((ULONG_MAX >> PAGE_SHIFT) >> order))
			return -EINVAL;
		ret = ops->run(order, (base + bit) << order, end - bit, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int kho_walk_node(u64 phys, int level, unsigned int order, u64 base,
			 const struct kho_tracker_walk_ops *ops, void *arg)
{
	const struct kho_tracker_node_ser *node;
	int i, ret;

	if (ops->node) {
		ret = ops->node(phys, arg);
		if (ret)
			return ret;
	}
	if (!level)
		return kho_walk_leaf(phys_to_virt(phys), order, base, ops, arg);

	node = phys_to_virt(phys);
	for (i = 0; i < KHO_TRACKER_SLOTS; i++) {
		u64 child = READ_ONCE(node->slot[i]);

		if (!child)
			continue;
		ret = kho_walk_node(child, level - 1, order,
				    base | ((u64)i << kho_key_shift(level)),
				    ops, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * kho_tracker_walk - visit every tracker page and preserved block
 * @root: root page of the tracker
 * @order: the order to walk, or -1 for all of them
 * @ops: what to call (see &struct kho_tracker_walk_ops)
 * @arg: passed to @ops
 *
 * A tracker handed over by the previous kernel is not trusted: @ops->node
 * sees every page address before it is read and can refuse it, and
 * @ops->run must check the ranges it is given. A block whose physical
 * address would not fit in an unsigned long stops the walk with -EINVAL.
 *
 * Context: any; the caller keeps the tracker from changing.
 * Return: 0, or the first non-zero value a callback returned.
 */
int kho_tracker_walk(const struct kho_tracker_node_ser *root, int order,
		     const struct kho_tracker_walk_ops *ops, void *arg)
{
	int first = order < 0 ? 0 : order;
	int last = order < 0 ? KHO_ORDER_MAX : order;
	int ret;

	for (order = first; order <= last; order++) {
		u64 top = READ_ONCE(root->slot[order]);

		if (!top)
			continue;
		ret = kho_walk_node(top, KHO_TRACKER_LEVELS, order, 0, ops, arg);
		if (ret)
			return ret;
	}
	return 0;
}
