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
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
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

// streamFlags are the flags watch, check and explain share.
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
	// cgroups and containers select decisions by who they belong to.
	cgroups    cgroupList
	containers containerList
}

// selector is what --cgroup and --container select.
func (f *streamFlags) selector() *selector {
	return &selector{cgroups: f.cgroups.paths, containers: f.containers}
}

func (f *streamFlags) register(fs *flag.FlagSet, withTargets bool) {
	if withTargets {
		fs.Var(&f.pids, "pid", "trace only these process ids (repeatable, comma-separated)")
		fs.StringVar(&f.comm, "comm", "", "trace only tasks with this exact comm")
		fs.BoolVar(&f.follow, "follow-forks", true, "with --pid, also trace processes they fork")
	}
	// Paths under the cgroup2 mount lose the mount point.
	f.cgroups.rel = cgroups.NewResolver("").Rel
	fs.Var(&f.cgroups, "cgroup", "only decisions of tasks in this cgroup or below it: a path in the cgroup v2 hierarchy, e.g. /system.slice/nginx.service (repeatable)")
	fs.Var(&f.containers, "container", "only decisions of tasks in this container: its id, or the first digits of it (repeatable)")
	fs.StringVar(&f.output, "output", "text", "output format: text or json (JSON Lines)")
	fs.StringVar(&f.model, "model", "auto", "kernel logging model: auto, 4.18+ or 4.14-4.17")
	fs.BoolVar(&f.sendAll, "send-all", false, "stream every decision: also ALLOWs answered by the kernel's action cache and repeats of a silent decision (normally only counted)")
	fs.BoolVar(&f.kprobe, "kprobe", false, "attach with kprobes even where fentry works")
	fs.StringVar(&f.readyFile, "ready-file", "", "create this file once the probes are attached")
	fs.IntVar(&f.auditBuffer, "audit-buffer", audit.DefaultRcvBuf, "receive buffer of the audit multicast socket, in bytes (a small one overruns: the run becomes inconclusive)")
}

// sessionOptions turns the flags into a session's options; with a command,
// the session follows this process and so the command from its first syscall.
func (f *streamFlags) sessionOptions(withCommand bool) (session.Options, error) {
	opts := session.Options{
		Probes:           observer.Options{PIDs: f.pids, Comm: f.comm, SendAll: f.sendAll, ForceKprobe: f.kprobe, FollowForks: f.follow && len(f.pids) > 0},
		FollowSelf:       withCommand,
		AuditRcvBuf:      f.auditBuffer,
		NoSilentCounting: f.sendAll,
	}
	if withCommand || len(f.pids) > 0 {
		if in, known := inInitialPidNS(); known && !in {
			return opts, errNotInitialPidNS
		}
	}
	if sel := f.selector(); !sel.empty() {
		opts.Select = sel.task
	}
	if f.model != "auto" {
		m, err := policy.ParseModel(f.model)
		if err != nil {
			return opts, fmt.Errorf("bad --model: %w", err)
		}
		opts.Model = &m
	}
	return opts, nil
}

// traced is one finished session: its report and how CMD ended.
type traced struct {
	rep    *session.Report
	cmdErr error
	ran    bool
}

// traceRun starts a session, runs command (if any) under it until it exits
// or ctx ends (SIGINT/SIGTERM), and finishes the session. started, when
// set, gets the session once it runs.
func traceRun(ctx context.Context, f *streamFlags, command []string, opts session.Options, started func(*session.Session)) (*traced, error) {
	s, err := session.Start(opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if started != nil {
		started(s)
	}
	if f.readyFile != "" {
		if err := os.WriteFile(f.readyFile, nil, 0o644); err != nil {
			return nil, fmt.Errorf("writing ready file: %w", err)
		}
	}
	t := &traced{}
	if len(command) > 0 {
		cmd := exec.Command(command[0], command[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, f.cmdStdout, os.Stderr
		// CMD is what is observed: it gets none of the capabilities given to trace it.
		if err := startWithoutCapabilities(cmd); err != nil {
			return nil, fmt.Errorf("starting %s: %w", command[0], err)
		}
		t.ran = true
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case t.cmdErr = <-done:
		case <-ctx.Done():
		}
	} else {
		<-ctx.Done()
	}
	t.rep, err = s.Finish()
	return t, err
}

// watchFlags are watch's own flags, beyond streamFlags.
type watchFlags struct {
	wait            time.Duration
	progStats       bool
	service         bool
	outputFile      string
	summaryInterval time.Duration
	metricsAddr     string
	limits          labelLimits
}

func (w *watchFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&w.wait, "audit-wait", 2*time.Second, "how long a line waits for its audit record before it is printed as unknown")
	fs.BoolVar(&w.progStats, "prog-stats", false, "at the end, print each probe's run count and ns per run (needs sysctl kernel.bpf_stats_enabled=1)")
	fs.BoolVar(&w.service, "service", false, "service mode: JSON Lines (docs/events.md) with a summary line every --summary-interval and the final counts as the last line; stop on SIGTERM or SIGINT")
	fs.StringVar(&w.outputFile, "output-file", "", "append the stream to this file instead of stdout; SIGHUP reopens it (logrotate)")
	fs.DurationVar(&w.summaryInterval, "summary-interval", time.Minute, "with --service, write a summary line this often (0: only the final one)")
	fs.StringVar(&w.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (host:port, e.g. 127.0.0.1:9464)")
	fs.IntVar(&w.limits.comm, "metrics-comm-limit", 0, "with --metrics-addr, also count decisions by comm, for at most this many distinct comms (0: no comm label)")
	fs.IntVar(&w.limits.container, "metrics-container-limit", 0, "with --metrics-addr, also count decisions by container id, for at most this many distinct containers (0: no container label)")
	fs.IntVar(&w.limits.unit, "metrics-unit-limit", 0, "with --metrics-addr, also count decisions outside containers by systemd unit, for at most this many distinct units (0: no unit label)")
}

// check validates the combination; set says which flags were given.
func (w *watchFlags) check(f *streamFlags, set map[string]bool) error {
	switch {
	case w.wait <= 0:
		return fmt.Errorf("bad --audit-wait %s: want a positive duration", w.wait)
	case w.summaryInterval < 0:
		return fmt.Errorf("bad --summary-interval %s: want a positive duration, or 0 for the final summary only", w.summaryInterval)
	case set["summary-interval"] && !w.service:
		return errors.New("--summary-interval needs --service")
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("bad --output %q: want text or json", f.output)
	case w.service && f.output != "json" && set["output"]:
		return fmt.Errorf("--service writes JSON Lines: drop --output %s", f.output)
	}
	for _, l := range []struct {
		name string
		n    int
	}{{"comm", w.limits.comm}, {"container", w.limits.container}, {"unit", w.limits.unit}} {
		switch {
		case l.n < 0:
			return fmt.Errorf("bad --metrics-%s-limit %d: want 0 or more", l.name, l.n)
		case l.n > 0 && w.metricsAddr == "":
			return fmt.Errorf("--metrics-%s-limit needs --metrics-addr", l.name)
		}
	}
	if w.service {
		f.output = "json"
	}
	return nil
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("watch", "usage: seccomptrace watch [flags] [-- CMD ARGS...]\n\n"+
		"With CMD, follow CMD and its descendants and stop when it exits. Each line waits\n"+
		"(up to --audit-wait) for its audit record: delivered serial=N, lost(<reason>) or unknown;\n"+
		"writes to actions_logged are lines of their own, with their CONFIG_CHANGE record.\n"+
		"--service runs it as a daemon: JSON Lines with summary lines, until SIGTERM.", stderr)
	f := streamFlags{cmdStdout: os.Stderr}
	f.register(fs, true)
	var w watchFlags
	w.register(fs)
	wide := fs.Bool("wide", false, "text lines also name who each decision belongs to: parent pid, audit login and session, container, systemd unit and exe (JSON always does)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if err := w.check(&f, set); err != nil {
		return err
	}
	command := fs.Args()
	opts, err := f.sessionOptions(len(command) > 0)
	if err != nil {
		return err
	}
	var out io.Writer = stdout
	var file *outFile
	if w.outputFile != "" {
		if file, err = openOutFile(w.outputFile); err != nil {
			return err
		}
		defer file.Close()
		out = file
	}
	pr, err := newPrinter(out, f.output, *wide)
	if err != nil {
		return err
	}
	st := &stream{pr: pr}
	if w.metricsAddr != "" {
		st.m = newMetrics(w.limits)
		_, stop, err := serveMetrics(st.m, w.metricsAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	if w.service || file != nil {
		stop := onHangup(file, stderr)
		defer stop()
	}
	opts.Wait = w.wait
	opts.OnEvent = st.onEvent
	opts.OnIdle = st.onIdle
	stopSummaries := func() {}
	started := func(s *session.Session) {
		if st.m != nil {
			st.m.setSource(s.Progress)
		}
		if w.service && w.summaryInterval > 0 {
			stopSummaries = st.startSummaries(w.summaryInterval, s.Progress, stderr)
		}
	}
	t, err := traceRun(ctx, &f, command, opts, started)
	// No periodic summary after the final one.
	stopSummaries()
	if ferr := st.onIdle(); err == nil && ferr != nil {
		err = fmt.Errorf("writing events: %w", ferr)
	}
	if err != nil {
		return err
	}
	rep := t.rep
	c, a := rep.Counters, rep.Audit
	if !a.Followed && a.Why != "" {
		fmt.Fprintf(stderr, "seccomptrace: audit records not followed to the end, delivery unknown: %s\n", a.Why)
	}
	if w.service {
		if err := st.writeSummary(time.Now(), func(t *runTally) summaryJSON { return t.final(rep) }); err != nil {
			return fmt.Errorf("writing the final summary: %w", err)
		}
	} else {
		fmt.Fprintf(stderr, "seccomptrace: %d decisions (%d cached ALLOWs and %d silent ones counted, not streamed), %d emissions, %d records lost\n",
			c.Decisions, c.CachedAllow, c.Silent, c.Emissions, c.Lost())
		fmt.Fprintf(stderr, "seccomptrace: audit: %d delivered, %d lost, %d undelivered, %d unknown; %d multicast overruns, audit_lost +%d\n",
			a.Delivered, a.Lost, a.Undelivered, a.Unknown, a.Overruns, a.LostIncrease)
	}
	if t.ran && t.cmdErr != nil {
		fmt.Fprintf(stderr, "seccomptrace: %s: %v\n", command[0], t.cmdErr)
	}
	if c.DroppedTasks > 0 {
		fmt.Fprintf(stderr, "seccomptrace: %d process records lost: some lines do not say who they belong to\n", c.DroppedTasks)
	}
	if w.progStats {
		for _, st := range rep.ProgramStats {
			fmt.Fprintf(stderr, "seccomptrace: prog %s: %d runs, %.0f ns per run\n", st.Name, st.Runs, st.NsPerRun())
		}
	}
	if c.Lost() > 0 {
		return fmt.Errorf("lost %d records: the stream above is incomplete (%s)", c.Lost(), c.LostString())
	}
	return nil
}
