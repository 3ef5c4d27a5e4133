// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the kexec handover tracker (kexec_handover_tracker.c),
 * which they test from the inside, through kexec_handover_internal.h.
 */

#include <kunit/test.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sizes.h>

#include "../kexec_handover_internal.h"

struct walk_stats {
	u64 runs;
	u64 blocks;
	u64 nodes;
	unsigned long first_pfn;
	unsigned long last_pfn;
	unsigned int last_order;
};

static int count_node(phys_addr_t phys, void *arg)
{
	struct walk_stats *s = arg;

	s->nodes++;
	return 0;
}

static int count_run(unsigned int order, unsigned long pfn,
		     unsigned long nr_blocks, void *arg)
{
	struct walk_stats *s = arg;

	if (!s->runs)
		s->first_pfn = pfn;
	s->last_pfn = pfn + ((nr_blocks - 1) << order);
	s->last_order = order;
	s->runs++;
	s->blocks += nr_blocks;
	return 0;
}

static const struct kho_tracker_walk_ops count_ops = {
	.node = count_node,
	.run = count_run,
};

static struct walk_stats walk(struct kunit *test, struct kho_tracker *t,
			      int order)
{
	struct walk_stats s = {};

	KUNIT_EXPECT_EQ(test, kho_tracker_walk(t->root, order, &count_ops, &s), 0);
	return s;
}

static int tracker_init(struct kunit *test)
{
	struct kho_tracker *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	if (!t || kho_tracker_init(t))
		return -ENOMEM;
	test->priv = t;
	return 0;
}

static void tracker_exit(struct kunit *test)
{
	kho_tracker_destroy(test->priv);
}

/* Test case: pfn 0 can be set, found, walked and cleared at every order. */
static void tracker_pfn0_every_order(struct kunit *test)
{
	struct kho_tracker *t = test->priv;
	struct walk_stats s;
	unsigned int order;

	for (order = 0; order <= KHO_ORDER_MAX; order++) {
		KUNIT_ASSERT_EQ_MSG(test, kho_tracker_set(t, 0, order), 0,
				    "order %u", order);
		KUNIT_EXPECT_TRUE(test, kho_tracker_test(t->root, 0, order));
		s = walk(test, t, order);
		KUNIT_EXPECT_EQ(test, s.runs, 1);
		KUNIT_EXPECT_EQ(test, s.first_pfn, 0);
		KUNIT_EXPECT_EQ(test, s.last_order, order);
	}
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_blocks), KHO_ORDER_MAX + 1);
	for (order = 0; order <= KHO_ORDER_MAX; order++)
		KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, 0, order), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_blocks), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_bytes), 0);
	s = walk(test, t, -1);
	KUNIT_EXPECT_EQ(test, s.runs, 0);
}

/* Test case: the highest key of every order works; one more is refused. */
static void tracker_highest_pfn(struct kunit *test)
{
	struct kho_tracker *t = test->priv;
	unsigned int order;

	for (order = 0; order <= 20; order++) {
		unsigned long pfn = (unsigned long)KHO_KEY_MAX << order;
		unsigned long beyond = (unsigned long)(KHO_KEY_MAX + 1) << order;
		struct walk_stats s;

		if (pfn > (ULONG_MAX >> PAGE_SHIFT))
			break;
		KUNIT_ASSERT_EQ_MSG(test, kho_tracker_set(t, pfn, order), 0,
				    "order %u pfn %#lx", order, pfn);
		KUNIT_EXPECT_TRUE(test, kho_tracker_test(t->root, pfn, order));
		s = walk(test, t, order);
		KUNIT_EXPECT_EQ(test, s.runs, 1);
		KUNIT_EXPECT_EQ(test, s.last_pfn, pfn);
		KUNIT_EXPECT_EQ(test, kho_tracker_set(t, beyond, order), -EINVAL);
		KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, pfn, order), 0);
	}
	KUNIT_EXPECT_GT(test, order, 0);
}

/* Test case: invalid blocks are refused with -EINVAL and change nothing. */
static void tracker_invalid(struct kunit *test)
{
	struct kho_tracker *t = test->priv;

	KUNIT_EXPECT_EQ(test, kho_tracker_set(t, 1, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, kho_tracker_set(t, 512 + 256, 9), -EINVAL);
	KUNIT_EXPECT_EQ(test, kho_tracker_set(t, 0, KHO_ORDER_MAX + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, 3, 1), -EINVAL);
	KUNIT_EXPECT_FALSE(test, kho_tracker_test(t->root, 1, 1));
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_blocks), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_pages), 1);
}

/* Test case: double set is -EEXIST; clearing what was never set is -ENOENT. */
static void tracker_double_and_missing(struct kunit *test)
{
	struct kho_tracker *t = test->priv;

	KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, 4096, 0), -ENOENT);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 4096, 3), 0);
	KUNIT_EXPECT_EQ(test, kho_tracker_set(t, 4096, 3), -EEXIST);
	/* Same pfn, other order: a different block. */
	KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, 4096, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, 4096, 4), -ENOENT);
	KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, 4096, 3), 0);
	KUNIT_EXPECT_EQ(test, kho_tracker_clear(t, 4096, 3), -ENOENT);
}

/* Test case: consecutive blocks come back as one run per leaf. */
static void tracker_dense(struct kunit *test)
{
	struct kho_tracker *t = test->priv;
	const unsigned long base = 3 * KHO_TRACKER_LEAF_BITS - 100;
	const unsigned long nr = 2 * KHO_TRACKER_LEAF_BITS + 200;
	struct walk_stats s;
	unsigned long i;

	for (i = 0; i < nr; i++)
		KUNIT_ASSERT_EQ(test, kho_tracker_set(t, base + i, 0), 0);
	s = walk(test, t, -1);
	/* [base, 3L) [3L, 4L) [4L, 5L) [5L, base + nr): four leaves. */
	KUNIT_EXPECT_EQ(test, s.runs, 4);
	KUNIT_EXPECT_EQ(test, s.blocks, nr);
	KUNIT_EXPECT_EQ(test, s.first_pfn, base);
	KUNIT_EXPECT_EQ(test, s.last_pfn, base + nr - 1);
	KUNIT_EXPECT_EQ(test, s.nodes, 3 + 4);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_bytes), nr * PAGE_SIZE);
}

/* Test case: scattered blocks come back one run each, in pfn order. */
static void tracker_sparse(struct kunit *test)
{
	struct kho_tracker *t = test->priv;
	const unsigned long stride = 1000003;	/* crosses leaves and nodes */
	struct walk_stats s;
	unsigned long i;

	for (i = 0; i < 1000; i++)
		KUNIT_ASSERT_EQ(test, kho_tracker_set(t, i * stride * 2, 1), 0);
	s = walk(test, t, 1);
	KUNIT_EXPECT_EQ(test, s.runs, 1000);
	KUNIT_EXPECT_EQ(test, s.blocks, 1000);
	KUNIT_EXPECT_EQ(test, s.first_pfn, 0);
	KUNIT_EXPECT_EQ(test, s.last_pfn, 999 * stride * 2);
	s = walk(test, t, 0);
	KUNIT_EXPECT_EQ(test, s.runs, 0);
}

/* Test case: the block holding a page is found from any page inside it. */
static void tracker_covering(struct kunit *test)
{
	struct kho_tracker *t = test->priv;

	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 512, 9), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 1024 + 7, 0), 0);
	KUNIT_EXPECT_EQ(test, kho_tracker_covering_order(t->root, 512), 9);
	KUNIT_EXPECT_EQ(test, kho_tracker_covering_order(t->root, 1023), 9);
	KUNIT_EXPECT_EQ(test, kho_tracker_covering_order(t->root, 1031), 0);
	KUNIT_EXPECT_EQ(test, kho_tracker_covering_order(t->root, 1024), -ENOENT);
	KUNIT_EXPECT_EQ(test, kho_tracker_covering_order(t->root, 511), -ENOENT);
}

/* Test case: a claimed block cannot be claimed again until given back. */
static void tracker_claim(struct kunit *test)
{
	struct kho_tracker *t = test->priv;

	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 2048, 2), 0);
	KUNIT_EXPECT_FALSE(test, kho_tracker_test_and_clear(t->root, 2048, 1));
	KUNIT_EXPECT_TRUE(test, kho_tracker_test_and_clear(t->root, 2048, 2));
	KUNIT_EXPECT_FALSE(test, kho_tracker_test_and_clear(t->root, 2048, 2));
	KUNIT_EXPECT_TRUE(test, kho_tracker_mark(t->root, 2048, 2));
	KUNIT_EXPECT_TRUE(test, kho_tracker_test(t->root, 2048, 2));
	/* No leaf there: nothing to mark, nothing allocated. */
	KUNIT_EXPECT_FALSE(test, kho_tracker_mark(t->root, 1UL << 30, 0));
}

/*
 * Test case: the lowest order recorded at a pfn is claimed first, then
 * the next; a pfn where nothing starts gives -ENOENT.
 */
static void tracker_claim_lowest(struct kunit *test)
{
	struct kho_tracker *t = test->priv;

	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 4096, 0), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 4096, 10), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 8192 + 512, 9), 0);
	KUNIT_EXPECT_EQ(test, kho_tracker_claim_lowest(t->root, 4096), 0);
	KUNIT_EXPECT_EQ(test, kho_tracker_claim_lowest(t->root, 4096), 10);
	KUNIT_EXPECT_EQ(test, kho_tracker_claim_lowest(t->root, 4096), -ENOENT);
	KUNIT_EXPECT_EQ(test, kho_tracker_claim_lowest(t->root, 8192), -ENOENT);
	KUNIT_EXPECT_EQ(test, kho_tracker_claim_lowest(t->root, 8192 + 513),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, kho_tracker_claim_lowest(t->root, 8192 + 512), 9);
	KUNIT_EXPECT_EQ(test, walk(test, t, -1).runs, 0);
}

/*
 * Test case: claims through one cursor across leaves and orders find
 * every block once, refuse other orders and invalid blocks, and leave
 * nothing behind.
 */
static void tracker_claim_cursor(struct kunit *test)
{
	const unsigned long leaf = KHO_TRACKER_LEAF_BITS;
	struct kho_tracker_cursor cursor = { };
	struct kho_tracker *t = test->priv;
	struct kho_tracker_node_ser *root = t->root;

	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, leaf, 0), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, leaf + 1, 0), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 512, 9), 0);

	KUNIT_EXPECT_TRUE(test, kho_tracker_claim(root, &cursor, 0, 0));
	KUNIT_EXPECT_TRUE(test, kho_tracker_claim(root, &cursor, leaf, 0));
	/* Same pfn as a block of order 9, but order 0: not that block. */
	KUNIT_EXPECT_FALSE(test, kho_tracker_claim(root, &cursor, 512, 0));
	KUNIT_EXPECT_TRUE(test, kho_tracker_claim(root, &cursor, 512, 9));
	KUNIT_EXPECT_FALSE(test, kho_tracker_claim(root, &cursor, 512, 9));
	KUNIT_EXPECT_TRUE(test, kho_tracker_claim(root, &cursor, 1, 0));
	KUNIT_EXPECT_FALSE(test, kho_tracker_claim(root, &cursor, 1, 0));
	KUNIT_EXPECT_FALSE(test, kho_tracker_claim(root, &cursor, 3, 1));
	KUNIT_EXPECT_FALSE(test, kho_tracker_claim(root, &cursor, 0,
						   KHO_ORDER_MAX + 1));
	/* No leaf there. */
	KUNIT_EXPECT_FALSE(test, kho_tracker_claim(root, &cursor, 1UL << 30, 0));
	KUNIT_EXPECT_TRUE(test, kho_tracker_claim(root, &cursor, leaf + 1, 0));
	KUNIT_EXPECT_EQ(test, walk(test, t, -1).runs, 0);
}

/* Test case: tracker size for 1 GiB preserved at order 0 and at order 9. */
static void tracker_size_1g(struct kunit *test)
{
	struct kho_tracker *t = test->priv;
	const unsigned long base = SZ_4G >> PAGE_SHIFT;
	const unsigned long nr = SZ_1G >> PAGE_SHIFT;
	unsigned long i;

	for (i = 0; i < nr; i++)
		KUNIT_ASSERT_EQ(test, kho_tracker_set(t, base + i, 0), 0);
	/* root + 3 nodes + 8 leaves of 32768 bits */
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_pages), 1 + 3 + 8);
	kunit_info(test, "1 GiB at order 0: %lld tracker bytes\n",
		   atomic64_read(&t->nr_pages) * PAGE_SIZE);

	for (i = 0; i < nr; i += 512)
		KUNIT_ASSERT_EQ(test, kho_tracker_set(t, base + i, 9), 0);
	/* + 3 nodes and 1 leaf for order 9 */
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_pages), 1 + 3 + 8 + 3 + 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_bytes), 2ULL * SZ_1G);
	KUNIT_EXPECT_EQ(test, atomic64_read(&t->nr_blocks), nr + nr / 512);
}

/* Test case: a walk stops at the first callback error and returns it. */
static int refuse_node(phys_addr_t phys, void *arg)
{
	return -EFAULT;
}

static void tracker_walk_error(struct kunit *test)
{
	const struct kho_tracker_walk_ops ops = { .node = refuse_node };
	struct kho_tracker *t = test->priv;

	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 77, 0), 0);
	KUNIT_EXPECT_EQ(test, kho_tracker_walk(t->root, -1, &ops, NULL), -EFAULT);
}

/*
 * Test case: a leaf whose blocks were all claimed is taken out and freed,
 * and the nodes above it once nothing is below them; a block marked again
 * in a leaf taken out puts them all back; what does not fit the room
 * given stays.
 */
static void tracker_trim(struct kunit *test)
{
	struct kho_tracker *t = test->priv;
	struct kho_tracker_node_ser *root = t->root;
	const unsigned long leaf = KHO_TRACKER_LEAF_BITS;
	struct kho_tracker_unlinked pages[8];
	unsigned long nr;

	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, leaf, 0), 0);
	KUNIT_ASSERT_EQ(test, kho_tracker_set(t, 512, 9), 0);
	/* The root; order 0: 3 nodes, 2 leaves; order 9: 3 nodes, 1 leaf */
	KUNIT_ASSERT_EQ(test, atomic64_read(&t->nr_pages), 1 + 3 + 2 + 3 + 1);
	KUNIT_EXPECT_EQ(test, kho_tracker_unlink_empty(root, pages, 8), 0);

	/* The first leaf of order 0 emptied: it alone goes. */
	KUNIT_EXPECT_TRUE(test, kho_tracker_test_and_clear(root, 0, 0));
	nr = kho_tracker_unlink_empty(root, pages, 8);
	KUNIT_ASSERT_EQ(test, nr, 1);
	KUNIT_EXPECT_TRUE(test, pages[0].leaf);
	KUNIT_EXPECT_TRUE(test, kho_tracker_test(root, leaf, 0));
	KUNIT_EXPECT_EQ(test, kho_tracker_free_unlinked(pages, nr, false), 1);

	/* Order 9 emptied, then its block marked again through its leaf. */
	KUNIT_EXPECT_TRUE(test, kho_tracker_test_and_clear(root, 512, 9));
	nr = kho_tracker_unlink_empty(root, pages, 8);
	KUNIT_ASSERT_EQ(test, nr, 1 + 3);
	KUNIT_ASSERT_TRUE(test, pages[0].leaf);
	KUNIT_EXPECT_FALSE(test, kho_tracker_test(root, 512, 9));
	set_bit(512 >> 9, phys_to_virt(pages[0].phys));
	KUNIT_EXPECT_EQ(test, kho_tracker_free_unlinked(pages, nr, false), 0);
	KUNIT_EXPECT_TRUE(test, kho_tracker_test(root, 512, 9));

	/* Room for one page: the leaf goes, the nodes above it stay. */
	KUNIT_EXPECT_TRUE(test, kho_tracker_test_and_clear(root, 512, 9));
	nr = kho_tracker_unlink_empty(root, pages, 1);
	KUNIT_ASSERT_EQ(test, nr, 1);
	KUNIT_EXPECT_EQ(test, kho_tracker_free_unlinked(pages, nr, false), 1);

	/* All claimed: every page but the root goes, children first. */
	KUNIT_EXPECT_TRUE(test, kho_tracker_test_and_clear(root, leaf, 0));
	nr = kho_tracker_unlink_empty(root, pages, 8);
	KUNIT_ASSERT_EQ(test, nr, 1 + 3 + 3);
	KUNIT_EXPECT_TRUE(test, pages[0].leaf);
	KUNIT_EXPECT_FALSE(test, pages[nr - 1].leaf);
	KUNIT_EXPECT_EQ(test, kho_tracker_free_unlinked(pages, nr, false), nr);
	KUNIT_EXPECT_EQ(test, walk(test, t, -1).nodes, 0);
}

static struct kunit_case kho_tracker_cases[] = {
	KUNIT_CASE(tracker_pfn0_every_order),
	KUNIT_CASE(tracker_highest_pfn),
	KUNIT_CASE(tracker_invalid),
	KUNIT_CASE(tracker_double_and_missing),
	KUNIT_CASE(tracker_dense),
	KUNIT_CASE(tracker_sparse),
	KUNIT_CASE(tracker_covering),
	KUNIT_CASE(tracker_claim),
	KUNIT_CASE(tracker_claim_lowest),
	KUNIT_CASE(tracker_claim_cursor),
	KUNIT_CASE(tracker_size_1g),
	KUNIT_CASE(tracker_walk_error),
	KUNIT_CASE(tracker_trim),
	{}
};

static struct kunit_suite kho_tracker_suite = {
	.name = "kho_tracker",
	.init = tracker_init,
	.exit = tracker_exit,
	.test_cases = kho_tracker_cases,
};

kunit_test_suite(kho_tracker_suite);

MODULE_DESCRIPTION("KUnit tests of the kexec handover tracker");
MODULE_LICENSE("GPL");
