// SPDX-License-Identifier: Apache-2.0

package session

import (
	"errors"
	"maps"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Progress is what the probes and the audit socket have counted so far:
// the part of a run that is never an event (decisions counted in the
// kernel, ring-buffer losses, multicast overruns). A long-running watch
// reads it for its periodic summary and its metrics.
type Progress struct {
	Counters observer.Counters
	// SilentByAction is the decisions counted silent so far (Counters.Silent),
	// by the action name Report.PerAction counts them under.
	SilentByAction map[string]uint64
	// AuditOverruns is how often the audit multicast socket overran so far.
	AuditOverruns uint64
	// Final: the session has finished (or closed) and these are its last counts.
	Final bool
}

// Progress reads the probes' counters and silent counts now. It may be
// called from any goroutine while the session runs, and after Finish,
// when it returns the final counts; never from OnEvent or OnIdle.
func (s *Session) Progress() (Progress, error) {
	s.progMu.Lock()
	defer s.progMu.Unlock()
	if s.final != nil {
		return *s.final, nil
	}
	var p Progress
	var silent []observer.SilentCount
	if s.obs != nil {
		var cerr, serr error
		p.Counters, cerr = s.obs.Counters()
		silent, serr = s.obs.SilentCounts()
		if err := errors.Join(cerr, serr); err != nil {
			return Progress{}, err
		}
		silent = s.selectSilent(silent)
	}
	s.mu.Lock()
	p.SilentByAction = s.silentByAction(silent)
	s.mu.Unlock()
	if s.audit != nil {
		p.AuditOverruns = s.audit.overruns()
	}
	return p, nil
}

// silentByAction sums counts by the action name of their mark (under mu),
// as Finish counts them into Report.PerAction.
func (s *Session) silentByAction(counts []observer.SilentCount) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range counts {
		out[s.silentName(c)] += c.Count
	}
	return out
}

// silentName is the action a count of decisions marked silent is reported under.
func (s *Session) silentName(c observer.SilentCount) string {
	if m, ok := s.marks[c.Mark]; ok {
		return policy.CodeName(m.Ret)
	}
	return "silent (unmarked)"
}

// keepFinal makes Progress return p from now on (the probes are about to
// close): under progMu.
func (s *Session) keepFinal(p Progress) {
	p.Final = true
	p.SilentByAction = maps.Clone(p.SilentByAction)
	s.final = &p
}
