// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/forecast"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// forecastJSON is forecast's --output json.
type forecastJSON struct {
	Model           string   `json:"model"`
	Command         []string `json:"command,omitempty"`
	DurationSeconds float64  `json:"duration_s"`
	// Decisions is every decision observed, cached ALLOWs included.
	Decisions   uint64 `json:"decisions"`
	CachedAllow uint64 `json:"cached_allow"`
	// SilentCounted were counted in the kernel under a silent mark, not streamed.
	SilentCounted uint64 `json:"silent_counted"`
	// UnknownAction are decisions the oracle cannot place (not forecast).
	UnknownAction uint64 `json:"unknown_action"`
	// Emitted are the run's audit_seccomp calls, Delivered their records read from the multicast group.
	Emitted   uint64 `json:"emitted"`
	Delivered int    `json:"delivered"`
	Lost      uint64 `json:"records_lost"`
	// ActionsLogged and AuditEnabled are the policy now (after the run).
	ActionsLogged string           `json:"actions_logged"`
	AuditEnabled  *bool            `json:"audit_enabled"`
	Busiest       busiestJSON      `json:"busiest"`
	Backlog       backlogJSON      `json:"backlog"`
	Forecasts     []proposalResult `json:"forecasts"`
	Notes         []string         `json:"notes,omitempty"`
}

type busiestJSON struct {
	Tasks    []topJSON `json:"tasks"`
	Syscalls []topJSON `json:"syscalls"`
}

type topJSON struct {
	Pid       uint32   `json:"pid,omitempty"`
	Comm      *string  `json:"comm,omitempty"`
	Syscall   string   `json:"syscall,omitempty"`
	Nr        *int32   `json:"nr,omitempty"`
	Arch      string   `json:"arch,omitempty"`
	Records   uint64   `json:"records"`
	Decisions uint64   `json:"decisions"`
	Actions   []string `json:"actions,omitempty"`
}

type backlogJSON struct {
	// Limit is audit_backlog_limit from AUDIT_GET, null when it could not be read.
	Limit           *uint32 `json:"limit"`
	WaitTimeJiffies uint32  `json:"wait_time_jiffies"`
	DrainPerSecond  float64 `json:"drain_per_s"`
	DrainHow        string  `json:"drain_how"`
	DrainLowerBound bool    `json:"drain_lower_bound"`
}

type proposalResult struct {
	Policy string `json:"policy"`
	// Label is Policy as a change from the actions_logged now.
	Label     string            `json:"label"`
	Records   uint64            `json:"records"`
	PerSecond float64           `json:"per_s"`
	PerAction map[string]uint64 `json:"per_action"`
	Tasks     []topJSON         `json:"tasks"`
	Syscalls  []topJSON         `json:"syscalls"`
	Overflow  string            `json:"backlog_overflow"`
	FillS     float64           `json:"backlog_fill_s,omitempty"`
	Why       string            `json:"backlog_why"`
}

// actionsFlag is --actions-logged: set or not, and to what.
type actionsFlag struct {
	set *policy.ActionSet
}

func (a *actionsFlag) String() string {
	if a.set == nil {
		return ""
	}
	return a.set.String()
}

func (a *actionsFlag) Set(s string) error {
	// The sysctl's own syntax is space-separated names; commas are easier on a command line.
	names := strings.Join(strings.Fields(strings.ReplaceAll(s, ",", " ")), " ")
	set, err := policy.ParseActionsLogged(names, observer.HasUserNotif())
	if err != nil {
		return fmt.Errorf("want action names as actions_logged takes them (%s): %w", policy.ActionsAvail(observer.HasUserNotif()), err)
	}
	a.set = &set
	return nil
}

func runForecast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forecast", "usage: seccomptrace forecast [--duration D | -- CMD ARGS...] [--actions-logged LIST] [--flag-log keep|all|none] [--audit keep|on|off|audited] [flags]\n\n"+
		"Observe every seccomp decision for D (or CMD's run, or until interrupted), cached ALLOWs\n"+
		"included, and count the AUDIT_SECCOMP records each proposed policy would make of them,\n"+
		"next to the current one: per second, by process and syscall, and whether the audit\n"+
		"backlog would keep up. Nothing is changed.", stderr)
	f := streamFlags{cmdStdout: os.Stdout}
	f.register(fs, true)
	var al actionsFlag
	fs.Var(&al, "actions-logged", "proposed kernel.seccomp.actions_logged: action names, comma- or space-separated (\"\" for none)")
	flagLog := fs.String("flag-log", "keep", "proposed SECCOMP_FILTER_FLAG_LOG: keep (as installed), all (every filter re-installed with it) or none")
	auditMode := fs.String("audit", "keep", "proposed audit state: keep, on (enabled, rules as now), off, or audited (enabled with a syscall rule); it matters only to the 4.14-4.17 model")
	duration := fs.Duration("duration", 0, "observe this long (instead of a command)")
	measure := fs.Int("measure-drain", 0, "after the run, measure kauditd's drain with a burst of N LOG records from a child (writes N records to the audit trail)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	command := fs.Args()
	p := forecast.Proposal{ActionsLogged: al.set}
	var err error
	if p.FlagLog, err = forecast.ParseFlagLog(*flagLog); err != nil {
		return err
	}
	if p.Audit, err = forecast.ParseAudit(*auditMode); err != nil {
		return err
	}
	switch {
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("bad --output %q: want text or json", f.output)
	case *duration < 0:
		return fmt.Errorf("bad --duration %s: want a positive duration", *duration)
	case *duration > 0 && len(command) > 0:
		return errors.New("forecast takes --duration D or -- CMD, not both")
	case *measure < 0 || *measure == 1:
		return fmt.Errorf("bad --measure-drain %d: want 0 (off) or at least 2 records", *measure)
	}
	opts, err := f.sessionOptions(len(command) > 0)
	if err != nil {
		return err
	}
	opts.Probes.Forecast = true
	// A line waits for its record no longer than watch's: forecast needs the
	// decision, not its delivery, and must not hold a long run in memory.
	opts.Wait = 2 * time.Second
	obs := forecast.New()
	opts.OnEvent = func(e session.Event) error {
		if e.Judged != nil {
			obs.AddJudged(e.Judged)
		}
		return nil
	}
	t, elapsed, err := forecastRun(ctx, &f, command, *duration, opts)
	if err != nil {
		return exitWith(exitToolError, err)
	}
	rep := t.rep
	obs.AddReport(rep)
	obs.Duration = elapsed
	out := forecastReport(obs, rep, p, command)
	if t.ran && t.cmdErr != nil {
		var ee *exec.ExitError
		if errors.As(t.cmdErr, &ee) {
			out.Notes = append(out.Notes, fmt.Sprintf("%s: %s", command[0], ee.ProcessState))
		} else {
			out.Notes = append(out.Notes, fmt.Sprintf("%s: %v", command[0], t.cmdErr))
		}
	}
	if *measure > 0 {
		m, err := session.MeasureDrain(*measure)
		if err != nil {
			out.Notes = append(out.Notes, "the drain was not measured: "+err.Error())
		} else {
			out.Backlog.DrainPerSecond, out.Backlog.DrainLowerBound = m.PerSecond, !m.Saturated
			out.Backlog.DrainHow = fmt.Sprintf("measured: a child's burst of %d LOG records read from the multicast group over %s", m.Records, m.Span.Round(time.Microsecond))
			switch {
			case m.Saturated:
				out.Backlog.DrainHow += "; the backlog filled (tasks slept in audit_log_start), so this is kauditd's pace"
			case m.StallKnown:
				out.Backlog.DrainHow += "; the backlog never filled, so kauditd can drain at least this"
			default:
				out.Backlog.DrainHow += "; whether the backlog filled is not known (before 5.9): a lower bound"
			}
			if m.Lost > 0 {
				out.Backlog.DrainHow += fmt.Sprintf("; audit_lost rose by %d during it", m.Lost)
			}
		}
	}
	judgeBacklogs(out, obs)

	if err := printReport(stdout, f.output == "json", out, func(w io.Writer) { printForecast(w, out) }); err != nil {
		return exitWith(exitToolError, err)
	}
	if out.Lost > 0 || out.UnknownAction > 0 {
		return exitError{exitInconclusive}
	}
	return nil
}

// forecastRun runs a session for d, or command's run, or until ctx ends,
// and reports how long it observed.
func forecastRun(ctx context.Context, f *streamFlags, command []string, d time.Duration, opts session.Options) (*traced, time.Duration, error) {
	if len(command) > 0 {
		start := time.Now()
		t, err := traceRun(ctx, f, command, opts, nil)
		return t, time.Since(start), err
	}
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	start := time.Now()
	t, err := traceRun(ctx, f, nil, opts, nil)
	return t, time.Since(start), err
}

// forecastReport fills in everything but the backlog verdicts.
func forecastReport(obs *forecast.Observation, rep *session.Report, p forecast.Proposal, command []string) *forecastJSON {
	out := &forecastJSON{Model: rep.Model.String(), Command: command, DurationSeconds: obs.Duration.Seconds(),
		Decisions: obs.Decisions(), CachedAllow: rep.Counters.CachedAllow, SilentCounted: rep.Counters.Silent, UnknownAction: obs.Unknown,
		Emitted: obs.Emitted(), Delivered: rep.Audit.Delivered, Lost: rep.Counters.Lost()}
	now, err := observer.ReadActionsLogged()
	if err == nil {
		out.ActionsLogged = now.String()
	}
	a := rep.Audit
	if a.Status != nil {
		on := a.Status.Enabled != 0
		out.AuditEnabled = &on
		limit := a.Status.BacklogLimit
		out.Backlog.Limit, out.Backlog.WaitTimeJiffies = &limit, a.Status.BacklogWaitTime
	}
	if rate, ok := a.DeliveryRate(); ok {
		out.Backlog.DrainPerSecond = rate
		out.Backlog.DrainHow = fmt.Sprintf("seen in the run: %d records read from the audit multicast group over %s",
			a.Records, a.LastRecord.Sub(a.FirstRecord).Round(time.Microsecond))
		if a.BacklogStallJiffies > 0 {
			out.Backlog.DrainHow += "; the backlog filled (tasks slept in audit_log_start), so this is kauditd's pace"
		} else {
			out.Backlog.DrainLowerBound = true
			out.Backlog.DrainHow += "; they came no faster than kauditd took them, so it can drain at least this"
		}
	} else {
		out.Backlog.DrainHow = fmt.Sprintf("not seen: %d records read from the audit multicast group during the run (--measure-drain N measures it)", a.Records)
		if !a.Followed && a.Why != "" {
			out.Backlog.DrainHow += "; " + a.Why
		}
	}
	if c := rep.Counters.AllowFull; c > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d cached ALLOWs were counted only in the total (the per-syscall map was full)", c))
	}
	if c := rep.Counters.Lost(); c > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d records lost in the ring buffer (%s): the forecast counts too few", c, rep.Counters.LostString()))
	}
	if obs.Unknown > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d decisions whose action could not be reconstructed are not forecast", obs.Unknown))
	}
	if rep.Model == policy.ModelPost418 && p.Audit != forecast.AuditKeep {
		out.Notes = append(out.Notes, "from 4.18 on, audit's state does not change which records are attempted (docs/kernel-semantics.md §2): --audit changes nothing under this model")
	}
	tasks, syscalls := obs.Busiest()
	out.Busiest = busiestJSON{Tasks: topsJSON(tasks, true), Syscalls: topsJSON(syscalls, false)}
	noNotif := !observer.HasUserNotif()
	for _, q := range append([]forecast.Proposal{{}}, p.Steps()...) {
		r := obs.Forecast(q, rep.Model, noNotif)
		out.Forecasts = append(out.Forecasts, proposalResult{Policy: q.String(), Label: q.Label(now), Records: r.Records, PerSecond: r.PerSecond,
			PerAction: r.PerAction, Tasks: topsJSON(r.Tasks, true), Syscalls: topsJSON(r.Syscalls, false)})
	}
	return out
}

func topsJSON(ts []forecast.Top, tasks bool) []topJSON {
	out := make([]topJSON, 0, len(ts))
	for _, t := range ts {
		j := topJSON{Records: t.Records, Decisions: t.Decisions, Actions: t.Actions}
		if tasks {
			comm := t.Comm
			j.Pid, j.Comm = t.Tgid, &comm
		} else {
			nr := t.Nr
			j.Syscall, j.Nr, j.Arch = t.Syscall(), &nr, sysnames.ArchName(t.Arch)
		}
		out = append(out, j)
	}
	return out
}

// judgeBacklogs gives each forecast its backlog verdict, once the drain is known.
func judgeBacklogs(out *forecastJSON, obs *forecast.Observation) {
	b := forecast.Backlog{Drain: out.Backlog.DrainPerSecond, DrainHow: out.Backlog.DrainHow, DrainLowerBound: out.Backlog.DrainLowerBound,
		WaitTime: out.Backlog.WaitTimeJiffies}
	if out.Backlog.Limit != nil {
		b.Limit, b.LimitKnown = *out.Backlog.Limit, true
	}
	for i := range out.Forecasts {
		v := b.Judge(out.Forecasts[i].Records, obs.Duration)
		out.Forecasts[i].Overflow, out.Forecasts[i].FillS, out.Forecasts[i].Why = string(v.Overflow), v.FillSeconds, v.Why
	}
}

func printForecast(w io.Writer, s *forecastJSON) {
	what := "the run"
	if len(s.Command) > 0 {
		what = escape(strings.Join(s.Command, " "))
	}
	fmt.Fprintf(w, "seccomptrace forecast: %s in %.3fs of %s (%d cached ALLOWs, %d counted silent), model %s\n",
		plural(int(s.Decisions), "decision"), s.DurationSeconds, what, s.CachedAllow, s.SilentCounted, s.Model)
	audit := "unknown (AUDIT_GET refused)"
	if s.AuditEnabled != nil {
		audit = map[bool]string{true: "enabled", false: "disabled"}[*s.AuditEnabled]
	}
	now := s.ActionsLogged
	if now == "" {
		now = "(none)"
	}
	fmt.Fprintf(w, "now: actions_logged %s; FLAG_LOG as each filter was installed; audit %s\n", now, audit)
	fmt.Fprintf(w, "in the run: %d emitted (audit_seccomp), %d delivered to the multicast group\n", s.Emitted, s.Delivered)
	if len(s.Busiest.Syscalls) > 0 {
		fmt.Fprintf(w, "busiest: %s\n", topLine(s.Busiest.Tasks, false))
		fmt.Fprintf(w, "         %s\n", topLine(s.Busiest.Syscalls, false))
	}
	width := len("POLICY")
	for _, f := range s.Forecasts {
		width = max(width, len(f.Label))
	}
	fmt.Fprintf(w, "\n%-*s %9s %11s  %s\n", width, "POLICY", "RECORDS", "RECORDS/S", "BACKLOG")
	for _, f := range s.Forecasts {
		fmt.Fprintf(w, "%-*s %9d %11.1f  %s\n", width, f.Label, f.Records, f.PerSecond, f.Overflow)
	}
	for _, f := range s.Forecasts {
		fmt.Fprintf(w, "\n%s: %s", f.Label, plural(int(f.Records), "record"))
		if len(f.PerAction) > 0 {
			fmt.Fprintf(w, " (%s)", perActionLine(f.PerAction))
		}
		fmt.Fprintln(w)
		if len(f.Tasks) > 0 {
			fmt.Fprintf(w, "  processes: %s\n", topLine(f.Tasks, true))
			fmt.Fprintf(w, "  syscalls:  %s\n", topLine(f.Syscalls, true))
		}
		fmt.Fprintf(w, "  backlog: %s: %s\n", f.Overflow, f.Why)
	}
	fmt.Fprintln(w)
	if s.Backlog.Limit != nil {
		fmt.Fprintf(w, "audit backlog: limit %d (AUDIT_GET), backlog_wait_time %d jiffies\n", *s.Backlog.Limit, s.Backlog.WaitTimeJiffies)
	} else {
		fmt.Fprintln(w, "audit backlog: limit unknown (AUDIT_GET needs CAP_AUDIT_CONTROL)")
	}
	if s.Backlog.DrainPerSecond > 0 {
		fmt.Fprintf(w, "audit drain: %.0f records/s, %s\n", s.Backlog.DrainPerSecond, s.Backlog.DrainHow)
	} else {
		fmt.Fprintf(w, "audit drain: %s\n", s.Backlog.DrainHow)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// topLine lists processes or syscalls on one line: records of decisions,
// or only decisions when withRecords is false.
func topLine(ts []topJSON, withRecords bool) string {
	var parts []string
	for _, t := range ts {
		name := t.Syscall
		if t.Comm != nil {
			name = fmt.Sprintf("pid %d \"%s\"", t.Pid, escape(*t.Comm))
		} else if t.Arch != "" && t.Arch != sysnames.ArchName(sysnames.Native) {
			name += "/" + t.Arch
		}
		switch {
		case withRecords:
			part := fmt.Sprintf("%s %d of %d", name, t.Records, t.Decisions)
			if t.Comm == nil && len(t.Actions) > 0 {
				part += " (" + strings.Join(t.Actions, ",") + ")"
			}
			parts = append(parts, part)
		default:
			parts = append(parts, fmt.Sprintf("%s %d", name, t.Decisions))
		}
	}
	return strings.Join(parts, ", ")
}

// perActionLine lists the records by action, in the kernel's precedence order.
func perActionLine(m map[string]uint64) string {
	var parts []string
	known := []string{"kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log"}
	for _, a := range known {
		if m[a] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", a, m[a]))
		}
	}
	var other []string
	for a, n := range m {
		if n > 0 && !slices.Contains(known, a) {
			other = append(other, fmt.Sprintf("%s %d", a, n))
		}
	}
	slices.Sort(other)
	return strings.Join(append(parts, other...), ", ")
}
