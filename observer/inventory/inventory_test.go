// SPDX-License-Identifier: Apache-2.0

package inventory

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

var (
	idA = observer.FilterID{Addr: 0xffff8880_0000a000, Prog: 0xffffc900_0000a000}
	idB = observer.FilterID{Addr: 0xffff8880_0000b000, Prog: 0xffffc900_0000b000}
	idK = observer.FilterID{Addr: 0xffff8880_0000c000, Prog: 0xffffc900_0000c000}
)

// argFilter: getpgrp gives ERRNO(7) when args[0].lo is 5, ALLOW otherwise;
// KILL_PROCESS for any arch but the native one; ALLOW for every other syscall.
var argFilter = []cbpf.Instruction{
	cbpf.Stmt(0x20, cbpf.OffArch),
	cbpf.Jump(0x15, sysnames.Native, 1, 0),
	cbpf.Stmt(0x06, policy.KillProcess),
	cbpf.Stmt(0x20, cbpf.OffNr),
	cbpf.Jump(0x15, workload.NrGetpgrp, 0, 3),
	cbpf.Stmt(0x20, cbpf.OffArgs),
	cbpf.Jump(0x15, 5, 0, 1),
	cbpf.Stmt(0x06, policy.Errno|7),
	cbpf.Stmt(0x06, policy.Allow),
}

func task(pid, tgid uint32, comm string, chain ...observer.FilterID) observer.SeccompTask {
	return observer.SeccompTask{Pid: pid, Tgid: tgid, Comm: comm, Mode: observer.SeccompModeFilter,
		FilterCount: int32(len(chain)), Chain: chain, AuditKnown: true, AuditCtx: true, AuditDummy: true}
}

// testInventory: a process of three threads under [B, A], its forked child
// under [A] only, a strict-mode task, and one that was exiting.
func testInventory() *observer.Inventory {
	errno1 := policy.Errno | 1
	a := workload.FilterSpec{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: errno1}}}.Build()
	strict := task(30, 30, "strict")
	strict.Mode, strict.FilterCount = observer.SeccompModeStrict, 0
	gone := task(40, 40, "gone")
	gone.Exiting = true
	return &observer.Inventory{
		Tasks: []observer.SeccompTask{
			task(10, 10, "main", idB, idA), task(11, 10, "main", idB, idA), task(12, 10, "main", idB, idA),
			task(20, 20, "child", idA),
			strict, gone,
		},
		Filters: map[observer.FilterID]*observer.Filter{
			idA: {Addr: idA.Addr, Prog: idA.Prog, Insns: a},
			idB: {Addr: idB.Addr, Prog: idB.Prog, Log: true, Insns: argFilter},
		},
	}
}

var defaultState = State{ActionsLogged: policy.DefaultLogged, Model: policy.ModelPost418, AuditKnown: true, AuditEnabled: true, RulesKnown: true}

func TestAnalyzeGroups(t *testing.T) {
	r := Analyze(testInventory(), defaultState, 0)
	if r.Tasks != 6 || r.Processes != 4 {
		t.Errorf("Tasks, Processes = %d, %d; want 6, 4", r.Tasks, r.Processes)
	}
	if len(r.Chains) != 3 {
		t.Fatalf("%d chains, want 3", len(r.Chains))
	}
	c := r.Chains[0]
	if !slices.Equal(c.Filters, []observer.FilterID{idB, idA}) || len(c.Tasks) != 3 || c.Processes != 1 || c.Index != 1 {
		t.Errorf("chain 1 = %d tasks, %d processes, filters %v", len(c.Tasks), c.Processes, c.Filters)
	}
	if c := r.Chains[1]; !slices.Equal(c.Filters, []observer.FilterID{idA}) || len(c.Tasks) != 1 || c.Tasks[0].Pid != 20 {
		t.Errorf("chain 2 = %+v", c)
	}
	if c := r.Chains[2]; len(c.Filters) != 0 || !slices.Equal(c.Modes, []int32{observer.SeccompModeStrict}) {
		t.Errorf("chain 3 = %+v", c)
	}
	if len(r.Unread) != 1 || r.Unread[0].Task.Pid != 40 || !strings.Contains(r.Unread[0].Why, "exiting") {
		t.Errorf("Unread = %+v", r.Unread)
	}
	// B first (newest of the first chain), then A: each filter once.
	if len(r.Filters) != 2 || r.Filters[0].ID != idB || r.Filters[1].ID != idA {
		t.Fatalf("Filters = %+v", r.Filters)
	}

	only := Analyze(testInventory(), defaultState, 20)
	if only.Tasks != 1 || len(only.Chains) != 1 || len(only.Filters) != 1 {
		t.Errorf("--pid 20: %d tasks, %d chains, %d filters; want 1, 1, 1", only.Tasks, len(only.Chains), len(only.Filters))
	}
	if thread := Analyze(testInventory(), defaultState, 11); thread.Tasks != 1 {
		t.Errorf("--pid 11 (a thread): %d tasks, want 1", thread.Tasks)
	}
}

func constantFor(a Arch, ret uint32) []int32 {
	for _, g := range a.Constant {
		if g.Ret == ret {
			return g.Nrs
		}
	}
	return nil
}

func TestAnalyzeFilters(t *testing.T) {
	r := Analyze(testInventory(), defaultState, 0)
	b, a := r.Filters[0], r.Filters[1]

	if !a.Known || a.Len != 6 || a.Log || !slices.Equal(a.Rets, []uint32{policy.Errno | 1, policy.Allow}) || !a.ChecksArch {
		t.Errorf("filter A = %+v", a)
	}
	native := a.Arches[0]
	if native.Arch != sysnames.Native || !native.Checked || len(native.Dependent) != 0 {
		t.Errorf("A native = %+v", native)
	}
	if got := constantFor(native, policy.Errno|1); !slices.Equal(got, []int32{unix.SYS_GETPPID}) {
		t.Errorf("A native errno(1) syscalls = %v, want getppid", got)
	}
	if n := len(constantFor(native, policy.Allow)); n != len(sysnames.Numbers(sysnames.Native))-1 {
		t.Errorf("A native allows %d syscalls, want all but getppid", n)
	}
	// FilterSpec.Build allows every other arch: the compat arch is not checked, all ALLOW.
	compat := a.Arches[1]
	if compat.Arch != sysnames.Compat || compat.Checked || len(compat.Constant) != 1 || compat.Constant[0].Ret != policy.Allow {
		t.Errorf("A compat = %+v", compat)
	}
	if other := a.Arches[len(a.Arches)-1]; !other.Other || other.AnyNr == nil || !slices.Equal(other.AnyNr.Rets, []uint32{policy.Allow}) {
		t.Errorf("A other arches = %+v", other)
	}

	if !b.Log || !slices.Equal(b.Rets, []uint32{policy.KillProcess, policy.Errno | 7, policy.Allow}) {
		t.Errorf("filter B = %+v", b)
	}
	bx := b.Arches[0]
	if len(bx.Dependent) != 1 || bx.Dependent[0].Nr != workload.NrGetpgrp ||
		!slices.Equal(bx.Dependent[0].Rets, []uint32{policy.Errno | 7, policy.Allow}) || !slices.Equal(bx.Dependent[0].On, []string{"args[0].lo"}) {
		t.Errorf("B native dependent = %+v", bx.Dependent)
	}
	if bi := b.Arches[1]; len(bi.Constant) != 1 || bi.Constant[0].Ret != policy.KillProcess || bi.Checked {
		t.Errorf("B compat = %+v", bi)
	}

	// The cache: getppid (A's ERRNO) and getpgrp (B's argument test) are the
	// only x86_64 syscalls it cannot answer; compat is killed by B.
	c := r.Chains[0]
	want := []ArchCount{{sysnames.Native, len(sysnames.Numbers(sysnames.Native)) - 2}, {sysnames.Compat, 0}}
	if !slices.Equal(c.Cached, want) {
		t.Errorf("chain 1 cache = %+v, want %+v", c.Cached, want)
	}
}

func whys(c *Chain) []string {
	var out []string
	for _, l := range c.Logging {
		out = append(out, l.Why)
	}
	return out
}

func TestAnalyzeLogging(t *testing.T) {
	tests := []struct {
		name  string
		state State
		chain int
		want  []string
	}{
		{
			name:  "defaults",
			state: defaultState,
			want: []string{
				"KILL_PROCESS from filter #0 is logged unless kill_process is removed from actions_logged",
				"ERRNO from filter #0 is logged (the filter has FLAG_LOG) unless errno is removed from actions_logged",
				"ALLOW from filter #0 is never logged: ALLOW has no log call",
				"ERRNO from filter #1 is never logged: the filter has no FLAG_LOG",
				"ALLOW from filter #1 is never logged: ALLOW has no log call",
			},
		},
		{
			name:  "errno and kill_process removed",
			state: State{ActionsLogged: policy.DefaultLogged &^ (policy.BitErrno | policy.BitKillProcess), Model: policy.ModelPost418},
			want: []string{
				"KILL_PROCESS from filter #0 is not logged: kill_process is not in actions_logged (it would be if added)",
				"ERRNO from filter #0 is not logged: errno is not in actions_logged (it would be if added)",
				"ALLOW from filter #0 is never logged: ALLOW has no log call",
				"ERRNO from filter #1 is never logged: the filter has no FLAG_LOG",
				"ALLOW from filter #1 is never logged: ALLOW has no log call",
			},
		},
		{
			name:  "4.14-4.17 with a syscall rule: every task audited",
			state: State{ActionsLogged: policy.DefaultLoggedPre50, NoUserNotif: true, Model: policy.ModelPre418, AuditKnown: true, AuditEnabled: true, RulesKnown: true, CountingRules: 1},
			want: []string{
				"KILL_PROCESS from filter #0 is logged unless kill_process is removed from actions_logged",
				"ERRNO from filter #0 is logged (the filter has FLAG_LOG) unless errno is removed from actions_logged",
				"ALLOW from filter #0 is never logged: ALLOW has no log call",
				"ERRNO from filter #1 is logged only because its tasks are audited (4.14-4.17: audit on, 1 syscall rule)",
				"ALLOW from filter #1 is never logged: ALLOW has no log call",
			},
		},
		{
			name:  "4.14-4.17 without rules",
			state: State{ActionsLogged: policy.DefaultLoggedPre50, NoUserNotif: true, Model: policy.ModelPre418, AuditKnown: true, AuditEnabled: true, RulesKnown: true},
			chain: 1,
			want: []string{
				"ERRNO from filter #0 is never logged: the filter has no FLAG_LOG",
				"ALLOW from filter #0 is never logged: ALLOW has no log call",
			},
		},
		{
			name:  "strict mode",
			state: defaultState,
			chain: 2,
			want:  []string{"a strict-mode kill (KILL_THREAD) is logged unless kill_thread is removed from actions_logged"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Analyze(testInventory(), tt.state, 0)
			if got := whys(r.Chains[tt.chain]); !slices.Equal(got, tt.want) {
				t.Errorf("logging:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestAnalyzeMixedAudit(t *testing.T) {
	inv := testInventory()
	inv.Tasks[1].AuditCtx = false // one thread without an audit context
	s := State{ActionsLogged: policy.DefaultLoggedPre50, NoUserNotif: true, Model: policy.ModelPre418, AuditKnown: true, AuditEnabled: true, RulesKnown: true, CountingRules: 2}
	c := Analyze(inv, s, 0).Chains[0]
	if c.Audited != 2 {
		t.Fatalf("Audited = %d, want 2", c.Audited)
	}
	want := "ERRNO from filter #1 is never logged: the filter has no FLAG_LOG; but logged for its 2 audited task(s) (4.14-4.17: audit on, 2 syscall rules)"
	if got := whys(c); !slices.Contains(got, want) {
		t.Errorf("logging:\n%s\nwant a line:\n%s", strings.Join(got, "\n"), want)
	}
}

func TestAnalyzeUnknowns(t *testing.T) {
	inv := testInventory()
	inv.Filters[idA].Insns = nil // no orig_prog
	delete(inv.Filters, idB)
	inv.Tasks[0].NotStored = true
	inv.Tasks = append(inv.Tasks, task(50, 50, "other", idK))
	r := Analyze(inv, defaultState, 0)
	for _, f := range r.Filters {
		if f.Known || f.Missing == "" {
			t.Errorf("filter %x: Known %v Missing %q", f.ID.Addr, f.Known, f.Missing)
		}
	}
	want := map[observer.FilterID]string{
		idA: "the kernel kept no original program",
		idB: "the iterator's filter map was full",
		idK: "not in the iterator's map",
	}
	for _, f := range r.Filters {
		if !strings.Contains(f.Missing, want[f.ID]) {
			t.Errorf("filter %x: Missing %q, want it to say %q", f.ID.Addr, f.Missing, want[f.ID])
		}
	}
	if c := r.Chains[0]; c.Cached != nil || len(c.Logging) != 0 || len(c.Notes) != 2 {
		t.Errorf("chain with unknown programs: cache %v, logging %v, notes %q", c.Cached, c.Logging, c.Notes)
	}
}
