// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// The container tests run a real OCI container with crun (Debian's crun
// package) under the default seccomp profile of Debian's
// golang-github-containers-common (what podman applies), in a
// busybox-static root made here: no image, no registry, no network.
const (
	containersProfile = "/usr/share/containers/seccomp.json"
	busyboxStatic     = "/bin/busybox"
)

// podmanCaps are podman's default capabilities (containers.conf
// default_capabilities): the profile's rules with includes/excludes on
// capabilities are resolved against them, as podman does.
var podmanCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
	"CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}

// containersProfileJSON is the part of containers/common's seccomp.json the
// conversion reads.
type containersProfileJSON struct {
	DefaultAction   string `json:"defaultAction"`
	DefaultErrnoRet *uint  `json:"defaultErrnoRet"`
	ArchMap         []struct {
		Arch string   `json:"architecture"`
		Sub  []string `json:"subArchitectures"`
	} `json:"archMap"`
	Syscalls []struct {
		Names    []string          `json:"names"`
		Action   string            `json:"action"`
		ErrnoRet *uint             `json:"errnoRet"`
		Args     []json.RawMessage `json:"args"`
		Includes profileCond       `json:"includes"`
		Excludes profileCond       `json:"excludes"`
	} `json:"syscalls"`
}

type profileCond struct {
	Caps      []string `json:"caps"`
	Arches    []string `json:"arches"`
	MinKernel string   `json:"minKernel"`
}

// scmpNative is the profile's name for this machine's arch.
var scmpNative = map[string]string{"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64"}[runtime.GOARCH]

// ociSeccomp converts the profile to an OCI config's linux.seccomp for a
// container of this machine's arch with caps, as podman does: the native
// arch and its subarchitectures; a rule only where its includes hold (every cap, the
// arch) and its excludes do not.
func ociSeccomp(t *testing.T, caps []string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(containersProfile)
	if err != nil {
		testutil.Missing(t, "%s (Debian's golang-github-containers-common; vmtest/setup.sh installs it): %v", containersProfile, err)
	}
	var p containersProfileJSON
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", containersProfile, err)
	}
	var arches []string
	for _, a := range p.ArchMap {
		if a.Arch == scmpNative {
			arches = append([]string{a.Arch}, a.Sub...)
		}
	}
	if arches == nil {
		t.Fatalf("%s has no %s in its archMap", containersProfile, scmpNative)
	}
	var rules []map[string]any
	for _, s := range p.Syscalls {
		ok := len(s.Includes.Arches) == 0 || slices.Contains(s.Includes.Arches, runtime.GOARCH)
		ok = ok && !slices.Contains(s.Excludes.Arches, runtime.GOARCH)
		for _, c := range s.Includes.Caps {
			ok = ok && slices.Contains(caps, c)
		}
		for _, c := range s.Excludes.Caps {
			ok = ok && !slices.Contains(caps, c)
		}
		// minKernel rules (none in Debian's profile) would need the kernel's version: kept out.
		if !ok || s.Includes.MinKernel != "" {
			continue
		}
		r := map[string]any{"names": s.Names, "action": s.Action}
		if s.ErrnoRet != nil {
			r["errnoRet"] = *s.ErrnoRet
		}
		if len(s.Args) > 0 {
			r["args"] = s.Args
		}
		rules = append(rules, r)
	}
	out := map[string]any{"defaultAction": p.DefaultAction, "architectures": arches, "syscalls": rules}
	if p.DefaultErrnoRet != nil {
		out["defaultErrnoRet"] = *p.DefaultErrnoRet
	}
	return out
}

// container is an OCI bundle: a busybox-static root, a config made by
// `crun spec` and edited, and a folder shared with the container at /hold
// for FIFOs that hold it at known points.
type container struct {
	bundle, hold, cgroup string
	id                   string
}

// needCrun fails in the VM, or skips on the host, without what a
// container needs.
func needCrun(t *testing.T) string {
	t.Helper()
	crun, err := exec.LookPath("crun")
	if err != nil {
		testutil.Missing(t, "crun (Debian's crun; vmtest/setup.sh installs it): %v", err)
	}
	if _, err := os.Stat(busyboxStatic); err != nil {
		testutil.Missing(t, "%s (busybox-static): %v", busyboxStatic, err)
	}
	// crun puts the container in a cgroup of its own: the guest's init mounts no cgroup2.
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		if err := unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, ""); err != nil {
			testutil.Missing(t, "a cgroup2 hierarchy at /sys/fs/cgroup: %v", err)
		}
	}
	return crun
}

// newContainer makes a bundle whose process runs script with busybox sh.
func newContainer(t *testing.T, crun, name, script string) *container {
	t.Helper()
	dir := t.TempDir()
	// Named as podman names its containers (64 hex digits), in the cgroup
	// podman's cgroupfs manager gives them: the id is then named on every
	// decision and chain of the container (docs/attribution.md).
	sum := sha256.Sum256([]byte(fmt.Sprintf("seccomptrace-%s-%d", name, os.Getpid())))
	c := &container{bundle: dir, hold: filepath.Join(dir, "hold"), id: hex.EncodeToString(sum[:])}
	c.cgroup = "/libpod_parent/libpod-" + c.id
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "hold"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(c.hold, 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(busyboxStatic)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "echo", "swapoff", "true", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	for _, fifo := range []string{"ready", "go"} {
		if err := unix.Mkfifo(filepath.Join(c.hold, fifo), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	spec := exec.Command(crun, "spec")
	spec.Dir = dir
	if out, err := spec.CombinedOutput(); err != nil {
		t.Fatalf("crun spec: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/bin/sh", "-c", script}
	proc["env"] = []string{"PATH=/bin"}
	proc["capabilities"] = map[string]any{"bounding": podmanCaps, "effective": podmanCaps, "permitted": podmanCaps}
	cfg["root"] = map[string]any{"path": "rootfs", "readonly": true}
	cfg["mounts"] = append(cfg["mounts"].([]any), map[string]any{"destination": "/hold", "type": "bind", "source": c.hold, "options": []string{"rbind", "rw"}})
	linux := cfg["linux"].(map[string]any)
	linux["cgroupsPath"] = c.cgroup
	linux["seccomp"] = ociSeccomp(t, podmanCaps)
	// `crun spec` lists the pid, network (none: --network none), ipc, uts, cgroup and mount namespaces.
	b, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// args is the command line that runs the container in the foreground.
func (c *container) args(crun string) []string {
	return []string{crun, "run", "--bundle", c.bundle, c.id}
}

// held waits until the container's script has opened /hold/ready for
// writing (it has reached that point), reads its host pid and cgroup id,
// and returns a function that lets the script go on past /hold/go.
func (c *container) held(t *testing.T, crun string) (pid int, cgroupID uint64, release func()) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.hold, "ready")) // blocks until the script writes and closes it
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != "ready" {
		t.Fatalf("container said %q, want ready", b)
	}
	out, err := exec.Command(crun, "state", c.id).Output()
	if err != nil {
		t.Fatalf("crun state %s: %v", c.id, err)
	}
	var st struct {
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Pid <= 0 {
		t.Fatalf("crun state %s: %v\n%s", c.id, err, out)
	}
	var fi unix.Stat_t
	if err := unix.Stat(filepath.Join("/sys/fs/cgroup", c.cgroup), &fi); err != nil {
		t.Fatalf("the container's cgroup: %v", err)
	}
	// On cgroup2 a cgroup's id is its directory's inode (bpf_get_current_cgroup_id).
	return st.Pid, fi.Ino, func() {
		if err := os.WriteFile(filepath.Join(c.hold, "go"), []byte("go\n"), 0); err != nil {
			t.Errorf("releasing the container: %v", err)
		}
	}
}

// holdScript makes a script that says ready on /hold/ready, waits for
// /hold/go, and runs before and after around it.
func holdScript(before, after string) string {
	return before + "echo ready > /hold/ready; cat /hold/go > /dev/null; " + after
}

// TestContainerFiltersVM: `filters` on a running container: its two
// processes (sh and the cat it waits on) are one chain holding the
// profile's one filter, which gives errno(1) for swapoff and errno(38)
// (ENOSYS) for syscalls the profile does not list.
func TestContainerFiltersVM(t *testing.T) {
	inVM(t)
	crun := needCrun(t)
	// sh waits for the cat it starts in the background: two processes while held.
	c := newContainer(t, crun, "filters", "cat /hold/go > /dev/null & echo ready > /hold/ready; wait")
	cmd := exec.Command(c.args(crun)[0], c.args(crun)[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	defer func() {
		if !done {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}()
	pid, _, release := c.held(t, crun)

	var text, errOut bytes.Buffer
	if err := run(context.Background(), []string{"filters"}, &text, &errOut); err != nil {
		t.Fatalf("filters: %v\n%s", err, errOut.String())
	}
	t.Logf("seccomptrace filters (container %s, init pid %d):\n%s", c.id, pid, text.String())
	if want := fmt.Sprintf("  container %s (podman): 2 processes\n", c.id[:12]); !strings.Contains(text.String(), want) {
		t.Errorf("filters' text does not name the container: want a line %q", want)
	}
	got := filtersJSONRun(t)
	release()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("crun run: %v\n%s", err, stderr.String())
	}
	done = true

	var ch *chainJSON
	for i := range got.Chains {
		for _, task := range got.Chains[i].Tasks {
			if task.Tgid == uint32(pid) {
				ch = &got.Chains[i]
			}
		}
	}
	if ch == nil {
		t.Fatalf("no chain holds the container's init, pid %d: %+v", pid, got.Chains)
	}
	if want := []ownerJSON{{ContainerID: c.id, Runtime: "podman", Processes: 2}}; !slices.Equal(ch.Owners, want) {
		t.Errorf("container chain held by %+v, want %+v", ch.Owners, want)
	}
	for _, task := range ch.Tasks {
		if task.ContainerID != c.id || task.Cgroup != c.cgroup {
			t.Errorf("task %d %q: container %q cgroup %q, want %s in %s", task.Pid, task.Comm, task.ContainerID, task.Cgroup, c.id, c.cgroup)
		}
	}
	if len(ch.Filters) != 1 || ch.Processes != 2 || len(ch.Tasks) != 2 {
		t.Errorf("container chain: %d filters, %d processes, %d tasks; want 1 filter, 2 processes (sh, cat), 2 tasks", len(ch.Filters), ch.Processes, len(ch.Tasks))
	}
	var f *filterJSON
	for i := range got.Filters {
		if got.Filters[i].Addr == ch.Filters[0].Addr {
			f = &got.Filters[i]
		}
	}
	if f == nil || !f.Known || f.FlagLog {
		t.Fatalf("container filter %+v: want its program known, without FLAG_LOG", f)
	}
	for _, want := range []string{"errno(1)", "errno(38)", "allow"} {
		if !slices.Contains(f.Returns, want) {
			t.Errorf("the profile's filter can return %v, want %s among them", f.Returns, want)
		}
	}
	var swapoff string
	for _, a := range f.Arches {
		if a.Arch != nativeArch {
			continue
		}
		for _, g := range a.Constant {
			if slices.Contains(g.Syscalls, "swapoff") {
				swapoff = g.Result
			}
		}
	}
	if swapoff != "errno(1)" {
		t.Errorf("swapoff on %s gives %q, want errno(1) (the profile's EPERM list)", nativeArch, swapoff)
	}
	t.Logf("inventory: %d tasks in %d processes, %d chains, %d filters; the container's chain: %d filter(s) of %d instructions, %d tasks",
		got.Tasks, got.Processes, len(got.Chains), len(got.Filters), len(ch.Filters), f.Len, len(ch.Tasks))
}

// TestContainerCheckVM: `check` on a command inside the container passes:
// sh runs swapoff, which the profile denies with ERRNO(EPERM) and no
// FLAG_LOG (silent), and lists a folder. `watch` names the denied call by
// pid, comm and cgroup id (the container's own cgroup): no container id,
// which needs the attribution work that has not landed.
func TestContainerCheckVM(t *testing.T) {
	inVM(t)
	crun := needCrun(t)
	c := newContainer(t, crun, "check", "swapoff /nonexistent; ls / > /dev/null; echo done")
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"check", "--output", "json", "--"}, c.args(crun)...), &out, &errOut)
	var sum checkSummary
	if jerr := json.Unmarshal(out.Bytes(), &sum); jerr != nil {
		t.Fatalf("check: %v (%v)\nstderr: %s", jerr, err, errOut.String())
	}
	if err != nil || sum.Result != "pass" {
		t.Fatalf("check: %v, result %s\n%s", err, sum.Result, out.String())
	}
	if a := sum.PerAction["errno"]; a == nil || a.Decisions < 1 || a.Logged != 0 {
		t.Errorf("errno decisions %+v, want swapoff's at least, none logged", a)
	}
	t.Logf("check in the container: %d decisions (%d cached ALLOWs, %d counted silent), per action %v, command exit %s",
		sum.Decisions, sum.CachedAllow, sum.SilentCounted, perActionString(sum.PerAction), sum.CommandExit)

	// Held after swapoff, so that its cgroup can be read while it lives.
	c = newContainer(t, crun, "watch", holdScript("swapoff /nonexistent; ", "echo done"))
	type result struct {
		err      error
		out, log string
	}
	res := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"watch", "--output", "json", "--"}, c.args(crun)...), &out, &errOut)
		res <- result{err, out.String(), errOut.String()}
	}()
	pid, cgroupID, release := c.held(t, crun)
	release()
	r := <-res
	if r.err != nil {
		t.Fatalf("watch: %v\n%s", r.err, r.log)
	}
	var denied []pairJSON
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var p pairJSON
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("watch line %q: %v", line, err)
		}
		if p.Event == "decision" && p.Syscall == "swapoff" {
			denied = append(denied, p)
		}
		if p.Verdict != "ok-silent" && p.Verdict != "ok-logged" && p.Event == "decision" {
			t.Errorf("watch: %s", line)
		}
	}
	if len(denied) != 1 {
		t.Fatalf("%d swapoff decisions, want 1\n%s", len(denied), r.out)
	}
	d := denied[0]
	// busybox sh runs an applet in a child, by its own re-exec or not: the comm is whatever it set.
	if d.Action != "errno(1)" || d.Verdict != "ok-silent" || d.CgroupID != cgroupID || d.ContainerID != c.id || d.Runtime != "podman" || d.Cgroup != c.cgroup {
		t.Errorf("swapoff: action %s verdict %s comm %q pid %d cgroup %d %q container %q (%s); want errno(1), ok-silent, the container's cgroup %d %s, container %s (podman) (init pid %d)",
			d.Action, d.Verdict, d.Comm, d.Pid, d.CgroupID, d.Cgroup, d.ContainerID, d.Runtime, cgroupID, c.cgroup, c.id, pid)
	}
	t.Logf("denied in container %s (%s, cgroup %s, id %d): pid %d comm %q exe %q swapoff %s, %s (%s)", c.id, d.Runtime, c.cgroup, cgroupID, d.Pid, d.Comm, d.Exe, d.Action, d.Verdict, d.Reason)

	// What FLAG_LOG on the profile's filter would cost: the denied calls' records.
	c = newContainer(t, crun, "forecast", "swapoff /nonexistent; ls / > /dev/null; echo done")
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), append([]string{"forecast", "--flag-log", "all", "--output", "json", "--"}, c.args(crun)...), &out, &errOut); err != nil {
		t.Fatalf("forecast: %v\n%s", err, errOut.String())
	}
	var fc forecastJSON
	if err := json.Unmarshal(out.Bytes(), &fc); err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	printForecast(&text, &fc)
	t.Logf("forecast in the container:\n%s", text.String())
	if len(fc.Forecasts) != 2 || fc.Forecasts[0].Records != 0 || fc.Forecasts[1].Records < 1 || fc.Forecasts[1].PerAction["errno"] != fc.Forecasts[1].Records {
		t.Errorf("forecasts %+v: want none now, and with FLAG_LOG one errno record per denied call (swapoff's at least)", fc.Forecasts)
	}
}

func perActionString(m map[string]*actionSummary) string {
	var parts []string
	for name, a := range m {
		parts = append(parts, fmt.Sprintf("%s %d", name, a.Decisions))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
