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
 */

#define pr_fmt(fmt) "liveupdate: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "luo_internal.h"

static int luo_session_cmp(const void *key, const struct rb_node *node)
{
	return strcmp(key, rb_entry(node, struct luo_session, node)->name);
}

static bool luo_session_less(struct rb_node *a, const struct rb_node *b)
{
	return luo_session_cmp(rb_entry(a, struct luo_session, node)->name,
			       b) < 0;
}

/**
 * luo_session_insert - add a session to a tree, by name
 * @root: luo.out or luo.in
 * @session: the session
 *
 * Context: luo.lock held, or no one else can see @root yet.
 * Return: 0, or -EEXIST for a name in the tree already.
 */
int luo_session_insert(struct rb_root *root, struct luo_session *session)
{
	if (rb_find(session->name, root, luo_session_cmp))
		return -EEXIST;
	rb_add(&session->node, root, luo_session_less);
	return 0;
}

/**
 * luo_session_alloc - make an empty session
 * @name: its name, NUL-terminated, shorter than %LUO_NAME_LENGTH
 * @incoming: handed over by the previous kernel
 *
 * Return: the session, or NULL.
 */
struct luo_session *luo_session_alloc(const char *name, bool incoming)
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

/**
 * luo_session_free - free a session that has no files left
 * @session: the session, in no tree
 */
void luo_session_free(struct luo_session *session)
{
	WARN_ON(session->nr_files);
	xa_destroy(&session->tokens);
	mutex_destroy(&session->lock);
	kfree(session);
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
		luo_set_status("file %llu of session '%s': unknown format '%s'",
			       token, session->name, lf->compatible);
	else
		luo_set_status("file %llu of session '%s' (%s): retrieve failed (%d)",
			       token, session->name, lf->compatible, err);
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
	/* luo.lock keeps the handover inside reboot() out meanwhile. */
	guard(mutex)(&luo.lock);
	if (luo_frozen())
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
		guard(mutex)(&luo.lock);
		luo_session_finished();
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

	mutex_lock(&luo.lock);
	if (!session->incoming && luo_frozen()) {
		/* Handed over already: the next kernel owns it. */
		mutex_unlock(&luo.lock);
		return 0;
	}
	mutex_lock(&session->lock);
	if (session->incoming) {
		counted = session->finished;
		luo_session_finish_locked(session, true);
		rb_erase(&session->node, &luo.in);
		if (!counted)
			luo_session_finished();
	} else {
		luo_file_unpreserve_all(session);
		rb_erase(&session->node, &luo.out);
		luo.nr_out--;
	}
	mutex_unlock(&session->lock);
	mutex_unlock(&luo.lock);
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
 * Context: may sleep; takes luo.lock.
 * Return: 0; -EEXIST for a name in use; -ENOMEM.
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

	scoped_guard(mutex, &luo.lock) {
		err = luo_frozen() ? -EBUSY :
		      luo_session_insert(&luo.out, session);
		if (!err)
			luo.nr_out++;
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
 * Context: may sleep; takes luo.lock.
 * Return: 0; -ENOENT for no such session; -EINVAL if it was retrieved
 * already; -ENOMEM.
 */
int luo_session_retrieve(const char *name, struct file **filep)
{
	struct luo_session *session;
	struct rb_node *node;
	struct file *file;

	guard(mutex)(&luo.lock);
	node = rb_find(name, &luo.in, luo_session_cmp);
	if (!node)
		return -ENOENT;
	session = rb_entry(node, struct luo_session, node);
	if (session->retrieved)
		return -EINVAL;
	file = luo_session_file(session);
	if (IS_ERR(file))
		return PTR_ERR(file);
	session->retrieved = true;
	luo.nr_retrieved++;
	*filep = file;
	return 0;
}

#ifdef CONFIG_LIVEUPDATE_TEST
/**
 * luo_session_damage_file - make the record of an incoming file unreadable
 * @name: the incoming session
 * @token: the file's token
 *
 * For the selftests (CONFIG_LIVEUPDATE_TEST): the file's handler is then
 * handed an address where the previous kernel preserved nothing, as a
 * buggy previous kernel might have written it.
 *
 * Context: may sleep; takes luo.lock.
 * Return: 0; -ENOENT if there is no such incoming session or file (a
 * finished session has no files left); -EBUSY if the file is retrieved.
 */
int luo_session_damage_file(const char *name, u64 token)
{
	struct luo_session *session;
	struct rb_node *node;

	guard(mutex)(&luo.lock);
	node = rb_find(name, &luo.in, luo_session_cmp);
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
		scoped_guard(mutex, &luo.lock) {
			session->retrieved = false;
			luo.nr_retrieved--;
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
