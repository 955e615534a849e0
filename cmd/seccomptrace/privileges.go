// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// capability is one Linux capability seccomptrace uses, and what for.
type capability struct {
	// name as capabilities(7) spells it.
	name string
	bit  uint
	// deploy: watch and check are meant to run with it; contrib/ grants
	// exactly these (the systemd unit, the DaemonSet).
	deploy bool
	// required: the probes do not load without it (kernels 5.8+, which
	// have CAP_BPF and CAP_PERFMON; CAP_SYS_ADMIN covers both).
	required bool
	// use is what it buys, without what happens when it is missing.
	use, without string
}

// capabilities is the one list: doctor prints it, the not-privileged
// advice names the required ones, the privilege VM test grants the deploy
// set, and the contrib tests hold the systemd unit and the DaemonSet to it.
var capabilities = []capability{
	{"CAP_BPF", unix.CAP_BPF, true, true,
		"load the probes and their maps", "the probes do not load"},
	{"CAP_PERFMON", unix.CAP_PERFMON, true, true,
		"attach the tracing programs (fentry/fexit, tp_btf), which read kernel memory", "the probes do not attach"},
	{"CAP_AUDIT_READ", unix.CAP_AUDIT_READ, true, false,
		"join the audit multicast group: follow each emission to its record", "records not followed, delivery unknown"},
	{"CAP_AUDIT_CONTROL", unix.CAP_AUDIT_CONTROL, false, false,
		"read the audit status (enabled, lost, backlog, auditd) and list exclude rules",
		"no status; a loss to an exclude rule is named without the rule"},
	{"CAP_SYSLOG", unix.CAP_SYSLOG, false, false,
		"see kallsyms addresses, so the probes read actions_logged and audit_enabled at each decision",
		"the policy is read from the sysctl at start and after each write"},
	{"CAP_SYS_RESOURCE", unix.CAP_SYS_RESOURCE, false, false,
		"raise RLIMIT_MEMLOCK, kernels before 5.11 only", "there, start with RLIMIT_MEMLOCK unlimited"},
	{"CAP_SYS_ADMIN", unix.CAP_SYS_ADMIN, false, false,
		"kprobes (--kprobe, or no fentry) where kernel.perf_event_paranoid is 3 (Debian's default)",
		"not needed with fentry"},
}

// capNames are the names of the capabilities where keep(c).
func capNames(keep func(capability) bool) []string {
	var out []string
	for _, c := range capabilities {
		if keep(c) {
			out = append(out, c.name)
		}
	}
	return out
}

// deployCapabilities is the set contrib/ grants: exactly what watch and check need.
func deployCapabilities() []string { return capNames(func(c capability) bool { return c.deploy }) }

// notPrivilegedAdvice is the one line for ErrNotPrivileged.
func notPrivilegedAdvice() string {
	req := capNames(func(c capability) bool { return c.required })
	follow := capNames(func(c capability) bool { return c.deploy && !c.required })
	return fmt.Sprintf("not privileged: run as root or with %s (and %s to follow audit records)",
		strings.Join(req, " and "), strings.Join(follow, ", "))
}

// hostNamespace is an initial namespace of the host that seccomptrace
// must run in, and why; the pod field that grants it in Kubernetes (true,
// or left out where true is its default) and the unit directive that
// would take it away.
type hostNamespace struct {
	name               string
	podField           string
	podDefault         bool
	unitDirective, why string
}

// hostNamespaces: a container or a service must run in these.
var hostNamespaces = []hostNamespace{
	{"pid", "hostPID", false, "PrivatePIDs", "the probes and the audit records give pids of the initial pid namespace " +
		"(check and --pid follow processes by pid; AUDIT_GET and AUDIT_LIST_RULES answer only there)"},
	{"net", "hostNetwork", false, "PrivateNetwork", "the kernel multicasts audit records only in the initial network namespace"},
	{"user", "hostUsers", true, "PrivateUsers", "the capabilities must hold in the initial user namespace"},
}

// hostPaths are the host files the probes read that a container must see:
// the kernel's BTF (CO-RE relocation, fentry targets). Nothing is pinned
// (no bpffs), and fentry and the kprobe PMU need neither tracefs nor debugfs.
var hostPaths = []string{"/sys/kernel/btf"}

// effectiveCaps returns this thread's effective capability set, one bit
// per capability number.
func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("reading capabilities: %w", err)
	}
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective), nil
}

// The initial pid namespace has a fixed inode number (PROC_PID_INIT_INO).
const initPidNS = "pid:[4026531836]"

// inInitialPidNS reports whether this process sees pids as the probes do;
// known is false where /proc does not say.
func inInitialPidNS() (in, known bool) {
	l, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return false, false
	}
	return l == initPidNS, true
}

// errNotInitialPidNS: following this process (check, watch -- CMD) or
// --pid needs the pids the probes see.
var errNotInitialPidNS = errors.New("not in the initial pid namespace: the probes see pids of the host's, " +
	"so this process and --pid cannot be followed (run in the host's pid namespace: hostPID in Kubernetes)")

// startWithoutCapabilities starts cmd without the capabilities this
// process was given: it forks from a thread whose ambient and inheritable
// sets are cleared, so a non-root CMD starts with none (root's own are
// root's). Capabilities are per thread: the thread stays locked and the
// runtime ends it with the goroutine.
func startWithoutCapabilities(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := dropInheritable(); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// dropInheritable clears the calling thread's ambient and inheritable
// capabilities: what an execve passes on to a program without file
// capabilities.
func dropInheritable() error {
	// EINVAL: a kernel before 4.3, without ambient capabilities.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	if data[0].Inheritable == 0 && data[1].Inheritable == 0 {
		return nil
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing inheritable capabilities: %w", err)
	}
	return nil
}
