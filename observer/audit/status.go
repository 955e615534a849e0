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

// GetStatus asks the kernel for the audit status. It needs CAP_AUDIT_CONTROL
// and the initial pid namespace.
func GetStatus() (Status, error) {
	var st Status
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return st, fmt.Errorf("opening audit netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return st, fmt.Errorf("binding audit netlink socket: %w", err)
	}
	req := make([]byte, unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], auditGet)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(req[8:], 1)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return st, fmt.Errorf("sending AUDIT_GET: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return st, fmt.Errorf("receiving AUDIT_GET reply: %w", err)
		}
		// The kernel does not always pad audit messages to NLMSG_ALIGNTO, so walk headers by hand.
		for off := 0; off+unix.NLMSG_HDRLEN <= n; {
			l := int(binary.NativeEndian.Uint32(buf[off:]))
			typ := binary.NativeEndian.Uint16(buf[off+4:])
			if l < unix.NLMSG_HDRLEN || off+l > n {
				return st, errors.New("receiving AUDIT_GET reply: malformed netlink message")
			}
			body := buf[off+unix.NLMSG_HDRLEN : off+l]
			switch typ {
			case unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(body)); code != 0 {
						return st, fmt.Errorf("AUDIT_GET: %w", unix.Errno(-code))
					}
				}
			case auditGet:
				size := int(unsafe.Sizeof(st))
				copy(unsafe.Slice((*byte)(unsafe.Pointer(&st)), size), body)
				return st, nil
			}
			off += (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		}
	}
}
