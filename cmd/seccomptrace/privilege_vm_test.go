// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// toolCapabilities is contrib's deployed set, plus CAP_SYS_ADMIN where the
// probes can only be kprobes (TestDoctorUnprivilegedVM checks the refusal
// and its advice without it).
func toolCapabilities(t *testing.T) []string {
	caps := deployCapabilities()
	if testutil.KprobesOnly(t) {
		caps = append(caps, "CAP_SYS_ADMIN")
	}
	return caps
}

// unprivilegedUID runs the tool in the privilege tests: not root, not nobody.
const unprivilegedUID = 1000

// setprivPrefix is the command line that runs a program as
// unprivilegedUID with exactly caps (names from the capability list) in
// its effective, permitted, inheritable, ambient and bounding sets.
func setprivPrefix(t *testing.T, caps []string) []string {
	t.Helper()
	path, err := exec.LookPath("setpriv")
	if err != nil {
		testutil.Missing(t, "setpriv (util-linux) not found: %v", err)
	}
	var set []string
	for _, c := range caps {
		set = append(set, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	s := strings.Join(append([]string{"-all"}, set...), ",")
	return []string{path, fmt.Sprintf("--reuid=%d", unprivilegedUID), fmt.Sprintf("--regid=%d", unprivilegedUID),
		"--clear-groups", "--inh-caps=" + s, "--ambient-caps=" + s, "--bounding-set=" + s}
}

// privSetup copies this test binary where uid 1000 can run it and writes
// a CMD script next to it: it prints its own capabilities to stderr, then
// runs the built-in workload with args, its output on stderr too (check's
// JSON is alone on stdout).
func privSetup(t *testing.T, workloadArgs string) (bin, script string) {
	t.Helper()
	bin = testutil.SelfForNobody(t)
	script = filepath.Join(filepath.Dir(bin), fmt.Sprintf("cmd-%d.sh", len(workloadArgs)))
	body := fmt.Sprintf("#!/bin/sh\ngrep -E '^Cap(Eff|Amb):' /proc/self/status >&2\n%s='%s' exec %s >&2\n", envAsCLI, workloadArgs, bin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, script
}

// runCLIAs runs the CLI (this test binary) with args, behind prefix (none: as root).
func runCLIAs(t *testing.T, prefix []string, bin, args string) (stdout, stderr string, err error) {
	t.Helper()
	argv := append(append([]string(nil), prefix...), bin)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), envAsCLI+"="+args)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// checkAs runs `check --output json -- script` behind prefix and decodes its summary.
func checkAs(t *testing.T, who string, prefix []string, bin, script string) (*checkSummary, string) {
	t.Helper()
	out, errOut, err := runCLIAs(t, prefix, bin, "check --output json -- "+script)
	t.Logf("check as %s: stderr:\n%s", who, errOut)
	if err != nil {
		t.Fatalf("check as %s: %v\nstdout:\n%s", who, err, out)
	}
	var sum checkSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("check as %s: %v\n%s", who, err, out)
	}
	return &sum, errOut
}

// TestCheckUnprivilegedVM runs check on the built-in workload (every
// action, FLAG_LOG on and off, the kills) as root and as uid 1000 with
// only the capabilities contrib/ grants. The two must judge alike: the same
// per-action counts, a pass, every emission's record delivered (the audit
// barrier works without root), and the one thing the uid lacks,
// CAP_AUDIT_CONTROL, degrades to a line. CMD must get none of the
// tool's capabilities.
func TestCheckUnprivilegedVM(t *testing.T) {
	inVM(t)
	prefix := setprivPrefix(t, toolCapabilities(t))
	bin, script := privSetup(t, "workload --scenario actions --count 2")

	root, _ := checkAs(t, "root", nil, bin, script)
	user, userErr := checkAs(t, fmt.Sprintf("uid %d", unprivilegedUID), prefix, bin, script)

	for who, s := range map[string]*checkSummary{"root": root, "uid": user} {
		if s.Result != "pass" || len(s.Violations) != 0 || len(s.Inconclusive) != 0 || s.Lost != 0 {
			t.Errorf("%s: result %s, %d violations, %d inconclusive, %d lost", who, s.Result, len(s.Violations), len(s.Inconclusive), s.Lost)
		}
		if a := s.Audit; !a.Followed || a.Emissions == 0 || a.Delivered != a.Emissions || a.Undelivered != 0 || a.Unmatched != 0 || a.Overruns != 0 {
			t.Errorf("%s: audit records not all followed and delivered: %+v", who, a)
		}
	}
	if root.Audit.Emissions != user.Audit.Emissions {
		t.Errorf("emissions: root %d, uid %d", root.Audit.Emissions, user.Audit.Emissions)
	}
	// ALLOWs include the Go runtime's own uncached syscalls, which vary.
	names := map[string]bool{}
	for n := range root.PerAction {
		names[n] = true
	}
	for n := range user.PerAction {
		names[n] = true
	}
	for n := range names {
		r, u := root.PerAction[n], user.PerAction[n]
		if n == "allow" {
			if r == nil || u == nil || r.Logged != 0 || u.Logged != 0 {
				t.Errorf("allow: root %+v, uid %+v", r, u)
			}
			continue
		}
		if r == nil || u == nil || *r != *u {
			t.Errorf("%s: root %+v, uid %+v", n, r, u)
		}
	}
	if len(names) < 7 {
		t.Errorf("only %d actions judged: %v", len(names), names)
	}
	if !strings.Contains(user.Audit.Auditd, "CAP_AUDIT_CONTROL") {
		t.Errorf("uid: the auditd note does not name the missing CAP_AUDIT_CONTROL: %q", user.Audit.Auditd)
	}
	// Ambient capabilities would pass to CMD; check clears them for it.
	for _, want := range []string{"CapEff:\t0000000000000000", "CapAmb:\t0000000000000000"} {
		if !strings.Contains(userErr, want) {
			t.Errorf("uid: CMD's capabilities lack %q: it inherited the tool's:\n%s", want, userErr)
		}
	}
}

// TestWatchUnprivilegedVM: watch -- CMD as uid 1000 with the contrib
// capabilities streams the demo workload's decisions, each logged one
// with its record delivered.
func TestWatchUnprivilegedVM(t *testing.T) {
	inVM(t)
	prefix := setprivPrefix(t, toolCapabilities(t))
	bin, script := privSetup(t, "workload --count 2")
	out, errOut, err := runCLIAs(t, prefix, bin, "watch --output json -- "+script)
	t.Logf("stderr:\n%s", errOut)
	if err != nil {
		t.Fatalf("watch as uid %d: %v", unprivilegedUID, err)
	}
	delivered := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var j pairJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		for _, e := range j.Emissions {
			if e.Delivery == "delivered" && e.Serial != 0 {
				delivered[j.Syscall]++
			} else {
				t.Errorf("emission not delivered: %s", sc.Text())
			}
		}
	}
	if delivered["getppid"] != 2 || delivered[getpgrpName] != 2 || len(delivered) != 2 {
		t.Errorf("delivered emissions %v, want getppid and %s twice each", delivered, getpgrpName)
	}
}

// TestDoctorUnprivilegedVM: doctor as uid 1000 with the contrib
// capabilities is ready and says, from the capability list, what each
// missing optional capability costs; without CAP_AUDIT_READ it is still
// ready, but says records will not be followed.
func TestDoctorUnprivilegedVM(t *testing.T) {
	inVM(t)
	bin := testutil.SelfForNobody(t)
	caps, extra := deployCapabilities(), []string{}
	if testutil.KprobesOnly(t) {
		// The deployed set is not enough there: exactly the kprobe refusal, then CAP_SYS_ADMIN on top.
		out, _, err := runCLIAs(t, setprivPrefix(t, caps), bin, "doctor")
		t.Logf("doctor with %v (kprobes only):\n%s", caps, out)
		want := "hook decision    __seccomp_filter   unavailable fentry: attaching fentry probe: create raw tracepoint: not supported; kprobe: attaching kprobe probe: not privileged: kprobes need CAP_SYS_ADMIN under kernel.perf_event_paranoid=3"
		verdict := "not ready: kernel.perf_event_paranoid=3 refuses kprobes without CAP_SYS_ADMIN"
		if err == nil || !strings.Contains(out, want) || !strings.HasPrefix(doctorLines(t, out, nil), verdict) {
			t.Fatalf("doctor: %v; want %q with %q", err, verdict, want)
		}
		extra = []string{"CAP_SYS_ADMIN"}
		caps = append(caps, extra...)
	}
	out, _, err := runCLIAs(t, setprivPrefix(t, caps), bin, "doctor")
	t.Logf("doctor with %v:\n%s", caps, out)
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	if v := doctorLines(t, out, nil); v != "ready" {
		t.Errorf("verdict %q, want ready", v)
	}
	for _, c := range capabilities {
		has := "no"
		if c.deploy || slices.Contains(extra, c.name) {
			has = "yes"
		}
		want := fmt.Sprintf("capability       %-17s %-3s ", c.name, has)
		if !strings.Contains(out, want) {
			t.Errorf("no line %q", want)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("privileges       uid %d;", unprivilegedUID),
		"audit            status not read: AUDIT_GET needs CAP_AUDIT_CONTROL",
		"audit records    followed",
		"pid namespace    initial",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q", want)
		}
	}

	out, _, err = runCLIAs(t, setprivPrefix(t, append([]string{"CAP_BPF", "CAP_PERFMON"}, extra...)), bin, "doctor")
	t.Logf("doctor with CAP_BPF and CAP_PERFMON %v:\n%s", extra, out)
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	if v := doctorLines(t, out, nil); !strings.HasPrefix(v, "ready, but audit records will not be followed: ") || !strings.Contains(v, "CAP_AUDIT_READ") {
		t.Errorf("verdict %q, want ready but not following records for lack of CAP_AUDIT_READ", v)
	}
}
