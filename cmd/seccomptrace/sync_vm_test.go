// SPDX-License-Identifier: Apache-2.0

package main

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// TestSyncUnderFloodVM: a child streams ERRNO decisions without end
// while Sync, Mark and Finish run; none may wait for the ring to empty.
// First the reader is slowed (each of the flood's decisions costs it
// 200 µs of work) until the ring has overflowed and Sync has returned
// three times since. Then, at full speed with the flood still running,
// short children make 20 getppid decisions each and exit before a Sync
// (or Mark): after it, all 20 must have been judged, unless the ring dropped decisions
// while the child ran (it cannot tell whose). Finish ends the run with
// the flood still going.
func TestSyncUnderFloodVM(t *testing.T) {
	inVM(t)
	var (
		mu       sync.Mutex
		judged   = map[uint32]int{}
		slow     atomic.Bool
		floodPid atomic.Uint32
	)
	s, err := session.Start(session.Options{FollowSelf: true, NoAudit: true, NoSilentCounting: true,
		OnEvent: func(e session.Event) error {
			if e.Judged == nil || e.Judged.Decision == nil {
				return nil
			}
			d := e.Judged.Decision
			pid := d.Tgid
			if pid != floodPid.Load() && d.Syscall != unix.SYS_GETPPID {
				return nil // a child's runtime, on 5.10 (no action cache)
			}
			mu.Lock()
			judged[pid]++
			mu.Unlock()
			if slow.Load() && pid == floodPid.Load() {
				for start := time.Now(); time.Since(start) < 200*time.Microsecond; {
				}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func(pid uint32) int {
		mu.Lock()
		defer mu.Unlock()
		return judged[pid]
	}
	dropped := func() uint64 {
		t.Helper()
		p, err := s.Progress()
		if err != nil {
			t.Fatal(err)
		}
		return p.Counters.DroppedDecisions
	}

	slow.Store(true)
	flood, err := workload.Spawn(workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Errno | 1}}}},
		Calls:   []workload.Call{{Nr: workload.NrGetpgrp, Count: 100_000_000}},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	floodPid.Store(uint32(flood.Process.Pid))
	defer func() {
		_ = flood.Process.Kill()
		_ = flood.Wait()
	}()

	start := time.Now()
	syncs, full, d0 := 0, 0, dropped()
	for full < 3 {
		within(t, "Sync with the reader slowed", s.Sync)
		syncs++
		if dropped() > d0 {
			full++
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("the ring did not overflow in %d syncs over %v; the flood's decisions judged: %d", syncs, time.Since(start), count(floodPid.Load()))
		}
	}
	t.Logf("slowed reader: %d syncs in %v, the last %d after the ring overflowed (%d decisions dropped); the flood's decisions judged: %d",
		syncs, time.Since(start), full, dropped()-d0, count(floodPid.Load()))

	slow.Store(false)
	const n = 20
	conclusive := 0
	floodBefore := count(floodPid.Load())
	for i := range 6 {
		d0 := dropped()
		cmd, err := workload.Spawn(workload.Scenario{
			Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}}},
			Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: n}},
		}, filepath.Join(t.TempDir(), "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
		d1 := dropped()
		if i%2 == 0 {
			within(t, "Sync", s.Sync)
		} else {
			within(t, "Mark", func() error { _, err := s.Mark(); return err })
		}
		got := count(uint32(cmd.Process.Pid))
		switch {
		case got > n:
			t.Errorf("child %d: %d getppid decisions judged, more than its %d calls", i, got, n)
		case d1 == d0 && got != n:
			t.Errorf("child %d: %d getppid decisions judged after the barrier, want all %d (none was dropped while it ran)", i, got, n)
		case d1 == d0:
			conclusive++
		default:
			t.Logf("child %d: %d decisions dropped while it ran; %d of its decisions judged", i, d1-d0, got)
		}
	}
	if conclusive == 0 {
		t.Error("every child ran while the ring dropped decisions: the barrier's exactness was not checked")
	}
	if after := count(floodPid.Load()); after <= floodBefore {
		t.Errorf("the flood's decisions judged did not grow while the children ran (%d, %d)", floodBefore, after)
	}
	var ws unix.WaitStatus
	if pid, err := unix.Wait4(flood.Process.Pid, &ws, unix.WNOHANG, nil); pid != 0 || err != nil {
		t.Fatalf("the flood ended before the run did (%v, %v)", ws, err)
	}
	var rep *session.Report
	within(t, "Finish", func() (err error) { rep, err = s.Finish(); return err })
	p, err := s.Progress()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of 6 children checked exactly; Finish with the flood running: %d decisions judged, counters %+v (markers that found the ring full: %d)",
		conclusive, rep.Decisions, p.Counters, p.Counters.SyncFull)
}

// within runs f and fails the test if it has not returned after 3 minutes
// (a guard against a barrier that never comes, not a wait).
func within(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s: still waiting after 3 minutes", what)
	}
}
