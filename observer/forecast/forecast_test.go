// SPDX-License-Identifier: Apache-2.0

package forecast

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	wl "github.com/seccomptrace/seccomptrace/observer/workload"
)

const n = 100

// withoutErrno is the policy the workload below runs under.
var withoutErrno = policy.DefaultLogged &^ policy.BitErrno

// judged is one streamed decision of pid 10 on nr, decided by a one-filter
// stack returning ret with FLAG_LOG log, and emitted when the policy logged it.
func judged(nr int32, ret uint32, log bool, path policy.Path) *judge.Judged {
	d := &observer.Decision{Task: observer.Task{Tgid: 10, Tid: 10, Comm: "workload"}, Known: true, Ret: ret, Match: 0,
		Filters: []observer.FilterRef{{Addr: 0x1000, Log: log}}}
	if ret == policy.Allow {
		d.Match = -1
	}
	d.Data.Arch, d.Data.Nr = sysnames.Native, nr
	j := &judge.Judged{Pair: judge.Pair{Decision: d}, Path: path, ActionsLogged: withoutErrno, Model: policy.ModelPost418}
	if logged, _ := policy.Expect(policy.Decision{Action: ret, Requested: log, Path: path}, policy.Policy{ActionsLogged: withoutErrno}, policy.ModelPost418); logged {
		j.Emissions = []*observer.Emission{{Task: d.Task, Code: policy.ActionOnly(ret)}}
	}
	return j
}

// workload is the observation of the VM test's child, n calls each: getppid
// ERRNO(1) and getsid TRAP from a filter without FLAG_LOG (the first
// streamed, the rest counted under a mark), getpgrp LOG (every one
// streamed: it logs), getresuid ALLOW (the action cache), under
// actions_logged without errno, over 2 s.
func workload() *Observation {
	o := New()
	o.AddJudged(judged(unix.SYS_GETPPID, policy.Errno|1, false, policy.PathFilter))
	o.AddJudged(judged(unix.SYS_GETSID, policy.Trap, false, policy.PathFilter))
	for range n {
		o.AddJudged(judged(wl.NrGetpgrp, policy.Log, false, policy.PathFilter))
	}
	o.AddReport(&session.Report{
		Silent: []observer.SilentCount{
			{Tgid: 10, Arch: sysnames.Native, Nr: unix.SYS_GETPPID, Mark: 1, Count: n - 1},
			{Tgid: 10, Arch: sysnames.Native, Nr: unix.SYS_GETSID, Mark: 2, Count: n - 1},
			{Tgid: 11, Arch: sysnames.Native, Nr: unix.SYS_GETSID, Mark: 2, Count: 7},
			{Tgid: 10, Arch: sysnames.Native, Nr: unix.SYS_GETPPID, Mark: 99, Count: 3}, // a mark the session never made
		},
		SilentMarks: map[uint32]session.SilentMark{
			1: {Arch: sysnames.Native, Nr: unix.SYS_GETPPID, Ret: policy.Errno | 1, Match: 0, ActionsLogged: withoutErrno},
			2: {Arch: sysnames.Native, Nr: unix.SYS_GETSID, Ret: policy.Trap, Match: 0, ActionsLogged: withoutErrno},
		},
		CachedAllows: []observer.SilentCount{{Tgid: 10, Arch: sysnames.Native, Nr: unix.SYS_GETRESUID, Count: n}},
		TaskComms:    map[uint32]string{10: "other-name", 11: "child"},
	})
	o.Duration = 2 * time.Second
	return o
}

func set(s policy.ActionSet) *policy.ActionSet { return &s }

// TestForecast: each proposal's records are the oracle's answer for every
// observed decision, those counted under a mark and in the cache included.
func TestForecast(t *testing.T) {
	o := workload()
	if got, want := o.Decisions(), uint64(4*n+7+3); got != want {
		t.Errorf("decisions %d, want %d", got, want)
	}
	if o.Unknown != 3 {
		t.Errorf("unknown %d, want the 3 of the unknown mark", o.Unknown)
	}
	if o.Emitted() != n {
		t.Errorf("emitted %d, want %d", o.Emitted(), n)
	}
	for _, tc := range []struct {
		p       Proposal
		records uint64
		actions map[string]uint64
	}{
		{Proposal{}, n, map[string]uint64{"log": n}},
		// ERRNO's filter has no FLAG_LOG: adding errno changes nothing.
		{Proposal{ActionsLogged: set(policy.DefaultLogged)}, n, map[string]uint64{"log": n}},
		// FLAG_LOG everywhere: TRAP logs (its bit is set), ERRNO does not (its bit is not).
		{Proposal{FlagLog: FlagLogAll}, 2*n + 7, map[string]uint64{"log": n, "trap": n + 7}},
		{Proposal{ActionsLogged: set(policy.DefaultLogged), FlagLog: FlagLogAll}, 3*n + 7, map[string]uint64{"log": n, "trap": n + 7, "errno": n}},
		{Proposal{ActionsLogged: set(0)}, 0, map[string]uint64{}},
		{Proposal{FlagLog: FlagLogNone}, n, map[string]uint64{"log": n}},
		// Audit changes nothing on 4.18+ (§2).
		{Proposal{Audit: AuditAudited}, n, map[string]uint64{"log": n}},
	} {
		r := o.Forecast(tc.p, policy.ModelPost418, false)
		if r.Records != tc.records || len(r.PerAction) != len(tc.actions) {
			t.Errorf("%s: %d records %v, want %d %v", tc.p, r.Records, r.PerAction, tc.records, tc.actions)
			continue
		}
		for a, c := range tc.actions {
			if r.PerAction[a] != c {
				t.Errorf("%s: %s %d, want %d", tc.p, a, r.PerAction[a], c)
			}
		}
		if want := float64(tc.records) / 2; r.PerSecond != want {
			t.Errorf("%s: %v records/s, want %v", tc.p, r.PerSecond, want)
		}
	}

	r := o.Forecast(Proposal{ActionsLogged: set(policy.DefaultLogged), FlagLog: FlagLogAll}, policy.ModelPost418, false)
	if len(r.Tasks) != 2 || r.Tasks[0].Tgid != 10 || r.Tasks[0].Records != 3*n || r.Tasks[0].Comm != "workload" ||
		r.Tasks[1].Tgid != 11 || r.Tasks[1].Records != 7 || r.Tasks[1].Comm != "child" {
		t.Errorf("top tasks %+v", r.Tasks)
	}
	// Ties (n each) come in syscall number order, which differs by arch.
	names := func(tops []Top) []string {
		var out []string
		for _, top := range tops {
			out = append(out, top.Syscall())
		}
		slices.Sort(out)
		return out
	}
	getpgrp := sysnames.Name(sysnames.Native, wl.NrGetpgrp)
	if len(r.Syscalls) != 3 || r.Syscalls[0].Syscall() != "getsid" || r.Syscalls[0].Records != n+7 || strings.Join(r.Syscalls[0].Actions, ",") != "trap" ||
		!slices.Equal(names(r.Syscalls[1:]), sorted(getpgrp, "getppid")) {
		t.Errorf("top syscalls %+v", r.Syscalls)
	}
	tasks, syscalls := o.Busiest()
	if len(tasks) != 2 || tasks[0].Decisions != 4*n || len(syscalls) != 4 || syscalls[0].Syscall() != "getsid" ||
		!slices.Equal(names(syscalls[1:]), sorted(getpgrp, "getppid", "getresuid")) {
		t.Errorf("busiest %+v %+v", tasks, syscalls)
	}
	for i, s := range syscalls {
		if i > 0 && s.Decisions != n {
			t.Errorf("busiest %s: %d decisions, want %d", s.Syscall(), s.Decisions, n)
		}
	}
}

// TestForecastPre418: under the 4.14-4.17 model an audited task logs every
// action that reaches seccomp_log; --audit decides who is audited (§7).
func TestForecastPre418(t *testing.T) {
	o := New()
	mk := func(ctx, dummy bool) {
		j := judged(unix.SYS_GETPPID, policy.Errno|1, false, policy.PathFilter)
		j.Decision.AuditCtx, j.Decision.AuditDummy = ctx, dummy
		o.AddJudged(j)
	}
	mk(true, true)   // a context the rules left dummy
	mk(true, false)  // audited
	mk(false, false) // no context: forked before audit was ever enabled
	allow := judged(unix.SYS_GETRESUID, policy.Allow, false, policy.PathFilter)
	allow.Decision.AuditCtx = true
	o.AddJudged(allow) // ALLOW never logs, audited or not
	for _, tc := range []struct {
		a    Audit
		want uint64
	}{{AuditKeep, 0}, {AuditOn, 1}, {AuditOff, 0}, {AuditAudited, 2}} {
		if r := o.Forecast(Proposal{Audit: tc.a}, policy.ModelPre418, true); r.Records != tc.want {
			t.Errorf("audit %s: %d records, want %d", tc.a, r.Records, tc.want)
		}
	}
}

func TestProposal(t *testing.T) {
	p := Proposal{ActionsLogged: set(policy.BitLog | policy.BitErrno), FlagLog: FlagLogAll}
	if got := p.String(); got != "actions_logged=errno,log flag-log=all" {
		t.Errorf("String %q", got)
	}
	if got := p.Label(policy.DefaultLogged); got != "actions_logged -kill_process -kill_thread -trap -user_notif -trace flag-log=all" {
		t.Errorf("Label %q", got)
	}
	if got := (Proposal{ActionsLogged: set(policy.DefaultLogged)}).Label(withoutErrno); got != "actions_logged +errno" {
		t.Errorf("Label %q", got)
	}
	if got := (Proposal{ActionsLogged: set(0), Audit: AuditOff}).Label(withoutErrno); got != "actions_logged (none) audit=off" {
		t.Errorf("Label %q", got)
	}
	steps := p.Steps()
	if len(steps) != 3 || steps[0].String() != "actions_logged=errno,log" || steps[1].String() != "flag-log=all" || steps[2] != p {
		t.Errorf("steps %v", steps)
	}
	if s := (Proposal{FlagLog: FlagLogNone}).Steps(); len(s) != 1 {
		t.Errorf("one change, steps %v", s)
	}
	if !(Proposal{}).Current() || (Proposal{}).String() != "current" || (Proposal{ActionsLogged: set(0)}).String() != "actions_logged=(none)" {
		t.Error("current proposal")
	}
	for _, bad := range []string{"", "ALL", "yes"} {
		if _, err := ParseFlagLog(bad); err == nil {
			t.Errorf("ParseFlagLog(%q) accepted", bad)
		}
		if _, err := ParseAudit(bad); err == nil {
			t.Errorf("ParseAudit(%q) accepted", bad)
		}
	}
}

func TestBacklog(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name    string
		b       Backlog
		records uint64
		d       time.Duration
		want    Overflow
		fill    float64
	}{
		{"nothing", Backlog{}, 0, sec, OverflowNo, 0},
		{"no AUDIT_GET", Backlog{}, 10, sec, OverflowUnknown, 0},
		{"no limit", Backlog{LimitKnown: true}, 1e6, sec, OverflowNo, 0},
		{"fits", Backlog{LimitKnown: true, Limit: 64}, 64, sec, OverflowNo, 0},
		{"no drain", Backlog{LimitKnown: true, Limit: 64}, 65, sec, OverflowUnknown, 0},
		{"drained", Backlog{LimitKnown: true, Limit: 64, Drain: 1000}, 1000, sec, OverflowNo, 0},
		{"overflows", Backlog{LimitKnown: true, Limit: 64, Drain: 1000}, 2000, sec, OverflowYes, 0.064},
		{"lower bound", Backlog{LimitKnown: true, Limit: 64, Drain: 1000, DrainLowerBound: true}, 2000, sec, OverflowMaybe, 0.064},
	} {
		v := tc.b.Judge(tc.records, tc.d)
		if v.Overflow != tc.want || v.FillSeconds != tc.fill || v.Why == "" {
			t.Errorf("%s: %+v, want %s fill %v", tc.name, v, tc.want, tc.fill)
		}
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
