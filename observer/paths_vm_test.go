// SPDX-License-Identifier: Apache-2.0

package observer_test

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// judgedRun runs a scenario (traced or not) under o and returns the child's
// judged decisions on nr.
func judgedRun(t *testing.T, o *observer.Observer, s workload.Scenario, nr int32) ([]judge.Judged, *workload.Result) {
	t.Helper()
	res, _, err := workload.Run(s, filepath.Join(t.TempDir(), "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := observer.ReadActionsLogged()
	if err != nil {
		t.Fatal(err)
	}
	c := judge.NewChecker(judge.Config{Model: policy.ModelPost418, ActionsLogged: set})
	var out []judge.Judged
	keep := func(js []judge.Judged) {
		for _, j := range js {
			if j.Decision != nil && j.Decision.Tgid == uint32(res.Pid) && j.Decision.Syscall == nr {
				out = append(out, j)
			} else if j.Decision == nil {
				t.Errorf("emission without decision: %+v", j.Emissions)
			}
		}
	}
	drain(t, o, func(ev observer.Event) {
		if j, ok := c.Add(ev); ok {
			keep([]judge.Judged{j})
		}
	})
	keep(c.Flush())
	return out, res
}

// TestTracerAndNotifPaths covers the paths of §3 that decide without, or
// around, seccomp_log: TRACE handled by a tracer (re-check nesting),
// TRACE skipped by the tracer (syscall=-1), USER_NOTIF answered with
// CONTINUE or with an error.
func TestTracerAndNotifPathsVM(t *testing.T) {
	requireBPF(t)
	o, err := observer.Open(observer.Options{PIDs: []int{os.Getpid()}, FollowForks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	const n = 3
	getppid := func(action uint32, log bool) []workload.FilterSpec {
		return []workload.FilterSpec{{Log: log, Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: action}}}}
	}
	calls := []workload.Call{{Nr: unix.SYS_GETPPID, Count: n}}
	type want struct {
		verdict   judge.Verdict
		path      policy.Path
		skipped   bool
		recheck   bool
		emissions int
		errno     int // -1: don't care
	}
	for _, tc := range []struct {
		name string
		s    workload.Scenario
		want []want // per call: the decisions in ring order
	}{
		{"trace continued by tracer", workload.Scenario{Filters: getppid(policy.Trace|7, true), Calls: calls, Trace: &workload.TraceSpec{}},
			// The re-check exits first: TRACE again, `return 0`; then the outer call.
			[]want{{judge.OKSilent, policy.PathTracerHandled, false, true, 0, -1}, {judge.OKSilent, policy.PathTracerHandled, false, false, 0, 0}}},
		{"trace skipped by tracer", workload.Scenario{Filters: getppid(policy.Trace, true), Calls: calls, Trace: &workload.TraceSpec{SkipSyscall: true}},
			[]want{{judge.OKLogged, policy.PathFilter, true, false, 1, -1}}},
		{"user_notif continue", workload.Scenario{Calls: calls, Notif: &workload.NotifSpec{Nr: unix.SYS_GETPPID, Log: true, Continue: true}},
			[]want{{judge.OKSilent, policy.PathNotifContinue, false, false, 0, 0}}},
		{"user_notif error, FLAG_LOG", workload.Scenario{Calls: calls, Notif: &workload.NotifSpec{Nr: unix.SYS_GETPPID, Log: true, Errno: int(unix.EPERM)}},
			[]want{{judge.OKLogged, policy.PathFilter, true, false, 1, int(unix.EPERM)}}},
		{"user_notif error, no FLAG_LOG", workload.Scenario{Calls: calls, Notif: &workload.NotifSpec{Nr: unix.SYS_GETPPID, Errno: int(unix.EACCES)}},
			[]want{{judge.OKSilent, policy.PathFilter, true, false, 0, int(unix.EACCES)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js, res := judgedRun(t, o, tc.s, unix.SYS_GETPPID)
			if tc.s.Notif != nil && tc.s.Notif.Continue {
				// A supervisor wait interrupted by a signal (Go's SIGURG) is skipped,
				// judged on its own (logged: FLAG_LOG is on) and the call restarted.
				kept := js[:0]
				for _, j := range js {
					if j.Decision.Skipped {
						if j.Verdict != judge.OKLogged {
							t.Errorf("interrupted wait: verdict %s (%s)", j.Verdict, j.Reason)
						}
						continue
					}
					kept = append(kept, j)
				}
				js = kept
			}
			// An interrupted wait answered with an error is indistinguishable from
			// the reply and restarts the call: a notification case may have more.
			if len(js) != n*len(tc.want) && (tc.s.Notif == nil || len(js) < n) {
				t.Fatalf("%d decisions, want %d", len(js), n*len(tc.want))
			}
			for i, j := range js {
				w, d := tc.want[i%len(tc.want)], j.Decision
				t.Logf("%s recheck=%v skipped=%v path=%s verdict=%s reason=%s emissions=%d", policy.ActionName(d.Ret), d.Recheck, d.Skipped, j.Path, j.Verdict, j.Reason, len(j.Emissions))
				if j.Verdict != w.verdict || j.Path != w.path || d.Skipped != w.skipped || d.Recheck != w.recheck || len(j.Emissions) != w.emissions {
					t.Errorf("decision %d: verdict %s path %s skipped %v recheck %v emissions %d, want %+v", i, j.Verdict, j.Path, d.Skipped, d.Recheck, len(j.Emissions), w)
				}
				if w.recheck && (i+1 >= len(js) || js[i+1].Decision.Tid != d.Tid || js[i+1].Decision.Recheck) {
					t.Errorf("decision %d: re-check not followed by its outer decision", i)
				}
			}
			for _, w := range tc.want {
				if w.errno >= 0 && res.Calls[0].Errnos[w.errno] != n {
					t.Errorf("child saw %v, want errno %d x%d", res.Calls[0].Errnos, w.errno, n)
				}
			}
			if tc.s.Trace != nil && tc.s.Trace.SkipSyscall {
				// The tracer's -1 is re-read before the skip label: the record says syscall=-1 (§3).
				for _, j := range js {
					if len(j.Emissions) == 1 && j.Emissions[0].Syscall != -1 {
						t.Errorf("emission syscall %d, want -1", j.Emissions[0].Syscall)
					}
				}
			}
		})
	}
}
