// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover (KHO): the outgoing side's preservation API.
 *
 * kho_preserve_*() and kho_unpreserve_*() set and clear blocks in this
 * kernel's tracker (kho_out.tracker); nothing else happens at reboot.
 * See "Kexec handover" in kexec_handover.c.
 */

#define pr_fmt(fmt) "KHO: " fmt

#include <linux/export.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kexec_handover.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "kexec_handover_internal.h"

static int kho_preserve_block(unsigned long pfn, unsigned int order)
{
	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	/* The next kernel boots here: callers move such memory first. */
	if (kho_scratch_overlaps(PFN_PHYS(pfn), PAGE_SIZE << order))
		return -EINVAL;
	return kho_tracker_set(&kho_out.tracker, pfn, order);
}

/**
 * kho_preserve_folio - preserve a folio across kexec
 * @folio: the folio; it must not be in a scratch area
 *
 * The next kernel gets it back, with its order, from kho_restore_folio().
 * The caller keeps its reference until the reboot.
 *
 * Context: may sleep.
 * Return: 0; -EOPNOTSUPP when KHO is off; -EINVAL for memory in a scratch
 * area; -EEXIST if already preserved; -ENOMEM.
 */
int kho_preserve_folio(struct folio *folio)
{
	return kho_preserve_block(folio_pfn(folio), folio_order(folio));
}
EXPORT_SYMBOL_GPL(kho_preserve_folio);

/**
 * kho_unpreserve_folio - undo kho_preserve_folio()
 * @folio: the folio
 *
 * Context: any; never sleeps.
 * Return: 0; -EOPNOTSUPP when KHO is off; -ENOENT if @folio was not
 * preserved as a whole.
 */
int kho_unpreserve_folio(struct folio *folio)
{
	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	return kho_tracker_clear(&kho_out.tracker, folio_pfn(folio),
				 folio_order(folio));
}
EXPORT_SYMBOL_GPL(kho_unpreserve_folio);

/**
 * kho_preserve_pages - preserve a range of pages across kexec
 * @page: first page
 * @nr_pages: number of pages
 *
 * The range is recorded as the largest naturally aligned blocks that fit;
 * the next kernel gets it back as order-0 pages from kho_restore_pages().
 * On failure nothing stays preserved.
 *
 * Context: may sleep.
 * Return: 0; -EINVAL for an empty range or memory in a scratch area;
 * -EOPNOTSUPP when KHO is off; -EEXIST if part of it is preserved
 * already; -ENOMEM.
 */
int kho_preserve_pages(struct page *page, unsigned long nr_pages)
{
	unsigned long pfn = page_to_pfn(page), end = pfn + nr_pages, p, q;
	unsigned int order;
	int err;

	if (!nr_pages)
		return -EINVAL;
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		err = kho_preserve_block(p, order);
		if (err)
			goto err_unpreserve;
	}
	return 0;

err_unpreserve:
	for (q = pfn; q < p; q += 1UL << order) {
		order = kho_range_order(q, end - q);
		kho_tracker_clear(&kho_out.tracker, q, order);
	}
	return err;
}

/**
 * kho_unpreserve_pages - undo kho_preserve_pages()
 * @page: first page
 * @nr_pages: number of pages, as preserved
 *
 * Context: any; never sleeps.
 * Return: 0; -EOPNOTSUPP when KHO is off; -ENOENT (and nothing changed)
 * if the range was not preserved exactly so.
 */
int kho_unpreserve_pages(struct page *page, unsigned long nr_pages)
{
	unsigned long pfn = page_to_pfn(page), end = pfn + nr_pages, p;
	unsigned int order;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!nr_pages)
		return -ENOENT;
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		if (!kho_tracker_test(kho_out.tracker.root, p, order))
			return -ENOENT;
	}
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		kho_tracker_clear(&kho_out.tracker, p, order);
	}
	return 0;
}

static void kho_vmalloc_free_chunks(struct kho_vmalloc_chunk_ser *chunk,
				    bool unpreserve)
{
	while (chunk) {
		struct kho_vmalloc_chunk_ser *next =
			chunk->next ? phys_to_virt(chunk->next) : NULL;

		if (unpreserve)
			kho_unpreserve_pages(virt_to_page(chunk), 1);
		free_page((unsigned long)chunk);
		chunk = next;
	}
}

/**
 * kho_preserve_vmalloc - preserve a vmalloc area across kexec
 * @ptr: start of the area, as vmalloc() returned it
 * @preservation: filled in with the handle the next kernel needs
 *
 * The area's pages and a list of their addresses (in pages of its own)
 * are preserved; the caller hands @preservation over in its own preserved
 * data. The next kernel maps the same pages again with
 * kho_restore_vmalloc().
 *
 * Context: may sleep.
 * Return: 0; -EINVAL if @ptr is not the start of a vmalloc area;
 * -EOPNOTSUPP for huge-page areas or when KHO is off; -ENOMEM; the errors
 * of kho_preserve_pages().
 */
int kho_preserve_vmalloc(void *ptr, struct kho_vmalloc *preservation)
{
	const unsigned int per_chunk =
		ARRAY_SIZE(((struct kho_vmalloc_chunk_ser *)0)->phys);
	struct kho_vmalloc_chunk_ser *first = NULL, *chunk, *prev = NULL;
	struct vm_struct *vm = find_vm_area(ptr);
	unsigned int i, j, done = 0;
	int err = -ENOMEM;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!vm || vm->addr != ptr || !vm->nr_pages || !vm->pages)
		return -EINVAL;
	if (is_vm_area_hugepages(ptr))
		return -EOPNOTSUPP;

	for (i = 0; i < vm->nr_pages; i += per_chunk) {
		chunk = (void *)get_zeroed_page(GFP_KERNEL);
		if (!chunk)
			goto err_free_chunks;
		if (prev)
			prev->next = virt_to_phys(chunk);
		else
			first = chunk;
		prev = chunk;
		for (j = 0; j < per_chunk && i + j < vm->nr_pages; j++)
			chunk->phys[j] = page_to_phys(vm->pages[i + j]);
		chunk->nr = j;
	}

	for (done = 0; done < vm->nr_pages; done++) {
		err = kho_preserve_pages(vm->pages[done], 1);
		if (err)
			goto err_unpreserve;
	}
	for (chunk = first; chunk;
	     chunk = chunk->next ? phys_to_virt(chunk->next) : NULL) {
		err = kho_preserve_pages(virt_to_page(chunk), 1);
		if (err)
			goto err_unpreserve_chunks;
	}

	preservation->first = virt_to_phys(first);
	preservation->total_pages = vm->nr_pages;
	preservation->flags = 0;
	preservation->order = 0;
	return 0;

err_unpreserve_chunks:
	for (prev = first; prev != chunk; prev = phys_to_virt(prev->next))
		kho_unpreserve_pages(virt_to_page(prev), 1);
err_unpreserve:
	while (done--)
		kho_unpreserve_pages(vm->pages[done], 1);
err_free_chunks:
	kho_vmalloc_free_chunks(first, false);
	return err;
}
EXPORT_SYMBOL_GPL(kho_preserve_vmalloc);

/**
 * kho_unpreserve_vmalloc - undo kho_preserve_vmalloc()
 * @preservation: the handle kho_preserve_vmalloc() filled in; cleared
 *
 * Context: may sleep.
 * Return: 0; -EINVAL for an empty handle; -EOPNOTSUPP when KHO is off.
 */
int kho_unpreserve_vmalloc(struct kho_vmalloc *preservation)
{
	struct kho_vmalloc_chunk_ser *chunk;
	u64 i;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!preservation->first)
		return -EINVAL;

	for (chunk = phys_to_virt(preservation->first); chunk;
	     chunk = chunk->next ? phys_to_virt(chunk->next) : NULL)
		for (i = 0; i < chunk->nr; i++)
			kho_unpreserve_pages(pfn_to_page(PHYS_PFN(chunk->phys[i])), 1);
	kho_vmalloc_free_chunks(phys_to_virt(preservation->first), true);
	memset(preservation, 0, sizeof(*preservation));
	return 0;
}
EXPORT_SYMBOL_GPL(kho_unpreserve_vmalloc);

/**
 * kho_alloc_preserve - allocate zeroed memory and preserve it
 * @size: how much, rounded up to a power-of-two number of pages
 *
 * For a handler's own description of what it hands over (a subtree FDT,
 * a serialized record) whose physical address the next kernel gets.
 *
 * Context: may sleep.
 * Return: the memory, in the linear map, or an ERR_PTR.
 */
void *kho_alloc_preserve(size_t size)
{
	struct folio *folio;
	int err;

	if (!size)
		return ERR_PTR(-EINVAL);
	folio = folio_alloc(GFP_KERNEL | __GFP_ZERO, get_order(size));
	if (!folio)
		return ERR_PTR(-ENOMEM);
	err = kho_preserve_folio(folio);
	if (err) {
		folio_put(folio);
		return ERR_PTR(err);
	}
	return folio_address(folio);
}
EXPORT_SYMBOL_GPL(kho_alloc_preserve);

/**
 * kho_unpreserve_free - undo kho_alloc_preserve()
 * @mem: what it returned, or NULL
 *
 * Context: may sleep.
 */
void kho_unpreserve_free(void *mem)
{
	struct folio *folio;

	if (!mem)
		return;
	folio = virt_to_folio(mem);
	kho_unpreserve_folio(folio);
	folio_put(folio);
}
EXPORT_SYMBOL_GPL(kho_unpreserve_free);

/**
 * kho_is_preserved - is a range of memory preserved for the next kernel?
 * @phys: its start
 * @size: its length in bytes
 *
 * For callers that hand over pointers into memory others preserved: an
 * IOMMU page table pointing at a device's DMA buffers, for example.
 *
 * Context: must not race with the unpreservation of that memory.
 * Return: true if every page of the range is in a preserved block.
 */
bool kho_is_preserved(phys_addr_t phys, size_t size)
{
	return kho_is_enabled() && size &&
	       kho_range_tracked(kho_out.tracker.root, phys, size);
}
