// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/conformance"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// conformanceJSON is one case in --output json.
type conformanceJSON struct {
	Case      string   `json:"case"`
	Status    string   `json:"status"`
	Expected  bool     `json:"expected_log"`
	Reason    string   `json:"reason"`
	Emissions int      `json:"emissions"`
	Delivered int      `json:"delivered"`
	Serials   []uint32 `json:"serials,omitempty"`
	Detail    string   `json:"detail,omitempty"`
	// AuditLostRise: how much audit_lost rose during the case (absent when
	// zero or unknown).
	AuditLostRise uint32 `json:"audit_lost_rise,omitempty"`
}

func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conformance", "usage: seccomptrace conformance [flags]\n\n"+
		"Run the built-in matrix of seccomp logging cases (actions x FLAG_LOG x actions_logged x audit\n"+
		"state, stacked filters), each in its own child, and check the kernel logged each as the rules say.\n"+
		"Changes actions_logged, audit enable and one audit rule, and restores them on exit.\n"+
		"Exit 0: all pass; 1: failures; 2: inconclusive; 3: tool error.", stderr)
	model := fs.String("model", "auto", "kernel logging model: auto, 4.18+ or 4.14-4.17")
	output := fs.String("output", "text", "text, json, ktap or junit (JUnit XML)")
	var saves saveFlag
	fs.Var(&saves, "save", "also write the same run's report as FORMAT (text, json, ktap, junit) to FILE: FORMAT=FILE; repeatable")
	filter := fs.String("filter", "", "run only cases whose name matches this regular expression")
	restore := fs.Bool("restore", false, "undo the changes of a run that was killed, from its state file, and exit")
	statePath := fs.String("state-file", conformance.DefaultStatePath, "where the state to restore is saved before any change")
	kprobe := fs.Bool("kprobe", false, "attach with kprobes even where fentry works")
	list := fs.Bool("list", false, "list the cases and exit")
	progress := fs.Bool("progress", false, "name each case on stderr as it starts, one line each (a terminal gets one updating line anyway)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *restore {
		found, err := conformance.Restore(*statePath)
		if err != nil {
			return exitWith(exitToolError, err)
		}
		if found {
			fmt.Fprintf(stdout, "restored actions_logged, audit enable and rules from %s\n", *statePath)
		} else {
			fmt.Fprintf(stdout, "nothing to restore: %s does not exist\n", *statePath)
		}
		return nil
	}
	if !validConformanceFormat(*output) {
		return fmt.Errorf("bad --output %q: want %s", *output, conformanceFormatList)
	}
	opts := conformance.Options{ForceKprobe: *kprobe, StatePath: *statePath}
	if *model != "auto" {
		m, err := policy.ParseModel(*model)
		if err != nil {
			return fmt.Errorf("bad --model: %w", err)
		}
		opts.Model = &m
	}
	var re *regexp.Regexp
	if *filter != "" {
		var err error
		if re, err = regexp.Compile(*filter); err != nil {
			return fmt.Errorf("bad --filter %q: %v", *filter, err)
		}
	}
	cases := conformance.Select(conformance.Cases(conformance.ProbeKernel()), re)
	if len(cases) == 0 {
		return fmt.Errorf("--filter %q matches no case; see --list", *filter)
	}
	if *list {
		for _, c := range cases {
			fmt.Fprintln(stdout, c.Name)
		}
		return nil
	}
	tty := isTerminal(stderr)
	rep, err := conformance.Run(ctx, cases, opts, func(done, total int, c *conformance.Case) {
		switch {
		case *progress:
			fmt.Fprintf(stderr, "[%d/%d] %s\n", done+1, total, c.Name)
		case tty:
			fmt.Fprintf(stderr, "\r\033[K[%d/%d] %s", done+1, total, c.Name)
		}
	})
	if tty && !*progress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return exitWith(exitToolError, err)
	}
	if err := renderConformance(stdout, *output, rep, kernelRelease()); err != nil {
		return exitWith(exitToolError, err)
	}
	for _, sv := range saves {
		if err := saveConformance(sv, rep, kernelRelease()); err != nil {
			return exitWith(exitToolError, err)
		}
	}
	counts := countStatuses(rep)
	lost, overruns := runLosses(rep)
	switch {
	case counts[conformance.Fail] > 0:
		return exitError{exitViolations}
	case counts[conformance.Inconclusive] > 0 || lost > 0 || overruns > 0:
		return exitError{exitInconclusive}
	}
	return nil
}

func kernelRelease() string {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(uts.Release[:])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
