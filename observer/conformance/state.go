// SPDX-License-Identifier: Apache-2.0

package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/sysnames"
)

// DefaultStatePath is where a run records the system state it changes,
// before changing it, so that --restore can undo a run that was killed.
const DefaultStatePath = "/run/seccomptrace/conformance-state.json"

const actionsLoggedPath = "/proc/sys/kernel/seccomp/actions_logged"

// ruleArch and ruleNr are the one audit rule a run adds: "-a always,exit
// -F arch=b64 -S getpid". getpid is not a case syscall.
const (
	ruleArch = sysnames.Native
	ruleNr   = unix.SYS_GETPID
)

// savedState is what a run changes, as it was before.
type savedState struct {
	ActionsLogged string `json:"actions_logged"`
	AuditEnabled  uint32 `json:"audit_enabled"`
	// RuleAdded is set before the rule is added, so a crash in between still deletes it.
	RuleAdded bool `json:"rule_added"`
}

// system applies case settings and remembers how to undo them.
type system struct {
	path   string
	saved  savedState
	logged string
	audit  AuditState
}

func saveSystem(path string) (*system, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("saving system state: %s exists: an earlier run did not finish; run `seccomptrace conformance --restore` first", path)
	}
	b, err := os.ReadFile(actionsLoggedPath)
	if err != nil {
		return nil, fmt.Errorf("reading actions_logged: %w", err)
	}
	st, err := audit.GetStatus()
	if err != nil {
		return nil, fmt.Errorf("reading audit status (needs CAP_AUDIT_CONTROL in the initial pid namespace): %w", err)
	}
	s := &system{path: path, saved: savedState{ActionsLogged: strings.TrimSpace(string(b)), AuditEnabled: st.Enabled}, audit: -1}
	if st.Enabled == 2 {
		return nil, errors.New("audit is locked (enabled=2): the audit cases cannot run; boot without audit=2 locking")
	}
	return s, s.write()
}

func (s *system) write() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("saving system state: %w", err)
	}
	b, _ := json.Marshal(s.saved)
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("saving system state: %w", err)
	}
	return os.Rename(tmp, s.path)
}

// setLogged writes actions_logged with one write(2).
func setLogged(value string) error {
	fd, err := unix.Open(actionsLoggedPath, unix.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening actions_logged: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return fmt.Errorf("writing actions_logged %q: %w", value, err)
	}
	return nil
}

func (s *system) apply(logged string, a AuditState) error {
	if logged != s.logged {
		if err := setLogged(logged); err != nil {
			return err
		}
		s.logged = logged
	}
	if a == s.audit {
		return nil
	}
	if err := audit.SetEnabled(a != AuditOff); err != nil {
		return err
	}
	wantRule := a == AuditOnRule
	if wantRule && !s.saved.RuleAdded {
		s.saved.RuleAdded = true
		if err := s.write(); err != nil {
			return err
		}
		if err := audit.AddSyscallRule(ruleArch, ruleNr); err != nil {
			return err
		}
	} else if !wantRule && s.saved.RuleAdded {
		if err := audit.DeleteSyscallRule(ruleArch, ruleNr); err != nil {
			return err
		}
		s.saved.RuleAdded = false
		if err := s.write(); err != nil {
			return err
		}
	}
	s.audit = a
	return nil
}

// restore puts back what the run changed and removes the state file.
func (s *system) restore() error {
	return restoreSaved(s.path, s.saved)
}

func restoreSaved(path string, saved savedState) error {
	var errs []error
	if saved.RuleAdded {
		if err := audit.DeleteSyscallRule(ruleArch, ruleNr); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
	}
	if err := audit.SetEnabled(saved.AuditEnabled != 0); err != nil {
		errs = append(errs, err)
	}
	if err := setLogged(saved.ActionsLogged); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restoring system state from %s: %w", path, err)
	}
	return nil
}

// Restore undoes a run that could not clean up (SIGKILL, power loss) from
// its state file. It reports whether there was anything to restore.
func Restore(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	var saved savedState
	if err := json.Unmarshal(b, &saved); err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return true, restoreSaved(path, saved)
}
