// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// The traced child's handshake: it writes its thread id on fd 3, then waits
// for one byte on fd 4, sent once the tracer has seized that thread.
const (
	fdTidOut  = 3
	fdSeizeIn = 4
)

func waitForTracer() error {
	out, in := os.NewFile(fdTidOut, "tid"), os.NewFile(fdSeizeIn, "seized")
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(unix.Gettid()))
	if _, err := out.Write(b[:]); err != nil {
		return fmt.Errorf("sending tid to tracer: %w", err)
	}
	if _, err := in.Read(b[:1]); err != nil {
		return fmt.Errorf("waiting for tracer: %w", err)
	}
	return nil
}

// Run starts the scenario in a child, traces it when s.Trace is set, waits
// for it and returns its result and exit state. With resultPath "" the
// child writes no result (see Spawn) and the result holds only its pid.
func Run(s Scenario, resultPath string) (*Result, *os.ProcessState, error) {
	if s.Trace == nil {
		cmd, err := Spawn(s, resultPath)
		if err != nil {
			return nil, nil, err
		}
		werr := cmd.Wait()
		res, rerr := readResult(resultPath, cmd.Process.Pid)
		return res, cmd.ProcessState, errors.Join(werr, rerr)
	}
	tidR, tidW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	seizeR, seizeW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd, err := spawn(s, resultPath, []*os.File{tidW, seizeR})
	tidW.Close()
	seizeR.Close()
	if err != nil {
		return nil, nil, err
	}
	traceErr := make(chan error, 1)
	go func() { traceErr <- trace(*s.Trace, tidR, seizeW) }()
	terr := <-traceErr
	werr := cmd.Wait()
	if errors.Is(werr, unix.ECHILD) {
		// The traced thread was the child's main thread: the tracer's wait4
		// reaped the whole process already.
		werr = nil
	}
	res, rerr := readResult(resultPath, cmd.Process.Pid)
	return res, cmd.ProcessState, errors.Join(terr, werr, rerr)
}

// readResult reads the child's result, or, for a child told to write none,
// a result that holds only its pid.
func readResult(path string, pid int) (*Result, error) {
	if path == "" {
		return &Result{Pid: pid}, nil
	}
	return ReadResult(path)
}

// trace seizes the child's calling thread with PTRACE_O_TRACESECCOMP and
// serves its stops until it exits. Every ptrace call must come from one OS thread.
func trace(spec TraceSpec, tidR *os.File, seizeW *os.File) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer tidR.Close()
	defer seizeW.Close()
	var b [4]byte
	if _, err := tidR.Read(b[:]); err != nil {
		return fmt.Errorf("reading tracee tid: %w", err)
	}
	tid := int(binary.NativeEndian.Uint32(b[:]))
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, unix.PTRACE_O_TRACESECCOMP, 0, 0); errno != 0 {
		return fmt.Errorf("seizing thread %d: %w", tid, errno)
	}
	if _, err := seizeW.Write(b[:1]); err != nil {
		return fmt.Errorf("releasing tracee: %w", err)
	}
	for {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(tid, &ws, unix.WALL, nil); err != nil {
			if errors.Is(err, unix.ECHILD) {
				return nil
			}
			return fmt.Errorf("waiting for tracee: %w", err)
		}
		switch {
		case ws.Exited() || ws.Signaled():
			return nil
		case !ws.Stopped():
			continue
		}
		sig := 0
		switch {
		case ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_SECCOMP:
			if spec.SkipSyscall {
				if err := skipSyscall(tid); err != nil {
					return err
				}
			}
		case ws.TrapCause() == unix.PTRACE_EVENT_STOP:
			// group-stop or the SEIZE stop: nothing to inject
		default:
			sig = int(ws.StopSignal()) // signal-delivery stop: re-inject (Go's SIGURG and friends)
		}
		if err := unix.PtraceCont(tid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("continuing tracee: %w", err)
		}
	}
}
