// SPDX-License-Identifier: GPL-2.0
/*
 * Live Update Orchestrator: preserved folio lists, for file handlers.
 */

/**
 * DOC: LUO preserved folio lists
 *
 * A file handler that hands the memory of a file over in place (memfd,
 * guest_memfd) keeps a list of the file's folios, in the format of
 * include/linux/kho/abi/luo_folios.h; this is the code they share.
 *
 * Outgoing, a &struct liveupdate_folios collects the folios:
 * liveupdate_folios_keep() preserves each one and takes a reference, so
 * that it stays in the file and in place until the reboot. Freeze writes
 * the list with liveupdate_folios_write(), sorted by index, into a
 * preserved vmalloc area whose handle the handler puts in its own
 * description of the file; a later freeze, after an unfreeze, writes it
 * anew. Unpreserve, or a preserve that fails, calls
 * liveupdate_folios_release(), which unpreserves and drops everything.
 *
 * Incoming, liveupdate_folios_restore_list() maps the list again; the
 * handler checks and restores its entries one by one with
 * liveupdate_folio_restore(), against a &struct liveupdate_folio_bounds,
 * and puts each folio into the new file; or it checks them all first with
 * liveupdate_folio_check() and restores them later, in any order (the
 * lazy fill of a shmem memfd). A device kept running through
 * the update may write those folios without holding them, so the handler
 * passes every folio it restored to a &struct liveupdate_held, which
 * hands them to liveupdate_hold_for_dma() at the end, whether the
 * retrieve succeeded or not. What nobody restores (the entries after one
 * that failed, or the whole list of a file nobody retrieved) goes back
 * with liveupdate_folios_drop(): freed at once, or held too while such a
 * device runs. An entry that is not what it should be is left reserved,
 * for KHO to release when the last session is finished.
 */

/*
 * No pr_fmt: the one line this file logs names its caller ("memfd_luo:",
 * "kvm_gmem_luo:"), as those handlers logged it before they shared it.
 */

#include <linux/kexec_handover.h>
#include <linux/kho/abi/luo_folios.h>
#include <linux/liveupdate.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

/* The largest order whose page count fits an unsigned long. */
#define LIVEUPDATE_FOLIO_MAX_ORDER	(BITS_PER_LONG - PAGE_SHIFT - 1)

/**
 * liveupdate_folios_keep - preserve a folio of a file and keep it
 * @lf: the file's folios
 * @folio: the folio; the caller holds it locked, or otherwise keeps it in
 *	   the file
 *
 * Preserves @folio with kexec handover and takes a reference to it, which
 * liveupdate_folios_release() drops. A folio that @lf already keeps is
 * left as it is, so a handler may collect the folios of a file again to
 * pick up those added since.
 *
 * Context: may sleep; the caller serialises the calls on @lf.
 * Return: 0 if @folio is kept; -ENOMEM if there is no memory to record
 * it; any error of kho_preserve_folio() but -EEXIST: -EINVAL if @folio is
 * in KHO scratch memory, -EOPNOTSUPP if KHO is off.
 */
int liveupdate_folios_keep(struct liveupdate_folios *lf, struct folio *folio)
{
	int err;

	if (lf->nr == lf->cap) {
		unsigned long cap = max(16UL, lf->cap * 2);
		struct folio **folios;

		folios = kvrealloc(lf->folios, cap * sizeof(*folios), GFP_KERNEL);
		if (!folios)
			return -ENOMEM;
		lf->folios = folios;
		lf->cap = cap;
	}
	err = kho_preserve_folio(folio);
	if (err == -EEXIST)
		return 0;	/* ours from an earlier pass */
	if (err)
		return err;
	folio_get(folio);
	lf->folios[lf->nr++] = folio;
	lf->nr_pages += folio_nr_pages(folio);
	return 0;
}
EXPORT_SYMBOL_GPL(liveupdate_folios_keep);

static int luo_folio_cmp_index(const void *a, const void *b)
{
	const struct luo_folio_ser *fa = a, *fb = b;

	if (fa->index == fb->index)
		return 0;
	return fa->index < fb->index ? -1 : 1;
}

/* Unpreserve and free the list a previous liveupdate_folios_write() made. */
static void luo_folios_free_list(struct liveupdate_folios *lf)
{
	if (!lf->list)
		return;
	kho_unpreserve_vmalloc(&lf->list_vm);
	vfree(lf->list);
	lf->list = NULL;
}

/**
 * liveupdate_folios_write - list the kept folios for the next kernel
 * @lf: the file's folios
 * @list: set to the preserved vmalloc area holding the list, one
 *	  &struct luo_folio_ser per folio of @lf in increasing index order;
 *	  left alone when @lf keeps no folio, or on error
 *
 * Called by freeze, once the file takes no new folio: the list replaces
 * any an earlier call wrote, which is unpreserved and freed. The number
 * of entries is @lf->nr.
 *
 * Context: may sleep; the caller serialises the calls on @lf.
 * Return: 0; -ENOMEM if the list cannot be allocated; any error of
 * kho_preserve_vmalloc(). On error @lf has no list.
 */
int liveupdate_folios_write(struct liveupdate_folios *lf,
			    struct kho_vmalloc *list)
{
	unsigned long i;
	int err;

	luo_folios_free_list(lf);
	if (!lf->nr)
		return 0;
	lf->list = vcalloc(lf->nr, sizeof(*lf->list));
	if (!lf->list)
		return -ENOMEM;
	for (i = 0; i < lf->nr; i++) {
		lf->list[i].phys = PFN_PHYS(folio_pfn(lf->folios[i]));
		lf->list[i].index = lf->folios[i]->index;
		lf->list[i].order = folio_order(lf->folios[i]);
	}
	/* Collected in index order, unless holes filled in since. */
	for (i = 1; i < lf->nr; i++) {
		if (lf->list[i].index <= lf->list[i - 1].index) {
			sort(lf->list, lf->nr, sizeof(*lf->list),
			     luo_folio_cmp_index, NULL);
			break;
		}
	}
	err = kho_preserve_vmalloc(lf->list, &lf->list_vm);
	if (err) {
		vfree(lf->list);
		lf->list = NULL;
		return err;
	}
	*list = lf->list_vm;
	return 0;
}
EXPORT_SYMBOL_GPL(liveupdate_folios_write);

/**
 * liveupdate_folios_release - unpreserve and drop the kept folios
 * @lf: the file's folios
 *
 * Undoes every liveupdate_folios_keep() and liveupdate_folios_write() on
 * @lf: the folios and the list are unpreserved, the references dropped
 * and @lf's memory freed. @lf must not be used afterwards, except to be
 * freed or zeroed anew.
 *
 * Context: may sleep; the caller serialises the calls on @lf.
 */
void liveupdate_folios_release(struct liveupdate_folios *lf)
{
	unsigned long i;

	for (i = 0; i < lf->nr; i++) {
		kho_unpreserve_folio(lf->folios[i]);
		folio_put(lf->folios[i]);
	}
	luo_folios_free_list(lf);
	kvfree(lf->folios);
}
EXPORT_SYMBOL_GPL(liveupdate_folios_release);

/**
 * liveupdate_folios_restore_list - map a folio list in the next kernel
 * @list: the preserved vmalloc area liveupdate_folios_write() filled in
 * @nr: the number of entries the previous kernel recorded
 *
 * Context: may sleep.
 * Return: the list, which vfree() frees (NULL when @nr is 0), or
 * ERR_PTR(-EINVAL) if @list is too small for @nr entries or cannot be
 * restored. The folios it names stay preserved until restored.
 */
struct luo_folio_ser *
liveupdate_folios_restore_list(const struct kho_vmalloc *list, u64 nr)
{
	struct luo_folio_ser *entries;
	u64 bytes;

	if (!nr)
		return NULL;
	if (check_mul_overflow(nr, (u64)sizeof(*entries), &bytes) ||
	    bytes > (u64)list->total_pages * PAGE_SIZE)
		return ERR_PTR(-EINVAL);
	entries = kho_restore_vmalloc(list);
	return entries ?: ERR_PTR(-EINVAL);
}
EXPORT_SYMBOL_GPL(liveupdate_folios_restore_list);

/**
 * liveupdate_folio_check - check an entry of a folio list
 * @entry: the entry
 * @bounds: what it may hold; @bounds->next is advanced past the folio
 *
 * For a handler that checks a whole list before it restores any of its
 * folios, in any order, with liveupdate_folio_restore() and a
 * &struct liveupdate_folio_bounds of its own for each entry.
 *
 * Return: 0 if @entry is within @bounds; -EINVAL if not.
 */
int liveupdate_folio_check(const struct luo_folio_ser *entry,
			   struct liveupdate_folio_bounds *bounds)
{
	if (entry->order < bounds->min_order ||
	    entry->order > min_t(unsigned int, bounds->max_order,
				 LIVEUPDATE_FOLIO_MAX_ORDER) ||
	    entry->reserved ||
	    entry->index < bounds->next || entry->index >= bounds->end ||
	    !IS_ALIGNED(entry->index, 1UL << entry->order))
		return -EINVAL;
	bounds->next = entry->index + (1UL << entry->order);
	return 0;
}
EXPORT_SYMBOL_GPL(liveupdate_folio_check);

/**
 * liveupdate_folio_restore - check an entry of a folio list, restore it
 * @entry: the entry
 * @bounds: what it may hold; @bounds->next is advanced past the folio
 * @held: where a restored folio that is not what @entry says goes
 *
 * Checks that @entry is within @bounds and restores the folio it names,
 * of the order it says.
 *
 * Context: may sleep.
 * Return: the folio, with one reference, which the caller passes to
 * liveupdate_held_add() once it is done with it; ERR_PTR(-EINVAL) if
 * @entry is out of @bounds (its folio is left preserved) or the folio
 * preserved there has another order (it is restored and passed to
 * liveupdate_held_add()); ERR_PTR(-ENOENT) if nothing was preserved at
 * the address @entry names.
 */
struct folio *liveupdate_folio_restore(const struct luo_folio_ser *entry,
				       struct liveupdate_folio_bounds *bounds,
				       struct liveupdate_held *held)
{
	struct liveupdate_folio_bounds b = *bounds;
	struct folio *folio;

	if (liveupdate_folio_check(entry, &b))
		return ERR_PTR(-EINVAL);
	folio = kho_restore_folio(entry->phys);
	if (!folio)
		return ERR_PTR(-ENOENT);
	if (folio_order(folio) != entry->order) {
		liveupdate_held_add(held, folio);
		return ERR_PTR(-EINVAL);
	}
	bounds->next = b.next;
	return folio;
}
EXPORT_SYMBOL_GPL(liveupdate_folio_restore);

/**
 * liveupdate_folios_drop - give back the folios nobody restored
 * @list: the list, as liveupdate_folios_restore_list() returned it
 * @from: the first entry to give back
 * @nr: the number of entries in @list
 * @max_order: the largest order an entry of a sound list may have; an
 *	       entry of a larger order is corrupt and is left reserved
 * @who: the caller's name, for the log
 *
 * Gives back the folios of entries @from to @nr - 1 as plain pages (a
 * 1 GiB folio is too large for the buddy allocator): at once, or, while
 * a device kept running through the update may still write them, once
 * none does (liveupdate_hold_for_dma()). Without memory to track them
 * they stay reserved, logged, until KHO's final release. So does a folio
 * that was not preserved as its entry says.
 *
 * Context: may sleep.
 */
void liveupdate_folios_drop(const struct luo_folio_ser *list, u64 from,
			    u64 nr, unsigned int max_order, const char *who)
{
	unsigned long nr_pages = 0, nr_held = 0, n, j;
	struct folio **held = NULL;
	struct page *page;
	u64 i;

	max_order = min_t(unsigned int, max_order, LIVEUPDATE_FOLIO_MAX_ORDER);
	if (kho_dma_held()) {
		for (i = from; i < nr; i++) {
			if (list[i].order <= max_order &&
			    check_add_overflow(nr_pages, 1UL << list[i].order,
					       &nr_pages))
				nr_pages = ULONG_MAX;
		}
		if (!nr_pages)
			return;
		/* A corrupt list names more pages than the machine has. */
		if (nr_pages <= get_num_physpages())
			held = kvmalloc_array(nr_pages, sizeof(*held),
					      GFP_KERNEL | __GFP_NOWARN);
		if (!held) {
			pr_warn("%s: cannot track %lu pages devices may still write: they stay reserved until every session is finished\n",
				who, nr_pages);
			return;
		}
	}
	for (i = from; i < nr; i++) {
		if (list[i].order > max_order)
			continue;	/* corrupt: leave it reserved */
		n = 1UL << list[i].order;
		page = kho_restore_pages(list[i].phys, n);
		for (j = 0; page && j < n; j++) {
			if (held)
				held[nr_held++] = page_folio(page + j);
			else
				__free_page(page + j);
		}
		cond_resched();
	}
	if (held)
		liveupdate_hold_for_dma(held, nr_held);
}
EXPORT_SYMBOL_GPL(liveupdate_folios_drop);

/**
 * liveupdate_held_init - prepare to hold the folios a retrieve restores
 * @held: the record to prepare
 * @nr: the most folios that will be added
 *
 * Context: may sleep.
 * Return: 0; -ENOMEM if a device may still write preserved memory and
 * there is no room to record @nr folios. Either way @held may be passed
 * to liveupdate_held_done().
 */
int liveupdate_held_init(struct liveupdate_held *held, u64 nr)
{
	held->folios = NULL;
	held->nr = 0;
	if (!kho_dma_held() || !nr)
		return 0;
	held->folios = kvmalloc_array(nr, sizeof(*held->folios), GFP_KERNEL);
	return held->folios ? 0 : -ENOMEM;
}
EXPORT_SYMBOL_GPL(liveupdate_held_init);

/**
 * liveupdate_held_add - hold a restored folio while a device may write it
 * @held: the record
 * @folio: the folio; the caller's reference passes to @held
 *
 * Records @folio for liveupdate_held_done(), if a device may still write
 * preserved memory; else drops the reference at once. Add at most as
 * many folios as liveupdate_held_init() made room for.
 *
 * Context: any context that may free a folio.
 */
void liveupdate_held_add(struct liveupdate_held *held, struct folio *folio)
{
	if (held->folios)
		held->folios[held->nr++] = folio;
	else
		folio_put(folio);
}
EXPORT_SYMBOL_GPL(liveupdate_held_add);

/**
 * liveupdate_held_done - hand the recorded folios to liveupdate_hold_for_dma()
 * @held: the record, empty afterwards
 *
 * Context: may sleep.
 */
void liveupdate_held_done(struct liveupdate_held *held)
{
	liveupdate_hold_for_dma(held->folios, held->nr);
	held->folios = NULL;
	held->nr = 0;
}
EXPORT_SYMBOL_GPL(liveupdate_held_done);
