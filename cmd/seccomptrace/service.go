// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
)

// summaryJSON is a "summary" line of watch --service (docs/events.md):
// the counts so far, every --summary-interval, and as the last line the
// run's final counts, which are check's.
type summaryJSON struct {
	V     int    `json:"v"`
	Event string `json:"event"` // "summary"
	Time  string `json:"time"`
	// Final: the run has ended and these are its report's counts.
	Final bool `json:"final"`
	// Decisions is every judged decision: streamed ones and those counted
	// silent in the kernel (check's "decisions").
	Decisions int `json:"decisions"`
	// PerAction counts them by action (check's per_action).
	PerAction map[string]*actionSummary `json:"per_action"`
	// Verdicts counts the streamed decisions (and emissions without one) by verdict.
	Verdicts map[string]int `json:"verdicts"`
	// CachedAllow and SilentCounted are counted in the kernel, never streamed;
	// ProbeDecisions is every decision of a traced task the probes saw.
	CachedAllow    uint64       `json:"cached_allow"`
	SilentCounted  uint64       `json:"silent_counted"`
	ProbeDecisions uint64       `json:"probe_decisions"`
	Audit          summaryAudit `json:"audit"`
	// RecordsLost is what the probes could not deliver (check's records_lost), by kind.
	RecordsLost       uint64            `json:"records_lost"`
	RecordsLostByKind map[string]uint64 `json:"records_lost_by_kind"`
	Writes            int               `json:"actions_logged_writes"`
	// Violations and Inconclusive count decisions and writes.
	Violations   int `json:"violations"`
	Inconclusive int `json:"inconclusive"`
	// Result and Reasons: the final line only, as check gives them.
	Result  string   `json:"result,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// summaryAudit is where the emissions' records went.
type summaryAudit struct {
	Emissions    int            `json:"emissions"`
	Delivered    int            `json:"delivered"`
	Lost         int            `json:"lost"`
	LostByReason map[string]int `json:"lost_by_reason"`
	Undelivered  int            `json:"undelivered"`
	Unknown      int            `json:"unknown"`
	Overruns     uint64         `json:"multicast_overruns"`
}

// runTally counts the settled events as the session's report does, so that a
// summary can be written while the session runs.
type runTally struct {
	decisions [nActions][nVerdicts]int
	logged    [nActions]int
	// codes counts decisions with a known action that has no name, by
	// action: the report names them "unknown(0x...)".
	codes        map[uint32]*actionSummary
	emissions    int
	deliveries   [len(deliveryLabels)]int
	lost         [len(lossLabels)]int
	writes       [len(writeLabels)]int
	violations   int
	inconclusive int
}

// add counts one settled event: no allocation but a new unnamed action's.
func (t *runTally) add(e session.Event) {
	if w := e.Write; w != nil {
		t.writes[writeIndex(w.Verdict)]++
		switch {
		case w.Verdict.Violation():
			t.violations++
		case w.Verdict == judge.WriteInconclusive:
			t.inconclusive++
		}
		return
	}
	j := e.Judged
	a, v := actionIndex(j.Decision), verdictIndex(j.Verdict)
	t.decisions[a][v]++
	logged := len(j.Emissions) > 0
	if logged {
		t.logged[a]++
	}
	if d := j.Decision; a == actionUnknownIdx && d != nil && d.Known {
		code := policy.ActionOnly(d.Ret)
		c := t.codes[code]
		if c == nil {
			if t.codes == nil {
				t.codes = map[uint32]*actionSummary{}
			}
			c = &actionSummary{}
			t.codes[code] = c
		}
		c.Decisions++
		if logged {
			c.Logged++
		} else {
			c.Silent++
		}
	}
	t.emissions += len(j.Emissions)
	for _, d := range j.Deliveries {
		t.deliveries[deliveryIndex(d.State)]++
		if d.State == judge.Lost {
			t.lost[lossIndex(d.Reason)]++
		}
	}
	switch {
	case j.Verdict.Violation():
		t.violations++
	case j.Verdict == judge.Inconclusive:
		t.inconclusive++
	}
}

// summary is the counts so far: the events tallied and what the probes
// counted (p).
func (t *runTally) summary(p session.Progress) summaryJSON {
	s := summaryJSON{V: schemaVersion, Event: "summary", PerAction: map[string]*actionSummary{}, Verdicts: map[string]int{},
		CachedAllow: p.Counters.CachedAllow, SilentCounted: p.Counters.Silent, ProbeDecisions: p.Counters.Decisions,
		RecordsLost: p.Counters.Lost(), RecordsLostByKind: map[string]uint64{}, Violations: t.violations, Inconclusive: t.inconclusive}
	for _, v := range verdictLabels {
		s.Verdicts[v] = 0
	}
	for a := range nActions {
		total := 0
		for v, n := range t.decisions[a] {
			s.Verdicts[verdictLabels[v]] += n
			total += n
		}
		if a == actionNoneIdx || total == 0 {
			continue
		}
		logged := t.logged[a]
		if a == actionUnknownIdx {
			for code, c := range t.codes {
				s.PerAction[policy.CodeName(code)] = &actionSummary{Decisions: c.Decisions, Logged: c.Logged, Silent: c.Silent}
				total -= c.Decisions
				logged -= c.Logged
			}
			if total == 0 {
				continue
			}
		}
		s.PerAction[actionLabels[a]] = &actionSummary{Decisions: total, Logged: logged, Silent: total - logged}
		s.Decisions += total
	}
	for code := range t.codes {
		s.Decisions += t.codes[code].Decisions
	}
	for name, n := range p.SilentByAction {
		a := s.PerAction[name]
		if a == nil {
			a = &actionSummary{}
			s.PerAction[name] = a
		}
		a.Decisions += int(n)
		a.Silent += int(n)
		s.Decisions += int(n)
	}
	s.Audit = summaryAudit{Emissions: t.emissions, Delivered: t.deliveries[0], Lost: t.deliveries[1], Undelivered: t.deliveries[2],
		Unknown: t.deliveries[3], LostByReason: map[string]int{}, Overruns: p.AuditOverruns}
	for i, n := range t.lost {
		if n > 0 {
			s.Audit.LostByReason[lossLabels[i]] = n
		}
	}
	for i, n := range probeLosses(p.Counters) {
		if n > 0 {
			s.RecordsLostByKind[probeLossLabels[i]] = n
		}
	}
	for _, n := range t.writes {
		s.Writes += n
	}
	return s
}

// final is the last summary line: the report's own counts where it has
// them, so that the line says what check would.
func (t *runTally) final(rep *session.Report) summaryJSON {
	s := t.summary(session.Progress{Counters: rep.Counters, AuditOverruns: rep.Audit.Overruns})
	s.Final = true
	s.Decisions = rep.Decisions
	s.PerAction = map[string]*actionSummary{}
	for name, a := range rep.PerAction {
		s.PerAction[name] = &actionSummary{Decisions: a.Decisions, Logged: a.Logged, Silent: a.Silent}
	}
	a := rep.Audit
	s.Audit.Emissions, s.Audit.Delivered, s.Audit.Lost, s.Audit.Undelivered, s.Audit.Unknown = a.Emissions, a.Delivered, a.Lost, a.Undelivered, a.Unknown
	s.Violations, s.Inconclusive = rep.Violations, rep.Inconclusive
	s.Result, s.Reasons = rep.Class.String(), rep.Reasons
	return s
}

// stream is what watch does with each settled event: count it (the runTally,
// and the metrics with --metrics-addr) and print it. Its lock puts the
// summary lines, written from another goroutine, between whole events.
type stream struct {
	mu sync.Mutex
	pr *printer
	t  runTally
	m  *metrics // nil without --metrics-addr
}

// onEvent is the session's OnEvent: no allocation.
func (s *stream) onEvent(e session.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.add(e)
	if s.m != nil {
		s.m.observe(e)
	}
	return s.pr.printEvent(e)
}

// onIdle is the session's OnIdle.
func (s *stream) onIdle() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pr.flush()
}

// writeSummary writes a summary line (sum from runTally's counts, at now) and flushes.
func (s *stream) writeSummary(now time.Time, sum func(*runTally) summaryJSON) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pr.json {
		return errors.New("summary lines are JSON: --service sets --output json")
	}
	line := sum(&s.t)
	line.Time = now.UTC().Format(time.RFC3339Nano)
	if err := s.pr.enc.Encode(line); err != nil {
		return err
	}
	return s.pr.flush()
}

// newTicker makes the ticker of --summary-interval; tests drive their own.
var newTicker = func(d time.Duration) (ticks <-chan time.Time, stop func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// startSummaries writes a summary line every interval, with the probes'
// counts read then (progress), until stop returns.
func (s *stream) startSummaries(interval time.Duration, progress func() (session.Progress, error), stderr io.Writer) (stop func()) {
	ticks, stopTicker := newTicker(interval)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		defer stopTicker()
		s.summaries(ticks, done, progress, stderr)
	}()
	return func() {
		close(done)
		<-exited
	}
}

// summaries writes a summary line at each tick, with the probes' counts
// read then, until stop is closed; errors go to stderr, one line each,
// and the stream goes on.
func (s *stream) summaries(ticks <-chan time.Time, stop <-chan struct{}, progress func() (session.Progress, error), stderr io.Writer) {
	for {
		select {
		case <-stop:
			return
		case now := <-ticks:
			p, err := progress()
			if err == nil {
				err = s.writeSummary(now, func(t *runTally) summaryJSON { return t.summary(p) })
			}
			if err != nil {
				fmt.Fprintf(stderr, "seccomptrace: summary: %s\n", oneLine(err))
			}
		}
	}
}

// outFile is --output-file: appended to, and reopened by name on SIGHUP so
// that logrotate can rename it. The printer writes whole lines per Write
// (lineBuffer), so each line lands whole in one file or the other.
type outFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openOutFile(path string) (*outFile, error) {
	o := &outFile{path: path}
	if err := o.Reopen(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *outFile) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.f.Write(p)
}

// Reopen opens the path anew (created if it was renamed away) and closes
// the old file; when the open fails the old file stays in use.
func (o *outFile) Reopen() error {
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening --output-file: %w", err)
	}
	o.mu.Lock()
	old := o.f
	o.f = f
	o.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

func (o *outFile) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.f.Close()
}

// onHangup handles SIGHUP until the returned stop is called: it reopens
// out (nil: writing to stdout, nothing to reopen) and reports a failure
// on stderr; the signal never ends the service.
func onHangup(out *outFile, stderr io.Writer) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			case <-ch:
				if out == nil {
					continue
				}
				if err := out.Reopen(); err != nil {
					fmt.Fprintf(stderr, "seccomptrace: SIGHUP: %s; still writing to the old file\n", oneLine(err))
				}
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-exited
	}
}
