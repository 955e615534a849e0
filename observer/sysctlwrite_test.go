// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Without the variable's address the value after a write comes from the
// string written, parsed as the kernel does, or is unknown.
func TestSysctlWriteValueAfter(t *testing.T) {
	old := policy.DefaultLogged
	for _, tc := range []struct {
		name string
		w    SysctlWrite
		want policy.ActionSet
		ok   bool
	}{
		{"read by the probe", SysctlWrite{ValueKnown: true, NewValue: uint32(policy.BitLog)}, policy.BitLog, true},
		{"failed write", SysctlWrite{Ret: -22, Written: "bogus\n", WrittenLen: 6, WrittenKnown: true}, old, true},
		{"parsed", SysctlWrite{Written: "errno trap\n", WrittenLen: 11, WrittenKnown: true}, policy.BitErrno | policy.BitTrap, true},
		{"empty", SysctlWrite{Written: "", WrittenLen: 0, WrittenKnown: true}, 0, true},
		{"cut by the probe", SysctlWrite{Written: "errno", WrittenLen: 80, WrittenKnown: true}, old, false},
		{"nothing known", SysctlWrite{}, old, false},
	} {
		got, ok := tc.w.ValueAfter(old)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
