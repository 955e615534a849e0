// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/forecast"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// forecastWorkload is a child making n calls of each of four syscalls
// under one filter: getppid ERRNO(1), getsid TRAP, getpgrp LOG, getresuid
// ALLOW (answered by the action cache); with FLAG_LOG when log.
func forecastWorkload(t *testing.T, n int, log bool) {
	t.Helper()
	s := workload.Scenario{
		Filters: []workload.FilterSpec{{Log: log, Rules: []workload.Rule{
			{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1},
			{Nr: unix.SYS_GETSID, Action: policy.Trap},
			{Nr: workload.NrGetpgrp, Action: policy.Log},
			{Nr: unix.SYS_GETRESUID, Action: policy.Allow},
		}}},
		Calls: []workload.Call{
			{Nr: unix.SYS_GETPPID, Count: n}, {Nr: unix.SYS_GETSID, Count: n},
			{Nr: workload.NrGetpgrp, Count: n}, {Nr: unix.SYS_GETRESUID, Count: n},
		},
	}
	spec, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SECCOMPTRACE_WORKLOAD", string(spec))
	t.Setenv("SECCOMPTRACE_WORKLOAD_RESULT", filepath.Join(t.TempDir(), "result.json"))
}

// TestForecastVM: forecast a policy, then apply it for real and count the
// records it makes. The workload runs under actions_logged without errno
// and a filter without FLAG_LOG: only its n LOGs are recorded. forecast
// proposes errno in actions_logged and FLAG_LOG on every filter; it must
// count the ERRNO and TRAP decisions it has never seen streamed (all but
// the first are counted under a silent mark) and the cached ALLOWs per
// syscall. Then actions_logged is written, the same workload runs in a new
// child whose filter has FLAG_LOG, under check: the records delivered are
// within 5% of the forecast (they are the same count: the decisions are).
func TestForecastVM(t *testing.T) {
	self := inVM(t)
	restoreActionsLoggedAtEnd(t)
	current := policy.DefaultLogged &^ policy.BitErrno
	if err := os.WriteFile(actionsLoggedPath, []byte(current.String()), 0); err != nil {
		t.Fatal(err)
	}
	const n = 300
	forecastWorkload(t, n, false)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"forecast", "--output", "json", "--measure-drain", "500",
		"--actions-logged", strings.ReplaceAll(policy.DefaultLogged.String(), " ", ","), "--flag-log", "all", "--", self}, &out, &errOut)
	var fc forecastJSON
	if jerr := json.Unmarshal(out.Bytes(), &fc); jerr != nil || err != nil {
		t.Fatalf("forecast: %v (%v)\nstderr: %s\n%s", err, jerr, errOut.String(), out.String())
	}
	var text bytes.Buffer
	printForecast(&text, &fc)
	t.Logf("forecast:\n%s", text.String())

	byPolicy := map[string]proposalResult{}
	for _, f := range fc.Forecasts {
		byPolicy[f.Policy] = f
	}
	addErrno := "actions_logged=" + strings.ReplaceAll(policy.DefaultLogged.String(), " ", ",")
	both := addErrno + " flag-log=all"
	for _, want := range []struct {
		policy  string
		records uint64
	}{{"current", n}, {addErrno, n}, {"flag-log=all", 2 * n}, {both, 3 * n}} {
		got, ok := byPolicy[want.policy]
		if !ok || got.Records != want.records {
			t.Errorf("%s: %d records, want %d (forecasts %+v)", want.policy, got.Records, want.records, fc.Forecasts)
		}
	}
	if fc.Emitted != n || fc.Delivered != n {
		t.Errorf("the run emitted %d and delivered %d records, want %d: the current forecast must be what happened", fc.Emitted, fc.Delivered, n)
	}
	// Every syscall of the workload is counted, cached ALLOWs included.
	calls := map[string]uint64{}
	for _, s := range fc.Busiest.Syscalls {
		calls[s.Syscall] = s.Decisions
	}
	for _, name := range []string{"getppid", "getsid", getpgrpName, "getresuid"} {
		if calls[name] != n {
			t.Errorf("%s: %d decisions observed, want %d (busiest %+v)", name, calls[name], n, fc.Busiest.Syscalls)
		}
	}
	if fc.UnknownAction != 0 || fc.Lost != 0 {
		t.Errorf("%d decisions not placed, %d records lost", fc.UnknownAction, fc.Lost)
	}
	if fc.Backlog.Limit == nil || fc.Backlog.DrainPerSecond <= 0 || !strings.HasPrefix(fc.Backlog.DrainHow, "measured") {
		t.Errorf("backlog %+v, want AUDIT_GET's limit and a measured drain", fc.Backlog)
	}
	forecastBoth := byPolicy[both]

	// Apply it: write actions_logged, re-install the filter with FLAG_LOG in a new child.
	if err := os.WriteFile(actionsLoggedPath, []byte(policy.DefaultLogged.String()), 0); err != nil {
		t.Fatal(err)
	}
	forecastWorkload(t, n, true)
	out.Reset()
	errOut.Reset()
	err = run(context.Background(), []string{"check", "--output", "json", "--", self}, &out, &errOut)
	var sum checkSummary
	if jerr := json.Unmarshal(out.Bytes(), &sum); jerr != nil {
		t.Fatalf("check: %v (%v)\nstderr: %s", jerr, err, errOut.String())
	}
	if err != nil || sum.Result != "pass" {
		t.Fatalf("check: %v, result %s\n%s", err, sum.Result, out.String())
	}
	got := float64(sum.Audit.Delivered)
	want := float64(forecastBoth.Records)
	dev := math.Abs(got-want) / want
	t.Logf("forecast %d records (%.1f/s over %.3fs), applied: %d emitted, %d delivered (%.2f%% off)",
		forecastBoth.Records, forecastBoth.PerSecond, fc.DurationSeconds, sum.Audit.Emissions, sum.Audit.Delivered, 100*dev)
	if dev > 0.05 {
		t.Errorf("applied policy made %d records, forecast %d: %.1f%% off, want within 5%%", sum.Audit.Delivered, forecastBoth.Records, 100*dev)
	}
}

// TestForecastDurationVM: without a command, forecast observes every task
// for --duration (here cut short by an interrupt once the workload is
// done, so that nothing waits on the clock). The ready file is a FIFO: the
// probes are attached once forecast writes it. The workload's 50 getppid
// ERRNO(1) decisions from a filter without FLAG_LOG are silent now and
// would all be recorded with FLAG_LOG, from the workload's process.
func TestForecastDurationVM(t *testing.T) {
	inVM(t)
	ready := filepath.Join(t.TempDir(), "ready")
	if err := unix.Mkfifo(ready, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		err      error
		out, log string
	}
	res := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"forecast", "--output", "json", "--duration", "10m", "--flag-log", "all", "--ready-file", ready}, &out, &errOut)
		res <- result{err, out.String(), errOut.String()}
	}()
	if _, err := os.ReadFile(ready); err != nil { // returns once forecast has written it
		t.Fatal(err)
	}
	const n = 50
	pid := runErrnoChild(t, n)
	cancel() // as SIGINT would
	r := <-res
	var fc forecastJSON
	if err := json.Unmarshal([]byte(r.out), &fc); err != nil || r.err != nil {
		t.Fatalf("forecast: %v (%v)\n%s\n%s", r.err, err, r.log, r.out)
	}
	var all *proposalResult
	for i := range fc.Forecasts {
		if fc.Forecasts[i].Policy == "flag-log=all" {
			all = &fc.Forecasts[i]
		}
	}
	if all == nil || all.Records != n || all.PerAction["errno"] != n || len(all.Tasks) != 1 || all.Tasks[0].Pid != uint32(pid) {
		t.Fatalf("flag-log=all forecast %+v, want %d errno records, all from pid %d", all, n, pid)
	}
	if fc.Forecasts[0].Records != 0 || len(fc.Command) != 0 || fc.DurationSeconds <= 0 {
		t.Errorf("current %d records, command %q, %vs observed; want 0, none, the run's length", fc.Forecasts[0].Records, fc.Command, fc.DurationSeconds)
	}
	t.Logf("observed %.3fs: %d decisions; flag-log=all: %d records, %.1f/s", fc.DurationSeconds, fc.Decisions, all.Records, all.PerSecond)
}

// TestForecastMarksVM: decisions counted under a silent mark are forecast
// by the mark's action, exactly. The child makes one getppid (ERRNO(1)),
// one getsid (TRAP) and one getresuid (ALLOW) from a filter without
// FLAG_LOG, then waits on a FIFO: once it is there, Sync makes sure the
// session has judged all three, and so marked them silent, before the
// child goes on with n-1 more of each. Every one of those is counted in
// the kernel, not streamed: the ERRNOs and TRAPs under their marks (with
// FLAG_LOG they would all log), the n getresuid ALLOWs by the action cache
// (5.11+; before it, the filter runs for each and the n-1 after the wait
// are counted under getresuid's ALLOW mark, the first one streamed).
func TestForecastMarksVM(t *testing.T) {
	inVM(t)
	actionCache := testutil.KernelAtLeast(t, 5, 11)
	fifo := filepath.Join(t.TempDir(), "wait")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	obs := forecast.New()
	var mu sync.Mutex
	streamed := map[[2]uint32]uint64{} // decisions streamed, per (tgid, nr)
	s, err := session.Start(session.Options{Probes: observer.Options{Forecast: true}, FollowSelf: true, Wait: time.Second,
		OnEvent: func(e session.Event) error {
			if e.Judged != nil {
				obs.AddJudged(e.Judged)
				if d := e.Judged.Decision; d != nil {
					mu.Lock()
					streamed[[2]uint32{e.Judged.Pid(), uint32(d.Data.Nr)}]++
					mu.Unlock()
				}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 100
	cmd, err := workload.Spawn(workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}, {Nr: unix.SYS_GETSID, Action: policy.Trap}}}},
		Calls: []workload.Call{
			{Nr: unix.SYS_GETPPID, Count: 1}, {Nr: unix.SYS_GETSID, Count: 1}, {Nr: unix.SYS_GETRESUID, Count: 1},
			{WaitFIFO: fifo},
			{Nr: unix.SYS_GETPPID, Count: n - 1}, {Nr: unix.SYS_GETSID, Count: n - 1}, {Nr: unix.SYS_GETRESUID, Count: n - 1},
		},
	}, filepath.Join(t.TempDir(), "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once the child is at the wait
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Finish()
	if err != nil {
		t.Fatal(err)
	}
	obs.AddReport(rep)
	pid := uint32(cmd.Process.Pid)
	counted := map[string]uint64{}
	var total, resuidCounted uint64
	for _, c := range rep.Silent {
		m, ok := rep.SilentMarks[c.Mark]
		if c.Tgid != pid || !ok || m.Nr != c.Nr {
			t.Errorf("count %+v: not the child's (%d), or its mark %+v is unknown or of another syscall", c, pid, m)
			continue
		}
		counted[policy.CodeName(m.Ret)] += c.Count
		total += c.Count
		if c.Nr == unix.SYS_GETRESUID && policy.ActionOnly(m.Ret) == policy.Allow {
			resuidCounted += c.Count
		}
	}
	mu.Lock()
	resuidStreamed := streamed[[2]uint32{pid, unix.SYS_GETRESUID}]
	mu.Unlock()
	var allows uint64
	for _, c := range rep.CachedAllows {
		if c.Tgid == pid && c.Nr == unix.SYS_GETRESUID {
			allows += c.Count
		}
	}
	if counted["errno"] != n-1 || counted["trap"] != n-1 || rep.Counters.Silent != total {
		t.Errorf("counted under marks %v (total %d, kernel's %d), want errno and trap %d each", counted, total, rep.Counters.Silent, n-1)
	}
	if actionCache {
		// Only the ERRNOs and TRAPs are counted under marks; every ALLOW of the child is cached.
		if rep.Counters.Silent != 2*(n-1) || allows != n || resuidStreamed != 0 {
			t.Errorf("%d counted under marks, %d getresuid ALLOWs cached, %d streamed; want %d, %d and 0",
				rep.Counters.Silent, allows, resuidStreamed, 2*(n-1), n)
		}
	} else {
		// No action cache before 5.11: the filter runs for every ALLOW, the
		// Go runtime's too (so their marks count a varying number), and
		// getresuid's go as every constant-result decision does.
		if rep.Counters.CachedAllow != 0 || allows != 0 || resuidStreamed != 1 || resuidCounted != n-1 {
			t.Errorf("%d ALLOWs cached (%d getresuid), getresuid ALLOWs %d streamed and %d counted under a mark; want none cached, 1 and %d",
				rep.Counters.CachedAllow, allows, resuidStreamed, resuidCounted, n-1)
		}
	}
	if rep.TaskComms[pid] == "" {
		t.Errorf("child %d not named", pid)
	}
	now := obs.Forecast(forecast.Proposal{}, rep.Model, false)
	all := obs.Forecast(forecast.Proposal{FlagLog: forecast.FlagLogAll}, rep.Model, false)
	if now.Records != 0 || all.Records != 2*n || all.PerAction["errno"] != n || all.PerAction["trap"] != n {
		t.Errorf("forecast now %d, with FLAG_LOG %d %v; want 0 and %d errno + %d trap", now.Records, all.Records, all.PerAction, n, n)
	}
	t.Logf("counted under marks %v, getresuid ALLOWs: %d cached, %d streamed, %d counted under a mark; FLAG_LOG on the filter: %d records",
		counted, allows, resuidStreamed, resuidCounted, all.Records)
}

// runErrnoChild runs a child that installs ERRNO(1) for getppid, calls it
// n times and exits; it returns the child's pid.
func runErrnoChild(t *testing.T, n int) int {
	t.Helper()
	cmd, err := workload.Spawn(workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}}},
		Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: n}},
	}, filepath.Join(t.TempDir(), "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child %d: %v", cmd.Process.Pid, err)
	}
	return cmd.Process.Pid
}
