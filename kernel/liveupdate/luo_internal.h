/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the Live Update Orchestrator share: the core
 * (luo_core.c), sessions (luo_session.c) and files (luo_file.c).
 *
 * Calls go one way only: the core calls luo_session_*(), sessions call
 * luo_file_*() and luo_global_*(), and each reports back by its return
 * value. One call goes back up: a file handler that registers once the
 * sessions came in asks for its files to be prepared
 * (luo_session_prepare_kick()).
 */
#ifndef _KERNEL_LIVEUPDATE_LUO_INTERNAL_H
#define _KERNEL_LIVEUPDATE_LUO_INTERNAL_H

#include <linux/kho/abi/luo.h>
#include <linux/liveupdate.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/xarray.h>

/**
 * struct luo_file - a file in a session
 * @list: entry in &luo_session.files, in the order preserved
 * @token: user space's name for it
 * @handler: outgoing: the handler that preserved it; incoming: the one
 *	     that retrieved it, NULL before
 * @compatible: the format version of the file: outgoing, its handler's
 *		newest, or inside reboot() the one chosen for the next
 *		kernel; incoming, the one the previous kernel wrote
 * @file: outgoing: the preserved file (LUO holds a reference); incoming:
 *	  the retrieved file (LUO holds a reference), NULL before
 * @data: the handler's serialized data
 * @private_data: the handler's private pointer
 * @frozen: outgoing: freeze succeeded and unfreeze has not run
 * @prepared: incoming: its handler's prepare or retrieve ran
 *	      (@private_data holds what it left for retrieve or finish):
 *	      it is not prepared again
 * @retrieved: incoming: retrieve succeeded
 * @retrieving: incoming: its handler's retrieve is running (it may
 *		retrieve the files it depends on, but not this one)
 *
 * Protected by the lock of the session it is in.
 */
struct luo_file {
	struct list_head list;
	u64 token;
	struct liveupdate_file_handler *handler;
	char compatible[LUO_COMPAT_LENGTH];
	struct file *file;
	u64 data;
	void *private_data;
	bool frozen;
	bool prepared;
	bool retrieved;
	bool retrieving;
};

/**
 * struct luo_session - a named set of preserved files
 * @node: entry in the outgoing or incoming tree, keyed by @name
 *	  (luo_sessions_lock)
 * @name: its name, NUL-terminated; set before the session is in a tree,
 *	  never changed
 * @incoming: handed over by the previous kernel; likewise fixed
 * @retrieved: incoming: user space has its file descriptor
 *	       (luo_sessions_lock)
 * @preparing: incoming: the prepare worker is at work on it and may
 *	       take @lock; it is not freed until this is clear
 *	       (luo_sessions_lock)
 * @lock: protects the fields below it
 * @files: the &struct luo_file entries, in the order preserved
 * @tokens: the same entries, indexed by token
 * @nr_files: number of @files
 * @finished: incoming: finish has run; nothing is left
 *
 * An outgoing session lives while its file descriptor is open; closing
 * it unpreserves its files. An incoming session lives until it is
 * retrieved and its file descriptor is closed (which finishes it, if
 * LIVEUPDATE_SESSION_FINISH did not), or forever if nobody retrieves it.
 *
 * The files of an outgoing session change only with luo_sessions_lock
 * held too, so holding that lock keeps them (and @nr_files) as they are.
 */
struct luo_session {
	struct rb_node node;		/* luo_sessions_lock */
	char name[LUO_NAME_LENGTH];	/* fixed */
	bool incoming;			/* fixed */
	bool retrieved;			/* luo_sessions_lock */
	bool preparing;			/* luo_sessions_lock */
	struct mutex lock;		/* protects the fields below */
	struct list_head files;
	struct xarray tokens;
	unsigned long nr_files;
	bool finished;
};

/**
 * struct luo_session_counts - how many sessions there are, for sysfs
 * @out: outgoing sessions
 * @in: incoming sessions handed over at boot
 * @retrieved: incoming sessions retrieved
 * @finished: incoming sessions finished
 */
struct luo_session_counts {
	unsigned long out;
	unsigned long in;
	unsigned long retrieved;
	unsigned long finished;
};

/**
 * struct luo_listing - a sysfs page filled one whole line at a time
 * @buf: the page
 * @at: bytes used
 * @more: lines that did not fit
 */
struct luo_listing {
	char *buf;
	int at;
	unsigned long more;
};

/* luo_catalog.c */
void luo_listing_add(struct luo_listing *l, const char *fmt, ...)
	__printf(2, 3);
bool luo_catalog_reads(const struct liveupdate_catalog *cat,
		       const char *compatible);
int luo_format_check(const char *what, const char *compatible);
const char *luo_catalog_kernel(const struct liveupdate_catalog *cat);
int luo_catalog_show(const struct liveupdate_catalog *cat, char *buf, int at);

/* luo_global.c */
int luo_global_check_next(const struct liveupdate_catalog *cat);
void luo_global_show_out(struct luo_listing *l);
unsigned long luo_global_count_out(void);
int luo_global_serialize(struct luo_global_ser *out, unsigned long room);
int luo_global_add_incoming(const struct luo_global_ser *ser);
void luo_global_drop_incoming(void);

/* luo_session.c */
extern struct mutex luo_sessions_lock;
void luo_session_set_status(const char *fmt, ...) __printf(1, 2);
ssize_t luo_session_show_status(char *buf);
void luo_session_get_counts(struct luo_session_counts *counts);
bool luo_session_handed_over(void);
void luo_session_mark_handed_over(void);
void luo_session_show_out(struct luo_listing *l);
int luo_session_check_next(const struct liveupdate_catalog *cat);
unsigned long luo_session_drop_outgoing(void);
int luo_session_freeze(const struct liveupdate_catalog *cat);
void luo_session_unfreeze(void);
size_t luo_session_ser_size(void);
int luo_session_serialize(void *buf, size_t size);
const char *luo_session_deserialize(const void *buf, size_t size);
void luo_session_drop_incoming(void);
void luo_session_prepare_start(void);
void luo_session_prepare_kick(void);
long luo_session_ioctl_create(void __user *uarg);
long luo_session_ioctl_retrieve(void __user *uarg);
int luo_session_create(const char *name, struct file **filep);
int luo_session_retrieve(const char *name, struct file **filep);

/* luo_file.c */
int luo_file_preserve(struct luo_session *session, int fd, u64 token);
void luo_file_unpreserve_all(struct luo_session *session);
int luo_file_check_next(struct luo_session *session,
			const struct liveupdate_catalog *cat);
int luo_file_freeze_all(struct luo_session *session,
			const struct liveupdate_catalog *cat);
void luo_file_show_out(struct luo_session *session, struct luo_listing *l);
void luo_file_unfreeze_all(struct luo_session *session);
int luo_file_add_incoming(struct luo_session *session, const char *compatible,
			  u64 token, u64 data);
int luo_file_retrieve(struct luo_session *session, u64 token,
		      struct file **filep);
int luo_file_can_finish_all(struct luo_session *session);
void luo_file_finish_all(struct luo_session *session);
struct luo_file *luo_file_find(struct luo_session *session, u64 token);
struct luo_file_ser *luo_file_serialize(struct luo_session *session,
					struct luo_file_ser *out);
void luo_file_forget_all(struct luo_session *session);
int luo_file_prepare_one(struct luo_session *session);
int luo_file_damage(struct luo_session *session, u64 token);

#endif /* _KERNEL_LIVEUPDATE_LUO_INTERNAL_H */
