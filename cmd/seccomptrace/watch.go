// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/seccomptrace/seccomptrace/observer"
)

// pidList is a repeatable, comma-separated --pid flag.
type pidList []int

func (p *pidList) String() string { return fmt.Sprint(*p) }
func (p *pidList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad pid %q: want a positive number", f)
		}
		*p = append(*p, n)
	}
	return nil
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: seccomptrace watch [flags] [-- CMD ARGS...]\n\nWith CMD, follow CMD and its descendants and stop when it exits.")
		fs.PrintDefaults()
	}
	var pids pidList
	fs.Var(&pids, "pid", "trace only these process ids (repeatable, comma-separated)")
	comm := fs.String("comm", "", "trace only tasks with this exact comm")
	output := fs.String("output", "text", "output format: text or json (JSON Lines)")
	sendAll := fs.Bool("send-all", false, "also stream ALLOWs answered by the kernel's action cache (normally only counted)")
	kprobe := fs.Bool("kprobe", false, "attach with kprobes even where fentry works")
	follow := fs.Bool("follow-forks", true, "with --pid, also trace processes they fork")
	readyFile := fs.String("ready-file", "", "create this file once the probes are attached")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pr, err := newPrinter(stdout, *output)
	if err != nil {
		return err
	}
	command := fs.Args()
	opts := observer.Options{PIDs: pids, Comm: *comm, SendAll: *sendAll, ForceKprobe: *kprobe, FollowForks: *follow && len(pids) > 0}
	if len(command) > 0 {
		// Follow ourselves: every process forked from here on, CMD included, is traced
		// from its first syscall. This process has no filter, so it makes no decisions.
		opts.PIDs = append(opts.PIDs, os.Getpid())
		opts.FollowForks = true
	}
	o, err := observer.Open(opts)
	if err != nil {
		return err
	}
	defer o.Close()
	if *readyFile != "" {
		if err := os.WriteFile(*readyFile, nil, 0o644); err != nil {
			return fmt.Errorf("writing ready file: %w", err)
		}
	}

	cmdDone := make(chan error, 1)
	if len(command) > 0 {
		cmd := exec.CommandContext(ctx, command[0], command[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stderr, stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting %s: %w", command[0], err)
		}
		go func() { cmdDone <- cmd.Wait() }()
	}
	// Stop reading when CMD exits or on SIGINT/SIGTERM: Flush drains what is already queued.
	var cmdErr error
	go func() {
		select {
		case cmdErr = <-cmdDone:
		case <-ctx.Done():
		}
		_ = o.Flush()
	}()

	p := observer.NewPairer()
	for {
		ev, err := o.Read()
		if errors.Is(err, observer.ErrDrained) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		for _, pair := range p.Add(ev) {
			if err := pr.print(pair); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		}
	}
	for _, pair := range p.Flush() {
		if err := pr.print(pair); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	c, err := o.Counters()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "seccomptrace: %d decisions (%d cached ALLOWs counted, not streamed), %d emissions, %d records lost\n",
		c.Decisions, c.CachedAllow, c.Emissions, c.Lost())
	if len(command) > 0 && cmdErr != nil {
		fmt.Fprintf(stderr, "seccomptrace: %s: %v\n", command[0], cmdErr)
	}
	if c.Lost() > 0 {
		return fmt.Errorf("lost %d records: the stream above is incomplete (%+v)", c.Lost(), c)
	}
	return nil
}
