// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// attribChild is one workload child of TestAttributionVM: where the test
// places it, the loginuid it gives itself, and what it reported.
type attribChild struct {
	name     string
	cgroup   string // path in the hierarchy, "" to stay in the test's cgroup
	loginuid uint32 // observer.AuditUnset: left unset
	scenario workload.Scenario
	killed   bool
	rep      workload.GateReport
}

// nsInode is the inode number of one of this process's namespaces.
func nsInode(t *testing.T, ns string) uint32 {
	t.Helper()
	link, err := os.Readlink("/proc/self/ns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, ns+":["), "]"), 10, 32)
	if err != nil {
		t.Fatalf("%s: %v", link, err)
	}
	return uint32(v)
}

// startGatedAs starts a gated workload child under the loginuid auid
// (observer.AuditUnset: none set). A loginuid is per thread, and a Go
// child has threads before its main runs: so the child is forked from a
// thread of this process that sets it first, and every thread of the child
// inherits it, as a login's processes inherit pam_loginuid's. The thread
// stays locked, so it ends with its goroutine, and its loginuid with it.
func startGatedAs(s workload.Scenario, result string, auid uint32) (*workload.Gated, error) {
	type started struct {
		g   *workload.Gated
		err error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		if auid != observer.AuditUnset {
			if err := os.WriteFile("/proc/thread-self/loginuid", []byte(fmt.Sprint(auid)), 0); err != nil {
				ch <- started{err: fmt.Errorf("setting the loginuid: %w", err)}
				return
			}
		}
		g, err := workload.StartGated(s, result)
		ch <- started{g, err}
	}()
	r := <-ch
	return r.g, r.err
}

// cgroupMount is the guest's cgroup2 mount, mounted here if the guest has none.
func cgroupMount(t *testing.T) string {
	t.Helper()
	if mount, _, err := cgroups.NewResolver("").Mount(); err == nil {
		return mount
	}
	if err := unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, ""); err != nil {
		testutil.Missing(t, "no cgroup2 hierarchy, and mounting one: %v", err)
	}
	t.Logf("mounted cgroup2 at /sys/fs/cgroup")
	return "/sys/fs/cgroup"
}

// TestAttributionVM: workload children placed in cgroups the test makes
// (named as docker and podman name theirs) before they install their
// filters, under loginuids they set themselves; watch must name each
// decision's exe, parent, auid, session, namespaces, cgroup, container and
// unit exactly, name a KILL_PROCESS victim after it died, and --cgroup
// and --container must select exactly the decisions of the children in
// those cgroups.
func TestAttributionVM(t *testing.T) {
	inVM(t)
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	mount := cgroupMount(t)
	idA, idB := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
	parent := "/seccomptrace-vmtest.slice"
	cgA, cgB := parent+"/docker-"+idA+".scope", parent+"/libpod-"+idB+".scope"
	for _, p := range []string{parent, cgA, cgB} {
		if err := os.Mkdir(filepath.Join(mount, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, p := range []string{cgA, cgB, parent} {
			if err := os.Remove(filepath.Join(mount, p)); err != nil {
				t.Errorf("removing cgroup: %v", err)
			}
		}
	})
	const n = 3
	logged := workload.Scenario{
		Filters: []workload.FilterSpec{{Log: true, Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}}},
		Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: n}},
	}
	kill := workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.KillProcess}}}},
		Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: 1}},
	}
	// A thread killed inside the filter: its decision is sent from its
	// exit, after exit_mm, and is its process's first.
	killThread := workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.KillThread}}}},
		Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: 1, Thread: true}},
	}
	mntns, pidns := nsInode(t, "mnt"), nsInode(t, "pid")

	// watch runs the children's way: the same three children each time,
	// A and B in their cgroups, C (the same calls as A) in the test's.
	watch := func(t *testing.T, args ...string) (string, map[string]*attribChild) {
		t.Helper()
		children := map[string]*attribChild{
			"A": {name: "A", cgroup: cgA, loginuid: 4242, scenario: logged},
			"B": {name: "B", cgroup: cgB, loginuid: 4343, scenario: kill, killed: true},
			"C": {name: "C", loginuid: 4444, scenario: logged},
			"D": {name: "D", cgroup: cgA, loginuid: observer.AuditUnset, scenario: killThread},
		}
		ready := filepath.Join(t.TempDir(), "ready")
		if err := unix.Mkfifo(ready, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, errOut bytes.Buffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, append([]string{"watch", "--ready-file", ready}, args...), &out, &errOut)
		}()
		// Opening the FIFO waits for watch to write it: the probes are
		// attached. A watch that fails never does: it returns instead.
		attached := make(chan error, 1)
		go func() {
			_, err := os.ReadFile(ready)
			attached <- err
		}()
		select {
		case err := <-attached:
			if err != nil {
				t.Fatal(err)
			}
		case err := <-done:
			// Unblock the reader: nobody else will open the FIFO.
			if f, ferr := os.OpenFile(ready, os.O_WRONLY, 0); ferr == nil {
				f.Close()
			}
			t.Fatalf("watch %v ended before attaching: %v\n%s", args, err, errOut.String())
		}
		for _, name := range []string{"A", "B", "C", "D"} {
			c := children[name]
			result := filepath.Join(t.TempDir(), "result-"+name)
			g, err := startGatedAs(c.scenario, result, c.loginuid)
			if err != nil {
				t.Fatalf("child %s: %v", name, err)
			}
			c.rep = g.Report
			if c.cgroup != "" {
				// Placed before it installs its filter: every decision is in the cgroup.
				if err := os.WriteFile(filepath.Join(mount, c.cgroup, "cgroup.procs"), []byte(strconv.Itoa(c.rep.Pid)), 0); err != nil {
					g.Open()
					g.Cmd.Wait()
					t.Fatalf("placing child %s: %v", name, err)
				}
			}
			g.Open()
			werr := g.Cmd.Wait()
			if c.killed {
				if ws, ok := g.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
					t.Fatalf("child %s: %v, want death by SIGSYS", name, g.Cmd.ProcessState)
				}
			} else if werr != nil {
				t.Fatalf("child %s: %v", name, werr)
			}
			if c.rep.LoginUID != c.loginuid || (c.loginuid != observer.AuditUnset) != (c.rep.SessionID != observer.AuditUnset) {
				t.Fatalf("child %s: loginuid %d session %d, want %d and a session when set", name, c.rep.LoginUID, c.rep.SessionID, c.loginuid)
			}
		}
		// Every child has exited: its records are all in the ring.
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("watch %v: %v\n%s", args, err, errOut.String())
		}
		t.Logf("watch %v:\n%s%s", args, out.String(), errOut.String())
		return out.String(), children
	}
	// want is what a child's lines must say about who it is.
	want := func(c *attribChild, cgroup, container, runtime, unit string) pairJSON {
		u := func(v uint32) *uint32 { return &v }
		return pairJSON{Pid: uint32(c.rep.Pid), Exe: exe, PPid: u(uint32(os.Getpid())), AUID: u(c.loginuid), SessionID: u(c.rep.SessionID),
			MntNS: u(mntns), PidNS: u(pidns), cgroupJSON: cgroupJSON{Cgroup: cgroup, ContainerID: container, Runtime: runtime, Unit: unit}}
	}
	who := func(p pairJSON) string {
		s := func(v *uint32) string {
			if v == nil {
				return "-"
			}
			return fmt.Sprint(*v)
		}
		return fmt.Sprintf("pid %d exe %q ppid %s auid %s ses %s mntns %s pidns %s cgroup %q container %q (%q) unit %q user unit %q",
			p.Pid, p.Exe, s(p.PPid), s(p.AUID), s(p.SessionID), s(p.MntNS), s(p.PidNS), p.Cgroup, p.ContainerID, p.Runtime, p.Unit, p.UserUnit)
	}

	t.Run("cgroup", func(t *testing.T) {
		// The parent slice: A and B, not C.
		out, children := watch(t, "--output", "json", "--cgroup", filepath.Join(mount, parent))
		wants := map[int]pairJSON{
			children["A"].rep.Pid: want(children["A"], cgA, idA, "docker", "docker-"+idA+".scope"),
			children["B"].rep.Pid: want(children["B"], cgB, idB, "podman", "libpod-"+idB+".scope"),
			children["D"].rep.Pid: want(children["D"], cgA, idA, "docker", "docker-"+idA+".scope"),
		}
		got := map[int][]string{}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var p pairJSON
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
				t.Fatalf("bad line %q: %v", sc.Text(), err)
			}
			w, ok := wants[int(p.Pid)]
			if !ok {
				t.Errorf("a line of pid %d, not a child in %s: %s", p.Pid, parent, sc.Text())
				continue
			}
			if p.Action != "allow" { // 5.10 has no action cache: the runtime's ALLOWs stream too
				got[int(p.Pid)] = append(got[int(p.Pid)], p.Syscall+" "+p.Action)
			}
			if who(p) != who(w) {
				t.Errorf("pid %d %s:\n got %s\nwant %s", p.Pid, p.Syscall, who(p), who(w))
			}
		}
		// A's three logged EPERMs; B's one KILL_PROCESS, named after it died.
		if a := got[children["A"].rep.Pid]; strings.Join(a, ",") != strings.Repeat("getppid errno(1),", n-1)+"getppid errno(1)" {
			t.Errorf("child A: %v", a)
		}
		if b := got[children["B"].rep.Pid]; strings.Join(b, ",") != "getppid kill_process" {
			t.Errorf("child B: %v", b)
		}
		// D's thread, killed inside the filter, named from its exit.
		if d := got[children["D"].rep.Pid]; strings.Join(d, ",") != "getppid kill_thread" {
			t.Errorf("child D: %v", d)
		}
	})
	t.Run("container wide", func(t *testing.T) {
		// B alone, by the first digits of its container id, in text columns.
		out, children := watch(t, "--wide", "--container", idB[:12])
		b := children["B"]
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[0], textHeaderWide[:40]) {
			t.Fatalf("want the header and B's lines, got:\n%s", out)
		}
		// TIME PID TID COMM PPID AUID SES CONTAINER UNIT EXE SYSCALL ACTION ...
		kills := 0
		for _, line := range lines[1:] {
			f := strings.Fields(line)
			if len(f) < 12 {
				t.Fatalf("short line %q", line)
			}
			wantCols := []string{strconv.Itoa(b.rep.Pid), strconv.Itoa(os.Getpid()), "4343", fmt.Sprint(b.rep.SessionID), idB[:12], "libpod-" + idB + ".scope", exe}
			if got := []string{f[1], f[4], f[5], f[6], f[7], f[8], f[9]}; strings.Join(got, " ") != strings.Join(wantCols, " ") {
				t.Errorf("line:\n%s\nwant columns %v", line, wantCols)
			}
			switch f[10] + " " + f[11] {
			case "getppid kill_process":
				kills++
			default:
				if f[11] != "allow" { // 5.10: the runtime's ALLOWs stream too
					t.Errorf("unexpected decision: %s", line)
				}
			}
		}
		if kills != 1 {
			t.Errorf("%d KILL_PROCESS lines of B, want 1", kills)
		}
	})
}
