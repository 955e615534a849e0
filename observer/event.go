// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// SeccompModeDead is current->seccomp.mode after a kill action or a strict-mode
// kill (5.17+, and 5.10.y only through its 2024 stable backport; §3).
const SeccompModeDead = 3

// Task identifies the task a record came from.
type Task struct {
	Tgid, Tid uint32
	UID, GID  uint32
	// Comm is untrusted: escape it before printing.
	Comm     string
	CgroupID uint64
	Time     time.Time
	// Proc is who the process is (nil when its record was lost), and
	// Cgroup the cgroup CgroupID names (nil when it cannot be found):
	// both resolved once and shared, read only (docs/attribution.md).
	Proc   *Proc
	Cgroup *cgroups.Cgroup
}

// AuditUnset is a loginuid or session id that was never set (auid=4294967295).
const AuditUnset = ^uint32(0)

// Proc is who a process was when the probes first sent a record of it,
// and again after each exec (docs/attribution.md): one per process,
// shared by its records and kept after it dies, read only.
type Proc struct {
	Tgid uint32
	// PPid is the parent's tgid at that time (a process whose parent dies
	// is given another).
	PPid uint32
	// Exe is the executable's path as /proc/PID/exe shows it (" (deleted)"
	// included), "" when unknown: untrusted, escape it before printing.
	// ExeTruncated: the probe kept only the last names of a deeper path,
	// and /proc could not give the rest ("..." starts Exe).
	Exe          string
	ExeTruncated bool
	// LoginUID and SessionID are the audit loginuid (auid=) and session
	// (ses=), AuditUnset when unset or without CONFIG_AUDIT.
	LoginUID, SessionID uint32
	// MntNS and PidNS are the inode numbers of its mount and pid namespaces
	// (as /proc/PID/ns/mnt and /proc/PID/ns/pid name them).
	MntNS, PidNS uint32
	// CgroupID and Cgroup are its cgroup then; Comm its name then (untrusted).
	CgroupID uint64
	Cgroup   *cgroups.Cgroup
	Comm     string
	Time     time.Time
}

func (*Proc) isEvent() {}

// ProcGone says the probes forgot a process's Proc: it exec'd or exited.
type ProcGone struct {
	Tgid uint32
}

func (*ProcGone) isEvent() {}

// FilterRef is one filter of a task's stack at decision time, newest first.
type FilterRef struct {
	Addr uint64
	Log  bool
}

// Decision is one call of __seccomp_filter, seen at its return (or at the
// task's exit when it died inside).
type Decision struct {
	Task
	Seq     uint64
	Recheck bool
	Syscall int32
	Data    cbpf.Data
	// DataFromArg says seccomp_data came from the sd argument, not rebuilt from pt_regs.
	DataFromArg bool
	// Chain is the newest filter's address, naming the stack; Filters is
	// that stack (shared between decisions: read only).
	Chain          uint64
	Filters        []FilterRef
	StackTruncated bool
	// Skipped is true when __seccomp_filter told the entry code to skip the syscall.
	Skipped bool
	// Exited says the task exited inside __seccomp_filter (KILL_THREAD with other
	// live threads; every kill before about 5.15):
	// the decision was sent from the exit hook and Skipped is set.
	Exited bool
	// Strict is a strict-mode (mode 1) kill: no filter ran, the kernel killed
	// the thread with SIGKILL and logs it as KILL_THREAD (§3). Sent at exit.
	Strict       bool
	ModeAtExit   uint32
	AuditCtx     bool // current->audit_context != NULL
	AuditDummy   bool // and its dummy flag (pre-4.18 "audited" test, §7)
	CachePresent bool
	CacheHit     bool
	// PolicyRead says the probe read seccomp_actions_logged (and audit_enabled)
	// from kernel memory when the decision returned.
	PolicyRead    bool
	ActionsLogged uint32
	AuditEnabled  uint32
	// PolicyRace: a write to actions_logged was in progress when the decision
	// returned, so seccomp_log may have read either value.
	PolicyRace bool
	// SilentGen is what a silent mark made from this decision carries
	// (Observer.MarkSilent): the probes' generation of policy and filters.
	SilentGen uint32

	// Re-evaluation of the filter stack (valid when Known).
	Known bool
	// Unknown says why the action could not be reconstructed.
	Unknown string
	// Ret is the winning SECCOMP_RET_* value, data bits included.
	Ret uint32
	// Match indexes Filters for the filter whose action won, -1 for ALLOW.
	Match int
}

// Requested is the deciding filter's FLAG_LOG bit (seccomp_log's `requested`).
func (d *Decision) Requested() bool {
	return d.Known && d.Match >= 0 && d.Match < len(d.Filters) && d.Filters[d.Match].Log
}

// Emission is one call of audit_seccomp (the kernel decided to log), or of
// seccomp_log where the kernel has it.
type Emission struct {
	Task
	// DecisionSeq links to the Decision: it is sent when the decision
	// returns, or at the task's exit (strict mode, a kill inside the filter).
	DecisionSeq uint64
	Syscall     int64
	Signr       int64
	Code        uint32
	// SeccompLog marks a seccomp_log call: Code is the action, Requested its flag.
	SeccompLog bool
	Requested  bool
}

// Filter is a seccomp filter's original program, copied once from the kernel.
type Filter struct {
	Addr, Prog uint64
	Log        bool
	// Insns is nil when the kernel kept no orig_prog (no CHECKPOINT_RESTORE before 5.11).
	Insns []cbpf.Instruction
}

// SysctlWrite is a write to kernel.seccomp.actions_logged that reached the
// kernel's handler (kretprobe fallback: any access, Write false).
type SysctlWrite struct {
	Task
	Ret   int64
	Write bool
	// NewValue is seccomp_actions_logged after the call, when ValueKnown.
	NewValue   uint32
	ValueKnown bool
	// Written is the string written (untrusted: escape it before printing),
	// when WrittenKnown; WrittenLen is its length in bytes, which is more
	// than len(Written) when the probe kept only the start.
	Written      string
	WrittenLen   uint64
	WrittenKnown bool
	// Start is when the handler was entered (zero where not seen).
	Start time.Time
}

// ValueAfter is actions_logged after this write: as the probe read it, or,
// where it cannot read the variable (no kallsyms address), the kernel's parse
// of the string written, since a failed write changes nothing and the probe
// has the whole string. ok is false when neither is known (kprobe fallback,
// a string longer than the probe keeps, a parse that disagrees with the kernel).
func (s *SysctlWrite) ValueAfter(old policy.ActionSet) (set policy.ActionSet, ok bool) {
	switch {
	case s.ValueKnown:
		return policy.ActionSet(s.NewValue), true
	case s.Ret != 0:
		return old, true
	case s.WrittenKnown && s.WrittenLen == uint64(len(s.Written)):
		set, err := policy.ParseActionsLogged(s.Written, HasUserNotif())
		return set, err == nil
	}
	return old, false
}

// AuditDrop is a record the kernel decided to write and did not (§6):
// audit_log_start refused it, or audit_log_lost counted it.
type AuditDrop struct {
	Task
	DecisionSeq uint64 // the decision in flight in this task, 0 when none
	// Refused: audit_log_start returned NULL (audit=0 at boot, an exclude
	// rule, the backlog, no memory); Type is the record type when known.
	Refused bool
	Type    int32
	// Reason is audit_log_lost's message ("rate limit exceeded", "backlog limit exceeded", ...).
	Reason string
}

// Chain is a filter stack the probes met for the first time: its filters,
// newest first. Decisions name it by Head.
type Chain struct {
	Head, HeadProg uint64
	Filters        []FilterRef
	Truncated      bool
}

// Event is a *Decision, *Emission, *Filter, *Chain, *FilterFree, *SysctlWrite,
// *AuditDrop, *Proc, *ProcGone or *SyncMarker.
type Event interface{ isEvent() }

// SyncMarker is a marker the observer sent itself (SendMarker): every
// record the probes reserved before it was read before it. It is a point
// in the stream, not something that happened.
type SyncMarker struct {
	Token uint64
}

func (*SyncMarker) isEvent() {}

func (*Chain) isEvent() {}

// FilterFree says a filter the probes sent was destroyed: its program and
// the chain it headed are forgotten (its address may come back for another).
type FilterFree struct {
	Addr uint64
}

func (*FilterFree) isEvent() {}

func (*AuditDrop) isEvent()   {}
func (*SysctlWrite) isEvent() {}
func (*Decision) isEvent()    {}
func (*Emission) isEvent()    {}
func (*Filter) isEvent()      {}

// Decoder turns raw ring-buffer records into events. It keeps the filter
// programs the records carry, to re-evaluate later decisions. It is safe
// for concurrent use.
//
// A decision's Filters are shared by every decision on the same filter
// stack: read them, never write them. A decision handed back with Release
// is reused by a later Decode, so a stream of decisions allocates nothing.
type Decoder struct {
	retKind  RetKind
	bootTime time.Time

	mu      sync.Mutex
	filters map[uint64]*Filter
	// chains are the filter stacks decisions name by their newest filter.
	chains map[uint64]*stack
	// comms interns task names.
	comms map[[16]int8]string
	// free holds released decisions for reuse.
	free []*Decision
	// procs are the processes the probes sent, by tgid, until they exec or
	// exit; gone keeps the last ones forgotten, for late questions (Proc).
	procs    map[uint32]*Proc
	gone     [maxGone]*Proc
	goneNext int
	cgroups  *cgroups.Resolver
	// The last process and cgroup named, for a stream of one task's
	// records: a compare instead of a map lookup.
	lastTgid   uint32
	lastProc   *Proc
	lastCgroup uint64
	lastCg     *cgroups.Cgroup
}

// Bounds of the Decoder's caches: beyond them a cache starts afresh, which
// only costs decoding again.
const (
	maxComms = 4096
	maxFree  = 256
	// maxProcs is more than the probes' sent_tasks: only lost
	// ST_REC_TASK_GONE records can fill it.
	maxProcs = 1 << 16
	maxGone  = 4096
)

// NewDecoder returns a Decoder for records of a kernel whose
// __seccomp_filter returns retKind; timestamps are taken as this boot's,
// cgroup ids as this system's cgroup v2 hierarchy's.
func NewDecoder(retKind RetKind) *Decoder {
	return &Decoder{retKind: retKind, bootTime: bootTime(), filters: make(map[uint64]*Filter),
		chains: make(map[uint64]*stack), comms: make(map[[16]int8]string), procs: make(map[uint32]*Proc),
		cgroups: cgroups.NewResolver("")}
}

// SetCgroups makes the decoder resolve cgroup ids with r (a replay's
// tree of directories, in tests) instead of this system's hierarchy.
func (o *Decoder) SetCgroups(r *cgroups.Resolver) {
	o.mu.Lock()
	o.cgroups = r
	o.lastCgroup, o.lastCg = 0, nil
	o.mu.Unlock()
}

// Proc returns the process with this tgid as the probes last sent it,
// also after it exited (while it is among the last few thousand gone),
// or nil.
func (o *Decoder) Proc(tgid uint32) *Proc {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.procs[tgid]; p != nil {
		return p
	}
	for i := range maxGone {
		if p := o.gone[(o.goneNext-1-i+2*maxGone)%maxGone]; p != nil && p.Tgid == tgid {
			return p
		}
	}
	return nil
}

// Release hands back a decision Decode returned, once nothing refers to it
// any more (its Filters may still be kept): a later Decode reuses it.
func (o *Decoder) Release(d *Decision) {
	o.mu.Lock()
	if len(o.free) < maxFree {
		o.free = append(o.free, d)
	}
	o.mu.Unlock()
}

// Read blocks for the next record and decodes it. Filters are also kept
// for re-evaluating later decisions.
func (o *Observer) Read() (Event, error) {
	if err := o.reader.ReadInto(&o.record); err != nil {
		return nil, err
	}
	// The ring's own accounting: an 8-byte header, the data padded to 8.
	o.consumed += ringHeader + (uint64(len(o.record.RawSample))+7)&^7
	ev, err := o.Decode(o.record.RawSample)
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// Decode turns one raw ring-buffer record into an event.
func (o *Decoder) Decode(raw []byte) (Event, error) {
	if len(raw) < 4 {
		return nil, fmt.Errorf("decoding record: %d bytes, too short for a kind", len(raw))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch gen.SeccompStRecordKind(binary.NativeEndian.Uint32(raw)) {
	case gen.SeccompStRecordKindST_REC_DECISION:
		var r gen.SeccompStDecision
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		d := o.decision(&r)
		return d, nil
	case gen.SeccompStRecordKindST_REC_EMISSION, gen.SeccompStRecordKindST_REC_SECCOMP_LOG:
		var r gen.SeccompStEmission
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		return &Emission{
			Task:        o.task(&r.Task.KtimeNs, r.Task.CgroupId, r.Task.Tgid, r.Task.Tid, r.Task.Uid, r.Task.Gid, r.Task.Comm),
			DecisionSeq: r.DecisionSeq,
			Syscall:     r.Syscall,
			Signr:       r.Signr,
			Code:        r.Code,
			SeccompLog:  r.Kind == uint32(gen.SeccompStRecordKindST_REC_SECCOMP_LOG),
			Requested:   r.Requested != 0,
		}, nil
	case gen.SeccompStRecordKindST_REC_FILTER:
		return o.filter(raw)
	case gen.SeccompStRecordKindST_REC_FILTER_FREE:
		var r gen.SeccompStFilterFree
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		delete(o.filters, r.Addr)
		delete(o.chains, r.Addr)
		return &FilterFree{Addr: r.Addr}, nil
	case gen.SeccompStRecordKindST_REC_CHAIN:
		var r gen.SeccompStChain
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		return o.chain(&r), nil
	case gen.SeccompStRecordKindST_REC_AUDIT_DROP:
		var r gen.SeccompStAuditDrop
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		return &AuditDrop{
			Task:        o.task(&r.Task.KtimeNs, r.Task.CgroupId, r.Task.Tgid, r.Task.Tid, r.Task.Uid, r.Task.Gid, r.Task.Comm),
			DecisionSeq: r.DecisionSeq,
			Refused:     r.Stage == uint32(gen.SeccompStDropStageST_DROP_START_REFUSED),
			Type:        r.Type,
			Reason:      cString(r.Reason[:]),
		}, nil
	case gen.SeccompStRecordKindST_REC_TASK:
		return o.proc(raw)
	case gen.SeccompStRecordKindST_REC_TASK_GONE:
		var r gen.SeccompStTaskGone
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		if p := o.procs[r.Tgid]; p != nil {
			delete(o.procs, r.Tgid)
			o.gone[o.goneNext] = p
			o.goneNext = (o.goneNext + 1) % maxGone
		}
		if o.lastTgid == r.Tgid {
			o.lastTgid, o.lastProc = 0, nil
		}
		return &ProcGone{Tgid: r.Tgid}, nil
	case gen.SeccompStRecordKindST_REC_SYNC:
		var r gen.SeccompStSync
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		return &SyncMarker{Token: r.Token}, nil
	case gen.SeccompStRecordKindST_REC_SYSCTL:
		var r gen.SeccompStSysctl
		if err := copyRecord(&r, raw); err != nil {
			return nil, err
		}
		return &SysctlWrite{
			Task:         o.task(&r.Task.KtimeNs, r.Task.CgroupId, r.Task.Tgid, r.Task.Tid, r.Task.Uid, r.Task.Gid, r.Task.Comm),
			Ret:          r.Ret,
			Write:        r.Write != 0,
			NewValue:     r.NewValue,
			ValueKnown:   r.Flags&uint32(gen.SeccompStFlagsST_F_POLICY_READ) != 0,
			Written:      cString(r.Written[:]),
			WrittenLen:   r.WrittenLen,
			WrittenKnown: r.Flags&uint32(gen.SeccompStFlagsST_F_WRITTEN) != 0,
			Start:        o.ktime(r.StartNs),
		}, nil
	default:
		return nil, fmt.Errorf("decoding record: unknown kind %d", binary.NativeEndian.Uint32(raw))
	}
}

// copyRecord copies raw into the bpf2go type; the kernel wrote it in host layout.
func copyRecord[T any](dst *T, raw []byte) error {
	size := int(unsafe.Sizeof(*dst))
	if len(raw) < size {
		return fmt.Errorf("decoding %T: %d bytes, want %d", *dst, len(raw), size)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(dst)), size), raw)
	return nil
}

func (o *Decoder) task(ktime *uint64, cgroup uint64, tgid, tid, uid, gid uint32, comm [16]int8) Task {
	t := o.ktime(*ktime)
	if tgid != o.lastTgid || o.lastProc == nil {
		o.lastTgid, o.lastProc = tgid, o.procs[tgid]
	}
	if cgroup != o.lastCgroup || o.lastCg == nil {
		o.lastCgroup, o.lastCg = cgroup, o.cgroups.Lookup(cgroup, t)
	}
	return Task{
		Tgid: tgid, Tid: tid, UID: uid, GID: gid,
		Comm:     o.comm(comm),
		CgroupID: cgroup,
		Time:     t,
		Proc:     o.lastProc,
		Cgroup:   o.lastCg,
	}
}

// proc keeps a process record: its later records point to it.
func (o *Decoder) proc(raw []byte) (*Proc, error) {
	var r gen.SeccompStTaskInfo
	hdrSize := int(unsafe.Offsetof(r.Exe))
	if len(raw) < hdrSize {
		return nil, fmt.Errorf("decoding task record: %d bytes, want at least %d", len(raw), hdrSize)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&r)), hdrSize), raw)
	n := int(r.ExeLen)
	if n > len(r.Exe) || len(raw) < hdrSize+n {
		return nil, errors.New("decoding task record: exe length exceeds the record")
	}
	flag := func(f gen.SeccompStFlags) bool { return r.Flags&uint32(f) != 0 }
	task := o.task(&r.Task.KtimeNs, r.Task.CgroupId, r.Task.Tgid, r.Task.Tid, r.Task.Uid, r.Task.Gid, r.Task.Comm)
	p := &Proc{
		Tgid: r.Task.Tgid, PPid: r.Ppid, LoginUID: r.Loginuid, SessionID: r.Sessionid,
		MntNS: r.Mntns, PidNS: r.Pidns, CgroupID: task.CgroupID, Cgroup: task.Cgroup, Comm: task.Comm, Time: task.Time,
	}
	if flag(gen.SeccompStFlagsST_F_NO_LOGINUID) {
		p.LoginUID, p.SessionID = AuditUnset, AuditUnset
	}
	if !flag(gen.SeccompStFlagsST_F_EXE_UNKNOWN) {
		p.Exe = string(raw[hdrSize : hdrSize+n])
		if flag(gen.SeccompStFlagsST_F_EXE_TRUNCATED) {
			// The probe walks a bounded depth: /proc has the whole path
			// while the process lives, and the inode says it is the same file.
			if exe, ok := procExe(p.Tgid, r.ExeIno); ok {
				p.Exe = exe
			} else {
				p.Exe, p.ExeTruncated = "..."+p.Exe, true
			}
		} else if flag(gen.SeccompStFlagsST_F_EXE_DELETED) {
			p.Exe += " (deleted)"
		}
	}
	if len(o.procs) >= maxProcs {
		clear(o.procs)
	}
	o.procs[p.Tgid] = p
	if o.lastTgid == p.Tgid {
		o.lastProc = p
	}
	return p, nil
}

// procExe reads /proc/PID/exe, if it is still the file with inode ino.
func procExe(tgid uint32, ino uint64) (string, bool) {
	if ino == 0 {
		return "", false
	}
	link := "/proc/" + strconv.FormatUint(uint64(tgid), 10) + "/exe"
	exe, err := os.Readlink(link)
	if err != nil {
		return "", false
	}
	var st syscall.Stat_t
	if syscall.Stat(link, &st) != nil || st.Ino != ino {
		return "", false
	}
	return exe, true
}

// ktime turns a bpf_ktime_get_ns stamp into wall-clock time; 0 stays zero.
func (o *Decoder) ktime(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return o.bootTime.Add(time.Duration(ns))
}

// comm returns a task's comm as a string, interned: records of the same
// tasks share one string.
func (o *Decoder) comm(c [16]int8) string {
	if s, ok := o.comms[c]; ok {
		return s
	}
	if len(o.comms) >= maxComms {
		clear(o.comms)
	}
	s := cString(c[:])
	o.comms[c] = s
	return s
}

func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func (o *Decoder) decision(r *gen.SeccompStDecision) *Decision {
	flag := func(f gen.SeccompStFlags) bool { return r.Flags&uint32(f) != 0 }
	var d *Decision
	if n := len(o.free); n > 0 {
		d, o.free = o.free[n-1], o.free[:n-1]
	} else {
		d = new(Decision)
	}
	*d = Decision{
		Task:    o.task(&r.Task.KtimeNs, r.Task.CgroupId, r.Task.Tgid, r.Task.Tid, r.Task.Uid, r.Task.Gid, r.Task.Comm),
		Seq:     r.Seq,
		Recheck: flag(gen.SeccompStFlagsST_F_RECHECK),
		Syscall: r.ThisSyscall,
		Data: cbpf.Data{
			Nr: r.Sd.Nr, Arch: r.Sd.Arch, IP: r.Sd.InstructionPointer, Args: r.Sd.Args,
		},
		DataFromArg:   flag(gen.SeccompStFlagsST_F_SD_FROM_ARG),
		Chain:         r.Chain,
		ModeAtExit:    r.ModeAtExit,
		AuditCtx:      flag(gen.SeccompStFlagsST_F_AUDIT_CTX),
		AuditDummy:    flag(gen.SeccompStFlagsST_F_AUDIT_DUMMY),
		CachePresent:  flag(gen.SeccompStFlagsST_F_CACHE_PRESENT),
		CacheHit:      flag(gen.SeccompStFlagsST_F_CACHE_HIT),
		PolicyRead:    flag(gen.SeccompStFlagsST_F_POLICY_READ),
		ActionsLogged: r.ActionsLogged,
		AuditEnabled:  r.AuditEnabled,
		PolicyRace:    flag(gen.SeccompStFlagsST_F_POLICY_RACE),
		SilentGen:     r.SilentGen,
		Match:         -1,
	}
	if o.retKind == RetBool {
		d.Skipped = uint8(r.Ret) == 0
	} else {
		d.Skipped = int32(r.Ret) != 0
	}
	if flag(gen.SeccompStFlagsST_F_TASK_EXITED) {
		d.Exited, d.Skipped = true, true
	}
	if flag(gen.SeccompStFlagsST_F_STRICT) {
		// The fixed mode-1 list decided, not a filter: the action is known.
		d.Strict, d.Known, d.Ret = true, true, policy.KillThread
		return d
	}
	st := o.chains[r.Chain]
	if st == nil {
		d.Unknown = fmt.Sprintf("filter stack %#x was never received", r.Chain)
		return d
	}
	o.resolve(st)
	d.Filters, d.StackTruncated = st.refs, st.truncated
	o.reevaluate(d, st)
	return d
}

// stack is one filter stack, decoded once and shared by the decisions made
// under it: its refs are their Filters.
type stack struct {
	refs      []FilterRef
	truncated bool
	progs     []cbpf.Filter
	// resolved: progs and unknown are current (a filter record since may
	// bring a program the stack lacked).
	resolved bool
	// unknown says why the stack cannot be re-evaluated, "" when it can.
	unknown string
}

// chain keeps a stack the probes sent once, by its newest filter's address
// (a reused address brings a new chain record).
func (o *Decoder) chain(r *gen.SeccompStChain) *Chain {
	depth := min(int(r.Depth), len(r.FilterAddr))
	st := &stack{refs: make([]FilterRef, depth), truncated: r.Flags&uint32(gen.SeccompStFlagsST_F_STACK_TRUNCATED) != 0}
	for i := range depth {
		st.refs[i] = FilterRef{Addr: r.FilterAddr[i], Log: r.FilterLog[i] != 0}
	}
	o.chains[r.Head] = st
	return &Chain{Head: r.Head, HeadProg: r.HeadProg, Filters: st.refs, Truncated: st.truncated}
}

// resolve finds the programs of st's filters, or says why it cannot.
// The probes send a chain's record before its filters' programs, so this
// waits for the first decision.
func (o *Decoder) resolve(st *stack) {
	if st.resolved {
		return
	}
	st.resolved, st.progs, st.unknown = true, nil, ""
	switch {
	case st.truncated:
		st.unknown = fmt.Sprintf("filter stack deeper than %d", len(st.refs))
		return
	case len(st.refs) == 0:
		st.unknown = "no filter attached"
		return
	}
	progs := make([]cbpf.Filter, len(st.refs))
	for i, ref := range st.refs {
		f := o.filters[ref.Addr]
		if f == nil {
			st.unknown = fmt.Sprintf("program of filter %#x was never received", ref.Addr)
			return
		}
		if f.Insns == nil {
			st.unknown = fmt.Sprintf("kernel kept no original program for filter %#x", ref.Addr)
			return
		}
		progs[i] = cbpf.Filter{Prog: f.Insns, Log: ref.Log}
	}
	st.progs = progs
}

// reevaluate runs the captured filters over the captured seccomp_data the way
// seccomp_run_filters does (§4), giving the action, its data and the deciding filter.
func (o *Decoder) reevaluate(d *Decision, st *stack) {
	if st.unknown != "" {
		d.Unknown = st.unknown
		return
	}
	ret, match := cbpf.RunStack(st.progs, &d.Data)
	d.Known, d.Ret, d.Match = true, ret, match
}

// Stack returns the filter programs of a chain, newest first, or nil when
// a chain or program is unknown. Shared: read only.
func (o *Decoder) Stack(chain uint64) []cbpf.Filter {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.chains[chain]
	if st == nil {
		return nil
	}
	o.resolve(st)
	return st.progs
}

func (o *Decoder) filter(raw []byte) (*Filter, error) {
	var hdr gen.SeccompStFilter
	hdrSize := int(unsafe.Offsetof(hdr.Insns))
	if len(raw) < hdrSize {
		return nil, fmt.Errorf("decoding filter record: %d bytes, want at least %d", len(raw), hdrSize)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), hdrSize), raw)
	n := int(hdr.Len)
	if n > len(hdr.Insns) || len(raw) < hdrSize+8*n {
		return nil, errors.New("decoding filter record: instruction count exceeds the record")
	}
	f := &Filter{Addr: hdr.Addr, Prog: hdr.Prog, Log: hdr.Log != 0}
	if hdr.Flags&uint32(gen.SeccompStFlagsST_F_NO_ORIG_PROG) == 0 {
		f.Insns = make([]cbpf.Instruction, n)
		for i := range n {
			b := raw[hdrSize+8*i:]
			f.Insns[i] = cbpf.Instruction{
				Code: binary.NativeEndian.Uint16(b),
				Jt:   b[2],
				Jf:   b[3],
				K:    binary.NativeEndian.Uint32(b[4:]),
			}
		}
	}
	o.filters[f.Addr] = f
	// A stack resolved before may have lacked this program, or held the
	// one freed at this address.
	for _, st := range o.chains {
		st.resolved = false
	}
	return f, nil
}
