// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// pipelineFilters are three filters as a container runtime and an
// application stack them: a 20-syscall allow list with a default
// ERRNO(EPERM) without FLAG_LOG (oldest), an allow-everything filter and an
// arch check (newest).
func pipelineFilters() [][]byte {
	arch := []cbpf.Instruction{
		cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, 4),
		cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ|cbpf.SrcK, 0xc000003e, 1, 0),
		cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.KillProcess),
	}
	allowList := append(append([]cbpf.Instruction(nil), arch...), cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, 0))
	const n = 20
	for i := range n {
		allowList = append(allowList, cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ|cbpf.SrcK, uint32(i), uint8(n-i), 0))
	}
	allowList = append(allowList, cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1), cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Allow))
	return [][]byte{
		testutil.FilterRecord(0x1000, false, allowList),
		testutil.FilterRecord(0x2000, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Allow)}),
		testutil.FilterRecord(0x3000, false, append(arch, cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Allow))),
		testutil.ChainRecord(testutil.Ref{Addr: 0x1000}), testutil.ChainRecord(testutil.Ref{Addr: 0x2000}, testutil.Ref{Addr: 0x1000}),
		testutil.ChainRecord(testutil.Ref{Addr: 0x3000}, testutil.Ref{Addr: 0x2000}, testutil.Ref{Addr: 0x1000}),
	}
}

// pipelineCgroups makes a tree of directories that stands for a cgroup v2
// hierarchy with three containers, and returns its resolver and the
// containers' cgroup ids (their inode numbers, as in cgroupfs).
func pipelineCgroups(b *testing.B) (*cgroups.Resolver, []uint64) {
	dir := b.TempDir()
	var ids []uint64
	for _, p := range []string{
		"system.slice/docker-" + strings.Repeat("3f", 32) + ".scope",
		"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b1e0f3c_2a44.slice/cri-containerd-" + strings.Repeat("0a", 32) + ".scope",
		"user.slice/user-1000.slice/user@1000.service/app.slice/app.service",
	} {
		path := filepath.Join(dir, p)
		if err := os.MkdirAll(path, 0o755); err != nil {
			b.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, st.Ino)
	}
	return cgroups.NewResolver(dir), ids
}

// taskRecord builds an ST_REC_TASK record: who process tgid is.
func taskRecord(tgid uint32, cgroup uint64, exe string) []byte {
	var r gen.SeccompStTaskInfo
	r.Kind = uint32(gen.SeccompStRecordKindST_REC_TASK)
	r.Task.Tgid, r.Task.Tid, r.Task.CgroupId = tgid, tgid, cgroup
	r.Ppid, r.Loginuid, r.Sessionid, r.Mntns, r.Pidns = 1, 1000, 3, 4026532201, 4026532204
	r.ExeLen, r.ExeIno = uint32(len(exe)), 1234
	return append(testutil.RawOf(&r)[:unsafe.Offsetof(r.Exe)], exe...)
}

// pipelineTasks are the process records of pipelineDecisions' processes.
func pipelineTasks(cgroupIDs []uint64) [][]byte {
	var out [][]byte
	for i, exe := range []string{"/usr/sbin/nginx", "/usr/lib/postgresql/15/bin/postgres", "/usr/bin/dash"} {
		out = append(out, taskRecord(4000+uint32(i), cgroupIDs[i], exe))
	}
	return out
}

// pipelineDecisions are decision records of 1 to 3 stacked filters, of
// three processes in three containers: half ALLOWs the action cache
// answered (streamed with --send-all), half ERRNO(EPERM) without
// FLAG_LOG: every one ok-silent, none waits for an audit record.
func pipelineDecisions(cgroupIDs []uint64) [][]byte {
	stacks := [][]uint64{{0x1000}, {0x2000, 0x1000}, {0x3000, 0x2000, 0x1000}}
	comms := []string{"nginx", "postgres", "sh"}
	var out [][]byte
	for si, stack := range stacks {
		for _, nr := range []int32{0, 3, 110, 102} {
			var r gen.SeccompStDecision
			r.Kind = uint32(gen.SeccompStRecordKindST_REC_DECISION)
			r.Task.Tgid, r.Task.Tid, r.Task.Uid, r.Task.Gid, r.Task.CgroupId = 4000+uint32(si), 4000+uint32(si), 1000, 1000, cgroupIDs[si]
			for i, c := range []byte(comms[si]) {
				r.Task.Comm[i] = int8(c)
			}
			r.ThisSyscall, r.Sd.Nr, r.Sd.Arch, r.Sd.InstructionPointer = nr, nr, 0xc000003e, 0x7f00deadbeef
			r.Sd.Args = [6]uint64{3, 0x7ffd1234, 4096}
			r.Chain = stack[0]
			r.Flags = uint32(gen.SeccompStFlagsST_F_SD_FROM_ARG | gen.SeccompStFlagsST_F_AUDIT_CTX | gen.SeccompStFlagsST_F_CACHE_PRESENT)
			if nr < 20 {
				r.Flags |= uint32(gen.SeccompStFlagsST_F_CACHE_HIT)
			} else {
				r.Ret = 0xffffffff // int -1: skip the syscall
			}
			out = append(out, testutil.RawOf(&r))
		}
	}
	return out
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipeline is the whole path of a decision record on the host:
// raw ring-buffer bytes, decoding and re-evaluation, naming the process
// and cgroup it belongs to, judging, the session's queue and hand-out, and
// watch's printer rendering the line to io.Discard (wide: text with the
// attribution columns), flushed each time the ring is drained (every
// batch records). The +metrics variants go through watch's stream as --metrics-addr (and
// --metrics-comm-limit) make it: the counts, the metrics, the lock.
func BenchmarkPipeline(b *testing.B) {
	const batch = 64
	var r gen.SeccompStDecision
	seqOff := unsafe.Offsetof(r.Seq)
	timeOff := unsafe.Offsetof(r.Task) + unsafe.Offsetof(r.Task.KtimeNs)
	for _, variant := range []string{"json", "text", "wide", "json+metrics", "json+metrics+comm"} {
		b.Run(variant, func(b *testing.B) {
			format, withMetrics, _ := strings.Cut(variant, "+")
			wide := format == "wide"
			if wide {
				format = "text"
			}
			pr, err := newPrinter(io.Discard, format, wide)
			if err != nil {
				b.Fatal(err)
			}
			emit, flush := pr.printEvent, pr.flush
			if withMetrics != "" {
				st := &stream{pr: pr, m: newMetrics(labelLimits{})}
				if withMetrics == "metrics+comm" {
					st.m = newMetrics(labelLimits{comm: 16})
				}
				emit, flush = st.onEvent, st.onIdle
			}
			cg, cgroupIDs := pipelineCgroups(b)
			events, silent, named := 0, 0, 0
			rp := session.NewReplay(session.Options{Wait: 2 * time.Second, OnEvent: func(e session.Event) error {
				events++
				if e.Judged != nil && e.Judged.Verdict == judge.OKSilent {
					silent++
				}
				if d := e.Judged.Decision; d != nil && d.Proc != nil && d.Cgroup != nil && d.Cgroup.ContainerID+d.Cgroup.UserUnit != "" {
					named++
				}
				return emit(e)
			}, OnIdle: flush}, policy.ModelPost418, policy.DefaultLogged)
			rp.SetCgroups(cg)
			for _, f := range append(pipelineFilters(), pipelineTasks(cgroupIDs)...) {
				if err := rp.Decode(f); err != nil {
					b.Fatal(err)
				}
			}
			recs := pipelineDecisions(cgroupIDs)
			b.ReportAllocs()
			cpu0 := processCPU(b)
			b.ResetTimer()
			for i := range b.N {
				raw := recs[i%len(recs)]
				binary.NativeEndian.PutUint64(raw[seqOff:], uint64(i+1))
				binary.NativeEndian.PutUint64(raw[timeOff:], 5_000_000_000+uint64(i)*1000)
				if err := rp.Decode(raw); err != nil {
					b.Fatal(err)
				}
				if i%batch == batch-1 {
					rp.Drained()
				}
			}
			b.StopTimer()
			cpu := processCPU(b) - cpu0
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			// CPU time counts what the process did (GC included), not
			// the time other processes held the core: per core.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			rep, err := rp.Finish()
			if err != nil {
				b.Fatal(err)
			}
			if events != b.N || silent != b.N || named != b.N || rep.Decisions != b.N || rep.Class != session.Pass {
				b.Fatalf("%d events, %d ok-silent, %d named, %d decisions, %s; want %d ok-silent and named, pass", events, silent, named, rep.Decisions, rep.Class, b.N)
			}
		})
	}
}
