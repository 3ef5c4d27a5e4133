// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover (KHO): the incoming side's restore API.
 *
 * Steps 4 and 5 of the incoming side (see "Kexec handover" in
 * kexec_handover.c): kho_restore_*() claim blocks the previous kernel
 * preserved, kho_trim_tracker() frees the tracker pages left with nothing
 * to claim, and kho_release_unclaimed() frees what nobody claimed, then
 * the handover itself, once no device kept running through the update
 * does DMA any more (kho_dma_hold()).
 */

#define pr_fmt(fmt) "KHO: " fmt

#include <linux/export.h>
#include <linux/io.h>
#include <linux/kexec_handover.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "../../mm/internal.h"
#include "kexec_handover_internal.h"

/*
 * The tracker and the root FDT the previous kernel handed over are read in
 * place until the final release frees them (__kho_release_unclaimed()).
 * Readers hold rcu_read_lock() and read them only if kho_in_readable()
 * says so under it; the release sets kho_in.released and then waits for
 * every reader with synchronize_rcu() before it frees a page.
 */
bool kho_in_readable(void)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "KHO: incoming read outside RCU");
	return kho_in.accepted && !READ_ONCE(kho_in.released);
}

/* Were these pages reserved at boot and left alone since? */
static bool kho_pages_untouched(struct page *page, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		if (!PageReserved(page + i) || page_ref_count(page + i) != 1)
			return false;
	return true;
}

/* Hand reserved pages to their new owner, as a folio or as plain pages. */
static void kho_prep_pages(struct page *page, unsigned int order, bool folio)
{
	unsigned long i, nr = 1UL << order;

	for (i = 0; i < nr; i++) {
		__ClearPageReserved(page + i);
		set_page_count(page + i, folio && i ? 0 : 1);
	}
	if (folio && order)
		prep_compound_page(page, order);
}

/* As kho_prep_pages(), and count them in their zone's managed pages. */
static void kho_init_pages(struct page *page, unsigned int order, bool folio)
{
	kho_prep_pages(page, order, folio);
	adjust_managed_page_count(page, 1UL << order);
}

/*
 * Pages restored but not yet counted in their zone's managed pages: a
 * bulk restore adjusts the (atomic) counters once per run of one zone.
 */
struct kho_managed_count {
	struct page *page;	/* a page of the zone, when @nr */
	long nr;
};

static void kho_managed_flush(struct kho_managed_count *m)
{
	if (m->nr)
		adjust_managed_page_count(m->page, m->nr);
	m->nr = 0;
}

static void kho_managed_add(struct kho_managed_count *m, struct page *page,
			    unsigned int order)
{
	if (m->nr && page_zone(m->page) != page_zone(page))
		kho_managed_flush(m);
	if (!m->nr)
		m->page = page;
	m->nr += 1L << order;
}

/**
 * kho_restore_folio - take back a folio the previous kernel preserved
 * @phys: its physical address
 *
 * To restore many folios whose order the caller knows, kho_restore_folios()
 * is much cheaper.
 *
 * Context: after the page allocator is up; may be called from any context
 * that can touch every struct page of the folio.
 * Return: the folio, with its order and one reference, or NULL if nothing
 * was preserved at @phys (or it was restored already).
 */
struct folio *kho_restore_folio(phys_addr_t phys)
{
	unsigned long pfn = PHYS_PFN(phys);
	int order = -ENOENT;
	struct page *page;

	if (!PAGE_ALIGNED(phys))
		return NULL;
	rcu_read_lock();
	if (kho_in_readable())
		order = kho_tracker_claim_lowest(kho_in.tracker, pfn);
	rcu_read_unlock();
	if (order < 0)
		return NULL;

	page = pfn_to_page(pfn);
	if (!kho_pages_untouched(page, 1UL << order)) {
		pr_warn_once("preserved block at pfn %#lx is in use; not restored\n",
			     pfn);
		return NULL;
	}
	kho_init_pages(page, order, true);
	return page_folio(page);
}
EXPORT_SYMBOL_GPL(kho_restore_folio);

/*
 * Entries a bulk restore handles in one RCU read-side section, with one
 * cursor into the tracker; it may reschedule between two such chunks.
 */
#define KHO_RESTORE_CHUNK	512UL

static unsigned long kho_restore_folios_chunk(const phys_addr_t *phys,
					      unsigned long nr,
					      unsigned int order,
					      struct folio **folios)
{
	struct kho_tracker_cursor cursor = { };
	struct kho_managed_count managed = { };
	unsigned long i, pfn, done = 0;
	struct page *page;

	rcu_read_lock();
	if (!kho_in_readable()) {
		rcu_read_unlock();
		memset(folios, 0, nr * sizeof(*folios));
		return 0;
	}
	for (i = 0; i < nr; i++) {
		folios[i] = NULL;
		pfn = PHYS_PFN(phys[i]);
		if (!PAGE_ALIGNED(phys[i]) ||
		    !kho_tracker_claim(kho_in.tracker, &cursor, pfn, order))
			continue;
		page = pfn_to_page(pfn);
		if (!kho_pages_untouched(page, 1UL << order)) {
			pr_warn_once("preserved block at pfn %#lx is in use; not restored\n",
				     pfn);
			continue;
		}
		kho_prep_pages(page, order, true);
		kho_managed_add(&managed, page, order);
		folios[i] = page_folio(page);
		done++;
	}
	rcu_read_unlock();
	kho_managed_flush(&managed);
	return done;
}

/**
 * kho_restore_folios - take back many folios of one order at once
 * @phys: their physical addresses
 * @nr: the number of entries in @phys and @folios
 * @order: the order every one of them was preserved with
 * @folios: filled in with the folio restored for each entry, or NULL
 *
 * kho_restore_folio() for each of @phys[0..@nr), at a fraction of the
 * cost: the caller's @order spares the search for it, consecutive blocks
 * in one leaf of the tracker take one lookup, and the zone counters are
 * adjusted once per run of one zone instead of per folio.
 *
 * @folios[i] is a folio of @order, with one reference, when a block of
 * exactly @order was preserved at @phys[i], nobody restored it yet and
 * its struct pages are as early boot reserved them. Otherwise it is NULL;
 * a block whose pages are in use is claimed, warned about and left
 * alone, as kho_restore_folio() does. Each entry is restored or not on
 * its own: one that is not undoes nothing done for the others. Unlike
 * kho_restore_folio(), which takes the block of the lowest order that
 * starts at an address, this only restores blocks of @order; a block of
 * another order stays for whoever restores it so.
 *
 * Context: may sleep (between chunks of 512 entries); after the page
 * allocator is up, in a context that can touch every struct page of the
 * folios.
 * Return: the number of folios restored, that is of entries of @folios
 * that are not NULL.
 */
unsigned long kho_restore_folios(const phys_addr_t *phys, unsigned long nr,
				 unsigned int order, struct folio **folios)
{
	unsigned long i, n, done = 0;

	might_sleep();
	for (i = 0; i < nr; i += n) {
		if (i)
			cond_resched();
		n = min(nr - i, KHO_RESTORE_CHUNK);
		done += kho_restore_folios_chunk(phys + i, n, order, folios + i);
	}
	return done;
}
EXPORT_SYMBOL_GPL(kho_restore_folios);

/**
 * kho_restore_pages - take back pages the previous kernel preserved
 * @phys: physical address of the first page
 * @nr_pages: number of pages, as preserved
 *
 * Context: as kho_restore_folio().
 * Return: the first page (each page has one reference and order 0), or
 * NULL if the range was not preserved exactly so or was restored already.
 */
struct page *kho_restore_pages(phys_addr_t phys, unsigned long nr_pages)
{
	unsigned long pfn = PHYS_PFN(phys), end = pfn + nr_pages, p, q;
	unsigned int order;

	if (!PAGE_ALIGNED(phys) || !nr_pages)
		return NULL;
	rcu_read_lock();
	if (!kho_in_readable())
		goto err;
	/*
	 * Check every block before claiming any: a range that was not
	 * preserved exactly so claims nothing, and only a claim racing for
	 * the same block (a restore twice, from a corrupt record) is undone.
	 */
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		if (!kho_tracker_test(kho_in.tracker, p, order))
			goto err;
		if (!kho_pages_untouched(pfn_to_page(p), 1UL << order)) {
			pr_warn_once("preserved block at pfn %#lx is in use; not restored\n",
				     p);
			goto err;
		}
	}
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		if (!kho_tracker_test_and_clear(kho_in.tracker, p, order))
			goto err_unclaim;
	}
	rcu_read_unlock();
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		kho_init_pages(pfn_to_page(p), order, false);
	}
	return pfn_to_page(pfn);

err_unclaim:
	for (q = pfn; q < p; q += 1UL << order) {
		order = kho_range_order(q, end - q);
		/* Its leaf taken out meanwhile (kho_trim_tracker()): lost. */
		if (!kho_tracker_mark(kho_in.tracker, q, order))
			pr_warn("preserved block at pfn %#lx stays reserved: its tracker leaf is gone\n",
				q);
	}
err:
	rcu_read_unlock();
	return NULL;
}

/* Pages of a vmalloc area kho_restore_vmalloc() restores at once. */
#define KHO_VMALLOC_BATCH	32

/* The page list holds u64 addresses; kho_restore_folios() takes them. */
static_assert(sizeof(phys_addr_t) == sizeof(u64));

/**
 * kho_restore_vmalloc - map a preserved vmalloc area again
 * @preservation: the handle kho_preserve_vmalloc() filled in
 *
 * Context: may sleep.
 * Return: the area, which vfree() releases, or NULL if the handle or the
 * page list is invalid (every page restored so far is freed again).
 */
void *kho_restore_vmalloc(const struct kho_vmalloc *preservation)
{
	const unsigned int per_chunk =
		ARRAY_SIZE(((struct kho_vmalloc_chunk_ser *)0)->phys);
	unsigned int total = preservation->total_pages, n = 0, i, batch;
	struct kho_vmalloc_chunk_ser *chunk;
	struct page **pages, *cpage;
	u64 phys = preservation->first;
	void *ptr;

	if (!phys || !total || preservation->flags || preservation->order)
		return NULL;
	pages = kvmalloc_array(total, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;

	while (phys) {
		cpage = kho_restore_pages(phys, 1);
		if (!cpage)
			goto err_free;
		chunk = page_address(cpage);
		if (chunk->nr > per_chunk || chunk->nr > total - n) {
			__free_page(cpage);
			goto err_free;
		}
		/*
		 * Single pages, restored in bulk a batch at a time (it checks
		 * each as kho_restore_pages() would); one it leaves out fails
		 * the area, and what it restored goes back with the rest.
		 */
		for (i = 0; i < chunk->nr; i += batch) {
			struct folio *folios[KHO_VMALLOC_BATCH];
			bool bad = false;
			unsigned int j;

			batch = min_t(unsigned int, chunk->nr - i,
				      KHO_VMALLOC_BATCH);
			kho_restore_folios((const phys_addr_t *)&chunk->phys[i],
					   batch, 0, folios);
			for (j = 0; j < batch; j++) {
				if (folios[j])
					pages[n++] = &folios[j]->page;
				else
					bad = true;
			}
			if (bad) {
				__free_page(cpage);
				goto err_free;
			}
		}
		phys = chunk->next;
		__free_page(cpage);
	}
	if (n != total)
		goto err_free;

	ptr = vmap(pages, total, VM_MAP | VM_MAP_PUT_PAGES, PAGE_KERNEL);
	if (!ptr)
		goto err_free;
	return ptr;

err_free:
	while (n--)
		__free_page(pages[n]);
	kvfree(pages);
	return NULL;
}
EXPORT_SYMBOL_GPL(kho_restore_vmalloc);

/**
 * kho_is_restorable - did the previous kernel preserve a range of memory?
 * @phys: its start
 * @size: its length in bytes
 *
 * For handlers that read what the previous kernel handed over in place,
 * or follow pointers in it (page tables), before restoring it.
 *
 * Context: must not race with the restore of that memory, nor with the
 * final release (kho_release_unclaimed()), which frees what nobody
 * restored: a caller that reads the range in place afterwards holds
 * what keeps the release away (an unfinished session, or a DMA hold).
 * Return: true if every page of the range is in a block the previous
 * kernel preserved and nobody has restored yet.
 */
bool kho_is_restorable(phys_addr_t phys, size_t size)
{
	bool tracked;

	if (!size)
		return false;
	rcu_read_lock();
	tracked = kho_in_readable() &&
		  kho_range_tracked(kho_in.tracker, phys, size);
	rcu_read_unlock();
	return tracked;
}
EXPORT_SYMBOL_GPL(kho_is_restorable);

/* What the final release freed, in pages. */
struct kho_release_count {
	unsigned long unclaimed;
	unsigned long handover;	/* the root FDT and the scratch list */
};

static bool kho_block_overlaps(unsigned long pfn, unsigned long nr,
			       u64 phys, u64 len)
{
	return PFN_PHYS(pfn) < phys + len && phys < PFN_PHYS(pfn + nr);
}

/* Free every block of a run that nobody restored. */
static int kho_release_run(unsigned int order, unsigned long pfn,
			   unsigned long nr_blocks, void *arg)
{
	struct kho_release_count *count = arg;
	unsigned long i, j, nr = 1UL << order;

	for (i = 0; i < nr_blocks; i++, pfn += nr) {
		struct page *page = pfn_to_page(pfn);

		if (!kho_tracker_test_and_clear(kho_in.tracker, pfn, order))
			continue;
		if (!kho_pages_untouched(page, nr))
			continue;	/* overlaps another block: leave it */
		kho_init_pages(page, order, false);
		for (j = 0; j < nr; j++)
			__free_page(page + j);
		if (kho_block_overlaps(pfn, nr, kho_in.fdt_phys, kho_in.fdt_len) ||
		    kho_block_overlaps(pfn, nr, kho_in.scratch_phys,
				       kho_in.scratch_len))
			count->handover += nr;
		else
			count->unclaimed += nr;
		cond_resched();
	}
	return 0;
}

/*
 * DMA holds. A device kept running through the live update (its IOMMU
 * translation adopted from the previous kernel) may write into pages the
 * previous kernel preserved, without holding them in this kernel. While
 * any such device runs, no preserved memory may be freed: handlers check
 * kho_dma_held() and keep what they would free until the last hold goes
 * (kho_dma_defer(); LUO's liveupdate_hold_for_dma() does it for restored
 * folios), and kho_release_unclaimed() waits for it too.
 * kho_dma_lock protects the count, the pending release and the list of
 * deferred releases.
 */
static DEFINE_MUTEX(kho_dma_lock);
static unsigned long kho_dma_holds;
/*
 * Serialises the trims of the incoming tracker with each other and with
 * its release (taken inside kho_dma_lock there); protects kho_in.nr_pages.
 */
static DEFINE_MUTEX(kho_trim_lock);
static bool kho_release_pending;
static LIST_HEAD(kho_dma_deferred_list);

static unsigned long __kho_release_unclaimed(void);

/* Run the releases kho_dma_defer() kept, outside of any caller's lock. */
static void kho_dma_deferred_work_fn(struct work_struct *work)
{
	struct kho_dma_deferred *d, *tmp;
	LIST_HEAD(list);

	mutex_lock(&kho_dma_lock);
	list_splice_init(&kho_dma_deferred_list, &list);
	mutex_unlock(&kho_dma_lock);
	list_for_each_entry_safe(d, tmp, &list, list) {
		list_del(&d->list);
		d->release(d);
		cond_resched();
	}
}

static DECLARE_WORK(kho_dma_deferred_work, kho_dma_deferred_work_fn);

/**
 * kho_dma_hold - a device keeps doing DMA into preserved memory
 *
 * Called by an IOMMU driver for each device whose translation it adopted
 * from the previous kernel, at boot, before LUO's handlers prepare the
 * handed-over files (late_initcall): those hold what they restore for
 * DMA if kho_dma_held() says so then.
 *
 * Context: may sleep.
 */
void kho_dma_hold(void)
{
	mutex_lock(&kho_dma_lock);
	kho_dma_holds++;
	mutex_unlock(&kho_dma_lock);
}

/**
 * kho_dma_unhold - the device of a kho_dma_hold() stopped using its
 *		    adopted translation
 *
 * Its DMA is blocked, or its new owner pinned what it maps. When the last
 * hold goes, a release of unclaimed memory that waited for it runs, and
 * the releases kho_dma_defer() kept are scheduled.
 *
 * Context: may sleep.
 */
void kho_dma_unhold(void)
{
	mutex_lock(&kho_dma_lock);
	if (!WARN_ON(!kho_dma_holds) && !--kho_dma_holds) {
		if (kho_release_pending) {
			kho_release_pending = false;
			__kho_release_unclaimed();
		}
		if (!list_empty(&kho_dma_deferred_list))
			schedule_work(&kho_dma_deferred_work);
	}
	mutex_unlock(&kho_dma_lock);
}

/**
 * kho_dma_held - may a device still write into preserved memory?
 *
 * Return: true while a kho_dma_hold() is in force: preserved memory must
 * then not be freed (kho_dma_defer() frees it once no hold is left).
 */
bool kho_dma_held(void)
{
	return READ_ONCE(kho_dma_holds);
}
EXPORT_SYMBOL_GPL(kho_dma_held);

/**
 * kho_dma_defer - free something only once no device does DMA
 * @deferred: what to release, and how
 *
 * For memory the previous kernel preserved, that a handler restored and a
 * device kept running through the update may still write (see
 * liveupdate_hold_for_dma()). If a kho_dma_hold() is in force,
 * @deferred->release runs once the last one is dropped (from a worker,
 * so that it may take any lock), and the memory stays allocated until
 * then.
 *
 * Context: may sleep.
 * Return: true if the release is deferred; false if no device does DMA
 * through an adopted translation, and the caller frees at once.
 */
bool kho_dma_defer(struct kho_dma_deferred *deferred)
{
	bool deferring;

	mutex_lock(&kho_dma_lock);
	deferring = kho_dma_holds;
	if (deferring)
		list_add_tail(&deferred->list, &kho_dma_deferred_list);
	mutex_unlock(&kho_dma_lock);
	return deferring;
}

/* Free the tracker pages no unclaimed block needs (kho_trim_tracker()). */
static void kho_trim_work_fn(struct work_struct *work)
{
	struct kho_tracker_unlinked *pages;
	unsigned long nr, freed = 0;

	mutex_lock(&kho_trim_lock);
	if (!kho_in.accepted || kho_in.released || kho_in.nr_pages < 2)
		goto out;
	/* Every page but the root, at most. */
	pages = kvmalloc_array(kho_in.nr_pages - 1, sizeof(*pages),
			       GFP_KERNEL | __GFP_NOWARN);
	if (!pages)
		goto out;
	nr = kho_tracker_unlink_empty(kho_in.tracker, pages,
				      kho_in.nr_pages - 1);
	if (nr) {
		/* Readers that found those pages before are gone after it. */
		synchronize_rcu();
		freed = kho_tracker_free_unlinked(pages, nr, true);
		WRITE_ONCE(kho_in.nr_pages, kho_in.nr_pages - freed);
	}
	kvfree(pages);
	if (freed)
		pr_info("freed %lu KiB of the tracker, which no unclaimed block needs any more (%llu KiB left)\n",
			freed << (PAGE_SHIFT - 10),
			kho_in.nr_pages << (PAGE_SHIFT - 10));
out:
	mutex_unlock(&kho_trim_lock);
}

static DECLARE_WORK(kho_trim_work, kho_trim_work_fn);

/**
 * kho_trim_tracker - free the tracker pages no unclaimed block needs
 *
 * For the user of the handover, once part of it is done with (a live
 * update session finished): the leaves of the incoming tracker whose
 * blocks were all restored or released, and the nodes left with no
 * leaf, go back to the page allocator, from a worker; the rest stays
 * readable until kho_release_unclaimed(). A session nobody finishes then
 * keeps only the tracker pages of what it still holds, not those of all
 * the memory the previous kernel preserved (about 32 MiB per TiB of
 * 4 KiB pages).
 *
 * Context: any context that may schedule work.
 */
void kho_trim_tracker(void)
{
	if (kho_in.accepted)
		queue_work(system_unbound_wq, &kho_trim_work);
}
EXPORT_SYMBOL_GPL(kho_trim_tracker);

/**
 * kho_release_unclaimed - free what was preserved but never restored
 *
 * For the user of the handover that knows nobody will restore anything
 * more (the Live Update Orchestrator, once every incoming session is
 * finished): every preserved block still unclaimed goes back to the page
 * allocator, so nothing the previous kernel kept leaks, even what no
 * handler of this kernel could read. Then the handover itself goes: the
 * tracker, the root FDT and the scratch list. From then on nothing can be
 * restored (kho_restore_*() return NULL, kho_retrieve_subtree() -ENOENT);
 * debugfs keeps a copy of the root FDT. While a device kept running
 * through the update may write into that memory (kho_dma_hold()), the
 * release waits until the last such device stops.
 *
 * Context: may sleep.
 * Return: the number of pages released (0 if the release waits or ran
 * before).
 */
unsigned long kho_release_unclaimed(void)
{
	unsigned long released = 0;

	mutex_lock(&kho_dma_lock);
	if (kho_dma_holds) {
		kho_release_pending = true;
		pr_info("unclaimed preserved memory is kept while devices still do DMA through adopted translations\n");
	} else {
		released = __kho_release_unclaimed();
	}
	mutex_unlock(&kho_dma_lock);
	return released;
}

/*
 * The final release: every block nobody restored, then the handover's own
 * pages (the root FDT, the scratch list and the tracker), which nobody
 * reads once kho_in.released is set and the readers have left.
 */
static unsigned long __kho_release_unclaimed(void)
{
	static const struct kho_tracker_walk_ops ops = {
		.run = kho_release_run,
	};
	struct kho_release_count count = { };
	unsigned long tracker;

	if (!kho_in.accepted || kho_in.released)
		return 0;
	mutex_lock(&kho_trim_lock);
	WRITE_ONCE(kho_in.released, true);
	synchronize_rcu();

	kho_tracker_walk(kho_in.tracker, -1, &ops, &count);
	tracker = kho_tracker_release_in(kho_in.tracker);
	if (tracker != kho_in.nr_pages)
		pr_warn("the tracker had %llu pages (after trims), %lu at its release\n",
			kho_in.nr_pages, tracker);
	WRITE_ONCE(kho_in.nr_pages, 0);
	kho_in.tracker = NULL;
	kho_in.fdt = NULL;
	mutex_unlock(&kho_trim_lock);

	if (count.unclaimed)
		pr_info("released %lu KiB preserved by the previous kernel that nobody restored\n",
			count.unclaimed << (PAGE_SHIFT - 10));
	pr_info("released the handover itself: %lu KiB (tracker %lu KiB, root FDT and scratch list %lu KiB)\n",
		(count.handover + tracker) << (PAGE_SHIFT - 10),
		tracker << (PAGE_SHIFT - 10),
		count.handover << (PAGE_SHIFT - 10));
	return count.unclaimed + count.handover + tracker;
}
