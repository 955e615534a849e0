// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// schemaVersion is the "v" of every object of watch's JSON Lines
// (docs/events.md): a change that breaks a reader raises it.
const schemaVersion = 1

// pairJSON is one line of --output json: a decision and its emissions.
type pairJSON struct {
	V int `json:"v"`
	// Event is "decision"; watch's JSON Lines also carry actions_logged
	// writes (writeJSON) and summaries (summaryJSON).
	Event    string `json:"event"`
	Time     string `json:"time"`
	Pid      uint32 `json:"pid"`
	Tid      uint32 `json:"tid"`
	Comm     string `json:"comm"`
	UID      uint32 `json:"uid"`
	CgroupID uint64 `json:"cgroup_id"`
	// Who the decision belongs to (docs/attribution.md): absent when unknown.
	cgroupJSON
	Exe         string         `json:"exe,omitempty"`
	PPid        *uint32        `json:"ppid,omitempty"`
	AUID        *uint32        `json:"auid,omitempty"`
	SessionID   *uint32        `json:"sessionid,omitempty"`
	MntNS       *uint32        `json:"mntns,omitempty"`
	PidNS       *uint32        `json:"pidns,omitempty"`
	Seq         uint64         `json:"seq,omitempty"`
	Syscall     string         `json:"syscall"`
	Nr          int64          `json:"nr"`
	Arch        string         `json:"arch,omitempty"`
	Args        []string       `json:"args,omitempty"`
	IP          string         `json:"ip,omitempty"`
	Action      string         `json:"action,omitempty"`
	Ret         string         `json:"ret,omitempty"`
	FilterIndex *int           `json:"filter_index,omitempty"`
	FilterDepth int            `json:"filter_depth,omitempty"`
	FlagLog     *bool          `json:"flag_log,omitempty"`
	Skipped     *bool          `json:"skipped,omitempty"`
	Recheck     bool           `json:"recheck,omitempty"`
	Unknown     string         `json:"action_unknown,omitempty"`
	NoDecision  bool           `json:"no_decision,omitempty"`
	Emissions   []emissionJSON `json:"emissions"`
	SeccompLogs []emissionJSON `json:"seccomp_log,omitempty"`
	Verdict     string         `json:"verdict"`
	Expected    bool           `json:"expected_log"`
	Reason      string         `json:"reason"`
	Path        string         `json:"path,omitempty"`
	Policy      string         `json:"actions_logged"`
	Model       string         `json:"model"`
}

type emissionJSON struct {
	Syscall   int64  `json:"syscall"`
	Signr     int64  `json:"signr"`
	Code      string `json:"code"`
	Action    string `json:"action"`
	Requested *bool  `json:"requested,omitempty"`
	// Delivery and Serial: where the record went (check only); `ausearch -a SERIAL` finds it.
	Delivery string `json:"delivery,omitempty"`
	Serial   uint32 `json:"serial,omitempty"`
}

func toJSON(j *judge.Judged) pairJSON {
	p := j.Pair
	out := pairJSON{V: schemaVersion, Event: "decision", Verdict: string(j.Verdict), Expected: j.Expected, Reason: j.Reason, Policy: j.ActionsLogged.AuditString(), Model: j.Model.String()}
	if j.Path != policy.PathFilter {
		out.Path = j.Path.String()
	}
	var task observer.Task
	if d := p.Decision; d != nil {
		task = d.Task
		out.Seq = d.Seq
		out.Nr = int64(d.Syscall)
		out.Syscall = sysnames.Name(d.Data.Arch, d.Syscall)
		out.Arch = sysnames.ArchName(d.Data.Arch)
		for _, a := range d.Data.Args {
			out.Args = append(out.Args, "0x"+strconv.FormatUint(a, 16))
		}
		out.IP = "0x" + strconv.FormatUint(d.Data.IP, 16)
		out.FilterDepth = len(d.Filters)
		skipped := d.Skipped
		out.Skipped = &skipped
		out.Recheck = d.Recheck
		if d.Known {
			out.Action = policy.ActionName(d.Ret)
			out.Ret = fmt.Sprintf("%#x", d.Ret)
			if d.Match >= 0 {
				idx, log := d.Match, d.Filters[d.Match].Log
				out.FilterIndex, out.FlagLog = &idx, &log
			}
		} else {
			out.Unknown = d.Unknown
		}
	} else {
		out.NoDecision = true
	}
	out.Emissions = []emissionJSON{}
	for i, e := range p.Emissions {
		task = e.Task
		ej := emissionJSON{Syscall: e.Syscall, Signr: e.Signr, Code: fmt.Sprintf("%#x", e.Code), Action: policy.CodeName(e.Code)}
		if i < len(j.Deliveries) {
			d := j.Deliveries[i]
			ej.Delivery = d.String()
			if d.Record != nil {
				ej.Serial = d.Record.Stamp.Serial
			}
		}
		out.Emissions = append(out.Emissions, ej)
		if p.Decision == nil {
			out.Nr = e.Syscall
			out.Syscall = sysnames.Name(0, int32(e.Syscall))
		}
	}
	for _, e := range p.SeccompLogs {
		if p.Decision == nil && len(p.Emissions) == 0 {
			task = e.Task
		}
		req := e.Requested
		out.SeccompLogs = append(out.SeccompLogs, emissionJSON{Syscall: e.Syscall, Signr: e.Signr, Code: fmt.Sprintf("%#x", e.Code), Action: policy.ActionName(e.Code), Requested: &req})
	}
	if p.Decision != nil {
		task = p.Decision.Task
	}
	out.Time = task.Time.UTC().Format(time.RFC3339Nano)
	out.Pid, out.Tid, out.Comm, out.UID, out.CgroupID = task.Tgid, task.Tid, task.Comm, task.UID, task.CgroupID
	out.cgroupJSON = cgroupJSONOf(task.Cgroup)
	if p := task.Proc; p != nil {
		ppid, auid, ses, mntns, pidns := p.PPid, p.LoginUID, p.SessionID, p.MntNS, p.PidNS
		out.Exe, out.PPid, out.AUID, out.SessionID, out.MntNS, out.PidNS = p.Exe, &ppid, &auid, &ses, &mntns, &pidns
	}
	return out
}

// printer writes a session's events as text columns or JSON Lines,
// through a buffer that flush writes out (the session's OnIdle): a line
// costs no allocation and no write(2) of its own.
type printer struct {
	w    *lineBuffer
	json bool
	enc  *json.Encoder // actions_logged writes and summaries, which are rare
	head bool
	line []byte
	st   lines
}

// lineBuffer holds whole lines until Flush writes them out in one Write:
// the writer below never gets part of a line, so a file reopened between
// two writes (SIGHUP) never splits one.
type lineBuffer struct {
	w   io.Writer
	buf []byte
}

// Write takes one or more whole lines.
func (b *lineBuffer) Write(p []byte) (int, error) {
	if len(b.buf) > 0 && len(b.buf)+len(p) > cap(b.buf) {
		if err := b.Flush(); err != nil {
			return 0, err
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes out every line held.
func (b *lineBuffer) Flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// newPrinter returns a printer of format; wide gives text lines the
// attribution columns (JSON always has every field).
func newPrinter(w io.Writer, format string, wide bool) (*printer, error) {
	bw := &lineBuffer{w: w, buf: make([]byte, 0, 64<<10)}
	switch format {
	case "text":
		return &printer{w: bw, st: lines{wide: wide}}, nil
	case "json":
		return &printer{w: bw, json: true, enc: json.NewEncoder(bw)}, nil
	}
	return nil, fmt.Errorf("bad --output %q: want text or json", format)
}

// flush writes out every line printed so far.
func (p *printer) flush() error { return p.w.Flush() }

// printEvent prints one settled event of a session.
func (p *printer) printEvent(e session.Event) error {
	if e.Write != nil {
		return p.printWrite(writeToJSON(e.Write))
	}
	switch {
	case p.json:
		p.line = appendPairJSON(p.line[:0], e.Judged, &p.st)
	case !p.head:
		p.head = true
		header := textHeader
		if p.st.wide {
			header = textHeaderWide
		}
		p.line = append(append(p.line[:0], header...), '\n')
		p.line = appendPairText(p.line, e.Judged, &p.st)
	default:
		p.line = appendPairText(p.line[:0], e.Judged, &p.st)
	}
	_, err := p.w.Write(p.line)
	return err
}

// escape makes an untrusted string (comm, exe, path) safe for a terminal:
// control characters, non-ASCII and quotes come out as Go escapes.
func escape(s string) string {
	q := strconv.QuoteToASCII(s)
	return q[1 : len(q)-1]
}

// printReport writes a command's report: v as indented JSON when asJSON,
// else text(w).
func printReport(w io.Writer, asJSON bool, v any, text func(io.Writer)) error {
	if !asJSON {
		text(w)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
