// SPDX-License-Identifier: GPL-2.0
/*
 * The live update format catalog of this image, in the setup code where
 * the kernel that loads the image reads it without decompressing
 * anything (see <linux/kho/abi/catalog.h>).
 */

#include <generated/utsrelease.h>
#include <linux/liveupdate_catalog.h>

static_assert(sizeof(CONFIG_LIVEUPDATE_RELEASE) <= 16,
	      "CONFIG_LIVEUPDATE_RELEASE is too long for the catalog");

static const struct {
	struct lu_catalog_hdr hdr;
	char formats[sizeof(LU_CATALOG_FORMATS)];
} lu_catalog __used __aligned(16) = {
	.hdr = {
		.magic = LU_CATALOG_MAGIC,
		.version = LU_CATALOG_VERSION,
		.hdr_size = sizeof(struct lu_catalog_hdr),
		.size = sizeof(lu_catalog),
		.release = CONFIG_LIVEUPDATE_RELEASE,
		.kernel = UTS_RELEASE,
	},
	.formats = LU_CATALOG_FORMATS,
};
