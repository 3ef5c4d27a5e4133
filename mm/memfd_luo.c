// SPDX-License-Identifier: GPL-2.0
/*
 * Live update of memfds: the memfd file handlers (shmem and hugetlb) of
 * the Live Update Orchestrator.
 */

/**
 * DOC: memfd live update
 *
 * A memfd preserved in a LUO session crosses the kexec in place: its
 * folios are handed over with kexec handover and the next kernel puts
 * the same folios into a new memfd. Nothing is copied. The size, the
 * file position, the seals and the mode come back as they were (upstream
 * Linux drops seals; they are kept here), and so does the name.
 *
 * Preserve takes every folio the file has (holes stay holes: a sparse
 * file stays sparse), moves any folio that sits in KHO scratch memory
 * elsewhere (as long-term pinning does), preserves it and keeps a
 * reference to it, so that neither reclaim nor migration can take it
 * out of the page cache. From then on the file's size is fixed: growing
 * it, truncating it or punching a hole fails with EBUSY until it is
 * unpreserved or finished. Its contents may still change in place.
 *
 * Preserve also writes the list of the folios for the next kernel.
 * Freeze, inside reboot(), preserves the folios that filled holes since
 * (and only then writes the list again), and writes the file's state.
 *
 * The next kernel prepares the memfd at boot, in the background (see
 * "Preparing" in the LUO sessions): it restores the file's description
 * and list and checks the whole list (orders, indices, alignment), and,
 * for a hugetlb memfd, restores its folios in bulk and rebuilds the whole
 * file. Retrieve takes that over, or does it itself if the memfd was not
 * prepared.
 *
 * Retrieve rebuilds the memfd. A shmem memfd's folios are not put into
 * its page cache there: that costs about a microsecond a folio (charge,
 * account, insert, LRU), seconds for a guest's RAM of tens of GiB in
 * 4 KiB pages, all of it inside the blackout. Retrieve returns what the
 * check of the list found, accounts for all the file's pages at once (a
 * limit fails the retrieve before anything is restored) and returns.
 * The folios go in lazily: every shmem lookup that may meet a hole (a
 * page fault, read(), write(), splice, fallocate(), SEEK_DATA and
 * SEEK_HOLE, userfaultfd's copy, khugepaged, memfd_pin_folios()) first
 * puts in those of its range, widened to the largest folio the page
 * cache may allocate there, and a worker puts in the rest in the
 * background, in index order. Until then a folio stays
 * reserved where it is, as the previous kernel left it. Each one is
 * charged to the memory cgroup of the task that retrieved the memfd,
 * after reclaim past its limit if need be (never by the OOM killer): the
 * memory is in use already. A folio that cannot be restored (a corrupt
 * handover) makes its range fail with EIO rather than read as zeros until
 * the session is finished; it is a hole from then on. Until the fill is
 * done, mincore() and Shmem in /proc/meminfo count only what is in
 * (st_blocks counts it all from the retrieve on). A HugeTLB memfd, with
 * 512 times fewer folios, all of them adopted at once, is rebuilt by
 * prepare: its retrieve opens the file prepare built, for the caller
 * (with the caller's credentials, owned by its file system ids, with
 * times of the retrieve, like a file rebuilt at retrieve; its kernel
 * memory, though, is charged to no memory cgroup), and costs the same
 * whatever the file's size.
 *
 * The retrieved memfd's size stays fixed until the session is finished,
 * which puts in whatever the fill has not yet: a device kept running
 * through the update (see the VFIO live update) may write into its pages
 * until then, without holding them. Finish releases the folios of a
 * memfd nobody retrieved. While such a device runs, every folio of the
 * memfd is held until no device does (liveupdate_hold_for_dma()),
 * whether retrieve restored it or not: truncating or closing the memfd
 * once its session is finished, a retrieve that fails, or finishing a
 * session that nobody retrieved it from frees none of them meanwhile
 * (whether or not other sessions are ever finished), and neither
 * migration nor swap moves them.
 *
 * HugeTLB memfds (MFD_HUGETLB, any huge page size, 1 GiB included) and
 * hugetlbfs files go the same way under their own compatible, except
 * that preserve populates the whole file first (a reserved huge page not
 * yet faulted in would otherwise arrive as a hole without its
 * reservation), failing with ENOMEM or ENOSPC if the pool cannot. The next
 * kernel adopts each huge folio as an in-use surplus huge page of the
 * same size, so the pool keeps the size the administrator gave it
 * (HugePages_Total and HugePages_Surp count the adopted pages while they
 * are in use: from the boot's prepare on, or from retrieve when the file
 * was not prepared) and the pages return to the page allocator when the
 * file is closed or truncated, or at finish for a file nobody retrieved
 * (in either case once no device kept running through the update may
 * still write them). Like any surplus page, an adopted page becomes a
 * pool page if nr_hugepages is raised meanwhile (see "What the guest's
 * blackout is made of" in Documentation/core-api/liveupdate.rst). The
 * retrieved file is an unlinked hugetlb file, like a memfd, whatever the
 * original was.
 */

#define pr_fmt(fmt) "memfd_luo: " fmt

#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/delay.h>
#include <linux/hugetlb.h>
#include <linux/jiffies.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/memfd.h>
#include <linux/liveupdate.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "internal.h"

/*
 * The largest page a memfd_luo_ser may describe: 1 TiB, more than any
 * huge page size; a larger page_shift is corrupt.
 */
#define MEMFD_LUO_MAX_PAGE_SHIFT	40

/**
 * struct memfd_luo_out - a memfd being preserved
 * @folios: its preserved folios
 * @ser: the preserved page holding its &struct memfd_luo_ser
 *
 * Protected by luo_sessions_lock, which every operation on a preserved
 * file holds (preserve and freeze also take the file's inode lock).
 */
struct memfd_luo_out {
	struct liveupdate_folios folios;
	struct folio *ser;
};

static struct liveupdate_file_handler memfd_luo_hugetlb_handler;

static bool memfd_luo_is_hugetlb(struct liveupdate_file_op_args *args)
{
	return args->handler == &memfd_luo_hugetlb_handler;
}

/* The flag that fixes a preserved file's size, and its seals. */
static bool *memfd_luo_flag(struct inode *inode, bool hugetlb)
{
	return hugetlb ? &HUGETLBFS_I(inode)->liveupdate :
			 &SHMEM_I(inode)->liveupdate;
}

/*
 * From its freeze on, a preserved file takes no new folio: shmem and
 * hugetlbfs refuse one (a fault gets SIGBUS, write() and fallocate()
 * EBUSY), since the list of folios the freeze hands over is final and a
 * folio added later would not cross the reboot: a write into a hole
 * would be lost without a word. Writes into the folios it has still land
 * and cross. The flag is set under the lock the page cache insertions
 * check it under, so that every folio is either added before it (and
 * collected by the freeze) or refused.
 */
static void memfd_luo_set_frozen(struct file *file, bool hugetlb, bool frozen)
{
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = file_inode(file);

	if (!hugetlb) {
		xa_lock_irq(&mapping->i_pages);
		SHMEM_I(inode)->liveupdate_frozen = frozen;
		xa_unlock_irq(&mapping->i_pages);
		return;
	}
#ifdef CONFIG_HUGETLBFS
	WRITE_ONCE(HUGETLBFS_I(inode)->liveupdate_frozen, frozen);
	if (!frozen)
		return;
	/*
	 * hugetlb_add_to_page_cache() checks the flag under the fault mutex
	 * of the index it fills: wait for every caller that may have seen
	 * it clear.
	 */
	for (pgoff_t index = 0, end = i_size_read(inode) >>
			huge_page_shift(hstate_inode(inode));
	     index < end; index++) {
		u32 hash = hugetlb_fault_mutex_hash(mapping, index);

		mutex_lock(&hugetlb_fault_mutex_table[hash]);
		mutex_unlock(&hugetlb_fault_mutex_table[hash]);
		cond_resched();
	}
#endif
}

static unsigned int *memfd_luo_seals(struct inode *inode, bool hugetlb)
{
	return hugetlb ? &HUGETLBFS_I(inode)->seals : &SHMEM_I(inode)->seals;
}

static bool memfd_luo_can_preserve(struct liveupdate_file_handler *handler,
				   struct file *file)
{
	/* Any hugetlb file; shmem files only with no name in a directory. */
	if (handler == &memfd_luo_hugetlb_handler)
		return is_file_hugepages(file);
	return shmem_file(file) && !file_inode(file)->i_nlink;
}

/*
 * shmem_fallocate() leaves new folios !uptodate and unzeroed: shmem reads
 * them as zeros. The next kernel inserts every folio uptodate, so zero
 * such a folio now rather than hand over what its memory last held.
 */
static void memfd_luo_make_uptodate(struct folio *folio)
{
	if (folio_test_uptodate(folio))
		return;
	folio_zero_range(folio, 0, folio_size(folio));
	flush_dcache_folio(folio);
	folio_mark_uptodate(folio);
}

/* Preserve @folio, which the caller holds locked, and take a reference. */
static int memfd_luo_keep(struct memfd_luo_out *out, struct folio *folio)
{
	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(folio), folio);
	memfd_luo_make_uptodate(folio);
	return liveupdate_folios_keep(&out->folios, folio);
}

#ifdef CONFIG_LIVEUPDATE_TEST
/*
 * For the selftests: every large folio is treated as if it were in
 * scratch memory, and split before it is moved out, as a migration that
 * cannot move it whole may do.
 */
static bool memfd_luo_test_split;
module_param_named(test_split, memfd_luo_test_split, bool, 0644);

static void memfd_luo_split(struct file *file, pgoff_t index)
{
	struct folio *folio = filemap_lock_folio(file->f_mapping, index);

	if (IS_ERR(folio))
		return;
	if (folio_test_large(folio) && split_folio(folio))
		pr_warn("test_split: cannot split the folio at %lu\n", index);
	folio_unlock(folio);
	folio_put(folio);
}
#else
#define memfd_luo_test_split false
static void memfd_luo_split(struct file *file, pgoff_t index) { }
#endif

/* Preserve the folio at @index, moving it out of scratch memory first. */
static int memfd_luo_keep_moved(struct file *file, struct memfd_luo_out *out,
				pgoff_t index)
{
	loff_t start = (loff_t)index << PAGE_SHIFT;
	loff_t end = min_t(loff_t, start + PAGE_SIZE,
			   i_size_read(file_inode(file))) - 1;
	struct folio *folio;
	pgoff_t offset;
	long nr;
	int err;

	if (memfd_luo_test_split)
		memfd_luo_split(file, index);
	/* The range must end inside the file, even in a partial last page. */
	nr = memfd_pin_folios(file, start, end, &folio, 1, &offset);
	if (nr < 0)
		return nr;
	folio_lock(folio);
	err = memfd_luo_keep(out, folio);
	folio_unlock(folio);
	unpin_folio(folio);
	return err;
}

/*
 * Preserve every folio the file has now. Folios preserved by an earlier
 * call are skipped, so freeze can pick up what filled holes since. A
 * folio in scratch memory is moved out first; *@nr_movedp says how many
 * were, and how many were replaced under it (a collapse): both call for
 * another pass. Moving a large folio may split it and move only the part
 * at its start: the rest is still in scratch, for the next call.
 */
static int memfd_luo_collect(struct file *file, struct memfd_luo_out *out,
			     unsigned long *nr_movedp)
{
	struct inode *inode = file_inode(file);
	loff_t size = i_size_read(inode);
	unsigned long nr_moved = 0, nr_replaced = 0, i;
	pgoff_t index = 0, end, *moved = NULL;
	struct folio_batch fbatch;
	int err = 0;

	*nr_movedp = 0;
	if (!size)
		return 0;
	end = (size - 1) >> PAGE_SHIFT;

	/* Bring swapped-out pages back: they must be in memory to stay. */
	if (shmem_file(file) && SHMEM_I(inode)->swapped) {
		for (index = 0; index <= end; index++) {
			struct folio *folio;

			err = shmem_get_folio(inode, index, 0, &folio, SGP_READ);
			if (err)
				return err;
			if (folio) {
				index = folio_next_index(folio) - 1;
				folio_unlock(folio);
				folio_put(folio);
			}
			cond_resched();
		}
		index = 0;
	}

	folio_batch_init(&fbatch);
	while (!err && filemap_get_folios(inode->i_mapping, &index, end, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			/*
			 * A collapse into a huge page (khugepaged,
			 * MADV_COLLAPSE) holds the small folios locked
			 * while it replaces them: keep a folio only while it
			 * is still the file's, and look again for what
			 * replaced it.
			 */
			folio_lock(folio);
			if (folio->mapping != inode->i_mapping) {
				folio_unlock(folio);
				nr_replaced++;
				continue;
			}
			if (memfd_luo_test_split && folio_test_large(folio))
				err = -EINVAL;
			else
				err = memfd_luo_keep(out, folio);
			folio_unlock(folio);
			if (err == -EINVAL) {
				/* In scratch memory: move it, then keep it. */
				pgoff_t *m = krealloc_array(moved, nr_moved + 1,
							    sizeof(*moved),
							    GFP_KERNEL);

				if (!m) {
					err = -ENOMEM;
				} else {
					moved = m;
					moved[nr_moved++] = folio->index;
					err = 0;
				}
			}
			if (err)
				break;
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}

	/* With the batch released, nothing holds those folios in place. */
	for (i = 0; !err && i < nr_moved; i++)
		err = memfd_luo_keep_moved(file, out, moved[i]);
	kfree(moved);
	*nr_movedp = nr_moved + nr_replaced;
	return err;
}

/*
 * Kept folios cannot be reclaimed, but one swapped in and not yet kept can
 * be swapped out again before it is, and a large folio moved out of
 * scratch may have left its split tail behind: collect until nothing is
 * in swap and a pass moves nothing.
 */
static int memfd_luo_collect_all(struct file *file, struct memfd_luo_out *out)
{
	struct inode *inode = file_inode(file);
	unsigned long nr_moved;
	int err, tries;

	/*
	 * Nothing takes a kept folio out of the page cache (it holds a
	 * reference, the size is fixed): if the page cache has no more
	 * pages than those, no folio filled a hole since the last pass, and
	 * the reboot need not walk them all again.
	 */
	if (out->folios.nr_pages == READ_ONCE(inode->i_mapping->nrpages) &&
	    (!shmem_file(file) || !READ_ONCE(SHMEM_I(inode)->swapped)))
		return 0;
	for (tries = 0; tries < 8; tries++) {
		err = memfd_luo_collect(file, out, &nr_moved);
		if (err)
			return err;
		if (!nr_moved && (!shmem_file(file) ||
				  !READ_ONCE(SHMEM_I(file_inode(file))->swapped)))
			return 0;
	}
	return -EAGAIN;
}

/*
 * A writer holds the inode lock while it copies from user memory, and a
 * page fault there may never complete (a userfaultfd nobody serves, a
 * FUSE file that hangs). Preserve and freeze, which run with every live
 * update operation waiting behind them (freeze inside reboot()), wait
 * for the lock at most this long, then give up with -EBUSY.
 */
#define MEMFD_LUO_LOCK_WAIT	(10 * HZ)

static int memfd_luo_lock(struct file *file, const char *what)
{
	unsigned long deadline = jiffies + MEMFD_LUO_LOCK_WAIT;
	struct inode *inode = file_inode(file);

	while (!inode_trylock(inode)) {
		if (fatal_signal_pending(current))
			return -EINTR;
		if (time_after(jiffies, deadline)) {
			pr_warn("%s '%pD': a writer has held it for %d s (stalled in a page fault?): -EBUSY\n",
				what, file, MEMFD_LUO_LOCK_WAIT / HZ);
			return -EBUSY;
		}
		msleep(20);
	}
	return 0;
}

static void memfd_luo_release_out(struct memfd_luo_out *out)
{
	liveupdate_folios_release(&out->folios);
	if (out->ser) {
		kho_unpreserve_folio(out->ser);
		folio_put(out->ser);
	}
	kfree(out);
}

static int memfd_luo_preserve(struct liveupdate_file_op_args *args)
{
	struct inode *inode = file_inode(args->file);
	bool *preserved = memfd_luo_flag(inode, memfd_luo_is_hugetlb(args));
	struct memfd_luo_out *out;
	struct kho_vmalloc list;
	int err;

	/* The file comes back readable and writable: so must this fd be. */
	if ((args->file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE))
		return -EACCES;

	/*
	 * Huge pages that are reserved but not yet faulted in would come back
	 * as holes without their reservation: a hugetlb file is populated in
	 * full first, which fails (ENOMEM, ENOSPC) when the pool cannot.
	 */
	if (memfd_luo_is_hugetlb(args) && i_size_read(inode)) {
		err = vfs_fallocate(args->file, FALLOC_FL_KEEP_SIZE, 0,
				    i_size_read(inode));
		if (err)
			return err;
	}

	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	err = memfd_luo_lock(args->file, "preserving");
	if (err) {
		kfree(out);
		return err;
	}
	if (*preserved) {
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
	err = memfd_luo_collect_all(args->file, out);
	if (err)
		goto err_unlock;
	/* Now rather than in the blackout: freeze keeps it if still whole. */
	err = liveupdate_folios_write(&out->folios, &list);
	if (err)
		goto err_unlock;
	*preserved = true;
	inode_unlock(inode);

	args->serialized_data = PFN_PHYS(folio_pfn(out->ser));
	args->private_data = out;
	return 0;

err_unlock:
	inode_unlock(inode);
	memfd_luo_release_out(out);
	return err;
}

/*
 * Without the inode lock: a writer stalled in a page fault may hold it for
 * good, and closing a session must not wait for it with every live update
 * operation waiting behind. Clearing the flag only lifts a restriction: a
 * size change that saw it set a moment earlier fails with EBUSY, as it
 * would have before.
 */
static void memfd_luo_unpreserve(struct liveupdate_file_op_args *args)
{
	struct inode *inode = file_inode(args->file);

	WRITE_ONCE(*memfd_luo_flag(inode, memfd_luo_is_hugetlb(args)), false);
	memfd_luo_release_out(args->private_data);
}

static int memfd_luo_freeze(struct liveupdate_file_op_args *args)
{
	struct memfd_luo_out *out = args->private_data;
	struct file *file = args->file;
	struct inode *inode = file_inode(file);
	struct memfd_luo_ser *ser = folio_address(out->ser);
	const struct qstr *name = &file_dentry(file)->d_name;
	int err;

	err = memfd_luo_lock(file, "freezing");
	if (err)
		return err;
	memfd_luo_set_frozen(file, memfd_luo_is_hugetlb(args), true);
	err = memfd_luo_collect_all(file, out);
	if (err)
		goto out_unlock;

	memset(ser, 0, sizeof(*ser));
	err = liveupdate_folios_write(&out->folios, &ser->folios);
	if (err)
		goto out_unlock;
	ser->size = i_size_read(inode);
	ser->pos = file->f_pos;
	ser->seals = *memfd_luo_seals(inode, memfd_luo_is_hugetlb(args));
	ser->mode = inode->i_mode;
	ser->page_shift = memfd_luo_is_hugetlb(args) ?
			  huge_page_shift(hstate_inode(inode)) : PAGE_SHIFT;
	ser->nr_folios = out->folios.nr;
	strscpy(ser->name, name->name, min_t(size_t, name->len + 1,
					     sizeof(ser->name)));
out_unlock:
	if (err)
		memfd_luo_set_frozen(file, memfd_luo_is_hugetlb(args), false);
	inode_unlock(inode);
	return err;
}

static void memfd_luo_unfreeze(struct liveupdate_file_op_args *args)
{
	/* The next freeze lists what filled holes since; they may fill again. */
	memfd_luo_set_frozen(args->file, memfd_luo_is_hugetlb(args), false);
}

/*
 * Larger folios than the page cache holds come from no kernel, nor huge
 * pages larger than the file's: retrieve restores nothing larger.
 */
static unsigned int memfd_luo_max_order(const struct memfd_luo_ser *ser)
{
	return ser->page_shift > PAGE_SHIFT ? ser->page_shift - PAGE_SHIFT :
					      MAX_PAGECACHE_ORDER;
}

/*
 * What is not retrieved goes back whatever its order: the previous kernel
 * may have been built with a larger page cache order than this one (THP
 * on, here off), and its folios are sound. Only an order whose page
 * count does not fit a long is corrupt, and left reserved.
 */
#define MEMFD_LUO_DROP_MAX_ORDER	(BITS_PER_LONG - PAGE_SHIFT - 1)

/* Restore and check the description; return it or an ERR_PTR. */
static struct memfd_luo_ser *memfd_luo_restore_ser(u64 phys,
						   struct folio **serp,
						   struct luo_folio_ser **listp)
{
	struct luo_folio_ser *list;
	struct memfd_luo_ser *ser;
	struct folio *folio;

	folio = kho_restore_folio(phys);
	if (!folio)
		return ERR_PTR(-EIO);
	ser = folio_address(folio);
	if (!memchr(ser->name, '\0', sizeof(ser->name)) || ser->reserved ||
	    ser->page_shift < PAGE_SHIFT ||
	    ser->page_shift > MEMFD_LUO_MAX_PAGE_SHIFT ||
	    ser->size > MAX_LFS_FILESIZE ||
	    ser->nr_folios > (ser->size + PAGE_SIZE - 1) >> PAGE_SHIFT)
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

/* The smallest step in which a retrieve accounts for pages (see below). */
#define MEMFD_LUO_ACCT_STEP	512L

/* The largest folio shmem may allocate itself: a lookup fills its block. */
#define MEMFD_LUO_FILL_BLOCK	BIT(MAX_PAGECACHE_ORDER)

static int memfd_luo_insert(struct inode *inode, struct folio *folio,
			    pgoff_t index)
{
	if (folio_order(folio) > 1)
		page_rmappable_folio(&folio->page);
	return shmem_insert_folio(inode, folio, index);
}

static const struct liveupdate_lazy_ops memfd_luo_lazy_ops = {
	.insert = memfd_luo_insert,
	.unacct = shmem_insert_unacct,
};

/**
 * memfd_luo_fill - put a retrieved memfd's folios of a range into it
 * @inode: the memfd's inode, filled lazily
 * @start: the first page index about to be looked up
 * @end: the last one
 *
 * Called through shmem_liveupdate_fill() by every shmem lookup that may
 * meet a hole (see liveupdate_lazy_fill()).
 *
 * Context: may sleep; takes no inode lock.
 * Return: 0; -EIO if a folio of the range could not be restored.
 */
int memfd_luo_fill(struct inode *inode, pgoff_t start, pgoff_t end)
{
	return liveupdate_lazy_fill(READ_ONCE(SHMEM_I(inode)->liveupdate_fill),
				    start, end);
}

/**
 * memfd_luo_evict - free the lazy fill of a memfd's inode being evicted
 * @inode: the inode, filled lazily
 *
 * Called by shmem_evict_inode(). Folios never inserted (the session was
 * not finished) go back: at once, or held while a device may write them.
 *
 * Context: may sleep.
 */
void memfd_luo_evict(struct inode *inode)
{
	struct liveupdate_lazy *lz = SHMEM_I(inode)->liveupdate_fill;

	WRITE_ONCE(SHMEM_I(inode)->liveupdate_fill, NULL);
	liveupdate_lazy_free(lz);
}

/*
 * Fill a shmem memfd lazily from its checked list of @pages pages, which
 * the fill takes over; account for all its pages first. Nothing is
 * restored yet.
 */
static int memfd_luo_lazy_start(struct inode *inode, struct luo_folio_ser *list,
				u64 nr, long pages,
				const struct liveupdate_folio_bounds *b)
{
	struct liveupdate_lazy *lz;
	long done, n, step;
	int err;

	/*
	 * In steps of half the memory the kernel counts: the pages are not
	 * in totalram_pages() until they are inserted, and the overcommit
	 * heuristic refuses a single request larger than all of it; a
	 * strict commit limit still refuses the file as a whole. A guest's
	 * RAM takes a few steps, whatever its number of folios.
	 */
	step = max_t(long, totalram_pages() / 2, MEMFD_LUO_ACCT_STEP);
	for (done = 0; done < pages; done += n) {
		n = min(pages - done, step);
		err = shmem_insert_acct(inode, n);
		if (err) {
			if (done)
				shmem_insert_unacct(inode, done);
			return err;
		}
	}
	lz = liveupdate_lazy_start(inode, list, nr, b, &memfd_luo_lazy_ops,
				   pages, MEMFD_LUO_FILL_BLOCK);
	if (IS_ERR(lz)) {
		shmem_insert_unacct(inode, pages);
		return PTR_ERR(lz);
	}
	WRITE_ONCE(SHMEM_I(inode)->liveupdate_fill, lz);
	return 0;
}

/*
 * What an entry of @ser's list may hold: sorted, non-overlapping,
 * aligned, starting inside the file (a large shmem folio may reach past
 * its end), sane orders: a hugetlb file's are all its huge page's.
 */
static void memfd_luo_bounds(const struct memfd_luo_ser *ser, bool hugetlb,
			     struct liveupdate_folio_bounds *bounds)
{
	*bounds = (struct liveupdate_folio_bounds) {
		.max_order = memfd_luo_max_order(ser),
		.end = DIV_ROUND_UP(ser->size, PAGE_SIZE),
	};
	bounds->min_order = hugetlb ? bounds->max_order : 0;
}

/* Give back entries @from on: restored at prepare or not. */
static void memfd_luo_drop(struct liveupdate_prepared *prepared,
			   const struct luo_folio_ser *list, u64 from, u64 nr)
{
	if (prepared->folios)
		liveupdate_prepared_drop(prepared, from,
					 MEMFD_LUO_DROP_MAX_ORDER, "memfd_luo");
	else
		liveupdate_folios_drop(list, from, nr, MEMFD_LUO_DROP_MAX_ORDER,
				       "memfd_luo");
}

/* The description and list prepare restored, or restore them now. */
static struct memfd_luo_ser *
memfd_luo_take_ser(struct liveupdate_file_op_args *args,
		   struct liveupdate_prepared *p, struct folio **serp,
		   struct luo_folio_ser **listp)
{
	if (!liveupdate_prepared_take(args, p)) {
		*p = (struct liveupdate_prepared) {};
		return memfd_luo_restore_ser(args->serialized_data, serp, listp);
	}
	if (!p->ser_folio)
		return ERR_PTR(p->err);
	*serp = p->ser_folio;
	*listp = p->list;
	return folio_address(p->ser_folio);
}

/*
 * A new unlinked memfd with @ser's name, size, mode and seals, returned
 * with its inode locked; @bounds set to what its list may hold.
 */
static struct file *memfd_luo_new_file(const struct memfd_luo_ser *ser,
				       bool hugetlb,
				       struct liveupdate_folio_bounds *bounds)
{
	struct inode *inode;
	struct file *file;

	if (hugetlb)
		file = hugetlb_file_setup(ser->name, 0, VM_NORESERVE,
					  HUGETLB_ANONHUGE_INODE,
					  ser->page_shift);
	else
		file = shmem_file_setup(ser->name, 0, VM_NORESERVE);
	if (IS_ERR(file))
		return file;
	inode = file_inode(file);
	memfd_luo_bounds(ser, hugetlb, bounds);
	inode_lock(inode);
	i_size_write(inode, ser->size);
	inode->i_mode = (inode->i_mode & ~0777) | (ser->mode & 0777);
	*memfd_luo_seals(inode, hugetlb) = ser->seals;
	return file;
}

/*
 * Rebuild a hugetlb memfd from its description and list, around the
 * folios @p holds (prepare restored them in bulk; this restores any it
 * could not): each becomes an in-use surplus huge page of a new unlinked
 * hugetlb file, held while a device kept running through the update may
 * write it. Takes over @list and @p's folios whatever happens: on an
 * error, gives back what it did not adopt (held likewise) and says why.
 * But for a failure to allocate before any folio is adopted, with @kept:
 * then *@kept is set, and @list and @p's folios are left to the caller,
 * for a retry.
 */
static struct file *memfd_luo_hugetlb_build(const struct memfd_luo_ser *ser,
					    struct luo_folio_ser *list,
					    struct liveupdate_prepared *p,
					    bool *kept)
{
	struct liveupdate_folio_bounds bounds;
	struct liveupdate_held held;
	struct inode *inode;
	struct file *file;
	u64 i, from = 0;
	int err;

	/*
	 * A device kept running through the update may write these folios
	 * without holding them: hold each until no device does, so that
	 * neither truncation, nor migration, nor swap moves it meanwhile.
	 * Whether one does is known before prepare runs (kho_dma_hold()).
	 */
	err = liveupdate_held_init(&held, ser->nr_folios);
	if (err)
		goto err_keep;
	/* A hugetlb file is made of whole huge pages. */
	if (ser->page_shift == PAGE_SHIFT ||
	    !IS_ALIGNED(ser->size, 1ULL << ser->page_shift)) {
		err = -EINVAL;
		goto err_drop;
	}
	/* The list's check at prepare failed? */
	if (p->checked && p->err) {
		err = p->err;
		goto err_drop;
	}
	file = memfd_luo_new_file(ser, true, &bounds);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_keep;
	}
	inode = file_inode(file);
	for (i = 0; i < ser->nr_folios; i++) {
		struct luo_folio_ser *e = &list[i];
		struct folio *folio = NULL;

		/* The folio that fails is restored, or is bad: skip it. */
		from = i + 1;
		if (p->folios) {
			folio = p->folios[i];
			p->folios[i] = NULL;
		}
		/* Not restored at prepare: this says why, or restores it. */
		if (!folio)
			folio = liveupdate_folio_restore(e, &bounds, &held);
		if (IS_ERR(folio)) {
			err = PTR_ERR(folio);
			goto err_unlock;
		}
		err = hugetlb_add_handed_over_folio(inode, folio,
						    e->index >> e->order);
		liveupdate_held_add(&held, folio);
		if (err)
			goto err_unlock;
		cond_resched();
	}
	/*
	 * Until the session is finished, devices kept running through the
	 * update may still write into these pages (their DMA pins nothing
	 * in this kernel): the size stays fixed, and no hole is punched.
	 */
	*memfd_luo_flag(inode, true) = true;
	inode_unlock(inode);

	liveupdate_held_done(&held);
	kvfree(p->folios);
	p->folios = NULL;
	vfree(list);
	return file;

err_unlock:
	inode_unlock(inode);
	/* Frees the folios adopted so far, unless a device may write them. */
	fput(file);
	goto err_drop;
err_keep:
	if (kept) {
		pr_warn("cannot rebuild memfd '%s' now: %d; it may be retrieved again\n",
			ser->name, err);
		liveupdate_held_done(&held);
		*kept = true;
		return ERR_PTR(err);
	}
err_drop:
	pr_warn("cannot rebuild memfd '%s': %d\n", ser->name, err);
	liveupdate_held_done(&held);
	/* Those not adopted are held too while a device may write them. */
	memfd_luo_drop(p, list, from, ser->nr_folios);
	vfree(list);
	return ERR_PTR(err);
}

/*
 * Rebuild a shmem memfd: check its list (or take prepare's check) and
 * hand the list to the lazy fill. Takes over @list whatever happens, but
 * for a failure to allocate or to account for its pages, with @kept (see
 * memfd_luo_hugetlb_build()).
 */
static struct file *memfd_luo_shmem_build(const struct memfd_luo_ser *ser,
					  struct luo_folio_ser *list,
					  struct liveupdate_prepared *p,
					  bool *kept)
{
	struct liveupdate_folio_bounds bounds;
	unsigned long pages;
	struct inode *inode;
	struct file *file;
	int err;

	if (ser->page_shift != PAGE_SHIFT) {
		err = -EINVAL;
		goto err_drop;
	}
	file = memfd_luo_new_file(ser, false, &bounds);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_keep;
	}
	inode = file_inode(file);
	/* Check it all (or prepare did), then fill lazily. */
	if (p->checked) {
		bounds = p->bounds;
		pages = p->pages;
		err = p->err;
	} else {
		err = liveupdate_folios_check(list, ser->nr_folios, &bounds,
					      &pages);
	}
	if (err) {
		inode_unlock(inode);
		fput(file);
		goto err_drop;
	}
	/* A retry need not check it again. */
	p->checked = true;
	p->bounds = bounds;
	p->pages = pages;
	p->err = 0;
	err = memfd_luo_lazy_start(inode, list, ser->nr_folios, pages,
				   &bounds);
	if (err) {
		inode_unlock(inode);
		fput(file);
		goto err_keep;
	}
	/* The list is the lazy fill's now; the size stays fixed till finish. */
	*memfd_luo_flag(inode, false) = true;
	inode_unlock(inode);
	return file;

err_keep:
	if (kept) {
		pr_warn("cannot rebuild memfd '%s' now: %d; it may be retrieved again\n",
			ser->name, err);
		*kept = true;
		return ERR_PTR(err);
	}
err_drop:
	pr_warn("cannot rebuild memfd '%s': %d\n", ser->name, err);
	/* Held while a device may write them. */
	memfd_luo_drop(p, list, 0, ser->nr_folios);
	vfree(list);
	return ERR_PTR(err);
}

/*
 * Build the whole hugetlb memfd ahead of retrieve, which then only hands
 * it out. If that fails, the folios are given back (see
 * memfd_luo_hugetlb_build()) and retrieve returns the error; if it was
 * short of memory before it took anything, retrieve builds it again.
 */
static void memfd_luo_prepare_hugetlb(struct liveupdate_prepared *p,
				      const struct memfd_luo_ser *ser)
{
	bool kept = false;
	struct file *file = memfd_luo_hugetlb_build(ser, p->list, p, &kept);

	/* Short of memory before it took anything: retrieve builds it. */
	if (kept)
		return;
	p->list = NULL;
	if (IS_ERR(file)) {
		p->err = PTR_ERR(file);
		folio_put(p->ser_folio);
		p->ser_folio = NULL;
		return;
	}
	p->file = file;
}

/*
 * Ahead of retrieve, in the background: restore the description and the
 * folio list, and check the list; for a hugetlb memfd, which takes all
 * its folios at once, restore them in bulk and build the file too.
 */
static void memfd_luo_prepare(struct liveupdate_file_op_args *args)
{
	struct liveupdate_prepared *p = liveupdate_prepared_alloc(args);
	struct memfd_luo_ser *ser;

	if (!p)
		return;
	ser = memfd_luo_restore_ser(p->data, &p->ser_folio, &p->list);
	if (IS_ERR(ser)) {
		p->err = PTR_ERR(ser);
		p->ser_folio = NULL;
		p->list = NULL;
	} else if (!memfd_luo_is_hugetlb(args) &&
		   ser->page_shift == PAGE_SHIFT) {
		memfd_luo_bounds(ser, false, &p->bounds);
		liveupdate_prepared_check(p, ser->nr_folios);
	} else if (memfd_luo_is_hugetlb(args) &&
		   ser->page_shift > PAGE_SHIFT &&
		   IS_ALIGNED(ser->size, 1ULL << ser->page_shift)) {
		memfd_luo_bounds(ser, true, &p->bounds);
		liveupdate_prepared_check(p, ser->nr_folios);
		if (!p->err) {
			liveupdate_prepared_restore(p);
			memfd_luo_prepare_hugetlb(p, ser);
		}
	}
	args->private_data = p;
}

/*
 * The hugetlb memfd prepare built, if it did for the serialized data the
 * file has now (see liveupdate_prepared_take()), or NULL.
 */
static struct file *memfd_luo_prepared_file(struct liveupdate_file_op_args *args)
{
	struct liveupdate_prepared *p = args->private_data;

	return p && p->data == args->serialized_data ? p->file : NULL;
}

/*
 * Hand out the file prepare built, as a new open file of the caller's:
 * prepare ran in a kernel thread, whose credentials the file and its
 * inode carry, which a security module would check every use against.
 */
static struct file *memfd_luo_hugetlb_reopen(struct file *prepared)
{
	struct inode *inode = file_inode(prepared);
	struct file *file;

	file = alloc_file_clone(prepared, O_RDWR, prepared->f_op);
	if (IS_ERR(file))
		return file;
	inode_lock(inode);
	inode->i_uid = current_fsuid();
	inode->i_gid = current_fsgid();
	simple_inode_init_ts(inode);
	inode_unlock(inode);
	return file;
}

static int memfd_luo_retrieve(struct liveupdate_file_op_args *args)
{
	struct liveupdate_prepared prepared;
	struct luo_folio_ser *list;
	struct file *file = NULL;
	struct liveupdate_prepared *retry;
	struct memfd_luo_ser *ser;
	struct folio *ser_folio;
	bool kept = false;
	int err;

	/* Fails before anything is taken over: the file can be retrieved again. */
	if (memfd_luo_prepared_file(args)) {
		file = memfd_luo_hugetlb_reopen(memfd_luo_prepared_file(args));
		if (IS_ERR(file))
			return PTR_ERR(file);
	}
	ser = memfd_luo_take_ser(args, &prepared, &ser_folio, &list);
	if (IS_ERR(ser)) {
		if (file)
			fput(file);
		err = PTR_ERR(ser);
		goto err_used_up;
	}
	/* Where a build short of memory leaves it all, for a retry */
	retry = file ? NULL : liveupdate_prepared_alloc(args);
	if (file)
		fput(prepared.file);	/* the new file holds the inode */
	else if (memfd_luo_is_hugetlb(args))
		file = memfd_luo_hugetlb_build(ser, list, &prepared,
					       retry ? &kept : NULL);
	else
		file = memfd_luo_shmem_build(ser, list, &prepared,
					     retry ? &kept : NULL);
	if (kept) {
		*retry = prepared;
		retry->data = args->serialized_data;
		retry->ser_folio = ser_folio;
		retry->list = list;
		retry->nr = ser->nr_folios;
		args->private_data = retry;
		return PTR_ERR(file);
	}
	kfree(retry);
	if (IS_ERR(file)) {
		folio_put(ser_folio);
		err = PTR_ERR(file);
		goto err_used_up;
	}
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
	file->f_flags |= O_LARGEFILE;
	file->f_pos = ser->pos;
	folio_put(ser_folio);
	args->file = file;
	return 0;

err_used_up:
	/* What the record named is given back: a retry fails the same way. */
	liveupdate_prepared_failed(args, err);
	return err;
}

static void memfd_luo_finish(struct liveupdate_file_op_args *args)
{
	struct liveupdate_prepared prepared;
	struct luo_folio_ser *list;
	struct memfd_luo_ser *ser;
	struct folio *ser_folio;

	/*
	 * A retrieved memfd owns its folios: its size may change now (those
	 * a device may still write stay held: liveupdate_hold_for_dma()).
	 */
	if (args->retrieved) {
		struct inode *inode = file_inode(args->file);

		/* Every folio goes in before the file may change size. */
		if (!memfd_luo_is_hugetlb(args) &&
		    SHMEM_I(inode)->liveupdate_fill)
			liveupdate_lazy_finish(SHMEM_I(inode)->liveupdate_fill);
		inode_lock(inode);
		*memfd_luo_flag(inode, memfd_luo_is_hugetlb(args)) = false;
		inode_unlock(inode);
		return;
	}
	ser = memfd_luo_take_ser(args, &prepared, &ser_folio, &list);
	if (IS_ERR(ser))
		return;
	/* Held, while a device may still write it, until none does. */
	if (kho_dma_held())
		pr_info("memfd '%s', which nobody retrieved, is freed once no device does DMA\n",
			ser->name);
	if (prepared.file)
		fput(prepared.file);	/* its folios are held likewise */
	else
		memfd_luo_drop(&prepared, list, 0, ser->nr_folios);
	vfree(list);
	folio_put(ser_folio);
}

static const struct liveupdate_file_ops memfd_luo_ops = {
	.can_preserve = memfd_luo_can_preserve,
	.preserve = memfd_luo_preserve,
	.unpreserve = memfd_luo_unpreserve,
	.freeze = memfd_luo_freeze,
	.unfreeze = memfd_luo_unfreeze,
	.prepare = memfd_luo_prepare,
	.retrieve = memfd_luo_retrieve,
	.finish = memfd_luo_finish,
	.owner = THIS_MODULE,
};

/* One set of ops, two formats: each op asks which handler it runs for. */
static struct liveupdate_file_handler memfd_luo_handler = {
	.ops = &memfd_luo_ops,
	.compatible = MEMFD_LUO_COMPATIBLE,
};

static struct liveupdate_file_handler memfd_luo_hugetlb_handler = {
	.ops = &memfd_luo_ops,
	.compatible = MEMFD_LUO_HUGETLB_COMPATIBLE,
};

static int __init memfd_luo_init(void)
{
	int err;

	if (!liveupdate_enabled())
		return 0;
	err = liveupdate_register_file_handler(&memfd_luo_handler);
	if (!err && IS_ENABLED(CONFIG_HUGETLBFS))
		err = liveupdate_register_file_handler(&memfd_luo_hugetlb_handler);
	if (err)
		pr_err("cannot register the memfd handlers: %d\n", err);
	return err;
}
late_initcall(memfd_luo_init);
