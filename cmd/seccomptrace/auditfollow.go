// SPDX-License-Identifier: Apache-2.0

package main

import (
	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
)

// auditFollower reads the audit multicast group while check runs.
type auditFollower struct {
	rec    *observer.AuditRecorder // nil when the group cannot be joined
	why    string
	before audit.Status
	haveSt bool
}

func followAudit() *auditFollower {
	f := &auditFollower{}
	if st, err := audit.GetStatus(); err == nil {
		f.before, f.haveSt = st, true
	}
	rec, err := observer.NewAuditRecorder()
	if err != nil {
		f.why = err.Error()
		return f
	}
	f.rec = rec
	return f
}

func (f *auditFollower) stop() {
	if f.rec != nil {
		f.rec.Close()
	}
}

// finish runs a barrier (a child whose LOG action produces one record:
// kauditd sends in order, so every earlier record has been delivered or
// lost once it arrives), stops reading and joins records to emissions.
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
	var records []*audit.Seccomp
	if f.rec != nil {
		if err := f.rec.Barrier(); err != nil {
			f.why = err.Error()
		} else {
			s.Followed = true
		}
		f.rec.Close()
		s.Overruns = f.rec.Overruns()
		records = f.rec.Records()
	}
	s.Why = f.why
	if st, err := audit.GetStatus(); err == nil && f.haveSt && st.Lost > f.before.Lost {
		s.LostCounterGap = st.Lost - f.before.Lost
	}
	for _, r := range records {
		j.AddRecord(r)
	}
	for _, jd := range judged {
		for _, e := range jd.Emissions {
			s.Emissions++
			j.AddEmission(e)
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
