/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of the Intel IOMMU live update state.
 */
#ifndef _LINUX_KHO_ABI_INTEL_IOMMU_H
#define _LINUX_KHO_ABI_INTEL_IOMMU_H

#include <linux/types.h>

/**
 * DOC: Intel IOMMU live update format
 *
 * A contract between a kernel and the next: changing anything here means
 * bumping the version in %INTEL_IOMMU_LU_COMPATIBLE.
 *
 * The KHO subtree %INTEL_IOMMU_LU_SUBTREE is an FDT whose root node has
 * the compatible %INTEL_IOMMU_LU_COMPATIBLE and a property "devices": an
 * array of &struct intel_iommu_lu_dev_ser, one for each device whose DMA
 * translation is kept running through the kexec. Each names the
 * remapping unit by its register base, that unit's root table (which the
 * unit still points at), and the device's legacy-mode context entry as
 * programmed. The root table, the context table holding the entry and
 * every page table the entry leads to are preserved, and so is every
 * page they map.
 */

#define INTEL_IOMMU_LU_COMPATIBLE	"intel-iommu-lu-v1"
#define INTEL_IOMMU_LU_SUBTREE		"intel-iommu"
#define INTEL_IOMMU_LU_MAX_DEVICES	64

/**
 * struct intel_iommu_lu_dev_ser - a device whose translation is kept
 * @reg_base: physical address of its remapping unit's registers
 * @root_phys: physical address of that unit's root table
 * @context: its context entry (low, high quadword)
 * @segment: PCI segment
 * @bus: PCI bus
 * @devfn: PCI device and function
 * @reserved: zero
 *
 * Wire format: changing it means bumping %INTEL_IOMMU_LU_COMPATIBLE.
 */
struct intel_iommu_lu_dev_ser {
	u64 reg_base;
	u64 root_phys;
	u64 context[2];
	u16 segment;
	u8 bus;
	u8 devfn;
	u32 reserved;
} __packed;

#endif /* _LINUX_KHO_ABI_INTEL_IOMMU_H */
