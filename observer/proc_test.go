// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// taskRecord builds an ST_REC_TASK record as the probe sends it: the
// header and exe_len bytes of the path.
func taskRecord(tgid uint32, cgroup uint64, exe string, flags gen.SeccompStFlags) []byte {
	var r gen.SeccompStTaskInfo
	r.Kind, r.Flags = uint32(gen.SeccompStRecordKindST_REC_TASK), uint32(flags)
	r.Task.Tgid, r.Task.Tid, r.Task.CgroupId, r.Task.KtimeNs = tgid, tgid, cgroup, 1
	copy(r.Task.Comm[:], []int8{'a', 'p', 'p'})
	r.Ppid, r.Loginuid, r.Sessionid, r.Mntns, r.Pidns = 1, 1000, 7, 4026531841, 4026531836
	r.ExeLen, r.ExeIno = uint32(len(exe)), 12345
	return append(testutil.RawOf(&r)[:unsafe.Offsetof(r.Exe)], exe...)
}

func goneRecord(tgid uint32) []byte {
	r := gen.SeccompStTaskGone{Kind: uint32(gen.SeccompStRecordKindST_REC_TASK_GONE), Tgid: tgid}
	return testutil.RawOf(&r)
}

func decisionRecord(tgid uint32, cgroup uint64) []byte {
	var r gen.SeccompStDecision
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
	r.Task.Tgid, r.Task.Tid, r.Task.CgroupId, r.Task.KtimeNs = tgid, tgid+1, cgroup, 2
	r.Seq, r.ThisSyscall, r.Chain = 1, 110, 0x9000
	return testutil.RawOf(&r)
}

// A process record names every later record of its process, survives the
// process for late questions, and a record after exec replaces it.
func TestDecodeProc(t *testing.T) {
	dir := t.TempDir()
	scope := filepath.Join(dir, "system.slice", "docker-"+strings.Repeat("ab", 32)+".scope")
	if err := os.MkdirAll(scope, 0o755); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(scope, &st); err != nil {
		t.Fatal(err)
	}
	o := NewDecoder(RetInt)
	o.SetCgroups(cgroups.NewResolver(dir))

	ev, err := o.Decode(taskRecord(500, st.Ino, "/usr/bin/app", 0))
	if err != nil {
		t.Fatal(err)
	}
	p := ev.(*Proc)
	want := Proc{Tgid: 500, PPid: 1, Exe: "/usr/bin/app", LoginUID: 1000, SessionID: 7, MntNS: 4026531841, PidNS: 4026531836,
		CgroupID: st.Ino, Cgroup: p.Cgroup, Comm: "app", Time: p.Time}
	if *p != want || p.Cgroup == nil || p.Cgroup.ContainerID != strings.Repeat("ab", 32) || p.Cgroup.Runtime != "docker" {
		t.Fatalf("got %+v (cgroup %+v)\nwant %+v", *p, p.Cgroup, want)
	}
	ev, err = o.Decode(decisionRecord(500, st.Ino))
	if err != nil {
		t.Fatal(err)
	}
	d := ev.(*Decision)
	if d.Proc != p || d.Cgroup != p.Cgroup {
		t.Errorf("decision: proc %p cgroup %p, want %p %p", d.Proc, d.Cgroup, p, p.Cgroup)
	}
	// Another process, never sent: no Proc; an unknown cgroup: none.
	ev, _ = o.Decode(decisionRecord(501, 999999999))
	if d := ev.(*Decision); d.Proc != nil || d.Cgroup != nil {
		t.Errorf("unknown process: proc %+v cgroup %+v", d.Proc, d.Cgroup)
	}

	// Gone: later records have no Proc, but the report can still ask.
	if _, err := o.Decode(goneRecord(500)); err != nil {
		t.Fatal(err)
	}
	ev, _ = o.Decode(decisionRecord(500, st.Ino))
	if ev.(*Decision).Proc != nil {
		t.Errorf("a gone process still names new records")
	}
	if o.Proc(500) != p {
		t.Errorf("Proc(500) after it went: %+v", o.Proc(500))
	}
	// Exec: a new record, flagged deleted; without CONFIG_AUDIT no login.
	ev, _ = o.Decode(taskRecord(500, st.Ino, "/memfd:x", gen.SeccompStFlagsST_F_EXE_DELETED|gen.SeccompStFlagsST_F_NO_LOGINUID))
	p2 := ev.(*Proc)
	if p2.Exe != "/memfd:x (deleted)" || p2.LoginUID != AuditUnset || p2.SessionID != AuditUnset || o.Proc(500) != p2 {
		t.Errorf("after exec: %+v", p2)
	}
	// No mm: no exe. A path the probe could not walk whole, for a process
	// /proc does not show: its end, marked.
	ev, _ = o.Decode(taskRecord(502, 0, "", gen.SeccompStFlagsST_F_EXE_UNKNOWN))
	if p := ev.(*Proc); p.Exe != "" || p.ExeTruncated {
		t.Errorf("no mm: %+v", p)
	}
	ev, _ = o.Decode(taskRecord(0xfffffff0, 0, "/b/c/d", gen.SeccompStFlagsST_F_EXE_TRUNCATED))
	if p := ev.(*Proc); p.Exe != ".../b/c/d" || !p.ExeTruncated {
		t.Errorf("truncated: %+v", p)
	}
	// Bad records: one clear error each.
	for _, raw := range [][]byte{taskRecord(1, 0, "/x", 0)[:40], append(taskRecord(1, 0, "/x", 0)[:unsafe.Offsetof(gen.SeccompStTaskInfo{}.Exe)-8], make([]byte, 8)...)} {
		if _, err := o.Decode(raw); err == nil {
			t.Errorf("short record %d bytes decoded", len(raw))
		}
	}
}

// The probe keeps the last names of a deep path; /proc gives the whole
// path while the process lives and its exe is still the same file.
func TestProcExe(t *testing.T) {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	pid := uint32(os.Getpid())
	if exe, ok := procExe(pid, st.Ino); !ok || exe != self {
		t.Errorf("procExe = %q, %v; want %q", exe, ok, self)
	}
	if _, ok := procExe(pid, st.Ino+1); ok {
		t.Errorf("another inode accepted")
	}
	if _, ok := procExe(pid, 0); ok {
		t.Errorf("inode 0 accepted")
	}
}
