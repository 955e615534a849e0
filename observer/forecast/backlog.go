// SPDX-License-Identifier: Apache-2.0

package forecast

import (
	"fmt"
	"time"
)

// Backlog is what the audit queue can take (docs/kernel-semantics.md §6
// step 3): its limit and how fast kauditd drains it.
type Backlog struct {
	// Limit is audit_backlog_limit (AUDIT_GET), 0 for none; LimitKnown is
	// false where AUDIT_GET was refused (no CAP_AUDIT_CONTROL).
	Limit      uint32
	LimitKnown bool
	// WaitTime is audit_backlog_wait_time in jiffies: how long a task
	// sleeps in audit_log_start on a full queue before its record is lost.
	WaitTime uint32
	// Drain is the records per second kauditd was seen to deliver, 0 when
	// unknown; DrainHow says how it was measured. DrainLowerBound: the
	// records came no faster than kauditd took them (the queue never
	// filled), so it can drain at least this, maybe more.
	Drain           float64
	DrainHow        string
	DrainLowerBound bool
}

// Overflow is a backlog verdict.
type Overflow string

// Verdicts.
const (
	OverflowNo      Overflow = "no"
	OverflowYes     Overflow = "yes"
	OverflowMaybe   Overflow = "maybe"   // faster than the drain's lower bound
	OverflowUnknown Overflow = "unknown" // no limit or no drain rate to judge by
)

// BacklogVerdict says whether a forecast's records would overflow the backlog.
type BacklogVerdict struct {
	Overflow Overflow
	// FillSeconds is how long the forecast rate, sustained, takes to fill
	// the queue (0 when it never does or cannot be said).
	FillSeconds float64
	// Why says it in one sentence.
	Why string
}

// Judge says whether records over d, arriving evenly, overflow the
// backlog: the queue grows by the rate above the drain and overflows once
// it holds more than Limit. Bursts within the run are not resolved:
// counted decisions have no time stamps.
func (b Backlog) Judge(records uint64, d time.Duration) BacklogVerdict {
	switch {
	case records == 0:
		return BacklogVerdict{Overflow: OverflowNo, Why: "no records"}
	case !b.LimitKnown:
		return BacklogVerdict{Overflow: OverflowUnknown, Why: "the backlog limit is unknown (AUDIT_GET needs CAP_AUDIT_CONTROL)"}
	case b.Limit == 0:
		return BacklogVerdict{Overflow: OverflowNo, Why: "audit_backlog_limit is 0: the queue has no limit (it grows in kernel memory)"}
	case records == 1:
		return BacklogVerdict{Overflow: OverflowNo, Why: "one record fits in any backlog"}
	case records <= uint64(b.Limit):
		return BacklogVerdict{Overflow: OverflowNo, Why: fmt.Sprintf("all %d records of the run fit in the backlog of %d even if none were drained", records, b.Limit)}
	case b.Drain <= 0 || d <= 0:
		return BacklogVerdict{Overflow: OverflowUnknown, Why: fmt.Sprintf("%d records exceed the backlog of %d, and no drain rate was seen (--measure-drain N measures one)", records, b.Limit)}
	}
	rate := float64(records) / d.Seconds()
	if rate <= b.Drain {
		return BacklogVerdict{Overflow: OverflowNo, Why: fmt.Sprintf("%.0f records/s is within the drain of %.0f records/s", rate, b.Drain)}
	}
	fill := float64(b.Limit) / (rate - b.Drain)
	stall := fmt.Sprintf("then each record's task sleeps in audit_log_start up to backlog_wait_time (%d jiffies), and the record is lost (audit_lost) if the wait runs out", b.WaitTime)
	if b.DrainLowerBound {
		return BacklogVerdict{Overflow: OverflowMaybe, FillSeconds: fill,
			Why: fmt.Sprintf("%.0f records/s is above the %.0f records/s seen drained, a lower bound: if kauditd can drain no more, the backlog of %d fills after %.2fs; %s", rate, b.Drain, b.Limit, fill, stall)}
	}
	return BacklogVerdict{Overflow: OverflowYes, FillSeconds: fill,
		Why: fmt.Sprintf("%.0f records/s is above the drain of %.0f records/s: the backlog of %d fills after %.2fs; %s", rate, b.Drain, b.Limit, fill, stall)}
}
