// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	"golang.org/x/sys/unix"
)

// errMalformedNetlink is wrapped by the errors netlinkMessages yields for
// a datagram that does not split into netlink messages.
var errMalformedNetlink = errors.New("malformed netlink message")

// netlinkMessage is one message of a NETLINK_AUDIT datagram.
type netlinkMessage struct {
	Type  uint16 // nlmsg_type: an audit type, or unix.NLMSG_ERROR / NLMSG_DONE
	Flags uint16
	Seq   uint32
	// Body is the payload after the header, nlmsg_len-NLMSG_HDRLEN bytes;
	// it aliases the datagram.
	Body []byte
	// Code is the int32 an NLMSG_ERROR starts with (struct nlmsgerr's
	// error), or an NLMSG_DONE's when it has one (audit's DONE is empty):
	// 0 for an ack, a negative errno, or a positive value some requests
	// return (AUDIT_SET of the lost counter: the old counter).
	Code int32
	// Err is unix.Errno(-Code) when Code is negative, else nil.
	Err error
}

// netlinkMessages iterates over the messages of the datagram b. It
// follows nlmsg_len rather than parsing with syscall.ParseNetlinkMessage,
// which fails on the kernel's audit records: their nlmsg_len is not a
// multiple of NLMSG_ALIGNTO and the datagram ends with the record, before
// the padding. A next message starts at the aligned offset.
//
// NLMSG_NOOP is skipped. An NLMSG_ERROR or NLMSG_DONE is yielded with
// Code and Err set; the caller decides (a multicast reader ignores them).
// The iteration yields an error wrapping errMalformedNetlink, once, and
// stops when the bytes left are fewer than a header, nlmsg_len is below
// the header size or runs past the datagram, or an NLMSG_ERROR is too
// short to hold its code.
func netlinkMessages(b []byte) iter.Seq2[netlinkMessage, error] {
	return func(yield func(netlinkMessage, error) bool) {
		for off := 0; off < len(b); {
			at, rest := off, b[off:]
			if len(rest) < unix.NLMSG_HDRLEN {
				yield(netlinkMessage{}, fmt.Errorf("%w: %d bytes left at offset %d of a %d-byte datagram, fewer than a header",
					errMalformedNetlink, len(rest), at, len(b)))
				return
			}
			// struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32.
			l := binary.NativeEndian.Uint32(rest)
			if l < unix.NLMSG_HDRLEN || uint64(l) > uint64(len(rest)) {
				yield(netlinkMessage{}, fmt.Errorf("%w: length %d at offset %d of a %d-byte datagram",
					errMalformedNetlink, l, at, len(b)))
				return
			}
			m := netlinkMessage{
				Type:  binary.NativeEndian.Uint16(rest[4:]),
				Flags: binary.NativeEndian.Uint16(rest[6:]),
				Seq:   binary.NativeEndian.Uint32(rest[8:]),
				Body:  rest[unix.NLMSG_HDRLEN:l:l], // capped: an append must not overwrite the next message
			}
			off += (int(l) + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
			switch m.Type {
			case unix.NLMSG_NOOP:
				continue
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				if len(m.Body) >= 4 {
					m.Code = int32(binary.NativeEndian.Uint32(m.Body))
				} else if m.Type == unix.NLMSG_ERROR {
					yield(netlinkMessage{}, fmt.Errorf("%w: NLMSG_ERROR with a %d-byte body at offset %d",
						errMalformedNetlink, len(m.Body), at))
					return
				}
				if m.Code < 0 {
					m.Err = unix.Errno(-int64(m.Code))
				}
			}
			if !yield(m, nil) {
				return
			}
		}
	}
}

// appendNetlinkMessage appends a netlink message (header and body,
// unpadded) to b.
func appendNetlinkMessage(b []byte, typ, flags uint16, seq uint32, body []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(unix.NLMSG_HDRLEN+len(body)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // pid: the kernel knows the sender's port from the socket
	return append(b, body...)
}

// requestSeq is the sequence number of every request: each goes on a
// fresh socket, so only its own replies arrive there.
const requestSeq = 1

// roundTrip sends one message of type typ with NLM_F_ACK on a fresh
// NETLINK_AUDIT socket and passes each datagram the kernel sends back to
// fn until fn reports done or fails. fn's errors are returned as they
// are. bufSize bounds a datagram; a longer one is an error.
func roundTrip(typ uint16, payload []byte, bufSize int, fn func(dgram []byte) (done bool, err error)) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return fmt.Errorf("opening audit netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("binding audit netlink socket: %w", err)
	}
	req := appendNetlinkMessage(nil, typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK, requestSeq, payload)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sending: %w", err)
	}
	buf := make([]byte, bufSize)
	for {
		n, _, flags, from, err := unix.Recvmsg(fd, buf, nil, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("receiving the reply: %w", err)
		case flags&unix.MSG_TRUNC != 0:
			return fmt.Errorf("receiving the reply: datagram longer than %d bytes", len(buf))
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		done, err := fn(buf[:n])
		if err != nil || done {
			return err
		}
	}
}

// request sends one message of type typ. With want != 0 it returns a copy
// of the body of the first reply of type want; otherwise it returns the
// ack's code, which AUDIT_SET of the lost counter uses to carry a positive
// value. An error ack is returned as its unix.Errno.
func request(typ uint16, payload []byte, want uint16) (body []byte, code int32, err error) {
	err = roundTrip(typ, payload, 8192, func(dgram []byte) (done bool, perr error) {
		body, code, done, perr = parseReply(dgram, requestSeq, want)
		return done, perr
	})
	return body, code, err
}

// parseReply walks one datagram of the reply to request seq for what
// request returns; done is false when the datagram does not hold it.
func parseReply(dgram []byte, seq uint32, want uint16) (body []byte, code int32, done bool, err error) {
	for m, err := range netlinkMessages(dgram) {
		switch {
		case err != nil:
			return nil, 0, false, err
		case m.Seq != seq:
		case m.Type == unix.NLMSG_ERROR && m.Err != nil:
			return nil, m.Code, false, m.Err
		case m.Type == unix.NLMSG_ERROR && want == 0:
			return nil, m.Code, true, nil
		case want != 0 && m.Type == want:
			return bytes.Clone(m.Body), 0, true, nil
		}
		// A zero ack can come before the reply: some kernels send
		// AUDIT_GET's reply from a separate thread.
	}
	return nil, 0, false, nil
}

// requestDump sends a request of type typ and collects the bodies of the
// replies of the same type until NLMSG_DONE (AUDIT_LIST_RULES sends one
// message per rule, then DONE, from a kernel thread).
func requestDump(typ uint16) ([][]byte, error) {
	var out [][]byte
	err := roundTrip(typ, nil, 1<<16, func(dgram []byte) (bool, error) {
		bodies, done, err := parseDump(dgram, typ, requestSeq)
		out = append(out, bodies...)
		return done, err
	})
	return out, err
}

// parseDump walks one datagram of a dump reply: copies of the bodies of
// messages of type typ with sequence seq, and whether NLMSG_DONE ended it.
// An error ack fails; a zero ack (NLM_F_ACK) is skipped.
func parseDump(dgram []byte, typ uint16, seq uint32) (bodies [][]byte, done bool, err error) {
	for m, err := range netlinkMessages(dgram) {
		switch {
		case err != nil:
			return nil, false, err
		case m.Seq != seq:
		case m.Err != nil:
			return nil, false, m.Err
		case m.Type == unix.NLMSG_DONE:
			return bodies, true, nil
		case m.Type == typ:
			bodies = append(bodies, bytes.Clone(m.Body))
		}
	}
	return bodies, false, nil
}
