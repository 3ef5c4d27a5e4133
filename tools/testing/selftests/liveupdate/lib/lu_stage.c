// SPDX-License-Identifier: GPL-2.0
/*
 * Stage helpers for multi-kexec tests; see include/lu_stage.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kexec.h>
#include <linux/reboot.h>

#include "../../kselftest.h"
#include "lu_stage.h"

#define CMDLINE_MAX	4096
/* Failed lu_check()s of this stage. */
static int checks_failed;

/* Offset of hdr.type_of_loader in struct boot_params (x86 boot protocol). */
#define BOOT_PARAMS_LOADER_OFF	0x210

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

/* Return the length of the key in a "key=value" or "key" word. */
static size_t key_len(const char *word, size_t wlen)
{
	const char *eq = memchr(word, '=', wlen);

	return eq ? (size_t)(eq - word) : wlen;
}

/* Does @words (space separated) contain a word with the same key? */
static bool has_key(const char *words, const char *key, size_t klen)
{
	const char *p = words;

	while (p && *p) {
		size_t wlen;

		while (*p == ' ')
			p++;
		wlen = strcspn(p, " ");
		if (wlen && key_len(p, wlen) == klen && !strncmp(p, key, klen))
			return true;
		p += wlen;
	}
	return false;
}

int __lu_cmdline_get(const char *key, char *buf, size_t len)
{
	char cmdline[CMDLINE_MAX];
	size_t klen = strlen(key);
	const char *p = cmdline;
	int ret;

	ret = read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (ret < 0)
		return ret;
	while (*p) {
		size_t wlen, vlen;

		while (*p == ' ')
			p++;
		wlen = strcspn(p, " ");
		if (wlen > klen && p[klen] == '=' && !strncmp(p, key, klen)) {
			vlen = wlen - klen - 1;
			if (vlen >= len)
				return -EOVERFLOW;
			memcpy(buf, p + klen + 1, vlen);
			buf[vlen] = '\0';
			return vlen;
		}
		p += wlen;
	}
	return -ENOENT;
}

bool lu_cmdline_get(const char *key, char *buf, size_t len)
{
	int ret = __lu_cmdline_get(key, buf, len);

	if (ret == -ENOENT)
		return false;
	if (ret < 0)
		ksft_exit_fail_msg("reading %s= from /proc/cmdline: %s\n",
				   key, strerror(-ret));
	return true;
}

int lu_stage(void)
{
	char val[16];

	if (!lu_cmdline_get("lu.stage", val, sizeof(val)))
		return 1;
	return atoi(val);
}

int lu_next_image(char *path, size_t len)
{
	char list[256], *save, *name;
	int i, stage = lu_stage();

	if (!lu_cmdline_get("lu.kernels", list, sizeof(list))) {
		snprintf(path, len, "%s", LU_KERNEL_IMAGE);
		return 0;
	}
	/* Stage N runs the Nth kernel of the list; the next one is next. */
	name = strtok_r(list, ",", &save);
	for (i = 0; name && i < stage; i++)
		name = strtok_r(NULL, ",", &save);
	if (!name)
		return -ENOENT;
	snprintf(path, len, "%s/%s", LU_KERNELS_DIR, name);
	return 0;
}

/*
 * Make LU_NEXT_INITRD with LU_NEXT_INITRD_MAKE. The child keeps none of
 * the test's file descriptors: a session, memfd or device file must not
 * stay open behind the test's back while the helper runs. 0, or -errno
 * (errno is set too).
 */
static int make_next_initrd(void)
{
	int status, fd;
	pid_t pid;

	if (access(LU_NEXT_INITRD_MAKE, X_OK))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0 && fd != STDOUT_FILENO)
			dup2(fd, STDOUT_FILENO);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		execl(LU_NEXT_INITRD_MAKE, LU_NEXT_INITRD_MAKE, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		ksft_print_msg("%s failed\n", LU_NEXT_INITRD_MAKE);
		errno = EIO;
		return -EIO;
	}
	return 0;
}

int __lu_kexec_load_next(const char *extra)
{
	char cmdline[CMDLINE_MAX], next[CMDLINE_MAX], image[256];
	int kfd, ifd, ret, stage = lu_stage();
	const char *p = cmdline;
	size_t used = 0;

	ret = lu_next_image(image, sizeof(image));
	if (ret)
		return ret;

	ret = read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (ret < 0)
		return ret;

	/* Keep every word whose key the caller does not replace. */
	while (*p) {
		size_t wlen;

		while (*p == ' ')
			p++;
		wlen = strcspn(p, " ");
		if (wlen && !(key_len(p, wlen) == 8 && !strncmp(p, "lu.stage", 8)) &&
		    !has_key(extra, p, key_len(p, wlen))) {
			if (used + wlen + 2 > sizeof(next))
				return -E2BIG;
			memcpy(next + used, p, wlen);
			used += wlen;
			next[used++] = ' ';
		}
		p += wlen;
	}
	ret = snprintf(next + used, sizeof(next) - used, "lu.stage=%d%s%s",
		       stage + 1, extra && *extra ? " " : "", extra ? extra : "");
	if (ret < 0 || (size_t)ret >= sizeof(next) - used)
		return -E2BIG;

	kfd = open(image, O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return -errno;
	ifd = open(LU_NEXT_INITRD, O_RDONLY | O_CLOEXEC);
	if (ifd < 0 && errno == ENOENT && !make_next_initrd())
		ifd = open(LU_NEXT_INITRD, O_RDONLY | O_CLOEXEC);
	if (ifd < 0) {
		ret = -errno;
		close(kfd);
		return ret;
	}
	ret = syscall(SYS_kexec_file_load, kfd, ifd, strlen(next) + 1, next, 0UL);
	if (ret)
		ret = -errno;
	close(ifd);
	close(kfd);
	return ret;
}

void lu_expect_log(const char *text)
{
	printf("# lu: expect-log %s\n", text);
	fflush(stdout);
}

void lu_leak_scan(void)
{
	fflush(stdout);
	if (!access("/lu/leak-scan", X_OK) && system("/lu/leak-scan"))
		ksft_print_msg("/lu/leak-scan failed\n");
}

int __lu_kexec_load_refused(const char *extra)
{
	char words[512];

	snprintf(words, sizeof(words), "%s%s%s", extra ? extra : "",
		 extra ? " " : "", LU_REFUSED_WORD);
	return __lu_kexec_load_next(words);
}

/* Reboot into the loaded kernel; returns only on failure, with -errno. */
int __lu_kexec_reboot(void)
{
	char val[16];

	/* Never reboot a machine the harness did not boot. */
	if (!lu_cmdline_get("lu.stage", val, sizeof(val)))
		return -EPERM;
	/* Nor past a failed check, which the next stage could not report. */
	if (checks_failed) {
		ksft_print_msg("not rebooting: %d check(s) failed\n",
			       checks_failed);
		return -ECANCELED;
	}
	fflush(stdout);
	sync();
	syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		LINUX_REBOOT_CMD_KEXEC, NULL);
	return -errno;
}

bool __lu_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (!ok)
		checks_failed++;
	return ok;
}

int lu_checks_failed(void)
{
	return checks_failed;
}

void lu_checks_stop(void)
{
	if (checks_failed)
		ksft_exit_fail_msg("stage %d: %d check(s) failed, stopping\n",
				   lu_stage(), checks_failed);
}

void lu_kexec_next(const char *extra)
{
	char image[256] = "?";
	int ret;

	if (checks_failed)
		ksft_exit_fail_msg("stage %d: %d check(s) failed, not moving on\n",
				   lu_stage(), checks_failed);
	lu_leak_scan();
	ret = __lu_kexec_load_next(extra);

	lu_next_image(image, sizeof(image));
	if (ret)
		ksft_exit_fail_msg("kexec_file_load(%s): %s\n", image,
				   strerror(-ret));
	ksft_print_msg("stage %d: rebooting into the next kernel with kexec\n",
		       lu_stage());
	ret = __lu_kexec_reboot();
	ksft_exit_fail_msg("reboot(LINUX_REBOOT_CMD_KEXEC): %s\n",
			   strerror(-ret));
}

int __lu_boot_loader_type(void)
{
	unsigned char type;
	ssize_t n;
	int fd;

	fd = open("/sys/kernel/boot_params/data", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, &type, 1, BOOT_PARAMS_LOADER_OFF);
	if (n != 1)
		n = n < 0 ? -errno : -EIO;
	close(fd);
	return n == 1 ? type : n;
}

int lu_boot_loader_type(void)
{
	int ret = __lu_boot_loader_type();

	if (ret < 0)
		ksft_exit_fail_msg("reading /sys/kernel/boot_params/data: %s\n",
				   strerror(-ret));
	return ret;
}

void lu_boot_id(char *buf, size_t len)
{
	int ret = read_file("/proc/sys/kernel/random/boot_id", buf, len);

	if (ret < 0)
		ksft_exit_fail_msg("reading boot_id: %s\n", strerror(-ret));
}

/*
 * The harness boots every kernel with lu.stage=N. Without it this is not
 * the test VM but some machine a kexec would reboot: skip.
 */
bool lu_in_vm(void)
{
	char val[16];

	return lu_cmdline_get("lu.stage", val, sizeof(val));
}

void lu_require_vm(void)
{
	if (!lu_in_vm())
		ksft_exit_skip("%s\n", LU_NOT_IN_VM);
}

void lu_run_stages(void (*const stages[])(void), int nr)
{
	int stage;

	lu_require_vm();
	stage = lu_stage();

	if (stage < 1 || stage > nr)
		ksft_exit_fail_msg("unexpected stage %d of %d\n", stage, nr);
	stages[stage - 1]();
	ksft_exit_fail_msg("stage %d returned\n", stage);
}
