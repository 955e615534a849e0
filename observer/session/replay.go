// SPDX-License-Identifier: Apache-2.0

package session

import (
	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Replay is a session without probes or an audit socket: ring-buffer
// records and audit records are fed by hand, and go through the same
// decoding, judging, queue and hand-out as the records of a session from
// Start. It reads nothing from the system; for benchmarks and tests.
// Not safe for concurrent use, except that Options.Wait's timers may
// hand events out from their own goroutine, as in any session.
type Replay struct {
	s *Session
}

// NewReplay returns a replay judged under model, starting from the
// actions_logged value initial, with audit enabled. Its records come from
// a kernel whose __seccomp_filter returns int (observer.RetInt). Unless
// opts.NoAudit, an event waits for its audit record as in a live session;
// Options.Probes, FollowSelf and AuditRcvBuf are ignored.
func NewReplay(opts Options, model policy.Model, initial policy.ActionSet) *Replay {
	s := newSession(opts)
	s.dec = observer.NewDecoder(observer.RetInt)
	a := &auditState{following: !opts.NoAudit, before: &audit.StatusReply{Status: audit.Status{Enabled: 1}}}
	if opts.NoAudit {
		a.why = "audit records not followed on request"
	}
	s.mu.Lock()
	s.wire(a, initial, model)
	s.mu.Unlock()
	return &Replay{s: s}
}

// SetCgroups makes the replay resolve the records' cgroup ids with c (a
// tree of directories standing for the hierarchy) instead of this
// system's cgroup v2 hierarchy.
func (r *Replay) SetCgroups(c *cgroups.Resolver) { r.s.dec.SetCgroups(c) }

// Decode decodes one raw ring-buffer record and judges it, as the reader
// of a probed session does.
func (r *Replay) Decode(raw []byte) error {
	ev, err := r.s.dec.Decode(raw)
	if err != nil {
		return err
	}
	r.s.mu.Lock()
	r.s.add(ev, true)
	r.s.mu.Unlock()
	return nil
}

// Add judges one event decoded elsewhere; the replay never reuses it.
func (r *Replay) Add(ev observer.Event) {
	r.s.mu.Lock()
	r.s.add(ev, false)
	r.s.mu.Unlock()
}

// Drained says the records so far are all there is for now, as a drained
// ring buffer does: OnIdle is called if events were handed out since.
func (r *Replay) Drained() {
	r.s.mu.Lock()
	r.s.queue.idle()
	r.s.mu.Unlock()
}

// AddRecord takes one audit record, as a session's audit feed does.
func (r *Replay) AddRecord(ev audit.Event) { r.s.auditEvent(ev) }

// Progress is Session.Progress: no counters (there are no probes), the
// silent counts none; after Finish, final.
func (r *Replay) Progress() (Progress, error) { return r.s.Progress() }

// Finish settles every event still held and returns the report, as after
// the barrier of a probed session: the audit records fed so far are every
// record that came.
func (r *Replay) Finish() (*Report, error) {
	s := r.s
	s.closed = true
	s.audit.followed = s.audit.following
	s.audit.after = s.audit.before
	s.progMu.Lock()
	s.keepFinal(Progress{})
	s.progMu.Unlock()
	return s.settle(observer.Counters{})
}
