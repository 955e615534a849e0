// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

func TestExplainSentences(t *testing.T) {
	delivered := judgedOf(workload.NrGetpgrp, policy.Log, 1, 3, false, judge.OKLogged, policy.ReasonLogActionLogged, true)
	rateLimited := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, true, judge.OKLogged, policy.ReasonRequestedAndLogged, true)
	rateLimited.Drops = []*observer.AuditDrop{{Reason: "rate limit exceeded"}}
	excluded := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, true, judge.OKLogged, policy.ReasonRequestedAndLogged, true)
	excluded.Drops = []*observer.AuditDrop{{Refused: true, Type: 1326}}
	excludedNamed := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, true, judge.OKLogged, policy.ReasonRequestedAndLogged, true)
	excludedNamed.Drops = excluded.Drops
	undelivered := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, true, judge.OKLogged, policy.ReasonRequestedAndLogged, true)
	notInSet := judgedOf(unix.SYS_GETSID, policy.Errno|2, 0, 1, true, judge.OKSilent, policy.ReasonNotInActionsLogged, false)
	notInSet.ActionsLogged = policy.BitKillProcess | policy.BitKillThread | policy.BitLog
	recheck := judgedOf(unix.SYS_GETPRIORITY, policy.Trace, 0, 1, true, judge.OKSilent, policy.ReasonTracerHandled, false)
	recheck.Path, recheck.Decision.Recheck = policy.PathTracerHandled, true
	outer := judgedOf(unix.SYS_GETPRIORITY, policy.Trace, 0, 1, true, judge.OKSilent, policy.ReasonTracerHandled, false)
	outer.Path = policy.PathTracerHandled
	notif := judgedOf(unix.SYS_GETPPID, policy.UserNotif, 0, 1, true, judge.OKSilent, policy.ReasonNotifContinue, false)
	notif.Path = policy.PathNotifContinue
	missing := judgedOf(unix.SYS_GETPPID, policy.KillProcess, 0, 1, false, judge.MissingLog, policy.ReasonKillLogged, false)
	unknownProg := judgedOf(unix.SYS_GETPPID, 0, -1, 1, false, judge.Inconclusive, "", false)
	unknownProg.Decision.Known, unknownProg.Decision.Unknown = false, "program of filter 0xffff1 was never received"
	unknownProg.Reason = "action unknown: program of filter 0xffff1 was never received"
	strictSilent := judgedOf(unix.SYS_GETPPID, policy.KillThread, -1, 0, false, judge.OKSilent, policy.ReasonNotInActionsLogged, false)
	strictSilent.Path, strictSilent.Decision.Strict = policy.PathStrict, true
	strictSilent.ActionsLogged = policy.BitLog
	evil := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.Inconclusive, "", false)
	evil.Reason = "emission code \x1b[2J \"q\" caf\u00e9 \xff"

	joiner := judge.NewJoiner("")
	joiner.AddRecord(&audit.Seccomp{Stamp: audit.Stamp{Serial: 1234}, Pid: 123, Syscall: workload.NrGetpgrp, Code: policy.Log})
	for _, tc := range []struct {
		name string
		j    judge.Judged
		want string
	}{
		{"delivered", delivered, getpgrpName + " (pid 123) was logged: delivered as audit serial 1234 (ausearch -a 1234)"},
		{"lost to the rate limit", rateLimited, "getppid (pid 123): the kernel tried to log it but audit_log_lost dropped the record: rate limit exceeded"},
		{"excluded", excluded, "getppid (pid 123): the kernel tried to log it but audit_log_start refused it: excluded: audit_log_start refused the record without counting it lost (an exclude rule such as msgtype=SECCOMP)"},
		{"excluded by a named rule", excludedNamed, `getppid (pid 123): the kernel tried to log it but audit_log_start refused it: excluded by rule "-a never,exclude -F msgtype=SECCOMP"`},
		{"undelivered", undelivered, "getppid (pid 123): the kernel tried to log it (audit_seccomp was called) but no record reached the audit multicast group before the barrier, and no drop point was seen"},
		{"FLAG_LOG off", judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false),
			"getppid (pid 123) was not logged: the deciding filter #0 (of 1, newest first) returned ERRNO(1) without SECCOMP_FILTER_FLAG_LOG (the kernel logs ERRNO only when the filter asks)"},
		{"not in actions_logged", notInSet, "getsid (pid 123) was not logged: errno is not in kernel.seccomp.actions_logged (at the decision: kill_process kill_thread log)"},
		{"allow", judgedOf(unix.SYS_GETPGID, policy.Allow|7, -1, 1, false, judge.OKSilent, policy.ReasonAllowNeverLogs, false),
			"getpgid (pid 123) was not logged: the filters allowed it (ALLOW), which is never logged"},
		{"tracer re-check", recheck, "getpriority (pid 123) was not logged: the re-check after the tracer returned TRACE again, and a tracer-handled TRACE never logs"},
		{"tracer handled", outer, "getpriority (pid 123) was not logged: a tracer handled it (TRACE re-check), which never logs"},
		{"notif continue", notif, "getppid (pid 123) was not logged: the user-notification supervisor let it continue (SECCOMP_USER_NOTIF_FLAG_CONTINUE), which never logs"},
		{"missing-log", missing, "getppid (pid 123) was not logged although the kernel's rules say it must be (kill_process is in actions_logged): the kernel never called audit_seccomp, a kernel deviation (missing-log)"},
		{"inconclusive", unknownProg, "getppid (pid 123): cannot say: action unknown: program of filter 0xffff1 was never received"},
		{"strict mode", strictSilent, "getppid (pid 123) was not logged: strict mode (mode 1) killed it, which the kernel logs as KILL_THREAD whatever the filters say, and kill_thread is not in kernel.seccomp.actions_logged (at the decision: log)"},
		{"escaped", evil, `getppid (pid 123): cannot say: emission code \x1b[2J "q" caf\u00e9 \xff`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := tc.j
			jn := joiner
			if tc.name == "excluded by a named rule" {
				jn = judge.NewJoiner("")
				jn.AddExcludeRules([]string{"-a never,exclude -F msgtype=SECCOMP"})
			}
			jn.AddEmissions(&j)
			jn.Resolve(&j, true)
			jj := toJSON(&j)
			if got := explainSentence(jj); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestExplainMatches(t *testing.T) {
	p := toJSONOf(judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false))
	allow := toJSONOf(judgedOf(unix.SYS_GETPGID, policy.Allow, -1, 1, false, judge.OKSilent, policy.ReasonAllowNeverLogs, false))
	for _, tc := range []struct {
		p    pairJSON
		pids pidList
		sys  string
		want bool
	}{
		{p, nil, "", true},
		{allow, nil, "", false}, // ALLOWs only with --syscall
		{allow, nil, "getpgid", true},
		{p, nil, strconv.Itoa(unix.SYS_GETPPID), true},
		{p, nil, "getsid", false},
		{p, pidList{123}, "", true},
		{p, pidList{124}, "", false},
	} {
		if got := explainMatches(tc.p, tc.pids, tc.sys); got != tc.want {
			t.Errorf("explainMatches(%s, %v, %q) = %v, want %v", tc.p.Syscall, tc.pids, tc.sys, got, tc.want)
		}
	}
}

// TestExplainFrom reads watch's JSON Lines (a write line among them) and check's summary.
func TestExplainFrom(t *testing.T) {
	dir := t.TempDir()
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	enc.Encode(toJSONOf(judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)))
	enc.Encode(writeJSON{Event: "actions_logged_write", Pid: 5})
	enc.Encode(toJSONOf(judgedOf(unix.SYS_GETSID, policy.Trap, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)))
	watchFile := filepath.Join(dir, "watch.jsonl")
	os.WriteFile(watchFile, lines.Bytes(), 0o600)
	sum := checkSummary{Result: "violations", Violations: []pairJSON{toJSONOf(judgedOf(unix.SYS_GETPPID, policy.KillProcess, 0, 1, false, judge.MissingLog, policy.ReasonKillLogged, false))}}
	b, _ := json.Marshal(sum)
	checkFile := filepath.Join(dir, "check.json")
	os.WriteFile(checkFile, b, 0o600)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "--from", watchFile, "--syscall", "getsid"},
			"getsid (pid 123) was not logged: the deciding filter #0 (of 1, newest first) returned TRAP without SECCOMP_FILTER_FLAG_LOG (the kernel logs TRAP only when the filter asks)\n"},
		{[]string{"explain", "--from", checkFile},
			"getppid (pid 123) was not logged although the kernel's rules say it must be (kill_process is in actions_logged): the kernel never called audit_seccomp, a kernel deviation (missing-log)\n"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), tc.args, &out, &errOut); err != nil {
			t.Fatalf("%v: %v (%s)", tc.args, err, errOut.String())
		}
		if out.String() != tc.want {
			t.Errorf("%v:\ngot  %q\nwant %q", tc.args, out.String(), tc.want)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"explain", "--from", watchFile, "--pid", "999"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "no decision matched") {
		t.Errorf("no match: err %v, stderr %q", err, errOut.String())
	}
}

// toJSONOf is toJSON of a value.
func toJSONOf(j judge.Judged) pairJSON { return toJSON(&j) }

// TestExplainFromSelect: --cgroup and --container select a file's
// decisions by the cgroup and container they name.
func TestExplainFromSelect(t *testing.T) {
	cid := strings.Repeat("3f", 32)
	// judgedOf's decisions are of the native arch.
	native := func(name string) int32 {
		nr, ok := sysnames.Number(sysnames.Native, name)
		if !ok {
			t.Fatalf("no %s %s", nativeArch, name)
		}
		return nr
	}
	inContainer := judgedOf(native("getppid"), policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)
	inContainer.Decision.Cgroup = cgroups.New(5, "/system.slice/docker-"+cid+".scope")
	inUnit := judgedOf(native("getsid"), policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)
	inUnit.Decision.Cgroup = cgroups.New(6, "/system.slice/nginx.service")
	nowhere := judgedOf(workload.NrGetpgrp, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	for _, j := range []judge.Judged{inContainer, inUnit, nowhere} {
		enc.Encode(toJSONOf(j))
	}
	file := filepath.Join(t.TempDir(), "watch.jsonl")
	os.WriteFile(file, lines.Bytes(), 0o600)
	for _, tc := range []struct {
		args []string
		want []string // syscalls explained
	}{
		{nil, []string{"getppid", "getsid", getpgrpName}},
		{[]string{"--container", cid[:12]}, []string{"getppid"}},
		{[]string{"--container", strings.ToUpper(cid)}, []string{"getppid"}},
		{[]string{"--cgroup", "/system.slice"}, []string{"getppid", "getsid"}},
		{[]string{"--cgroup", "/system.slice/nginx.service"}, []string{"getsid"}},
		{[]string{"--cgroup", "/system.slice/nginx"}, nil},
		{[]string{"--cgroup", "/system.slice/nginx.service", "--container", cid}, []string{"getppid", "getsid"}},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"explain", "--from", file}, tc.args...), &out, &errOut)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if name, _, ok := strings.Cut(line, " "); ok {
				got = append(got, name)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") || (err != nil) != (len(tc.want) == 0) {
			t.Errorf("%v: explained %v (err %v), want %v", tc.args, got, err, tc.want)
		}
	}
}

func TestSelector(t *testing.T) {
	cid := strings.Repeat("0a", 32)
	s := selector{cgroups: []string{"/kubepods.slice"}, containers: []string{"3f4e"}}
	for _, tc := range []struct {
		path, container string
		want            bool
	}{
		{"/kubepods.slice", "", true},
		{"/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + cid + ".scope", cid, true},
		{"/kubepods.slice-other", "", false},
		{"/system.slice/docker-3f4e.scope", "3f4e" + cid[4:], true},
		{"/system.slice/docker-x.scope", cid, false},
		{"", "", false},
	} {
		if got := s.matches(tc.path, tc.container); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.path, tc.container, got, tc.want)
		}
	}
	if all := (selector{cgroups: []string{"/"}}); !all.matches("/x", "") || all.matches("", "") {
		t.Errorf("--cgroup / selects every known cgroup, and no unknown one")
	}
	if !(&selector{}).matches("", "") {
		t.Errorf("no selector: everything")
	}
	if (&selector{cgroups: []string{"/"}}).task(&observer.Task{}) {
		t.Errorf("a task whose cgroup is unknown was selected")
	}
}
