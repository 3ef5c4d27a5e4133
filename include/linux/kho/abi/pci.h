/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of the PCI live update state.
 */
#ifndef _LINUX_KHO_ABI_PCI_H
#define _LINUX_KHO_ABI_PCI_H

#include <linux/types.h>

/**
 * DOC: PCI live update format
 *
 * A contract between a kernel and the next: changing anything here means
 * bumping the version in %PCI_LU_COMPATIBLE.
 *
 * The KHO subtree %PCI_LU_SUBTREE is an FDT whose root node has the
 * compatible %PCI_LU_COMPATIBLE and a property "devices": an array of
 * &struct pci_lu_dev_ser, one for each device whose DMA is kept running
 * through the kexec (bus mastering on, never reset).
 */

#define PCI_LU_COMPATIBLE	"pci-lu-v1"
#define PCI_LU_SUBTREE		"pci"
#define PCI_LU_MAX_DEVICES	64

/**
 * struct pci_lu_dev_ser - a PCI device kept running
 * @segment: PCI segment
 * @bus: bus number
 * @devfn: device and function
 * @vendor: vendor id
 * @device: device id
 * @reserved: zero
 *
 * Wire format: changing it means bumping %PCI_LU_COMPATIBLE.
 */
struct pci_lu_dev_ser {
	u16 segment;
	u8 bus;
	u8 devfn;
	u16 vendor;
	u16 device;
	u64 reserved;
} __packed;

#endif /* _LINUX_KHO_ABI_PCI_H */
