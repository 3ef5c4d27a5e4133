// SPDX-License-Identifier: GPL-2.0
/*
 * Live Update Orchestrator: preserved files and their handlers.
 */

/**
 * DOC: LUO files and file handlers
 *
 * A file handler preserves one kind of file (memfd, for instance): it
 * registers a &struct liveupdate_file_handler whose compatible string
 * names the format of what it hands over. Handlers may come and go while
 * sessions exist; one that preserved or retrieved a file cannot leave
 * until that file is gone.
 *
 * Outgoing, a file goes through preserve, then freeze inside reboot()
 * (unfreeze if the reboot fails), or unpreserve if its session is closed.
 * Incoming, it may first be prepared in the background at boot (its
 * handler restores and checks ahead what retrieve will need), then goes
 * through retrieve (once; later retrieves return the same file), then
 * can_finish and finish when its session ends. A file
 * nobody retrieved is finished too, which releases what it held. A file
 * whose compatible no handler of this kernel knows fails retrieve with
 * EOPNOTSUPP and is left alone at finish: its memory stays reserved,
 * which is logged once.
 *
 * Sessions (luo_session.c) drive every step; this file answers them by
 * its return values only, except that a handler registering asks the
 * sessions to prepare the files it reads (luo_session_prepare_kick()).
 */

#define pr_fmt(fmt) "liveupdate: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kexec_handover.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "luo_internal.h"

/* Registered handlers; innermost lock, taken under a session lock. */
static LIST_HEAD(luo_handlers);
static DEFINE_MUTEX(luo_handlers_lock);

/* Does @h read (and write) format @compatible? */
static bool luo_handler_reads(const struct liveupdate_file_handler *h,
			      const char *compatible)
{
	const char * const *old;

	if (!strcmp(h->compatible, compatible))
		return true;
	for (old = h->old_compatibles; old && *old; old++)
		if (!strcmp(*old, compatible))
			return true;
	return false;
}

/**
 * liveupdate_register_file_handler - let LUO preserve a kind of file
 * @handler: the handler; its compatible and old compatibles must be
 *	     NUL-terminated, listed in this kernel's catalog, and read by no
 *	     other handler
 *
 * Context: may sleep.
 * Return: 0; -EINVAL for a malformed handler (one with old compatibles
 * needs a freeze), or a format missing from the catalog; -EEXIST if
 * another handler reads one of its formats.
 */
int liveupdate_register_file_handler(struct liveupdate_file_handler *handler)
{
	const struct liveupdate_file_ops *ops = handler->ops;
	struct liveupdate_file_handler *h;
	const char * const *old;

	if (!ops || !ops->preserve || !ops->unpreserve || !ops->retrieve ||
	    !ops->finish || luo_format_check("handler", handler->compatible))
		return -EINVAL;
	/* Only freeze can write the older format the next kernel reads. */
	if (handler->old_compatibles && *handler->old_compatibles &&
	    !ops->freeze)
		return -EINVAL;
	for (old = handler->old_compatibles; old && *old; old++)
		if (luo_format_check("handler", *old))
			return -EINVAL;

	mutex_lock(&luo_handlers_lock);
	list_for_each_entry(h, &luo_handlers, list) {
		/* Each version has one reader. */
		if (luo_handler_reads(h, handler->compatible))
			goto exists;
		for (old = handler->old_compatibles; old && *old; old++)
			if (luo_handler_reads(h, *old))
				goto exists;
	}
	handler->users = 0;
	list_add_tail(&handler->list, &luo_handlers);
	mutex_unlock(&luo_handlers_lock);
	/* Handed-over files it reads can be prepared now. */
	luo_session_prepare_kick();
	return 0;

exists:
	mutex_unlock(&luo_handlers_lock);
	return -EEXIST;
}
EXPORT_SYMBOL_GPL(liveupdate_register_file_handler);

/**
 * liveupdate_unregister_file_handler - stop preserving a kind of file
 * @handler: a registered handler
 *
 * Context: may sleep.
 * Return: 0, or -EBUSY while a file preserved or retrieved through it
 * is still in a session.
 */
int liveupdate_unregister_file_handler(struct liveupdate_file_handler *handler)
{
	guard(mutex)(&luo_handlers_lock);
	if (handler->users)
		return -EBUSY;
	list_del_init(&handler->list);
	return 0;
}
EXPORT_SYMBOL_GPL(liveupdate_unregister_file_handler);

/*
 * The newest version of @h's format that @cat's kernel reads, or NULL.
 * A handler writes every version it reads.
 */
static const char *luo_handler_pick(const struct liveupdate_file_handler *h,
				    const struct liveupdate_catalog *cat)
{
	const char * const *old;

	if (luo_catalog_reads(cat, h->compatible))
		return h->compatible;
	for (old = h->old_compatibles; old && *old; old++)
		if (luo_catalog_reads(cat, *old))
			return *old;
	return NULL;
}

/* Find a handler and take a use of it (and of its module). */
static struct liveupdate_file_handler *
luo_handler_get(struct file *file, const char *compatible)
{
	struct liveupdate_file_handler *h;

	guard(mutex)(&luo_handlers_lock);
	list_for_each_entry(h, &luo_handlers, list) {
		if (compatible ? !luo_handler_reads(h, compatible) :
		    !h->ops->can_preserve || !h->ops->can_preserve(h, file))
			continue;
		if (!try_module_get(h->ops->owner))
			return NULL;
		h->users++;
		return h;
	}
	return NULL;
}

static void luo_handler_put(struct liveupdate_file_handler *h)
{
	mutex_lock(&luo_handlers_lock);
	h->users--;
	mutex_unlock(&luo_handlers_lock);
	module_put(h->ops->owner);
}

static void luo_file_args(struct luo_session *session, struct luo_file *lf,
			  struct liveupdate_file_op_args *args)
{
	args->handler = lf->handler;
	args->compatible = lf->compatible;
	args->session = (struct liveupdate_session *)session;
	args->retrieved = lf->retrieved;
	args->file = lf->file;
	args->serialized_data = lf->data;
	args->private_data = lf->private_data;
}

static void luo_file_free(struct luo_session *session, struct luo_file *lf)
{
	xa_erase(&session->tokens, lf->token);
	list_del(&lf->list);
	session->nr_files--;
	if (lf->file)
		fput(lf->file);
	if (lf->handler)
		luo_handler_put(lf->handler);
	kfree(lf);
}

/**
 * luo_file_preserve - preserve a file in an outgoing session
 * @session: the session, locked
 * @fd: the file descriptor
 * @token: its token, unique in @session
 *
 * Return: 0; -EEXIST for a token in use; -EBADF; -ENOENT when no
 * handler preserves this kind of file; -ENOMEM; the handler's error.
 */
int luo_file_preserve(struct luo_session *session, int fd, u64 token)
{
	struct liveupdate_file_op_args args = {};
	struct luo_file *lf;
	int err;

	lockdep_assert_held(&session->lock);

	lf = kzalloc(sizeof(*lf), GFP_KERNEL);
	if (!lf)
		return -ENOMEM;
	lf->token = token;
	/* The token is checked before the file, as upstream does. */
	err = xa_insert(&session->tokens, token, lf, GFP_KERNEL);
	if (err) {
		err = err == -EBUSY ? -EEXIST : err;
		goto err_free;
	}
	lf->file = fget(fd);
	if (!lf->file) {
		err = -EBADF;
		goto err_erase;
	}
	lf->handler = luo_handler_get(lf->file, NULL);
	if (!lf->handler) {
		err = -ENOENT;
		goto err_fput;
	}

	strscpy(lf->compatible, lf->handler->compatible);
	args.handler = lf->handler;
	args.compatible = lf->compatible;
	args.session = (struct liveupdate_session *)session;
	args.file = lf->file;
	err = lf->handler->ops->preserve(&args);
	if (err)
		goto err_put;
	lf->data = args.serialized_data;
	lf->private_data = args.private_data;
	list_add_tail(&lf->list, &session->files);
	session->nr_files++;
	return 0;

err_put:
	luo_handler_put(lf->handler);
err_fput:
	fput(lf->file);
err_erase:
	xa_erase(&session->tokens, token);
err_free:
	kfree(lf);
	return err;
}

/**
 * luo_file_unpreserve_all - undo every preserve of an outgoing session
 * @session: the session, locked
 */
void luo_file_unpreserve_all(struct luo_session *session)
{
	struct luo_file *lf, *tmp;

	lockdep_assert_held(&session->lock);
	list_for_each_entry_safe_reverse(lf, tmp, &session->files, list) {
		struct liveupdate_file_op_args args;

		luo_file_args(session, lf, &args);
		lf->handler->ops->unpreserve(&args);
		luo_file_free(session, lf);
	}
}

/**
 * luo_file_check_next - will the loaded kernel read every file of a session?
 * @session: an outgoing session, locked
 * @cat: the loaded kernel's catalog
 *
 * Return: 0, or -ENOEXEC naming (in one log line) the first file whose
 * format, in every version its handler writes, the loaded kernel lacks.
 */
int luo_file_check_next(struct luo_session *session,
			const struct liveupdate_catalog *cat)
{
	struct luo_file *lf;

	lockdep_assert_held(&session->lock);
	list_for_each_entry(lf, &session->files, list) {
		if (luo_handler_pick(lf->handler, cat))
			continue;
		pr_err("refusing the reboot: the loaded kernel %s does not read session '%s' token %llu (%s)\n",
		       luo_catalog_kernel(cat), session->name, lf->token,
		       lf->handler->compatible);
		return -ENOEXEC;
	}
	return 0;
}

/**
 * luo_file_show_out - list the files of an outgoing session for sysfs
 * @session: the session, locked
 * @l: the listing
 *
 * One line a file: "file", session, token, the format version it would
 * be written in, then the older versions its handler can write instead.
 */
void luo_file_show_out(struct luo_session *session, struct luo_listing *l)
{
	const char * const *old;
	struct luo_file *lf;
	char olds[256];
	int n;

	lockdep_assert_held(&session->lock);
	list_for_each_entry(lf, &session->files, list) {
		n = 0;
		olds[0] = '\0';
		for (old = lf->handler->old_compatibles; old && *old; old++)
			n += scnprintf(olds + n, sizeof(olds) - n, " %s", *old);
		luo_listing_add(l, "file %s %llu %s%s\n", session->name,
				lf->token, lf->compatible, olds);
	}
}

/**
 * luo_file_freeze_all - freeze every file of an outgoing session
 * @session: the session, locked
 * @cat: the loaded kernel's catalog, which luo_file_check_next() accepted
 *
 * Each file is frozen in the newest version of its format that the loaded
 * kernel reads.
 *
 * Return: 0, or the first error; the files frozen before it are thawed.
 */
int luo_file_freeze_all(struct luo_session *session,
			const struct liveupdate_catalog *cat)
{
	struct liveupdate_file_op_args args;
	struct luo_file *lf;
	const char *pick;
	int err;

	lockdep_assert_held(&session->lock);
	list_for_each_entry(lf, &session->files, list) {
		pick = luo_handler_pick(lf->handler, cat);
		if (!pick) {
			luo_file_unfreeze_all(session);
			return -ENOEXEC;
		}
		if (pick != lf->handler->compatible)
			pr_info("session '%s': token %llu is written as %s, the newest version of its format the next kernel reads\n",
				session->name, lf->token, pick);
		strscpy(lf->compatible, pick);
		luo_file_args(session, lf, &args);
		err = 0;
		if (lf->handler->ops->freeze)
			err = lf->handler->ops->freeze(&args);
		if (err) {
			strscpy(lf->compatible, lf->handler->compatible);
			pr_err("session '%s': freezing token %llu (%s) failed: %d\n",
			       session->name, lf->token, pick, err);
			luo_file_unfreeze_all(session);
			return err;
		}
		lf->data = args.serialized_data;
		lf->private_data = args.private_data;
		lf->frozen = true;
	}
	return 0;
}

/**
 * luo_file_unfreeze_all - thaw every frozen file of an outgoing session
 * @session: the session, locked
 */
void luo_file_unfreeze_all(struct luo_session *session)
{
	struct liveupdate_file_op_args args;
	struct luo_file *lf;

	lockdep_assert_held(&session->lock);
	list_for_each_entry_reverse(lf, &session->files, list) {
		if (!lf->frozen)
			continue;
		luo_file_args(session, lf, &args);
		if (lf->handler->ops->unfreeze)
			lf->handler->ops->unfreeze(&args);
		lf->data = args.serialized_data;
		lf->private_data = args.private_data;
		lf->frozen = false;
		strscpy(lf->compatible, lf->handler->compatible);
	}
}

/**
 * luo_file_add_incoming - record a file the previous kernel handed over
 * @session: an incoming session, not yet visible to anyone
 * @compatible: its handler's compatible
 * @token: its token
 * @data: its handler's serialized data
 *
 * Return: 0; -EEXIST for a token seen before; -ENOMEM.
 */
int luo_file_add_incoming(struct luo_session *session, const char *compatible,
			  u64 token, u64 data)
{
	struct luo_file *lf = kzalloc(sizeof(*lf), GFP_KERNEL);
	int err;

	if (!lf)
		return -ENOMEM;
	lf->token = token;
	lf->data = data;
	strscpy(lf->compatible, compatible);
	err = xa_insert(&session->tokens, token, lf, GFP_KERNEL);
	if (err) {
		kfree(lf);
		return err == -EBUSY ? -EEXIST : err;
	}
	list_add_tail(&lf->list, &session->files);
	session->nr_files++;
	return 0;
}

/**
 * luo_file_retrieve - give a handed-over file back
 * @session: a retrieved session, locked
 * @token: the file's token
 * @filep: set to the file, with a new reference
 *
 * A failure is logged here; what to make of it is the caller's. When a
 * file of @token exists, a failure was its own: its &luo_file.handler is
 * still NULL when no handler reads its format, and set when the handler
 * failed (possibly with the error of a file it depends on).
 *
 * Return: 0; -ENOENT for an unknown token; -EOPNOTSUPP when no handler
 * of this kernel reads the file's format; -ELOOP when the file's handler
 * is retrieving it already (a dependency loop); the handler's error.
 */
int luo_file_retrieve(struct luo_session *session, u64 token,
		      struct file **filep)
{
	struct liveupdate_file_op_args args = {};
	struct luo_file *lf;
	int err;

	lockdep_assert_held(&session->lock);
	lf = xa_load(&session->tokens, token);
	if (!lf)
		return -ENOENT;
	if (lf->retrieved) {
		*filep = get_file(lf->file);
		return 0;
	}

	if (!lf->handler) {
		lf->handler = luo_handler_get(NULL, lf->compatible);
		if (!lf->handler) {
			pr_warn("session '%s': token %llu has format '%s', which this kernel does not read\n",
				session->name, token, lf->compatible);
			return -EOPNOTSUPP;
		}
	}
	/* A file depending on itself, through a corrupt handover */
	if (lf->retrieving)
		return -ELOOP;
	luo_file_args(session, lf, &args);
	/* Retrieve does what prepare would: never prepare it after a failure. */
	lf->prepared = true;
	lf->retrieving = true;
	err = lf->handler->ops->retrieve(&args);
	lf->retrieving = false;
	/* What retrieve kept of what prepare left, even if it failed. */
	lf->private_data = args.private_data;
	if (err) {
		pr_warn("session '%s': retrieving token %llu (%s) failed: %d\n",
			session->name, token, lf->compatible, err);
		return err;
	}
	lf->file = args.file;
	lf->retrieved = true;
	*filep = get_file(lf->file);
	return 0;
}

/**
 * luo_file_can_finish_all - may every file of a session finish?
 * @session: a retrieved session, locked
 *
 * Return: 0, or -EBUSY naming the first file that refuses.
 */
int luo_file_can_finish_all(struct luo_session *session)
{
	struct liveupdate_file_op_args args;
	struct luo_file *lf;

	lockdep_assert_held(&session->lock);
	list_for_each_entry(lf, &session->files, list) {
		if (!lf->handler) {
			lf->handler = luo_handler_get(NULL, lf->compatible);
			if (!lf->handler)
				continue;	/* nobody can release it */
		}
		if (!lf->handler->ops->can_finish)
			continue;
		luo_file_args(session, lf, &args);
		if (!lf->handler->ops->can_finish(&args)) {
			pr_info("session '%s': token %llu (%s) cannot finish yet\n",
				session->name, lf->token, lf->compatible);
			return -EBUSY;
		}
	}
	return 0;
}

/**
 * luo_file_finish_all - finish every file of a retrieved session
 * @session: the session, locked
 *
 * In the reverse order of preservation: a file is finished before the
 * files preserved ahead of it, which it may depend on (a device that is
 * still writing into a memfd is stopped before the memfd's memory goes).
 * Files whose format no handler reads keep their memory, reserved; one
 * line says so.
 */
void luo_file_finish_all(struct luo_session *session)
{
	struct liveupdate_file_op_args args;
	struct luo_file *lf, *tmp;

	lockdep_assert_held(&session->lock);
	list_for_each_entry_safe_reverse(lf, tmp, &session->files, list) {
		if (!lf->handler)
			lf->handler = luo_handler_get(NULL, lf->compatible);
		if (lf->handler) {
			luo_file_args(session, lf, &args);
			lf->handler->ops->finish(&args);
		} else {
			pr_warn("session '%s': token %llu (%s) is left reserved: no handler reads it\n",
				session->name, lf->token, lf->compatible);
		}
		luo_file_free(session, lf);
	}
}

/**
 * luo_file_find - look a file up by its token
 * @session: the session, locked
 * @token: the token
 *
 * Return: the file, or NULL if @session has none with @token.
 */
struct luo_file *luo_file_find(struct luo_session *session, u64 token)
{
	lockdep_assert_held(&session->lock);
	return xa_load(&session->tokens, token);
}

/**
 * luo_file_serialize - write the files of an outgoing session
 * @session: the session, locked, its files frozen
 * @out: room for its &luo_session.nr_files entries
 *
 * Return: the entry after the last one written.
 */
struct luo_file_ser *luo_file_serialize(struct luo_session *session,
					struct luo_file_ser *out)
{
	struct luo_file *lf;

	lockdep_assert_held(&session->lock);
	list_for_each_entry(lf, &session->files, list) {
		strscpy(out->compatible, lf->compatible);
		out->token = lf->token;
		out->data = lf->data;
		out++;
	}
	return out;
}

/**
 * luo_file_forget_all - drop every record of an incoming session
 * @session: an incoming session nobody can see, whose files no handler
 *	     has touched
 *
 * For a handover refused at boot: no handler is called, and the memory
 * the files' records point to stays reserved.
 */
void luo_file_forget_all(struct luo_session *session)
{
	struct luo_file *lf, *tmp;

	list_for_each_entry_safe(lf, tmp, &session->files, list)
		luo_file_free(session, lf);
}

/**
 * luo_file_prepare_one - prepare the next incoming file of a session
 * @session: an incoming session, locked
 *
 * Calls the prepare of the next file's handler that has one (see &struct
 * liveupdate_file_ops), once per file, unless the file is retrieved
 * already. A file whose handler has not registered yet is left for when
 * it does; one whose handler has no prepare is passed over, taking no
 * reference to the handler.
 *
 * Return: 1 if a file was prepared, 0 if none is left to prepare.
 */
int luo_file_prepare_one(struct luo_session *session)
{
	struct liveupdate_file_op_args args;
	struct liveupdate_file_handler *h;
	struct luo_file *lf;

	lockdep_assert_held(&session->lock);
	list_for_each_entry(lf, &session->files, list) {
		if (lf->prepared || lf->retrieved)
			continue;
		h = lf->handler ?: luo_handler_get(NULL, lf->compatible);
		if (!h)
			continue;
		lf->prepared = true;
		if (!h->ops->prepare) {
			if (!lf->handler)
				luo_handler_put(h);
			continue;
		}
		lf->handler = h;
		luo_file_args(session, lf, &args);
		h->ops->prepare(&args);
		lf->private_data = args.private_data;
		return 1;
	}
	return 0;
}

#ifdef CONFIG_LIVEUPDATE_TEST
/**
 * luo_file_damage - make the record of an incoming file unreadable
 * @session: an incoming session, locked
 * @token: the file's token
 *
 * See luo_session_damage_file().
 *
 * Return: 0; -ENOENT for an unknown token (a finished session has no
 * files left); -EBUSY if the file is retrieved.
 */
int luo_file_damage(struct luo_session *session, u64 token)
{
	struct luo_file *lf = luo_file_find(session, token);

	if (!lf)
		return -ENOENT;
	if (lf->retrieved)
		return -EBUSY;
	/* Page aligned, and far above any memory the selftests' VMs have. */
	lf->data = SZ_1G * 1024ULL;
	return 0;
}
#endif

/**
 * liveupdate_get_token_outgoing - the token of a file preserved in a session
 * @s: the session, from &liveupdate_file_op_args.session
 * @file: a file that may be preserved in it
 * @tokenp: set to its token
 *
 * Lets a handler record that its file depends on another file of the
 * same session (a device file on its iommufd, an iommufd on the memfds
 * it maps), so that the next kernel can find it again.
 *
 * Context: from a file handler's preserve or freeze (the session is
 * locked).
 * Return: 0, or -ENOENT if @file is not preserved in @s.
 */
int liveupdate_get_token_outgoing(struct liveupdate_session *s,
				  struct file *file, u64 *tokenp)
{
	struct luo_session *session = (struct luo_session *)s;
	struct luo_file *lf;

	lockdep_assert_held(&session->lock);
	list_for_each_entry(lf, &session->files, list) {
		if (lf->file == file) {
			*tokenp = lf->token;
			return 0;
		}
	}
	return -ENOENT;
}
EXPORT_SYMBOL_GPL(liveupdate_get_token_outgoing);

/**
 * liveupdate_get_file_incoming - retrieve another file of the same session
 * @s: the session, from &liveupdate_file_op_args.session
 * @token: the file's token, as liveupdate_get_token_outgoing() gave it
 * @filep: set to the file, with a new reference the caller must put
 *
 * Retrieves the file first if user space has not yet: a handler's
 * retrieve can so rebuild the files its own file depends on, in any
 * order user space asks for them.
 *
 * Context: from a file handler's retrieve (the session is locked).
 * Return: 0, or what retrieving the file returns (-ENOENT for an unknown
 * token).
 */
int liveupdate_get_file_incoming(struct liveupdate_session *s, u64 token,
				 struct file **filep)
{
	struct luo_session *session = (struct luo_session *)s;

	lockdep_assert_held(&session->lock);
	return luo_file_retrieve(session, token, filep);
}
EXPORT_SYMBOL_GPL(liveupdate_get_file_incoming);

/* Folio references held by liveupdate_hold_for_dma(). */
struct luo_dma_held {
	struct kho_dma_deferred deferred;
	struct folio **folios;
	unsigned long nr;
};

static void luo_put_folios(struct folio **folios, unsigned long nr)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		folio_put(folios[i]);
		cond_resched();
	}
	kvfree(folios);
}

static void luo_dma_held_release(struct kho_dma_deferred *deferred)
{
	struct luo_dma_held *held =
		container_of(deferred, struct luo_dma_held, deferred);
	unsigned long nr = held->nr;

	luo_put_folios(held->folios, nr);
	kfree(held);
	pr_info("%lu folios held while devices did DMA are released\n", nr);
}

/**
 * liveupdate_hold_for_dma - hold restored folios while a device may write
 * @folios: an array from kvmalloc(), or NULL
 * @nr: the number of folios in it, each with a reference for this call
 *
 * For a file handler that restored folios the previous kernel preserved,
 * whether it rebuilt a file around them or only restored them to free
 * them (a file nobody retrieved, or what a failed retrieve left). A
 * device kept running through the update may write them without holding
 * them in this kernel (kho_dma_hold()): while one
 * does, the references passed here keep every folio where it is,
 * whatever happens to the file (truncated, closed, a retrieve that
 * failed half-way), and out of migration, compaction and swap. They are
 * dropped, and the array freed, once no such device is left; at once if
 * there is none, or if this cannot allocate its record (the folios are
 * then never freed: a leak, logged, rather than memory a device writes).
 *
 * Context: may sleep.
 */
void liveupdate_hold_for_dma(struct folio **folios, unsigned long nr)
{
	struct luo_dma_held *held;

	if (!nr || !kho_dma_held())
		goto put;
	held = kmalloc(sizeof(*held), GFP_KERNEL);
	if (!held) {
		pr_warn("cannot track %lu folios devices may still write: they are never freed\n",
			nr);
		return;
	}
	held->deferred.release = luo_dma_held_release;
	held->folios = folios;
	held->nr = nr;
	if (kho_dma_defer(&held->deferred)) {
		pr_info("%lu folios stay held while devices still do DMA\n", nr);
		return;
	}
	kfree(held);
put:
	luo_put_folios(folios, nr);
}
EXPORT_SYMBOL_GPL(liveupdate_hold_for_dma);
