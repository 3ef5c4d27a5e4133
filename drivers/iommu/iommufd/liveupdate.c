// SPDX-License-Identifier: GPL-2.0
/*
 * Live update of an iommufd: its IOASes and their mappings, handed over to
 * the next kernel with the memfds they map.
 */

/**
 * DOC: iommufd live update
 *
 * An iommufd preserved in a LUO session carries its IOASes, with their
 * object IDs, and their mappings through the kexec. Every mapping must be
 * of a memfd (shmem or hugetlbfs, mapped shared, or mapped by file with
 * IOMMU_IOAS_MAP_FILE) preserved in the same session before the iommufd:
 * preserve fails with EOPNOTSUPP for any other memory and with ENOENT for
 * a memfd that is not in the session. Each
 * mapping is recorded as (IOAS, IOVA, length, memfd token, offset,
 * permissions).
 *
 * From preserve until the session is closed (unpreserve) or the reboot,
 * the context is frozen: the ioctls that create, destroy or change its
 * objects or mappings (IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP, IOMMU_IOAS_COPY,
 * IOMMU_DESTROY, ...) fail with EBUSY, so the next kernel gets exactly
 * what user space saw. Unmapping a preserved mapping is done by closing
 * the session first.
 *
 * Retrieve builds a new iommufd with IOASes of the same IDs and maps the
 * same memfd ranges at the same IOVAs, retrieving the memfds from the
 * session. The pages are pinned when a domain needs them. A vfio device
 * preserved with the iommufd is then retrieved bound to it and attached to
 * a hardware page table of the same ID whose domain is the translation
 * the device kept through the update (see the VFIO live update): its
 * mappings are checked against the page tables, not written again.
 *
 * Not preserved: hardware page tables with no preserved device, nested
 * page tables, fault queues and accesses (preserve fails with EOPNOTSUPP
 * for the last two), IOVA ranges allowed with IOMMU_IOAS_ALLOW_IOVAS, and
 * the IOMMU_OPTION settings.
 */

#define pr_fmt(fmt) "iommufd_lu: " fmt

#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/iommufd.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/iommufd.h>
#include <linux/liveupdate.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

static bool iommufd_lu_can_preserve(struct liveupdate_file_handler *handler,
				    struct file *file)
{
	struct iommufd_ctx *ictx = iommufd_ctx_from_file(file);

	if (IS_ERR(ictx))
		return false;
	iommufd_ctx_put(ictx);
	return true;
}

/* The parts of a record, laid out as include/linux/kho/abi/iommufd.h says */
static u32 *iommufd_lu_ioas_ids(const struct iommufd_lu_ser *ser)
{
	return (u32 *)(ser + 1);
}

static u32 *iommufd_lu_obj_ids(const struct iommufd_lu_ser *ser)
{
	return iommufd_lu_ioas_ids(ser) + IOMMUFD_LU_MAX_IOAS;
}

#define IOMMUFD_LU_AREAS_OFFSET						\
	(sizeof(struct iommufd_lu_ser) +				\
	 ALIGN((IOMMUFD_LU_MAX_IOAS + IOMMUFD_LU_MAX_IDS) * sizeof(u32), 8))

static struct iommufd_lu_area_ser *iommufd_lu_areas(const struct iommufd_lu_ser *ser)
{
	return (void *)ser + IOMMUFD_LU_AREAS_OFFSET;
}

static bool iommufd_lu_memfd(struct file *file)
{
	return shmem_file(file) || is_file_hugepages(file);
}

/* Which memfd, at which offset, backs all of @area? */
static int iommufd_lu_area_file(struct iopt_area *area, struct file **filep,
				u64 *offset)
{
	struct iopt_pages *pages = area->pages;
	unsigned long start = iopt_area_start_byte(area, iopt_area_iova(area));
	unsigned long len = iopt_area_length(area);
	struct vm_area_struct *vma;
	unsigned long va;
	int err = 0;

	if (pages->file) {
		*filep = pages->file;
		*offset = pages->file_start + start;
		return 0;
	}
	va = (unsigned long)pages->uptr + start;
	if (!mmget_not_zero(pages->source_mm))
		return -EFAULT;
	mmap_read_lock(pages->source_mm);
	vma = vma_lookup(pages->source_mm, va);
	if (!vma || va + len > vma->vm_end || !vma->vm_file ||
	    !(vma->vm_flags & VM_SHARED) || !iommufd_lu_memfd(vma->vm_file)) {
		err = -EOPNOTSUPP;
	} else {
		*filep = vma->vm_file;
		*offset = va - vma->vm_start +
			  ((u64)vma->vm_pgoff << PAGE_SHIFT);
	}
	mmap_read_unlock(pages->source_mm);
	mmput(pages->source_mm);
	return err;
}

/* Record the mappings of @ioas; -ENOSPC when @ser has no more room. */
static int iommufd_lu_save_ioas(struct liveupdate_file_op_args *args,
				struct iommufd_ioas *ioas,
				struct iommufd_lu_area_ser *areas,
				u32 *nr_areas)
{
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_area *area;
	int err = 0;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		struct iommufd_lu_area_ser *a = &areas[*nr_areas];
		struct file *file;

		if (!area->pages)
			continue;
		if (*nr_areas == IOMMUFD_LU_MAX_AREAS) {
			err = -ENOSPC;
			break;
		}
		err = iommufd_lu_area_file(area, &file, &a->offset);
		if (!err) {
			err = liveupdate_get_token_outgoing(args->session, file,
							    &a->token);
		}
		if (err) {
			pr_warn("IOAS %u: the mapping at IOVA %#lx is %s\n",
				ioas->obj.id, iopt_area_iova(area),
				err == -ENOENT ?
				"of a memfd not preserved in the session" :
				"not of a shared memfd");
			break;
		}
		a->ioas_id = ioas->obj.id;
		a->iova = iopt_area_iova(area);
		a->length = iopt_area_length(area);
		a->prot = area->iommu_prot & (IOMMU_READ | IOMMU_WRITE);
		(*nr_areas)++;
	}
	up_read(&iopt->iova_rwsem);
	return err;
}

static int iommufd_lu_save(struct liveupdate_file_op_args *args,
			   struct iommufd_ctx *ictx, struct iommufd_lu_ser *ser)
{
	struct iommufd_lu_area_ser *areas = iommufd_lu_areas(ser);
	u32 *others = iommufd_lu_obj_ids(ser);
	u32 *ids = iommufd_lu_ioas_ids(ser);
	struct iommufd_object *obj;
	struct iommufd_ioas *ioas;
	unsigned long index;
	int err = 0;

	xa_lock(&ictx->objects);
	xa_for_each(&ictx->objects, index, obj) {
		if (obj->type == IOMMUFD_OBJ_FAULT ||
		    obj->type == IOMMUFD_OBJ_ACCESS) {
			err = -EOPNOTSUPP;
			break;
		}
		if (obj->type != IOMMUFD_OBJ_IOAS) {
			/* Devices and page tables: their IDs stay free */
			if (ser->nr_ids == IOMMUFD_LU_MAX_IDS) {
				err = -ENOSPC;
				break;
			}
			others[ser->nr_ids++] = obj->id;
			continue;
		}
		if (ser->nr_ioas == IOMMUFD_LU_MAX_IOAS) {
			err = -ENOSPC;
			break;
		}
		if (!iommufd_lock_obj(obj))
			continue;
		ids[ser->nr_ioas++] = obj->id;
	}
	xa_unlock(&ictx->objects);

	for (index = 0; index < ser->nr_ioas; index++) {
		obj = xa_load(&ictx->objects, ids[index]);
		ioas = container_of(obj, struct iommufd_ioas, obj);
		if (!err)
			err = iommufd_lu_save_ioas(args, ioas, areas,
						   &ser->nr_areas);
		iommufd_put_object(ictx, obj);
	}
	ser->size = (void *)&areas[ser->nr_areas] - (void *)ser;
	return err;
}

static size_t iommufd_lu_ser_size(void)
{
	return IOMMUFD_LU_AREAS_OFFSET +
	       IOMMUFD_LU_MAX_AREAS * sizeof(struct iommufd_lu_area_ser);
}

static int iommufd_lu_preserve(struct liveupdate_file_op_args *args)
{
	struct iommufd_ctx *ictx = args->file->private_data;
	struct iommufd_lu_ser *ser;
	int err;

	ser = kho_alloc_preserve(iommufd_lu_ser_size());
	if (IS_ERR(ser))
		return PTR_ERR(ser);

	down_write(&ictx->lu_rwsem);
	if (ictx->lu_preserved) {
		err = -EBUSY;
	} else {
		err = iommufd_lu_save(args, ictx, ser);
		ictx->lu_preserved = !err;
	}
	up_write(&ictx->lu_rwsem);
	if (err) {
		kho_unpreserve_free(ser);
		return err;
	}
	args->serialized_data = virt_to_phys(ser);
	args->private_data = ser;
	return 0;
}

static void iommufd_lu_unpreserve(struct liveupdate_file_op_args *args)
{
	struct iommufd_ctx *ictx = args->file->private_data;

	down_write(&ictx->lu_rwsem);
	ictx->lu_preserved = false;
	up_write(&ictx->lu_rwsem);
	kho_unpreserve_free(args->private_data);
}

/*
 * The mappings are fixed since preserve, but devices may have been bound
 * and attached since: keep the IDs they have now free in the next kernel.
 */
static int iommufd_lu_freeze(struct liveupdate_file_op_args *args)
{
	struct iommufd_ctx *ictx = args->file->private_data;
	struct iommufd_lu_ser *ser = args->private_data;
	u32 *others = iommufd_lu_obj_ids(ser);
	struct iommufd_object *obj;
	unsigned long index;
	int err = 0;

	ser->nr_ids = 0;
	xa_lock(&ictx->objects);
	xa_for_each(&ictx->objects, index, obj) {
		if (obj->type == IOMMUFD_OBJ_IOAS)
			continue;
		if (ser->nr_ids == IOMMUFD_LU_MAX_IDS) {
			err = -ENOSPC;
			break;
		}
		others[ser->nr_ids++] = obj->id;
	}
	xa_unlock(&ictx->objects);
	return err;
}

static const char *iommufd_lu_check(const struct iommufd_lu_ser *ser,
				    size_t room)
{
	const struct iommufd_lu_area_ser *areas = iommufd_lu_areas(ser);
	const u32 *others = iommufd_lu_obj_ids(ser);
	const u32 *ids = iommufd_lu_ioas_ids(ser);
	u32 i, j;

	if (ser->reserved || ser->nr_ioas > IOMMUFD_LU_MAX_IOAS ||
	    ser->nr_ids > IOMMUFD_LU_MAX_IDS ||
	    ser->nr_areas > IOMMUFD_LU_MAX_AREAS || ser->size > room)
		return "malformed header";
	if (ser->size != (const void *)&areas[ser->nr_areas] - (const void *)ser)
		return "size mismatch";
	for (i = 0; i < ser->nr_ioas; i++)
		if (!ids[i] || ids[i] > INT_MAX)
			return "bad IOAS id";
	for (i = 0; i < ser->nr_ids; i++)
		if (!others[i] || others[i] > INT_MAX)
			return "bad object id";
	for (i = 0; i < ser->nr_areas; i++) {
		const struct iommufd_lu_area_ser *a = &areas[i];

		if (!a->length || a->prot & ~(IOMMU_READ | IOMMU_WRITE) ||
		    a->iova + a->length < a->iova ||
		    a->offset + a->length < a->offset)
			return "bad mapping";
		for (j = 0; j < ser->nr_ioas; j++)
			if (ids[j] == a->ioas_id)
				break;
		if (j == ser->nr_ioas)
			return "mapping of an unknown IOAS";
	}
	return NULL;
}

static int iommufd_lu_restore(struct liveupdate_file_op_args *args,
			      struct iommufd_ctx *ictx,
			      const struct iommufd_lu_ser *ser)
{
	const struct iommufd_lu_area_ser *areas = iommufd_lu_areas(ser);
	const u32 *others = iommufd_lu_obj_ids(ser);
	const u32 *ids = iommufd_lu_ioas_ids(ser);
	struct iommufd_ioas *ioas;
	unsigned long iova;
	struct file *memfd;
	u32 i;
	int err;

	/* Kept for the device files retrieved with this iommufd */
	for (i = 0; i < ser->nr_ids; i++) {
		err = iommufd_lu_reserve_id(ictx, others[i]);
		if (err)
			return err;
	}
	for (i = 0; i < ser->nr_ioas; i++) {
		ioas = iommufd_ioas_alloc_id(ictx, ids[i]);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		iommufd_object_finalize(ictx, &ioas->obj);
	}
	for (i = 0; i < ser->nr_areas; i++) {
		const struct iommufd_lu_area_ser *a = &areas[i];

		err = liveupdate_get_file_incoming(args->session, a->token,
						   &memfd);
		if (err) {
			pr_err("IOAS %u: the memfd of the mapping at IOVA %#llx cannot be retrieved (%d)\n",
			       a->ioas_id, a->iova, err);
			return err;
		}
		ioas = iommufd_get_ioas(ictx, a->ioas_id);
		if (IS_ERR(ioas)) {
			fput(memfd);
			return PTR_ERR(ioas);
		}
		err = -EINVAL;
		iova = a->iova;
		if (iommufd_lu_memfd(memfd))
			err = iopt_map_file_pages(ictx, &ioas->iopt, &iova,
						  memfd, a->offset, a->length,
						  a->prot, 0);
		iommufd_put_object(ictx, &ioas->obj);
		fput(memfd);
		if (err) {
			pr_err("IOAS %u: the mapping at IOVA %#llx cannot be made again (%d)\n",
			       a->ioas_id, a->iova, err);
			return err;
		}
	}
	return 0;
}

static int iommufd_lu_retrieve(struct liveupdate_file_op_args *args)
{
	struct iommufd_lu_ser *ser;
	struct folio *folio;
	const char *why;
	struct file *file;
	int err;

	folio = kho_restore_folio(args->serialized_data);
	if (!folio)
		return -EINVAL;
	ser = folio_address(folio);
	why = iommufd_lu_check(ser, folio_size(folio));
	if (why) {
		pr_err("preserved iommufd refused: %s\n", why);
		err = -EINVAL;
		goto out;
	}
	file = iommufd_lu_new_file();
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto out;
	}
	err = iommufd_lu_restore(args, file->private_data, ser);
	if (err) {
		fput(file);
		goto out;
	}
	args->file = file;
out:
	folio_put(folio);
	return err;
}

static void iommufd_lu_finish(struct liveupdate_file_op_args *args)
{
	struct folio *folio;

	if (args->retrieved)
		return;
	/* Never retrieved: only the record is left. */
	folio = kho_restore_folio(args->serialized_data);
	if (folio)
		folio_put(folio);
}

static const struct liveupdate_file_ops iommufd_lu_ops = {
	.can_preserve = iommufd_lu_can_preserve,
	.preserve = iommufd_lu_preserve,
	.unpreserve = iommufd_lu_unpreserve,
	.freeze = iommufd_lu_freeze,
	.retrieve = iommufd_lu_retrieve,
	.finish = iommufd_lu_finish,
	.owner = THIS_MODULE,
};

static struct liveupdate_file_handler iommufd_lu_handler = {
	.ops = &iommufd_lu_ops,
	.compatible = IOMMUFD_LU_COMPATIBLE,
};

/**
 * iommufd_liveupdate_init - register the iommufd live update handler
 *
 * Called when iommufd loads.
 */
void iommufd_liveupdate_init(void)
{
	int err;

	if (!liveupdate_enabled())
		return;
	err = liveupdate_register_file_handler(&iommufd_lu_handler);
	if (err)
		pr_warn("cannot register the iommufd handler: %d\n", err);
}

/**
 * iommufd_liveupdate_exit - unregister the iommufd live update handler
 *
 * Called when iommufd unloads.
 */
void iommufd_liveupdate_exit(void)
{
	if (liveupdate_enabled())
		liveupdate_unregister_file_handler(&iommufd_lu_handler);
}
