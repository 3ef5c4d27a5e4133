// SPDX-License-Identifier: GPL-2.0
/*
 * Live update of guest_memfd: the guest_memfd file handler of the Live
 * Update Orchestrator.
 */

/**
 * DOC: guest_memfd live update
 *
 * A guest_memfd preserved in a LUO session crosses the kexec in place:
 * its folios are handed over with kexec handover and the next kernel
 * puts the same folios into a new guest_memfd of the same size and
 * flags. Nothing is copied.
 *
 * The next kernel checks the whole list of folios at boot, in the
 * background (see "Preparing" in the LUO sessions), or at retrieve if
 * the file was not prepared. Retrieve returns what the check found,
 * without putting any folio into the new file's page cache (a
 * microsecond a folio, seconds for a large guest, all inside its
 * blackout): each lookup of the file (a guest fault, fallocate(), a user
 * mapping's fault) puts in the folio at its index first, and a worker
 * puts in the rest in the background (see liveupdate_lazy_start()).
 * Until then a folio stays reserved where the previous kernel left it.
 * Finishing the session puts in what is left.
 *
 * The folios that hold guest data, those KVM or a user mapping has
 * prepared (zeroed and marked up to date), are preserved. A folio that
 * fallocate() allocated but nothing prepared holds nothing yet and is
 * left behind: the next kernel prepares a fresh one on first use, as
 * this one would have. While the file is preserved, punching a hole in
 * it fails with EBUSY (its size cannot change anyway). So it does in the
 * next kernel once retrieved, until its session is finished (nor can it
 * be preserved again until then). While a device kept running through
 * the update may still write its memory (see the VFIO live update),
 * every folio of the file is held until no device does
 * (liveupdate_hold_for_dma()), even if a hole is punched once finished,
 * the retrieve fails half-way or the file is never retrieved.
 *
 * Only a guest_memfd whose memory reads back the same in the next kernel
 * can be preserved: one of a VM without protected state (on x86, a
 * KVM_X86_SW_PROTECTED_VM), or one retrieved, its session finished, and
 * not yet bound. The memory of SEV-SNP or TDX guests is encrypted with
 * keys that do not survive a kexec; preserving their guest_memfd fails
 * with EOPNOTSUPP.
 *
 * The retrieved guest_memfd belongs to no VM. The first VM that binds it
 * to a memory slot (KVM_SET_USER_MEMORY_REGION2 with KVM_MEM_GUEST_MEMFD)
 * adopts it, as if it had created it; binding it to another VM then fails
 * with EINVAL, as for any guest_memfd. Binding checks the slot against
 * the file's size as always, so a VM laid out larger than the preserved
 * memory is refused (EINVAL).
 */

#define pr_fmt(fmt) "kvm_gmem_luo: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/kvm_gmem.h>
#include <linux/kvm_host.h>
#include <linux/liveupdate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "kvm_mm.h"

/**
 * struct kvm_gmem_luo_out - a guest_memfd being preserved
 * @folios: its preserved folios
 * @ser: the preserved page holding its &struct kvm_gmem_luo_ser
 *
 * Protected by the file's mapping invalidate_lock, taken exclusively.
 */
struct kvm_gmem_luo_out {
	struct liveupdate_folios folios;
	struct folio *ser;
};

static bool kvm_gmem_luo_can_preserve(struct liveupdate_file_handler *handler,
				      struct file *file)
{
	return kvm_gmem_is_file(file);
}

/*
 * Preserve every prepared folio the file has now; folios preserved by an
 * earlier call are skipped, so freeze picks up what the guest faulted in
 * since. guest_memfd folios are unmovable, never in KHO scratch memory
 * (which only serves movable allocations).
 */
static int kvm_gmem_luo_collect(struct inode *inode,
				struct kvm_gmem_luo_out *out)
{
	loff_t size = i_size_read(inode);
	struct folio_batch fbatch;
	pgoff_t index = 0;
	unsigned int i;
	int err = 0;

	/*
	 * No kept folio leaves the page cache (no hole is punched while the
	 * file is preserved): if it has no more pages than those, nothing
	 * came in since the last pass, and the reboot need not walk them.
	 */
	if (!size ||
	    out->folios.nr_pages == READ_ONCE(inode->i_mapping->nrpages))
		return 0;
	folio_batch_init(&fbatch);
	while (!err && filemap_get_folios(inode->i_mapping, &index,
					  (size - 1) >> PAGE_SHIFT, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			if (!folio_test_uptodate(folio))
				continue;
			err = liveupdate_folios_keep(&out->folios, folio);
			if (err)
				break;
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	return err;
}

static void kvm_gmem_luo_release_out(struct kvm_gmem_luo_out *out)
{
	liveupdate_folios_release(&out->folios);
	if (out->ser) {
		kho_unpreserve_folio(out->ser);
		folio_put(out->ser);
	}
	kfree(out);
}

static int kvm_gmem_luo_preserve(struct liveupdate_file_op_args *args)
{
	struct inode *inode = file_inode(args->file);
	struct address_space *mapping = inode->i_mapping;
	struct kvm_gmem_luo_out *out;
	struct kho_vmalloc list;
	int err;

	if (!kvm_gmem_can_liveupdate(args->file))
		return -EOPNOTSUPP;
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	filemap_invalidate_lock(mapping);
	if (kvm_gmem_test_liveupdate(inode)) {
		err = -EBUSY;	/* already in a session */
		goto err_unlock;
	}
	out->ser = folio_alloc(GFP_KERNEL | __GFP_ZERO, 0);
	if (!out->ser) {
		err = -ENOMEM;
		goto err_unlock;
	}
	err = kho_preserve_folio(out->ser);
	if (err) {
		folio_put(out->ser);
		out->ser = NULL;
		goto err_unlock;
	}
	err = kvm_gmem_luo_collect(inode, out);
	if (err)
		goto err_unlock;
	/* Now rather than in the blackout: freeze keeps it if still whole. */
	err = liveupdate_folios_write(&out->folios, &list);
	if (err)
		goto err_unlock;
	kvm_gmem_set_liveupdate(inode, true);
	filemap_invalidate_unlock(mapping);

	args->serialized_data = PFN_PHYS(folio_pfn(out->ser));
	args->private_data = out;
	return 0;

err_unlock:
	filemap_invalidate_unlock(mapping);
	kvm_gmem_luo_release_out(out);
	return err;
}

static void kvm_gmem_luo_unpreserve(struct liveupdate_file_op_args *args)
{
	struct inode *inode = file_inode(args->file);

	filemap_invalidate_lock(inode->i_mapping);
	kvm_gmem_set_liveupdate(inode, false);
	kvm_gmem_luo_release_out(args->private_data);
	filemap_invalidate_unlock(inode->i_mapping);
}

static int kvm_gmem_luo_freeze(struct liveupdate_file_op_args *args)
{
	struct kvm_gmem_luo_out *out = args->private_data;
	struct inode *inode = file_inode(args->file);
	struct kvm_gmem_luo_ser *ser = folio_address(out->ser);
	int err;

	filemap_invalidate_lock(inode->i_mapping);
	err = kvm_gmem_luo_collect(inode, out);
	if (err)
		goto out_unlock;

	memset(ser, 0, sizeof(*ser));
	err = liveupdate_folios_write(&out->folios, &ser->folios);
	if (err)
		goto out_unlock;
	ser->size = i_size_read(inode);
	ser->flags = kvm_gmem_flags(inode);
	ser->nr_folios = out->folios.nr;
out_unlock:
	filemap_invalidate_unlock(inode->i_mapping);
	return err;
}

/* Restore and check the description; return it or an ERR_PTR. */
static struct kvm_gmem_luo_ser *
kvm_gmem_luo_restore_ser(u64 phys, struct folio **serp,
			 struct luo_folio_ser **listp)
{
	struct luo_folio_ser *list;
	struct kvm_gmem_luo_ser *ser;
	struct folio *folio;

	folio = kho_restore_folio(phys);
	if (!folio)
		return ERR_PTR(-EIO);
	ser = folio_address(folio);
	if (!ser->size || !PAGE_ALIGNED(ser->size) ||
	    (ser->flags & ~GUEST_MEMFD_FLAG_MMAP) ||
	    ser->size > MAX_LFS_FILESIZE ||
	    ser->nr_folios > ser->size >> PAGE_SHIFT)
		goto err_put;
	list = liveupdate_folios_restore_list(&ser->folios, ser->nr_folios);
	if (IS_ERR(list))
		goto err_put;
	*serp = folio;
	*listp = list;
	return ser;

err_put:
	folio_put(folio);
	return ERR_PTR(-EINVAL);
}

static int kvm_gmem_luo_insert(struct inode *inode, struct folio *folio,
			       pgoff_t index)
{
	int err;

	/*
	 * The memory is in use already: charge it past the limit if reclaim
	 * cannot make room, rather than fail or call the OOM killer.
	 */
	err = filemap_add_folio(inode->i_mapping, folio, index,
				GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_HIGH);
	if (err)
		return err;
	/* Prepared before the update: the guest's data, as it was. */
	folio_mark_uptodate(folio);
	folio_unlock(folio);
	return 0;
}

static const struct liveupdate_lazy_ops kvm_gmem_luo_lazy_ops = {
	.insert = kvm_gmem_luo_insert,
};

/*
 * A retrieved guest_memfd's lazy fill hangs off its mapping's
 * i_private_data, which nothing else uses in a guest_memfd (buffer heads
 * use it in other file systems); set at retrieve, cleared at release.
 */

/**
 * kvm_gmem_luo_fill - put in the folio a lookup of a guest_memfd needs
 * @inode: the guest_memfd's inode
 * @index: the page index about to be looked up
 *
 * Called by every lookup of a guest_memfd that may meet a hole.
 *
 * Context: may sleep; takes no inode lock.
 * Return: 0; -EIO if the folio could not be restored.
 */
int kvm_gmem_luo_fill(struct inode *inode, pgoff_t index)
{
	struct liveupdate_lazy *lz = READ_ONCE(inode->i_mapping->i_private_data);

	return lz ? liveupdate_lazy_fill(lz, index, index) : 0;
}

/**
 * kvm_gmem_luo_release - free the lazy fill of a guest_memfd going away
 * @inode: the guest_memfd's inode
 *
 * Context: may sleep; from the file's release.
 */
void kvm_gmem_luo_release(struct inode *inode)
{
	struct liveupdate_lazy *lz = inode->i_mapping->i_private_data;

	WRITE_ONCE(inode->i_mapping->i_private_data, NULL);
	liveupdate_lazy_free(lz);
}

/*
 * Ahead of retrieve, in the background: restore the description and the
 * folio list, and check the list: sorted, distinct, inside the file,
 * single pages.
 */
static void kvm_gmem_luo_prepare(struct liveupdate_file_op_args *args)
{
	struct liveupdate_prepared *p = liveupdate_prepared_alloc(args);
	struct kvm_gmem_luo_ser *ser;

	if (!p)
		return;
	ser = kvm_gmem_luo_restore_ser(p->data, &p->ser_folio, &p->list);
	if (IS_ERR(ser)) {
		p->err = PTR_ERR(ser);
		p->ser_folio = NULL;
		p->list = NULL;
	} else {
		p->bounds.end = ser->size >> PAGE_SHIFT;
		liveupdate_prepared_check(p, ser->nr_folios);
	}
	args->private_data = p;
}

/* The description and list prepare restored, or restore them now. */
static struct kvm_gmem_luo_ser *
kvm_gmem_luo_take_ser(struct liveupdate_file_op_args *args,
		      struct liveupdate_prepared *p, struct folio **serp,
		      struct luo_folio_ser **listp)
{
	if (!liveupdate_prepared_take(args, p)) {
		*p = (struct liveupdate_prepared) {};
		return kvm_gmem_luo_restore_ser(args->serialized_data, serp,
						listp);
	}
	if (!p->ser_folio)
		return ERR_PTR(p->err);
	*serp = p->ser_folio;
	*listp = p->list;
	return folio_address(p->ser_folio);
}

static int kvm_gmem_luo_retrieve(struct liveupdate_file_op_args *args)
{
	struct liveupdate_folio_bounds bounds = {};
	struct liveupdate_prepared prepared;
	struct luo_folio_ser *list;
	struct kvm_gmem_luo_ser *ser;
	struct folio *ser_folio;
	struct liveupdate_lazy *lz;
	struct address_space *mapping;
	unsigned long pages;
	struct file *file;
	int err = 0;

	ser = kvm_gmem_luo_take_ser(args, &prepared, &ser_folio, &list);
	if (IS_ERR(ser)) {
		err = PTR_ERR(ser);
		goto err_used_up;
	}

	file = kvm_gmem_create_file(NULL, ser->size, ser->flags);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_drop;
	}
	mapping = file->f_mapping;

	/* Sorted, distinct, inside the file, single pages. */
	if (prepared.checked) {
		bounds = prepared.bounds;
		pages = prepared.pages;
		err = prepared.err;
	} else {
		bounds.end = ser->size >> PAGE_SHIFT;
		err = liveupdate_folios_check(list, ser->nr_folios, &bounds,
					      &pages);
	}
	if (err)
		goto err_put;
	/* guest_memfd allocates single pages: a lookup fills its own. */
	lz = liveupdate_lazy_start(file_inode(file), list, ser->nr_folios,
				   &bounds, &kvm_gmem_luo_lazy_ops, 0, 1);
	if (IS_ERR(lz)) {
		err = PTR_ERR(lz);
		goto err_put;
	}
	WRITE_ONCE(mapping->i_private_data, lz);
	list = NULL;

	/* Until finished, a device may still write it: no hole is punched. */
	filemap_invalidate_lock(mapping);
	kvm_gmem_set_liveupdate(file_inode(file), true);
	filemap_invalidate_unlock(mapping);
	folio_put(ser_folio);
	args->file = file;
	return 0;

err_put:
	fput(file);
err_drop:
	/* Nothing was restored: held while a device may write them. */
	liveupdate_folios_drop(list, 0, ser->nr_folios, 0, "kvm_gmem_luo");
	pr_warn("cannot rebuild a guest_memfd of %llu bytes: %d\n", ser->size,
		err);
	vfree(list);
	folio_put(ser_folio);
err_used_up:
	/* What the record named is given back: a retry fails the same way. */
	liveupdate_prepared_failed(args, err);
	return err;
}

static void kvm_gmem_luo_finish(struct liveupdate_file_op_args *args)
{
	struct liveupdate_prepared prepared;
	struct luo_folio_ser *list;
	struct kvm_gmem_luo_ser *ser;
	struct folio *ser_folio;

	/*
	 * A retrieved guest_memfd owns its folios: holes may be punched now
	 * (those a device may still write stay held).
	 */
	if (args->retrieved) {
		struct address_space *mapping = args->file->f_mapping;
		struct liveupdate_lazy *lz = READ_ONCE(mapping->i_private_data);

		/* Every folio goes in before a hole may be punched. */
		if (lz)
			liveupdate_lazy_finish(lz);
		filemap_invalidate_lock(mapping);
		kvm_gmem_set_liveupdate(file_inode(args->file), false);
		filemap_invalidate_unlock(mapping);
		return;
	}
	ser = kvm_gmem_luo_take_ser(args, &prepared, &ser_folio, &list);
	if (IS_ERR(ser))
		return;
	/* Held, while a device may still write it, until none does. */
	if (kho_dma_held())
		pr_info("a guest_memfd nobody retrieved is freed once no device does DMA\n");
	liveupdate_folios_drop(list, 0, ser->nr_folios, 0, "kvm_gmem_luo");
	vfree(list);
	folio_put(ser_folio);
}

static const struct liveupdate_file_ops kvm_gmem_luo_ops = {
	.can_preserve = kvm_gmem_luo_can_preserve,
	.preserve = kvm_gmem_luo_preserve,
	.unpreserve = kvm_gmem_luo_unpreserve,
	.freeze = kvm_gmem_luo_freeze,
	/* No unfreeze: the next freeze lists what came in since. */
	.prepare = kvm_gmem_luo_prepare,
	.retrieve = kvm_gmem_luo_retrieve,
	.finish = kvm_gmem_luo_finish,
	.owner = THIS_MODULE,
};

static struct liveupdate_file_handler kvm_gmem_luo_handler = {
	.ops = &kvm_gmem_luo_ops,
	.compatible = KVM_GMEM_LUO_COMPATIBLE,
};

/**
 * kvm_gmem_luo_init - register the guest_memfd live update handler
 *
 * Called when KVM loads. Without it, guest_memfds cannot be preserved,
 * and preserved ones cannot be retrieved (LUO releases their memory at
 * finish); KVM works as before.
 */
void kvm_gmem_luo_init(void)
{
	int err;

	if (!liveupdate_enabled())
		return;
	err = liveupdate_register_file_handler(&kvm_gmem_luo_handler);
	if (err)
		pr_warn("cannot register the guest_memfd handler: %d\n", err);
}

/**
 * kvm_gmem_luo_exit - unregister the guest_memfd live update handler
 *
 * Called when KVM unloads. LUO holds a reference to the module while a
 * guest_memfd is preserved or retrieved through the handler.
 */
void kvm_gmem_luo_exit(void)
{
	if (liveupdate_enabled())
		liveupdate_unregister_file_handler(&kvm_gmem_luo_handler);
}
