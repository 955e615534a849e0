// SPDX-License-Identifier: Apache-2.0

package session

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// decisionRecord is pid 123's decision on nr under the one-filter stack at addr (chainOf).
func decisionRecord(seq uint64, nr int32, addr uint64) []byte {
	var r gen.SeccompStDecision
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
	r.Seq, r.ThisSyscall, r.Sd.Nr, r.Sd.Arch = seq, nr, nr, 0xc000003e
	r.Task.Tgid, r.Task.Tid = 123, 123
	r.Chain = addr
	return testutil.RawOf(&r)
}

func emissionRecord(seq uint64, nr int32, code uint32) []byte {
	var r gen.SeccompStEmission
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_EMISSION)
	r.Task.Tgid, r.Task.Tid = 123, 123
	r.DecisionSeq, r.Syscall, r.Code = seq, int64(nr), code
	return testutil.RawOf(&r)
}

// TestReplay: records go through decoding, judging and the queue as in a
// live session: a logged decision waits for its audit record and the
// silent ones behind it wait with it, in ring order; OnIdle follows each
// batch; decisions the replay decoded are reused once handed out.
func TestReplay(t *testing.T) {
	var got []Event
	var decisions []*observer.Decision // as handed out, not cloned
	idles := 0
	r := NewReplay(Options{Wait: time.Hour,
		OnEvent: func(e Event) error {
			got = append(got, e.Clone())
			decisions = append(decisions, e.Judged.Decision)
			return nil
		},
		OnIdle: func() error { idles++; return nil },
	}, policy.ModelPost418, policy.DefaultLogged)
	feed := func(raws ...[]byte) {
		t.Helper()
		for _, raw := range raws {
			if err := r.Decode(raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	feed(testutil.FilterRecord(0x1000, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1)}), testutil.FilterRecord(0x2000, true, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Log)}), testutil.ChainRecord(testutil.Ref{Addr: 0x1000}), testutil.ChainRecord(testutil.Ref{Addr: 0x2000}))
	feed(decisionRecord(1, unix.SYS_GETPPID, 0x1000), decisionRecord(2, unix.SYS_GETPPID, 0x1000))
	r.Drained()
	if len(got) != 2 || idles != 1 || got[0].Judged.Verdict != judge.OKSilent || got[1].Index != 1 || got[1].Judged.Decision.Seq != 2 {
		t.Fatalf("silent decisions: %d idles, %+v", idles, got)
	}
	if decisions[0] != decisions[1] || got[0].Judged.Decision.Seq != 1 {
		t.Fatalf("the decision was not reused, or its clone changed: %p %p %+v", decisions[0], decisions[1], got[0].Judged.Decision)
	}
	r.Drained()
	if idles != 1 {
		t.Fatalf("OnIdle without events handed out: %d", idles)
	}

	// A LOG decision waits for its record; the silent one behind it waits too.
	feed(emissionRecord(3, workload.NrGetpgrp, policy.Log), decisionRecord(3, workload.NrGetpgrp, 0x2000),
		decisionRecord(4, unix.SYS_GETPPID, 0x1000))
	r.Drained()
	if len(got) != 2 || idles != 1 {
		t.Fatalf("handed out before the record came: %+v", got[2:])
	}
	r.AddRecord(audit.Event{Record: audit.Record{Seccomp: &audit.Seccomp{Stamp: audit.Stamp{Serial: 41}, Pid: 123, Syscall: workload.NrGetpgrp, Code: policy.Log}}})
	if len(got) != 4 || idles != 2 || got[2].Judged.Verdict != judge.OKLogged || got[2].Judged.Deliveries[0].Record.Stamp.Serial != 41 ||
		got[3].Judged.Decision.Seq != 4 || got[3].Index != 3 {
		t.Fatalf("after the record: %d idles, %+v", idles, got[2:])
	}
	rep, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decisions != 4 || rep.Class != Pass || rep.Audit.Delivered != 1 || rep.PerAction["errno"].Silent != 3 || rep.PerAction["log"].Logged != 1 {
		t.Fatalf("report %+v", rep)
	}
}

// TestReplayAllocs: a silent decision goes from its record to OnEvent
// without allocating.
func TestReplayAllocs(t *testing.T) {
	n := 0
	r := NewReplay(Options{Wait: time.Hour, OnEvent: func(e Event) error { n++; return nil }, OnIdle: func() error { return nil }},
		policy.ModelPost418, policy.DefaultLogged)
	if err := r.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x1000})); err != nil {
		t.Fatal(err)
	}
	if err := r.Decode(testutil.FilterRecord(0x1000, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1)})); err != nil {
		t.Fatal(err)
	}
	raw := decisionRecord(1, unix.SYS_GETPPID, 0x1000)
	if a := testing.AllocsPerRun(1000, func() {
		if err := r.Decode(raw); err != nil {
			t.Fatal(err)
		}
		r.Drained()
	}); a != 0 {
		t.Errorf("%v allocations per decision", a)
	}
	if n != 1001 {
		t.Errorf("%d events handed out, want 1001", n)
	}
}

// TestReplayWaitsRunOut: events whose record never comes are handed out
// by their timers, from another goroutine, while records are still being
// fed; every event comes out once, in ring order.
func TestReplayWaitsRunOut(t *testing.T) {
	var got []int
	r := NewReplay(Options{Wait: time.Millisecond, OnEvent: func(e Event) error {
		got = append(got, e.Index)
		return nil
	}}, policy.ModelPost418, policy.DefaultLogged)
	if err := r.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x1000})); err != nil {
		t.Fatal(err)
	}
	if err := r.Decode(testutil.FilterRecord(0x1000, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1)})); err != nil {
		t.Fatal(err)
	}
	if err := r.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x2000})); err != nil {
		t.Fatal(err)
	}
	if err := r.Decode(testutil.FilterRecord(0x2000, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Log)})); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		seq := uint64(i + 1)
		if i%10 == 0 {
			if err := r.Decode(emissionRecord(seq, workload.NrGetpgrp, policy.Log)); err != nil {
				t.Fatal(err)
			}
			if err := r.Decode(decisionRecord(seq, workload.NrGetpgrp, 0x2000)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := r.Decode(decisionRecord(seq, unix.SYS_GETPPID, 0x1000)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || rep.Decisions != n {
		t.Fatalf("%d events, %d decisions, want %d", len(got), rep.Decisions, n)
	}
	for i, idx := range got {
		if idx != i {
			t.Fatalf("event %d has index %d", i, idx)
		}
	}
}

// TestReplaySelect: Options.Select keeps the events of the tasks it
// accepts; another task's decision and emission are neither judged nor
// handed out, nor counted in the report.
func TestReplaySelect(t *testing.T) {
	var got []uint32
	r := NewReplay(Options{NoAudit: true,
		OnEvent: func(e Event) error {
			got = append(got, e.Judged.Pid())
			return nil
		},
		Select: func(t *observer.Task) bool { return t.Tgid == 123 },
	}, policy.ModelPost418, policy.DefaultLogged)
	other := func(raw []byte) []byte {
		binary.NativeEndian.PutUint32(raw[unsafe.Offsetof(gen.SeccompStDecision{}.Task)+unsafe.Offsetof(gen.SeccompStDecision{}.Task.Tgid):], 456)
		return raw
	}
	for _, raw := range [][]byte{
		testutil.FilterRecord(0x1000, true, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1)}), testutil.ChainRecord(testutil.Ref{Addr: 0x1000, Log: true}),
		emissionRecord(1, unix.SYS_GETPPID, policy.Errno), decisionRecord(1, unix.SYS_GETPPID, 0x1000),
		other(emissionRecord(2, unix.SYS_GETPPID, policy.Errno)), other(decisionRecord(2, unix.SYS_GETPPID, 0x1000)),
		emissionRecord(3, unix.SYS_GETPID, policy.Errno), decisionRecord(3, unix.SYS_GETPID, 0x1000),
	} {
		if err := r.Decode(raw); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 123 || got[1] != 123 || rep.Decisions != 2 || rep.Audit.Emissions != 2 || rep.Class != Pass {
		t.Errorf("handed out pids %v; report: %d decisions, %d emissions, %s; want 123 twice, 2, 2, pass", got, rep.Decisions, rep.Audit.Emissions, rep.Class)
	}
}

// TestProgress: Progress may be read from another goroutine while events
// are judged, and returns the final counts, marked so, once finished.
func TestProgress(t *testing.T) {
	r := NewReplay(Options{OnEvent: func(Event) error { return nil }}, policy.ModelPost418, policy.DefaultLogged)
	if err := r.Decode(testutil.FilterRecord(0x1000, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1)})); err != nil {
		t.Fatal(err)
	}
	if err := r.Decode(testutil.ChainRecord(testutil.Ref{Addr: 0x1000})); err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan error)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if p, err := r.Progress(); err != nil || p.Final {
				done <- fmt.Errorf("while running: %+v, %v", p, err)
				return
			}
		}
	}()
	for i := range 1000 {
		if err := r.Decode(decisionRecord(uint64(i+1), unix.SYS_GETPPID, 0x1000)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Progress(); err != nil || !p.Final {
		t.Fatalf("after Finish: %+v, %v", p, err)
	}
}
