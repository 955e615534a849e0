// SPDX-License-Identifier: Apache-2.0

// Package session owns one observed run from start to report: it loads
// the probes (observer), reads the audit multicast group, judges every
// event as it comes (judge), holds each until its audit records have come,
// hands them out in ring order, and finishes with a barrier into one
// Report. watch, check, explain and conformance are its users; it is the
// one place that wires a run.
package session

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Options configure a session.
type Options struct {
	// Probes selects what the probes follow.
	Probes observer.Options
	// FollowSelf traces this process and everything it forks from the
	// start on: the command of check and watch, conformance's children.
	// This process has no filter, so it makes no decisions of its own.
	FollowSelf bool
	// Model overrides the logging model the kernel's symbols imply.
	Model *policy.Model
	// NoAudit leaves the audit multicast group alone: no delivery is known.
	NoAudit bool
	// AuditRcvBuf is the multicast socket's receive buffer in bytes, 0 for the default.
	AuditRcvBuf int
	// Wait is how long an event waits for its audit record before it is
	// handed out with delivery unknown (watch). 0 holds every event that
	// waits for a record until Finish, which settles it after a barrier.
	Wait time.Duration
	// NoSilentCounting sends every decision. Otherwise a decision that is
	// silent whatever its arguments marks its (filter stack, arch, syscall)
	// in the probes, which then count such decisions per task and syscall
	// instead of sending them (Report.Silent), unless one reaches
	// audit_seccomp, until the policy changes or a filter is destroyed.
	NoSilentCounting bool
	// OnEvent gets every event, settled, in ring order. It runs with the
	// session's lock held, from the session's goroutines: it must not call
	// the session. Its first error stops the hand-out; Finish returns it.
	// The event and what it points to are reused once OnEvent returns, so
	// that a stream allocates nothing: keep a copy (Event.Clone, or what
	// is needed of it), never the event.
	OnEvent func(Event) error
	// Select, when set, keeps only the events of the tasks it accepts: a
	// decision, emission, seccomp_log call or audit drop of another task
	// is neither judged nor reported, nor are its silent counts; writes to
	// actions_logged, and audit drops outside any decision, are always
	// kept. It is called once per event, with the session's lock held
	// (watch's, check's and explain's --cgroup and --container).
	Select func(*observer.Task) bool
	// OnIdle, when set, is called once a batch of events has been handed
	// out and no more are ready: the ring buffer is drained, or an audit
	// record, a wait's end or Finish released some. A writer that buffers
	// OnEvent's output flushes here. The same rules hold as for OnEvent;
	// its error stops the hand-out too.
	OnIdle func() error
}

// Event is one settled item of the stream: a judged decision (or
// emissions outside any decision) or a write to actions_logged.
type Event struct {
	// Index is the event's place in the stream, from 0.
	Index int
	// Judged, with its verdict and Deliveries, when the event is a decision.
	Judged *judge.Judged
	// Write, with its record and verdict, when it is a write.
	Write *judge.Write
}

// Clone returns a copy of e that stays valid after OnEvent returns: its
// judged pair and decision are copied (the slices they hold, and Write,
// are never reused).
func (e Event) Clone() Event {
	if e.Judged != nil {
		j := *e.Judged
		if j.Decision != nil {
			d := *j.Decision
			j.Decision = &d
		}
		e.Judged = &j
	}
	return e
}

// Class is how a run ends.
type Class int

// Classes, worst last.
const (
	Pass Class = iota
	Inconclusive
	Violations
)

func (c Class) String() string {
	return [...]string{"pass", "inconclusive", "violations"}[c]
}

// ActionCount counts one action's decisions.
type ActionCount struct {
	Decisions, Logged, Silent int
}

// Report is a finished run.
type Report struct {
	Model    policy.Model
	Plan     observer.Plan
	Counters observer.Counters
	// ProgramStats is each program's run count and time (kernel.bpf_stats_enabled).
	ProgramStats []observer.ProgramStat
	// Silent are the decisions counted, not sent, per process, syscall and
	// mark: ok-silent by construction (Options.NoSilentCounting).
	// SilentMarks says what each mark (SilentCount.Mark) stood for.
	Silent      []observer.SilentCount
	SilentMarks map[uint32]SilentMark
	// CachedAllows are the cached ALLOWs per process and syscall, and
	// TaskComms the names of the processes counted (observer.Options.Forecast).
	CachedAllows []observer.SilentCount
	TaskComms    map[uint32]string
	// Decisions counts the judged decisions, those counted silent included;
	// PerAction by action name (policy.CodeName, "unknown" when the action
	// could not be reconstructed).
	Decisions int
	PerAction map[string]*ActionCount
	// Violations and Inconclusive count decisions and writes.
	Violations, Inconclusive int
	// UnmatchedRecords are SECCOMP records of the run's processes that no
	// emission explains; UnexplainedChanges CONFIG_CHANGE records no write
	// explains. Both make the run inconclusive.
	UnmatchedRecords   []*audit.Seccomp
	UnexplainedChanges []*audit.ConfigChange
	// OtherDrops are audit losses outside any decision of the run.
	OtherDrops []*observer.AuditDrop
	Audit      AuditSummary
	// Reasons say why the run is inconclusive beyond its events.
	Reasons []string
	Class   Class
}

// SilentMark is what the session knew of every decision counted under one
// silent mark: one filter stack (whose result on this arch and syscall does
// not depend on the arguments), one syscall, one policy generation.
type SilentMark struct {
	Arch uint32
	Nr   int32
	// Ret is the action, data included; Match the deciding filter's index
	// (newest first, -1 for ALLOW) and Requested its FLAG_LOG bit.
	Ret       uint32
	Match     int
	Requested bool
	// ActionsLogged was in force when the mark was made; a write voids the mark.
	ActionsLogged policy.ActionSet
}

// Session is one run.
type Session struct {
	opts Options
	obs  *observer.Observer
	// dec decodes the records: obs's decoder, or a replay's own.
	dec    *observer.Decoder
	plan   observer.Plan
	model  policy.Model
	audit  *auditState
	pids   map[uint32]bool // processes seen, for the records no emission explains
	rep    *Report
	closed bool
	// readBack reads actions_logged after a write of unknown effect (judge.Config.ReadBack).
	readBack func() (policy.ActionSet, error)

	// The reader goroutine tells synced when it has passed the barrier
	// Sync set in want; a barrier of stopReading makes it quit instead.
	synced   chan struct{}
	readDone chan struct{}
	readErr  error
	stopping atomic.Bool
	markErr  error // a silent mark the probes refused
	// sendMarker and flush are the observer's SendMarker and Flush (a fake in tests).
	sendMarker func(token uint64) (sent bool, pos uint64, err error)
	flush      func() error

	// progMu guards the probes' counters against Finish closing them
	// under Progress; final is what Progress returns once they are closed.
	progMu sync.Mutex
	final  *Progress

	mu       sync.Mutex
	checker  *judge.Checker
	joiner   *judge.Joiner
	timeline *judge.Timeline
	queue    queue
	// early holds the records that came before the judging side was wired.
	early []audit.Event
	// marked are the silent marks tried, with their generation.
	marked map[observer.SilentKey]uint32
	// marks are the marks made, by the id the counts carry (from 1).
	marks map[uint32]SilentMark
	// finishing: Finish has begun; audit records after it are not the run's.
	finishing bool
	// want is the barrier being waited for; token the last marker's;
	// consumed the ring position of the records judged so far; quit tells
	// the reader to stop (stopReading's barrier is passed).
	want     barrier
	token    uint64
	consumed uint64
	quit     bool
}

// barrier is a point in the ring that Sync waits for the reader to pass:
// the marker with token, or, when the ring was full and no marker went
// in, the ring position pos (byPos).
type barrier struct {
	active bool
	token  uint64
	byPos  bool
	pos    uint64
	// stop: stopReading's barrier; the reader quits once past it.
	stop bool
}

// passed reports whether the reader is past b once it has read ev, which
// ends at ring position consumed.
func (b *barrier) passed(ev observer.Event, consumed uint64) bool {
	if !b.active {
		return false
	}
	if b.byPos {
		return consumed >= b.pos
	}
	m, ok := ev.(*observer.SyncMarker)
	return ok && m.Token == b.token
}

// Start loads and attaches the probes and starts reading, the audit
// multicast group first, so that no record of the run is missed.
func Start(opts Options) (*Session, error) {
	initial, err := observer.ReadActionsLogged()
	if err != nil {
		return nil, err
	}
	s := newSession(opts)
	s.readBack = observer.ReadActionsLogged
	a := startAudit(!opts.NoAudit, opts.AuditRcvBuf, s.auditEvent)
	probes := opts.Probes
	if opts.FollowSelf {
		probes.PIDs = append(append([]int(nil), probes.PIDs...), os.Getpid())
		probes.FollowForks = true
	}
	s.obs, err = observer.Open(probes)
	if err != nil {
		a.stop()
		return nil, err
	}
	s.dec = s.obs.Decoder
	s.sendMarker, s.flush = s.obs.SendMarker, s.obs.Flush
	s.plan = s.obs.Plan()
	model := s.plan.Model()
	if opts.Model != nil {
		model = *opts.Model
	}
	s.mu.Lock()
	s.wire(a, initial, model)
	s.mu.Unlock()
	go s.read()
	return s, nil
}

func newSession(opts Options) *Session {
	return &Session{opts: opts, pids: map[uint32]bool{}, rep: &Report{PerAction: map[string]*ActionCount{}}, marked: map[observer.SilentKey]uint32{}, marks: map[uint32]SilentMark{},
		synced: make(chan struct{}, 1), readDone: make(chan struct{})}
}

// wire sets up the judging side of a session (under mu) and takes the
// records that came while the probes were loading.
func (s *Session) wire(a *auditState, initial policy.ActionSet, model policy.Model) {
	s.audit, s.model = a, model
	auditOn := a.before != nil && a.before.Enabled != 0
	s.checker = judge.NewChecker(judge.Config{
		Model: model, ActionsLogged: initial, AuditEnabled: auditOn, NoUserNotif: !observer.HasUserNotif(),
		ReadBack: s.readBack,
	})
	s.joiner = judge.NewJoiner(a.offAtBoot)
	s.joiner.AddExcludeRules(a.exclude)
	// Until the end is known, a write is judged by audit_enabled at the start.
	rule := judge.RecordsUnknown
	if a.before != nil {
		rule = judge.RuleFor(model, auditOn, auditOn, true)
	}
	s.timeline = judge.NewTimeline(rule)
	s.queue = queue{s: s, after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
	for _, ev := range s.early {
		s.takeRecord(ev)
	}
	s.early = nil
}

// Plan says how each hook was attached.
func (s *Session) Plan() observer.Plan { return s.plan }

// Model is the logging model the session judges with.
func (s *Session) Model() policy.Model { return s.model }

// AuditFollowed reports whether the audit multicast group is being read,
// and why not.
func (s *Session) AuditFollowed() (bool, string) { return s.audit.following, s.audit.why }

// AddTarget adds a process to the traced set.
func (s *Session) AddTarget(pid int) error { return s.obs.AddTarget(pid) }

func (s *Session) read() {
	defer close(s.readDone)
	for {
		ev, err := s.obs.Read()
		if errors.Is(err, observer.ErrDrained) {
			// Only stopReading flushes.
			if s.stopping.Load() {
				return
			}
			continue
		}
		if err != nil {
			s.readErr = fmt.Errorf("reading events: %w", err)
			return
		}
		s.mu.Lock()
		quit := s.readOne(ev, s.obs.Consumed())
		if !quit && s.opts.OnIdle != nil && s.obs.Buffered() == 0 {
			// The ring is drained: the next Read blocks.
			s.queue.idle()
		}
		s.mu.Unlock()
		if quit {
			return
		}
	}
}

// readOne judges ev, read from the ring up to position consumed, and
// tells Sync once its barrier is passed (under mu). It reports whether
// the reader must stop: stopReading's barrier is passed, before ev (which
// is then not judged) or with it.
func (s *Session) readOne(ev observer.Event, consumed uint64) (quit bool) {
	if s.quit {
		return true
	}
	s.consumed = consumed
	s.add(ev, true)
	if s.want.passed(ev, consumed) {
		if s.want.stop {
			s.quit = true
		} else {
			s.synced <- struct{}{} // buffered: one barrier at a time
		}
		s.want = barrier{}
	}
	return s.quit
}

// Sync returns once every record the probes sent before the call has
// been judged: a barrier without sleeps (a child that has exited has sent
// all its records). It sends a marker through the ring buffer behind
// those records (observer.SendMarker) and waits for the reader to judge
// its way to it; records sent after the call may or may not have been
// judged, so a target that never stops sending does not hold it up. When
// the ring is full it waits for the reader to reach the ring position
// where the marker would have gone. Not for concurrent use.
func (s *Session) Sync() error { return s.barrier(false) }

// barrier sets a barrier behind every record sent so far and waits for
// the reader to pass it; with stop, the reader then quits.
func (s *Session) barrier(stop bool) error {
	s.mu.Lock()
	s.token++
	s.want = barrier{active: true, token: s.token, stop: stop}
	token := s.token
	s.mu.Unlock()
	sent, pos, err := s.sendMarker(token)
	if err != nil {
		s.mu.Lock()
		s.want = barrier{}
		select {
		case <-s.synced: // the marker went in after all: not the next Sync's
		default:
		}
		s.mu.Unlock()
		return err
	}
	if !sent {
		s.mu.Lock()
		if s.consumed < pos {
			s.want.byPos, s.want.pos = true, pos
			s.mu.Unlock()
		} else {
			// Passed already: the reader may be blocked on an empty ring.
			s.want = barrier{}
			s.quit = stop
			s.mu.Unlock()
			if !stop {
				return nil
			}
			_ = s.flush() // it quits at its next Read
		}
	}
	if stop {
		<-s.readDone
		return nil
	}
	select {
	case <-s.synced:
		return nil
	case <-s.readDone:
		if s.readErr != nil {
			return s.readErr
		}
		return errors.New("syncing: the reader has stopped")
	}
}

// Mark is a point in the stream, for attributing events to what happened
// between two marks (conformance's cases).
type Mark struct {
	// Judged is the number of events judged so far: the Index the next one gets.
	Judged int
	// AuditLost is the kernel's audit_lost counter, when AuditLostKnown.
	AuditLost      uint32
	AuditLostKnown bool
}

// Mark syncs and returns the point the stream has reached.
func (s *Session) Mark() (Mark, error) {
	if err := s.Sync(); err != nil {
		return Mark{}, err
	}
	s.mu.Lock()
	m := Mark{Judged: s.queue.next}
	s.mu.Unlock()
	m.AuditLost, m.AuditLostKnown = lostNow()
	return m, nil
}

// add judges one observer event (under mu). own: s.dec decoded it, so a
// decision goes back to it once handed out.
func (s *Session) add(ev observer.Event, own bool) {
	switch e := ev.(type) {
	case *observer.SyncMarker:
		return // a point in the stream (Sync), not an event
	case *observer.SysctlWrite:
		s.pids[e.Tgid] = true
		jw := s.checker.AddWrite(e)
		s.timeline.AddWrite(jw)
		s.queue.push(nil, jw, true, false)
		return
	case *observer.FilterFree:
		// Its marks are void already (silent_gen); keep the memo bounded.
		for k := range s.marked {
			if k.Chain == e.Addr {
				delete(s.marked, k)
			}
		}
		return
	case *observer.Decision:
		if s.opts.Select != nil && !s.opts.Select(&e.Task) {
			if own {
				s.dec.Release(e)
			}
			return
		}
	case *observer.Emission:
		if s.opts.Select != nil && !s.opts.Select(&e.Task) {
			return
		}
	case *observer.AuditDrop:
		if s.opts.Select != nil && e.DecisionSeq != 0 && !s.opts.Select(&e.Task) {
			return
		}
	}
	if j, ok := s.checker.Add(ev); ok {
		s.addJudged(&j, own)
	}
}

func (s *Session) addJudged(j *judge.Judged, own bool) {
	if j.Verdict == "" {
		// An audit loss outside any decision: not a verdict.
		s.rep.OtherDrops = append(s.rep.OtherDrops, j.Drops...)
		return
	}
	if pid := j.Pid(); pid != 0 {
		s.pids[pid] = true
	}
	if d := j.Decision; d != nil {
		s.rep.Decisions++
		name := "unknown"
		if d.Known {
			name = policy.CodeName(d.Ret)
		}
		a := s.rep.PerAction[name]
		if a == nil {
			a = &ActionCount{}
			s.rep.PerAction[name] = a
		}
		a.Decisions++
		if len(j.Emissions) > 0 {
			a.Logged++
		} else {
			a.Silent++
		}
	}
	s.rep.Audit.Emissions += len(j.Emissions)
	s.markSilent(j)
	s.joiner.AddEmissions(j)
	s.queue.push(j, nil, len(j.Emissions) > 0, own)
}

// markSilent marks j's (stack, arch, syscall) silent in the probes when
// its result cannot depend on the arguments (cbpf.ConstStack).
func (s *Session) markSilent(j *judge.Judged) {
	if s.opts.NoSilentCounting || s.obs == nil || !judge.Silenceable(j) {
		return
	}
	d := j.Decision
	k := observer.SilentKey{Chain: d.Chain, Arch: d.Data.Arch, Nr: d.Data.Nr}
	if g, ok := s.marked[k]; ok && g == d.SilentGen {
		return
	}
	s.marked[k] = d.SilentGen
	stack := s.obs.Stack(d.Chain)
	if stack == nil {
		return
	}
	if ret, _, ok := cbpf.ConstStack(stack, d.Data.Arch, d.Data.Nr); !ok || ret != d.Ret {
		return
	}
	if len(s.marks) >= maxMarks {
		return // the decisions go on being streamed: exact, only dearer
	}
	id := uint32(len(s.marks) + 1)
	if err := s.obs.MarkSilent(k, d.SilentGen, id); err != nil {
		s.markErr = err
		return
	}
	s.marks[id] = SilentMark{Arch: d.Data.Arch, Nr: d.Data.Nr, Ret: d.Ret, Match: d.Match, Requested: d.Requested(), ActionsLogged: j.ActionsLogged}
}

// maxMarks bounds the silent marks of one session (their memo is kept to
// the end: counts name them).
const maxMarks = 1 << 16

// auditEvent takes a record from the audit feed.
func (s *Session) auditEvent(ev audit.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ev.Overrun && !s.finishing {
		s.rep.Audit.noteRecord(ev.Received)
	}
	if s.checker == nil {
		s.early = append(s.early, ev)
		return
	}
	s.takeRecord(ev)
	s.queue.flush(false)
	s.queue.idle()
}

func (s *Session) takeRecord(ev audit.Event) {
	if r := ev.Record.Seccomp; r != nil {
		s.joiner.AddRecord(r)
	}
	if r := ev.Record.ConfigChange; r != nil {
		s.timeline.AddRecord(r)
	}
}

// Close ends a session that will not be finished (an error path): the
// probes are detached and reading stops. Safe after Finish.
func (s *Session) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.stopReading()
	s.progMu.Lock()
	s.keepFinal(Progress{})
	s.obs.Close()
	s.progMu.Unlock()
	s.audit.stop()
}

// stopReading judges every record sent before the call, then stops the
// reader; records sent after it are not judged. The probes may still be
// attached and their targets busy: the barrier does not wait for an empty
// ring. Where the marker cannot be sent (BPF_PROG_TEST_RUN refused), it
// falls back on Flush, which ends the read once the ring is empty.
func (s *Session) stopReading() {
	s.stopping.Store(true)
	if s.barrier(true) != nil {
		_ = s.flush()
		<-s.readDone
	}
}

// Finish judges every record the probes sent before the call (a barrier
// through the ring, as Sync's: records a still-busy target sends after it
// are not judged), detaches the probes, runs the audit barrier, settles
// every event still held and returns the report.
func (s *Session) Finish() (*Report, error) {
	if s.closed {
		return nil, errors.New("session already closed")
	}
	s.closed = true
	s.mu.Lock()
	s.finishing = true
	s.mu.Unlock()
	s.stopReading()
	s.progMu.Lock()
	counters, cerr := s.obs.Counters()
	stats, _ := s.obs.ProgramStats() // a cost report, not a verdict: absent when unreadable
	s.rep.ProgramStats = stats
	silent, serr := s.obs.SilentCounts()
	silent = s.selectSilent(silent)
	s.rep.Silent, s.rep.SilentMarks = silent, s.marks
	s.mu.Lock()
	byAction := s.silentByAction(silent)
	s.mu.Unlock()
	for name, n := range byAction {
		// Counted decisions are ok-silent by construction: they count as such.
		a := s.rep.PerAction[name]
		if a == nil {
			a = &ActionCount{}
			s.rep.PerAction[name] = a
		}
		a.Decisions += int(n)
		a.Silent += int(n)
		s.rep.Decisions += int(n)
	}
	if s.opts.Probes.Forecast {
		var aerr, terr error
		s.rep.CachedAllows, aerr = s.obs.AllowCounts()
		s.rep.TaskComms, terr = s.obs.TaskComms()
		serr = errors.Join(serr, aerr, terr)
	}
	cerr = errors.Join(cerr, serr, s.markErr)
	s.keepFinal(Progress{Counters: counters, SilentByAction: byAction, AuditOverruns: s.audit.overruns()})
	s.obs.Close()
	s.progMu.Unlock()
	if s.readErr != nil || cerr != nil {
		s.audit.stop()
		return nil, errors.Join(s.readErr, cerr)
	}
	// The probes are closed: the barrier child is not traced.
	s.audit.finish()
	s.progMu.Lock()
	s.final.AuditOverruns = s.audit.overruns() // the barrier may have overrun too
	s.progMu.Unlock()
	return s.settle(counters)
}

// selectSilent keeps the silent counts of processes Options.Select
// accepts, by the cgroup their process record named.
func (s *Session) selectSilent(counts []observer.SilentCount) []observer.SilentCount {
	if s.opts.Select == nil {
		return counts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []observer.SilentCount
	for _, c := range counts {
		ok := s.pids[c.Tgid] // a process seen selected
		if p := s.dec.Proc(c.Tgid); p != nil {
			ok = s.opts.Select(&observer.Task{Tgid: c.Tgid, Comm: p.Comm, CgroupID: p.CgroupID, Time: p.Time, Proc: p, Cgroup: p.Cgroup})
		}
		if ok {
			out = append(out, c)
		}
	}
	return out
}

// settle judges what is left once no more records can come, settles every
// event still held and fills in the report.
func (s *Session) settle(counters observer.Counters) (*Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.checker.Flush() {
		s.addJudged(&j, false)
	}
	a := &s.rep.Audit
	a.Followed, a.Why = s.audit.followed, s.audit.why
	a.Overruns, a.LostIncrease = s.audit.overruns(), s.audit.lostIncrease()
	a.BacklogStallJiffies, a.Auditd = s.audit.stallJiffies(), s.audit.auditdNote()
	a.Status = s.audit.before
	s.joiner.AddExcludeRules(s.audit.exclude)
	before, after, known := s.audit.enabled()
	s.timeline.SetRule(judge.RuleFor(s.model, before, after, known))
	s.rep.UnexplainedChanges = s.timeline.Finish()
	s.queue.finish(a.Followed, a.Overruns)
	s.queue.idle()
	if s.queue.err != nil {
		return nil, s.queue.err
	}
	s.rep.UnmatchedRecords = s.joiner.UnmatchedRecords(func(pid uint32) bool { return s.pids[pid] })
	a.Unmatched = len(s.rep.UnmatchedRecords)

	rep := s.rep
	rep.Model, rep.Plan, rep.Counters = s.model, s.plan, counters
	if n := counters.Lost(); n > 0 {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("%d records lost in the ring buffer (%s)", n, counters.LostString()))
	}
	if a.Overruns > 0 {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("%d audit multicast overruns", a.Overruns))
	}
	if a.LostIncrease > 0 {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("the kernel's audit_lost rose by %d", a.LostIncrease))
	}
	if n := len(rep.UnmatchedRecords); n > 0 {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("%d SECCOMP records no emission explains", n))
	}
	if n := len(rep.UnexplainedChanges); n > 0 {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("%d CONFIG_CHANGE records no write explains", n))
	}
	switch {
	case rep.Violations > 0:
		rep.Class = Violations
	case rep.Inconclusive > 0 || len(rep.Reasons) > 0:
		rep.Class = Inconclusive
	}
	return rep, nil
}
