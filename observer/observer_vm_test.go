// SPDX-License-Identifier: Apache-2.0

package observer_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

func TestMain(m *testing.M) {
	workload.RunChildIfRequested()
	os.Exit(m.Run())
}

// requireBPF skips on a host that cannot attach the probes; in the VM
// every required hook must attach.
func requireBPF(t *testing.T) {
	t.Helper()
	if !testutil.InVM() && os.Geteuid() != 0 {
		t.Skip("needs root to load BPF; run `make vmtest`")
	}
	plan, err := observer.Discover(observer.Options{})
	if err == nil {
		err = plan.Ready()
	}
	if err != nil {
		testutil.Missing(t, "the probes cannot attach: %v", err)
	}
}

func mustPlan(t *testing.T) observer.Plan {
	t.Helper()
	p, err := observer.Discover(observer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The ground truth: three stacked filters, N calls each.
func spineScenario(n int) workload.Scenario {
	return workload.Scenario{
		Filters: []workload.FilterSpec{
			{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}, Log: true},
			{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}},
			{Rules: []workload.Rule{{Nr: unix.SYS_GETSID, Action: policy.Trap}}},
		},
		Calls: []workload.Call{
			{Nr: unix.SYS_GETPPID, Count: n},
			{Nr: workload.NrGetpgrp, Count: n},
			{Nr: unix.SYS_GETSID, Count: n},
		},
	}
}

// collect runs the scenario in a child under an open observer and returns
// the child's pairs and result, after draining the ring buffer.
func collect(t *testing.T, o *observer.Observer, s workload.Scenario) ([]judge.Pair, *workload.Result) {
	t.Helper()
	resPath := filepath.Join(t.TempDir(), "result.json")
	cmd, err := workload.Spawn(s, resPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("workload child: %v", err)
	}
	res, err := workload.ReadResult(resPath)
	if err != nil {
		t.Fatal(err)
	}
	p := judge.NewPairer()
	var pairs []judge.Pair
	drain(t, o, func(ev observer.Event) {
		if pr, ok := p.Add(ev); ok && pr.Pid() == uint32(res.Pid) {
			pairs = append(pairs, pr)
		}
	})
	for _, pr := range p.Flush() {
		t.Errorf("emission without its decision: %+v", pr.Emissions[0])
	}
	return pairs, res
}

// drain reads every record already in the ring buffer: the child has
// exited, so every record it caused is there (Flush is the barrier).
func drain(t *testing.T, o *observer.Observer, each func(observer.Event)) {
	t.Helper()
	if err := o.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := o.Read()
		if errors.Is(err, observer.ErrDrained) {
			return
		}
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		each(ev)
	}
}

// eachStrategy runs f in a subtest per attach strategy (the best the
// kernel offers, then kprobes) on an observer of this process and its forks.
func eachStrategy(t *testing.T, f func(t *testing.T, o *observer.Observer, forceKprobe bool)) {
	for _, forceKprobe := range []bool{false, true} {
		name := "best"
		if forceKprobe {
			name = "kprobe"
		}
		t.Run(name, func(t *testing.T) {
			o, err := observer.Open(observer.Options{PIDs: []int{os.Getpid()}, FollowForks: true, ForceKprobe: forceKprobe})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			f(t, o, forceKprobe)
		})
	}
}

func TestSpineVM(t *testing.T) {
	requireBPF(t)
	eachStrategy(t, func(t *testing.T, o *observer.Observer, forceKprobe bool) {
		for _, h := range o.Plan().Hooks {
			t.Logf("hook %-11s %-20s %-11s %s", h.Name, h.Symbol, h.Strategy, h.Detail)
		}
		want := observer.StrategyFentry
		if forceKprobe || testutil.KprobesOnly(t) {
			want = observer.StrategyKprobe
		}
		if got := o.Plan().Hooks[0].Strategy; got != want {
			t.Fatalf("decision hook strategy %s, want %s", got, want)
		}
		checkSpine(t, o, 5)
	})
}

func checkSpine(t *testing.T, o *observer.Observer, n int) {
	pairs, res := collect(t, o, spineScenario(n))
	checkErrnos(t, res, map[int32]int{unix.SYS_GETPPID: 1, workload.NrGetpgrp: 0}, n)
	type want struct {
		ret       uint32
		match     int // filter index, newest first
		skipped   bool
		emissions int
		code      uint32
	}
	wants := map[int32]want{
		unix.SYS_GETPPID:   {ret: policy.Errno | 1, match: 2, skipped: true, emissions: 1, code: 0x50000},
		workload.NrGetpgrp: {ret: policy.Log, match: 1, skipped: false, emissions: 1, code: policy.Log},
		unix.SYS_GETSID:    {ret: policy.Trap, match: 0, skipped: true, emissions: 0},
	}
	got := map[int32]int{}
	logOf := []bool{false, false, true} // newest first: TRAP, LOG, ERRNO+FLAG_LOG
	for _, p := range pairs {
		d := p.Decision
		if d == nil {
			t.Errorf("emission outside a decision: %+v", p.Emissions)
			continue
		}
		if d.Data.Arch != sysnames.Native || d.Data.Nr != d.Syscall {
			t.Errorf("seq %d: arch %#x nr %d syscall %d", d.Seq, d.Data.Arch, d.Data.Nr, d.Syscall)
		}
		if !d.Known {
			t.Errorf("seq %d nr %d: action unknown: %s", d.Seq, d.Syscall, d.Unknown)
			continue
		}
		w, ours := wants[d.Syscall]
		if !ours {
			// Runtime syscalls under the filters: ALLOW, never logged.
			if d.Ret != policy.Allow || d.Match != -1 || len(p.Emissions) != 0 || d.Skipped {
				t.Errorf("other syscall %d: ret %#x match %d emissions %d skipped %v", d.Syscall, d.Ret, d.Match, len(p.Emissions), d.Skipped)
			}
			continue
		}
		got[d.Syscall]++
		if len(d.Filters) != 3 {
			t.Errorf("nr %d: %d filters, want 3", d.Syscall, len(d.Filters))
			continue
		}
		for i, f := range d.Filters {
			if f.Log != logOf[i] {
				t.Errorf("nr %d: filter %d log=%v, want %v", d.Syscall, i, f.Log, logOf[i])
			}
		}
		if d.Ret != w.ret || d.Match != w.match || d.Skipped != w.skipped {
			t.Errorf("nr %d: ret %#x match %d skipped %v, want %#x %d %v", d.Syscall, d.Ret, d.Match, d.Skipped, w.ret, w.match, w.skipped)
		}
		if len(p.Emissions) != w.emissions {
			t.Errorf("nr %d: %d emission records, want %d", d.Syscall, len(p.Emissions), w.emissions)
		}
		for _, e := range p.Emissions {
			if e.Syscall != int64(d.Syscall) || e.Code != w.code || e.Signr != 0 || e.Tgid != d.Tgid {
				t.Errorf("nr %d: emission syscall %d code %#x signr %d pid %d", d.Syscall, e.Syscall, e.Code, e.Signr, e.Tgid)
			}
		}
	}
	for nr := range wants {
		if got[nr] != n {
			t.Errorf("nr %d: %d decisions, want %d", nr, got[nr], n)
		}
	}
	c, err := o.Counters()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counters: %+v", c)
	if c.Lost() != 0 {
		t.Errorf("lost records: %+v", c)
	}
}

// checkErrnos asserts what the child saw: every call of nr failed with errno (0: succeeded).
func checkErrnos(t *testing.T, res *workload.Result, want map[int32]int, n int) {
	t.Helper()
	for _, c := range res.Calls {
		errno, ok := want[c.Nr]
		if ok && c.Errnos[errno] != n {
			t.Errorf("child: nr %d returned %v, want errno %d x%d", c.Nr, c.Errnos, errno, n)
		}
	}
}
