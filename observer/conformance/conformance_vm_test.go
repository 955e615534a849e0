// SPDX-License-Identifier: Apache-2.0

package conformance_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/conformance"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

func TestMain(m *testing.M) {
	workload.RunChildIfRequested()
	os.Exit(m.Run())
}

// lossCases are four cases the kernel must log and two it must not.
func lossCases(t *testing.T) []conformance.Case {
	t.Helper()
	re := regexp.MustCompile(`^(errno\(5\)|trap|log) flag_log=(on|off) actions_logged=default audit=off$`)
	cases := conformance.Select(conformance.Cases(conformance.ProbeKernel()), re)
	if len(cases) != 6 {
		t.Fatalf("%d cases match %s, want 6", len(cases), re)
	}
	return cases
}

func runCases(t *testing.T, cases []conformance.Case, done func()) *conformance.Report {
	t.Helper()
	opts := conformance.Options{StatePath: filepath.Join(t.TempDir(), "state.json")}
	rep, err := conformance.Run(context.Background(), cases, opts, func(_, _ int, c *conformance.Case) {
		if c == nil && done != nil {
			done()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestConformanceUnderExcludeRuleVM: with "-a never,exclude -F
// msgtype=SECCOMP" every case the kernel must log loses its record at
// audit_log_start: each is inconclusive and names the rule, never a pass;
// the silent cases, which have no record to lose, pass.
func TestConformanceUnderExcludeRuleVM(t *testing.T) {
	testutil.RequireVM(t)
	cases := lossCases(t)
	if err := audit.AddExcludeRule(audit.TypeSeccomp); err != nil {
		t.Fatal(err)
	}
	removed := false
	remove := func() {
		if !removed {
			removed = true
			if err := audit.DeleteExcludeRule(audit.TypeSeccomp); err != nil {
				t.Errorf("deleting the exclude rule: %v", err)
			}
		}
	}
	t.Cleanup(remove)
	// The rule goes before the barrier, whose record it would drop too.
	rep := runCases(t, cases, remove)
	for _, r := range rep.Results {
		switch {
		case r.Expected && (r.Status != conformance.Inconclusive || !strings.Contains(r.Detail, `lost(excluded by rule "-a never,exclude -F msgtype=SECCOMP")`)):
			t.Errorf("%s: %s (%s), want inconclusive naming the exclude rule", r.Case.Name, r.Status, r.Detail)
		case !r.Expected && r.Status != conformance.Pass:
			t.Errorf("%s: %s (%s), want pass (nothing to log, nothing lost)", r.Case.Name, r.Status, r.Detail)
		}
	}
	t.Logf("%d cases: %+v", len(rep.Results), statuses(rep))
}

// TestConformanceUnderBacklogOverflowVM: a flood of LOG records in another
// process, with audit_backlog_limit=1 and no wait, makes audit_log_start
// drop records while the cases run. How much audit_lost rises inside one
// case's window depends on the scheduler, so the test samples audit_lost
// around every case itself and checks each verdict against that: a case
// during which audit_lost rose is inconclusive (naming the backlog or
// audit_lost), never a pass; one during which nothing was lost passes,
// unless the flood overran this reader's socket and its record with it.
func TestConformanceUnderBacklogOverflowVM(t *testing.T) {
	testutil.RequireVM(t)
	cases := lossCases(t)
	orig, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	mask := audit.StatusBacklogLimit | audit.StatusBacklogWaitTime
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := audit.SetStatus(mask, orig); err != nil {
				t.Errorf("restoring the backlog: %v", err)
			}
		}
	}
	t.Cleanup(restore)
	if err := audit.SetBacklogWaitTime(0); err != nil {
		t.Fatal(err)
	}
	if err := audit.SetBacklogLimit(1); err != nil {
		t.Fatal(err)
	}
	var floods []*exec.Cmd
	stop := func() {
		for _, f := range floods {
			_ = f.Process.Kill()
			_ = f.Wait()
		}
		floods = nil
		restore()
	}
	t.Cleanup(stop)
	flood, err := workload.Spawn(workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}}},
		Calls:   []workload.Call{{Nr: workload.NrGetpgrp, Count: 100_000_000}},
	}, filepath.Join(t.TempDir(), "flood.json"))
	if err != nil {
		t.Fatal(err)
	}
	floods = append(floods, flood)
	// The flood must be losing records before the first case starts.
	if err := waitForLoss(orig.Lost, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	// lostAt[i] is audit_lost just before case i's marks; lostAt[len] after
	// the last case's: each case's window lies between two samples.
	var lostAt []uint32
	opts := conformance.Options{StatePath: filepath.Join(t.TempDir(), "state.json")}
	rep, err := conformance.Run(context.Background(), cases, opts, func(_, _ int, c *conformance.Case) {
		st, err := audit.GetStatus()
		if err != nil {
			t.Errorf("sampling audit_lost: %v", err)
		}
		lostAt = append(lostAt, st.Lost)
		if c == nil {
			stop()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lostAt) != len(rep.Results)+1 {
		t.Fatalf("%d audit_lost samples for %d cases", len(lostAt), len(rep.Results))
	}
	rose, overran := 0, rep.Session.Audit.Overruns > 0
	for i, r := range rep.Results {
		around := lostAt[i+1] - lostAt[i]
		switch {
		case !r.AuditLostKnown:
			t.Errorf("%s: audit_lost not read during the case (root in the VM can read it)", r.Case.Name)
		case r.AuditLostRise > around:
			t.Errorf("%s: audit_lost rose by %d during the case but only by %d around it", r.Case.Name, r.AuditLostRise, around)
		case r.AuditLostRise > 0 && (r.Status != conformance.Inconclusive || !(strings.Contains(r.Detail, "backlog limit exceeded") || strings.Contains(r.Detail, "audit_lost rose"))):
			t.Errorf("%s: %s (%s) although audit_lost rose by %d, want inconclusive naming the backlog or audit_lost", r.Case.Name, r.Status, r.Detail, r.AuditLostRise)
		case r.AuditLostRise == 0 && r.Status == conformance.Inconclusive && overran && strings.Contains(r.Detail, "multicast socket overran"):
			// The kernel kept the record, but the flood overran this
			// reader's socket (the run's overruns say so): not a pass.
		case r.AuditLostRise == 0 && r.Status != conformance.Pass:
			t.Errorf("%s: %s (%s) although the kernel lost nothing during it (socket overruns in the run: %d), want pass", r.Case.Name, r.Status, r.Detail, rep.Session.Audit.Overruns)
		}
		if r.AuditLostRise > 0 {
			rose++
		}
	}
	if rose == 0 {
		t.Errorf("the flood lost no record during any case (audit_lost +%d over the run)", rep.Session.Audit.LostIncrease)
	}
	t.Logf("%d cases: %+v; audit_lost rose during %d; +%d over the run; %d multicast socket overruns", len(rep.Results), statuses(rep), rose, rep.Session.Audit.LostIncrease, rep.Session.Audit.Overruns)
}

// waitForLoss polls the kernel's audit_lost until it passes from: the
// condition the cases depend on, not a guess at how long the flood needs.
func waitForLoss(from uint32, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := audit.GetStatus()
		if err != nil {
			return err
		}
		if st.Lost > from {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("audit_lost still %d after %v of the LOG flood", st.Lost, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statuses(rep *conformance.Report) map[conformance.Status]int {
	n := map[conformance.Status]int{}
	for _, r := range rep.Results {
		n[r.Status]++
	}
	return n
}
