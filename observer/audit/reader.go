// SPDX-License-Identifier: Apache-2.0

package audit

// The reader is written on golang.org/x/sys/unix rather than
// github.com/elastic/go-libaudit/v2 (as of v2.6.2): that library's
// NetlinkClient sets no socket receive buffer and keeps its fd unexported
// (so no SO_RCVBUFFORCE, no SO_MEMINFO drop counter), and its Receive
// blocks in recvfrom or polls with MSG_DONTWAIT, with no deadline or
// context. Counting every receive-buffer overrun exactly is the point of
// this reader, so it owns the socket. (go-libaudit's parser does cope
// with unpadded audit messages: it takes a datagram as one message.)

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GroupReadLog is AUDIT_NLGRP_READLOG, the multicast group every audit
// record is sent to (docs/kernel-semantics.md §6.6).
const GroupReadLog = 1

// DefaultRcvBuf is the receive buffer a Reader asks for when
// ReaderOptions.RcvBuf is 0.
const DefaultRcvBuf = 16 << 20

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("audit reader closed")

// ReaderOptions configure NewReader.
type ReaderOptions struct {
	// RcvBuf is the socket receive buffer to ask for, in bytes; 0 means
	// DefaultRcvBuf. SO_RCVBUFFORCE (CAP_NET_ADMIN) is tried first, then
	// SO_RCVBUF, which net.core.rmem_max caps. The kernel doubles the value
	// and enforces a minimum of about 2.3 KiB, so a tiny value gives a
	// buffer that overruns at once (tests).
	RcvBuf int
}

// Event is what Read returns: a record, or an overrun.
type Event struct {
	// Received is when Read took the event off the socket (local clock).
	Received time.Time

	// Overrun is true when the kernel dropped records for this socket
	// because its receive buffer was full (recvmsg returned ENOBUFS,
	// docs/kernel-semantics.md §6.7). The kernel does not count these drops in
	// audit_lost, and how many were dropped is not known from the error:
	// every record between Prev and the next record read may be missing.
	Overrun bool
	// Overruns is the Reader's overrun count including this one.
	Overruns uint64
	// Prev is the stamp of the last record read before the overrun
	// (zero if none).
	Prev Stamp

	// Record is the record (when !Overrun). When Err is set it holds what
	// parsed (at least Type and Raw); records are never dropped for
	// being malformed.
	Record Record
	// Err is the ParseRecord error, if any.
	Err error
}

// Reader receives audit records from the NETLINK_AUDIT multicast group
// AUDIT_NLGRP_READLOG. It needs CAP_AUDIT_READ and a socket in the initial
// network namespace (the kernel multicasts to init_net only; in another
// namespace NewReader succeeds but nothing arrives). Every record the
// kernel's kauditd thread takes off its queue is multicast, whether or not
// auditd runs and whether or not audit is enabled.
//
// Read must not be called concurrently; Close, Overruns, Drops and RcvBuf
// may be called at any time.
type Reader struct {
	f        *os.File
	rc       syscall.RawConn
	buf      []byte
	pending  []Event
	prev     Stamp
	rcvBuf   int
	overruns atomic.Uint64
	closed   atomic.Bool

	mu  sync.Mutex // guards gen against a late context.AfterFunc
	gen uint64
}

// NewReader opens a NETLINK_AUDIT socket, sets its receive buffer and
// joins AUDIT_NLGRP_READLOG. Without CAP_AUDIT_READ it fails with an error
// wrapping unix.EPERM.
func NewReader(opts ReaderOptions) (*Reader, error) {
	return newReader(opts, 1<<(GroupReadLog-1))
}

// newReader binds to groups (a bitmask); tests bind to none.
func newReader(opts ReaderOptions, groups uint32) (*Reader, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, fmt.Errorf("opening audit netlink socket: %w", err)
	}
	size := opts.RcvBuf
	if size <= 0 {
		size = DefaultRcvBuf
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("setting audit socket receive buffer to %d: %w", size, err)
		}
	}
	got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("reading audit socket receive buffer: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("joining the audit multicast group (needs CAP_AUDIT_READ): %w", err)
		}
		return nil, fmt.Errorf("joining the audit multicast group: %w", err)
	}
	// A non-blocking fd gives a File the runtime poller serves: deadlines
	// work, and Close wakes a blocked Read.
	f := os.NewFile(uintptr(fd), "audit-netlink")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	// The kernel caps a record at MAX_AUDIT_MESSAGE_LENGTH (8970 bytes);
	// 64 KiB also holds several messages should a datagram carry more.
	return &Reader{f: f, rc: rc, buf: make([]byte, 64<<10), rcvBuf: got}, nil
}

// RcvBuf returns the receive buffer size the kernel granted (SO_RCVBUF,
// already doubled by the kernel).
func (r *Reader) RcvBuf() int { return r.rcvBuf }

// Overruns returns how many ENOBUFS errors Read has seen.
func (r *Reader) Overruns() uint64 { return r.overruns.Load() }

// Drops returns the socket's drop counter (sk_drops, SO_MEMINFO; the
// Drops column of /proc/net/netlink): the number of records the kernel
// could not queue to this socket. Unlike Overruns it counts records, not
// errors.
func (r *Reader) Drops() (uint32, error) {
	var mem [unix.SK_MEMINFO_VARS]uint32
	var serr error
	err := r.rc.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(mem))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&mem)), uintptr(unsafe.Pointer(&l)), 0)
		switch {
		case e != 0:
			serr = e
		case l <= unix.SK_MEMINFO_DROPS*4:
			serr = errors.New("kernel's SO_MEMINFO has no drop counter")
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		if r.closed.Load() {
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("reading audit socket drops (SO_MEMINFO): %w", err)
	}
	return mem[unix.SK_MEMINFO_DROPS], nil
}

// Close closes the socket; a Read blocked in another goroutine returns
// ErrClosed.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.f.Close()
}

// Read returns the next event. It blocks until one arrives, ctx is done
// (it returns ctx.Err()) or the Reader is closed (ErrClosed). Socket
// errors other than ENOBUFS are returned as errors; ENOBUFS is an Event
// with Overrun set.
func (r *Reader) Read(ctx context.Context) (Event, error) {
	for len(r.pending) == 0 {
		if err := r.receive(ctx); err != nil {
			return Event{}, err
		}
	}
	ev := r.pending[0]
	r.pending = r.pending[1:]
	return ev, nil
}

// receive does one recvmsg and queues what it got (possibly nothing).
func (r *Reader) receive(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	gen := r.gen
	dl, _ := ctx.Deadline() // zero: none
	err := r.f.SetReadDeadline(dl)
	r.mu.Unlock()
	if err != nil {
		return r.sockErr(err)
	}
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.gen == gen { // this Read is still the one waiting
			r.f.SetReadDeadline(time.Unix(1, 0))
		}
	})

	var (
		n, flags int
		from     unix.Sockaddr
		rerr     error
	)
	err = r.rc.Read(func(fd uintptr) bool {
		for {
			n, _, flags, from, rerr = unix.Recvmsg(int(fd), r.buf, nil, 0)
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN
			}
		}
	})
	stop()
	r.mu.Lock()
	r.gen++
	r.mu.Unlock()
	now := time.Now()

	switch {
	case err != nil:
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return context.DeadlineExceeded
		}
		return r.sockErr(err)
	case rerr == unix.ENOBUFS:
		c := r.overruns.Add(1)
		r.pending = append(r.pending, Event{Received: now, Overrun: true, Overruns: c, Prev: r.prev})
		return nil
	case rerr != nil:
		return r.sockErr(rerr)
	}
	if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
		return nil // not from the kernel
	}
	if flags&unix.MSG_TRUNC != 0 {
		return fmt.Errorf("reading audit netlink socket: datagram truncated to %d bytes", n)
	}
	for m, err := range netlinkMessages(r.buf[:n]) {
		if err != nil {
			return fmt.Errorf("reading audit netlink socket: %w", err)
		}
		if m.Type < auditGet {
			continue // netlink control messages (NLMSG_*), not records
		}
		rec, perr := ParseRecord(m.Type, m.Body)
		if rec.Stamp != (Stamp{}) {
			r.prev = rec.Stamp
		}
		r.pending = append(r.pending, Event{Received: now, Record: rec, Err: perr})
	}
	return nil
}

func (r *Reader) sockErr(err error) error {
	if r.closed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("reading audit netlink socket: %w", err)
}
