// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover: debugfs view of the outgoing and the incoming handover.
 */

/**
 * DOC: KHO debugfs
 *
 * ``/sys/kernel/debug/kho/out/`` shows what this kernel hands over and
 * ``/sys/kernel/debug/kho/in/`` what the previous kernel handed over:
 *
 * - ``fdt``: the root FDT (binary; ``dtc -I dtb`` reads it); ``in/fdt``
 *   is a copy taken at boot, as the original is freed with the handover
 * - ``subtrees/<name>``: each subtree's FDT (``in``: copies as well)
 * - ``scratch``: the scratch areas, one ``0xstart 0xsize`` line each
 * - ``preserved_bytes``, ``preserved_blocks``: what the tracker holds (in:
 *   what was reserved at boot)
 * - ``tracker_bytes``: the memory the tracker itself takes (in: 0 once
 *   the final release freed it)
 * - ``in/preserved_ranges``: how many ranges (runs of adjacent blocks
 *   of one order) were reserved at boot
 * - ``in/reserve_ns``: how long checking and reserving the preserved
 *   memory took at boot (converted from get_cycles() ticks when the
 *   kernel's clock did not run yet so early)
 * - ``in/scratch_bytes``: the size of the scratch areas
 * - ``in/scratch_used_bytes``: how much of them early boot used at its
 *   peak: what memblock had reserved inside them when scratch-only mode
 *   ended (the kernel, its initrd, early page tables, memblock's arrays);
 *   compare it with ``in/scratch_bytes`` to size ``kho_scratch=``
 * - ``in/status``: ``none``, ``accepted`` or ``refused: <why>``
 *
 * All files are read only.
 */

#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/libfdt.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/math64.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/timex.h>
#include <linux/unaligned.h>

#include "kexec_handover_internal.h"

static struct dentry *kho_dir, *kho_out_subtrees;
/* get_cycles() and local_clock() when this interface was set up. */
static cycles_t kho_cal_cycles;
static u64 kho_cal_ns;
static struct debugfs_blob_wrapper kho_out_fdt_blob, kho_in_fdt_blob;

enum kho_counter {
	KHO_OUT_BYTES,
	KHO_OUT_BLOCKS,
	KHO_OUT_TRACKER,
	KHO_IN_BYTES,
	KHO_IN_BLOCKS,
	KHO_IN_TRACKER,
	KHO_IN_RANGES,
	KHO_IN_RESERVE_NS,
	KHO_IN_SCRATCH,
	KHO_IN_SCRATCH_USED,
};

/*
 * The reserve is timed so early in boot that local_clock() may not run
 * yet: an x86 kernel booted by kexec that cannot calibrate its TSC that
 * early reads 0 there. Its get_cycles() ticks are converted then, at the
 * rate the two clocks kept since kho_debugfs_init().
 */
static u64 kho_reserve_ns(void)
{
	u64 ticks, ns;

	if (kho_in.reserve_ns || !kho_in.reserve_cycles)
		return kho_in.reserve_ns;
	ticks = get_cycles() - kho_cal_cycles;
	ns = local_clock() - kho_cal_ns;
	return ticks ? mul_u64_u64_div_u64(kho_in.reserve_cycles, ns, ticks) : 0;
}

static int kho_counter_get(void *data, u64 *val)
{
	switch ((unsigned long)data) {
	case KHO_OUT_BYTES:
		*val = atomic64_read(&kho_out.tracker.nr_bytes);
		break;
	case KHO_OUT_BLOCKS:
		*val = atomic64_read(&kho_out.tracker.nr_blocks);
		break;
	case KHO_OUT_TRACKER:
		*val = atomic64_read(&kho_out.tracker.nr_pages) * PAGE_SIZE;
		break;
	case KHO_IN_BYTES:
		*val = kho_in.nr_bytes;
		break;
	case KHO_IN_BLOCKS:
		*val = kho_in.nr_blocks;
		break;
	case KHO_IN_TRACKER:
		*val = READ_ONCE(kho_in.nr_pages) * PAGE_SIZE;
		break;
	case KHO_IN_RANGES:
		*val = kho_in.nr_runs;
		break;
	case KHO_IN_RESERVE_NS:
		*val = kho_reserve_ns();
		break;
	case KHO_IN_SCRATCH:
		*val = kho_in.scratch_bytes;
		break;
	case KHO_IN_SCRATCH_USED:
		*val = kho_in.scratch_used_bytes;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(kho_counter_fops, kho_counter_get, NULL, "%llu\n");

static void kho_counter_create(const char *name, struct dentry *dir,
			       enum kho_counter which)
{
	debugfs_create_file_unsafe(name, 0400, dir, (void *)(unsigned long)which,
				   &kho_counter_fops);
}

static int kho_scratch_show(struct seq_file *m, void *v)
{
	unsigned int i;

	for (i = 0; i < kho_scratch_cnt; i++)
		seq_printf(m, "0x%llx 0x%llx\n", kho_scratch[i].addr,
			   kho_scratch[i].size);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kho_scratch);

static int kho_status_show(struct seq_file *m, void *v)
{
	if (kho_in.accepted)
		seq_puts(m, "accepted\n");
	else if (kho_in.refused)
		seq_printf(m, "refused: %s\n", kho_in.refused);
	else
		seq_puts(m, "none\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kho_status);

static void kho_debugfs_blob(const char *name, struct dentry *dir,
			     const void *fdt, size_t size)
{
	struct debugfs_blob_wrapper *blob = kzalloc(sizeof(*blob), GFP_KERNEL);

	if (!blob)
		return;
	blob->data = (void *)fdt;
	blob->size = size;
	debugfs_create_blob(name, 0400, dir, blob);
}

/**
 * kho_debugfs_add_subtree - show an outgoing subtree
 * @sub: the subtree
 *
 * Context: kho_out.lock held.
 */
void kho_debugfs_add_subtree(struct kho_subtree *sub)
{
	struct debugfs_blob_wrapper *blob;

	lockdep_assert_held(&kho_out.lock);
	if (!kho_out_subtrees)
		return;
	blob = kzalloc(sizeof(*blob), GFP_KERNEL);
	if (!blob)
		return;
	blob->data = sub->fdt;
	blob->size = fdt_totalsize(sub->fdt);
	sub->dentry = debugfs_create_blob(sub->name, 0400, kho_out_subtrees,
					  blob);
	if (IS_ERR(sub->dentry)) {
		sub->dentry = NULL;
		kfree(blob);
	}
}

/**
 * kho_debugfs_remove_subtree - stop showing an outgoing subtree
 * @sub: the subtree
 *
 * Context: kho_out.lock held.
 */
void kho_debugfs_remove_subtree(struct kho_subtree *sub)
{
	struct debugfs_blob_wrapper *blob;

	lockdep_assert_held(&kho_out.lock);
	if (!sub->dentry)
		return;
	blob = d_inode(sub->dentry)->i_private;
	debugfs_remove(sub->dentry);
	kfree(blob);
	sub->dentry = NULL;
}

/*
 * The incoming subtrees are shown as copies taken at boot: their owners
 * restore and free the originals. An address that is not the start of a
 * preserved block, or a size beyond it, is not shown.
 */
static void __init kho_debugfs_in_subtrees(struct dentry *dir)
{
	const void *fdt = kho_in.fdt;
	int node;

	fdt_for_each_subnode(node, fdt, 0) {
		const char *name = fdt_get_name(fdt, node, NULL);
		const void *prop, *sub;
		unsigned long pfn;
		size_t size;
		void *copy;
		int len, order;

		prop = fdt_getprop(fdt, node, KHO_FDT_PROP_SUBTREE, &len);
		if (!name || !prop || len != sizeof(u64))
			continue;
		pfn = PHYS_PFN(get_unaligned_be64(prop));
		if (!PAGE_ALIGNED(get_unaligned_be64(prop)))
			continue;
		order = kho_tracker_covering_order(kho_in.tracker, pfn);
		if (order < 0 || (pfn & ((1UL << order) - 1)))
			continue;
		sub = pfn_to_kaddr(pfn);
		if (fdt_check_header(sub))
			continue;
		size = fdt_totalsize(sub);
		if (size > PAGE_SIZE << order)
			continue;
		copy = kmemdup(sub, size, GFP_KERNEL);
		if (copy)
			kho_debugfs_blob(name, dir, copy, size);
	}
}

static int __init kho_debugfs_init(void)
{
	struct dentry *out, *in, *subtrees;
	struct kho_subtree *sub;

	if (!kho_out.ready && !kho_in.present)
		return 0;

	kho_dir = debugfs_create_dir("kho", NULL);
	kho_cal_cycles = get_cycles();
	kho_cal_ns = local_clock();

	in = debugfs_create_dir("in", kho_dir);
	debugfs_create_file("status", 0400, in, NULL, &kho_status_fops);
	if (kho_in.accepted) {
		/* A copy: the root FDT is freed with the handover. */
		kho_in_fdt_blob.size = fdt_totalsize(kho_in.fdt);
		kho_in_fdt_blob.data = kmemdup(kho_in.fdt, kho_in_fdt_blob.size,
					       GFP_KERNEL);
		if (kho_in_fdt_blob.data)
			debugfs_create_blob("fdt", 0400, in, &kho_in_fdt_blob);
		debugfs_create_file("scratch", 0400, in, NULL, &kho_scratch_fops);
		kho_counter_create("preserved_bytes", in, KHO_IN_BYTES);
		kho_counter_create("preserved_blocks", in, KHO_IN_BLOCKS);
		kho_counter_create("tracker_bytes", in, KHO_IN_TRACKER);
		kho_counter_create("preserved_ranges", in, KHO_IN_RANGES);
		kho_counter_create("reserve_ns", in, KHO_IN_RESERVE_NS);
		kho_counter_create("scratch_bytes", in, KHO_IN_SCRATCH);
		kho_counter_create("scratch_used_bytes", in, KHO_IN_SCRATCH_USED);
		subtrees = debugfs_create_dir("subtrees", in);
		kho_debugfs_in_subtrees(subtrees);
	}

	if (!kho_out.ready)
		return 0;
	out = debugfs_create_dir("out", kho_dir);
	kho_out_fdt_blob.data = kho_out.fdt;
	kho_out_fdt_blob.size = KHO_FDT_MAX_SIZE;
	debugfs_create_blob("fdt", 0400, out, &kho_out_fdt_blob);
	debugfs_create_file("scratch", 0400, out, NULL, &kho_scratch_fops);
	kho_counter_create("preserved_bytes", out, KHO_OUT_BYTES);
	kho_counter_create("preserved_blocks", out, KHO_OUT_BLOCKS);
	kho_counter_create("tracker_bytes", out, KHO_OUT_TRACKER);

	mutex_lock(&kho_out.lock);
	kho_out_subtrees = debugfs_create_dir("subtrees", out);
	list_for_each_entry(sub, &kho_out.subtrees, list)
		kho_debugfs_add_subtree(sub);
	mutex_unlock(&kho_out.lock);
	return 0;
}
late_initcall(kho_debugfs_init);
