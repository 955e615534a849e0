// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// TestSilentCountingVM: a flood of identical silent decisions does not
// need one record per call, and the count stays exact. A child calls
// getppid 20,000 times under ERRNO with FLAG_LOG while errno is not in
// actions_logged (silent), writes actions_logged with errno, and calls it
// 20 times more (logged). The first silent decisions are streamed until
// the session has marked the (stack, arch, syscall) in the probes; the
// rest are counted there. The write voids the mark: the 20 logged
// decisions are all streamed with their records. The verdicts are what
// they are without counting: 20,020 decisions, 20 logged, 20,000 silent,
// a pass.
func TestSilentCountingVM(t *testing.T) {
	self := inVM(t)
	const flood = 20000
	restoreActionsLoggedAtEnd(t)
	withoutErrno := (policy.DefaultLogged &^ policy.BitErrno).String()
	if err := os.WriteFile(actionsLoggedPath, []byte(withoutErrno), 0); err != nil {
		t.Fatal(err)
	}
	s := workload.Scenario{
		Filters: []workload.FilterSpec{{Log: true, Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}}},
		Calls: []workload.Call{
			{Nr: unix.SYS_GETPPID, Count: flood},
			{SetActionsLogged: policy.DefaultLogged.String()},
			{Nr: unix.SYS_GETPPID, Count: 20},
		},
	}
	spec, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SECCOMPTRACE_WORKLOAD", string(spec))
	t.Setenv("SECCOMPTRACE_WORKLOAD_RESULT", filepath.Join(t.TempDir(), "result.json"))
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"check", "--output", "json", "--", self}, &out, &errOut)
	var sum checkSummary
	if jerr := json.Unmarshal(out.Bytes(), &sum); jerr != nil {
		t.Fatalf("check: %v (%v)\nstderr: %s", jerr, err, errOut.String())
	}
	if err != nil || sum.Result != "pass" {
		t.Fatalf("check: %v, result %s\n%s", err, sum.Result, out.String())
	}
	a := sum.PerAction["errno"]
	if a == nil || a.Decisions != flood+20 || a.Logged != 20 || a.Silent != flood {
		t.Fatalf("errno decisions %+v, want %d: 20 logged, %d silent", a, flood+20, flood)
	}
	// The session marks after it has judged the first one: the child goes
	// on meanwhile, so how many were streamed first is not fixed, but the
	// mark must have taken most of the flood.
	if sum.SilentCounted == 0 || sum.SilentCounted >= flood || sum.SilentCounted < flood/2 {
		t.Errorf("%d of %d silent decisions counted in the kernel, want most but not the first", sum.SilentCounted, flood)
	}
	if sum.Audit.Emissions != 20 || sum.Audit.Delivered != 20 {
		t.Errorf("audit %+v, want 20 emissions delivered", sum.Audit)
	}
	if len(sum.Writes) != 1 || sum.Writes[0].Verdict != "ok" || !strings.Contains(sum.Writes[0].New, "errno") {
		t.Errorf("writes %+v, want the child's one write, ok", sum.Writes)
	}
	t.Logf("per action %+v, silent counted %d, cached %d", *a, sum.SilentCounted, sum.CachedAllow)
}
