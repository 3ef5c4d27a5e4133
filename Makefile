# SPDX-License-Identifier: GPL-2.0
#
# Live update for Linux 6.12 LTS: build and test driver.
#
#   make            fetch the base source, apply patches/, overlay the
#                   project, build the kernel, the selftests and the
#                   initramfs (all under build/)
#   make demo       build, then run the live update demo in a VM
#                   (D=kho_demo: the kexec handover demo)
#   make check      build, then run every test (static checks, KUnit,
#                   kexec cycles in QEMU); ends with "N passed, N failed"
#                   (CHECK_SANITIZE="a b": also a and b on the sanitized
#                   kernel; SANITIZE=1: every test there instead)
#   make check-sanitize  the tests that guard memory and devices, on the
#                   sanitized kernel (25 to 35 minutes from cold)
#   make test T=x   build, then run the test(s) named x (space separated;
#                   NAME@sanitize runs NAME on the sanitized kernel)
#   make sanitize-kernel  build the test kernel with KASAN, kmemleak,
#                   UBSAN and KFENCE (build/kernel-sanitize/)
#   make list       list the tests (config-nokho and config-modular
#                   build the tree without live update, and modular)
#   make kernels    build or fetch the other kernels the cross-kernel
#                   tests boot (build/kernels/: the series on 6.12.111,
#                   an earlier release, Debian's stock kernel)
#   make bench      build, also a kernel without deferred struct page
#                   init, then measure live update (build/bench/)
#   make clean      remove build output but keep the extracted source
#   make distclean  remove build/ entirely
#   make release    print the release of the series this tree is
#   make series     write the series a maintainer receives, as
#                   patches/manifest groups the tree, to build/series/
#                   (git format-patch, with a cover letter), check that
#                   git am of it gives the tree that is built, and run
#                   checkpatch --strict on each patch
#   make distro-kernel  build the series with Debian's own cloud-amd64
#                   configuration of the base (plus the live update
#                   options) and run the memfd and KVM live update tests
#                   on it (long; not in check)
#   make series-check  apply the series one patch at a time and build
#                   each step in the test configuration, then the tip in
#                   x86_64_defconfig with live update (long; not in check)
#
# BASE=6.12.N builds (and tests) the series on that linux-source-6.12
# version, under build/base-6.12.N/. Without BASE the output is in build/
# itself and the base is the release the series is made for,
# patches/base-version. A version that is not the installed package is
# downloaded with apt-get once.
#
# SANITIZE=1 makes "make check" run every VM test on the sanitized kernel
# (a kmemleak scan ends every stage; any report or leak fails the test),
# and "make test" run the tests of T so.
#
# Environment: LU_KVM=1 runs the VMs with KVM instead of TCG;
# LU_TIMEOUT_SCALE=N multiplies every VM timeout; JOBS=N parallel make;
# LU_JOBS=N runs up to N VM tests at a time (default: the CPU count, at
# most 4).

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BASE ?=
B := $(TOP)/build$(if $(BASE),/base-$(BASE))
SRC := $(B)/linux
KOBJ := $(B)/kernel
KCFG := $(B)/kconfig
KOBJ_ND := $(B)/kernel-nodeferred
ST := tools/testing/selftests/liveupdate
VM := $(TOP)/$(ST)/vm
SCRIPTS := $(TOP)/scripts
JOBS ?= $(shell nproc)

# The release of the series, from the one place the tree records it; the
# kernel's release string is "<base>-<release>", e.g. 6.12.118-lu1.
LU_RELEASE := $(shell sed -n '/^config LIVEUPDATE_RELEASE/,/^config/s/^[[:space:]]*default "\(.*\)"/\1/p' \
	$(TOP)/kernel/liveupdate/Kconfig)
RELEASE_CFG := $(B)/release.config

# Kernels of other bases and releases share ccache entries: paths are
# made relative to build/ and the working directory is not hashed.
export CCACHE_BASEDIR := $(TOP)/build
export CCACHE_NOHASHDIR := 1
# Every configuration make check builds (about six kernels) must stay in
# the cache at once; ccache's default of 5 GB evicts some of them.
export CCACHE_MAXSIZE ?= 20G

CCACHE := $(shell command -v ccache 2>/dev/null)
KCC := $(if $(CCACHE),ccache gcc,gcc)
KMAKE = $(MAKE) -s -C $(SRC) O=$(KOBJ) ARCH=x86_64 CC="$(KCC)" -j$(JOBS)
FRAGMENTS := $(VM)/x86_64.config $(TOP)/$(ST)/config $(RELEASE_CFG)
RUN := LU_BUILD=$(B) $(VM)/run.sh
# When make started: "make check" says how long the builds before the
# tests took.
T0 := $(shell date +%s)
SANITIZE ?=
BZIMAGE_SAN := $(B)/kernel-sanitize/arch/x86/boot/bzImage

# The tests of "make check-sanitize" (SANITIZE=1 runs them all): the
# devices kept running, the handover refused, memory preserved and
# restored, hostile user space; the longest first, so that both lanes
# stay busy to the end ("kho", 6 minutes there, is left to SANITIZE=1:
# kho_bad_tracker and kho_off cover its paths). "make check" runs them
# only if CHECK_SANITIZE names them: from a cold compiler cache the
# sanitized kernel alone takes about 14 minutes to build and these tests
# 12 to 20 more: with the rest, a cold CI run ran out of its 90 minutes.
SANITIZE_TESTS := luo_memfd luo_race luo_stall luo_fuzz kho_off \
	luo_vfio_retrieve luo_vfio_retrieve_bad luo_vfio_split \
	luo_vfio_hitless luo_vfio_bad_iommu luo_vfio_bad_table \
	luo_vfio_race luo_vfio_kept luo_vfio_kept_gmem kho_bad_tracker \
	luo_kvm_gmem luo_hugetlb_hvo1 luo_api luo_vfio_kept_corrupt \
	luo_memfd_bad_phys luo_trim kunit
CHECK_SANITIZE ?=

BZIMAGE := $(KOBJ)/arch/x86/boot/bzImage
BZIMAGE_ND := $(KOBJ_ND)/arch/x86/boot/bzImage
INITRAMFS := $(B)/initramfs.cpio

.PHONY: all deps source config kernel headers selftests initramfs demo \
	check test list bench bench-kernel clean distclean help release \
	kernels sanitize-kernel check-sanitize series series-check distro-kernel FORCE

all: initramfs

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' $(TOP)/Makefile

deps:
	@$(SCRIPTS)/deps.sh

release:
	@echo $(LU_RELEASE)

source: deps
	@$(SCRIPTS)/prepare-source.sh $(TOP) $(B) $(BASE)

# The local version names the release; rewritten only when it changes.
$(RELEASE_CFG): FORCE
	@mkdir -p $(B)
	@echo 'CONFIG_LOCALVERSION="-$(LU_RELEASE)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# The config is generated from tinyconfig plus the fragments every time
# (a few seconds) and only copied into place when it differs, so an
# unchanged config never triggers a rebuild.
config: source $(RELEASE_CFG)
	@$(SCRIPTS)/kconfig.sh $(SRC) $(KCFG) $(KOBJ) $(FRAGMENTS)

kernel: config
	@echo "  KERNEL  $$(cat $(B)/BASE_VERSION)"
	@$(KMAKE) bzImage 2> $(B)/kernel-build.log || { \
		tail -n 30 $(B)/kernel-build.log >&2; \
		echo "Error: kernel build failed (full log: build/kernel-build.log)" >&2; \
		exit 1; }
	@cat $(B)/kernel-build.log >&2
	@echo "  BUILT   $$(cat $(KOBJ)/include/config/kernel.release) -> $(BZIMAGE:$(TOP)/%=%)"

headers: config
	@$(KMAKE) headers_install INSTALL_HDR_PATH=$(B)/usr >/dev/null

selftests: headers
	@mkdir -p $(B)/selftests
	@$(MAKE) -s -C $(SRC)/$(ST) OUTPUT=$(B)/selftests \
		KHDR_INCLUDES="-isystem $(B)/usr/include" LDFLAGS=-static all

initramfs: kernel selftests
	@$(VM)/mkinitramfs.sh $(SRC) $(B) $(BZIMAGE) $(INITRAMFS)

# The other kernels of the cross-kernel tests; see scripts/mkkernels.sh.
kernels: all
	@MAKE="$(MAKE)" $(SCRIPTS)/mkkernels.sh $(TOP) $(B)

demo: all
	@$(RUN) --demo $(or $(D),demo)

# The benchmark also measures a kernel without deferred struct page init.
bench-kernel: source $(RELEASE_CFG)
	@$(SCRIPTS)/kconfig.sh $(SRC) $(B)/kconfig-nodeferred $(KOBJ_ND) $(FRAGMENTS) \
		$(SCRIPTS)/nodeferred.config
	@echo "  KERNEL  $$(cat $(B)/BASE_VERSION), no deferred struct page init"
	@$(MAKE) -s -C $(SRC) O=$(KOBJ_ND) ARCH=x86_64 CC="$(KCC)" -j$(JOBS) \
		bzImage 2> $(B)/kernel-nodeferred-build.log || { \
		tail -n 30 $(B)/kernel-nodeferred-build.log >&2; \
		echo "Error: kernel build failed (full log: build/kernel-nodeferred-build.log)" >&2; \
		exit 1; }
	@$(VM)/mkinitramfs.sh $(SRC) $(B) $(BZIMAGE_ND) $(B)/initramfs-nodeferred.cpio

# BENCH_VARIANTS=deferred measures only the kernel "all" builds.
bench: all $(if $(filter nodeferred,$(or $(BENCH_VARIANTS),nodeferred)),bench-kernel)
	@LU_BUILD=$(B) $(SCRIPTS)/bench.sh

check-sanitize: sanitize-kernel
	@$(RUN) $(addsuffix @sanitize,$(SANITIZE_TESTS))

sanitize-kernel: all
	@$(SCRIPTS)/build-config.sh sanitize
	@$(VM)/mkinitramfs.sh $(SRC) $(B) $(BZIMAGE_SAN) $(B)/initramfs-sanitize.cpio

ifeq ($(SANITIZE),1)
check: sanitize-kernel
	@LU_T0=$(T0) $(RUN) --all-sanitize
else
check: all kernels $(if $(CHECK_SANITIZE),sanitize-kernel)
	@LU_T0=$(T0) $(RUN) --all $(addsuffix @sanitize,$(CHECK_SANITIZE))
endif

# Tests that boot other kernels (lu.kernels=) need them up to date.
LU_KERNEL_TESTS = $(shell awk '/lu\.kernels=/ { print $$1 }' $(VM)/tests)
test: all $(if $(filter $(LU_KERNEL_TESTS) $(addsuffix @sanitize,$(LU_KERNEL_TESTS)),$(T)),kernels) \
	$(if $(or $(filter %@sanitize,$(T)),$(filter 1,$(SANITIZE))),sanitize-kernel)
	@$(RUN) $(if $(filter 1,$(SANITIZE)),$(addsuffix @sanitize,$(filter-out %@sanitize,$(T))) $(filter %@sanitize,$(T)),$(T))

list:
	@$(RUN) --list

distro-kernel: all
	@$(SCRIPTS)/distro-kernel.sh $(TOP) $(B)
	@$(RUN) $$(awk '$$2 == "distro" { print $$1 }' $(VM)/tests)

series: source
	@LU_BUILD=$(B) $(SCRIPTS)/series.sh --checkpatch $(BASE)

series-check: series $(RELEASE_CFG)
	@LU_BUILD=$(B) $(SCRIPTS)/series-check.sh $(BASE)

clean:
	rm -rf $(KOBJ) $(KCFG) $(KOBJ_ND) $(B)/kernel-* $(B)/kconfig-* $(B)/usr $(RELEASE_CFG) \
		$(B)/selftests $(B)/initramfs* $(B)/bench $(B)/series $(B)/series-check \
		$(B)/logs $(B)/*.log

distclean:
	rm -rf $(TOP)/build
