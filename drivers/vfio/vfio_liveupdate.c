// SPDX-License-Identifier: GPL-2.0
/*
 * Live update of vfio-pci devices: the VFIO device file handler of the
 * Live Update Orchestrator.
 */

/**
 * DOC: VFIO live update
 *
 * A vfio-pci device file (the cdev, bound to an iommufd and attached to
 * a paging domain) preserved in a LUO session keeps its device running
 * through the kexec: the device is not reset, keeps bus mastering, and
 * the IOMMU keeps translating its DMA with the same tables (see the
 * Intel IOMMU live update). Preserve refuses a device whose IOMMU cannot
 * do that (EOPNOTSUPP), one that shares its IOMMU group or is in a
 * session already (EBUSY) and a file not bound to an iommufd (EINVAL).
 * Freeze, inside reboot(), hands the translation over and fails the
 * reboot (EBUSY) if the device maps memory that is not preserved.
 *
 * In the next kernel the device's DMA goes on into the preserved memory
 * until the file is finished: nobody retrieved it, so its bus mastering
 * is turned off and its translation ended. Retrieving the device file is
 * not supported yet (EOPNOTSUPP): its DMA goes on untouched until the
 * session is finished, or until a driver takes the device over: binding
 * it to an iommufd through vfio-pci attaches a domain of its own, which
 * ends the handed-over translation, and finish then leaves the device
 * alone.
 */

#define pr_fmt(fmt) "vfio_lu: " fmt

#include <linux/file.h>
#include <linux/iommu_liveupdate.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/vfio.h>
#include <linux/liveupdate.h>
#include <linux/pci.h>
#include <linux/pci_liveupdate.h>
#include <linux/vfio.h>

#include "vfio.h"

/*
 * Devices preserved in some session, each once; protected by
 * vfio_lu_lock.
 */
static DEFINE_MUTEX(vfio_lu_lock);
static DEFINE_XARRAY(vfio_lu_devices);

/* Claim @dev for one session; -EBUSY if a session has it already. */
static int vfio_lu_claim(struct device *dev)
{
	int err;

	mutex_lock(&vfio_lu_lock);
	err = xa_insert(&vfio_lu_devices, (unsigned long)dev, dev, GFP_KERNEL);
	mutex_unlock(&vfio_lu_lock);
	return err;
}

static void vfio_lu_unclaim(struct device *dev)
{
	mutex_lock(&vfio_lu_lock);
	xa_erase(&vfio_lu_devices, (unsigned long)dev);
	mutex_unlock(&vfio_lu_lock);
}

static bool vfio_lu_can_preserve(struct liveupdate_file_handler *handler,
				 struct file *file)
{
	struct vfio_device *device = vfio_device_from_file(file);

	return device && dev_is_pci(device->dev);
}

static int vfio_lu_preserve(struct liveupdate_file_op_args *args)
{
	struct vfio_device_file *df = args->file->private_data;
	struct device *dev = df->device->dev;
	struct pci_dev *pdev = to_pci_dev(dev);
	struct vfio_pci_lu_ser *ser;
	int err;

	if (!dev->driver || strcmp(dev->driver->name, "vfio-pci"))
		return -EOPNOTSUPP;
	if (!READ_ONCE(df->access_granted) || !df->iommufd)
		return -EINVAL;
	err = iommu_liveupdate_check_device(dev);
	if (err)
		return err;
	err = vfio_lu_claim(dev);
	if (err)
		return err;
	err = iommu_liveupdate_get();
	if (err)
		goto err_unclaim;
	err = pci_liveupdate_get();
	if (err)
		goto err_put_iommu;

	ser = kho_alloc_preserve(sizeof(*ser));
	if (IS_ERR(ser)) {
		err = PTR_ERR(ser);
		goto err_put;
	}
	ser->segment = pci_domain_nr(pdev->bus);
	ser->bus = pdev->bus->number;
	ser->devfn = pdev->devfn;
	ser->vendor = pdev->vendor;
	ser->device = pdev->device;
	args->serialized_data = virt_to_phys(ser);
	args->private_data = ser;
	return 0;

err_put:
	pci_liveupdate_put();
err_put_iommu:
	iommu_liveupdate_put();
err_unclaim:
	vfio_lu_unclaim(dev);
	return err;
}

static void vfio_lu_unpreserve(struct liveupdate_file_op_args *args)
{
	struct vfio_device_file *df = args->file->private_data;

	kho_unpreserve_free(args->private_data);
	pci_liveupdate_put();
	iommu_liveupdate_put();
	vfio_lu_unclaim(df->device->dev);
}

static int vfio_lu_freeze(struct liveupdate_file_op_args *args)
{
	struct vfio_device_file *df = args->file->private_data;
	struct device *dev = df->device->dev;
	int err;

	err = iommu_liveupdate_freeze_device(dev);
	if (err)
		return err;
	/* The kexec shutdown leaves its bus mastering on. */
	err = pci_liveupdate_freeze_device(to_pci_dev(dev));
	if (err)
		iommu_liveupdate_unfreeze_device(dev);
	return err;
}

static void vfio_lu_unfreeze(struct liveupdate_file_op_args *args)
{
	struct vfio_device_file *df = args->file->private_data;
	struct device *dev = df->device->dev;

	pci_liveupdate_unfreeze_device(to_pci_dev(dev));
	iommu_liveupdate_unfreeze_device(dev);
}

static int vfio_lu_retrieve(struct liveupdate_file_op_args *args)
{
	return -EOPNOTSUPP;
}

static void vfio_lu_finish(struct liveupdate_file_op_args *args)
{
	struct vfio_pci_lu_ser *ser;
	struct pci_dev *pdev;
	struct folio *folio;

	folio = kho_restore_folio(args->serialized_data);
	if (!folio)
		return;
	ser = folio_address(folio);
	/*
	 * Still running on the handed-over translation: stop its DMA, then
	 * the translation. A device some driver took over since (attaching
	 * a domain of its own ends the adopted translation) is its own.
	 */
	if (iommu_liveupdate_adopted(ser->segment, ser->bus, ser->devfn)) {
		pdev = pci_get_domain_bus_and_slot(ser->segment, ser->bus,
						   ser->devfn);
		if (pdev && pdev->vendor == ser->vendor &&
		    pdev->device == ser->device)
			pci_clear_master(pdev);
		iommu_liveupdate_release_device(ser->segment, ser->bus,
						ser->devfn);
		pci_dev_put(pdev);
	}
	folio_put(folio);
	pci_liveupdate_finish();
	iommu_liveupdate_finish();
}

static const struct liveupdate_file_ops vfio_lu_ops = {
	.can_preserve = vfio_lu_can_preserve,
	.preserve = vfio_lu_preserve,
	.unpreserve = vfio_lu_unpreserve,
	.freeze = vfio_lu_freeze,
	.unfreeze = vfio_lu_unfreeze,
	.retrieve = vfio_lu_retrieve,
	.finish = vfio_lu_finish,
	.owner = THIS_MODULE,
};

static struct liveupdate_file_handler vfio_lu_handler = {
	.ops = &vfio_lu_ops,
	.compatible = VFIO_PCI_LU_COMPATIBLE,
};

/**
 * vfio_liveupdate_init - register the VFIO live update handler
 *
 * Called when VFIO loads.
 */
void vfio_liveupdate_init(void)
{
	int err;

	if (!liveupdate_enabled())
		return;
	err = liveupdate_register_file_handler(&vfio_lu_handler);
	if (err)
		pr_warn("cannot register the VFIO handler: %d\n", err);
}

/**
 * vfio_liveupdate_exit - unregister the VFIO live update handler
 *
 * Called when VFIO unloads.
 */
void vfio_liveupdate_exit(void)
{
	if (liveupdate_enabled())
		liveupdate_unregister_file_handler(&vfio_lu_handler);
}
