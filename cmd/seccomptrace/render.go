// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// watch renders every decision it streams, so its lines are appended to a
// reused buffer straight from the judged pair: no pairJSON, no reflection,
// no allocation. They are byte for byte what encoding/json writes for
// toJSON(j) and what the column format below gives for it
// (TestRenderMatchesPairJSON holds them to that).

// textHeader heads watch's text columns.
var textHeader = fmt.Sprintf("%-15s %-7s %-7s %-16s %-18s %-14s %-6s %-3s %-6s %-15s %s",
	"TIME", "PID", "TID", "COMM", "SYSCALL", "ACTION", "FILTER", "LOG", "RESULT", "VERDICT", "EMITTED")

// pairTask is the task a pair's line shows: its decision's, else its last
// emission's, else its last seccomp_log call's.
func pairTask(p *judge.Pair) *observer.Task {
	switch {
	case p.Decision != nil:
		return &p.Decision.Task
	case len(p.Emissions) > 0:
		return &p.Emissions[len(p.Emissions)-1].Task
	case len(p.SeccompLogs) > 0:
		return &p.SeccompLogs[len(p.SeccompLogs)-1].Task
	}
	return &observer.Task{}
}

// appendSyscall appends the pair's syscall name; nr is its number. Without
// a decision the last emission's number names it, under no arch.
func appendSyscall(b []byte, p *judge.Pair) (_ []byte, nr int64) {
	switch {
	case p.Decision != nil:
		return sysnames.AppendName(b, p.Decision.Data.Arch, p.Decision.Syscall), int64(p.Decision.Syscall)
	case len(p.Emissions) > 0:
		e := p.Emissions[len(p.Emissions)-1]
		return sysnames.AppendName(b, 0, int32(e.Syscall)), e.Syscall
	}
	return b, 0
}

// appendArch appends sysnames.ArchName(arch).
func appendArch(b []byte, arch uint32) []byte {
	switch arch {
	case sysnames.ArchX8664, sysnames.ArchI386, sysnames.ArchAArch64, sysnames.ArchARM:
		return append(b, sysnames.ArchName(arch)...)
	}
	b = append(b, "0x"...)
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[arch>>shift&0xf])
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendHex appends v as %#x does; eight of them make each JSON line.
func appendHex(b []byte, v uint64) []byte {
	n := max((bits.Len64(v)+3)/4, 1)
	b = slices.Grow(append(b, '0', 'x'), n)
	b = b[:len(b)+n]
	for i := len(b) - 1; n > 0; i, n = i-1, n-1 {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return b
}

// appendUint appends v in decimal, as strconv.AppendUint(b, v, 10), in
// place, two digits a step.
func appendUint(b []byte, v uint64) []byte {
	// Digits: log10 from the bit length, corrected by one comparison.
	n := bits.Len64(v) * 1233 >> 12
	if n < len(pow10) && v >= pow10[n] {
		n++
	}
	n = max(n, 1)
	b = slices.Grow(b, n)
	b = b[:len(b)+n]
	i := len(b)
	for v >= 100 {
		q := v / 100
		r := v - q*100
		i -= 2
		b[i], b[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		v = q
	}
	if v >= 10 {
		b[i-2], b[i-1] = digitPairs[2*v], digitPairs[2*v+1]
	} else {
		b[i-1] = byte('0' + v)
	}
	return b
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// appendInt appends v in decimal, as appendInt(b, v).
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(b, '-'), uint64(-v))
	}
	return appendUint(b, uint64(v))
}

// stamps caches the part of a line's time stamp that changes once a
// second: a stream of decisions formats a date and a clock once a second.
type stamps struct {
	utc, local       []byte // "2006-01-02T15:04:05" in UTC, "15:04:05" local
	utcSec, localSec int64
}

// appendRFC3339Nano appends t.UTC().Format(time.RFC3339Nano).
func (s *stamps) appendRFC3339Nano(b []byte, t time.Time) []byte {
	if sec := t.Unix(); s.utc == nil || sec != s.utcSec {
		s.utc, s.utcSec = t.UTC().AppendFormat(s.utc[:0], "2006-01-02T15:04:05"), sec
	}
	b = append(b, s.utc...)
	if ns := t.Nanosecond(); ns != 0 {
		// .999999999: nine digits, trailing zeros dropped.
		n := 9
		for ; ns%10 == 0; ns /= 10 {
			n--
		}
		b = append(b, '.')
		b = appendFrac(b, ns, n)
	}
	return append(b, 'Z')
}

// appendClock appends t.Local().Format("15:04:05.000000").
func (s *stamps) appendClock(b []byte, t time.Time) []byte {
	if sec := t.Unix(); s.local == nil || sec != s.localSec {
		s.local, s.localSec = t.Local().AppendFormat(s.local[:0], "15:04:05"), sec
	}
	return appendFrac(append(append(b, s.local...), '.'), t.Nanosecond()/1000, 6)
}

// appendFrac appends v as n digits, zero-padded.
func appendFrac(b []byte, v, n int) []byte {
	b = slices.Grow(b, n)
	b = b[:len(b)+n]
	for i := len(b) - 1; n > 0; i, n = i-1, n-1 {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendDelivery appends judge.Delivery.String, its parts through add
// (appendRaw, or appendJSONBody inside a JSON string).
func appendDelivery(b []byte, d judge.Delivery, add func([]byte, string) []byte) []byte {
	if d.State == judge.Lost {
		return append(add(append(b, "lost("...), d.Reason), ')')
	}
	return add(b, string(d.State))
}

func appendRaw(b []byte, s string) []byte { return append(b, s...) }

// appendPairJSON appends j as a line of watch's JSON Lines: what
// json.Encoder writes for toJSON(j), newline included.
func appendPairJSON(b []byte, j *judge.Judged, st *lines) []byte {
	p := &j.Pair
	d := p.Decision
	task := pairTask(p)
	b = append(b, `{"v":1,"event":"decision","time":"`...)
	b = st.appendRFC3339Nano(b, task.Time)
	b = append(b, `","pid":`...)
	b = appendUint(b, uint64(task.Tgid))
	b = append(b, `,"tid":`...)
	b = appendUint(b, uint64(task.Tid))
	b = append(b, `,"comm":`...)
	b = appendJSONString(b, task.Comm)
	b = append(b, `,"uid":`...)
	b = appendUint(b, uint64(task.UID))
	b = append(b, `,"cgroup_id":`...)
	b = appendUint(b, task.CgroupID)
	b = append(b, st.cgroup(task.Cgroup).json...)
	b = append(b, st.proc(task.Proc).json...)
	if d != nil && d.Seq != 0 {
		b = appendUint(append(b, `,"seq":`...), d.Seq)
	}
	// Syscall names are JSON-safe: [a-z0-9_], "(x32)", "syscall_-1".
	b, nr := appendSyscall(append(b, `,"syscall":"`...), p)
	b = appendInt(append(b, `","nr":`...), nr)
	if d != nil {
		b = appendArch(append(b, `,"arch":"`...), d.Data.Arch)
		b = append(b, `","args":[`...)
		for i, a := range d.Data.Args {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendHex(append(b, '"'), a), '"')
		}
		b = append(appendHex(append(b, `],"ip":"`...), d.Data.IP), '"')
		match := d.Known && d.Match >= 0 && d.Match < len(d.Filters)
		if d.Known {
			b = policy.AppendActionName(append(b, `,"action":"`...), d.Ret)
			b = append(appendHex(append(b, `","ret":"`...), uint64(d.Ret)), '"')
		}
		if match {
			b = appendInt(append(b, `,"filter_index":`...), int64(d.Match))
		}
		if len(d.Filters) > 0 {
			b = appendInt(append(b, `,"filter_depth":`...), int64(len(d.Filters)))
		}
		if match {
			b = appendBool(append(b, `,"flag_log":`...), d.Filters[d.Match].Log)
		}
		b = appendBool(append(b, `,"skipped":`...), d.Skipped)
		if d.Recheck {
			b = append(b, `,"recheck":true`...)
		}
		if !d.Known && d.Unknown != "" {
			b = appendJSONString(append(b, `,"action_unknown":`...), d.Unknown)
		}
	} else {
		b = append(b, `,"no_decision":true`...)
	}
	b = append(b, `,"emissions":[`...)
	for i, e := range p.Emissions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEmissionJSON(b, e, policy.CodeName(e.Code))
		if i < len(j.Deliveries) {
			dl := j.Deliveries[i]
			if dl.State != "" {
				b = append(appendDelivery(append(b, `,"delivery":"`...), dl, appendJSONBody), '"')
			}
			if dl.Record != nil && dl.Record.Stamp.Serial != 0 {
				b = appendUint(append(b, `,"serial":`...), uint64(dl.Record.Stamp.Serial))
			}
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(p.SeccompLogs) > 0 {
		b = append(b, `,"seccomp_log":[`...)
		for i, e := range p.SeccompLogs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEmissionJSON(b, e, "")
			b = append(appendBool(append(b, `,"requested":`...), e.Requested), '}')
		}
		b = append(b, ']')
	}
	b = appendJSONString(append(b, `,"verdict":`...), string(j.Verdict))
	b = appendBool(append(b, `,"expected_log":`...), j.Expected)
	b = appendJSONString(append(b, `,"reason":`...), j.Reason)
	if j.Path != policy.PathFilter {
		b = appendJSONString(append(b, `,"path":`...), j.Path.String())
	}
	b = j.ActionsLogged.AppendAuditString(append(b, `,"actions_logged":"`...))
	b = appendJSONString(append(b, `","model":`...), j.Model.String())
	return append(b, "}\n"...)
}

// appendEmissionJSON appends an emission object up to its action, open;
// action is its name, "" for ActionName(e.Code) (seccomp_log calls).
func appendEmissionJSON(b []byte, e *observer.Emission, action string) []byte {
	b = appendInt(append(b, `{"syscall":`...), e.Syscall)
	b = appendInt(append(b, `,"signr":`...), e.Signr)
	b = appendHex(append(b, `,"code":"`...), uint64(e.Code))
	b = append(b, `","action":`...)
	if action == "" {
		// Action names are JSON-safe: letters, digits, _, ( ) and hex.
		return append(policy.AppendActionName(append(b, '"'), e.Code), '"')
	}
	return appendJSONString(b, action)
}

// appendJSONString appends s as a JSON string the way encoding/json's
// Encoder does by default (HTML-safe): s is untrusted (comm, reasons).
func appendJSONString(b []byte, s string) []byte {
	return append(appendJSONBody(append(b, '"'), s), '"')
}

// appendJSONBody appends s escaped for a JSON string, without the quotes:
// ", \ and control characters escaped (\b \f \n \r \t, else \u00XX), and
// <, >, &, U+2028 and U+2029 as \u escapes; invalid UTF-8 becomes \ufffd.
func appendJSONBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// jsonPlain marks the ASCII bytes a JSON string keeps as they are.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendEscaped appends escape(s): s is untrusted.
func appendEscaped(b []byte, s string) []byte {
	n := len(b)
	b = strconv.AppendQuoteToASCII(b, s)
	copy(b[n:], b[n+1:len(b)-1])
	return b[:len(b)-2]
}

// pad appends spaces until what was appended since start is width runes
// wide, as fmt's %-*s pads.
func pad(b []byte, start, width int) []byte {
	for n := utf8.RuneCount(b[start:]); n < width; n++ {
		b = append(b, ' ')
	}
	return b
}

// appendPairText appends j as a line of watch's text columns (textHeader).
func appendPairText(b []byte, j *judge.Judged, st *lines) []byte {
	p := &j.Pair
	d := p.Decision
	task := pairTask(p)

	col := len(b)
	b = st.appendClock(b, task.Time)
	b = pad(b, col, 15)
	col = len(b) + 1
	b = pad(appendUint(append(b, ' '), uint64(task.Tgid)), col, 7)
	col = len(b) + 1
	b = pad(appendUint(append(b, ' '), uint64(task.Tid)), col, 7)
	col = len(b) + 1
	b = pad(appendEscaped(append(b, ' '), task.Comm), col, 16)
	if st.wide {
		pl := st.proc(task.Proc)
		b = append(append(b, ' '), pl.ids...)
		b = append(append(b, ' '), st.cgroup(task.Cgroup).cols...)
		b = append(append(b, ' '), pl.exe...)
	}
	col = len(b) + 1
	b, _ = appendSyscall(append(b, ' '), p)
	if d != nil && d.Data.Arch != sysnames.Native {
		b = append(appendArch(append(b, '['), d.Data.Arch), ']')
	}
	b = pad(b, col, 18)

	col = len(b) + 1
	b = append(b, ' ')
	switch {
	case d == nil:
		b = append(b, "(no decision)"...)
	case !d.Known && d.Unknown != "":
		b = append(b, "unknown"...)
	case d.Known:
		b = policy.AppendActionName(b, d.Ret)
	}
	b = pad(b, col, 14)

	col = len(b) + 1
	b = append(b, ' ')
	match := d != nil && d.Known && d.Match >= 0 && d.Match < len(d.Filters)
	switch {
	case match:
		b = appendInt(b, int64(d.Match))
		b = appendInt(append(b, '/'), int64(len(d.Filters)))
	case d != nil && len(d.Filters) > 0:
		b = appendInt(append(b, "-/"...), int64(len(d.Filters)))
	default:
		b = append(b, '-')
	}
	b = pad(b, col, 6)

	col = len(b) + 1
	switch {
	case !match:
		b = append(b, " -"...)
	case d.Filters[d.Match].Log:
		b = append(b, " 1"...)
	default:
		b = append(b, " 0"...)
	}
	b = pad(b, col, 3)

	col = len(b) + 1
	switch {
	case d == nil:
		b = append(b, " -"...)
	case d.Skipped:
		b = append(b, " skip"...)
	default:
		b = append(b, " run"...)
	}
	b = pad(b, col, 6)

	col = len(b) + 1
	b = append(append(b, ' '), j.Verdict...)
	if j.Verdict != judge.OKLogged && j.Verdict != judge.OKSilent {
		b = append(append(append(b, " ("...), j.Reason...), ')')
	}
	b = pad(b, col, 15)

	b = append(b, ' ')
	for i, e := range p.Emissions {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendHex(append(b, "audit(code="...), uint64(e.Code))
		b = appendInt(append(b, " sig="...), e.Signr)
		b = append(b, ')')
		if i < len(j.Deliveries) {
			switch dl := j.Deliveries[i]; {
			case dl.Record != nil && dl.Record.Stamp.Serial != 0:
				b = appendDelivery(append(b, ' '), dl, appendRaw)
				b = appendUint(append(b, " serial="...), uint64(dl.Record.Stamp.Serial))
			case dl.State != "":
				b = appendDelivery(append(b, ' '), dl, appendRaw)
			}
		}
	}
	for i, e := range p.SeccompLogs {
		if i > 0 || len(p.Emissions) > 0 {
			b = append(b, ' ')
		}
		b = policy.AppendActionName(append(b, "seccomp_log("...), e.Code)
		b = append(appendBool(append(b, " requested="...), e.Requested), ')')
	}
	if len(p.Emissions) == 0 && len(p.SeccompLogs) == 0 {
		b = append(b, '-')
	}
	return append(b, '\n')
}
