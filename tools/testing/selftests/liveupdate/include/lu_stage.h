/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multi-stage tests for the live update VM harness.
 *
 * A test runs once per kernel it boots: the harness boots stage 1 with
 * "lu.stage=1" on the command line, and a test moves to the next stage
 * by loading the same kernel and initramfs with kexec_file_load() and
 * rebooting into it with LINUX_REBOOT_CMD_KEXEC. The next command line
 * is the current one with lu.stage incremented and the caller's extra
 * "key=value" words replacing earlier ones of the same key, which is how
 * a stage hands small values (never preserved data) to the next.
 *
 * Each helper comes in two forms: __lu_foo() returns a negative errno,
 * lu_foo() reports a failure through kselftest and exits.
 */
#ifndef _LU_STAGE_H
#define _LU_STAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "../../kselftest.h"

/*
 * Where the initramfs puts the kernel image, and the initramfs of the next
 * stage, which LU_NEXT_INITRD_MAKE makes (and prints) when it is first
 * needed: __lu_kexec_load_next() runs it.
 */
#define LU_KERNEL_IMAGE		"/boot/bzImage"
#define LU_NEXT_INITRD		"/run/initrd.cpio"
#define LU_NEXT_INITRD_MAKE	"/lu/next-initrd"
/* Other kernels, for lu.kernels=NAME,NAME,...: one per stage */
#define LU_KERNELS_DIR		"/lu/kernels"

/* boot_params.hdr.type_of_loader values seen by the test VM. */
#define LU_LOADER_KEXEC		0xd0	/* kexec_file_load() and kexec-tools */
#define LU_LOADER_QEMU		0xb0	/* qemu -kernel */

int lu_stage(void);
int __lu_cmdline_get(const char *key, char *buf, size_t len);
bool lu_cmdline_get(const char *key, char *buf, size_t len);
/*
 * The image the next stage boots: LU_KERNEL_IMAGE, or with
 * lu.kernels=A,B,C on the command line (stage N runs the Nth) the next
 * one of the list in LU_KERNELS_DIR. 0 or -ENOENT.
 */
int lu_next_image(char *path, size_t len);
int __lu_kexec_load_next(const char *extra);
/*
 * The kernel word a reboot() that must be refused loads the next stage
 * with: should that kernel ever boot, lu_stage_index() fails the test.
 */
#define LU_REFUSED_WORD		"lu.refused_reboot=1"
/*
 * Load the next stage for a reboot() that the kernel must refuse (with
 * LU_REFUSED_WORD); load again, with __lu_kexec_load_next() or
 * lu_kexec_next(), before a reboot meant to go through.
 */
int __lu_kexec_load_refused(const char *extra);
/* Reboot into the loaded kernel; -ECANCELED after a failed lu_check(). */
int __lu_kexec_reboot(void);
/*
 * Ask the harness to find @text in a kernel log line after this point of
 * the serial console: for what the kernel logs on its way out of a
 * reboot, which no later stage can read.
 */
void lu_expect_log(const char *text);
/*
 * The harness's kmemleak scan (/lu/leak-scan) at the end of a stage: on
 * a kernel with kmemleak, a leak it finds fails the test. lu_kexec_next()
 * runs it first.
 */
void lu_leak_scan(void);
void lu_kexec_next(const char *extra) __noreturn;
int __lu_boot_loader_type(void);
int lu_boot_loader_type(void);
void lu_boot_id(char *buf, size_t len);
/* Why a test that would kexec skips on a machine the harness did not boot. */
#define LU_NOT_IN_VM	\
	"not booted by the live update test harness (no lu.stage= on the kernel " \
	"command line), and this test reboots the machine with kexec; run it " \
	"with tools/testing/selftests/liveupdate/vm/run.sh"
/* Whether the harness booted this kernel (lu.stage= on the command line). */
bool lu_in_vm(void);
/*
 * Skip the test unless the harness booted this kernel (lu.stage= on the
 * command line): elsewhere a kexec would reboot the machine.
 */
void lu_require_vm(void);
/*
 * Report one check of a stage: "# ok: ..." or "# FAIL: ...", and count
 * failures; evaluates to the outcome. @cond is evaluated before the
 * message's arguments (which may read errno). No reboot follows a failed
 * check (lu_kexec_next() fails the test, __lu_kexec_reboot() returns
 * -ECANCELED), and the last stage fails the test after one (see
 * lu_harness.h).
 */
#define lu_check(cond, fmt, ...) ({					\
	bool __lu_ok = (cond);						\
									\
	__lu_check(__lu_ok, fmt, ##__VA_ARGS__);			\
})
bool __lu_check(bool ok, const char *fmt, ...) __printf(2, 3);
int lu_checks_failed(void);
/* End the test here, failed, if a check of this stage failed. */
void lu_checks_stop(void);
/* Run stages[lu_stage() - 1] (after lu_require_vm()); a stage must not return. */
void lu_run_stages(void (*const stages[])(void), int nr) __noreturn;

#endif /* _LU_STAGE_H */
