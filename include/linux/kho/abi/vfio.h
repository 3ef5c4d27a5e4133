/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of the VFIO PCI device live update handler.
 */
#ifndef _LINUX_KHO_ABI_VFIO_H
#define _LINUX_KHO_ABI_VFIO_H

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

#define VFIO_PCI_LU_COMPATIBLE	"vfio-pci-v1"

/**
 * struct vfio_pci_lu_ser - a preserved vfio-pci device
 * @segment: PCI segment
 * @bus: PCI bus
 * @devfn: PCI device and function
 * @vendor: PCI vendor id
 * @device: PCI device id
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
	u64 reserved;
} __packed;

#endif /* _LINUX_KHO_ABI_VFIO_H */
