/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of the iommufd live update handler.
 */
#ifndef _LINUX_KHO_ABI_IOMMUFD_H
#define _LINUX_KHO_ABI_IOMMUFD_H

#include <linux/types.h>

/**
 * DOC: iommufd live update format
 *
 * A contract between a kernel and the next: changing anything here means
 * bumping the version in %IOMMUFD_LU_COMPATIBLE.
 *
 * The serialized data LUO hands over for an iommufd is the physical
 * address of a preserved folio holding a &struct iommufd_lu_ser, then
 * room for %IOMMUFD_LU_MAX_IOAS IOAS ids (u32) of which @nr_ioas are
 * used, room for %IOMMUFD_LU_MAX_IDS other object ids (u32: devices and
 * page tables, which the next kernel keeps free for the device files that
 * come back) of which @nr_ids are used, and @nr_areas
 * &struct iommufd_lu_area_ser.
 */

#define IOMMUFD_LU_COMPATIBLE	"iommufd-v1"

/* At most this many IOASes and mappings are preserved in one iommufd */
#define IOMMUFD_LU_MAX_IOAS	64
#define IOMMUFD_LU_MAX_AREAS	1024
#define IOMMUFD_LU_MAX_IDS	64

/**
 * struct iommufd_lu_area_ser - one mapping of an IOAS
 * @iova: first IOVA
 * @length: bytes
 * @token: the LUO token of the memfd it maps, in the same session
 * @offset: byte offset in that memfd
 * @ioas_id: the IOAS
 * @prot: IOMMU_READ (1) and IOMMU_WRITE (2)
 */
struct iommufd_lu_area_ser {
	u64 iova;
	u64 length;
	u64 token;
	u64 offset;
	u32 ioas_id;
	u32 prot;
} __packed;

/**
 * struct iommufd_lu_ser - a preserved iommufd
 * @size: bytes of the whole record, this header included
 * @nr_ioas: IOASes
 * @nr_areas: mappings
 * @nr_ids: object ids kept free
 * @reserved: zero
 */
struct iommufd_lu_ser {
	u64 size;
	u32 nr_ioas;
	u32 nr_areas;
	u32 nr_ids;
	u32 reserved;
} __packed;

#endif /* _LINUX_KHO_ABI_IOMMUFD_H */
