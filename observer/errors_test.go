// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// kinds are the error kinds a caller can act on; an error has at most one.
var kinds = []error{ErrNoBTF, ErrTracingRefused, ErrNotPrivileged, ErrHookMissing}

// requireKind fails unless err is of kind want and of no other kind, and
// prints on one line.
func requireKind(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one of kind %q", want)
	}
	for _, k := range kinds {
		if got := errors.Is(err, k); got != (k == want) {
			t.Errorf("errors.Is(err, %q) = %v, want %v; err: %v", k, got, k == want, err)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func TestClassify(t *testing.T) {
	refusal := fmt.Errorf("load program: %w", unix.EPERM)
	want := ErrTracingRefused
	if !privileged() {
		want = ErrNotPrivileged
	}
	err := classify("loading fentry probe", refusal)
	requireKind(t, err, want)
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("classify dropped the kernel's error: %v", err)
	}
	requireKind(t, classify("attaching", fmt.Errorf("x: %w", unix.EACCES)), want)

	// Anything but a refusal keeps no kind, and its cause.
	err = classify("attaching kprobe probe", fmt.Errorf("creating probe: %w", os.ErrNotExist))
	requireKind(t, err, nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("classify dropped the cause: %v", err)
	}
}

// A hook that neither method can attach gets one kind: the one that says
// most about what to do.
func TestUnavailableErrKind(t *testing.T) {
	refused := fmt.Errorf("loading fentry probe: %w: %w", ErrTracingRefused, unix.EPERM)
	denied := fmt.Errorf("loading kprobe probe: %w: %w", ErrNotPrivileged, unix.EPERM)
	missing := fmt.Errorf("f %w: not in kallsyms", ErrHookMissing)
	noTracefs := errors.New("creating probe entry on tracefs: neither debugfs nor tracefs are mounted")
	for _, tc := range []struct {
		name           string
		fentry, kprobe error
		want           error
	}{
		{"refused, no tracefs (a lockdown host)", refused, noTracefs, ErrTracingRefused},
		{"no tracefs, refused", noTracefs, refused, ErrTracingRefused},
		{"refused, not privileged", refused, denied, ErrNotPrivileged},
		{"missing both ways", missing, missing, ErrHookMissing},
		{"skipped, missing", errFentrySkipped, missing, ErrHookMissing},
		{"missing, no tracefs", missing, noTracefs, nil},
		{"refused, missing", refused, missing, ErrTracingRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := unavailableErr(tc.fentry, tc.kprobe)
			requireKind(t, err, tc.want)
			if !strings.Contains(err.Error(), tc.fentry.Error()) || !strings.Contains(err.Error(), tc.kprobe.Error()) {
				t.Errorf("%q lost the words of one side", err)
			}
		})
	}
}

func TestMissingSymbolIsHookMissing(t *testing.T) {
	const sym = "st_no_such_kernel_function"
	strategy, detail, err := pickStrategy(sym, false)
	if strategy != StrategyUnavailable {
		t.Fatalf("pickStrategy(%s) = %s (%s), want unavailable", sym, strategy, detail)
	}
	requireKind(t, err, ErrHookMissing)
	if detail != err.Error() {
		t.Errorf("detail %q is not the error %q", detail, err)
	}

	h := HookStatus{Name: HookDecision, Symbol: sym, Required: true, Config: hookConfigs[HookDecision]}
	h.unavailable(err)
	ready := Plan{Hooks: []HookStatus{h}}.Ready()
	requireKind(t, ready, ErrHookMissing)
	var he *HookError
	if !errors.As(ready, &he) || he.Name != HookDecision || he.Config != "CONFIG_SECCOMP_FILTER" {
		t.Errorf("Ready() = %#v, want a *HookError naming the decision hook and its config", ready)
	}
}

// withBTFPath reads the kernel BTF from path until the test ends.
func withBTFPath(t *testing.T, path string) {
	oldRead, oldLoad := loadVmlinuxBTF, kernelBTF
	loadVmlinuxBTF = func() (*btf.Spec, error) { return btf.LoadSpec(path) }
	kernelBTF = sync.OnceValues(loadKernelBTF)
	t.Cleanup(func() { loadVmlinuxBTF, kernelBTF = oldRead, oldLoad })
}

func TestNoBTF(t *testing.T) {
	withBTFPath(t, filepath.Join(t.TempDir(), "vmlinux"))
	_, err := Discover(Options{})
	requireKind(t, err, ErrNoBTF)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Discover dropped the cause: %v", err)
	}
	_, err = Open(Options{})
	requireKind(t, err, ErrNoBTF)
}

// TestTracingRefused needs a host that refuses tracing to root (kernel
// lockdown, as on the development host); where tracing works, the kind
// cannot be produced.
func TestTracingRefused(t *testing.T) {
	if !privileged() {
		t.Skip("needs root (CAP_SYS_ADMIN or CAP_BPF and CAP_PERFMON): without, the kind is ErrNotPrivileged")
	}
	plan, err := Discover(Options{})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	ready := plan.Ready()
	if ready == nil {
		t.Skip("this kernel allows tracing, so it cannot produce ErrTracingRefused (runs on a lockdown host)")
	}
	requireKind(t, ready, ErrTracingRefused)
	for _, h := range plan.Hooks {
		if h.Required && h.Strategy == StrategyUnavailable {
			requireKind(t, h.Err, ErrTracingRefused)
			if h.Detail != h.Err.Error() {
				t.Errorf("%s: detail %q is not the error %q", h.Name, h.Detail, h.Err)
			}
		}
	}

	o, err := Open(Options{})
	if err == nil {
		o.Close()
		t.Fatal("Open succeeded where Discover found a required hook unavailable")
	}
	requireKind(t, err, ErrTracingRefused)
	var he *HookError
	if !errors.As(err, &he) || he.Name != HookDecision || he.Symbol != "__seccomp_filter" {
		t.Errorf("Open: %v, want a *HookError for the decision hook", err)
	}
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("Open dropped the kernel's EPERM: %v", err)
	}
}

// envUnprivileged makes TestNotPrivilegedChild do its checks: it is set in
// the uid 65534 child that TestNotPrivileged starts.
const envUnprivileged = "SECCOMPTRACE_TEST_UNPRIVILEGED"

// TestNotPrivileged runs TestNotPrivilegedChild in a copy of this test
// binary as uid 65534 (nobody), from its first instruction: the memlock
// probe runs at init.
func TestNotPrivileged(t *testing.T) {
	bin := testutil.SelfForNobody(t)
	dir := filepath.Dir(bin)
	cmd := exec.Command(bin, "-test.run=^TestNotPrivilegedChild$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envUnprivileged+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNotPrivilegedChild") {
		t.Fatalf("child as uid 65534: %v\n%s", err, out)
	}
	t.Logf("child as uid 65534:\n%s", out)
}

func TestNotPrivilegedChild(t *testing.T) {
	if os.Getenv(envUnprivileged) != "1" {
		t.Skip("runs as uid 65534 in the child of TestNotPrivileged")
	}
	if os.Geteuid() != 65534 || privileged() {
		t.Fatalf("child runs as euid %d, privileged %v: want 65534 without capabilities", os.Geteuid(), privileged())
	}
	// Where the memlock limit can be lifted (a 5.11+ kernel that lets
	// nobody create maps, or an unlimited hard limit), the refusal comes
	// from the hooks' probes instead.
	plan, err := Discover(Options{})
	if err == nil {
		err = plan.Ready()
	}
	requireKind(t, err, ErrNotPrivileged)
	t.Logf("Discover: %v", err)
	_, err = Open(Options{})
	requireKind(t, err, ErrNotPrivileged)
	// A refused load is the process's privileges here, not the kernel's policy.
	requireKind(t, classify("loading fentry probe", fmt.Errorf("load program: %w", unix.EPERM)), ErrNotPrivileged)
}
