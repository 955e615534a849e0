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
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
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

// streamFlags are the flags watch and check share.
type streamFlags struct {
	pids      pidList
	comm      string
	output    string
	model     string
	sendAll   bool
	kprobe    bool
	follow    bool
	readyFile string
	// auditBuffer is the audit multicast socket's receive buffer (bytes).
	auditBuffer int
	// cmdStdout receives CMD's standard output: stderr for watch, whose stdout is the stream.
	cmdStdout *os.File
}

func (f *streamFlags) register(fs *flag.FlagSet, withTargets bool) {
	if withTargets {
		fs.Var(&f.pids, "pid", "trace only these process ids (repeatable, comma-separated)")
		fs.StringVar(&f.comm, "comm", "", "trace only tasks with this exact comm")
		fs.BoolVar(&f.follow, "follow-forks", true, "with --pid, also trace processes they fork")
	}
	fs.StringVar(&f.output, "output", "text", "output format: text or json (JSON Lines)")
	fs.StringVar(&f.model, "model", "auto", "kernel logging model: auto, 4.18+ or 4.14-4.17")
	fs.BoolVar(&f.sendAll, "send-all", false, "also stream ALLOWs answered by the kernel's action cache (normally only counted)")
	fs.BoolVar(&f.kprobe, "kprobe", false, "attach with kprobes even where fentry works")
	fs.StringVar(&f.readyFile, "ready-file", "", "create this file once the probes are attached")
	fs.IntVar(&f.auditBuffer, "audit-buffer", audit.DefaultRcvBuf, "receive buffer of the audit multicast socket, in bytes (a small one overruns: the run becomes inconclusive)")
}

// streamResult is what a finished stream saw.
type streamResult struct {
	counters observer.Counters
	model    policy.Model
	plan     observer.Plan
	cmdErr   error
	ran      bool
}

// handlers receive what a stream sees, in ring-buffer order.
type handlers struct {
	// opened, if set, gets the model once the probes are attached, before CMD starts.
	opened func(policy.Model)
	judged func(observer.Judged) error
	// write, if set, gets every write attempt to actions_logged.
	write func(*observer.SysctlWrite) error
}

// stream attaches the probes, runs command (if any) and feeds every judged
// decision (and actions_logged write) to h until the command exits or ctx ends.
func stream(ctx context.Context, f *streamFlags, command []string, stderr io.Writer, h handlers) (streamResult, error) {
	var res streamResult
	opts := observer.Options{PIDs: f.pids, Comm: f.comm, SendAll: f.sendAll, ForceKprobe: f.kprobe, FollowForks: f.follow && len(f.pids) > 0}
	if len(command) > 0 {
		// Follow ourselves: every process forked from here on, CMD included, is traced
		// from its first syscall. This process has no filter, so it makes no decisions.
		opts.PIDs = append(opts.PIDs, os.Getpid())
		opts.FollowForks = true
	}
	o, err := observer.Open(opts)
	if err != nil {
		return res, err
	}
	defer o.Close()
	res.plan = o.Plan()
	res.model = observer.ModelFor(res.plan)
	if f.model != "auto" {
		if res.model, err = policy.ParseModel(f.model); err != nil {
			return res, fmt.Errorf("bad --model: %w", err)
		}
	}
	auditOn := false
	if st, err := audit.GetStatus(); err == nil {
		auditOn = st.Enabled != 0
	}
	checker, err := observer.NewChecker(res.model, auditOn)
	if err != nil {
		return res, err
	}
	if h.opened != nil {
		h.opened(res.model)
	}
	if f.readyFile != "" {
		if err := os.WriteFile(f.readyFile, nil, 0o644); err != nil {
			return res, fmt.Errorf("writing ready file: %w", err)
		}
	}

	cmdDone := make(chan error, 1)
	if len(command) > 0 {
		cmd := exec.Command(command[0], command[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, f.cmdStdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return res, fmt.Errorf("starting %s: %w", command[0], err)
		}
		res.ran = true
		go func() { cmdDone <- cmd.Wait() }()
	}
	// Stop reading when CMD exits or on SIGINT/SIGTERM: Flush drains what is already queued.
	stopped := make(chan struct{})
	go func() {
		select {
		case res.cmdErr = <-cmdDone:
		case <-ctx.Done():
		}
		_ = o.Flush()
		close(stopped)
	}()
	for {
		ev, err := o.Read()
		if errors.Is(err, observer.ErrDrained) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("reading events: %w", err)
		}
		if s, ok := ev.(*observer.SysctlWrite); ok && h.write != nil {
			if err := h.write(s); err != nil {
				return res, err
			}
		}
		for _, j := range checker.Add(ev) {
			if err := h.judged(j); err != nil {
				return res, err
			}
		}
	}
	<-stopped
	for _, j := range checker.Flush() {
		if err := h.judged(j); err != nil {
			return res, err
		}
	}
	res.counters, err = o.Counters()
	return res, err
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: seccomptrace watch [flags] [-- CMD ARGS...]\n\n"+
			"With CMD, follow CMD and its descendants and stop when it exits. Each line waits\n"+
			"(up to --audit-wait) for its audit record: delivered serial=N, lost(<reason>) or unknown;\n"+
			"writes to actions_logged are lines of their own, with their CONFIG_CHANGE record.")
		fs.PrintDefaults()
	}
	f := streamFlags{cmdStdout: os.Stderr}
	f.register(fs, true)
	wait := fs.Duration("audit-wait", 2*time.Second, "how long a line waits for its audit record before it is printed as unknown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *wait <= 0 {
		return fmt.Errorf("bad --audit-wait %s: want a positive duration", *wait)
	}
	pr, err := newPrinter(stdout, f.output)
	if err != nil {
		return err
	}
	initial, err := observer.ReadActionsLogged()
	if err != nil {
		return err
	}
	auditOn := false
	if st, err := audit.GetStatus(); err == nil {
		auditOn = st.Enabled != 0
	}
	h := newHolder(pr, *wait, initial, auditOn)
	follower := followAudit(f.auditBuffer, h.auditEvent)
	h.follow(follower.feed != nil)
	h.excludeRules(follower.exclude)
	if follower.feed == nil {
		fmt.Fprintf(stderr, "seccomptrace: audit records not followed, delivery unknown: %s\n", follower.why)
	}
	command := fs.Args()
	res, err := stream(ctx, &f, command, stderr, handlers{opened: h.setModel, judged: h.judged, write: h.write})
	if err != nil {
		follower.stop()
		return err
	}
	// The probes are closed: the barrier child is not traced.
	follower.barrier()
	h.excludeRules(follower.exclude)
	dc, err := h.finish(follower.followed && follower.overruns() == 0)
	if err != nil {
		return err
	}
	c := res.counters
	fmt.Fprintf(stderr, "seccomptrace: %d decisions (%d cached ALLOWs counted, not streamed), %d emissions, %d records lost\n",
		c.Decisions, c.CachedAllow, c.Emissions, c.Lost())
	fmt.Fprintf(stderr, "seccomptrace: audit: %d delivered, %d lost, %d undelivered, %d unknown; %d multicast overruns, audit_lost +%d\n",
		dc.delivered, dc.lost, dc.undelivered, dc.unknown, follower.overruns(), follower.lostIncrease())
	if !follower.followed && follower.feed != nil {
		fmt.Fprintf(stderr, "seccomptrace: audit barrier failed: %s\n", follower.why)
	}
	if res.ran && res.cmdErr != nil {
		fmt.Fprintf(stderr, "seccomptrace: %s: %v\n", command[0], res.cmdErr)
	}
	if c.Lost() > 0 {
		return fmt.Errorf("lost %d records: the stream above is incomplete (%+v)", c.Lost(), c)
	}
	return nil
}
