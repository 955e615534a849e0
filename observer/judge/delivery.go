// SPDX-License-Identifier: Apache-2.0

package judge

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/seccomptrace/seccomptrace/observer"
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
	// not in the initial network namespace), overran, or the wait ran out.
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

// String is the delivery as the outputs spell it: delivered, lost(<reason>), ...
func (d Delivery) String() string {
	if d.State == Lost {
		return "lost(" + d.Reason + ")"
	}
	return string(d.State)
}

// LossContext is what names a drop point beyond the drop records
// themselves: the kernel's boot parameter and the exclude rules in force.
type LossContext struct {
	// OffAtBoot is the boot parameter that disabled audit ("audit=0"), "" if none.
	OffAtBoot string
	// ExcludeRules are the rules that can drop SECCOMP records, as
	// `auditctl -l` prints them.
	ExcludeRules []string
}

// LossReason names where the kernel dropped a decision's record, from the
// drop records seen inside the decision (§6), "" when none was dropped. A
// refusal not counted as lost is an exclude rule (named when lc lists it)
// or audit=0 at boot.
func LossReason(drops []*observer.AuditDrop, lc LossContext) string {
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
	if lc.OffAtBoot != "" {
		return "audit disabled at boot (" + lc.OffAtBoot + ")"
	}
	switch len(lc.ExcludeRules) {
	case 0:
		return "excluded: audit_log_start refused the record without counting it lost (an exclude rule such as msgtype=SECCOMP)"
	case 1:
		return fmt.Sprintf("excluded by rule %q", lc.ExcludeRules[0])
	}
	q := make([]string, len(lc.ExcludeRules))
	for i, r := range lc.ExcludeRules {
		q[i] = strconv.Quote(r)
	}
	return "excluded by one of the rules " + strings.Join(q, ", ")
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
	emissions map[joinKey][]*observer.Emission
	records   map[joinKey][]*audit.Seccomp
	matched   map[*observer.Emission]*audit.Seccomp
	loss      LossContext
}

// NewJoiner returns an empty Joiner; offAtBoot is the boot parameter that
// disabled audit, "" if none.
func NewJoiner(offAtBoot string) *Joiner {
	return &Joiner{
		emissions: map[joinKey][]*observer.Emission{},
		records:   map[joinKey][]*audit.Seccomp{},
		matched:   map[*observer.Emission]*audit.Seccomp{},
		loss:      LossContext{OffAtBoot: offAtBoot},
	}
}

// AddExcludeRules adds rules to those a refused record is attributed to;
// a rule already known is not repeated.
func (j *Joiner) AddExcludeRules(rules []string) {
	for _, r := range rules {
		if !slices.Contains(j.loss.ExcludeRules, r) {
			j.loss.ExcludeRules = append(j.loss.ExcludeRules, r)
		}
	}
}

// AddEmissions takes the emissions of a judged pair. An emission whose
// record the kernel dropped (LossReason) never claims a record: the join
// is by order, so a lost emission that took the next record of its key
// would leave the emission that really produced it "undelivered".
func (j *Joiner) AddEmissions(p *Judged) {
	if LossReason(p.Drops, j.loss) != "" {
		return
	}
	for _, e := range p.Emissions {
		k := joinKey{e.Tgid, e.Syscall, e.Code}
		if rs := j.records[k]; len(rs) > 0 {
			j.matched[e], j.records[k] = rs[0], rs[1:]
			continue
		}
		j.emissions[k] = append(j.emissions[k], e)
	}
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

// Delivery reports the fate of e; followed says the stream has been read
// to a barrier, so a record not matched by now never came.
func (j *Joiner) Delivery(e *observer.Emission, followed bool, drops []*observer.AuditDrop) Delivery {
	if r := j.matched[e]; r != nil {
		return Delivery{State: Delivered, Record: r}
	}
	if why := LossReason(drops, j.loss); why != "" {
		return Delivery{State: Lost, Reason: why}
	}
	if !followed {
		return Delivery{State: DeliveryUnknown}
	}
	return Delivery{State: Undelivered}
}

// Settled reports whether every record p waits for has come or been lost.
func (j *Joiner) Settled(p *Judged) bool {
	for _, e := range p.Emissions {
		if j.Delivery(e, false, p.Drops).State == DeliveryUnknown {
			return false
		}
	}
	return true
}

// Resolve fills in p's Deliveries. A record the kernel decided to write
// that did not arrive makes the verdict inconclusive: a loss is never a
// pass. A violation stays one.
func (j *Joiner) Resolve(p *Judged, followed bool) {
	p.Deliveries = make([]Delivery, len(p.Emissions))
	for i, e := range p.Emissions {
		d := j.Delivery(e, followed, p.Drops)
		p.Deliveries[i] = d
		if (d.State == Undelivered || d.State == Lost) && p.Verdict != Inconclusive && !p.Verdict.Violation() {
			p.Verdict, p.Reason = Inconclusive, "record decided but not delivered: "+d.String()
		}
	}
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
