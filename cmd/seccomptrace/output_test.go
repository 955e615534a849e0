// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// judgedOf builds a judged decision by hand: pid 123 calls nr, the filter
// at index match (of depth, newest first) returns ret with FLAG_LOG log.
func judgedOf(nr int32, ret uint32, match, depth int, log bool, v judge.Verdict, reason policy.Reason, emitted bool) judge.Judged {
	d := &observer.Decision{Task: observer.Task{Tgid: 123, Tid: 123, Comm: "child", Time: time.Unix(1700000000, 0)},
		Seq: 9, Syscall: nr, Known: true, Ret: ret, Match: match, Filters: make([]observer.FilterRef, depth)}
	d.Data.Arch, d.Data.Nr = 0xc000003e, nr
	if match >= 0 {
		d.Filters[match].Log = log
	}
	j := judge.Judged{Pair: judge.Pair{Decision: d}, Verdict: v, Reason: string(reason), Expected: emitted,
		ActionsLogged: policy.DefaultLogged, Model: policy.ModelPost418}
	if emitted {
		j.Emissions = []*observer.Emission{{Task: d.Task, DecisionSeq: 9, Syscall: int64(nr), Code: policy.ActionOnly(ret)}}
	}
	return j
}

// TestWriteLineText: the text form of a write, with an untrusted comm and string escaped.
func TestWriteLineText(t *testing.T) {
	c := judge.NewChecker(judge.Config{ActionsLogged: policy.DefaultLogged})
	tl := judge.NewTimeline(judge.RecordsExpected)
	w := c.AddWrite(&observer.SysctlWrite{Task: observer.Task{Tgid: 7, Tid: 8, Comm: "sh\x1b[2J"}, Ret: -int64(unix.EINVAL), Write: true,
		NewValue: uint32(policy.DefaultLogged), ValueKnown: true, Written: "bo\x1bgus\n", WrittenLen: 80, WrittenKnown: true})
	tl.AddWrite(w)
	tl.AddRecord(&audit.ConfigChange{Stamp: audit.Stamp{Serial: 99}, Actions: "?", OldActions: policy.DefaultLogged.AuditString(), Res: 0})
	tl.Settle(w, true, "")
	got := writeLine(writeToJSON(w), "10:00:00.000000")
	want := `10:00:00.000000 7       8       sh\x1b[2J        actions_logged write uid=0 written="bo\x1bgus\n"...(80 bytes) "kill_process kill_thread trap errno user_notif trace log" -> "kill_process kill_thread trap errno user_notif trace log" result=EINVAL record(serial=99 actions=? old-actions=kill_process,kill_thread,trap,errno,user_notif,trace,log res=0) ok`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
