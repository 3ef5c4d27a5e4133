// SPDX-License-Identifier: GPL-2.0
/*
 * Intel IOMMU live update, incoming kernel: wrap an adopted translation
 * in a domain of this kernel, verify the mappings its owner makes again,
 * and attach it (see the DOC in liveupdate.c).
 */

#define pr_fmt(fmt) "DMAR-LU: " fmt

#include <linux/iommu.h>
#include <linux/iommu_liveupdate.h>
#include <linux/kexec_handover.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "liveupdate.h"
#include "../iommu-pages.h"
#include "../iommu-priv.h"

/**
 * iommu_liveupdate_adopt_domain - wrap a device's adopted translation in a
 *				   domain
 * @dev: a device whose DMA translation this kernel adopted at boot
 *
 * The domain is an unmanaged paging domain (as iommufd allocates) whose
 * tables and domain id are those the device is translating with. Until it
 * is attached to @dev, maps only verify (see the DOC in liveupdate.c); its
 * owner then calls iommu_liveupdate_domain_verified() and attaches it,
 * after claiming the device with iommu_device_claim_dma_owner_adopted().
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
