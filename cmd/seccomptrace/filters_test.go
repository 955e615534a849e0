// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/inventory"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

func TestFiltersFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"filters", "--output", "yaml"}, `bad --output "yaml"`},
		{[]string{"filters", "--pid", "-1"}, "bad --pid -1"},
		{[]string{"filters", "extra"}, `filters takes no arguments, got "extra"`},
		{[]string{"filters", "--model", "5.x"}, "bad --model"},
		{[]string{"filters", "--pid", "2147483647"}, "pid 2147483647: no such process"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to contain %q", tc.args, err, tc.want)
		}
	}
}

// testReport is an analysed inventory of a process of two threads, one
// with a hostile comm, under two filters.
func testReport(t *testing.T) *inventory.Report {
	t.Helper()
	a := observer.FilterID{Addr: 0xffff888100000a00, Prog: 0xffffc90000000a00}
	b := observer.FilterID{Addr: 0xffff888100000b00, Prog: 0xffffc90000000b00}
	var rules []workload.Rule
	for nr := int32(0); nr < 40; nr++ { // a long list of names, to wrap
		rules = append(rules, workload.Rule{Nr: nr, Action: policy.Errno | 1})
	}
	task := func(pid uint32, comm string) observer.SeccompTask {
		return observer.SeccompTask{Pid: pid, Tgid: 100, Comm: comm, Mode: observer.SeccompModeFilter, FilterCount: 2, Chain: []observer.FilterID{b, a}}
	}
	inv := &observer.Inventory{
		Tasks: []observer.SeccompTask{task(100, "evil\x1b[2J\n"), task(101, "evil\x1b[2J\n")},
		Filters: map[observer.FilterID]*observer.Filter{
			a: {Addr: a.Addr, Prog: a.Prog, Insns: workload.FilterSpec{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.KillProcess}}}.Build()},
			b: {Addr: b.Addr, Prog: b.Prog, Log: true, Insns: workload.FilterSpec{Rules: rules}.Build()},
		},
	}
	return inventory.Analyze(inv, inventory.State{ActionsLogged: policy.DefaultLogged, Model: policy.ModelPost418, AuditKnown: true, RulesKnown: true}, 0)
}

func TestFiltersText(t *testing.T) {
	var out bytes.Buffer
	if err := printFilters(&out, testReport(t), []string{"a note"}, 0, true); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.ContainsAny(text, "\x1b\r") || strings.Contains(text, "evil\n") {
		t.Errorf("comm not escaped:\n%s", text)
	}
	for _, want := range []string{
		"seccomp now: 2 tasks in 1 process, 1 chain, 2 filters",
		`pid 100 "evil\x1b[2J\n" 2 threads: 100 101`,
		"#0 filter 0xffff888100000b00: 84 instructions, FLAG_LOG",
		"#1 filter 0xffff888100000a00: 6 instructions, no FLAG_LOG",
		"kill_process: getppid",
		"ERRNO from filter #0 is logged (the filter has FLAG_LOG) unless errno is",
		"KILL_PROCESS from filter #1 is logged unless kill_process is removed from",
		"(083) ret      #0x7fff0000           ; allow",
		"note: a note",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if len(line) > filtersWidth {
			t.Errorf("line of %d columns: %q", len(line), line)
		}
	}
}

func TestFiltersJSON(t *testing.T) {
	b, err := json.Marshal(filtersToJSON(testReport(t), nil, true))
	if err != nil {
		t.Fatal(err)
	}
	var got filtersJSON
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Tasks != 2 || len(got.Chains) != 1 || len(got.Filters) != 2 || got.State.AuditEnabled == nil || *got.State.AuditEnabled {
		t.Fatalf("json = %s", b)
	}
	c := got.Chains[0]
	if len(c.Tasks) != 2 || c.Tasks[0].Comm != "evil\x1b[2J\n" || c.Filters[0].Addr != "0xffff888100000b00" {
		t.Errorf("chain = %+v (JSON keeps comm raw: encoding/json escapes it)", c)
	}
	f := got.Filters[1]
	if f.Len != 6 || f.FlagLog || len(f.Disasm) != 6 || strings.Join(f.Returns, " ") != "kill_process allow" {
		t.Errorf("filter = %+v", f)
	}
	native := f.Arches[0]
	if native.Arch != nativeArch || !native.Checked || len(native.Constant) != 2 || native.Constant[1].Syscalls[0] != "getppid" {
		t.Errorf("%s = %+v", nativeArch, native)
	}
}
