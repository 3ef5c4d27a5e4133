/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The handover formats this kernel reads, as its image's catalog lists
 * them (see <linux/kho/abi/catalog.h>). Included by the x86 setup code,
 * so it may include only the wire-format headers.
 */
#ifndef _LINUX_LIVEUPDATE_CATALOG_H
#define _LINUX_LIVEUPDATE_CATALOG_H

#include <linux/kconfig.h>
#include <linux/kho/abi/catalog.h>
#include <linux/kho/abi/intel_iommu.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/kho/abi/kvm_gmem.h>
#include <linux/kho/abi/luo.h>
#include <linux/kho/abi/memfd.h>

/*
 * One "<compatible>\0" for each format this kernel reads, under the
 * same condition as the code that reads it. A handler or global object
 * whose format is missing here cannot register, so the list cannot say
 * less than the kernel reads; keep it from saying more.
 */
#if IS_ENABLED(CONFIG_LIVEUPDATE)
#define LU_CAT_LUO		LUO_FDT_COMPATIBLE "\0"
#else
#define LU_CAT_LUO		""
#endif
#if IS_ENABLED(CONFIG_LIVEUPDATE_MEMFD)
#define LU_CAT_MEMFD		MEMFD_LUO_COMPATIBLE "\0"
#else
#define LU_CAT_MEMFD		""
#endif
#if IS_ENABLED(CONFIG_LIVEUPDATE_MEMFD) && IS_ENABLED(CONFIG_HUGETLBFS)
#define LU_CAT_HUGETLB		MEMFD_LUO_HUGETLB_COMPATIBLE "\0"
#else
#define LU_CAT_HUGETLB		""
#endif
#if IS_ENABLED(CONFIG_KVM_GMEM_LIVEUPDATE)
#define LU_CAT_GMEM		KVM_GMEM_LUO_COMPATIBLE "\0"
#else
#define LU_CAT_GMEM		""
#endif
#if IS_ENABLED(CONFIG_INTEL_IOMMU_LIVEUPDATE)
#define LU_CAT_INTEL_IOMMU	INTEL_IOMMU_LU_COMPATIBLE "\0"
#else
#define LU_CAT_INTEL_IOMMU	""
#endif

/* The catalog's formats; the string literal's own NUL ends the list. */
#define LU_CATALOG_FORMATS						\
	KHO_FDT_COMPATIBLE "\0" LU_CAT_LUO LU_CAT_MEMFD LU_CAT_HUGETLB	\
	LU_CAT_GMEM							\
	LU_CAT_INTEL_IOMMU

#endif /* _LINUX_LIVEUPDATE_CATALOG_H */
