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

// AuditRecorder collects the SECCOMP records of the audit multicast group
// in the background, and can wait for a barrier record.
type AuditRecorder struct {
	rd      *audit.Reader
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	records []*audit.Seccomp
	waiting map[int32]chan struct{}
}

// NewAuditRecorder joins the multicast group and starts reading.
func NewAuditRecorder() (*AuditRecorder, error) {
	rd, err := audit.NewReader(audit.ReaderOptions{})
	if err != nil {
		return nil, fmt.Errorf("joining the audit multicast group (needs CAP_AUDIT_READ in the initial network namespace): %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &AuditRecorder{rd: rd, cancel: cancel, done: make(chan struct{}), waiting: map[int32]chan struct{}{}}
	go func() {
		defer close(r.done)
		for {
			ev, err := rd.Read(ctx)
			if err != nil {
				return
			}
			if s := ev.Record.Seccomp; s != nil {
				r.mu.Lock()
				r.records = append(r.records, s)
				if ch, ok := r.waiting[s.Pid]; ok {
					close(ch)
					delete(r.waiting, s.Pid)
				}
				r.mu.Unlock()
			}
		}
	}()
	return r, nil
}

// Records returns the records read so far.
func (r *AuditRecorder) Records() []*audit.Seccomp {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*audit.Seccomp(nil), r.records...)
}

// Close stops reading; it is safe to call twice.
func (r *AuditRecorder) Close() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		r.rd.Close()
	})
}

// Overruns is the number of receive-buffer overruns (lost records).
func (r *AuditRecorder) Overruns() uint64 { return r.rd.Overruns() }

// Barrier runs a child whose LOG action must produce one record and waits
// for it: kauditd sends in order, so every earlier record has then been
// delivered or lost. It fails when records do not reach the group at all.
func (r *AuditRecorder) Barrier() error {
	dir, err := os.MkdirTemp("", "seccomptrace-barrier")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s := workload.Scenario{
		Filters: []workload.FilterSpec{{Rules: []workload.Rule{{Nr: unix.SYS_GETPGRP, Action: policy.Log}}}},
		Calls:   []workload.Call{{Nr: unix.SYS_GETPGRP, Count: 1}},
	}
	cmd, err := workload.Spawn(s, filepath.Join(dir, "result.json"))
	if err != nil {
		return err
	}
	ch := make(chan struct{})
	pid := int32(cmd.Process.Pid)
	r.mu.Lock()
	r.waiting[pid] = ch
	for _, rec := range r.records { // it may have come already
		if rec.Pid == pid {
			close(ch)
			delete(r.waiting, pid)
			break
		}
	}
	r.mu.Unlock()
	if err := cmd.Wait(); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-time.After(10 * time.Second): // a failure bound, not a synchronisation
		return errors.New("audit barrier record never arrived: records do not reach the multicast group (audit=0 at boot, an exclude rule, log not in actions_logged?)")
	}
}
