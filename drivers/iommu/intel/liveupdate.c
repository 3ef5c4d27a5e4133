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

#include <linux/init.h>
#include <linux/iommu_liveupdate.h>
#include <linux/liveupdate.h>
#include <linux/mutex.h>

#include "liveupdate.h"

/* The outgoing list, page counts and subtree, the adopted devices. */
DEFINE_MUTEX(ilu_lock);

struct liveupdate_subtree ilu_subtree = {
	.name = INTEL_IOMMU_LU_SUBTREE,
	.lock = &ilu_lock,
	.write = ilu_write_fdt,
};

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
