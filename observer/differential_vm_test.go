// SPDX-License-Identifier: Apache-2.0

package observer_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// randomFilter builds a valid filter that decides getppid from its
// arguments with random loads, ALU operations and forward jumps, and ALLOWs
// every other syscall (so the runtime's own syscalls stay cacheable).
func randomFilter(r *rand.Rand) []cbpf.Instruction {
	actions := []func() uint32{
		func() uint32 { return policy.Errno | uint32(r.IntN(4096)) },
		func() uint32 { return policy.Trap | uint32(r.IntN(0x10000)) },
		func() uint32 { return policy.Log },
		func() uint32 { return policy.Allow | uint32(r.IntN(0x10000)) },
		func() uint32 { return policy.Trace | uint32(r.IntN(0x10000)) }, // no tracer: -ENOSYS
		func() uint32 { return policy.UserNotif },                       // no listener: -ENOSYS
	}
	nRets := 2 + r.IntN(3)
	body := []cbpf.Instruction{}
	nBody := 2 + r.IntN(10)
	for i := range nBody {
		left := nBody - i - 1 // instructions after this one in the body
		switch r.IntN(4) {
		case 0: // load an argument word (low or high half)
			off := uint32(16 + 8*r.IntN(6) + 4*r.IntN(2))
			body = append(body, cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, off))
		case 1: // ALU with a constant
			ops := []uint16{cbpf.OpADD, cbpf.OpSUB, cbpf.OpAND, cbpf.OpOR, cbpf.OpXOR, cbpf.OpMUL}
			k := r.Uint32()
			if r.IntN(2) == 0 {
				ops = []uint16{cbpf.OpLSH, cbpf.OpRSH}
				k = uint32(r.IntN(32))
			}
			body = append(body, cbpf.Stmt(cbpf.ClassALU|ops[r.IntN(len(ops))]|cbpf.SrcK, k))
		default: // compare and jump forward, into the body or to a return
			ops := []uint16{cbpf.OpJEQ, cbpf.OpJGT, cbpf.OpJGE, cbpf.OpJSET}
			k := r.Uint32()
			if r.IntN(2) == 0 {
				k = uint32(r.IntN(8))
			}
			jt := uint8(r.IntN(left + nRets))
			body = append(body, cbpf.Jump(cbpf.ClassJMP|ops[r.IntN(len(ops))]|cbpf.SrcK, k, jt, 0))
		}
	}
	prog := []cbpf.Instruction{
		cbpf.Stmt(cbpf.ClassLD|cbpf.SizeW|cbpf.ModeABS, 0), // nr
		cbpf.Jump(cbpf.ClassJMP|cbpf.OpJEQ|cbpf.SrcK, unix.SYS_GETPPID, 1, 0),
		cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Allow),
	}
	prog = append(prog, body...)
	for range nRets {
		prog = append(prog, cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, actions[r.IntN(len(actions))]()))
	}
	return prog
}

// observedErrno is what the child must see for a decision: the kernel's outcome.
func observedErrno(ret uint32) (errno int, skipped bool) {
	switch policy.ActionOnly(ret) {
	case policy.Errno:
		return int(ret & policy.DataMask), true
	case policy.Trap:
		return 0, true // syscall_rollback: the call "returns" its own number, not an error
	case policy.Trace, policy.UserNotif:
		return int(unix.ENOSYS), true
	}
	return 0, false // LOG, ALLOW: getppid runs
}

// TestDifferential installs random stacked filters in children, makes
// random getppid calls, and compares what the kernel did (the child's errno,
// whether the syscall ran, the emission) with the Go re-evaluation.
func TestDifferentialVM(t *testing.T) {
	requireBPF(t)
	seed := uint64(1)
	if s := os.Getenv("SECCOMPTRACE_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	children, calls := 100, 100
	if testing.Short() {
		children = 10
	}
	t.Logf("seed %d: %d children x %d calls", seed, children, calls)
	r := rand.New(rand.NewPCG(seed, 0x5ecc0))
	o, err := observer.Open(observer.Options{PIDs: []int{os.Getpid()}, FollowForks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	set, err := observer.ReadActionsLogged()
	if err != nil {
		t.Fatal(err)
	}
	total, mismatches := 0, 0
	for c := range children {
		var s workload.Scenario
		for range 1 + r.IntN(3) {
			prog := randomFilter(r)
			if err := cbpf.Validate(prog); err != nil {
				t.Fatalf("generator made an invalid program: %v", err)
			}
			s.Filters = append(s.Filters, workload.FilterSpec{Program: prog, Log: r.IntN(2) == 0})
		}
		for range calls {
			call := workload.Call{Nr: unix.SYS_GETPPID, Count: 1, Each: true}
			for i := range call.Args {
				switch r.IntN(3) {
				case 0:
					call.Args[i] = uint64(r.IntN(8))
				default:
					call.Args[i] = r.Uint64()
				}
			}
			s.Calls = append(s.Calls, call)
		}
		pairs, res := collect(t, o, s)
		var seq []int
		for _, cr := range res.Calls {
			seq = append(seq, cr.Sequence...)
		}
		i := 0
		for _, p := range pairs {
			d := p.Decision
			if d == nil || d.Syscall != unix.SYS_GETPPID {
				continue
			}
			total++
			if i >= len(seq) {
				t.Errorf("child %d: more getppid decisions than calls", c)
				mismatches++
				continue
			}
			errno, skipped := observedErrno(d.Ret)
			exp, _ := policy.Expect(policy.Decision{Action: d.Ret, Requested: d.Requested()}, policy.Policy{ActionsLogged: set}, policy.ModelPost418)
			var why string
			switch {
			case !d.Known:
				why = "unknown: " + d.Unknown
			case s.Calls[i].Args != d.Data.Args:
				why = fmt.Sprintf("args %x, child passed %x", d.Data.Args, s.Calls[i].Args)
			case seq[i] != errno:
				why = fmt.Sprintf("child saw errno %d, re-evaluation %s gives %d", seq[i], policy.ActionName(d.Ret), errno)
			case d.Skipped != skipped:
				why = fmt.Sprintf("kernel skipped=%v, re-evaluation %s gives %v", d.Skipped, policy.ActionName(d.Ret), skipped)
			case exp != (len(p.Emissions) == 1) || len(p.Emissions) > 1:
				why = fmt.Sprintf("%d emissions, oracle expects logged=%v for %s requested=%v", len(p.Emissions), exp, policy.ActionName(d.Ret), d.Requested())
			case len(p.Emissions) == 1 && p.Emissions[0].Code != policy.ActionOnly(d.Ret):
				why = fmt.Sprintf("emission code %#x for %s", p.Emissions[0].Code, policy.ActionName(d.Ret))
			}
			if why != "" {
				mismatches++
				if mismatches <= 10 {
					t.Errorf("child %d call %d: %s", c, i, why)
				}
			}
			i++
		}
		if i != len(seq) {
			t.Errorf("child %d: %d getppid decisions for %d calls", c, i, len(seq))
			mismatches++
		}
	}
	t.Logf("differential: %d decisions, %d mismatches", total, mismatches)
	if total < children*calls {
		t.Errorf("only %d decisions compared, want %d", total, children*calls)
	}
}
