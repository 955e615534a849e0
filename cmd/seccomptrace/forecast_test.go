// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPrintForecastEscapes: a process name reaches the terminal escaped,
// and every forecast gets its line and its backlog sentence.
func TestPrintForecastEscapes(t *testing.T) {
	comm := "evil\x1b]0;pwned\x07"
	nr := int32(unix.SYS_GETPPID)
	limit := uint32(64)
	s := &forecastJSON{Model: "4.18+", Command: []string{"/bin/x\x1b[2J"}, DurationSeconds: 2, Decisions: 10, ActionsLogged: "trap log",
		Busiest: busiestJSON{Tasks: []topJSON{{Pid: 7, Comm: &comm, Decisions: 10}}, Syscalls: []topJSON{{Syscall: "getppid", Nr: &nr, Arch: nativeArch, Decisions: 10}}},
		Backlog: backlogJSON{Limit: &limit, DrainHow: "not seen"},
		Forecasts: []proposalResult{
			{Policy: "current", Label: "current", Overflow: "no", Why: "no records", PerAction: map[string]uint64{}},
			{Policy: "flag-log=all", Label: "flag-log=all", Records: 10, PerSecond: 5, PerAction: map[string]uint64{"errno": 10, "unknown(0x10000)": 1},
				Tasks:    []topJSON{{Pid: 7, Comm: &comm, Records: 10, Decisions: 10}},
				Syscalls: []topJSON{{Syscall: "getppid", Nr: &nr, Arch: nativeArch, Records: 10, Decisions: 10, Actions: []string{"errno"}}},
				Overflow: "no", Why: "all 10 records of the run fit in the backlog of 64 even if none were drained"},
		},
		Notes: []string{"a note"},
	}
	var b bytes.Buffer
	printForecast(&b, s)
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("control characters reached the output:\n%q", out)
	}
	for _, want := range []string{
		`pid 7 "evil\x1b]0;pwned\a" 10 of 10`,
		"getppid 10 of 10 (errno)",
		"flag-log=all: 10 records (errno 10, unknown(0x10000) 1)",
		"backlog: no: all 10 records",
		"audit backlog: limit 64",
		"note: a note",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
