// SPDX-License-Identifier: GPL-2.0
/*
 * Intel IOMMU live update, incoming kernel: at boot, read what the
 * previous kernel handed over and take over the translation of its
 * devices; then keep track of those adopted translations until they end
 * (see the DOC in liveupdate.c).
 */

#define pr_fmt(fmt) "DMAR-LU: " fmt

#include <linux/iommu_liveupdate.h>
#include <linux/kexec_handover.h>
#include <linux/libfdt.h>
#include <linux/pci.h>
#include <linux/xarray.h>

#include "liveupdate.h"
#include "../dma-iommu.h"
#include "../iommu-pages.h"

/* The adopted devices: see liveupdate.h for their locking. */
struct ilu_adopted ilu_in[INTEL_IOMMU_LU_MAX_DEVICES];
unsigned int ilu_in_nr;

/* The handed-over device list: only boot code (init_dmars()) uses it. */
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

/*
 * Incoming: walk the adopted tables under @table (of @level), counting
 * what they map in @w; check each table page is preserved, or with
 * @restore take it over as a page table of this kernel.
 */
int ilu_tables(phys_addr_t table, int level, bool restore,
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

struct ilu_adopted *ilu_find(u16 segment, u8 bus, u8 devfn)
{
	unsigned int i;

	for (i = 0; i < ilu_in_nr; i++)
		if (ilu_in[i].live && ilu_in[i].segment == segment &&
		    ilu_in[i].bus == bus && ilu_in[i].devfn == devfn)
			return &ilu_in[i];
	return NULL;
}

/* Stop the adopted translation of @a: clear its entry, flush. */
void ilu_release(struct ilu_adopted *a)
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
