// SPDX-License-Identifier: Apache-2.0

package policy

import "testing"

func TestActionOnly(t *testing.T) {
	tests := []struct{ in, want uint32 }{
		{Errno | 1, Errno},
		{KillProcess | 0xffff, KillProcess},
		{Allow, Allow},
		{0x0001ffff, 0x00010000},
	}
	for _, tt := range tests {
		if got := ActionOnly(tt.in); got != tt.want {
			t.Errorf("ActionOnly(%#x) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
}

// TestPrecedenceOrder checks the §4 order, lowest wins.
func TestPrecedenceOrder(t *testing.T) {
	order := []uint32{KillProcess, KillThread, Trap, Errno, UserNotif, Trace, Log, Allow}
	for i := 1; i < len(order); i++ {
		if Precedence(order[i-1]) >= Precedence(order[i]) {
			t.Errorf("Precedence(%s) >= Precedence(%s)", ActionName(order[i-1]), ActionName(order[i]))
		}
	}
	if Precedence(0xfffe0000) >= Precedence(KillThread) || Precedence(0xfffe0000) <= Precedence(KillProcess) {
		t.Error("negative unknown action not between kill_process and kill_thread")
	}
	if Precedence(Errno|1) != Precedence(Errno|2) {
		t.Error("data bits affect precedence")
	}
}

func TestActionName(t *testing.T) {
	tests := []struct {
		in   uint32
		want string
	}{
		{KillProcess, "kill_process"},
		{KillProcess | 3, "kill_process"},
		{KillThread, "kill_thread"},
		{KillThread | 9, "kill_thread"},
		{Trap, "trap"},
		{Trap | 5, "trap(5)"},
		{Errno, "errno(0)"},
		{Errno | 1, "errno(1)"},
		{Errno | 0xffff, "errno(65535)"},
		{UserNotif, "user_notif"},
		{UserNotif | 2, "user_notif(2)"},
		{Trace, "trace"},
		{Trace | 77, "trace(77)"},
		{Log, "log"},
		{Log | 1, "log"},
		{Allow, "allow"},
		{Allow | 1, "allow"},
		{0x00010000, "unknown(0x10000)"},
		{0x00010005, "unknown(0x10000)"},
		{0xfffe0000, "unknown(0xfffe0000)"},
	}
	for _, tt := range tests {
		if got := ActionName(tt.in); got != tt.want {
			t.Errorf("ActionName(%#x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsKnown(t *testing.T) {
	for _, a := range []uint32{KillProcess, KillThread, Trap, Errno | 1, UserNotif, Trace, Log, Allow | 4} {
		if !IsKnown(a) {
			t.Errorf("IsKnown(%#x) = false", a)
		}
	}
	for _, a := range []uint32{0x10000, 0x7ffe0000, 0xfffe0000, 0x20000} {
		if IsKnown(a) {
			t.Errorf("IsKnown(%#x) = true", a)
		}
	}
}

func TestLogBit(t *testing.T) {
	tests := []struct {
		in   uint32
		want ActionSet
	}{
		{KillProcess, BitKillProcess},
		{KillThread, BitKillThread},
		{Trap | 1, BitTrap},
		{Errno | 1, BitErrno},
		{UserNotif, BitUserNotif},
		{Trace, BitTrace},
		{Log, BitLog},
		{Allow, BitAllow},
		{0x10000, BitKillProcess},
		{0xfffe0000, BitKillProcess},
	}
	for _, tt := range tests {
		if got := LogBit(tt.in); got != tt.want {
			t.Errorf("LogBit(%#x) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
}

func TestCodeName(t *testing.T) {
	for code, want := range map[uint32]string{0x50000: "errno", 0x50001: "errno", 0x7ffc0000: "log", 0x30000: "trap", 0x80000000: "kill_process", 0: "kill_thread", 0x10000: "unknown(0x10000)"} {
		if got := CodeName(code); got != want {
			t.Errorf("CodeName(%#x) = %q, want %q", code, got, want)
		}
	}
}

// TestAppendActionName: the append form spells every action as ActionName
// does, and the stream's names cost no allocation.
func TestAppendActionName(t *testing.T) {
	for _, ret := range []uint32{KillProcess, KillThread, Trap, Trap | 3, Errno, Errno | 1, Errno | 0xffff, UserNotif, UserNotif | 9,
		Trace, Trace | 2, Log, Log | 5, Allow, Allow | 7, 0x00010000, 0x00010005, 0xdead0000} {
		if got, want := string(AppendActionName([]byte("x"), ret)), "x"+ActionName(ret); got != want {
			t.Errorf("AppendActionName(%#x) = %q, want %q", ret, got, want)
		}
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		buf = AppendActionName(buf[:0], Errno|1)
		_ = CodeName(Allow)
		_ = ActionName(Trap)
	}); n != 0 {
		t.Errorf("%v allocations per name", n)
	}
}
