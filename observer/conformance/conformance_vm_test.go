// SPDX-License-Identifier: Apache-2.0

package conformance_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
// drop records during every case: a case whose own record died names the
// backlog, one during which audit_lost rose says so. None passes.
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
	flood, err := workload.Spawn(workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}}},
		Calls:   []workload.Call{{Nr: workload.NrGetpgrp, Count: 100_000_000}},
	}, filepath.Join(t.TempDir(), "flood.json"))
	if err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = flood.Process.Kill()
		_ = flood.Wait()
		restore()
	}
	t.Cleanup(stop)
	rep := runCases(t, cases, stop)
	for _, r := range rep.Results {
		if r.Status != conformance.Inconclusive || !(strings.Contains(r.Detail, "backlog limit exceeded") || strings.Contains(r.Detail, "audit_lost rose")) {
			t.Errorf("%s: %s (%s), want inconclusive naming the backlog or audit_lost", r.Case.Name, r.Status, r.Detail)
		}
	}
	t.Logf("%d cases: %+v; audit_lost +%d", len(rep.Results), statuses(rep), rep.Session.Audit.LostIncrease)
}

func statuses(rep *conformance.Report) map[conformance.Status]int {
	n := map[conformance.Status]int{}
	for _, r := range rep.Results {
		n[r.Status]++
	}
	return n
}
