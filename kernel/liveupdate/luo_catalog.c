// SPDX-License-Identifier: GPL-2.0
/*
 * Live update format catalogs: the one of this kernel, and the one of the
 * kernel image loaded for the next reboot.
 */

/**
 * DOC: Format catalog
 *
 * A kernel image lists the handover formats it reads in a catalog that
 * travels in the image (see <linux/kho/abi/catalog.h>). When an image is
 * loaded with kexec_file_load(), liveupdate_catalog_parse() copies its
 * catalog into the kimage; inside reboot(), before anything is frozen,
 * LUO checks that the loaded kernel reads the format of every preserved
 * file and global object (and LUO's and KHO's own), and refuses the
 * reboot otherwise. The running kernel's own catalog is the same list
 * (<linux/liveupdate_catalog.h>): a handler or global object whose
 * format is not in it cannot register, and
 * ``/sys/kernel/liveupdate/formats`` shows it.
 */

#define pr_fmt(fmt) "liveupdate: " fmt

#include <linux/liveupdate_catalog.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "luo_internal.h"

/**
 * struct liveupdate_catalog - a kernel image's format catalog
 * @release: the image's release of the live update series
 * @kernel: the image's kernel release string
 * @len: bytes of @formats, the final empty string included
 * @formats: NUL-terminated compatible strings, then an empty one
 */
struct liveupdate_catalog {
	char release[16];
	char kernel[72];
	size_t len;
	char formats[] __counted_by(len);
};

/* This kernel's formats, as its image's catalog lists them. */
static const char luo_own_formats[] = LU_CATALOG_FORMATS;

static bool luo_formats_have(const char *formats, size_t len,
			     const char *compatible)
{
	const char *p = formats, *end = formats + len;

	while (p < end && *p) {
		if (!strcmp(p, compatible))
			return true;
		p += strlen(p) + 1;
	}
	return false;
}

/**
 * luo_catalog_reads - does a kernel read a format?
 * @cat: a loaded image's catalog, or NULL for this kernel
 * @compatible: the format
 *
 * Return: true if that kernel lists @compatible.
 */
bool luo_catalog_reads(const struct liveupdate_catalog *cat,
		       const char *compatible)
{
	if (!cat)
		return luo_formats_have(luo_own_formats,
					sizeof(luo_own_formats), compatible);
	return luo_formats_have(cat->formats, cat->len, compatible);
}

/**
 * luo_format_check - may a handler or a global object use a format?
 * @what: "handler" or "global", for the log
 * @compatible: the format's compatible string
 *
 * The one rule for registering both: the string is not empty, short
 * enough to be handed over, and listed in this kernel's catalog, so that
 * the pre-flight check before a reboot knows every format this kernel
 * may write or read.
 *
 * Return: 0, or -EINVAL (one line says so when only the catalog lacks it).
 */
int luo_format_check(const char *what, const char *compatible)
{
	if (!compatible || !compatible[0] ||
	    strnlen(compatible, LIVEUPDATE_HNDL_COMPAT_LENGTH) ==
	    LIVEUPDATE_HNDL_COMPAT_LENGTH)
		return -EINVAL;
	if (!luo_catalog_reads(NULL, compatible)) {
		pr_err("%s format '%s' is missing from this kernel's catalog (<linux/liveupdate_catalog.h>)\n",
		       what, compatible);
		return -EINVAL;
	}
	return 0;
}

/**
 * luo_catalog_kernel - the kernel release an image's catalog names
 * @cat: the catalog
 *
 * Return: its kernel release string.
 */
const char *luo_catalog_kernel(const struct liveupdate_catalog *cat)
{
	return cat->kernel;
}

/**
 * luo_catalog_show - print a catalog's formats, one a line
 * @cat: a loaded image's catalog, or NULL for this kernel
 * @buf: a sysfs buffer
 * @at: bytes of @buf already used
 *
 * Return: bytes of @buf used afterwards.
 */
int luo_catalog_show(const struct liveupdate_catalog *cat, char *buf, int at)
{
	const char *p = cat ? cat->formats : luo_own_formats;
	const char *end = p + (cat ? cat->len : sizeof(luo_own_formats));

	while (p < end && *p) {
		at += sysfs_emit_at(buf, at, "%s\n", p);
		p += strlen(p) + 1;
	}
	return at;
}

/**
 * luo_listing_add - add one line to a sysfs listing, if it fits whole
 * @l: the listing
 * @fmt: printf format of the line, newline included
 *
 * A line that does not fit, with room left for a final "more" line, is
 * counted in @l->more instead, as is every line after it.
 */
void luo_listing_add(struct luo_listing *l, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (l->more || n >= sizeof(line) || l->at + n + 32 > PAGE_SIZE) {
		l->more++;
		return;
	}
	memcpy(l->buf + l->at, line, n);
	l->at += n;
}

/* Is @buf[0..@len) a well-formed list of formats? */
static bool luo_formats_ok(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	size_t n;

	if (!len || buf[len - 1])
		return false;
	while (*p) {
		n = strnlen(p, end - p);
		if (n >= LUO_COMPAT_LENGTH || p + n + 1 >= end)
			return false;
		p += n + 1;
	}
	return p == end - 1;
}

/**
 * liveupdate_catalog_parse - find a kernel image's format catalog
 * @image: the image file's contents (a bzImage on x86)
 * @len: its size
 *
 * Called by kexec_file_load() while it has the image in memory.
 *
 * Context: process context; may sleep.
 * Return: a copy of the catalog, to be freed with liveupdate_catalog_free(),
 * or NULL if the image has none (it reads no live update format) or has
 * one this kernel cannot read (logged).
 */
struct liveupdate_catalog *liveupdate_catalog_parse(const void *image,
						    size_t len)
{
	size_t off, scan = min_t(size_t, len, LU_CATALOG_SCAN_SIZE);
	const struct lu_catalog_hdr *hdr;
	struct liveupdate_catalog *cat;
	const char *why;

	for (off = 0; off + sizeof(*hdr) <= scan; off += 16) {
		hdr = image + off;
		if (!memcmp(hdr->magic, LU_CATALOG_MAGIC, sizeof(hdr->magic)))
			break;
	}
	if (off + sizeof(*hdr) > scan)
		return NULL;

	if (hdr->version != LU_CATALOG_VERSION)
		why = "an unknown catalog version";
	else if (hdr->hdr_size < sizeof(*hdr) || hdr->size <= hdr->hdr_size ||
		 hdr->size > LU_CATALOG_MAX_SIZE || off + hdr->size > len)
		why = "a catalog of a bad size";
	else if (!memchr(hdr->release, '\0', sizeof(hdr->release)) ||
		 !memchr(hdr->kernel, '\0', sizeof(hdr->kernel)) ||
		 !luo_formats_ok(image + off + hdr->hdr_size,
				 hdr->size - hdr->hdr_size))
		why = "a malformed catalog";
	else
		why = NULL;
	if (why) {
		pr_warn("the loaded kernel image has %s: it is taken to read no live update format\n",
			why);
		return NULL;
	}

	cat = kzalloc(struct_size(cat, formats, hdr->size - hdr->hdr_size),
		      GFP_KERNEL);
	if (!cat)
		return NULL;
	cat->len = hdr->size - hdr->hdr_size;
	strscpy(cat->release, hdr->release);
	strscpy(cat->kernel, hdr->kernel);
	memcpy(cat->formats, image + off + hdr->hdr_size, cat->len);
	return cat;
}

/**
 * liveupdate_catalog_free - free what liveupdate_catalog_parse() returned
 * @cat: the catalog, or NULL
 */
void liveupdate_catalog_free(struct liveupdate_catalog *cat)
{
	kfree(cat);
}
