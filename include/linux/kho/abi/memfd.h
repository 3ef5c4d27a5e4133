/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of the memfd live update handler.
 */
#ifndef _LINUX_KHO_ABI_MEMFD_H
#define _LINUX_KHO_ABI_MEMFD_H

#include <linux/build_bug.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/kho/abi/luo_folios.h>
#include <linux/types.h>

/**
 * DOC: memfd live update format
 *
 * A contract between a kernel and the next: changing anything here means
 * bumping the version in %MEMFD_LUO_COMPATIBLE.
 *
 * Two handlers share it: %MEMFD_LUO_COMPATIBLE for shmem memfds and
 * %MEMFD_LUO_HUGETLB_COMPATIBLE for hugetlb memfds and hugetlbfs files.
 * The serialized data LUO hands over for a file is the physical address
 * of a preserved page holding a &struct memfd_luo_ser. Its @folios points
 * to a preserved vmalloc area listing the file's folios, one
 * &struct luo_folio_ser each, in increasing @index order (see
 * include/linux/kho/abi/luo_folios.h, part of this format); the folios
 * themselves are preserved in place with their order.
 */

#define MEMFD_LUO_COMPATIBLE		"memfd-v1"
#define MEMFD_LUO_HUGETLB_COMPATIBLE	"memfd-hugetlb-v1"
#define MEMFD_LUO_NAME_LENGTH	256

/**
 * struct memfd_luo_ser - a preserved memfd
 * @size: file size in bytes
 * @pos: file position
 * @seals: F_SEAL_* seals
 * @mode: inode mode (the exec bits matter)
 * @page_shift: log2 of the file's page size (12, or a huge page's)
 * @reserved: zero
 * @nr_folios: entries in @folios
 * @folios: the preserved vmalloc area listing the folios
 * @name: the file's name ("memfd:..."), NUL-terminated
 *
 * Wire format: changing it means bumping %MEMFD_LUO_COMPATIBLE.
 */
struct memfd_luo_ser {
	u64 size;
	u64 pos;
	u32 seals;
	u32 mode;
	u32 page_shift;
	u32 reserved;
	u64 nr_folios;
	struct kho_vmalloc folios;
	u8 name[MEMFD_LUO_NAME_LENGTH];
} __packed;

static_assert(sizeof(struct memfd_luo_ser) <= 4096);

#endif /* _LINUX_KHO_ABI_MEMFD_H */
