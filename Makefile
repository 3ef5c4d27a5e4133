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
#   make test T=x   build, then run the test(s) named x (space separated)
#   make list       list the tests
#   make bench      build, also a kernel without deferred struct page
#                   init, then measure live update (build/bench/)
#   make clean      remove build output but keep the extracted source
#   make distclean  remove build/ entirely
#
# Environment: LU_KVM=1 runs the VMs with KVM instead of TCG;
# LU_TIMEOUT_SCALE=N multiplies every VM timeout; JOBS=N parallel make.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
B := $(TOP)/build
SRC := $(B)/linux
KOBJ := $(B)/kernel
KCFG := $(B)/kconfig
KOBJ_ND := $(B)/kernel-nodeferred
ST := tools/testing/selftests/liveupdate
VM := $(TOP)/$(ST)/vm
JOBS ?= $(shell nproc)

CCACHE := $(shell command -v ccache 2>/dev/null)
KCC := $(if $(CCACHE),ccache gcc,gcc)
KMAKE = $(MAKE) -s -C $(SRC) O=$(KOBJ) ARCH=x86_64 CC="$(KCC)" -j$(JOBS)
FRAGMENTS := $(VM)/x86_64.config $(TOP)/$(ST)/config

BZIMAGE := $(KOBJ)/arch/x86/boot/bzImage
BZIMAGE_ND := $(KOBJ_ND)/arch/x86/boot/bzImage
INITRAMFS := $(B)/initramfs.cpio

.PHONY: all deps source config kernel headers selftests initramfs demo \
	check test list bench bench-kernel clean distclean help FORCE

all: initramfs

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' $(TOP)/Makefile

deps:
	@$(VM)/deps.sh

source: deps
	@$(VM)/prepare-source.sh $(TOP) $(B)

# The config is generated from tinyconfig plus the fragments every time
# (a few seconds) and only copied into place when it differs, so an
# unchanged config never triggers a rebuild.
config: source
	@$(VM)/kconfig.sh $(SRC) $(KCFG) $(KOBJ) $(FRAGMENTS)

kernel: config
	@echo "  KERNEL  $$(cat $(B)/BASE_VERSION)"
	@$(KMAKE) bzImage 2> $(B)/kernel-build.log || { \
		tail -n 30 $(B)/kernel-build.log >&2; \
		echo "Error: kernel build failed (full log: build/kernel-build.log)" >&2; \
		exit 1; }
	@cat $(B)/kernel-build.log >&2
	@echo "  BUILT   $$(cat $(KOBJ)/include/config/kernel.release) -> build/kernel/arch/x86/boot/bzImage"

headers: config
	@$(KMAKE) headers_install INSTALL_HDR_PATH=$(B)/usr >/dev/null

selftests: headers
	@mkdir -p $(B)/selftests
	@$(MAKE) -s -C $(SRC)/$(ST) OUTPUT=$(B)/selftests \
		KHDR_INCLUDES="-isystem $(B)/usr/include" LDFLAGS=-static all

initramfs: kernel selftests
	@$(VM)/mkinitramfs.sh $(SRC) $(B) $(BZIMAGE) $(INITRAMFS)

demo: all
	@$(VM)/run.sh --demo $(or $(D),demo)

# The benchmark also measures a kernel without deferred struct page init.
bench-kernel: source
	@$(VM)/kconfig.sh $(SRC) $(B)/kconfig-nodeferred $(KOBJ_ND) $(FRAGMENTS) \
		$(VM)/nodeferred.config
	@echo "  KERNEL  $$(cat $(B)/BASE_VERSION), no deferred struct page init"
	@$(MAKE) -s -C $(SRC) O=$(KOBJ_ND) ARCH=x86_64 CC="$(KCC)" -j$(JOBS) \
		bzImage 2> $(B)/kernel-nodeferred-build.log || { \
		tail -n 30 $(B)/kernel-nodeferred-build.log >&2; \
		echo "Error: kernel build failed (full log: build/kernel-nodeferred-build.log)" >&2; \
		exit 1; }
	@$(VM)/mkinitramfs.sh $(SRC) $(B) $(BZIMAGE_ND) $(B)/initramfs-nodeferred.cpio

bench: all bench-kernel
	@$(VM)/bench.sh

check: all
	@$(VM)/run.sh --all

test: all
	@$(VM)/run.sh $(T)

list:
	@$(VM)/run.sh --list

clean:
	rm -rf $(KOBJ) $(KCFG) $(KOBJ_ND) $(B)/kconfig-nodeferred $(B)/usr \
		$(B)/selftests $(B)/initramfs* $(B)/bench \
		$(B)/logs $(B)/*.log

distclean:
	rm -rf $(B)
