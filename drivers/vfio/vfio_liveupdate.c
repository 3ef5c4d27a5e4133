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
 * do that (EOPNOTSUPP), one that shares its IOMMU group or domain or is
 * in a session already (EBUSY) and a file not bound to an iommufd
 * (EINVAL). Once preserved, and until unpreserved, the device's domain
 * and mappings are fixed: attaching or detaching the device, and the
 * ioctls of its iommufd that change objects or mappings, fail with EBUSY.
 * Freeze, inside reboot(), hands the translation over and fails the
 * reboot (EBUSY) if the device maps memory that is not preserved.
 *
 * In the next kernel the device's DMA goes on into the preserved memory.
 * If its iommufd was preserved in the same session too (see the iommufd
 * live update), user space binds the device to vfio-pci and retrieves the
 * device file: it comes back bound to the retrieved iommufd with the same
 * device ID, attached to a hardware page table of the same ID in the same
 * IOAS, whose domain is the translation the device kept (checked against
 * the IOAS's mappings, not written again). Opening it neither resets the
 * device nor turns its bus mastering off; VFIO_DEVICE_BIND_IOMMUFD on it
 * fails with EINVAL, as on any bound file. A device preserved without its
 * iommufd cannot be retrieved (EOPNOTSUPP); one not bound to vfio-pci in
 * the new kernel gives ENODEV, one whose translation was taken over or
 * ended since gives EBUSY. If the tables do not match the IOAS, retrieve
 * fails (EBUSY), the translation ends and bus mastering is turned off.
 *
 * A file nobody retrieved is finished with its DMA stopped: its bus
 * mastering is turned off and its translation ended. If its record cannot
 * be read, one line says so and its translation ends with the last
 * preserved device to finish (its DMA then faults in the IOMMU). A driver may also
 * take the device over: binding it to an iommufd of its own through
 * vfio-pci attaches a new domain, which ends the handed-over translation,
 * and finish then leaves the device alone.
 */

#define pr_fmt(fmt) "vfio_lu: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/iommu_liveupdate.h>
#include <linux/iommufd.h>
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

/**
 * vfio_liveupdate_claimed - is a device preserved in a session?
 * @device: the device
 *
 * Its domain must then stay as preserve saw it: attaching or detaching it
 * fails with -EBUSY. Called with @device's dev_set lock held, which
 * preserve takes to claim it.
 *
 * Return: true if it is.
 */
bool vfio_liveupdate_claimed(struct vfio_device *device)
{
	bool ret;

	lockdep_assert_held(&device->dev_set->lock);
	mutex_lock(&vfio_lu_lock);
	ret = xa_load(&vfio_lu_devices, (unsigned long)device->dev);
	mutex_unlock(&vfio_lu_lock);
	return ret;
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
	/*
	 * From here until unpreserve the device's domain and its mappings
	 * stay as they are: attach and detach (under dev_set->lock, as the
	 * check and the claim) and the iommufd's ioctls that change
	 * mappings (iommufd_ctx_lu_hold()) fail with EBUSY, so that freeze
	 * hands over tables nobody changes or frees.
	 */
	mutex_lock(&df->device->dev_set->lock);
	err = iommu_liveupdate_check_device(dev);
	if (!err)
		err = vfio_lu_claim(dev);
	mutex_unlock(&df->device->dev_set->lock);
	if (err)
		return err;
	err = iommufd_ctx_lu_hold(df->iommufd);
	if (err)
		goto err_unclaim;
	err = iommu_liveupdate_get();
	if (err)
		goto err_release;
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
err_release:
	iommufd_ctx_lu_release(df->iommufd);
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
	iommufd_ctx_lu_release(df->iommufd);
	vfio_lu_unclaim(df->device->dev);
}

/* Is the device's iommufd preserved with it? Then record where it is. */
static void vfio_lu_record_iommufd(struct liveupdate_file_op_args *args)
{
	struct vfio_device_file *df = args->file->private_data;
	struct vfio_device *device = df->device;
	struct vfio_pci_lu_ser *ser = args->private_data;
	struct iommufd_lu_ids ids;

	ser->flags &= ~VFIO_PCI_LU_F_IOMMUFD;
	/* Version 1 ends after @device, with zeroes: no iommufd. */
	if (!strcmp(args->compatible, VFIO_PCI_LU_COMPATIBLE_V1)) {
		memset((u8 *)ser + offsetof(struct vfio_pci_lu_ser, flags), 0,
		       sizeof(*ser) - offsetof(struct vfio_pci_lu_ser, flags));
		return;
	}
	if (!device->iommufd_device ||
	    liveupdate_get_token_outgoing(args->session,
					  iommufd_ctx_file(df->iommufd),
					  &ser->iommufd_token) ||
	    iommufd_device_lu_ids(device->iommufd_device, &ids))
		return;
	ser->dev_id = ids.dev_id;
	ser->ioas_id = ids.ioas_id;
	ser->hwpt_id = ids.hwpt_id;
	ser->auto_domain = ids.auto_domain;
	ser->flags |= VFIO_PCI_LU_F_IOMMUFD;
}

static int vfio_lu_freeze(struct liveupdate_file_op_args *args)
{
	struct vfio_device_file *df = args->file->private_data;
	struct device *dev = df->device->dev;
	int err;

	vfio_lu_record_iommufd(args);
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

/* The vfio-pci device the record names, with its registration held. */
static struct vfio_device *vfio_lu_find(const struct vfio_pci_lu_ser *ser)
{
	struct vfio_device *device = NULL;
	struct pci_dev *pdev;

	pdev = pci_get_domain_bus_and_slot(ser->segment, ser->bus, ser->devfn);
	if (!pdev)
		return NULL;
	device_lock(&pdev->dev);
	if (pdev->vendor == ser->vendor && pdev->device == ser->device &&
	    pdev->dev.driver && !strcmp(pdev->dev.driver->name, "vfio-pci")) {
		device = dev_get_drvdata(&pdev->dev);
		if (device && !vfio_device_try_get_registration(device))
			device = NULL;
	}
	device_unlock(&pdev->dev);
	pci_dev_put(pdev);
	return device;
}

/*
 * As opening the cdev and VFIO_DEVICE_BIND_IOMMUFD, with the device bound
 * and attached where it was (see vfio_iommufd_physical_bind()). Takes
 * over the registration, and on success the reference on @ictx.
 */
static struct file *vfio_lu_open(struct vfio_device *device,
				 struct iommufd_ctx *ictx,
				 const struct iommufd_lu_ids *ids)
{
	struct vfio_device_file *df;
	struct file *file;
	int err;

	df = vfio_allocate_device_file(device);
	if (IS_ERR(df)) {
		vfio_device_put_registration(device);
		return ERR_CAST(df);
	}
	file = anon_inode_getfile("[vfio-device]", &vfio_device_fops, df,
				  O_RDWR);
	if (IS_ERR(file)) {
		kfree(df);
		vfio_device_put_registration(device);
		return file;
	}
	/* The file holds the registration from here on. */
	file->f_mode |= FMODE_PREAD | FMODE_PWRITE;
	file->f_mapping = device->inode->i_mapping;

	err = vfio_device_block_group(device);
	if (err)
		goto err_fput;
	mutex_lock(&device->dev_set->lock);
	df->iommufd = ictx;
	device->lu_bind = ids;
	err = vfio_df_open(df);
	device->lu_bind = NULL;
	if (err) {
		df->iommufd = NULL;
		mutex_unlock(&device->dev_set->lock);
		vfio_device_unblock_group(device);
		goto err_fput;
	}
	device->cdev_opened = true;
	/* Paired with smp_load_acquire() in vfio_device_fops, as at bind */
	smp_store_release(&df->access_granted, true);
	mutex_unlock(&device->dev_set->lock);
	return file;

err_fput:
	fput(file);
	return ERR_PTR(err);
}

static int vfio_lu_retrieve(struct liveupdate_file_op_args *args)
{
	const struct vfio_pci_lu_ser *ser;
	struct iommufd_lu_ids ids = {};
	struct vfio_device *device;
	struct iommufd_ctx *ictx;
	struct pci_dev *pdev;
	struct file *file;
	int err;

	/* Read in place: finish restores and frees the record. */
	if (!strcmp(args->compatible, VFIO_PCI_LU_COMPATIBLE_V1)) {
		/* No iommufd to bind it to: it can only be taken over. */
		if (!kho_is_restorable(args->serialized_data,
				       VFIO_PCI_LU_V1_SIZE))
			return -EINVAL;
		ser = phys_to_virt(args->serialized_data);
		if (memchr_inv(&ser->flags, 0, VFIO_PCI_LU_V1_SIZE -
			       offsetof(struct vfio_pci_lu_ser, flags)))
			return -EINVAL;
		return -EOPNOTSUPP;
	}
	if (!kho_is_restorable(args->serialized_data, sizeof(*ser)))
		return -EINVAL;
	ser = phys_to_virt(args->serialized_data);
	if (!(ser->flags & VFIO_PCI_LU_F_IOMMUFD))
		return -EOPNOTSUPP;
	if (ser->flags & ~VFIO_PCI_LU_F_IOMMUFD ||
	    memchr_inv(ser->reserved, 0, sizeof(ser->reserved))) {
		pr_err("%04x:%02x:%02x.%d: malformed record\n", ser->segment,
		       ser->bus, PCI_SLOT(ser->devfn), PCI_FUNC(ser->devfn));
		return -EINVAL;
	}
	if (!iommu_liveupdate_adopted(ser->segment, ser->bus, ser->devfn)) {
		pr_warn("%04x:%02x:%02x.%d: its translation was taken over or ended: not retrieved\n",
			ser->segment, ser->bus, PCI_SLOT(ser->devfn),
			PCI_FUNC(ser->devfn));
		return -EBUSY;
	}
	device = vfio_lu_find(ser);
	if (!device) {
		pr_warn("%04x:%02x:%02x.%d: bind it to vfio-pci before retrieving it\n",
			ser->segment, ser->bus, PCI_SLOT(ser->devfn),
			PCI_FUNC(ser->devfn));
		return -ENODEV;
	}
	err = liveupdate_get_file_incoming(args->session, ser->iommufd_token,
					   &file);
	if (err) {
		vfio_device_put_registration(device);
		return err;
	}
	ictx = iommufd_ctx_from_file(file);
	fput(file);
	if (IS_ERR(ictx)) {
		vfio_device_put_registration(device);
		return PTR_ERR(ictx);
	}
	ids.dev_id = ser->dev_id;
	ids.ioas_id = ser->ioas_id;
	ids.hwpt_id = ser->hwpt_id;
	ids.auto_domain = ser->auto_domain;
	pdev = pci_dev_get(to_pci_dev(device->dev));
	file = vfio_lu_open(device, ictx, &ids);
	if (IS_ERR(file)) {
		iommufd_ctx_put(ictx);
		/* If its adopted translation ended, stop what DMA is left. */
		if (!iommu_liveupdate_adopted(ser->segment, ser->bus,
					      ser->devfn)) {
			pci_clear_master(pdev);
			pci_err(pdev, "retrieving the device failed (%ld): its DMA is stopped\n",
				PTR_ERR(file));
		} else {
			pci_err(pdev, "retrieving the device failed (%ld): its DMA goes on until the session is finished\n",
				PTR_ERR(file));
		}
	}
	pci_dev_put(pdev);
	if (IS_ERR(file))
		return PTR_ERR(file);
	args->file = file;
	return 0;
}

static void vfio_lu_finish(struct liveupdate_file_op_args *args)
{
	struct vfio_pci_lu_ser *ser;
	struct pci_dev *pdev;
	struct folio *folio;

	/*
	 * Whatever its record says, the file stops holding the PCI and
	 * IOMMU state: the last one to finish ends every adopted
	 * translation left, so a record this kernel cannot restore does not
	 * keep its device writing preserved memory for ever.
	 */
	folio = kho_restore_folio(args->serialized_data);
	if (!folio) {
		pr_err("the record of a finished device is gone: its DMA stops with the last preserved device\n");
		goto out;
	}
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
out:
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

static const char * const vfio_lu_old_compatibles[] = {
	VFIO_PCI_LU_COMPATIBLE_V1, NULL
};

static struct liveupdate_file_handler vfio_lu_handler = {
	.ops = &vfio_lu_ops,
	.compatible = VFIO_PCI_LU_COMPATIBLE,
	.old_compatibles = vfio_lu_old_compatibles,
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
