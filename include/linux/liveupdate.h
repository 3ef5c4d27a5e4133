/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live Update Orchestrator (LUO): in-kernel interface for file handlers.
 * See Documentation/core-api/liveupdate.rst.
 */
#ifndef _LINUX_LIVEUPDATE_H
#define _LINUX_LIVEUPDATE_H

#include <linux/errno.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/list.h>
#include <linux/types.h>
#include <uapi/linux/liveupdate.h>

struct file;
struct folio;
struct inode;
struct luo_folio_ser;
struct liveupdate_file_handler;
struct liveupdate_session;
struct module;
struct mutex;

/* Longest handler compatible string, including its terminating NUL. */
#define LIVEUPDATE_HNDL_COMPAT_LENGTH	48

/**
 * struct liveupdate_file_op_args - what a file handler operation works on
 * @handler: the handler
 * @compatible: the format version of the file: in preserve and unpreserve
 *		the handler's newest; in freeze the one the next kernel
 *		reads, which freeze must write (the newest of the handler's
 *		versions that the loaded kernel lists), and in unfreeze the
 *		same; in retrieve, can_finish and finish the one the
 *		previous kernel wrote
 * @session: the session the file is in, for liveupdate_get_token_outgoing()
 *	     and liveupdate_get_file_incoming()
 * @retrieved: in finish and can_finish: the file was retrieved
 * @file: preserve, unpreserve, freeze, unfreeze: the file being preserved;
 *	  retrieve: set by the handler to the file it rebuilt; can_finish,
 *	  finish: the retrieved file, or NULL
 * @serialized_data: set by preserve (freeze may update it): one u64 the
 *		     next kernel's retrieve, can_finish and finish get back,
 *		     typically the physical address of the handler's own
 *		     preserved description of the file
 * @private_data: the handler's own pointer, kept from preserve to
 *		  unpreserve, freeze and unfreeze, and from prepare to
 *		  retrieve (or to finish, for a file never retrieved), and
 *		  from retrieve to finish
 */
struct liveupdate_file_op_args {
	struct liveupdate_file_handler *handler;
	const char *compatible;
	struct liveupdate_session *session;
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
 * @freeze: optional: called inside reboot(), after user space was told
 *	    to stop touching the file: make the preserved state final. A
 *	    negative errno unfreezes every file already frozen and fails the
 *	    reboot. Without it, what preserve wrote is final; a handler
 *	    with @old_compatibles needs it, to write the version the next
 *	    kernel reads
 * @unfreeze: optional: undo freeze, when the reboot failed after it
 * @prepare: optional: next kernel, in the background once the handover
 *	     is read at boot (or once the handler registers, if later), at
 *	     most once per file, before its finish and before any
 *	     successful retrieve: restore and check what the file's
 *	     retrieve would, and keep it in private_data, which retrieve
 *	     and finish take over. Retrieve returns the error prepare met,
 *	     and a file not prepared (``liveupdate.prepare=0``, out of
 *	     memory) is retrieved as before; memory prepare restored counts
 *	     in MemTotal from then on (and a HugeTLB memfd's pages, which
 *	     prepare adopts, in HugePages_Total and HugePages_Surp)
 * @retrieve: next kernel: rebuild the file from serialized_data and set
 *	      args->file (with one reference, which LUO takes over); it
 *	      takes over what prepare left in private_data and sets
 *	      private_data to what it keeps, even when it fails
 * @can_finish: optional: next kernel: may this file finish now? Called
 *		for every file of a session before any is finished; without
 *		it, the file may always finish
 * @finish: next kernel: release what was preserved and is still held;
 *	    for a file never retrieved, everything
 * @owner: the module providing the handler
 *
 * preserve, unpreserve, retrieve and finish are mandatory; a handler
 * without can_preserve preserves no file.
 */
struct liveupdate_file_ops {
	bool (*can_preserve)(struct liveupdate_file_handler *handler,
			     struct file *file);
	int (*preserve)(struct liveupdate_file_op_args *args);
	void (*unpreserve)(struct liveupdate_file_op_args *args);
	int (*freeze)(struct liveupdate_file_op_args *args);
	void (*unfreeze)(struct liveupdate_file_op_args *args);
	void (*prepare)(struct liveupdate_file_op_args *args);
	int (*retrieve)(struct liveupdate_file_op_args *args);
	bool (*can_finish)(struct liveupdate_file_op_args *args);
	void (*finish)(struct liveupdate_file_op_args *args);
	struct module *owner;
};

/**
 * struct liveupdate_file_handler - a kind of file LUO can preserve
 * @ops: what it does
 * @compatible: the format of its serialized data, with a version
 *		("memfd-v2"): the newest it reads and writes; the next kernel
 *		retrieves a file only with a handler that reads its format
 * @old_compatibles: NULL, or the older versions of the format it also
 *		     reads and writes, newest first, NULL-terminated; a
 *		     handler keeps the versions the previous release wrote
 *		     (see "Compatibility" in liveupdate.rst)
 * @list: private to LUO
 * @users: private to LUO: files preserved or retrieved through it
 */
struct liveupdate_file_handler {
	const struct liveupdate_file_ops *ops;
	const char compatible[LIVEUPDATE_HNDL_COMPAT_LENGTH];
	const char * const *old_compatibles;
	struct list_head list;
	unsigned long users;
};

struct liveupdate_global;
struct liveupdate_catalog;

/**
 * struct liveupdate_global_ops - what a shared global object does
 * @preserve: outgoing, when its first file is preserved: preserve the
 *	      object and set *@data, which the next kernel gets back
 * @unpreserve: outgoing, when its last file is unpreserved before the
 *		reboot: undo preserve
 * @retrieve: optional: incoming, when the first file that used it is
 *	      retrieved: take the object back from @data
 * @finish: optional: incoming, when the last file that used it has
 *	    finished: release what is left (@retrieved says whether
 *	    liveupdate_global_retrieve() succeeded once)
 *
 * preserve and unpreserve are mandatory. They all run under LUO's globals
 * lock and may sleep.
 */
struct liveupdate_global_ops {
	int (*preserve)(struct liveupdate_global *global, u64 *data);
	void (*unpreserve)(struct liveupdate_global *global, u64 data);
	int (*retrieve)(struct liveupdate_global *global, u64 data);
	void (*finish)(struct liveupdate_global *global, u64 data,
		       bool retrieved);
};

/**
 * struct liveupdate_global - state shared by many preserved files
 * @ops: what it does
 * @compatible: the format of its data, with a version
 * @list: private to LUO
 * @users: private to LUO: outgoing files that hold it
 * @data: private to LUO: what preserve returned
 *
 * IOMMU or PCI state that several preserved files depend on is preserved
 * with the first of them and released with the last, in both kernels:
 * file handlers call liveupdate_global_get() and liveupdate_global_put()
 * from their preserve and unpreserve, liveupdate_global_retrieve() from
 * their retrieve, and liveupdate_global_finish() from their finish.
 */
struct liveupdate_global {
	const struct liveupdate_global_ops *ops;
	const char compatible[LIVEUPDATE_HNDL_COMPAT_LENGTH];
	struct list_head list;
	unsigned long users;
	u64 data;
};

/**
 * struct liveupdate_subtree - a global object handed over as one KHO subtree
 * @name: the subtree's name under the KHO root
 * @lock: the owner's lock, which protects @fdt and what @write reads
 * @write: write the subtree's FDT, whole, into @fdt (one page); called
 *	   with @lock held. Return 0, or a negative errno (-ENOSPC when it
 *	   does not fit)
 * @fdt: the page of the subtree while it is preserved, else NULL. Set and
 *	 cleared by liveupdate_subtree_preserve() and
 *	 liveupdate_subtree_unpreserve(); its owner reads it under @lock to
 *	 write the subtree again when what it describes changes
 *
 * The state of PCI and the Intel IOMMU is a list of devices, written as a
 * one-page FDT that the next kernel finds by name among KHO's subtrees.
 * Their global's preserve and unpreserve are liveupdate_subtree_preserve()
 * and liveupdate_subtree_unpreserve(); the data the global hands over is
 * the page's physical address.
 */
struct liveupdate_subtree {
	const char *name;
	struct mutex *lock;		/* protects @fdt */
	int (*write)(void *fdt);
	void *fdt;
};

/**
 * struct liveupdate_folios - the folios of a file being preserved
 * @nr: how many folios are kept; read it, do not change it
 * @nr_pages: how many pages they have; read it, do not change it
 *
 * The outgoing half of a preserved folio list (see
 * include/linux/kho/abi/luo_folios.h): liveupdate_folios_keep() preserves
 * folios and takes a reference to each, liveupdate_folios_write() lists
 * them for the next kernel, liveupdate_folios_release() undoes both.
 * Start from an all-zero structure. It has no lock: the file handler
 * serialises every call on one file (under the lock that protects the
 * structure holding it).
 */
struct liveupdate_folios {
	unsigned long nr;
	unsigned long nr_pages;
	/* private: */
	struct folio **folios;		/* @nr kept folios, each referenced */
	unsigned long cap;		/* room in @folios */
	struct luo_folio_ser *list;	/* the written list, or NULL */
	unsigned long list_nr;		/* @nr when @list was written */
	struct kho_vmalloc list_vm;	/* its preservation */
};

/**
 * struct liveupdate_held - folios a retrieve or prepare restored, to hold
 *			      for DMA
 *
 * Collects the references to the folios a file handler restores, to hand
 * them to liveupdate_hold_for_dma() at once: liveupdate_held_init(), then
 * liveupdate_held_add() for each folio, then liveupdate_held_done(). It
 * records nothing, and liveupdate_held_add() drops the reference at
 * once, unless a device kept running through the update may still write
 * preserved memory (kho_dma_held()). Used by one thread at a time.
 */
struct liveupdate_held {
	/* private: */
	struct folio **folios;		/* room for the folios, or NULL */
	unsigned long nr;		/* folios in @folios */
};

/**
 * struct liveupdate_folio_bounds - what entries of a folio list may hold
 * @min_order: the smallest order an entry may have
 * @max_order: the largest order an entry may have
 * @end: the file's size in pages: every entry starts below it
 * @next: the first index the next entry may start at: 0 before the first
 *	  entry, then advanced by liveupdate_folio_restore() and
 *	  liveupdate_folios_check()
 *
 * The next kernel checks every entry of a list the previous kernel wrote
 * against these before it restores the folio the entry names: the
 * entries are sorted and do not overlap, and each folio is aligned to
 * its order in the file.
 */
struct liveupdate_folio_bounds {
	unsigned int min_order;
	unsigned int max_order;
	pgoff_t end;
	pgoff_t next;
};

/**
 * struct liveupdate_prepared - a file's description and folio list, read
 *				ahead of retrieve
 * @data: the serialized data they were read from
 * @ser_folio: the folio holding the handler's description of the file,
 *	       restored; NULL when it could not be read, or when building
 *	       @file failed (@err says why)
 * @list: the file's folio list, as liveupdate_folios_restore_list()
 *	  returned it, or NULL (once @file is built, too)
 * @nr: the number of entries in @list
 * @bounds: what @list was checked against, advanced past its last entry
 * @pages: the pages @list names, once checked
 * @folios: NULL, or the folio of each entry of @list, restored by
 *	    liveupdate_prepared_restore(); NULL where it could not be
 * @err: 0, or the error retrieve returns: the description or its list
 *	 cannot be read, or (@checked) the list's check failed, or not
 *	 every folio could be restored, or building @file failed
 * @checked: liveupdate_folios_check() ran over @list
 * @file: NULL, or the file prepare built from all of the above, which it
 *	  took over: retrieve hands it out; it is put if the record is
 *	  dropped
 *
 * What a file handler's prepare leaves in private_data for its retrieve
 * or finish, which take it over with liveupdate_prepared_take() and give
 * back what they do not keep with liveupdate_prepared_drop().
 */
struct liveupdate_prepared {
	u64 data;
	struct folio *ser_folio;
	struct luo_folio_ser *list;
	u64 nr;
	struct folio **folios;
	struct liveupdate_folio_bounds bounds;
	unsigned long pages;
	int err;
	bool checked;
	struct file *file;
};

struct liveupdate_lazy;

/**
 * struct liveupdate_lazy_ops - how a lazily filled file takes its folios
 * @insert: put @folio, restored and with the caller's reference (which
 *	    the caller keeps), into the file at @index; return 0 or an
 *	    error, the range then failing with EIO
 * @unacct: give back @pages the handler accounted for and that were never
 *	    inserted (optional)
 *
 * See liveupdate_lazy_start().
 */
struct liveupdate_lazy_ops {
	int (*insert)(struct inode *inode, struct folio *folio, pgoff_t index);
	void (*unacct)(struct inode *inode, long pages);
};

#ifdef CONFIG_LIVEUPDATE
bool liveupdate_enabled(void);
int liveupdate_register_global(struct liveupdate_global *global);
int liveupdate_global_get(struct liveupdate_global *global);
void liveupdate_global_put(struct liveupdate_global *global);
int liveupdate_global_retrieve(struct liveupdate_global *global, u64 *data);
void liveupdate_global_finish(struct liveupdate_global *global);
int liveupdate_subtree_preserve(struct liveupdate_subtree *st, u64 *data);
void liveupdate_subtree_unpreserve(struct liveupdate_subtree *st);
int liveupdate_register_file_handler(struct liveupdate_file_handler *handler);
int liveupdate_unregister_file_handler(struct liveupdate_file_handler *handler);
int liveupdate_reboot(void);
int liveupdate_get_token_outgoing(struct liveupdate_session *s,
				  struct file *file, u64 *tokenp);
int liveupdate_get_file_incoming(struct liveupdate_session *s, u64 token,
				 struct file **filep);
struct liveupdate_catalog *liveupdate_catalog_parse(const void *image,
						    size_t len);
void liveupdate_catalog_free(struct liveupdate_catalog *cat);
void liveupdate_hold_for_dma(struct folio **folios, unsigned long nr);
/* luo_folios.c; every user depends on CONFIG_LIVEUPDATE, so no stubs */
int liveupdate_folios_keep(struct liveupdate_folios *lf, struct folio *folio);
int liveupdate_folios_write(struct liveupdate_folios *lf,
			    struct kho_vmalloc *list);
void liveupdate_folios_release(struct liveupdate_folios *lf);
struct luo_folio_ser *
liveupdate_folios_restore_list(const struct kho_vmalloc *list, u64 nr);
int liveupdate_folios_check(const struct luo_folio_ser *list, u64 nr,
			    struct liveupdate_folio_bounds *bounds,
			    unsigned long *pages);
struct folio *liveupdate_folio_restore(const struct luo_folio_ser *entry,
				       struct liveupdate_folio_bounds *bounds,
				       struct liveupdate_held *held);
void liveupdate_folios_drop(const struct luo_folio_ser *list, u64 from,
			    u64 nr, unsigned int max_order, const char *who);
int liveupdate_held_init(struct liveupdate_held *held, u64 nr);
void liveupdate_held_add(struct liveupdate_held *held, struct folio *folio);
void liveupdate_held_done(struct liveupdate_held *held);
struct liveupdate_prepared *
liveupdate_prepared_alloc(const struct liveupdate_file_op_args *args);
bool liveupdate_prepared_take(struct liveupdate_file_op_args *args,
			      struct liveupdate_prepared *out);
void liveupdate_prepared_check(struct liveupdate_prepared *p, u64 nr);
void liveupdate_prepared_restore(struct liveupdate_prepared *p);
void liveupdate_prepared_drop(struct liveupdate_prepared *p, u64 from,
			      unsigned int max_order, const char *who);
void liveupdate_prepared_failed(struct liveupdate_file_op_args *args, int err);
struct liveupdate_lazy *
liveupdate_lazy_start(struct inode *inode, struct luo_folio_ser *list, u64 nr,
		      const struct liveupdate_folio_bounds *bounds,
		      const struct liveupdate_lazy_ops *ops, long acct,
		      pgoff_t block);
int liveupdate_lazy_fill(struct liveupdate_lazy *lz, pgoff_t start,
			 pgoff_t end);
void liveupdate_lazy_finish(struct liveupdate_lazy *lz);
void liveupdate_lazy_free(struct liveupdate_lazy *lz);

#ifdef CONFIG_LIVEUPDATE_TEST
/* Test only: the hook through which lib/test_luo.c damages a handover. */
int luo_session_damage_file(const char *name, u64 token);
#endif
#else
static inline struct liveupdate_catalog *
liveupdate_catalog_parse(const void *image, size_t len)
{
	return NULL;
}

static inline void liveupdate_catalog_free(struct liveupdate_catalog *cat) { }

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

static inline int liveupdate_get_token_outgoing(struct liveupdate_session *s,
						struct file *file, u64 *tokenp)
{
	return -EOPNOTSUPP;
}

static inline int liveupdate_get_file_incoming(struct liveupdate_session *s,
					       u64 token, struct file **filep)
{
	return -EOPNOTSUPP;
}

static inline int liveupdate_reboot(void)
{
	return 0;
}

static inline void liveupdate_hold_for_dma(struct folio **folios,
					   unsigned long nr) { }

static inline int liveupdate_register_global(struct liveupdate_global *global)
{
	return -EOPNOTSUPP;
}

static inline int liveupdate_global_get(struct liveupdate_global *global)
{
	return -EOPNOTSUPP;
}

static inline void liveupdate_global_put(struct liveupdate_global *global) { }

static inline int liveupdate_global_retrieve(struct liveupdate_global *global,
					     u64 *data)
{
	return -EOPNOTSUPP;
}

static inline void liveupdate_global_finish(struct liveupdate_global *global) { }
#endif /* CONFIG_LIVEUPDATE */

#endif /* _LINUX_LIVEUPDATE_H */
