/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel IOMMU live update: what its files share. liveupdate.c has the
 * global object and its lock, liveupdate_freeze.c the outgoing side,
 * liveupdate_adopt.c the translations taken over at boot and
 * liveupdate_domain.c the domains that wrap them.
 */
#ifndef _INTEL_IOMMU_LIVEUPDATE_H
#define _INTEL_IOMMU_LIVEUPDATE_H

#include <linux/bitfield.h>
#include <linux/kho/abi/intel_iommu.h>
#include <linux/liveupdate.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "iommu.h"

/*
 * The fields of a legacy-mode context entry this code reads from the
 * quadwords the handover carries (VT-d spec 9.3, "Context Entry"):
 * iommu.h only has setters on a struct context_entry.
 */
#define ILU_CTX_LO_PRESENT	BIT_ULL(0)		/* P */
#define ILU_CTX_LO_TT		GENMASK_ULL(3, 2)	/* translation type */
#define ILU_CTX_LO_SSPTPTR	VTD_PAGE_MASK		/* page table root */
#define ILU_CTX_HI_AW		GENMASK_ULL(2, 0)	/* address width (AGAW) */
#define ILU_CTX_HI_DID		GENMASK_ULL(23, 8)	/* domain id */

/* The low quadword of a root entry (VT-d spec 9.1, "Root Entry"). */
#define ILU_ROOT_LO_PRESENT	BIT_ULL(0)		/* P */
#define ILU_ROOT_LO_CTP		VTD_PAGE_MASK		/* context table */

/* How many levels of page tables the context entry @hi leads to. */
static inline int ilu_ctx_levels(u64 hi)
{
	return agaw_to_level(FIELD_GET(ILU_CTX_HI_AW, hi));
}

/**
 * struct ilu_adopted - a device whose translation this kernel took over
 * @iommu: its remapping unit
 * @segment: PCI segment
 * @bus: PCI bus
 * @devfn: PCI device and function
 * @did: the domain id of its context entry
 * @live: the context entry is still the adopted one
 * @domain: the domain wrapping its tables, until it is attached
 * @mapped: 4 KiB pages its tables map
 * @verified: of those, pages the domain's owner mapped again (verified)
 * @bad: a mapping did not match the tables
 */
struct ilu_adopted {
	struct intel_iommu *iommu;
	u16 segment;
	u8 bus;
	u8 devfn;
	u16 did;
	bool live;
	struct dmar_domain *domain;
	unsigned long mapped;
	unsigned long verified;
	bool bad;
};

/**
 * struct ilu_walk - what a walk of adopted tables found
 * @mapped: 4 KiB pages mapped
 * @leaves: entries mapping them (fewer with large pages)
 * @seen: checking walk: the table pages met, each must be met once
 * @check_leaves: checking walk: what the tables map must be preserved too
 */
struct ilu_walk {
	unsigned long mapped;
	unsigned long leaves;
	struct xarray seen;
	bool check_leaves;
};

/*
 * ilu_lock protects the outgoing list, page counts and subtree, and the
 * incoming table of adopted devices. Taken inside LUO's locks (the
 * global's ops run under them), never around a call into LUO.
 */
extern struct mutex ilu_lock;
extern struct liveupdate_subtree ilu_subtree;

/*
 * The adopted devices (liveupdate_adopt.c): filled at boot, before any
 * device probes; then under ilu_lock.
 */
extern struct ilu_adopted ilu_in[INTEL_IOMMU_LU_MAX_DEVICES];
extern unsigned int ilu_in_nr;

/* liveupdate_freeze.c */
int ilu_write_fdt(void *fdt);

/* liveupdate_adopt.c */
int ilu_tables(phys_addr_t table, int level, bool restore,
	       struct ilu_walk *w);
struct ilu_adopted *ilu_find(u16 segment, u8 bus, u8 devfn);
void ilu_release(struct ilu_adopted *a);

#endif /* _INTEL_IOMMU_LIVEUPDATE_H */
