// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
)

const (
	actionsAvailPath  = "/proc/sys/kernel/seccomp/actions_avail"
	actionsLoggedPath = "/proc/sys/kernel/seccomp/actions_logged"
)

func runDoctor(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	forceKprobe := fs.Bool("kprobe", false, "plan with kprobes only, as on a kernel without fentry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	fmt.Fprintf(stdout, "%-16s %s\n", "kernel", unix.ByteSliceToString(uts.Release[:]))
	privilegeLines(stdout)
	fmt.Fprintf(stdout, "%-16s %s\n", "actions_avail", readSysctl(actionsAvailPath))
	fmt.Fprintf(stdout, "%-16s %s\n", "actions_logged", readSysctl(actionsLoggedPath))
	if st, err := audit.GetStatus(); err != nil {
		fmt.Fprintf(stdout, "%-16s %s\n", "audit", auditStatusRefused(err))
	} else {
		fmt.Fprintf(stdout, "%-16s enabled=%d auditd_pid=%d backlog=%d/%d rate_limit=%d lost=%d\n", "audit",
			st.Enabled, st.Pid, st.Backlog, st.BacklogLimit, st.RateLimit, st.Lost)
	}
	recordsWhy := auditRecordsLine(stdout)

	plan, err := observer.Discover(observer.Options{ForceKprobe: *forceKprobe})
	if err != nil {
		// Discover loads the BTF first: any other error comes after it loaded.
		if errors.Is(err, observer.ErrNoBTF) {
			fmt.Fprintf(stdout, "%-16s %s\n", "btf", oneLineText(err.Error()))
		} else {
			fmt.Fprintf(stdout, "%-16s %s\n", "probes", oneLineText(err.Error()))
		}
		fmt.Fprintln(stdout, "verdict          not ready: "+oneLine(err))
		return exitError{1}
	}
	fmt.Fprintf(stdout, "%-16s ok (/sys/kernel/btf/vmlinux)\n", "btf")
	for _, h := range plan.Hooks {
		detail := h.Detail
		if h.Name == observer.HookDecision && h.Strategy != observer.StrategyUnavailable {
			ret := "int"
			if plan.RetKind == observer.RetBool {
				ret = "bool"
			}
			detail = strings.TrimSpace(fmt.Sprintf("%d parameters, %s return; %s", plan.FilterArity, ret, detail))
			detail = strings.TrimSuffix(detail, ";")
		}
		fmt.Fprintf(stdout, "hook %-11s %-18s %-11s %s\n", h.Name, h.Symbol, h.Strategy, oneLineText(detail))
	}
	if plan.ActionsLoggedAddr != 0 {
		fmt.Fprintf(stdout, "%-16s read by the probes at each decision (seccomp_actions_logged at %#x, audit_enabled at %#x)\n", "policy", plan.ActionsLoggedAddr, plan.AuditEnabledAddr)
	} else {
		why := "no KALLSYMS_ALL or kptr_restrict"
		if eff, err := effectiveCaps(); err == nil && eff&(1<<unix.CAP_SYSLOG) == 0 {
			why = "kallsyms shows addresses only with CAP_SYSLOG"
		}
		fmt.Fprintf(stdout, "%-16s read from the sysctl at start and after each write (kernel address hidden: %s)\n", "policy", why)
	}
	if err := plan.Ready(); err != nil {
		fmt.Fprintln(stdout, "verdict          not ready: "+oneLine(err))
		return exitError{1}
	}
	if recordsWhy != "" {
		fmt.Fprintln(stdout, "verdict          ready, but audit records will not be followed: "+recordsWhy)
		return nil
	}
	fmt.Fprintln(stdout, "verdict          ready")
	return nil
}

// privilegeLines says who runs and, from the one capability list, which
// capability is there and what it is for.
func privilegeLines(w io.Writer) {
	who := fmt.Sprintf("uid %d", os.Geteuid())
	if os.Geteuid() == 0 {
		who += " (root)"
	}
	eff, err := effectiveCaps()
	if err != nil {
		fmt.Fprintf(w, "%-16s %s; %v\n", "privileges", who, err)
		return
	}
	fmt.Fprintf(w, "%-16s %s; the capabilities below are the effective ones\n", "privileges", who)
	for _, c := range capabilities {
		has, kind := "no", "optional"
		if eff&(1<<c.bit) != 0 {
			has = "yes"
		}
		switch {
		case c.required:
			kind = "required"
		case c.deploy:
			kind = "needed"
		}
		line := fmt.Sprintf("%-16s %-17s %-3s %-8s %s", "capability", c.name, has, kind, c.use)
		if has == "no" {
			line += "; without: " + c.without
		}
		fmt.Fprintln(w, line)
	}
	switch in, known := inInitialPidNS(); {
	case !known:
		fmt.Fprintf(w, "%-16s unknown (/proc/self/ns/pid unreadable)\n", "pid namespace")
	case in:
		fmt.Fprintf(w, "%-16s initial: pids match the probes'\n", "pid namespace")
	default:
		fmt.Fprintf(w, "%-16s %s\n", "pid namespace", oneLineText(errNotInitialPidNS.Error()))
	}
}

// auditStatusRefused is doctor's audit line when AUDIT_GET fails: without
// CAP_AUDIT_CONTROL that is expected, and says what is not known.
func auditStatusRefused(err error) string {
	if !errors.Is(err, unix.EPERM) {
		return "unreadable: " + oneLineText(err.Error())
	}
	if eff, cerr := effectiveCaps(); cerr == nil && eff&(1<<unix.CAP_AUDIT_CONTROL) == 0 {
		return "status not read: AUDIT_GET needs CAP_AUDIT_CONTROL (optional: without it audit_lost and the auditd pid are not reported)"
	}
	return "status not read: AUDIT_GET refused (it answers only in the initial pid namespace): " + oneLineText(err.Error())
}

// auditRecordsLine tries to join the audit multicast group as watch and
// check do, and returns why records would not be followed ("" if they would).
func auditRecordsLine(w io.Writer) string {
	if off, param := audit.DisabledAtBoot(); off {
		why := "audit disabled at boot (" + param + ")"
		fmt.Fprintf(w, "%-16s not followed: %s\n", "audit records", why)
		return why
	}
	rd, err := audit.NewReader(audit.ReaderOptions{})
	if err != nil {
		why := oneLineText(err.Error())
		fmt.Fprintf(w, "%-16s not followed: %s\n", "audit records", why)
		return why
	}
	rd.Close()
	fmt.Fprintf(w, "%-16s followed: joined the multicast group (records reach it only in the initial network namespace)\n", "audit records")
	return ""
}

// oneLineText puts text (an error's own words, for doctor's detail columns;
// oneLine gives the advice instead) on one line.
func oneLineText(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}

func readSysctl(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("unreadable: %v", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "(none)"
	}
	return s
}
