// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// setComm copies comm into a record's task comm.
func setComm(dst *[16]int8, comm string) {
	for i := range min(len(comm), 15) {
		dst[i] = int8(comm[i])
	}
}

// decisionRec is a decision record of process pid (comm) on nr under the
// stack whose newest filter is chain; skip: the syscall was skipped.
func decisionRec(seq uint64, pid uint32, comm string, nr int32, chain uint64, skip bool) []byte {
	var r gen.SeccompStDecision
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
	r.Seq, r.ThisSyscall, r.Sd.Nr, r.Sd.Arch = seq, nr, nr, 0xc000003e
	r.Task.Tgid, r.Task.Tid, r.Task.KtimeNs = pid, pid, 1_000_000+seq*1000
	setComm(&r.Task.Comm, comm)
	r.Chain = chain
	if skip {
		r.Ret = 0xffffffff // int -1
	}
	return testutil.RawOf(&r)
}

// emissionRec is an audit_seccomp call inside decision seq.
func emissionRec(seq uint64, pid uint32, comm string, nr int32, code uint32) []byte {
	var r gen.SeccompStEmission
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_EMISSION)
	r.Task.Tgid, r.Task.Tid = pid, pid
	setComm(&r.Task.Comm, comm)
	r.DecisionSeq, r.Syscall, r.Code = seq, int64(nr), code
	return testutil.RawOf(&r)
}

// dropRec is audit_log_lost(reason) inside decision seq.
func dropRec(seq uint64, pid uint32, reason string) []byte {
	var r gen.SeccompStAuditDrop
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_AUDIT_DROP)
	r.Stage = uint32(gen.SeccompStDropStageST_DROP_LOST)
	r.Task.Tgid, r.Task.Tid = pid, pid
	r.DecisionSeq = seq
	for i := range min(len(reason), len(r.Reason)-1) {
		r.Reason[i] = int8(reason[i])
	}
	return testutil.RawOf(&r)
}

// Filters of the replayed runs: one ERRNO(1) without FLAG_LOG (silent),
// one LOG (logged), each alone in its stack.
const (
	errnoStack = 0x1000
	logStack   = 0x2000
)

func replayFilters(t testing.TB, r *session.Replay) {
	t.Helper()
	for _, raw := range [][]byte{
		testutil.FilterRecord(errnoStack, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1)}),
		testutil.FilterRecord(logStack, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Log)}),
		testutil.ChainRecord(testutil.Ref{Addr: errnoStack}), testutil.ChainRecord(testutil.Ref{Addr: logStack}),
	} {
		if err := r.Decode(raw); err != nil {
			t.Fatal(err)
		}
	}
}

// feeder feeds a replay records of known decisions.
type feeder struct {
	t   testing.TB
	r   *session.Replay
	seq uint64
}

func (f *feeder) decode(raws ...[]byte) {
	f.t.Helper()
	for _, raw := range raws {
		if err := f.r.Decode(raw); err != nil {
			f.t.Fatal(err)
		}
	}
}

// silent feeds a silent ERRNO decision of pid and says the ring is drained.
func (f *feeder) silent(pid uint32, comm string) {
	f.seq++
	f.decode(decisionRec(f.seq, pid, comm, unix.SYS_GETPPID, errnoStack, true))
	f.r.Drained()
}

// logged feeds a LOG decision and its emission, then its record (delivered)
// or, with lost, audit_log_lost(lost) inside it.
func (f *feeder) logged(pid uint32, comm, lost string) {
	f.seq++
	f.decode(emissionRec(f.seq, pid, comm, workload.NrGetpgrp, policy.Log))
	if lost != "" {
		f.decode(dropRec(f.seq, pid, lost))
	}
	f.decode(decisionRec(f.seq, pid, comm, workload.NrGetpgrp, logStack, false))
	if lost == "" {
		f.r.AddRecord(audit.Event{Record: audit.Record{Seccomp: &audit.Seccomp{Stamp: audit.Stamp{Serial: uint32(f.seq)}, Pid: int32(pid), Syscall: workload.NrGetpgrp, Code: policy.Log}}})
	}
	f.r.Drained()
}

// write feeds a failed write to actions_logged.
func (f *feeder) write(pid uint32) {
	f.r.Add(&observer.SysctlWrite{Task: observer.Task{Tgid: pid, Tid: pid, Comm: "sh"}, Ret: -int64(unix.EINVAL), Write: true,
		NewValue: uint32(policy.DefaultLogged), ValueKnown: true, Written: "bogus\n", WrittenLen: 6, WrittenKnown: true})
	f.r.Drained()
}

// sink is a writer that says when something was written: tests
// synchronise on what the stream wrote.
type sink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newSink() *sink { return &sink{wrote: make(chan struct{}, 1)} }

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *sink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSuffix(s.buf.String(), "\n"), "\n")
}

// waitFor returns the first line written that has want in it, once it is.
func (s *sink) waitFor(t *testing.T, want string) string {
	t.Helper()
	guard := time.After(time.Minute) // a failure bound, not a synchronisation
	for {
		for _, l := range s.lines() {
			if strings.Contains(l, want) {
				return l
			}
		}
		select {
		case <-s.wrote:
		case <-guard:
			t.Fatalf("no line with %s in:\n%s", want, strings.Join(s.lines(), "\n"))
		}
	}
}

// driveTicker replaces the summary ticker by ticks for the test; d gets
// the interval asked for.
func driveTicker(t *testing.T, d *time.Duration) chan time.Time {
	ticks := make(chan time.Time)
	old := newTicker
	newTicker = func(interval time.Duration) (<-chan time.Time, func()) {
		*d = interval
		return ticks, func() {}
	}
	t.Cleanup(func() { newTicker = old })
	return ticks
}

// serviceRun is watch --service on a replayed session: the stream, its
// metrics, and periodic summaries on a ticker the test drives.
type serviceRun struct {
	st    *stream
	out   *sink
	r     *session.Replay
	f     *feeder
	ticks chan time.Time
	// interval is what the summary ticker was asked for.
	interval time.Duration
	stop     func()
}

func startServiceRun(t *testing.T, interval time.Duration, commLimit int) *serviceRun {
	sr := &serviceRun{out: newSink()}
	sr.ticks = driveTicker(t, &sr.interval)
	pr, err := newPrinter(sr.out, "json", false)
	if err != nil {
		t.Fatal(err)
	}
	sr.st = &stream{pr: pr, m: newMetrics(labelLimits{comm: commLimit})}
	sr.r = session.NewReplay(session.Options{Wait: time.Hour, OnEvent: sr.st.onEvent, OnIdle: sr.st.onIdle}, policy.ModelPost418, policy.DefaultLogged)
	sr.st.m.setSource(sr.r.Progress)
	replayFilters(t, sr.r)
	sr.f = &feeder{t: t, r: sr.r}
	sr.stop = sr.st.startSummaries(interval, sr.r.Progress, os.Stderr)
	return sr
}

// tick sends a tick at now and returns the summary line it wrote.
func (sr *serviceRun) tick(t *testing.T, now time.Time) summaryJSON {
	t.Helper()
	sr.ticks <- now
	line := sr.out.waitFor(t, `"time":"`+now.UTC().Format(time.RFC3339Nano)+`"`)
	var s summaryJSON
	if err := json.Unmarshal([]byte(line), &s); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return s
}

// finish stops the summaries, finishes the replay and writes the final line.
func (sr *serviceRun) finish(t *testing.T) (*session.Report, summaryJSON) {
	t.Helper()
	sr.stop()
	rep, err := sr.r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := sr.st.writeSummary(time.Unix(1800000000, 0), func(tl *runTally) summaryJSON { return tl.final(rep) }); err != nil {
		t.Fatal(err)
	}
	lines := sr.out.lines()
	var s summaryJSON
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || !s.Final {
		t.Fatalf("last line is not the final summary (%v): %s", err, lines[len(lines)-1])
	}
	return rep, s
}

// counts is what two summaries must agree on.
func counts(s summaryJSON) summaryJSON {
	s.Time, s.Final, s.Result, s.Reasons = "", false, "", nil
	return s
}

// TestServiceSummaryInterval: a summary line comes at each tick of the
// --summary-interval ticker with the counts so far, and the final line
// has the report's counts, which the last tally agrees with.
func TestServiceSummaryInterval(t *testing.T) {
	sr := startServiceRun(t, 90*time.Second, 0)
	if sr.interval != 90*time.Second {
		t.Fatalf("ticker asked for %s, want 90s", sr.interval)
	}
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	if s := sr.tick(t, t0); s.Decisions != 0 || s.Final || s.Verdicts["ok-silent"] != 0 || len(s.PerAction) != 0 {
		t.Fatalf("first summary, before any event: %+v", s)
	}
	for range 3 {
		sr.f.silent(200, "app")
	}
	sr.f.logged(200, "app", "")
	s1 := sr.tick(t, t0.Add(90*time.Second))
	if s1.Decisions != 4 || s1.Verdicts["ok-silent"] != 3 || s1.Verdicts["ok-logged"] != 1 || s1.Audit.Delivered != 1 || s1.Audit.Emissions != 1 ||
		!reflect.DeepEqual(s1.PerAction, map[string]*actionSummary{"errno": {3, 0, 3}, "log": {1, 1, 0}}) {
		t.Fatalf("after 4 decisions: %+v", s1)
	}
	sr.f.logged(201, "app", "rate limit exceeded")
	sr.f.write(202)
	s2 := sr.tick(t, t0.Add(180*time.Second))
	rep, final := sr.finish(t)
	// The write waits for its CONFIG_CHANGE record until the end: the
	// second summary has the decision, the final one the write too.
	if s2.Decisions != 5 || s2.Audit.Lost != 1 || s2.Audit.LostByReason["rate_limit"] != 1 || s2.Inconclusive != 1 || s2.Writes != 0 {
		t.Fatalf("after the lost record: %+v", s2)
	}
	if final.Result != rep.Class.String() || final.Writes != 1 || final.Decisions != rep.Decisions || final.Violations != rep.Violations ||
		final.Inconclusive != rep.Inconclusive {
		t.Fatalf("final %+v, report %+v", final, rep)
	}
	// Once every event is out, the tally says what the report says.
	s3 := sr.st.t.summary(session.Progress{})
	if got, want := counts(s3), counts(final); !reflect.DeepEqual(got, want) {
		t.Errorf("tally and report disagree:\ntally  %+v\nreport %+v", got, want)
	}
}

// TestServiceLines: every line watch --service writes has "v" and
// "event", and docs/events.md documents every key of every kind.
func TestServiceLines(t *testing.T) {
	sr := startServiceRun(t, time.Minute, 0)
	sr.f.silent(300, "app")
	sr.f.logged(300, "app", "")
	sr.f.logged(300, "app", "backlog limit exceeded")
	sr.tick(t, time.Unix(1700000000, 0))
	sr.f.write(301)
	sr.finish(t)
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "events.md"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, line := range sr.out.lines() {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		kind, _ := obj["event"].(string)
		if obj["v"] != float64(schemaVersion) || kind == "" {
			t.Errorf("line without v=%d or event: %s", schemaVersion, line)
		}
		kinds[kind]++
		for _, key := range keysOf(obj, "") {
			if !bytes.Contains(doc, []byte("`"+key+"`")) {
				t.Errorf("docs/events.md does not document %s's key `%s`", kind, key)
			}
		}
	}
	if kinds["decision"] != 3 || kinds["actions_logged_write"] != 1 || kinds["summary"] != 2 || len(kinds) != 3 {
		t.Errorf("line kinds %v, want 3 decisions, 1 write, 2 summaries", kinds)
	}
}

// keysOf lists obj's keys, nested ones as parent.key (arrays of objects
// as parent[].key); the keys of maps keyed by data (per_action,
// verdicts, ..._by_...) are values, not schema.
func keysOf(obj map[string]any, prefix string) []string {
	var out []string
	for k, v := range obj {
		out = append(out, prefix+k)
		if k == "per_action" || k == "verdicts" || strings.Contains(k, "_by_") {
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			out = append(out, keysOf(v, prefix+k+".")...)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					out = append(out, keysOf(m, prefix+k+"[].")...)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestServiceReopenOnSIGHUP: after logrotate renames --output-file and
// sends SIGHUP, the lines go on in a new file of the same name; none is
// lost, none is split or repeated. The test writes until the new file
// has a line (it synchronises on what was written), then some more.
func TestServiceReopenOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	file, err := openOutFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	stop := onHangup(file, &stderr)
	defer stop()
	pr, err := newPrinter(file, "json", false)
	if err != nil {
		t.Fatal(err)
	}
	st := &stream{pr: pr}
	r := session.NewReplay(session.Options{Wait: time.Hour, OnEvent: st.onEvent, OnIdle: st.onIdle}, policy.ModelPost418, policy.DefaultLogged)
	replayFilters(t, r)
	f := &feeder{t: t, r: r}
	for range 100 {
		f.silent(400, "app")
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	guard := time.Now().Add(time.Minute) // a failure bound
	for {
		f.silent(400, "app")
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(guard) {
			t.Fatal("no line reached a new file after SIGHUP")
		}
	}
	for range 100 {
		f.silent(400, "app")
	}
	if _, err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	old, now := seqsOf(t, path+".1"), seqsOf(t, path)
	all := append(old, now...)
	if len(old) < 100 || len(now) < 100 || len(all) != int(f.seq) {
		t.Fatalf("%d lines in the rotated file, %d in the new one, %d decisions fed", len(old), len(now), f.seq)
	}
	for i, seq := range all {
		if seq != uint64(i+1) {
			t.Fatalf("line %d has decision %d: lost or repeated", i, seq)
		}
	}
	t.Logf("%d lines before the reopen, %d after; stderr %q", len(old), len(now), stderr.String())
}

// seqsOf reads the decisions' seq of a JSON Lines file, in order.
func seqsOf(t *testing.T, path string) []uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p pairJSON
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.V != schemaVersion {
			t.Fatalf("%s: bad line %q: %v", path, sc.Text(), err)
		}
		out = append(out, p.Seq)
	}
	return out
}

// repoRoot is the folder of go.mod above the working directory: the
// package's folder under go test, the repository's in the VM suite.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = up
	}
}
