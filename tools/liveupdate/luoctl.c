// SPDX-License-Identifier: GPL-2.0
/*
 * luoctl - inspect and drive Linux live update.
 *
 *   luoctl status [-j]
 *   luoctl sessions [show] [-j] | sessions finish NAME
 *   luoctl update --kernel IMAGE [--initrd FILE] [--reuse-cmdline]
 *		   [--command-line S] [--append S] [--dry-run]
 *   luoctl check IMAGE [-j]
 *   luoctl file save SESSION TOKEN FILE | file restore SESSION TOKEN OUTFILE
 *   luoctl log --previous | log write TEXT...
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/kexec.h>
#include <linux/reboot.h>

#include "luod.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define EXIT_USAGE	2
#define CMDLINE_MAX	4096
#define LU_SYSFS	"/sys/kernel/liveupdate"
#define WS		" \t\n"

static struct {
	bool		json;
	const char	*socket;
	const char	*sysroot;	/* LUOCTL_SYSROOT: tests only */
} cfg = { .socket = LUOD_SOCKET_PATH, .sysroot = "" };

static void error(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Read a one-line file under the sysroot; strip the newline. */
static int read_line(const char *path, char *buf, size_t len)
{
	char full[512];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "%s%s", cfg.sysroot, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
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
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

static bool path_exists(const char *path)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s", cfg.sysroot, path);
	return !access(full, F_OK);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* Word @key=... of the command line in @cmdline, or NULL. */
static const char *cmdline_value(const char *cmdline, const char *key,
				 char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		size_t wlen;

		while (*p == ' ')
			p++;
		wlen = strcspn(p, " ");
		if (wlen > klen && p[klen] == '=' && !strncmp(p, key, klen)) {
			snprintf(buf, len, "%.*s", (int)(wlen - klen - 1),
				 p + klen + 1);
			return buf;
		}
		p += wlen;
	}
	return NULL;
}

static bool luod_running(void)
{
	int sock = luod_connect(cfg.socket);

	if (sock < 0)
		return false;
	close(sock);
	return true;
}

/* ---- status ---- */

static const char * const lu_counters[] = {
	"updates", "sessions_in", "sessions_retrieved", "sessions_finished",
	"sessions_out",
};

static int do_status(void)
{
	char enabled[16], counter[ARRAY_SIZE(lu_counters)][32], handover[256];
	char kho[256], loaded[16], cmdline[CMDLINE_MAX], kho_arg[32];
	char lu_arg[32], path[128], release[32], base[32], from[80], count[32];
	const char *kho_cmd, *lu_cmd;
	bool running;
	size_t i;
	int ret;

	ret = read_line(LU_SYSFS "/enabled", enabled, sizeof(enabled));
	if (ret < 0) {
		error("reading %s/enabled: %s (is this a kernel with live update?)",
		      LU_SYSFS, strerror(-ret));
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(lu_counters); i++) {
		snprintf(path, sizeof(path), "%s/%s", LU_SYSFS, lu_counters[i]);
		if (read_line(path, counter[i], sizeof(counter[i])) < 0)
			snprintf(counter[i], sizeof(counter[i]), "unknown");
	}
	if (read_line(LU_SYSFS "/last_handover", handover, sizeof(handover)) < 0)
		snprintf(handover, sizeof(handover), "unknown");
	if (read_line("/sys/kernel/debug/kho/in/status", kho, sizeof(kho)) < 0)
		snprintf(kho, sizeof(kho), "%s",
			 path_exists("/sys/kernel/debug/kho") ? "unknown" :
			 path_exists("/sys/kernel/debug/tracing") ||
			 path_exists("/sys/kernel/debug/kho/out") ?
			 "off" : "unknown (mount debugfs)");
	/* Older releases do not have these. */
	if (read_line(LU_SYSFS "/release", release, sizeof(release)) < 0)
		snprintf(release, sizeof(release), "unknown");
	if (read_line(LU_SYSFS "/base", base, sizeof(base)) < 0)
		snprintf(base, sizeof(base), "unknown");
	if (read_line(LU_SYSFS "/exec_from", from, sizeof(from)) < 0)
		snprintf(from, sizeof(from), "unknown");
	if (read_line(LU_SYSFS "/exec_count", count, sizeof(count)) < 0 ||
	    strspn(count, "0123456789") != strlen(count) || !count[0])
		snprintf(count, sizeof(count), "null");
	if (read_line("/sys/kernel/kexec_loaded", loaded, sizeof(loaded)) < 0)
		snprintf(loaded, sizeof(loaded), "unknown");
	if (read_line("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	kho_cmd = cmdline_value(cmdline, "kho", kho_arg, sizeof(kho_arg));
	lu_cmd = cmdline_value(cmdline, "liveupdate", lu_arg, sizeof(lu_arg));
	running = luod_running();

	if (cfg.json) {
		printf("{\"enabled\":%s", !strcmp(enabled, "1") ? "true" : "false");
		for (i = 0; i < ARRAY_SIZE(lu_counters); i++) {
			printf(",\"%s\":", lu_counters[i]);
			if (strspn(counter[i], "0123456789") == strlen(counter[i]) &&
			    counter[i][0])
				printf("%s", counter[i]);
			else
				printf("null");
		}
		printf(",\"last_handover\":");
		json_str(handover);
		printf(",\"kho_in\":");
		json_str(kho);
		printf(",\"kexec_loaded\":%s", !strcmp(loaded, "1") ? "true" :
		       "false");
		printf(",\"cmdline_kho\":");
		kho_cmd ? json_str(kho_cmd) : (void)printf("null");
		printf(",\"cmdline_liveupdate\":");
		lu_cmd ? json_str(lu_cmd) : (void)printf("null");
		printf(",\"release\":");
		json_str(release);
		printf(",\"base\":");
		json_str(base);
		printf(",\"exec_from\":");
		json_str(from);
		printf(",\"exec_count\":%s", count);
		printf(",\"luod\":%s}\n", running ? "true" : "false");
		return 0;
	}
	printf("enabled:          %s\n", !strcmp(enabled, "1") ? "yes" : "no");
	printf("live updates:     %s\n", counter[0]);
	printf("sessions in:      %s (retrieved %s, finished %s)\n",
	       counter[1], counter[2], counter[3]);
	printf("sessions out:     %s\n", counter[4]);
	printf("last handover:    %s\n", handover);
	printf("kho incoming:     %s\n", kho);
	printf("kexec loaded:     %s\n", !strcmp(loaded, "1") ? "yes" : "no");
	printf("boot parameters:  kho=%s liveupdate=%s\n",
	       kho_cmd ? kho_cmd : "(unset)", lu_cmd ? lu_cmd : "(unset)");
	printf("luod:             %s (%s)\n", running ? "running" : "not running",
	       cfg.socket);
	printf("release:          %s (base %s)\n", release, base);
	printf("came from:        %s (kexec handovers since cold boot: %s)\n",
	       from, strcmp(count, "null") ? count : "unknown");
	return 0;
}

/* ---- sessions ---- */

static int connect_luod(void)
{
	int sock = luod_connect(cfg.socket);

	if (sock < 0)
		error("connecting to luod at %s: %s (is luod running? see luod(8))",
		      cfg.socket, strerror(-sock));
	return sock;
}

static int do_sessions_show(void)
{
	static struct luod_session_info info[LUOD_MAX_SESSIONS];
	char val[ARRAY_SIZE(lu_counters)][32], path[128];
	int sock, nr, i;
	size_t j;

	sock = luod_connect(cfg.socket);
	if (sock >= 0) {
		nr = luod_list(sock, info, ARRAY_SIZE(info));
		close(sock);
		if (nr < 0) {
			error("listing sessions: %s", strerror(-nr));
			return 1;
		}
		if (cfg.json) {
			printf("{\"source\":\"luod\",\"sessions\":[");
			for (i = 0; i < nr; i++) {
				printf("%s{\"name\":", i ? "," : "");
				json_str(info[i].name);
				printf(",\"state\":\"%s\",\"files\":%u}",
				       luod_state_name(info[i].state),
				       info[i].nr_files);
			}
			printf("]}\n");
			return 0;
		}
		printf("%-32s %-10s %s\n", "NAME", "STATE", "FILES");
		for (i = 0; i < nr; i++)
			printf("%-32s %-10s %u\n", info[i].name,
			       luod_state_name(info[i].state), info[i].nr_files);
		return 0;
	}

	/* No luod: the kernel only has counts. */
	for (j = 0; j < ARRAY_SIZE(lu_counters); j++) {
		snprintf(path, sizeof(path), "%s/%s", LU_SYSFS, lu_counters[j]);
		if (read_line(path, val[j], sizeof(val[j])) < 0 ||
		    strspn(val[j], "0123456789") != strlen(val[j]) || !val[j][0]) {
			error("reading %s: %s (start luod, or boot with liveupdate=on)",
			      path, "luod is not running and sysfs is unreadable");
			return 1;
		}
	}
	if (cfg.json) {
		printf("{\"source\":\"sysfs\"");
		for (j = 1; j < ARRAY_SIZE(lu_counters); j++)
			printf(",\"%s\":%s", lu_counters[j], val[j]);
		printf("}\n");
		return 0;
	}
	printf("luod is not running; the kernel's counts:\n");
	printf("sessions in:      %s (retrieved %s, finished %s)\n",
	       val[1], val[2], val[3]);
	printf("sessions out:     %s\n", val[4]);
	return 0;
}

static int do_sessions_finish(const char *name)
{
	int sock, ret;

	sock = connect_luod();
	if (sock < 0)
		return 1;
	ret = luod_retrieve_session(sock, name);
	if (!ret)
		ret = luod_finish(sock);
	close(sock);
	if (ret) {
		error("finishing session '%s': %s", name, strerror(-ret));
		return 1;
	}
	return 0;
}

/* ---- update ---- */

/* Does the space-separated @words hold a word whose key is @key? */
static bool has_key(const char *words, const char *key, size_t klen)
{
	const char *p = words;

	while (*p) {
		size_t wlen, k;

		while (*p == ' ')
			p++;
		wlen = strcspn(p, " ");
		k = strcspn(p, "= ");
		if (k > wlen)
			k = wlen;
		if (wlen && k == klen && !strncmp(p, key, klen))
			return true;
		p += wlen;
	}
	return false;
}

/* @base, less the words whose key @append sets, then @append. */
static int build_cmdline(const char *base, const char *append, char *out,
			 size_t len)
{
	const char *p = base;
	size_t used = 0;
	int n;

	out[0] = '\0';
	while (*p) {
		size_t wlen, k;

		while (*p && strchr(WS, *p))
			p++;
		wlen = strcspn(p, WS);
		k = strcspn(p, "=" WS);
		if (k > wlen)
			k = wlen;
		if (wlen && !has_key(append, p, k)) {
			n = snprintf(out + used, len - used, "%s%.*s",
				     used ? " " : "", (int)wlen, p);
			if (n < 0 || (size_t)n >= len - used)
				return -E2BIG;
			used += n;
		}
		p += wlen;
	}
	if (*append) {
		n = snprintf(out + used, len - used, "%s%s", used ? " " : "",
			     append);
		if (n < 0 || (size_t)n >= len - used)
			return -E2BIG;
	}
	return 0;
}

static int open_readable(const char *what, const char *path)
{
	struct stat st;
	char c;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error("opening %s %s: %s (check the path)", what, path,
		      strerror(errno));
		return -1;
	}
	errno = 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size ||
	    pread(fd, &c, 1, 0) != 1) {
		error("reading %s %s: %s (it must be a readable, non-empty file)",
		      what, path, errno ? strerror(errno) : "not a regular file");
		close(fd);
		return -1;
	}
	return fd;
}

static int check_image(const char *image, bool json);

static void update_help(FILE *f)
{
	fprintf(f,
		"Usage: luoctl update --kernel IMAGE [--initrd FILE] [--reuse-cmdline]\n"
		"                     [--command-line S] [--append S] [--dry-run]\n"
		"\n"
		"Load IMAGE with kexec_file_load(2) and reboot into it at once with\n"
		"reboot(LINUX_REBOOT_CMD_KEXEC), handing the live update sessions over.\n"
		"Services are not stopped: luod and its sessions stay until the kexec.\n"
		"\n"
		"  -k, --kernel IMAGE      the kernel to boot (bzImage)\n"
		"  -i, --initrd FILE       its initramfs\n"
		"  -r, --reuse-cmdline     start from this kernel's /proc/cmdline\n"
		"  -c, --command-line S    start from S\n"
		"  -a, --append S          add the words of S; a word key=value replaces\n"
		"                          the word with the same key (lu.stage=3)\n"
		"  -n, --dry-run           load, show the command line and what\n"
		"                          \"luoctl check IMAGE\" says, unload; no reboot\n");
}

static int do_update(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "reuse-cmdline", no_argument, NULL, 'r' },
		{ "command-line", required_argument, NULL, 'c' },
		{ "append", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *kernel = NULL, *initrd = NULL, *base = "", *append = "";
	char cmdline[CMDLINE_MAX], proc[CMDLINE_MAX], val[16], line[256];
	bool reuse = false, dry = false, have_cl = false;
	unsigned long flags = 0;
	int opt, kfd, ifd = -1, ret, sock;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+k:i:rc:a:nh", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			kernel = optarg;
			break;
		case 'i':
			initrd = optarg;
			break;
		case 'r':
			reuse = true;
			break;
		case 'c':
			base = optarg;
			have_cl = true;
			break;
		case 'a':
			append = optarg;
			break;
		case 'n':
			dry = true;
			break;
		case 'h':
			update_help(stdout);
			return 0;
		default:
			update_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "help")) {
		update_help(stdout);
		return 0;
	}
	if (optind < argc || !kernel || (reuse && have_cl)) {
		error("%s (see luoctl update help)",
		      optind < argc ? "unexpected argument" :
		      !kernel ? "--kernel IMAGE is required" :
		      "--reuse-cmdline and --command-line exclude each other");
		return EXIT_USAGE;
	}

	if (geteuid() != 0) {
		error("updating: must run as root (try sudo luoctl update ...)");
		return 1;
	}
	ret = read_line(LU_SYSFS "/enabled", val, sizeof(val));
	if (ret < 0 || strcmp(val, "1")) {
		bool kho_off = !path_exists("/sys/kernel/debug/kho") &&
			       path_exists("/sys/kernel/debug/tracing");

		error("updating: %s is off (boot with kho=on liveupdate=on)",
		      ret < 0 ? "live update (no " LU_SYSFS ")" :
		      kho_off ? "kexec handover (KHO)" :
		      "the Live Update Orchestrator");
		return 1;
	}
	kfd = open_readable("kernel image", kernel);
	if (kfd < 0)
		return 1;
	if (initrd) {
		ifd = open_readable("initrd", initrd);
		if (ifd < 0)
			goto fail;
	} else {
		flags |= KEXEC_FILE_NO_INITRAMFS;
	}
	if (read_line("/sys/kernel/kexec_loaded", val, sizeof(val)) >= 0 &&
	    !strcmp(val, "1")) {
		error("updating: %s (unload it with kexec -u, then retry)",
		      "a kexec image is loaded already");
		goto fail;
	}
	if (reuse) {
		ret = read_line("/proc/cmdline", proc, sizeof(proc));
		if (ret < 0) {
			error("reading /proc/cmdline: %s", strerror(-ret));
			goto fail;
		}
		base = proc;
	}
	if (build_cmdline(base, append, cmdline, sizeof(cmdline))) {
		error("building the command line: longer than %d bytes (shorten --append)",
		      CMDLINE_MAX - 1);
		goto fail;
	}
	if (dry) {
		printf("command line: %s\n", cmdline);
		if (check_image(kernel, false) < 0)
			goto fail;
	}

	if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1,
		    cmdline, flags)) {
		ret = errno;
		error("kexec_file_load(%s): %s (%s)", kernel, strerror(ret),
		      ret == ENOEXEC ? "not a kernel image this kernel can boot" :
		      ret == EPERM ?
		      "needs CAP_SYS_BOOT; lockdown or kexec_load_disabled may forbid it" :
		      ret == EKEYREJECTED ? "the image's signature was rejected" :
		      "see dmesg");
		goto fail;
	}
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	if (dry) {
		if (syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL,
			    (unsigned long)KEXEC_FILE_UNLOAD)) {
			error("unloading the image: %s (run kexec -u)",
			      strerror(errno));
			return 1;
		}
		printf("dry run: %s loaded and unloaded\n", kernel);
		return 0;
	}

	/* Leave a line in luod's log; it also copies the kernel log now. */
	sock = luod_connect(cfg.socket);
	if (sock >= 0) {
		snprintf(line, sizeof(line), "luoctl: live update into %s", kernel);
		luod_log(sock, line);
		close(sock);
	} else {
		fprintf(stderr, "Warning: luod is not running at %s: %s\n",
			cfg.socket, "only sessions other programs hold go over");
	}
	fflush(NULL);
	sync();
	syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		LINUX_REBOOT_CMD_KEXEC, NULL);
	error("reboot(LINUX_REBOOT_CMD_KEXEC): %s (the image stays loaded; kexec -u unloads it)",
	      strerror(errno));
	return 1;
fail:
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	return 1;
}

/* ---- file ---- */

static bool parse_token(const char *s, uint64_t *token)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s || s[0] == '-')
		return false;
	*token = v;
	return true;
}

static int copy_fd(int in, int out, bool use_pread)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n, w, done;

	for (;;) {
		n = use_pread ? pread(in, buf, sizeof(buf), off) :
				read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		off += n;
		for (done = 0; done < n; done += w) {
			w = write(out, buf + done, n - done);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0)
				return -errno;
		}
	}
}

static int do_file_save(const char *session, const char *tok, const char *file)
{
	char name[128];
	uint64_t token;
	int in, mfd, sock, ret;

	if (!parse_token(tok, &token)) {
		error("'%s' is not a token (a number from 0 to 2^64-1)", tok);
		return EXIT_USAGE;
	}
	in = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	if (in < 0) {
		error("opening %s: %s", file, strerror(errno));
		return 1;
	}
	snprintf(name, sizeof(name), "luoctl:%s:%llu", session,
		 (unsigned long long)token);
	mfd = memfd_create(name, MFD_CLOEXEC);
	if (mfd < 0) {
		error("memfd_create: %s", strerror(errno));
		return 1;
	}
	ret = copy_fd(in, mfd, false);
	if (in)
		close(in);
	if (ret || lseek(mfd, 0, SEEK_SET)) {
		error("copying %s into a memfd: %s", file,
		      strerror(ret ? -ret : errno));
		return 1;
	}
	sock = connect_luod();
	if (sock < 0)
		return 1;
	ret = luod_create_session(sock, session, LUOD_SESSION_ATTACH);
	if (ret) {
		error("creating session '%s': %s%s", session, strerror(-ret),
		      ret == -EINVAL ?
		      " (names are 1-63 printable characters, no space or '/')" : "");
		return 1;
	}
	ret = luod_preserve_fd(sock, mfd, token);
	close(sock);
	close(mfd);
	if (ret) {
		error("preserving %s as token %llu of session '%s': %s%s", file,
		      (unsigned long long)token, session, strerror(-ret),
		      ret == -EEXIST ? " (the token is taken; pick another)" : "");
		return 1;
	}
	return 0;
}

static int do_file_restore(const char *session, const char *tok,
			   const char *file)
{
	uint64_t token;
	int out, fd, sock, ret;

	if (!parse_token(tok, &token)) {
		error("'%s' is not a token (a number from 0 to 2^64-1)", tok);
		return EXIT_USAGE;
	}
	sock = connect_luod();
	if (sock < 0)
		return 1;
	ret = luod_retrieve_session(sock, session);
	if (ret) {
		close(sock);
		error("retrieving session '%s': %s%s", session, strerror(-ret),
		      ret == -ENOENT ? " (no such session came over the update)" : "");
		return 1;
	}
	fd = luod_retrieve_fd(sock, token);
	close(sock);
	if (fd < 0) {
		error("retrieving token %llu of session '%s': %s%s",
		      (unsigned long long)token, session, strerror(-fd),
		      fd == -EINVAL ? " (files come back after the update)" : "");
		return 1;
	}
	out = strcmp(file, "-") ? open(file, O_WRONLY | O_CREAT | O_TRUNC |
				      O_CLOEXEC, 0600) : 1;
	if (out < 0) {
		error("creating %s: %s", file, strerror(errno));
		close(fd);
		return 1;
	}
	ret = copy_fd(fd, out, true);
	close(fd);
	if (out != 1 && close(out) && !ret)
		ret = -errno;
	if (ret) {
		error("writing %s: %s", file, strerror(-ret));
		return 1;
	}
	return 0;
}

/* ---- log ---- */

static int do_log_previous(void)
{
	static char buf[LUOD_MAX_REPLY];
	uint64_t off = 0;
	ssize_t n;
	int sock;

	sock = connect_luod();
	if (sock < 0)
		return 1;
	for (;;) {
		n = luod_get_log(sock, off, buf, sizeof(buf));
		if (n < 0) {
			error("reading the previous boot's log: %s%s",
			      strerror(-n), n == -ENOENT ?
			      " (luod found none: a cold boot, or no luod before the update)" : "");
			close(sock);
			return 1;
		}
		if (n == 0)
			break;
		fwrite(buf, 1, n, stdout);
		off += n;
	}
	close(sock);
	return 0;
}

static int do_log_write(int argc, char **argv)
{
	char line[LUOD_LOG_LINE_MAX + 1];
	size_t used = 0;
	int i, n, sock, ret;

	for (i = 0; i < argc; i++) {
		n = snprintf(line + used, sizeof(line) - used, "%s%s",
			     i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - used) {
			error("the log line is longer than %d bytes",
			      LUOD_LOG_LINE_MAX);
			return EXIT_USAGE;
		}
		used += n;
	}
	if (!used) {
		error("nothing to log (luoctl log write TEXT...)");
		return EXIT_USAGE;
	}
	sock = connect_luod();
	if (sock < 0)
		return 1;
	ret = luod_log(sock, line);
	close(sock);
	if (ret) {
		error("logging: %s", strerror(-ret));
		return 1;
	}
	return 0;
}

/* ---- command line ---- */

static void main_help(FILE *f)
{
	fprintf(f,
		"Usage: luoctl [OPTIONS] OBJECT COMMAND\n"
		"\n"
		"  luoctl status [-j]\n"
		"  luoctl sessions [show] [-j]\n"
		"  luoctl sessions finish NAME\n"
		"  luoctl update --kernel IMAGE [--initrd FILE] [--reuse-cmdline]\n"
		"                [--command-line S] [--append S] [--dry-run]\n"
		"  luoctl check IMAGE [-j]\n"
		"  luoctl file save SESSION TOKEN FILE\n"
		"  luoctl file restore SESSION TOKEN OUTFILE\n"
		"  luoctl log --previous\n"
		"  luoctl log write TEXT...\n"
		"  luoctl help | OBJECT help\n"
		"\n"
		"Options:\n"
		"  -j, --json           JSON output (status, sessions)\n"
		"  -s, --socket PATH    luod's socket (default %s)\n"
		"  -h, --help           show help\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error. See luoctl(8).\n",
		LUOD_SOCKET_PATH);
}

static void sessions_help(FILE *f)
{
	fprintf(f,
		"Usage: luoctl sessions [show] [-j]\n"
		"       luoctl sessions finish NAME\n"
		"\n"
		"show: the sessions luod holds (name, state, files), or when luod\n"
		"      is not running the kernel's counts from " LU_SYSFS ".\n"
		"finish: end the incoming session NAME, releasing what nobody took.\n");
}

static void file_help(FILE *f)
{
	fprintf(f,
		"Usage: luoctl file save SESSION TOKEN FILE\n"
		"       luoctl file restore SESSION TOKEN OUTFILE\n"
		"\n"
		"save: copy FILE (- for stdin) into a memfd and have luod preserve it\n"
		"      as TOKEN of the outgoing session SESSION (made if needed).\n"
		"restore: after the update, get TOKEN of the incoming session\n"
		"      SESSION from luod and write it to OUTFILE (- for stdout).\n");
}

static void log_help(FILE *f)
{
	fprintf(f,
		"Usage: luoctl log --previous\n"
		"       luoctl log write TEXT...\n"
		"\n"
		"--previous: print the log luod carried over the last update (the\n"
		"      kernel log tail and the lines services logged).\n"
		"write: add a line to luod's log; it survives the next update.\n");
}

static void status_help(FILE *f)
{
	fprintf(f,
		"Usage: luoctl status [-j]\n"
		"\n"
		"Show whether live update is on, the live update count, the\n"
		"session counters, the last handover, KHO's incoming state,\n"
		"whether a kexec image is loaded and whether luod runs.\n");
}

static bool is_help(const char *s)
{
	return !strcmp(s, "help") || !strcmp(s, "--help") || !strcmp(s, "-h");
}

/* Parse -j/--json, -s/--socket and -h/--help anywhere in argv. */
static int common_opts(int *argc, char **argv, void (*help)(FILE *f))
{
	int i, j = 1;

	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			cfg.json = true;
			continue;
		}
		if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) {
			if (i + 1 >= *argc) {
				error("%s needs a PATH", argv[i]);
				return EXIT_USAGE;
			}
			cfg.socket = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--socket=", 9)) {
			cfg.socket = argv[i] + 9;
			continue;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return -1;
		}
		argv[j++] = argv[i];
	}
	*argc = j;
	return 0;
}

static int usage_error(void (*help)(FILE *f), const char *fmt, const char *arg)
{
	fputs("Error: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n\n", stderr);
	help(stderr);
	return EXIT_USAGE;
}

/*
 * The format catalog of a kernel image (see the kernel's
 * <linux/kho/abi/catalog.h>): in the first 32 KiB of a bzImage, 16-byte
 * aligned, little-endian: magic[8] "LUCATLG", u16 version (1), u16
 * header size, u32 size, release[16], kernel[72], then NUL-terminated
 * formats (each shorter than 48 bytes) ending with an empty string.
 */
#define CAT_MAGIC	"LUCATLG"
#define CAT_SCAN	0x8000
#define CAT_HDR		104
#define CAT_MAX		4096
#define CAT_NAME	48

struct catalog {
	char release[16];
	char kernel[72];
	char formats[CAT_MAX];
	size_t len;
};

static uint16_t le16(const unsigned char *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* The kernel's rule: names shorter than CAT_NAME, then one empty one. */
static bool formats_ok(const char *p, size_t len)
{
	const char *end = p + len;
	size_t n;

	if (!len || p[len - 1])
		return false;
	while (*p) {
		n = strnlen(p, end - p);
		if (n >= CAT_NAME || p + n + 1 >= end)
			return false;
		p += n + 1;
	}
	return p == end - 1;
}

/* 1 found, 0 none (or one the kernel would not read), -errno. */
static int catalog_read(const char *path, struct catalog *c)
{
	unsigned char buf[CAT_SCAN];
	uint16_t hsz;
	uint32_t size;
	ssize_t n;
	size_t off;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -errno;
	for (off = 0; off + CAT_HDR <= (size_t)n; off += 16) {
		if (memcmp(buf + off, CAT_MAGIC, 8))
			continue;
		hsz = le16(buf + off + 10);
		size = le32(buf + off + 12);
		if (le16(buf + off + 8) != 1 || hsz < CAT_HDR || size <= hsz ||
		    size > CAT_MAX || off + size > (size_t)n ||
		    !memchr(buf + off + 16, 0, 16) ||
		    !memchr(buf + off + 32, 0, 72) ||
		    !formats_ok((char *)buf + off + hsz, size - hsz))
			return 0;
		memcpy(c->release, buf + off + 16, 16);
		memcpy(c->kernel, buf + off + 32, 72);
		c->len = size - hsz;
		memcpy(c->formats, buf + off + hsz, c->len);
		return 1;
	}
	return 0;
}

static bool catalog_reads(const struct catalog *c, const char *fmt)
{
	const char *p = c->formats, *end = c->formats + c->len;

	while (p < end && *p) {
		if (!strcmp(p, fmt))
			return true;
		p += strlen(p) + 1;
	}
	return false;
}

static void check_help(FILE *f)
{
	fprintf(f,
		"Usage: luoctl check IMAGE [-j]\n"
		"\n"
		"Say whether the kernel IMAGE reads everything this kernel's live\n"
		"update sessions preserve: for each preserved file (session, token),\n"
		"global object and LUO's and KHO's own state, its format, the version\n"
		"that would be written (a handler may write an older one IMAGE reads)\n"
		"and whether IMAGE reads it. An image without a format catalog reads\n"
		"no session. The catalog is read from the file; nothing is loaded.\n"
		"\n"
		"Exit status: 0 the update would go through, 1 it would be refused\n"
		"(or IMAGE cannot be read), 2 usage error.\n");
}

/* Print one checked item; @pick is the version written, or NULL. */
static void check_item(bool json, int nth, const char *session,
		       const char *token, const char *fmt, const char *pick)
{
	const char *shown = pick ? pick : fmt;
	char base[64], *v;

	snprintf(base, sizeof(base), "%s", shown);
	v = strrchr(base, '-');
	if (v && v[1] == 'v')
		*v++ = '\0';
	else
		v = NULL;
	if (json) {
		printf("%s{\"session\": ", nth ? ", " : "");
		session ? json_str(session) : (void)printf("null");
		printf(", \"token\": %s, \"format\": ", token ? token : "null");
		json_str(base);
		printf(", \"version\": %s, \"compatible\": ", v ? v + 1 : "null");
		json_str(shown);
		printf(", \"reads\": %s}", pick ? "true" : "false");
	} else {
		printf("%-16s %-8s %-20s %-8s %s\n", session ? session : "-",
		       token ? token : "-", base, v ? v + 1 : "-",
		       pick ? "reads it" : "DOES NOT READ IT");
	}
}

/*
 * Print the check of IMAGE against what /sys/kernel/liveupdate/outgoing
 * lists; return 0 when the loaded IMAGE would be accepted, 1 when
 * refused, -1 on error.
 */
static int check_image(const char *image, bool json)
{
	char line[1024], *save, *kind, *a, *b, *fmt, *w, *pick;
	int ret, items = 0, bad = 0, sessions = 0;
	struct catalog cat = {};
	unsigned long more = 0;
	bool found;
	FILE *f;

	ret = catalog_read(image, &cat);
	if (ret < 0) {
		error("reading %s: %s", image, strerror(-ret));
		return -1;
	}
	found = ret == 1;
	snprintf(line, sizeof(line), "%s%s/outgoing", cfg.sysroot, LU_SYSFS);
	f = fopen(line, "r");
	if (!f) {
		error("reading %s: %s (is live update on in this kernel?)", line,
		      strerror(errno));
		return -1;
	}
	if (json) {
		printf("{\"image\": ");
		json_str(image);
		printf(", \"catalog\": %s, \"kernel\": ", found ? "true" : "false");
		found ? json_str(cat.kernel) : (void)printf("null");
		printf(", \"release\": ");
		found ? json_str(cat.release) : (void)printf("null");
		printf(", \"items\": [");
	} else if (found) {
		printf("image %s: kernel %s, release %s\n", image, cat.kernel,
		       cat.release);
		printf("%-16s %-8s %-20s %-8s %s\n", "SESSION", "TOKEN", "FORMAT",
		       "VERSION", "NEXT KERNEL");
	} else {
		printf("image %s: no live update format catalog (it reads no live update format)\n",
		       image);
	}
	while (fgets(line, sizeof(line), f)) {
		kind = strtok_r(line, WS, &save);
		a = NULL;
		b = NULL;
		if (!kind)
			continue;
		if (!strcmp(kind, "more")) {
			a = strtok_r(NULL, WS, &save);
			more = a ? strtoul(a, NULL, 10) : 1;
			continue;
		}
		if (!strcmp(kind, "session")) {
			sessions++;
			continue;
		}
		if (!strcmp(kind, "file")) {
			a = strtok_r(NULL, WS, &save);
			b = strtok_r(NULL, WS, &save);
		} else if (strcmp(kind, "global") && strcmp(kind, "core")) {
			continue;	/* a kind this luoctl does not know */
		}
		fmt = strtok_r(NULL, WS, &save);
		if (!fmt)
			continue;
		/* The newest version it reads of those that can be written */
		pick = NULL;
		for (w = fmt; w && found; w = strtok_r(NULL, WS, &save)) {
			if (catalog_reads(&cat, w)) {
				pick = w;
				break;
			}
		}
		check_item(json, items, a ? a : !strcmp(kind, "core") ?
			   "(core)" : "(global)", b, fmt, pick);
		items++;
		bad += !pick;
	}
	fclose(f);
	if (!found && sessions)
		bad += !bad;	/* the image takes no session at all */
	if (json) {
		printf("], \"sessions\": %d, \"unchecked\": %lu, \"ok\": %s}\n",
		       sessions, more, bad || more ? "false" : "true");
	} else {
		if (more)
			printf("(%lu more items did not fit in %s/outgoing: not checked)\n",
			       more, LU_SYSFS);
		if (!sessions)
			printf("nothing is preserved: the update goes through\n");
		else if (!found)
			printf("the update would be refused: the image reads none of %d sessions\n",
			       sessions);
		else if (bad)
			printf("the update would be refused: %d of %d items not read\n",
			       bad, items);
		else if (more)
			printf("the image reads the %d items checked; %lu were not\n",
			       items, more);
		else
			printf("the update would go through: all %d items are read\n",
			       items);
	}
	return bad || more ? 1 : 0;
}

static int do_check(int argc, char **argv)
{
	int ret;

	ret = common_opts(&argc, argv, check_help);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (argc > 1 && is_help(argv[1])) {
		check_help(stdout);
		return 0;
	}
	if (argc != 2)
		return usage_error(check_help, "%s", argc < 2 ?
				   "no IMAGE given" : "more than one IMAGE");
	ret = check_image(argv[1], cfg.json);
	return ret < 0 ? 1 : ret;
}

int main(int argc, char **argv)
{
	const char *obj, *root = getenv("LUOCTL_SYSROOT");
	int ret;

	if (root)
		cfg.sysroot = root;
	/* update has options of its own: take only the global ones first. */
	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-j") || !strcmp(argv[1], "--json")) {
			cfg.json = true;
		} else if ((!strcmp(argv[1], "-s") || !strcmp(argv[1], "--socket")) &&
			   argc > 2) {
			cfg.socket = argv[2];
			argv++;
			argc--;
		} else if (!strncmp(argv[1], "--socket=", 9)) {
			cfg.socket = argv[1] + 9;
		} else if (is_help(argv[1])) {
			main_help(stdout);
			return 0;
		} else {
			return usage_error(main_help, "unknown option '%s'", argv[1]);
		}
		argv++;
		argc--;
	}
	if (argc < 2)
		return usage_error(main_help, "%s", "no OBJECT given");
	obj = argv[1];
	argv++;
	argc--;

	if (is_help(obj)) {
		main_help(stdout);
		return 0;
	}
	if (!strcmp(obj, "update"))
		return do_update(argc, argv);
	if (!strcmp(obj, "check"))
		return do_check(argc, argv);

	if (!strcmp(obj, "status")) {
		ret = common_opts(&argc, argv, status_help);
		if (ret)
			return ret < 0 ? 0 : ret;
		if (argc > 1 && is_help(argv[1])) {
			status_help(stdout);
			return 0;
		}
		if (argc > 1)
			return usage_error(status_help, "unexpected argument '%s'",
					   argv[1]);
		return do_status();
	}
	if (!strcmp(obj, "sessions") || !strcmp(obj, "session")) {
		ret = common_opts(&argc, argv, sessions_help);
		if (ret)
			return ret < 0 ? 0 : ret;
		if (argc == 1 || (argc == 2 && !strcmp(argv[1], "show")))
			return do_sessions_show();
		if (is_help(argv[1])) {
			sessions_help(stdout);
			return 0;
		}
		if (argc == 3 && !strcmp(argv[1], "finish"))
			return do_sessions_finish(argv[2]);
		return usage_error(sessions_help, "bad sessions command '%s'",
				   argv[1]);
	}
	if (!strcmp(obj, "file")) {
		ret = common_opts(&argc, argv, file_help);
		if (ret)
			return ret < 0 ? 0 : ret;
		if (argc > 1 && is_help(argv[1])) {
			file_help(stdout);
			return 0;
		}
		if (argc == 5 && !strcmp(argv[1], "save"))
			return do_file_save(argv[2], argv[3], argv[4]);
		if (argc == 5 && !strcmp(argv[1], "restore"))
			return do_file_restore(argv[2], argv[3], argv[4]);
		return usage_error(file_help, "bad file command%s",
				   argc > 1 ? "" : " (none given)");
	}
	if (!strcmp(obj, "log")) {
		if (argc > 1 && !strcmp(argv[1], "write"))
			return do_log_write(argc - 2, argv + 2);
		ret = common_opts(&argc, argv, log_help);
		if (ret)
			return ret < 0 ? 0 : ret;
		if (argc > 1 && is_help(argv[1])) {
			log_help(stdout);
			return 0;
		}
		if (argc == 2 && (!strcmp(argv[1], "--previous") ||
				  !strcmp(argv[1], "-p")))
			return do_log_previous();
		return usage_error(log_help, "%s", "bad log command");
	}
	return usage_error(main_help, "unknown OBJECT '%s'", obj);
}
