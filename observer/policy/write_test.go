// SPDX-License-Identifier: Apache-2.0

package policy

import "testing"

func TestExpectWrite(t *testing.T) {
	def := DefaultLogged
	for _, tc := range []struct {
		written    string
		privileged bool
		want       WriteOutcome
	}{
		{"errno trap", true, WriteOutcome{true, BitErrno | BitTrap, "trap,errno", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 1}},
		{"", true, WriteOutcome{true, 0, "(none)", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 1}},
		{" trap", true, WriteOutcome{true, 0, "(none)", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 1}},
		{"errno\ttrap", true, WriteOutcome{false, def, "?", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 0}},
		{"allow", true, WriteOutcome{false, def, "?", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 0}},
		{"errno", false, WriteOutcome{false, def, "?", "kill_process,kill_thread,trap,errno,user_notif,trace,log", 0}},
	} {
		if got := ExpectWrite(def, tc.written, tc.privileged, true); got != tc.want {
			t.Errorf("ExpectWrite(%q, privileged=%v) = %+v, want %+v", tc.written, tc.privileged, got, tc.want)
		}
	}
}
