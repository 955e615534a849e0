// SPDX-License-Identifier: Apache-2.0

package session

import (
	"fmt"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/audit"
)

// AuditSummary is where the emissions' records went, and what the audit
// subsystem itself said about the run.
type AuditSummary struct {
	// Followed: the audit multicast group was read up to a barrier record,
	// so every record queued during the run was read or lost by then.
	Followed bool
	// Why says why it was not followed (no CAP_AUDIT_READ, audit=0, ...).
	Why string
	// Emissions is every audit_seccomp call; the rest say where their records went.
	Emissions, Delivered, Lost, Undelivered, Unknown int
	// Unmatched counts records of the run's processes that no emission explains.
	Unmatched int
	// Overruns is how often the multicast socket overran (records lost to this reader).
	Overruns uint64
	// LostIncrease is how much the kernel's audit_lost counter rose during the run.
	LostIncrease uint32
	// BacklogStallJiffies is how long tasks slept in audit_log_start on a
	// full backlog during the run, -1 where the kernel does not say (before 5.9).
	BacklogStallJiffies int64
	// Auditd says where records go after the multicast group.
	Auditd string
	// Records is every record of any type read from the multicast group
	// during the run (before Finish), the first at FirstRecord and the
	// last at LastRecord (when read, local clock): what kauditd delivered.
	Records                 int
	FirstRecord, LastRecord time.Time
	// Status is AUDIT_GET at the start (the backlog limit and wait time),
	// nil where it could not be read.
	Status *audit.StatusReply
}

// noteRecord counts a record read from the group at t.
func (a *AuditSummary) noteRecord(t time.Time) {
	if a.Records == 0 {
		a.FirstRecord = t
	}
	a.Records++
	a.LastRecord = t
}

// DeliveryRate is the records read per second between the first and the
// last record of the run; ok is false with fewer than two. It is what
// kauditd delivered, so a lower bound of what it can: it drains no faster
// than records come, unless the backlog filled (BacklogStallJiffies > 0).
func (a *AuditSummary) DeliveryRate() (perSecond float64, ok bool) {
	span := a.LastRecord.Sub(a.FirstRecord)
	if a.Records < 2 || span <= 0 {
		return 0, false
	}
	return float64(a.Records-1) / span.Seconds(), true
}

// auditState is the audit side of a session: the status and exclude rules
// at both ends of the run, and the feed of records in between.
type auditState struct {
	feed *auditFeed // nil when the group cannot be joined
	// following: the group is being read, so an event may wait for its record.
	following     bool
	why           string
	before, after *audit.StatusReply
	// offAtBoot is the boot parameter that disabled audit ("audit=0"), "" if none.
	offAtBoot string
	// exclude are the exclude rules that can drop SECCOMP records.
	exclude []string
	// followed: the barrier record arrived.
	followed bool
}

// startAudit reads the status and rules and joins the multicast group
// (follow false: only the status). onEvent sees every record as it arrives.
func startAudit(follow bool, rcvBuf int, onEvent func(audit.Event)) *auditState {
	a := &auditState{}
	if st, err := audit.GetStatusReply(); err == nil {
		a.before = &st
	}
	a.exclude = excludeRules()
	if off, param := audit.DisabledAtBoot(); off {
		// There is no audit netlink socket to join at all (§6, step 1).
		a.offAtBoot = param
		a.why = "audit disabled at boot (" + param + "): the kernel refuses every record"
		return a
	}
	if !follow {
		a.why = "audit records not followed on request"
		return a
	}
	feed, err := newAuditFeed(audit.ReaderOptions{RcvBuf: rcvBuf}, onEvent)
	if err != nil {
		a.why = err.Error()
		return a
	}
	a.feed, a.following = feed, true
	return a
}

// excludeRules lists the exclude rules that can drop SECCOMP records, as
// `auditctl -l` prints them; nil when they cannot be listed (needs
// CAP_AUDIT_CONTROL in the initial pid namespace): a loss is then named in
// general terms.
func excludeRules() []string {
	rules, err := audit.ListRules()
	if err != nil {
		return nil
	}
	return audit.ExcludeRules(rules, audit.TypeSeccomp)
}

// finish runs the barrier (the probes must be closed), stops reading and
// reads the status and rules again.
func (a *auditState) finish() {
	if a.feed != nil {
		if err := a.feed.barrier(); err != nil {
			a.why = err.Error()
		} else {
			a.followed = true
		}
		a.feed.close()
	}
	if st, err := audit.GetStatusReply(); err == nil {
		a.after = &st
	}
	a.exclude = append(a.exclude, excludeRules()...)
}

// stop ends reading without a barrier (an error path).
func (a *auditState) stop() {
	if a.feed != nil {
		a.feed.close()
	}
}

func (a *auditState) overruns() uint64 {
	if a.feed == nil {
		return 0
	}
	return a.feed.overruns()
}

// enabled reports audit_enabled at the start and at the end; known is
// false when either status could not be read.
func (a *auditState) enabled() (before, after, known bool) {
	if a.before == nil || a.after == nil {
		return false, false, false
	}
	return a.before.Enabled != 0, a.after.Enabled != 0, true
}

// lostNow reads the kernel's audit_lost counter; ok is false without CAP_AUDIT_CONTROL.
func lostNow() (uint32, bool) {
	st, err := audit.GetStatus()
	return st.Lost, err == nil
}

// lostIncrease is how much audit_lost rose during the run.
func (a *auditState) lostIncrease() uint32 {
	if a.before != nil && a.after != nil && a.after.Lost > a.before.Lost {
		return a.after.Lost - a.before.Lost
	}
	return 0
}

// stallJiffies is how long tasks slept in audit_log_start on a full
// backlog during the run (backlog_wait_time_actual, 5.9+), -1 if unknown.
func (a *auditState) stallJiffies() int64 {
	if a.before == nil || a.after == nil || !a.before.HasWaitTimeActual() || !a.after.HasWaitTimeActual() ||
		a.after.BacklogWaitTimeActual < a.before.BacklogWaitTimeActual {
		return -1
	}
	return int64(a.after.BacklogWaitTimeActual - a.before.BacklogWaitTimeActual)
}

// auditdNote says where records go besides the multicast group (§6, step 6):
// to auditd, or, with none registered, to the kernel log through a
// rate-limited printk and then nowhere.
func (a *auditState) auditdNote() string {
	st := a.after
	if st == nil {
		st = a.before
	}
	switch {
	case a.offAtBoot != "":
		return "none: audit disabled at boot (" + a.offAtBoot + ")"
	case st == nil:
		return "unknown (AUDIT_GET refused: needs CAP_AUDIT_CONTROL)"
	case st.Pid != 0:
		return fmt.Sprintf("pid %d receives the records", st.Pid)
	}
	return "none registered: after the multicast group, records go only to the kernel log " +
		"(printk, rate-limited: \"kauditd_printk_skb: N callbacks suppressed\"), not counted as lost " +
		"(booted with audit=1, they wait in the hold queue instead, whose overflow is counted)"
}
