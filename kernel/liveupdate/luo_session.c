// SPDX-License-Identifier: GPL-2.0
/*
 * Live Update Orchestrator: sessions.
 */

/**
 * DOC: LUO sessions
 *
 * A session is a named set of files that user space preserves together,
 * each under a token of its choosing. LIVEUPDATE_IOCTL_CREATE_SESSION
 * makes an outgoing session and returns its file descriptor; the session
 * lives while that descriptor is open, and closing it unpreserves every
 * file in it (the abort path). Inside reboot() every file of every
 * outgoing session is frozen and the sessions are handed over.
 *
 * After the kexec, LIVEUPDATE_IOCTL_RETRIEVE_SESSION returns the file
 * descriptor of an incoming session, once; its files come back with
 * LIVEUPDATE_SESSION_RETRIEVE_FD in any order, and
 * LIVEUPDATE_SESSION_FINISH (or closing the descriptor) releases
 * whatever is left, retrieved or not.
 *
 * Sessions are kept in red-black trees by name and files in an xarray by
 * token, so neither has a fixed limit and both are found in O(log n).
 *
 * Handover. The core (luo_core.c) runs the handover through the
 * functions below, with luo_sessions_lock held throughout: it asks
 * whether the loaded kernel reads every file (luo_session_check_next()),
 * freezes every file (luo_session_freeze(), undone by
 * luo_session_unfreeze()), writes the state area
 * (luo_session_ser_size(), luo_session_serialize()) and marks the
 * sessions final (luo_session_mark_handed_over()); or, at the operator's
 * request, empties them instead (luo_session_drop_outgoing()). At boot
 * it reads the previous kernel's state area (luo_session_deserialize())
 * or, when it refuses it, forgets it (luo_session_drop_incoming()).
 *
 * Preparing. Once the state area is read, a worker goes through the
 * incoming sessions, one at a time and by name, and has each file's
 * handler prepare it (luo_file_prepare_all()): what retrieve would
 * restore and check in proportion to the file's memory (a memfd's folio
 * list) is done while the kernel finishes booting and user space starts,
 * not while a VMM waits in retrieve for its guest's memory. The worker
 * prepares one file per hold of its session's lock, and holds
 * luo_sessions_lock only to pick the next session (marking it
 * &luo_session.preparing, which releasing the session waits for): a
 * retrieve waits at most for the prepare of one file, and finds its file
 * either prepared or not touched at all. The worker runs again whenever
 * a file handler registers later (a module), for the files it reads.
 *
 * The session layer also keeps what sysfs shows of sessions: how many
 * there are of each kind (luo_session_get_counts()) and the status of
 * the last handover (luo_session_set_status()), which a file that fails
 * to be retrieved updates.
 */

#define pr_fmt(fmt) "liveupdate: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kexec_handover.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "luo_internal.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "liveupdate."

/* liveupdate.prepare=0 leaves all the work to retrieve (see "Preparing"). */
static bool luo_prepare_on = true;
module_param_named(prepare, luo_prepare_on, bool, 0444);
MODULE_PARM_DESC(prepare, "Prepare handed-over files for retrieve in the background at boot (default: on)");

/**
 * struct luo_sessions - every session LUO knows
 * @out: outgoing sessions, by name
 * @in: incoming sessions not yet released, by name
 * @count: how many there are of each kind
 * @handed_over: set inside reboot() once the outgoing sessions are final
 *		 (handed over, or dropped at the operator's request): none
 *		 may change any more
 * @prepare: the incoming sessions are read and may be prepared; set
 *	     once at boot, read without the lock
 *
 * Protected by luo_sessions_lock.
 */
struct luo_sessions {
	struct rb_root out;
	struct rb_root in;
	struct luo_session_counts count;
	bool handed_over;
	bool prepare;
};

/*
 * Protects luo_sessions, the tree entries and &luo_session.retrieved, and
 * keeps the files of outgoing sessions as they are; taken before any
 * session lock. The core also takes it around the handover.
 */
DEFINE_MUTEX(luo_sessions_lock);

static struct luo_sessions luo_sessions = {
	.out = RB_ROOT,
	.in = RB_ROOT,
};

/* Woken when the prepare worker is done with a session (preparing). */
static DECLARE_WAIT_QUEUE_HEAD(luo_prepare_wait);

/* The outcome of the last handover, for sysfs; luo_status_lock. */
static DEFINE_SPINLOCK(luo_status_lock);
static char luo_status[160] = "none";

/**
 * luo_session_set_status - record the outcome of the last handover
 * @fmt: printf format
 *
 * Context: any.
 */
void luo_session_set_status(const char *fmt, ...)
{
	va_list ap;

	spin_lock(&luo_status_lock);
	va_start(ap, fmt);
	vsnprintf(luo_status, sizeof(luo_status), fmt, ap);
	va_end(ap);
	spin_unlock(&luo_status_lock);
}

/**
 * luo_session_show_status - emit the outcome of the last handover
 * @buf: a sysfs page
 *
 * Context: any.
 * Return: the bytes written, as sysfs_emit() returns them.
 */
ssize_t luo_session_show_status(char *buf)
{
	ssize_t ret;

	spin_lock(&luo_status_lock);
	ret = sysfs_emit(buf, "%s\n", luo_status);
	spin_unlock(&luo_status_lock);
	return ret;
}

static int luo_session_cmp(const void *key, const struct rb_node *node)
{
	return strcmp(key, rb_entry(node, struct luo_session, node)->name);
}

static bool luo_session_less(struct rb_node *a, const struct rb_node *b)
{
	return luo_session_cmp(rb_entry(a, struct luo_session, node)->name,
			       b) < 0;
}

/* Add @session to @root, by name; -EEXIST for a name in it already. */
static int luo_session_insert(struct rb_root *root,
			      struct luo_session *session)
{
	lockdep_assert_held(&luo_sessions_lock);
	if (rb_find(session->name, root, luo_session_cmp))
		return -EEXIST;
	rb_add(&session->node, root, luo_session_less);
	return 0;
}

/*
 * An empty session named @name (NUL-terminated, shorter than
 * %LUO_NAME_LENGTH), or NULL.
 */
static struct luo_session *luo_session_alloc(const char *name, bool incoming)
{
	struct luo_session *session = kzalloc(sizeof(*session), GFP_KERNEL);

	if (!session)
		return NULL;
	strscpy(session->name, name);
	mutex_init(&session->lock);
	INIT_LIST_HEAD(&session->files);
	xa_init(&session->tokens);
	RB_CLEAR_NODE(&session->node);
	session->incoming = incoming;
	return session;
}

/* Free a session that is in no tree and has no files left. */
static void luo_session_free(struct luo_session *session)
{
	WARN_ON(session->nr_files);
	xa_destroy(&session->tokens);
	mutex_destroy(&session->lock);
	kfree(session);
}

static struct luo_session *luo_session_first(struct rb_root *root)
{
	struct rb_node *node = rb_first(root);

	return node ? rb_entry(node, struct luo_session, node) : NULL;
}

static struct luo_session *luo_session_next(struct luo_session *session)
{
	struct rb_node *node = rb_next(&session->node);

	return node ? rb_entry(node, struct luo_session, node) : NULL;
}

/*
 * Count an incoming session as finished. When the last one is, nobody
 * can restore anything the previous kernel preserved any more: KHO
 * releases whatever is left, so that even the memory of files no handler
 * could read does not leak. Before that, KHO frees the tracker pages of
 * what the sessions finished so far restored or released.
 */
static void luo_session_count_finished(void)
{
	lockdep_assert_held(&luo_sessions_lock);
	luo_sessions.count.finished++;
	if (luo_sessions.count.finished == luo_sessions.count.in)
		kho_release_unclaimed();
	else
		kho_trim_tracker();
}

/*
 * Say in the status why retrieving the file of @token failed with @err.
 * A token with no file is no file's failure; a file with no handler has
 * a format this kernel does not read (see luo_file_retrieve()).
 */
static void luo_session_retrieve_failed(struct luo_session *session,
					u64 token, int err)
{
	struct luo_file *lf = luo_file_find(session, token);

	if (!lf)
		return;
	if (!lf->handler)
		luo_session_set_status("file %llu of session '%s': unknown format '%s'",
				       token, session->name, lf->compatible);
	else
		luo_session_set_status("file %llu of session '%s' (%s): retrieve failed (%d)",
				       token, session->name, lf->compatible,
				       err);
}

/* Copy in an ioctl argument: see the "General ioctl format" of the uAPI. */
static int luo_copy_arg(void *karg, size_t ksize, size_t min_size,
			void __user *uarg)
{
	u32 usize;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	/* No struct grows that much: do not scan user memory for zeroes. */
	if (usize > SZ_4K)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

static int luo_copy_result(void __user *uarg, const void *karg, size_t ksize)
{
	return copy_to_user(uarg, karg, ksize) ? -EFAULT : 0;
}

/* Reserve a close-on-exec descriptor and report it in *@fdp. */
static int luo_get_fd(s32 *fdp)
{
	int fd = get_unused_fd_flags(O_CLOEXEC);

	if (fd < 0)
		return fd;
	*fdp = fd;
	return fd;
}

static long luo_session_preserve_fd(struct luo_session *session,
				    void __user *uarg)
{
	struct liveupdate_session_preserve_fd arg;
	int err;

	/* The kind of session is checked first, as upstream does. */
	if (session->incoming)
		return -EINVAL;
	err = luo_copy_arg(&arg, sizeof(arg), offsetofend(typeof(arg), token),
			   uarg);
	if (err)
		return err;
	/* luo_sessions_lock keeps the handover inside reboot() out meanwhile. */
	guard(mutex)(&luo_sessions_lock);
	if (luo_sessions.handed_over)
		return -EBUSY;
	guard(mutex)(&session->lock);
	return luo_file_preserve(session, arg.fd, arg.token);
}

static long luo_session_retrieve_fd(struct luo_session *session,
				    void __user *uarg)
{
	struct liveupdate_session_retrieve_fd arg;
	struct file *file;
	int err, fd;

	if (!session->incoming)
		return -EINVAL;
	err = luo_copy_arg(&arg, sizeof(arg), offsetofend(typeof(arg), token),
			   uarg);
	if (err)
		return err;

	scoped_guard(mutex, &session->lock) {
		/* Finishing released every file: no token is left. */
		if (session->finished)
			return -ENOENT;
		err = luo_file_retrieve(session, arg.token, &file);
		if (err)
			luo_session_retrieve_failed(session, arg.token, err);
	}
	if (err)
		return err;

	fd = luo_get_fd(&arg.fd);
	if (fd < 0) {
		fput(file);
		return fd;
	}
	err = luo_copy_result(uarg, &arg, sizeof(arg));
	if (err) {
		put_unused_fd(fd);
		fput(file);
		return err;
	}
	fd_install(fd, file);
	return 0;
}

/* Finish a retrieved session; its tree entry goes when its fd closes. */
static int luo_session_finish_locked(struct luo_session *session, bool force)
{
	int err;

	lockdep_assert_held(&session->lock);
	if (session->finished)
		return 0;
	if (!force) {
		err = luo_file_can_finish_all(session);
		if (err)
			return err;
	}
	luo_file_finish_all(session);
	session->finished = true;
	return 0;
}

static long luo_session_finish(struct luo_session *session, void __user *uarg)
{
	struct liveupdate_session_finish arg;
	int err;

	if (!session->incoming)
		return -EINVAL;
	err = luo_copy_arg(&arg, sizeof(arg),
			   offsetofend(typeof(arg), reserved), uarg);
	if (err)
		return err;
	if (arg.reserved)
		return -EINVAL;

	scoped_guard(mutex, &session->lock) {
		/* Finishing again has nothing left to do. */
		if (session->finished)
			return 0;
		err = luo_session_finish_locked(session, false);
	}
	if (!err) {
		guard(mutex)(&luo_sessions_lock);
		luo_session_count_finished();
	}
	return err;
}

/* Outgoing and incoming sessions alike; the name never changes. */
static long luo_session_get_name(struct luo_session *session,
				 void __user *uarg)
{
	struct liveupdate_session_get_name arg;
	int err;

	err = luo_copy_arg(&arg, sizeof(arg), offsetofend(typeof(arg), name),
			   uarg);
	if (err)
		return err;
	if (arg.reserved)
		return -EINVAL;
	strscpy_pad(arg.name, session->name);
	return luo_copy_result(uarg, &arg, sizeof(arg));
}

static long luo_session_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct luo_session *session = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case LIVEUPDATE_SESSION_PRESERVE_FD:
		return luo_session_preserve_fd(session, uarg);
	case LIVEUPDATE_SESSION_RETRIEVE_FD:
		return luo_session_retrieve_fd(session, uarg);
	case LIVEUPDATE_SESSION_FINISH:
		return luo_session_finish(session, uarg);
	case LIVEUPDATE_SESSION_GET_NAME:
		return luo_session_get_name(session, uarg);
	default:
		return -ENOTTY;
	}
}

/* Is the prepare worker still using @session? */
static bool luo_session_preparing(struct luo_session *session)
{
	guard(mutex)(&luo_sessions_lock);
	return session->preparing;
}

/*
 * Closing an outgoing session unpreserves its files; closing a retrieved
 * one finishes it, whether or not its files agree.
 */
static int luo_session_release(struct inode *inode, struct file *file)
{
	struct luo_session *session = file->private_data;
	bool counted = false;

	/* Set up failed: whoever made the file cleans up. */
	if (!session)
		return 0;

	mutex_lock(&luo_sessions_lock);
	if (!session->incoming && luo_sessions.handed_over) {
		/* Handed over already: the next kernel owns it. */
		mutex_unlock(&luo_sessions_lock);
		return 0;
	}
	mutex_lock(&session->lock);
	if (session->incoming) {
		counted = session->finished;
		luo_session_finish_locked(session, true);
		rb_erase(&session->node, &luo_sessions.in);
		if (!counted)
			luo_session_count_finished();
	} else {
		luo_file_unpreserve_all(session);
		rb_erase(&session->node, &luo_sessions.out);
		luo_sessions.count.out--;
	}
	mutex_unlock(&session->lock);
	mutex_unlock(&luo_sessions_lock);
	/* Out of the tree, so the prepare worker cannot pick it again. */
	if (session->incoming)
		wait_event(luo_prepare_wait, !luo_session_preparing(session));
	luo_session_free(session);
	return 0;
}

static const struct file_operations luo_session_fops = {
	.owner = THIS_MODULE,
	.release = luo_session_release,
	.unlocked_ioctl = luo_session_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * Named "[luo_session] NAME" in /proc/PID/fd, as upstream names it. The
 * link reads "anon_inode:[luo_session] NAME", which dynamic_dname()
 * builds in 64 bytes and refuses whole (ENAMETOOLONG) when longer, so
 * NAME is cut to fit; LIVEUPDATE_SESSION_GET_NAME tells all of it.
 */
#define LUO_PROC_LINK_MAX	64
#define LUO_PROC_PREFIX		"[luo_session] "
#define LUO_PROC_NAME_MAX	(LUO_PROC_LINK_MAX - sizeof("anon_inode:" LUO_PROC_PREFIX))

static struct file *luo_session_file(struct luo_session *session)
{
	char name[sizeof(LUO_PROC_PREFIX) + LUO_PROC_NAME_MAX];

	snprintf(name, sizeof(name), LUO_PROC_PREFIX "%.*s",
		 (int)LUO_PROC_NAME_MAX, session->name);
	return anon_inode_getfile(name, &luo_session_fops, session, O_RDWR);
}

/**
 * luo_session_create - make an outgoing session
 * @name: its name
 * @filep: set to its file
 *
 * Context: may sleep; takes luo_sessions_lock.
 * Return: 0; -EEXIST for a name in use; -EBUSY once the sessions were
 * handed over; -ENOMEM.
 */
int luo_session_create(const char *name, struct file **filep)
{
	struct luo_session *session = luo_session_alloc(name, false);
	struct file *file;
	int err;

	if (!session)
		return -ENOMEM;
	file = luo_session_file(session);
	if (IS_ERR(file)) {
		luo_session_free(session);
		return PTR_ERR(file);
	}

	scoped_guard(mutex, &luo_sessions_lock) {
		err = luo_sessions.handed_over ? -EBUSY :
		      luo_session_insert(&luo_sessions.out, session);
		if (!err)
			luo_sessions.count.out++;
	}
	if (err) {
		/* Not in a tree: keep release from touching one. */
		file->private_data = NULL;
		fput(file);
		luo_session_free(session);
		return err;
	}
	*filep = file;
	return 0;
}

/**
 * luo_session_retrieve - take an incoming session
 * @name: its name
 * @filep: set to its file
 *
 * Context: may sleep; takes luo_sessions_lock.
 * Return: 0; -ENOENT for no such session; -EINVAL if it was retrieved
 * already; -ENOMEM.
 */
int luo_session_retrieve(const char *name, struct file **filep)
{
	struct luo_session *session;
	struct rb_node *node;
	struct file *file;

	guard(mutex)(&luo_sessions_lock);
	node = rb_find(name, &luo_sessions.in, luo_session_cmp);
	if (!node)
		return -ENOENT;
	session = rb_entry(node, struct luo_session, node);
	if (session->retrieved)
		return -EINVAL;
	file = luo_session_file(session);
	if (IS_ERR(file))
		return PTR_ERR(file);
	session->retrieved = true;
	luo_sessions.count.retrieved++;
	*filep = file;
	return 0;
}

#ifdef CONFIG_LIVEUPDATE_TEST
/**
 * luo_session_damage_file - make the record of an incoming file unreadable
 * @name: the incoming session
 * @token: the file's token
 *
 * Test only, for lib/test_luo.c (CONFIG_LIVEUPDATE_TEST): the file's
 * handler is then handed an address where the previous kernel preserved
 * nothing, as a buggy previous kernel might have written it.
 *
 * Context: may sleep; takes luo_sessions_lock.
 * Return: 0; -ENOENT if there is no such incoming session or file (a
 * finished session has no files left); -EBUSY if the file is retrieved.
 */
int luo_session_damage_file(const char *name, u64 token)
{
	struct luo_session *session;
	struct rb_node *node;

	guard(mutex)(&luo_sessions_lock);
	node = rb_find(name, &luo_sessions.in, luo_session_cmp);
	if (!node)
		return -ENOENT;
	session = rb_entry(node, struct luo_session, node);
	guard(mutex)(&session->lock);
	return luo_file_damage(session, token);
}
#endif

/* Names cross the uAPI and the handover at the same length. */
static_assert(LUO_NAME_LENGTH == LIVEUPDATE_SESSION_NAME_LENGTH);

/* Create and retrieve share their argument layout. */
static_assert(sizeof(struct liveupdate_ioctl_create_session) ==
	      sizeof(struct liveupdate_ioctl_retrieve_session));

static long luo_session_open_ioctl(void __user *uarg, bool retrieve)
{
	struct liveupdate_ioctl_create_session arg;
	struct file *file;
	int err, fd;

	err = luo_copy_arg(&arg, sizeof(arg), offsetofend(typeof(arg), name),
			   uarg);
	if (err)
		return err;
	/* No session has a name like that: retrieve says so, as upstream. */
	if (!arg.name[0] || !memchr(arg.name, '\0', sizeof(arg.name)))
		return retrieve ? -ENOENT : -EINVAL;

	if (retrieve)
		err = luo_session_retrieve((const char *)arg.name, &file);
	else
		err = luo_session_create((const char *)arg.name, &file);
	if (err)
		return err;

	fd = luo_get_fd(&arg.fd);
	if (fd < 0) {
		err = fd;
		goto err_fput;
	}
	err = luo_copy_result(uarg, &arg, sizeof(arg));
	if (err) {
		put_unused_fd(fd);
		goto err_fput;
	}
	fd_install(fd, file);
	return 0;

err_fput:
	/* The release undoes create; a retrieved session may be retrieved again. */
	if (retrieve) {
		struct luo_session *session = file->private_data;

		file->private_data = NULL;
		scoped_guard(mutex, &luo_sessions_lock) {
			session->retrieved = false;
			luo_sessions.count.retrieved--;
		}
	}
	fput(file);
	return err;
}

/**
 * luo_session_ioctl_create - LIVEUPDATE_IOCTL_CREATE_SESSION
 * @uarg: the user's struct liveupdate_ioctl_create_session
 *
 * Return: 0 or a negative errno (see the uAPI).
 */
long luo_session_ioctl_create(void __user *uarg)
{
	return luo_session_open_ioctl(uarg, false);
}

/**
 * luo_session_ioctl_retrieve - LIVEUPDATE_IOCTL_RETRIEVE_SESSION
 * @uarg: the user's struct liveupdate_ioctl_retrieve_session
 *
 * Return: 0 or a negative errno (see the uAPI).
 */
long luo_session_ioctl_retrieve(void __user *uarg)
{
	return luo_session_open_ioctl(uarg, true);
}

/**
 * luo_session_get_counts - how many sessions there are of each kind
 * @counts: filled in
 *
 * Context: luo_sessions_lock held.
 */
void luo_session_get_counts(struct luo_session_counts *counts)
{
	lockdep_assert_held(&luo_sessions_lock);
	*counts = luo_sessions.count;
}

/**
 * luo_session_handed_over - are the outgoing sessions final?
 *
 * Context: luo_sessions_lock held.
 * Return: true once luo_session_mark_handed_over() ran: no session may be
 * created, changed or released any more.
 */
bool luo_session_handed_over(void)
{
	lockdep_assert_held(&luo_sessions_lock);
	return luo_sessions.handed_over;
}

/**
 * luo_session_mark_handed_over - make the outgoing sessions final
 *
 * Inside reboot(), once they are handed over or dropped.
 *
 * Context: luo_sessions_lock held.
 */
void luo_session_mark_handed_over(void)
{
	lockdep_assert_held(&luo_sessions_lock);
	luo_sessions.handed_over = true;
}

/**
 * luo_session_show_out - list what the handover would carry, for sysfs
 * @l: the listing
 *
 * One line an outgoing session ("session", its name), each followed by
 * the lines of its files (luo_file_show_out()), then the lines of the
 * global objects they hold (luo_global_show_out()).
 *
 * Context: luo_sessions_lock held; takes each session's lock.
 */
void luo_session_show_out(struct luo_listing *l)
{
	struct luo_session *s;

	lockdep_assert_held(&luo_sessions_lock);
	for (s = luo_session_first(&luo_sessions.out); s;
	     s = luo_session_next(s)) {
		guard(mutex)(&s->lock);
		luo_listing_add(l, "session %s\n", s->name);
		luo_file_show_out(s, l);
	}
	luo_global_show_out(l);
}

/**
 * luo_session_check_next - will the loaded kernel read every session?
 * @cat: the loaded kernel's catalog
 *
 * Context: luo_sessions_lock held; takes each session's lock.
 * Return: 0, or -ENOEXEC naming (in one log line) the first file or
 * global object whose format the loaded kernel lacks.
 */
int luo_session_check_next(const struct liveupdate_catalog *cat)
{
	struct luo_session *s;
	int err;

	lockdep_assert_held(&luo_sessions_lock);
	for (s = luo_session_first(&luo_sessions.out); s;
	     s = luo_session_next(s)) {
		scoped_guard(mutex, &s->lock)
			err = luo_file_check_next(s, cat);
		if (err)
			return err;
	}
	return luo_global_check_next(cat);
}

/**
 * luo_session_drop_outgoing - empty every outgoing session
 *
 * Unpreserves every file, at the operator's request, when the loaded
 * kernel cannot take them. The sessions stay, empty, until their file
 * descriptors are closed.
 *
 * Context: luo_sessions_lock held; takes each session's lock.
 * Return: the number of files unpreserved.
 */
unsigned long luo_session_drop_outgoing(void)
{
	unsigned long nr_files = 0;
	struct luo_session *s;

	lockdep_assert_held(&luo_sessions_lock);
	for (s = luo_session_first(&luo_sessions.out); s;
	     s = luo_session_next(s)) {
		guard(mutex)(&s->lock);
		nr_files += s->nr_files;
		luo_file_unpreserve_all(s);
	}
	return nr_files;
}

/* Thaw the outgoing sessions before @stop (all of them for NULL). */
static void luo_session_unfreeze_until(struct luo_session *stop)
{
	struct luo_session *s;

	for (s = luo_session_first(&luo_sessions.out); s;
	     s = luo_session_next(s)) {
		if (s == stop)
			break;
		guard(mutex)(&s->lock);
		luo_file_unfreeze_all(s);
	}
}

/**
 * luo_session_freeze - freeze every file of every outgoing session
 * @cat: the loaded kernel's catalog, which luo_session_check_next()
 *	 accepted
 *
 * Context: luo_sessions_lock held; takes each session's lock.
 * Return: 0, or the first error; every file is thawed again then.
 */
int luo_session_freeze(const struct liveupdate_catalog *cat)
{
	struct luo_session *s;
	int err;

	lockdep_assert_held(&luo_sessions_lock);
	for (s = luo_session_first(&luo_sessions.out); s;
	     s = luo_session_next(s)) {
		scoped_guard(mutex, &s->lock)
			err = luo_file_freeze_all(s, cat);
		if (err) {
			/* luo_file_freeze_all() thawed @s itself. */
			luo_session_unfreeze_until(s);
			return err;
		}
	}
	return 0;
}

/**
 * luo_session_unfreeze - thaw every file of every outgoing session
 *
 * Context: luo_sessions_lock held; takes each session's lock.
 */
void luo_session_unfreeze(void)
{
	lockdep_assert_held(&luo_sessions_lock);
	luo_session_unfreeze_until(NULL);
}

/**
 * luo_session_ser_size - the size of the state area
 *
 * The caller must hold luo_sessions_lock until luo_session_serialize()
 * has written the area: no file, and so no global object, can be
 * preserved or unpreserved meanwhile, so the size still fits.
 *
 * Context: luo_sessions_lock held.
 * Return: the bytes luo_session_serialize() writes.
 */
size_t luo_session_ser_size(void)
{
	unsigned long nr_files = 0, nr_globals = luo_global_count_out();
	struct luo_session *s;

	lockdep_assert_held(&luo_sessions_lock);
	/*
	 * nr_files without the session's lock: the files of an outgoing
	 * session change only under luo_sessions_lock too, which we hold.
	 */
	for (s = luo_session_first(&luo_sessions.out); s;
	     s = luo_session_next(s))
		nr_files += s->nr_files;
	return sizeof(struct luo_state_ser) +
	       luo_sessions.count.out * sizeof(struct luo_session_ser) +
	       nr_files * sizeof(struct luo_file_ser) +
	       nr_globals * sizeof(struct luo_global_ser);
}

/**
 * luo_session_serialize - write the state area
 * @buf: zeroed room for @size bytes
 * @size: what luo_session_ser_size() returned
 *
 * The header, then each outgoing session followed by its files, then the
 * global objects the files hold (see <linux/kho/abi/luo.h>).
 *
 * Context: luo_sessions_lock held since luo_session_ser_size(), every
 * file frozen; takes each session's lock.
 * Return: 0; -EOVERFLOW, with a warning, if what is written no longer
 * fits @size (something changed without luo_sessions_lock: a bug).
 */
int luo_session_serialize(void *buf, size_t size)
{
	struct luo_state_ser *state = buf;
	void *p = state + 1, *end = buf + size;
	struct luo_session *s;

	lockdep_assert_held(&luo_sessions_lock);
	if (WARN_ON_ONCE(size < sizeof(*state)))
		return -EOVERFLOW;
	state->nr_sessions = luo_sessions.count.out;
	state->nr_globals = luo_global_count_out();
	for (s = luo_session_first(&luo_sessions.out); s;
	     s = luo_session_next(s)) {
		struct luo_session_ser *ss = p;

		guard(mutex)(&s->lock);
		if (WARN_ON_ONCE(end - p < sizeof(*ss) ||
				 (end - p - sizeof(*ss)) /
				 sizeof(struct luo_file_ser) < s->nr_files))
			return -EOVERFLOW;
		strscpy(ss->name, s->name);
		ss->nr_files = s->nr_files;
		state->nr_files += s->nr_files;
		p = luo_file_serialize(s, (struct luo_file_ser *)(ss + 1));
	}
	return luo_global_serialize(p, (end - p) / sizeof(struct luo_global_ser));
}

/**
 * luo_session_deserialize - make the incoming sessions of the state area
 * @buf: the state area the previous kernel wrote
 * @size: the bytes it used
 *
 * On failure the caller forgets what was made so far with
 * luo_session_drop_incoming().
 *
 * Context: boot, before /dev/liveupdate exists; takes luo_sessions_lock.
 * Return: NULL, or why the state area cannot be read (for the log and
 * the status).
 */
const char * __init luo_session_deserialize(const void *buf, size_t size)
{
	const struct luo_state_ser *state = buf;
	const void *p = state + 1, *end = buf + size;
	u64 i, j, nr_files = 0;

	guard(mutex)(&luo_sessions_lock);
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
		if (luo_session_insert(&luo_sessions.in, s)) {
			luo_session_free(s);
			return "two sessions have the same name";
		}
		luo_sessions.count.in++;
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

/* The first incoming session whose name sorts after @name. */
static struct luo_session *luo_session_in_after(const char *name)
{
	struct rb_node *node = luo_sessions.in.rb_node;
	struct luo_session *s, *found = NULL;

	lockdep_assert_held(&luo_sessions_lock);
	while (node) {
		s = rb_entry(node, struct luo_session, node);
		if (strcmp(s->name, name) > 0) {
			found = s;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

static void luo_session_prepare_work(struct work_struct *work)
{
	char after[LUO_NAME_LENGTH] = "";	/* no session has this name */
	unsigned long sessions = 0, files = 0, n;
	ktime_t start = ktime_get();
	struct luo_session *s;

	for (;;) {
		mutex_lock(&luo_sessions_lock);
		s = luo_session_in_after(after);
		if (s) {
			strscpy(after, s->name);
			s->preparing = true;	/* release waits for it */
		}
		mutex_unlock(&luo_sessions_lock);
		if (!s)
			break;
		/* One file at a time: a retrieve waits for one at most. */
		n = 0;
		for (;;) {
			int ret;

			mutex_lock(&s->lock);
			ret = luo_file_prepare_one(s);
			mutex_unlock(&s->lock);
			if (ret <= 0)
				break;
			n++;
			cond_resched();
		}
		scoped_guard(mutex, &luo_sessions_lock)
			s->preparing = false;
		wake_up_all(&luo_prepare_wait);
		files += n;
		sessions += !!n;
	}
	if (files)
		pr_info("prepared for retrieve: %lu files of %lu sessions in %lld us\n",
			files, sessions, ktime_us_delta(ktime_get(), start));
}

static DECLARE_WORK(luo_prepare_work, luo_session_prepare_work);

/**
 * luo_session_prepare_kick - prepare the incoming files no handler has prepared
 *
 * Queues the worker described in "Preparing" above once the incoming
 * sessions are read; it finds what is left to prepare, if anything.
 *
 * Context: any that may queue work; takes no lock.
 */
void luo_session_prepare_kick(void)
{
	if (READ_ONCE(luo_sessions.prepare))
		queue_work(system_unbound_wq, &luo_prepare_work);
}

/**
 * luo_session_prepare_start - the incoming sessions may be prepared now
 *
 * Context: boot, once the previous kernel's state area is read (or
 * refused).
 */
void __init luo_session_prepare_start(void)
{
	if (!luo_prepare_on)
		return;
	scoped_guard(mutex, &luo_sessions_lock) {
		if (!luo_sessions.count.in)
			return;
		WRITE_ONCE(luo_sessions.prepare, true);
	}
	luo_session_prepare_kick();
}

/**
 * luo_session_drop_incoming - forget a refused state area
 *
 * Frees every incoming session and its files, and the global objects
 * handed over with them, calling no handler: the memory they describe
 * stays reserved.
 *
 * Context: boot, before /dev/liveupdate exists; takes luo_sessions_lock.
 */
void __init luo_session_drop_incoming(void)
{
	struct luo_session *s;

	guard(mutex)(&luo_sessions_lock);
	while ((s = luo_session_first(&luo_sessions.in))) {
		rb_erase(&s->node, &luo_sessions.in);
		luo_file_forget_all(s);
		luo_session_free(s);
	}
	luo_sessions.count.in = 0;
	luo_global_drop_incoming();
}
