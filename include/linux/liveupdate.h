/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live Update Orchestrator (LUO): in-kernel interface for file handlers.
 * See Documentation/core-api/liveupdate.rst.
 */
#ifndef _LINUX_LIVEUPDATE_H
#define _LINUX_LIVEUPDATE_H

#include <linux/errno.h>
#include <linux/list.h>
#include <linux/types.h>
#include <uapi/linux/liveupdate.h>

struct file;
struct liveupdate_file_handler;
struct module;

/* Longest handler compatible string, including its terminating NUL. */
#define LIVEUPDATE_HNDL_COMPAT_LENGTH	48

/**
 * struct liveupdate_file_op_args - what a file handler operation works on
 * @handler: the handler
 * @retrieved: in finish and can_finish: the file was retrieved
 * @file: preserve, unpreserve, freeze, unfreeze: the file being preserved;
 *	  retrieve: set by the handler to the file it rebuilt; can_finish,
 *	  finish: the retrieved file, or NULL
 * @serialized_data: set by preserve (freeze may update it): one u64 the
 *		     next kernel's retrieve, can_finish and finish get back,
 *		     typically the physical address of the handler's own
 *		     preserved description of the file
 * @private_data: the handler's own pointer, kept from preserve to
 *		  unpreserve, freeze and unfreeze, and from retrieve to
 *		  finish
 */
struct liveupdate_file_op_args {
	struct liveupdate_file_handler *handler;
	bool retrieved;
	struct file *file;
	u64 serialized_data;
	void *private_data;
};

/**
 * struct liveupdate_file_ops - what a file handler does
 * @can_preserve: may this handler preserve @file? Called without locks
 *		  held; must not sleep for long
 * @preserve: preserve the file (in args->file), set serialized_data.
 *	      Return 0 or a negative errno, which the ioctl returns
 * @unpreserve: undo preserve: the session was closed before the reboot,
 *		or preserving another file failed
 * @freeze: called inside reboot(), after user space was told to stop
 *	    touching the file: make the preserved state final. A negative
 *	    errno unfreezes every file already frozen and fails the reboot
 * @unfreeze: undo freeze, when the reboot failed after it
 * @retrieve: next kernel: rebuild the file from serialized_data and set
 *	      args->file (with one reference, which LUO takes over)
 * @can_finish: next kernel: may this file finish now? Called for every
 *		file of a session before any is finished
 * @finish: next kernel: release what was preserved and is still held;
 *	    for a file never retrieved, everything
 * @owner: the module providing the handler
 *
 * Every op but can_preserve and can_finish is mandatory.
 */
struct liveupdate_file_ops {
	bool (*can_preserve)(struct liveupdate_file_handler *handler,
			     struct file *file);
	int (*preserve)(struct liveupdate_file_op_args *args);
	void (*unpreserve)(struct liveupdate_file_op_args *args);
	int (*freeze)(struct liveupdate_file_op_args *args);
	void (*unfreeze)(struct liveupdate_file_op_args *args);
	int (*retrieve)(struct liveupdate_file_op_args *args);
	bool (*can_finish)(struct liveupdate_file_op_args *args);
	void (*finish)(struct liveupdate_file_op_args *args);
	struct module *owner;
};

/**
 * struct liveupdate_file_handler - a kind of file LUO can preserve
 * @ops: what it does
 * @compatible: the format of its serialized data, with a version
 *		("memfd-v1"); the next kernel retrieves a file only with a
 *		handler of the same compatible
 * @list: private to LUO
 * @users: private to LUO: files preserved or retrieved through it
 */
struct liveupdate_file_handler {
	const struct liveupdate_file_ops *ops;
	const char compatible[LIVEUPDATE_HNDL_COMPAT_LENGTH];
	struct list_head list;
	unsigned long users;
};

#ifdef CONFIG_LIVEUPDATE
bool liveupdate_enabled(void);
int liveupdate_register_file_handler(struct liveupdate_file_handler *handler);
int liveupdate_unregister_file_handler(struct liveupdate_file_handler *handler);
int liveupdate_reboot(void);
#else
static inline bool liveupdate_enabled(void)
{
	return false;
}

static inline int
liveupdate_register_file_handler(struct liveupdate_file_handler *handler)
{
	return -EOPNOTSUPP;
}

static inline int
liveupdate_unregister_file_handler(struct liveupdate_file_handler *handler)
{
	return -EOPNOTSUPP;
}

static inline int liveupdate_reboot(void)
{
	return 0;
}
#endif /* CONFIG_LIVEUPDATE */

#endif /* _LINUX_LIVEUPDATE_H */
