// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the rules for registering a LUO file handler or global
 * object (luo_file.c, luo_global.c), through the public interface: a
 * malformed one is refused with -EINVAL before it can preserve anything.
 *
 * They use the formats of the LUO test module (lib/test_luo.c), which
 * are in this kernel's catalog when it is built.
 */

#include <kunit/test.h>
#include <linux/liveupdate.h>
#include <linux/liveupdate_catalog.h>

/* A format in no catalog. */
#define UNKNOWN_FORMAT	"luo-kunit-unknown-v1"

static int test_preserve(struct liveupdate_file_op_args *args)
{
	return -EOPNOTSUPP;
}

static void test_unpreserve(struct liveupdate_file_op_args *args)
{
}

static int test_freeze(struct liveupdate_file_op_args *args)
{
	return 0;
}

static int test_retrieve(struct liveupdate_file_op_args *args)
{
	return -EOPNOTSUPP;
}

static void test_finish(struct liveupdate_file_op_args *args)
{
}

/* Every op a handler must have; freeze and unfreeze are optional. */
static const struct liveupdate_file_ops ops_required = {
	.preserve = test_preserve,
	.unpreserve = test_unpreserve,
	.retrieve = test_retrieve,
	.finish = test_finish,
};

static const struct liveupdate_file_ops ops_with_freeze = {
	.preserve = test_preserve,
	.unpreserve = test_unpreserve,
	.freeze = test_freeze,
	.retrieve = test_retrieve,
	.finish = test_finish,
};

static const struct liveupdate_file_ops ops_no_finish = {
	.preserve = test_preserve,
	.unpreserve = test_unpreserve,
	.retrieve = test_retrieve,
};

static const char * const old_formats[] = {
	LUO_TEST_GLOBAL_COMPATIBLE,
	NULL
};

/*
 * Register @h: the result must be @want, or, for a handler the rules
 * accept (@want == 0), -EEXIST when the test module already reads its
 * format. Unregister it again if it was registered, whatever @want: a
 * handler must not stay on LUO's list past the test.
 */
static void expect_register(struct kunit *test,
			    struct liveupdate_file_handler *h, int want)
{
	int ret = liveupdate_register_file_handler(h);

	if (!ret)
		KUNIT_ASSERT_EQ(test, liveupdate_unregister_file_handler(h), 0);
	if (!want && ret == -EEXIST)
		ret = 0;
	KUNIT_EXPECT_EQ(test, ret, want);
}

static void luo_handler_needs_ops(struct kunit *test)
{
	static struct liveupdate_file_handler none = {
		.compatible = LUO_TEST_COMPATIBLE,
	};
	static struct liveupdate_file_handler no_finish = {
		.ops = &ops_no_finish,
		.compatible = LUO_TEST_COMPATIBLE,
	};
	static struct liveupdate_file_handler ok = {
		.ops = &ops_required,
		.compatible = LUO_TEST_COMPATIBLE,
	};

	expect_register(test, &none, -EINVAL);
	expect_register(test, &no_finish, -EINVAL);
	/* Without freeze or unfreeze. */
	expect_register(test, &ok, 0);
}

/* Only freeze can write the older format the next kernel may read. */
static void luo_handler_old_formats_need_freeze(struct kunit *test)
{
	static struct liveupdate_file_handler no_freeze = {
		.ops = &ops_required,
		.compatible = LUO_TEST_COMPATIBLE,
		.old_compatibles = old_formats,
	};
	static struct liveupdate_file_handler with_freeze = {
		.ops = &ops_with_freeze,
		.compatible = LUO_TEST_COMPATIBLE,
		.old_compatibles = old_formats,
	};

	expect_register(test, &no_freeze, -EINVAL);
	expect_register(test, &with_freeze, 0);
}

static void luo_handler_format_checked(struct kunit *test)
{
	static const char * const unknown_old[] = {
		UNKNOWN_FORMAT,
		NULL
	};
	static struct liveupdate_file_handler empty = {
		.ops = &ops_required,
	};
	static struct liveupdate_file_handler unknown = {
		.ops = &ops_required,
		.compatible = UNKNOWN_FORMAT,
	};
	static struct liveupdate_file_handler unknown_older = {
		.ops = &ops_with_freeze,
		.compatible = LUO_TEST_COMPATIBLE,
		.old_compatibles = unknown_old,
	};
	struct liveupdate_file_handler *unterminated;

	/* A compatible with no NUL: only allocated storage may be filled so. */
	unterminated = kunit_kzalloc(test, sizeof(*unterminated), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, unterminated);
	unterminated->ops = &ops_required;
	memset((void *)unterminated->compatible, 'x',
	       sizeof(unterminated->compatible));

	expect_register(test, &empty, -EINVAL);
	expect_register(test, &unknown, -EINVAL);
	expect_register(test, &unknown_older, -EINVAL);
	expect_register(test, unterminated, -EINVAL);
}

static int test_global_preserve(struct liveupdate_global *global, u64 *data)
{
	return -EOPNOTSUPP;
}

/* A global needs preserve and unpreserve; retrieve and finish are optional. */
static void luo_global_needs_ops(struct kunit *test)
{
	static const struct liveupdate_global_ops no_unpreserve = {
		.preserve = test_global_preserve,
	};
	/* Static: there is no unregistering a global that was let in. */
	static struct liveupdate_global none = {
		.compatible = LUO_TEST_GLOBAL_COMPATIBLE,
	};
	static struct liveupdate_global half = {
		.ops = &no_unpreserve,
		.compatible = LUO_TEST_GLOBAL_COMPATIBLE,
	};

	KUNIT_EXPECT_EQ(test, liveupdate_register_global(&none), -EINVAL);
	KUNIT_EXPECT_EQ(test, liveupdate_register_global(&half), -EINVAL);
}

static struct kunit_case luo_register_cases[] = {
	KUNIT_CASE(luo_handler_needs_ops),
	KUNIT_CASE(luo_handler_old_formats_need_freeze),
	KUNIT_CASE(luo_handler_format_checked),
	KUNIT_CASE(luo_global_needs_ops),
	{}
};

static struct kunit_suite luo_register_suite = {
	.name = "luo_register",
	.test_cases = luo_register_cases,
};

kunit_test_suite(luo_register_suite);

MODULE_DESCRIPTION("KUnit tests of LUO handler and global object registration");
MODULE_LICENSE("GPL");
