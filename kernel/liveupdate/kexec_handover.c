// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover (KHO): preserve memory across kexec.
 *
 * This file is the core: the kho= parameter, the state of both
 * directions, helpers the other parts share, subtrees and the root FDT,
 * the kexec glue and kho_init(). The rest lives in
 * kexec_handover_boot.c (incoming, early boot), kexec_handover_preserve.c
 * (outgoing), kexec_handover_restore.c (incoming, once the page allocator
 * runs), kexec_handover_tracker.c and kexec_handover_debugfs.c.
 */

/**
 * DOC: Kexec handover
 *
 * KHO lets a kernel hand memory to the kernel it kexecs into: preserved
 * folios, page ranges and vmalloc areas stay where they are, and named
 * blobs (subtrees, each an FDT in preserved memory) tell the next kernel
 * what they hold. Enable it with ``kho=on``.
 *
 * Outgoing side. kho_init() allocates the tracker, the root FDT and the
 * scratch list, all in preserved memory. kho_preserve_*() set bits in the
 * tracker and kho_add_subtree() rewrites the root FDT; nothing else
 * happens at reboot. kexec_file_load() places the next kernel in the
 * scratch areas (kho_locate_mem_hole()) and tells it where the root FDT
 * and the scratch list are (kho_get_handover(), x86 setup_data).
 *
 * Scratch. A cold-booted kernel picks its scratch area in
 * kho_memory_init(); the pageblocks of every scratch area are
 * MIGRATE_CMA, so only movable allocations use them and no preservable
 * (unmovable) memory ever comes from them. A kernel booted through a
 * handover keeps the scratch areas it was given.
 *
 * Incoming side, in boot order:
 *
 * 1. kho_populate() records what the boot protocol carried.
 * 2. kho_memblock_setup(), right after memblock knows the memory, checks
 *    the scratch list and the root FDT and puts memblock in scratch-only
 *    mode: until step 3, any other memory may hold preserved data.
 * 3. kho_reserve_preserved(), as soon as the direct map exists, walks the
 *    tracker twice: once to check every address and count, once to
 *    reserve every preserved block in sorted batches (linear in the number
 *    of blocks). Then memblock may allocate anywhere again. Because this
 *    happens before the memory map is allocated, scratch only has to hold
 *    the kernel, its initrd and early page tables, and no struct page is
 *    written before it is initialized: deferred struct page init works.
 *    How much of it early boot used is logged and kept for debugfs.
 * 4. kho_restore_*() claim blocks from the tracker, which records, for
 *    each block, its order. kho_trim_tracker(), after part of the
 *    handover is done with, frees the tracker pages left with no
 *    unclaimed block; the rest stays in memory until step 5.
 * 5. kho_release_unclaimed(), once nobody will restore anything more,
 *    frees every block still unclaimed, then the tracker, the root FDT
 *    and the scratch list: the kernel owns all its memory again.
 *
 * Failure. Anything malformed in steps 2 and 3 (a scratch area that is not
 * memory, an unknown compatible, a tracker pointing outside memory or into
 * scratch) refuses the whole handover with one log line before anything
 * was reserved, and the kernel boots as if there had been none.
 */

#define pr_fmt(fmt) "KHO: " fmt

#include <linux/ctype.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kexec.h>
#include <linux/kexec_handover.h>
#include <linux/libfdt.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include <linux/utsname.h>

#include "kexec_handover_internal.h"

bool kho_enable __ro_after_init =
	IS_ENABLED(CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT);

static int __init kho_parse_enable(char *p)
{
	return kstrtobool(p, &kho_enable);
}
early_param("kho", kho_parse_enable);

/* Scratch areas: set during boot, read only afterwards. */
struct kho_scratch_ser kho_scratch[KHO_SCRATCH_MAX] __ro_after_init;
unsigned int kho_scratch_cnt __ro_after_init;

struct kho_out_state kho_out = {
	.lock = __MUTEX_INITIALIZER(kho_out.lock),
	.subtrees = LIST_HEAD_INIT(kho_out.subtrees),
};

struct kho_in_state kho_in;

/**
 * kho_is_enabled - is kexec handover on?
 *
 * Return: true when this kernel hands memory over at kexec (``kho=on``).
 */
bool kho_is_enabled(void)
{
	return kho_enable;
}

/* ---------------------------------------------------------------------- */
/* Helpers the other parts share                                          */
/* ---------------------------------------------------------------------- */

bool kho_scratch_overlaps(phys_addr_t base, phys_addr_t size)
{
	unsigned int i;

	for (i = 0; i < kho_scratch_cnt; i++)
		if (base < kho_scratch[i].addr + kho_scratch[i].size &&
		    kho_scratch[i].addr < base + size)
			return true;
	return false;
}

/*
 * Is [@phys, @phys + @size) inside blocks that @root tracks? For the
 * previous kernel's tracker as for this kernel's own.
 */
bool kho_range_tracked(const struct kho_tracker_node_ser *root,
		       u64 phys, u64 size)
{
	unsigned long pfn = PFN_DOWN(phys), end = PFN_UP(phys + size);

	while (pfn < end) {
		int order = kho_tracker_covering_order(root, pfn);

		if (order < 0)
			return false;
		pfn = (pfn | ((1UL << order) - 1)) + 1;
	}
	return true;
}

/* Orders a page range is split into: the largest aligned blocks that fit. */
unsigned int kho_range_order(unsigned long pfn, unsigned long left)
{
	unsigned int order = pfn ? __ffs(pfn) : KHO_ORDER_MAX;

	order = min_t(unsigned int, order, ilog2(left));
	return min_t(unsigned int, order, KHO_ORDER_MAX);
}

/* ---------------------------------------------------------------------- */
/* Subtrees and the root FDT                                              */
/* ---------------------------------------------------------------------- */

/**
 * kho_exec_from - which kernel handed this one over
 *
 * Return: the release string (uname -r) of the kernel whose handover this
 * kernel accepted, or NULL after a cold boot, a refused handover, or a
 * kernel too old to say.
 */
const char *kho_exec_from(void)
{
	return kho_in.accepted && kho_in.exec_from[0] ? kho_in.exec_from : NULL;
}

/**
 * kho_exec_count - kexec handovers since the last cold boot
 *
 * Return: how many kernels handed memory over one to the next to reach
 * this one (1 for the first kernel after a cold boot's), 0 after a cold
 * boot or a refused handover.
 */
u64 kho_exec_count(void)
{
	return kho_in.accepted ? kho_in.exec_count : 0;
}

/* Rewrite the root FDT from the subtree list; on error it is unchanged. */
static int kho_out_update_fdt(void)
{
	struct kho_subtree *sub;
	void *fdt;
	int err;

	lockdep_assert_held(&kho_out.lock);

	fdt = kvmalloc(KHO_FDT_MAX_SIZE, GFP_KERNEL);
	if (!fdt)
		return -ENOMEM;
	err = fdt_create(fdt, KHO_FDT_MAX_SIZE);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", KHO_FDT_COMPATIBLE);
	err |= fdt_property_u64(fdt, KHO_FDT_PROP_MEMORY_MAP,
				kho_out.tracker.root_phys);
	err |= fdt_property_string(fdt, KHO_FDT_PROP_EXEC_FROM,
				   init_utsname()->release);
	err |= fdt_property_u64(fdt, KHO_FDT_PROP_EXEC_COUNT,
				kho_exec_count() + 1);
	list_for_each_entry(sub, &kho_out.subtrees, list) {
		err |= fdt_begin_node(fdt, sub->name);
		err |= fdt_property_u64(fdt, KHO_FDT_PROP_SUBTREE,
					virt_to_phys(sub->fdt));
		err |= fdt_end_node(fdt);
	}
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	if (!err)
		memcpy(kho_out.fdt, fdt, KHO_FDT_MAX_SIZE);
	kvfree(fdt);
	return err ? -ENOSPC : 0;
}

/* The longest subtree (FDT node) name, in characters, without the NUL. */
#define KHO_SUBTREE_NAME_MAX	31

/* Node names: 1 to KHO_SUBTREE_NAME_MAX characters of [a-zA-Z0-9,._+-]. */
static bool kho_subtree_name_ok(const char *name)
{
	size_t len = strnlen(name, KHO_SUBTREE_NAME_MAX + 1);
	size_t i;

	if (!len || len > KHO_SUBTREE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr(",._+-", name[i]))
			return false;
	return true;
}

/**
 * kho_add_subtree - hand a named blob over to the next kernel
 * @name: its name, 1 to %KHO_SUBTREE_NAME_MAX (31) characters of
 *	  [a-zA-Z0-9,._+-]
 * @fdt: the blob: an FDT in the linear map whose pages the caller has
 *	 preserved, and which should carry a versioned "compatible"
 *
 * The next kernel finds it with kho_retrieve_subtree(). The blob is read
 * at boot of the next kernel: the caller may change it until the reboot.
 *
 * Context: may sleep; takes kho_out.lock.
 * Return: 0; -EOPNOTSUPP when KHO is off; -EINVAL for a bad name, an
 * invalid FDT or one not in preserved memory; -EEXIST if the name or the
 * blob is handed over already; -ENOSPC if the root FDT is full; -ENOMEM.
 */
int kho_add_subtree(const char *name, void *fdt)
{
	struct kho_subtree *sub, *pos;
	int err;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!kho_subtree_name_ok(name) || !virt_addr_valid(fdt) ||
	    fdt_check_header(fdt) ||
	    !kho_range_tracked(kho_out.tracker.root, virt_to_phys(fdt),
			      fdt_totalsize(fdt)))
		return -EINVAL;

	sub = kzalloc(sizeof(*sub), GFP_KERNEL);
	if (!sub)
		return -ENOMEM;
	sub->name = kstrdup(name, GFP_KERNEL);
	if (!sub->name) {
		kfree(sub);
		return -ENOMEM;
	}
	sub->fdt = fdt;

	mutex_lock(&kho_out.lock);
	list_for_each_entry(pos, &kho_out.subtrees, list) {
		if (!strcmp(pos->name, name) || pos->fdt == fdt) {
			err = -EEXIST;
			goto err_unlock;
		}
	}
	list_add_tail(&sub->list, &kho_out.subtrees);
	err = kho_out_update_fdt();
	if (err) {
		list_del(&sub->list);
		goto err_unlock;
	}
	kho_debugfs_add_subtree(sub);
	mutex_unlock(&kho_out.lock);
	return 0;

err_unlock:
	mutex_unlock(&kho_out.lock);
	kfree(sub->name);
	kfree(sub);
	return err;
}

/**
 * kho_remove_subtree - stop handing a blob over
 * @fdt: the blob given to kho_add_subtree()
 *
 * Context: may sleep; takes kho_out.lock.
 */
void kho_remove_subtree(void *fdt)
{
	struct kho_subtree *sub;

	mutex_lock(&kho_out.lock);
	list_for_each_entry(sub, &kho_out.subtrees, list) {
		if (sub->fdt != fdt)
			continue;
		list_del(&sub->list);
		/* Only shrinks, so it cannot run out of room. */
		WARN_ON(kho_out_update_fdt());
		kho_debugfs_remove_subtree(sub);
		kfree(sub->name);
		kfree(sub);
		break;
	}
	mutex_unlock(&kho_out.lock);
}

/**
 * kho_retrieve_subtree - find a blob the previous kernel handed over
 * @name: its name
 * @phys: set to its physical address
 *
 * The blob's pages are reserved; the caller restores them (for example
 * with kho_restore_folio()) to own them.
 *
 * Context: any.
 * Return: 0; -ENOENT if there was no handover, no blob of that name, or
 * the handover was released (kho_release_unclaimed());
 * -EINVAL if its entry is malformed.
 */
int kho_retrieve_subtree(const char *name, phys_addr_t *phys)
{
	const void *prop;
	int off = -FDT_ERR_NOTFOUND, len, err = 0;

	rcu_read_lock();
	if (kho_in_readable())
		off = fdt_subnode_offset(kho_in.fdt, 0, name);
	prop = off < 0 ? NULL :
	       fdt_getprop(kho_in.fdt, off, KHO_FDT_PROP_SUBTREE, &len);
	if (off < 0)
		err = -ENOENT;
	else if (!prop || len != sizeof(u64))
		err = -EINVAL;
	else
		*phys = get_unaligned_be64(prop);
	rcu_read_unlock();
	return err;
}

#ifdef CONFIG_KEXEC_HANDOVER_TEST
/**
 * kho_test_damage_out - let a test damage the outgoing handover
 * @damage: called with the root FDT (%KHO_FDT_MAX_SIZE bytes) and the
 *	    scratch list this kernel hands over, and with @arg
 * @arg: passed on to @damage
 *
 * Test only, for lib/test_kho.c (CONFIG_KEXEC_HANDOVER_TEST): just before
 * a kexec reboot, it damages the handover the way a buggy or foreign
 * kernel might, to check that the next kernel refuses it. @damage finds
 * the rest (the tracker, the subtrees) through the root FDT, as the next
 * kernel does; no subtree is added or removed, and the root FDT is not
 * rewritten, while it runs.
 *
 * Context: may sleep; @damage runs under kho_out.lock.
 * Return: what @damage returned; -EOPNOTSUPP when KHO is off.
 */
int kho_test_damage_out(int (*damage)(void *fdt,
				      struct kho_scratch_ser *scratch,
				      void *arg),
			void *arg)
{
	int err;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	mutex_lock(&kho_out.lock);
	err = damage(kho_out.fdt, kho_out.scratch, arg);
	mutex_unlock(&kho_out.lock);
	return err;
}
#endif

/* ---------------------------------------------------------------------- */
/* kexec                                                                  */
/* ---------------------------------------------------------------------- */

/**
 * kho_get_handover - where the next kernel finds the handover
 * @fdt_addr: set to the physical address of the root FDT
 * @fdt_size: set to its size
 * @scratch_addr: set to the physical address of the scratch list
 * @scratch_size: set to its size
 *
 * For the architecture's kexec_file loader, which passes these on in its
 * boot protocol.
 *
 * Context: any.
 * Return: 0, or -EOPNOTSUPP when KHO is off.
 */
int kho_get_handover(u64 *fdt_addr, u64 *fdt_size, u64 *scratch_addr,
		     u64 *scratch_size)
{
	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	*fdt_addr = virt_to_phys(kho_out.fdt);
	*fdt_size = KHO_FDT_MAX_SIZE;
	*scratch_addr = virt_to_phys(kho_out.scratch);
	*scratch_size = kho_scratch_cnt * sizeof(*kho_out.scratch);
	return 0;
}

/**
 * kho_locate_mem_hole - place a kexec segment in scratch memory
 * @kbuf: the segment
 * @func: kexec's placement callback, called with each scratch area
 *
 * Everything outside the scratch areas may hold preserved data, so the
 * next kernel, its initrd and every other segment go into scratch.
 *
 * Context: kexec_file_load(), with kexec_lock held.
 * Return: 0 when placed; -EADDRNOTAVAIL when no scratch area has room;
 * 1 when KHO does not apply (off, or a crash kernel).
 */
int kho_locate_mem_hole(struct kexec_buf *kbuf,
			int (*func)(struct resource *, void *))
{
	unsigned int i;
	int ret = 0;

	if (!READ_ONCE(kho_out.ready) || kbuf->image->type == KEXEC_TYPE_CRASH)
		return 1;

	for (i = 0; i < kho_scratch_cnt && ret != 1; i++) {
		unsigned int k = kbuf->top_down ? kho_scratch_cnt - 1 - i : i;
		struct resource res = DEFINE_RES_MEM(kho_scratch[k].addr,
						     kho_scratch[k].size);

		ret = func(&res, kbuf);
	}
	if (ret == 1)
		return 0;
	pr_warn("no room for a %lu-byte kexec segment in the scratch areas (see kho_scratch=)\n",
		kbuf->memsz);
	return -EADDRNOTAVAIL;
}

/* ---------------------------------------------------------------------- */
/* Initialization                                                         */
/* ---------------------------------------------------------------------- */

static int __init kho_init(void)
{
	struct folio *fdt_folio;
	struct page *scratch_page;
	int err;

	if (kho_in.accepted) {
		kho_in.fdt = phys_to_virt(kho_in.fdt_phys);
		kho_in.tracker = phys_to_virt(kho_in.tracker_phys);
	}
	if (!kho_enable)
		return 0;

	err = kho_tracker_init(&kho_out.tracker);
	if (err)
		goto err_disable;

	fdt_folio = folio_alloc(GFP_KERNEL | __GFP_ZERO,
				get_order(KHO_FDT_MAX_SIZE));
	scratch_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!fdt_folio || !scratch_page) {
		err = -ENOMEM;
		goto err_free;
	}
	kho_out.fdt = folio_address(fdt_folio);
	kho_out.scratch = page_address(scratch_page);
	memcpy(kho_out.scratch, kho_scratch,
	       kho_scratch_cnt * sizeof(*kho_out.scratch));

	err = kho_tracker_set(&kho_out.tracker, folio_pfn(fdt_folio),
			      folio_order(fdt_folio));
	if (!err)
		err = kho_tracker_set(&kho_out.tracker,
				      page_to_pfn(scratch_page), 0);
	if (err)
		goto err_free;

	mutex_lock(&kho_out.lock);
	err = kho_out_update_fdt();
	mutex_unlock(&kho_out.lock);
	if (err)
		goto err_free;

	WRITE_ONCE(kho_out.ready, true);
	pr_info("enabled; scratch %pa+%#llx%s\n", &kho_scratch[0].addr,
		kho_scratch[0].size, kho_scratch_cnt > 1 ? " and more" : "");
	return 0;

err_free:
	if (scratch_page)
		__free_page(scratch_page);
	if (fdt_folio)
		folio_put(fdt_folio);
	kho_tracker_destroy(&kho_out.tracker);
err_disable:
	pr_err("cannot set up the handover (%d); kexec handover is off\n", err);
	kho_enable = false;
	return err;
}
early_initcall(kho_init);
