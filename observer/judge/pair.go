// SPDX-License-Identifier: Apache-2.0

package judge

import "github.com/seccomptrace/seccomptrace/observer"

// Pair is one decision with the emissions it caused, or (Decision nil) an
// emission that happened outside any decision, or one whose decision record
// never arrived.
type Pair struct {
	Decision    *observer.Decision
	Emissions   []*observer.Emission // audit_seccomp calls
	SeccompLogs []*observer.Emission // seccomp_log calls, where the kernel has the symbol
	// Drops are the audit losses inside this decision (the records it tried to write).
	Drops []*observer.AuditDrop
}

// Pid is the process the pair belongs to, 0 when it has no event.
func (p *Pair) Pid() uint32 {
	switch {
	case p.Decision != nil:
		return p.Decision.Tgid
	case len(p.Emissions) > 0:
		return p.Emissions[0].Tgid
	case len(p.SeccompLogs) > 0:
		return p.SeccompLogs[0].Tgid
	case len(p.Drops) > 0:
		return p.Drops[0].Tgid
	}
	return 0
}

// Pairer joins emissions to their decision by sequence number. A task's
// emissions reach the ring buffer before its decision (the decision record is
// sent at __seccomp_filter exit), so an emission waits until its decision comes.
type Pairer struct {
	pending map[uint64]*Pair
}

// NewPairer returns an empty Pairer.
func NewPairer() *Pairer { return &Pairer{pending: make(map[uint64]*Pair)} }

// Add takes one event and returns the pair it completes, if any (an
// event completes at most one).
func (p *Pairer) Add(ev observer.Event) (Pair, bool) {
	switch e := ev.(type) {
	case *observer.Emission:
		if e.DecisionSeq == 0 {
			return p.single(e), true
		}
		pp := p.get(e.DecisionSeq)
		if e.SeccompLog {
			pp.SeccompLogs = append(pp.SeccompLogs, e)
		} else {
			pp.Emissions = append(pp.Emissions, e)
		}
	case *observer.AuditDrop:
		if e.DecisionSeq == 0 {
			return Pair{Drops: []*observer.AuditDrop{e}}, true
		}
		pp := p.get(e.DecisionSeq)
		pp.Drops = append(pp.Drops, e)
	case *observer.Decision:
		out := Pair{Decision: e}
		// Most decisions caused nothing: no lookup when nothing waits.
		if len(p.pending) == 0 {
			return out, true
		}
		if pp := p.pending[e.Seq]; pp != nil {
			delete(p.pending, e.Seq)
			out = *pp
			out.Decision = e
		}
		return out, true
	}
	return Pair{}, false
}

func (p *Pairer) get(seq uint64) *Pair {
	pp := p.pending[seq]
	if pp == nil {
		pp = &Pair{}
		p.pending[seq] = pp
	}
	return pp
}

func (p *Pairer) single(e *observer.Emission) Pair {
	if e.SeccompLog {
		return Pair{SeccompLogs: []*observer.Emission{e}}
	}
	return Pair{Emissions: []*observer.Emission{e}}
}

// Flush returns the emissions whose decision never arrived (a dropped
// record, or a decision still in flight) and forgets them.
func (p *Pairer) Flush() []Pair {
	var out []Pair
	for seq, pp := range p.pending {
		out = append(out, *pp)
		delete(p.pending, seq)
	}
	return out
}

// Pending is the number of decisions with emissions waiting.
func (p *Pairer) Pending() int { return len(p.pending) }
