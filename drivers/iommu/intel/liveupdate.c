// SPDX-License-Identifier: GPL-2.0
/*
 * Intel IOMMU: keep DMA translation running through a live update.
 */

/**
 * DOC: Intel IOMMU live update
 *
 * A device preserved for a live update (by the VFIO file handler) keeps
 * doing DMA through the kexec, and the IOMMU keeps translating it with
 * the tables its owner set up: at no moment is translation off, and no
 * table the device uses is freed.
 *
 * Outgoing kernel. The first preserved device takes the global object
 * %INTEL_IOMMU_LU_COMPATIBLE, which hands a KHO subtree over. At freeze,
 * inside reboot(), each device's legacy-mode context entry is recorded,
 * and the root table, the context table and every page table it leads
 * to are preserved; every page those tables map must already be
 * preserved (a memfd in a LUO session), or the freeze fails with EBUSY
 * and the reboot with it. The shutdown that follows leaves translation
 * on for remapping units with preserved devices (and the PCI core leaves
 * their bus mastering on).
 *
 * Incoming kernel. When a remapping unit comes up with translation still
 * on and the subtree lists devices behind it, translation stays on: the
 * driver builds its new root and context tables with just those devices'
 * context entries, checked against what the hardware still points at,
 * switches the unit to them and invalidates its caches. The entries lead
 * to the old page tables, which stay reserved; before an entry is
 * installed, every table page it leads to and every page they map must be
 * preserved, or the device is blocked. A device still bus mastering that
 * was not adopted is blocked too, until a domain is attached to it or its
 * driver maps DMA (attach is deferred, as after kdump). Every other device
 * behind the unit, the disk or NIC next to a preserved device, gets its
 * domain at probe as after a cold boot. A subtree that cannot be read,
 * or none at all on a unit found translating (the handover refused, or
 * kho=off), leaves such units on with empty tables after one error line:
 * the devices still bus mastering are blocked, and the PCI core stops
 * and resets them.
 *
 * The adopted translation lasts until the device's file is finished in
 * its session, or until any domain is attached to the device: then its
 * bus mastering is turned off, its context entry cleared and the caches
 * invalidated, and the old tables are released with the rest of the
 * unclaimed memory.
 *
 * While a device runs on an adopted translation, nothing in this kernel
 * pins the memory it writes: KHO is told (kho_dma_hold()). Until the last
 * such translation ends, the file handlers hold the folios of their files,
 * retrieved or not (liveupdate_hold_for_dma()), and the rest of the
 * preserved memory (these tables, what no handler reads) waits for KHO's
 * final release, which waits too.
 *
 * Retrieving the device (iommu_liveupdate_adopt_domain()) instead turns
 * the old tables into a domain of this kernel with no hardware write:
 * the table pages are restored, the domain keeps the old root table and
 * domain id, and its owner (iommufd) then maps its preserved mappings
 * again. While the domain is adopting, a map only checks that the tables
 * map that range to those pages with those permissions, and an unmap
 * leaves them alone; iommu_liveupdate_domain_verified() then checks that
 * the tables map nothing else. Attaching the domain to its device only
 * links it (the context entry already points at its tables); from then
 * on it is an ordinary domain. A domain freed before it was attached
 * ends the adopted translation first, as above.
 *
 * Limits: legacy (not scalable) mode, second-level tables, a device alone
 * in its IOMMU group and in its domain, up to %INTEL_IOMMU_LU_MAX_DEVICES
 * devices.
 */

#define pr_fmt(fmt) "DMAR-LU: " fmt

#include <linux/bitfield.h>
#include <linux/iommu.h>
#include <linux/iommu_liveupdate.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/intel_iommu.h>
#include <linux/libfdt.h>
#include <linux/liveupdate.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "iommu.h"
#include "../dma-iommu.h"
#include "../iommu-pages.h"
#include "../iommu-priv.h"

/*
 * The fields of a legacy-mode context entry this code reads from the
 * quadwords the handover carries (VT-d spec 9.3, "Context Entry"):
 * iommu.h only has setters on a struct context_entry.
 */
#define ILU_CTX_LO_PRESENT	BIT_ULL(0)		/* P */
#define ILU_CTX_LO_TT		GENMASK_ULL(3, 2)	/* translation type */
#define ILU_CTX_LO_SSPTPTR	VTD_PAGE_MASK		/* page table root */
#define ILU_CTX_HI_AW		GENMASK_ULL(2, 0)	/* address width (AGAW) */
#define ILU_CTX_HI_DID		GENMASK_ULL(23, 8)	/* domain id */

/* The low quadword of a root entry (VT-d spec 9.1, "Root Entry"). */
#define ILU_ROOT_LO_PRESENT	BIT_ULL(0)		/* P */
#define ILU_ROOT_LO_CTP		VTD_PAGE_MASK		/* context table */

/* How many levels of page tables the context entry @hi leads to. */
static inline int ilu_ctx_levels(u64 hi)
{
	return agaw_to_level(FIELD_GET(ILU_CTX_HI_AW, hi));
}

/**
 * struct ilu_dev - a device whose translation this kernel hands over
 * @list: in ilu_devs
 * @dev: the device
 * @ser: what the next kernel gets
 * @pfns: the pages it keeps preserved (tables), each counted in ilu_pages
 * @nr: entries in @pfns
 * @cap: room in @pfns
 */
struct ilu_dev {
	struct list_head list;
	struct device *dev;
	struct intel_iommu_lu_dev_ser ser;
	unsigned long *pfns;
	unsigned int nr;
	unsigned int cap;
};

/**
 * struct ilu_adopted - a device whose translation this kernel took over
 * @iommu: its remapping unit
 * @segment: PCI segment
 * @bus: PCI bus
 * @devfn: PCI device and function
 * @did: the domain id of its context entry
 * @live: the context entry is still the adopted one
 * @domain: the domain wrapping its tables, until it is attached
 * @mapped: 4 KiB pages its tables map
 * @verified: of those, pages the domain's owner mapped again (verified)
 * @bad: a mapping did not match the tables
 */
struct ilu_adopted {
	struct intel_iommu *iommu;
	u16 segment;
	u8 bus;
	u8 devfn;
	u16 did;
	bool live;
	struct dmar_domain *domain;
	unsigned long mapped;
	unsigned long verified;
	bool bad;
};

/*
 * ilu_lock protects the outgoing list, page counts and subtree, and the
 * incoming table of adopted devices. Taken inside LUO's locks (the
 * global's ops run under them), never around a call into LUO.
 */
static DEFINE_MUTEX(ilu_lock);
static LIST_HEAD(ilu_devs);
static unsigned int ilu_nr;
static DEFINE_XARRAY(ilu_pages);	/* pfn -> number of users */

static struct ilu_adopted ilu_in[INTEL_IOMMU_LU_MAX_DEVICES];
static unsigned int ilu_in_nr;
static const struct intel_iommu_lu_dev_ser *ilu_in_devs;
static unsigned int ilu_in_count;
static struct folio *ilu_in_fdt;
static bool ilu_in_parsed;
static bool ilu_in_refused;
/*
 * Devices found bus mastering at probe behind a unit that kept
 * translating, without an adopted translation: blocked, and stopped by
 * the PCI core when nothing vouches for them. Under ilu_lock.
 */
static u32 ilu_stray[INTEL_IOMMU_LU_MAX_DEVICES];
static unsigned int ilu_stray_nr;

/* Outgoing: preserve a page, counted; remember it for @d. */
static int ilu_page_get(struct ilu_dev *d, phys_addr_t phys)
{
	unsigned long pfn = PHYS_PFN(phys);
	unsigned long users = xa_to_value(xa_load(&ilu_pages, pfn));
	int err;

	if (d->nr == d->cap) {
		unsigned int cap = max(16U, d->cap * 2);
		unsigned long *pfns = krealloc_array(d->pfns, cap, sizeof(*pfns),
						     GFP_KERNEL);

		if (!pfns)
			return -ENOMEM;
		d->pfns = pfns;
		d->cap = cap;
	}
	if (!users) {
		err = kho_preserve_pages(pfn_to_page(pfn), 1);
		if (err)
			return err;
	}
	err = xa_err(xa_store(&ilu_pages, pfn, xa_mk_value(users + 1),
			      GFP_KERNEL));
	if (err) {
		if (!users)
			kho_unpreserve_pages(pfn_to_page(pfn), 1);
		return err;
	}
	d->pfns[d->nr++] = pfn;
	return 0;
}

static void ilu_page_put(unsigned long pfn)
{
	unsigned long users = xa_to_value(xa_load(&ilu_pages, pfn));

	if (users > 1) {
		xa_store(&ilu_pages, pfn, xa_mk_value(users - 1), GFP_KERNEL);
		return;
	}
	xa_erase(&ilu_pages, pfn);
	kho_unpreserve_pages(pfn_to_page(pfn), 1);
}

static void ilu_dev_free(struct ilu_dev *d)
{
	unsigned int i;

	for (i = 0; i < d->nr; i++)
		ilu_page_put(d->pfns[i]);
	kfree(d->pfns);
	kfree(d);
}

/* Preserve a page table and what it leads to; check what it maps. */
static int ilu_preserve_tables(struct ilu_dev *d, phys_addr_t table, int level)
{
	struct dma_pte *pte = phys_to_virt(table);
	int i, err;

	err = ilu_page_get(d, table);
	if (err)
		return err;
	for (i = 0; i < (1 << LEVEL_STRIDE); i++) {
		phys_addr_t phys;

		if (!dma_pte_present(&pte[i]))
			continue;
		phys = dma_pte_addr(&pte[i]);
		if (level > 1 && !dma_pte_superpage(&pte[i])) {
			err = ilu_preserve_tables(d, phys, level - 1);
			if (err)
				return err;
		} else if (!kho_is_preserved(phys, level_size(level) << VTD_PAGE_SHIFT)) {
			dev_warn(d->dev, "DMA to memory that is not preserved (%pa): preserve it first\n",
				 &phys);
			return -EBUSY;
		}
	}
	cond_resched();
	return 0;
}

/* Rewrite the subtree from ilu_devs. */
static int ilu_write_fdt(void *fdt)
{
	struct intel_iommu_lu_dev_ser *p;
	struct ilu_dev *d;
	int err;

	err = fdt_create(fdt, PAGE_SIZE);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", INTEL_IOMMU_LU_COMPATIBLE);
	err |= fdt_property_placeholder(fdt, "devices", ilu_nr * sizeof(*p),
					(void **)&p);
	if (!err) {
		list_for_each_entry(d, &ilu_devs, list) {
			*p = d->ser;
			p++;
		}
	}
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	return err ? -ENOSPC : 0;
}

static struct liveupdate_subtree ilu_subtree = {
	.name = INTEL_IOMMU_LU_SUBTREE,
	.lock = &ilu_lock,
	.write = ilu_write_fdt,
};

static int ilu_count_dev(struct device *dev, void *data)
{
	(*(int *)data)++;
	return 0;
}

/**
 * iommu_liveupdate_check_device - can this device's translation be kept?
 * @dev: the device, attached to the domain it will use through the update
 *
 * Context: may sleep.
 * Return: 0; -EOPNOTSUPP if it is not a PCI device behind an Intel IOMMU
 * in legacy mode attached to a second-level paging domain; -EBUSY if
 * other devices share its IOMMU group or its domain.
 */
int iommu_liveupdate_check_device(struct device *dev)
{
	struct device_domain_info *info, *other;
	struct iommu_domain *domain;
	struct iommu_group *group;
	struct dmar_domain *dmar;
	unsigned long flags;
	int count = 0;

	if (!dev_is_pci(dev) || !device_iommu_mapped(dev) ||
	    dev_iommu_ops(dev) != &intel_iommu_ops)
		return -EOPNOTSUPP;
	info = dev_iommu_priv_get(dev);
	if (!info || sm_supported(info->iommu))
		return -EOPNOTSUPP;
	domain = iommu_get_domain_for_dev(dev);
	if (!domain || domain->type != IOMMU_DOMAIN_UNMANAGED ||
	    to_dmar_domain(domain)->use_first_level)
		return -EOPNOTSUPP;
	group = iommu_group_get(dev);
	if (!group)
		return -EOPNOTSUPP;
	iommu_group_for_each_dev(group, &count, ilu_count_dev);
	iommu_group_put(group);
	if (count != 1)
		return -EBUSY;

	/* Its tables go to the next kernel with it alone. */
	dmar = to_dmar_domain(domain);
	count = 0;
	spin_lock_irqsave(&dmar->lock, flags);
	list_for_each_entry(other, &dmar->devices, link)
		count++;
	spin_unlock_irqrestore(&dmar->lock, flags);
	if (count != 1) {
		dev_info(dev, "shares its IOMMU domain with another device: its translation cannot be kept\n");
		return -EBUSY;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_check_device);

/**
 * iommu_liveupdate_freeze_device - hand a device's translation over
 * @dev: the device, checked by iommu_liveupdate_check_device()
 *
 * Records its context entry and preserves the tables it uses. Called at
 * freeze: nothing may change the device's mappings from now on.
 *
 * Context: may sleep; iommu_liveupdate_get() held.
 * Return: 0 or a negative errno (EBUSY: a mapped page is not preserved).
 */
int iommu_liveupdate_freeze_device(struct device *dev)
{
	struct device_domain_info *info;
	struct intel_iommu *iommu;
	struct context_entry *ce;
	struct ilu_dev *d;
	phys_addr_t ce_phys = 0;
	int err;

	err = iommu_liveupdate_check_device(dev);
	if (err)
		return err;
	info = dev_iommu_priv_get(dev);
	iommu = info->iommu;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->dev = dev;

	spin_lock(&iommu->lock);
	ce = iommu_context_addr(iommu, info->bus, info->devfn, 0);
	if (ce && context_present(ce)) {
		d->ser.context[0] = ce->lo;
		d->ser.context[1] = ce->hi;
		ce_phys = virt_to_phys(ce);
	}
	spin_unlock(&iommu->lock);
	/* Multi-level translation (with or without device TLB) only. */
	if (!ce_phys ||
	    FIELD_GET(ILU_CTX_LO_TT, d->ser.context[0]) > CONTEXT_TT_DEV_IOTLB) {
		kfree(d);
		return -EOPNOTSUPP;
	}
	d->ser.reg_base = iommu->reg_phys;
	d->ser.root_phys = virt_to_phys(iommu->root_entry);
	d->ser.segment = info->segment;
	d->ser.bus = info->bus;
	d->ser.devfn = info->devfn;

	mutex_lock(&ilu_lock);
	err = -EINVAL;
	if (!ilu_subtree.fdt)
		goto err_unlock;
	err = -ENOSPC;
	if (ilu_nr == INTEL_IOMMU_LU_MAX_DEVICES)
		goto err_unlock;
	err = ilu_page_get(d, d->ser.root_phys);
	if (!err)
		err = ilu_page_get(d, ce_phys & PAGE_MASK);
	if (!err)
		err = ilu_preserve_tables(d,
					  d->ser.context[0] & ILU_CTX_LO_SSPTPTR,
					  ilu_ctx_levels(d->ser.context[1]));
	if (err)
		goto err_unlock;
	list_add_tail(&d->list, &ilu_devs);
	ilu_nr++;
	err = ilu_write_fdt(ilu_subtree.fdt);
	if (err) {
		list_del(&d->list);
		ilu_nr--;
		ilu_write_fdt(ilu_subtree.fdt);
		goto err_unlock;
	}
	mutex_unlock(&ilu_lock);
	dev_info(dev, "DMA translation kept through the live update (%u table pages)\n",
		 d->nr);
	return 0;

err_unlock:
	mutex_unlock(&ilu_lock);
	ilu_dev_free(d);
	return err;
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_freeze_device);

/**
 * iommu_liveupdate_unfreeze_device - undo iommu_liveupdate_freeze_device()
 * @dev: the device
 *
 * Context: may sleep.
 */
void iommu_liveupdate_unfreeze_device(struct device *dev)
{
	struct ilu_dev *d, *tmp;

	mutex_lock(&ilu_lock);
	list_for_each_entry_safe(d, tmp, &ilu_devs, list) {
		if (d->dev != dev)
			continue;
		list_del(&d->list);
		ilu_nr--;
		ilu_dev_free(d);
	}
	if (ilu_subtree.fdt)
		ilu_write_fdt(ilu_subtree.fdt);
	mutex_unlock(&ilu_lock);
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_unfreeze_device);

/**
 * intel_iommu_lu_frozen - does this unit translate DMA of a device whose
 *			   translation is handed over?
 * @iommu: a remapping unit
 *
 * Context: the kexec shutdown, other CPUs stopped: reads without locking.
 * Return: true if its translation must stay on through the kexec.
 */
bool intel_iommu_lu_frozen(struct intel_iommu *iommu)
{
	struct ilu_dev *d;

	list_for_each_entry(d, &ilu_devs, list)
		if (d->ser.reg_base == iommu->reg_phys)
			return true;
	return false;
}

/**
 * intel_iommu_lu_keeps_translation - does this unit carry preserved DMA?
 * @iommu: a remapping unit whose translation the previous kernel left on
 *
 * Context: boot, from init_dmars().
 * Return: true if translation must stay on: devices behind the unit were
 * preserved, or the handed-over state cannot be read (then the unit gets
 * empty tables and blocks all DMA).
 */
bool __init intel_iommu_lu_keeps_translation(struct intel_iommu *iommu)
{
	const char *why = NULL;
	phys_addr_t phys;
	unsigned int i;
	const void *p;
	void *fdt;
	int len;

	if (!ilu_in_parsed) {
		ilu_in_parsed = true;
		/*
		 * Only a kernel that kept a device running leaves translation
		 * on at a kexec: without its state (the handover refused, or
		 * kho=off), what the unit translates is unknown.
		 */
		if (kho_retrieve_subtree(INTEL_IOMMU_LU_SUBTREE, &phys))
			why = "not handed over: the handover was refused, or KHO is off";
		else
			ilu_in_fdt = kho_restore_folio(phys);
		fdt = ilu_in_fdt ? folio_address(ilu_in_fdt) : NULL;
		if (!why && !fdt)
			why = "its blob is not preserved";
		else if (!why && (fdt_check_header(fdt) || fdt_totalsize(fdt) > PAGE_SIZE))
			why = "its blob is not an FDT";
		else if (!why && fdt_node_check_compatible(fdt, 0, INTEL_IOMMU_LU_COMPATIBLE))
			why = "unknown format";
		p = why ? NULL : fdt_getprop(fdt, 0, "devices", &len);
		if (!why && (!p || len % sizeof(*ilu_in_devs) ||
			     len / sizeof(*ilu_in_devs) > INTEL_IOMMU_LU_MAX_DEVICES))
			why = "bad device list";
		if (why) {
			pr_err("previous kernel's IOMMU state refused (%s): its devices stay blocked\n",
			       why);
			ilu_in_refused = true;
		} else {
			ilu_in_devs = p;
			ilu_in_count = len / sizeof(*ilu_in_devs);
		}
	}
	if (ilu_in_refused)
		return true;
	for (i = 0; i < ilu_in_count; i++)
		if (ilu_in_devs[i].reg_base == iommu->reg_phys)
			return true;
	return false;
}

/**
 * struct ilu_walk - what a walk of adopted tables found
 * @mapped: 4 KiB pages mapped
 * @leaves: entries mapping them (fewer with large pages)
 * @seen: checking walk: the table pages met, each must be met once
 * @check_leaves: checking walk: what the tables map must be preserved too
 */
struct ilu_walk {
	unsigned long mapped;
	unsigned long leaves;
	struct xarray seen;
	bool check_leaves;
};

/*
 * Incoming: walk the adopted tables under @table (of @level), counting
 * what they map in @w; check each table page is preserved, or with
 * @restore take it over as a page table of this kernel.
 */
static int ilu_tables(phys_addr_t table, int level, bool restore,
		      struct ilu_walk *w)
{
	struct dma_pte *pte;
	struct page *page;
	int i, err;

	if (!restore && (!kho_is_restorable(table, VTD_PAGE_SIZE) ||
			 xa_insert(&w->seen, PHYS_PFN(table), xa_mk_value(1),
				   GFP_KERNEL)))
		return -EINVAL;
	if (restore) {
		page = kho_restore_pages(table, 1);
		if (WARN_ON(!page))
			return -EINVAL;
		__iommu_alloc_account(page, 0);
	}
	pte = phys_to_virt(table);
	for (i = 0; i < VTD_PAGE_SIZE / sizeof(*pte); i++) {
		if (!dma_pte_present(&pte[i]))
			continue;
		if (level == 1 || dma_pte_superpage(&pte[i])) {
			unsigned long pages = 1UL << (LEVEL_STRIDE * (level - 1));

			if (w->check_leaves &&
			    !kho_is_restorable(dma_pte_addr(&pte[i]),
					       pages << VTD_PAGE_SHIFT))
				return -EFAULT;
			w->mapped += pages;
			w->leaves++;
			continue;
		}
		err = ilu_tables(dma_pte_addr(&pte[i]), level - 1, restore, w);
		if (err)
			return err;
	}
	return 0;
}

/* Is the handed-over entry @s what the unit still uses? */
static const char *__init ilu_check(struct intel_iommu *iommu,
				   const struct intel_iommu_lu_dev_ser *s)
{
	u64 rtaddr = dmar_readq(iommu->reg + DMAR_RTADDR_REG);
	struct root_entry *rt;
	struct context_entry *ce;
	u64 ctp;

	if (s->reserved || s->segment != iommu->segment)
		return "malformed entry";
	if ((rtaddr & VTD_PAGE_MASK) != s->root_phys || (rtaddr & DMA_RTADDR_SMT))
		return "the unit uses another root table";
	if (!(s->context[0] & ILU_CTX_LO_PRESENT) ||
	    FIELD_GET(ILU_CTX_LO_TT, s->context[0]) > CONTEXT_TT_DEV_IOTLB ||
	    !(s->context[0] & ILU_CTX_LO_SSPTPTR) ||
	    !(cap_sagaw(iommu->cap) &
	      BIT(FIELD_GET(ILU_CTX_HI_AW, s->context[1]))) ||
	    FIELD_GET(ILU_CTX_HI_DID, s->context[1]) >= cap_ndoms(iommu->cap))
		return "bad context entry";
	rt = phys_to_virt(s->root_phys);
	ctp = rt[s->bus].lo;
	if (!(ctp & ILU_ROOT_LO_PRESENT))
		return "no context table for its bus";
	ce = (struct context_entry *)phys_to_virt(ctp & ILU_ROOT_LO_CTP) + s->devfn;
	if (ce->lo != s->context[0] || ce->hi != s->context[1])
		return "its context entry changed";
	return NULL;
}

/* Is every table page under @s's entry, and all they map, preserved? */
static const char *__init ilu_check_tables(const struct intel_iommu_lu_dev_ser *s)
{
	struct ilu_walk w = { .check_leaves = true };
	int err;

	xa_init(&w.seen);
	err = ilu_tables(s->context[0] & ILU_CTX_LO_SSPTPTR,
			 ilu_ctx_levels(s->context[1]), false, &w);
	xa_destroy(&w.seen);
	if (err == -EFAULT)
		return "its tables map memory that is not preserved";
	return err ? "its tables are not all preserved, or not a tree" : NULL;
}

/**
 * intel_iommu_lu_adopt - take over the preserved devices of a unit
 * @iommu: a unit for which intel_iommu_lu_keeps_translation() was true,
 *	   with its new (empty) root table allocated and not yet in use
 *
 * Context: boot, from init_dmars(), before the new root table is set.
 * Return: the number of devices whose translation goes on.
 */
int __init intel_iommu_lu_adopt(struct intel_iommu *iommu)
{
	unsigned int i, n = 0;

	/* A driver's first DMA mapping ends a deferred attach. */
	iommu_dma_enable_deferred_attach();
	for (i = 0; !ilu_in_refused && i < ilu_in_count; i++) {
		const struct intel_iommu_lu_dev_ser *s = &ilu_in_devs[i];
		struct context_entry *ce;
		const char *why;
		u16 did;

		if (s->reg_base != iommu->reg_phys)
			continue;
		why = ilu_check(iommu, s);
		if (!why)
			why = ilu_check_tables(s);
		if (why) {
			pr_err("%s: %04x:%02x:%02x.%d not adopted (%s): blocked\n",
			       iommu->name, s->segment, s->bus,
			       PCI_SLOT(s->devfn), PCI_FUNC(s->devfn), why);
			continue;
		}
		did = FIELD_GET(ILU_CTX_HI_DID, s->context[1]);
		spin_lock(&iommu->lock);
		ce = iommu_context_addr(iommu, s->bus, s->devfn, 1);
		if (ce) {
			ce->lo = s->context[0];
			ce->hi = s->context[1];
			__iommu_flush_cache(iommu, ce, sizeof(*ce));
			set_bit(did, iommu->domain_ids);
		}
		spin_unlock(&iommu->lock);
		if (!ce || ilu_in_nr == ARRAY_SIZE(ilu_in))
			continue;
		ilu_in[ilu_in_nr++] = (struct ilu_adopted) {
			.iommu = iommu, .segment = s->segment, .bus = s->bus,
			.devfn = s->devfn, .did = did, .live = true,
		};
		/* Preserved memory stays reserved while it does DMA. */
		kho_dma_hold();
		pr_info("%s: %04x:%02x:%02x.%d keeps its DMA translation (domain %u)\n",
			iommu->name, s->segment, s->bus, PCI_SLOT(s->devfn),
			PCI_FUNC(s->devfn), did);
		n++;
	}
	return n;
}

/* A device as the PCI core reads it: (segment << 16) | (bus << 8) | devfn */
static u32 ilu_devid(u16 segment, u8 bus, u8 devfn)
{
	return (u32)segment << 16 | PCI_DEVID(bus, devfn);
}

static struct ilu_adopted *ilu_find(u16 segment, u8 bus, u8 devfn)
{
	unsigned int i;

	for (i = 0; i < ilu_in_nr; i++)
		if (ilu_in[i].live && ilu_in[i].segment == segment &&
		    ilu_in[i].bus == bus && ilu_in[i].devfn == devfn)
			return &ilu_in[i];
	return NULL;
}

/* Stop the adopted translation of @a: clear its entry, flush. */
static void ilu_release(struct ilu_adopted *a)
{
	struct intel_iommu *iommu = a->iommu;
	struct context_entry *ce;
	bool cleared = false;

	spin_lock(&iommu->lock);
	ce = iommu_context_addr(iommu, a->bus, a->devfn, 0);
	if (ce && context_present(ce) && context_domain_id(ce) == a->did) {
		context_clear_entry(ce);
		__iommu_flush_cache(iommu, ce, sizeof(*ce));
		cleared = true;
	}
	spin_unlock(&iommu->lock);
	if (cleared) {
		iommu->flush.flush_context(iommu, a->did,
					   PCI_DEVID(a->bus, a->devfn),
					   DMA_CCMD_MASK_NOBIT,
					   DMA_CCMD_DEVICE_INVL);
		iommu->flush.flush_iotlb(iommu, a->did, 0, 0, DMA_TLB_DSI_FLUSH);
		spin_lock(&iommu->lock);
		clear_bit(a->did, iommu->domain_ids);
		spin_unlock(&iommu->lock);
	}
	a->live = false;
	kho_dma_unhold();
	pr_info("%s: %04x:%02x:%02x.%d released its adopted DMA translation\n",
		iommu->name, a->segment, a->bus, PCI_SLOT(a->devfn),
		PCI_FUNC(a->devfn));
}

/**
 * intel_iommu_lu_takeover - a domain is being attached to @info's device
 * @info: the device
 *
 * An adopted translation ends here: the caller installs its own.
 */
void intel_iommu_lu_takeover(struct device_domain_info *info)
{
	struct ilu_adopted *a;

	if (!READ_ONCE(ilu_in_nr))
		return;
	mutex_lock(&ilu_lock);
	a = ilu_find(info->segment, info->bus, info->devfn);
	if (a)
		ilu_release(a);
	mutex_unlock(&ilu_lock);
}

/**
 * intel_iommu_lu_defers_attach - must a device wait for its domain?
 * @info: a device behind a unit that kept translating through the kexec
 *
 * Only a device that may still be doing DMA waits, blocked or on its
 * adopted tables, until a domain is attached to it or its driver maps
 * DMA: one whose translation was adopted, or that the previous kernel
 * left with bus mastering on (when the handover was refused, nothing
 * else tells which devices it kept running). Every other device behind
 * the unit, the NIC or disk next to a preserved device, gets its default
 * domain at once, as after a cold boot.
 *
 * Context: device probe; may sleep.
 * Return: true if the device's attach is deferred.
 */
bool intel_iommu_lu_defers_attach(struct device_domain_info *info)
{
	bool adopted;
	u16 cmd;

	mutex_lock(&ilu_lock);
	adopted = ilu_find(info->segment, info->bus, info->devfn);
	mutex_unlock(&ilu_lock);
	if (adopted)
		return true;
	if (!dev_is_pci(info->dev) ||
	    pci_read_config_word(to_pci_dev(info->dev), PCI_COMMAND, &cmd))
		return true;
	if (!(cmd & PCI_COMMAND_MASTER))
		return false;
	mutex_lock(&ilu_lock);
	if (ilu_stray_nr < ARRAY_SIZE(ilu_stray))
		ilu_stray[ilu_stray_nr++] = ilu_devid(info->segment, info->bus,
						      info->devfn);
	mutex_unlock(&ilu_lock);
	dev_info(info->dev, "left bus mastering by the previous kernel: blocked until a domain is attached\n");
	return true;
}

/**
 * iommu_liveupdate_stray_devices - list the devices found doing DMA with
 *				    no adopted translation
 * @ids: filled with (segment << 16) | (bus << 8) | devfn of each
 * @max: room in @ids
 *
 * Devices the previous kernel left bus mastering behind a unit that kept
 * translating, whose translation this kernel did not adopt: the IOMMU
 * blocks them. The PCI core stops them when nothing vouches for them.
 *
 * Return: the number of entries filled.
 */
unsigned int iommu_liveupdate_stray_devices(u32 *ids, unsigned int max)
{
	unsigned int n;

	mutex_lock(&ilu_lock);
	n = min(max, ilu_stray_nr);
	memcpy(ids, ilu_stray, n * sizeof(*ids));
	mutex_unlock(&ilu_lock);
	return n;
}

/**
 * iommu_liveupdate_adopted - is a device's DMA still translated by tables
 *			      the previous kernel handed over?
 * @segment: PCI segment
 * @bus: PCI bus
 * @devfn: PCI device and function
 *
 * Return: true if it is.
 */
bool iommu_liveupdate_adopted(u16 segment, u8 bus, u8 devfn)
{
	bool ret;

	mutex_lock(&ilu_lock);
	ret = ilu_find(segment, bus, devfn);
	mutex_unlock(&ilu_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_adopted);

/**
 * iommu_liveupdate_adopted_devices - list the devices with adopted DMA
 *				      translation
 * @ids: filled with (segment << 16) | (bus << 8) | devfn of each
 * @max: room in @ids
 *
 * Return: the number of entries filled.
 */
unsigned int iommu_liveupdate_adopted_devices(u32 *ids, unsigned int max)
{
	unsigned int i, n = 0;

	mutex_lock(&ilu_lock);
	for (i = 0; i < ilu_in_nr && n < max; i++)
		if (ilu_in[i].live)
			ids[n++] = ilu_devid(ilu_in[i].segment, ilu_in[i].bus,
					     ilu_in[i].devfn);
	mutex_unlock(&ilu_lock);
	return n;
}

/**
 * iommu_liveupdate_release_device - end a device's adopted translation
 * @segment: PCI segment
 * @bus: PCI bus
 * @devfn: PCI device and function
 *
 * The caller has stopped the device's DMA. Its context entry is cleared,
 * so any DMA left is blocked; the old tables are released with the rest
 * of the unclaimed memory.
 *
 * Context: may sleep.
 */
void iommu_liveupdate_release_device(u16 segment, u8 bus, u8 devfn)
{
	struct ilu_adopted *a;

	mutex_lock(&ilu_lock);
	a = ilu_find(segment, bus, devfn);
	if (a)
		ilu_release(a);
	mutex_unlock(&ilu_lock);
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_release_device);

/**
 * iommu_liveupdate_adopt_domain - wrap a device's adopted translation in a
 *				   domain
 * @dev: a device whose DMA translation this kernel adopted at boot
 *
 * The domain is an unmanaged paging domain (as iommufd allocates) whose
 * tables and domain id are those the device is translating with. Until it
 * is attached to @dev, maps only verify (see the DOC above); its owner then
 * calls iommu_liveupdate_domain_verified() and attaches it, after claiming
 * the device with iommu_device_claim_dma_owner_adopted().
 *
 * Return: the domain, or an ERR_PTR: -ENOENT if @dev has no adopted
 * translation (any more), -EBUSY if it is being adopted, -EINVAL if its
 * tables cannot be taken over (the adopted translation then ends: the
 * device is blocked).
 */
struct iommu_domain *iommu_liveupdate_adopt_domain(struct device *dev)
{
	struct device_domain_info *info = dev_iommu_priv_get(dev);
	struct iommu_domain_info *di;
	struct iommu_domain *domain;
	struct dmar_domain *dmar;
	struct context_entry *ce;
	struct ilu_walk w = {};
	struct ilu_adopted *a;
	u64 lo = 0, hi = 0;
	int err, level;

	if (!info || !dev_is_pci(dev))
		return ERR_PTR(-ENOENT);
	xa_init(&w.seen);
	di = kzalloc(sizeof(*di), GFP_KERNEL);
	if (!di)
		return ERR_PTR(-ENOMEM);
	mutex_lock(&ilu_lock);
	a = ilu_find(info->segment, info->bus, info->devfn);
	err = !a ? -ENOENT : a->domain ? -EBUSY : 0;
	if (err)
		goto err_unlock;

	spin_lock(&a->iommu->lock);
	ce = iommu_context_addr(a->iommu, a->bus, a->devfn, 0);
	if (ce) {
		lo = ce->lo;
		hi = ce->hi;
	}
	spin_unlock(&a->iommu->lock);

	domain = dev_iommu_ops(dev)->domain_alloc_user(dev, 0, NULL, NULL);
	if (IS_ERR(domain)) {
		err = PTR_ERR(domain);
		goto err_unlock;
	}
	dmar = to_dmar_domain(domain);
	err = -EINVAL;
	level = ilu_ctx_levels(hi);
	if (!(lo & ILU_CTX_LO_PRESENT) || FIELD_GET(ILU_CTX_HI_DID, hi) != a->did) {
		dev_err(dev, "adopted translation not taken over: its context entry changed\n");
		goto err_release;
	}
	if (dmar->agaw != FIELD_GET(ILU_CTX_HI_AW, hi)) {
		dev_err(dev, "adopted translation not taken over: %d-level tables, this kernel uses %d\n",
			level, agaw_to_level(dmar->agaw));
		goto err_release;
	}
	err = ilu_tables(lo & ILU_CTX_LO_SSPTPTR, level, false, &w);
	xa_destroy(&w.seen);
	if (err) {
		dev_err(dev, "adopted translation not taken over: its tables are not all preserved, or not a tree\n");
		goto err_release;
	}
	w.mapped = 0;
	w.leaves = 0;
	err = ilu_tables(lo & ILU_CTX_LO_SSPTPTR, level, true, &w);
	if (WARN_ON(err)) {
		/* Some table pages are this kernel's now: leave them. */
		goto err_release;
	}

	/* The domain id the context entry holds is the domain's. */
	di->did = a->did;
	di->iommu = a->iommu;
	di->refcnt = 0;
	err = xa_err(xa_store(&dmar->iommu_array, a->iommu->seq_id, di,
			      GFP_KERNEL));
	if (WARN_ON(err))
		goto err_free;
	iommu_free_page(dmar->pgd);
	dmar->pgd = phys_to_virt(lo & ILU_CTX_LO_SSPTPTR);
	dmar->lu_adopt = a;
	a->domain = dmar;
	a->mapped = w.mapped;
	a->verified = 0;
	a->bad = false;
	mutex_unlock(&ilu_lock);
	dev_info(dev, "adopting its translation (domain %u): %lu pages mapped, %lu leaf entries\n",
		 a->did, w.mapped, w.leaves);
	return domain;

err_release:
	/* Tables that cannot be trusted: block the device now. */
	ilu_release(a);
err_free:
	iommu_domain_free(domain);
err_unlock:
	mutex_unlock(&ilu_lock);
	kfree(di);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_adopt_domain);

/**
 * intel_iommu_lu_verify - map into an adopting domain: check the tables
 * @domain: a domain from iommu_liveupdate_adopt_domain(), not yet attached
 * @iova: where
 * @paddr: to what
 * @size: how much
 * @iommu_prot: with which IOMMU_READ / IOMMU_WRITE permissions
 *
 * Return: 0 if the tables map exactly that; -EBUSY otherwise (and the
 * adoption will fail).
 */
int intel_iommu_lu_verify(struct dmar_domain *domain, unsigned long iova,
			  phys_addr_t paddr, size_t size, int iommu_prot)
{
	const u64 bits = DMA_PTE_READ | DMA_PTE_WRITE | DMA_PTE_SNP;
	struct ilu_adopted *a = domain->lu_adopt;
	unsigned long off;
	u64 want = 0;

	if (iommu_prot & IOMMU_READ)
		want |= DMA_PTE_READ;
	if (iommu_prot & IOMMU_WRITE)
		want |= DMA_PTE_WRITE;
	if (domain->set_pte_snp)
		want |= DMA_PTE_SNP;

	for (off = 0; off < size; off += VTD_PAGE_SIZE) {
		unsigned long addr = iova + off;
		struct dma_pte *pte;
		u64 mask, phys;
		int level = 0;

		pte = pfn_to_dma_pte(domain, addr >> VTD_PAGE_SHIFT, &level,
				     GFP_ATOMIC);
		if (!pte || !dma_pte_present(pte))
			goto mismatch;
		mask = (1ULL << (VTD_PAGE_SHIFT + LEVEL_STRIDE * (level - 1))) - 1;
		phys = dma_pte_addr(pte) + (addr & mask);
		if (phys != paddr + off || (pte->val & bits) != want)
			goto mismatch;
	}
	a->verified += size >> VTD_PAGE_SHIFT;
	domain->has_mappings = true;
	return 0;

mismatch:
	if (!a->bad)
		pr_err("%04x:%02x:%02x.%d: adopted tables do not map IOVA %#lx as its preserved mappings say\n",
		       a->segment, a->bus, PCI_SLOT(a->devfn),
		       PCI_FUNC(a->devfn), iova + off);
	a->bad = true;
	return -EBUSY;
}

/**
 * iommu_liveupdate_domain_verified - did the owner map all the tables map?
 * @domain: a domain from iommu_liveupdate_adopt_domain(), its mappings
 *	    made again
 *
 * Return: 0 if every mapping matched and the tables map nothing more
 * (nothing the owner does not know about); -EBUSY otherwise.
 */
int iommu_liveupdate_domain_verified(struct iommu_domain *domain)
{
	struct ilu_adopted *a = to_dmar_domain(domain)->lu_adopt;
	int err = 0;

	mutex_lock(&ilu_lock);
	if (WARN_ON(!a)) {
		err = -EINVAL;
	} else if (a->bad) {
		err = -EBUSY;
	} else if (a->verified != a->mapped) {
		pr_err("%04x:%02x:%02x.%d: adopted tables map %lu pages, its preserved mappings %lu: refused\n",
		       a->segment, a->bus, PCI_SLOT(a->devfn),
		       PCI_FUNC(a->devfn), a->mapped, a->verified);
		err = -EBUSY;
	}
	mutex_unlock(&ilu_lock);
	return err;
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_domain_verified);

/**
 * intel_iommu_lu_attach - attach an adopting domain to its device
 * @domain: the domain
 * @dev: the device
 *
 * The context entry already points at the domain's tables with its
 * domain id: link them, write nothing.
 *
 * Return: 0 or a negative errno.
 */
int intel_iommu_lu_attach(struct dmar_domain *domain, struct device *dev)
{
	struct device_domain_info *info = dev_iommu_priv_get(dev);
	struct ilu_adopted *a;
	int err;

	mutex_lock(&ilu_lock);
	a = domain->lu_adopt;
	if (!a || a->bad || a->verified != a->mapped || !a->live ||
	    info->segment != a->segment || info->bus != a->bus ||
	    info->devfn != a->devfn || info->domain) {
		mutex_unlock(&ilu_lock);
		return -EINVAL;
	}
	/*
	 * From here the domain is an ordinary one: on failure the attach
	 * blocks the device (device_block_translation() clears its context
	 * entry), and its DMA no longer needs the preserved memory held.
	 */
	a->live = false;
	a->domain = NULL;
	domain->lu_adopt = NULL;
	mutex_unlock(&ilu_lock);
	kho_dma_unhold();

	err = dmar_domain_attach_device(domain, dev);
	if (!err)
		dev_info(dev, "took over its adopted translation (domain %u)\n",
			 a->did);
	return err;
}

/**
 * intel_iommu_lu_unmap - unmap from an adopting domain
 * @domain: the domain
 *
 * The tables stay as they are (the device still uses them) and the
 * adoption fails: its owner would otherwise unpin pages they map.
 *
 * Context: may sleep (adopting domains belong to iommufd alone).
 * Return: true if @domain was still adopting.
 */
bool intel_iommu_lu_unmap(struct dmar_domain *domain)
{
	struct ilu_adopted *a;

	mutex_lock(&ilu_lock);
	a = domain->lu_adopt;
	if (a)
		a->bad = true;
	mutex_unlock(&ilu_lock);
	return a;
}

/**
 * intel_iommu_lu_domain_free - an adopting domain is freed unattached
 * @domain: the domain
 *
 * End the adopted translation (the device is blocked) before the tables
 * are freed with the domain.
 */
void intel_iommu_lu_domain_free(struct dmar_domain *domain)
{
	struct iommu_domain_info *di;
	struct ilu_adopted *a;

	if (!domain->lu_adopt)
		return;
	mutex_lock(&ilu_lock);
	a = domain->lu_adopt;
	if (a->live)
		ilu_release(a);
	a->domain = NULL;
	domain->lu_adopt = NULL;
	di = xa_erase(&domain->iommu_array, a->iommu->seq_id);
	mutex_unlock(&ilu_lock);
	kfree(di);
}

static int ilu_preserve(struct liveupdate_global *global, u64 *data)
{
	return liveupdate_subtree_preserve(&ilu_subtree, data);
}

static void ilu_unpreserve(struct liveupdate_global *global, u64 data)
{
	liveupdate_subtree_unpreserve(&ilu_subtree);
}

static void ilu_finish(struct liveupdate_global *global, u64 data,
		       bool retrieved)
{
	unsigned int i;

	mutex_lock(&ilu_lock);
	for (i = 0; i < ilu_in_nr; i++)
		if (ilu_in[i].live)
			ilu_release(&ilu_in[i]);
	mutex_unlock(&ilu_lock);
}

/* No retrieve: the translation is taken over at boot, from the subtree. */
static const struct liveupdate_global_ops ilu_ops = {
	.preserve = ilu_preserve,
	.unpreserve = ilu_unpreserve,
	.finish = ilu_finish,
};

static struct liveupdate_global ilu_global = {
	.ops = &ilu_ops,
	.compatible = INTEL_IOMMU_LU_COMPATIBLE,
};

/**
 * iommu_liveupdate_get - take the IOMMU state a preserved device needs
 *
 * Called by a file handler's preserve; the first call preserves it.
 *
 * Context: may sleep.
 * Return: 0 or a negative errno.
 */
int iommu_liveupdate_get(void)
{
	return liveupdate_global_get(&ilu_global);
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_get);

/**
 * iommu_liveupdate_put - drop what iommu_liveupdate_get() took
 *
 * Context: may sleep.
 */
void iommu_liveupdate_put(void)
{
	liveupdate_global_put(&ilu_global);
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_put);

/**
 * iommu_liveupdate_finish - a file that held the IOMMU state finished
 *
 * In the next kernel, from a file handler's finish; the last one ends
 * every adopted translation left.
 *
 * Context: may sleep.
 */
void iommu_liveupdate_finish(void)
{
	liveupdate_global_finish(&ilu_global);
}
EXPORT_SYMBOL_GPL(iommu_liveupdate_finish);

static int __init ilu_init(void)
{
	int err;

	if (!liveupdate_enabled())
		return 0;
	err = liveupdate_register_global(&ilu_global);
	if (err)
		pr_warn("cannot register the IOMMU live update state: %d\n", err);
	return 0;
}
late_initcall_sync(ilu_init);
