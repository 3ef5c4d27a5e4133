/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kexec handover (KHO): hand memory and named blobs over to the next
 * kernel through kexec. See Documentation/core-api/kho.rst.
 */
#ifndef _LINUX_KEXEC_HANDOVER_H
#define _LINUX_KEXEC_HANDOVER_H

#include <linux/errno.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/list.h>
#include <linux/types.h>

struct folio;
struct kexec_buf;
struct page;
struct resource;

/**
 * struct kho_dma_deferred - something freed only once no device kept
 *			     running through the update does DMA
 * @release: called, in process context, once the last kho_dma_hold()
 *	     is dropped; it frees what it kept, the structure included
 *
 * See kho_dma_defer().
 */
struct kho_dma_deferred {
	void (*release)(struct kho_dma_deferred *deferred);
	/* private: KHO's list of deferred releases, under its DMA lock */
	struct list_head list;
};

#ifdef CONFIG_KEXEC_HANDOVER
bool kho_is_enabled(void);
const char *kho_exec_from(void);
u64 kho_exec_count(void);

int kho_preserve_folio(struct folio *folio);
int kho_unpreserve_folio(struct folio *folio);
int kho_preserve_pages(struct page *page, unsigned long nr_pages);
int kho_unpreserve_pages(struct page *page, unsigned long nr_pages);
int kho_preserve_vmalloc(void *ptr, struct kho_vmalloc *preservation);
int kho_unpreserve_vmalloc(struct kho_vmalloc *preservation);

struct folio *kho_restore_folio(phys_addr_t phys);
unsigned long kho_restore_folios(const phys_addr_t *phys, unsigned long nr,
				 unsigned int order, struct folio **folios);
struct page *kho_restore_pages(phys_addr_t phys, unsigned long nr_pages);
void *kho_restore_vmalloc(const struct kho_vmalloc *preservation);
unsigned long kho_release_unclaimed(void);
void kho_trim_tracker(void);
void kho_dma_hold(void);
void kho_dma_unhold(void);
bool kho_dma_held(void);
bool kho_dma_defer(struct kho_dma_deferred *deferred);
bool kho_is_preserved(phys_addr_t phys, size_t size);
bool kho_is_restorable(phys_addr_t phys, size_t size);
void *kho_alloc_preserve(size_t size);
void kho_unpreserve_free(void *mem);

int kho_add_subtree(const char *name, void *fdt);
void kho_remove_subtree(void *fdt);
int kho_retrieve_subtree(const char *name, phys_addr_t *phys);

/* Hooks for the architecture, mm and kexec; not for subsystems. */
void kho_populate(u64 fdt_phys, u64 fdt_len, u64 scratch_phys, u64 scratch_len);
void kho_memblock_setup(void);
void kho_reserve_preserved(void);
void kho_memory_init(void);
void memmap_init_kho_scratch(phys_addr_t base, phys_addr_t size);
int kho_get_handover(u64 *fdt_addr, u64 *fdt_size, u64 *scratch_addr,
		     u64 *scratch_size);
int kho_locate_mem_hole(struct kexec_buf *kbuf,
			int (*func)(struct resource *, void *));

#ifdef CONFIG_KEXEC_HANDOVER_TEST
/* Test only: the hook through which lib/test_kho.c damages the handover. */
int kho_test_damage_out(int (*damage)(void *fdt,
				      struct kho_scratch_ser *scratch,
				      void *arg),
			void *arg);
#endif
#else
static inline bool kho_is_enabled(void)
{
	return false;
}

static inline int kho_preserve_folio(struct folio *folio)
{
	return -EOPNOTSUPP;
}

static inline int kho_unpreserve_folio(struct folio *folio)
{
	return -EOPNOTSUPP;
}

static inline int kho_preserve_pages(struct page *page, unsigned long nr_pages)
{
	return -EOPNOTSUPP;
}

static inline int kho_unpreserve_pages(struct page *page,
				       unsigned long nr_pages)
{
	return -EOPNOTSUPP;
}

static inline int kho_preserve_vmalloc(void *ptr,
				       struct kho_vmalloc *preservation)
{
	return -EOPNOTSUPP;
}

static inline int kho_unpreserve_vmalloc(struct kho_vmalloc *preservation)
{
	return -EOPNOTSUPP;
}

static inline struct folio *kho_restore_folio(phys_addr_t phys)
{
	return NULL;
}

static inline unsigned long kho_restore_folios(const phys_addr_t *phys,
					       unsigned long nr,
					       unsigned int order,
					       struct folio **folios)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		folios[i] = NULL;
	return 0;
}

static inline struct page *kho_restore_pages(phys_addr_t phys,
					     unsigned long nr_pages)
{
	return NULL;
}

static inline void *kho_restore_vmalloc(const struct kho_vmalloc *preservation)
{
	return NULL;
}

static inline bool kho_is_preserved(phys_addr_t phys, size_t size)
{
	return false;
}

static inline bool kho_is_restorable(phys_addr_t phys, size_t size)
{
	return false;
}

static inline void *kho_alloc_preserve(size_t size)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void kho_unpreserve_free(void *mem) { }

static inline unsigned long kho_release_unclaimed(void)
{
	return 0;
}

static inline void kho_trim_tracker(void) { }

static inline void kho_dma_hold(void) { }
static inline void kho_dma_unhold(void) { }

static inline bool kho_dma_held(void)
{
	return false;
}

static inline bool kho_dma_defer(struct kho_dma_deferred *deferred)
{
	return false;
}

static inline int kho_add_subtree(const char *name, void *fdt)
{
	return -EOPNOTSUPP;
}

static inline void kho_remove_subtree(void *fdt) { }

static inline int kho_retrieve_subtree(const char *name, phys_addr_t *phys)
{
	return -EOPNOTSUPP;
}

static inline void kho_populate(u64 fdt_phys, u64 fdt_len, u64 scratch_phys,
				u64 scratch_len) { }
static inline void kho_memblock_setup(void) { }
static inline void kho_reserve_preserved(void) { }
static inline void kho_memory_init(void) { }

static inline int kho_get_handover(u64 *fdt_addr, u64 *fdt_size,
				   u64 *scratch_addr, u64 *scratch_size)
{
	return -EOPNOTSUPP;
}

static inline int kho_locate_mem_hole(struct kexec_buf *kbuf,
				      int (*func)(struct resource *, void *))
{
	return 1;
}
#endif /* CONFIG_KEXEC_HANDOVER */

#endif /* _LINUX_KEXEC_HANDOVER_H */
