// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover: test interface for the selftests.
 *
 * It uses KHO's API, and damages the outgoing handover through the one
 * test-only hook, kho_test_damage_out(): everything it damages it finds
 * through the root FDT, as the next kernel does.
 */

/**
 * DOC: KHO test interface
 *
 * ``/sys/kernel/debug/kho_test/ctl`` takes one command per write; reading
 * it returns the outcome of the last command (``ok ...`` or
 * ``FAIL: ...``), and a failing command also fails the write:
 *
 * - ``preserve MIB SEED [ORDER]``: allocate MIB MiB in folios of orders
 *   0 to 10 in turn (or all of ORDER), fill every page with a pattern
 *   derived from SEED and the page's index, and preserve them, with their
 *   list in a preserved vmalloc area and both described by a preserved
 *   subtree named ``kho-test``.
 * - ``sparse NR SEED``: as ``preserve``, but NR single pages, each followed
 *   by a page that stays allocated and is not preserved: the next kernel
 *   finds NR ranges that no two touch, the most fragmented handover of
 *   its size (for the benchmark of reserving it at boot).
 * - ``fragment MIB``: take up to MIB MiB of free memory in blocks of two
 *   pages (unmovable: never from KHO scratch), keep the first page of
 *   each and free the second: what is left free there is single pages,
 *   with no free block of two pages or more. Nothing is preserved; the
 *   pages are held until ``unpreserve`` or the reboot. The outcome says
 *   how many MiB it took (it stops early when no such block is left).
 * - ``unpreserve``: undo ``preserve``, ``sparse`` and ``fragment``, and
 *   free everything.
 * - ``verify``: in the next kernel, find ``kho-test``, restore the subtree,
 *   the vmalloc area and every folio, check each folio's order and every
 *   byte, check that nothing can be restored twice, then free it all. The
 *   folios of each order are restored alternately in bulk, in batches of
 *   512 through kho_restore_folios(), and one by one through
 *   kho_restore_folio(), each batch timed as a whole. The outcome ends
 *   with ``restore_ns N restore1_ns M``: the time spent in kho_restore_*()
 *   alone, with the folios restored in bulk (N) or one by one (M). Each
 *   restores only part of the list; both are estimates for the whole list
 *   from that part, order by order (for an order with a single folio,
 *   restored in bulk, that time counts for both), plus the same time to
 *   restore the subtree and the vmalloc list.
 * - ``fill``: allocate (nearly) all free memory, write a pattern into
 *   every page, check it and free it again: after ``verify`` this shows
 *   that no page is owned twice.
 * - ``corrupt WHAT``: at the next reboot, after everything else has
 *   written its part of the handover, damage it the way a buggy or
 *   foreign kernel might, so that the next kernel must refuse it:
 *   ``compatible`` (an unknown format version), ``fdt`` (a root FDT
 *   larger than allowed), ``tracker`` (a tracker node outside memory),
 *   ``scratch`` (a scratch area outside memory) or ``subtree:NAME`` (the
 *   compatible of subtree NAME, added by some other part of the kernel,
 *   overwritten with as many ``x``: a format nobody knows), or
 *   ``iommu-table`` (the top-level page table of the first device in the
 *   Intel IOMMU's subtree is no longer preserved, though its entry still
 *   points at it: the next kernel must not adopt that device's tables);
 *   or, for the memfd preserved under TOKEN in session SESSION,
 *   ``memfd-order:SESSION:TOKEN`` (its first folio's order one more than
 *   the file may hold), ``memfd-phys:SESSION:TOKEN`` (the folio in the
 *   middle of its list at an address where nothing was preserved: this
 *   kernel's text) or ``memfd-size:SESSION:TOKEN`` (its size one page
 *   smaller: a HugeTLB memfd's is then no multiple of its huge page).
 */

#define pr_fmt(fmt) "kho_test: " fmt

#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/intel_iommu.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/kho/abi/luo.h>
#include <linux/kho/abi/memfd.h>
#include <linux/libfdt.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vmalloc.h>

#include <asm/sections.h>

#define KHO_TEST_NAME		"kho-test"
#define KHO_TEST_COMPATIBLE	"kho-test-v1"
#define KHO_TEST_MAX_ORDER	10

/* One preserved folio, as listed in the preserved vmalloc area. */
struct kho_test_entry {
	u64 phys;
	u64 order;
	u64 first_page;
};

/* The outgoing test data; protected by kho_test_lock. */
static struct {
	struct folio *fdt;
	struct kho_test_entry *list;
	struct folio **folios;
	unsigned long nr;
	struct page **gaps;	/* sparse: the page after each folio */
	unsigned long nr_gaps;
	struct kho_vmalloc vm;
} kho_test_out;

/* "fragment": the pages it keeps, in a list through page->lru */
static LIST_HEAD(kho_test_fragments);

static DEFINE_MUTEX(kho_test_lock);
static char kho_test_result[256] = "none\n";

static u64 kho_test_word(u64 seed, u64 page, unsigned int word)
{
	return (seed * 0x9e3779b97f4a7c15ULL) ^ (page << 16) ^ word;
}

static void kho_test_fill_page(void *addr, u64 seed, u64 page)
{
	u64 *p = addr;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++)
		p[i] = kho_test_word(seed, page, i);
}

/* Return the index of the first wrong word, or -1. */
static int kho_test_check_page(const void *addr, u64 seed, u64 page)
{
	const u64 *p = addr;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++)
		if (p[i] != kho_test_word(seed, page, i))
			return i;
	return -1;
}

static u64 kho_test_csum(const void *data, size_t len)
{
	const u8 *p = data;
	u64 sum = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		sum = (sum ^ p[i]) * 0x100000001b3ULL;
	return sum;
}

static void kho_test_free_out(void)
{
	struct page *page, *tmp;
	unsigned long i;

	list_for_each_entry_safe(page, tmp, &kho_test_fragments, lru) {
		list_del(&page->lru);
		__free_page(page);
	}

	if (kho_test_out.fdt) {
		kho_remove_subtree(folio_address(kho_test_out.fdt));
		kho_unpreserve_folio(kho_test_out.fdt);
		folio_put(kho_test_out.fdt);
		kho_test_out.fdt = NULL;
	}
	if (kho_test_out.vm.first)
		kho_unpreserve_vmalloc(&kho_test_out.vm);
	for (i = 0; i < kho_test_out.nr; i++) {
		kho_unpreserve_folio(kho_test_out.folios[i]);
		folio_put(kho_test_out.folios[i]);
	}
	for (i = 0; i < kho_test_out.nr_gaps; i++)
		__free_page(kho_test_out.gaps[i]);
	kvfree(kho_test_out.gaps);
	kvfree(kho_test_out.folios);
	vfree(kho_test_out.list);
	memset(&kho_test_out, 0, sizeof(kho_test_out));
}

static int kho_test_make_fdt(u64 seed, u64 bytes, u64 csum)
{
	void *fdt = folio_address(kho_test_out.fdt);
	int err;

	err = fdt_create(fdt, PAGE_SIZE);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", KHO_TEST_COMPATIBLE);
	err |= fdt_property_u64(fdt, "seed", seed);
	err |= fdt_property_u64(fdt, "nr-folios", kho_test_out.nr);
	err |= fdt_property_u64(fdt, "bytes", bytes);
	err |= fdt_property_u64(fdt, "list-csum", csum);
	err |= fdt_property(fdt, "list", &kho_test_out.vm,
			    sizeof(kho_test_out.vm));
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	return err ? -ENOSPC : 0;
}

/*
 * A page of data for "sparse": the first of an order-1 block split in
 * two, whose second page, kept in kho_test_out.gaps, is not preserved.
 */
static struct folio *kho_test_alloc_sparse(void)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN;
	struct page *page = alloc_pages(gfp, 1);

	if (!page)
		return NULL;
	split_page(page, 1);
	kho_test_out.gaps[kho_test_out.nr_gaps++] = page + 1;
	return page_folio(page);
}

/*
 * Preserve @bytes in folios of @fixed_order (-1: orders 0 to
 * KHO_TEST_MAX_ORDER in turn), or in single pages that no two touch
 * (@sparse).
 */
static int kho_test_preserve(u64 bytes, u64 seed, int fixed_order,
			     bool sparse)
{
	u64 done = 0, page = 0;
	unsigned long max_nr, i;
	unsigned int order = fixed_order < 0 ? 0 : fixed_order;
	int err;

	if (kho_test_out.nr || kho_test_out.fdt)
		return -EBUSY;
	if (!bytes || fixed_order > KHO_TEST_MAX_ORDER)
		return -EINVAL;

	max_nr = bytes >> PAGE_SHIFT;
	kho_test_out.list = vzalloc(array_size(max_nr, sizeof(*kho_test_out.list)));
	kho_test_out.folios = kvcalloc(max_nr, sizeof(*kho_test_out.folios),
				       GFP_KERNEL);
	if (sparse)
		kho_test_out.gaps = kvcalloc(max_nr, sizeof(*kho_test_out.gaps),
					     GFP_KERNEL);
	if (!kho_test_out.list || !kho_test_out.folios ||
	    (sparse && !kho_test_out.gaps)) {
		err = -ENOMEM;
		goto err_free;
	}

	while (done < bytes) {
		struct folio *folio;

		while ((PAGE_SIZE << order) > bytes - done)
			order--;
		if (sparse)
			folio = kho_test_alloc_sparse();
		else
			folio = folio_alloc(GFP_KERNEL, order);
		if (!folio) {
			err = -ENOMEM;
			goto err_free;
		}
		for (i = 0; i < folio_nr_pages(folio); i++)
			kho_test_fill_page(folio_address(folio) + i * PAGE_SIZE,
					   seed, page + i);
		err = kho_preserve_folio(folio);
		if (err) {
			folio_put(folio);
			goto err_free;
		}
		kho_test_out.folios[kho_test_out.nr] = folio;
		kho_test_out.list[kho_test_out.nr].phys = PFN_PHYS(folio_pfn(folio));
		kho_test_out.list[kho_test_out.nr].order = order;
		kho_test_out.list[kho_test_out.nr].first_page = page;
		kho_test_out.nr++;
		page += folio_nr_pages(folio);
		done += folio_size(folio);
		if (fixed_order < 0)
			order = order == KHO_TEST_MAX_ORDER ? 0 : order + 1;
		cond_resched();
	}

	err = kho_preserve_vmalloc(kho_test_out.list, &kho_test_out.vm);
	if (err)
		goto err_free;

	kho_test_out.fdt = folio_alloc(GFP_KERNEL | __GFP_ZERO, 0);
	if (!kho_test_out.fdt) {
		err = -ENOMEM;
		goto err_free;
	}
	err = kho_test_make_fdt(seed, bytes,
				kho_test_csum(kho_test_out.list,
					      kho_test_out.nr * sizeof(*kho_test_out.list)));
	if (!err)
		err = kho_preserve_folio(kho_test_out.fdt);
	if (err) {
		folio_put(kho_test_out.fdt);
		kho_test_out.fdt = NULL;
		goto err_free;
	}
	err = kho_add_subtree(KHO_TEST_NAME, folio_address(kho_test_out.fdt));
	if (err) {
		kho_unpreserve_folio(kho_test_out.fdt);
		folio_put(kho_test_out.fdt);
		kho_test_out.fdt = NULL;
		goto err_free;
	}

	snprintf(kho_test_result, sizeof(kho_test_result),
		 "ok preserved %llu bytes in %lu folios seed %llu\n", bytes,
		 kho_test_out.nr, seed);
	return 0;

err_free:
	kho_test_free_out();
	snprintf(kho_test_result, sizeof(kho_test_result),
		 "FAIL: preserve: error %d\n", err);
	return err;
}

static u64 kho_test_prop(const void *fdt, const char *name, bool *ok)
{
	const void *p;
	int len;

	p = fdt_getprop(fdt, 0, name, &len);
	if (!p || len != sizeof(u64)) {
		*ok = false;
		return 0;
	}
	return get_unaligned_be64(p);
}

#define kho_test_fail(fmt, ...)						\
	snprintf(kho_test_result, sizeof(kho_test_result),		\
		 "FAIL: verify: " fmt "\n", ##__VA_ARGS__)

/* Folios restored per call of kho_restore_folios(). */
#define KHO_TEST_BATCH		512

/*
 * List entries of one order, restored together: in bulk through
 * kho_restore_folios(), or one by one through kho_restore_folio().
 */
struct kho_test_batch {
	bool bulk;
	unsigned int nr;
	unsigned long idx[KHO_TEST_BATCH];	/* index in the list */
	phys_addr_t phys[KHO_TEST_BATCH];
	struct folio *folios[KHO_TEST_BATCH];
};

/* Time spent restoring folios and how many, [bulk][order]. */
struct kho_test_timing {
	u64 ns[2][KHO_TEST_MAX_ORDER + 1];
	u64 nr[2][KHO_TEST_MAX_ORDER + 1];
};

/* Check a restored folio against its list entry @i. */
static int kho_test_check_folio(struct folio *folio,
				const struct kho_test_entry *e,
				unsigned long i, u64 seed)
{
	unsigned long j;
	int w;

	if (!folio) {
		kho_test_fail("folio %lu at 0x%llx not restored", i, e->phys);
		return -EIO;
	}
	if (folio_order(folio) != e->order) {
		kho_test_fail("folio %lu: order %u, expected %llu", i,
			      folio_order(folio), e->order);
		return -EIO;
	}
	for (j = 0; j < folio_nr_pages(folio); j++) {
		w = kho_test_check_page(folio_address(folio) + j * PAGE_SIZE,
					seed, e->first_page + j);
		if (w >= 0) {
			kho_test_fail("folio %lu page %lu word %d differs", i, j,
				      w);
			return -EIO;
		}
	}
	return 0;
}

/*
 * Restore a batch of folios of @order, timing the restore alone; check
 * each, free it, and check that it cannot be restored again, in bulk or
 * one by one. The batch is empty afterwards.
 */
static int kho_test_restore_batch(struct kho_test_batch *b,
				  const struct kho_test_entry *list,
				  unsigned int order, u64 seed,
				  struct kho_test_timing *tm, u64 *got_bytes)
{
	unsigned long i;
	int err = 0;
	u64 t;

	if (!b->nr)
		return 0;
	t = ktime_get_ns();
	if (b->bulk) {
		kho_restore_folios(b->phys, b->nr, order, b->folios);
	} else {
		for (i = 0; i < b->nr; i++)
			b->folios[i] = kho_restore_folio(b->phys[i]);
	}
	tm->ns[b->bulk][order] += ktime_get_ns() - t;
	tm->nr[b->bulk][order] += b->nr;

	for (i = 0; i < b->nr; i++) {
		if (!err)
			err = kho_test_check_folio(b->folios[i],
						   &list[b->idx[i]], b->idx[i],
						   seed);
		if (b->folios[i]) {
			*got_bytes += folio_size(b->folios[i]);
			folio_put(b->folios[i]);
		}
	}
	if (err)
		goto out;

	kho_restore_folios(b->phys, b->nr, order, b->folios);
	for (i = 0; i < b->nr; i++) {
		if (!b->folios[i])
			b->folios[i] = kho_restore_folio(b->phys[i]);
		if (b->folios[i]) {
			if (!err)
				kho_test_fail("folio %lu was restored twice",
					      b->idx[i]);
			err = -EIO;
			folio_put(b->folios[i]);
		}
	}
out:
	b->nr = 0;
	cond_resched();
	return err;
}

/*
 * Restore and check every folio of the list, order by order: of the
 * folios of each order, the first, third, ... are restored in bulk, the
 * second, fourth, ... one by one, so that both ways see the same mix.
 */
static int kho_test_restore_list(const struct kho_test_entry *list, u64 nr,
				 u64 seed, struct kho_test_timing *tm,
				 u64 *got_bytes)
{
	struct kho_test_batch *b, *cur;
	unsigned long i, n;
	unsigned int order;
	int err = 0;

	for (i = 0; i < nr; i++) {
		if (list[i].order > KHO_TEST_MAX_ORDER) {
			kho_test_fail("folio %lu: order %llu, at most %u expected",
				      i, list[i].order, KHO_TEST_MAX_ORDER);
			return -EIO;
		}
	}
	b = kvcalloc(2, sizeof(*b), GFP_KERNEL);	/* one by one, bulk */
	if (!b) {
		kho_test_fail("no memory for the restore batches");
		return -ENOMEM;
	}
	b[1].bulk = true;

	for (order = 0; order <= KHO_TEST_MAX_ORDER && !err; order++) {
		n = 0;
		for (i = 0; i < nr && !err; i++) {
			if (list[i].order != order)
				continue;
			cur = &b[!(n++ & 1)];
			cur->idx[cur->nr] = i;
			cur->phys[cur->nr++] = list[i].phys;
			if (cur->nr == KHO_TEST_BATCH)
				err = kho_test_restore_batch(cur, list, order,
							     seed, tm, got_bytes);
		}
		for (i = 0; i < 2 && !err; i++)
			err = kho_test_restore_batch(&b[i], list, order, seed,
						     tm, got_bytes);
	}
	kvfree(b);
	return err;
}

/*
 * The time to restore every folio of the list in bulk, or one by one,
 * estimated order by order from the folios restored that way. An order
 * with no folio restored that way (a single one, restored in bulk)
 * counts with the time it took the other way.
 */
static u64 kho_test_estimate_ns(const struct kho_test_timing *tm, bool bulk)
{
	unsigned int order;
	u64 ns = 0, all;

	for (order = 0; order <= KHO_TEST_MAX_ORDER; order++) {
		all = tm->nr[0][order] + tm->nr[1][order];
		if (tm->nr[bulk][order])
			ns += div64_u64(tm->ns[bulk][order] * all,
					tm->nr[bulk][order]);
		else
			ns += tm->ns[!bulk][order];
	}
	return ns;
}

static int kho_test_verify(void)
{
	u64 seed, nr, bytes, csum, got_bytes = 0, restore_ns, t;
	struct kho_test_entry *list = NULL;
	struct kho_test_timing tm = { };
	const struct kho_vmalloc *vm;
	struct folio *fdt_folio;
	const void *fdt;
	phys_addr_t phys;
	bool ok = true;
	int len, err;

	err = kho_retrieve_subtree(KHO_TEST_NAME, &phys);
	if (err) {
		kho_test_fail("no %s subtree was handed over (%d)", KHO_TEST_NAME, err);
		return -ENOENT;
	}
	t = ktime_get_ns();
	fdt_folio = kho_restore_folio(phys);
	restore_ns = ktime_get_ns() - t;
	if (!fdt_folio) {
		kho_test_fail("cannot restore the subtree folio at %pa", &phys);
		return -EIO;
	}
	fdt = folio_address(fdt_folio);
	err = -EIO;
	if (fdt_check_header(fdt) ||
	    fdt_node_check_compatible(fdt, 0, KHO_TEST_COMPATIBLE)) {
		kho_test_fail("subtree is not %s", KHO_TEST_COMPATIBLE);
		goto out_fdt;
	}
	seed = kho_test_prop(fdt, "seed", &ok);
	nr = kho_test_prop(fdt, "nr-folios", &ok);
	bytes = kho_test_prop(fdt, "bytes", &ok);
	csum = kho_test_prop(fdt, "list-csum", &ok);
	vm = fdt_getprop(fdt, 0, "list", &len);
	if (!ok || !vm || len != sizeof(*vm)) {
		kho_test_fail("subtree properties missing");
		goto out_fdt;
	}

	t = ktime_get_ns();
	list = kho_restore_vmalloc(vm);
	restore_ns += ktime_get_ns() - t;
	if (!list) {
		kho_test_fail("cannot restore the vmalloc list");
		goto out_fdt;
	}
	if (kho_test_csum(list, nr * sizeof(*list)) != csum) {
		kho_test_fail("vmalloc list checksum differs");
		goto out_list;
	}
	if (kho_restore_vmalloc(vm)) {
		kho_test_fail("the vmalloc list was restored twice");
		goto out_list;
	}

	err = kho_test_restore_list(list, nr, seed, &tm, &got_bytes);
	if (err)
		goto out_list;
	err = -EIO;
	if (got_bytes != bytes) {
		kho_test_fail("restored %llu bytes, expected %llu", got_bytes, bytes);
		goto out_list;
	}

	err = 0;
	snprintf(kho_test_result, sizeof(kho_test_result),
		 "ok verified %llu bytes in %llu folios seed %llu restore_ns %llu restore1_ns %llu\n",
		 bytes, nr, seed, restore_ns + kho_test_estimate_ns(&tm, true),
		 restore_ns + kho_test_estimate_ns(&tm, false));
out_list:
	vfree(list);
out_fdt:
	folio_put(fdt_folio);
	return err;
}

/*
 * Take nearly all free memory, write it, check it, give it back. The fill
 * stops KHO_TEST_FILL_RESERVE short of empty: with nothing left, the next
 * kthread or slab refill finds no page and no task to kill, and the OOM
 * killer panics the kernel ("System is deadlocked on memory").
 */
#define KHO_TEST_FILL_RESERVE	(SZ_32M >> PAGE_SHIFT)

static int kho_test_fill(void)
{
	const gfp_t gfp = GFP_HIGHUSER_MOVABLE | __GFP_NORETRY | __GFP_NOWARN;
	unsigned long nr = 0, bad = 0;
	struct page *page, *tmp;
	unsigned int order;
	LIST_HEAD(pages);

	for (order = 9; ; order = order ? order - 1 : 0) {
		if (global_zone_page_state(NR_FREE_PAGES) <
		    KHO_TEST_FILL_RESERVE + (1UL << order)) {
			if (!order)
				break;
			continue;
		}
		page = alloc_pages(gfp, order);
		if (!page) {
			if (!order)
				break;
			continue;
		}
		set_page_private(page, order);
		list_add(&page->lru, &pages);
		nr += 1UL << order;
		if (order < 9)
			order++;	/* stay at this order while it works */
		cond_resched();
	}
	list_for_each_entry(page, &pages, lru) {
		unsigned long i;

		for (i = 0; i < 1UL << page_private(page); i++)
			kho_test_fill_page(page_address(page + i), 0,
					   page_to_pfn(page + i));
		cond_resched();
	}
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		unsigned long i;

		for (i = 0; i < 1UL << page_private(page); i++)
			if (kho_test_check_page(page_address(page + i), 0,
						page_to_pfn(page + i)) >= 0)
				bad++;
		list_del(&page->lru);
		order = page_private(page);
		set_page_private(page, 0);
		__free_pages(page, order);
		cond_resched();
	}
	if (bad) {
		snprintf(kho_test_result, sizeof(kho_test_result),
			 "FAIL: fill: %lu of %lu pages changed under us\n", bad,
			 nr);
		return -EIO;
	}
	snprintf(kho_test_result, sizeof(kho_test_result),
		 "ok filled %lu MiB\n", nr >> (20 - PAGE_SHIFT));
	return 0;
}

/* Take up to @mib MiB in blocks of two pages, and free every second page. */
static int kho_test_fragment(unsigned long mib)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN;
	unsigned long nr, blocks = mib << (20 - PAGE_SHIFT - 1);
	struct page *page;

	for (nr = 0; nr < blocks; nr++) {
		page = alloc_pages(gfp, 1);
		if (!page)
			break;
		split_page(page, 1);
		__free_page(page + 1);
		list_add(&page->lru, &kho_test_fragments);
		cond_resched();
	}
	snprintf(kho_test_result, sizeof(kho_test_result),
		 "ok fragmented %lu MiB\n", nr >> (20 - PAGE_SHIFT - 1));
	return 0;
}

static char kho_test_corruption[48];

/*
 * The blob of the outgoing subtree @name, found through the root FDT as
 * the next kernel finds it; NULL if there is none.
 */
static void *kho_test_out_subtree(const void *root, const char *name)
{
	const void *prop;
	int off, len;

	off = fdt_subnode_offset(root, 0, name);
	if (off < 0)
		return NULL;
	prop = fdt_getprop(root, off, KHO_FDT_PROP_SUBTREE, &len);
	if (!prop || len != sizeof(u64))
		return NULL;
	return phys_to_virt(get_unaligned_be64(prop));
}

/* Overwrite the compatible of subtree @name. */
static int kho_test_corrupt_subtree(const void *root, const char *name)
{
	void *fdt = kho_test_out_subtree(root, name);
	const char *compat;
	char *junk;
	int len, err;

	if (!fdt)
		return -ENOENT;
	compat = fdt_getprop(fdt, 0, "compatible", &len);
	if (!compat || len < 2)
		return -EINVAL;
	junk = kmalloc(len, GFP_KERNEL);
	if (!junk)
		return -ENOMEM;
	memset(junk, 'x', len - 1);
	junk[len - 1] = '\0';
	err = fdt_setprop_inplace(fdt, 0, "compatible", junk, len);
	kfree(junk);
	return err ? -EINVAL : 0;
}

/*
 * Unpreserve the top-level page table the first device of the Intel
 * IOMMU's subtree translates through.
 */
static int kho_test_corrupt_iommu_table(const void *root)
{
	const struct intel_iommu_lu_dev_ser *dev;
	const void *fdt;
	u64 table;
	int len;

	fdt = kho_test_out_subtree(root, INTEL_IOMMU_LU_SUBTREE);
	if (!fdt)
		return -ENOENT;
	dev = fdt_getprop(fdt, 0, "devices", &len);
	if (!dev || len < (int)sizeof(*dev))
		return -ENOENT;
	/* Bits 63:12 of the low quadword: the table's address. */
	table = get_unaligned(&dev->context[0]) & PAGE_MASK;
	return kho_unpreserve_pages(pfn_to_page(PHYS_PFN(table)), 1);
}

/*
 * A preserved vmalloc area of the outgoing handover, mapped again from
 * its page list (its pages are still this kernel's own); vunmap() it.
 */
static void *kho_test_out_vmap(const struct kho_vmalloc *vm)
{
	unsigned int total = vm->total_pages, n = 0, i;
	const struct kho_vmalloc_chunk_ser *chunk;
	struct page **pages;
	void *area = NULL;
	u64 phys;

	if (!vm->first || !total || vm->order)
		return NULL;
	pages = kvmalloc_array(total, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (phys = vm->first; phys && n < total; phys = chunk->next) {
		chunk = phys_to_virt(phys);
		for (i = 0; i < chunk->nr && n < total; i++)
			pages[n++] = pfn_to_page(PHYS_PFN(chunk->phys[i]));
	}
	if (n == total)
		area = vmap(pages, total, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	return area;
}

/*
 * The description of the memfd preserved under @token in outgoing session
 * @name, found through LUO's subtree and state area as the next kernel
 * finds it; NULL if there is none.
 */
static struct memfd_luo_ser *kho_test_out_memfd(const void *root,
						const char *name, u64 token)
{
	const struct luo_session_ser *session;
	const struct luo_state_ser *state;
	const struct luo_file_ser *file;
	struct memfd_luo_ser *ser = NULL;
	const struct kho_vmalloc *vm;
	size_t size, off;
	const void *fdt;
	void *area;
	u64 i, j;
	int len;

	fdt = kho_test_out_subtree(root, LUO_FDT_NAME);
	if (!fdt)
		return NULL;
	vm = fdt_getprop(fdt, 0, LUO_FDT_PROP_STATE, &len);
	if (!vm || len != sizeof(*vm))
		return NULL;
	area = kho_test_out_vmap(vm);
	if (!area)
		return NULL;
	size = (size_t)vm->total_pages << PAGE_SHIFT;
	state = area;
	off = sizeof(*state);
	for (i = 0; i < state->nr_sessions && !ser; i++) {
		if (off + sizeof(*session) > size)
			break;
		session = area + off;
		off += sizeof(*session);
		for (j = 0; j < session->nr_files; j++, off += sizeof(*file)) {
			if (off + sizeof(*file) > size)
				break;
			file = area + off;
			if (!strcmp((const char *)session->name, name) &&
			    file->token == token &&
			    !strncmp((const char *)file->compatible, "memfd-", 6))
				ser = phys_to_virt(file->data);
		}
	}
	vunmap(area);
	return ser;
}

/*
 * Damage the folio list or the size of a memfd (@what is "memfd-order:",
 * "memfd-phys:" or "memfd-size:", then "SESSION:TOKEN").
 */
static int kho_test_corrupt_memfd(const void *root, const char *what)
{
	char name[LUO_NAME_LENGTH];
	struct luo_folio_ser *list;
	struct memfd_luo_ser *ser;
	unsigned long long token;
	const char *arg;
	u64 mid;

	arg = strchr(what, ':') + 1;
	/* "%63[^:]": LUO_NAME_LENGTH - 1 */
	static_assert(LUO_NAME_LENGTH == 64);
	if (sscanf(arg, "%63[^:]:%llu", name, &token) != 2)
		return -EINVAL;
	ser = kho_test_out_memfd(root, name, token);
	if (!ser)
		return -ENOENT;
	if (!strncmp(what, "memfd-size:", 11)) {
		if (ser->size < PAGE_SIZE)
			return -EINVAL;
		ser->size -= PAGE_SIZE;
		return 0;
	}
	if (!ser->nr_folios)
		return -ENOENT;
	list = kho_test_out_vmap(&ser->folios);
	if (!list)
		return -ENOMEM;
	mid = ser->nr_folios / 2;
	if (!strncmp(what, "memfd-order:", 12))
		/* One more than its file may hold. */
		list[0].order = ser->page_shift > PAGE_SHIFT ?
				ser->page_shift - PAGE_SHIFT + 1 :
				MAX_PAGECACHE_ORDER + 1;
	else
		/* Where nothing is preserved: this kernel's own text. */
		list[mid].phys = ALIGN_DOWN(__pa_symbol(_text),
					    PAGE_SIZE << list[mid].order);
	vunmap(list);
	return 0;
}

/* The root page of the outgoing tracker, as the root FDT names it. */
static struct kho_tracker_node_ser *kho_test_out_tracker(const void *root)
{
	const void *prop;
	int len;

	prop = fdt_getprop(root, 0, KHO_FDT_PROP_MEMORY_MAP, &len);
	if (!prop || len != sizeof(u64))
		return NULL;
	return phys_to_virt(get_unaligned_be64(prop));
}

/*
 * Damage the outgoing handover as @arg says (see the DOC above); called
 * by kho_test_damage_out(), under KHO's lock, with the root FDT and the
 * scratch list.
 */
static int kho_test_corrupt(void *root, struct kho_scratch_ser *scratch,
			    void *arg)
{
	struct kho_tracker_node_ser *tracker;
	const char *what = arg;

	if (!strcmp(what, "compatible"))
		return fdt_setprop_inplace(root, 0, "compatible",
					   "kho-radix-v0", sizeof("kho-radix-v0"));
	if (!strcmp(what, "fdt")) {
		fdt_set_totalsize(root, 2 * KHO_FDT_MAX_SIZE);
		return 0;
	}
	if (!strcmp(what, "tracker")) {
		tracker = kho_test_out_tracker(root);
		if (!tracker)
			return -ENOENT;
		/* A page-aligned address far above any test VM's memory. */
		WRITE_ONCE(tracker->slot[KHO_TRACKER_ORDERS - 1],
			   SZ_1G * 1024ULL);
		return 0;
	}
	if (!strcmp(what, "scratch")) {
		scratch[0].size = SZ_1G * 1024ULL;
		return 0;
	}
	if (!strncmp(what, "subtree:", 8))
		return kho_test_corrupt_subtree(root, what + 8);
	if (!strcmp(what, "iommu-table"))
		return kho_test_corrupt_iommu_table(root);
	if (!strncmp(what, "memfd-", 6))
		return kho_test_corrupt_memfd(root, what);
	return -EINVAL;
}

/* Reboot notifiers run after the live update handover has been written. */
static int kho_test_reboot(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	if (kho_test_corruption[0] &&
	    kho_test_damage_out(kho_test_corrupt, kho_test_corruption))
		pr_err("cannot corrupt the %s\n", kho_test_corruption);
	return NOTIFY_DONE;
}

static struct notifier_block kho_test_reboot_nb = {
	.notifier_call = kho_test_reboot,
};

static int kho_test_arm_corruption(const char *what)
{
	static const char * const known[] = {
		"compatible", "fdt", "tracker", "scratch", "iommu-table",
	};
	unsigned int i;

	if (!kho_is_enabled())
		return -EOPNOTSUPP;
	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(what, known[i]))
			break;
	if (i == ARRAY_SIZE(known) &&
	    ((strncmp(what, "subtree:", 8) && strncmp(what, "memfd-order:", 12) &&
	      strncmp(what, "memfd-phys:", 11) && strncmp(what, "memfd-size:", 11)) ||
	     !strchr(what, ':')[1] || strlen(what) >= sizeof(kho_test_corruption)))
		return -EINVAL;
	strscpy(kho_test_corruption, what);
	snprintf(kho_test_result, sizeof(kho_test_result),
		 "ok the %s of the handover will be corrupted at reboot\n",
		 what);
	return 0;
}

static ssize_t kho_test_ctl_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	unsigned long mib, nr;
	int err, n, order;
	char buf[64];
	u64 seed;

	if (len >= sizeof(buf))
		return -E2BIG;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	strim(buf);

	mutex_lock(&kho_test_lock);
	n = sscanf(buf, "preserve %lu %llu %d", &mib, &seed, &order);
	if (n >= 2) {
		err = kho_test_preserve((u64)mib << 20, seed,
					n == 3 ? order : -1, false);
	} else if (sscanf(buf, "sparse %lu %llu", &nr, &seed) == 2) {
		/* Each page takes two. */
		err = nr > totalram_pages() / 2 ? -EINVAL :
		      kho_test_preserve((u64)nr << PAGE_SHIFT, seed, 0, true);
	} else if (sscanf(buf, "fragment %lu", &mib) == 1) {
		err = mib ? kho_test_fragment(mib) : -EINVAL;
	} else if (!strcmp(buf, "unpreserve")) {
		kho_test_free_out();
		strscpy(kho_test_result, "ok unpreserved\n");
		err = 0;
	} else if (!strcmp(buf, "verify")) {
		err = kho_test_verify();
	} else if (!strcmp(buf, "fill")) {
		err = kho_test_fill();
	} else if (!strncmp(buf, "corrupt ", 8)) {
		err = kho_test_arm_corruption(buf + 8);
	} else {
		err = -EINVAL;
	}
	if (err)
		pr_err("'%s': %s", buf, kho_test_result);
	mutex_unlock(&kho_test_lock);
	return err ? err : len;
}

static ssize_t kho_test_ctl_read(struct file *file, char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&kho_test_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, kho_test_result,
				      strlen(kho_test_result));
	mutex_unlock(&kho_test_lock);
	return ret;
}

static const struct file_operations kho_test_ctl_fops = {
	.owner = THIS_MODULE,
	.write = kho_test_ctl_write,
	.read = kho_test_ctl_read,
};

static int __init kho_test_init(void)
{
	struct dentry *dir;

	/* Also without KHO: "fill" still shows that all memory is usable. */
	register_reboot_notifier(&kho_test_reboot_nb);
	dir = debugfs_create_dir("kho_test", NULL);
	debugfs_create_file("ctl", 0600, dir, NULL, &kho_test_ctl_fops);
	return 0;
}
late_initcall(kho_test_init);
