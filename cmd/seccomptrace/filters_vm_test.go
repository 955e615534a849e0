// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// getsidFilter: KILL_PROCESS on any arch but the native one; getsid(0) gives
// ERRNO(7), getsid of anything else ALLOW; every other syscall ALLOW.
var getsidFilter = []cbpf.Instruction{
	cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, cbpf.OffArch),
	cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ, sysnames.Native, 1, 0),
	cbpf.Stmt(cbpf.ClassRET, policy.KillProcess),
	cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, cbpf.OffNr),
	cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ, unix.SYS_GETSID, 0, 3),
	cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, cbpf.OffArgs),
	cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ, 0, 0, 1),
	cbpf.Stmt(cbpf.ClassRET, policy.Errno|7),
	cbpf.Stmt(cbpf.ClassRET, policy.Allow),
}

// procSeccomp reads a thread's Seccomp and Seccomp_filters lines.
func procSeccomp(t *testing.T, tgid, pid uint32) (mode, filters int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", tgid, pid))
	if err != nil {
		t.Fatal(err)
	}
	mode, filters = -1, -1
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case k == "Seccomp" && err == nil:
			mode = n
		case k == "Seccomp_filters" && err == nil:
			filters = n
		}
	}
	if mode < 0 || filters < 0 {
		testutil.Missing(t, "/proc/%d/task/%d/status has no Seccomp or Seccomp_filters line (5.9+)", tgid, pid)
	}
	return mode, filters
}

func filtersJSONRun(t *testing.T, args ...string) filtersJSON {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"filters", "--output", "json"}, args...), &out, &errOut); err != nil {
		t.Fatalf("filters %v: %v\n%s", args, err, errOut.String())
	}
	var got filtersJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("filters %v: %v\n%s", args, err, out.String())
	}
	return got
}

// chainOf finds the one chain holding tgid's tasks and checks that it
// holds every thread in tids and nothing of another process.
func chainOf(t *testing.T, got filtersJSON, what string, tgid int, tids []int) chainJSON {
	t.Helper()
	var found []chainJSON
	for _, c := range got.Chains {
		if slices.ContainsFunc(c.Tasks, func(tj taskJSON) bool { return tj.Tgid == uint32(tgid) }) {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s (pid %d): in %d chains, want 1", what, tgid, len(found))
	}
	c := found[0]
	var pids []int
	for _, tj := range c.Tasks {
		if tj.Tgid != uint32(tgid) {
			t.Errorf("%s: chain %d also holds task %d of pid %d", what, c.Index, tj.Pid, tj.Tgid)
		}
		pids = append(pids, int(tj.Pid))
	}
	for _, tid := range tids {
		if !slices.Contains(pids, tid) {
			t.Errorf("%s: thread %d missing from chain %d (tasks %v)", what, tid, c.Index, pids)
		}
	}
	if c.Processes != 1 {
		t.Errorf("%s: chain %d counts %d processes, want 1", what, c.Index, c.Processes)
	}
	return c
}

// TestFiltersVM holds workload children with known stacks and checks that
// `filters` shows exactly them: one filter; three stacked on a process
// whose extra threads (started before the TSYNC installs) share the chain;
// and a forked child that keeps the first two, the same filter objects.
// Every task is checked against /proc/PID/task/TID/status.
func TestFiltersVM(t *testing.T) {
	inVM(t)
	// Audit on before the children fork (a task gets an audit context only
	// once audit was ever enabled, §7) and one syscall rule: for --model 4.14-4.17.
	setAuditEnabled(t, true)
	if err := audit.AddSyscallRule(sysnames.Native, unix.SYS_GETPPID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := audit.DeleteSyscallRule(sysnames.Native, unix.SYS_GETPPID); err != nil {
			t.Errorf("deleting the audit rule: %v", err)
		}
	})

	specOne := workload.FilterSpec{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}, Log: true}
	stack := []workload.FilterSpec{ // oldest first
		{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}},
		{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.KillProcess}}, Log: true},
		{Program: getsidFilter, Log: true},
	}
	dir := t.TempDir()
	one, err := workload.Hold(workload.Scenario{Filters: []workload.FilterSpec{specOne}}, filepath.Join(dir, "one.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer one.Release()
	held, err := workload.Hold(workload.Scenario{
		Filters: stack,
		// A getsid(0) under the stack: ERRNO(7) from the newest filter.
		Calls: []workload.Call{{Nr: unix.SYS_GETSID, Count: 1}},
		Hold:  &workload.HoldSpec{Threads: 3, Fork: true, ForkAt: 2},
	}, filepath.Join(dir, "stack.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	rep := held.Report

	got := filtersJSONRun(t, "--disasm")
	if got.State.ActionsLogged != policy.DefaultLogged.String() || got.State.Model != "4.18+" {
		t.Fatalf("state = %+v: another test left actions_logged changed, or the model is wrong", got.State)
	}
	if got.State.AuditEnabled == nil || !*got.State.AuditEnabled || got.State.CountingRules == nil || *got.State.CountingRules < 1 {
		t.Fatalf("state = %+v: want audit on with at least the test's rule", got.State)
	}
	t.Logf("inventory: %d tasks in %d processes, %d chains, %d filters, %d unread",
		got.Tasks, got.Processes, len(got.Chains), len(got.Filters), len(got.Unread))

	cOne := chainOf(t, got, "one filter", one.Report.Pid, one.Report.Tids)
	cStack := chainOf(t, got, "three stacked", rep.Pid, rep.Tids)
	cFork := chainOf(t, got, "forked child", rep.ForkPid, rep.ForkTids)
	if len(rep.Tids) < 4 {
		t.Errorf("the stacked child reports %d threads, want its 3 extra and the main one at least", len(rep.Tids))
	}

	// The chains: lengths, and the fork's is the parent's without the newest.
	if len(cOne.Filters) != 1 || len(cStack.Filters) != 3 || len(cFork.Filters) != 2 {
		t.Fatalf("chain lengths %d, %d, %d; want 1, 3, 2", len(cOne.Filters), len(cStack.Filters), len(cFork.Filters))
	}
	for i := range 2 {
		if p, f := cStack.Filters[i+1], cFork.Filters[i]; p.Addr != f.Addr || p.Prog != f.Prog {
			t.Errorf("fork's filter #%d %s/%s is not its parent's #%d %s/%s", i, f.Addr, f.Prog, i+1, p.Addr, p.Prog)
		}
	}

	// Every task against /proc, and filter_count against the chain.
	for _, c := range []chainJSON{cOne, cStack, cFork} {
		for _, tj := range c.Tasks {
			mode, n := procSeccomp(t, tj.Tgid, tj.Pid)
			if mode != 2 || tj.Mode != "filter" {
				t.Errorf("task %d: /proc Seccomp %d, inventory mode %s; want 2, filter", tj.Pid, mode, tj.Mode)
			}
			if n != len(c.Filters) || tj.FilterCount == nil || int(*tj.FilterCount) != n {
				t.Errorf("task %d: /proc Seccomp_filters %d, filter_count %v, chain of %d", tj.Pid, n, tj.FilterCount, len(c.Filters))
			}
			if tj.Audited == nil || !*tj.Audited {
				t.Errorf("task %d: audited %v; want true (audit on, a syscall rule, forked after)", tj.Pid, tj.Audited)
			}
		}
	}

	// Each filter: its program, length and log bit as installed, what it can return.
	filters := map[string]filterJSON{}
	for _, f := range got.Filters {
		filters[f.Addr] = f
	}
	check := func(what string, addr string, spec workload.FilterSpec, returns string) filterJSON {
		t.Helper()
		f, ok := filters[addr]
		if !ok {
			t.Fatalf("%s: filter %s not in the report", what, addr)
		}
		prog := spec.Build()
		if want := cbpf.Disasm(prog, policy.ActionName); !f.Known || f.Len != len(prog) || !slices.Equal(f.Disasm, want) {
			t.Errorf("%s: program (known %v, %d instructions):\n%s\nwant:\n%s", what, f.Known, f.Len, strings.Join(f.Disasm, "\n"), strings.Join(want, "\n"))
		}
		if f.FlagLog != spec.Log {
			t.Errorf("%s: flag_log %v, installed with %v", what, f.FlagLog, spec.Log)
		}
		if got := strings.Join(f.Returns, " "); got != returns {
			t.Errorf("%s: returns %q, want %q", what, got, returns)
		}
		return f
	}
	check("one filter", cOne.Filters[0].Addr, specOne, "errno(1) allow")
	newest := check("stack #0", cStack.Filters[0].Addr, stack[2], "kill_process errno(7) allow")
	check("stack #1", cStack.Filters[1].Addr, stack[1], "kill_process allow")
	check("stack #2", cStack.Filters[2].Addr, stack[0], "errno(1) allow")
	native := newest.Arches[0]
	if native.Arch != nativeArch || !native.Checked || len(native.Dependent) != 1 || native.Dependent[0].Syscall != "getsid" ||
		strings.Join(native.Dependent[0].Results, " ") != "errno(7) allow" || strings.Join(native.Dependent[0].On, " ") != "args[0].lo" {
		t.Errorf("stack #0 on %s: %+v", nativeArch, native)
	}
	compatArch := sysnames.ArchName(sysnames.Compat)
	if compat := newest.Arches[1]; compat.Arch != compatArch || compat.Checked || len(compat.Constant) != 1 || compat.Constant[0].Result != "kill_process" {
		t.Errorf("stack #0 on %s: %+v", compatArch, compat)
	}

	// What the kernel logs, filter by filter (newest first), as things are.
	whys := func(c chainJSON) []string {
		var out []string
		for _, l := range c.Logging {
			out = append(out, l.Why)
		}
		return out
	}
	wantStack := []string{
		"KILL_PROCESS from filter #0 is logged unless kill_process is removed from actions_logged",
		"ERRNO from filter #0 is logged (the filter has FLAG_LOG) unless errno is removed from actions_logged",
		"ALLOW from filter #0 is never logged: ALLOW has no log call",
		"KILL_PROCESS from filter #1 is logged unless kill_process is removed from actions_logged",
		"ALLOW from filter #1 is never logged: ALLOW has no log call",
		"ERRNO from filter #2 is never logged: the filter has no FLAG_LOG",
		"ALLOW from filter #2 is never logged: ALLOW has no log call",
	}
	if got := whys(cStack); !slices.Equal(got, wantStack) {
		t.Errorf("stack logging:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantStack, "\n"))
	}

	// The pre-4.18 model: with the rule, every task is audited, so the
	// FLAG_LOG-off ERRNO is logged too.
	pre := filtersJSONRun(t, "--pid", strconv.Itoa(rep.Pid), "--model", "4.14-4.17")
	if len(pre.Chains) != 1 || pre.Chains[0].Audited != len(pre.Chains[0].Tasks) {
		t.Fatalf("--pid --model 4.14-4.17: %d chains, audited %+v", len(pre.Chains), pre.Chains)
	}
	wantPre := fmt.Sprintf("ERRNO from filter #2 is logged only because its tasks are audited (4.14-4.17: audit on, %d syscall rule", *pre.State.CountingRules)
	if !slices.ContainsFunc(whys(pre.Chains[0]), func(s string) bool { return strings.HasPrefix(s, wantPre) }) {
		t.Errorf("4.14-4.17 logging:\n%s\nwant a line starting %q", strings.Join(whys(pre.Chains[0]), "\n"), wantPre)
	}

	// The text form of the whole inventory (the README's transcript).
	var text, errOut bytes.Buffer
	if err := run(context.Background(), []string{"filters"}, &text, &errOut); err != nil {
		t.Fatalf("filters: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{
		fmt.Sprintf("%d tasks in 1 process, 3 filters (newest first), mode filter", len(cStack.Tasks)),
		fmt.Sprintf("%d tasks in 1 process, 2 filters (newest first), mode filter", len(cFork.Tasks)),
		fmt.Sprintf("#0 filter %s: as shown in chain %d", cFork.Filters[0].Addr, cStack.Index),
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	t.Logf("seccomptrace filters\n%s", text.String())

	res, err := held.Release()
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Calls[0].Errnos[7]; n != 1 {
		t.Errorf("getsid(0) under the stack: errnos %v, want one ERRNO(7)", res.Calls[0].Errnos)
	}
	if _, err := one.Release(); err != nil {
		t.Fatal(err)
	}
}
