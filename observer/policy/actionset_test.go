// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	if DefaultLogged != 0xbf {
		t.Errorf("DefaultLogged = %#x, want 0xbf", DefaultLogged)
	}
	if DefaultLoggedPre50 != 0x3f {
		t.Errorf("DefaultLoggedPre50 = %#x, want 0x3f", DefaultLoggedPre50)
	}
	if DefaultLogged.Has(BitAllow) {
		t.Error("DefaultLogged has allow")
	}
}

func TestActionSetString(t *testing.T) {
	tests := []struct {
		in        ActionSet
		wantRead  string
		wantAudit string
	}{
		{0, "", "(none)"},
		{DefaultLogged, "kill_process kill_thread trap errno user_notif trace log", "kill_process,kill_thread,trap,errno,user_notif,trace,log"},
		{DefaultLoggedPre50, "kill_process kill_thread trap errno trace log", "kill_process,kill_thread,trap,errno,trace,log"},
		{BitErrno, "errno", "errno"},
		{BitLog | BitTrap, "trap log", "trap,log"},
		{BitTrace | BitUserNotif, "user_notif trace", "user_notif,trace"},
		{BitAllow | BitKillProcess, "kill_process allow", "kill_process,allow"},
		{1 << 12, "", "(none)"}, // bits the kernel does not define are ignored
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.wantRead {
			t.Errorf("(%#x).String() = %q, want %q", uint32(tt.in), got, tt.wantRead)
		}
		if got := tt.in.AuditString(); got != tt.wantAudit {
			t.Errorf("(%#x).AuditString() = %q, want %q", uint32(tt.in), got, tt.wantAudit)
		}
	}
}

func TestActionsAvail(t *testing.T) {
	if got, want := ActionsAvail(true), "kill_process kill_thread trap errno user_notif trace log allow"; got != want {
		t.Errorf("ActionsAvail(true) = %q, want %q", got, want)
	}
	if got, want := ActionsAvail(false), "kill_process kill_thread trap errno trace log allow"; got != want {
		t.Errorf("ActionsAvail(false) = %q, want %q", got, want)
	}
	// char names[sizeof(seccomp_actions_avail)]: 52 and 63 bytes with NUL.
	if MaxWriteLen(false) != 51 || MaxWriteLen(true) != 62 {
		t.Errorf("MaxWriteLen = %d/%d, want 51/62", MaxWriteLen(false), MaxWriteLen(true))
	}
}

// TestParseActionsLogged covers the sysctl write cases of
// docs/kernel-semantics.md §5.4.
func TestParseActionsLogged(t *testing.T) {
	const all = "kill_process kill_thread trap errno user_notif trace log"
	tests := []struct {
		name    string
		in      string
		notif   bool
		want    ActionSet
		wantErr error
	}{
		{"default list", all, true, DefaultLogged, nil},
		{"default list pre-5.0", "kill_process kill_thread trap errno trace log", false, DefaultLoggedPre50, nil},
		{"single", "errno", true, BitErrno, nil},
		{"echo adds newline", "errno trap\n", true, BitErrno | BitTrap, nil},
		{"order does not matter", "log kill_thread", true, BitLog | BitKillThread, nil},
		{"duplicates", "errno errno errno", true, BitErrno, nil},
		{"empty string", "", true, 0, nil},
		{"only newline", "\n", true, 0, nil},
		{"leading space gives none", " trap", true, 0, nil},
		{"double space stops", "errno  trap", true, BitErrno, nil},
		{"trailing space", "errno trap ", true, BitErrno | BitTrap, nil},
		{"stops at newline", "errno\ntrap", true, BitErrno, nil},
		{"stops at NUL", "errno\x00bogus", true, BitErrno, nil},
		{"text after empty token ignored", "errno  bogus", true, BitErrno, nil},
		{"tab is not a separator", "errno\ttrap", true, 0, ErrUnknownAction},
		{"unknown name", "errno bogus", true, 0, ErrUnknownAction},
		{"case sensitive", "ERRNO", true, 0, ErrUnknownAction},
		{"user_notif before 5.0", "user_notif", false, 0, ErrUnknownAction},
		{"user_notif from 5.0", "user_notif", true, BitUserNotif, nil},
		{"allow", "allow", true, 0, ErrAllowNotLoggable},
		{"allow with others", "errno allow log", true, 0, ErrAllowNotLoggable},
		{"unknown wins over allow", "allow bogus", true, 0, ErrUnknownAction},
		{"kill alias of old kernels is unknown", "kill", true, 0, ErrUnknownAction},
		// 62 characters are kept from 5.0 (51 before): the full default
		// list is 56, so " kill_thread" is cut to " kill_".
		{"over-long truncated inside a name", all + " kill_thread", true, 0, ErrUnknownAction},
		{"51 characters fit pre-5.0", "kill_process kill_thread trap errno trace log errno", false, BitKillProcess | BitKillThread | BitTrap | BitErrno | BitTrace | BitLog, nil},
		{"over-long pre-5.0", "kill_process kill_thread trap errno trace log kill_thread", false, 0, ErrUnknownAction},
		// Cut exactly after a separator: the kernel silently keeps the prefix.
		{"over-long cut at a name boundary", strings.Repeat("log ", 14) + "trace bogus", true, BitLog | BitTrace, nil},
		{"62 characters kept", strings.Repeat("errno ", 10) + "tr", true, 0, ErrUnknownAction},
		{"63rd character dropped", strings.Repeat("errno ", 10) + "lo" + "g", true, 0, ErrUnknownAction},
		{"over-long after newline is fine", "errno\n" + strings.Repeat("x", 100), true, BitErrno, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseActionsLogged(tt.in, tt.notif)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseActionsLogged(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				if got != 0 {
					t.Errorf("ParseActionsLogged(%q) = %#x with error, want 0", tt.in, uint32(got))
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseActionsLogged(%q) = %q (%#x), %v; want %q (%#x)", tt.in, got, uint32(got), err, tt.want, uint32(tt.want))
			}
		})
	}
}

func TestParseActionsLoggedRoundTrip(t *testing.T) {
	for s := ActionSet(0); s < 1<<8; s++ {
		if s.Has(BitAllow) {
			continue
		}
		got, err := ParseActionsLogged(s.String()+"\n", true)
		if err != nil || got != s {
			t.Errorf("ParseActionsLogged(%q) = %#x, %v; want %#x", s.String(), uint32(got), err, uint32(s))
		}
		got, err = ParseActionsLoggedRead(s.String() + "\n")
		if err != nil || got != s {
			t.Errorf("ParseActionsLoggedRead(%q) = %#x, %v; want %#x", s.String(), uint32(got), err, uint32(s))
		}
	}
}

func TestParseActionsLoggedRead(t *testing.T) {
	tests := []struct {
		in      string
		want    ActionSet
		wantErr bool
	}{
		{"kill_process kill_thread trap errno user_notif trace log\n", DefaultLogged, false},
		{"\n", 0, false},
		{"", 0, false},
		{"  errno\ttrap  \n", BitErrno | BitTrap, false},
		{"allow", BitAllow, false},
		{"errno bogus\n", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseActionsLoggedRead(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseActionsLoggedRead(%q) = %#x, %v; want %#x, error %v", tt.in, uint32(got), err, uint32(tt.want), tt.wantErr)
		}
		if tt.wantErr && !errors.Is(err, ErrUnknownAction) {
			t.Errorf("ParseActionsLoggedRead(%q) error %v is not ErrUnknownAction", tt.in, err)
		}
	}
}

// TestAuditStringTable: the precomputed names agree with the names of the
// bits, undefined bits ignored, and cost no allocation.
func TestAuditStringTable(t *testing.T) {
	for _, tc := range []struct {
		set  ActionSet
		want string
	}{
		{0, "(none)"}, {1 << 8, "(none)"}, {DefaultLogged, "kill_process,kill_thread,trap,errno,user_notif,trace,log"},
		{BitAllow | BitErrno | 1<<31, "errno,allow"},
	} {
		if got := tc.set.AuditString(); got != tc.want {
			t.Errorf("%#x: %q, want %q", uint32(tc.set), got, tc.want)
		}
		if got := string(tc.set.AppendAuditString([]byte("x"))); got != "x"+tc.want {
			t.Errorf("%#x appended: %q", uint32(tc.set), got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = DefaultLogged.AuditString() }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
