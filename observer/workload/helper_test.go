// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The helper runs on any x86-64 kernel: no BPF, no privileges. Strict mode
// needs nothing either, so its kill is checked here against the real kernel.
func TestHelperProgram(t *testing.T) {
	tests := []struct {
		name   string
		spec   ExecSpec
		status int            // exit status, when sig is 0
		sig    syscall.Signal // killing signal
		compat bool
	}{
		{name: "no calls", spec: ExecSpec{}},
		{name: "getppid", spec: ExecSpec{Calls: []RawCall{{Nr: unix.SYS_GETPPID, Count: 3}}}},
		{name: "errno is the exit status", spec: ExecSpec{Calls: []RawCall{{Nr: unix.SYS_CLOSE, Args: [6]uint32{0xffffffff}, Count: 1}}}, status: int(unix.EBADF)},
		{name: "strict allows write", spec: ExecSpec{Strict: true, Calls: []RawCall{{Nr: unix.SYS_WRITE, Args: [6]uint32{0xffffffff}, Count: 2}}}, status: int(unix.EBADF)},
		{name: "strict kills getppid", spec: ExecSpec{Strict: true, Calls: []RawCall{{Nr: unix.SYS_GETPPID, Count: 1}}}, sig: syscall.SIGKILL},
		{name: "compat getpid", spec: ExecSpec{Calls: []RawCall{{Compat: true, Nr: NR32Getpid, Count: 2}}}, compat: true},
		{name: "compat errno", spec: ExecSpec{Calls: []RawCall{{Compat: true, Nr: NR32Write, Args: [6]uint32{0xffffffff}, Count: 1}}}, status: int(unix.EBADF), compat: true},
		{name: "strict allows compat write", spec: ExecSpec{Strict: true, Calls: []RawCall{{Compat: true, Nr: NR32Write, Args: [6]uint32{0xffffffff}, Count: 1}}}, status: int(unix.EBADF), compat: true},
		{name: "strict kills compat getppid", spec: ExecSpec{Strict: true, Calls: []RawCall{{Compat: true, Nr: NR32Getppid, Count: 1}}}, sig: syscall.SIGKILL, compat: true},
	}
	compatErr := CompatSyscalls()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.compat && compatErr != nil {
				t.Skipf("this kernel has no int $0x80: %v", compatErr)
			}
			st, err := RunHelper(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			ws := st.Sys().(syscall.WaitStatus)
			if tt.sig != 0 {
				if !ws.Signaled() || ws.Signal() != tt.sig {
					t.Fatalf("helper ended with %v, want killed by %v", st, tt.sig)
				}
				return
			}
			if !ws.Exited() || ws.ExitStatus() != tt.status {
				t.Fatalf("helper ended with %v, want exit status %d", st, tt.status)
			}
		})
	}
}
