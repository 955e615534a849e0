// SPDX-License-Identifier: Apache-2.0

// Package audit talks to the kernel's audit subsystem over NETLINK_AUDIT.
package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

const auditGet = 1000 // AUDIT_GET

// Status is struct audit_status as AUDIT_GET returns it (kernel-semantics §6).
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
// audit_log_start waiting on a full backlog (kernel-semantics §6, step 3).
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
	if _, code, err := request(auditSet, payload, 0); err != nil {
		return fmt.Errorf("AUDIT_SET mask %#x: %w", mask, err)
	} else if code < 0 {
		return fmt.Errorf("AUDIT_SET mask %#x: %w", mask, unix.Errno(-code))
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
// its old value (auditctl --reset-lost; kernel-semantics §6).
func ResetLost() (uint32, error) {
	st := Status{Mask: StatusLost}
	payload := unsafe.Slice((*byte)(unsafe.Pointer(&st)), unsafe.Sizeof(st))
	_, code, err := request(auditSet, payload, 0)
	if err != nil {
		return 0, fmt.Errorf("AUDIT_SET reset lost: %w", err)
	}
	if code < 0 {
		return 0, fmt.Errorf("AUDIT_SET reset lost: %w", unix.Errno(-code))
	}
	// The kernel returns the old counter as the (positive) ack code.
	return uint32(code), nil
}

const auditSet = 1001 // AUDIT_SET

// dial opens and binds a NETLINK_AUDIT socket and sends one message of
// type typ with flags; the caller closes the socket.
func dial(typ uint16, flags uint16, seq uint32, payload []byte) (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return -1, fmt.Errorf("opening audit netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("binding audit netlink socket: %w", err)
	}
	req := make([]byte, unix.NLMSG_HDRLEN+len(payload))
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], flags)
	binary.NativeEndian.PutUint32(req[8:], seq)
	copy(req[unix.NLMSG_HDRLEN:], payload)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("sending: %w", err)
	}
	return fd, nil
}

func errnoOf(code int32) error { return unix.Errno(-code) }

// requestDump sends a request of type typ and collects the bodies of the
// replies of the same type until NLMSG_DONE (AUDIT_LIST_RULES sends one
// message per rule, then DONE, from a kernel thread).
func requestDump(typ uint16) ([][]byte, error) {
	const seq = 1
	fd, err := dial(typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq, nil)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("receiving the reply: %w", err)
		}
		bodies, done, err := parseDump(buf[:n], typ, seq)
		if err != nil {
			return nil, fmt.Errorf("receiving the reply: %w", err)
		}
		out = append(out, bodies...)
		if done {
			return out, nil
		}
	}
}

// request sends one message of type typ on a fresh NETLINK_AUDIT socket
// with NLM_F_ACK. With want != 0 it returns the body of the first reply of
// type want (an error ack fails); otherwise it returns the ack's code,
// which AUDIT_SET of the lost counter uses to carry a positive value.
func request(typ uint16, payload []byte, want uint16) ([]byte, int32, error) {
	const seq = 1
	fd, err := dial(typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq, payload)
	if err != nil {
		return nil, 0, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, 0, fmt.Errorf("receiving the reply: %w", err)
		}
		// The kernel does not always pad audit messages to NLMSG_ALIGNTO, so walk headers by hand.
		for off := 0; off+unix.NLMSG_HDRLEN <= n; {
			l := int(binary.NativeEndian.Uint32(buf[off:]))
			mtyp := binary.NativeEndian.Uint16(buf[off+4:])
			mseq := binary.NativeEndian.Uint32(buf[off+8:])
			if l < unix.NLMSG_HDRLEN || off+l > n {
				return nil, 0, errors.New("receiving the reply: malformed netlink message")
			}
			body := buf[off+unix.NLMSG_HDRLEN : off+l]
			off += (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
			if mseq != seq {
				continue
			}
			switch {
			case mtyp == unix.NLMSG_ERROR:
				if len(body) < 4 {
					return nil, 0, errors.New("receiving the reply: short ack")
				}
				code := int32(binary.NativeEndian.Uint32(body))
				if want == 0 {
					return nil, code, nil
				}
				if code < 0 {
					return nil, code, unix.Errno(-code)
				}
				// The ack can come before the reply: some kernels send
				// AUDIT_GET's reply from a separate thread.
			case want != 0 && mtyp == want:
				return body, 0, nil
			}
		}
	}
}
