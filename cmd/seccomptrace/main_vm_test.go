// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"golang.org/x/sys/unix"
)

// TestWatchWorkloadVM runs the real CLI path in the VM: watch follows a
// command that runs the built-in workload, and the JSON lines must show
// exactly the workload's decisions and emissions. --send-all: how many of
// the silent getsid TRAPs are counted in the kernel instead depends on
// when the session's mark lands (TestSilentCountingVM checks that path).
func TestWatchWorkloadVM(t *testing.T) {
	self := inVM(t)
	t.Setenv(envAsCLI, "workload --count 4")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"watch", "--send-all", "--output", "json", "--", self}, &out, &errOut); err != nil {
		t.Fatalf("watch: %v\nstderr: %s", err, errOut.String())
	}
	t.Logf("stderr: %s", errOut.String())
	if !strings.Contains(errOut.String(), " 0 silent ones counted") {
		t.Errorf("--send-all counted silent decisions: %s", errOut.String())
	}
	type want struct {
		action    string
		emissions int
		flagLog   bool
		skipped   bool
	}
	wants := map[string]want{
		"getppid":   {"errno(1)", 1, true, true},
		getpgrpName: {"log", 1, false, false},
		"getsid":    {"trap", 0, false, true},
	}
	got := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var j pairJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		w, ok := wants[j.Syscall]
		if !ok {
			if len(j.Emissions) != 0 {
				t.Errorf("unexpected emission: %s", sc.Text())
			}
			continue
		}
		got[j.Syscall]++
		if j.Action != w.action || len(j.Emissions) != w.emissions || j.FlagLog == nil || *j.FlagLog != w.flagLog ||
			j.Skipped == nil || *j.Skipped != w.skipped || j.FilterDepth != 3 || j.Arch != nativeArch {
			t.Errorf("%s: got %s", j.Syscall, sc.Text())
		}
	}
	for name := range wants {
		if got[name] != 4 {
			t.Errorf("%s: %d lines, want 4", name, got[name])
		}
	}
}

// TestWatchStreamsVM: watch's buffered lines come out while the command
// still runs, once the ring is drained or a record settles them, not at
// the end. The command makes the workload's calls and then waits on a
// FIFO that the test opens only after it has read every line.
func TestWatchStreamsVM(t *testing.T) {
	self := inVM(t)
	fifo := filepath.Join(t.TempDir(), "release")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envAsCLI, "workload --count 4")
	r, w := io.Pipe()
	var errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		err := run(context.Background(), []string{"watch", "--send-all", "--output", "json", "--", "/bin/sh", "-c", `"$0"; exec cat "$1" >/dev/null`, self, fifo}, w, &errOut)
		w.CloseWithError(err)
		done <- err
	}()
	lines := make(chan pairJSON)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var j pairJSON
			if json.Unmarshal(sc.Bytes(), &j) == nil {
				lines <- j
			}
		}
	}()
	// A guard, not a synchronisation: without flushing, no line comes
	// until the command ends, and the command waits for this test.
	guard := time.After(2 * time.Minute)
	got := map[string]int{}
	for got["getppid"] < 4 || got[getpgrpName] < 4 || got["getsid"] < 4 {
		select {
		case j, ok := <-lines:
			if !ok {
				t.Fatalf("watch ended before the command was released: %v\nstderr: %s", <-done, errOut.String())
			}
			got[j.Syscall]++
		case <-guard:
			t.Fatalf("lines seen while the command runs: %v; the rest never came", got)
		}
	}
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for range lines {
	}
	if err := <-done; err != nil {
		t.Fatalf("watch: %v\nstderr: %s", err, errOut.String())
	}
}

func TestDoctorVM(t *testing.T) {
	inVM(t)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"doctor"}, &out, &errOut); err != nil {
		t.Fatalf("doctor: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	wants := []string{"hook decision    __seccomp_filter   fentry", "hook emission    audit_seccomp      fentry", "verdict          ready"}
	if testutil.KprobesOnly(t) {
		// arm64 before 6.4: no fentry on kernel functions, the kprobes stand in.
		wants = []string{"hook decision    __seccomp_filter   kprobe      3 parameters, int return; fentry unavailable: attaching fentry probe: create raw tracepoint: not supported",
			"hook emission    audit_seccomp      kprobe      fentry unavailable: attaching fentry probe: create raw tracepoint: not supported", "verdict          ready"}
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
}

// TestCheckActionsVM: every action with FLAG_LOG on and off, stacked
// filters and the kill actions; on a stock kernel every decision must be
// judged ok and the counts must be exact.
func TestCheckActionsVM(t *testing.T) {
	self := inVM(t)
	const n = 2
	t.Setenv(envAsCLI, "workload --scenario actions --count 2")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"check", "--output", "json", "--", self}, &out, &errOut)
	t.Logf("summary: %s\nstderr: %s", out.String(), errOut.String())
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	var sum checkSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Result != "pass" || len(sum.Violations) != 0 || len(sum.Inconclusive) != 0 || sum.Lost != 0 {
		t.Fatalf("result %s, %d violations, %d inconclusive, %d lost", sum.Result, len(sum.Violations), len(sum.Inconclusive), sum.Lost)
	}
	// Every emission's record reached the multicast group: 2n errno/trap/trace(/user_notif)
	// logged halves, 2n LOG, 3 kills.
	if a := sum.Audit; !a.Followed || a.Delivered != a.Emissions || a.Undelivered != 0 || a.Unmatched != 0 || a.Overruns != 0 || a.Emissions == 0 {
		t.Errorf("audit delivery: %+v", a)
	}
	avail, _ := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	want := map[string]actionSummary{
		"errno":            {2 * n, n, n},
		"trap":             {2 * n, n, n},
		"trace":            {2 * n, n, n},
		"log":              {2 * n, 2 * n, 0},
		"kill_thread":      {1, 1, 0},
		"kill_process":     {1, 1, 0},
		"unknown(0x10000)": {1, 1, 0},
	}
	if strings.Contains(string(avail), "user_notif") {
		want["user_notif"] = actionSummary{2 * n, n, n}
	}
	for name, w := range want {
		got := sum.PerAction[name]
		if got == nil || *got != w {
			t.Errorf("%s: got %+v, want %+v", name, got, w)
		}
	}
	if a := sum.PerAction["allow"]; a == nil || a.Decisions < n || a.Logged != 0 {
		t.Errorf("allow: got %+v, want at least %d decisions, none logged", a, n)
	}
	if _, ok := sum.PerAction["unknown"]; ok {
		t.Errorf("decisions with an unknown action: %+v", sum.PerAction["unknown"])
	}
}

// auditctl runs auditctl in the VM; the test fails if it is missing there.
func auditctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("auditctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("auditctl %v: %v: %s", args, err, out)
	}
	return string(out)
}

// TestCheckWrongModelVM makes every task "audited" (audit enabled, one
// syscall rule) and judges the actions scenario twice: with the kernel's
// own model (4.18+) it passes; told the kernel is 4.14-4.17, the oracle
// expects a record for every non-ALLOW action of the FLAG_LOG-off filter,
// so check must report exactly those as missing-log.
func TestCheckWrongModelVM(t *testing.T) {
	self := inVM(t)
	wasEnabled := strings.Contains(auditctl(t, "-s"), "enabled 1")
	auditctl(t, "-e", "1")
	rule := []string{"always,exit", "-F", "arch=b64", "-S", "getpid"}
	auditctl(t, append([]string{"-a"}, rule...)...)
	t.Cleanup(func() {
		auditctl(t, append([]string{"-d"}, rule...)...)
		if !wasEnabled {
			auditctl(t, "-e", "0")
		}
	})
	const n = 2
	t.Setenv(envAsCLI, "workload --scenario actions --count 2")
	for _, tc := range []struct {
		model      string
		violations int
	}{
		{"4.18+", 0},
		// errno, trap, trace (and user_notif) of the FLAG_LOG-off filter.
		{"4.14-4.17", 3*n + n},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"check", "--output", "json", "--model", tc.model, "--", self}, &out, &errOut)
		var sum checkSummary
		if jerr := json.Unmarshal(out.Bytes(), &sum); jerr != nil {
			t.Fatalf("model %s: %v (%v)\n%s", tc.model, jerr, err, errOut.String())
		}
		want := tc.violations
		if want > 0 && sum.PerAction["user_notif"] == nil {
			want -= n
		}
		if len(sum.Violations) != want || len(sum.Inconclusive) != 0 {
			t.Errorf("model %s: %d violations, %d inconclusive, want %d and 0 (err %v)", tc.model, len(sum.Violations), len(sum.Inconclusive), want, err)
		}
		for _, v := range sum.Violations {
			// 4.14-4.17 have no USER_NOTIF: the wrong model sees 0x7fc00000 as an unknown, always-logged action.
			okReason := v.Reason == "audited-task-pre-4.18" || (v.Action == "user_notif" && v.Reason == "unknown-action-logged")
			if v.Verdict != "missing-log" || !okReason || v.FlagLog == nil || *v.FlagLog {
				t.Errorf("model %s: unexpected violation %+v", tc.model, v)
			}
		}
		if want > 0 {
			if ee, ok := err.(exitError); !ok || ee.code != exitViolations {
				t.Errorf("model %s: exit %v, want %d", tc.model, err, exitViolations)
			}
		} else if err != nil {
			t.Errorf("model %s: %v", tc.model, err)
		}
	}
}

// TestCheckAuditLossVM creates two loss causes on purpose and checks that
// check attributes every decided record to its fate and never says pass.
func TestCheckAuditLossVM(t *testing.T) {
	self := inVM(t)
	for _, tc := range []struct {
		name      string
		set, undo []string
		count     int
		wantLost  string // substring of the delivery of lost emissions
		allLost   bool
	}{
		{"exclude rule", []string{"-a", "never,exclude", "-F", "msgtype=SECCOMP"}, []string{"-d", "never,exclude", "-F", "msgtype=SECCOMP"}, 2, "lost(excluded", true},
		{"rate limit", []string{"-r", "1"}, []string{"-r", "0"}, 20, "lost(rate limit exceeded)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auditctl(t, tc.set...)
			t.Cleanup(func() { auditctl(t, tc.undo...) })
			t.Setenv(envAsCLI, fmt.Sprintf("workload --count %d", tc.count))
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"check", "--output", "json", "--", self}, &out, &errOut)
			var sum checkSummary
			if jerr := json.Unmarshal(out.Bytes(), &sum); jerr != nil {
				t.Fatalf("%v (%v)\n%s", jerr, err, errOut.String())
			}
			if ee, ok := err.(exitError); !ok || ee.code != exitInconclusive || sum.Result != "inconclusive" {
				t.Fatalf("a run with lost records: exit %v, result %s; want inconclusive", err, sum.Result)
			}
			lost, delivered := 0, 0
			for _, p := range sum.Inconclusive {
				for _, e := range p.Emissions {
					if strings.HasPrefix(e.Delivery, tc.wantLost) {
						lost++
					}
				}
			}
			delivered = sum.Audit.Delivered
			t.Logf("emissions %d, delivered %d, lost %d (%s)", sum.Audit.Emissions, delivered, lost, tc.wantLost)
			if sum.Audit.Emissions != 2*tc.count || lost == 0 || lost+delivered != sum.Audit.Emissions {
				t.Errorf("emissions %d, delivered %d, lost as %q %d; want %d = delivered + lost, some lost", sum.Audit.Emissions, delivered, tc.wantLost, lost, 2*tc.count)
			}
			if tc.allLost && lost != 2*tc.count {
				t.Errorf("%d of %d emissions attributed to %q", lost, 2*tc.count, tc.wantLost)
			}
		})
	}
}

// TestConformanceVM runs a slice of the matrix as KTAP and checks that the
// run restores what it changed, and that --restore undoes a killed run.
func TestConformanceVM(t *testing.T) {
	inVM(t)
	orig, err := os.ReadFile(actionsLoggedPath)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"conformance", "--output", "ktap", "--state-file", state, "--filter", "^(errno|log|stacked)"}, &out, &errOut)
	t.Logf("\n%s%s", out.String(), errOut.String())
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	if !strings.HasPrefix(out.String(), "KTAP version 1\n") || strings.Contains(out.String(), "not ok") || !strings.Contains(out.String(), "# Totals: pass:") {
		t.Errorf("KTAP output is not all ok")
	}
	now, _ := os.ReadFile(actionsLoggedPath)
	if string(now) != string(orig) {
		t.Errorf("actions_logged %q after the run, was %q", now, orig)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state file left behind: %v", err)
	}
	if strings.Contains(auditctl(t, "-l"), "getpid") {
		t.Errorf("the run left its audit rule behind")
	}

	// A killed run leaves its state file; --restore puts the saved value back.
	if err := os.WriteFile(state, []byte(`{"actions_logged":"kill_process kill_thread trap errno user_notif trace log","audit_enabled":0,"rule_added":false}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeOnce(t, "errno"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"conformance", "--restore", "--state-file", state}, &out, &errOut); err != nil {
		t.Fatalf("--restore: %v", err)
	}
	if now, _ := os.ReadFile(actionsLoggedPath); strings.TrimSpace(string(now)) != "kill_process kill_thread trap errno user_notif trace log" {
		t.Errorf("after --restore actions_logged is %q", now)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("--restore left the state file: %v", err)
	}
	if err := os.WriteFile(actionsLoggedPath, orig, 0); err != nil {
		t.Fatal(err)
	}
}
