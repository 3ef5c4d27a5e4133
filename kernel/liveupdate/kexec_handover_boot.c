// SPDX-License-Identifier: GPL-2.0
/*
 * Kexec handover (KHO): the early boot of the incoming side.
 *
 * Steps 1 to 3 of the incoming side (see "Kexec handover" in
 * kexec_handover.c): record what the boot protocol carried, check it and
 * put memblock in scratch-only mode, then reserve every preserved block in
 * memblock. Also the scratch areas: the kho_scratch= parameter, a cold
 * boot's choice of its scratch area, and their MIGRATE_CMA pageblocks.
 * All of it runs before the page allocator is up.
 */

#define pr_fmt(fmt) "KHO: " fmt

#include <linux/init.h>
#include <linux/io.h>
#include <linux/kexec_handover.h>
#include <linux/libfdt.h>
#include <linux/memblock.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pageblock-flags.h>
#include <linux/sched/clock.h>
#include <linux/sizes.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/timex.h>
#include <linux/unaligned.h>

#include <asm/early_ioremap.h>

#include "kexec_handover_internal.h"

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

#ifdef CONFIG_KEXEC_HANDOVER_TEST
/*
 * kho_test_reserve=plain: reserve the preserved ranges one by one with
 * memblock_reserve(), as the kernel would without
 * memblock_reserve_sorted(), so that "make bench" can compare the two on
 * the same handover. Test only (CONFIG_KEXEC_HANDOVER_TEST).
 */
static bool kho_test_reserve_plain __initdata;

static int __init kho_parse_test_reserve(char *p)
{
	if (!p || strcmp(p, "plain"))
		return -EINVAL;
	kho_test_reserve_plain = true;
	return 0;
}
early_param("kho_test_reserve", kho_parse_test_reserve);
#else
#define kho_test_reserve_plain false
#endif

/*
 * Ranges the second walk collects before it reserves them: few enough
 * that the buffer takes little scratch (1.5 MiB), many enough that a
 * handover of a million scattered ranges takes 16 batches.
 */
#define KHO_RESERVE_CHUNK	SZ_64K

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

/* Reserve the ranges the second walk collected, and empty the buffer. */
static int __init kho_reserve_flush(struct kho_reserve_walk *w)
{
	u64 i, n = w->nr_ranges;
	int ret = 0;

	w->nr_ranges = 0;
	if (!kho_test_reserve_plain)
		return memblock_reserve_sorted(w->ranges, n,
					       MEMBLOCK_RSRV_DEFERRED);
	for (i = 0; i < n && !ret; i++)
		ret = memblock_reserve(w->ranges[i].base, w->ranges[i].size);
	return ret;
}

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
		if (w->nr_ranges == w->max_ranges) {
			int ret = kho_reserve_flush(w);

			if (ret)
				return ret;
		}
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
 * Reserve everything the tracker lists. The ranges of one order come out
 * of the walk sorted and disjoint, so each KHO_RESERVE_CHUNK of them is
 * one linear merge into memblock; tracker pages are sorted first.
 *
 * Preserved blocks are MEMBLOCK_RSRV_DEFERRED: nobody looks at their
 * struct pages before their owners restore them, after
 * page_alloc_init_late(), so where struct page init is deferred the
 * deferred init threads initialize them, in parallel, instead of the boot
 * CPU at memblock_free_all() (most of a 2 GiB guest's memory, at every
 * update). The tracker pages are few and stay ordinary reservations.
 */
static int __init kho_reserve_all(const struct kho_tracker_node_ser *root,
				  struct kho_reserve_walk *w)
{
	u64 i, k;
	int order, ret;

	w->max_ranges = 1;
	for (order = 0; order < KHO_TRACKER_ORDERS; order++)
		w->max_ranges = max(w->max_ranges, w->runs[order]);
	w->max_ranges = min_t(u64, w->max_ranges, KHO_RESERVE_CHUNK);

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
			ret = kho_reserve_flush(w);
		if (ret)
			return ret;
	}

	for (i = 1, k = 0; i < w->nr_nodes; i++) {
		if (w->nodes[k].base + w->nodes[k].size == w->nodes[i].base)
			w->nodes[k].size += PAGE_SIZE;
		else
			w->nodes[++k] = w->nodes[i];
	}
	ret = memblock_reserve_sorted(w->nodes, w->nr_nodes ? k + 1 : 0,
				      MEMBLOCK_NONE);
	if (ret)
		return ret;
	return memblock_reserve(kho_in.tracker_phys, PAGE_SIZE);
}

/* Bytes of memblock.reserved inside [@base, @base + @size). */
static u64 __init kho_reserved_in(u64 base, u64 size)
{
	struct memblock_type *rsv = &memblock.reserved;
	unsigned long lo = 0, hi = rsv->cnt;
	u64 end = base + size, used = 0;

	/* The regions are sorted and disjoint: find the first past @base. */
	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;
		struct memblock_region *r = &rsv->regions[mid];

		if (r->base + r->size <= base)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rsv->cnt && rsv->regions[lo].base < end; lo++) {
		struct memblock_region *r = &rsv->regions[lo];

		used += min_t(u64, r->base + r->size, end) - max_t(u64, r->base, base);
	}
	return used;
}

/*
 * Record how much of the scratch areas early boot uses at its peak: called
 * once everything preserved is reserved, before the buffers of the walk are
 * freed and memblock may allocate anywhere again. Until then, what it holds
 * only grows but for transients: each memblock_double_array() allocates
 * the larger array of reserved regions while the old one, half its size,
 * is still reserved, and frees the old one after; the last doubling is the
 * largest. When the array lives in scratch, the peak held both, so the old
 * one is counted too (at most a
 * few KiB too many when the old one was the static array). The first MiB,
 * which scratch-only mode allows as well, is the architecture's and not
 * counted.
 */
static void __init kho_scratch_measure(void)
{
	struct memblock_type *rsv = &memblock.reserved;
	phys_addr_t array = __pa(rsv->regions);
	bool array_in_scratch = false;
	unsigned int i;

	for (i = 0; i < kho_scratch_cnt; i++) {
		kho_in.scratch_bytes += kho_scratch[i].size;
		kho_in.scratch_used_bytes += kho_reserved_in(kho_scratch[i].addr,
							     kho_scratch[i].size);
		if (array >= kho_scratch[i].addr &&
		    array - kho_scratch[i].addr < kho_scratch[i].size)
			array_in_scratch = true;
	}
	if (array_in_scratch)
		kho_in.scratch_used_bytes += rsv->max / 2 * sizeof(*rsv->regions);
}

/**
 * kho_reserve_preserved - reserve the memory the previous kernel preserved
 *
 * Called by the architecture as soon as the direct map covers all memory,
 * before the memory map or anything large is allocated. Walks the tracker
 * once to check it (nothing is reserved if any address is wrong) and once
 * more to reserve, records how much of the scratch areas early boot used,
 * then lets memblock allocate from all memory again.
 *
 * Context: early boot.
 */
void __init kho_reserve_preserved(void)
{
	struct kho_reserve_walk *w;
	struct kho_tracker_node_ser *root;
	const char *why = NULL;
	cycles_t cycles = get_cycles();
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
		why = "out of scratch memory (cold boot with a larger kho_scratch=)";
	} else {
		kho_scratch_measure();
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
	kho_in.reserve_cycles = get_cycles() - cycles;
	/* A kexec'd kernel may not have its clock running yet. */
	pr_info("reserved %llu KiB preserved by the previous kernel in %llu %s: %llu blocks in %llu ranges, %llu tracker pages%s\n",
		kho_in.nr_bytes >> 10,
		kho_in.reserve_ns ? div_u64(kho_in.reserve_ns, NSEC_PER_USEC) :
				    kho_in.reserve_cycles,
		kho_in.reserve_ns ? "us" : "cycles",
		kho_in.nr_blocks, kho_in.nr_runs, kho_in.nr_pages,
		kho_test_reserve_plain ? " (test: one memblock_reserve() per range)" : "");
	pr_info("early boot used %llu MiB of %llu MiB scratch\n",
		DIV_ROUND_UP_ULL(kho_in.scratch_used_bytes, SZ_1M),
		kho_in.scratch_bytes >> 20);
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
