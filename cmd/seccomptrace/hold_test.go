// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// judgedOf builds a judged decision by hand: pid 123 calls nr, the filter
// at index match (of depth, newest first) returns ret with FLAG_LOG log.
func judgedOf(nr int32, ret uint32, match, depth int, log bool, v observer.Verdict, reason policy.Reason, emitted bool) observer.Judged {
	d := &observer.Decision{Task: observer.Task{Tgid: 123, Tid: 123, Comm: "child", Time: time.Unix(1700000000, 0)},
		Seq: 9, Syscall: nr, Known: true, Ret: ret, Match: match, Filters: make([]observer.FilterRef, depth)}
	d.Data.Arch, d.Data.Nr = 0xc000003e, nr
	if match >= 0 {
		d.Filters[match].Log = log
	}
	j := observer.Judged{Pair: observer.Pair{Decision: d}, Verdict: v, Reason: string(reason), Expected: emitted,
		ActionsLogged: policy.DefaultLogged, Model: policy.ModelPost418}
	if emitted {
		j.Emissions = []*observer.Emission{{Task: d.Task, DecisionSeq: 9, Syscall: int64(nr), Code: policy.ActionOnly(ret)}}
	}
	return j
}

// heldLines decodes JSON Lines into their event, syscall and deliveries.
func heldLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(b)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func delivery(m map[string]any) string {
	es, _ := m["emissions"].([]any)
	if len(es) == 0 {
		return "-"
	}
	e := es[0].(map[string]any)
	s, _ := e["delivery"].(string)
	if serial, ok := e["serial"].(float64); ok {
		s += fmt.Sprintf(" %d", int(serial))
	}
	return s
}

// TestHolderOrderAndDelivery: a logged decision is held until its record
// comes, the lines behind it wait, a line whose wait ends is printed as
// unknown, and the end (after the barrier) decides the rest.
func TestHolderOrderAndDelivery(t *testing.T) {
	var buf bytes.Buffer
	pr, _ := newPrinter(&buf, "json")
	h := newHolder(pr, time.Hour, policy.BitErrno, true)
	var timers []func()
	h.after = func(_ time.Duration, f func()) { timers = append(timers, f) }
	h.follow(true)

	logged := judgedOf(unix.SYS_GETPGRP, policy.Log, 0, 1, false, observer.OKLogged, policy.ReasonLogActionLogged, true)
	silent := judgedOf(unix.SYS_GETSID, policy.Trap, 0, 1, false, observer.OKSilent, policy.ReasonFlagLogOff, false)
	h.judged(logged)
	h.judged(silent)
	if buf.Len() != 0 {
		t.Fatalf("printed before the record came: %s", buf.String())
	}
	h.auditEvent(audit.Event{Record: audit.Record{Seccomp: &audit.Seccomp{Stamp: audit.Stamp{Serial: 77}, Pid: 123, Syscall: unix.SYS_GETPGRP, Code: policy.Log}}})
	got := heldLines(t, &buf)
	if len(got) != 2 || got[0]["syscall"] != "getpgrp" || delivery(got[0]) != "delivered 77" || got[1]["syscall"] != "getsid" || delivery(got[1]) != "-" {
		t.Fatalf("after the record: %v", got)
	}

	// A record that never comes: the line waits until its timer fires.
	h.judged(judgedOf(unix.SYS_GETPGRP, policy.Log, 0, 1, false, observer.OKLogged, policy.ReasonLogActionLogged, true))
	h.write(&observer.SysctlWrite{Task: observer.Task{Tgid: 5, Comm: "sh"}, Write: true, NewValue: uint32(policy.BitLog), ValueKnown: true})
	if buf.Len() != 0 {
		t.Fatalf("printed before the wait ended: %s", buf.String())
	}
	timers[1]()
	got = heldLines(t, &buf)
	if len(got) != 1 || delivery(got[0]) != "unknown" || got[0]["verdict"] != "ok-logged" {
		t.Fatalf("after the wait: %v", got)
	}
	// The write's CONFIG_CHANGE record comes: printed, ok.
	h.auditEvent(audit.Event{Record: audit.Record{ConfigChange: &audit.ConfigChange{Stamp: audit.Stamp{Serial: 78}, Actions: "log", OldActions: "errno", Res: 1}}})
	got = heldLines(t, &buf)
	if len(got) != 1 || got[0]["event"] != "actions_logged_write" || got[0]["verdict"] != "ok" || got[0]["old"] != "errno" || got[0]["new"] != "log" {
		t.Fatalf("write: %v", got)
	}

	// Held at the end, after a barrier: undelivered (inconclusive), and a write without record is missing.
	h.judged(judgedOf(unix.SYS_GETPGRP, policy.Log, 0, 1, false, observer.OKLogged, policy.ReasonLogActionLogged, true))
	h.write(&observer.SysctlWrite{Task: observer.Task{Tgid: 5, Comm: "sh"}, Ret: -int64(unix.EINVAL), Write: true, NewValue: uint32(policy.BitLog), ValueKnown: true})
	counts, err := h.finish(true)
	if err != nil {
		t.Fatal(err)
	}
	got = heldLines(t, &buf)
	if len(got) != 2 || delivery(got[0]) != "undelivered" || got[0]["verdict"] != "inconclusive" ||
		got[1]["verdict"] != "missing-record" || got[1]["result"] != "EINVAL" {
		t.Fatalf("at the end: %v", got)
	}
	if counts != (deliveryCounts{delivered: 1, unknown: 1, undelivered: 1}) {
		t.Errorf("counts %+v", counts)
	}
}

// TestHolderNotFollowing: without the audit group nothing is held.
func TestHolderNotFollowing(t *testing.T) {
	var buf bytes.Buffer
	pr, _ := newPrinter(&buf, "json")
	h := newHolder(pr, time.Hour, policy.BitErrno, true)
	h.judged(judgedOf(unix.SYS_GETPGRP, policy.Log, 0, 1, false, observer.OKLogged, policy.ReasonLogActionLogged, true))
	if got := heldLines(t, &buf); len(got) != 1 || delivery(got[0]) != "unknown" {
		t.Fatalf("%v", got)
	}
}

// TestWriteLineText: the text form of a write, with an untrusted comm escaped.
func TestWriteLineText(t *testing.T) {
	tl := observer.NewTimeline(policy.DefaultLogged, observer.RecordsExpected)
	w := tl.AddWrite(&observer.SysctlWrite{Task: observer.Task{Tgid: 7, Tid: 8, Comm: "sh\x1b[2J"}, Ret: -int64(unix.EINVAL), Write: true,
		NewValue: uint32(policy.DefaultLogged), ValueKnown: true, Written: "bo\x1bgus\n", WrittenLen: 80, WrittenKnown: true})
	tl.AddRecord(&audit.ConfigChange{Stamp: audit.Stamp{Serial: 99}, Actions: "?", OldActions: policy.DefaultLogged.AuditString(), Res: 0})
	got := writeLine(writeToJSON(w, observer.RecordsExpected), "10:00:00.000000")
	want := `10:00:00.000000 7       8       sh\x1b[2J        actions_logged write uid=0 written="bo\x1bgus\n"...(80 bytes) "kill_process kill_thread trap errno user_notif trace log" -> "kill_process kill_thread trap errno user_notif trace log" result=EINVAL record(serial=99 actions=? old-actions=kill_process,kill_thread,trap,errno,user_notif,trace,log res=0) ok`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
