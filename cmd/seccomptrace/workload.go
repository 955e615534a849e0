// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// demoScenario: three stacked filters with different actions and FLAG_LOG bits.
func demoScenario(n int) workload.Scenario {
	return workload.Scenario{
		Filters: []workload.FilterSpec{
			{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}, Log: true}, // ERRNO(1), FLAG_LOG: logged
			{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}},                // LOG: always logged
			{Rules: []workload.Rule{{Nr: unix.SYS_GETSID, Action: policy.Trap}}},                  // TRAP, no FLAG_LOG: silent
		},
		Calls: []workload.Call{
			{Nr: unix.SYS_GETPPID, Count: n},
			{Nr: workload.NrGetpgrp, Count: n},
			{Nr: unix.SYS_GETSID, Count: n},
		},
	}
}

// actUnknown is an action value no kernel knows: it takes the kill path and
// is logged under kill_process (docs/kernel-semantics.md §3). The syscalls
// of the "actions" scenario are ones the Go runtime never makes, so every
// decision on them is the workload's.
const actUnknown = 0x00010000

// child is one workload process and how it must end.
type child struct {
	name     string
	scenario workload.Scenario
	// killed: the last call kills the whole process with SIGSYS.
	killed bool
}

// actionsChildren exercises every action with FLAG_LOG on (older filter)
// and off (newer filter), plus the kill actions in children of their own.
func actionsChildren(n int, userNotif bool) []child {
	logged := workload.FilterSpec{Log: true, Rules: []workload.Rule{
		{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1},
		{Nr: unix.SYS_GETSID, Action: policy.Trap},
		{Nr: unix.SYS_GETPRIORITY, Action: policy.Trace}, // no tracer: -ENOSYS, skip, logged if requested
		{Nr: unix.SYS_TIMES, Action: policy.Log},
		// ALLOW with data: evaluated, never cached, never logged. Not
		// getpgid: it is NrGetpgrp on arm64.
		{Nr: unix.SYS_GETRESGID, Action: policy.Allow | 7},
	}}
	silent := workload.FilterSpec{Rules: []workload.Rule{
		{Nr: workload.NrGetpgrp, Action: policy.Errno | 2},
		{Nr: unix.SYS_SCHED_GETSCHEDULER, Action: policy.Trap},
		{Nr: unix.SYS_SCHED_GET_PRIORITY_MIN, Action: policy.Trace},
		{Nr: unix.SYS_SYSINFO, Action: policy.Log},
	}}
	calls := []workload.Call{}
	for _, nr := range []int32{unix.SYS_GETPPID, unix.SYS_GETSID, unix.SYS_GETPRIORITY, unix.SYS_TIMES, unix.SYS_GETRESGID,
		workload.NrGetpgrp, unix.SYS_SCHED_GETSCHEDULER, unix.SYS_SCHED_GET_PRIORITY_MIN, unix.SYS_SYSINFO} {
		calls = append(calls, workload.Call{Nr: nr, Count: n})
	}
	if userNotif {
		// No listener: -ENOSYS, skip, logged if requested (§3).
		logged.Rules = append(logged.Rules, workload.Rule{Nr: unix.SYS_SCHED_GET_PRIORITY_MAX, Action: policy.UserNotif})
		silent.Rules = append(silent.Rules, workload.Rule{Nr: unix.SYS_SCHED_RR_GET_INTERVAL, Action: policy.UserNotif})
		calls = append(calls, workload.Call{Nr: unix.SYS_SCHED_GET_PRIORITY_MAX, Count: n}, workload.Call{Nr: unix.SYS_SCHED_RR_GET_INTERVAL, Count: n})
	}
	one := func(action uint32, log bool) workload.Scenario {
		return workload.Scenario{
			Filters: []workload.FilterSpec{{Log: log, Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: action}}}},
			Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: 1, Thread: action == policy.KillThread}},
		}
	}
	return []child{
		{name: "stacked filters, FLAG_LOG on and off", scenario: workload.Scenario{Filters: []workload.FilterSpec{logged, silent}, Calls: calls}},
		{name: "kill_thread", scenario: one(policy.KillThread, false)},
		{name: "kill_process", scenario: one(policy.KillProcess, false), killed: true},
		{name: "unknown action 0x10000", scenario: one(actUnknown, true), killed: true},
	}
}

// explainChildren: one child per reason a decision is or is not logged
// (explain's VM test): FLAG_LOG off, errno removed from actions_logged by
// the test, LOG, and TRACE handled by a tracer that lets the call go on.
func explainChildren() []child {
	one := func(nr int32, action uint32, log bool) workload.Scenario {
		return workload.Scenario{
			Filters: []workload.FilterSpec{{Log: log, Rules: []workload.Rule{{Nr: nr, Action: action}}}},
			Calls:   []workload.Call{{Nr: nr, Count: 1}},
		}
	}
	traced := one(unix.SYS_GETPRIORITY, policy.Trace, true)
	traced.Trace = &workload.TraceSpec{}
	return []child{
		{name: "errno without FLAG_LOG", scenario: one(unix.SYS_GETPPID, policy.Errno|1, false)},
		{name: "errno with FLAG_LOG", scenario: one(unix.SYS_GETSID, policy.Errno|2, true)},
		{name: "log", scenario: one(workload.NrGetpgrp, policy.Log, false)},
		{name: "trace continued by a tracer", scenario: traced},
	}
}

func runWorkload(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 3, "calls per syscall")
	scenario := fs.String("scenario", "demo", "demo (three stacked filters), actions (every action, FLAG_LOG on and off, kills) or explain (one child per logging cause)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 1 || *count > 1000000 {
		return fmt.Errorf("bad --count %d: want 1 to 1000000", *count)
	}
	var children []child
	switch *scenario {
	case "demo":
		children = []child{{name: "demo", scenario: demoScenario(*count)}}
	case "actions":
		avail, _ := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
		children = actionsChildren(*count, strings.Contains(string(avail), "user_notif"))
	case "explain":
		children = explainChildren()
	default:
		return fmt.Errorf("bad --scenario %q: want demo, actions or explain", *scenario)
	}
	// The children report by their exit status, through no file: the
	// workload then runs under any uid, whatever /tmp allows it.
	for _, c := range children {
		if c.scenario.Trace != nil {
			// This process is the tracer.
			res, _, err := workload.Run(c.scenario, "")
			if err != nil {
				return fmt.Errorf("workload %s: %w", c.name, err)
			}
			fmt.Fprintf(stdout, "workload: pid %d: %s: %d syscalls made\n", res.Pid, c.name, c.scenario.Calls[0].Count)
			continue
		}
		cmd, err := workload.Spawn(c.scenario, "")
		if err != nil {
			return err
		}
		werr := cmd.Wait()
		if c.killed {
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
				return fmt.Errorf("workload %s: want death by SIGSYS, got %v", c.name, cmd.ProcessState)
			}
			fmt.Fprintf(stdout, "workload: pid %d: %s: killed by SIGSYS as expected\n", cmd.Process.Pid, c.name)
			continue
		}
		if werr != nil {
			return fmt.Errorf("workload %s: %w", c.name, werr)
		}
		made := 0
		for _, call := range c.scenario.Calls {
			made += call.Count
		}
		fmt.Fprintf(stdout, "workload: pid %d: %s: %d syscalls made\n", cmd.Process.Pid, c.name, made)
	}
	return nil
}
