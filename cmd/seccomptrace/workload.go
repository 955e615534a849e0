// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// demoScenario: three stacked filters with different actions and FLAG_LOG bits.
func demoScenario(n int) workload.Scenario {
	return workload.Scenario{
		Filters: []workload.FilterSpec{
			{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: 0x00050001}}, Log: true}, // ERRNO(1), FLAG_LOG: logged
			{Rules: []workload.Rule{{Nr: unix.SYS_GETPGRP, Action: 0x7ffc0000}}},            // LOG: always logged
			{Rules: []workload.Rule{{Nr: unix.SYS_GETSID, Action: 0x00030000}}},             // TRAP, no FLAG_LOG: silent
		},
		Calls: []workload.Call{
			{Nr: unix.SYS_GETPPID, Count: n},
			{Nr: unix.SYS_GETPGRP, Count: n},
			{Nr: unix.SYS_GETSID, Count: n},
		},
	}
}

func runWorkload(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 3, "calls per syscall")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 1 || *count > 1000000 {
		return fmt.Errorf("bad --count %d: want 1 to 1000000", *count)
	}
	dir, err := os.MkdirTemp("", "seccomptrace-workload")
	if err != nil {
		return fmt.Errorf("creating result folder: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "result.json")
	cmd, err := workload.Spawn(demoScenario(*count), path)
	if err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("workload child: %w", err)
	}
	res, err := workload.ReadResult(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workload: pid %d: getppid, getpgrp, getsid x%d each under 3 filters\n", res.Pid, *count)
	return nil
}
