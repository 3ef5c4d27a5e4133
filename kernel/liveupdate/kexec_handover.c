// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover (KHO): preserve memory across kexec.
 */

/**
 * DOC: Kexec handover
 *
 * KHO lets a kernel hand memory to the kernel it kexecs into: preserved
 * folios, page ranges and vmalloc areas stay where they are, and named
 * blobs (subtrees, each an FDT in preserved memory) tell the next kernel
 * what they hold. Enable it with ``kho=on``.
 *
 * Outgoing side. kho_init() allocates the tracker, the root FDT and the
 * scratch list, all in preserved memory. kho_preserve_*() set bits in the
 * tracker and kho_add_subtree() rewrites the root FDT; nothing else
 * happens at reboot. kexec_file_load() places the next kernel in the
 * scratch areas (kho_locate_mem_hole()) and tells it where the root FDT
 * and the scratch list are (kho_get_handover(), x86 setup_data).
 *
 * Scratch. A cold-booted kernel picks its scratch area in
 * kho_memory_init(); the pageblocks of every scratch area are
 * MIGRATE_CMA, so only movable allocations use them and no preservable
 * (unmovable) memory ever comes from them. A kernel booted through a
 * handover keeps the scratch areas it was given.
 *
 * Incoming side, in boot order:
 *
 * 1. kho_populate() records what the boot protocol carried.
 * 2. kho_memblock_setup(), right after memblock knows the memory, checks
 *    the scratch list and the root FDT and puts memblock in scratch-only
 *    mode: until step 3, any other memory may hold preserved data.
 * 3. kho_reserve_preserved(), as soon as the direct map exists, walks the
 *    tracker twice: once to check every address and count, once to
 *    reserve every preserved block in sorted batches (linear in the number
 *    of blocks). Then memblock may allocate anywhere again. Because this
 *    happens before the memory map is allocated, scratch only has to hold
 *    the kernel, its initrd and early page tables, and no struct page is
 *    written before it is initialized: deferred struct page init works.
 * 4. kho_restore_*() claim blocks from the tracker, which stays in memory
 *    until step 5 and records, for each block, its order.
 * 5. kho_release_unclaimed(), once nobody will restore anything more,
 *    frees every block still unclaimed, then the tracker, the root FDT
 *    and the scratch list: the kernel owns all its memory again.
 *
 * Failure. Anything malformed in steps 2 and 3 (a scratch area that is not
 * memory, an unknown compatible, a tracker pointing outside memory or into
 * scratch) refuses the whole handover with one log line before anything
 * was reserved, and the kernel boots as if there had been none.
 */

#define pr_fmt(fmt) "KHO: " fmt

#include <linux/ctype.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kexec.h>
#include <linux/kexec_handover.h>
#include <linux/libfdt.h>
#include <linux/log2.h>
#include <linux/memblock.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pageblock-flags.h>
#include <linux/rcupdate.h>
#include <linux/sched/clock.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/unaligned.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include <asm/early_ioremap.h>

#include "../../mm/internal.h"
#include "kexec_handover_internal.h"

static bool kho_enable __ro_after_init =
	IS_ENABLED(CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT);

static int __init kho_parse_enable(char *p)
{
	return kstrtobool(p, &kho_enable);
}
early_param("kho", kho_parse_enable);

/* kho_scratch=SIZE or kho_scratch=PERCENT%: size of a cold boot's scratch. */
static phys_addr_t kho_scratch_size __initdata;
static unsigned int kho_scratch_percent __initdata;

static int __init kho_parse_scratch(char *p)
{
	unsigned long long val;
	char *end;

	if (!p)
		return -EINVAL;
	val = memparse(p, &end);
	if (*end == '%' && !end[1]) {
		if (!val || val > 50)
			return -EINVAL;
		kho_scratch_percent = val;
		return 0;
	}
	if (*end || val < SZ_16M)
		return -EINVAL;
	kho_scratch_size = val;
	return 0;
}
early_param("kho_scratch", kho_parse_scratch);

/* Scratch areas: set during boot, read only afterwards. */
struct kho_scratch_ser kho_scratch[KHO_SCRATCH_MAX] __ro_after_init;
unsigned int kho_scratch_cnt __ro_after_init;

struct kho_out_state kho_out = {
	.lock = __MUTEX_INITIALIZER(kho_out.lock),
	.subtrees = LIST_HEAD_INIT(kho_out.subtrees),
};

struct kho_in_state kho_in;

/**
 * kho_is_enabled - is kexec handover on?
 *
 * Return: true when this kernel hands memory over at kexec (``kho=on``).
 */
bool kho_is_enabled(void)
{
	return kho_enable;
}

static bool kho_scratch_overlaps(phys_addr_t base, phys_addr_t size)
{
	unsigned int i;

	for (i = 0; i < kho_scratch_cnt; i++)
		if (base < kho_scratch[i].addr + kho_scratch[i].size &&
		    kho_scratch[i].addr < base + size)
			return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* Incoming: early boot                                                   */
/* ---------------------------------------------------------------------- */

/**
 * kho_populate - record the handover the boot protocol carried
 * @fdt_phys: physical address of the root FDT
 * @fdt_len: its length
 * @scratch_phys: physical address of the scratch list
 * @scratch_len: its length
 *
 * Called by the architecture while it parses its boot data, before
 * memblock knows the memory. Nothing is checked or used yet.
 *
 * Context: early boot.
 */
void __init kho_populate(u64 fdt_phys, u64 fdt_len, u64 scratch_phys,
			 u64 scratch_len)
{
	kho_in.fdt_phys = fdt_phys;
	kho_in.fdt_len = fdt_len;
	kho_in.scratch_phys = scratch_phys;
	kho_in.scratch_len = scratch_len;
	kho_in.present = true;
}

/* Room for a refusal reason that names what was found. */
static char kho_refused_buf[96];

static void __init kho_refuse(const char *why)
{
	pr_err("refusing the handover from the previous kernel: %s\n", why);
	kho_in.refused = why;
}

/* Preserved data never lives below 1 MiB, in scratch, or outside memory. */
static bool __init kho_in_range_ok(u64 base, u64 size)
{
	if (!size || base < SZ_1M || base + size < base)
		return false;
	if (!memblock_is_region_memory(base, size))
		return false;
	return !kho_scratch_overlaps(base, size);
}

static const char *__init kho_check_scratch_list(void)
{
	struct kho_scratch_ser *list;
	const char *why = NULL;
	unsigned int i, cnt;

	if (!kho_in.scratch_len || kho_in.scratch_len % sizeof(*list) ||
	    kho_in.scratch_len / sizeof(*list) > KHO_SCRATCH_MAX)
		return "the scratch list has a bad size";
	cnt = kho_in.scratch_len / sizeof(*list);

	list = early_memremap(kho_in.scratch_phys, kho_in.scratch_len);
	if (!list)
		return "cannot map the scratch list";
	for (i = 0; i < cnt; i++) {
		u64 addr = list[i].addr, size = list[i].size;

		if (!size || !IS_ALIGNED(addr | size, PAGE_SIZE << pageblock_order) ||
		    addr + size < addr ||
		    !memblock_is_region_memory(addr, size)) {
			why = "a scratch area is not memory";
			break;
		}
		kho_scratch[i] = list[i];
	}
	early_memunmap(list, kho_in.scratch_len);
	if (!why)
		kho_scratch_cnt = cnt;
	return why;
}

/* How much of an unknown compatible string a refusal shows. */
#define KHO_COMPAT_SHOWN_MAX	32

static const char *__init kho_check_fdt(void)
{
	const char *why = NULL;
	const void *prop;
	void *fdt;
	int len;

	if (kho_in.fdt_len < sizeof(struct fdt_header) ||
	    kho_in.fdt_len > KHO_FDT_MAX_SIZE)
		return "the root FDT has a bad size";
	fdt = early_memremap(kho_in.fdt_phys, kho_in.fdt_len);
	if (!fdt)
		return "cannot map the root FDT";

	if (fdt_check_header(fdt) || fdt_totalsize(fdt) > kho_in.fdt_len) {
		why = "the root FDT is corrupt";
	} else if (fdt_node_check_compatible(fdt, 0, KHO_FDT_COMPATIBLE)) {
		prop = fdt_getprop(fdt, 0, "compatible", &len);
		snprintf(kho_refused_buf, sizeof(kho_refused_buf),
			 "unknown format '%.*s' (this kernel reads %s)",
			 prop && len > 0 ? min(len, KHO_COMPAT_SHOWN_MAX) : 1,
			 prop && len > 0 ? (const char *)prop : "?",
			 KHO_FDT_COMPATIBLE);
		why = kho_refused_buf;
	} else {
		prop = fdt_getprop(fdt, 0, KHO_FDT_PROP_MEMORY_MAP, &len);
		if (!prop || len != sizeof(u64))
			why = "the root FDT has no preserved-memory map";
		else
			kho_in.tracker_phys = get_unaligned_be64(prop);
		/* Optional: older releases do not write them. */
		prop = fdt_getprop(fdt, 0, KHO_FDT_PROP_EXEC_FROM, &len);
		if (prop && len > 1 && strnlen(prop, len) == len - 1)
			strscpy(kho_in.exec_from, prop);
		prop = fdt_getprop(fdt, 0, KHO_FDT_PROP_EXEC_COUNT, &len);
		if (prop && len == sizeof(u64))
			kho_in.exec_count = get_unaligned_be64(prop);
	}
	early_memunmap(fdt, kho_in.fdt_len);
	if (why)
		return why;

	if (!PAGE_ALIGNED(kho_in.tracker_phys) ||
	    !kho_in_range_ok(kho_in.tracker_phys, PAGE_SIZE))
		return "the preserved-memory map is outside usable memory";
	if (!kho_in_range_ok(kho_in.fdt_phys, kho_in.fdt_len) ||
	    !kho_in_range_ok(kho_in.scratch_phys, kho_in.scratch_len))
		return "the handover data overlaps scratch memory";
	return NULL;
}

/**
 * kho_memblock_setup - check the handover and enter scratch-only mode
 *
 * Called by the architecture right after memblock knows the memory and
 * before anything is allocated from it. Until kho_reserve_preserved() has
 * run, memblock allocates only from the scratch areas and from the first
 * MiB (which x86 keeps for itself and never hands to the page allocator,
 * so nothing there is ever preserved).
 *
 * Context: early boot.
 */
void __init kho_memblock_setup(void)
{
	const char *why;
	unsigned int i;

	if (!kho_in.present)
		return;
	if (!kho_enable) {
		kho_refuse("kexec handover is off (kho=off)");
		return;
	}

	why = kho_check_scratch_list();
	if (!why)
		why = kho_check_fdt();
	if (why) {
		kho_scratch_cnt = 0;
		kho_refuse(why);
		return;
	}

	for (i = 0; i < kho_scratch_cnt; i++)
		memblock_mark_kho_scratch(kho_scratch[i].addr,
					  kho_scratch[i].size);
	memblock_mark_kho_scratch(0, SZ_1M);
	memblock_set_kho_scratch_only();
	kho_in.scratch_only = true;
	if (!kho_in.exec_count)
		kho_in.exec_count = 1;
	pr_info("exec from: %s (count %llu)\n",
		kho_in.exec_from[0] ? kho_in.exec_from : "unknown",
		kho_in.exec_count);
}

/* State of the two walks of kho_reserve_preserved(). */
struct kho_reserve_walk {
	u64 runs[KHO_TRACKER_ORDERS];
	u64 nr_runs;
	u64 nr_blocks;
	u64 nr_bytes;
	u64 nr_pages;
	/* Second walk: where the ranges of one order and the nodes go. */
	struct memblock_region *ranges;
	u64 max_ranges;
	u64 nr_ranges;
	struct memblock_region *nodes;
	u64 nr_nodes;
	u64 max_pages;
};

static int __init kho_reserve_node(phys_addr_t phys, void *arg)
{
	struct kho_reserve_walk *w = arg;

	if (!PAGE_ALIGNED(phys) || !kho_in_range_ok(phys, PAGE_SIZE) ||
	    phys == kho_in.tracker_phys)
		return -EFAULT;
	/* A real tracker has far fewer pages; a looping one is refused. */
	if (w->nr_pages + w->nr_nodes > w->max_pages)
		return -E2BIG;
	if (w->nodes) {
		w->nodes[w->nr_nodes].base = phys;
		w->nodes[w->nr_nodes].size = PAGE_SIZE;
		w->nr_nodes++;
	} else {
		w->nr_pages++;
	}
	return 0;
}

static int __init kho_reserve_run(unsigned int order, unsigned long pfn,
				  unsigned long nr_blocks, void *arg)
{
	struct kho_reserve_walk *w = arg;
	u64 base = PFN_PHYS(pfn);
	u64 size = (u64)nr_blocks << (order + PAGE_SHIFT);

	if (!kho_in_range_ok(base, size))
		return -ERANGE;
	if (w->ranges) {
		w->ranges[w->nr_ranges].base = base;
		w->ranges[w->nr_ranges].size = size;
		w->nr_ranges++;
		return 0;
	}
	w->runs[order]++;
	w->nr_runs++;
	w->nr_blocks += nr_blocks;
	w->nr_bytes += size;
	return 0;
}

static const struct kho_tracker_walk_ops kho_reserve_ops __initconst = {
	.node = kho_reserve_node,
	.run = kho_reserve_run,
};

/* The second walk collects ranges one order at a time, then nodes. */
static const struct kho_tracker_walk_ops kho_reserve_runs_ops __initconst = {
	.run = kho_reserve_run,
};

static const struct kho_tracker_walk_ops kho_reserve_nodes_ops __initconst = {
	.node = kho_reserve_node,
};

static int __init kho_cmp_region(const void *a, const void *b)
{
	const struct memblock_region *ra = a, *rb = b;

	if (ra->base == rb->base)
		return 0;
	return ra->base < rb->base ? -1 : 1;
}

/*
 * Is [@phys, @phys + @size) inside blocks that @root tracks? For the
 * previous kernel's tracker as for this kernel's own.
 */
static bool kho_range_tracked(const struct kho_tracker_node_ser *root,
			      u64 phys, u64 size)
{
	unsigned long pfn = PFN_DOWN(phys), end = PFN_UP(phys + size);

	while (pfn < end) {
		int order = kho_tracker_covering_order(root, pfn);

		if (order < 0)
			return false;
		pfn = (pfn | ((1UL << order) - 1)) + 1;
	}
	return true;
}

/*
 * Reserve everything the tracker lists. The ranges of one order come out
 * of the walk sorted and disjoint, so each order is one linear merge into
 * memblock; tracker pages are sorted first.
 */
static int __init kho_reserve_all(const struct kho_tracker_node_ser *root,
				  struct kho_reserve_walk *w)
{
	u64 i, k;
	int order, ret;

	w->max_ranges = 1;
	for (order = 0; order < KHO_TRACKER_ORDERS; order++)
		w->max_ranges = max(w->max_ranges, w->runs[order]);

	w->ranges = memblock_alloc(w->max_ranges * sizeof(*w->ranges),
				   SMP_CACHE_BYTES);
	w->nodes = memblock_alloc(max_t(u64, w->nr_pages, 1) * sizeof(*w->nodes),
				  SMP_CACHE_BYTES);
	if (!w->ranges || !w->nodes)
		return -ENOMEM;

	/*
	 * Tracker pages first, and checked before anything is reserved: a
	 * page used twice, or one inside a preserved block, means the map is
	 * corrupt (-EFAULT).
	 */
	w->nr_nodes = 0;
	ret = kho_tracker_walk(root, -1, &kho_reserve_nodes_ops, w);
	if (ret)
		return -EFAULT;
	sort(w->nodes, w->nr_nodes, sizeof(*w->nodes), kho_cmp_region, NULL);
	for (i = 0; i < w->nr_nodes; i++) {
		if (i && w->nodes[i].base == w->nodes[i - 1].base)
			return -EFAULT;
		if (kho_range_tracked(root, w->nodes[i].base, PAGE_SIZE))
			return -EFAULT;
	}

	for (order = 0; order < KHO_TRACKER_ORDERS; order++) {
		if (!w->runs[order])
			continue;
		w->nr_ranges = 0;
		ret = kho_tracker_walk(root, order, &kho_reserve_runs_ops, w);
		if (!ret)
			ret = memblock_reserve_sorted(w->ranges, w->nr_ranges);
		if (ret)
			return ret;
	}

	for (i = 1, k = 0; i < w->nr_nodes; i++) {
		if (w->nodes[k].base + w->nodes[k].size == w->nodes[i].base)
			w->nodes[k].size += PAGE_SIZE;
		else
			w->nodes[++k] = w->nodes[i];
	}
	ret = memblock_reserve_sorted(w->nodes, w->nr_nodes ? k + 1 : 0);
	if (ret)
		return ret;
	return memblock_reserve(kho_in.tracker_phys, PAGE_SIZE);
}

/**
 * kho_reserve_preserved - reserve the memory the previous kernel preserved
 *
 * Called by the architecture as soon as the direct map covers all memory,
 * before the memory map or anything large is allocated. Walks the tracker
 * once to check it (nothing is reserved if any address is wrong) and once
 * more to reserve, then lets memblock allocate from all memory again.
 *
 * Context: early boot.
 */
void __init kho_reserve_preserved(void)
{
	struct kho_reserve_walk *w;
	struct kho_tracker_node_ser *root;
	const char *why = NULL;
	u64 start = local_clock();
	int ret;

	if (!kho_in.scratch_only)
		return;

	root = phys_to_virt(kho_in.tracker_phys);
	w = memblock_alloc(sizeof(*w), SMP_CACHE_BYTES);
	if (!w) {
		why = "no scratch memory left to walk the preserved-memory map";
		goto out;
	}

	/* At most a node per 4 MiB of memory per order, plus some. */
	w->max_pages = (memblock_phys_mem_size() >> 22) * 4 + 4096;
	ret = kho_tracker_walk(root, -1, &kho_reserve_ops, w);
	if (ret) {
		why = "the preserved-memory map is corrupt";
		goto out_free;
	}
	if (!kho_range_tracked(root, kho_in.fdt_phys, kho_in.fdt_len) ||
	    !kho_range_tracked(root, kho_in.scratch_phys, kho_in.scratch_len)) {
		why = "the handover data is not in preserved memory";
		goto out_free;
	}

	ret = kho_reserve_all(root, w);
	if (ret == -EFAULT) {
		/* Found before anything was reserved. */
		why = "the preserved-memory map is corrupt";
	} else if (ret) {
		/*
		 * Out of scratch memory for memblock's arrays. What is reserved
		 * stays reserved (lost, not corrupted); the rest is released.
		 */
		why = "out of scratch memory (raise kho_scratch= in the previous kernel)";
	} else {
		kho_in.nr_blocks = w->nr_blocks;
		kho_in.nr_bytes = w->nr_bytes;
		kho_in.nr_runs = w->nr_runs;
		kho_in.nr_pages = w->nr_pages + 1;
		kho_in.accepted = true;
	}
	if (w->nodes)
		memblock_free(w->nodes, max_t(u64, w->nr_pages, 1) * sizeof(*w->nodes));
	if (w->ranges)
		memblock_free(w->ranges, w->max_ranges * sizeof(*w->ranges));
out_free:
	memblock_free(w, sizeof(*w));
out:
	memblock_clear_kho_scratch_only();
	kho_in.scratch_only = false;
	if (why) {
		kho_scratch_cnt = 0;
		kho_refuse(why);
		return;
	}
	kho_in.reserve_ns = local_clock() - start;
	pr_info("reserved %llu KiB preserved by the previous kernel in %llu us: %llu blocks in %llu ranges, %llu tracker pages\n",
		kho_in.nr_bytes >> 10, div_u64(kho_in.reserve_ns, NSEC_PER_USEC),
		kho_in.nr_blocks, kho_in.nr_runs, kho_in.nr_pages);
}

/* The size of a cold boot's scratch area. */
static phys_addr_t __init kho_default_scratch_size(void)
{
	phys_addr_t total = memblock_phys_mem_size();
	phys_addr_t align = PAGE_SIZE << pageblock_order;
	phys_addr_t size;

	if (kho_scratch_size)
		size = kho_scratch_size;
	else if (kho_scratch_percent)
		size = div_u64(total, 100) * kho_scratch_percent;
	else
		size = SZ_64M + total / 256;
	return round_up(size, align);
}

/**
 * kho_memory_init - set the scratch areas up for the page allocator
 *
 * Called from mm_core_init() while memblock still manages the memory. A
 * cold boot picks its scratch area here (low memory first); every scratch
 * area's pageblocks are made MIGRATE_CMA, so the next kernel will find no
 * preservable memory in them.
 *
 * Context: early boot.
 */
void __init kho_memory_init(void)
{
	phys_addr_t align = PAGE_SIZE << pageblock_order;
	phys_addr_t size, phys;
	unsigned int i;

	if (!kho_enable)
		return;

	if (!kho_scratch_cnt) {
		size = kho_default_scratch_size();
		phys = memblock_phys_alloc_range(size, align, SZ_16M, SZ_4G);
		if (!phys)
			phys = memblock_phys_alloc_range(size, align, 0,
							 MEMBLOCK_ALLOC_ACCESSIBLE);
		if (!phys) {
			pr_err("cannot find %pa bytes of scratch memory; kexec handover is off\n",
			       &size);
			kho_enable = false;
			return;
		}
		/* Free again: the page allocator gets it as CMA pageblocks. */
		memblock_phys_free(phys, size);
		kho_scratch[0].addr = phys;
		kho_scratch[0].size = size;
		kho_scratch_cnt = 1;
	}

	for (i = 0; i < kho_scratch_cnt; i++)
		memmap_init_kho_scratch(kho_scratch[i].addr, kho_scratch[i].size);
}

/* ---------------------------------------------------------------------- */
/* Outgoing: preserving                                                   */
/* ---------------------------------------------------------------------- */

static int kho_preserve_block(unsigned long pfn, unsigned int order)
{
	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	/* The next kernel boots here: callers move such memory first. */
	if (kho_scratch_overlaps(PFN_PHYS(pfn), PAGE_SIZE << order))
		return -EINVAL;
	return kho_tracker_set(&kho_out.tracker, pfn, order);
}

/* Orders a page range is split into: the largest aligned blocks that fit. */
static unsigned int kho_range_order(unsigned long pfn, unsigned long left)
{
	unsigned int order = pfn ? __ffs(pfn) : KHO_ORDER_MAX;

	order = min_t(unsigned int, order, ilog2(left));
	return min_t(unsigned int, order, KHO_ORDER_MAX);
}

/**
 * kho_preserve_folio - preserve a folio across kexec
 * @folio: the folio; it must not be in a scratch area
 *
 * The next kernel gets it back, with its order, from kho_restore_folio().
 * The caller keeps its reference until the reboot.
 *
 * Context: may sleep.
 * Return: 0; -EOPNOTSUPP when KHO is off; -EINVAL for memory in a scratch
 * area; -EEXIST if already preserved; -ENOMEM.
 */
int kho_preserve_folio(struct folio *folio)
{
	return kho_preserve_block(folio_pfn(folio), folio_order(folio));
}
EXPORT_SYMBOL_GPL(kho_preserve_folio);

/**
 * kho_unpreserve_folio - undo kho_preserve_folio()
 * @folio: the folio
 *
 * Context: any; never sleeps.
 * Return: 0; -EOPNOTSUPP when KHO is off; -ENOENT if @folio was not
 * preserved as a whole.
 */
int kho_unpreserve_folio(struct folio *folio)
{
	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	return kho_tracker_clear(&kho_out.tracker, folio_pfn(folio),
				 folio_order(folio));
}
EXPORT_SYMBOL_GPL(kho_unpreserve_folio);

/**
 * kho_preserve_pages - preserve a range of pages across kexec
 * @page: first page
 * @nr_pages: number of pages
 *
 * The range is recorded as the largest naturally aligned blocks that fit;
 * the next kernel gets it back as order-0 pages from kho_restore_pages().
 * On failure nothing stays preserved.
 *
 * Context: may sleep.
 * Return: 0; -EINVAL for an empty range or memory in a scratch area;
 * -EOPNOTSUPP when KHO is off; -EEXIST if part of it is preserved
 * already; -ENOMEM.
 */
int kho_preserve_pages(struct page *page, unsigned long nr_pages)
{
	unsigned long pfn = page_to_pfn(page), end = pfn + nr_pages, p, q;
	unsigned int order;
	int err;

	if (!nr_pages)
		return -EINVAL;
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		err = kho_preserve_block(p, order);
		if (err)
			goto err_unpreserve;
	}
	return 0;

err_unpreserve:
	for (q = pfn; q < p; q += 1UL << order) {
		order = kho_range_order(q, end - q);
		kho_tracker_clear(&kho_out.tracker, q, order);
	}
	return err;
}

/**
 * kho_unpreserve_pages - undo kho_preserve_pages()
 * @page: first page
 * @nr_pages: number of pages, as preserved
 *
 * Context: any; never sleeps.
 * Return: 0; -EOPNOTSUPP when KHO is off; -ENOENT (and nothing changed)
 * if the range was not preserved exactly so.
 */
int kho_unpreserve_pages(struct page *page, unsigned long nr_pages)
{
	unsigned long pfn = page_to_pfn(page), end = pfn + nr_pages, p;
	unsigned int order;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!nr_pages)
		return -ENOENT;
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		if (!kho_tracker_test(kho_out.tracker.root, p, order))
			return -ENOENT;
	}
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		kho_tracker_clear(&kho_out.tracker, p, order);
	}
	return 0;
}

static void kho_vmalloc_free_chunks(struct kho_vmalloc_chunk_ser *chunk,
				    bool unpreserve)
{
	while (chunk) {
		struct kho_vmalloc_chunk_ser *next =
			chunk->next ? phys_to_virt(chunk->next) : NULL;

		if (unpreserve)
			kho_unpreserve_pages(virt_to_page(chunk), 1);
		free_page((unsigned long)chunk);
		chunk = next;
	}
}

/**
 * kho_preserve_vmalloc - preserve a vmalloc area across kexec
 * @ptr: start of the area, as vmalloc() returned it
 * @preservation: filled in with the handle the next kernel needs
 *
 * The area's pages and a list of their addresses (in pages of its own)
 * are preserved; the caller hands @preservation over in its own preserved
 * data. The next kernel maps the same pages again with
 * kho_restore_vmalloc().
 *
 * Context: may sleep.
 * Return: 0; -EINVAL if @ptr is not the start of a vmalloc area;
 * -EOPNOTSUPP for huge-page areas or when KHO is off; -ENOMEM; the errors
 * of kho_preserve_pages().
 */
int kho_preserve_vmalloc(void *ptr, struct kho_vmalloc *preservation)
{
	const unsigned int per_chunk =
		ARRAY_SIZE(((struct kho_vmalloc_chunk_ser *)0)->phys);
	struct kho_vmalloc_chunk_ser *first = NULL, *chunk, *prev = NULL;
	struct vm_struct *vm = find_vm_area(ptr);
	unsigned int i, j, done = 0;
	int err = -ENOMEM;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!vm || vm->addr != ptr || !vm->nr_pages || !vm->pages)
		return -EINVAL;
	if (is_vm_area_hugepages(ptr))
		return -EOPNOTSUPP;

	for (i = 0; i < vm->nr_pages; i += per_chunk) {
		chunk = (void *)get_zeroed_page(GFP_KERNEL);
		if (!chunk)
			goto err_free_chunks;
		if (prev)
			prev->next = virt_to_phys(chunk);
		else
			first = chunk;
		prev = chunk;
		for (j = 0; j < per_chunk && i + j < vm->nr_pages; j++)
			chunk->phys[j] = page_to_phys(vm->pages[i + j]);
		chunk->nr = j;
	}

	for (done = 0; done < vm->nr_pages; done++) {
		err = kho_preserve_pages(vm->pages[done], 1);
		if (err)
			goto err_unpreserve;
	}
	for (chunk = first; chunk;
	     chunk = chunk->next ? phys_to_virt(chunk->next) : NULL) {
		err = kho_preserve_pages(virt_to_page(chunk), 1);
		if (err)
			goto err_unpreserve_chunks;
	}

	preservation->first = virt_to_phys(first);
	preservation->total_pages = vm->nr_pages;
	preservation->flags = 0;
	preservation->order = 0;
	return 0;

err_unpreserve_chunks:
	for (prev = first; prev != chunk; prev = phys_to_virt(prev->next))
		kho_unpreserve_pages(virt_to_page(prev), 1);
err_unpreserve:
	while (done--)
		kho_unpreserve_pages(vm->pages[done], 1);
err_free_chunks:
	kho_vmalloc_free_chunks(first, false);
	return err;
}
EXPORT_SYMBOL_GPL(kho_preserve_vmalloc);

/**
 * kho_unpreserve_vmalloc - undo kho_preserve_vmalloc()
 * @preservation: the handle kho_preserve_vmalloc() filled in; cleared
 *
 * Context: may sleep.
 * Return: 0; -EINVAL for an empty handle; -EOPNOTSUPP when KHO is off.
 */
int kho_unpreserve_vmalloc(struct kho_vmalloc *preservation)
{
	struct kho_vmalloc_chunk_ser *chunk;
	u64 i;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!preservation->first)
		return -EINVAL;

	for (chunk = phys_to_virt(preservation->first); chunk;
	     chunk = chunk->next ? phys_to_virt(chunk->next) : NULL)
		for (i = 0; i < chunk->nr; i++)
			kho_unpreserve_pages(pfn_to_page(PHYS_PFN(chunk->phys[i])), 1);
	kho_vmalloc_free_chunks(phys_to_virt(preservation->first), true);
	memset(preservation, 0, sizeof(*preservation));
	return 0;
}
EXPORT_SYMBOL_GPL(kho_unpreserve_vmalloc);

/* ---------------------------------------------------------------------- */
/* Incoming: restoring                                                    */
/* ---------------------------------------------------------------------- */

/*
 * The tracker and the root FDT the previous kernel handed over are read in
 * place until the final release frees them (__kho_release_unclaimed()).
 * Readers hold rcu_read_lock() and read them only if kho_in_readable()
 * says so under it; the release sets kho_in.released and then waits for
 * every reader with synchronize_rcu() before it frees a page.
 */
static bool kho_in_readable(void)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "KHO: incoming read outside RCU");
	return kho_in.accepted && !READ_ONCE(kho_in.released);
}

/* Were these pages reserved at boot and left alone since? */
static bool kho_pages_untouched(struct page *page, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		if (!PageReserved(page + i) || page_ref_count(page + i) != 1)
			return false;
	return true;
}

/* Hand reserved pages to their new owner, as a folio or as plain pages. */
static void kho_init_pages(struct page *page, unsigned int order, bool folio)
{
	unsigned long i, nr = 1UL << order;

	for (i = 0; i < nr; i++) {
		__ClearPageReserved(page + i);
		set_page_count(page + i, folio && i ? 0 : 1);
	}
	if (folio && order)
		prep_compound_page(page, order);
	adjust_managed_page_count(page, nr);
}

/**
 * kho_restore_folio - take back a folio the previous kernel preserved
 * @phys: its physical address
 *
 * Context: after the page allocator is up; may be called from any context
 * that can touch every struct page of the folio.
 * Return: the folio, with its order and one reference, or NULL if nothing
 * was preserved at @phys (or it was restored already).
 */
struct folio *kho_restore_folio(phys_addr_t phys)
{
	unsigned long pfn = PHYS_PFN(phys);
	bool claimed = false;
	struct page *page;
	int order = 0;

	if (!PAGE_ALIGNED(phys))
		return NULL;
	rcu_read_lock();
	if (kho_in_readable()) {
		for (order = 0; order <= KHO_ORDER_MAX; order++)
			if (kho_tracker_test(kho_in.tracker, pfn, order))
				break;
		claimed = order <= KHO_ORDER_MAX &&
			  kho_tracker_test_and_clear(kho_in.tracker, pfn, order);
	}
	rcu_read_unlock();
	if (!claimed)
		return NULL;

	page = pfn_to_page(pfn);
	if (!kho_pages_untouched(page, 1UL << order)) {
		pr_warn_once("preserved block at pfn %#lx is in use; not restored\n",
			     pfn);
		return NULL;
	}
	kho_init_pages(page, order, true);
	return page_folio(page);
}
EXPORT_SYMBOL_GPL(kho_restore_folio);

/**
 * kho_restore_pages - take back pages the previous kernel preserved
 * @phys: physical address of the first page
 * @nr_pages: number of pages, as preserved
 *
 * Context: as kho_restore_folio().
 * Return: the first page (each page has one reference and order 0), or
 * NULL if the range was not preserved exactly so or was restored already.
 */
struct page *kho_restore_pages(phys_addr_t phys, unsigned long nr_pages)
{
	unsigned long pfn = PHYS_PFN(phys), end = pfn + nr_pages, p, q;
	unsigned int order;

	if (!PAGE_ALIGNED(phys) || !nr_pages)
		return NULL;
	rcu_read_lock();
	if (!kho_in_readable()) {
		rcu_read_unlock();
		return NULL;
	}
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		if (!kho_tracker_test_and_clear(kho_in.tracker, p, order))
			goto err_unclaim;
		if (!kho_pages_untouched(pfn_to_page(p), 1UL << order)) {
			pr_warn_once("preserved block at pfn %#lx is in use; not restored\n",
				     p);
			p += 1UL << order;
			goto err_unclaim;
		}
	}
	rcu_read_unlock();
	for (p = pfn; p < end; p += 1UL << order) {
		order = kho_range_order(p, end - p);
		kho_init_pages(pfn_to_page(p), order, false);
	}
	return pfn_to_page(pfn);

err_unclaim:
	for (q = pfn; q < p; q += 1UL << order) {
		order = kho_range_order(q, end - q);
		kho_tracker_mark(kho_in.tracker, q, order);
	}
	rcu_read_unlock();
	return NULL;
}

/**
 * kho_restore_vmalloc - map a preserved vmalloc area again
 * @preservation: the handle kho_preserve_vmalloc() filled in
 *
 * Context: may sleep.
 * Return: the area, which vfree() releases, or NULL if the handle or the
 * page list is invalid (every page restored so far is freed again).
 */
void *kho_restore_vmalloc(const struct kho_vmalloc *preservation)
{
	const unsigned int per_chunk =
		ARRAY_SIZE(((struct kho_vmalloc_chunk_ser *)0)->phys);
	unsigned int total = preservation->total_pages, n = 0, i;
	struct kho_vmalloc_chunk_ser *chunk;
	struct page **pages, *cpage;
	u64 phys = preservation->first;
	void *ptr;

	if (!phys || !total || preservation->flags || preservation->order)
		return NULL;
	pages = kvmalloc_array(total, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;

	while (phys) {
		cpage = kho_restore_pages(phys, 1);
		if (!cpage)
			goto err_free;
		chunk = page_address(cpage);
		if (chunk->nr > per_chunk || chunk->nr > total - n) {
			__free_page(cpage);
			goto err_free;
		}
		for (i = 0; i < chunk->nr; i++) {
			struct page *page = kho_restore_pages(chunk->phys[i], 1);

			if (!page) {
				__free_page(cpage);
				goto err_free;
			}
			pages[n++] = page;
		}
		phys = chunk->next;
		__free_page(cpage);
	}
	if (n != total)
		goto err_free;

	ptr = vmap(pages, total, VM_MAP | VM_MAP_PUT_PAGES, PAGE_KERNEL);
	if (!ptr)
		goto err_free;
	return ptr;

err_free:
	while (n--)
		__free_page(pages[n]);
	kvfree(pages);
	return NULL;
}
EXPORT_SYMBOL_GPL(kho_restore_vmalloc);

/* What the final release freed, in pages. */
struct kho_release_count {
	unsigned long unclaimed;
	unsigned long handover;	/* the root FDT and the scratch list */
};

static bool kho_block_overlaps(unsigned long pfn, unsigned long nr,
			       u64 phys, u64 len)
{
	return PFN_PHYS(pfn) < phys + len && phys < PFN_PHYS(pfn + nr);
}

/* Free every block of a run that nobody restored. */
static int kho_release_run(unsigned int order, unsigned long pfn,
			   unsigned long nr_blocks, void *arg)
{
	struct kho_release_count *count = arg;
	unsigned long i, j, nr = 1UL << order;

	for (i = 0; i < nr_blocks; i++, pfn += nr) {
		struct page *page = pfn_to_page(pfn);

		if (!kho_tracker_test_and_clear(kho_in.tracker, pfn, order))
			continue;
		if (!kho_pages_untouched(page, nr))
			continue;	/* overlaps another block: leave it */
		kho_init_pages(page, order, false);
		for (j = 0; j < nr; j++)
			__free_page(page + j);
		if (kho_block_overlaps(pfn, nr, kho_in.fdt_phys, kho_in.fdt_len) ||
		    kho_block_overlaps(pfn, nr, kho_in.scratch_phys,
				       kho_in.scratch_len))
			count->handover += nr;
		else
			count->unclaimed += nr;
		cond_resched();
	}
	return 0;
}

/*
 * DMA holds. A device kept running through the live update (its IOMMU
 * translation adopted from the previous kernel) may write into pages the
 * previous kernel preserved, without holding them in this kernel. While
 * any such device runs, no preserved memory may be freed: handlers check
 * kho_dma_held() and keep what they would free until the last hold goes
 * (kho_dma_defer(); LUO's liveupdate_hold_for_dma() does it for restored
 * folios), and kho_release_unclaimed() waits for it too.
 * kho_dma_lock protects the count, the pending release and the list of
 * deferred releases.
 */
static DEFINE_MUTEX(kho_dma_lock);
static unsigned long kho_dma_holds;
static bool kho_release_pending;
static LIST_HEAD(kho_dma_deferred_list);

static unsigned long __kho_release_unclaimed(void);

/* Run the releases kho_dma_defer() kept, outside of any caller's lock. */
static void kho_dma_deferred_work_fn(struct work_struct *work)
{
	struct kho_dma_deferred *d, *tmp;
	LIST_HEAD(list);

	mutex_lock(&kho_dma_lock);
	list_splice_init(&kho_dma_deferred_list, &list);
	mutex_unlock(&kho_dma_lock);
	list_for_each_entry_safe(d, tmp, &list, list) {
		list_del(&d->list);
		d->release(d);
		cond_resched();
	}
}

static DECLARE_WORK(kho_dma_deferred_work, kho_dma_deferred_work_fn);

/**
 * kho_dma_hold - a device keeps doing DMA into preserved memory
 *
 * Called by an IOMMU driver for each device whose translation it adopted
 * from the previous kernel.
 *
 * Context: may sleep.
 */
void kho_dma_hold(void)
{
	mutex_lock(&kho_dma_lock);
	kho_dma_holds++;
	mutex_unlock(&kho_dma_lock);
}

/**
 * kho_dma_unhold - the device of a kho_dma_hold() stopped using its
 *		    adopted translation
 *
 * Its DMA is blocked, or its new owner pinned what it maps. When the last
 * hold goes, a release of unclaimed memory that waited for it runs, and
 * the releases kho_dma_defer() kept are scheduled.
 *
 * Context: may sleep.
 */
void kho_dma_unhold(void)
{
	mutex_lock(&kho_dma_lock);
	if (!WARN_ON(!kho_dma_holds) && !--kho_dma_holds) {
		if (kho_release_pending) {
			kho_release_pending = false;
			__kho_release_unclaimed();
		}
		if (!list_empty(&kho_dma_deferred_list))
			schedule_work(&kho_dma_deferred_work);
	}
	mutex_unlock(&kho_dma_lock);
}

/**
 * kho_dma_held - may a device still write into preserved memory?
 *
 * Return: true while a kho_dma_hold() is in force: preserved memory must
 * then not be freed (kho_dma_defer() frees it once no hold is left).
 */
bool kho_dma_held(void)
{
	return READ_ONCE(kho_dma_holds);
}
EXPORT_SYMBOL_GPL(kho_dma_held);

/**
 * kho_dma_defer - free something only once no device does DMA
 * @deferred: what to release, and how
 *
 * For memory the previous kernel preserved, that a handler restored and a
 * device kept running through the update may still write (see
 * liveupdate_hold_for_dma()). If a kho_dma_hold() is in force,
 * @deferred->release runs once the last one is dropped (from a worker,
 * so that it may take any lock), and the memory stays allocated until
 * then.
 *
 * Context: may sleep.
 * Return: true if the release is deferred; false if no device does DMA
 * through an adopted translation, and the caller frees at once.
 */
bool kho_dma_defer(struct kho_dma_deferred *deferred)
{
	bool deferring;

	mutex_lock(&kho_dma_lock);
	deferring = kho_dma_holds;
	if (deferring)
		list_add_tail(&deferred->list, &kho_dma_deferred_list);
	mutex_unlock(&kho_dma_lock);
	return deferring;
}

/**
 * kho_release_unclaimed - free what was preserved but never restored
 *
 * For the user of the handover that knows nobody will restore anything
 * more (the Live Update Orchestrator, once every incoming session is
 * finished): every preserved block still unclaimed goes back to the page
 * allocator, so nothing the previous kernel kept leaks, even what no
 * handler of this kernel could read. Then the handover itself goes: the
 * tracker, the root FDT and the scratch list. From then on nothing can be
 * restored (kho_restore_*() return NULL, kho_retrieve_subtree() -ENOENT);
 * debugfs keeps a copy of the root FDT. While a device kept running
 * through the update may write into that memory (kho_dma_hold()), the
 * release waits until the last such device stops.
 *
 * Context: may sleep.
 * Return: the number of pages released (0 if the release waits or ran
 * before).
 */
unsigned long kho_release_unclaimed(void)
{
	unsigned long released = 0;

	mutex_lock(&kho_dma_lock);
	if (kho_dma_holds) {
		kho_release_pending = true;
		pr_info("unclaimed preserved memory is kept while devices still do DMA through adopted translations\n");
	} else {
		released = __kho_release_unclaimed();
	}
	mutex_unlock(&kho_dma_lock);
	return released;
}

/*
 * The final release: every block nobody restored, then the handover's own
 * pages (the root FDT, the scratch list and the tracker), which nobody
 * reads once kho_in.released is set and the readers have left.
 */
static unsigned long __kho_release_unclaimed(void)
{
	static const struct kho_tracker_walk_ops ops = {
		.run = kho_release_run,
	};
	struct kho_release_count count = { };
	unsigned long tracker;

	if (!kho_in.accepted || kho_in.released)
		return 0;
	WRITE_ONCE(kho_in.released, true);
	synchronize_rcu();

	kho_tracker_walk(kho_in.tracker, -1, &ops, &count);
	tracker = kho_tracker_release_in(kho_in.tracker);
	if (tracker != kho_in.nr_pages)
		pr_warn("the tracker had %llu pages at boot, %lu at its release\n",
			kho_in.nr_pages, tracker);
	WRITE_ONCE(kho_in.nr_pages, 0);
	kho_in.tracker = NULL;
	kho_in.fdt = NULL;

	if (count.unclaimed)
		pr_info("released %lu KiB preserved by the previous kernel that nobody restored\n",
			count.unclaimed << (PAGE_SHIFT - 10));
	pr_info("released the handover itself: %lu KiB (tracker %lu KiB, root FDT and scratch list %lu KiB)\n",
		(count.handover + tracker) << (PAGE_SHIFT - 10),
		tracker << (PAGE_SHIFT - 10),
		count.handover << (PAGE_SHIFT - 10));
	return count.unclaimed + count.handover + tracker;
}

/* ---------------------------------------------------------------------- */
/* Subtrees and the root FDT                                              */
/* ---------------------------------------------------------------------- */

/**
 * kho_exec_from - which kernel handed this one over
 *
 * Return: the release string (uname -r) of the kernel whose handover this
 * kernel accepted, or NULL after a cold boot, a refused handover, or a
 * kernel too old to say.
 */
const char *kho_exec_from(void)
{
	return kho_in.accepted && kho_in.exec_from[0] ? kho_in.exec_from : NULL;
}

/**
 * kho_exec_count - kexec handovers since the last cold boot
 *
 * Return: how many kernels handed memory over one to the next to reach
 * this one (1 for the first kernel after a cold boot's), 0 after a cold
 * boot or a refused handover.
 */
u64 kho_exec_count(void)
{
	return kho_in.accepted ? kho_in.exec_count : 0;
}

/* Rewrite the root FDT from the subtree list; on error it is unchanged. */
static int kho_out_update_fdt(void)
{
	struct kho_subtree *sub;
	void *fdt;
	int err;

	lockdep_assert_held(&kho_out.lock);

	fdt = kvmalloc(KHO_FDT_MAX_SIZE, GFP_KERNEL);
	if (!fdt)
		return -ENOMEM;
	err = fdt_create(fdt, KHO_FDT_MAX_SIZE);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", KHO_FDT_COMPATIBLE);
	err |= fdt_property_u64(fdt, KHO_FDT_PROP_MEMORY_MAP,
				kho_out.tracker.root_phys);
	err |= fdt_property_string(fdt, KHO_FDT_PROP_EXEC_FROM,
				   init_utsname()->release);
	err |= fdt_property_u64(fdt, KHO_FDT_PROP_EXEC_COUNT,
				kho_exec_count() + 1);
	list_for_each_entry(sub, &kho_out.subtrees, list) {
		err |= fdt_begin_node(fdt, sub->name);
		err |= fdt_property_u64(fdt, KHO_FDT_PROP_SUBTREE,
					virt_to_phys(sub->fdt));
		err |= fdt_end_node(fdt);
	}
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	if (!err)
		memcpy(kho_out.fdt, fdt, KHO_FDT_MAX_SIZE);
	kvfree(fdt);
	return err ? -ENOSPC : 0;
}

/* The longest subtree (FDT node) name, in characters, without the NUL. */
#define KHO_SUBTREE_NAME_MAX	31

/* Node names: 1 to KHO_SUBTREE_NAME_MAX characters of [a-zA-Z0-9,._+-]. */
static bool kho_subtree_name_ok(const char *name)
{
	size_t len = strnlen(name, KHO_SUBTREE_NAME_MAX + 1);
	size_t i;

	if (!len || len > KHO_SUBTREE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr(",._+-", name[i]))
			return false;
	return true;
}

/**
 * kho_alloc_preserve - allocate zeroed memory and preserve it
 * @size: how much, rounded up to a power-of-two number of pages
 *
 * For a handler's own description of what it hands over (a subtree FDT,
 * a serialized record) whose physical address the next kernel gets.
 *
 * Context: may sleep.
 * Return: the memory, in the linear map, or an ERR_PTR.
 */
void *kho_alloc_preserve(size_t size)
{
	struct folio *folio;
	int err;

	if (!size)
		return ERR_PTR(-EINVAL);
	folio = folio_alloc(GFP_KERNEL | __GFP_ZERO, get_order(size));
	if (!folio)
		return ERR_PTR(-ENOMEM);
	err = kho_preserve_folio(folio);
	if (err) {
		folio_put(folio);
		return ERR_PTR(err);
	}
	return folio_address(folio);
}
EXPORT_SYMBOL_GPL(kho_alloc_preserve);

/**
 * kho_unpreserve_free - undo kho_alloc_preserve()
 * @mem: what it returned, or NULL
 *
 * Context: may sleep.
 */
void kho_unpreserve_free(void *mem)
{
	struct folio *folio;

	if (!mem)
		return;
	folio = virt_to_folio(mem);
	kho_unpreserve_folio(folio);
	folio_put(folio);
}
EXPORT_SYMBOL_GPL(kho_unpreserve_free);

/**
 * kho_is_preserved - is a range of memory preserved for the next kernel?
 * @phys: its start
 * @size: its length in bytes
 *
 * For callers that hand over pointers into memory others preserved: an
 * IOMMU page table pointing at a device's DMA buffers, for example.
 *
 * Context: must not race with the unpreservation of that memory.
 * Return: true if every page of the range is in a preserved block.
 */
bool kho_is_preserved(phys_addr_t phys, size_t size)
{
	return kho_is_enabled() && size &&
	       kho_range_tracked(kho_out.tracker.root, phys, size);
}

/**
 * kho_is_restorable - did the previous kernel preserve a range of memory?
 * @phys: its start
 * @size: its length in bytes
 *
 * For handlers that read what the previous kernel handed over in place,
 * or follow pointers in it (page tables), before restoring it.
 *
 * Context: must not race with the restore of that memory, nor with the
 * final release (kho_release_unclaimed()), which frees what nobody
 * restored: a caller that reads the range in place afterwards holds
 * what keeps the release away (an unfinished session, or a DMA hold).
 * Return: true if every page of the range is in a block the previous
 * kernel preserved and nobody has restored yet.
 */
bool kho_is_restorable(phys_addr_t phys, size_t size)
{
	bool tracked;

	if (!size)
		return false;
	rcu_read_lock();
	tracked = kho_in_readable() &&
		  kho_range_tracked(kho_in.tracker, phys, size);
	rcu_read_unlock();
	return tracked;
}
EXPORT_SYMBOL_GPL(kho_is_restorable);

/**
 * kho_add_subtree - hand a named blob over to the next kernel
 * @name: its name, 1 to %KHO_SUBTREE_NAME_MAX (31) characters of
 *	  [a-zA-Z0-9,._+-]
 * @fdt: the blob: an FDT in the linear map whose pages the caller has
 *	 preserved, and which should carry a versioned "compatible"
 *
 * The next kernel finds it with kho_retrieve_subtree(). The blob is read
 * at boot of the next kernel: the caller may change it until the reboot.
 *
 * Context: may sleep; takes kho_out.lock.
 * Return: 0; -EOPNOTSUPP when KHO is off; -EINVAL for a bad name, an
 * invalid FDT or one not in preserved memory; -EEXIST if the name or the
 * blob is handed over already; -ENOSPC if the root FDT is full; -ENOMEM.
 */
int kho_add_subtree(const char *name, void *fdt)
{
	struct kho_subtree *sub, *pos;
	int err;

	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	if (!kho_subtree_name_ok(name) || !virt_addr_valid(fdt) ||
	    fdt_check_header(fdt) ||
	    !kho_range_tracked(kho_out.tracker.root, virt_to_phys(fdt),
			      fdt_totalsize(fdt)))
		return -EINVAL;

	sub = kzalloc(sizeof(*sub), GFP_KERNEL);
	if (!sub)
		return -ENOMEM;
	sub->name = kstrdup(name, GFP_KERNEL);
	if (!sub->name) {
		kfree(sub);
		return -ENOMEM;
	}
	sub->fdt = fdt;

	mutex_lock(&kho_out.lock);
	list_for_each_entry(pos, &kho_out.subtrees, list) {
		if (!strcmp(pos->name, name) || pos->fdt == fdt) {
			err = -EEXIST;
			goto err_unlock;
		}
	}
	list_add_tail(&sub->list, &kho_out.subtrees);
	err = kho_out_update_fdt();
	if (err) {
		list_del(&sub->list);
		goto err_unlock;
	}
	kho_debugfs_add_subtree(sub);
	mutex_unlock(&kho_out.lock);
	return 0;

err_unlock:
	mutex_unlock(&kho_out.lock);
	kfree(sub->name);
	kfree(sub);
	return err;
}

/**
 * kho_remove_subtree - stop handing a blob over
 * @fdt: the blob given to kho_add_subtree()
 *
 * Context: may sleep; takes kho_out.lock.
 */
void kho_remove_subtree(void *fdt)
{
	struct kho_subtree *sub;

	mutex_lock(&kho_out.lock);
	list_for_each_entry(sub, &kho_out.subtrees, list) {
		if (sub->fdt != fdt)
			continue;
		list_del(&sub->list);
		/* Only shrinks, so it cannot run out of room. */
		WARN_ON(kho_out_update_fdt());
		kho_debugfs_remove_subtree(sub);
		kfree(sub->name);
		kfree(sub);
		break;
	}
	mutex_unlock(&kho_out.lock);
}

/**
 * kho_retrieve_subtree - find a blob the previous kernel handed over
 * @name: its name
 * @phys: set to its physical address
 *
 * The blob's pages are reserved; the caller restores them (for example
 * with kho_restore_folio()) to own them.
 *
 * Context: any.
 * Return: 0; -ENOENT if there was no handover, no blob of that name, or
 * the handover was released (kho_release_unclaimed());
 * -EINVAL if its entry is malformed.
 */
int kho_retrieve_subtree(const char *name, phys_addr_t *phys)
{
	const void *prop;
	int off = -FDT_ERR_NOTFOUND, len, err = 0;

	rcu_read_lock();
	if (kho_in_readable())
		off = fdt_subnode_offset(kho_in.fdt, 0, name);
	prop = off < 0 ? NULL :
	       fdt_getprop(kho_in.fdt, off, KHO_FDT_PROP_SUBTREE, &len);
	if (off < 0)
		err = -ENOENT;
	else if (!prop || len != sizeof(u64))
		err = -EINVAL;
	else
		*phys = get_unaligned_be64(prop);
	rcu_read_unlock();
	return err;
}

/* ---------------------------------------------------------------------- */
/* kexec                                                                  */
/* ---------------------------------------------------------------------- */

/**
 * kho_get_handover - where the next kernel finds the handover
 * @fdt_addr: set to the physical address of the root FDT
 * @fdt_size: set to its size
 * @scratch_addr: set to the physical address of the scratch list
 * @scratch_size: set to its size
 *
 * For the architecture's kexec_file loader, which passes these on in its
 * boot protocol.
 *
 * Context: any.
 * Return: 0, or -EOPNOTSUPP when KHO is off.
 */
int kho_get_handover(u64 *fdt_addr, u64 *fdt_size, u64 *scratch_addr,
		     u64 *scratch_size)
{
	if (!READ_ONCE(kho_out.ready))
		return -EOPNOTSUPP;
	*fdt_addr = virt_to_phys(kho_out.fdt);
	*fdt_size = KHO_FDT_MAX_SIZE;
	*scratch_addr = virt_to_phys(kho_out.scratch);
	*scratch_size = kho_scratch_cnt * sizeof(*kho_out.scratch);
	return 0;
}

/**
 * kho_locate_mem_hole - place a kexec segment in scratch memory
 * @kbuf: the segment
 * @func: kexec's placement callback, called with each scratch area
 *
 * Everything outside the scratch areas may hold preserved data, so the
 * next kernel, its initrd and every other segment go into scratch.
 *
 * Context: kexec_file_load(), with kexec_lock held.
 * Return: 0 when placed; -EADDRNOTAVAIL when no scratch area has room;
 * 1 when KHO does not apply (off, or a crash kernel).
 */
int kho_locate_mem_hole(struct kexec_buf *kbuf,
			int (*func)(struct resource *, void *))
{
	unsigned int i;
	int ret = 0;

	if (!READ_ONCE(kho_out.ready) || kbuf->image->type == KEXEC_TYPE_CRASH)
		return 1;

	for (i = 0; i < kho_scratch_cnt && ret != 1; i++) {
		unsigned int k = kbuf->top_down ? kho_scratch_cnt - 1 - i : i;
		struct resource res = DEFINE_RES_MEM(kho_scratch[k].addr,
						     kho_scratch[k].size);

		ret = func(&res, kbuf);
	}
	if (ret == 1)
		return 0;
	pr_warn("no room for a %lu-byte kexec segment in the scratch areas (see kho_scratch=)\n",
		kbuf->memsz);
	return -EADDRNOTAVAIL;
}

/* ---------------------------------------------------------------------- */
/* Initialization                                                         */
/* ---------------------------------------------------------------------- */

static int __init kho_init(void)
{
	struct folio *fdt_folio;
	struct page *scratch_page;
	int err;

	if (kho_in.accepted) {
		kho_in.fdt = phys_to_virt(kho_in.fdt_phys);
		kho_in.tracker = phys_to_virt(kho_in.tracker_phys);
	}
	if (!kho_enable)
		return 0;

	err = kho_tracker_init(&kho_out.tracker);
	if (err)
		goto err_disable;

	fdt_folio = folio_alloc(GFP_KERNEL | __GFP_ZERO,
				get_order(KHO_FDT_MAX_SIZE));
	scratch_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!fdt_folio || !scratch_page) {
		err = -ENOMEM;
		goto err_free;
	}
	kho_out.fdt = folio_address(fdt_folio);
	kho_out.scratch = page_address(scratch_page);
	memcpy(kho_out.scratch, kho_scratch,
	       kho_scratch_cnt * sizeof(*kho_out.scratch));

	err = kho_tracker_set(&kho_out.tracker, folio_pfn(fdt_folio),
			      folio_order(fdt_folio));
	if (!err)
		err = kho_tracker_set(&kho_out.tracker,
				      page_to_pfn(scratch_page), 0);
	if (err)
		goto err_free;

	mutex_lock(&kho_out.lock);
	err = kho_out_update_fdt();
	mutex_unlock(&kho_out.lock);
	if (err)
		goto err_free;

	WRITE_ONCE(kho_out.ready, true);
	pr_info("enabled; scratch %pa+%#llx%s\n", &kho_scratch[0].addr,
		kho_scratch[0].size, kho_scratch_cnt > 1 ? " and more" : "");
	return 0;

err_free:
	if (scratch_page)
		__free_page(scratch_page);
	if (fdt_folio)
		folio_put(fdt_folio);
	kho_tracker_destroy(&kho_out.tracker);
err_disable:
	pr_err("cannot set up the handover (%d); kexec handover is off\n", err);
	kho_enable = false;
	return err;
}
early_initcall(kho_init);
