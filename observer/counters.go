// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// LostString names the non-zero loss counters, e.g. "decisions 3, inflight_full 1".
func (c Counters) LostString() string {
	var parts []string
	for _, n := range []struct {
		name string
		v    uint64
	}{
		{"decisions", c.DroppedDecisions}, {"emissions", c.DroppedEmissions}, {"seccomp_logs", c.DroppedSeccompLogs},
		{"filters", c.DroppedFilters}, {"chains", c.DroppedChains}, {"sysctls", c.DroppedSysctls}, {"audit_drops", c.DroppedAuditDrops},
		{"inflight_full", c.InflightFull}, {"exits_missed", c.ExitsMissed},
	} {
		if n.v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n.name, n.v))
		}
	}
	return strings.Join(parts, ", ")
}

// ProgramStat is one attached program's kernel-side cost, counted while
// kernel.bpf_stats_enabled is 1.
type ProgramStat struct {
	Name    string
	Runs    uint64
	Runtime time.Duration
}

// NsPerRun is the mean cost of one run, 0 without runs.
func (s ProgramStat) NsPerRun() float64 {
	if s.Runs == 0 {
		return 0
	}
	return float64(s.Runtime.Nanoseconds()) / float64(s.Runs)
}

// ProgramStats reads every loaded program's run count and run time, by name.
func (o *Observer) ProgramStats() ([]ProgramStat, error) {
	var out []ProgramStat
	for name, p := range o.objs.Programs {
		st, err := p.Stats()
		if err != nil {
			return nil, fmt.Errorf("reading the run statistics of %s: %w", name, err)
		}
		out = append(out, ProgramStat{Name: name, Runs: st.RunCount, Runtime: st.Runtime})
	}
	slices.SortFunc(out, func(a, b ProgramStat) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
