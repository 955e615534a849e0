// SPDX-License-Identifier: Apache-2.0

// Package inventory analyses what observer.ReadInventory read: it groups
// tasks that share a filter chain, says what each filter can return, per
// architecture and syscall whether the result is fixed or depends on the
// arguments, and which of those actions the kernel would log under the
// logging state given (policy.Expect, docs/kernel-semantics.md §2–§3). Pure
// Go: no kernel access.
package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// State is the logging state the actions are judged under.
type State struct {
	// ActionsLogged is kernel.seccomp.actions_logged.
	ActionsLogged policy.ActionSet
	// NoUserNotif marks a kernel before 5.0 (no SECCOMP_RET_USER_NOTIF).
	NoUserNotif bool
	Model       policy.Model
	// AuditKnown: AuditEnabled is audit's enabled flag (AUDIT_GET).
	AuditKnown, AuditEnabled bool
	// RulesKnown: CountingRules is how many audit rules count in
	// audit_n_rules (all but the user, exclude and filesystem lists, §7):
	// with one or more, every task with an audit context is audited.
	RulesKnown    bool
	CountingRules int
}

// Audited is the pre-4.18 "audited task" condition (§2, §7) for t: audit
// on, an audit context, and rules that make it non-dummy. Without the
// rules it uses the context's dummy flag as the iterator read it. ok is
// false where the kernel does not say.
func (s State) Audited(t *observer.SeccompTask) (audited, ok bool) {
	if !s.AuditKnown || !t.AuditKnown {
		return false, false
	}
	if !s.AuditEnabled || !t.AuditCtx {
		return false, true
	}
	if s.RulesKnown {
		return s.CountingRules > 0, true
	}
	return !t.AuditDummy, true
}

// Report is the analysed inventory.
type Report struct {
	State State
	// Tasks and Processes count every task read, including those in Unread.
	Tasks, Processes int
	Chains           []*Chain
	// Filters in order of first appearance (chains in order, newest first).
	Filters []*Filter
	// Unread are tasks the kernel could not show: their filters are not
	// in any chain.
	Unread []Unread
	// Cgroups names the tasks' cgroups by id, once NameCgroups ran; an id
	// it could not find (the cgroup removed since) is absent.
	Cgroups map[uint64]*cgroups.Cgroup
}

// Unread is a task whose filters were not read, and why.
type Unread struct {
	Task observer.SeccompTask
	Why  string
}

// Chain is one filter stack and the tasks that hold it.
type Chain struct {
	// Index is the chain's number in the report, from 1.
	Index int
	// Filters are newest first, the order seccomp_run_filters runs them.
	Filters []observer.FilterID
	Tasks   []observer.SeccompTask
	// Processes counts distinct thread groups.
	Processes int
	// Mode is the tasks' seccomp mode (one chain can mix 2 and 3, dead).
	Modes []int32
	// Truncated: the chain is longer than the iterator reads; tasks whose
	// newest observer.MaxChain filters agree are grouped here.
	Truncated bool
	// Audited counts the tasks the pre-4.18 model treats as audited, and
	// AuditUnknown those it cannot decide for.
	Audited, AuditUnknown int
	// Logging is, per filter and action, whether the kernel logs it.
	Logging []Logging
	// Cached counts, per architecture, the syscalls the kernel's action
	// cache (5.11+) allows without running the filters.
	Cached []ArchCount
	// Notes are facts about the chain that deserve a line.
	Notes []string
}

// ArchCount is a count for one architecture.
type ArchCount struct {
	Arch  uint32
	Count int
}

// Logging is what happens to one action of one filter in a chain.
type Logging struct {
	// Filter is the filter's index in the chain (newest first).
	Filter int
	// Action is the action (data bits cleared); Unknown marks a RET A the
	// analysis could not fix, Action is then meaningless.
	Action  uint32
	Unknown bool
	// Logged: the kernel logs it now; for a chain with audited and other
	// tasks under the pre-4.18 model, LoggedAudited is the audited ones'.
	Logged, LoggedAudited bool
	// Never: no actions_logged value makes the kernel log it (audit aside).
	Never  bool
	Reason policy.Reason
	// Why is the answer in one phrase.
	Why string
}

// Filter is one filter's analysis.
type Filter struct {
	ID  observer.FilterID
	Log bool
	// Known: the program was read; otherwise Missing says why not.
	Known   bool
	Missing string
	Len     int
	Insns   []cbpf.Instruction
	// Rets are the values any path can return; RetUnknown a RET A the
	// analysis cannot fix; Incomplete: too many paths to follow all.
	Rets       []uint32
	RetUnknown bool
	Incomplete bool
	// ChecksArch: the filter compares seccomp_data.arch with a constant.
	ChecksArch bool
	Arches     []Arch
}

// Arch is what a filter does for one architecture.
type Arch struct {
	Arch uint32
	// Checked: the filter compares arch with this value.
	Checked bool
	// Other stands for every architecture the filter does not compare
	// with (Arch is then one such value).
	Other bool
	// Constant groups the syscalls whose result is the same for all
	// arguments by that result, most syscalls first; Dependent lists the
	// others. Both are empty for an arch without a syscall table, where
	// AnyNr says what every number gives.
	Constant  []ResultGroup
	Dependent []Dependent
	AnyNr     *Outcome
	// KernelBlind counts the constant ALLOWs the kernel's cache emulator
	// cannot prove (it stops at an instruction it does not model).
	KernelBlind int
}

// ResultGroup is a result and the syscalls that always get it.
type ResultGroup struct {
	Ret uint32
	Nrs []int32
}

// Dependent is a syscall whose result depends on its arguments (or ip).
type Dependent struct {
	Nr int32
	Outcome
}

// Outcome is what one input class can give.
type Outcome struct {
	Rets       []uint32
	RetUnknown bool
	Incomplete bool
	// On names the seccomp_data words a path split on ("args[0].lo", "ip.lo").
	On []string
}

// Analyze groups inv's tasks by chain and analyses each filter under s.
// pid, when nonzero, keeps only the tasks of that process (or thread).
func Analyze(inv *observer.Inventory, s State, pid uint32) *Report {
	r := &Report{State: s}
	byKey := map[string]*Chain{}
	procs := map[uint32]bool{}
	for _, t := range inv.Tasks {
		if pid != 0 && t.Tgid != pid && t.Pid != pid {
			continue
		}
		r.Tasks++
		procs[t.Tgid] = true
		if t.Exiting {
			r.Unread = append(r.Unread, Unread{t, "exiting during the walk: its filters were not read (the kernel may free them under the reader)"})
			continue
		}
		key := chainKey(t)
		c := byKey[key]
		if c == nil {
			c = &Chain{Filters: t.Chain, Truncated: t.Truncated}
			byKey[key] = c
			r.Chains = append(r.Chains, c)
		}
		c.Tasks = append(c.Tasks, t)
	}
	r.Processes = len(procs)
	slices.SortStableFunc(r.Chains, func(a, b *Chain) int {
		if n := cmp.Compare(len(b.Tasks), len(a.Tasks)); n != 0 {
			return n
		}
		return cmp.Compare(a.Tasks[0].Tgid, b.Tasks[0].Tgid)
	})
	seen := map[observer.FilterID]*Filter{}
	for i, c := range r.Chains {
		c.Index = i + 1
		for _, id := range c.Filters {
			if seen[id] == nil {
				f := analyzeFilter(id, inv.Filters[id], notStored(c))
				seen[id] = f
				r.Filters = append(r.Filters, f)
			}
		}
		finishChain(c, seen, s)
	}
	return r
}

// chainKey identifies a chain: its filters in order, and the mode for a
// task without filters (strict mode).
func chainKey(t observer.SeccompTask) string {
	var b strings.Builder
	if len(t.Chain) == 0 {
		fmt.Fprintf(&b, "mode%d", t.Mode)
	}
	for _, id := range t.Chain {
		fmt.Fprintf(&b, "%x/%x,", id.Addr, id.Prog)
	}
	if t.Truncated {
		b.WriteString("...")
	}
	return b.String()
}

// notStored says a task of c lost a program to a full filter map.
func notStored(c *Chain) bool {
	for _, t := range c.Tasks {
		if t.NotStored {
			return true
		}
	}
	return false
}

func finishChain(c *Chain, filters map[observer.FilterID]*Filter, s State) {
	procs := map[uint32]bool{}
	modes := map[int32]bool{}
	for i := range c.Tasks {
		t := &c.Tasks[i]
		procs[t.Tgid] = true
		modes[t.Mode] = true
		switch audited, ok := s.Audited(t); {
		case !ok:
			c.AuditUnknown++
		case audited:
			c.Audited++
		}
		if t.FilterCount >= 0 && int(t.FilterCount) != len(t.Chain) && !t.Truncated {
			c.Notes = append(c.Notes, fmt.Sprintf("task %d: filter_count %d but %d filters in its chain", t.Pid, t.FilterCount, len(t.Chain)))
		}
	}
	c.Processes = len(procs)
	for m := range modes {
		c.Modes = append(c.Modes, m)
	}
	slices.Sort(c.Modes)
	if modes[observer.SeccompModeDisabled] && len(c.Filters) > 0 {
		c.Notes = append(c.Notes, "mode 0 with filters: read while a TSYNC install was assigning them")
	}
	if c.Truncated {
		c.Notes = append(c.Notes, fmt.Sprintf("longer than %d filters: only the newest %d were read, older ones are not shown", observer.MaxChain, observer.MaxChain))
	}
	if len(c.Filters) == 0 {
		if modes[observer.SeccompModeStrict] {
			c.Logging = []Logging{strictLogging(s, c)}
		}
		return
	}
	var progs [][]cbpf.Instruction
	for i, id := range c.Filters {
		f := filters[id]
		if !f.Known {
			c.Notes = append(c.Notes, fmt.Sprintf("filter #%d: %s", i, f.Missing))
			continue
		}
		progs = append(progs, f.Insns)
		c.Logging = append(c.Logging, filterLogging(s, c, i, f)...)
	}
	// The cache needs every filter of the stack; with one unknown, say nothing.
	if len(progs) == len(c.Filters) && !c.Truncated {
		for _, arch := range []uint32{sysnames.Native, sysnames.Compat} {
			n := 0
			for _, nr := range sysnames.Numbers(arch) {
				if cbpf.KernelCaches(progs, nr, arch) {
					n++
				}
			}
			c.Cached = append(c.Cached, ArchCount{arch, n})
		}
	}
}

// analyzeFilter explores a filter's program: everything it can return,
// then per architecture and syscall.
func analyzeFilter(id observer.FilterID, f *observer.Filter, notStored bool) *Filter {
	out := &Filter{ID: id}
	switch {
	case f == nil && notStored:
		out.Missing = "program not read: the iterator's filter map was full"
		return out
	case f == nil:
		out.Missing = "program not read: the filter was not in the iterator's map"
		return out
	}
	out.Log = f.Log
	if f.Insns == nil {
		out.Missing = "the kernel kept no original program (orig_prog: needs CHECKPOINT_RESTORE before 5.11)"
		return out
	}
	out.Known, out.Insns, out.Len = true, f.Insns, len(f.Insns)
	all := cbpf.Explore(f.Insns, cbpf.Input{})
	out.Rets, out.RetUnknown, out.Incomplete = byPrecedence(all.Rets), all.RetUnknown, all.Incomplete
	out.ChecksArch = len(all.Arches) > 0
	arches := []uint32{sysnames.Native, sysnames.Compat}
	for _, a := range all.Arches {
		if !slices.Contains(arches, a) {
			arches = append(arches, a)
		}
	}
	for _, a := range arches {
		out.Arches = append(out.Arches, analyzeArch(f.Insns, a, slices.Contains(all.Arches, a)))
	}
	if other, ok := otherArch(all.Arches); ok && out.ChecksArch {
		ar := analyzeArch(f.Insns, other, false)
		ar.Other = true
		out.Arches = append(out.Arches, ar)
	}
	return out
}

// otherArch is an architecture value the filter does not compare with and
// that is not an x86 one (those have entries of their own).
func otherArch(checked []uint32) (uint32, bool) {
	for _, v := range []uint32{0, 1, 0xffffffff, 0xdeadbeef} {
		if !slices.Contains(checked, v) {
			return v, true
		}
	}
	return 0, false
}

func analyzeArch(prog []cbpf.Instruction, arch uint32, checked bool) Arch {
	a := Arch{Arch: arch, Checked: checked}
	nrs := sysnames.Numbers(arch)
	if nrs == nil {
		o := cbpf.Explore(prog, cbpf.Input{Arch: arch, KnowArch: true})
		a.AnyNr = outcome(o)
		return a
	}
	groups := map[uint32][]int32{}
	for _, nr := range nrs {
		o := cbpf.Explore(prog, cbpf.Input{Nr: nr, Arch: arch, KnowNr: true, KnowArch: true})
		if ret, ok := o.Constant(); ok {
			groups[ret] = append(groups[ret], nr)
			if ret == policy.Allow {
				if k, kok := cbpf.KernelConst(prog, nr, arch); !kok || k != policy.Allow {
					a.KernelBlind++
				}
			}
			continue
		}
		a.Dependent = append(a.Dependent, Dependent{Nr: nr, Outcome: *outcome(o)})
	}
	for ret, nrs := range groups {
		a.Constant = append(a.Constant, ResultGroup{Ret: ret, Nrs: nrs})
	}
	slices.SortFunc(a.Constant, func(x, y ResultGroup) int {
		if n := cmp.Compare(len(y.Nrs), len(x.Nrs)); n != 0 {
			return n
		}
		return cmp.Compare(x.Ret, y.Ret)
	})
	return a
}

func outcome(o cbpf.Outcomes) *Outcome {
	out := &Outcome{Rets: byPrecedence(o.Rets), RetUnknown: o.RetUnknown, Incomplete: o.Incomplete}
	for w := range 16 {
		if o.Depends&(1<<w) != 0 {
			out.On = append(out.On, cbpf.DataField(uint32(4*w)))
		}
	}
	return out
}

// byPrecedence sorts return values the way seccomp_run_filters ranks them
// (§4): KILL_PROCESS first, ALLOW last; data bits break ties.
func byPrecedence(rets []uint32) []uint32 {
	slices.SortFunc(rets, func(a, b uint32) int {
		if n := cmp.Compare(policy.Precedence(a), policy.Precedence(b)); n != 0 {
			return n
		}
		return cmp.Compare(a, b)
	})
	return rets
}

// allLogged is every actions_logged bit a write can set: with it, an
// action the oracle still does not log is never logged.
const allLogged = policy.DefaultLogged

// filterLogging judges each action filter #i can return, once per action.
func filterLogging(s State, c *Chain, i int, f *Filter) []Logging {
	var out []Logging
	done := map[uint32]bool{}
	for _, ret := range f.Rets {
		action := policy.ActionOnly(ret)
		if done[action] {
			continue
		}
		done[action] = true
		out = append(out, judge(s, c, i, action, f.Log, policy.PathFilter))
	}
	if f.RetUnknown {
		out = append(out, Logging{Filter: i, Unknown: true,
			Why: fmt.Sprintf("a computed return (RET A) from filter #%d can be any action: whether it is logged depends on the value", i)})
	}
	return out
}

// strictLogging is the one action of strict mode: __secure_computing_strict's kill (§3).
func strictLogging(s State, c *Chain) Logging {
	return judge(s, c, -1, policy.KillThread, true, policy.PathStrict)
}

// judge asks the oracle about one action and words the answer.
func judge(s State, c *Chain, i int, action uint32, flagLog bool, path policy.Path) Logging {
	pol := policy.Policy{ActionsLogged: s.ActionsLogged, NoUserNotif: s.NoUserNotif}
	d := policy.Decision{Action: action, Requested: flagLog, Path: path}
	l := Logging{Filter: i, Action: action}
	l.Logged, l.Reason = policy.Expect(d, pol, s.Model)
	l.LoggedAudited = l.Logged
	if s.Model == policy.ModelPre418 && c.Audited > 0 {
		da := d
		da.Audited = true
		var ra policy.Reason
		l.LoggedAudited, ra = policy.Expect(da, pol, s.Model)
		if c.Audited == len(c.Tasks) {
			l.Logged, l.Reason = l.LoggedAudited, ra
		}
	}
	pol.ActionsLogged = allLogged
	if s.NoUserNotif {
		pol.ActionsLogged &^= policy.BitUserNotif
	}
	ever, _ := policy.Expect(d, pol, s.Model)
	l.Never = !ever
	l.Why = phrase(s, c, l, flagLog, path)
	return l
}

// actionWord names an action for a sentence: "ERRNO", "KILL_PROCESS",
// "action 0x10000" for one the kernel does not know.
func actionWord(action uint32, noUserNotif bool) string {
	if !policy.IsKnown(action) || (action == policy.UserNotif && noUserNotif) {
		return fmt.Sprintf("action %#x", action)
	}
	return strings.ToUpper(policy.CodeName(action))
}

// phrase is the one-line answer for a Logging.
func phrase(s State, c *Chain, l Logging, flagLog bool, path policy.Path) string {
	who := fmt.Sprintf("%s from filter #%d", actionWord(l.Action, s.NoUserNotif), l.Filter)
	if path == policy.PathStrict {
		who = "a strict-mode kill (KILL_THREAD)"
	}
	bit := policy.LogBit(l.Action)
	if path == policy.PathStrict {
		bit = policy.BitKillThread
	}
	bitName := bit.String()
	var why string
	switch l.Reason {
	case policy.ReasonAllowNeverLogs:
		why = who + " is never logged: ALLOW has no log call"
	case policy.ReasonFlagLogOff:
		why = who + " is never logged: the filter has no FLAG_LOG"
	case policy.ReasonNotInActionsLogged:
		if l.Never {
			why = fmt.Sprintf("%s is never logged: %s cannot be in actions_logged", who, bitName)
		} else {
			why = fmt.Sprintf("%s is not logged: %s is not in actions_logged (it would be if added)", who, bitName)
		}
	case policy.ReasonRequestedAndLogged:
		why = fmt.Sprintf("%s is logged (the filter has FLAG_LOG) unless %s is removed from actions_logged", who, bitName)
	case policy.ReasonLogActionLogged, policy.ReasonKillLogged:
		why = fmt.Sprintf("%s is logged unless %s is removed from actions_logged", who, bitName)
	case policy.ReasonUnknownActionLogged:
		why = fmt.Sprintf("%s is logged as a kill unless %s is removed from actions_logged", who, bitName)
	case policy.ReasonAuditedTaskPre418:
		why = fmt.Sprintf("%s is logged only because its tasks are audited (4.14-4.17: audit on, %s)", who, rulesPhrase(s))
	default:
		why = fmt.Sprintf("%s: %s", who, l.Reason)
	}
	if s.Model == policy.ModelPre418 && l.LoggedAudited && !l.Logged {
		why += fmt.Sprintf("; but logged for its %d audited task(s) (4.14-4.17: audit on, %s)", c.Audited, rulesPhrase(s))
	}
	if s.Model == policy.ModelPre418 && c.AuditUnknown > 0 && !l.Logged {
		why += fmt.Sprintf("; %d task(s) whose audit state is unknown may be audited", c.AuditUnknown)
	}
	switch l.Action {
	case policy.Trace:
		if l.Logged || l.LoggedAudited {
			why += "; never when a tracer handles it"
		}
	case policy.UserNotif:
		if (l.Logged || l.LoggedAudited) && !s.NoUserNotif {
			why += "; never when the supervisor answers CONTINUE"
		}
	}
	return why
}

func rulesPhrase(s State) string {
	if !s.RulesKnown {
		return "non-dummy audit context"
	}
	if s.CountingRules == 1 {
		return "1 syscall rule"
	}
	return fmt.Sprintf("%d syscall rules", s.CountingRules)
}
