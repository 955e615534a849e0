// SPDX-License-Identifier: Apache-2.0

package main

import (
	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
)

// auditFollower reads the audit multicast group while check, explain or
// watch runs.
type auditFollower struct {
	feed          *observer.AuditFeed // nil when the group cannot be joined
	why           string
	before, after *audit.Status
	// followed: the barrier record arrived, so every earlier record has been read.
	followed bool
	// exclude are the exclude rules that can drop SECCOMP records, listed
	// before and after the run, to name the rule that dropped a record.
	exclude []string
}

// followAudit starts reading; onEvent (may be nil) sees every record as it arrives.
func followAudit(onEvent func(audit.Event)) *auditFollower {
	f := &auditFollower{}
	if st, err := audit.GetStatus(); err == nil {
		f.before = &st
	}
	f.exclude, _ = observer.SnapshotExcludeRules() // unnamed when they cannot be listed
	feed, err := observer.NewAuditFeed(onEvent)
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
	if st, err := audit.GetStatus(); err == nil {
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
