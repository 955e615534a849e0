// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"os/exec"
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

// TestSyncUnderFloodVM: children stream ERRNO decisions while Sync, Mark
// and Finish run, and the reader is slowed (each flood decision costs it
// 200 µs of work) so that the ring holds a backlog. First, bursts that fit
// in the ring (10,000 decisions, 6,000 of them before the short child
// starts) run beside short children that make 20 getppid decisions each
// and exit before a Sync or Mark: after it, all 20 and the burst's first
// 6,000 must have been judged; whether the reader still had a backlog at
// the call, and whether the burst went on behind the barrier, is logged. Then a flood without end overflows the ring;
// Sync must go on returning, and Finish returns with the flood running.
func TestSyncUnderFloodVM(t *testing.T) {
	inVM(t)
	var (
		mu       sync.Mutex
		judged   = map[uint32]int{}
		floodPid atomic.Uint32
	)
	s, err := session.Start(session.Options{FollowSelf: true, NoAudit: true, NoSilentCounting: true,
		OnEvent: func(e session.Event) error {
			if e.Judged == nil || e.Judged.Decision == nil {
				return nil
			}
			d := e.Judged.Decision
			pid := d.Tgid
			flooding := pid == floodPid.Load() && d.Syscall == workload.NrGetpgrp
			if !flooding && d.Syscall != unix.SYS_GETPPID {
				return nil // a child's runtime, on 5.10 (no action cache)
			}
			mu.Lock()
			judged[pid]++
			mu.Unlock()
			for start := time.Now(); flooding && time.Since(start) < 200*time.Microsecond; {
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
	spawnFlood := func(calls ...workload.Call) *exec.Cmd {
		t.Helper()
		cmd, err := workload.Spawn(workload.Scenario{
			Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Errno | 1}}}},
			Calls:   calls,
		}, "")
		if err != nil {
			t.Fatal(err)
		}
		floodPid.Store(uint32(cmd.Process.Pid))
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return cmd
	}

	// A burst makes 6,000 calls, waits on a FIFO until this test has seen
	// it get there, and makes 4,000 more while the short child runs.
	const n, burst, first = 20, 10_000, 6_000
	backlog, behind := 0, 0
	for i := range 4 {
		d0 := dropped()
		fifo := filepath.Join(t.TempDir(), "burst")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		b := spawnFlood(workload.Call{Nr: workload.NrGetpgrp, Count: first}, workload.Call{WaitFIFO: fifo},
			workload.Call{Nr: workload.NrGetpgrp, Count: burst - first})
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once the burst is at its wait
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		pid := runErrnoChild(t, n)
		atCall := count(uint32(b.Process.Pid))
		if i%2 == 0 {
			within(t, "Sync", s.Sync)
		} else {
			within(t, "Mark", func() error { _, err := s.Mark(); return err })
		}
		got, atBarrier := count(uint32(pid)), count(uint32(b.Process.Pid))
		if got != n {
			t.Errorf("child %d: %d getppid decisions judged after the barrier, want %d", i, got, n)
		}
		// The rest of the burst, then an empty ring for the next one.
		if err := b.Wait(); err != nil {
			t.Fatalf("burst %d: %v", i, err)
		}
		within(t, "Sync after the burst", s.Sync)
		if total := count(uint32(b.Process.Pid)); total != burst || dropped() != d0 {
			t.Errorf("burst %d: %d of its %d decisions judged, %d dropped: the ring was to hold them all", i, total, burst, dropped()-d0)
		}
		if atBarrier < first {
			t.Errorf("burst %d: %d of its decisions judged at the barrier, fewer than the %d it made before the child started", i, atBarrier, first)
		}
		if atBarrier > atCall {
			backlog++ // the reader still had the burst's records to read at the call
		}
		if atBarrier < burst {
			behind++ // the burst went on sending behind the marker
		}
		t.Logf("child %d: burst decisions judged %d at the call, %d at the barrier, of %d", i, atCall, atBarrier, burst)
	}

	flood := spawnFlood(workload.Call{Nr: workload.NrGetpgrp, Count: 100_000_000})
	start := time.Now()
	syncs, full, d0 := 0, 0, dropped()
	for full < 3 {
		within(t, "Sync under the flood", s.Sync)
		syncs++
		if dropped() > d0 {
			full++
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("the ring did not overflow in %d syncs over %v; the flood's decisions judged: %d", syncs, time.Since(start), count(uint32(flood.Process.Pid)))
		}
	}
	within(t, "Mark under the flood", func() error { _, err := s.Mark(); return err })
	var ws unix.WaitStatus
	if pid, err := unix.Wait4(flood.Process.Pid, &ws, unix.WNOHANG, nil); pid != 0 || err != nil {
		t.Fatalf("the flood ended before the run did (%v, %v)", ws, err)
	}
	var rep *session.Report
	within(t, "Finish under the flood", func() (err error) { rep, err = s.Finish(); return err })
	p, err := s.Progress()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of 4 barriers met a backlog at the call, %d had burst decisions behind them; flood: %d syncs in %v, the last %d after the ring overflowed; Finish: %d decisions judged, %d dropped, %d markers found the ring full",
		backlog, behind, syncs, time.Since(start), full, rep.Decisions, p.Counters.DroppedDecisions, p.Counters.SyncFull)
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
