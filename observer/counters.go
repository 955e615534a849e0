// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"fmt"
	"strings"
)

// LostString names the non-zero loss counters, e.g. "decisions 3, inflight_full 1".
func (c Counters) LostString() string {
	var parts []string
	for _, n := range []struct {
		name string
		v    uint64
	}{
		{"decisions", c.DroppedDecisions}, {"emissions", c.DroppedEmissions}, {"seccomp_logs", c.DroppedSeccompLogs},
		{"filters", c.DroppedFilters}, {"sysctls", c.DroppedSysctls}, {"audit_drops", c.DroppedAuditDrops},
		{"inflight_full", c.InflightFull}, {"exits_missed", c.ExitsMissed},
	} {
		if n.v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n.name, n.v))
		}
	}
	return strings.Join(parts, ", ")
}
