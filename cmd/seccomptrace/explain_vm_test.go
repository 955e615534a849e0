// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// TestExplainVM: one child per cause (FLAG_LOG off; errno not in
// actions_logged; LOG delivered; TRACE handled by a tracer; LOG dropped by
// an exclude rule), and the exact sentence for each decision.
func TestExplainVM(t *testing.T) {
	self := inVM(t)
	t.Setenv(envAsCLI, "workload --scenario explain")
	set := policy.DefaultLogged &^ policy.BitErrno
	avail, _ := os.ReadFile(actionsAvailPath)
	if !strings.Contains(string(avail), "user_notif") {
		set &^= policy.BitUserNotif
	}
	setActionsLogged(t, set.String())
	// A Go child may make its call on a thread other than its first: "(pid P, tid T)".
	norm := regexp.MustCompile(`\(pid [0-9]+(, tid [0-9]+)?\)|serial [0-9]+ \(ausearch -a [0-9]+\)`)
	explain := func(t *testing.T, args ...string) []string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append(append([]string{"explain"}, args...), "--", self), &out, &errOut); err != nil {
			t.Fatalf("explain: %v\n%s", err, errOut.String())
		}
		t.Logf("\n%s", out.String())
		return strings.Split(strings.TrimSpace(norm.ReplaceAllStringFunc(out.String(), func(s string) string {
			if strings.HasPrefix(s, "(pid") {
				return "(pid N)"
			}
			return "serial S (ausearch -a S)"
		})), "\n")
	}
	t.Run("causes", func(t *testing.T) {
		got := explain(t)
		want := []string{
			"getppid (pid N) was not logged: the deciding filter #0 (of 1, newest first) returned ERRNO(1) without SECCOMP_FILTER_FLAG_LOG (the kernel logs ERRNO only when the filter asks)",
			"getsid (pid N) was not logged: errno is not in kernel.seccomp.actions_logged (at the decision: " + set.String() + ")",
			getpgrpName + " (pid N) was logged: delivered as audit serial S (ausearch -a S)",
			// The re-check after the tracer exits first.
			"getpriority (pid N) was not logged: the re-check after the tracer returned TRACE again, and a tracer-handled TRACE never logs",
			"getpriority (pid N) was not logged: a tracer handled it (TRACE re-check), which never logs",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("exclude rule", func(t *testing.T) {
		auditctl(t, "-a", "never,exclude", "-F", "msgtype=SECCOMP")
		t.Cleanup(func() { auditctl(t, "-d", "never,exclude", "-F", "msgtype=SECCOMP") })
		got := explain(t, "--syscall", getpgrpName)
		want := getpgrpName + ` (pid N): the kernel tried to log it but audit_log_start refused it: excluded by rule "-a never,exclude -F msgtype=SECCOMP"`
		if len(got) != 1 || got[0] != want {
			t.Errorf("got %q\nwant %q", got, want)
		}
	})
}
