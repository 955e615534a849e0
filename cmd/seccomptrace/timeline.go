// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// writeJSON is one write attempt to kernel.seccomp.actions_logged: a line
// of watch's JSON Lines, an entry of check's "actions_logged_writes".
type writeJSON struct {
	V     int    `json:"v"`
	Event string `json:"event"` // "actions_logged_write"
	Time  string `json:"time"`
	Pid   uint32 `json:"pid"`
	Tid   uint32 `json:"tid"`
	Comm  string `json:"comm"`
	UID   uint32 `json:"uid"`
	// Written is the string written, as the handler got it (newline
	// included); null where the probe cannot see it (kprobe fallback).
	// WrittenBytes is its length, more than Written's when cut to 63 bytes.
	Written      *string `json:"written"`
	WrittenBytes uint64  `json:"written_bytes,omitempty"`
	// Old and New are the values before and after, as a read shows them
	// (space-separated, table order), "(none)" for the empty set.
	Old string `json:"old"`
	New string `json:"new"`
	// Result is "ok" or the errno name (EINVAL, EPERM).
	Result string `json:"result"`
	// Record is the CONFIG_CHANGE record joined to the write, null if none came;
	// ExpectedRecord is what the kernel must write, null when it writes none.
	Record         *configChangeJSON `json:"record"`
	ExpectedRecord *configChangeJSON `json:"expected_record"`
	Verdict        string            `json:"verdict"`
	Reason         string            `json:"reason"`
}

// configChangeJSON is an op=seccomp-logging CONFIG_CHANGE (1305) record.
type configChangeJSON struct {
	Serial     uint32 `json:"serial,omitempty"`
	Actions    string `json:"actions"`
	OldActions string `json:"old_actions"`
	Res        int    `json:"res"`
}

func setString(s policy.ActionSet) string {
	if s == 0 {
		return "(none)"
	}
	return s.String()
}

func writeToJSON(w *judge.Write) writeJSON {
	out := writeJSON{
		V: schemaVersion, Event: "actions_logged_write",
		Time: w.Time.UTC().Format(time.RFC3339Nano),
		Pid:  w.Tgid, Tid: w.Tid, Comm: w.Comm, UID: w.UID,
		Old: setString(w.Old), New: setString(w.New),
		Result:  "ok",
		Verdict: string(w.Verdict), Reason: w.Reason,
	}
	if w.WrittenKnown {
		written := w.SysctlWrite.Written
		out.Written, out.WrittenBytes = &written, w.WrittenLen
	}
	if e := w.Errno(); e != 0 {
		out.Result = unix.ErrnoName(e)
		if out.Result == "" {
			out.Result = fmt.Sprintf("errno %d", int(e))
		}
	}
	if r := w.Record; r != nil {
		out.Record = &configChangeJSON{Serial: r.Stamp.Serial, Actions: r.Actions, OldActions: r.OldActions, Res: r.Res}
	}
	if w.Rule != judge.RecordsNone {
		out.ExpectedRecord = &configChangeJSON{Actions: w.Want.Actions, OldActions: w.Want.OldActions, Res: w.Want.Res}
	}
	return out
}

// printWrite prints one write attempt as a line (text) or a JSON object.
func (p *printer) printWrite(w writeJSON) error {
	if p.json {
		return p.enc.Encode(w)
	}
	t, _ := time.Parse(time.RFC3339Nano, w.Time)
	_, err := fmt.Fprintln(p.w, writeLine(w, t.Local().Format("15:04:05.000000")))
	return err
}

// writeLine is the text form of a write: time, task, old -> new, result, record, verdict.
func writeLine(w writeJSON, when string) string {
	rec := "none"
	if r := w.Record; r != nil {
		rec = fmt.Sprintf("serial=%d actions=%s old-actions=%s res=%d", r.Serial, escape(r.Actions), escape(r.OldActions), r.Res)
	}
	verdict := w.Verdict
	if w.Verdict != string(judge.WriteOK) {
		verdict += " (" + w.Reason + ")"
	}
	written := "?"
	if w.Written != nil {
		written = strconv.QuoteToASCII(*w.Written) // untrusted bytes
		if w.WrittenBytes > uint64(len(*w.Written)) {
			written += fmt.Sprintf("...(%d bytes)", w.WrittenBytes)
		}
	}
	return strings.TrimSpace(fmt.Sprintf("%-15s %-7d %-7d %-16s actions_logged write uid=%d written=%s %q -> %q result=%s record(%s) %s",
		when, w.Pid, w.Tid, escape(w.Comm), w.UID, written, w.Old, w.New, w.Result, rec, verdict))
}
