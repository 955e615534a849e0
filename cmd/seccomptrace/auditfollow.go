// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// auditFollower reads the audit multicast group while check runs.
type auditFollower struct {
	rd      *audit.Reader
	why     string
	before  audit.Status
	haveSt  bool
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	records []*audit.Seccomp
	seen    map[int32]chan struct{} // barrier pids waiting for their record
}

func followAudit(ctx context.Context) *auditFollower {
	f := &auditFollower{done: make(chan struct{}), seen: map[int32]chan struct{}{}}
	if st, err := audit.GetStatus(); err == nil {
		f.before, f.haveSt = st, true
	}
	rd, err := audit.NewReader(audit.ReaderOptions{})
	if err != nil {
		f.why = fmt.Sprintf("cannot join the audit multicast group (needs CAP_AUDIT_READ in the initial network namespace): %v", err)
		close(f.done)
		return f
	}
	f.rd = rd
	ctx, f.cancel = context.WithCancel(ctx)
	go func() {
		defer close(f.done)
		for {
			ev, err := rd.Read(ctx)
			if err != nil {
				return
			}
			if ev.Record.Seccomp == nil {
				continue
			}
			f.mu.Lock()
			f.records = append(f.records, ev.Record.Seccomp)
			if ch, ok := f.seen[ev.Record.Seccomp.Pid]; ok {
				close(ch)
				delete(f.seen, ev.Record.Seccomp.Pid)
			}
			f.mu.Unlock()
		}
	}()
	return f
}

func (f *auditFollower) stop() {
	if f.cancel != nil {
		f.cancel()
	}
	<-f.done
	if f.rd != nil {
		f.rd.Close()
	}
}

// finish runs a barrier (a child whose LOG action produces one record:
// kauditd sends in order, so every earlier record has been delivered or
// lost once it arrives), stops reading and joins records to emissions.
func (f *auditFollower) finish(judged []observer.Judged, s *auditSummary) (*observer.Joiner, map[uint32]bool) {
	j := observer.NewJoiner()
	pids := map[uint32]bool{}
	for _, jd := range judged {
		for _, e := range jd.Emissions {
			pids[e.Tgid] = true
		}
		if jd.Decision != nil {
			pids[jd.Decision.Tgid] = true
		}
	}
	if f.rd != nil {
		if err := f.barrier(); err != nil {
			f.why = err.Error()
		} else {
			s.Followed = true
		}
	}
	f.stop()
	s.Why = f.why
	if f.rd != nil {
		s.Overruns = f.rd.Overruns()
	}
	if st, err := audit.GetStatus(); err == nil && f.haveSt && st.Lost > f.before.Lost {
		s.LostCounterGap = st.Lost - f.before.Lost
	}
	for _, r := range f.records {
		j.AddRecord(r)
	}
	for _, jd := range judged {
		for _, e := range jd.Emissions {
			s.Emissions++
			j.AddEmission(e)
		}
	}
	for _, jd := range judged {
		for _, e := range jd.Emissions {
			switch j.Delivery(e, s.Followed, jd.Drops).State {
			case observer.Delivered:
				s.Delivered++
			case observer.Undelivered, observer.Lost:
				s.Undelivered++
			}
		}
	}
	return j, pids
}

func (f *auditFollower) barrier() error {
	dir, err := os.MkdirTemp("", "seccomptrace-barrier")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s := workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPGRP, Action: 0x7ffc0000}}}}, // LOG: always a record
		Calls:   []workload.Call{{Nr: unix.SYS_GETPGRP, Count: 1}},
	}
	cmd, err := workload.Spawn(s, filepath.Join(dir, "result.json"))
	if err != nil {
		return err
	}
	ch := make(chan struct{})
	f.mu.Lock()
	f.seen[int32(cmd.Process.Pid)] = ch
	for _, r := range f.records {
		if r.Pid == int32(cmd.Process.Pid) {
			close(ch)
			delete(f.seen, r.Pid)
		}
	}
	f.mu.Unlock()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("audit barrier child: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-time.After(10 * time.Second):
		// Only a failure bound: the record is normally there within milliseconds.
		return errors.New("audit barrier record never arrived: records do not reach the multicast group (audit=0 at boot, an exclude rule, log=log not in actions_logged?)")
	}
}
