// SPDX-License-Identifier: Apache-2.0

package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// DrainMeasure is how fast kauditd delivered a burst of records to the
// audit multicast group (docs/kernel-semantics.md §6 steps 3 and 6).
type DrainMeasure struct {
	// Records of the burst were read, the first to the last over Span.
	Records   int
	Span      time.Duration
	PerSecond float64
	// Saturated: tasks slept on a full backlog during the burst
	// (backlog_wait_time_actual rose, 5.9+), so kauditd set the pace and
	// PerSecond is its drain rate. Otherwise the child was the slower side
	// and PerSecond is a lower bound. StallKnown is false where the
	// kernel does not say (before 5.9, or no AUDIT_GET).
	Saturated, StallKnown bool
	// Lost is how much audit_lost rose during the burst.
	Lost uint32
}

// MeasureDrain runs a child whose filter answers n getpgrp calls with LOG,
// each one record while log is in actions_logged, and reads them from the
// multicast group as they come. Run it with no session's probes attached
// (after Finish): its decisions are not the run's. It writes n records to
// the audit trail, and to auditd's log where one runs.
func MeasureDrain(n int) (DrainMeasure, error) {
	var m DrainMeasure
	if n < 2 {
		return m, fmt.Errorf("measuring the audit drain: %d records are too few, want at least 2", n)
	}
	set, err := observer.ReadActionsLogged()
	if err != nil {
		return m, err
	}
	if !set.Has(policy.BitLog) {
		return m, errors.New("measuring the audit drain: log is not in actions_logged, so the burst would make no records")
	}
	rd, err := audit.NewReader(audit.ReaderOptions{})
	if err != nil {
		return m, fmt.Errorf("measuring the audit drain: %w", err)
	}
	defer rd.Close()
	before, berr := audit.GetStatusReply()

	var (
		mu     sync.Mutex
		times  = map[int32][]time.Time{}
		target int32
		done   = make(chan struct{})
		once   sync.Once
	)
	finish := func() { once.Do(func() { close(done) }) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			ev, err := rd.Read(ctx)
			if err != nil {
				return
			}
			s := ev.Record.Seccomp
			if s == nil || s.Code != policy.Log || s.Syscall != workload.NrGetpgrp {
				continue
			}
			mu.Lock()
			times[s.Pid] = append(times[s.Pid], ev.Received)
			if s.Pid == target && len(times[s.Pid]) >= n {
				finish()
			}
			mu.Unlock()
		}
	}()

	dir, err := os.MkdirTemp("", "seccomptrace-drain")
	if err != nil {
		return m, fmt.Errorf("measuring the audit drain: %w", err)
	}
	defer os.RemoveAll(dir)
	cmd, err := workload.Spawn(workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}}},
		Calls:   []workload.Call{{Nr: workload.NrGetpgrp, Count: n}},
	}, filepath.Join(dir, "result.json"))
	if err != nil {
		return m, fmt.Errorf("measuring the audit drain: %w", err)
	}
	mu.Lock()
	target = int32(cmd.Process.Pid)
	if len(times[target]) >= n {
		finish()
	}
	mu.Unlock()
	if err := cmd.Wait(); err != nil {
		return m, fmt.Errorf("measuring the audit drain: the child: %w", err)
	}
	select {
	case <-done:
	case <-time.After(barrierTimeout): // a failure bound, not a synchronisation
	}
	cancel()
	mu.Lock()
	got := times[target]
	mu.Unlock()
	if after, err := audit.GetStatusReply(); berr == nil && err == nil {
		if after.Lost > before.Lost {
			m.Lost = after.Lost - before.Lost
		}
		if before.HasWaitTimeActual() && after.HasWaitTimeActual() {
			m.StallKnown = true
			m.Saturated = after.BacklogWaitTimeActual > before.BacklogWaitTimeActual
		}
	}
	if o := rd.Overruns(); o > 0 {
		return m, fmt.Errorf("measuring the audit drain: the multicast socket overran %d times: the rate read is not kauditd's", o)
	}
	m.Records = len(got)
	if m.Records < 2 {
		return m, fmt.Errorf("measuring the audit drain: %d of %d records arrived (an exclude rule, audit=0 at boot?)", m.Records, n)
	}
	m.Span = got[len(got)-1].Sub(got[0])
	if m.Span > 0 {
		m.PerSecond = float64(m.Records-1) / m.Span.Seconds()
	}
	return m, nil
}
