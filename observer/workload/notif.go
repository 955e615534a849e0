// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// struct seccomp_notif and struct seccomp_notif_resp (include/uapi/linux/seccomp.h).
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  [64]byte
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// startSupervisor installs the USER_NOTIF filter on this (locked) thread and
// answers its notifications from another thread.
func startSupervisor(n NotifSpec) error {
	prog := FilterSpec{Rules: []Rule{{Nr: n.Nr, Action: 0x7fc00000}}}.Build()
	raw := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		raw[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	if n.Log {
		flags |= flagLog
	}
	fd, err := setFilter(raw, flags)
	if err != nil {
		return fmt.Errorf("installing USER_NOTIF filter: %w", err)
	}
	// Answer every notification, not just `expected`: a wait interrupted by a
	// signal (Go's preemption SIGURG) ends with -ERESTARTSYS and, under Go's
	// SA_RESTART handlers, the syscall is restarted, which notifies again
	// (docs/kernel-semantics.md §3).
	go func() {
		for {
			var req seccompNotif
			_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req)))
			if errno == unix.EINTR || errno == unix.ENOENT {
				continue
			}
			if errno != 0 {
				return
			}
			resp := seccompNotifResp{ID: req.ID}
			if n.Continue {
				resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
			} else {
				resp.Error = -int32(n.Errno)
			}
			unix.Syscall(unix.SYS_IOCTL, fd, unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
		}
	}()
	return nil
}
