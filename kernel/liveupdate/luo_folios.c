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
 * that it stays in the file and in place until the reboot.
 * liveupdate_folios_write() lists them, sorted by index, in a preserved
 * vmalloc area whose handle the handler puts in its own description of
 * the file. The handler writes the list at preserve, while the file's
 * owner still runs, and again at freeze, inside reboot(): that second
 * write costs nothing unless folios were kept since the first (it is
 * what freeze would otherwise spend per folio, an entry and a read of
 * the folio's struct page each, in the blackout). Unpreserve, or a
 * preserve that fails, calls liveupdate_folios_release(), which
 * unpreserves and drops everything.
 *
 * Incoming, liveupdate_folios_restore_list() maps the list again; the
 * handler checks and restores its entries one by one with
 * liveupdate_folio_restore(), against a &struct liveupdate_folio_bounds,
 * and puts each folio into the new file; or it checks them all first with
 * liveupdate_folios_check() and restores them later, in any order (the
 * lazy fill of a shmem memfd). A device kept running through
 * the update may write those folios without holding them, so the handler
 * passes every folio it restored to a &struct liveupdate_held, which
 * hands them to liveupdate_hold_for_dma() at the end, whether the
 * retrieve succeeded or not. What nobody restores (the entries after one
 * that failed, or the whole list of a file nobody retrieved) goes back
 * with liveupdate_folios_drop(): freed at once, or held too while such a
 * device runs. An entry that is not what it should be is left reserved,
 * for KHO to release when the last session is finished.
 *
 * A handler may do the incoming part of this ahead of retrieve, in its
 * prepare: liveupdate_prepared_alloc() starts a &struct
 * liveupdate_prepared, which records the restored list and the result of
 * its check (liveupdate_prepared_check()), and
 * liveupdate_prepared_restore() restores every folio of a list of one
 * order in bulk; a handler may even build the whole file there, and
 * leave it in the record for retrieve to hand out. Retrieve and finish
 * take it over with liveupdate_prepared_take() and give back what they
 * do not keep with liveupdate_prepared_drop().
 */

/*
 * No pr_fmt: the one line this file logs names its caller ("memfd_luo:",
 * "kvm_gmem_luo:"), as those handlers logged it before they shared it.
 */

#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/luo_folios.h>
#include <linux/liveupdate.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

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
 * Called at preserve, and by freeze once the file takes no new folio.
 * If no folio was kept since the last call, the list it wrote is still
 * whole and is handed out again as it is; otherwise a new list replaces
 * it, and the old one is unpreserved and freed. The number of entries is
 * @lf->nr.
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

	/* Kept folios stay in place and only ever get added to @lf. */
	if (lf->list && lf->list_nr == lf->nr) {
		*list = lf->list_vm;
		return 0;
	}
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
	lf->list_nr = lf->nr;
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

/* Check that @entry is within @bounds and advance @bounds->next past it. */
static inline int luo_folio_check(const struct luo_folio_ser *entry,
				  struct liveupdate_folio_bounds *bounds,
				  unsigned int max_order)
{
	pgoff_t next;

	if (entry->order < bounds->min_order || entry->order > max_order ||
	    entry->reserved ||
	    entry->index < bounds->next || entry->index >= bounds->end ||
	    !IS_ALIGNED(entry->index, 1UL << entry->order) ||
	    check_add_overflow((pgoff_t)entry->index, 1UL << entry->order,
			       &next))
		return -EINVAL;
	bounds->next = next;
	return 0;
}

/**
 * liveupdate_folios_check - check every entry of a folio list
 * @list: the list, as liveupdate_folios_restore_list() returned it
 * @nr: the number of entries in @list
 * @bounds: what they may hold; @bounds->next is advanced past the last
 * @pages: set to the number of pages the entries name
 *
 * For a handler that checks a whole list before it restores any of its
 * folios, in any order, with liveupdate_folio_restore() and a
 * &struct liveupdate_folio_bounds of its own for each entry (the lazy
 * fill, liveupdate_lazy_start()). One pass, in the caller's retrieve:
 * sorted, not overlapping, aligned, inside [@bounds->next, @bounds->end)
 * and of an order @bounds allows.
 *
 * Context: may sleep.
 * Return: 0 if every entry is within @bounds; -EINVAL if one is not
 * (@pages is left alone then, and @bounds->next is past the last entry
 * that was within them).
 */
int liveupdate_folios_check(const struct luo_folio_ser *list, u64 nr,
			    struct liveupdate_folio_bounds *bounds,
			    unsigned long *pages)
{
	unsigned int max_order = min_t(unsigned int, bounds->max_order,
				       LIVEUPDATE_FOLIO_MAX_ORDER);
	unsigned long n = 0;
	u64 i;

	for (i = 0; i < nr; i++) {
		if (luo_folio_check(&list[i], bounds, max_order))
			return -EINVAL;
		/* Not overlapping, inside the file: no overflow. */
		n += 1UL << list[i].order;
		if (!(i & 0xffff))
			cond_resched();
	}
	*pages = n;
	return 0;
}
EXPORT_SYMBOL_GPL(liveupdate_folios_check);

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
 * liveupdate_held_add()); ERR_PTR(-EIO) if nothing was preserved at
 * the address @entry names.
 */
struct folio *liveupdate_folio_restore(const struct luo_folio_ser *entry,
				       struct liveupdate_folio_bounds *bounds,
				       struct liveupdate_held *held)
{
	struct liveupdate_folio_bounds b = *bounds;
	struct folio *folio;

	if (luo_folio_check(entry, &b, min_t(unsigned int, b.max_order,
					     LIVEUPDATE_FOLIO_MAX_ORDER)))
		return ERR_PTR(-EINVAL);
	folio = kho_restore_folio(entry->phys);
	if (!folio)
		return ERR_PTR(-EIO);
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

/**
 * liveupdate_prepared_alloc - start the record of a file's prepare
 * @args: the arguments of the handler's prepare
 *
 * The handler fills the record in and sets args->private_data to it.
 *
 * Context: may sleep.
 * Return: the record, or NULL without memory (the file is then not
 * prepared: its retrieve does everything).
 */
struct liveupdate_prepared *
liveupdate_prepared_alloc(const struct liveupdate_file_op_args *args)
{
	struct liveupdate_prepared *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (p)
		p->data = args->serialized_data;
	return p;
}
EXPORT_SYMBOL_GPL(liveupdate_prepared_alloc);

/*
 * Give back entries @from on of a prepared list: the folios prepare
 * restored, and, if @rest, the others as liveupdate_folios_drop() does.
 */
static void luo_prepared_put(struct liveupdate_prepared *p, u64 from,
			     unsigned int max_order, const char *who, bool rest)
{
	struct folio **held = NULL;
	unsigned long n = 0;
	u64 i;

	if (!p->folios) {
		if (rest && p->list)
			liveupdate_folios_drop(p->list, from, p->nr, max_order,
					       who);
		return;
	}
	for (i = from; i < p->nr; i++)
		n += !!p->folios[i];
	if (n && kho_dma_held()) {
		held = kvmalloc_array(n, sizeof(*held),
				      GFP_KERNEL | __GFP_NOWARN);
		if (!held)
			pr_warn("%s: cannot track %lu folios devices may still write: they are never freed\n",
				who, n);
	}
	n = 0;
	for (i = from; i < p->nr; i++) {
		struct folio *folio = p->folios[i];

		if (!folio) {
			if (rest)
				liveupdate_folios_drop(p->list, i, i + 1,
						       max_order, who);
		} else if (held) {
			held[n++] = folio;
		} else if (!kho_dma_held()) {
			folio_put(folio);
		}
		cond_resched();
	}
	if (held)
		liveupdate_hold_for_dma(held, n);
	kvfree(p->folios);
	p->folios = NULL;
}

/**
 * liveupdate_prepared_take - take over what a file's prepare left
 * @args: the arguments of the handler's retrieve or finish, whose
 *	  private_data is a record of liveupdate_prepared_alloc(), or NULL
 * @out: set to the record, which this frees; the caller owns the folio
 *	 and the list it names
 *
 * Clears args->private_data. A record read from other serialized data
 * than @args has now (the test interface damaged it since) is freed,
 * with what it holds, and not handed out.
 *
 * Context: may sleep.
 * Return: true if @out was set; false if the file was not prepared, and
 * the caller restores its description itself.
 */
bool liveupdate_prepared_take(struct liveupdate_file_op_args *args,
			      struct liveupdate_prepared *out)
{
	struct liveupdate_prepared *p = args->private_data;
	bool same;

	args->private_data = NULL;
	if (!p)
		return false;
	same = p->data == args->serialized_data;
	if (same) {
		*out = *p;
	} else {
		/* As if not prepared: what prepare did not restore stays. */
		luo_prepared_put(p, 0, 0, "liveupdate", false);
		if (p->file)
			fput(p->file);
		vfree(p->list);
		if (p->ser_folio)
			folio_put(p->ser_folio);
	}
	kfree(p);
	return same;
}
EXPORT_SYMBOL_GPL(liveupdate_prepared_take);

/**
 * liveupdate_prepared_check - check a prepared folio list
 * @p: the record, its list and bounds set
 * @nr: the number of entries in the list
 *
 * liveupdate_folios_check() over the list: sets @p->nr, @p->pages and
 * @p->checked, and @p->err to the check's result, which retrieve returns.
 */
void liveupdate_prepared_check(struct liveupdate_prepared *p, u64 nr)
{
	p->nr = nr;
	p->err = liveupdate_folios_check(p->list, nr, &p->bounds, &p->pages);
	p->checked = true;
}
EXPORT_SYMBOL_GPL(liveupdate_prepared_check);

/* Entries whose folios liveupdate_prepared_restore() restores at once. */
#define LUO_PREPARE_BATCH	512UL

/**
 * liveupdate_prepared_restore - restore every folio of a prepared list
 * @p: a record whose list passed liveupdate_folios_check() against
 *     bounds of a single order (@p->bounds.min_order == max_order)
 *
 * Restores the folios in bulk (kho_restore_folios()) into @p->folios,
 * for a file that takes them all at once (at prepare or at retrieve).
 * The slot of an entry whose folio is not preserved as the entry says is
 * NULL, and the folio stays where it is: the handler restores it one by
 * one (liveupdate_folio_restore()), which tells what is wrong with it.
 * Without memory for @p->folios this restores nothing, and the handler
 * restores every folio itself.
 *
 * Context: may sleep.
 */
void liveupdate_prepared_restore(struct liveupdate_prepared *p)
{
	unsigned int order = p->bounds.min_order;
	unsigned long n, j;
	phys_addr_t *phys;
	u64 i;

	if (WARN_ON_ONCE(order != p->bounds.max_order)) {
		p->err = -EINVAL;
		return;
	}
	if (!p->nr)
		return;
	p->folios = kvcalloc(p->nr, sizeof(*p->folios), GFP_KERNEL);
	phys = kmalloc_array(min_t(u64, p->nr, LUO_PREPARE_BATCH),
			     sizeof(*phys), GFP_KERNEL);
	if (!p->folios || !phys) {
		kvfree(p->folios);
		p->folios = NULL;
		kfree(phys);
		return;
	}
	for (i = 0; i < p->nr; i += n) {
		n = min_t(u64, p->nr - i, LUO_PREPARE_BATCH);
		for (j = 0; j < n; j++)
			phys[j] = p->list[i + j].phys;
		kho_restore_folios(phys, n, order, p->folios + i);
		cond_resched();
	}
	kfree(phys);
}
EXPORT_SYMBOL_GPL(liveupdate_prepared_restore);

/**
 * liveupdate_prepared_drop - give back the folios of a prepared list
 * @p: the record, as liveupdate_prepared_take() handed it out
 * @from: the first entry to give back
 * @max_order: as for liveupdate_folios_drop()
 * @who: the caller's name, for the log
 *
 * Entries @from to the end of the list: the folios prepare restored go
 * back at once, or are held while a device kept running through the
 * update may still write them (liveupdate_hold_for_dma()), or, without
 * memory to record them then, are never freed (logged); the others are
 * given back as liveupdate_folios_drop() does. Frees @p->folios, not the
 * list.
 *
 * Context: may sleep.
 */
void liveupdate_prepared_drop(struct liveupdate_prepared *p, u64 from,
			      unsigned int max_order, const char *who)
{
	luo_prepared_put(p, from, max_order, who, true);
}
EXPORT_SYMBOL_GPL(liveupdate_prepared_drop);

/**
 * liveupdate_prepared_failed - a retrieve failed and used up its file
 * @args: the arguments of the handler's retrieve, which took over the
 *	  file's serialized data (or found it unreadable) and gave back or
 *	  left what it names
 * @err: the error the retrieve returns
 *
 * Leaves in args->private_data a record that liveupdate_prepared_take()
 * hands out with no description and @err: a retrieve again fails the
 * same way, rather than with whatever the used-up data says now, and
 * finish has nothing left to release. Without memory for the record, a
 * retrieve again finds the data gone (EIO).
 *
 * Context: may sleep.
 */
void liveupdate_prepared_failed(struct liveupdate_file_op_args *args, int err)
{
	struct liveupdate_prepared *p;

	if (WARN_ON_ONCE(args->private_data || !err))
		return;
	p = liveupdate_prepared_alloc(args);
	if (!p)
		return;
	p->err = err;
	p->checked = true;
	args->private_data = p;
}
EXPORT_SYMBOL_GPL(liveupdate_prepared_failed);

/* Folios restored at once (kho_restore_folios()) by a fill. */
#define LIVEUPDATE_LAZY_BULK	32

/**
 * struct liveupdate_lazy - a retrieved file whose folios go in lazily
 * @lock: serialises the insertions; protects every field below
 * @inode: the file's inode
 * @ops: how a folio goes into the file
 * @list: the folio list the previous kernel wrote, checked in full; NULL
 *	  once the fill is over (or if the file has no folio)
 * @nr: the number of entries in @list
 * @bounds: the limits each entry was checked against
 * @block: a lookup fills the entries of its block of this many pages
 * @pending: entries whose folio is not in the file yet
 * @bad: entries whose folio could not be restored: their range fails
 *	 with EIO until the fill is over, then it is a hole
 * @nr_pending: the bits set in @pending; read without @lock (acquire) by
 *		the lookups that only need to know it is zero
 * @nr_bad: the bits set in @bad; read without @lock likewise
 * @cursor: where the background fill looks for the next pending entry
 * @acct: pages accounted for by the handler and not inserted yet
 * @held: the restored folios, held while a device may still write them
 * @memcg: the memory cgroup of the task that retrieved the file, which
 *	   every folio is charged to, whoever touches it first
 * @work: the background fill
 * @bulk_idx: room for the entries restored in one kho_restore_folios()
 * @bulk_phys: their addresses
 * @bulk_folios: their folios
 */
struct liveupdate_lazy {
	struct mutex lock;	/* serialises the fill */
	struct inode *inode;
	const struct liveupdate_lazy_ops *ops;
	struct luo_folio_ser *list;
	u64 nr;
	struct liveupdate_folio_bounds bounds;
	pgoff_t block;
	unsigned long *pending;
	unsigned long *bad;
	unsigned long nr_pending;
	unsigned long nr_bad;
	u64 cursor;
	long acct;
	struct liveupdate_held held;
	struct mem_cgroup *memcg;
	struct work_struct work;
	u64 bulk_idx[LIVEUPDATE_LAZY_BULK];
	phys_addr_t bulk_phys[LIVEUPDATE_LAZY_BULK];
	struct folio *bulk_folios[LIVEUPDATE_LAZY_BULK];
};

/* Entries the background fill inserts per hold of the lock. */
#define LIVEUPDATE_LAZY_BATCH	512

#ifdef CONFIG_LIVEUPDATE_TEST
/*
 * For the selftests: no background fill, so that only lookups put folios
 * into a retrieved file until its session is finished
 * (luo_folios.test_no_fill_worker).
 */
static bool luo_lazy_test_no_worker;
module_param_named(test_no_fill_worker, luo_lazy_test_no_worker, bool, 0644);
#else
#define luo_lazy_test_no_worker false
#endif

/*
 * Insert @folio, restored for entry @i, or mark the entry bad if @folio
 * is an ERR_PTR; @lz->lock held.
 */
static void luo_lazy_insert(struct liveupdate_lazy *lz, u64 i,
			    struct folio *folio)
{
	const struct luo_folio_ser *e = &lz->list[i];
	struct mem_cgroup *old;
	int err;

	if (IS_ERR(folio)) {
		err = PTR_ERR(folio);
		goto bad;
	}
	old = set_active_memcg(lz->memcg);
	err = lz->ops->insert(lz->inode, folio, e->index);
	set_active_memcg(old);
	liveupdate_held_add(&lz->held, folio);
	if (err)
		goto bad;
	lz->acct -= 1L << e->order;
	__clear_bit(i, lz->pending);
	/* Pairs with liveupdate_lazy_fill(): the folio is in before the count. */
	smp_store_release(&lz->nr_pending, lz->nr_pending - 1);
	return;

bad:
	__clear_bit(i, lz->pending);
	__set_bit(i, lz->bad);
	WRITE_ONCE(lz->nr_bad, lz->nr_bad + 1);
	/* Pairs with liveupdate_lazy_fill(): @bad is set before the count. */
	smp_store_release(&lz->nr_pending, lz->nr_pending - 1);
	pr_warn_ratelimited("liveupdate: cannot restore the folio at index %llu of a retrieved file: %d; reading it fails with EIO\n",
			    e->index, err);
}

/* Restore entry @i on its own and insert its folio; @lz->lock held. */
static void luo_lazy_fill_one(struct liveupdate_lazy *lz, u64 i)
{
	struct liveupdate_folio_bounds bounds = lz->bounds;

	/* Checked against the whole list at the start. */
	bounds.next = lz->list[i].index;
	luo_lazy_insert(lz, i, liveupdate_folio_restore(&lz->list[i], &bounds,
							&lz->held));
}

/*
 * Fill the next pending entries from entry @i on that start at most at
 * page @end, up to LIVEUPDATE_LAZY_BULK of one order, restoring their
 * folios in bulk (an entry the bulk restore leaves out goes on its own,
 * which tells why); @lz->lock held. Return the entry to go on from, or
 * @lz->nr when no pending entry is left up to @end.
 */
static u64 luo_lazy_fill_some(struct liveupdate_lazy *lz, u64 i, pgoff_t end)
{
	unsigned int order = 0, n = 0, j;

	for (i = find_next_bit(lz->pending, lz->nr, i);
	     i < lz->nr && n < LIVEUPDATE_LAZY_BULK && lz->list[i].index <= end;
	     i = find_next_bit(lz->pending, lz->nr, i + 1)) {
		if (!n)
			order = lz->list[i].order;
		else if (lz->list[i].order != order)
			break;
		lz->bulk_idx[n] = i;
		lz->bulk_phys[n++] = lz->list[i].phys;
	}
	if (!n)
		return lz->nr;
	kho_restore_folios(lz->bulk_phys, n, order, lz->bulk_folios);
	for (j = 0; j < n; j++) {
		if (lz->bulk_folios[j])
			luo_lazy_insert(lz, lz->bulk_idx[j], lz->bulk_folios[j]);
		else
			luo_lazy_fill_one(lz, lz->bulk_idx[j]);
	}
	return i;
}

/* The first entry of @lz that ends after @index. */
static u64 luo_lazy_find(struct liveupdate_lazy *lz, pgoff_t index)
{
	u64 lo = 0, hi = lz->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (lz->list[mid].index + (1ULL << lz->list[mid].order) <= index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/**
 * liveupdate_lazy_fill - put a retrieved file's folios of a range into it
 * @lz: the file's lazy fill
 * @start: the first page index about to be looked up
 * @end: the last one
 *
 * For the lookups of the file that may meet a hole: they call this
 * first, so that none takes a folio still to come for a hole. The range
 * is widened to whole blocks (see liveupdate_lazy_start()).
 *
 * Context: may sleep; takes no inode lock, so it may be called in a page
 * fault and with the inode locked.
 * Return: 0; -EIO if a folio of the range could not be restored.
 */
int liveupdate_lazy_fill(struct liveupdate_lazy *lz, pgoff_t start,
			 pgoff_t end)
{
	int err = 0;
	u64 i, first;

	/*
	 * Pairs with the release in luo_lazy_fill_one(): once nothing is
	 * pending, every folio is in the page cache the caller looks up.
	 */
	if (!smp_load_acquire(&lz->nr_pending) && !READ_ONCE(lz->nr_bad))
		return 0;
	start = round_down(start, lz->block);
	end = end >= ULONG_MAX - lz->block ? ULONG_MAX : (end | (lz->block - 1));

	mutex_lock(&lz->lock);
	first = luo_lazy_find(lz, start);
	for (i = first; i < lz->nr; i = luo_lazy_fill_some(lz, i, end)) {
		if (need_resched()) {
			mutex_unlock(&lz->lock);
			cond_resched();
			mutex_lock(&lz->lock);
		}
	}
	if (lz->nr_bad) {
		i = find_next_bit(lz->bad, lz->nr, first);
		if (i < lz->nr && lz->list[i].index <= end)
			err = -EIO;
	}
	mutex_unlock(&lz->lock);
	return err;
}
EXPORT_SYMBOL_GPL(liveupdate_lazy_fill);

/* Insert the folios nobody asked for yet, in the background. */
static void luo_lazy_work(struct work_struct *work)
{
	struct liveupdate_lazy *lz = container_of(work, struct liveupdate_lazy,
						  work);
	bool more = true;
	int n;

	while (more) {
		mutex_lock(&lz->lock);
		for (n = 0; more && n < LIVEUPDATE_LAZY_BATCH;
		     n += LIVEUPDATE_LAZY_BULK) {
			lz->cursor = luo_lazy_fill_some(lz, lz->cursor,
							ULONG_MAX);
			more = lz->cursor < lz->nr;
		}
		mutex_unlock(&lz->lock);
		cond_resched();
	}
}

/*
 * The fill is over (@lz->lock held, nothing pending): hand the folios to
 * the DMA hold, give back what was accounted for and not inserted, and
 * free what only the fill needs. A range that could not be restored is a
 * hole from now on.
 */
static void luo_lazy_done(struct liveupdate_lazy *lz)
{
	liveupdate_held_done(&lz->held);
	if (lz->acct && lz->ops->unacct)
		lz->ops->unacct(lz->inode, lz->acct);
	lz->acct = 0;
	mem_cgroup_put(lz->memcg);
	lz->memcg = NULL;
	if (lz->nr_bad)
		pr_warn("liveupdate: %lu folios of a retrieved file could not be restored: their ranges are holes now\n",
			lz->nr_bad);
	vfree(lz->list);
	lz->list = NULL;
	lz->nr = 0;
	kvfree(lz->pending);
	lz->pending = NULL;
	kvfree(lz->bad);
	lz->bad = NULL;
	WRITE_ONCE(lz->nr_bad, 0);
}

/**
 * liveupdate_lazy_finish - put every folio still to come into the file
 * @lz: the file's lazy fill
 *
 * For the handler's finish: once the session is finished, the file is
 * whole and may change size. A range that could not be restored is a
 * hole from then on (logged).
 *
 * Context: may sleep.
 */
void liveupdate_lazy_finish(struct liveupdate_lazy *lz)
{
	liveupdate_lazy_fill(lz, 0, ULONG_MAX);
	flush_work(&lz->work);
	mutex_lock(&lz->lock);
	if (lz->list)
		luo_lazy_done(lz);
	mutex_unlock(&lz->lock);
}
EXPORT_SYMBOL_GPL(liveupdate_lazy_finish);

/**
 * liveupdate_lazy_free - free the lazy fill of a file that goes away
 * @lz: the file's lazy fill, or NULL
 *
 * Folios never inserted (the session was not finished) go back: at once,
 * or held while a device may still write them.
 *
 * Context: may sleep; nobody looks the file up any more.
 */
void liveupdate_lazy_free(struct liveupdate_lazy *lz)
{
	u64 i, n = 0;

	if (!lz)
		return;
	cancel_work_sync(&lz->work);
	if (lz->list) {
		/* The list is not looked up again: squeeze what is left. */
		for_each_set_bit(i, lz->pending, lz->nr)
			lz->list[n++] = lz->list[i];
		liveupdate_folios_drop(lz->list, 0, n, LIVEUPDATE_FOLIO_MAX_ORDER,
				       "liveupdate");
		luo_lazy_done(lz);
	}
	kvfree(lz->pending);	/* a file without folios */
	kvfree(lz->bad);
	mutex_destroy(&lz->lock);
	kfree(lz);
}
EXPORT_SYMBOL_GPL(liveupdate_lazy_free);

/**
 * liveupdate_lazy_start - fill a retrieved file lazily
 * @inode: the file's inode
 * @list: its folio list, as liveupdate_folios_restore_list() returned it,
 *	  every entry checked with liveupdate_folios_check() against @bounds;
 *	  the lazy fill takes it over
 * @nr: the number of entries in @list
 * @bounds: the limits the entries were checked against
 * @ops: how a folio goes into the file
 * @acct: pages the handler accounted for beforehand; those never inserted
 *	  are given back with @ops->unacct
 * @block: a lookup fills every entry of its block of this many pages (a
 *	   power of two: the largest folio the file may allocate itself)
 *
 * Restores nothing: the folios stay reserved where the previous kernel
 * left them until a lookup (liveupdate_lazy_fill()), a worker that fills
 * the rest in the background, in index order, or liveupdate_lazy_finish()
 * puts them in, charged to the memory cgroup of the caller. The handler
 * makes every lookup of the file that may meet a hole call
 * liveupdate_lazy_fill() first, liveupdate_lazy_finish() at finish, and
 * liveupdate_lazy_free() when the file goes.
 *
 * Context: may sleep.
 * Return: the lazy fill, or ERR_PTR(-ENOMEM).
 */
struct liveupdate_lazy *
liveupdate_lazy_start(struct inode *inode, struct luo_folio_ser *list, u64 nr,
		      const struct liveupdate_folio_bounds *bounds,
		      const struct liveupdate_lazy_ops *ops, long acct,
		      pgoff_t block)
{
	struct liveupdate_lazy *lz;

	lz = kzalloc(sizeof(*lz), GFP_KERNEL);
	if (!lz)
		return ERR_PTR(-ENOMEM);
	lz->pending = kvcalloc(BITS_TO_LONGS(nr), sizeof(long), GFP_KERNEL);
	lz->bad = kvcalloc(BITS_TO_LONGS(nr), sizeof(long), GFP_KERNEL);
	if (!lz->pending || !lz->bad || liveupdate_held_init(&lz->held, nr)) {
		kvfree(lz->bad);
		kvfree(lz->pending);
		kfree(lz);
		return ERR_PTR(-ENOMEM);
	}
	mutex_init(&lz->lock);
	INIT_WORK(&lz->work, luo_lazy_work);
	lz->inode = inode;
	lz->ops = ops;
	lz->list = list;
	lz->nr = nr;
	lz->bounds = *bounds;
	lz->block = max_t(pgoff_t, block, 1);
	lz->acct = acct;
	if (!nr)
		return lz;	/* nothing to fill: the fill is over */
	lz->memcg = get_mem_cgroup_from_mm(current->mm);
	bitmap_fill(lz->pending, nr);
	lz->nr_pending = nr;
	if (!luo_lazy_test_no_worker)
		queue_work(system_unbound_wq, &lz->work);
	return lz;
}
EXPORT_SYMBOL_GPL(liveupdate_lazy_start);
