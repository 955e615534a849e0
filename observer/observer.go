// SPDX-License-Identifier: Apache-2.0

// Package observer loads seccomptrace's BPF probes into the kernel, streams
// every seccomp decision and log emission through a ring buffer and decodes
// them into typed events. It returns errors and never logs.
//
// The data path: bpf/seccomptrace.bpf.c → gen (bpf2go) → observer → cmd.
package observer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/gen"
)

// Options select what the probes follow.
type Options struct {
	// PIDs restricts tracing to these thread-group ids (and, with
	// FollowForks, their descendants). Empty means every task, unless Comm is set.
	PIDs []int
	// FollowForks adds every process forked by a target to the targets.
	FollowForks bool
	// Comm restricts tracing to tasks with this exact comm (at most 15 bytes).
	Comm string
	// SendAll also sends decisions the action cache answers with ALLOW;
	// normally they are only counted, since they can never log.
	SendAll bool
	// ForceKprobe skips fentry/fexit even where the kernel allows them.
	ForceKprobe bool
	// Forecast also counts cached ALLOWs per process and syscall
	// (AllowCounts) and keeps the name of each process it counts
	// (TaskComms). Off, the probes compile it out: watch and check pay nothing.
	Forecast bool
}

// Strategy is how a hook is attached.
type Strategy string

// Attach strategies, best first.
const (
	StrategyFentry      Strategy = "fentry"
	StrategyKprobe      Strategy = "kprobe"
	StrategyUnavailable Strategy = "unavailable"
)

// Hook names.
const (
	HookDecision   = "decision"
	HookEmission   = "emission"
	HookSeccompLog = "seccomp_log"
	HookFork       = "fork"
	HookSysctl     = "sysctl"
	HookFilterFree = "filter_free"
	// HookFilterRelease sees a task's filters released at its exit (6.10+
	// release them in do_exit, before sched_process_exit): a kill inside
	// the filter is sent from there with its stack.
	HookFilterRelease = "filter_release"
	HookAuditStart    = "audit_start"
	HookAuditLost     = "audit_lost"
)

// HookStatus reports how one hook was attached, or why it was not.
type HookStatus struct {
	Name     string
	Symbol   string
	Strategy Strategy
	// Detail says in words why the strategy was chosen or why the hook is
	// missing, on one line.
	Detail string
	// Err is why the hook is unavailable; nil when it attaches or is not
	// needed. Its kind is ErrTracingRefused, ErrNotPrivileged or
	// ErrHookMissing where the cause is one of those (test with errors.Is),
	// and it wraps the kernel's error.
	Err error
	// Config is the kernel option that provides Symbol.
	Config string
	// Required hooks make Open fail when unavailable.
	Required bool
}

// unavailable marks the hook unavailable because of err.
func (h *HookStatus) unavailable(err error) {
	h.Strategy, h.Detail, h.Err = StrategyUnavailable, err.Error(), err
}

// pick chooses the hook's strategy with pickStrategy.
func (h *HookStatus) pick(forceKprobe bool) {
	h.Strategy, h.Detail, h.Err = pickStrategy(h.Symbol, forceKprobe)
}

// HookError is the error for a required hook that cannot be attached: it
// names the hook (and, through HookStatus.Config, the kernel option that
// provides it) and unwraps to HookStatus.Err, so errors.Is sees its kind.
type HookError struct {
	HookStatus
}

func (e *HookError) Error() string {
	why := e.Detail
	if e.Err != nil {
		why = e.Err.Error()
	}
	return fmt.Sprintf("attaching %s hook (%s): %s", e.Name, e.Symbol, why)
}

func (e *HookError) Unwrap() error { return e.Err }

// hookConfigs are the kernel options that provide each hook's symbol.
var hookConfigs = map[string]string{
	HookDecision:      "CONFIG_SECCOMP_FILTER",
	HookEmission:      "CONFIG_AUDITSYSCALL",
	HookSeccompLog:    "CONFIG_SECCOMP_FILTER",
	HookSysctl:        "CONFIG_SYSCTL",
	HookFilterFree:    "CONFIG_NET",
	HookFilterRelease: "CONFIG_SECCOMP_FILTER",
	HookAuditStart:    "CONFIG_AUDIT",
	HookAuditLost:     "CONFIG_AUDIT",
	HookFork:          "CONFIG_TRACEPOINTS",
}

// RetKind is how __seccomp_filter reports "skip the syscall".
type RetKind int

const (
	// RetInt is int: 0 runs the syscall, -1 skips it (up to 7.2).
	RetInt RetKind = iota
	// RetBool is bool: true runs the syscall (7.3+).
	RetBool
)

// Plan is the attach plan chosen from BTF and kallsyms, before anything loads.
type Plan struct {
	Hooks       []HookStatus
	FilterArity int
	RetKind     RetKind
	EmissionSym string
	// ActionsLoggedAddr and AuditEnabledAddr are the kernel variables'
	// addresses from kallsyms, read by the probes at each decision; 0 when
	// hidden (no KALLSYMS_ALL, kptr_restrict).
	ActionsLoggedAddr, AuditEnabledAddr uint64
	// SysctlWritten: the sysctl hook copies the string written (its fexit
	// may read the handler's pointer arguments, or it is a kprobe pair).
	SysctlWritten bool
}

// Ready returns nil when every required hook can be attached, and otherwise
// a *HookError for the first that cannot: the error Open would return.
func (p Plan) Ready() error {
	for _, h := range p.Hooks {
		if h.Required && h.Strategy == StrategyUnavailable {
			return &HookError{h}
		}
	}
	return nil
}

// Observer holds the loaded probes and the ring-buffer reader; its
// Decoder decodes what Read reads.
type Observer struct {
	*Decoder
	plan   Plan
	objs   *ebpf.Collection
	links  []link.Link
	reader *ringbuf.Reader
	record ringbuf.Record
	// consumed is the ring position after the last record Read returned.
	consumed uint64
	// syncPacket is SendMarker's packet, reused.
	syncPacket [syncPacketLen]byte
}

// Discover chooses a strategy for each hook without loading the probes. Its
// error is ErrNoBTF or ErrNotPrivileged where the cause is one of those; a
// hook it cannot attach is not an error here but a HookStatus with Err set.
func Discover(opts Options) (Plan, error) {
	var plan Plan
	if _, err := kernelBTF(); err != nil {
		return plan, err
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; the probes below load programs.
	if err := rlimit.RemoveMemlock(); err != nil {
		if errors.Is(err, unix.EPERM) { // raising it needs CAP_SYS_RESOURCE
			return plan, fmt.Errorf("removing memlock limit: %w: %w", ErrNotPrivileged, err)
		}
		return plan, fmt.Errorf("removing memlock limit: %w", err)
	}

	// Decision hook: __seccomp_filter; its arity differs by kernel (§1, §8).
	dec := HookStatus{Name: HookDecision, Symbol: "__seccomp_filter", Required: true}
	fi, err := btfFunc(dec.Symbol)
	switch {
	case err != nil:
		dec.unavailable(err)
	case fi.params != 2 && fi.params != 3:
		dec.unavailable(fmt.Errorf("%s has %d parameters; only 2 or 3 are known", dec.Symbol, fi.params))
	default:
		plan.FilterArity = fi.params
		if fi.retBool {
			plan.RetKind = RetBool
		}
		dec.pick(opts.ForceKprobe)
	}
	plan.Hooks = append(plan.Hooks, dec)

	// Emission hook: audit_seccomp from 4.18, __audit_seccomp before (§5.1).
	em := HookStatus{Name: HookEmission, Required: true}
	for _, sym := range []string{"audit_seccomp", "__audit_seccomp"} {
		inBTF, inSyms, _ := symbolState(sym)
		if inBTF || inSyms {
			em.Symbol = sym
			break
		}
	}
	if em.Symbol == "" {
		em.Symbol = "audit_seccomp"
		em.unavailable(fmt.Errorf("audit_seccomp %w: neither audit_seccomp nor __audit_seccomp exists, so the kernel logs no seccomp records", ErrHookMissing))
	} else {
		em.pick(opts.ForceKprobe)
	}
	plan.EmissionSym = em.Symbol
	plan.Hooks = append(plan.Hooks, em)

	// seccomp_log: inlined on distribution kernels, present on rebuilt ones.
	sl := HookStatus{Name: HookSeccompLog, Symbol: "seccomp_log"}
	if inBTF, inSyms, why := symbolState(sl.Symbol); inBTF || inSyms {
		sl.pick(opts.ForceKprobe)
	} else {
		sl.unavailable(why)
		sl.Detail += " (optional: decisions are reconstructed from the filters)"
	}
	plan.Hooks = append(plan.Hooks, sl)

	// Writes to actions_logged: every attempt returns through this handler (§5.3).
	sc := HookStatus{Name: HookSysctl, Symbol: "seccomp_actions_logged_handler"}
	sc.pick(opts.ForceKprobe)
	switch {
	case sc.Strategy == StrategyKprobe:
		// The kprobe keeps the handler's buffer and lenp for the kretprobe,
		// which reads them as kernel memory (no verifier typing involved).
		plan.SysctlWritten = true
	case sc.Strategy != StrategyFentry:
		sc.Detail = strings.TrimPrefix(sc.Detail+"; the string written is not seen", "; ")
	case haveFexitPointerArgs(sc.Symbol) != nil:
		sc.Detail = "the string written is not seen (this verifier refuses the handler's size_t *lenp argument)"
	default:
		plan.SysctlWritten = true
	}
	plan.Hooks = append(plan.Hooks, sc)
	// A freed filter's address can be reused by a new filter: forget it when
	// seccomp_filter_free destroys its program, so the new one is sent.
	ff := HookStatus{Name: HookFilterFree, Symbol: "bpf_prog_destroy", Required: true}
	ff.pick(opts.ForceKprobe)
	plan.Hooks = append(plan.Hooks, ff)

	fr := HookStatus{Name: HookFilterRelease, Symbol: "seccomp_filter_release"}
	fr.pick(opts.ForceKprobe)
	plan.Hooks = append(plan.Hooks, fr)

	// Where a decided record dies (§6): optional, they attribute losses.
	for _, h := range []HookStatus{{Name: HookAuditStart, Symbol: "audit_log_start"}, {Name: HookAuditLost, Symbol: "audit_log_lost"}} {
		h.pick(opts.ForceKprobe)
		plan.Hooks = append(plan.Hooks, h)
	}

	plan.ActionsLoggedAddr = kallsymsData("seccomp_actions_logged")
	plan.AuditEnabledAddr = kallsymsData("audit_enabled")

	fork := HookStatus{Name: HookFork, Symbol: "sched_process_fork", Strategy: StrategyUnavailable, Detail: "not needed: not following forks"}
	if opts.FollowForks {
		fork.Strategy, fork.Detail, fork.Required = strategyTpBTF, "", true
	}
	plan.Hooks = append(plan.Hooks, fork)
	for i := range plan.Hooks {
		plan.Hooks[i].Config = hookConfigs[plan.Hooks[i].Name]
	}
	return plan, nil
}

// errFentrySkipped is the fentry side of a hook under Options.ForceKprobe.
var errFentrySkipped = errors.New("skipped on request")

// pickStrategy tries fentry, then kprobe, and explains the choice: a detail
// in words, and when neither works, the error of unavailableErr.
func pickStrategy(symbol string, forceKprobe bool) (Strategy, string, error) {
	inBTF, inSyms, why := symbolState(symbol)
	var fentryErr error
	switch {
	case forceKprobe:
		fentryErr = errFentrySkipped
	case !inBTF:
		fentryErr = fmt.Errorf("%s %w: not in the kernel BTF", symbol, ErrHookMissing)
	default:
		fentryErr = haveFentry(symbol)
	}
	if fentryErr == nil {
		return StrategyFentry, "", nil
	}
	var kprobeErr error
	switch {
	case !inSyms && why != nil:
		kprobeErr = why
	case !inSyms:
		kprobeErr = fmt.Errorf("%s %w: not in kallsyms", symbol, ErrHookMissing)
	default:
		kprobeErr = haveKprobe(symbol)
	}
	if kprobeErr == nil {
		return StrategyKprobe, fmt.Sprintf("fentry unavailable: %v", fentryErr), nil
	}
	err := unavailableErr(fentryErr, kprobeErr)
	return StrategyUnavailable, err.Error(), err
}

// unavailableErr is why a hook can be attached neither way, as one error of
// one kind: it wraps whichever of the two says most about what to do (see
// kindRank; fentry on a tie) and keeps the other in words.
func unavailableErr(fentryErr, kprobeErr error) error {
	if kindRank(kprobeErr) > kindRank(fentryErr) {
		return fmt.Errorf("fentry: %v; kprobe: %w", fentryErr, kprobeErr)
	}
	return fmt.Errorf("fentry: %w; kprobe: %v", fentryErr, kprobeErr)
}

// kindRank orders attach errors by what they tell a user to do: lacking
// privileges hides everything else, a refusal beats any detail of one
// method, and a symbol missing for one method says least (the other
// method's error is then the real reason).
func kindRank(err error) int {
	switch {
	case errors.Is(err, ErrNotPrivileged):
		return 4
	case errors.Is(err, ErrTracingRefused):
		return 3
	case errors.Is(err, errFentrySkipped):
		return 0
	case errors.Is(err, ErrHookMissing):
		return 1
	default:
		return 2
	}
}

// Open discovers the hooks, loads the probes, attaches them and starts the
// reader. Its errors keep their kind: Discover's, a *HookError (wrapping
// the hook's Err) for a required hook that cannot be attached, and
// ErrNotPrivileged or ErrTracingRefused for a refused load or attach.
func Open(opts Options) (*Observer, error) {
	if len(opts.Comm) > 15 {
		return nil, fmt.Errorf("checking comm filter %q: longer than 15 bytes, the kernel's comm is truncated there", opts.Comm)
	}
	plan, err := Discover(opts)
	if err != nil {
		return nil, err
	}
	if err := plan.Ready(); err != nil {
		return nil, err
	}
	spec, err := gen.LoadSeccomp()
	if err != nil {
		return nil, fmt.Errorf("loading probe spec: %w", err)
	}
	binds := bindings(plan, opts)
	// One ELF serves every kernel: drop the programs this kernel will not run before load.
	keep := map[string]bool{}
	for _, b := range binds {
		keep[b.prog] = true
	}
	// Never attached: SendMarker runs it, whatever the strategy.
	keep[gen.SeccompProgSyncMark] = true
	for name := range spec.Programs {
		if !keep[name] {
			delete(spec.Programs, name)
		}
	}
	for _, b := range binds {
		if b.strategy == StrategyFentry {
			spec.Programs[b.prog].AttachTo = b.symbol
		}
	}

	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("counting possible CPUs: %w", err)
	}
	spec.Maps[gen.SeccompMapFilterScratch].MaxEntries = uint32(cpus)
	if !opts.Forecast {
		// Never written: no memory for them.
		spec.Maps[gen.SeccompMapAllowCounts].MaxEntries = 1
		spec.Maps[gen.SeccompMapTaskComms].MaxEntries = 1
	}
	var comm [16]byte
	copy(comm[:], opts.Comm)
	for name, v := range map[string]any{
		gen.SeccompVarFilterTargets:     boolByte(len(opts.PIDs) > 0),
		gen.SeccompVarFollowForks:       boolByte(opts.FollowForks),
		gen.SeccompVarFilterComm:        boolByte(opts.Comm != ""),
		gen.SeccompVarTargetComm:        comm,
		gen.SeccompVarSendAll:           boolByte(opts.SendAll),
		gen.SeccompVarFilterArity:       uint8(plan.FilterArity),
		gen.SeccompVarActionsLoggedAddr: plan.ActionsLoggedAddr,
		gen.SeccompVarAuditEnabledAddr:  plan.AuditEnabledAddr,
		gen.SeccompVarKprobeMode:        boolByte(plan.decisionByKprobe()),
		gen.SeccompVarForecast:          boolByte(opts.Forecast),
	} {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("setting %s: %w", name, err)
		}
	}

	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("loading probes: %w", verr) // the full log: %+v
		}
		return nil, classify("loading probes", err)
	}
	o := &Observer{Decoder: NewDecoder(plan.RetKind), plan: plan, objs: coll}
	for _, pid := range opts.PIDs {
		if err := o.AddTarget(pid); err != nil {
			o.Close()
			return nil, err
		}
	}
	for _, b := range binds {
		if err := o.attach(b); err != nil {
			o.Close()
			return nil, err
		}
	}
	o.reader, err = ringbuf.NewReader(coll.Maps[gen.SeccompMapEvents])
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("opening ring buffer reader: %w", err)
	}
	return o, nil
}

// binding is one program attached to one kernel symbol.
type binding struct {
	prog, symbol string
	strategy     Strategy
	ret          bool // kretprobe (fexit programs know it from their section)
}

// bindings lists the programs to attach, in attach order: emissions and
// bookkeeping first, the decision exit before its entry, so that no entry
// is ever recorded without its exit hook.
func bindings(plan Plan, opts Options) []binding {
	var out []binding
	pick := func(name, fentry, kprobe string, ret bool) {
		for _, h := range plan.Hooks {
			if h.Name != name {
				continue
			}
			switch h.Strategy {
			case StrategyFentry:
				out = append(out, binding{fentry, h.Symbol, StrategyFentry, false})
			case StrategyKprobe:
				out = append(out, binding{kprobe, h.Symbol, StrategyKprobe, ret})
			}
		}
	}
	pick(HookEmission, gen.SeccompProgFentryAuditSeccomp, gen.SeccompProgKprobeAuditSeccomp, false)
	pick(HookSeccompLog, gen.SeccompProgFentrySeccompLog, gen.SeccompProgKprobeSeccompLog, false)
	// The write's entry first: decisions that return while it runs are flagged.
	pick(HookSysctl, gen.SeccompProgFentryActionsLogged, gen.SeccompProgKprobeActionsLogged, false)
	if plan.SysctlWritten {
		pick(HookSysctl, gen.SeccompProgFexitActionsLogged, gen.SeccompProgKretprobeActionsLogged, true)
	} else {
		pick(HookSysctl, gen.SeccompProgFexitActionsLoggedNobuf, gen.SeccompProgKretprobeActionsLogged, true)
	}
	pick(HookFilterFree, gen.SeccompProgFentryProgDestroy, gen.SeccompProgKprobeProgDestroy, false)
	pick(HookFilterRelease, gen.SeccompProgFentryFilterRelease, gen.SeccompProgKprobeFilterRelease, false)
	pick(HookAuditStart, gen.SeccompProgFexitAuditLogStart, gen.SeccompProgKretprobeAuditLogStart, true)
	pick(HookAuditLost, gen.SeccompProgFentryAuditLogLost, gen.SeccompProgKprobeAuditLogLost, false)
	out = append(out, binding{gen.SeccompProgTaskExit, "sched_process_exit", strategyTpBTF, false})
	out = append(out, binding{gen.SeccompProgTaskExec, "sched_process_exec", strategyTpBTF, false})
	if opts.FollowForks {
		out = append(out, binding{gen.SeccompProgFollowFork, "sched_process_fork", strategyTpBTF, false})
	}
	// One fexit where trampolines work; a kprobe fallback needs the entry
	// too, attached after its kretprobe so that no entry is left without it.
	fexit := gen.SeccompProgFexitFilter3
	if plan.FilterArity == 2 {
		fexit = gen.SeccompProgFexitFilter2
	}
	pick(HookDecision, fexit, gen.SeccompProgKretprobeFilter, true)
	if plan.decisionByKprobe() {
		pick(HookDecision, "", gen.SeccompProgKprobeFilter, false)
	}
	return out
}

// decisionByKprobe says __seccomp_filter is followed by kprobe+kretprobe.
func (p Plan) decisionByKprobe() bool {
	for _, h := range p.Hooks {
		if h.Name == HookDecision {
			return h.Strategy == StrategyKprobe
		}
	}
	return false
}

// strategyTpBTF attaches a tp_btf program (a BTF-typed tracepoint).
const strategyTpBTF Strategy = "tp_btf"

func (o *Observer) attach(b binding) error {
	p := o.objs.Programs[b.prog]
	var l link.Link
	var err error
	switch {
	case b.strategy == StrategyFentry || b.strategy == strategyTpBTF:
		l, err = link.AttachTracing(link.TracingOptions{Program: p})
	case b.ret:
		l, err = link.Kretprobe(b.symbol, p, nil)
	default:
		l, err = link.Kprobe(b.symbol, p, nil)
	}
	if err != nil {
		return classify(fmt.Sprintf("attaching %s to %s", b.prog, b.symbol), err)
	}
	o.links = append(o.links, l)
	return nil
}

// Plan reports how each hook was attached.
func (o *Observer) Plan() Plan { return o.plan }

// AddTarget adds a thread-group id to the traced set.
func (o *Observer) AddTarget(pid int) error {
	one := uint8(1)
	if err := o.objs.Maps[gen.SeccompMapTargets].Put(uint32(pid), one); err != nil {
		return fmt.Errorf("adding target pid %d: %w", pid, err)
	}
	return nil
}

// Close detaches every probe and frees the maps. It is safe to call twice.
func (o *Observer) Close() error {
	var errs []error
	if o.reader != nil {
		errs = append(errs, o.reader.Close())
		o.reader = nil
	}
	for _, l := range o.links {
		errs = append(errs, l.Close())
	}
	o.links = nil
	if o.objs != nil {
		o.objs.Close()
		o.objs = nil
	}
	o.mu.Lock()
	o.cgroups.Close()
	o.mu.Unlock()
	return errors.Join(errs...)
}

// Flush makes a blocked or later Read return ErrDrained once the ring
// buffer is empty. A target that keeps sending can keep it from ever
// being empty: SendMarker is the barrier that does not wait for that.
func (o *Observer) Flush() error { return o.reader.Flush() }

// ringHeader is BPF_RINGBUF_HDR_SZ: every record is preceded by it.
const ringHeader = 8

// syncPacketLen is sync_mark's test-run packet: the Ethernet header
// BPF_PROG_TEST_RUN wants for a socket filter (ETH_HLEN, zeros), then the token.
const syncPacketLen = 14 + 8

// ErrSyncMark is returned by SendMarker when sync_mark did not say whether
// it wrote the marker (a return value it does not have).
var ErrSyncMark = errors.New("sync marker program returned an unknown value")

// SendMarker puts a *SyncMarker with token into the ring buffer, behind
// every record the probes reserved before the call: Read returns it once
// it has returned all of those. It runs sync_mark with BPF_PROG_TEST_RUN
// (it is never attached). pos is the ring's producer position read right
// after the attempt: every record reserved before the call, and the
// marker when sent, ends at or before it. When the ring is full no marker
// is written (sent is false), and pos is the barrier instead: Read has
// returned every earlier record once Consumed reaches it. Not for
// concurrent use.
func (o *Observer) SendMarker(token uint64) (sent bool, pos uint64, err error) {
	binary.NativeEndian.PutUint64(o.syncPacket[syncPacketLen-8:], token)
	ret, err := o.objs.Programs[gen.SeccompProgSyncMark].Run(&ebpf.RunOptions{Data: o.syncPacket[:]})
	if err != nil {
		return false, 0, classify("running the sync marker program", err)
	}
	switch gen.SeccompStSyncRet(ret) {
	case gen.SeccompStSyncRetST_SYNC_WRITTEN:
		sent = true
	case gen.SeccompStSyncRetST_SYNC_FULL:
	default:
		return false, 0, fmt.Errorf("%w: %d", ErrSyncMark, ret)
	}
	if err := o.objs.Variables[gen.SeccompVarSyncProdPos].Get(&pos); err != nil {
		return false, 0, fmt.Errorf("reading the ring's producer position: %w", err)
	}
	return sent, pos, nil
}

// Consumed is the ring buffer's position after the last record Read
// returned: bytes read since the probes were loaded, the ring's headers
// and padding included, as the kernel counts them. For the reader's own
// goroutine.
func (o *Observer) Consumed() uint64 { return o.consumed }

// Buffered is how many bytes of records wait in the ring buffer: at 0,
// the next Read blocks until the probes send one.
func (o *Observer) Buffered() int { return o.reader.AvailableBytes() }

// SetDeadline makes Read return os.ErrDeadlineExceeded after t.
func (o *Observer) SetDeadline(t time.Time) { o.reader.SetDeadline(t) }

// ErrDrained is returned by Read after Flush once the ring buffer is empty.
var ErrDrained = ringbuf.ErrFlushed

// Counters are the kernel-side counts, summed over CPUs.
type Counters struct {
	// Decisions is every __seccomp_filter entry of a targeted task.
	Decisions uint64
	// CachedAllow is the part of Decisions answered by the action cache
	// (never logs), counted but not sent unless Options.SendAll.
	CachedAllow uint64
	// Emissions is every audit_seccomp call seen.
	Emissions uint64
	// Silent is the part of Decisions marked silent by the observer
	// (MarkSilent): counted per task and syscall (SilentCounts), not sent.
	Silent uint64
	// SilentFull counts decisions sent because their count could not be kept.
	SilentFull uint64
	// AllowFull counts cached ALLOWs counted only in CachedAllow, not per
	// process and syscall, because AllowCounts was full (Options.Forecast).
	AllowFull uint64
	// Ring-buffer reservations that failed, per record kind.
	DroppedDecisions, DroppedEmissions, DroppedSeccompLogs, DroppedFilters, DroppedChains, DroppedSysctls, DroppedAuditDrops uint64
	// InflightFull counts decisions that could not be followed to their exit.
	InflightFull uint64
	// ExitsMissed counts decisions whose exit hook never ran (a missed
	// kretprobe): their result is unknown, so they were dropped.
	ExitsMissed uint64
	// DroppedTasks counts process records lost: their records name no
	// exe, parent, login or namespaces (Task.Proc is nil). Not in Lost:
	// no decision is missing for it.
	DroppedTasks uint64
	// SyncFull counts SendMarker calls that found the ring full: the
	// barrier waited by ring position instead. Not a loss.
	SyncFull uint64
}

// Lost is the number of records the kernel side could not deliver.
func (c Counters) Lost() uint64 {
	return c.DroppedDecisions + c.DroppedEmissions + c.DroppedSeccompLogs + c.DroppedFilters + c.DroppedChains + c.DroppedSysctls + c.DroppedAuditDrops + c.InflightFull + c.ExitsMissed
}

// Counters reads the per-CPU counters.
func (o *Observer) Counters() (Counters, error) {
	var c Counters
	m := o.objs.Maps[gen.SeccompMapCounters]
	sum := func(idx gen.SeccompStCounter) (uint64, error) {
		var per []uint64
		if err := m.Lookup(uint32(idx), &per); err != nil {
			return 0, fmt.Errorf("reading counter %d: %w", idx, err)
		}
		var s uint64
		for _, v := range per {
			s += v
		}
		return s, nil
	}
	for idx, dst := range map[gen.SeccompStCounter]*uint64{
		gen.SeccompStCounterST_CNT_DECISIONS:           &c.Decisions,
		gen.SeccompStCounterST_CNT_CACHED_ALLOW:        &c.CachedAllow,
		gen.SeccompStCounterST_CNT_EMISSIONS:           &c.Emissions,
		gen.SeccompStCounterST_CNT_RB_DROP_DECISION:    &c.DroppedDecisions,
		gen.SeccompStCounterST_CNT_RB_DROP_EMISSION:    &c.DroppedEmissions,
		gen.SeccompStCounterST_CNT_RB_DROP_SECCOMP_LOG: &c.DroppedSeccompLogs,
		gen.SeccompStCounterST_CNT_RB_DROP_FILTER:      &c.DroppedFilters,
		gen.SeccompStCounterST_CNT_RB_DROP_SYSCTL:      &c.DroppedSysctls,
		gen.SeccompStCounterST_CNT_RB_DROP_AUDIT_DROP:  &c.DroppedAuditDrops,
		gen.SeccompStCounterST_CNT_INFLIGHT_FULL:       &c.InflightFull,
		gen.SeccompStCounterST_CNT_EXIT_UNMATCHED:      &c.ExitsMissed,
		gen.SeccompStCounterST_CNT_SILENT:              &c.Silent,
		gen.SeccompStCounterST_CNT_SILENT_FULL:         &c.SilentFull,
		gen.SeccompStCounterST_CNT_RB_DROP_CHAIN:       &c.DroppedChains,
		gen.SeccompStCounterST_CNT_RB_DROP_TASK:        &c.DroppedTasks,
		gen.SeccompStCounterST_CNT_ALLOW_FULL:          &c.AllowFull,
		gen.SeccompStCounterST_CNT_RB_DROP_SYNC:        &c.SyncFull,
	} {
		v, err := sum(idx)
		if err != nil {
			return c, err
		}
		*dst = v
	}
	return c, nil
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// bootTime is the wall-clock instant of CLOCK_MONOTONIC zero, for bpf_ktime_get_ns stamps.
func bootTime() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}
