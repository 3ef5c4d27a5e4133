/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of the VFIO PCI device live update handler.
 */
#ifndef _LINUX_KHO_ABI_VFIO_H
#define _LINUX_KHO_ABI_VFIO_H

#include <linux/bits.h>
#include <linux/types.h>

/**
 * DOC: VFIO PCI live update format
 *
 * A contract between a kernel and the next: changing anything here means
 * bumping the version in %VFIO_PCI_LU_COMPATIBLE.
 *
 * The serialized data LUO hands over for a vfio-pci device file is the
 * physical address of a preserved page holding a
 * &struct vfio_pci_lu_ser.
 */

#define VFIO_PCI_LU_COMPATIBLE	"vfio-pci-v2"
/*
 * Version 1 (release lu0): the first 16 bytes of &struct vfio_pci_lu_ser,
 * @segment to @device then 8 zero bytes, with no iommufd: the device can
 * only be taken over, not retrieved. Still read and, for a next kernel
 * that reads nothing newer, written.
 */
#define VFIO_PCI_LU_COMPATIBLE_V1	"vfio-pci-v1"
#define VFIO_PCI_LU_V1_SIZE		16

/* The device's iommufd is preserved in the same session */
#define VFIO_PCI_LU_F_IOMMUFD	BIT(0)

/**
 * struct vfio_pci_lu_ser - a preserved vfio-pci device
 * @segment: PCI segment
 * @bus: PCI bus
 * @devfn: PCI device and function
 * @vendor: PCI vendor id
 * @device: PCI device id
 * @flags: %VFIO_PCI_LU_F_IOMMUFD
 * @iommufd_token: with %VFIO_PCI_LU_F_IOMMUFD, the LUO token of its iommufd
 * @dev_id: its iommufd device object ID
 * @ioas_id: the IOAS it is attached to
 * @hwpt_id: the hardware page table it is attached to
 * @auto_domain: that page table was made by attaching to the IOAS
 * @reserved: zero
 *
 * Wire format: changing it means bumping %VFIO_PCI_LU_COMPATIBLE.
 */
struct vfio_pci_lu_ser {
	u16 segment;
	u8 bus;
	u8 devfn;
	u16 vendor;
	u16 device;
	u32 flags;
	u64 iommufd_token;
	u32 dev_id;
	u32 ioas_id;
	u32 hwpt_id;
	u8 auto_domain;
	u8 reserved[3];
} __packed;

#endif /* _LINUX_KHO_ABI_VFIO_H */
