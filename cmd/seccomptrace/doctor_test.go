// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

const (
	adviceRefused       = "the kernel refuses tracing (lockdown or BPF restrictions): run `make demo` to trace inside a VM"
	adviceNotPrivileged = "not privileged: run as root or with CAP_BPF and CAP_PERFMON (and CAP_AUDIT_READ to follow audit records)"
)

// requireAdvice fails unless line is one short line.
func requireAdvice(t *testing.T, line string) {
	t.Helper()
	if strings.ContainsAny(line, "\r\n") {
		t.Errorf("advice spans lines: %q", line)
	}
	if len(line) > 200 {
		t.Errorf("advice is %d characters, want at most 200: %q", len(line), line)
	}
}

// hookErr is the error Open returns for a required hook, wrapped once more
// as a command would.
func hookErr(name, symbol, config string, why error) error {
	h := observer.HookStatus{Name: name, Symbol: symbol, Strategy: observer.StrategyUnavailable, Err: why, Detail: why.Error(), Config: config, Required: true}
	return fmt.Errorf("watching: %w", &observer.HookError{HookStatus: h})
}

func TestOneLine(t *testing.T) {
	// The kernel's words on a lockdown host run to 400 characters: the advice leaves them out.
	long := strings.Repeat("creating probe entry on tracefs: neither debugfs nor tracefs are mounted; ", 6)
	refused := fmt.Errorf("fentry: loading fentry probe: %w: load program: %w; kprobe: %s", observer.ErrTracingRefused, unix.EPERM, long)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"tracing refused", hookErr(observer.HookDecision, "__seccomp_filter", "CONFIG_SECCOMP_FILTER", refused), adviceRefused},
		{"tracing refused at load", fmt.Errorf("loading probes: %w: %w", observer.ErrTracingRefused, unix.EPERM), adviceRefused},
		{"not privileged", fmt.Errorf("removing memlock limit: %w: failed to set memlock rlimit: %w", observer.ErrNotPrivileged, unix.EPERM), adviceNotPrivileged},
		{"not privileged hook", hookErr(observer.HookEmission, "audit_seccomp", "CONFIG_AUDITSYSCALL",
			fmt.Errorf("fentry: %w: %w; kprobe: %s", observer.ErrNotPrivileged, unix.EPERM, long)), adviceNotPrivileged},
		{"kprobes refused by perf_event_paranoid", hookErr(observer.HookDecision, "__seccomp_filter", "CONFIG_SECCOMP_FILTER",
			fmt.Errorf("fentry: create raw tracepoint: not supported; kprobe: attaching kprobe probe: %w: %w: %w",
				observer.ErrNotPrivileged, observer.ErrKprobesNeedSysAdmin, unix.EACCES)),
			"kernel.perf_event_paranoid=3 refuses kprobes without CAP_SYS_ADMIN (the probes are kprobes with --kprobe or where the kernel has no fentry, as arm64 before 6.4): add CAP_SYS_ADMIN"},
		{"no BTF", fmt.Errorf("loading kernel BTF: %w: %w", observer.ErrNoBTF, os.ErrNotExist),
			"the kernel has no BTF (/sys/kernel/btf/vmlinux): boot a kernel built with CONFIG_DEBUG_INFO_BTF=y"},
		{"hook missing", hookErr(observer.HookEmission, "audit_seccomp", "CONFIG_AUDITSYSCALL",
			fmt.Errorf("audit_seccomp %w: neither audit_seccomp nor __audit_seccomp exists", observer.ErrHookMissing)),
			"the kernel has no audit_seccomp for the emission hook: boot a kernel built with CONFIG_AUDITSYSCALL=y"},
		{"hook missing, config unknown", hookErr("custom", "some_function", "",
			fmt.Errorf("some_function %w: not in kallsyms or BTF", observer.ErrHookMissing)),
			"the kernel has no some_function for the custom hook"},
		{"no kind", errors.Join(errors.New("first"), errors.New("second")), "first; second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := oneLine(tc.err)
			if got != tc.want {
				t.Errorf("oneLine = %q, want %q", got, tc.want)
			}
			requireAdvice(t, got)
		})
	}
}

// doctorLines checks doctor's output: one line per hook, each once, and
// returns its verdict line.
func doctorLines(t *testing.T, out string, hooks []observer.HookStatus) string {
	t.Helper()
	var verdict string
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "verdict ") {
			if verdict != "" {
				t.Errorf("two verdicts:\n%s", out)
			}
			verdict = strings.TrimSpace(strings.TrimPrefix(line, "verdict "))
		}
		if f := strings.Fields(line); len(f) > 1 && f[0] == "hook" {
			seen[f[1]]++
		}
	}
	for _, h := range hooks {
		if seen[h.Name] != 1 {
			t.Errorf("hook %s has %d lines, want 1:\n%s", h.Name, seen[h.Name], out)
		}
	}
	return verdict
}

// The development host refuses tracing to root (lockdown): doctor and
// watch must say so in one short line.
func TestTracingRefusedAdvice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: without, the advice is the not-privileged one (TestDoctorNotPrivileged)")
	}
	plan, err := observer.Discover(observer.Options{})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if plan.Ready() == nil {
		t.Skip("this kernel allows tracing, so it cannot refuse it (runs on a lockdown host)")
	}
	if errors.Is(plan.Ready(), observer.ErrNotPrivileged) {
		t.Skipf("root without the capabilities to trace here: %v", plan.Ready())
	}
	if !errors.Is(plan.Ready(), observer.ErrTracingRefused) {
		t.Fatalf("as root, a required hook is unavailable for another reason than a refusal: %v", plan.Ready())
	}

	var out, errOut bytes.Buffer
	err = runDoctor(nil, &out, &errOut)
	if ee, ok := err.(exitError); !ok || ee.code != 1 {
		t.Errorf("doctor = %v, want exit status 1", err)
	}
	if got := doctorLines(t, out.String(), plan.Hooks); got != "not ready: "+adviceRefused {
		t.Errorf("doctor verdict %q, want %q\n%s", got, "not ready: "+adviceRefused, out.String())
	}

	err = run(context.Background(), []string{"watch"}, io.Discard, io.Discard)
	if !errors.Is(err, observer.ErrTracingRefused) {
		t.Fatalf("watch = %v, want ErrTracingRefused", err)
	}
	var he *observer.HookError
	if !errors.As(err, &he) || he.Name != observer.HookDecision {
		t.Errorf("watch = %v, want a *HookError for the decision hook", err)
	}
	got := oneLine(err)
	if got != adviceRefused {
		t.Errorf("watch prints %q, want %q", got, adviceRefused)
	}
	requireAdvice(t, got)
}

// TestDoctorNotPrivileged runs doctor as uid 65534 (nobody) in a copy of
// this test binary: the verdict is the not-privileged advice, and no line
// blames the BTF for the refused memlock limit.
func TestDoctorNotPrivileged(t *testing.T) {
	bin := testutil.SelfForNobody(t)
	dir := filepath.Dir(bin)
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envAsCLI+"=doctor")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("doctor as uid 65534: %v, want exit status 1\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	t.Logf("doctor as uid 65534:\n%s", out.String())
	verdict := doctorLines(t, out.String(), nil)
	if verdict != "not ready: "+adviceNotPrivileged {
		t.Errorf("verdict %q, want %q", verdict, "not ready: "+adviceNotPrivileged)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "btf ") && strings.Contains(line, "memlock") {
			t.Errorf("the btf line carries the memlock error: %q", line)
		}
	}
	if !strings.Contains(out.String(), "uid 65534") {
		t.Errorf("doctor does not report the uid:\n%s", out.String())
	}
}
