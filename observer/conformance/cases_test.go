// SPDX-License-Identifier: Apache-2.0

package conformance

import (
	"regexp"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

func TestCases(t *testing.T) {
	all := policy.DefaultLogged | policy.BitAllow
	cases := Cases(Kernel{Avail: all})
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("duplicate case %q", c.Name)
		}
		seen[c.Name] = true
		if c.Skip != "" {
			t.Errorf("%s: skipped on a kernel with every action: %s", c.Name, c.Skip)
		}
		calls := len(c.scenario.Calls)
		if c.scenario.Exec != nil {
			calls = len(c.scenario.Exec.Calls)
		}
		if calls != 1 {
			t.Errorf("%s: want exactly one call", c.Name)
		}
	}
	// Per audit state: 12 action paths x (2 or 3 settings) x 2 flags + 4
	// stacked + 3 compat actions x 2 settings x 2 flags + 2 strict calls x
	// (3 settings + 1 allowed).
	if want := 3 * ((11*3+1*2)*2 + 4 + 3*2*2 + 2*4); len(cases) != want {
		t.Errorf("%d cases, want %d", len(cases), want)
	}
	// Without USER_NOTIF (before 5.0) its cases are skipped with the reason, not dropped.
	skipped := 0
	for _, c := range Cases(Kernel{Avail: all &^ policy.BitUserNotif}) {
		if c.Skip != "" {
			skipped++
		}
	}
	if skipped != 3*3*3*2 {
		t.Errorf("%d user_notif cases skipped, want %d", skipped, 3*3*3*2)
	}
	// Without int $0x80, every compat case is skipped: 12 + 4 per audit state.
	skipped = 0
	for _, c := range Cases(Kernel{Avail: all, NoCompat: "ia32 emulation disabled"}) {
		if c.Skip != "" {
			skipped++
		}
	}
	if skipped != 3*(12+4) {
		t.Errorf("%d compat cases skipped, want %d", skipped, 3*(12+4))
	}
	if got := Select(cases, regexp.MustCompile(`^errno\(5\) .*audit=off$`)); len(got) != 6 {
		t.Errorf("Select: %d errno cases with audit off, want 6", len(got))
	}
}
