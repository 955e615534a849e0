// SPDX-License-Identifier: Apache-2.0

package inventory

import "testing"

func BenchmarkAnalyze(b *testing.B) {
	inv := testInventory()
	for b.Loop() {
		Analyze(inv, defaultState, 0)
	}
}
