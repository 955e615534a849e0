// SPDX-License-Identifier: Apache-2.0

package conformance

import (
	"regexp"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

func TestCases(t *testing.T) {
	all := policy.DefaultLogged | policy.BitAllow
	cases := Cases(all)
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("duplicate case %q", c.Name)
		}
		seen[c.Name] = true
		if c.Skip != "" {
			t.Errorf("%s: skipped on a kernel with every action: %s", c.Name, c.Skip)
		}
		if len(c.scenario.Calls) != 1 || c.scenario.Calls[0].Count != 1 {
			t.Errorf("%s: want exactly one call", c.Name)
		}
	}
	// 12 action paths x (2 or 3 settings) x 2 flags + 4 stacked, per audit state.
	if want := 3 * ((11*3+1*2)*2 + 4); len(cases) != want {
		t.Errorf("%d cases, want %d", len(cases), want)
	}
	// Without USER_NOTIF (before 5.0) its cases are skipped with the reason, not dropped.
	skipped := 0
	for _, c := range Cases(all &^ policy.BitUserNotif) {
		if c.Skip != "" {
			skipped++
		}
	}
	if skipped != 3*3*3*2 {
		t.Errorf("%d user_notif cases skipped, want %d", skipped, 3*3*3*2)
	}
	if got := Select(cases, regexp.MustCompile(`^errno\(5\) .*audit=off$`)); len(got) != 6 {
		t.Errorf("Select: %d errno cases with audit off, want 6", len(got))
	}
}
