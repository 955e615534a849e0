// SPDX-License-Identifier: Apache-2.0

// Command seccomptrace watches seccomp decisions and the kernel's log
// emissions for them, so that each decision can be checked against the
// logging policy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

const usage = `usage: seccomptrace <command> [flags]

commands:
  doctor     check that this kernel and these privileges can trace seccomp logging
  watch      stream seccomp decisions paired with their log emissions and verdicts
  check      run a command and judge every decision it causes against the logging policy
  explain    say in one sentence why a decision was or was not logged
  conformance  run the built-in matrix of logging cases against this kernel (text, JSON, KTAP, JUnit)
  filters    every task with seccomp on now: chains, what each filter returns, what gets logged
  forecast   what a logging policy change would cost: records per second under it, before making it
  workload   run the built-in workload: known filters in a child, known syscalls

run 'seccomptrace <command> -h' for the flags of a command
`

// exitError carries an exit status without printing an error.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	workload.RunChildIfRequested()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "seccomptrace: "+oneLine(err))
		os.Exit(3)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	switch args[0] {
	case "doctor":
		return runDoctor(args[1:], stdout, stderr)
	case "watch":
		return runWatch(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "explain":
		return runExplain(ctx, args[1:], stdout, stderr)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr)
	case "filters":
		return runFilters(args[1:], stdout, stderr)
	case "forecast":
		return runForecast(ctx, args[1:], stdout, stderr)
	case "workload":
		return runWorkload(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q: want doctor, watch, check, explain, conformance, filters, forecast or workload", args[0])
	}
}

// oneLine turns an error into one line with the one advice that fits its
// kind; an error of no known kind is printed as it is, on one line. The
// advice is short: the kernel's words are for doctor's per-hook lines.
func oneLine(err error) string {
	var hook *observer.HookError
	switch {
	case errors.Is(err, observer.ErrKprobesNeedSysAdmin):
		return "kernel.perf_event_paranoid=3 refuses kprobes without CAP_SYS_ADMIN (the probes are kprobes with --kprobe or where the kernel has no fentry, as arm64 before 6.4): add CAP_SYS_ADMIN"
	case errors.Is(err, observer.ErrNotPrivileged):
		return notPrivilegedAdvice()
	case errors.Is(err, observer.ErrNoBTF):
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux): boot a kernel built with CONFIG_DEBUG_INFO_BTF=y"
	case errors.Is(err, observer.ErrTracingRefused):
		return "the kernel refuses tracing (lockdown or BPF restrictions): run `make demo` to trace inside a VM"
	case errors.Is(err, observer.ErrHookMissing) && errors.As(err, &hook):
		advice := fmt.Sprintf("the kernel has no %s for the %s hook", hook.Symbol, hook.Name)
		if hook.Config != "" {
			advice += fmt.Sprintf(": boot a kernel built with %s=y", hook.Config)
		}
		return advice
	}
	return oneLineText(err.Error())
}

// newFlags is a command's flag set: errors and help go to stderr, the
// usage text before the flags.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}
