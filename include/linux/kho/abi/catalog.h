/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live update format catalog: which handover formats a kernel image reads.
 */
#ifndef _LINUX_KHO_ABI_CATALOG_H
#define _LINUX_KHO_ABI_CATALOG_H

#include <linux/build_bug.h>
#include <linux/types.h>

/**
 * DOC: Live update format catalog
 *
 * Every kernel built with kexec handover carries, inside its image, the
 * list of handover formats it reads, so that the kernel that loads it can
 * tell before the reboot whether what it is about to hand over will be
 * read. A contract between kernels: the layout below only grows at its
 * end, and anything else bumps %LU_CATALOG_VERSION.
 *
 * On x86 the catalog lies in the real-mode setup code of the bzImage,
 * which is not compressed: within the first %LU_CATALOG_SCAN_SIZE bytes
 * of the file, at a 16-byte aligned offset, found by its magic. It is a
 * &struct lu_catalog_hdr (little-endian) followed by the formats:
 * NUL-terminated compatible strings ("memfd-v1"), each shorter than
 * %LUO_COMPAT_LENGTH bytes, one after another, ended by an empty
 * string. All of it is at most %LU_CATALOG_MAX_SIZE bytes. A loading
 * kernel that finds a malformed catalog or another version treats the
 * image as having none.
 *
 * The list is made when the kernel is built, from its configuration: a
 * handler built as a module counts as read even if the module is not
 * loaded in the next kernel (its files then wait, reserved, for it).
 *
 * A format is named "<name>-v<version>"; a kernel lists every version it
 * reads. An image without a catalog reads no live update format.
 */

#define LU_CATALOG_MAGIC	"LUCATLG"	/* 8 bytes with the NUL */
#define LU_CATALOG_VERSION	1
#define LU_CATALOG_MAX_SIZE	4096
/* The loading kernel looks for the catalog in this many first bytes. */
#define LU_CATALOG_SCAN_SIZE	0x8000

/**
 * struct lu_catalog_hdr - head of an image's format catalog
 * @magic: %LU_CATALOG_MAGIC, NUL included
 * @version: %LU_CATALOG_VERSION
 * @hdr_size: bytes of this header; the formats start here
 * @size: bytes of the header and the formats
 * @release: the release of the live update series ("lu1"), NUL-terminated
 * @kernel: the image's kernel release string (uname -r), NUL-terminated
 */
struct lu_catalog_hdr {
	u8 magic[8];
	u16 version;
	u16 hdr_size;
	u32 size;
	u8 release[16];
	u8 kernel[72];
} __packed;

static_assert(sizeof(struct lu_catalog_hdr) == 104);

#endif /* _LINUX_KHO_ABI_CATALOG_H */
