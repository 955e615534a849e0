// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

const (
	actionsLoggedPath = "/proc/sys/kernel/seccomp/actions_logged"
	actionsAvailPath  = "/proc/sys/kernel/seccomp/actions_avail"
)

// ReadActionsLogged reads kernel.seccomp.actions_logged.
func ReadActionsLogged() (policy.ActionSet, error) {
	b, err := os.ReadFile(actionsLoggedPath)
	if err != nil {
		return 0, fmt.Errorf("reading actions_logged: %w", err)
	}
	set, err := policy.ParseActionsLoggedRead(string(b))
	if err != nil {
		return 0, fmt.Errorf("parsing actions_logged %q: %w", strings.TrimSpace(string(b)), err)
	}
	return set, nil
}

// ActionsAvail reads kernel.seccomp.actions_avail as a set, allow included.
// It is the one place that asks what this kernel's seccomp can do.
var ActionsAvail = sync.OnceValues(func() (policy.ActionSet, error) {
	b, err := os.ReadFile(actionsAvailPath)
	if err != nil {
		return 0, fmt.Errorf("reading actions_avail: %w", err)
	}
	var set policy.ActionSet
	for _, name := range strings.Fields(string(b)) {
		if name == "allow" {
			set |= policy.BitAllow
			continue
		}
		if s, err := policy.ParseActionsLoggedRead(name); err == nil {
			set |= s
		}
	}
	return set, nil
})

// HasUserNotif reports whether actions_avail names user_notif (5.0+).
func HasUserNotif() bool {
	set, err := ActionsAvail()
	return err == nil && set.Has(policy.BitUserNotif)
}
