// SPDX-License-Identifier: Apache-2.0

// Package audit talks to the kernel's audit subsystem over NETLINK_AUDIT.
package audit

import (
	"fmt"
	"unsafe"
)

// Netlink message types of include/uapi/linux/audit.h.
const (
	auditGet = 1000 // AUDIT_GET; audit's types start here, below are netlink's
	auditSet = 1001 // AUDIT_SET
)

// Status is struct audit_status as AUDIT_GET returns it (docs/kernel-semantics.md §6).
type Status struct {
	Mask                  uint32
	Enabled               uint32
	Failure               uint32
	Pid                   uint32
	RateLimit             uint32
	BacklogLimit          uint32
	Lost                  uint32
	Backlog               uint32
	FeatureBitmap         uint32
	BacklogWaitTime       uint32
	BacklogWaitTimeActual uint32
}

// AUDIT_SET mask bits (AUDIT_STATUS_*): which fields of a Status SetStatus
// changes.
const (
	StatusEnabled               uint32 = 0x01
	StatusFailure               uint32 = 0x02
	StatusPid                   uint32 = 0x04
	StatusRateLimit             uint32 = 0x08
	StatusBacklogLimit          uint32 = 0x10
	StatusBacklogWaitTime       uint32 = 0x20
	StatusLost                  uint32 = 0x40
	StatusBacklogWaitTimeActual uint32 = 0x80
)

// GetStatus asks the kernel for the audit status. It needs CAP_AUDIT_CONTROL
// and the initial pid namespace.
func GetStatus() (Status, error) {
	r, err := GetStatusReply()
	return r.Status, err
}

// StatusReply is an AUDIT_GET answer with the size of the kernel's
// struct audit_status, which grew over time.
type StatusReply struct {
	Status
	// Len is how many bytes the kernel sent: 40 before 5.9, 44 from 5.9
	// (backlog_wait_time_actual). Fields past Len read as zero.
	Len int
}

// statusLenWaitTimeActual is sizeof(struct audit_status) from 5.9 on.
const statusLenWaitTimeActual = 44

// HasWaitTimeActual reports whether the kernel sent
// backlog_wait_time_actual: the total time, in jiffies, tasks slept in
// audit_log_start waiting on a full backlog (docs/kernel-semantics.md §6, step 3).
func (r StatusReply) HasWaitTimeActual() bool { return r.Len >= statusLenWaitTimeActual }

// GetStatusReply is GetStatus that also says how much the kernel sent.
func GetStatusReply() (StatusReply, error) {
	var r StatusReply
	reply, _, err := request(auditGet, nil, auditGet)
	if err != nil {
		return r, fmt.Errorf("AUDIT_GET: %w", err)
	}
	r.Len = copy(unsafe.Slice((*byte)(unsafe.Pointer(&r.Status)), unsafe.Sizeof(r.Status)), reply)
	return r, nil
}

// SetStatus sends AUDIT_SET: the fields of st that mask names
// (Status* bits) are set. Needs CAP_AUDIT_CONTROL and the initial pid
// namespace. Each change makes the kernel emit a CONFIG_CHANGE record
// (when audit is enabled). To reset the lost counter use ResetLost.
func SetStatus(mask uint32, st Status) error {
	st.Mask = mask
	payload := unsafe.Slice((*byte)(unsafe.Pointer(&st)), unsafe.Sizeof(st))
	if _, _, err := request(auditSet, payload, 0); err != nil {
		return fmt.Errorf("AUDIT_SET mask %#x: %w", mask, err)
	}
	return nil
}

// SetEnabled sets audit_enabled to 1 or 0 (auditctl -e). It fails with
// EPERM when the configuration is locked (enabled=2).
func SetEnabled(on bool) error {
	var st Status
	if on {
		st.Enabled = 1
	}
	return SetStatus(StatusEnabled, st)
}

// SetBacklogLimit sets audit_backlog_limit (auditctl -b): above this many
// queued records audit_log_start waits, then drops (0: no limit).
func SetBacklogLimit(n uint32) error {
	return SetStatus(StatusBacklogLimit, Status{BacklogLimit: n})
}

// SetBacklogWaitTime sets audit_backlog_wait_time in jiffies (auditctl
// --backlog_wait_time): how long a task waits on a full backlog before its
// record is lost; 0 drops at once. The kernel takes at most 10*60*HZ.
func SetBacklogWaitTime(jiffies uint32) error {
	return SetStatus(StatusBacklogWaitTime, Status{BacklogWaitTime: jiffies})
}

// ResetLost atomically zeroes the kernel's audit_lost counter and returns
// its old value (auditctl --reset-lost; docs/kernel-semantics.md §6).
func ResetLost() (uint32, error) {
	st := Status{Mask: StatusLost}
	payload := unsafe.Slice((*byte)(unsafe.Pointer(&st)), unsafe.Sizeof(st))
	_, code, err := request(auditSet, payload, 0)
	if err != nil {
		return 0, fmt.Errorf("AUDIT_SET reset lost: %w", err)
	}
	// The kernel returns the old counter as the (positive) ack code.
	return uint32(code), nil
}
