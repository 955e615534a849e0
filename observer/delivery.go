// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/seccomptrace/seccomptrace/observer/audit"
)

// DeliveryState is what became of an emission's AUDIT_SECCOMP record.
type DeliveryState string

// Delivery states.
const (
	// Delivered: the record reached the audit multicast group.
	Delivered DeliveryState = "delivered"
	// Undelivered: no record arrived although the audit stream was followed to a barrier.
	Undelivered DeliveryState = "undelivered"
	// DeliveryUnknown: the audit stream was not followed (no CAP_AUDIT_READ,
	// not in the initial network namespace) or overran.
	DeliveryUnknown DeliveryState = "unknown"
	// Lost: the probes saw the kernel drop the record (§6).
	Lost DeliveryState = "lost"
)

// Delivery is the fate of one emission.
type Delivery struct {
	State  DeliveryState
	Record *audit.Seccomp // when Delivered
	// Reason says where a Lost record died.
	Reason string
}

// LossReason names where the kernel dropped a decision's record, from the
// drop records seen inside the decision (kernel-semantics §6). A refusal
// not counted as lost is named as an exclude rule in general terms; use
// LossReasonWith to name the rule.
func LossReason(drops []*AuditDrop) string { return LossReasonWith(drops, nil) }

// LossReasonWith is LossReason that names the exclude rules that can drop
// SECCOMP records (SnapshotExcludeRules) when audit_log_start refused a
// record without counting it lost, e.g.
// `excluded by rule "-a never,exclude -F msgtype=SECCOMP"`. With no rules
// (they could not be listed, or none was seen) it keeps the generic text.
func LossReasonWith(drops []*AuditDrop, excludeRules []string) string {
	refused := false
	for _, d := range drops {
		if d.Reason != "" {
			return d.Reason // audit_log_lost: backlog, rate limit, out of memory
		}
		refused = refused || d.Refused
	}
	if !refused {
		return ""
	}
	if off, param := auditOffAtBoot(); off {
		return "audit disabled at boot (" + param + ")"
	}
	switch len(excludeRules) {
	case 0:
		return "excluded: audit_log_start refused the record without counting it lost (an exclude rule such as msgtype=SECCOMP)"
	case 1:
		return fmt.Sprintf("excluded by rule %q", excludeRules[0])
	}
	q := make([]string, len(excludeRules))
	for i, r := range excludeRules {
		q[i] = strconv.Quote(r)
	}
	return "excluded by one of the rules " + strings.Join(q, ", ")
}

var auditOffAtBoot = sync.OnceValues(audit.DisabledAtBoot)

// SnapshotExcludeRules lists the audit exclude rules that can drop
// AUDIT_SECCOMP records, as `auditctl -l` prints them. It needs
// CAP_AUDIT_CONTROL in the initial pid namespace. A caller takes one
// snapshot before the traced run and one after, and hands both to
// Joiner.AddExcludeRules: a rule present at either time is named.
func SnapshotExcludeRules() ([]string, error) {
	rules, err := audit.ListRules()
	if err != nil {
		return nil, err
	}
	return audit.ExcludeRules(rules, audit.TypeSeccomp), nil
}

type joinKey struct {
	pid     uint32
	syscall int64
	code    uint32
}

// Joiner matches emissions (the kernel decided to log) to the AUDIT_SECCOMP
// records that left the kernel, by pid, syscall and code, in order: each
// key's records come in the order the task made its calls. Records can
// arrive before or after their emission (kauditd is asynchronous; USER_NOTIF
// records follow the supervisor's reply).
type Joiner struct {
	emissions map[joinKey][]*Emission
	records   map[joinKey][]*audit.Seccomp
	matched   map[*Emission]*audit.Seccomp
	exclude   []string
}

// NewJoiner returns an empty Joiner.
func NewJoiner() *Joiner {
	return &Joiner{
		emissions: map[joinKey][]*Emission{},
		records:   map[joinKey][]*audit.Seccomp{},
		matched:   map[*Emission]*audit.Seccomp{},
	}
}

// AddExcludeRules adds rules (a SnapshotExcludeRules result) to those a
// refused record is attributed to; a rule already known is not repeated.
func (j *Joiner) AddExcludeRules(rules []string) {
	for _, r := range rules {
		if !slices.Contains(j.exclude, r) {
			j.exclude = append(j.exclude, r)
		}
	}
}

// AddEmission takes an audit_seccomp emission, with the audit drops seen
// inside its decision (Pair.Drops). An emission whose record the kernel
// dropped (LossReason) never claims a record: the join is by order, so a
// lost emission that took the next record of its key would leave the
// emission that really produced it "undelivered". Callers that pass no
// drops join every emission.
func (j *Joiner) AddEmission(e *Emission, drops ...*AuditDrop) {
	if LossReason(drops) != "" {
		return
	}
	k := joinKey{e.Tgid, e.Syscall, e.Code}
	if rs := j.records[k]; len(rs) > 0 {
		j.matched[e], j.records[k] = rs[0], rs[1:]
		return
	}
	j.emissions[k] = append(j.emissions[k], e)
}

// AddRecord takes a type-1326 record.
func (j *Joiner) AddRecord(r *audit.Seccomp) {
	k := joinKey{uint32(r.Pid), r.Syscall, r.Code}
	if es := j.emissions[k]; len(es) > 0 {
		j.matched[es[0]], j.emissions[k] = r, es[1:]
		return
	}
	j.records[k] = append(j.records[k], r)
}

// Delivery reports the fate of e once the stream has been followed to its
// end; drops are the audit losses seen inside e's decision.
func (j *Joiner) Delivery(e *Emission, followed bool, drops []*AuditDrop) Delivery {
	if r := j.matched[e]; r != nil {
		return Delivery{State: Delivered, Record: r}
	}
	if why := LossReasonWith(drops, j.exclude); why != "" {
		return Delivery{State: Lost, Reason: why}
	}
	if !followed {
		return Delivery{State: DeliveryUnknown}
	}
	return Delivery{State: Undelivered}
}

// UnmatchedRecords returns the records no emission claimed, for pids in keep
// (nil keeps all): a record without an emission is reported, never dropped.
func (j *Joiner) UnmatchedRecords(keep func(pid uint32) bool) []*audit.Seccomp {
	var out []*audit.Seccomp
	for k, rs := range j.records {
		if keep == nil || keep(k.pid) {
			out = append(out, rs...)
		}
	}
	return out
}
