// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

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
}

func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: seccomptrace conformance [flags]\n\n"+
			"Run the built-in matrix of seccomp logging cases (actions x FLAG_LOG x actions_logged x audit\n"+
			"state, stacked filters), each in its own child, and check the kernel logged each as the rules say.\n"+
			"Changes actions_logged, audit enable and one audit rule, and restores them on exit.\n"+
			"Exit 0: all pass; 1: failures; 2: inconclusive; 3: tool error.")
		fs.PrintDefaults()
	}
	model := fs.String("model", "auto", "kernel logging model: auto, 4.18+ or 4.14-4.17")
	output := fs.String("output", "text", "text, json or ktap")
	filter := fs.String("filter", "", "run only cases whose name matches this regular expression")
	restore := fs.Bool("restore", false, "undo the changes of a run that was killed, from its state file, and exit")
	statePath := fs.String("state-file", conformance.DefaultStatePath, "where the state to restore is saved before any change")
	kprobe := fs.Bool("kprobe", false, "attach with kprobes even where fentry works")
	list := fs.Bool("list", false, "list the cases and exit")
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
	if *output != "text" && *output != "json" && *output != "ktap" {
		return fmt.Errorf("bad --output %q: want text, json or ktap", *output)
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
		if tty {
			fmt.Fprintf(stderr, "\r\033[K[%d/%d] %s", done+1, total, c.Name)
		}
	})
	if tty {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return exitWith(exitToolError, err)
	}
	counts := map[conformance.Status]int{}
	for _, r := range rep.Results {
		counts[r.Status]++
	}
	lost := rep.Session.Counters.Lost()
	switch *output {
	case "json":
		out := struct {
			Kernel   string            `json:"kernel"`
			Model    string            `json:"model"`
			Cases    []conformanceJSON `json:"cases"`
			Pass     int               `json:"pass"`
			Fail     int               `json:"fail"`
			Skip     int               `json:"skip"`
			Inconcl  int               `json:"inconclusive"`
			Lost     uint64            `json:"records_lost"`
			Overruns uint64            `json:"multicast_overruns"`
			Seconds  float64           `json:"seconds"`
		}{Kernel: kernelRelease(), Model: rep.Model.String(), Pass: counts[conformance.Pass], Fail: counts[conformance.Fail],
			Skip: counts[conformance.Skip], Inconcl: counts[conformance.Inconclusive], Lost: lost, Overruns: rep.Session.Audit.Overruns, Seconds: rep.Duration.Seconds()}
		for _, r := range rep.Results {
			out.Cases = append(out.Cases, conformanceJSON{r.Case.Name, string(r.Status), r.Expected, string(r.Reason), r.Emissions, r.Delivered, r.Serials, r.Detail})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return exitWith(exitToolError, err)
		}
	case "ktap":
		fmt.Fprintf(stdout, "KTAP version 1\n# seccomptrace conformance: kernel %s, model %s\n1..%d\n", kernelRelease(), rep.Model, len(rep.Results))
		for i, r := range rep.Results {
			name := strings.ReplaceAll(r.Case.Name, "#", "")
			switch r.Status {
			case conformance.Pass:
				fmt.Fprintf(stdout, "ok %d %s\n", i+1, name)
			case conformance.Skip:
				fmt.Fprintf(stdout, "ok %d %s # SKIP %s\n", i+1, name, r.Detail)
			default:
				fmt.Fprintf(stdout, "# %s: %s\nnot ok %d %s\n", r.Status, r.Detail, i+1, name)
			}
		}
		if lost > 0 || rep.Session.Audit.Overruns > 0 {
			fmt.Fprintf(stdout, "# inconclusive run: %d records lost (%s), %d multicast overruns\n", lost, rep.Session.Counters.LostString(), rep.Session.Audit.Overruns)
		}
		fmt.Fprintf(stdout, "# run time %.1fs\n", rep.Duration.Seconds())
		fmt.Fprintf(stdout, "# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:%d\n",
			counts[conformance.Pass], counts[conformance.Fail], counts[conformance.Skip], counts[conformance.Inconclusive])
	default:
		fmt.Fprintf(stdout, "%-13s %-8s %-5s %-9s %s\n", "STATUS", "EXPECTED", "EMIT", "DELIVERED", "CASE")
		for _, r := range rep.Results {
			exp := "silent"
			if r.Expected {
				exp = "log"
			}
			fmt.Fprintf(stdout, "%-13s %-8s %-5d %-9d %s\n", r.Status, exp, r.Emissions, r.Delivered, r.Case.Name)
			if r.Status == conformance.Fail || r.Status == conformance.Inconclusive {
				fmt.Fprintf(stdout, "              %s (rule: %s)\n", r.Detail, r.Reason)
			}
		}
		fmt.Fprintf(stdout, "\nconformance on %s, model %s: %d pass, %d fail, %d skip, %d inconclusive; %d records lost, %d multicast overruns; %.1fs\n",
			kernelRelease(), rep.Model, counts[conformance.Pass], counts[conformance.Fail], counts[conformance.Skip], counts[conformance.Inconclusive], lost, rep.Session.Audit.Overruns, rep.Duration.Seconds())
	}
	switch {
	case counts[conformance.Fail] > 0:
		return exitError{exitViolations}
	case counts[conformance.Inconclusive] > 0 || lost > 0 || rep.Session.Audit.Overruns > 0:
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
