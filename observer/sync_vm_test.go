// SPDX-License-Identifier: Apache-2.0

package observer_test

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// TestSendMarkerVM: the marker comes back after every record of a child
// that has exited, and the reader's count of ring bytes (Consumed) meets
// the kernel's producer position exactly; once a child has filled the
// ring, markers go in until not even one fits, then none is written and
// the position is the barrier: reading to it returns every marker that
// went in, and stops on a record boundary. For both attach strategies:
// sync_mark is loaded with either.
func TestSendMarkerVM(t *testing.T) {
	requireBPF(t)
	eachStrategy(t, func(t *testing.T, o *observer.Observer, _ bool) {
		// A failure must not leave Read blocked on an empty ring.
		o.SetDeadline(time.Now().Add(5 * time.Minute))

		const n = 5
		pid := runChild(t, spineScenario(n))
		sent, pos, err := o.SendMarker(1)
		if err != nil || !sent {
			t.Fatalf("SendMarker on a ring with room: sent %v, %v", sent, err)
		}
		ours := map[int32]int{}
		readTo(t, o, pos, func(ev observer.Event) {
			if d, ok := ev.(*observer.Decision); ok && d.Tgid == uint32(pid) {
				ours[d.Syscall]++
			}
		}, []uint64{1})
		for _, nr := range []int32{unix.SYS_GETPPID, workload.NrGetpgrp, unix.SYS_GETSID} {
			if ours[nr] != n {
				t.Errorf("nr %d: %d decisions of the child before its marker, want %d", nr, ours[nr], n)
			}
		}

		// Fill the ring: 40,000 streamed decisions of 184 bytes are
		// more than its 4 MiB, and nothing reads them meanwhile.
		before, err := o.Counters()
		if err != nil {
			t.Fatal(err)
		}
		runChild(t, workload.Scenario{
			Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}}}},
			Calls:   []workload.Call{{Nr: unix.SYS_GETPPID, Count: 40_000}},
		})
		var tokens []uint64
		for token := uint64(2); ; token++ {
			if token > 1000 {
				t.Fatal("1000 markers went into a full ring")
			}
			sent, pos, err = o.SendMarker(token)
			if err != nil {
				t.Fatal(err)
			}
			if !sent {
				break
			}
			tokens = append(tokens, token)
		}
		after, err := o.Counters()
		if err != nil {
			t.Fatal(err)
		}
		if after.DroppedDecisions == before.DroppedDecisions || after.SyncFull != before.SyncFull+1 {
			t.Errorf("the ring was not full: decisions dropped %d -> %d, full markers %d -> %d", before.DroppedDecisions, after.DroppedDecisions, before.SyncFull, after.SyncFull)
		}
		readTo(t, o, pos, func(observer.Event) {}, tokens)
		t.Logf("%d markers fitted after the flood; barrier at ring position %d; counters %+v", len(tokens), pos, after)
	})
}

// runChild runs s in a child to its end and returns its pid: by then
// every record it caused has been reserved.
func runChild(t *testing.T, s workload.Scenario) int {
	t.Helper()
	cmd, err := workload.Spawn(s, filepath.Join(t.TempDir(), "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("workload child: %v", err)
	}
	return cmd.Process.Pid
}

// readTo reads until Consumed reaches pos, which must be a record
// boundary, and wants the markers read on the way to be tokens, in order.
func readTo(t *testing.T, o *observer.Observer, pos uint64, each func(observer.Event), tokens []uint64) {
	t.Helper()
	var got []uint64
	for o.Consumed() < pos {
		ev, err := o.Read()
		if err != nil {
			t.Fatalf("reading to ring position %d (at %d): %v", pos, o.Consumed(), err)
		}
		if m, ok := ev.(*observer.SyncMarker); ok {
			got = append(got, m.Token)
		}
		each(ev)
	}
	if o.Consumed() != pos {
		t.Errorf("read to ring position %d, past the barrier at %d: the reader's count is not the kernel's", o.Consumed(), pos)
	}
	if len(got) != len(tokens) {
		t.Fatalf("markers %v read, want %v", got, tokens)
	}
	for i := range got {
		if got[i] != tokens[i] {
			t.Fatalf("markers %v read, want %v", got, tokens)
		}
	}
}
