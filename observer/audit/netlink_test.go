// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// nlmsg builds one netlink message by hand, independently of
// appendNetlinkMessage; pad rounds its length up as the kernel does for
// most (not all) audit messages.
func nlmsg(typ uint16, seq uint32, body []byte, pad bool) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body)+3)
	binary.NativeEndian.PutUint32(b[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	b = append(b, body...)
	for pad && len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// nlerr is the body of an NLMSG_ERROR: struct nlmsgerr's error, then the
// header of the request it answers.
func nlerr(code int32) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(code))
	return append(b, make([]byte, unix.NLMSG_HDRLEN)...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

const typeSyscall = 1300 // AUDIT_SYSCALL

func TestNetlinkMessages(t *testing.T) {
	rec := []byte("audit(1.000:1): arch=c000003e syscall=39") // 41 bytes: unaligned
	type msg struct {
		typ   uint16
		seq   uint32
		body  string
		code  int32
		errno unix.Errno // 0: m.Err nil
	}
	for _, tc := range []struct {
		name      string
		dgram     []byte
		want      []msg
		malformed bool // the walk ends with an errMalformedNetlink error
	}{
		{name: "empty datagram", dgram: nil},
		{name: "one record, unpadded as multicast sends it",
			dgram: nlmsg(typeSyscall, 0, rec, false),
			want:  []msg{{typ: typeSyscall, body: string(rec)}}},
		{name: "one record, padded",
			dgram: nlmsg(typeSyscall, 0, rec, true),
			want:  []msg{{typ: typeSyscall, body: string(rec)}}},
		{name: "several messages, the last unpadded",
			dgram: cat(nlmsg(typeSyscall, 1, rec, true), nlmsg(auditGet, 2, make([]byte, 44), false), nlmsg(TypeSeccomp, 3, rec, false)),
			want:  []msg{{typ: typeSyscall, seq: 1, body: string(rec)}, {typ: auditGet, seq: 2, body: string(make([]byte, 44))}, {typ: TypeSeccomp, seq: 3, body: string(rec)}}},
		{name: "empty body",
			dgram: nlmsg(typeSyscall, 1, nil, false),
			want:  []msg{{typ: typeSyscall, seq: 1}}},
		{name: "NLMSG_NOOP skipped",
			dgram: cat(nlmsg(unix.NLMSG_NOOP, 1, nil, true), nlmsg(typeSyscall, 2, rec, false)),
			want:  []msg{{typ: typeSyscall, seq: 2, body: string(rec)}}},
		{name: "ack: NLMSG_ERROR with errno 0",
			dgram: nlmsg(unix.NLMSG_ERROR, 1, nlerr(0), true),
			want:  []msg{{typ: unix.NLMSG_ERROR, seq: 1, body: string(nlerr(0))}}},
		{name: "NLMSG_ERROR with -EPERM",
			dgram: nlmsg(unix.NLMSG_ERROR, 1, nlerr(-int32(unix.EPERM)), true),
			want:  []msg{{typ: unix.NLMSG_ERROR, seq: 1, body: string(nlerr(-int32(unix.EPERM))), code: -int32(unix.EPERM), errno: unix.EPERM}}},
		{name: "NLMSG_ERROR with a positive code (old lost counter)",
			dgram: nlmsg(unix.NLMSG_ERROR, 1, nlerr(7), true),
			want:  []msg{{typ: unix.NLMSG_ERROR, seq: 1, body: string(nlerr(7)), code: 7}}},
		{name: "NLMSG_ERROR too short for its code",
			dgram:     nlmsg(unix.NLMSG_ERROR, 1, []byte{0, 0}, true),
			malformed: true},
		{name: "NLMSG_DONE empty, as audit sends it",
			dgram: cat(nlmsg(auditListRules, 1, rec, true), nlmsg(unix.NLMSG_DONE, 1, nil, false)),
			want:  []msg{{typ: auditListRules, seq: 1, body: string(rec)}, {typ: unix.NLMSG_DONE, seq: 1}}},
		{name: "NLMSG_DONE with a dump error",
			dgram: nlmsg(unix.NLMSG_DONE, 1, nlerr(-int32(unix.EINTR))[:4], false),
			want:  []msg{{typ: unix.NLMSG_DONE, seq: 1, body: string(nlerr(-int32(unix.EINTR))[:4]), code: -int32(unix.EINTR), errno: unix.EINTR}}},
		{name: "truncated header",
			dgram:     nlmsg(typeSyscall, 1, rec, true)[:unix.NLMSG_HDRLEN-1],
			malformed: true},
		{name: "truncated header after a message",
			dgram:     cat(nlmsg(typeSyscall, 1, rec, true), nlmsg(typeSyscall, 2, rec, true)[:8]),
			want:      []msg{{typ: typeSyscall, seq: 1, body: string(rec)}},
			malformed: true},
		{name: "less than a length field after a message",
			dgram:     cat(nlmsg(typeSyscall, 1, rec, true), []byte{1, 2}),
			want:      []msg{{typ: typeSyscall, seq: 1, body: string(rec)}},
			malformed: true},
		{name: "length beyond the datagram (truncated body)",
			dgram:     nlmsg(typeSyscall, 1, rec, false)[:unix.NLMSG_HDRLEN+10],
			malformed: true},
		{name: "length beyond the datagram after a message",
			dgram:     cat(nlmsg(typeSyscall, 1, rec, true), nlmsg(typeSyscall, 2, rec, false)[:30]),
			want:      []msg{{typ: typeSyscall, seq: 1, body: string(rec)}},
			malformed: true},
		{name: "length below the header size",
			dgram:     cat(nlmsg(typeSyscall, 1, rec, true), make([]byte, unix.NLMSG_HDRLEN)), // nlmsg_len 0 would loop forever
			want:      []msg{{typ: typeSyscall, seq: 1, body: string(rec)}},
			malformed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []msg
			var werr error
			for m, err := range netlinkMessages(tc.dgram) {
				if werr != nil {
					t.Fatalf("yielded %+v, %v after the error %v", m, err, werr)
				}
				if err != nil {
					werr = err
					continue
				}
				g := msg{typ: m.Type, seq: m.Seq, body: string(m.Body), code: m.Code}
				if m.Err != nil {
					if !errors.As(m.Err, &g.errno) || g.errno == 0 {
						t.Errorf("Err %v (%T) is not a unix.Errno", m.Err, m.Err)
					}
				}
				got = append(got, g)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("messages:\n got %+v\nwant %+v", got, tc.want)
			}
			if tc.malformed != errors.Is(werr, errMalformedNetlink) {
				t.Errorf("error %v, want malformed %v", werr, tc.malformed)
			}
		})
	}
}

func TestNetlinkMessagesStopsAndCaps(t *testing.T) {
	dgram := cat(nlmsg(typeSyscall, 1, []byte("ab"), true), nlmsg(typeSyscall, 2, []byte("cd"), true))
	n := 0
	for m := range netlinkMessages(dgram) {
		n++
		if cap(m.Body) != len(m.Body) {
			t.Errorf("body of %d bytes has capacity %d: an append would overwrite the next message", len(m.Body), cap(m.Body))
		}
		break
	}
	if n != 1 {
		t.Errorf("%d messages after break", n)
	}
}

func TestAppendNetlinkMessage(t *testing.T) {
	b := appendNetlinkMessage(nil, auditSet, unix.NLM_F_REQUEST|unix.NLM_F_ACK, 9, []byte("xyz"))
	if want := nlmsg(auditSet, 9, []byte("xyz"), false); len(b) != len(want) ||
		!bytes.Equal(b[:4], want[:4]) || !bytes.Equal(b[8:], want[8:]) ||
		binary.NativeEndian.Uint16(b[4:]) != auditSet || binary.NativeEndian.Uint16(b[6:]) != unix.NLM_F_REQUEST|unix.NLM_F_ACK {
		t.Errorf("appendNetlinkMessage = % x", b)
	}
}

func TestParseReply(t *testing.T) {
	status := make([]byte, 44)
	status[4] = 1
	for _, tc := range []struct {
		name  string
		dgram []byte
		want  uint16
		body  []byte
		code  int32
		done  bool
		errno unix.Errno
	}{
		{"ack", nlmsg(unix.NLMSG_ERROR, 1, nlerr(0), true), 0, nil, 0, true, 0},
		{"lost counter in the ack", nlmsg(unix.NLMSG_ERROR, 1, nlerr(42), true), 0, nil, 42, true, 0},
		{"error ack", nlmsg(unix.NLMSG_ERROR, 1, nlerr(-int32(unix.EPERM)), true), 0, nil, -int32(unix.EPERM), false, unix.EPERM},
		{"error ack when a reply is wanted", nlmsg(unix.NLMSG_ERROR, 1, nlerr(-int32(unix.EPERM)), true), auditGet, nil, -int32(unix.EPERM), false, unix.EPERM},
		{"another request's ack", nlmsg(unix.NLMSG_ERROR, 2, nlerr(-int32(unix.EPERM)), true), 0, nil, 0, false, 0},
		{"ack before the reply, same datagram", cat(nlmsg(unix.NLMSG_ERROR, 1, nlerr(0), true), nlmsg(auditGet, 1, status, true)), auditGet, status, 0, true, 0},
		{"ack alone when a reply is wanted", nlmsg(unix.NLMSG_ERROR, 1, nlerr(0), true), auditGet, nil, 0, false, 0},
		{"reply", nlmsg(auditGet, 1, status[:40], false), auditGet, status[:40], 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, code, done, err := parseReply(tc.dgram, 1, tc.want)
			if !bytes.Equal(body, tc.body) || code != tc.code || done != tc.done {
				t.Errorf("parseReply = % x, %d, done %v; want % x, %d, done %v", body, code, done, tc.body, tc.code, tc.done)
			}
			if tc.errno != 0 && !errors.Is(err, tc.errno) || tc.errno == 0 && err != nil {
				t.Errorf("error %v, want errno %v", err, tc.errno)
			}
		})
	}
	if _, _, _, err := parseReply(nlmsg(auditGet, 1, status, false)[:20], 1, auditGet); !errors.Is(err, errMalformedNetlink) {
		t.Errorf("truncated reply: %v", err)
	}
}
func TestParseDump(t *testing.T) {
	r1 := ExcludeMsgTypeRule(TypeSeccomp).Encode()
	r2 := fixture{list: 5, fields: [][3]uint32{{112, 5, 0x40000000}}, buf: "/a/bc", buflen: -1, fieldCount: -1}.bytes() // 1045 bytes: unaligned
	var dgram []byte
	dgram = append(dgram, nlmsg(unix.NLMSG_ERROR, 1, nlerr(0), true)...) // NLM_F_ACK's zero ack
	dgram = append(dgram, nlmsg(auditListRules, 7, r1, true)...)         // another request's: ignored
	dgram = append(dgram, nlmsg(auditListRules, 1, r2, false)...)        // unpadded length, as audit sends
	dgram = append(dgram, make([]byte, 3)...)                            // the alignment the next header starts after
	dgram = append(dgram, nlmsg(auditListRules, 1, r1, true)...)
	bodies, done, err := parseDump(dgram, auditListRules, 1)
	if err != nil || done || len(bodies) != 2 || string(bodies[0]) != string(r2) || string(bodies[1]) != string(r1) {
		t.Fatalf("parseDump = %d bodies, done %v, %v", len(bodies), done, err)
	}
	clear(dgram)
	if string(bodies[0]) != string(r2) {
		t.Errorf("parseDump's bodies alias the datagram")
	}
	if bodies, done, err := parseDump(nlmsg(unix.NLMSG_DONE, 1, nil, false), auditListRules, 1); err != nil || !done || len(bodies) != 0 {
		t.Errorf("DONE: %d bodies, done %v, %v", len(bodies), done, err)
	}
	if _, _, err := parseDump(nlmsg(unix.NLMSG_ERROR, 1, nlerr(-int32(unix.EPERM)), true), auditListRules, 1); !errors.Is(err, unix.EPERM) {
		t.Errorf("error ack: %v, want EPERM", err)
	}
	bad := nlmsg(auditListRules, 1, r1, true)
	binary.NativeEndian.PutUint32(bad, uint32(len(bad)+4))
	if _, _, err := parseDump(bad, auditListRules, 1); !errors.Is(err, errMalformedNetlink) {
		t.Errorf("a length past the datagram: %v", err)
	}
}

// FuzzNetlinkMessages: any datagram walks without a panic, each message
// advances by at least a header, and nothing follows an error.
func FuzzNetlinkMessages(f *testing.F) {
	f.Add(nlmsg(typeSyscall, 0, []byte("audit(1.000:1): x=1"), false))
	f.Add(cat(nlmsg(unix.NLMSG_ERROR, 1, nlerr(-1), true), nlmsg(unix.NLMSG_DONE, 1, nil, false)))
	f.Add(nlmsg(unix.NLMSG_ERROR, 1, nil, false))
	f.Fuzz(func(t *testing.T, dgram []byte) {
		n, failed := 0, false
		for m, err := range netlinkMessages(dgram) {
			if failed {
				t.Fatalf("yielded after an error")
			}
			if err != nil {
				failed = true
				if !errors.Is(err, errMalformedNetlink) {
					t.Fatalf("error %v does not wrap errMalformedNetlink", err)
				}
				continue
			}
			n++
			if len(m.Body) > len(dgram)-unix.NLMSG_HDRLEN || n > len(dgram)/unix.NLMSG_HDRLEN {
				t.Fatalf("message %d with a %d-byte body from %d bytes", n, len(m.Body), len(dgram))
			}
		}
	})
}
