// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// writeOnce writes s with exactly one write(2), as the kernel's parser sees it.
func writeOnce(t *testing.T, s string) error {
	t.Helper()
	fd, err := unix.Open(actionsLoggedPath, unix.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(s))
	return err
}

// TestActionsLoggedWritesVM writes each case of docs/kernel-semantics.md §5.4 to
// actions_logged with audit enabled and checks the new value, the error and
// the CONFIG_CHANGE record against policy.ExpectWrite.
func TestActionsLoggedWritesVM(t *testing.T) {
	inVM(t)
	orig, err := os.ReadFile(actionsLoggedPath)
	if err != nil {
		t.Fatal(err)
	}
	wasEnabled := strings.Contains(auditctl(t, "-s"), "enabled 1")
	auditctl(t, "-e", "1")
	t.Cleanup(func() {
		if err := os.WriteFile(actionsLoggedPath, orig, 0); err != nil {
			t.Errorf("restoring actions_logged: %v", err)
		}
		if !wasEnabled {
			auditctl(t, "-e", "0")
		}
	})
	avail, _ := os.ReadFile(actionsAvailPath)
	haveNotif := strings.Contains(string(avail), "user_notif")
	rd, err := audit.NewReader(audit.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	long := strings.Repeat("errno ", 11) + "trap" // 70 bytes: truncated to 62 (51 before 5.0), cut mid-name
	for _, tc := range []struct {
		name, written string
		unprivileged  bool
	}{
		{"valid list", "errno trap", false},
		{"default list", "kill_process kill_thread trap errno user_notif trace log", false},
		{"duplicates", "log log errno", false},
		{"empty string", "", false},
		{"newline only", "\n", false},
		{"leading space", " trap", false},
		{"double space stops the parse", "errno  trap", false},
		{"trailing space", "trap ", false},
		{"tab", "errno\ttrap", false},
		{"unknown name", "errno bogus", false},
		{"allow", "allow", false},
		{"over-long", long, false},
		{"without CAP_SYS_ADMIN", "errno", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := observer.ReadActionsLogged()
			if err != nil {
				t.Fatal(err)
			}
			want := policy.ExpectWrite(old, tc.written, !tc.unprivileged, haveNotif)
			var werr error
			if tc.unprivileged {
				// Root without CAP_SYS_ADMIN passes the file's permission check but not the handler's.
				cmd := exec.Command("setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin", "--",
					"sh", "-c", `printf %s "$1" > `+actionsLoggedPath, "sh", tc.written)
				if out, err := cmd.CombinedOutput(); err == nil {
					werr = nil
				} else {
					werr = fmt.Errorf("%v: %s", err, out)
				}
			} else {
				werr = writeOnce(t, tc.written)
			}
			if (werr == nil) != want.OK {
				t.Errorf("write %q: err %v, want ok=%v", tc.written, werr, want.OK)
			}
			got, err := observer.ReadActionsLogged()
			if err != nil {
				t.Fatal(err)
			}
			if got != want.New {
				t.Errorf("write %q: value %q, want %q", tc.written, got, want.New)
			}
			rec := nextConfigChange(t, rd)
			if rec.Actions != want.RecordActions || rec.OldActions != want.RecordOldActions || rec.Res != want.Res {
				t.Errorf("write %q: record actions=%s old-actions=%s res=%d, want actions=%s old-actions=%s res=%d",
					tc.written, rec.Actions, rec.OldActions, rec.Res, want.RecordActions, want.RecordOldActions, want.Res)
			}
			// Back to the previous value for the next case (its own record is consumed too).
			if err := writeOnce(t, old.String()); err != nil {
				t.Fatal(err)
			}
			nextConfigChange(t, rd)
		})
	}
	// A read never emits a record: read, then a marker write; the next record must be the marker's.
	if _, err := os.ReadFile(actionsLoggedPath); err != nil {
		t.Fatal(err)
	}
	cur, _ := observer.ReadActionsLogged()
	if err := writeOnce(t, cur.String()); err != nil {
		t.Fatal(err)
	}
	if rec := nextConfigChange(t, rd); rec.Res != 1 || rec.Actions != cur.AuditString() {
		t.Errorf("after a read: record %+v, want the marker write's", rec)
	}
}

// nextConfigChange reads until the next op=seccomp-logging record; the
// deadline only bounds a failure.
func nextConfigChange(t *testing.T, rd *audit.Reader) *audit.ConfigChange {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := rd.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the CONFIG_CHANGE record: %v", err)
		}
		if ev.Overrun {
			t.Fatal("audit multicast overrun")
		}
		if cc := ev.Record.ConfigChange; cc != nil {
			return cc
		}
	}
}
