// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
)

// auditFollower reads the audit multicast group while check, explain or
// watch runs.
type auditFollower struct {
	feed          *observer.AuditFeed // nil when the group cannot be joined
	why           string
	before, after *audit.StatusReply
	// followed: the barrier record arrived, so every earlier record has been read.
	followed bool
	// exclude are the exclude rules that can drop SECCOMP records, listed
	// before and after the run, to name the rule that dropped a record.
	exclude []string
}

// followAudit starts reading; onEvent (may be nil) sees every record as it arrives.
// rcvBuf is the multicast socket's receive buffer in bytes, 0 for the default.
func followAudit(rcvBuf int, onEvent func(audit.Event)) *auditFollower {
	f := &auditFollower{}
	if st, err := audit.GetStatusReply(); err == nil {
		f.before = &st
	}
	f.exclude, _ = observer.SnapshotExcludeRules() // unnamed when they cannot be listed
	if off, param := audit.DisabledAtBoot(); off {
		// There is no audit netlink socket to join at all (§6, step 1).
		f.why = "audit disabled at boot (" + param + "): the kernel refuses every record"
		return f
	}
	feed, err := observer.NewAuditFeed(audit.ReaderOptions{RcvBuf: rcvBuf}, onEvent)
	if err != nil {
		f.why = err.Error()
		return f
	}
	f.feed = feed
	return f
}

func (f *auditFollower) stop() {
	if f.feed != nil {
		f.feed.Close()
	}
}

// barrier runs a child whose LOG action produces one record (kauditd
// sends in order, so once it arrives every earlier record has been
// delivered or lost), stops reading and reads the audit status again.
// Run it after the probes are closed.
func (f *auditFollower) barrier() {
	if f.feed != nil {
		if err := f.feed.Barrier(); err != nil {
			f.why = err.Error()
		} else {
			f.followed = true
		}
		f.feed.Close()
	}
	if st, err := audit.GetStatusReply(); err == nil {
		f.after = &st
	}
	if rules, err := observer.SnapshotExcludeRules(); err == nil {
		f.exclude = append(f.exclude, rules...)
	}
}

func (f *auditFollower) overruns() uint64 {
	if f.feed == nil {
		return 0
	}
	return f.feed.Overruns()
}

// lostIncrease is how much the kernel's audit_lost counter rose during the run.
func (f *auditFollower) lostIncrease() uint32 {
	if f.before != nil && f.after != nil && f.after.Lost > f.before.Lost {
		return f.after.Lost - f.before.Lost
	}
	return 0
}

// statuses are the audit status before and after the run (nil if refused).
func (f *auditFollower) statuses() (before, after *audit.Status) {
	if f.before != nil {
		before = &f.before.Status
	}
	if f.after != nil {
		after = &f.after.Status
	}
	return before, after
}

// stallJiffies is how long tasks slept in audit_log_start on a full
// backlog during the run (backlog_wait_time_actual, 5.9+), -1 if unknown.
func (f *auditFollower) stallJiffies() int64 {
	if f.before == nil || f.after == nil || !f.before.HasWaitTimeActual() || !f.after.HasWaitTimeActual() ||
		f.after.BacklogWaitTimeActual < f.before.BacklogWaitTimeActual {
		return -1
	}
	return int64(f.after.BacklogWaitTimeActual - f.before.BacklogWaitTimeActual)
}

// auditdNote says where records go besides the multicast group (§6, step 6):
// to auditd, or, with none registered, to the kernel log through a
// rate-limited printk and then nowhere.
func (f *auditFollower) auditdNote() string {
	st := f.after
	if st == nil {
		st = f.before
	}
	if off, param := audit.DisabledAtBoot(); off {
		return "none: audit disabled at boot (" + param + ")"
	}
	switch {
	case st == nil:
		return "unknown (AUDIT_GET refused: needs CAP_AUDIT_CONTROL)"
	case st.Pid != 0:
		return fmt.Sprintf("pid %d receives the records", st.Pid)
	}
	return "none registered: after the multicast group, records go only to the kernel log " +
		"(printk, rate-limited: \"kauditd_printk_skb: N callbacks suppressed\"), not counted as lost"
}

// finish runs the barrier and joins records to emissions.
func (f *auditFollower) finish(judged []observer.Judged, s *auditSummary) (*observer.Joiner, map[uint32]bool) {
	j := observer.NewJoiner()
	pids := map[uint32]bool{}
	for _, jd := range judged {
		for _, e := range jd.Emissions {
			pids[e.Tgid] = true
		}
		if jd.Decision != nil {
			pids[jd.Decision.Tgid] = true
		}
	}
	f.barrier()
	j.AddExcludeRules(f.exclude)
	s.Followed, s.Why = f.followed, f.why
	s.Overruns, s.LostCounterGap = f.overruns(), f.lostIncrease()
	s.BacklogStallJiffies, s.Auditd = f.stallJiffies(), f.auditdNote()
	if f.feed != nil {
		for _, r := range f.feed.Seccomp() {
			j.AddRecord(r)
		}
	}
	for _, jd := range judged {
		for _, e := range jd.Emissions {
			s.Emissions++
			j.AddEmission(e, jd.Drops...)
		}
	}
	for _, jd := range judged {
		for _, e := range jd.Emissions {
			switch j.Delivery(e, s.Followed, jd.Drops).State {
			case observer.Delivered:
				s.Delivered++
			case observer.Undelivered, observer.Lost:
				s.Undelivered++
			}
		}
	}
	return j, pids
}
