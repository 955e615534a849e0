// SPDX-License-Identifier: Apache-2.0

package session

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// fakeSession is a session without probes: events are fed by hand, timers
// fire by hand, and every settled event is collected.
type fakeSession struct {
	*Session
	got    []Event
	timers []func()
}

func newFake(t *testing.T, wait time.Duration, following, auditOn bool) *fakeSession {
	t.Helper()
	f := &fakeSession{}
	f.Session = newSession(Options{Wait: wait, OnEvent: func(e Event) error { f.got = append(f.got, e.Clone()); return nil }})
	a := &auditState{following: following, before: &audit.StatusReply{}}
	if auditOn {
		a.before.Enabled = 1
	}
	f.wire(a, policy.BitErrno|policy.BitLog, policy.ModelPost418)
	f.queue.after = func(_ time.Duration, fn func()) { f.timers = append(f.timers, fn) }
	return f
}

// decision feeds pid 123's decision on nr with ret from a one-filter stack,
// and its emission when the kernel logged it.
func (f *fakeSession) decision(seq uint64, nr int32, ret uint32, log, emitted bool) {
	d := &observer.Decision{Task: observer.Task{Tgid: 123, Tid: 123}, Seq: seq, Syscall: nr, Known: true, Ret: ret, Match: 0,
		Filters: []observer.FilterRef{{Log: log}}}
	d.Data.Arch, d.Data.Nr = 0xc000003e, nr
	f.mu.Lock()
	defer f.mu.Unlock()
	if emitted {
		f.add(&observer.Emission{Task: d.Task, DecisionSeq: seq, Syscall: int64(nr), Code: policy.ActionOnly(ret)}, false)
	}
	f.add(d, false)
}

func (f *fakeSession) write(ret int64, value policy.ActionSet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(&observer.SysctlWrite{Task: observer.Task{Tgid: 5, Comm: "sh"}, Ret: ret, Write: true, NewValue: uint32(value), ValueKnown: true}, false)
}

// take returns the events settled since the last call.
func (f *fakeSession) take() []Event {
	got := f.got
	f.got = nil
	return got
}

func deliveryOf(e Event) string {
	if e.Judged == nil || len(e.Judged.Deliveries) == 0 {
		return "-"
	}
	d := e.Judged.Deliveries[0]
	if d.Record != nil {
		return d.String() + " " + d.Record.Stamp.String()
	}
	return d.String()
}

// TestQueueOrderAndDelivery: a logged decision is held until its record
// comes, the events behind it wait, an event whose wait ends is handed out
// as unknown, and the end (after the barrier) settles the rest.
func TestQueueOrderAndDelivery(t *testing.T) {
	f := newFake(t, time.Hour, true, true)
	f.decision(1, workload.NrGetpgrp, policy.Log, false, true)
	f.decision(2, unix.SYS_GETSID, policy.Trap, false, false)
	if len(f.got) != 0 {
		t.Fatalf("handed out before the record came: %+v", f.got)
	}
	f.auditEvent(audit.Event{Record: audit.Record{Seccomp: &audit.Seccomp{Stamp: audit.Stamp{Serial: 77}, Pid: 123, Syscall: workload.NrGetpgrp, Code: policy.Log}}})
	got := f.take()
	if len(got) != 2 || got[0].Judged.Decision.Syscall != workload.NrGetpgrp || got[0].Judged.Deliveries[0].Record.Stamp.Serial != 77 ||
		got[1].Judged.Decision.Syscall != unix.SYS_GETSID || deliveryOf(got[1]) != "-" || got[0].Index != 0 || got[1].Index != 1 {
		t.Fatalf("after the record: %+v", got)
	}

	// A record that never comes: the event waits until its timer fires.
	f.decision(3, workload.NrGetpgrp, policy.Log, false, true)
	f.write(0, policy.BitLog)
	if len(f.got) != 0 {
		t.Fatalf("handed out before the wait ended: %+v", f.got)
	}
	f.timers[1]()
	got = f.take()
	if len(got) != 1 || deliveryOf(got[0]) != "unknown" || got[0].Judged.Verdict != judge.OKLogged {
		t.Fatalf("after the wait: %+v", got)
	}
	// The write's CONFIG_CHANGE record comes: handed out, ok.
	f.auditEvent(audit.Event{Record: audit.Record{ConfigChange: &audit.ConfigChange{Stamp: audit.Stamp{Serial: 78}, Actions: "log", OldActions: "errno,log", Res: 1}}})
	got = f.take()
	if len(got) != 1 || got[0].Write == nil || got[0].Write.Verdict != judge.WriteOK || got[0].Write.Old != policy.BitErrno|policy.BitLog || got[0].Write.New != policy.BitLog {
		t.Fatalf("write: %+v", got)
	}

	// Held at the end, after a barrier: undelivered (inconclusive), and a write without record is missing.
	f.decision(4, workload.NrGetpgrp, policy.Log, false, true)
	f.write(-int64(unix.EINVAL), policy.BitLog)
	f.queue.finish(true, 0)
	got = f.take()
	if len(got) != 2 || deliveryOf(got[0]) != "undelivered" || got[0].Judged.Verdict != judge.Inconclusive ||
		got[1].Write.Verdict != judge.WriteMissingRecord || got[1].Write.Errno() != unix.EINVAL {
		t.Fatalf("at the end: %+v", got)
	}
	a := f.rep.Audit
	if a.Emissions != 3 || a.Delivered != 1 || a.Unknown != 1 || a.Undelivered != 1 || f.rep.Inconclusive != 1 || f.rep.Violations != 1 {
		t.Errorf("report %+v, %d inconclusive, %d violations", a, f.rep.Inconclusive, f.rep.Violations)
	}
}

// TestQueueNotFollowing: without the audit group nothing is held.
func TestQueueNotFollowing(t *testing.T) {
	f := newFake(t, time.Hour, false, true)
	f.decision(1, workload.NrGetpgrp, policy.Log, false, true)
	if got := f.take(); len(got) != 1 || deliveryOf(got[0]) != "unknown" {
		t.Fatalf("%+v", got)
	}
}

// TestQueueHoldsToTheEnd: with no wait (check, conformance) a write waits
// for the end even when its record came, and is judged under the rule of
// the whole run: audit switched on during the run makes a record neither
// required nor forbidden.
func TestQueueHoldsToTheEnd(t *testing.T) {
	f := newFake(t, 0, true, false)
	f.write(0, policy.BitLog)
	f.auditEvent(audit.Event{Record: audit.Record{ConfigChange: &audit.ConfigChange{Stamp: audit.Stamp{Serial: 5}, Actions: "log", OldActions: "errno,log", Res: 1}}})
	f.decision(1, unix.SYS_GETSID, policy.Trap, false, false)
	if len(f.got) != 0 {
		t.Fatalf("handed out before the end: %+v", f.got)
	}
	f.timeline.SetRule(judge.RuleFor(policy.ModelPost418, false, true, true))
	f.queue.finish(true, 0)
	got := f.take()
	if len(got) != 2 || got[0].Write.Verdict != judge.WriteOK || got[1].Judged.Verdict != judge.OKSilent {
		t.Fatalf("at the end: %+v", got)
	}
}

// TestQueueOverrunsMakeWritesInconclusive: a write whose record did not
// come may have lost it to a multicast overrun.
func TestQueueOverrunsMakeWritesInconclusive(t *testing.T) {
	f := newFake(t, 0, true, true)
	f.write(0, policy.BitLog)
	f.queue.finish(true, 3)
	if got := f.take(); len(got) != 1 || got[0].Write.Verdict != judge.WriteInconclusive {
		t.Fatalf("%+v", got)
	}
}

// TestEarlyRecords: a record that comes before the judging side is wired
// is kept for it, not dropped.
func TestEarlyRecords(t *testing.T) {
	f := &fakeSession{}
	f.Session = newSession(Options{Wait: time.Hour, OnEvent: func(e Event) error { f.got = append(f.got, e.Clone()); return nil }})
	f.auditEvent(audit.Event{Record: audit.Record{Seccomp: &audit.Seccomp{Stamp: audit.Stamp{Serial: 9}, Pid: 123, Syscall: workload.NrGetpgrp, Code: policy.Log}}})
	f.wire(&auditState{following: true, before: &audit.StatusReply{}}, policy.BitLog, policy.ModelPost418)
	f.decision(1, workload.NrGetpgrp, policy.Log, false, true)
	if got := f.take(); len(got) != 1 || got[0].Judged.Deliveries[0].State != judge.Delivered || got[0].Judged.Deliveries[0].Record.Stamp.Serial != 9 {
		t.Fatalf("%+v", got)
	}
}
