/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of a preserved folio list, shared by file handlers.
 */
#ifndef _LINUX_KHO_ABI_LUO_FOLIOS_H
#define _LINUX_KHO_ABI_LUO_FOLIOS_H

#include <linux/build_bug.h>
#include <linux/types.h>

/**
 * DOC: preserved folio list format
 *
 * A contract between a kernel and the next, and part of the format of
 * every file handler that hands its folios over with it: changing
 * anything here means bumping the version of each of those formats.
 *
 * A file handler that preserves the folios of a file in place lists them
 * in a preserved vmalloc area (a &struct kho_vmalloc in the handler's own
 * description of the file, next to the number of entries): one
 * &struct luo_folio_ser per folio, in increasing @index order, the
 * folios not overlapping. Each folio is preserved with kexec handover at
 * @phys with its order.
 */

/**
 * struct luo_folio_ser - one preserved folio of a file
 * @phys: physical address of the folio
 * @index: its page index in the file
 * @order: its order
 * @reserved: zero
 *
 * Wire format: changing it means bumping the version of every format
 * that lists its folios with it.
 */
struct luo_folio_ser {
	u64 phys;
	u64 index;
	u32 order;
	u32 reserved;
} __packed;

static_assert(sizeof(struct luo_folio_ser) == 24);

#endif /* _LINUX_KHO_ABI_LUO_FOLIOS_H */
