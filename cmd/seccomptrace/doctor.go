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
	who := "root"
	if os.Geteuid() != 0 {
		who = fmt.Sprintf("uid %d (not root: loading probes needs CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)", os.Geteuid())
	}
	fmt.Fprintf(stdout, "%-16s %s\n", "privileges", who)
	fmt.Fprintf(stdout, "%-16s %s\n", "actions_avail", readSysctl(actionsAvailPath))
	fmt.Fprintf(stdout, "%-16s %s\n", "actions_logged", readSysctl(actionsLoggedPath))
	if st, err := audit.GetStatus(); err != nil {
		fmt.Fprintf(stdout, "%-16s unreadable: %v\n", "audit", err)
	} else {
		fmt.Fprintf(stdout, "%-16s enabled=%d auditd_pid=%d backlog=%d/%d rate_limit=%d lost=%d\n", "audit",
			st.Enabled, st.Pid, st.Backlog, st.BacklogLimit, st.RateLimit, st.Lost)
	}

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
		fmt.Fprintf(stdout, "%-16s read from the sysctl at start and after each write (kernel address hidden: no KALLSYMS_ALL or kptr_restrict)\n", "policy")
	}
	if err := plan.Ready(); err != nil {
		fmt.Fprintln(stdout, "verdict          not ready: "+oneLine(err))
		return exitError{1}
	}
	fmt.Fprintln(stdout, "verdict          ready")
	return nil
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
