// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/inventory"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// filtersWidth is the text output's line width: lists wrap there.
const filtersWidth = 80

func runFilters(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("filters", "usage: seccomptrace filters [--pid N] [--output text|json] [--disasm] [--model M]\n\n"+
		"Every task with seccomp on, now (a BPF task iterator: no ptrace, nobody stopped):\n"+
		"tasks grouped by filter chain, what each filter can return, per architecture which\n"+
		"syscalls always get the same result and which depend on their arguments, and which\n"+
		"actions the kernel logs under actions_logged and audit as they are now.", stderr)
	pid := fs.Int("pid", 0, "only this process (or thread)")
	output := fs.String("output", "text", "output format: text or json")
	disasm := fs.Bool("disasm", false, "include each filter's disassembly")
	model := fs.String("model", "auto", "kernel logging model: auto, 4.18+ or 4.14-4.17 (audit rules then make tasks audited)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("filters takes no arguments, got %q", fs.Arg(0))
	}
	if *pid < 0 {
		return fmt.Errorf("bad --pid %d: want a positive number", *pid)
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("bad --output %q: want text or json", *output)
	}
	if *pid > 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", *pid)); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pid %d: no such process", *pid)
		}
	}
	state, notes, err := filtersState(*model)
	if err != nil {
		return err
	}
	read := time.Now()
	inv, err := observer.ReadInventory()
	if err != nil {
		return err
	}
	rep := inventory.Analyze(inv, state, uint32(*pid))
	// Who holds each chain: cgroup ids named as the decisions' are.
	res := cgroups.NewResolver("")
	defer res.Close()
	rep.NameCgroups(func(id uint64) *cgroups.Cgroup { return res.Lookup(id, read) })
	if *output == "json" {
		return printReport(stdout, true, filtersToJSON(rep, notes, *disasm), nil)
	}
	return printFilters(stdout, rep, notes, *pid, *disasm)
}

// filtersState reads the logging state the actions are judged under. What
// cannot be read is said in notes, not guessed.
func filtersState(model string) (inventory.State, []string, error) {
	var s inventory.State
	var notes []string
	set, err := observer.ReadActionsLogged()
	if err != nil {
		return s, nil, err
	}
	s.ActionsLogged = set
	s.NoUserNotif = !observer.HasUserNotif()
	if model == "auto" {
		m, ok := observer.KernelModel()
		if !ok {
			notes = append(notes, "model: the kernel has neither audit_seccomp nor __audit_seccomp; judged as 4.18+")
		}
		s.Model = m
	} else {
		m, err := policy.ParseModel(model)
		if err != nil {
			return s, nil, fmt.Errorf("bad --model: %w", err)
		}
		s.Model = m
	}
	if st, err := audit.GetStatus(); err != nil {
		notes = append(notes, "audit state unknown: "+oneLineText(err.Error()))
	} else {
		s.AuditKnown, s.AuditEnabled = true, st.Enabled != 0
	}
	if rules, err := audit.ListRules(); err != nil {
		if s.Model == policy.ModelPre418 {
			notes = append(notes, "audit rules unknown ("+oneLineText(err.Error())+"): the audit context's dummy flag decides who is audited")
		}
	} else {
		s.RulesKnown = true
		for _, r := range rules {
			// audit_n_rules counts every rule but the user, exclude and filesystem lists (§7).
			if r.List != audit.ListUser && r.List != audit.ListExclude && r.List != audit.ListFilesystem {
				s.CountingRules++
			}
		}
	}
	return s, notes, nil
}

// ---- JSON ------------------------------------------------------------------

type filtersJSON struct {
	State     filtersStateJSON `json:"state"`
	Notes     []string         `json:"notes,omitempty"`
	Tasks     int              `json:"tasks"`
	Processes int              `json:"processes"`
	Chains    []chainJSON      `json:"chains"`
	Filters   []filterJSON     `json:"filters"`
	Unread    []unreadTaskJSON `json:"unread"`
}

type filtersStateJSON struct {
	ActionsLogged string `json:"actions_logged"`
	Model         string `json:"model"`
	UserNotif     bool   `json:"user_notif"`
	// AuditEnabled and CountingRules are null where they could not be read.
	AuditEnabled  *bool `json:"audit_enabled"`
	CountingRules *int  `json:"audit_counting_rules"`
}

type taskJSON struct {
	Pid         uint32 `json:"pid"`
	Tgid        uint32 `json:"tgid"`
	Comm        string `json:"comm"`
	Mode        string `json:"mode"`
	FilterCount *int32 `json:"filter_count"`
	Audited     *bool  `json:"audited"`
	AuditCtx    bool   `json:"audit_context"`
	AuditDummy  bool   `json:"audit_context_dummy"`
	// Who the task belongs to (docs/attribution.md): absent when unknown.
	CgroupID uint64 `json:"cgroup_id"`
	cgroupJSON
}

// ownerJSON is who holds a chain's processes: a container, else a unit.
type ownerJSON struct {
	ContainerID string `json:"container_id,omitempty"`
	Runtime     string `json:"container_runtime,omitempty"`
	Unit        string `json:"unit,omitempty"`
	UserUnit    string `json:"user_unit,omitempty"`
	Processes   int    `json:"processes"`
}

type chainFilterJSON struct {
	Index int    `json:"index"`
	Addr  string `json:"addr"`
	Prog  string `json:"prog"`
}

type chainJSON struct {
	Index     int               `json:"index"`
	Filters   []chainFilterJSON `json:"filters"`
	Processes int               `json:"processes"`
	Tasks     []taskJSON        `json:"tasks"`
	Owners    []ownerJSON       `json:"owners,omitempty"`
	Truncated bool              `json:"truncated,omitempty"`
	Audited   int               `json:"audited_tasks"`
	Cached    map[string]int    `json:"action_cache_allows,omitempty"`
	Logging   []loggingJSON     `json:"logging"`
	Notes     []string          `json:"notes,omitempty"`
}

type loggingJSON struct {
	Filter        int    `json:"filter"`
	Action        string `json:"action"`
	Logged        bool   `json:"logged"`
	LoggedAudited bool   `json:"logged_if_audited"`
	Never         bool   `json:"never"`
	Reason        string `json:"reason,omitempty"`
	Why           string `json:"why"`
}

type filterJSON struct {
	Addr       string     `json:"addr"`
	Prog       string     `json:"prog"`
	FlagLog    bool       `json:"flag_log"`
	Known      bool       `json:"program_known"`
	Missing    string     `json:"missing,omitempty"`
	Len        int        `json:"len"`
	Returns    []string   `json:"returns"`
	RetUnknown bool       `json:"computed_return,omitempty"`
	Incomplete bool       `json:"incomplete,omitempty"`
	ChecksArch bool       `json:"checks_arch"`
	Arches     []archJSON `json:"arches"`
	Disasm     []string   `json:"disasm,omitempty"`
}

type archJSON struct {
	Arch      string          `json:"arch"`
	Value     string          `json:"value"`
	Checked   bool            `json:"checked"`
	Other     bool            `json:"other_arches,omitempty"`
	Constant  []groupJSON     `json:"constant,omitempty"`
	Dependent []dependentJSON `json:"dependent,omitempty"`
	AnyNr     *outcomeJSON    `json:"any_nr,omitempty"`
	// KernelBlind: constant ALLOWs the kernel's cache emulator cannot prove.
	KernelBlind int `json:"constant_allow_not_cached,omitempty"`
}

type groupJSON struct {
	Result   string   `json:"result"`
	Ret      string   `json:"ret"`
	Count    int      `json:"count"`
	Syscalls []string `json:"syscalls"`
}

type outcomeJSON struct {
	Results    []string `json:"results"`
	RetUnknown bool     `json:"computed_return,omitempty"`
	Incomplete bool     `json:"incomplete,omitempty"`
	On         []string `json:"depends_on,omitempty"`
}

type dependentJSON struct {
	Syscall string `json:"syscall"`
	Nr      int32  `json:"nr"`
	outcomeJSON
}

type unreadTaskJSON struct {
	taskJSON
	Why string `json:"why"`
}

func hexAddr(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func modeName(m int32) string {
	switch m {
	case observer.SeccompModeDisabled:
		return "disabled"
	case observer.SeccompModeStrict:
		return "strict"
	case observer.SeccompModeFilter:
		return "filter"
	case observer.SeccompModeDead:
		return "dead"
	}
	return fmt.Sprintf("mode(%d)", m)
}

func toTaskJSON(rep *inventory.Report, t observer.SeccompTask) taskJSON {
	s := rep.State
	tj := taskJSON{Pid: t.Pid, Tgid: t.Tgid, Comm: t.Comm, Mode: modeName(t.Mode), AuditCtx: t.AuditCtx, AuditDummy: t.AuditDummy, CgroupID: t.CgroupID}
	tj.cgroupJSON = cgroupJSONOf(rep.Cgroups[t.CgroupID])
	if t.FilterCount >= 0 {
		n := t.FilterCount
		tj.FilterCount = &n
	}
	if a, ok := s.Audited(&t); ok {
		tj.Audited = &a
	}
	return tj
}

func results(rets []uint32) []string {
	out := make([]string, len(rets))
	for i, r := range rets {
		out[i] = policy.ActionName(r)
	}
	return out
}

func toOutcomeJSON(o inventory.Outcome) outcomeJSON {
	return outcomeJSON{Results: results(o.Rets), RetUnknown: o.RetUnknown, Incomplete: o.Incomplete, On: o.On}
}

func filtersToJSON(rep *inventory.Report, notes []string, disasm bool) filtersJSON {
	s := rep.State
	out := filtersJSON{
		State: filtersStateJSON{ActionsLogged: s.ActionsLogged.String(), Model: s.Model.String(), UserNotif: !s.NoUserNotif},
		Notes: notes, Tasks: rep.Tasks, Processes: rep.Processes,
		Chains: []chainJSON{}, Filters: []filterJSON{}, Unread: []unreadTaskJSON{},
	}
	if s.AuditKnown {
		on := s.AuditEnabled
		out.State.AuditEnabled = &on
	}
	if s.RulesKnown {
		n := s.CountingRules
		out.State.CountingRules = &n
	}
	for _, c := range rep.Chains {
		cj := chainJSON{Index: c.Index, Processes: c.Processes, Truncated: c.Truncated, Audited: c.Audited, Notes: c.Notes, Filters: []chainFilterJSON{}, Logging: []loggingJSON{}}
		for i, id := range c.Filters {
			cj.Filters = append(cj.Filters, chainFilterJSON{Index: i, Addr: hexAddr(id.Addr), Prog: hexAddr(id.Prog)})
		}
		for _, t := range c.Tasks {
			cj.Tasks = append(cj.Tasks, toTaskJSON(rep, t))
		}
		for _, o := range rep.Owners(c) {
			cj.Owners = append(cj.Owners, ownerJSON{o.ContainerID, o.Runtime, o.Unit, o.UserUnit, o.Processes})
		}
		if c.Cached != nil {
			cj.Cached = map[string]int{}
			for _, ac := range c.Cached {
				cj.Cached[sysnames.ArchName(ac.Arch)] = ac.Count
			}
		}
		for _, l := range c.Logging {
			lj := loggingJSON{Filter: l.Filter, Logged: l.Logged, LoggedAudited: l.LoggedAudited, Never: l.Never, Reason: string(l.Reason), Why: l.Why}
			lj.Action = policy.CodeName(l.Action)
			if l.Unknown {
				lj.Action = "computed"
			}
			cj.Logging = append(cj.Logging, lj)
		}
		out.Chains = append(out.Chains, cj)
	}
	for _, f := range rep.Filters {
		fj := filterJSON{Addr: hexAddr(f.ID.Addr), Prog: hexAddr(f.ID.Prog), FlagLog: f.Log, Known: f.Known, Missing: f.Missing,
			Len: f.Len, Returns: results(f.Rets), RetUnknown: f.RetUnknown, Incomplete: f.Incomplete, ChecksArch: f.ChecksArch, Arches: []archJSON{}}
		for _, a := range f.Arches {
			aj := archJSON{Arch: sysnames.ArchName(a.Arch), Value: fmt.Sprintf("%#x", a.Arch), Checked: a.Checked, Other: a.Other, KernelBlind: a.KernelBlind}
			if a.Other {
				aj.Arch = "other"
			}
			for _, g := range a.Constant {
				gj := groupJSON{Result: policy.ActionName(g.Ret), Ret: fmt.Sprintf("%#x", g.Ret), Count: len(g.Nrs)}
				for _, nr := range g.Nrs {
					gj.Syscalls = append(gj.Syscalls, sysnames.Name(a.Arch, nr))
				}
				aj.Constant = append(aj.Constant, gj)
			}
			for _, d := range a.Dependent {
				aj.Dependent = append(aj.Dependent, dependentJSON{Syscall: sysnames.Name(a.Arch, d.Nr), Nr: d.Nr, outcomeJSON: toOutcomeJSON(d.Outcome)})
			}
			if a.AnyNr != nil {
				o := toOutcomeJSON(*a.AnyNr)
				aj.AnyNr = &o
			}
			fj.Arches = append(fj.Arches, aj)
		}
		if disasm && f.Known {
			fj.Disasm = cbpf.Disasm(f.Insns, policy.ActionName)
		}
		out.Filters = append(out.Filters, fj)
	}
	for _, u := range rep.Unread {
		out.Unread = append(out.Unread, unreadTaskJSON{toTaskJSON(rep, u.Task), u.Why})
	}
	return out
}

// ---- text ------------------------------------------------------------------

// wrapList writes prefix, a space and items separated by spaces, wrapping
// at filtersWidth; continuation lines are indented past the prefix, or by
// two more spaces than a blank prefix.
func wrapList(w io.Writer, prefix string, items []string) {
	indent := strings.Repeat(" ", len(prefix)+1)
	line := prefix
	if strings.TrimSpace(prefix) == "" {
		indent, line = prefix+"  ", prefix[:max(len(prefix)-1, 0)]
	}
	fresh := true
	for _, it := range items {
		if !fresh && len(line)+1+len(it) > filtersWidth {
			fmt.Fprintln(w, line)
			line, fresh = indent[:len(indent)-1], true
		}
		line += " " + it
		fresh = false
	}
	fmt.Fprintln(w, line)
}

// plural is "1 task" or "3 tasks", "2 processes".
func plural(n int, word string) string {
	switch {
	case n == 1:
		return fmt.Sprintf("%d %s", n, word)
	case strings.HasSuffix(word, "s"):
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func printFilters(w io.Writer, rep *inventory.Report, notes []string, pid int, disasm bool) error {
	s := rep.State
	audit := "audit state unknown"
	if s.AuditKnown {
		audit = "audit off"
		if s.AuditEnabled {
			audit = "audit on"
		}
		if s.RulesKnown {
			audit += ", " + plural(s.CountingRules, "syscall rule")
		}
	}
	logged := s.ActionsLogged.String()
	if logged == "" {
		logged = "(none)"
	}
	fmt.Fprintf(w, "seccomp now: %s in %s, %s, %s\n", plural(rep.Tasks, "task"), plural(rep.Processes, "process"),
		plural(len(rep.Chains), "chain"), plural(len(rep.Filters), "filter"))
	wrapList(w, "judged under:", strings.Fields(fmt.Sprintf("actions_logged %s; %s; model %s", logged, audit, s.Model)))
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if rep.Tasks == 0 {
		if pid > 0 {
			fmt.Fprintf(w, "pid %d has no task with seccomp on\n", pid)
		}
		return nil
	}
	shown := map[observer.FilterID]int{}
	byID := map[observer.FilterID]*inventory.Filter{}
	for _, f := range rep.Filters {
		byID[f.ID] = f
	}
	for _, c := range rep.Chains {
		fmt.Fprintln(w)
		printChain(w, rep, c, byID, shown, disasm)
	}
	if len(rep.Unread) > 0 {
		fmt.Fprintln(w)
		for _, u := range rep.Unread {
			fmt.Fprintf(w, "not read: task %d of pid %d \"%s\": %s\n", u.Task.Pid, u.Task.Tgid, escape(u.Task.Comm), u.Why)
		}
	}
	return nil
}

func printChain(w io.Writer, rep *inventory.Report, c *inventory.Chain, byID map[observer.FilterID]*inventory.Filter, shown map[observer.FilterID]int, disasm bool) {
	var modes []string
	for _, m := range c.Modes {
		modes = append(modes, modeName(m))
	}
	what := plural(len(c.Filters), "filter")
	switch {
	case len(c.Filters) == 0:
		what = "no filters"
	case len(c.Filters) > 1:
		what += " (newest first)"
	}
	fmt.Fprintf(w, "chain %d: %s in %s, %s, mode %s\n", c.Index, plural(len(c.Tasks), "task"), plural(c.Processes, "process"), what, strings.Join(modes, "+"))
	// One line per process: its comm and threads.
	var tgids []uint32
	threads := map[uint32][]string{}
	comm := map[uint32]string{}
	for _, t := range c.Tasks {
		if _, ok := threads[t.Tgid]; !ok {
			tgids = append(tgids, t.Tgid)
			comm[t.Tgid] = t.Comm
		}
		if t.Pid == t.Tgid {
			comm[t.Tgid] = t.Comm
		}
		threads[t.Tgid] = append(threads[t.Tgid], strconv.Itoa(int(t.Pid)))
	}
	for _, tg := range tgids {
		ts := threads[tg]
		if len(ts) > 12 {
			ts = append(ts[:12:12], fmt.Sprintf("(+%d)", len(threads[tg])-12))
		}
		wrapList(w, fmt.Sprintf("  pid %d \"%s\" %s:", tg, escape(comm[tg]), plural(len(threads[tg]), "thread")), ts)
	}
	for _, o := range rep.Owners(c) {
		fmt.Fprintf(w, "  %s: %s\n", ownerText(o), plural(o.Processes, "process"))
	}
	for i, id := range c.Filters {
		f := byID[id]
		if prev, ok := shown[id]; ok {
			fmt.Fprintf(w, "  #%d filter %s: as shown in chain %d\n", i, hexAddr(id.Addr), prev)
			continue
		}
		shown[id] = c.Index
		printFilter(w, i, f, disasm)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if c.Cached != nil {
		var parts []string
		for _, ac := range c.Cached {
			parts = append(parts, fmt.Sprintf("%s %d", sysnames.ArchName(ac.Arch), ac.Count))
		}
		wrapList(w, "  cached ALLOW (5.11+, no filter runs):", strings.Fields(strings.Join(parts, ", ")+" syscalls"))
	}
	if rep.State.Model == policy.ModelPre418 {
		fmt.Fprintf(w, "  audited tasks (4.14-4.17): %d of %d", c.Audited, len(c.Tasks))
		if c.AuditUnknown > 0 {
			fmt.Fprintf(w, ", %d unknown", c.AuditUnknown)
		}
		fmt.Fprintln(w)
	}
	if len(c.Logging) > 0 {
		fmt.Fprintln(w, "  logging:")
		for _, l := range c.Logging {
			wrapList(w, "    ", strings.Fields(l.Why))
		}
	}
}

func printFilter(w io.Writer, i int, f *inventory.Filter, disasm bool) {
	flag := "no FLAG_LOG"
	if f.Log {
		flag = "FLAG_LOG"
	}
	if !f.Known {
		fmt.Fprintf(w, "  #%d filter %s, %s: %s\n", i, hexAddr(f.ID.Addr), flag, f.Missing)
		return
	}
	fmt.Fprintf(w, "  #%d filter %s: %s, %s\n", i, hexAddr(f.ID.Addr), plural(f.Len, "instruction"), flag)
	rets := results(f.Rets)
	if f.RetUnknown {
		rets = append(rets, "computed(RET A)")
	}
	if f.Incomplete {
		rets = append(rets, "(incomplete: too many paths)")
	}
	wrapList(w, "     can return:", rets)
	if !f.ChecksArch {
		fmt.Fprintf(w, "     does not check the architecture: %s numbers are judged like %s ones\n", sysnames.ArchName(sysnames.Compat), sysnames.ArchName(sysnames.Native))
	}
	for _, a := range f.Arches {
		printArch(w, a)
	}
	if disasm {
		for _, l := range cbpf.Disasm(f.Insns, policy.ActionName) {
			fmt.Fprintf(w, "       %s\n", l)
		}
	}
}

func printArch(w io.Writer, a inventory.Arch) {
	name := sysnames.ArchName(a.Arch)
	switch {
	case a.Other:
		name = "other arches"
	case a.Checked:
		name += " (checked)"
	default:
		name += " (not checked)"
	}
	head := "     " + name + ":"
	if a.AnyNr != nil {
		wrapList(w, head, anyNrWords(*a.AnyNr))
		return
	}
	total := 0
	for _, g := range a.Constant {
		total += len(g.Nrs)
	}
	total += len(a.Dependent)
	fmt.Fprintln(w, head)
	for gi, g := range a.Constant {
		label := fmt.Sprintf("       %s:", policy.ActionName(g.Ret))
		switch {
		case len(g.Nrs) == total:
			fmt.Fprintf(w, "%s every syscall (%d)\n", label, total)
		case gi == 0 && len(g.Nrs) > 16:
			fmt.Fprintf(w, "%s %d other syscalls\n", label, len(g.Nrs))
		default:
			var names []string
			for _, nr := range g.Nrs {
				names = append(names, sysnames.Name(a.Arch, nr))
			}
			wrapList(w, label, names)
		}
	}
	for _, d := range a.Dependent {
		wrapList(w, fmt.Sprintf("       %s:", sysnames.Name(a.Arch, d.Nr)), anyNrWords(d.Outcome))
	}
	if a.KernelBlind > 0 {
		fmt.Fprintf(w, "       (%d constant ALLOWs the kernel's action cache cannot see)\n", a.KernelBlind)
	}
}

// anyNrWords says what an input class gives: "allow", or which words
// decide between which results.
func anyNrWords(o inventory.Outcome) []string {
	var words []string
	if len(o.Rets) > 1 || o.RetUnknown || o.Incomplete {
		on := "the input"
		if len(o.On) > 0 {
			on = strings.Join(o.On, ",")
		}
		words = append(words, on, "decides:")
	}
	words = append(words, results(o.Rets)...)
	if o.RetUnknown {
		words = append(words, "computed(RET A)")
	}
	if o.Incomplete {
		words = append(words, "(incomplete)")
	}
	return slices.Clip(words)
}

// ownerText names a container by its short id (as docker ps does) and
// runtime, or a unit; unit names come from cgroup folders: escaped.
func ownerText(o inventory.Owner) string {
	if o.ContainerID != "" {
		rt := o.Runtime
		if rt == "" {
			rt = "runtime unknown"
		}
		return fmt.Sprintf("container %s (%s)", o.ContainerID[:12], rt)
	}
	if o.UserUnit != "" {
		return fmt.Sprintf("unit %s in %s", escape(o.UserUnit), escape(o.Unit))
	}
	return "unit " + escape(o.Unit)
}
