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
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "kvm_mm.h"

/**
 * struct kvm_gmem_luo_out - a guest_memfd being preserved
 * @folios: its preserved folios, each with a reference of ours
 * @nr: number of @folios
 * @cap: room in @folios
 * @ser: the preserved page holding its &struct kvm_gmem_luo_ser
 * @list: the folio list written by freeze, or NULL
 * @list_vm: its preservation
 *
 * Protected by the file's mapping invalidate_lock, taken exclusively.
 */
struct kvm_gmem_luo_out {
	struct folio **folios;
	unsigned long nr;
	unsigned long cap;
	struct folio *ser;
	struct kvm_gmem_luo_folio_ser *list;
	struct kho_vmalloc list_vm;
};

static bool kvm_gmem_luo_can_preserve(struct liveupdate_file_handler *handler,
				      struct file *file)
{
	return kvm_gmem_is_file(file);
}

static int kvm_gmem_luo_keep(struct kvm_gmem_luo_out *out,
			     struct folio *folio)
{
	int err;

	if (out->nr == out->cap) {
		unsigned long cap = max(16UL, out->cap * 2);
		struct folio **folios;

		folios = kvrealloc(out->folios, cap * sizeof(*folios), GFP_KERNEL);
		if (!folios)
			return -ENOMEM;
		out->folios = folios;
		out->cap = cap;
	}
	err = kho_preserve_folio(folio);
	if (err == -EEXIST)
		return 0;	/* ours from an earlier pass */
	if (err)
		return err;
	folio_get(folio);
	out->folios[out->nr++] = folio;
	return 0;
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

	if (!size)
		return 0;
	folio_batch_init(&fbatch);
	while (!err && filemap_get_folios(inode->i_mapping, &index,
					  (size - 1) >> PAGE_SHIFT, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			if (!folio_test_uptodate(folio))
				continue;
			err = kvm_gmem_luo_keep(out, folio);
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
	unsigned long i;

	for (i = 0; i < out->nr; i++) {
		kho_unpreserve_folio(out->folios[i]);
		folio_put(out->folios[i]);
	}
	if (out->list) {
		kho_unpreserve_vmalloc(&out->list_vm);
		vfree(out->list);
	}
	if (out->ser) {
		kho_unpreserve_folio(out->ser);
		folio_put(out->ser);
	}
	kvfree(out->folios);
	kfree(out);
}

static int kvm_gmem_luo_preserve(struct liveupdate_file_op_args *args)
{
	struct inode *inode = file_inode(args->file);
	struct address_space *mapping = inode->i_mapping;
	struct kvm_gmem_luo_out *out;
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

static int kvm_gmem_luo_cmp_index(const void *a, const void *b)
{
	const struct kvm_gmem_luo_folio_ser *fa = a, *fb = b;

	if (fa->index == fb->index)
		return 0;
	return fa->index < fb->index ? -1 : 1;
}

static int kvm_gmem_luo_freeze(struct liveupdate_file_op_args *args)
{
	struct kvm_gmem_luo_out *out = args->private_data;
	struct inode *inode = file_inode(args->file);
	struct kvm_gmem_luo_ser *ser = folio_address(out->ser);
	unsigned long i;
	int err;

	filemap_invalidate_lock(inode->i_mapping);
	err = kvm_gmem_luo_collect(inode, out);
	if (err)
		goto out_unlock;

	if (out->list) {
		kho_unpreserve_vmalloc(&out->list_vm);
		vfree(out->list);
		out->list = NULL;
	}
	memset(ser, 0, sizeof(*ser));
	if (out->nr) {
		out->list = vcalloc(out->nr, sizeof(*out->list));
		if (!out->list) {
			err = -ENOMEM;
			goto out_unlock;
		}
		for (i = 0; i < out->nr; i++) {
			out->list[i].phys = PFN_PHYS(folio_pfn(out->folios[i]));
			out->list[i].index = out->folios[i]->index;
			out->list[i].order = folio_order(out->folios[i]);
		}
		sort(out->list, out->nr, sizeof(*out->list),
		     kvm_gmem_luo_cmp_index, NULL);
		err = kho_preserve_vmalloc(out->list, &out->list_vm);
		if (err) {
			vfree(out->list);
			out->list = NULL;
			goto out_unlock;
		}
		ser->folios = out->list_vm;
	}
	ser->size = i_size_read(inode);
	ser->flags = kvm_gmem_flags(inode);
	ser->nr_folios = out->nr;
out_unlock:
	filemap_invalidate_unlock(inode->i_mapping);
	return err;
}

static void kvm_gmem_luo_unfreeze(struct liveupdate_file_op_args *args)
{
	/* The list is rewritten by the next freeze; nothing to undo. */
}

/*
 * Give back every folio of @list from @from on: at once, or, while a
 * device kept running through the update may still write them, once none
 * does (liveupdate_hold_for_dma()). Without memory to track them they
 * stay reserved, logged, until KHO's final release.
 */
static void kvm_gmem_luo_release(struct kvm_gmem_luo_folio_ser *list,
				 u64 from, u64 nr)
{
	unsigned long nr_held = 0;
	struct folio **held = NULL;
	struct folio *folio;
	u64 i;

	if (from >= nr)
		return;
	if (kho_dma_held()) {
		/* A corrupt list names more pages than the machine has. */
		if (nr - from <= get_num_physpages())
			held = kvmalloc_array(nr - from, sizeof(*held),
					      GFP_KERNEL | __GFP_NOWARN);
		if (!held) {
			pr_warn("cannot track %llu pages devices may still write: they stay reserved until every session is finished\n",
				nr - from);
			return;
		}
	}
	for (i = from; i < nr; i++) {
		if (list[i].order)
			continue;	/* corrupt: leave it reserved */
		folio = kho_restore_folio(list[i].phys);
		if (!folio)
			continue;
		if (held)
			held[nr_held++] = folio;
		else
			folio_put(folio);
		cond_resched();
	}
	if (held)
		liveupdate_hold_for_dma(held, nr_held);
}

/* Restore and check the description; return it or an ERR_PTR. */
static struct kvm_gmem_luo_ser *
kvm_gmem_luo_restore_ser(u64 phys, struct folio **serp,
			 struct kvm_gmem_luo_folio_ser **listp)
{
	struct kvm_gmem_luo_folio_ser *list = NULL;
	struct kvm_gmem_luo_ser *ser;
	struct folio *folio;

	folio = kho_restore_folio(phys);
	if (!folio)
		return ERR_PTR(-ENOENT);
	ser = folio_address(folio);
	if (!ser->size || !PAGE_ALIGNED(ser->size) ||
	    (ser->flags & ~GUEST_MEMFD_FLAG_MMAP) ||
	    ser->size > MAX_LFS_FILESIZE ||
	    ser->nr_folios > ser->size >> PAGE_SHIFT ||
	    (ser->nr_folios &&
	     ser->nr_folios * sizeof(*list) >
	     (u64)ser->folios.total_pages * PAGE_SIZE))
		goto err_put;
	if (ser->nr_folios) {
		list = kho_restore_vmalloc(&ser->folios);
		if (!list)
			goto err_put;
	}
	*serp = folio;
	*listp = list;
	return ser;

err_put:
	folio_put(folio);
	return ERR_PTR(-EINVAL);
}

/* Keep our reference to @folio in @held, if we hold them; else drop it. */
static void kvm_gmem_luo_hold(struct folio **held, unsigned long *nr_held,
			      struct folio *folio)
{
	if (held)
		held[(*nr_held)++] = folio;
	else
		folio_put(folio);
}

static int kvm_gmem_luo_retrieve(struct liveupdate_file_op_args *args)
{
	struct kvm_gmem_luo_folio_ser *list;
	struct kvm_gmem_luo_ser *ser;
	struct folio **held = NULL, *ser_folio;
	struct address_space *mapping;
	unsigned long nr_held = 0;
	struct file *file;
	u64 i = 0, next = 0;
	int err;

	ser = kvm_gmem_luo_restore_ser(args->serialized_data, &ser_folio, &list);
	if (IS_ERR(ser))
		return PTR_ERR(ser);
	/* A device kept running may write them: see liveupdate_hold_for_dma(). */
	if (kho_dma_held() && ser->nr_folios) {
		held = kvmalloc_array(ser->nr_folios, sizeof(*held), GFP_KERNEL);
		if (!held) {
			err = -ENOMEM;
			goto err_drop;
		}
	}

	file = kvm_gmem_create_file(NULL, ser->size, ser->flags);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_drop;
	}
	mapping = file->f_mapping;

	for (i = 0; i < ser->nr_folios; i++) {
		struct kvm_gmem_luo_folio_ser *e = &list[i];
		struct folio *folio;

		/* Sorted, distinct, inside the file, single pages. */
		if (e->order || e->reserved || e->index < next ||
		    e->index >= ser->size >> PAGE_SHIFT) {
			err = -EINVAL;
			goto err_put;
		}
		folio = kho_restore_folio(e->phys);
		if (!folio) {
			err = -ENOENT;
			goto err_put;
		}
		if (folio_order(folio)) {
			kvm_gmem_luo_hold(held, &nr_held, folio);
			err = -EINVAL;
			goto err_put;
		}
		err = filemap_add_folio(mapping, folio, e->index, GFP_KERNEL);
		if (err) {
			kvm_gmem_luo_hold(held, &nr_held, folio);
			goto err_put;
		}
		/* Prepared before the update: the guest's data, as it was. */
		folio_mark_uptodate(folio);
		folio_unlock(folio);
		kvm_gmem_luo_hold(held, &nr_held, folio);
		next = e->index + 1;
		cond_resched();
	}

	/* Until finished, a device may still write it: no hole is punched. */
	filemap_invalidate_lock(mapping);
	kvm_gmem_set_liveupdate(file_inode(file), true);
	filemap_invalidate_unlock(mapping);
	liveupdate_hold_for_dma(held, nr_held);
	vfree(list);
	folio_put(ser_folio);
	args->file = file;
	return 0;

err_put:
	i++;		/* the one that failed is restored or bad */
	/* Frees the folios added so far, unless a device may write them. */
	fput(file);
	liveupdate_hold_for_dma(held, nr_held);
	held = NULL;
err_drop:
	kvfree(held);
	/* Those not restored are held too while a device may write them. */
	kvm_gmem_luo_release(list, i, ser->nr_folios);
	pr_warn("cannot rebuild a guest_memfd of %llu bytes: %d\n", ser->size,
		err);
	vfree(list);
	folio_put(ser_folio);
	return err;
}

static void kvm_gmem_luo_finish(struct liveupdate_file_op_args *args)
{
	struct kvm_gmem_luo_folio_ser *list;
	struct kvm_gmem_luo_ser *ser;
	struct folio *ser_folio;

	/*
	 * A retrieved guest_memfd owns its folios: holes may be punched now
	 * (those a device may still write stay held).
	 */
	if (args->retrieved) {
		struct address_space *mapping = args->file->f_mapping;

		filemap_invalidate_lock(mapping);
		kvm_gmem_set_liveupdate(file_inode(args->file), false);
		filemap_invalidate_unlock(mapping);
		return;
	}
	ser = kvm_gmem_luo_restore_ser(args->serialized_data, &ser_folio, &list);
	if (IS_ERR(ser))
		return;
	/* Held, while a device may still write it, until none does. */
	if (kho_dma_held())
		pr_info("a guest_memfd nobody retrieved is freed once no device does DMA\n");
	kvm_gmem_luo_release(list, 0, ser->nr_folios);
	vfree(list);
	folio_put(ser_folio);
}

static const struct liveupdate_file_ops kvm_gmem_luo_ops = {
	.can_preserve = kvm_gmem_luo_can_preserve,
	.preserve = kvm_gmem_luo_preserve,
	.unpreserve = kvm_gmem_luo_unpreserve,
	.freeze = kvm_gmem_luo_freeze,
	.unfreeze = kvm_gmem_luo_unfreeze,
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
