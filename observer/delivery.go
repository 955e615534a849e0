// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"os"
	"slices"
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
// drop records seen inside the decision (kernel-semantics §6).
func LossReason(drops []*AuditDrop) string {
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
	if auditOffAtBoot() {
		return "audit disabled at boot (audit=0): audit_log_start refuses every record"
	}
	return "excluded: audit_log_start refused the record without counting it lost (an exclude rule such as msgtype=SECCOMP)"
}

var auditOffAtBoot = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/cmdline")
	return err == nil && slices.Contains(strings.Fields(string(b)), "audit=0")
})

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
}

// NewJoiner returns an empty Joiner.
func NewJoiner() *Joiner {
	return &Joiner{
		emissions: map[joinKey][]*Emission{},
		records:   map[joinKey][]*audit.Seccomp{},
		matched:   map[*Emission]*audit.Seccomp{},
	}
}

// AddEmission takes an audit_seccomp emission.
func (j *Joiner) AddEmission(e *Emission) {
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
	if why := LossReason(drops); why != "" {
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
