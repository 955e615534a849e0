// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
)

// invTask lays out one iterator record as the BPF program writes it.
func invTask(tid, tgid uint32, mode int32, flags gen.InventoryStInvFlags, comm string, chain ...FilterID) []byte {
	var hdr gen.InventoryStInvTask
	hdr.Magic = uint32(gen.InventoryStInvMagicST_INV_MAGIC)
	hdr.Flags = uint32(flags)
	hdr.Tid, hdr.Tgid, hdr.Mode = tid, tgid, mode
	hdr.FilterCount = int32(len(chain))
	hdr.Depth = uint32(len(chain))
	for i, c := range []byte(comm) {
		hdr.Comm[i] = int8(c)
	}
	b := slices.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), invTaskHeader))
	for _, id := range chain {
		b = binary.NativeEndian.AppendUint64(b, id.Addr)
		b = binary.NativeEndian.AppendUint64(b, id.Prog)
	}
	return b
}

func TestDecodeInventoryTasks(t *testing.T) {
	a, b := FilterID{0xffff1000, 0xffffc000}, FilterID{0xffff2000, 0xffffd000}
	var raw []byte
	raw = append(raw, invTask(10, 10, SeccompModeFilter, gen.InventoryStInvFlagsST_INV_F_AUDIT_CTX, "sh", a, b)...)
	raw = append(raw, invTask(11, 10, SeccompModeFilter, 0, "sh\x1b[31m", a, b)...)
	raw = append(raw, invTask(12, 12, SeccompModeStrict, 0, "strict")...)
	raw = append(raw, invTask(13, 13, SeccompModeFilter, gen.InventoryStInvFlagsST_INV_F_EXITING|gen.InventoryStInvFlagsST_INV_F_NO_COUNT, "gone")...)
	tasks, err := DecodeInventoryTasks(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 4 {
		t.Fatalf("%d tasks, want 4", len(tasks))
	}
	if got := tasks[0]; got.Pid != 10 || got.Tgid != 10 || got.Comm != "sh" || !slices.Equal(got.Chain, []FilterID{a, b}) || !got.AuditCtx || got.AuditDummy || !got.AuditKnown || got.FilterCount != 2 {
		t.Errorf("task 0 = %+v", got)
	}
	if got := tasks[1]; got.Comm != "sh\x1b[31m" || got.Tgid != 10 {
		t.Errorf("task 1 = %+v (comm is kept raw; the command escapes it)", got)
	}
	if got := tasks[2]; got.Mode != SeccompModeStrict || len(got.Chain) != 0 {
		t.Errorf("task 2 = %+v", got)
	}
	if got := tasks[3]; !got.Exiting || got.FilterCount != -1 {
		t.Errorf("task 3 = %+v", got)
	}

	for name, bad := range map[string][]byte{
		"short header": raw[:invTaskHeader-1],
		"bad magic":    append([]byte{1, 2, 3, 4}, raw[4:]...),
		"short chain":  raw[:invTaskHeader+8],
	} {
		if _, err := DecodeInventoryTasks(bad); err == nil || !strings.HasPrefix(err.Error(), "decoding task iterator output") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	deep := invTask(1, 1, SeccompModeFilter, 0, "x")
	binary.NativeEndian.PutUint32(deep[unsafe.Offsetof(gen.InventoryStInvTask{}.Depth):], uint32(MaxChain+1))
	if _, err := DecodeInventoryTasks(append(deep, make([]byte, 16*(MaxChain+1))...)); err == nil {
		t.Error("a depth beyond MaxChain must be refused")
	}
}

func TestDecodeInventoryFilter(t *testing.T) {
	prog := []cbpf.Instruction{cbpf.Stmt(0x20, 0), cbpf.Jump(0x15, 39, 0, 1), cbpf.Stmt(0x06, 0x50001), cbpf.Stmt(0x06, 0x7fff0000)}
	var hdr gen.InventoryStInvFilter
	hdrSize := int(unsafe.Offsetof(hdr.Insns))
	hdr.Addr, hdr.Prog, hdr.Log, hdr.Len = 0xa, 0xb, 1, uint32(len(prog))
	raw := append(slices.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), hdrSize)), cbpf.EncodeProgram(prog)...)
	// The map value is the whole struct: instructions past Len are stale.
	raw = append(raw, make([]byte, 8*4)...)
	f, err := DecodeInventoryFilter(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Addr != 0xa || f.Prog != 0xb || !f.Log || !slices.Equal(f.Insns, prog) {
		t.Errorf("filter = %+v", f)
	}
	hdr.Flags = uint32(gen.InventoryStInvFilterFlagsST_INV_FILTER_NO_ORIG_PROG)
	hdr.Len = 0
	f, err = DecodeInventoryFilter(slices.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), hdrSize)))
	if err != nil || f.Insns != nil {
		t.Errorf("no orig_prog: %+v, %v; want nil Insns", f, err)
	}
	hdr.Flags, hdr.Len = 0, 5000
	if _, err := DecodeInventoryFilter(unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), hdrSize)); err == nil {
		t.Error("a length beyond the record must be refused")
	}
}
