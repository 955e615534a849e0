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
//
// An event that waits for nothing, with nothing held before it (most
// decisions), goes straight out through a reused slot: it costs no
// allocation.
type queue struct {
	s     *Session
	held  []*held
	next  int // Index of the next event pushed
	err   error
	after func(d time.Duration, f func())
	// now is the slot of an event handed out as it is pushed; spare are
	// slots of handed-out events, for reuse.
	now   held
	spare []*held
	// emitted: events were handed out since the last OnIdle.
	emitted bool
}

// maxSpare bounds the slots kept for reuse.
const maxSpare = 1024

// held is an event waiting to be handed out.
type held struct {
	index int
	// judged is the event when write is nil.
	judged  judge.Judged
	write   *judge.Write
	expired bool // its wait is over: hand out what is known
	// own: its decision came from the session's decoder, which gets it
	// back once the event is handed out.
	own bool
	// timed: a timer refers to the slot, so it is never reused.
	timed bool
}

// push queues a judged decision j, or a write w; waits says it may wait
// for a record, own that j's decision goes back to the decoder.
func (q *queue) push(j *judge.Judged, w *judge.Write, waits, own bool) {
	e := &q.now
	if len(q.held) > 0 || q.err != nil {
		e = q.slot()
	}
	*e = held{index: q.next, write: w, own: own, expired: !waits || !q.s.audit.following}
	if j != nil {
		e.judged = *j
	}
	q.next++
	if e == &q.now {
		if e.expired || q.ready(e) {
			q.settle(e, false, false)
			q.emit(e)
			return
		}
		// It waits: it needs a slot of its own.
		e = q.slot()
		*e = q.now
	}
	q.held = append(q.held, e)
	if wait := q.s.opts.Wait; !e.expired && wait > 0 {
		e.timed = true
		q.after(wait, func() {
			q.s.mu.Lock()
			defer q.s.mu.Unlock()
			e.expired = true
			q.flush(false)
			q.idle()
		})
	}
	q.flush(false)
}

// slot returns a free slot for an event that is held.
func (q *queue) slot() *held {
	if n := len(q.spare); n > 0 {
		e := q.spare[n-1]
		q.spare = q.spare[:n-1]
		return e
	}
	return new(held)
}

// ready reports whether every record e waits for has come or been lost.
// With no Wait, a write waits for the end: whether it must have a record
// is known only once audit_enabled at the end is.
func (q *queue) ready(e *held) bool {
	if e.write != nil {
		return q.s.opts.Wait > 0 && !q.s.timeline.Waiting(e.write)
	}
	return q.s.joiner.Settled(&e.judged)
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
	if e.write == nil {
		if j := &e.judged; j.Deliveries == nil {
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

// emit counts e into the report, hands it to OnEvent and then reuses what
// it no longer needs: its decision and its slot.
func (q *queue) emit(e *held) {
	rep := q.s.rep
	ev := Event{Index: e.index}
	if e.write == nil {
		j := &e.judged
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
		ev.Judged = j
	} else {
		switch {
		case e.write.Verdict.Violation():
			rep.Violations++
		case e.write.Verdict == judge.WriteInconclusive:
			rep.Inconclusive++
		}
		ev.Write = e.write
	}
	if q.s.opts.OnEvent != nil {
		q.err = q.s.opts.OnEvent(ev)
	}
	q.emitted = true
	if d := e.judged.Decision; e.own && d != nil && q.s.dec != nil {
		q.s.dec.Release(d)
	}
	if e != &q.now && !e.timed && len(q.spare) < maxSpare {
		*e = held{}
		q.spare = append(q.spare, e)
	}
}

// idle calls OnIdle when events were handed out since the last call: a
// batch has ended.
func (q *queue) idle() {
	if q.emitted && q.err == nil && q.s.opts.OnIdle != nil {
		q.emitted = false
		q.err = q.s.opts.OnIdle()
	}
}
