// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// AuditFeed reads the audit multicast group in the background and keeps
// the SECCOMP (1326) and seccomp-logging CONFIG_CHANGE (1305) records. It
// can hand each event to a callback as it arrives (watch streams with it)
// and wait for a barrier record (check ends with it).
type AuditFeed struct {
	rd       *audit.Reader
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
	onEvent  func(audit.Event)
	mu       sync.Mutex
	seccomp  []*audit.Seccomp
	changes  []*audit.ConfigChange
	barriers map[int32]chan struct{}
	seen     map[int32]bool // pids of SECCOMP records, for a barrier whose record came first
}

// NewAuditFeed joins the multicast group and starts reading. onEvent, if
// not nil, is called for every record and overrun, in arrival order, from
// the reading goroutine; when Barrier returns, onEvent has returned for
// every record that came before the barrier's.
func NewAuditFeed(opts audit.ReaderOptions, onEvent func(audit.Event)) (*AuditFeed, error) {
	rd, err := audit.NewReader(opts)
	if err != nil {
		return nil, fmt.Errorf("join the audit multicast group (needs CAP_AUDIT_READ in the initial network namespace): %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &AuditFeed{rd: rd, cancel: cancel, done: make(chan struct{}), onEvent: onEvent,
		barriers: map[int32]chan struct{}{}, seen: map[int32]bool{}}
	go f.loop(ctx)
	return f, nil
}

func (f *AuditFeed) loop(ctx context.Context) {
	defer close(f.done)
	for {
		ev, err := f.rd.Read(ctx)
		if err != nil {
			return
		}
		if f.onEvent != nil {
			f.onEvent(ev)
		}
		f.mu.Lock()
		if cc := ev.Record.ConfigChange; cc != nil {
			f.changes = append(f.changes, cc)
		}
		if s := ev.Record.Seccomp; s != nil {
			f.seccomp = append(f.seccomp, s)
			f.seen[s.Pid] = true
			if ch, ok := f.barriers[s.Pid]; ok {
				close(ch)
				delete(f.barriers, s.Pid)
			}
		}
		f.mu.Unlock()
	}
}

// Seccomp returns the SECCOMP records read so far.
func (f *AuditFeed) Seccomp() []*audit.Seccomp {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*audit.Seccomp(nil), f.seccomp...)
}

// ConfigChanges returns the op=seccomp-logging CONFIG_CHANGE records read so far.
func (f *AuditFeed) ConfigChanges() []*audit.ConfigChange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*audit.ConfigChange(nil), f.changes...)
}

// Overruns is the number of receive-buffer overruns (records lost to this reader).
func (f *AuditFeed) Overruns() uint64 { return f.rd.Overruns() }

// Close stops reading; it is safe to call twice.
func (f *AuditFeed) Close() {
	f.once.Do(func() {
		f.cancel()
		<-f.done
		f.rd.Close()
	})
}

// Barrier runs a child whose LOG action must produce one record and waits
// until the feed has read it: kauditd sends in order, so every record
// queued before it has then been read (or lost). It fails when records do
// not reach the group at all. Run it while the probes are closed, or the
// child's own decisions show up in the stream.
func (f *AuditFeed) Barrier() error {
	dir, err := os.MkdirTemp("", "seccomptrace-barrier")
	if err != nil {
		return fmt.Errorf("run the audit barrier: %w", err)
	}
	defer os.RemoveAll(dir)
	s := workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPGRP, Action: policy.Log}}}},
		Calls:   []workload.Call{{Nr: unix.SYS_GETPGRP, Count: 1}},
	}
	cmd, err := workload.Spawn(s, filepath.Join(dir, "result.json"))
	if err != nil {
		return fmt.Errorf("run the audit barrier: %w", err)
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
		return fmt.Errorf("run the audit barrier: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-time.After(10 * time.Second): // a failure bound, not a synchronisation
		f.mu.Lock()
		delete(f.barriers, pid)
		f.mu.Unlock()
		return errors.New("wait for the audit barrier record: it never arrived (audit=0 at boot, an exclude rule, log not in actions_logged?)")
	}
}
