/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI devices whose DMA goes on through a live update: the interface
 * between device file handlers and the PCI core.
 * See Documentation/core-api/liveupdate.rst.
 */
#ifndef _LINUX_PCI_LIVEUPDATE_H
#define _LINUX_PCI_LIVEUPDATE_H

#include <linux/errno.h>

struct pci_dev;

#ifdef CONFIG_PCI_LIVEUPDATE
int pci_liveupdate_get(void);
void pci_liveupdate_put(void);
int pci_liveupdate_freeze_device(struct pci_dev *pdev);
void pci_liveupdate_unfreeze_device(struct pci_dev *pdev);
void pci_liveupdate_finish(void);
#else
static inline int pci_liveupdate_get(void)
{
	return -EOPNOTSUPP;
}

static inline void pci_liveupdate_put(void) { }

static inline int pci_liveupdate_freeze_device(struct pci_dev *pdev)
{
	return -EOPNOTSUPP;
}

static inline void pci_liveupdate_unfreeze_device(struct pci_dev *pdev) { }
static inline void pci_liveupdate_finish(void) { }
#endif

#endif /* _LINUX_PCI_LIVEUPDATE_H */
