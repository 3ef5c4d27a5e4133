// SPDX-License-Identifier: GPL-2.0
/*
 * PCI devices whose DMA goes on through a live update.
 */

/**
 * DOC: PCI live update
 *
 * The PCI core's part of keeping a device running through a kexec: the
 * device keeps bus mastering (PCI_DEV_LIVEUPDATE, set at freeze) and is
 * not reset, and the next kernel learns which devices these are from the
 * global object %PCI_LU_COMPATIBLE, preserved with the first such device
 * and handed over as a KHO subtree.
 *
 * At boot, once the buses are scanned and the IOMMU is up, the next
 * kernel checks each listed device: one the IOMMU does not translate
 * with the handed-over tables (its state was refused, or the device
 * changed) is stopped (bus mastering off) and reset, so that it does no
 * DMA the kernel does not expect. If the list itself cannot be read, the
 * devices the IOMMU took over are stopped, their adopted translation
 * ended, and they are reset. Either way one line says why; the rest of
 * the handover goes on. With no list at all, or one that cannot be read,
 * the endpoints the IOMMU found still bus mastering and blocked (a kernel
 * that kept them running handed nothing over that this one accepted) are
 * stopped and reset too, unless a driver has taken them over.
 */

#define pr_fmt(fmt) "pci_lu: " fmt

#include <linux/iommu_liveupdate.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/pci.h>
#include <linux/libfdt.h>
#include <linux/liveupdate.h>
#include <linux/pci.h>
#include <linux/pci_liveupdate.h>
#include <linux/slab.h>

#include "pci.h"

/*
 * pci_lu_lock protects the outgoing list and subtree. Taken inside LUO's
 * locks (the global's ops run under them), never around a call into LUO.
 */
static DEFINE_MUTEX(pci_lu_lock);
static struct pci_dev *pci_lu_devs[PCI_LU_MAX_DEVICES];
static unsigned int pci_lu_nr;

static int pci_lu_write_fdt(void *fdt)
{
	struct pci_lu_dev_ser *p;
	unsigned int i;
	int err;

	err = fdt_create(fdt, PAGE_SIZE);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", PCI_LU_COMPATIBLE);
	err |= fdt_property_placeholder(fdt, "devices",
					pci_lu_nr * sizeof(*p), (void **)&p);
	for (i = 0; !err && i < pci_lu_nr; i++) {
		struct pci_dev *pdev = pci_lu_devs[i];

		p[i] = (struct pci_lu_dev_ser) {
			.segment = pci_domain_nr(pdev->bus),
			.bus = pdev->bus->number,
			.devfn = pdev->devfn,
			.vendor = pdev->vendor,
			.device = pdev->device,
		};
	}
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	return err ? -ENOSPC : 0;
}

static struct liveupdate_subtree pci_lu_subtree = {
	.name = PCI_LU_SUBTREE,
	.lock = &pci_lu_lock,
	.write = pci_lu_write_fdt,
};

/**
 * pci_liveupdate_freeze_device - keep a device running through the kexec
 * @pdev: the device
 *
 * Called at freeze, inside reboot(): its bus mastering stays on through
 * the kexec shutdown, and the next kernel is told about it.
 *
 * Context: may sleep; pci_liveupdate_get() held.
 * Return: 0 or a negative errno.
 */
int pci_liveupdate_freeze_device(struct pci_dev *pdev)
{
	int err;

	mutex_lock(&pci_lu_lock);
	err = -EINVAL;
	if (!pci_lu_subtree.fdt)
		goto out;
	err = -ENOSPC;
	if (pci_lu_nr == PCI_LU_MAX_DEVICES)
		goto out;
	pci_lu_devs[pci_lu_nr++] = pdev;
	err = pci_lu_write_fdt(pci_lu_subtree.fdt);
	if (err) {
		pci_lu_nr--;
		pci_lu_write_fdt(pci_lu_subtree.fdt);
		goto out;
	}
	pci_dev_assign_liveupdate(pdev, true);
out:
	mutex_unlock(&pci_lu_lock);
	return err;
}
EXPORT_SYMBOL_GPL(pci_liveupdate_freeze_device);

/**
 * pci_liveupdate_unfreeze_device - undo pci_liveupdate_freeze_device()
 * @pdev: the device
 *
 * Context: may sleep.
 */
void pci_liveupdate_unfreeze_device(struct pci_dev *pdev)
{
	unsigned int i;

	mutex_lock(&pci_lu_lock);
	for (i = 0; i < pci_lu_nr; i++) {
		if (pci_lu_devs[i] != pdev)
			continue;
		pci_lu_devs[i] = pci_lu_devs[--pci_lu_nr];
		pci_dev_assign_liveupdate(pdev, false);
		break;
	}
	if (pci_lu_subtree.fdt)
		pci_lu_write_fdt(pci_lu_subtree.fdt);
	mutex_unlock(&pci_lu_lock);
}
EXPORT_SYMBOL_GPL(pci_liveupdate_unfreeze_device);

static int pci_lu_preserve(struct liveupdate_global *global, u64 *data)
{
	return liveupdate_subtree_preserve(&pci_lu_subtree, data);
}

static void pci_lu_unpreserve(struct liveupdate_global *global, u64 data)
{
	liveupdate_subtree_unpreserve(&pci_lu_subtree);
}

/* Nothing to retrieve or finish: the next kernel reads the subtree at boot. */
static const struct liveupdate_global_ops pci_lu_ops = {
	.preserve = pci_lu_preserve,
	.unpreserve = pci_lu_unpreserve,
};

static struct liveupdate_global pci_lu_global = {
	.ops = &pci_lu_ops,
	.compatible = PCI_LU_COMPATIBLE,
};

/**
 * pci_liveupdate_get - take the PCI state a preserved device needs
 *
 * Called by a file handler's preserve; the first call preserves it.
 *
 * Context: may sleep.
 * Return: 0 or a negative errno.
 */
int pci_liveupdate_get(void)
{
	return liveupdate_global_get(&pci_lu_global);
}
EXPORT_SYMBOL_GPL(pci_liveupdate_get);

/**
 * pci_liveupdate_put - drop what pci_liveupdate_get() took
 *
 * Context: may sleep.
 */
void pci_liveupdate_put(void)
{
	liveupdate_global_put(&pci_lu_global);
}
EXPORT_SYMBOL_GPL(pci_liveupdate_put);

/**
 * pci_liveupdate_finish - a file that held the PCI state finished
 *
 * In the next kernel, from a file handler's finish.
 *
 * Context: may sleep.
 */
void pci_liveupdate_finish(void)
{
	liveupdate_global_finish(&pci_lu_global);
}
EXPORT_SYMBOL_GPL(pci_liveupdate_finish);

/* Stop a device whose DMA nobody vouches for any more, and reset it. */
static void pci_lu_stop(u16 segment, u8 bus, u8 devfn, const char *why)
{
	struct pci_dev *pdev;

	pdev = pci_get_domain_bus_and_slot(segment, bus, devfn);
	if (pdev)
		pci_clear_master(pdev);
	iommu_liveupdate_release_device(segment, bus, devfn);
	if (!pdev)
		return;
	if (pci_reset_function(pdev))
		pci_info(pdev, "%s: DMA stopped (no reset method)\n", why);
	else
		pci_info(pdev, "%s: DMA stopped and device reset\n", why);
	pci_dev_put(pdev);
}

/*
 * iommu_liveupdate_adopted_devices() and iommu_liveupdate_stray_devices()
 * name a device by its PCI segment above PCI_DEVID(bus, devfn); the bus
 * is PCI_BUS_NUM() of that.
 */
#define PCI_LU_ID_SEGMENT(id)	((u16)((id) >> 16))
#define PCI_LU_ID_DEVFN(id)	((u8)(id))

/* pci_lu_stop() for a device the IOMMU names by @id. */
static void pci_lu_stop_id(u32 id, const char *why)
{
	pci_lu_stop(PCI_LU_ID_SEGMENT(id), PCI_BUS_NUM(id),
		    PCI_LU_ID_DEVFN(id), why);
}

/*
 * Stop the devices the IOMMU found still bus mastering with nothing that
 * vouches for their DMA (no PCI state handed over): endpoints only (a
 * bridge's reset would reset what is behind it), and not once a driver
 * has bound (it has taken the device over).
 */
static void pci_lu_stop_strays(void)
{
	u32 ids[PCI_LU_MAX_DEVICES];
	unsigned int i, n;

	n = iommu_liveupdate_stray_devices(ids, ARRAY_SIZE(ids));
	for (i = 0; i < n; i++) {
		struct pci_dev *pdev;
		bool stop;

		pdev = pci_get_domain_bus_and_slot(PCI_LU_ID_SEGMENT(ids[i]),
						   PCI_BUS_NUM(ids[i]),
						   PCI_LU_ID_DEVFN(ids[i]));
		stop = pdev && !pdev->subordinate && !pdev->dev.driver;
		pci_dev_put(pdev);
		if (stop)
			pci_lu_stop_id(ids[i],
				       "left running with no state handed over");
	}
}

static int __init pci_lu_boot(void)
{
	const struct pci_lu_dev_ser *devs = NULL;
	const char *why = NULL;
	struct folio *folio;
	unsigned int i, n = 0;
	phys_addr_t phys;
	const void *fdt;
	u32 ids[PCI_LU_MAX_DEVICES];
	int len = 0;

	if (kho_retrieve_subtree(PCI_LU_SUBTREE, &phys)) {
		pci_lu_stop_strays();
		return 0;
	}
	folio = kho_restore_folio(phys);
	fdt = folio ? folio_address(folio) : NULL;
	if (!fdt)
		why = "its blob is not preserved";
	else if (fdt_check_header(fdt) || fdt_totalsize(fdt) > PAGE_SIZE)
		why = "its blob is not an FDT";
	else if (fdt_node_check_compatible(fdt, 0, PCI_LU_COMPATIBLE))
		why = "unknown format";
	devs = why ? NULL : fdt_getprop(fdt, 0, "devices", &len);
	if (!why && (!devs || len % sizeof(*devs) ||
		     len / sizeof(*devs) > PCI_LU_MAX_DEVICES))
		why = "bad device list";

	if (why) {
		pr_err("previous kernel's PCI state refused (%s): its running devices are stopped\n",
		       why);
		n = iommu_liveupdate_adopted_devices(ids, ARRAY_SIZE(ids));
		for (i = 0; i < n; i++)
			pci_lu_stop_id(ids[i], "not in the PCI state");
		pci_lu_stop_strays();
		goto out;
	}
	for (i = 0; i < len / sizeof(*devs); i++) {
		const struct pci_lu_dev_ser *d = &devs[i];
		struct pci_dev *pdev;
		bool same;

		pdev = pci_get_domain_bus_and_slot(d->segment, d->bus, d->devfn);
		same = pdev && pdev->vendor == d->vendor &&
		       pdev->device == d->device && !d->reserved;
		pci_dev_put(pdev);
		if (!same)
			pci_lu_stop(d->segment, d->bus, d->devfn,
				    "not the device handed over");
		else if (!iommu_liveupdate_adopted(d->segment, d->bus, d->devfn))
			pci_lu_stop(d->segment, d->bus, d->devfn,
				    "DMA translation not taken over");
	}
out:
	if (folio)
		folio_put(folio);
	return 0;
}

/* After the buses are scanned and the IOMMU is up, before user space. */
late_initcall(pci_lu_boot);

static int __init pci_lu_init(void)
{
	int err;

	if (!liveupdate_enabled())
		return 0;
	err = liveupdate_register_global(&pci_lu_global);
	if (err)
		pr_warn("cannot register the PCI live update state: %d\n", err);
	return 0;
}
late_initcall_sync(pci_lu_init);
