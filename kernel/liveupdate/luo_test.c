// SPDX-License-Identifier: GPL-2.0
/*
 * Live Update Orchestrator: a file handler for the selftests.
 */

/**
 * DOC: LUO test handler
 *
 * With CONFIG_LIVEUPDATE_TEST, a handler of compatible "luo-test-v1"
 * claims memfds whose name starts with "luo-test-" (it registers before
 * the memfd handler, so it sees them first). It hands over only a number
 * (the file's size) and gives back an empty memfd of that size, named
 * "luo-test-retrieved". Its freeze fails with -EAGAIN for files named
 * "luo-test-fail-freeze...", which lets the selftests check that a
 * failing freeze thaws everything and fails reboot(). Booting with
 * ``luo_test.off=1`` keeps it unregistered, so that the next kernel meets
 * a format it does not know.
 */

#define pr_fmt(fmt) "luo_test: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/liveupdate.h>
#include <linux/moduleparam.h>
#include <linux/shmem_fs.h>
#include <linux/string.h>

#define LUO_TEST_PREFIX		"memfd:luo-test-"
#define LUO_TEST_COMPATIBLE	"luo-test-v1"

static bool luo_test_off;
module_param_named(off, luo_test_off, bool, 0444);

static bool luo_test_named(struct file *file, const char *prefix)
{
	return !strncmp(file_dentry(file)->d_name.name, prefix, strlen(prefix));
}

static bool luo_test_can_preserve(struct liveupdate_file_handler *handler,
				  struct file *file)
{
	return shmem_file(file) && luo_test_named(file, LUO_TEST_PREFIX);
}

static int luo_test_preserve(struct liveupdate_file_op_args *args)
{
	args->serialized_data = i_size_read(file_inode(args->file));
	return 0;
}

static void luo_test_unpreserve(struct liveupdate_file_op_args *args)
{
}

static int luo_test_freeze(struct liveupdate_file_op_args *args)
{
	if (luo_test_named(args->file, LUO_TEST_PREFIX "fail-freeze")) {
		pr_info("failing the freeze of %s as asked\n",
			file_dentry(args->file)->d_name.name);
		return -EAGAIN;
	}
	return 0;
}

static void luo_test_unfreeze(struct liveupdate_file_op_args *args)
{
	pr_info("thawed %s\n", file_dentry(args->file)->d_name.name);
}

static int luo_test_retrieve(struct liveupdate_file_op_args *args)
{
	struct file *file;

	file = shmem_file_setup(LUO_TEST_PREFIX "retrieved",
				args->serialized_data, VM_NORESERVE);
	if (IS_ERR(file))
		return PTR_ERR(file);
	args->file = file;
	return 0;
}

static void luo_test_finish(struct liveupdate_file_op_args *args)
{
}

static const struct liveupdate_file_ops luo_test_ops = {
	.can_preserve = luo_test_can_preserve,
	.preserve = luo_test_preserve,
	.unpreserve = luo_test_unpreserve,
	.freeze = luo_test_freeze,
	.unfreeze = luo_test_unfreeze,
	.retrieve = luo_test_retrieve,
	.finish = luo_test_finish,
	.owner = THIS_MODULE,
};

static struct liveupdate_file_handler luo_test_handler = {
	.ops = &luo_test_ops,
	.compatible = LUO_TEST_COMPATIBLE,
};

static int __init luo_test_init(void)
{
	if (!liveupdate_enabled() || luo_test_off)
		return 0;
	return liveupdate_register_file_handler(&luo_test_handler);
}
device_initcall(luo_test_init);
