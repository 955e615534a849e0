// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// holder prints watch's lines in order, each once the audit records it
// waits for have come: a decision line waits for its emissions' SECCOMP
// records, a write line for its CONFIG_CHANGE record. A record usually
// follows its emission within milliseconds (kauditd is asynchronous;
// USER_NOTIF is emitted after the supervisor replies, so its record
// follows the reply). A line whose record has not come within wait is
// printed with delivery "unknown"; at the end a barrier decides every line
// still held: delivered, undelivered or lost(<reason>). Lines are printed
// from the stream, the audit reader and timers, under mu.
type holder struct {
	mu        sync.Mutex
	pr        *printer
	wait      time.Duration
	following bool // the audit group is being read
	joiner    *observer.Joiner
	timeline  *observer.Timeline
	rule      observer.RecordRule
	queue     []*heldLine
	pids      map[uint32]bool
	err       error
	counts    deliveryCounts
	// after runs f once d has passed (time.AfterFunc; tests fire it by hand).
	after func(d time.Duration, f func())
}

type deliveryCounts struct {
	delivered, lost, undelivered, unknown int
}

// heldLine is a decision or a write waiting to be printed.
type heldLine struct {
	judged  *observer.Judged
	write   *observer.Write
	expired bool // its wait is over: print what is known
}

func newHolder(pr *printer, wait time.Duration, initial policy.ActionSet, auditOn bool) *holder {
	rule := observer.RecordsNone
	if auditOn {
		rule = observer.RecordsExpected
	}
	return &holder{pr: pr, wait: wait, joiner: observer.NewJoiner(), timeline: observer.NewTimeline(initial, rule), rule: rule, pids: map[uint32]bool{},
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// follow says whether the audit group is being read: if not, nothing is held.
func (h *holder) follow(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.following = on
}

// setModel applies the kernel's model: 4.14-4.17 write no CONFIG_CHANGE record.
func (h *holder) setModel(m policy.Model) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m == policy.ModelPre418 {
		h.rule = observer.RecordsNone
		h.timeline.SetRule(h.rule)
	}
}

func (h *holder) judged(j observer.Judged) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range j.Emissions {
		h.pids[e.Tgid] = true
		h.joiner.AddEmission(e, j.Drops...)
	}
	if j.Decision != nil {
		h.pids[j.Decision.Tgid] = true
	}
	l := &heldLine{judged: &j}
	h.hold(l, len(j.Emissions) > 0)
	return h.err
}

func (h *holder) write(s *observer.SysctlWrite) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.timeline.AddWrite(s)
	if h.rule == observer.RecordsNone {
		h.timeline.Expire(w, "") // no record may come: decided now
	}
	h.hold(&heldLine{write: w}, !w.Decided())
	return h.err
}

// hold queues l; when it waits for a record, a timer ends the wait.
func (h *holder) hold(l *heldLine, waits bool) {
	h.queue = append(h.queue, l)
	if waits && h.following {
		h.after(h.wait, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			l.expired = true
			h.flush(false)
		})
	} else {
		l.expired = true
	}
	h.flush(false)
}

// auditEvent takes a record from the audit reader.
func (h *holder) auditEvent(ev audit.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := ev.Record.Seccomp; s != nil {
		h.joiner.AddRecord(s)
	}
	if cc := ev.Record.ConfigChange; cc != nil {
		h.timeline.AddRecord(cc)
	}
	h.flush(false)
}

// ready reports whether every record l waits for has come or been lost.
func (h *holder) ready(l *heldLine) bool {
	if l.write != nil {
		return l.write.Decided()
	}
	for _, e := range l.judged.Emissions {
		if h.joiner.Delivery(e, false, l.judged.Drops).State == observer.DeliveryUnknown {
			return false
		}
	}
	return true
}

// flush prints the lines at the head of the queue that are ready or whose
// wait is over; final (after the barrier, or with the audit group not
// followed) prints them all.
func (h *holder) flush(final bool) {
	for len(h.queue) > 0 && h.err == nil {
		l := h.queue[0]
		if !final && !l.expired && !h.ready(l) {
			return
		}
		h.queue = h.queue[1:]
		h.err = h.print(l, final)
	}
}

func (h *holder) print(l *heldLine, final bool) error {
	if w := l.write; w != nil {
		if !w.Decided() {
			why := fmt.Sprintf("no CONFIG_CHANGE record within %s", h.wait)
			if !h.following {
				why = "CONFIG_CHANGE records not followed"
			}
			h.timeline.Expire(w, why)
		}
		return h.pr.printWrite(writeToJSON(w, h.rule))
	}
	j := *l.judged
	jj := toJSON(j)
	applyDelivery(&jj, j, h.joiner, final && h.following)
	for _, e := range jj.Emissions {
		switch {
		case e.Delivery == string(observer.Delivered):
			h.counts.delivered++
		case e.Delivery == string(observer.Undelivered):
			h.counts.undelivered++
		case e.Delivery == string(observer.DeliveryUnknown):
			h.counts.unknown++
		default:
			h.counts.lost++
		}
	}
	return h.pr.printPair(jj)
}

// excludeRules names the exclude rules a refused record is attributed to.
func (h *holder) excludeRules(rules []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.joiner.AddExcludeRules(rules)
}

// finish prints every line still held. followed says the barrier record
// arrived with no overrun: a record not read by then never will be.
func (h *holder) finish(followed bool) (deliveryCounts, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.following = h.following && followed
	if h.following {
		h.timeline.Finish(true, "")
	}
	h.flush(true)
	return h.counts, h.err
}
