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
	var st Status
	reply, _, err := request(auditGet, nil, auditGet)
	if err != nil {
		return st, fmt.Errorf("AUDIT_GET: %w", err)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&st)), unsafe.Sizeof(st)), reply)
	return st, nil
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

// request sends one message of type typ on a fresh NETLINK_AUDIT socket
// with NLM_F_ACK. With want != 0 it returns the body of the first reply of
// type want (an error ack fails); otherwise it returns the ack's code,
// which AUDIT_SET of the lost counter uses to carry a positive value.
func request(typ uint16, payload []byte, want uint16) ([]byte, int32, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, 0, fmt.Errorf("opening audit netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, 0, fmt.Errorf("binding audit netlink socket: %w", err)
	}
	const seq = 1
	req := make([]byte, unix.NLMSG_HDRLEN+len(payload))
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(req[8:], seq)
	copy(req[unix.NLMSG_HDRLEN:], payload)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, 0, fmt.Errorf("sending: %w", err)
	}
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
