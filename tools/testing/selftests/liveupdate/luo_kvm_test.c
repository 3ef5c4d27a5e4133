// SPDX-License-Identifier: GPL-2.0
/*
 * Test case: a KVM virtual machine survives a live update.
 *
 * A tiny VMM (lib/lu_vmm.c) runs a real-mode guest that counts in its
 * own RAM. Stage 1 pauses the vCPU, saves its registers and the VMM's
 * device state in a memfd, and preserves that memfd and the guest's RAM
 * in session "vm". Stage 2, in the next kernel, retrieves both, rebuilds
 * the VM on the same RAM (mapped, not copied: the host frames are the
 * same), restores the vCPU, and checks that the guest carries on from
 * the exact count where it stopped and that its memory is intact.
 *
 * One variant per scenario (lu.case= in vm/tests picks it); the first
 * three name the guest RAM:
 *   shmem    a memfd
 *   hugetlb  a memfd of 2 MiB HugeTLB pages
 *   gmem     a guest_memfd (GUEST_MEMFD_FLAG_MMAP, 4 KiB pages) of a
 *            software-protected VM, mapped as the slot's shared memory
 *            too; the ring is private (KVM reaches it through the
 *            guest_memfd), the rest shared; the next kernel's VM adopts it
 *   killed   a VMM that preserved its VM and was killed before the
 *            update: nothing is preserved and nothing crosses
 *
 * Stage 2 runs with the background fill of retrieved files off
 * (CONFIG_LIVEUPDATE_TEST), so that the guest's memory comes back
 * through the VMM's and KVM's own lookups. It also tries to rebuild the
 * VM with twice the RAM first: the VMM refuses a memfd of the wrong
 * size, and KVM refuses to bind a guest_memfd too small for the slot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lu_harness.h"
#include "lu_luo.h"
#include "lu_vmm.h"

#define RAM_SIZE	(32ULL << 20)
#define RUN_TO		0x40000		/* counter before the pause */
#define TOKEN_RAM	1
#define TOKEN_STATE	2
#define TOKEN_GMEM	3
#define PRESERVED	"/sys/kernel/debug/kho/out/preserved_bytes"

FIXTURE(kvm) {};

FIXTURE_VARIANT(kvm) {
	void (*stage[LU_STAGES_MAX])(const FIXTURE_VARIANT(kvm) *variant);
	enum lu_vmm_ram ram;
};

static void need_kvm(void)
{
	luo_require();
	/* The test kernel has KVM and the VM runs with -cpu qemu64,+svm. */
	if (access("/dev/kvm", R_OK | W_OK))
		ksft_exit_fail_msg("/dev/kvm: %s (KVM_AMD and -cpu qemu64,+svm needed)\n",
				   strerror(errno));
}

/* Start a VM on new RAM and let it count to RUN_TO; exits on failure. */
static void vm_start(struct lu_vmm *v, enum lu_vmm_ram kind)
{
	const char *why;
	int ram, vm, err;

	ram = lu_vmm_ram_create(kind, RAM_SIZE, &vm);
	if (ram < 0)
		ksft_exit_fail_msg("%s RAM: %s\n", lu_vmm_ram_name(kind),
				   strerror(-ram));
	err = lu_vmm_build(v, kind, ram, RAM_SIZE, vm, &why);
	if (err)
		ksft_exit_fail_msg("%s: %s\n", why, strerror(-err));
	err = lu_vmm_boot(v);
	if (!err)
		err = lu_vmm_run_until(v, RUN_TO);
	if (err)
		ksft_exit_fail_msg("running the guest: %s\n", strerror(-err));
}

static int state_memfd(const struct lu_vmm_state *st)
{
	int fd = memfd_create("lu-vmm-state", 0);

	if (fd < 0 || pwrite(fd, st, sizeof(*st), 0) != sizeof(*st))
		ksft_exit_fail_msg("state memfd: %s\n", strerror(errno));
	return fd;
}

/* Pause the VM and preserve its RAM and state in session "vm". */
static int vm_preserve(int luo, struct lu_vmm *v, struct lu_vmm_state *st)
{
	int session, err;

	err = lu_vmm_pause(v, st);
	if (err)
		ksft_exit_fail_msg("pausing the vCPU: %s\n", strerror(-err));
	st->csum = lu_vmm_csum(v);
	st->pfn[0] = lu_vmm_pfn(v, 0);
	st->pfn[1] = lu_vmm_pfn(v, v->ram_size - 4096);
	session = luo_create_session(luo, "vm");
	luo_preserve_fd(session, v->ram_fd, TOKEN_RAM);
	luo_preserve_fd(session, state_memfd(st), TOKEN_STATE);
	return session;
}

static long long kho_preserved(void)
{
	char buf[32] = "";
	int fd = open(PRESERVED, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		ksft_exit_fail_msg("%s: %s\n", PRESERVED, strerror(errno));
	close(fd);
	return atoll(buf);
}

static void stage1_killed(const FIXTURE_VARIANT(kvm) *variant)
{
	long long before, during, after;
	char buf[64];
	int luo, pipefd[2], status;
	pid_t pid;

	need_kvm();
	before = kho_preserved();
	if (pipe(pipefd))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (!pid) {
		struct lu_vmm v, g;
		struct lu_vmm_state st, gst;
		int session;

		luo = luo_open();
		vm_start(&v, LU_VMM_SHMEM);
		vm_start(&g, LU_VMM_GMEM);
		session = vm_preserve(luo, &v, &st);
		if (lu_vmm_pause(&g, &gst))
			_exit(1);
		luo_preserve_fd(session, g.ram_fd, TOKEN_GMEM);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	if (read(pipefd[0], buf, 1) != 1)
		ksft_exit_fail_msg("the VMM failed before it preserved its VM\n");
	during = kho_preserved();
	lu_check(luo_sysfs("sessions_out", buf, sizeof(buf)) == 1 &&
		 during >= before + 2 * (long long)RAM_SIZE,
		 "the VMM preserved its VM: 1 session, %lld MiB more preserved\n",
		 (during - before) >> 20);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	after = kho_preserved();
	lu_check(luo_sysfs("sessions_out", buf, sizeof(buf)) == 0,
		 "killed VMM: no session left to hand over\n");
	lu_check(after == before,
		 "killed VMM: preserved memory back to %lld bytes (%lld)\n",
		 before, after);
	lu_kexec_next(NULL);
}

static void stage2_killed(const FIXTURE_VARIANT(kvm) *variant)
{
	char buf[64];
	int luo, err;

	need_kvm();
	luo = luo_open();
	lu_check(luo_sysfs("sessions_in", buf, sizeof(buf)) == 0,
		 "nothing handed over\n");
	err = __luo_retrieve_session(luo, "vm");
	lu_check(err == -ENOENT, "no session \"vm\" to retrieve: %s\n",
		 strerror(-err));
}

static void stage1(const FIXTURE_VARIANT(kvm) *variant)
{
	struct lu_vmm_state st;
	struct lu_vmm v;
	int luo;

	need_kvm();
	luo = luo_open();
	vm_start(&v, variant->ram);
	lu_check(lu_vmm_ring_ok(&v, lu_vmm_counter(&v)) &&
		 !lu_vmm_pattern_bad(&v),
		 "%s guest counted to 0x%x\n", lu_vmm_ram_name(v.ram_kind),
		 lu_vmm_counter(&v));
	vm_preserve(luo, &v, &st);
	ksft_print_msg("paused at count 0x%llx, rip 0x%llx, %llu exits, csum %016llx\n",
		       (unsigned long long)st.counter,
		       (unsigned long long)st.regs.rip,
		       (unsigned long long)st.exits,
		       (unsigned long long)st.csum);
	lu_check(st.pfn[0] && st.pfn[1],
		 "RAM frames 0x%llx..0x%llx\n",
		 (unsigned long long)st.pfn[0],
		 (unsigned long long)st.pfn[1]);

	/* Preserved RAM has a fixed size. */
	if (v.ram_kind == LU_VMM_GMEM)
		lu_check(fallocate(v.ram_fd, FALLOC_FL_PUNCH_HOLE |
				   FALLOC_FL_KEEP_SIZE, 0, 4096) &&
			 errno == EBUSY,
			 "punching a hole in preserved guest_memfd: EBUSY\n");
	else
		lu_check(ftruncate(v.ram_fd, RAM_SIZE / 2) &&
			 errno == EBUSY,
			 "shrinking preserved guest RAM: EBUSY\n");
	/* The VM stays paused until the reboot. */
	lu_kexec_next(NULL);
}

/*
 * Rebuild the VM on @ram_fd with @size bytes of RAM. The VMM refuses a
 * memfd of another size; for a guest_memfd it leaves the check to KVM.
 */
/* Punch a hole in the last page of the guest RAM file; 0 or -1 (errno). */
static int punch_last_page(enum lu_vmm_ram kind, int fd, uint64_t size)
{
	uint64_t page = kind == LU_VMM_HUGETLB ? 2 << 20 : 4096;

	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 size - page, page);
}

static int vm_rebuild(struct lu_vmm *v, enum lu_vmm_ram kind, int ram_fd,
		      uint64_t size)
{
	const char *why;
	struct stat sb;
	int err;

	memset(v, 0, sizeof(*v));
	v->kvm = -1;
	v->vm = -1;
	v->vcpu = -1;
	v->ram = MAP_FAILED;
	if (kind != LU_VMM_GMEM) {
		if (fstat(ram_fd, &sb))
			return -errno;
		if ((uint64_t)sb.st_size != size) {
			ksft_print_msg("refused: %lld bytes of RAM preserved, the VM has %llu\n",
				       (long long)sb.st_size,
				       (unsigned long long)size);
			return -EINVAL;
		}
	}
	err = lu_vmm_build(v, kind, ram_fd, size, -1, &why);
	if (err)
		ksft_print_msg("%s: %s\n", why, strerror(-err));
	return err;
}

static void stage2(const FIXTURE_VARIANT(kvm) *variant)
{
	struct lu_vmm_state st;
	struct lu_vmm v, bad;
	struct kvm_regs regs;
	uint32_t count;
	char buf[64];
	int luo, session, ram, state, err;

	need_kvm();
	/*
	 * No background fill: what the guest and the VMM read comes in
	 * through their own faults, and finish puts in the rest.
	 */
	err = lu_fill_worker(0);
	ksft_print_msg("background fill: %s\n",
		       err ? strerror(-err) : "off until finish");
	luo = luo_open();
	session = luo_retrieve_session(luo, "vm");
	state = luo_retrieve_fd(session, TOKEN_STATE);
	if (pread(state, &st, sizeof(st), 0) != sizeof(st) ||
	    st.magic != LU_VMM_STATE_MAGIC || st.ram_kind != variant->ram ||
	    st.ram_size != RAM_SIZE)
		ksft_exit_fail_msg("the saved VM state is not ours\n");
	ram = luo_retrieve_fd(session, TOKEN_RAM);

	err = vm_rebuild(&bad, st.ram_kind, ram, st.ram_size * 2);
	lu_check(err == -EINVAL,
		 "a VM with twice the RAM is refused: %s\n",
		 strerror(-err));
	lu_vmm_destroy(&bad);

	err = vm_rebuild(&v, st.ram_kind, ram, st.ram_size);
	if (err)
		ksft_exit_fail_msg("rebuilding the VM: %s\n", strerror(-err));
	lu_check(lu_vmm_csum(&v) == st.csum && !lu_vmm_pattern_bad(&v) &&
		 lu_vmm_counter(&v) == st.counter,
		 "guest RAM intact: csum %016llx, count 0x%x\n",
		 (unsigned long long)lu_vmm_csum(&v), lu_vmm_counter(&v));
	lu_check(lu_vmm_pfn(&v, 0) == st.pfn[0] &&
		 lu_vmm_pfn(&v, st.ram_size - 4096) == st.pfn[1],
		 "guest RAM in place: frames 0x%llx..0x%llx\n",
		 (unsigned long long)lu_vmm_pfn(&v, 0),
		 (unsigned long long)lu_vmm_pfn(&v, st.ram_size - 4096));

	err = lu_vmm_restore(&v, &st);
	if (err)
		ksft_exit_fail_msg("restoring the vCPU: %s\n", strerror(-err));
	/* One exit: the guest ran on from its "out" to the next one. */
	err = lu_vmm_run_until(&v, 0);
	count = lu_vmm_counter(&v);
	if (err || ioctl(v.vcpu, KVM_GET_REGS, &regs))
		ksft_exit_fail_msg("running the restored guest: %s\n",
				   strerror(err ? -err : errno));
	lu_check(count == st.counter + LU_VMM_EXIT_EVERY &&
		 (uint32_t)regs.rbx == count,
		 "guest carried on from 0x%llx to 0x%x (ebx 0x%x)\n",
		 (unsigned long long)st.counter, count, (uint32_t)regs.rbx);
	lu_check(v.exits == st.exits + 1,
		 "device state restored: %llu exits\n",
		 (unsigned long long)v.exits);
	err = lu_vmm_run_until(&v, st.counter + 0x40000);
	lu_check(!err && lu_vmm_ring_ok(&v, lu_vmm_counter(&v)) &&
		 !lu_vmm_pattern_bad(&v),
		 "guest kept counting to 0x%x, memory consistent\n",
		 lu_vmm_counter(&v));

	/* Its memory is the previous kernel's until the session is finished. */
	errno = 0;
	lu_check(punch_last_page(variant->ram, ram, st.ram_size) && errno == EBUSY,
		 "punching a hole in the retrieved guest RAM before finish: %s\n",
		 strerror(errno));
	/* The guest RAM file lives on after the session is finished. */
	luo_finish(session);
	lu_fill_worker(1);
	lu_check(lu_vmm_run_until(&v, lu_vmm_counter(&v) + 0x1000) == 0,
		 "guest runs after finish\n");
	lu_vmm_destroy(&v);
	lu_check(!punch_last_page(variant->ram, ram, st.ram_size),
		 "and after it: %s\n", strerror(errno));
	close(ram);
	lu_check(luo_sysfs("sessions_finished", buf, sizeof(buf)) == 1,
		 "session finished\n");
}

FIXTURE_VARIANT_ADD(kvm, shmem) {
	.stage = { stage1, stage2 },
	.ram = LU_VMM_SHMEM,
};

FIXTURE_VARIANT_ADD(kvm, hugetlb) {
	.stage = { stage1, stage2 },
	.ram = LU_VMM_HUGETLB,
};

FIXTURE_VARIANT_ADD(kvm, gmem) {
	.stage = { stage1, stage2 },
	.ram = LU_VMM_GMEM,
};

FIXTURE_VARIANT_ADD(kvm, killed) {
	.stage = { stage1_killed, stage2_killed },
};

FIXTURE_SETUP(kvm)
{
}

FIXTURE_TEARDOWN(kvm)
{
}

TEST_F_TIMEOUT(kvm, stages, LU_STAGE_TIMEOUT)
{
	int i = lu_stage_index(_metadata);

	if (i < 0)
		return;
	ASSERT_NE(NULL, variant->stage[i]);
	variant->stage[i](variant);
	EXPECT_EQ(0, lu_checks_failed());
}

int main(int argc, char **argv)
{
	return lu_harness_main(argc, argv);
}
