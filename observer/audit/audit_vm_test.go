// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

func TestMain(m *testing.M) {
	workload.RunChildIfRequested()
	os.Exit(m.Run())
}

// openReader joins the multicast group, or skips (host) / fails (VM).
func openReader(t *testing.T, opts audit.ReaderOptions) *audit.Reader {
	t.Helper()
	if !testutil.InVM() && os.Geteuid() != 0 {
		t.Skip("needs root (CAP_AUDIT_READ) to read audit multicast; run `make vmtest`")
	}
	r, err := audit.NewReader(opts)
	if err != nil {
		testutil.Missing(t, "no audit multicast reader (%v)", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// runChild runs s in a workload child and waits for it to end.
func runChild(t *testing.T, s workload.Scenario) *workload.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "result.json")
	cmd, err := workload.Spawn(s, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("workload child: %v", err)
	}
	res, err := workload.ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// marker is one LOG-action getppid in a child of its own: its record is
// queued after every record of a child that has already exited, and
// kauditd multicasts its queue in order, so once the marker's record is
// read every earlier record has been delivered (or dropped).
var marker = workload.Scenario{
	Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Log}}}},
	Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: 1}},
}

// collected is what read until a marker's record arrived.
type collected struct {
	byPid    map[int32][]audit.Seccomp
	overruns []audit.Event
	others   int
}

// readUntilMarker spawns a marker child and reads until its record
// arrives. A marker whose record was itself dropped (tiny buffers) is
// retried up to tries times; wait bounds each try and is a failure bound
// only: nothing here sleeps.
func readUntilMarker(t *testing.T, r *audit.Reader, tries int, wait time.Duration) collected {
	t.Helper()
	c := collected{byPid: map[int32][]audit.Seccomp{}}
	for try := 1; ; try++ {
		// Read while the marker runs: a socket left full by a flood
		// stays congested, dropping everything, until it is read empty.
		path := filepath.Join(t.TempDir(), "marker.json")
		cmd, err := workload.Spawn(marker, path)
		if err != nil {
			t.Fatal(err)
		}
		pid := int32(cmd.Process.Pid)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		found := false
		for !found {
			ev, err := r.Read(ctx)
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			switch {
			case ev.Overrun:
				c.overruns = append(c.overruns, ev)
			case ev.Err != nil:
				cancel()
				t.Fatalf("malformed record type %d %q: %v", ev.Record.Type, ev.Record.Raw, ev.Err)
			case ev.Record.Seccomp != nil:
				sc := *ev.Record.Seccomp
				if sc.Pid == pid {
					found = true
					break
				}
				c.byPid[sc.Pid] = append(c.byPid[sc.Pid], sc)
			default:
				c.others++
			}
		}
		cancel()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("marker child: %v", err)
		}
		if _, err := workload.ReadResult(path); err != nil {
			t.Fatal(err)
		}
		if found {
			return c
		}
		if try >= tries {
			t.Fatalf("the marker's record (pid %d) did not arrive within %v, %d tries", pid, wait, tries)
		}
		t.Logf("marker %d: no record within %v (dropped?); again", pid, wait)
	}
}

// TestSeccompRecords: a child makes exactly n calls under each of four
// filters; exactly the logged ones give n records each, with the kernel's
// fields, and nothing is lost.
func TestSeccompRecordsVM(t *testing.T) {
	r := openReader(t, audit.ReaderOptions{})
	const n = 7
	s := workload.Scenario{
		Filters: []workload.FilterSpec{
			{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}, Log: true},
			{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}},
			{Rules: []workload.Rule{{Nr: unix.SYS_GETSID, Action: policy.Trap}}, Log: true},
			// Not logged: ERRNO without FLAG_LOG.
			{Rules: []workload.Rule{{Nr: unix.SYS_GETGID, Action: policy.Errno | 2}}},
		},
		Calls: []workload.Call{
			{Nr: unix.SYS_GETPPID, Count: n},
			{Nr: workload.NrGetpgrp, Count: n},
			{Nr: unix.SYS_GETSID, Count: n},
			{Nr: unix.SYS_GETGID, Count: n},
		},
	}
	res := runChild(t, s)
	if got := res.Calls[0].Errnos[1]; got != n {
		t.Fatalf("child: getppid gave EPERM %d times, want %d: %v", got, n, res.Calls[0].Errnos)
	}
	c := readUntilMarker(t, r, 1, 60*time.Second)

	want := map[int64]struct {
		code uint32
		sig  int64
		n    int
	}{
		unix.SYS_GETPPID:   {policy.Errno, 0, n},
		workload.NrGetpgrp: {policy.Log, 0, n},
		unix.SYS_GETSID:    {policy.Trap, 0, n},
		unix.SYS_GETGID:    {0, 0, 0},
	}
	exe, _ := os.Executable()
	comm := filepath.Base(exe)
	if len(comm) > 15 {
		comm = comm[:15]
	}
	got := map[int64]int{}
	var prev audit.Stamp
	for _, sc := range c.byPid[int32(res.Pid)] {
		got[sc.Syscall]++
		w, ok := want[sc.Syscall]
		switch {
		case !ok || w.n == 0:
			t.Errorf("unexpected record %+v", sc)
		case sc.Code != w.code || sc.Sig != w.sig || sc.Arch != sysnames.Native || sc.Compat:
			t.Errorf("syscall %d: code=%#x sig=%d arch=%x compat=%v, want code=%#x sig=%d arch=%x compat=false",
				sc.Syscall, sc.Code, sc.Sig, sc.Arch, sc.Compat, w.code, w.sig, sysnames.Native)
		}
		if sc.Comm != comm || sc.ExeNull || sc.IP == 0 || sc.UID != uint32(os.Getuid()) {
			t.Errorf("record fields: %+v (want comm %q, exe set, ip nonzero, uid %d)", sc, comm, os.Getuid())
		}
		// Each record of a skipped syscall is an event of its own (§5.2).
		if sc.Stamp.Serial <= prev.Serial {
			t.Errorf("serial %d after %d: not a fresh increasing serial", sc.Stamp.Serial, prev.Serial)
		}
		prev = sc.Stamp
	}
	for nr, w := range want {
		if got[nr] != w.n {
			t.Errorf("syscall %d: %d records, want %d", nr, got[nr], w.n)
		}
	}
	drops, err := r.Drops()
	if err != nil {
		t.Error(err)
	}
	if r.Overruns() != 0 || len(c.overruns) != 0 || drops != 0 {
		t.Errorf("%d overruns (%d events), %d drops, want none", r.Overruns(), len(c.overruns), drops)
	}
	t.Logf("pid %d: %d records %v; %d other records; rcvbuf %d; overruns %d; drops %d",
		res.Pid, len(c.byPid[int32(res.Pid)]), got, c.others, r.RcvBuf(), r.Overruns(), drops)
}

// TestOverrunTinyBuffer: the "tiny multicast receive buffer" loss of
// issue 4. A child floods LOG records while nobody reads a socket with the
// smallest buffer the kernel allows; the reader must report the ENOBUFS.
func TestOverrunTinyBufferVM(t *testing.T) {
	r := openReader(t, audit.ReaderOptions{RcvBuf: 1})
	const n = 2000
	res := runChild(t, workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}}},
		Calls:   []workload.Call{{Nr: workload.NrGetpgrp, Count: n}},
	})
	c := readUntilMarker(t, r, 5, 20*time.Second)
	got := len(c.byPid[int32(res.Pid)])
	drops, err := r.Drops()
	if err != nil {
		t.Error(err)
	}
	t.Logf("rcvbuf %d: %d of %d records read, %d overrun events (Overruns %d), %d drops",
		r.RcvBuf(), got, n, len(c.overruns), r.Overruns(), drops)
	if r.Overruns() == 0 || len(c.overruns) == 0 {
		t.Fatalf("no overrun reported")
	}
	if uint64(len(c.overruns)) != r.Overruns() {
		t.Errorf("%d overrun events but Overruns() = %d", len(c.overruns), r.Overruns())
	}
	if got >= n {
		t.Errorf("all %d records arrived through a %d-byte buffer", got, r.RcvBuf())
	}
	if got+int(drops) < n {
		t.Errorf("%d read + %d dropped < %d sent", got, drops, n)
	}
	if c.overruns[0].Overruns != 1 || c.overruns[0].Received.IsZero() {
		t.Errorf("first overrun event: %+v", c.overruns[0])
	}
}

// TestCloseUnblocksMulticastRead: Close ends a Read blocked on the joined socket.
func TestCloseUnblocksMulticastReadVM(t *testing.T) {
	r := openReader(t, audit.ReaderOptions{})
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := r.Read(context.Background()); err != nil {
				done <- err
				return
			}
		}
	}()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, audit.ErrClosed) {
			t.Fatalf("Read after Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

// TestSetStatusAndConfigChange (VM only: it changes audit state, and
// restores it): AUDIT_SET round-trips, and with audit enabled a write of
// actions_logged gives the CONFIG_CHANGE record of docs/kernel-semantics.md §5.3.
func TestSetStatusAndConfigChangeVM(t *testing.T) {
	testutil.RequireVM(t)
	r := openReader(t, audit.ReaderOptions{})
	orig, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := audit.SetStatus(audit.StatusEnabled|audit.StatusRateLimit, orig); err != nil {
			t.Errorf("restoring audit status: %v", err)
		}
	})
	if err := audit.SetStatus(audit.StatusRateLimit, audit.Status{RateLimit: 1234}); err != nil {
		t.Fatal(err)
	}
	if err := audit.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	st, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.Enabled != 1 || st.RateLimit != 1234 {
		t.Fatalf("after AUDIT_SET: enabled=%d rate_limit=%d", st.Enabled, st.RateLimit)
	}
	if _, err := audit.ResetLost(); err != nil {
		t.Fatal(err)
	}
	if err := audit.SetStatus(audit.StatusRateLimit, orig); err != nil {
		t.Fatal(err)
	}

	const path = "/proc/sys/kernel/seccomp/actions_logged"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := policy.ParseActionsLoggedRead(string(b))
	if err != nil {
		t.Fatal(err)
	}
	// Write the value back unchanged: a record, and nothing altered.
	if err := os.WriteFile(path, []byte(cur.String()), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		ev, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the CONFIG_CHANGE record: %v", err)
		}
		if ev.Err != nil {
			t.Fatalf("malformed record type %d %q: %v", ev.Record.Type, ev.Record.Raw, ev.Err)
		}
		cc := ev.Record.ConfigChange
		if cc == nil {
			continue
		}
		t.Logf("type %d %s", ev.Record.Type, ev.Record.Raw)
		want := cur.AuditString()
		if cc.Actions != want || cc.OldActions != want || cc.Res != 1 {
			t.Errorf("got actions=%s old-actions=%s res=%d, want actions=%s old-actions=%s res=1",
				cc.Actions, cc.OldActions, cc.Res, want, want)
		}
		for _, s := range []string{cc.Actions, cc.OldActions} {
			if l, err := audit.ParseActionList(s); err != nil || l.Set != cur || !l.Canonical {
				t.Errorf("ParseActionList(%q) = %+v, %v", s, l, err)
			}
		}
		return
	}
}

// TestListExcludeRuleVM (VM only: it changes the audit rules, and restores
// them) adds "-a never,exclude -F msgtype=SECCOMP" and a syscall rule over
// netlink, lists them back exactly as `auditctl -l` prints them, and
// deletes them.
func TestListExcludeRuleVM(t *testing.T) {
	testutil.RequireVM(t)
	before, err := audit.ListRules()
	if err != nil {
		t.Fatal(err)
	}
	if got := audit.ExcludeRules(before, audit.TypeSeccomp); len(got) != 0 {
		t.Fatalf("exclude rules before the test: %q", got)
	}
	const want = "-a never,exclude -F msgtype=SECCOMP"
	added := false
	t.Cleanup(func() {
		if added {
			if err := audit.DeleteExcludeRule(audit.TypeSeccomp); err != nil {
				t.Errorf("restoring the audit rules: %v", err)
			}
		}
	})
	if err := audit.AddExcludeRule(audit.TypeSeccomp); err != nil {
		t.Fatal(err)
	}
	added = true
	if err := audit.AddSyscallRule(sysnames.Native, unix.SYS_GETPID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := audit.DeleteSyscallRule(sysnames.Native, unix.SYS_GETPID); err != nil {
			t.Errorf("restoring the audit rules: %v", err)
		}
	})
	rules, err := audit.ListRules()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rules {
		lines = append(lines, r.String())
	}
	// Ground truth: auditctl's own listing of the same rules.
	out, err := exec.Command("auditctl", "-l").CombinedOutput()
	if err != nil {
		t.Fatalf("auditctl -l: %v: %s", err, out)
	}
	t.Logf("ListRules: %q\nauditctl -l:\n%s", lines, out)
	if got, want := strings.Join(lines, "\n")+"\n", string(out); got != want {
		t.Errorf("ListRules formats as\n%swant (auditctl -l)\n%s", got, want)
	}
	if got := audit.ExcludeRules(rules, audit.TypeSeccomp); len(got) != 1 || got[0] != want {
		t.Errorf("ExcludeRules(SECCOMP) = %q, want [%q]", got, want)
	}
	if got := audit.ExcludeRules(rules, audit.TypeConfigChange); len(got) != 0 {
		t.Errorf("ExcludeRules(CONFIG_CHANGE) = %q, want none", got)
	}
	if err := audit.DeleteExcludeRule(audit.TypeSeccomp); err != nil {
		t.Fatal(err)
	}
	added = false
	rules, err = audit.ListRules()
	if err != nil {
		t.Fatal(err)
	}
	if got := audit.ExcludeRules(rules, audit.TypeSeccomp); len(got) != 0 {
		t.Errorf("after deleting: exclude rules %q", got)
	}
	if len(rules) != len(before)+1 {
		t.Errorf("%d rules after deleting the exclude rule, want %d", len(rules), len(before)+1)
	}
}

// TestStatusSizeVM: from 5.9 the kernel's struct audit_status carries
// backlog_wait_time_actual; GetStatusReply says whether it came.
func TestStatusSizeVM(t *testing.T) {
	testutil.RequireVM(t)
	r, err := audit.GetStatusReply()
	if err != nil {
		t.Fatal(err)
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &major, &minor)
	newer := major > 5 || major == 5 && minor >= 9
	t.Logf("kernel %d.%d: %d-byte audit_status %+v", major, minor, r.Len, r.Status)
	if r.HasWaitTimeActual() != newer || (newer && r.Len != 44) || (!newer && r.Len != 40) {
		t.Errorf("kernel %d.%d sent a %d-byte audit_status", major, minor, r.Len)
	}
}
