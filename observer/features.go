// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// The kinds of error a caller can act on. Each is classified once, where the
// failure happens, and wrapped with %w from there up: test with errors.Is.
// They name the cause only; what to do about it is the caller's to say.
var (
	// ErrNoBTF means the kernel exposes no BTF at /sys/kernel/btf/vmlinux
	// (a kernel built without CONFIG_DEBUG_INFO_BTF).
	ErrNoBTF = errors.New("kernel has no BTF")
	// ErrTracingRefused means the kernel refused a tracing program to a
	// privileged process: lockdown, or another BPF restriction.
	ErrTracingRefused = errors.New("tracing refused by the kernel")
	// ErrNotPrivileged means the process lacks the capabilities (CAP_BPF
	// and CAP_PERFMON, or CAP_SYS_ADMIN) or the rlimit to load tracing programs.
	ErrNotPrivileged = errors.New("not privileged")
	// ErrKprobesNeedSysAdmin is the ErrNotPrivileged of a kprobe refused
	// by kernel.perf_event_paranoid=3 (Debian's default): perf events need
	// CAP_SYS_ADMIN there, which CAP_BPF and CAP_PERFMON do not replace.
	// It matters where the kernel has no fentry (arm64 before 6.4).
	ErrKprobesNeedSysAdmin = errors.New("kprobes need CAP_SYS_ADMIN under kernel.perf_event_paranoid=3")
	// ErrHookMissing means a hook's kernel function does not exist here
	// (inlined, compiled out, or only a compiler clone). A *HookError around
	// it names the hook and the kernel option that provides it.
	ErrHookMissing = errors.New("missing from this kernel")
	// ErrNoSymbol is the former name of ErrHookMissing.
	//
	// Deprecated: use ErrHookMissing.
	ErrNoSymbol = ErrHookMissing
)

// funcInfo is what BTF says about a kernel function.
type funcInfo struct {
	params  int
	retBool bool
}

// loadVmlinuxBTF reads the kernel's BTF (/sys/kernel/btf/vmlinux, else a
// vmlinux ELF on disk); a variable so that a test can read a missing path.
var loadVmlinuxBTF = btf.LoadKernelSpec

var kernelBTF = sync.OnceValues(loadKernelBTF)

// loadKernelBTF is where a missing BTF gets its kind, ErrNoBTF.
func loadKernelBTF() (*btf.Spec, error) {
	spec, err := loadVmlinuxBTF()
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, btf.ErrNotSupported):
		return nil, fmt.Errorf("loading kernel BTF: %w: %w", ErrNoBTF, err)
	case err != nil:
		return nil, fmt.Errorf("loading kernel BTF: %w", err)
	}
	return spec, nil
}

// btfFunc looks a function up in the kernel BTF.
func btfFunc(name string) (funcInfo, error) {
	spec, err := kernelBTF()
	if err != nil {
		return funcInfo{}, err
	}
	var fn *btf.Func
	if err := spec.TypeByName(name, &fn); err != nil {
		return funcInfo{}, fmt.Errorf("%s %w: not in the kernel BTF", name, ErrHookMissing)
	}
	proto, ok := fn.Type.(*btf.FuncProto)
	if !ok {
		return funcInfo{}, fmt.Errorf("reading %s prototype: not a function prototype", name)
	}
	info := funcInfo{params: len(proto.Params)}
	if in, ok := btf.UnderlyingType(proto.Return).(*btf.Int); ok && in.Encoding == btf.Bool {
		info.retBool = true
	}
	return info, nil
}

// kernelSymbols is one pass over /proc/kallsyms: the text symbols
// (including the .constprop/.isra clones that BTF leaves out) and the
// addresses of the data symbols the probes read.
type kernelSymbols struct {
	text map[string]bool
	data map[string]uint64
}

// dataSymbols are read by the probes when kallsyms shows them (KALLSYMS_ALL,
// and a kptr_restrict that shows root the addresses).
var dataSymbols = []string{"seccomp_actions_logged", "audit_enabled"}

var kallsymsTable = sync.OnceValues(func() (kernelSymbols, error) {
	syms := kernelSymbols{text: map[string]bool{}, data: map[string]uint64{}}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return syms, fmt.Errorf("reading /proc/kallsyms: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 { // module symbols have a fourth field
			continue
		}
		switch fields[1] {
		case "t", "T":
			syms.text[fields[2]] = true
		case "d", "D", "b", "B":
			if slices.Contains(dataSymbols, fields[2]) {
				if addr, err := strconv.ParseUint(fields[0], 16, 64); err == nil && addr != 0 {
					syms.data[fields[2]] = addr
				}
			}
		}
	}
	return syms, sc.Err()
})

func kallsyms() (map[string]bool, error) {
	s, err := kallsymsTable()
	return s.text, err
}

// kallsymsData returns the address of one of dataSymbols, 0 when hidden.
func kallsymsData(name string) uint64 {
	s, _ := kallsymsTable()
	return s.data[name]
}

// symbolState says whether name can be hooked, and if not, why: an error
// wrapping ErrHookMissing when it is known to be absent.
func symbolState(name string) (inBTF bool, inKallsyms bool, why error) {
	_, err := btfFunc(name)
	inBTF = err == nil
	syms, kerr := kallsyms()
	if kerr == nil {
		inKallsyms = syms[name]
	}
	switch {
	case inBTF || inKallsyms:
		return inBTF, inKallsyms, nil
	case kerr == nil:
		for s := range syms {
			if strings.HasPrefix(s, name+".") {
				return false, false, fmt.Errorf("%s %w: only the compiler clone %s exists (altered ABI, not hookable)", name, ErrHookMissing, s)
			}
		}
		return false, false, fmt.Errorf("%s %w: not in kallsyms or BTF, inlined or compiled out", name, ErrHookMissing)
	default:
		return false, false, fmt.Errorf("%s is not in BTF and kallsyms is unreadable: %w", name, kerr)
	}
}

// probeResult caches one named feature probe.
type probeResult struct {
	once sync.Once
	err  error
}

func (p *probeResult) do(fn func() error) error {
	p.once.Do(func() { p.err = fn() })
	return p.err
}

// Probe results per target function: a refusal is usually global, but a
// missing ftrace entry is per function.
var (
	probesMu                   sync.Mutex
	fentryProbes, kprobeProbes = map[string]*probeResult{}, map[string]*probeResult{}
)

func cachedProbe(m map[string]*probeResult, target string) *probeResult {
	probesMu.Lock()
	defer probesMu.Unlock()
	if m[target] == nil {
		m[target] = &probeResult{}
	}
	return m[target]
}

// haveFentry loads and attaches a trivial fentry program on target: the
// program type existing is not enough, lockdown refuses the load itself.
func haveFentry(target string) error {
	return cachedProbe(fentryProbes, target).do(func() error {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name:         "st_probe_fentry",
			Type:         ebpf.Tracing,
			AttachType:   ebpf.AttachTraceFEntry,
			AttachTo:     target,
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
			License:      "GPL",
		})
		if err != nil {
			return classify("loading fentry probe", err)
		}
		defer prog.Close()
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			return classify("attaching fentry probe", err)
		}
		return l.Close()
	})
}

var ptrArgProbes = map[string]*probeResult{}

// haveFexitPointerArgs loads an fexit program on target that reads its
// arguments 2 and 3 (void *buffer and size_t *lenp) as scalars: void * was
// always allowed, a pointer to a typedef'd integer only from 6.4.
func haveFexitPointerArgs(target string) error {
	return cachedProbe(ptrArgProbes, target).do(func() error {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name:       "st_probe_ptrarg",
			Type:       ebpf.Tracing,
			AttachType: ebpf.AttachTraceFExit,
			AttachTo:   target,
			Instructions: asm.Instructions{
				asm.LoadMem(asm.R2, asm.R1, 16, asm.DWord),
				asm.LoadMem(asm.R3, asm.R1, 24, asm.DWord),
				asm.Mov.Imm(asm.R0, 0),
				asm.Return(),
			},
			License: "GPL",
		})
		if err != nil {
			return classify("loading pointer-argument probe", err)
		}
		return prog.Close()
	})
}

// haveKprobe loads and attaches a trivial kprobe on target.
func haveKprobe(target string) error {
	return cachedProbe(kprobeProbes, target).do(func() error {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name:         "st_probe_kprobe",
			Type:         ebpf.Kprobe,
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
			License:      "GPL",
		})
		if err != nil {
			return classify("loading kprobe probe", err)
		}
		defer prog.Close()
		l, err := link.Kprobe(target, prog, nil)
		if err != nil && perfParanoidRefused(err) {
			return fmt.Errorf("attaching kprobe probe: %w: %w: %w", ErrNotPrivileged, ErrKprobesNeedSysAdmin, err)
		}
		if err != nil {
			return classify("attaching kprobe probe", err)
		}
		return l.Close()
	})
}

// classify is where a kernel refusal gets its kind, once: EPERM or EACCES
// is ErrNotPrivileged for a process without the capabilities, and
// ErrTracingRefused for one with them. The kernel's error stays wrapped.
func classify(action string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		if !privileged() {
			return fmt.Errorf("%s: %w: %w", action, ErrNotPrivileged, err)
		}
		if lockdown := kernelLockdown(); lockdown != "" {
			return fmt.Errorf("%s: %w (kernel lockdown %q): %w", action, ErrTracingRefused, lockdown, err)
		}
		return fmt.Errorf("%s: %w: %w", action, ErrTracingRefused, err)
	}
	return fmt.Errorf("%s: %w", action, err)
}

// perfParanoidRefused reports whether a refused kprobe perf event is one
// that CAP_PERFMON does not cure: Debian's kernel.perf_event_paranoid=3
// (its default) refuses perf_event_open without CAP_SYS_ADMIN.
func perfParanoidRefused(err error) bool {
	if (!errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES)) || hasCap(unix.CAP_SYS_ADMIN) {
		return false
	}
	b, rerr := os.ReadFile("/proc/sys/kernel/perf_event_paranoid")
	n, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	return rerr == nil && perr == nil && n >= 3
}

// hasCap reports whether capability c is in the effective set.
func hasCap(c uint) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.Geteuid() == 0
	}
	return data[c/32].Effective&(1<<(c%32)) != 0
}

// privileged reports whether the process has the effective capabilities to
// load tracing programs (CAP_BPF and CAP_PERFMON from 5.8; CAP_SYS_ADMIN
// covers both, and is all there is before), so that a refusal is policy.
func privileged() bool {
	return hasCap(unix.CAP_SYS_ADMIN) || (hasCap(unix.CAP_BPF) && hasCap(unix.CAP_PERFMON))
}

// kernelLockdown returns the active lockdown mode, or "" when none or unknown.
func kernelLockdown() string {
	b, err := os.ReadFile("/sys/kernel/security/lockdown")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			mode := s[i+1 : i+j]
			if mode != "none" {
				return mode
			}
		}
	}
	return ""
}
