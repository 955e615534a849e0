// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// The test binary doubles as the CLI: `watch -- <self>` runs the workload
// command in a child, which itself re-executes for the filtered grandchild.
const envAsCLI = "SECCOMPTRACE_TEST_AS_CLI"

func TestMain(m *testing.M) {
	workload.RunChildIfRequested()
	if os.Getenv(envStartBare) == "1" {
		os.Exit(startBareChild())
	}
	if args, ok := os.LookupEnv(envAsCLI); ok {
		// As main: SIGINT and SIGTERM end a run cleanly (watch --service).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, strings.Fields(args), os.Stdout, os.Stderr)
		stop()
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// inVM skips a test that loads BPF or changes kernel state outside the VM
// runner, and returns this test binary's path (it doubles as the CLI).
func inVM(t *testing.T) string {
	t.Helper()
	testutil.RequireVM(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"watch", "--output", "yaml"}, `bad --output "yaml"`},
		{[]string{"watch", "--pid", "abc"}, `bad pid "abc"`},
		{[]string{"watch", "--pid", "-3"}, `bad pid "-3"`},
		{[]string{"watch", "--comm", "a-very-long-command-name"}, "longer than 15 bytes"},
		{[]string{"workload", "--count", "0"}, "bad --count 0"},
		{[]string{"watch", "--container", "xyz"}, `bad container id "xyz"`},
		{[]string{"watch", "--container", strings.Repeat("a", 65)}, "want up to 64 hex digits"},
		{[]string{"check", "--cgroup", " ", "--", "true"}, `bad cgroup " "`},
		{[]string{"explain", "--container", "", "--from", "x"}, `bad container id ""`},
		{[]string{"forecast", "--flag-log", "some"}, `bad --flag-log "some"`},
		{[]string{"forecast", "--audit", "maybe"}, `bad --audit "maybe"`},
		{[]string{"forecast", "--actions-logged", "errno,allow"}, "--actions-logged"},
		{[]string{"forecast", "--actions-logged", "bogus"}, "--actions-logged"},
		{[]string{"forecast", "--duration", "1s", "--", "true"}, "not both"},
		{[]string{"forecast", "--duration", "-1s"}, "bad --duration"},
		{[]string{"forecast", "--measure-drain", "1"}, "bad --measure-drain 1"},
		{[]string{"forecast", "--output", "ktap"}, `bad --output "ktap"`},
		{[]string{"watch", "--summary-interval", "10s"}, "--summary-interval needs --service"},
		{[]string{"watch", "--service", "--summary-interval", "-1s"}, "bad --summary-interval -1s"},
		{[]string{"watch", "--service", "--output", "text"}, "--service writes JSON Lines: drop --output text"},
		{[]string{"watch", "--metrics-comm-limit", "5"}, "--metrics-comm-limit needs --metrics-addr"},
		{[]string{"watch", "--metrics-addr", "127.0.0.1:9464", "--metrics-comm-limit", "-1"}, "bad --metrics-comm-limit -1"},
		{[]string{"watch", "--metrics-addr", "no-port"}, "bad --metrics-addr"},
		{[]string{"watch", "--metrics-container-limit", "5"}, "--metrics-container-limit needs --metrics-addr"},
		{[]string{"watch", "--metrics-addr", "127.0.0.1:9464", "--metrics-unit-limit", "-2"}, "bad --metrics-unit-limit -2"},
		{[]string{"watch", "--output-file", "/nonexistent-dir/x.jsonl"}, "opening --output-file"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error()+errOut.String(), tc.want) {
			t.Errorf("run(%q) = %v (stderr %q), want an error containing %q", tc.args, err, errOut.String(), tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("run(%q): error spans lines: %q", tc.args, err)
		}
	}
}

func TestNoArgsPrintsUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), nil, &out, &errOut)
	if ee, ok := err.(exitError); !ok || ee.code != 2 || !strings.Contains(errOut.String(), "usage: seccomptrace") {
		t.Fatalf("run() = %v, stderr %q", err, errOut.String())
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"bash":            "bash",
		"evil\x1b[2Jname": `evil\x1b[2Jname`,
		"new\nline":       `new\nline`,
		`quo"te`:          `quo\"te`,
		"caf\u00e9":       `caf\u00e9`,
		"\xff\xfe":        `\xff\xfe`,
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextOutputEscapesComm(t *testing.T) {
	var buf bytes.Buffer
	p, err := newPrinter(&buf, "text", true)
	if err != nil {
		t.Fatal(err)
	}
	// Every untrusted string: comm, exe, and the cgroup names a unit comes from.
	cg := cgroups.New(9, "/system.slice/evil\x1b[2J.service/x")
	cg.Unit = "evil\x1b[2J.service"
	proc := &observer.Proc{Tgid: 7, Exe: "/tmp/\x1b]0;exe\x07", LoginUID: observer.AuditUnset, SessionID: observer.AuditUnset}
	d := &observer.Decision{Task: observer.Task{Tgid: 7, Tid: 7, Comm: "x\x1b]0;pwned\x07", Proc: proc, Cgroup: cg}, Syscall: 110, Known: true, Ret: 0x50001, Match: 0,
		Filters: []observer.FilterRef{{Log: true}}, Skipped: true}
	d.Data.Arch, d.Data.Nr = 0xc000003e, 110
	pair := judge.Pair{Decision: d, Emissions: []*observer.Emission{{Syscall: 110, Code: 0x50000}}}
	if err := p.printEvent(session.Event{Judged: &judge.Judged{Pair: pair, Verdict: judge.OKLogged, Expected: true, Reason: "requested-and-logged"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("raw control characters reached the output: %q", out)
	}
	for _, want := range []string{"getppid", "errno(1)", "0/1", "skip", "audit(code=0x50000 sig=0)", `x\x1b]0;pwned\a`, "ok-logged",
		`/tmp/\x1b]0;exe\a`, `evil\x1b[2J.service`, "unset      unset"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}
