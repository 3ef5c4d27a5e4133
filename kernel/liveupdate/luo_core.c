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
#include <linux/slab.h>
#include <linux/spinlock.h>
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

struct luo_state luo = {
	.lock = __MUTEX_INITIALIZER(luo.lock),
	.out = RB_ROOT,
	.in = RB_ROOT,
	.status = "none",
};

/* Set once every file is frozen inside reboot(): sessions are final. */
static bool luo_handed_over;

/* Drop the sessions rather than refuse a kernel that cannot read them. */
static bool luo_drop_incompatible;

/* Protects luo.status, which files write under their session's lock. */
static DEFINE_SPINLOCK(luo_status_lock);

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

/**
 * luo_set_status - record the outcome of the last handover
 * @fmt: printf format
 *
 * Context: any.
 */
void luo_set_status(const char *fmt, ...)
{
	va_list ap;

	spin_lock(&luo_status_lock);
	va_start(ap, fmt);
	vsnprintf(luo.status, sizeof(luo.status), fmt, ap);
	va_end(ap);
	spin_unlock(&luo_status_lock);
}

/* ---------------------------------------------------------------------- */
/* Outgoing: the handover inside reboot()                                 */
/* ---------------------------------------------------------------------- */

static struct luo_session *luo_first(struct rb_root *root)
{
	struct rb_node *node = rb_first(root);

	return node ? rb_entry(node, struct luo_session, node) : NULL;
}

static struct luo_session *luo_next(struct luo_session *session)
{
	struct rb_node *node = rb_next(&session->node);

	return node ? rb_entry(node, struct luo_session, node) : NULL;
}

/* Thaw the sessions before @stop (all of them for NULL). */
static void luo_unfreeze_until(struct luo_session *stop)
{
	struct luo_session *s;

	for (s = luo_first(&luo.out); s; s = luo_next(s)) {
		if (s == stop)
			break;
		guard(mutex)(&s->lock);
		luo_file_unfreeze_all(s);
	}
}

/* The state area: header, then each session and its files. */
static void *luo_serialize(size_t *sizep)
{
	unsigned long nr_files = 0, nr_globals = luo_global_count_out();
	struct luo_state_ser *state;
	struct luo_session *s;
	size_t size;
	void *buf, *p;

	for (s = luo_first(&luo.out); s; s = luo_next(s))
		nr_files += s->nr_files;
	size = sizeof(*state) + luo.nr_out * sizeof(struct luo_session_ser) +
	       nr_files * sizeof(struct luo_file_ser) +
	       nr_globals * sizeof(struct luo_global_ser);
	buf = vzalloc(size);
	if (!buf)
		return NULL;

	state = buf;
	state->nr_sessions = luo.nr_out;
	state->nr_files = nr_files;
	state->nr_globals = nr_globals;
	p = state + 1;
	for (s = luo_first(&luo.out); s; s = luo_next(s)) {
		struct luo_session_ser *ss = p;
		struct luo_file *lf;

		strscpy(ss->name, s->name);
		ss->nr_files = s->nr_files;
		p = ss + 1;
		list_for_each_entry(lf, &s->files, list) {
			struct luo_file_ser *fs = p;

			strscpy(fs->compatible, lf->compatible);
			fs->token = lf->token;
			fs->data = lf->data;
			p = fs + 1;
		}
	}
	luo_global_serialize(p);
	*sizep = size;
	return buf;
}

static int luo_make_fdt(void *fdt, const struct kho_vmalloc *vm, size_t size)
{
	int err;

	err = fdt_create(fdt, PAGE_SIZE);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", LUO_FDT_COMPATIBLE);
	err |= fdt_property_u64(fdt, LUO_FDT_PROP_UPDATES, luo.updates + 1);
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

	state = luo_serialize(&size);
	if (!state)
		return -ENOMEM;
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

/* Will the loaded kernel read everything the sessions hold? */
static int luo_check_next(const struct liveupdate_catalog *cat)
{
	struct luo_session *s;
	int err;

	if (!luo.nr_out)
		return 0;
	if (!cat) {
		pr_err("refusing the reboot: the loaded kernel image has no live update format catalog, so it cannot take the %lu preserved sessions; close them, or write drop to /sys/kernel/liveupdate/on_incompatible\n",
		       luo.nr_out);
		return -EOPNOTSUPP;
	}
	if (!luo_catalog_reads(cat, KHO_FDT_COMPATIBLE) ||
	    !luo_catalog_reads(cat, LUO_FDT_COMPATIBLE)) {
		pr_err("refusing the reboot: the loaded kernel %s does not read both %s and %s, the handover's own formats\n",
		       luo_catalog_kernel(cat), KHO_FDT_COMPATIBLE,
		       LUO_FDT_COMPATIBLE);
		return -ENOEXEC;
	}
	for (s = luo_first(&luo.out); s; s = luo_next(s)) {
		scoped_guard(mutex, &s->lock)
			err = luo_file_check_next(s, cat);
		if (err)
			return err;
	}
	return luo_global_check_next(cat);
}

/* Empty every outgoing session, at the operator's request. */
static void luo_drop_outgoing(const struct liveupdate_catalog *cat)
{
	unsigned long nr_files = 0;
	struct luo_session *s;

	for (s = luo_first(&luo.out); s; s = luo_next(s)) {
		guard(mutex)(&s->lock);
		nr_files += s->nr_files;
		luo_file_unpreserve_all(s);
	}
	pr_warn("dropping %lu sessions (%lu files) as asked: the loaded kernel %s cannot take them\n",
		luo.nr_out, nr_files, cat ? luo_catalog_kernel(cat) :
		"(no handover or no format catalog)");
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
	struct luo_session *s;
	int err;

	if (!liveupdate_enabled())
		return 0;

	guard(mutex)(&luo.lock);
	if (luo_handed_over)
		return 0;
	if (!kexec_image || !kexec_image->file_mode) {
		if (!luo.nr_out)
			return 0;
		if (luo_drop_incompatible) {
			luo_drop_outgoing(NULL);
			luo_handed_over = true;
			return 0;
		}
		pr_err("%lu sessions are open but the loaded kernel gets no handover; load it with kexec_file_load() or close them\n",
		       luo.nr_out);
		return -EOPNOTSUPP;
	}

	cat = kexec_image->lu_catalog;
	err = luo_check_next(cat);
	if (err) {
		if (!luo_drop_incompatible)
			return err;
		luo_drop_outgoing(cat);
		luo_handed_over = true;
		return 0;
	}

	for (s = luo_first(&luo.out); s; s = luo_next(s)) {
		scoped_guard(mutex, &s->lock)
			err = luo_file_freeze_all(s, cat);
		if (err) {
			luo_unfreeze_until(s);
			return err;
		}
	}

	err = luo_handover();
	if (err) {
		pr_err("cannot hand the sessions over: %d\n", err);
		luo_unfreeze_until(NULL);
		return err;
	}
	luo_handed_over = true;
	pr_info("handing over %lu sessions\n", luo.nr_out);
	return 0;
}

/**
 * luo_frozen - may sessions still change?
 *
 * Return: true once the sessions were handed over inside reboot().
 */
bool luo_frozen(void)
{
	lockdep_assert_held(&luo.lock);
	return luo_handed_over;
}

/* ---------------------------------------------------------------------- */
/* Incoming                                                               */
/* ---------------------------------------------------------------------- */

static void luo_drop_incoming(void)
{
	struct luo_session *s;

	while ((s = luo_first(&luo.in))) {
		struct luo_file *lf, *tmp;

		rb_erase(&s->node, &luo.in);
		list_for_each_entry_safe(lf, tmp, &s->files, list) {
			xa_erase(&s->tokens, lf->token);
			list_del(&lf->list);
			s->nr_files--;
			kfree(lf);
		}
		luo_session_free(s);
	}
	luo.nr_in = 0;
}

/* Turn the state area into incoming sessions; return why it is bad. */
static const char *luo_parse_state(const void *buf, size_t size)
{
	const struct luo_state_ser *state = buf;
	const void *p = state + 1, *end = buf + size;
	u64 i, j, nr_files = 0;

	if (size < sizeof(*state))
		return "the state is truncated";

	for (i = 0; i < state->nr_sessions; i++) {
		const struct luo_session_ser *ss = p;
		struct luo_session *s;

		if (end - p < sizeof(*ss))
			return "the state is truncated";
		if (!ss->name[0] || !memchr(ss->name, '\0', sizeof(ss->name)))
			return "a session name is malformed";
		s = luo_session_alloc(ss->name, true);
		if (!s)
			return "out of memory";
		if (luo_session_insert(&luo.in, s)) {
			luo_session_free(s);
			return "two sessions have the same name";
		}
		luo.nr_in++;
		p = ss + 1;
		for (j = 0; j < ss->nr_files; j++) {
			const struct luo_file_ser *fs = p;
			int err;

			if (end - p < sizeof(*fs))
				return "the state is truncated";
			if (!memchr(fs->compatible, '\0', sizeof(fs->compatible)))
				return "a file format name is malformed";
			err = luo_file_add_incoming(s, fs->compatible, fs->token,
						    fs->data);
			if (err == -EEXIST)
				return "two files of a session have the same token";
			if (err)
				return "out of memory";
			p = fs + 1;
			nr_files++;
		}
	}
	if (nr_files != state->nr_files)
		return "the file count is wrong";

	for (i = 0; i < state->nr_globals; i++) {
		const struct luo_global_ser *gs = p;
		int err;

		if (end - p < sizeof(*gs))
			return "the state is truncated";
		err = luo_global_add_incoming(gs);
		if (err == -ENOMEM)
			return "out of memory";
		if (err)
			return "a global object is malformed";
		p = gs + 1;
	}
	return NULL;
}

/* How much of an unknown compatible string a refusal shows. */
#define LUO_COMPAT_SHOWN_MAX	32

static void __init luo_incoming(void)
{
	const char *why = NULL;
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
		luo_set_status("refused: live update is off");
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
		luo_set_status("refused: unknown format");
		goto out_folio;
	} else {
		prop = fdt_getprop(fdt, 0, LUO_FDT_PROP_UPDATES, &len);
		if (prop && len == sizeof(u64))
			luo.updates = get_unaligned_be64(prop);
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
			why = luo_parse_state(state, size);
	}
	vfree(state);
out_folio:
	folio_put(folio);
out:
	if (why) {
		luo_drop_incoming();
		luo_global_drop_incoming();
		pr_err("refusing the previous kernel's sessions: %s\n", why);
		luo_set_status("refused: %s", why);
		return;
	}
	if (!strcmp(luo.status, "none"))
		luo_set_status("ok");
	pr_info("live update %llu: %lu sessions handed over\n", luo.updates,
		luo.nr_in);
}

/**
 * luo_session_finished - count an incoming session as finished
 *
 * When the last one is, nobody can restore anything the previous kernel
 * preserved any more: KHO releases whatever is left, so that even the
 * memory of files no handler could read does not leak.
 *
 * Context: luo.lock held; may sleep.
 */
void luo_session_finished(void)
{
	lockdep_assert_held(&luo.lock);
	luo.nr_finished++;
	if (luo.nr_finished == luo.nr_in)
		kho_release_unclaimed();
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
	return sysfs_emit(buf, "%llu\n", luo.updates);
}

#define LUO_COUNTER_ATTR(_name, _field)					\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	guard(mutex)(&luo.lock);					\
	return sysfs_emit(buf, "%lu\n", luo._field);			\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

LUO_COUNTER_ATTR(sessions_in, nr_in);
LUO_COUNTER_ATTR(sessions_retrieved, nr_retrieved);
LUO_COUNTER_ATTR(sessions_finished, nr_finished);
LUO_COUNTER_ATTR(sessions_out, nr_out);

static ssize_t last_handover_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	ssize_t ret;

	spin_lock(&luo_status_lock);
	ret = sysfs_emit(buf, "%s\n", luo.status);
	spin_unlock(&luo_status_lock);
	return ret;
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
	struct luo_session *s;

	guard(mutex)(&luo.lock);
	if (luo.nr_out) {
		luo_listing_add(&l, "core %s\n", KHO_FDT_COMPATIBLE);
		luo_listing_add(&l, "core %s\n", LUO_FDT_COMPATIBLE);
	}
	for (s = luo_first(&luo.out); s; s = luo_next(s)) {
		guard(mutex)(&s->lock);
		luo_listing_add(&l, "session %s\n", s->name);
		luo_file_show_out(s, &l);
	}
	luo_global_show_out(&l);
	if (l.more)
		l.at += sysfs_emit_at(buf, l.at, "more %lu\n", l.more);
	return l.at;
}

static ssize_t on_incompatible_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	guard(mutex)(&luo.lock);
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
	guard(mutex)(&luo.lock);
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
