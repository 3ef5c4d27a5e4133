// SPDX-License-Identifier: GPL-2.0
/*
 * Intel IOMMU live update, outgoing kernel: check a device whose
 * translation is to be kept, and at freeze record its context entry and
 * preserve the tables it uses (see the DOC in liveupdate.c).
 */

#define pr_fmt(fmt) "DMAR-LU: " fmt

#include <linux/iommu.h>
#include <linux/iommu_liveupdate.h>
#include <linux/kexec_handover.h>
#include <linux/libfdt.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "liveupdate.h"
#include "../iommu-priv.h"

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

/* The devices handed over, and the table pages they keep: under ilu_lock. */
static LIST_HEAD(ilu_devs);
static unsigned int ilu_nr;
static DEFINE_XARRAY(ilu_pages);	/* pfn -> number of users */

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
int ilu_write_fdt(void *fdt)
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
