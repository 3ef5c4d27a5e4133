// SPDX-License-Identifier: GPL-2.0
/*
 * Live Update Orchestrator: a file handler for the selftests.
 *
 * It uses the orchestrator's API, and damages an incoming file's record
 * through the one test-only hook, luo_session_damage_file(). It is built
 * as luo_test.o (see lib/Makefile): the selftests set luo_test.off= and
 * use /sys/module/luo_test/parameters/.
 */

/**
 * DOC: LUO test handler
 *
 * With CONFIG_LIVEUPDATE_TEST, a handler of compatible "luo-test-v1"
 * claims memfds whose name starts with "luo-test-" (it registers before
 * the memfd handler, so it sees them first). For each it preserves a
 * folio about the size of the file (not its contents) and gives back an
 * empty memfd, named "luo-test-retrieved", of the folio's size. Its
 * freeze fails with -EAGAIN for files named "luo-test-fail-freeze...",
 * which lets the selftests check that a failing freeze thaws everything
 * and fails reboot(). Booting with ``luo_test.off=1`` keeps it
 * unregistered, so that the next kernel meets a format it does not know.
 *
 * All its files share a global object ("luo-test-global-v1"): a page
 * holding a magic number. /sys/module/luo_test/parameters/ shows
 * ``global_users`` (outgoing files holding it) and ``global_state``
 * (none, preserved, retrieved, finished, or bad-magic).
 *
 * Writing ``SESSION TOKEN`` to /sys/module/luo_test/parameters/damage,
 * in the next kernel, replaces the record address of that incoming file
 * (of any handler) with one where nothing was preserved, as a buggy
 * previous kernel might have handed it over: its handler's retrieve and
 * finish then meet a record they cannot restore.
 */

#define pr_fmt(fmt) "luo_test: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kexec_handover.h>
#include <linux/liveupdate.h>
#include <linux/liveupdate_catalog.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/shmem_fs.h>
#include <linux/string.h>

#define LUO_TEST_PREFIX		"memfd:luo-test-"

#define LUO_TEST_MAGIC		0x4c554f5445535431ULL	/* "LUOTEST1" */
#define LUO_TEST_MAX_ORDER	10

static bool luo_test_off;
module_param_named(off, luo_test_off, bool, 0444);

static char luo_test_global_state[16] = "none";
module_param_string(global_state, luo_test_global_state,
		    sizeof(luo_test_global_state), 0444);

static int luo_test_damage_set(const char *val, const struct kernel_param *kp)
{
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	unsigned long long token;
	char end;

	/* "%63s": LIVEUPDATE_SESSION_NAME_LENGTH - 1 */
	static_assert(LIVEUPDATE_SESSION_NAME_LENGTH == 64);
	if (sscanf(val, "%63s %llu %c", name, &token, &end) != 2)
		return -EINVAL;
	return luo_session_damage_file(name, token);
}

static const struct kernel_param_ops luo_test_damage_ops = {
	.set = luo_test_damage_set,
};
module_param_cb(damage, &luo_test_damage_ops, NULL, 0200);

static void luo_test_set_state(const char *state)
{
	strscpy(luo_test_global_state, state);
}

static struct folio *luo_test_global_folio;

static int luo_test_global_preserve(struct liveupdate_global *global,
				    u64 *data)
{
	struct folio *folio = folio_alloc(GFP_KERNEL | __GFP_ZERO, 0);
	int err;

	if (!folio)
		return -ENOMEM;
	*(u64 *)folio_address(folio) = LUO_TEST_MAGIC;
	err = kho_preserve_folio(folio);
	if (err) {
		folio_put(folio);
		return err;
	}
	luo_test_global_folio = folio;
	*data = PFN_PHYS(folio_pfn(folio));
	luo_test_set_state("preserved");
	return 0;
}

static void luo_test_global_unpreserve(struct liveupdate_global *global,
				       u64 data)
{
	kho_unpreserve_folio(luo_test_global_folio);
	folio_put(luo_test_global_folio);
	luo_test_global_folio = NULL;
	luo_test_set_state("none");
}

static int luo_test_global_retrieve(struct liveupdate_global *global, u64 data)
{
	struct folio *folio = kho_restore_folio(data);

	if (!folio)
		return -ENOENT;
	luo_test_global_folio = folio;
	luo_test_set_state(*(u64 *)folio_address(folio) == LUO_TEST_MAGIC ?
			   "retrieved" : "bad-magic");
	return 0;
}

static void luo_test_global_finish(struct liveupdate_global *global, u64 data,
				   bool retrieved)
{
	struct folio *folio = retrieved ? luo_test_global_folio :
				kho_restore_folio(data);

	if (folio)
		folio_put(folio);
	luo_test_global_folio = NULL;
	luo_test_set_state("finished");
}

static const struct liveupdate_global_ops luo_test_global_ops = {
	.preserve = luo_test_global_preserve,
	.unpreserve = luo_test_global_unpreserve,
	.retrieve = luo_test_global_retrieve,
	.finish = luo_test_global_finish,
};

static struct liveupdate_global luo_test_global = {
	.ops = &luo_test_global_ops,
	.compatible = LUO_TEST_GLOBAL_COMPATIBLE,
};
module_param_named(global_users, luo_test_global.users, ulong, 0444);

static bool luo_test_named(struct file *file, const char *prefix)
{
	return !strncmp(file_dentry(file)->d_name.name, prefix, strlen(prefix));
}

static bool luo_test_can_preserve(struct liveupdate_file_handler *handler,
				  struct file *file)
{
	return shmem_file(file) && luo_test_named(file, LUO_TEST_PREFIX);
}

/* The serialized data: the folio's physical address, its order below. */
static int luo_test_preserve(struct liveupdate_file_op_args *args)
{
	loff_t size = i_size_read(file_inode(args->file));
	unsigned int order = min_t(unsigned int, LUO_TEST_MAX_ORDER,
				   get_order(max_t(loff_t, size, PAGE_SIZE)));
	struct folio *folio;
	int err;

	err = liveupdate_global_get(&luo_test_global);
	if (err)
		return err;
	folio = folio_alloc(GFP_KERNEL, order);
	if (!folio) {
		err = -ENOMEM;
		goto err_put;
	}
	err = kho_preserve_folio(folio);
	if (err)
		goto err_free;
	args->private_data = folio;
	args->serialized_data = PFN_PHYS(folio_pfn(folio)) | order;
	return 0;

err_free:
	folio_put(folio);
err_put:
	liveupdate_global_put(&luo_test_global);
	return err;
}

static void luo_test_unpreserve(struct liveupdate_file_op_args *args)
{
	kho_unpreserve_folio(args->private_data);
	folio_put(args->private_data);
	liveupdate_global_put(&luo_test_global);
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
	u64 order = args->serialized_data & (PAGE_SIZE - 1);
	struct folio *folio;
	struct file *file;
	u64 global_data;
	int err;

	err = liveupdate_global_retrieve(&luo_test_global, &global_data);
	if (err)
		return err;
	folio = kho_restore_folio(args->serialized_data & PAGE_MASK);
	if (!folio || folio_order(folio) != order) {
		if (folio)
			folio_put(folio);
		return -EINVAL;
	}
	folio_put(folio);
	file = shmem_file_setup(LUO_TEST_PREFIX "retrieved", PAGE_SIZE << order,
				VM_NORESERVE);
	if (IS_ERR(file))
		return PTR_ERR(file);
	args->file = file;
	return 0;
}

static void luo_test_finish(struct liveupdate_file_op_args *args)
{
	struct folio *folio;

	if (!args->retrieved) {
		folio = kho_restore_folio(args->serialized_data & PAGE_MASK);
		if (folio)
			folio_put(folio);
	}
	liveupdate_global_finish(&luo_test_global);
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
	int err;

	if (!liveupdate_enabled() || luo_test_off)
		return 0;
	err = liveupdate_register_global(&luo_test_global);
	if (!err)
		err = liveupdate_register_file_handler(&luo_test_handler);
	return err;
}
device_initcall(luo_test_init);
