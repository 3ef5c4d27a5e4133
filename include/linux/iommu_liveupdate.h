/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keeping a device's DMA translation running through a live update: the
 * interface between device file handlers (VFIO) and the IOMMU driver.
 * See Documentation/core-api/liveupdate.rst.
 */
#ifndef _LINUX_IOMMU_LIVEUPDATE_H
#define _LINUX_IOMMU_LIVEUPDATE_H

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/types.h>

struct device;
struct iommu_domain;

#ifdef CONFIG_INTEL_IOMMU_LIVEUPDATE
int iommu_liveupdate_check_device(struct device *dev);
int iommu_liveupdate_get(void);
void iommu_liveupdate_put(void);
int iommu_liveupdate_freeze_device(struct device *dev);
void iommu_liveupdate_unfreeze_device(struct device *dev);
bool iommu_liveupdate_adopted(u16 segment, u8 bus, u8 devfn);
unsigned int iommu_liveupdate_adopted_devices(u32 *ids, unsigned int max);
unsigned int iommu_liveupdate_stray_devices(u32 *ids, unsigned int max);
void iommu_liveupdate_release_device(u16 segment, u8 bus, u8 devfn);
void iommu_liveupdate_finish(void);
struct iommu_domain *iommu_liveupdate_adopt_domain(struct device *dev);
int iommu_liveupdate_domain_verified(struct iommu_domain *domain);
#else
static inline int iommu_liveupdate_check_device(struct device *dev)
{
	return -EOPNOTSUPP;
}

static inline int iommu_liveupdate_get(void)
{
	return -EOPNOTSUPP;
}

static inline void iommu_liveupdate_put(void) { }

static inline int iommu_liveupdate_freeze_device(struct device *dev)
{
	return -EOPNOTSUPP;
}

static inline void iommu_liveupdate_unfreeze_device(struct device *dev) { }

static inline bool iommu_liveupdate_adopted(u16 segment, u8 bus, u8 devfn)
{
	return false;
}

static inline unsigned int iommu_liveupdate_adopted_devices(u32 *ids,
							    unsigned int max)
{
	return 0;
}

static inline unsigned int iommu_liveupdate_stray_devices(u32 *ids,
							  unsigned int max)
{
	return 0;
}

static inline void iommu_liveupdate_release_device(u16 segment, u8 bus,
						   u8 devfn) { }
static inline void iommu_liveupdate_finish(void) { }

static inline struct iommu_domain *
iommu_liveupdate_adopt_domain(struct device *dev)
{
	return ERR_PTR(-ENOENT);
}

static inline int iommu_liveupdate_domain_verified(struct iommu_domain *domain)
{
	return -EINVAL;
}
#endif

#endif /* _LINUX_IOMMU_LIVEUPDATE_H */
