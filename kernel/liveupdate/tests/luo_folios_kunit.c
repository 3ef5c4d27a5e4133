// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the check of a handed-over folio list (luo_folios.c):
 * liveupdate_folios_check() lets through a sound list and counts its
 * pages, and refuses every kind of entry a corrupt list may hold before
 * the file it describes exists.
 */

#include <kunit/test.h>
#include <linux/kho/abi/luo_folios.h>
#include <linux/kernel.h>
#include <linux/liveupdate.h>
#include <linux/string.h>

/* A file of 2048 pages whose folios may be of order 0 to 9. */
static const struct liveupdate_folio_bounds file_bounds = {
	.min_order = 0,
	.max_order = 9,
	.end = 2048,
};

/* A sound list: sorted, apart, aligned, inside the file. */
static const struct luo_folio_ser sound[] = {
	{ .phys = 0x100000, .index = 0, .order = 0 },
	{ .phys = 0x101000, .index = 1, .order = 0 },
	{ .phys = 0x200000, .index = 512, .order = 9 },
	{ .phys = 0x102000, .index = 1024, .order = 0 },
};

static void luo_folios_sound(struct kunit *test)
{
	struct liveupdate_folio_bounds b = file_bounds;
	unsigned long pages = 0;

	KUNIT_EXPECT_EQ(test, liveupdate_folios_check(sound, ARRAY_SIZE(sound),
						      &b, &pages), 0);
	KUNIT_EXPECT_EQ(test, pages, 3 + 512);
	/* Past the last entry, for a handler that goes on from there. */
	KUNIT_EXPECT_EQ(test, b.next, 1025);

	b = file_bounds;
	pages = 7;
	KUNIT_EXPECT_EQ(test, liveupdate_folios_check(sound, 0, &b, &pages), 0);
	KUNIT_EXPECT_EQ(test, pages, 0);
}

/* The sound list with entry @at replaced by @bad is refused. */
static const struct {
	unsigned int at;
	struct luo_folio_ser bad;
	const char *what;
} corrupt[] = {
	{ 1, { .index = 0 }, "the same index twice" },
	{ 2, { .index = 1 }, "an index that goes back" },
	{ 2, { .index = 256, .order = 9 }, "a folio not aligned to its order" },
	{ 0, { .index = 0, .order = 1 }, "a folio overlapping the next one" },
	{ 3, { .index = 1024, .order = 10 }, "an order above the file's largest" },
	{ 3, { .index = 2048 }, "a folio past the end of the file" },
	{ 3, { .index = ~0ULL }, "an index at the end of the key space" },
	{ 3, { .index = 1024, .reserved = 1 }, "a reserved field not zero" },
};

static void luo_folios_corrupt(struct kunit *test)
{
	struct luo_folio_ser list[ARRAY_SIZE(sound)];
	struct liveupdate_folio_bounds b;
	unsigned long pages;
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(corrupt); i++) {
		memcpy(list, sound, sizeof(list));
		list[corrupt[i].at] = corrupt[i].bad;
		b = file_bounds;
		pages = 42;
		err = liveupdate_folios_check(list, ARRAY_SIZE(list), &b, &pages);
		KUNIT_EXPECT_EQ_MSG(test, err, -EINVAL, "%s", corrupt[i].what);
		KUNIT_EXPECT_EQ_MSG(test, pages, 42, "%s: pages left alone",
				    corrupt[i].what);
	}
}

/* A file made of 2 MiB folios refuses a smaller one. */
static void luo_folios_min_order(struct kunit *test)
{
	static const struct luo_folio_ser huge[] = {
		{ .index = 0, .order = 9 },
		{ .index = 512, .order = 0 },
	};
	struct liveupdate_folio_bounds b = {
		.min_order = 9, .max_order = 9, .end = 1024,
	};
	unsigned long pages;

	KUNIT_EXPECT_EQ(test, liveupdate_folios_check(huge, 1, &b, &pages), 0);
	KUNIT_EXPECT_EQ(test, pages, 512);
	b.next = 0;
	KUNIT_EXPECT_EQ(test, liveupdate_folios_check(huge, 2, &b, &pages),
			-EINVAL);
}

/*
 * Whatever the handler allows: no order whose size in bytes does not fit
 * a long, and no folio that ends past the end of the key space.
 */
static void luo_folios_max_order(struct kunit *test)
{
	static const struct luo_folio_ser big[] = {
		{ .index = 0, .order = BITS_PER_LONG - PAGE_SHIFT },
	};
	static const struct luo_folio_ser wrap[] = {
		{ .index = 0, .order = 0 },
		{ .index = ~0UL << (BITS_PER_LONG - PAGE_SHIFT - 1),
		  .order = BITS_PER_LONG - PAGE_SHIFT - 1 },
		{ .index = 1, .order = 0 },
	};
	struct liveupdate_folio_bounds b = {
		.max_order = UINT_MAX, .end = ULONG_MAX,
	};
	unsigned long pages;

	KUNIT_EXPECT_EQ(test, liveupdate_folios_check(big, 1, &b, &pages),
			-EINVAL);
	/* Its end would wrap to 0, and let the third entry in. */
	b.next = 0;
	KUNIT_EXPECT_EQ(test, liveupdate_folios_check(wrap, 3, &b, &pages),
			-EINVAL);
}

static struct kunit_case luo_folios_cases[] = {
	KUNIT_CASE(luo_folios_sound),
	KUNIT_CASE(luo_folios_corrupt),
	KUNIT_CASE(luo_folios_min_order),
	KUNIT_CASE(luo_folios_max_order),
	{}
};

static struct kunit_suite luo_folios_suite = {
	.name = "luo_folios",
	.test_cases = luo_folios_cases,
};

kunit_test_suite(luo_folios_suite);

MODULE_DESCRIPTION("KUnit tests of the check of a handed-over folio list");
MODULE_LICENSE("GPL");
