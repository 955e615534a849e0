// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// judgedOf builds a judged decision by hand: pid 123 calls nr, the filter
// at index match (of depth, newest first) returns ret with FLAG_LOG log.
func judgedOf(nr int32, ret uint32, match, depth int, log bool, v judge.Verdict, reason policy.Reason, emitted bool) judge.Judged {
	d := &observer.Decision{Task: observer.Task{Tgid: 123, Tid: 123, Comm: "child", Time: time.Unix(1700000000, 0)},
		Seq: 9, Syscall: nr, Known: true, Ret: ret, Match: match, Filters: make([]observer.FilterRef, depth)}
	d.Data.Arch, d.Data.Nr = sysnames.Native, nr
	if match >= 0 {
		d.Filters[match].Log = log
	}
	j := judge.Judged{Pair: judge.Pair{Decision: d}, Verdict: v, Reason: string(reason), Expected: emitted,
		ActionsLogged: policy.DefaultLogged, Model: policy.ModelPost418}
	if emitted {
		j.Emissions = []*observer.Emission{{Task: d.Task, DecisionSeq: 9, Syscall: int64(nr), Code: policy.ActionOnly(ret)}}
	}
	return j
}

// TestWriteLineText: the text form of a write, with an untrusted comm and string escaped.
func TestWriteLineText(t *testing.T) {
	c := judge.NewChecker(judge.Config{ActionsLogged: policy.DefaultLogged})
	tl := judge.NewTimeline(judge.RecordsExpected)
	w := c.AddWrite(&observer.SysctlWrite{Task: observer.Task{Tgid: 7, Tid: 8, Comm: "sh\x1b[2J"}, Ret: -int64(unix.EINVAL), Write: true,
		NewValue: uint32(policy.DefaultLogged), ValueKnown: true, Written: "bo\x1bgus\n", WrittenLen: 80, WrittenKnown: true})
	tl.AddWrite(w)
	tl.AddRecord(&audit.ConfigChange{Stamp: audit.Stamp{Serial: 99}, Actions: "?", OldActions: policy.DefaultLogged.AuditString(), Res: 0})
	tl.Settle(w, true, "")
	got := writeLine(writeToJSON(w), "10:00:00.000000")
	want := `10:00:00.000000 7       8       sh\x1b[2J        actions_logged write uid=0 written="bo\x1bgus\n"...(80 bytes) "kill_process kill_thread trap errno user_notif trace log" -> "kill_process kill_thread trap errno user_notif trace log" result=EINVAL record(serial=99 actions=? old-actions=kill_process,kill_thread,trap,errno,user_notif,trace,log res=0) ok`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// textLineOf is the text line of a pairJSON as watch printed it before
// lines were rendered straight from the judged pair: the reference the
// renderer must match.
func textLineOf(j pairJSON, wide bool) string {
	t, _ := time.Parse(time.RFC3339Nano, j.Time)
	action, filter, flagLog, result := "?", "-", "-", "-"
	switch {
	case j.NoDecision:
		action, result = "(no decision)", "-"
	case j.Unknown != "":
		action = "unknown"
	default:
		action = j.Action
	}
	if j.FilterIndex != nil {
		filter = fmt.Sprintf("%d/%d", *j.FilterIndex, j.FilterDepth)
		flagLog = "0"
		if *j.FlagLog {
			flagLog = "1"
		}
	} else if j.FilterDepth > 0 {
		filter = fmt.Sprintf("-/%d", j.FilterDepth)
	}
	if j.Skipped != nil {
		result = "run"
		if *j.Skipped {
			result = "skip"
		}
	}
	var emitted []string
	for _, e := range j.Emissions {
		s := fmt.Sprintf("audit(code=%s sig=%d)", e.Code, e.Signr)
		switch {
		case e.Serial != 0:
			s += fmt.Sprintf(" %s serial=%d", e.Delivery, e.Serial)
		case e.Delivery != "":
			s += " " + e.Delivery
		}
		emitted = append(emitted, s)
	}
	for _, e := range j.SeccompLogs {
		emitted = append(emitted, fmt.Sprintf("seccomp_log(%s requested=%v)", e.Action, *e.Requested))
	}
	if len(emitted) == 0 {
		emitted = []string{"-"}
	}
	syscallCol := j.Syscall
	if j.Arch != "" && j.Arch != nativeArch {
		syscallCol += "[" + j.Arch + "]"
	}
	verdict := j.Verdict
	if j.Verdict != string(judge.OKLogged) && j.Verdict != string(judge.OKSilent) {
		verdict += " (" + j.Reason + ")"
	}
	comm := fmt.Sprintf("%-16s", escape(j.Comm))
	if wide {
		comm += " " + attribColumns(j)
	}
	return fmt.Sprintf("%-15s %-7d %-7d %s %-18s %-14s %-6s %-3s %-6s %-15s %s\n",
		t.Local().Format("15:04:05.000000"), j.Pid, j.Tid, comm, syscallCol, action, filter, flagLog, result, verdict, strings.Join(emitted, " "))
}

// attribColumns are watch --wide's columns of a pairJSON: PPID, AUID,
// SES, CONTAINER, UNIT, EXE.
func attribColumns(j pairJSON) string {
	id := func(v *uint32) string {
		switch {
		case v == nil:
			return "-"
		case *v == observer.AuditUnset:
			return "unset"
		}
		return fmt.Sprint(*v)
	}
	or := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return "-"
	}
	container := j.ContainerID
	if len(container) > 12 {
		container = container[:12]
	}
	ppid := "-"
	if j.PPid != nil {
		ppid = fmt.Sprint(*j.PPid)
	}
	return fmt.Sprintf("%-7s %-10s %-10s %-12s %-24s %-24s", ppid, id(j.AUID), id(j.SessionID), or(container),
		escape(or(j.UserUnit, j.Unit)), escape(or(j.Exe)))
}

// hostile are untrusted strings (comms, reasons) that must come out
// escaped, and alike from both JSON encoders.
var hostile = []string{
	"", "sh", "x\x1b]0;pwned\x07", `quo"te\back`, "<script>&amp;</script>", "\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f",
	"caf\u00e9", "\xff\xfe", "a\xc3", "\u2028\u2029", "\U0001F600 tab\there", "\xed\xa0\x80", "123456789012345",
}

// randomJudged builds a judged pair with every field varied: decisions
// known or not, stacks, arches, x32 and unknown numbers, emissions with
// every delivery, seccomp_log calls, pairs without decision, hostile strings.
func randomJudged(r *rand.Rand) judge.Judged {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	// A few processes and cgroups, shared by the records as the decoder
	// shares them: the renderer's caches are hit and missed.
	if procs == nil {
		for range 8 {
			procs = append(procs, &observer.Proc{Tgid: r.Uint32(), PPid: r.Uint32N(5000), Exe: pick(hostile),
				LoginUID: []uint32{0, 1000, observer.AuditUnset}[r.IntN(3)], SessionID: []uint32{1, 77, observer.AuditUnset}[r.IntN(3)],
				MntNS: 4026531841 + r.Uint32N(100), PidNS: 4026531836 + r.Uint32N(100)})
		}
		paths := append([]string{"/", "/system.slice/docker-" + strings.Repeat("3f", 32) + ".scope",
			"/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "/kubepods/besteffort/pod1/" + strings.Repeat("0a", 32)}, hostile...)
		for i, p := range paths {
			c := cgroups.New(uint64(i+1), p)
			if i >= 4 {
				c.Unit, c.ContainerID = pick(hostile), pick([]string{"", strings.Repeat("ab", 32)})
			}
			cgs = append(cgs, c)
		}
	}
	task := func() observer.Task {
		// Often within a few seconds, so that stamps repeat.
		t := time.Unix(1700000000+r.Int64N([]int64{3, 1e6}[r.IntN(2)]), r.Int64N(1e9))
		if r.IntN(4) == 0 {
			t = t.Truncate([]time.Duration{time.Millisecond, time.Second}[r.IntN(2)]) // trailing zeros trimmed
		}
		if r.IntN(20) == 0 {
			t = time.Time{}
		}
		task := observer.Task{Tgid: r.Uint32(), Tid: r.Uint32N(100000), UID: r.Uint32(), GID: 1, Comm: pick(hostile), CgroupID: r.Uint64(), Time: t}
		if r.IntN(4) != 0 {
			task.Proc = procs[r.IntN(len(procs))]
		}
		if r.IntN(4) != 0 {
			task.Cgroup = cgs[r.IntN(len(cgs))]
		}
		return task
	}
	rets := []uint32{policy.KillProcess, policy.KillThread, policy.Trap, policy.Trap | 3, policy.Errno, policy.Errno | 1, policy.Errno | 0xffff,
		policy.UserNotif, policy.UserNotif | 2, policy.Trace, policy.Trace | 9, policy.Log, policy.Allow, policy.Allow | 4, 0x00010000, 0x00010007}
	var p judge.Pair
	if r.IntN(5) != 0 {
		d := &observer.Decision{Task: task(), Seq: uint64(r.IntN(3)) * r.Uint64(),
			Recheck: r.IntN(4) == 0, Skipped: r.IntN(2) == 0, Known: r.IntN(6) != 0, Ret: rets[r.IntN(len(rets))], Match: -1}
		d.Syscall = []int32{0, 39, 110, 334, 462, 999, -1, 39 | sysnames.X32Bit, 520 | sysnames.X32Bit, 600 | sysnames.X32Bit}[r.IntN(10)]
		d.Data = cbpf.Data{Nr: d.Syscall, Arch: []uint32{sysnames.ArchX8664, sysnames.ArchI386, 0xc00000b7, 0}[r.IntN(4)], IP: r.Uint64()}
		for i := range d.Data.Args {
			d.Data.Args[i] = r.Uint64() >> r.IntN(64)
		}
		d.Filters = make([]observer.FilterRef, r.IntN(4))
		for i := range d.Filters {
			d.Filters[i] = observer.FilterRef{Addr: r.Uint64(), Log: r.IntN(2) == 0}
		}
		if len(d.Filters) > 0 && r.IntN(3) != 0 {
			d.Match = r.IntN(len(d.Filters))
		}
		if !d.Known && r.IntN(3) != 0 {
			d.Unknown = pick(hostile)
		}
		p.Decision = d
	}
	for range r.IntN(3) {
		t := task()
		if p.Decision != nil {
			t = p.Decision.Task
		}
		p.Emissions = append(p.Emissions, &observer.Emission{Task: t, Syscall: r.Int64N(500) - 1, Signr: r.Int64N(40), Code: policy.ActionOnly(rets[r.IntN(len(rets))])})
	}
	for range r.IntN(3) {
		p.SeccompLogs = append(p.SeccompLogs, &observer.Emission{Task: task(), Syscall: r.Int64N(500), Code: rets[r.IntN(len(rets))], SeccompLog: true, Requested: r.IntN(2) == 0})
	}
	verdicts := []judge.Verdict{judge.OKLogged, judge.OKSilent, judge.MissingLog, judge.UnexpectedLog, judge.Inconclusive}
	j := judge.Judged{Pair: p, Verdict: verdicts[r.IntN(len(verdicts))], Expected: r.IntN(2) == 0,
		Reason: pick(append([]string{string(policy.ReasonFlagLogOff), "record decided but not delivered: lost(backlog limit exceeded)"}, hostile...)),
		Path:   policy.Path(r.IntN(7)), ActionsLogged: policy.ActionSet(r.Uint32N(256)), Model: policy.Model(r.IntN(2))}
	if len(p.Emissions) > 0 && r.IntN(4) != 0 {
		for range r.IntN(len(p.Emissions) + 1) {
			d := []judge.Delivery{{State: judge.Delivered, Record: &audit.Seccomp{Stamp: audit.Stamp{Serial: r.Uint32()}}},
				{State: judge.Delivered, Record: &audit.Seccomp{}}, {State: judge.Lost, Reason: pick(hostile)},
				{State: judge.Undelivered}, {State: judge.DeliveryUnknown}, {}}[r.IntN(6)]
			j.Deliveries = append(j.Deliveries, d)
		}
	}
	return j
}

// The processes and cgroups randomJudged's records name.
var (
	procs []*observer.Proc
	cgs   []*cgroups.Cgroup
)

// TestRenderMatchesPairJSON: watch's lines, rendered straight from the
// judged pair, are byte for byte what encoding/json writes for pairJSON
// and what the column format gives for it, hostile strings included, in
// any time zone.
func TestRenderMatchesPairJSON(t *testing.T) {
	local := time.Local
	defer func() { time.Local = local }()
	r := rand.New(rand.NewPCG(1, 2))
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	var b []byte
	var st, wide lines
	wide.wide = true
	for i := range 20000 {
		if i == 10000 {
			time.Local = time.FixedZone("odd", -(9*3600 + 30*60))
			st, wide = lines{}, lines{wide: true}
		}
		j := randomJudged(r)
		want.Reset()
		if err := enc.Encode(toJSON(&j)); err != nil {
			t.Fatal(err)
		}
		if b = appendPairJSON(b[:0], &j, &st); string(b) != want.String() {
			t.Fatalf("JSON of %+v:\ngot  %s\nwant %s", j, b, want.Bytes())
		}
		if b = appendPairText(b[:0], &j, &st); string(b) != textLineOf(toJSON(&j), false) {
			t.Fatalf("text of %+v:\ngot  %q\nwant %q", j, b, textLineOf(toJSON(&j), false))
		}
		if b = appendPairText(b[:0], &j, &wide); string(b) != textLineOf(toJSON(&j), true) {
			t.Fatalf("wide text of %+v:\ngot  %q\nwant %q", j, b, textLineOf(toJSON(&j), true))
		}
	}
	// Every byte, and every byte after a valid prefix, as a comm.
	for c := range 256 {
		for _, comm := range []string{string([]byte{byte(c)}), "ab" + string([]byte{byte(c)}) + "\u00e9"} {
			j := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)
			j.Decision.Comm = comm
			want.Reset()
			if err := enc.Encode(toJSON(&j)); err != nil {
				t.Fatal(err)
			}
			if b = appendPairJSON(b[:0], &j, &st); string(b) != want.String() {
				t.Fatalf("JSON of comm %q:\ngot  %s\nwant %s", comm, b, want.Bytes())
			}
			if b = appendPairText(b[:0], &j, &st); string(b) != textLineOf(toJSON(&j), false) {
				t.Fatalf("text of comm %q:\ngot  %q\nwant %q", comm, b, textLineOf(toJSON(&j), false))
			}
		}
	}
}

// TestPrinterAllocs: printing a decision allocates nothing, in either
// format: a process's and a cgroup's fields are rendered once, then
// copied, also when lines of several processes alternate.
func TestPrinterAllocs(t *testing.T) {
	var js []judge.Judged
	for i := range 3 {
		j := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)
		j.Decision.Comm = "evil\x1b[2J"
		j.Decision.Proc = &observer.Proc{Tgid: 123, PPid: 1, Exe: "/usr/bin/\x1b]evil", LoginUID: 1000, SessionID: uint32(i)}
		j.Decision.Cgroup = cgroups.New(uint64(i), "/system.slice/docker-"+strings.Repeat("3f", 32)+".scope")
		js = append(js, j)
	}
	for _, tc := range []struct {
		format string
		wide   bool
	}{{"json", false}, {"text", false}, {"text", true}} {
		p, err := newPrinter(io.Discard, tc.format, tc.wide)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		if n := testing.AllocsPerRun(1000, func() {
			i++
			if err := p.printEvent(session.Event{Judged: &js[i%len(js)]}); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s (wide %v): %v allocations per line", tc.format, tc.wide, n)
		}
	}
}

// TestAppendNumbers: the in-place number formatting agrees with strconv at
// every length and edge.
func TestAppendNumbers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := []uint64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 1<<63 - 1, 1 << 63, 1<<64 - 1}
	for p := uint64(1); p < 1e19; p *= 10 {
		vals = append(vals, p-1, p, p+1)
	}
	for range 10000 {
		vals = append(vals, r.Uint64()>>r.IntN(64))
	}
	for _, v := range vals {
		if got, want := string(appendUint([]byte("x"), v)), strconv.FormatUint(v, 10); got != "x"+want {
			t.Fatalf("appendUint(%d) = %s", v, got)
		}
		if got, want := string(appendInt(nil, int64(v))), strconv.FormatInt(int64(v), 10); got != want {
			t.Fatalf("appendInt(%d) = %s", int64(v), got)
		}
		if got, want := string(appendHex(nil, v)), fmt.Sprintf("%#x", v); got != want {
			t.Fatalf("appendHex(%d) = %s, want %s", v, got, want)
		}
	}
}
