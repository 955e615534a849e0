// SPDX-License-Identifier: Apache-2.0

package session

import (
	"fmt"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/judge"
)

// queue hands events out in ring order, each once the audit records it
// waits for have come: a decision waits for its emissions' SECCOMP records,
// a write for its CONFIG_CHANGE record. A record usually follows its
// emission within milliseconds (kauditd is asynchronous; USER_NOTIF is
// emitted after the supervisor replies, so its record follows the reply).
// With Options.Wait, an event whose record has not come by then is handed
// out with delivery unknown; at the end a barrier settles every event
// still held. All of it runs under the session's mu.
type queue struct {
	s     *Session
	held  []*held
	next  int // Index of the next event pushed
	err   error
	after func(d time.Duration, f func())
}

// held is an event waiting to be handed out.
type held struct {
	index   int
	judged  *judge.Judged
	write   *judge.Write
	expired bool // its wait is over: hand out what is known
}

// push queues e; waits says it may wait for a record.
func (q *queue) push(e *held, waits bool) {
	e.index = q.next
	q.next++
	q.held = append(q.held, e)
	wait := q.s.opts.Wait
	switch {
	case !waits || !q.s.audit.following:
		e.expired = true
	case wait > 0:
		q.after(wait, func() {
			q.s.mu.Lock()
			defer q.s.mu.Unlock()
			e.expired = true
			q.flush(false)
		})
	}
	q.flush(false)
}

// ready reports whether every record e waits for has come or been lost.
// With no Wait, a write waits for the end: whether it must have a record
// is known only once audit_enabled at the end is.
func (q *queue) ready(e *held) bool {
	if e.write != nil {
		return q.s.opts.Wait > 0 && !q.s.timeline.Waiting(e.write)
	}
	return q.s.joiner.Settled(e.judged)
}

// flush hands out the events at the head of the queue that are ready or
// whose wait is over.
func (q *queue) flush(final bool) {
	for len(q.held) > 0 && q.err == nil {
		e := q.held[0]
		if !final && !e.expired && !q.ready(e) {
			return
		}
		q.held = q.held[1:]
		q.settle(e, false, false)
		q.emit(e)
	}
}

// finish settles and hands out every event still held, after the barrier:
// followed says its record came, so a record not read by then never will
// be; overruns are records lost to the reader.
func (q *queue) finish(followed bool, overruns uint64) {
	for len(q.held) > 0 && q.err == nil {
		e := q.held[0]
		q.held = q.held[1:]
		if e.write != nil && overruns > 0 {
			// A record not joined by now may have been lost to this reader.
			q.s.timeline.Settle(e.write, false, fmt.Sprintf("CONFIG_CHANGE records not followed: %d multicast overruns", overruns))
		}
		q.settle(e, true, followed)
		q.emit(e)
	}
}

// settle gives e its deliveries or its write verdict. final: after the
// barrier (followed: it arrived).
func (q *queue) settle(e *held, final, followed bool) {
	following, why := q.s.audit.following, q.s.audit.why
	if j := e.judged; j != nil {
		if j.Deliveries == nil {
			q.s.joiner.Resolve(j, final && following && followed)
		}
		return
	}
	w := e.write
	switch {
	case w.Settled():
	case !following:
		q.s.timeline.Settle(w, false, "CONFIG_CHANGE records not followed: "+why)
	case !final:
		q.s.timeline.Settle(w, false, fmt.Sprintf("no CONFIG_CHANGE record within %s", q.s.opts.Wait))
	case !followed:
		q.s.timeline.Settle(w, false, "CONFIG_CHANGE records not followed: "+why)
	default:
		q.s.timeline.Settle(w, true, "")
	}
}

// emit counts e into the report and hands it to OnEvent.
func (q *queue) emit(e *held) {
	rep := q.s.rep
	if j := e.judged; j != nil {
		for _, d := range j.Deliveries {
			switch d.State {
			case judge.Delivered:
				rep.Audit.Delivered++
			case judge.Lost:
				rep.Audit.Lost++
			case judge.Undelivered:
				rep.Audit.Undelivered++
			default:
				rep.Audit.Unknown++
			}
		}
		switch {
		case j.Verdict.Violation():
			rep.Violations++
		case j.Verdict == judge.Inconclusive:
			rep.Inconclusive++
		}
	} else {
		switch {
		case e.write.Verdict.Violation():
			rep.Violations++
		case e.write.Verdict == judge.WriteInconclusive:
			rep.Inconclusive++
		}
	}
	if q.s.opts.OnEvent != nil {
		q.err = q.s.opts.OnEvent(Event{Index: e.index, Judged: e.judged, Write: e.write})
	}
}
