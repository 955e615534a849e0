// SPDX-License-Identifier: Apache-2.0

// Package testutil gates the tests that need a kernel. vmtest/run.sh runs
// the test binaries in a VM booted from a real kernel with
// SECCOMPTRACE_VMTEST=1; there, a feature the kernel must have is a
// failure when missing, never a skip (as cilium/ebpf's testutils do). On
// the host, whose kernel refuses tracing, the same tests skip with the
// command that runs them.
package testutil

import (
	"fmt"
	"os"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer"
)

// envVM is set by vmtest/run.sh in the guest.
const envVM = "SECCOMPTRACE_VMTEST"

// InVM reports whether the test runs in the VM runner.
func InVM() bool { return os.Getenv(envVM) == "1" }

// RequireVM skips a test outside the VM runner: it loads BPF or changes
// kernel state (audit rules, actions_logged) that a host must not see.
func RequireVM(t testing.TB) {
	t.Helper()
	if !InVM() {
		t.Skip("loads BPF or changes kernel state: runs in the VM (make vmtest)")
	}
}

// Missing reports a feature the test cannot do without: a failure in the
// VM, where the kernels are known to have it, a skip elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InVM() {
		t.Fatalf("%s (the VM's kernels must have it)", msg)
	}
	t.Skipf("%s; run `make vmtest`", msg)
}

// RequireBPF skips on a host that cannot attach the probes; in the VM it
// requires them: every required hook must be attachable.
func RequireBPF(t testing.TB) {
	t.Helper()
	if !InVM() && os.Geteuid() != 0 {
		t.Skip("needs root to load BPF; run `make vmtest`")
	}
	plan, err := observer.Discover(observer.Options{})
	if err != nil {
		Missing(t, "kernel cannot trace here (%v)", err)
		return
	}
	for _, h := range plan.Hooks {
		if h.Required && h.Strategy == observer.StrategyUnavailable {
			Missing(t, "%s hook unavailable (%s)", h.Name, h.Detail)
		}
	}
}
