// SPDX-License-Identifier: GPL-2.0
/*
 * Live Update Orchestrator (LUO): /dev/liveupdate, the handover of
 * sessions across kexec, and its status in sysfs.
 */

/**
 * DOC: Live Update Orchestrator
 *
 * LUO lets user space keep files across a kexec reboot: it groups them in
 * named sessions (luo_session.c), preserves each through a file handler
 * (luo_file.c), and hands the sessions to the next kernel through kexec
 * handover (KHO). Enable it with ``liveupdate=on`` (KHO must be on too).
 *
 * ``/dev/liveupdate`` has one opener at a time (a second open fails with
 * EBUSY); it creates outgoing sessions and retrieves incoming ones.
 *
 * Handover. liveupdate_reboot() runs inside reboot(LINUX_REBOOT_CMD_KEXEC)
 * before anything is shut down. It first checks the loaded kernel's
 * format catalog (luo_catalog.c): if that kernel would not read every
 * preserved file and global object, the reboot fails (EOPNOTSUPP for an
 * image loaded with kexec_load() or with no catalog, ENOEXEC for a format
 * it lacks) with one log line and every session as it was, unless the
 * operator wrote "drop" to ``/sys/kernel/liveupdate/on_incompatible``:
 * then every session is emptied (its files unpreserved, so devices are
 * stopped as in any kexec) and nothing is handed over. Then it freezes
 * every file of every outgoing session (a failure thaws them all again
 * and reboot() returns the error, with the sessions intact), writes the
 * sessions into a preserved vmalloc area, and hands it over as the KHO
 * subtree "LUO" (see <linux/kho/abi/luo.h>). From then on no session can
 * change.
 *
 * Incoming. At boot LUO reads the "LUO" subtree, checks it, and offers
 * its sessions by name. A subtree it cannot read (unknown version,
 * inconsistent sizes, duplicate names or tokens) is refused with one log
 * line; the memory of its files stays reserved.
 *
 * The core keeps the boot parameter, the device, sysfs and the reboot
 * hook; the sessions, their files and the handover's state area are
 * luo_session.c's, which the core reaches only through luo_session_*().
 *
 * Status. ``/sys/kernel/liveupdate/`` tells programs whether LUO is on,
 * how many live updates happened since the last cold boot, what became
 * of the incoming sessions and how the last handover went (see
 * Documentation/ABI/testing/sysfs-kernel-liveupdate).
 */

#define pr_fmt(fmt) "liveupdate: " fmt

#include <linux/kexec.h>
#include <linux/kexec_handover.h>
#include <linux/kobject.h>
#include <linux/libfdt.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/sysfs.h>
#include <linux/unaligned.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#include "luo_internal.h"

static bool luo_enable __ro_after_init =
	IS_ENABLED(CONFIG_LIVEUPDATE_ENABLE_DEFAULT);

static int __init luo_parse_enable(char *p)
{
	return kstrtobool(p, &luo_enable);
}
early_param("liveupdate", luo_parse_enable);

/* Live updates since the last cold boot; set at boot, then fixed. */
static u64 luo_updates;

/*
 * Drop the sessions rather than refuse a kernel that cannot read them
 * (luo_sessions_lock, which the handover holds throughout).
 */
static bool luo_drop_incompatible;

/**
 * liveupdate_enabled - is live update on?
 *
 * Return: true when ``liveupdate=on`` and kexec handover is on.
 */
bool liveupdate_enabled(void)
{
	return luo_enable && kho_is_enabled();
}
EXPORT_SYMBOL_GPL(liveupdate_enabled);

/* ---------------------------------------------------------------------- */
/* Outgoing: the handover inside reboot()                                 */
/* ---------------------------------------------------------------------- */

static int luo_make_fdt(void *fdt, const struct kho_vmalloc *vm, size_t size)
{
	int err;

	err = fdt_create(fdt, PAGE_SIZE);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", LUO_FDT_COMPATIBLE);
	err |= fdt_property_u64(fdt, LUO_FDT_PROP_UPDATES, luo_updates + 1);
	err |= fdt_property(fdt, LUO_FDT_PROP_STATE, vm, sizeof(*vm));
	err |= fdt_property_u64(fdt, LUO_FDT_PROP_STATE_SIZE, size);
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	return err ? -ENOSPC : 0;
}

/* Write the sessions and hand them over as the "LUO" subtree. */
static int luo_handover(void)
{
	struct kho_vmalloc vm;
	struct folio *folio;
	size_t size;
	void *state;
	int err;

	lockdep_assert_held(&luo_sessions_lock);
	size = luo_session_ser_size();
	state = vzalloc(size);
	if (!state)
		return -ENOMEM;
	err = luo_session_serialize(state, size);
	if (err)
		goto err_free_state;
	err = kho_preserve_vmalloc(state, &vm);
	if (err)
		goto err_free_state;

	folio = folio_alloc(GFP_KERNEL | __GFP_ZERO, 0);
	if (!folio) {
		err = -ENOMEM;
		goto err_unpreserve_state;
	}
	err = luo_make_fdt(folio_address(folio), &vm, size);
	if (err)
		goto err_free_folio;
	err = kho_preserve_folio(folio);
	if (err)
		goto err_free_folio;
	err = kho_add_subtree(LUO_FDT_NAME, folio_address(folio));
	if (err)
		goto err_unpreserve_folio;
	/* Both stay allocated and preserved: the next kernel owns them. */
	return 0;

err_unpreserve_folio:
	kho_unpreserve_folio(folio);
err_free_folio:
	folio_put(folio);
err_unpreserve_state:
	kho_unpreserve_vmalloc(&vm);
err_free_state:
	vfree(state);
	return err;
}

/* Will the loaded kernel read everything the @nr_out sessions hold? */
static int luo_check_next(const struct liveupdate_catalog *cat,
			  unsigned long nr_out)
{
	if (!nr_out)
		return 0;
	if (!cat) {
		pr_err("refusing the reboot: the loaded kernel image has no live update format catalog, so it cannot take the %lu preserved sessions; close them, or write drop to /sys/kernel/liveupdate/on_incompatible\n",
		       nr_out);
		return -EOPNOTSUPP;
	}
	if (!luo_catalog_reads(cat, KHO_FDT_COMPATIBLE) ||
	    !luo_catalog_reads(cat, LUO_FDT_COMPATIBLE)) {
		pr_err("refusing the reboot: the loaded kernel %s does not read both %s and %s, the handover's own formats\n",
		       luo_catalog_kernel(cat), KHO_FDT_COMPATIBLE,
		       LUO_FDT_COMPATIBLE);
		return -ENOEXEC;
	}
	return luo_session_check_next(cat);
}

/* Empty the @nr_out outgoing sessions, at the operator's request. */
static void luo_drop_outgoing(const struct liveupdate_catalog *cat,
			      unsigned long nr_out)
{
	unsigned long nr_files = luo_session_drop_outgoing();

	pr_warn("dropping %lu sessions (%lu files) as asked: the loaded kernel %s cannot take them\n",
		nr_out, nr_files, cat ? luo_catalog_kernel(cat) :
		"(no handover or no format catalog)");
	luo_session_mark_handed_over();
}

/**
 * liveupdate_reboot - freeze and hand over every session
 *
 * Called by kernel_kexec() before anything is shut down.
 *
 * Context: process context, reboot_mutex held; may sleep.
 * Return: 0 when the reboot may go on; -EOPNOTSUPP when sessions are open
 * but the loaded kernel gets no handover or has no format catalog;
 * -ENOEXEC when it does not read a preserved format; a freeze or handover
 * error (all files are thawed again and the sessions stay as they were).
 */
int liveupdate_reboot(void)
{
	const struct liveupdate_catalog *cat;
	struct luo_session_counts c;
	int err;

	if (!liveupdate_enabled())
		return 0;

	/* Held throughout: no session changes while it is handed over. */
	guard(mutex)(&luo_sessions_lock);
	if (luo_session_handed_over())
		return 0;
	luo_session_get_counts(&c);
	if (!kexec_image || !kexec_image->file_mode) {
		if (!c.out)
			return 0;
		if (luo_drop_incompatible) {
			luo_drop_outgoing(NULL, c.out);
			return 0;
		}
		pr_err("%lu sessions are open but the loaded kernel gets no handover; load it with kexec_file_load() or close them\n",
		       c.out);
		return -EOPNOTSUPP;
	}

	cat = kexec_image->lu_catalog;
	err = luo_check_next(cat, c.out);
	if (err) {
		if (!luo_drop_incompatible)
			return err;
		luo_drop_outgoing(cat, c.out);
		return 0;
	}

	err = luo_session_freeze(cat);
	if (err)
		return err;

	err = luo_handover();
	if (err) {
		pr_err("cannot hand the sessions over: %d\n", err);
		luo_session_unfreeze();
		return err;
	}
	luo_session_mark_handed_over();
	pr_info("handing over %lu sessions\n", c.out);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Incoming                                                               */
/* ---------------------------------------------------------------------- */

/* How much of an unknown compatible string a refusal shows. */
#define LUO_COMPAT_SHOWN_MAX	32

static void __init luo_incoming(void)
{
	struct luo_session_counts c;
	const char *why = NULL;
	bool refused = false;
	const struct kho_vmalloc *vm;
	struct folio *folio;
	const void *prop;
	u64 size = 0;
	void *state = NULL;
	phys_addr_t phys;
	void *fdt;
	int len;

	if (kho_retrieve_subtree(LUO_FDT_NAME, &phys))
		return;
	if (!liveupdate_enabled()) {
		pr_warn("the previous kernel handed sessions over, but live update is off here; their memory stays reserved\n");
		luo_session_set_status("refused: live update is off");
		return;
	}
	folio = kho_restore_folio(phys);
	if (!folio) {
		why = "cannot restore its description";
		goto out;
	}
	fdt = folio_address(folio);

	if (fdt_check_header(fdt) || fdt_totalsize(fdt) > PAGE_SIZE) {
		why = "its description is corrupt";
	} else if (fdt_node_check_compatible(fdt, 0, LUO_FDT_COMPATIBLE)) {
		prop = fdt_getprop(fdt, 0, "compatible", &len);
		pr_err("refusing the previous kernel's sessions: unknown format '%.*s' (this kernel reads %s)\n",
		       prop && len > 0 ? min(len, LUO_COMPAT_SHOWN_MAX) : 1,
		       prop && len > 0 ? (const char *)prop : "?",
		       LUO_FDT_COMPATIBLE);
		luo_session_set_status("refused: unknown format");
		refused = true;
		goto out_folio;
	} else {
		prop = fdt_getprop(fdt, 0, LUO_FDT_PROP_UPDATES, &len);
		if (prop && len == sizeof(u64))
			luo_updates = get_unaligned_be64(prop);
		prop = fdt_getprop(fdt, 0, LUO_FDT_PROP_STATE_SIZE, &len);
		if (prop && len == sizeof(u64))
			size = get_unaligned_be64(prop);
		vm = fdt_getprop(fdt, 0, LUO_FDT_PROP_STATE, &len);
		if (!vm || len != sizeof(*vm) || !size ||
		    size > (u64)vm->total_pages * PAGE_SIZE)
			why = "its description is incomplete";
		else
			state = kho_restore_vmalloc(vm);
		if (!why && !state)
			why = "cannot restore its state";
		if (!why)
			why = luo_session_deserialize(state, size);
	}
	vfree(state);
out_folio:
	folio_put(folio);
out:
	if (why) {
		luo_session_drop_incoming();
		pr_err("refusing the previous kernel's sessions: %s\n", why);
		luo_session_set_status("refused: %s", why);
		return;
	}
	/* A refused format is logged as no sessions; its status stays. */
	if (!refused)
		luo_session_set_status("ok");
	scoped_guard(mutex, &luo_sessions_lock)
		luo_session_get_counts(&c);
	pr_info("live update %llu: %lu sessions handed over\n", luo_updates,
		c.in);
}

/* ---------------------------------------------------------------------- */
/* /dev/liveupdate                                                        */
/* ---------------------------------------------------------------------- */

static atomic_t luo_dev_busy = ATOMIC_INIT(0);

static int luo_dev_open(struct inode *inode, struct file *file)
{
	if (atomic_cmpxchg(&luo_dev_busy, 0, 1))
		return -EBUSY;
	return 0;
}

static int luo_dev_release(struct inode *inode, struct file *file)
{
	atomic_set(&luo_dev_busy, 0);
	return 0;
}

static long luo_dev_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case LIVEUPDATE_IOCTL_CREATE_SESSION:
		return luo_session_ioctl_create(uarg);
	case LIVEUPDATE_IOCTL_RETRIEVE_SESSION:
		return luo_session_ioctl_retrieve(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations luo_dev_fops = {
	.owner = THIS_MODULE,
	.open = luo_dev_open,
	.release = luo_dev_release,
	.unlocked_ioctl = luo_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice luo_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "liveupdate",
	.fops = &luo_dev_fops,
	.mode = 0600,
};

/* ---------------------------------------------------------------------- */
/* /sys/kernel/liveupdate                                                 */
/* ---------------------------------------------------------------------- */

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", liveupdate_enabled());
}

static ssize_t updates_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%llu\n", luo_updates);
}

#define LUO_COUNTER_ATTR(_name, _field)					\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	struct luo_session_counts c;					\
									\
	scoped_guard(mutex, &luo_sessions_lock)				\
		luo_session_get_counts(&c);				\
	return sysfs_emit(buf, "%lu\n", c._field);			\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

LUO_COUNTER_ATTR(sessions_in, in);
LUO_COUNTER_ATTR(sessions_retrieved, retrieved);
LUO_COUNTER_ATTR(sessions_finished, finished);
LUO_COUNTER_ATTR(sessions_out, out);

static ssize_t last_handover_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return luo_session_show_status(buf);
}

static ssize_t release_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", CONFIG_LIVEUPDATE_RELEASE);
}

static ssize_t base_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u.%u.%u\n", LINUX_VERSION_MAJOR,
			  LINUX_VERSION_PATCHLEVEL, LINUX_VERSION_SUBLEVEL);
}

static ssize_t exec_from_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	const char *from = kho_exec_from();

	if (from)
		return sysfs_emit(buf, "%s\n", from);
	return sysfs_emit(buf, "%s\n", kho_exec_count() ? "unknown" : "none");
}

static ssize_t exec_count_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", kho_exec_count());
}

static ssize_t formats_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return luo_catalog_show(NULL, buf, 0);
}

static ssize_t outgoing_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	struct luo_listing l = { .buf = buf };
	struct luo_session_counts c;

	guard(mutex)(&luo_sessions_lock);
	luo_session_get_counts(&c);
	if (c.out) {
		luo_listing_add(&l, "core %s\n", KHO_FDT_COMPATIBLE);
		luo_listing_add(&l, "core %s\n", LUO_FDT_COMPATIBLE);
	}
	luo_session_show_out(&l);
	if (l.more)
		l.at += sysfs_emit_at(buf, l.at, "more %lu\n", l.more);
	return l.at;
}

static ssize_t on_incompatible_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	guard(mutex)(&luo_sessions_lock);
	return sysfs_emit(buf, "%s\n", luo_drop_incompatible ? "drop" : "refuse");
}

static ssize_t on_incompatible_store(struct kobject *kobj,
				     struct kobj_attribute *attr,
				     const char *buf, size_t count)
{
	bool drop;

	if (sysfs_streq(buf, "drop"))
		drop = true;
	else if (sysfs_streq(buf, "refuse"))
		drop = false;
	else
		return -EINVAL;
	guard(mutex)(&luo_sessions_lock);
	luo_drop_incompatible = drop;
	return count;
}

static struct kobj_attribute enabled_attr = __ATTR_RO(enabled);
static struct kobj_attribute release_attr = __ATTR_RO(release);
static struct kobj_attribute base_attr = __ATTR_RO(base);
static struct kobj_attribute exec_from_attr = __ATTR_RO(exec_from);
static struct kobj_attribute exec_count_attr = __ATTR_RO(exec_count);
static struct kobj_attribute formats_attr = __ATTR_RO(formats);
static struct kobj_attribute outgoing_attr = __ATTR_RO(outgoing);
static struct kobj_attribute on_incompatible_attr =
	__ATTR_RW_MODE(on_incompatible, 0600);
static struct kobj_attribute updates_attr = __ATTR_RO(updates);
static struct kobj_attribute last_handover_attr = __ATTR_RO(last_handover);

static struct attribute *luo_attrs[] = {
	&enabled_attr.attr,
	&updates_attr.attr,
	&sessions_in_attr.attr,
	&sessions_retrieved_attr.attr,
	&sessions_finished_attr.attr,
	&sessions_out_attr.attr,
	&last_handover_attr.attr,
	&release_attr.attr,
	&base_attr.attr,
	&exec_from_attr.attr,
	&exec_count_attr.attr,
	&formats_attr.attr,
	&outgoing_attr.attr,
	&on_incompatible_attr.attr,
	NULL,
};

static const struct attribute_group luo_attr_group = {
	.attrs = luo_attrs,
};

static int __init luo_init(void)
{
	struct kobject *kobj;
	int err;

	luo_incoming();
	luo_session_prepare_start();

	kobj = kobject_create_and_add("liveupdate", kernel_kobj);
	if (kobj && sysfs_create_group(kobj, &luo_attr_group))
		pr_warn("cannot create /sys/kernel/liveupdate\n");

	if (!liveupdate_enabled())
		return 0;
	err = misc_register(&luo_miscdev);
	if (err) {
		pr_err("cannot register /dev/liveupdate: %d\n", err);
		return err;
	}
	return 0;
}
late_initcall(luo_init);
