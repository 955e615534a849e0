// SPDX-License-Identifier: Apache-2.0

package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// auditFeed reads the audit multicast group in the background, hands each
// record to a callback in arrival order and waits for a barrier record.
type auditFeed struct {
	rd      *audit.Reader
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	onEvent func(audit.Event)

	mu       sync.Mutex
	barriers map[int32]chan struct{}
	seen     map[int32]bool // pids of SECCOMP records, for a barrier whose record came first
}

// newAuditFeed joins the multicast group and starts reading. onEvent is
// called from the reading goroutine; when barrier returns, onEvent has
// returned for every record that came before the barrier's.
func newAuditFeed(opts audit.ReaderOptions, onEvent func(audit.Event)) (*auditFeed, error) {
	rd, err := audit.NewReader(opts)
	if err != nil {
		return nil, err // it names the group and the capability already
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &auditFeed{rd: rd, cancel: cancel, done: make(chan struct{}), onEvent: onEvent,
		barriers: map[int32]chan struct{}{}, seen: map[int32]bool{}}
	go f.loop(ctx)
	return f, nil
}

func (f *auditFeed) loop(ctx context.Context) {
	defer close(f.done)
	for {
		ev, err := f.rd.Read(ctx)
		if err != nil {
			return
		}
		f.onEvent(ev)
		if s := ev.Record.Seccomp; s != nil {
			f.mu.Lock()
			f.seen[s.Pid] = true
			if ch, ok := f.barriers[s.Pid]; ok {
				close(ch)
				delete(f.barriers, s.Pid)
			}
			f.mu.Unlock()
		}
	}
}

// overruns is the number of receive-buffer overruns (records lost to this reader).
func (f *auditFeed) overruns() uint64 { return f.rd.Overruns() }

// close stops reading; it is safe to call twice.
func (f *auditFeed) close() {
	f.once.Do(func() {
		f.cancel()
		<-f.done
		f.rd.Close()
	})
}

// barrierTimeout bounds the wait for the barrier record: a failure bound
// for a record that will never come, not a synchronisation.
const barrierTimeout = 10 * time.Second

// barrier runs a child whose LOG action must produce one record and waits
// until the feed has read it: kauditd sends in order, so every record
// queued before it has then been read (or lost). It fails when records do
// not reach the group at all. Run it while the probes are closed, or the
// child's own decisions show up in the stream.
//
// The child reports by its exit status alone, through no file: the barrier
// needs no folder both it and this process can write, which a service
// without root does not have (/tmp not writable by its uid, a read-only
// root file system, a private /tmp).
func (f *auditFeed) barrier() error {
	s := workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: workload.NrGetpgrp, Action: policy.Log}}}},
		Calls:   []workload.Call{{Nr: workload.NrGetpgrp, Count: 1}},
	}
	cmd, err := workload.Spawn(s, "")
	if err != nil {
		return fmt.Errorf("running the audit barrier: %w", err)
	}
	ch := make(chan struct{})
	pid := int32(cmd.Process.Pid)
	f.mu.Lock()
	if f.seen[pid] {
		close(ch)
	} else {
		f.barriers[pid] = ch
	}
	f.mu.Unlock()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("running the audit barrier: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-time.After(barrierTimeout):
		f.mu.Lock()
		delete(f.barriers, pid)
		f.mu.Unlock()
		return errors.New("the audit barrier record never arrived (audit=0 at boot, an exclude rule, log not in actions_logged, " +
			"or not in the initial network namespace, the only one records are multicast to?)")
	}
}
