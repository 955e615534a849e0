// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	RunChildIfRequested()
	os.Exit(m.Run())
}

// procSeccomp reads a thread's Seccomp and Seccomp_filters lines.
func procSeccomp(t *testing.T, pid, tid int) (mode, filters string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "Seccomp":
			mode = strings.TrimSpace(v)
		case "Seccomp_filters":
			filters = strings.TrimSpace(v)
		}
	}
	return mode, filters
}

// A held child installs its filters on every thread (TSYNC), forks after
// the first, and stays until released: no BPF, any kernel with seccomp.
func TestHold(t *testing.T) {
	errno1 := uint32(0x00050001)
	s := Scenario{
		Filters: []FilterSpec{
			{Rules: []Rule{{Nr: unix.SYS_GETPPID, Action: errno1}}},
			{Rules: []Rule{{Nr: NrGetpgrp, Action: errno1}}, Log: true},
		},
		Calls: []Call{{Nr: unix.SYS_GETPPID, Count: 2}},
		Hold:  &HoldSpec{Threads: 3, Fork: true, ForkAt: 1},
	}
	h, err := Hold(s, filepath.Join(t.TempDir(), "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			h.Release()
		}
	}()
	rep := h.Report
	// The main thread, three extra and the runtime's own.
	if len(rep.Tids) < 4 {
		t.Errorf("held child reports %d threads, want at least 4", len(rep.Tids))
	}
	for _, tid := range rep.Tids {
		mode, n := procSeccomp(t, rep.Pid, tid)
		if mode != "2" || (n != "" && n != "2") {
			t.Errorf("thread %d: Seccomp %q Seccomp_filters %q, want 2 and 2", tid, mode, n)
		}
	}
	if rep.ForkPid == 0 || len(rep.ForkTids) == 0 {
		t.Fatalf("no forked child reported: %+v", rep)
	}
	for _, tid := range rep.ForkTids {
		mode, n := procSeccomp(t, rep.ForkPid, tid)
		if mode != "2" || (n != "" && n != "1") {
			t.Errorf("forked thread %d: Seccomp %q Seccomp_filters %q, want 2 and 1", tid, mode, n)
		}
	}
	released = true
	res, err := h.Release()
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Calls[0].Errnos[int(unix.EPERM)]; got != 2 {
		t.Errorf("getppid under the held child's filter: %d EPERM, want 2", got)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", rep.ForkPid)); err == nil {
		t.Errorf("forked child %d still exists after Release", rep.ForkPid)
	}
}

// A gated child waits before its first filter until the parent opens the
// gate: no BPF, any kernel with seccomp.
func TestGate(t *testing.T) {
	s := Scenario{
		Filters: []FilterSpec{{Rules: []Rule{{Nr: unix.SYS_GETPPID, Action: 0x00050001}}}},
		Calls:   []Call{{Nr: unix.SYS_GETPPID, Count: 2}},
	}
	path := filepath.Join(t.TempDir(), "result.json")
	g, err := StartGated(s, path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Report.Pid != g.Cmd.Process.Pid {
		t.Errorf("gate report pid %d, child %d", g.Report.Pid, g.Cmd.Process.Pid)
	}
	if mode, _ := procSeccomp(t, g.Report.Pid, g.Report.Pid); mode != "0" {
		t.Errorf("at the gate: Seccomp %q, want 0 (no filter yet)", mode)
	}
	g.Open()
	if err := g.Cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	res, err := ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Calls[0].Errnos[int(unix.EPERM)]; got != 2 {
		t.Errorf("after the gate: %d EPERM, want 2", got)
	}
	if _, err := StartGated(Scenario{Hold: &HoldSpec{}}, path); err == nil {
		t.Errorf("a held scenario was gated")
	}
}
