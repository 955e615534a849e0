// SPDX-License-Identifier: Apache-2.0

// Package testutil gates the tests that need a kernel. vmtest/run.sh runs
// the test binaries in a VM booted from a real kernel with
// SECCOMPTRACE_VMTEST=1; there, a feature the kernel must have is a
// failure when missing, never a skip (as cilium/ebpf's testutils do). On
// the host, whose kernel refuses tracing, the same tests skip with the
// command that runs them.
package testutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
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

// SelfForNobody copies this test binary where uid 65534 (nobody) can run
// it and returns the copy's path: the go test binary's directory is
// private to root. It skips unless the test runs as root.
func SelfForNobody(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child as uid 65534")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is private to root too.
	dir, err := os.MkdirTemp("", "seccomptrace-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(self))
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err == nil {
		_, err = io.Copy(out, in)
		err = errors.Join(err, out.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// KprobesOnly reports whether the running kernel attaches the probes as
// kprobes even at their best: arm64 attaches fentry/fexit to kernel
// functions only from 6.4 (ftrace direct calls; Debian's 6.1 arm64 has no
// DYNAMIC_FTRACE_WITH_DIRECT_CALLS, docs/kernel-semantics.md §13).
func KprobesOnly(t *testing.T) bool {
	t.Helper()
	return runtime.GOARCH == "arm64" && !KernelAtLeast(t, 6, 4)
}

// KernelAtLeast reports whether the running kernel is major.minor or newer (uname).
func KernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", release, err)
	}
	return ma > major || ma == major && mi >= minor
}
