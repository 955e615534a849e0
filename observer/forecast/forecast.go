// SPDX-License-Identifier: Apache-2.0

// Package forecast says what a change of the seccomp logging policy would
// cost before it is made. From the decisions of one observed run (those
// streamed and judged, those counted under a silent mark, and the ALLOWs
// the kernel's action cache answered) it counts the AUDIT_SECCOMP records
// the kernel would attempt under a proposed policy, with the oracle check
// judges by (policy.Expect): the decisions are the run's, only the policy
// is changed. It also says whether the audit backlog would keep up. Pure
// Go: it reads nothing from the system.
package forecast

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// FlagLog says what a proposal does to SECCOMP_FILTER_FLAG_LOG.
type FlagLog int

const (
	// FlagLogKeep keeps each filter's bit as installed.
	FlagLogKeep FlagLog = iota
	// FlagLogAll re-installs every filter with FLAG_LOG.
	FlagLogAll
	// FlagLogNone re-installs every filter without it.
	FlagLogNone
)

// ParseFlagLog parses keep, all or none.
func ParseFlagLog(s string) (FlagLog, error) {
	switch s {
	case "keep":
		return FlagLogKeep, nil
	case "all":
		return FlagLogAll, nil
	case "none":
		return FlagLogNone, nil
	}
	return 0, fmt.Errorf("bad --flag-log %q: want keep, all or none", s)
}

func (f FlagLog) String() string { return [...]string{"keep", "all", "none"}[f] }

// Audit says what a proposal does to audit: it matters only to the
// 4.14-4.17 model, where an "audited" task gets a record for every action
// that reaches seccomp_log (docs/kernel-semantics.md §2, §7).
type Audit int

const (
	// AuditKeep keeps audit as each decision saw it.
	AuditKeep Audit = iota
	// AuditOn enables audit with the rules as they are: a task is audited
	// when it has an audit context that the rules made non-dummy.
	AuditOn
	// AuditOff disables audit: no task is audited.
	AuditOff
	// AuditAudited enables audit and adds a syscall rule: every task with
	// an audit context is audited (§7: any syscall rule makes every
	// context non-dummy).
	AuditAudited
)

// ParseAudit parses keep, on, off or audited.
func ParseAudit(s string) (Audit, error) {
	switch s {
	case "keep":
		return AuditKeep, nil
	case "on":
		return AuditOn, nil
	case "off":
		return AuditOff, nil
	case "audited":
		return AuditAudited, nil
	}
	return 0, fmt.Errorf("bad --audit %q: want on, off or audited", s)
}

func (a Audit) String() string { return [...]string{"keep", "on", "off", "audited"}[a] }

// Proposal is a logging policy to forecast; its zero value is the
// current policy.
type Proposal struct {
	// ActionsLogged replaces kernel.seccomp.actions_logged; nil keeps the
	// value in force at each decision.
	ActionsLogged *policy.ActionSet
	FlagLog       FlagLog
	Audit         Audit
}

// Current reports whether p changes nothing.
func (p Proposal) Current() bool { return p == Proposal{} }

// String names the changes, or "current".
func (p Proposal) String() string {
	var parts []string
	if p.ActionsLogged != nil {
		name := p.ActionsLogged.String()
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, "actions_logged="+strings.ReplaceAll(name, " ", ","))
	}
	if p.FlagLog != FlagLogKeep {
		parts = append(parts, "flag-log="+p.FlagLog.String())
	}
	if p.Audit != AuditKeep {
		parts = append(parts, "audit="+p.Audit.String())
	}
	if len(parts) == 0 {
		return "current"
	}
	return strings.Join(parts, " ")
}

// Label names the changes as a short line next to the actions_logged in
// force now: "actions_logged +errno -log flag-log=all".
func (p Proposal) Label(now policy.ActionSet) string {
	if p.ActionsLogged == nil {
		return p.String()
	}
	set := *p.ActionsLogged
	var parts []string
	switch {
	case set == 0:
		parts = append(parts, "actions_logged (none)")
	case set == now:
		parts = append(parts, "actions_logged (as now)")
	default:
		d := "actions_logged"
		for _, name := range strings.Fields((set &^ now).String()) {
			d += " +" + name
		}
		for _, name := range strings.Fields((now &^ set).String()) {
			d += " -" + name
		}
		parts = append(parts, d)
	}
	if rest := (Proposal{FlagLog: p.FlagLog, Audit: p.Audit}); !rest.Current() {
		parts = append(parts, rest.String())
	}
	return strings.Join(parts, " ")
}

// Steps are the proposals worth showing for p: each change alone, then
// all of them together when there are several.
func (p Proposal) Steps() []Proposal {
	var out []Proposal
	if p.ActionsLogged != nil {
		out = append(out, Proposal{ActionsLogged: p.ActionsLogged})
	}
	if p.FlagLog != FlagLogKeep {
		out = append(out, Proposal{FlagLog: p.FlagLog})
	}
	if p.Audit != AuditKeep {
		out = append(out, Proposal{Audit: p.Audit})
	}
	if len(out) > 1 {
		out = append(out, p)
	}
	return out
}

// class is decisions the oracle treats alike: one process, one syscall,
// one action from a filter with one FLAG_LOG bit, one path, one policy.
type class struct {
	tgid          uint32
	arch          uint32
	nr            int32
	ret           uint32
	requested     bool
	path          policy.Path
	actionsLogged policy.ActionSet
	// audited as the decision saw it, and what it would be with audit on
	// (ctx && !dummy) or with a syscall rule (ctx).
	audited, auditCtx, auditDummy bool
}

type tally struct {
	decisions uint64
	emitted   uint64 // audit_seccomp calls seen
}

// Observation is the decisions of one run, by class.
type Observation struct {
	classes map[class]*tally
	comms   map[uint32]string
	// Unknown counts decisions the oracle cannot place: an action that
	// could not be reconstructed, a count whose mark is unknown.
	Unknown uint64
	// Duration is how long the run was observed.
	Duration time.Duration
}

// New returns an empty observation.
func New() *Observation {
	return &Observation{classes: map[class]*tally{}, comms: map[uint32]string{}}
}

func (o *Observation) add(c class, n, emitted uint64) {
	t := o.classes[c]
	if t == nil {
		t = &tally{}
		o.classes[c] = t
	}
	t.decisions += n
	t.emitted += emitted
}

// AddJudged takes one streamed decision (session.Options.OnEvent). Call
// it before the event is released; it keeps nothing of it.
func (o *Observation) AddJudged(j *judge.Judged) {
	emitted := uint64(len(j.Emissions))
	d := j.Decision
	if d == nil {
		if j.Path == policy.PathStrict && len(j.Emissions) == 1 {
			// A strict-mode kill seen only at its emission.
			e := j.Emissions[0]
			o.nameTask(e.Tgid, e.Comm)
			o.add(class{tgid: e.Tgid, arch: sysnames.Native, nr: int32(e.Syscall), ret: policy.KillThread, requested: true,
				path: policy.PathStrict, actionsLogged: j.ActionsLogged}, 1, emitted)
		}
		return
	}
	o.nameTask(d.Tgid, d.Comm)
	if !d.Known && !d.Strict {
		o.Unknown++
		return
	}
	o.add(class{tgid: d.Tgid, arch: d.Data.Arch, nr: d.Data.Nr, ret: d.Ret, requested: d.Requested(), path: j.Path,
		actionsLogged: j.ActionsLogged, audited: j.Audited, auditCtx: d.AuditCtx, auditDummy: d.AuditDummy}, 1, emitted)
}

func (o *Observation) nameTask(tgid uint32, comm string) {
	if _, ok := o.comms[tgid]; !ok {
		o.comms[tgid] = comm
	}
}

// AddReport takes what the session counted instead of streaming: the
// decisions counted under silent marks, whose action the mark says, and
// the cached ALLOWs (session.Options.Probes.Forecast).
func (o *Observation) AddReport(rep *session.Report) {
	for _, c := range rep.Silent {
		m, ok := rep.SilentMarks[c.Mark]
		if !ok {
			o.Unknown += c.Count
			continue
		}
		o.add(class{tgid: c.Tgid, arch: c.Arch, nr: c.Nr, ret: m.Ret, requested: m.Requested, path: policy.PathFilter,
			actionsLogged: m.ActionsLogged}, c.Count, 0)
	}
	for _, c := range rep.CachedAllows {
		o.add(class{tgid: c.Tgid, arch: c.Arch, nr: c.Nr, ret: policy.Allow, path: policy.PathCachedAllow}, c.Count, 0)
	}
	for tgid, comm := range rep.TaskComms {
		o.nameTask(tgid, comm)
	}
}

// Emitted is how many of the observed decisions reached audit_seccomp:
// what the current policy did, for the current forecast to agree with.
func (o *Observation) Emitted() uint64 {
	var n uint64
	for _, t := range o.classes {
		n += t.emitted
	}
	return n
}

// Decisions is every decision observed, those the oracle cannot place included.
func (o *Observation) Decisions() uint64 {
	n := o.Unknown
	for _, t := range o.classes {
		n += t.decisions
	}
	return n
}

// Comm is the name of process tgid as the probes saw it, "" if unknown.
func (o *Observation) Comm(tgid uint32) string { return o.comms[tgid] }

// Top is one process or one syscall and the records it would produce.
type Top struct {
	Tgid uint32 // processes only
	Comm string // processes only; untrusted: escape it before printing
	Arch uint32 // syscalls only
	Nr   int32  // syscalls only
	// Records under the proposal, of Decisions observed.
	Records, Decisions uint64
	// Actions are the actions of the records (policy.CodeName), sorted.
	Actions []string
}

// Syscall names a syscall Top.
func (t Top) Syscall() string { return sysnames.Name(t.Arch, t.Nr) }

// Result is one proposal's forecast.
type Result struct {
	Proposal Proposal
	// Records is how many AUDIT_SECCOMP records the kernel would attempt
	// for the run's decisions; PerSecond the same over the run's duration.
	Records   uint64
	PerSecond float64
	// PerAction counts Records by action name (policy.CodeName).
	PerAction map[string]uint64
	// Tasks and Syscalls are those that would produce the records, most first.
	Tasks, Syscalls []Top
}

// MaxTop bounds Result.Tasks and Result.Syscalls.
const MaxTop = 10

// Forecast counts the records of the observed decisions under p, with the
// oracle of the model m (noUserNotif: a kernel before 5.0).
func (o *Observation) Forecast(p Proposal, m policy.Model, noUserNotif bool) Result {
	r := Result{Proposal: p, PerAction: map[string]uint64{}}
	type sysKey struct {
		arch uint32
		nr   int32
	}
	tasks := map[uint32]*Top{}
	syscalls := map[sysKey]*Top{}
	for c, t := range o.classes {
		n := uint64(0)
		if logs(c, p, m, noUserNotif) {
			n = t.decisions
		}
		tk := tasks[c.tgid]
		if tk == nil {
			tk = &Top{Tgid: c.tgid, Comm: o.comms[c.tgid]}
			tasks[c.tgid] = tk
		}
		sk := sysKey{c.arch, c.nr}
		sc := syscalls[sk]
		if sc == nil {
			sc = &Top{Arch: c.arch, Nr: c.nr}
			syscalls[sk] = sc
		}
		tk.Decisions += t.decisions
		sc.Decisions += t.decisions
		if n == 0 {
			continue
		}
		name := policy.CodeName(c.ret)
		r.Records += n
		r.PerAction[name] += n
		tk.Records += n
		sc.Records += n
		for _, t := range []*Top{tk, sc} {
			if !slices.Contains(t.Actions, name) {
				t.Actions = append(t.Actions, name)
				slices.Sort(t.Actions)
			}
		}
	}
	if o.Duration > 0 {
		r.PerSecond = float64(r.Records) / o.Duration.Seconds()
	}
	r.Tasks = top(tasks, byRecords, byTgid)
	r.Syscalls = top(syscalls, byRecords, bySyscall)
	return r
}

// Busiest are the processes and syscalls with the most decisions, cached
// ALLOWs included, at most MaxTop of each (Records 0).
func (o *Observation) Busiest() (tasks, syscalls []Top) {
	type sysKey struct {
		arch uint32
		nr   int32
	}
	tm := map[uint32]*Top{}
	sm := map[sysKey]*Top{}
	for c, t := range o.classes {
		if tm[c.tgid] == nil {
			tm[c.tgid] = &Top{Tgid: c.tgid, Comm: o.comms[c.tgid]}
		}
		tm[c.tgid].Decisions += t.decisions
		k := sysKey{c.arch, c.nr}
		if sm[k] == nil {
			sm[k] = &Top{Arch: c.arch, Nr: c.nr}
		}
		sm[k].Decisions += t.decisions
	}
	return top(tm, byDecisions, byTgid), top(sm, byDecisions, bySyscall)
}

func byRecords(t *Top) uint64   { return t.Records }
func byDecisions(t *Top) uint64 { return t.Decisions }
func byTgid(a, b *Top) int      { return cmp.Compare(a.Tgid, b.Tgid) }
func bySyscall(a, b *Top) int   { return cmp.Or(cmp.Compare(a.Arch, b.Arch), cmp.Compare(a.Nr, b.Nr)) }

// top lists the entries whose key is not 0, largest first (then most
// decisions, then by tie), at most MaxTop.
func top[K comparable](m map[K]*Top, key func(*Top) uint64, tie func(a, b *Top) int) []Top {
	var all []*Top
	for _, t := range m {
		if key(t) > 0 {
			all = append(all, t)
		}
	}
	slices.SortFunc(all, func(a, b *Top) int {
		return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(b.Decisions, a.Decisions), tie(a, b))
	})
	out := make([]Top, 0, min(len(all), MaxTop))
	for _, t := range all[:min(len(all), MaxTop)] {
		out = append(out, *t)
	}
	return out
}

// logs is the oracle's answer for the decisions of c under p.
func logs(c class, p Proposal, m policy.Model, noUserNotif bool) bool {
	d := policy.Decision{Action: c.ret, Requested: c.requested, Path: c.path, Audited: c.audited}
	switch p.FlagLog {
	case FlagLogAll:
		d.Requested = true
	case FlagLogNone:
		d.Requested = false
	}
	switch p.Audit {
	case AuditOn:
		d.Audited = c.auditCtx && !c.auditDummy
	case AuditOff:
		d.Audited = false
	case AuditAudited:
		d.Audited = c.auditCtx
	}
	set := c.actionsLogged
	if p.ActionsLogged != nil {
		set = *p.ActionsLogged
	}
	logged, _ := policy.Expect(d, policy.Policy{ActionsLogged: set, NoUserNotif: noUserNotif}, m)
	return logged
}
