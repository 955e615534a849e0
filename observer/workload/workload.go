// SPDX-License-Identifier: Apache-2.0

// Package workload runs known seccomp scenarios in a child process: the
// child installs the filters, makes exactly the requested syscalls and
// reports what each returned. Filters are never installed in the caller,
// as in the kernel selftests' harness.
//
// A program that uses Spawn must call RunChildIfRequested first thing in
// main (or TestMain): the child is the same binary, re-executed.
package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

const (
	envScenario = "SECCOMPTRACE_WORKLOAD"
	envResult   = "SECCOMPTRACE_WORKLOAD_RESULT"

	// SECCOMP_FILTER_FLAG_*.
	flagTSync = 1 << 0
	flagLog   = 1 << 1
)

// Rule makes a filter return Action (data bits included) for syscall Nr.
type Rule struct {
	Nr     int32  `json:"nr"`
	Action uint32 `json:"action"`
}

// FilterSpec is one filter: the rules for native syscalls (x86_64 or
// aarch64; ia32 or arm ones with Compat), ALLOW otherwise; or, when Program is set, that program
// as it is.
type FilterSpec struct {
	Rules   []Rule             `json:"rules,omitempty"`
	Compat  bool               `json:"compat,omitempty"`
	Program []cbpf.Instruction `json:"program,omitempty"`
	// Log installs the filter with SECCOMP_FILTER_FLAG_LOG.
	Log bool `json:"log"`
}

// Call is a syscall made Count times with Args, through unix.Syscall6.
type Call struct {
	Nr    int32     `json:"nr"`
	Args  [6]uint64 `json:"args"`
	Count int       `json:"count"`
	// Thread makes the calls from a new thread and waits for it to end:
	// for KILL_THREAD, which ends only the calling thread.
	Thread bool `json:"thread,omitempty"`
	// Each records every call's errno in order (differential tests).
	Each bool `json:"each,omitempty"`
	// SetActionsLogged, when set, makes this step a write of the string to
	// kernel.seccomp.actions_logged instead of a syscall: the policy changes
	// between two calls of the same child, at a known point.
	SetActionsLogged string `json:"set_actions_logged,omitempty"`
	// WaitFIFO, when set, makes this step a wait instead: the child opens
	// the FIFO at this path and reads it to its end, so the parent, which
	// opens it for writing (that returns once the child has reached this
	// step) and closes it, decides when the calls after it run.
	WaitFIFO string `json:"wait_fifo,omitempty"`
}

// Scenario is installed filters (oldest first) and the calls made under them.
type Scenario struct {
	Filters []FilterSpec `json:"filters"`
	Calls   []Call       `json:"calls"`
	// Notif adds a newest filter returning USER_NOTIF, answered by a supervisor thread.
	Notif *NotifSpec `json:"notif,omitempty"`
	// Trace makes Run trace the calling thread with PTRACE_O_TRACESECCOMP.
	Trace *TraceSpec `json:"trace,omitempty"`
	// Exec replaces the child by a bare helper program after the filters
	// are installed, instead of making Calls; the child writes no result,
	// the helper's exit status is its report.
	Exec *ExecSpec `json:"exec,omitempty"`
	// Hold keeps the child, its filters installed and Calls made, alive
	// until the parent releases it (see Hold).
	Hold *HoldSpec `json:"hold,omitempty"`
	// Gate stops the child before its first filter until the parent opens
	// the gate, so that the parent can place it first (in a cgroup); see
	// StartGated.
	Gate bool `json:"gate,omitempty"`
}

// NotifSpec is a USER_NOTIF filter for Nr on the calling thread (a listener
// cannot be installed with TSYNC) and how its supervisor answers.
type NotifSpec struct {
	Nr  int32 `json:"nr"`
	Log bool  `json:"log"`
	// Continue answers SECCOMP_USER_NOTIF_FLAG_CONTINUE; otherwise the call fails with Errno.
	Continue bool `json:"continue"`
	Errno    int  `json:"errno"`
}

// TraceSpec is what the tracer does at each PTRACE_EVENT_SECCOMP stop.
type TraceSpec struct {
	// SkipSyscall sets orig_rax to -1: the kernel skips the call (and logs it, §3).
	SkipSyscall bool `json:"skip_syscall"`
}

// CallResult is what one Call returned.
type CallResult struct {
	Nr int32 `json:"nr"`
	// Errnos counts the errno of each call (0 for success).
	Errnos map[int]int `json:"errnos"`
	// Sequence is every call's errno in order, with Call.Each.
	Sequence []int `json:"sequence,omitempty"`
	// ThreadDied says a Thread call's thread ended inside the syscall.
	ThreadDied bool `json:"thread_died,omitempty"`
}

// Result is the child's report.
type Result struct {
	Pid   int          `json:"pid"`
	Calls []CallResult `json:"calls"`
	Error string       `json:"error,omitempty"`
}

// Build returns the classic-BPF program of f: Program, or an arch check and one JEQ per rule.
func (f FilterSpec) Build() []cbpf.Instruction {
	if f.Program != nil {
		return f.Program
	}
	const (
		ldAbsW = 0x20 // BPF_LD|BPF_W|BPF_ABS
		jeqK   = 0x15 // BPF_JMP|BPF_JEQ|BPF_K
		retK   = 0x06 // BPF_RET|BPF_K
		allow  = 0x7fff0000
	)
	n := len(f.Rules)
	arch := sysnames.Native
	if f.Compat {
		arch = sysnames.Compat
	}
	prog := []cbpf.Instruction{
		{Code: ldAbsW, K: 4}, // arch
		// Another arch: jump over the nr load and every rule pair to ALLOW.
		{Code: jeqK, Jt: 0, Jf: uint8(1 + 2*n), K: arch},
		{Code: ldAbsW, K: 0}, // nr
	}
	for _, r := range f.Rules {
		prog = append(prog,
			cbpf.Instruction{Code: jeqK, Jt: 0, Jf: 1, K: uint32(r.Nr)},
			cbpf.Instruction{Code: retK, K: r.Action})
	}
	return append(prog, cbpf.Instruction{Code: retK, K: allow})
}

// Spawn starts the scenario in a re-executed child of this binary. Wait on
// the returned command, then read the result with ReadResult(resultPath).
// With resultPath "" the child writes no result and reports by its exit
// status alone (non-zero, with the error on stderr, when it failed): for a
// caller that needs no more, so no folder both processes can write is needed.
func Spawn(s Scenario, resultPath string) (*exec.Cmd, error) {
	if s.Trace != nil {
		return nil, errors.New("starting workload child: a traced scenario needs Run")
	}
	return spawn(s, resultPath, nil)
}

func spawn(s Scenario, resultPath string, extra []*os.File) (*exec.Cmd, error) {
	spec, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding scenario: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding own executable: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envScenario+"="+string(spec), envResult+"="+resultPath)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = extra
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting workload child: %w", err)
	}
	return cmd, nil
}

// ReadResult reads the report a child wrote.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading workload result: %w", err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding workload result: %w", err)
	}
	if r.Error != "" {
		return &r, fmt.Errorf("workload child: %s", r.Error)
	}
	return &r, nil
}

// RunChildIfRequested runs the scenario and exits when this process is a
// workload child; otherwise it returns at once.
func RunChildIfRequested() {
	if os.Getenv(envHoldOnly) == "1" {
		runHoldOnly()
	}
	spec, ok := os.LookupEnv(envScenario)
	if !ok {
		return
	}
	res := runChild(spec)
	out, _ := json.Marshal(res)
	if path := os.Getenv(envResult); path != "" {
		if err := os.WriteFile(path, out, 0o600); err != nil {
			fmt.Fprintf(os.Stderr, "workload: writing result: %v\n", err)
			os.Exit(2)
		}
	}
	if res.Error != "" {
		fmt.Fprintf(os.Stderr, "workload: %s\n", res.Error)
		os.Exit(1)
	}
	os.Exit(0)
}

func runChild(spec string) (res Result) {
	res = Result{Pid: os.Getpid()}
	var s Scenario
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		res.Error = fmt.Sprintf("decoding scenario: %v", err)
		return res
	}
	// TRAP raises SIGSYS, which the Go runtime treats as fatal unless told
	// to ignore seccomp's SIGSYS (the switch os uses for its pidfd probe).
	ignoreSIGSYS()
	runtime.LockOSThread()

	if s.Gate {
		if err := gate(); err != nil {
			res.Error = err.Error()
			return res
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		res.Error = fmt.Sprintf("setting no_new_privs: %v", err)
		return res
	}
	if s.Trace != nil {
		// Tell the tracer which thread to seize, then wait until it has.
		if err := waitForTracer(); err != nil {
			res.Error = err.Error()
			return res
		}
	}
	var (
		fork     *exec.Cmd
		holdRep  HoldReport
		reported bool
	)
	if s.Hold != nil {
		startHoldThreads(s.Hold.Threads)
		defer func() {
			if !reported {
				// Failed before holding: tell the parent, which releases us.
				holdRep.Error = res.Error
				hold(holdRep)
			}
			if fork != nil {
				// Released with us (the same hold pipe): reap it.
				if err := fork.Wait(); err != nil && res.Error == "" {
					res.Error = fmt.Sprintf("forked held child: %v", err)
				}
			}
		}()
	}
	forkHere := func(i int) error {
		if s.Hold == nil || !s.Hold.Fork || s.Hold.ForkAt != i {
			return nil
		}
		cmd, rep, err := holdFork()
		if err != nil {
			return err
		}
		fork, holdRep.ForkPid, holdRep.ForkTids = cmd, rep.Pid, rep.Tids
		return nil
	}
	for i, f := range s.Filters {
		if err := forkHere(i); err != nil {
			res.Error = err.Error()
			return res
		}
		if err := install(f); err != nil {
			res.Error = fmt.Sprintf("installing filter %d: %v", i, err)
			return res
		}
	}
	if err := forkHere(len(s.Filters)); err != nil {
		res.Error = err.Error()
		return res
	}
	if s.Exec != nil {
		res.Error = execHelper(*s.Exec).Error()
		return res
	}
	if n := s.Notif; n != nil {
		if err := startSupervisor(*n); err != nil {
			res.Error = err.Error()
			return res
		}
	}
	for _, c := range s.Calls {
		cr := CallResult{Nr: c.Nr, Errnos: map[int]int{}}
		if c.Thread {
			cr.ThreadDied = inThread(func() { makeCalls(c, &cr) })
		} else {
			makeCalls(c, &cr)
		}
		res.Calls = append(res.Calls, cr)
	}
	if s.Hold != nil {
		reported = true
		if err := hold(holdRep); err != nil {
			res.Error = err.Error()
		}
	}
	return res
}

func makeCalls(c Call, cr *CallResult) {
	if c.WaitFIFO != "" {
		if _, err := os.ReadFile(c.WaitFIFO); err != nil {
			cr.Errnos[-1]++ // reported as a failed step; the caller checks for it
		}
		return
	}
	if c.SetActionsLogged != "" {
		if err := os.WriteFile("/proc/sys/kernel/seccomp/actions_logged", []byte(c.SetActionsLogged), 0); err != nil {
			cr.Errnos[-1]++ // reported as a failed step; the caller checks for it
		}
		return
	}
	for range c.Count {
		// Syscall6, not RawSyscall6: it tells the scheduler the thread is in
		// a syscall, so a thread that KILL_THREAD ends does not hold its P forever.
		_, _, errno := unix.Syscall6(uintptr(c.Nr), uintptr(c.Args[0]), uintptr(c.Args[1]),
			uintptr(c.Args[2]), uintptr(c.Args[3]), uintptr(c.Args[4]), uintptr(c.Args[5]))
		cr.Errnos[int(errno)]++
		if c.Each {
			cr.Sequence = append(cr.Sequence, int(errno))
		}
	}
}

// inThread runs fn on a thread of its own and reports whether the thread
// died before fn returned (KILL_THREAD). A killed thread signals nothing to
// Go, so its end is seen by its /proc/self/task entry going away.
func inThread(fn func()) (died bool) {
	tids := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		// Never unlocked: the thread ends with this goroutine, or in the kill.
		runtime.LockOSThread()
		tids <- unix.Gettid()
		fn()
		close(done)
	}()
	task := fmt.Sprintf("/proc/self/task/%d", <-tids)
	// Back off between looks: each look is a syscall, and a busy loop under
	// a filter without the action cache (5.10) floods the probes.
	wait := 50 * time.Microsecond
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case <-done:
			return false
		case <-time.After(wait):
		}
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			return true
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
	return false
}

// install attaches one filter to every thread of this process (TSYNC).
func install(f FilterSpec) error {
	prog := f.Build()
	if err := cbpf.Validate(prog); err != nil {
		return err
	}
	raw := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		raw[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	flags := uintptr(flagTSync)
	if f.Log {
		flags |= flagLog
	}
	r, err := setFilter(raw, flags)
	if err != nil {
		return err
	}
	if r != 0 {
		return errors.New("seccomp(SET_MODE_FILTER, TSYNC): thread " + fmt.Sprint(r) + " could not be synchronised")
	}
	return nil
}

func setFilter(raw []unix.SockFilter, flags uintptr) (uintptr, error) {
	fprog := unix.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(raw)
	if errno != 0 {
		return 0, fmt.Errorf("seccomp(SET_MODE_FILTER): %w", errno)
	}
	return r, nil
}

// ignoreSIGSYS makes the runtime drop SIGSYS sent by seccomp (Go issue 69065).
//
//go:linkname ignoreSIGSYS os.ignoreSIGSYS
func ignoreSIGSYS()
