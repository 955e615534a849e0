// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"strings"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
)

// Who a decision belongs to (docs/attribution.md): the process (exe,
// parent, audit login and session, namespaces) and the cgroup (path,
// container, systemd unit). Both are resolved once and shared by every
// record of the process or cgroup, so their JSON fields and text columns
// are rendered once each too, and a line copies them.

// lines renders watch's lines: the stamps, whether text lines have the
// attribution columns, and what was rendered per process and cgroup.
type lines struct {
	stamps
	wide    bool
	procs   map[*observer.Proc]*procLine
	cgroups map[*cgroups.Cgroup]*cgroupLine
	// The last of each, for a stream of one process's decisions.
	lastProc   *observer.Proc
	lastProcL  *procLine
	lastCg     *cgroups.Cgroup
	lastCgLine *cgroupLine
	noProc     procLine
	noCgroup   cgroupLine
}

// maxRendered bounds each cache: past it a cache starts afresh.
const maxRendered = 4096

// procLine is a process's part of a line: its JSON fields, its PPID,
// AUID and SES columns and its EXE column, each padded.
type procLine struct {
	json, ids, exe []byte
}

// cgroupLine is a cgroup's part of a line: its JSON fields and its
// CONTAINER and UNIT columns.
type cgroupLine struct {
	json, cols []byte
}

// Widths of the attribution columns.
const (
	widthPPID      = 7
	widthAUID      = 10
	widthSES       = 10
	widthContainer = 12
	widthUnit      = 24
	widthExe       = 24
)

// textHeaderWide heads watch --wide's text columns.
var textHeaderWide = fmt.Sprintf("%-15s %-7s %-7s %-16s %-*s %-*s %-*s %-*s %-*s %-*s %-18s %-14s %-6s %-3s %-6s %-15s %s",
	"TIME", "PID", "TID", "COMM", widthPPID, "PPID", widthAUID, "AUID", widthSES, "SES", widthContainer, "CONTAINER",
	widthUnit, "UNIT", widthExe, "EXE", "SYSCALL", "ACTION", "FILTER", "LOG", "RESULT", "VERDICT", "EMITTED")

func (l *lines) proc(p *observer.Proc) *procLine {
	if p == nil {
		if l.noProc.ids == nil {
			l.noProc = renderProc(nil)
		}
		return &l.noProc
	}
	if p == l.lastProc {
		return l.lastProcL
	}
	pl := l.procs[p]
	if pl == nil {
		if l.procs == nil || len(l.procs) >= maxRendered {
			l.procs = make(map[*observer.Proc]*procLine)
		}
		r := renderProc(p)
		pl = &r
		l.procs[p] = pl
	}
	l.lastProc, l.lastProcL = p, pl
	return pl
}

func (l *lines) cgroup(c *cgroups.Cgroup) *cgroupLine {
	if c == nil {
		if l.noCgroup.cols == nil {
			l.noCgroup = renderCgroup(nil)
		}
		return &l.noCgroup
	}
	if c == l.lastCg {
		return l.lastCgLine
	}
	cl := l.cgroups[c]
	if cl == nil {
		if l.cgroups == nil || len(l.cgroups) >= maxRendered {
			l.cgroups = make(map[*cgroups.Cgroup]*cgroupLine)
		}
		r := renderCgroup(c)
		cl = &r
		l.cgroups[c] = cl
	}
	l.lastCg, l.lastCgLine = c, cl
	return cl
}

// appendColumn appends s escaped as a column of width runes, padded.
func appendColumn(b []byte, s string, width int) []byte {
	col := len(b)
	return pad(appendEscaped(b, s), col, width)
}

// auidText is a loginuid or session id in a column: "unset" when unset.
func auidText(v uint32) string {
	if v == observer.AuditUnset {
		return "unset"
	}
	return fmt.Sprint(v)
}

// renderProc renders a process's JSON fields (pairJSON's order, after
// cgroup's) and columns; nil renders an unknown process.
func renderProc(p *observer.Proc) procLine {
	if p == nil {
		return procLine{json: []byte{}, ids: idColumns("-", "-", "-"), exe: appendColumn(nil, "-", widthExe)}
	}
	var pl procLine
	b := []byte{}
	if p.Exe != "" {
		b = appendJSONString(append(b, `,"exe":`...), p.Exe)
	}
	b = appendUint(append(b, `,"ppid":`...), uint64(p.PPid))
	b = appendUint(append(b, `,"auid":`...), uint64(p.LoginUID))
	b = appendUint(append(b, `,"sessionid":`...), uint64(p.SessionID))
	b = appendUint(append(b, `,"mntns":`...), uint64(p.MntNS))
	b = appendUint(append(b, `,"pidns":`...), uint64(p.PidNS))
	pl.json = b
	pl.ids = idColumns(fmt.Sprint(p.PPid), auidText(p.LoginUID), auidText(p.SessionID))
	exe := p.Exe
	if exe == "" {
		exe = "-"
	}
	pl.exe = appendColumn(nil, exe, widthExe)
	return pl
}

// idColumns are the PPID, AUID and SES columns.
func idColumns(ppid, auid, ses string) []byte {
	c := appendColumn(nil, ppid, widthPPID)
	c = appendColumn(append(c, ' '), auid, widthAUID)
	return appendColumn(append(c, ' '), ses, widthSES)
}

// shortID is a container id as runtimes print it: 12 digits.
func shortID(id string) string { return id[:min(len(id), 12)] }

// renderCgroup renders a cgroup's JSON fields (pairJSON's order) and its
// CONTAINER and UNIT columns; nil renders an unknown cgroup.
func renderCgroup(c *cgroups.Cgroup) cgroupLine {
	if c == nil {
		return cgroupLine{json: []byte{}, cols: appendColumn(append(appendColumn(nil, "-", widthContainer), ' '), "-", widthUnit)}
	}
	b := []byte{}
	for _, f := range []struct{ key, v string }{
		{"cgroup", c.Path}, {"container_id", c.ContainerID}, {"container_runtime", c.Runtime}, {"unit", c.Unit}, {"user_unit", c.UserUnit},
	} {
		if f.v != "" {
			b = appendJSONString(append(append(append(b, `,"`...), f.key...), `":`...), f.v)
		}
	}
	container, unit := "-", "-"
	if c.ContainerID != "" {
		container = shortID(c.ContainerID)
	}
	switch {
	case c.UserUnit != "":
		unit = c.UserUnit
	case c.Unit != "":
		unit = c.Unit
	}
	return cgroupLine{json: b, cols: appendColumn(append(appendColumn(nil, container, widthContainer), ' '), unit, widthUnit)}
}

// selector is what --cgroup and --container select: a decision whose
// cgroup is one of the paths or below it, or whose container id starts
// with one of the ids. Empty, it selects everything.
type selector struct {
	cgroups, containers []string
}

func (s *selector) empty() bool { return len(s.cgroups) == 0 && len(s.containers) == 0 }

// matches says whether a cgroup (path and container id) is selected.
func (s *selector) matches(path, container string) bool {
	if s.empty() {
		return true
	}
	for _, p := range s.cgroups {
		if path != "" && (p == "/" || path == p || strings.HasPrefix(path, p+"/")) {
			return true
		}
	}
	for _, id := range s.containers {
		if container != "" && strings.HasPrefix(container, id) {
			return true
		}
	}
	return false
}

// task is the selector as a session's Options.Select.
func (s *selector) task(t *observer.Task) bool {
	if c := t.Cgroup; c != nil {
		return s.matches(c.Path, c.ContainerID)
	}
	return false
}

// cgroupList is a repeatable --cgroup flag: paths in the hierarchy, or
// under the cgroup2 mount.
type cgroupList struct {
	paths []string
	rel   func(string) string
}

func (c *cgroupList) String() string { return strings.Join(c.paths, ",") }
func (c *cgroupList) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("bad cgroup %q: want a path such as /system.slice/nginx.service", s)
	}
	c.paths = append(c.paths, c.rel(s))
	return nil
}

// containerList is a repeatable --container flag: container ids, or
// their first digits.
type containerList []string

func (c *containerList) String() string { return strings.Join(*c, ",") }
func (c *containerList) Set(s string) error {
	id := strings.ToLower(strings.TrimSpace(s))
	if id == "" || len(id) > 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return fmt.Errorf("bad container id %q: want up to 64 hex digits", s)
	}
	*c = append(*c, id)
	return nil
}

// cgroupJSON is who a task belongs to, in the JSON of decisions and of
// filters' tasks: its cgroup path, container and systemd unit; absent
// when unknown.
type cgroupJSON struct {
	Cgroup      string `json:"cgroup,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	Runtime     string `json:"container_runtime,omitempty"`
	Unit        string `json:"unit,omitempty"`
	UserUnit    string `json:"user_unit,omitempty"`
}

// cgroupJSONOf is c's cgroupJSON; empty when c is nil (not resolved).
func cgroupJSONOf(c *cgroups.Cgroup) cgroupJSON {
	if c == nil {
		return cgroupJSON{}
	}
	return cgroupJSON{Cgroup: c.Path, ContainerID: c.ContainerID, Runtime: c.Runtime, Unit: c.Unit, UserUnit: c.UserUnit}
}
