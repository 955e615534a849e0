// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
)

// Seccomp modes (task->seccomp.mode; include/linux/seccomp.h).
const (
	SeccompModeDisabled = 0
	SeccompModeStrict   = 1
	SeccompModeFilter   = 2
)

// FilterID is a filter's identity in the inventory: its struct
// seccomp_filter address and its program's. A freed filter's address can
// be handed to a new filter during a walk (docs/kernel-semantics.md §9);
// the pair tells them apart.
type FilterID struct {
	Addr, Prog uint64
}

// SeccompTask is one task (thread) with seccomp on, as the task iterator
// read it.
type SeccompTask struct {
	// Pid is the thread's id (task->pid), Tgid its process's, both in the
	// initial pid namespace.
	Pid, Tgid uint32
	// Comm is untrusted: escape it before printing.
	Comm string
	// CgroupID is the task's cgroup v2 id, as decisions carry it: 0 where
	// the task had none (cgroup v1 only).
	CgroupID uint64
	// Mode is task->seccomp.mode: SeccompModeStrict, SeccompModeFilter, or
	// SeccompModeDead after a kill; SeccompModeDisabled with a chain means
	// the read fell between a TSYNC's filter and mode assignment.
	Mode int32
	// FilterCount is task->seccomp.filter_count, what /proc/PID/status
	// shows as Seccomp_filters (5.9+); -1 where the kernel has none.
	FilterCount int32
	// Chain is the filter stack, newest first (seccomp_run_filters order).
	Chain []FilterID
	// Truncated: the chain is longer than the iterator reads (MaxChain).
	Truncated bool
	// Exiting: the task was in do_exit() when read, and its filters can be
	// freed under the reader, so none were read; Chain is empty.
	Exiting bool
	// NotStored: a program of the chain could not be kept (the iterator's
	// filter map was full); Inventory.Filters lacks it.
	NotStored bool
	// AuditKnown says the kernel has task->audit_context
	// (CONFIG_AUDITSYSCALL); AuditCtx and AuditDummy are then its state:
	// the pre-4.18 "audited" test (docs/kernel-semantics.md §7).
	AuditKnown, AuditCtx, AuditDummy bool
}

// MaxChain is how many filters of one task the iterator reads.
const MaxChain = len(gen.InventoryStInvTask{}.Refs)

// Inventory is every task with seccomp on and every filter they hold, read
// in one walk of the task iterator.
type Inventory struct {
	Tasks []SeccompTask
	// Filters holds each filter of any task's chain once, with its
	// program (nil when the kernel kept no orig_prog).
	Filters map[FilterID]*Filter
}

// ReadInventory walks every task with the inventory's task iterator
// (iter/task, 5.8+) and reads each filter's program from orig_prog. No
// task is stopped or traced. Errors keep their kind: ErrNoBTF,
// ErrNotPrivileged, ErrTracingRefused, and ErrHookMissing when the kernel
// has no task iterator.
func ReadInventory() (*Inventory, error) {
	if _, err := kernelBTF(); err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("removing memlock limit: %w: %w", ErrNotPrivileged, err)
		}
		return nil, fmt.Errorf("removing memlock limit: %w", err)
	}
	spec, err := gen.LoadInventory()
	if err != nil {
		return nil, fmt.Errorf("loading inventory spec: %w", err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var verr *ebpf.VerifierError
		switch {
		case errors.As(err, &verr):
			return nil, fmt.Errorf("loading inventory iterator: %w", verr)
		case errors.Is(err, btf.ErrNotFound):
			return nil, fmt.Errorf("task iterator %w: no bpf_iter_task in the kernel BTF (iter/task needs 5.8): %w", ErrHookMissing, err)
		}
		return nil, classify("loading inventory iterator", err)
	}
	defer coll.Close()
	it, err := link.AttachIter(link.IterOptions{Program: coll.Programs[gen.InventoryProgInventory]})
	if err != nil {
		return nil, classify("attaching task iterator", err)
	}
	defer it.Close()
	rd, err := it.Open()
	if err != nil {
		return nil, classify("opening task iterator", err)
	}
	raw, err := io.ReadAll(rd)
	rd.Close()
	if err != nil {
		return nil, fmt.Errorf("reading task iterator: %w", err)
	}
	tasks, err := DecodeInventoryTasks(raw)
	if err != nil {
		return nil, err
	}
	inv := &Inventory{Tasks: tasks, Filters: map[FilterID]*Filter{}}
	var (
		key gen.InventoryStInvRef
		val []byte
	)
	iter := coll.Maps[gen.InventoryMapInvFilters].Iterate()
	for iter.Next(&key, &val) {
		f, err := DecodeInventoryFilter(val)
		if err != nil {
			return nil, err
		}
		inv.Filters[FilterID{f.Addr, f.Prog}] = f
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("reading inventory filters: %w", err)
	}
	return inv, nil
}

// invTaskHeader is the size of a task record up to its refs.
var invTaskHeader = int(unsafe.Offsetof(gen.InventoryStInvTask{}.Refs))

// DecodeInventoryTasks decodes the iterator's output: task records, each a
// header and its chain's references.
func DecodeInventoryTasks(raw []byte) ([]SeccompTask, error) {
	var tasks []SeccompTask
	for off := 0; off < len(raw); {
		var hdr gen.InventoryStInvTask
		if len(raw)-off < invTaskHeader {
			return nil, fmt.Errorf("decoding task iterator output: %d bytes left at offset %d, a record needs %d", len(raw)-off, off, invTaskHeader)
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), invTaskHeader), raw[off:])
		if hdr.Magic != uint32(gen.InventoryStInvMagicST_INV_MAGIC) {
			return nil, fmt.Errorf("decoding task iterator output: bad record magic %#x at offset %d", hdr.Magic, off)
		}
		off += invTaskHeader
		n := int(hdr.Depth)
		if n > MaxChain || len(raw)-off < 16*n {
			return nil, fmt.Errorf("decoding task iterator output: chain of %d filters exceeds the record at offset %d", n, off)
		}
		flag := func(f gen.InventoryStInvFlags) bool { return hdr.Flags&uint32(f) != 0 }
		t := SeccompTask{
			Pid: hdr.Tid, Tgid: hdr.Tgid,
			Comm:        cString(hdr.Comm[:]),
			CgroupID:    hdr.CgroupId,
			Mode:        hdr.Mode,
			FilterCount: hdr.FilterCount,
			Truncated:   flag(gen.InventoryStInvFlagsST_INV_F_TRUNCATED),
			Exiting:     flag(gen.InventoryStInvFlagsST_INV_F_EXITING),
			NotStored:   flag(gen.InventoryStInvFlagsST_INV_F_NOT_STORED),
			AuditKnown:  !flag(gen.InventoryStInvFlagsST_INV_F_NO_AUDIT_CTX_FIELD),
			AuditCtx:    flag(gen.InventoryStInvFlagsST_INV_F_AUDIT_CTX),
			AuditDummy:  flag(gen.InventoryStInvFlagsST_INV_F_AUDIT_DUMMY),
		}
		if flag(gen.InventoryStInvFlagsST_INV_F_NO_COUNT) {
			t.FilterCount = -1
		}
		t.Chain = make([]FilterID, n)
		for i := range n {
			b := raw[off+16*i:]
			t.Chain[i] = FilterID{binary.NativeEndian.Uint64(b), binary.NativeEndian.Uint64(b[8:])}
		}
		off += 16 * n
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// DecodeInventoryFilter decodes one value of the iterator's filter map.
func DecodeInventoryFilter(raw []byte) (*Filter, error) {
	var hdr gen.InventoryStInvFilter
	hdrSize := int(unsafe.Offsetof(hdr.Insns))
	if len(raw) < hdrSize {
		return nil, fmt.Errorf("decoding inventory filter: %d bytes, want at least %d", len(raw), hdrSize)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), hdrSize), raw)
	n := int(hdr.Len)
	if n > len(hdr.Insns) || len(raw) < hdrSize+8*n {
		return nil, fmt.Errorf("decoding inventory filter %#x: %d instructions exceed the record", hdr.Addr, n)
	}
	f := &Filter{Addr: hdr.Addr, Prog: hdr.Prog, Log: hdr.Log != 0}
	if hdr.Flags&uint32(gen.InventoryStInvFilterFlagsST_INV_FILTER_NO_ORIG_PROG) == 0 {
		insns, err := cbpf.DecodeProgram(raw[hdrSize : hdrSize+8*n])
		if err != nil {
			return nil, fmt.Errorf("decoding inventory filter %#x: %w", hdr.Addr, err)
		}
		f.Insns = insns
	}
	return f, nil
}
