// SPDX-License-Identifier: Apache-2.0

package policy

import (
	"fmt"
	"testing"
)

var models = []Model{ModelPre418, ModelPost418}

// TestExpectTruthTable has one case per row of the truth table in
// docs/kernel-semantics.md §2, each checked for U false and true in both models.
func TestExpectTruthTable(t *testing.T) {
	type want struct {
		pre, preU, post, postU bool
	}
	without := func(b ActionSet) ActionSet { return DefaultLogged &^ b }
	tests := []struct {
		row    string
		action uint32
		req    bool
		set    ActionSet
		path   Path
		want   want
		reason Reason // reason when not audited, in both models
	}{
		{"ALLOW: never", Allow, true, DefaultLogged | BitAllow, PathFilter, want{false, false, false, false}, ReasonAllowNeverLogs},
		{"ALLOW with data: never", Allow | 3, false, DefaultLogged, PathFilter, want{false, false, false, false}, ReasonAllowNeverLogs},

		{"LOG B=1 (flag off)", Log, false, DefaultLogged, PathFilter, want{true, true, true, true}, ReasonLogActionLogged},
		{"LOG B=1 (flag on)", Log, true, BitLog, PathFilter, want{true, true, true, true}, ReasonLogActionLogged},
		{"LOG B=0", Log, true, without(BitLog), PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},

		{"KILL_THREAD B=1", KillThread, false, BitKillThread, PathFilter, want{true, true, true, true}, ReasonKillLogged},
		{"KILL_PROCESS B=1", KillProcess, false, BitKillProcess, PathFilter, want{true, true, true, true}, ReasonKillLogged},
		{"unknown B=1 uses kill_process bit", 0x10000, false, BitKillProcess, PathFilter, want{true, true, true, true}, ReasonUnknownActionLogged},
		{"KILL_THREAD B=0", KillThread, true, without(BitKillThread), PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},
		{"KILL_PROCESS B=0", KillProcess, true, without(BitKillProcess), PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},
		{"unknown B=0", 0x10000, true, without(BitKillProcess), PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},
		{"unknown ignores kill_thread bit", 0xfffe0000, true, BitKillThread, PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},

		{"TRAP R=1 B=1", Trap, true, BitTrap, PathFilter, want{true, true, true, true}, ReasonRequestedAndLogged},
		{"ERRNO R=1 B=1", Errno | 1, true, BitErrno, PathFilter, want{true, true, true, true}, ReasonRequestedAndLogged},
		{"TRACE(skip) R=1 B=1", Trace, true, BitTrace, PathFilter, want{true, true, true, true}, ReasonRequestedAndLogged},
		{"TRAP R=1 B=0", Trap, true, without(BitTrap), PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},
		{"ERRNO R=1 B=0", Errno | 1, true, without(BitErrno), PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},
		{"TRACE R=1 B=0", Trace, true, without(BitTrace), PathFilter, want{false, true, false, false}, ReasonNotInActionsLogged},
		{"TRAP R=0 B=1", Trap, false, DefaultLogged, PathFilter, want{false, true, false, false}, ReasonFlagLogOff},
		{"ERRNO R=0 B=1", Errno | 1, false, DefaultLogged, PathFilter, want{false, true, false, false}, ReasonFlagLogOff},
		{"ERRNO R=0 B=0", Errno | 1, false, 0, PathFilter, want{false, true, false, false}, ReasonFlagLogOff},
		{"TRACE R=0 B=1", Trace, false, DefaultLogged, PathFilter, want{false, true, false, false}, ReasonFlagLogOff},

		{"TRACE handled by a tracer", Trace, true, DefaultLogged, PathTracerHandled, want{false, false, false, false}, ReasonTracerHandled},
		{"USER_NOTIF CONTINUE", UserNotif, true, DefaultLogged, PathNotifContinue, want{false, false, false, false}, ReasonNotifContinue},
		{"cache ALLOW", Allow, true, DefaultLogged | BitAllow, PathCachedAllow, want{false, false, false, false}, ReasonCachedAllow},
		{"SECCOMP_MODE_DEAD", KillProcess, true, DefaultLogged, PathDead, want{false, false, false, false}, ReasonSeccompDead},
		{"PT_SUSPEND_SECCOMP", Errno, true, DefaultLogged, PathSuspended, want{false, false, false, false}, ReasonSeccompSuspended},

		{"strict mode B=1", Allow, false, BitKillThread, PathStrict, want{true, true, true, true}, ReasonKillLogged},
		{"strict mode B=0", Allow, false, without(BitKillThread), PathStrict, want{false, true, false, false}, ReasonNotInActionsLogged},
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			for _, m := range models {
				for _, u := range []bool{false, true} {
					d := Decision{Action: tt.action, Requested: tt.req, Path: tt.path, Audited: u}
					got, reason := Expect(d, Policy{ActionsLogged: tt.set}, m)
					var w bool
					switch {
					case m == ModelPre418 && !u:
						w = tt.want.pre
					case m == ModelPre418 && u:
						w = tt.want.preU
					case !u:
						w = tt.want.post
					default:
						w = tt.want.postU
					}
					if got != w {
						t.Errorf("%v U=%v: logged = %v (%s), want %v", m, u, got, reason, w)
					}
					if !u && reason != tt.reason {
						t.Errorf("%v: reason = %q, want %q", m, reason, tt.reason)
					}
					if u && m == ModelPre418 && got && !tt.want.pre && reason != ReasonAuditedTaskPre418 {
						t.Errorf("%v U=true: reason = %q, want %q", m, reason, ReasonAuditedTaskPre418)
					}
				}
			}
		})
	}
}

// TestUserNotifRows covers USER_NOTIF, which exists only from 5.0: on
// 4.14-4.17 (and with NoUserNotif) it is an unknown action.
func TestUserNotifRows(t *testing.T) {
	tests := []struct {
		name   string
		d      Decision
		p      Policy
		m      Model
		want   bool
		reason Reason
	}{
		{"5.0+ R=1 B=1", Decision{Action: UserNotif, Requested: true}, Policy{ActionsLogged: BitUserNotif}, ModelPost418, true, ReasonRequestedAndLogged},
		{"5.0+ R=0 B=1", Decision{Action: UserNotif}, Policy{ActionsLogged: DefaultLogged}, ModelPost418, false, ReasonFlagLogOff},
		{"5.0+ R=1 B=0", Decision{Action: UserNotif, Requested: true}, Policy{ActionsLogged: DefaultLogged &^ BitUserNotif}, ModelPost418, false, ReasonNotInActionsLogged},
		{"4.18-4.20 unknown, kill_process bit", Decision{Action: UserNotif}, Policy{ActionsLogged: BitKillProcess, NoUserNotif: true}, ModelPost418, true, ReasonUnknownActionLogged},
		{"4.18-4.20 unknown, bit clear", Decision{Action: UserNotif, Requested: true}, Policy{ActionsLogged: BitUserNotif, NoUserNotif: true}, ModelPost418, false, ReasonNotInActionsLogged},
		{"4.14-4.17 unknown", Decision{Action: UserNotif}, Policy{ActionsLogged: DefaultLoggedPre50}, ModelPre418, true, ReasonUnknownActionLogged},
	}
	for _, tt := range tests {
		got, reason := Expect(tt.d, tt.p, tt.m)
		if got != tt.want || reason != tt.reason {
			t.Errorf("%s: Expect = %v, %q; want %v, %q", tt.name, got, reason, tt.want, tt.reason)
		}
	}
}

// TestExpectFormula compares Expect with the closed formulas of §2 for
// every action, requested flag, actions_logged value and audited flag:
//
//	Pre  = (B && (R || A in {LOG, KILL*, unknown})) || U
//	Post =  B && (R || A in {LOG, KILL*, unknown})
func TestExpectFormula(t *testing.T) {
	actions := []uint32{KillProcess, KillThread, Trap, Trap | 1, Errno | 1, UserNotif, Trace, Log, 0x10000, 0x20000, 0x7ffe0000, 0xfffe0000}
	var n int
	for _, a := range actions {
		for _, r := range []bool{false, true} {
			for set := ActionSet(0); set < 1<<8; set++ {
				for _, u := range []bool{false, true} {
					for _, m := range models {
						for _, noNotif := range []bool{false, true} {
							d := Decision{Action: a, Requested: r, Audited: u}
							p := Policy{ActionsLogged: set, NoUserNotif: noNotif}
							got, reason := Expect(d, p, m)
							want := formula(a, r, set, u, m, noNotif)
							if got != want {
								t.Fatalf("Expect(%s R=%v set=%q U=%v noNotif=%v, %v) = %v (%s), formula says %v",
									ActionName(a), r, set, u, noNotif, m, got, reason, want)
							}
							if got != reasonLogs(reason) {
								t.Fatalf("Expect(%s …) = %v with reason %q", ActionName(a), got, reason)
							}
							n++
						}
					}
				}
			}
		}
	}
	if n != len(actions)*2*256*2*2*2 {
		t.Fatalf("checked %d combinations", n)
	}
}

func formula(a uint32, r bool, set ActionSet, u bool, m Model, noNotif bool) bool {
	act := ActionOnly(a)
	if act == UserNotif && (noNotif || m == ModelPre418) {
		act = 0x10000
	}
	var bit ActionSet
	always := false
	switch act {
	case Trap:
		bit = BitTrap
	case Errno:
		bit = BitErrno
	case Trace:
		bit = BitTrace
	case UserNotif:
		bit = BitUserNotif
	case Log:
		bit, always = BitLog, true
	case KillThread:
		bit, always = BitKillThread, true
	default: // KILL_PROCESS and unknown
		bit, always = BitKillProcess, true
	}
	b := set&bit != 0
	post := b && (r || always)
	if m == ModelPre418 {
		return post || u
	}
	return post
}

func reasonLogs(r Reason) bool {
	switch r {
	case ReasonRequestedAndLogged, ReasonLogActionLogged, ReasonKillLogged,
		ReasonUnknownActionLogged, ReasonAuditedTaskPre418:
		return true
	}
	return false
}

// TestNeverLogPaths checks that paths that skip seccomp_log never log,
// whatever the action, flags, policy or audit state.
func TestNeverLogPaths(t *testing.T) {
	paths := map[Path]Reason{
		PathTracerHandled: ReasonTracerHandled,
		PathNotifContinue: ReasonNotifContinue,
		PathCachedAllow:   ReasonCachedAllow,
		PathDead:          ReasonSeccompDead,
		PathSuspended:     ReasonSeccompSuspended,
	}
	for path, wantReason := range paths {
		for _, a := range []uint32{KillProcess, Errno, Trace, UserNotif, Log, Allow} {
			for _, m := range models {
				d := Decision{Action: a, Requested: true, Path: path, Audited: true}
				got, reason := Expect(d, Policy{ActionsLogged: 0xff}, m)
				if got || reason != wantReason {
					t.Errorf("%v %s %v: Expect = %v, %q; want false, %q", path, ActionName(a), m, got, reason, wantReason)
				}
			}
		}
	}
}

func TestExpectInvalid(t *testing.T) {
	if got, r := Expect(Decision{Action: KillProcess, Path: Path(99)}, Policy{ActionsLogged: DefaultLogged}, ModelPost418); got || r != ReasonInvalid {
		t.Errorf("unknown path: Expect = %v, %q", got, r)
	}
	if got, r := Expect(Decision{Action: KillProcess}, Policy{ActionsLogged: DefaultLogged}, Model(7)); got || r != ReasonInvalid {
		t.Errorf("unknown model: Expect = %v, %q", got, r)
	}
}

func TestParseModel(t *testing.T) {
	tests := []struct {
		in      string
		want    Model
		wantErr bool
	}{
		{"4.18+", ModelPost418, false},
		{"4.14-4.17", ModelPre418, false},
		{"post418", ModelPost418, false},
		{" PRE418 ", ModelPre418, false},
		{"4.18", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseModel(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseModel(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for _, m := range models {
		if got, err := ParseModel(m.String()); err != nil || got != m {
			t.Errorf("ParseModel(%q) = %v, %v", m.String(), got, err)
		}
	}
	if s := Model(9).String(); s != "Model(9)" {
		t.Errorf("Model(9).String() = %q", s)
	}
}

func TestModelForKernel(t *testing.T) {
	tests := []struct {
		major, minor int
		want         Model
		wantErr      bool
		notif        bool
	}{
		{3, 19, 0, true, false},
		{4, 13, 0, true, false},
		{4, 14, ModelPre418, false, false},
		{4, 17, ModelPre418, false, false},
		{4, 18, ModelPost418, false, false},
		{4, 20, ModelPost418, false, false},
		{5, 0, ModelPost418, false, true},
		{6, 18, ModelPost418, false, true},
		{7, 3, ModelPost418, false, true},
	}
	for _, tt := range tests {
		v := fmt.Sprintf("%d.%d", tt.major, tt.minor)
		got, err := ModelForKernel(tt.major, tt.minor)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ModelForKernel(%s) = %v, %v; want %v, error %v", v, got, err, tt.want, tt.wantErr)
		}
		if HasUserNotif(tt.major, tt.minor) != tt.notif {
			t.Errorf("HasUserNotif(%s) = %v", v, !tt.notif)
		}
	}
}

func TestPathString(t *testing.T) {
	tests := []struct {
		p    Path
		want string
	}{
		{PathFilter, "filter"},
		{PathStrict, "strict"},
		{PathTracerHandled, "tracer-handled"},
		{PathNotifContinue, "notif-continue"},
		{PathCachedAllow, "cached-allow"},
		{PathDead, "dead"},
		{PathSuspended, "suspended"},
		{Path(-1), "Path(-1)"},
		{Path(42), "Path(42)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Path(%d).String() = %q, want %q", int(tt.p), got, tt.want)
		}
	}
}
