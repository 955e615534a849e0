// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
)

// restoreActionsLoggedAtEnd writes actions_logged back as it is now when
// the test ends.
func restoreActionsLoggedAtEnd(t *testing.T) {
	t.Helper()
	orig, err := os.ReadFile(actionsLoggedPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(actionsLoggedPath, orig, 0); err != nil {
			t.Errorf("restoring actions_logged: %v", err)
		}
	})
}

// setActionsLogged writes value (one write(2)) and waits for its
// CONFIG_CHANGE record when audit is on, so that the record cannot reach a
// later run's reader; the original value is restored when the test ends.
func setActionsLogged(t *testing.T, value string) {
	t.Helper()
	restoreActionsLoggedAtEnd(t)
	st, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	var rd *audit.Reader
	if st.Enabled != 0 {
		if rd, err = audit.NewReader(audit.ReaderOptions{}); err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
	}
	if err := writeOnce(t, value); err != nil {
		t.Fatalf("writing %q to actions_logged: %v", value, err)
	}
	if rd != nil {
		nextConfigChange(t, rd)
	}
}

// setAuditEnabled sets audit_enabled for the test and restores it.
func setAuditEnabled(t *testing.T, on bool) {
	t.Helper()
	st, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.SetEnabled(on); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := audit.SetEnabled(st.Enabled != 0); err != nil {
			t.Errorf("restoring audit_enabled: %v", err)
		}
	})
}

// TestCheckWriteTimelineVM: check follows a shell that writes
// actions_logged four times (valid, unknown name, two names, without
// CAP_SYS_ADMIN) and reads it once; the timeline must list exactly the four
// write attempts, each with its result, old and new value and its
// CONFIG_CHANGE record (audit on) or none (audit off), all judged ok.
func TestCheckWriteTimelineVM(t *testing.T) {
	inVM(t)
	const def = "kill_process kill_thread trap errno user_notif trace log"
	script := fmt.Sprintf(`f=%s
echo log > $f
echo bogus > $f 2>/dev/null
echo "errno trap" > $f
cat $f > /dev/null
setpriv --bounding-set -sys_admin --inh-caps -sys_admin -- sh -c "echo log > $f" 2>/dev/null
exit 0`, actionsLoggedPath)
	// The string written needs an fexit that may read pointer arguments
	// (size_t *lenp, from 6.4 and Debian's 6.1 backport): 5.10 refuses it;
	// every 6.x kernel of the matrix must see it.
	plan, err := observer.Discover(observer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var major, minor int
	fmt.Sscanf(kernelRelease(), "%d.%d", &major, &minor)
	if !plan.SysctlWritten && major >= 6 {
		t.Errorf("kernel %s: the sysctl hook does not see the string written", kernelRelease())
	}
	for _, auditOn := range []bool{true, false} {
		t.Run(fmt.Sprintf("audit enabled %v", auditOn), func(t *testing.T) {
			setAuditEnabled(t, auditOn)
			setActionsLogged(t, def)
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"check", "--output", "json", "--", "sh", "-c", script}, &out, &errOut)
			var sum checkSummary
			if jerr := json.Unmarshal(out.Bytes(), &sum); jerr != nil {
				t.Fatalf("check: %v (%v)\n%s", jerr, err, errOut.String())
			}
			b, _ := json.MarshalIndent(sum.Writes, "", "  ")
			t.Logf("writes: %s", b)
			if err != nil || sum.Result != "pass" || len(sum.UnexplainedChanges) != 0 {
				t.Errorf("check: %v, result %s, %d unexplained records\n%s", err, sum.Result, len(sum.UnexplainedChanges), errOut.String())
			}
			rec := func(actions, old string, res int) *configChangeJSON {
				if !auditOn {
					return nil
				}
				return &configChangeJSON{Actions: actions, OldActions: old, Res: res}
			}
			defComma := strings.ReplaceAll(def, " ", ",")
			str := func(s string) *string { return &s }
			want := []writeJSON{
				{Comm: "sh", Written: str("log\n"), Old: def, New: "log", Result: "ok", Record: rec("log", defComma, 1)},
				{Comm: "sh", Written: str("bogus\n"), Old: "log", New: "log", Result: "EINVAL", Record: rec("?", "log", 0)},
				{Comm: "sh", Written: str("errno trap\n"), Old: "log", New: "trap errno", Result: "ok", Record: rec("trap,errno", "log", 1)},
				{Comm: "sh", Written: str("log\n"), Old: "trap errno", New: "trap errno", Result: "EPERM", Record: rec("?", "trap,errno", 0)},
			}
			if len(sum.Writes) != len(want) {
				t.Fatalf("%d writes in the timeline, want %d", len(sum.Writes), len(want))
			}
			for i, w := range want {
				got := sum.Writes[i]
				switch {
				case !plan.SysctlWritten && got.Written != nil:
					t.Errorf("write %d: written %q, but the plan says the probe cannot see it", i, *got.Written)
				case plan.SysctlWritten && (got.Written == nil || *got.Written != *w.Written || got.WrittenBytes != uint64(len(*w.Written))):
					t.Errorf("write %d: written %v (%d bytes), want %q", i, got.Written, got.WrittenBytes, *w.Written)
				}
				if got.Event != "actions_logged_write" || got.Comm != w.Comm || got.UID != 0 || got.Old != w.Old || got.New != w.New ||
					got.Result != w.Result || got.Verdict != "ok" || got.Time == "" || got.Pid == 0 {
					t.Errorf("write %d: got %+v, want %+v", i, got, w)
				}
				switch {
				case w.Record == nil && (got.Record != nil || got.ExpectedRecord != nil):
					t.Errorf("write %d: audit off, but record %+v expected %+v", i, got.Record, got.ExpectedRecord)
				case w.Record != nil && (got.Record == nil || got.Record.Serial == 0 || got.ExpectedRecord == nil ||
					got.Record.Actions != w.Record.Actions || got.Record.OldActions != w.Record.OldActions || got.Record.Res != w.Record.Res ||
					*got.ExpectedRecord != *w.Record):
					t.Errorf("write %d: record %+v (expected %+v), want %+v", i, got.Record, got.ExpectedRecord, w.Record)
				}
			}
			// The first three come from the same shell; the fourth from the shell setpriv runs.
			if p := sum.Writes; p[0].Pid != p[1].Pid || p[1].Pid != p[2].Pid || p[3].Pid == p[0].Pid {
				t.Errorf("writer pids %d %d %d %d", p[0].Pid, p[1].Pid, p[2].Pid, p[3].Pid)
			}
		})
	}
}

// TestWatchDeliveryVM: watch prints each logged decision with the serial of
// its record, streaming; with an exclude rule for SECCOMP, every record is
// lost and named as excluded.
func TestWatchDeliveryVM(t *testing.T) {
	self := inVM(t)
	const n = 2
	t.Setenv(envAsCLI, fmt.Sprintf("workload --count %d", n))
	for _, tc := range []struct {
		name    string
		exclude bool
	}{{"delivered", false}, {"exclude rule", true}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.exclude {
				auditctl(t, "-a", "never,exclude", "-F", "msgtype=SECCOMP")
				t.Cleanup(func() { auditctl(t, "-d", "never,exclude", "-F", "msgtype=SECCOMP") })
			}
			var out, errOut bytes.Buffer
			// The wait only bounds a failure: every line is printed once its record (or drop) is seen.
			if err := run(context.Background(), []string{"watch", "--output", "json", "--audit-wait", "60s", "--", self}, &out, &errOut); err != nil {
				t.Fatalf("watch: %v\n%s", err, errOut.String())
			}
			t.Logf("stderr: %s", errOut.String())
			serials := map[uint32]bool{}
			got := map[string]int{}
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var p pairJSON
				if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.Event != "decision" {
					t.Fatalf("bad line %q: %v", sc.Text(), err)
				}
				if len(p.Emissions) == 0 {
					continue
				}
				if len(p.Emissions) != 1 || (p.Syscall != "getppid" && p.Syscall != getpgrpName) {
					t.Errorf("unexpected emissions: %s", sc.Text())
					continue
				}
				got[p.Syscall]++
				e := p.Emissions[0]
				switch {
				case tc.exclude && (!strings.HasPrefix(e.Delivery, "lost(excluded") || e.Serial != 0 || p.Verdict != "inconclusive"):
					t.Errorf("want lost(excluded…): %s", sc.Text())
				case !tc.exclude && (e.Delivery != "delivered" || e.Serial == 0 || serials[e.Serial] || p.Verdict != "ok-logged"):
					t.Errorf("want delivered with a serial of its own: %s", sc.Text())
				}
				serials[e.Serial] = true
			}
			if got["getppid"] != n || got[getpgrpName] != n {
				t.Errorf("logged lines %v, want %d each", got, n)
			}
			summary := "audit: 4 delivered, 0 lost, 0 undelivered, 0 unknown"
			if tc.exclude {
				summary = "audit: 0 delivered, 4 lost, 0 undelivered, 0 unknown"
			}
			if !strings.Contains(errOut.String(), summary) {
				t.Errorf("stderr lacks %q", summary)
			}
		})
	}
}
