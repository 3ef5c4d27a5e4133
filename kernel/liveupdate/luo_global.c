// SPDX-License-Identifier: GPL-2.0
/*
 * Live Update Orchestrator: global objects shared by preserved files.
 */

/**
 * DOC: LUO global objects
 *
 * Some state belongs to no single file: an IOMMU's tables, a PCI bus.
 * A &struct liveupdate_global stands for such state. It is preserved
 * when the first file that needs it is (liveupdate_global_get() from the
 * file handler's preserve) and unpreserved with the last
 * (liveupdate_global_put()). Inside reboot() LUO hands over, with the
 * sessions, every global that files hold, with its data and the number
 * of files holding it.
 *
 * "Global" is this project's word for what upstream Linux calls a
 * file-lifecycle-bound object, FLB (struct liveupdate_flb): state that
 * lives as long as the preserved files that need it. The two differ in
 * who takes it for a file: upstream ties an FLB to file handlers when it
 * registers (liveupdate_register_flb()) and LUO takes it for each of
 * their files; here a file handler takes the globals a file needs itself,
 * with the calls below from its own ops.
 *
 * In the next kernel, the first handler that retrieves a file that held
 * the global calls liveupdate_global_retrieve(), which runs the global's
 * retrieve once; every such file's finish calls liveupdate_global_finish(),
 * and the last one runs the global's finish. A global may register after
 * its state was handed over: it is matched by its compatible string.
 *
 * A global whose state is one FDT page, found by name among KHO's
 * subtrees (the PCI and Intel IOMMU device lists), is preserved and
 * unpreserved with liveupdate_subtree_preserve() and
 * liveupdate_subtree_unpreserve().
 */

#define pr_fmt(fmt) "liveupdate: " fmt

#include <linux/err.h>
#include <linux/io.h>
#include <linux/kexec_handover.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "luo_internal.h"

/* A global handed over by the previous kernel. */
struct luo_global_in {
	struct list_head list;
	char compatible[LUO_COMPAT_LENGTH];
	u64 data;
	u64 users;		/* files that have not finished yet */
	bool retrieved;
	bool finished;
};

/* Innermost lock: protects both lists and every global's users and data. */
static DEFINE_MUTEX(luo_globals_lock);
static LIST_HEAD(luo_globals);
static LIST_HEAD(luo_globals_in);

/**
 * liveupdate_register_global - declare a global object
 * @global: the object; its compatible must be unique and NUL-terminated
 *
 * Context: may sleep.
 * Return: 0; -EINVAL for a malformed object; -EEXIST for a compatible in
 * use.
 */
int liveupdate_register_global(struct liveupdate_global *global)
{
	const struct liveupdate_global_ops *ops = global->ops;
	struct liveupdate_global *g;

	if (!ops || !ops->preserve || !ops->unpreserve ||
	    luo_format_check("global", global->compatible))
		return -EINVAL;

	guard(mutex)(&luo_globals_lock);
	list_for_each_entry(g, &luo_globals, list)
		if (!strcmp(g->compatible, global->compatible))
			return -EEXIST;
	global->users = 0;
	list_add_tail(&global->list, &luo_globals);
	return 0;
}

/**
 * liveupdate_global_get - a file being preserved needs @global
 * @global: a registered object
 *
 * The first get preserves the object.
 *
 * Context: from a file handler's preserve; may sleep.
 * Return: 0, or the error of the object's preserve.
 */
int liveupdate_global_get(struct liveupdate_global *global)
{
	int err;

	guard(mutex)(&luo_globals_lock);
	if (!global->users) {
		err = global->ops->preserve(global, &global->data);
		if (err)
			return err;
	}
	global->users++;
	return 0;
}

/**
 * liveupdate_global_put - a file that needed @global is unpreserved
 * @global: the object
 *
 * The last put unpreserves the object.
 *
 * Context: from a file handler's unpreserve; may sleep.
 */
void liveupdate_global_put(struct liveupdate_global *global)
{
	guard(mutex)(&luo_globals_lock);
	if (WARN_ON(!global->users))
		return;
	if (!--global->users)
		global->ops->unpreserve(global, global->data);
}

static struct luo_global_in *luo_global_in_find(const char *compatible)
{
	struct luo_global_in *in;

	lockdep_assert_held(&luo_globals_lock);
	list_for_each_entry(in, &luo_globals_in, list)
		if (!strcmp(in->compatible, compatible))
			return in;
	return NULL;
}

/**
 * liveupdate_global_retrieve - take a handed-over global object back
 * @global: the object, registered in this kernel
 * @data: set to what its preserve returned in the previous kernel
 *
 * The first call runs the object's retrieve, if it has one.
 *
 * Context: from a file handler's retrieve; may sleep.
 * Return: 0; -ENOENT if the previous kernel handed no such object over;
 * -EINVAL if it is finished already; the error of its retrieve.
 */
int liveupdate_global_retrieve(struct liveupdate_global *global, u64 *data)
{
	struct luo_global_in *in;
	int err;

	guard(mutex)(&luo_globals_lock);
	in = luo_global_in_find(global->compatible);
	if (!in)
		return -ENOENT;
	if (in->finished)
		return -EINVAL;
	if (!in->retrieved) {
		if (global->ops->retrieve) {
			err = global->ops->retrieve(global, in->data);
			if (err)
				return err;
		}
		in->retrieved = true;
	}
	*data = in->data;
	return 0;
}

/**
 * liveupdate_global_finish - a file that held @global has finished
 * @global: the object, registered in this kernel
 *
 * Call it from the finish of every file that held the object in the
 * previous kernel, retrieved or not; the last call runs its finish, if
 * it has one.
 *
 * Context: from a file handler's finish; may sleep.
 */
void liveupdate_global_finish(struct liveupdate_global *global)
{
	struct luo_global_in *in;

	guard(mutex)(&luo_globals_lock);
	in = luo_global_in_find(global->compatible);
	if (!in || in->finished)
		return;
	if (!--in->users) {
		if (global->ops->finish)
			global->ops->finish(global, in->data, in->retrieved);
		in->finished = true;
	}
}

/**
 * liveupdate_subtree_preserve - preserve a global object's KHO subtree
 * @st: the subtree, not preserved
 * @data: set to the physical address of its page
 *
 * Allocates and preserves one page, writes the subtree into it with
 * @st->write and adds it under @st->name to KHO's root. On failure
 * nothing is left preserved.
 *
 * Context: from a global's preserve; may sleep; takes @st->lock.
 * Return: 0, or the error of kho_alloc_preserve(), of @st->write or of
 * kho_add_subtree().
 */
int liveupdate_subtree_preserve(struct liveupdate_subtree *st, u64 *data)
{
	void *fdt = kho_alloc_preserve(PAGE_SIZE);
	int err;

	if (IS_ERR(fdt))
		return PTR_ERR(fdt);
	mutex_lock(st->lock);
	st->fdt = fdt;
	err = st->write(fdt);
	if (!err)
		err = kho_add_subtree(st->name, fdt);
	if (err)
		st->fdt = NULL;
	mutex_unlock(st->lock);
	if (err) {
		kho_unpreserve_free(fdt);
		return err;
	}
	*data = virt_to_phys(fdt);
	return 0;
}

/**
 * liveupdate_subtree_unpreserve - undo liveupdate_subtree_preserve()
 * @st: the subtree
 *
 * Removes the subtree from KHO's root and frees its page; does nothing
 * if @st is not preserved.
 *
 * Context: from a global's unpreserve; may sleep; takes @st->lock.
 */
void liveupdate_subtree_unpreserve(struct liveupdate_subtree *st)
{
	void *fdt;

	mutex_lock(st->lock);
	fdt = st->fdt;
	st->fdt = NULL;
	mutex_unlock(st->lock);
	if (!fdt)
		return;
	kho_remove_subtree(fdt);
	kho_unpreserve_free(fdt);
}

/**
 * luo_global_count_out - how many globals the handover will carry
 *
 * Files get and put globals in their preserve and unpreserve, which run
 * only under luo_sessions_lock: the count holds until the lock is
 * dropped, so luo_global_serialize() writes as many.
 *
 * Context: luo_sessions_lock held.
 * Return: the number of globals that files hold.
 */
unsigned long luo_global_count_out(void)
{
	struct liveupdate_global *g;
	unsigned long n = 0;

	lockdep_assert_held(&luo_sessions_lock);
	guard(mutex)(&luo_globals_lock);
	list_for_each_entry(g, &luo_globals, list)
		n += !!g->users;
	return n;
}

/**
 * luo_global_check_next - will the loaded kernel read every held global?
 * @cat: the loaded kernel's catalog
 *
 * Context: luo_sessions_lock held.
 * Return: 0, or -ENOEXEC naming (in one log line) the first global object
 * whose format the loaded kernel lacks.
 */
int luo_global_check_next(const struct liveupdate_catalog *cat)
{
	struct liveupdate_global *g;

	lockdep_assert_held(&luo_sessions_lock);
	guard(mutex)(&luo_globals_lock);
	list_for_each_entry(g, &luo_globals, list) {
		if (!g->users || luo_catalog_reads(cat, g->compatible))
			continue;
		pr_err("refusing the reboot: the loaded kernel %s does not read the global object %s, which %lu preserved files need\n",
		       luo_catalog_kernel(cat), g->compatible, g->users);
		return -ENOEXEC;
	}
	return 0;
}

/**
 * luo_global_show_out - list the held globals for sysfs
 * @l: the listing
 *
 * One line a global object that preserved files hold: "global", its
 * format version.
 *
 * Context: luo_sessions_lock held.
 */
void luo_global_show_out(struct luo_listing *l)
{
	struct liveupdate_global *g;

	lockdep_assert_held(&luo_sessions_lock);
	guard(mutex)(&luo_globals_lock);
	list_for_each_entry(g, &luo_globals, list)
		if (g->users)
			luo_listing_add(l, "global %s\n", g->compatible);
}

/**
 * luo_global_serialize - write the globals that files hold
 * @out: room for @room entries, luo_global_count_out() of them
 * @room: the entries @out has room for
 *
 * Context: luo_sessions_lock held.
 * Return: 0; -EOVERFLOW, with a warning, if more globals are held than
 * @room (their count changed since luo_global_count_out(): a bug).
 */
int luo_global_serialize(struct luo_global_ser *out, unsigned long room)
{
	struct liveupdate_global *g;

	lockdep_assert_held(&luo_sessions_lock);
	guard(mutex)(&luo_globals_lock);
	list_for_each_entry(g, &luo_globals, list) {
		if (!g->users)
			continue;
		if (WARN_ON_ONCE(!room--))
			return -EOVERFLOW;
		strscpy(out->compatible, g->compatible);
		out->data = g->data;
		out->users = g->users;
		out++;
	}
	return 0;
}

/**
 * luo_global_add_incoming - record a global the previous kernel handed over
 * @ser: its entry in the state area
 *
 * Context: boot.
 * Return: 0; -EINVAL for a malformed or duplicate entry; -ENOMEM.
 */
int luo_global_add_incoming(const struct luo_global_ser *ser)
{
	struct luo_global_in *in;

	if (!ser->users || !ser->compatible[0] ||
	    !memchr(ser->compatible, '\0', sizeof(ser->compatible)))
		return -EINVAL;
	guard(mutex)(&luo_globals_lock);
	if (luo_global_in_find(ser->compatible))
		return -EINVAL;
	in = kzalloc(sizeof(*in), GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	strscpy(in->compatible, ser->compatible);
	in->data = ser->data;
	in->users = ser->users;
	list_add_tail(&in->list, &luo_globals_in);
	return 0;
}

/**
 * luo_global_drop_incoming - forget every handed-over global
 *
 * Context: boot, when the handover is refused.
 */
void luo_global_drop_incoming(void)
{
	struct luo_global_in *in, *tmp;

	guard(mutex)(&luo_globals_lock);
	list_for_each_entry_safe(in, tmp, &luo_globals_in, list) {
		list_del(&in->list);
		kfree(in);
	}
}
