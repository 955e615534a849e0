# SPDX-License-Identifier: Apache-2.0
#
# make demo      boot a Debian kernel in a VM, run `seccomptrace watch` on the built-in workload
# make test      host unit tests + VM tests on the Debian 6.1 and 6.12 kernels
# make vmtest    VM tests on one kernel: KERNEL=6.1 (a name from vmtest/kernels.txt) or KERNEL=/path/to/bzImage
# make generate  rebuild gen/ from bpf/ (needs clang; the output is committed)

SHELL := /bin/bash
GO ?= go
# Pinned for reproducible gen/ output: Debian 12's clang.
BPF_CLANG ?= clang-14
BPF_CFLAGS ?= -O2 -g -Wall -Werror
KERNEL ?= 6.1
TEST_KERNELS ?= 6.1 6.12
ALL_KERNELS ?= 5.10 6.1 6.12 7.3
VMTIMEOUT ?= 900

BUILD := build
TESTBINS := $(BUILD)/observer.test $(BUILD)/cmd.test $(BUILD)/seccomptrace
GOFILES := $(shell find . -name '*.go' -not -path './build/*') go.mod go.sum

.PHONY: all build generate check-generate unit vmtest vmtest-all test demo deps clean bench

all: build

build: $(TESTBINS)

$(BUILD)/seccomptrace: $(GOFILES) gen/seccomp_x86_bpfel.o
	$(GO) build -o $@ ./cmd/seccomptrace

$(BUILD)/observer.test: $(GOFILES) gen/seccomp_x86_bpfel.o
	$(GO) test -c -o $@ ./observer

$(BUILD)/cmd.test: $(GOFILES) gen/seccomp_x86_bpfel.o
	$(GO) test -c -o $@ ./cmd/seccomptrace

generate:
	@command -v $(BPF_CLANG) >/dev/null || { echo "make generate: $(BPF_CLANG) missing: apt-get install clang-14 llvm-14" >&2; exit 1; }
	cd gen && BPF_CLANG=$(BPF_CLANG) BPF_CFLAGS="$(BPF_CFLAGS)" $(GO) generate ./...

# CI: the committed gen/ must be what bpf/ compiles to.
check-generate: generate
	git diff --exit-code -- gen/ || { echo "gen/ is not up to date with bpf/: run 'make generate' and commit" >&2; exit 1; }

# Unprivileged host tests. The BPF tests skip here (the host kernel refuses tracing) and run in the VM.
unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

deps:
	vmtest/setup.sh host

vmtest: build
	vmtest/run.sh --kernel $(KERNEL) --timeout $(VMTIMEOUT) -- vmtest/suite.sh

test: unit build
	@set -e; for k in $(TEST_KERNELS); do \
		echo "=== VM tests on Debian $$k"; \
		vmtest/run.sh --kernel $$k --timeout $(VMTIMEOUT) -- vmtest/suite.sh; \
	done

vmtest-all: build
	@set -e; for k in $(ALL_KERNELS); do \
		echo "=== VM tests on Debian $$k"; \
		vmtest/run.sh --kernel $$k --timeout $(VMTIMEOUT) -- vmtest/suite.sh; \
	done

# On a host that allows BPF tracing the demo runs directly; elsewhere in a VM.
demo: build
	@if $(BUILD)/seccomptrace doctor >/dev/null 2>&1; then vmtest/demo.sh; \
	else echo "host kernel cannot trace: running the demo in a VM on Debian $(KERNEL)"; \
	vmtest/setup.sh kernel $(KERNEL) && vmtest/run.sh --kernel $(KERNEL) --timeout $(VMTIMEOUT) -- vmtest/demo.sh; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./observer/...

clean:
	rm -rf $(BUILD)
