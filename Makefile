# SPDX-License-Identifier: Apache-2.0
#
# make demo      boot a Debian kernel in a VM, run `seccomptrace watch` on the built-in workload
# make test      host unit tests + VM tests on the Debian 6.1 and 6.12 kernels, and on 6.12 arm64
# make vmtest    VM tests on one kernel: KERNEL=6.1 (a name from vmtest/kernels.txt) or KERNEL=/path/to/bzImage;
#                the matrix's KTAP, JSON and JUnit go to REPORT_DIR (build/reports/KERNEL) and are checked with kunit.py;
#                ARCH=arm64 boots Debian's arm64 build of KERNEL under qemu-system-aarch64 with GOARCH=arm64 binaries
# make vmtest-conformance  the same with only doctor and the matrix in the guest (what kernel CI wants)
# make generate  rebuild gen/ from bpf/ (the probes and the inventory iterator; needs clang; the output is committed)

SHELL := /bin/bash
GO ?= go
# Pinned for reproducible gen/ output: Debian 12's clang.
BPF_CLANG ?= clang-14
BPF_CFLAGS ?= -O2 -g -Wall -Werror
KERNEL ?= 6.1
TEST_KERNELS ?= 6.1 6.12
# make test also runs the VM suite on Debian's arm64 build of these (under
# qemu-system-aarch64, TCG): about 15 minutes for 6.12 on 2 cores.
TEST_KERNELS_ARM64 ?= 6.12
ALL_KERNELS_ARM64 ?= 6.1 6.12
ALL_KERNELS ?= 5.10 6.1 6.12 7.3
VMTIMEOUT ?= 1500
# Where each VM run leaves its conformance reports: $(REPORTS)/KERNEL, or
# REPORT_DIR for `make vmtest`/`make vmtest-conformance`.
REPORTS ?= $(BUILD)/reports
REPORT_DIR ?=

# ARCH=arm64: the binaries go to build/arm64 and the guests are arm64 (vmtest only).
ARCH ?= amd64
ifeq ($(ARCH),amd64)
BUILD := build
else ifeq ($(ARCH),arm64)
BUILD := build/arm64
export GOARCH := arm64
# run.sh boots an arm64 guest; suite.sh (in it) runs the binaries in BUILD.
export VMTEST_ARCH := arm64
export VMTEST_BUILD := $(BUILD)
else
$(error ARCH must be amd64 or arm64, not '$(ARCH)')
endif
TESTBINS := $(BUILD)/observer.test $(BUILD)/audit.test $(BUILD)/conformance.test $(BUILD)/cmd.test $(BUILD)/seccomptrace
GOFILES := $(shell find . -name '*.go' -not -path './build/*') go.mod go.sum
# The committed bpf2go objects: the probes and the filter inventory's iterator.
GENOBJS := gen/seccomp_x86_bpfel.o gen/inventory_x86_bpfel.o gen/seccomp_arm64_bpfel.o gen/inventory_arm64_bpfel.o

.PHONY: all build generate check-generate unit vmtest vmtest-conformance vmtest-all test demo deps deps-kunit check-ci kernel-config clean bench perf

all: build

build: $(TESTBINS)

$(BUILD)/seccomptrace: $(GOFILES) $(GENOBJS)
	$(GO) build -o $@ ./cmd/seccomptrace

$(BUILD)/observer.test: $(GOFILES) $(GENOBJS)
	$(GO) test -c -o $@ ./observer

$(BUILD)/audit.test: $(GOFILES)
	$(GO) test -c -o $@ ./observer/audit

$(BUILD)/conformance.test: $(GOFILES) $(GENOBJS)
	$(GO) test -c -o $@ ./observer/conformance

$(BUILD)/cmd.test: $(GOFILES) $(GENOBJS)
	$(GO) test -c -o $@ ./cmd/seccomptrace

generate:
	@command -v $(BPF_CLANG) >/dev/null || { echo "make generate: $(BPF_CLANG) missing: apt-get install clang-14 llvm-14" >&2; exit 1; }
	cd gen && BPF_CLANG=$(BPF_CLANG) BPF_CFLAGS="$(BPF_CFLAGS)" $(GO) generate ./...

# CI: the committed gen/ must be what bpf/ compiles to.
check-generate: generate
	git diff --exit-code -- gen/ || { echo "gen/ is not up to date with bpf/: run 'make generate' and commit" >&2; exit 1; }

# Unprivileged host tests. The BPF tests skip here (the host kernel refuses tracing) and run in the VM.
# The arm64 build is checked here too: vet, the packages, and the VM test
# binaries (compiled, not run: GOARCH=arm64 runs in the arm64 guest).
unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	GOARCH=arm64 $(GO) vet ./...
	GOARCH=arm64 $(GO) build ./...
	@set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	for p in ./observer ./observer/audit ./observer/conformance ./cmd/seccomptrace; do \
		GOARCH=arm64 $(GO) test -c -o "$$d/" $$p; \
	done; echo "arm64: vet, build and test binaries of the VM packages compile"

deps:
	vmtest/setup.sh host

# deps plus the kernel's KTAP parser (tools/testing/kunit of linux-source-6.1).
deps-kunit:
	vmtest/setup.sh kunit

# Configure a kernel tree for `make vmtest KERNEL=TREE/arch/x86/boot/bzImage`:
#   make kernel-config KERNEL_TREE=~/linux [KCONFIG_FORCE=1]
kernel-config:
	@[ -n "$(KERNEL_TREE)" ] || { echo "make kernel-config: set KERNEL_TREE=/path/to/linux" >&2; exit 2; }
	vmtest/kconfig.sh $(if $(KCONFIG_FORCE),--force) "$(KERNEL_TREE)"

# The CI files parse, have the keys GitHub needs, and call make targets that exist.
check-ci:
	python3 contrib/ci/check-yaml.py action.yml contrib/ci/kernel-ci.yml README.md

vmtest: build deps-kunit
	@k='$(KERNEL)'; d='$(or $(REPORT_DIR),$(REPORTS)/$(notdir $(KERNEL)))'; $(VMSUITE)

vmtest-conformance: build deps-kunit
	@k='$(KERNEL)'; d='$(or $(REPORT_DIR),$(REPORTS)/$(notdir $(KERNEL)))'; $(VMSUITE) conformance

# vmsuite.sh boots the kernel (a guest that dies at boot is retried once),
# runs vmtest/suite.sh, then checks the conformance KTAP with kunit.py.
# The shell variables k (the kernel) and d (the report folder) say what to run.
VMSUITE = VMTIMEOUT=$(VMTIMEOUT) vmtest/vmsuite.sh "$$k" "$$d"

test: deps-kunit check-ci unit build
	@set -e; for k in $(TEST_KERNELS); do \
		echo "=== VM tests on Debian $$k"; \
		d=$(REPORTS)/$$k; $(VMSUITE); \
	done
	@set -e; for k in $(TEST_KERNELS_ARM64); do \
		echo "=== VM tests on Debian $$k arm64"; \
		$(MAKE) --no-print-directory vmtest ARCH=arm64 KERNEL=$$k; \
	done
	@echo "=== check with audit=0 at boot, Debian 6.12"; \
	run() { SECCOMPTRACE_AUDIT_OFF_BOOT=1 vmtest/run.sh --kernel 6.12 --append audit=0 --timeout $(VMTIMEOUT) -- \
		$(BUILD)/cmd.test -test.v -test.count=1 -test.run '^TestCheckAuditDisabledAtBootVM$$'; }; \
	run || { rc=$$?; if [ $$rc = 124 ] || [ $$rc = 255 ]; then echo "=== guest died ($$rc): retrying once"; run; else exit $$rc; fi; }

# vmtest-all: every x86 kernel, then every arm64 one (ARCH=arm64).
vmtest-all: build deps-kunit
	@set -e; for k in $(ALL_KERNELS); do \
		echo "=== VM tests on Debian $$k"; \
		d=$(REPORTS)/$$k; $(VMSUITE); \
	done
	@set -e; for k in $(ALL_KERNELS_ARM64); do \
		echo "=== VM tests on Debian $$k arm64"; \
		$(MAKE) --no-print-directory vmtest ARCH=arm64 KERNEL=$$k; \
	done

# On a host that allows BPF tracing the demo runs directly; elsewhere in a VM.
demo: build deps
	@if $(BUILD)/seccomptrace doctor >/dev/null 2>&1; then vmtest/demo.sh; \
	else echo "host kernel cannot trace: running the demo in a VM on Debian $(KERNEL)"; \
	vmtest/setup.sh kernel $(KERNEL) && vmtest/run.sh --kernel $(KERNEL) --timeout $(VMTIMEOUT) -- vmtest/demo.sh; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./observer/... ./cmd/...

# What seccomptrace costs the traced system, in one boot of Debian 6.12
# (TCG: only ratios mean something; see vmtest/perf.sh). PERF_LONG=600 adds
# a 10-minute watch under a sustained flood and prints its RSS.
PERF_KERNEL ?= 6.12
PERF_LONG ?= 0
$(BUILD)/loop: vmtest/perf/loop.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -o $@ $< -lpthread

perf: build deps $(BUILD)/loop
	@command -v bpftrace >/dev/null || apt-get install -y -qq bpftrace >/dev/null
	vmtest/setup.sh kernel $(PERF_KERNEL)
	vmtest/run.sh --kernel $(PERF_KERNEL) --timeout $$(( 900 + $(PERF_LONG) )) -- vmtest/perf.sh $(if $(filter-out 0,$(PERF_LONG)),--long $(PERF_LONG))

clean:
	rm -rf $(BUILD)

# Kernel regression lane (issue 5): build Debian's linux-source-6.1 three ways
# (stock, patch 4 of the 2018 series reverted, seccomp_log noinline), cached
# under $(SECCOMPTRACE_CACHE)/regression, boot each and judge it with
# vmtest/regression/lane.sh. Not part of `make test`: the first build takes
# about 17 min on 2 cores (25 min for a cold lane). See vmtest/regression/README.md.
REGRESSION_VARIANTS ?= stock reverted noinline
REGRESSION_TIMEOUT ?= 600

.PHONY: kernel-regression kernel-regression-build kernel-regression-one

kernel-regression-build:
	vmtest/regression/build.sh $(REGRESSION_VARIANTS)

kernel-regression: build kernel-regression-build
	@failed=; for v in $(REGRESSION_VARIANTS); do \
		echo "=== kernel-regression: $$v"; \
		img=$$(vmtest/regression/build.sh image $$v) || exit 2; \
		vmtest/run.sh --kernel "$$img" --timeout $(REGRESSION_TIMEOUT) -- vmtest/regression/lane.sh $$v || failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "kernel-regression: NOT AS EXPECTED:$$failed" >&2; exit 1; fi; \
	echo "kernel-regression: every variant ($(REGRESSION_VARIANTS)) behaved as expected"

# Your own kernel (a bzImage or built tree, or a kernels.txt name), judged as a stock one:
#   make kernel-regression-one KERNEL=~/linux/arch/x86/boot/bzImage
kernel-regression-one: build
	vmtest/run.sh --kernel $(KERNEL) --timeout $(REGRESSION_TIMEOUT) -- vmtest/regression/lane.sh $(or $(VARIANT),stock)
