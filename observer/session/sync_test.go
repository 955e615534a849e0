// SPDX-License-Identifier: Apache-2.0

package session

import (
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/gen"
	"github.com/seccomptrace/seccomptrace/observer/cbpf"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// fakeRing stands for the probes' ring buffer and the observer's side of
// it: records in reservation order, each with the ring position it ends
// at (an 8-byte header, the data padded to 8), dropped when the ring
// holds max; a marker that does not fit reports the producer position.
type fakeRing struct {
	mu      sync.Mutex
	cond    *sync.Cond
	recs    [][]byte
	ends    []uint64
	prod    uint64
	max     int
	flushed bool
	// put counts the decisions put, dropped those that did not fit.
	put, dropped int
	// before is how many decisions were put before the last marker (or
	// the last full-ring position) was taken.
	before int
	// markerFull makes every marker find the ring full.
	markerFull bool
}

func newFakeRing(max int) *fakeRing {
	f := &fakeRing{max: max}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *fakeRing) push(raw []byte) bool {
	if len(f.recs) >= f.max {
		return false
	}
	f.prod += 8 + (uint64(len(raw))+7)&^7
	f.recs, f.ends = append(f.recs, raw), append(f.ends, f.prod)
	f.cond.Signal()
	return true
}

func (f *fakeRing) decision(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.put++
	if !f.push(decisionRecord(seq, unix.SYS_GETPPID, 0x1000)) {
		f.dropped++
	}
}

// sendMarker is observer.SendMarker.
func (f *fakeRing) sendMarker(token uint64) (bool, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before = f.put
	r := gen.SeccompStSync{Kind: uint32(gen.SeccompStRecordKindST_REC_SYNC), Token: token}
	if f.markerFull || !f.push(testutil.RawOf(&r)) {
		return false, f.prod, nil
	}
	return true, f.prod, nil
}

// flush is observer.Flush: the reader gets "drained" once the ring is empty.
func (f *fakeRing) flush() error {
	f.mu.Lock()
	f.flushed = true
	f.cond.Signal()
	f.mu.Unlock()
	return nil
}

// read is observer.Read and Consumed: the next record and where it ends,
// or drained after a flush.
func (f *fakeRing) read() (raw []byte, end uint64, drained bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.recs) == 0 && !f.flushed {
		f.cond.Wait()
	}
	if len(f.recs) == 0 {
		f.flushed = false
		return nil, 0, true
	}
	raw, end = f.recs[0], f.ends[0]
	f.recs, f.ends = f.recs[1:], f.ends[1:]
	return raw, end, false
}

// ringSession is a replayed session wired to f, with a reader goroutine
// as Start's; judged counts the decisions handed out.
func ringSession(t *testing.T, f *fakeRing) (*Session, *atomic.Int64) {
	t.Helper()
	var judged atomic.Int64
	r := NewReplay(Options{NoAudit: true, NoSilentCounting: true, OnEvent: func(Event) error {
		judged.Add(1)
		return nil
	}}, policy.ModelPost418, policy.DefaultLogged)
	s := r.s
	s.sendMarker, s.flush = f.sendMarker, f.flush
	for _, raw := range [][]byte{
		testutil.FilterRecord(0x1000, false, []cbpf.Instruction{cbpf.Stmt(cbpf.ClassRET|cbpf.SrcK, policy.Errno|1)}),
		testutil.ChainRecord(testutil.Ref{Addr: 0x1000}),
	} {
		if err := r.Decode(raw); err != nil {
			t.Fatal(err)
		}
	}
	return s, &judged
}

func startFakeReader(t *testing.T, s *Session, f *fakeRing) {
	go func() {
		defer close(s.readDone)
		for {
			raw, end, drained := f.read()
			if drained {
				if s.stopping.Load() {
					return
				}
				continue
			}
			ev, err := s.dec.Decode(raw)
			if err != nil {
				s.readErr = err
				return
			}
			s.mu.Lock()
			quit := s.readOne(ev, end)
			s.mu.Unlock()
			if quit {
				return
			}
		}
	}()
}

// flood puts decisions into f until stop is closed.
func flood(f *fakeRing, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for seq := uint64(1); ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		f.decision(seq)
	}
}

// TestSyncUnderFlood: decisions keep coming, so the ring is never empty;
// each Sync returns once every decision put before its marker has been
// judged (those dropped on a full ring excepted), whether the marker went
// in or found the ring full, and stopReading ends the reader the same way.
func TestSyncUnderFlood(t *testing.T) {
	for _, tc := range []struct {
		name       string
		markerFull bool
	}{{"marker", false}, {"ring-full", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRing(64)
			f.markerFull = tc.markerFull
			s, judged := ringSession(t, f)
			startFakeReader(t, s, f)
			stop, done := make(chan struct{}), make(chan struct{})
			go flood(f, stop, done)
			for i := 0; i < 200; i++ {
				if err := s.Sync(); err != nil {
					t.Fatal(err)
				}
				f.mu.Lock()
				before, dropped := f.before, f.dropped
				f.mu.Unlock()
				// dropped may include later decisions: a lower bound.
				if got := int(judged.Load()); got < before-dropped {
					t.Fatalf("sync %d: %d decisions judged, %d put before the barrier (%d dropped so far)", i, got, before, dropped)
				}
			}
			s.stopReading()
			f.mu.Lock()
			before, dropped := f.before, f.dropped
			f.mu.Unlock()
			got := int(judged.Load())
			if got < before-dropped {
				t.Fatalf("stopped: %d decisions judged, %d put before the barrier (%d dropped)", got, before, dropped)
			}
			// The reader has stopped: nothing more is judged.
			for i := 0; i < 1000; i++ {
				f.decision(0)
			}
			close(stop)
			<-done
			if again := int(judged.Load()); again != got {
				t.Fatalf("%d decisions judged after the reader stopped", again-got)
			}
			if f.put-f.dropped <= got {
				t.Fatalf("the flood never got ahead of the reader: %d put, %d dropped, %d judged", f.put, f.dropped, got)
			}
		})
	}
}

// TestSyncFullRingPassed: a marker that finds the ring full where the
// reader has already judged everything (here, an empty ring) returns at
// once, and stopReading then ends a reader blocked on the empty ring.
func TestSyncFullRingPassed(t *testing.T) {
	f := newFakeRing(64)
	f.markerFull = true
	s, judged := ringSession(t, f)
	startFakeReader(t, s, f)
	for i := range 3 {
		f.decision(uint64(i + 1))
	}
	for range 2 {
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		if judged.Load() != 3 {
			t.Fatalf("%d decisions judged, want 3", judged.Load())
		}
	}
	s.stopReading()
}

// TestSyncStaleMarker: a marker of an earlier barrier (its Sync failed)
// does not end a later one.
func TestSyncStaleMarker(t *testing.T) {
	s, _ := ringSession(t, newFakeRing(64))
	s.want = barrier{active: true, token: 2}
	marker := func(token uint64) []byte {
		r := gen.SeccompStSync{Kind: uint32(gen.SeccompStRecordKindST_REC_SYNC), Token: token}
		return testutil.RawOf(&r)
	}
	for _, tc := range []struct {
		token  uint64
		passed bool
	}{{1, false}, {2, true}} {
		ev, err := s.dec.Decode(marker(tc.token))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.want.passed(ev, 0); got != tc.passed {
			t.Errorf("marker %d: passed %v, want %v", tc.token, got, tc.passed)
		}
	}
	// A position barrier: passed at its position, whatever the record.
	b := barrier{active: true, byPos: true, pos: 96}
	if b.passed(nil, 88) || !b.passed(nil, 96) {
		t.Error("position barrier passed before its position, or not at it")
	}
}
