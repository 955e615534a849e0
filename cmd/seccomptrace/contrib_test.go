// SPDX-License-Identifier: Apache-2.0

package main

// The deployment kit in contrib/ is held to the one list in privileges.go:
// the capabilities, host namespaces and host paths the binary needs, and
// the sandboxing that must not be used (seccomp filters on the observer).

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

const (
	contribDir = "../../contrib"
	unitPath   = contribDir + "/systemd/seccomptrace.service"
	dsPath     = contribDir + "/kubernetes/daemonset.yaml"
	// The service runs the stream as it exists: watch, JSON Lines.
	serviceArgs = "watch --output json"
)

// seccompDirectives are the unit settings systemd implements with a
// seccomp filter (systemd.exec(5)): on seccomptrace, each of its own
// syscalls would become a decision it observes, and where ALLOWs cannot be
// cached, each event read would cause new events.
var seccompDirectives = []string{
	"SystemCallFilter", "SystemCallArchitectures", "SystemCallLog", "SystemCallErrorNumber",
	"RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
	"LockPersonality", "MemoryDenyWriteExecute", "PrivateDevices", "ProtectClock",
	"ProtectHostname", "ProtectKernelLogs", "ProtectKernelModules",
	// Implies RestrictSUIDSGID=yes, which cannot be turned off.
	"DynamicUser",
}

// hostOnly skips a contrib test in the VM: the files and tools it checks
// do not depend on the kernel, and the guest runs test binaries from the
// repository root, not from this package's folder.
func hostOnly(t *testing.T) {
	t.Helper()
	if testutil.InVM() {
		t.Skip("a host test: contrib/ does not depend on the kernel")
	}
}

// parseUnit reads a unit file into section -> key -> value. It is strict
// where systemd is lenient, so that what the test checks is what systemd
// reads: a key set twice (systemd merges or resets) or a continued line fails.
func parseUnit(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: a continued line; keep each setting on one", path, n)
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			units[section] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a setting: %q", path, n, line)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if _, dup := units[section][k]; dup {
				t.Fatalf("%s:%d: %s set twice", path, n, k)
			}
			units[section][k] = v
		}
	}
	return units
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestSystemdUnit(t *testing.T) {
	hostOnly(t)
	svc := parseUnit(t, unitPath)["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	if got, want := svc["ExecStart"], "/usr/local/bin/seccomptrace "+serviceArgs; got != want {
		t.Errorf("ExecStart=%s, want %s", got, want)
	}
	for _, k := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		if got := strings.Fields(svc[k]); !sameSet(got, deployCapabilities()) {
			t.Errorf("%s=%s, want exactly %v (privileges.go)", k, svc[k], deployCapabilities())
		}
	}
	want := map[string]string{
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	}
	if !slices.Contains(deployCapabilities(), "CAP_SYS_RESOURCE") {
		// Kernels before 5.11 charge BPF to RLIMIT_MEMLOCK, which only
		// CAP_SYS_RESOURCE could raise.
		want["LimitMEMLOCK"] = "infinity"
	}
	for k, v := range want {
		if svc[k] != v {
			t.Errorf("%s=%q, want %q", k, svc[k], v)
		}
	}
	for _, k := range seccompDirectives {
		if v, ok := svc[k]; ok {
			t.Errorf("%s=%s installs a seccomp filter on seccomptrace itself", k, v)
		}
	}
	for _, ns := range hostNamespaces {
		if v, ok := svc[ns.unitDirective]; ok && v != "no" {
			t.Errorf("%s=%s: %s", ns.unitDirective, v, ns.why)
		}
	}
	// ProtectKernelTunables= hides /proc/kallsyms (the kprobe fallback's symbols, CAP_SYSLOG's addresses).
	if v := svc["ProtectKernelTunables"]; v != "" && v != "no" {
		t.Errorf("ProtectKernelTunables=%s hides /proc/kallsyms; use ReadOnlyPaths=/proc/sys /sys", v)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit as it
// is, in a root that holds it, a stand-in for the binary and the host's
// system units (its default dependencies). verify exits 0 on an unknown
// key or a misspelt value and only warns: any output fails.
func TestSystemdUnitVerifies(t *testing.T) {
	hostOnly(t)
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: apt-get install systemd (make deps installs it)")
	}
	root := t.TempDir()
	unitDir := filepath.Join(root, "etc/systemd/system")
	bin := filepath.Join(root, "usr/local/bin/seccomptrace")
	for _, d := range []string{unitDir, filepath.Dir(bin), filepath.Join(root, "usr/lib/systemd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(unitDir, "seccomptrace.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/lib/systemd/system/sysinit.target"); err != nil {
		t.Skipf("the host has no system units to verify against: %v", err)
	}
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copying the host's system units: %v: %s", err, out)
	}
	out, err := exec.Command(analyze, "verify", "--root="+root, "seccomptrace.service").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// k8sDoc is the part of a Kubernetes object the test reads.
type k8sDoc struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Template struct {
			Spec map[string]json.RawMessage `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type k8sContainer struct {
	Name            string   `json:"name"`
	Command         []string `json:"command"`
	Args            []string `json:"args"`
	SecurityContext *struct {
		RunAsUser                *int64 `json:"runAsUser"`
		Privileged               *bool  `json:"privileged"`
		AllowPrivilegeEscalation *bool  `json:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool  `json:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Add  []string `json:"add"`
			Drop []string `json:"drop"`
		} `json:"capabilities"`
		SeccompProfile *struct {
			Type string `json:"type"`
		} `json:"seccompProfile"`
	} `json:"securityContext"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
		ReadOnly  bool   `json:"readOnly"`
	} `json:"volumeMounts"`
}

type k8sVolume struct {
	Name     string `json:"name"`
	HostPath *struct {
		Path string `json:"path"`
	} `json:"hostPath"`
}

// loadYAML turns a multi-document YAML file into JSON with PyYAML: a real
// YAML parser reads what kubectl reads (booleans, quoting, documents),
// which a purpose-built subset parser could get wrong in agreement with
// itself; it adds no Go dependency, only python3-yaml on the test host.
func loadYAML(t *testing.T, path string) []byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: apt-get install python3-yaml (make deps installs it)")
	}
	const prog = "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)"
	var stderr bytes.Buffer
	cmd := exec.Command(py, "-c", prog, path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named 'yaml'") {
			t.Skip("PyYAML not found: apt-get install python3-yaml (make deps installs it)")
		}
		t.Fatalf("parsing %s: %v\n%s", path, err, stderr.String())
	}
	return out
}

func TestDaemonSet(t *testing.T) {
	hostOnly(t)
	var docs []k8sDoc
	if err := json.Unmarshal(loadYAML(t, dsPath), &docs); err != nil {
		t.Fatal(err)
	}
	var ds *k8sDoc
	for i := range docs {
		if docs[i].Kind == "DaemonSet" {
			if ds != nil {
				t.Fatal("two DaemonSets")
			}
			ds = &docs[i]
		}
	}
	if ds == nil {
		t.Fatal("no DaemonSet")
	}
	pod := ds.Spec.Template.Spec
	field := func(name string, v any) bool {
		raw, ok := pod[name]
		if !ok {
			return false
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return true
	}

	for _, ns := range hostNamespaces {
		var v bool
		set := field(ns.podField, &v)
		if !(set && v) && !(!set && ns.podDefault) {
			t.Errorf("%s must be true: %s", ns.podField, ns.why)
		}
	}
	var hostIPC bool
	if field("hostIPC", &hostIPC); hostIPC {
		t.Error("hostIPC: not needed")
	}

	var containers, inits []k8sContainer
	field("containers", &containers)
	field("initContainers", &inits)
	if len(containers) != 1 || len(inits) != 0 {
		t.Fatalf("%d containers and %d init containers, want one container", len(containers), len(inits))
	}
	c := containers[0]
	if got := strings.Join(append(c.Command, c.Args...), " "); got != serviceArgs {
		t.Errorf("runs %q, want %q (the image's entrypoint is the binary)", got, serviceArgs)
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("no securityContext")
	}
	var want []string
	for _, n := range deployCapabilities() {
		want = append(want, strings.TrimPrefix(n, "CAP_"))
	}
	if !sameSet(sc.Capabilities.Add, want) || !sameSet(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("capabilities add %v drop %v, want add exactly %v (privileges.go), drop ALL", sc.Capabilities.Add, sc.Capabilities.Drop, want)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged: true grants every capability")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true: the tool writes nothing")
	}
	// Kubernetes has no ambient capabilities: a non-root process would hold none in effect.
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Error("runAsUser must be 0, with only the added capabilities")
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != "Unconfined" {
		t.Error("seccompProfile must be Unconfined: a filter on the observer makes its own syscalls decisions it observes")
	}

	var volumes []k8sVolume
	field("volumes", &volumes)
	var paths []string
	mounted := map[string]string{}
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("volume %s mounted writable", m.Name)
		}
		mounted[m.Name] = m.MountPath
	}
	for _, v := range volumes {
		if v.HostPath == nil {
			continue
		}
		paths = append(paths, v.HostPath.Path)
		if mounted[v.Name] != v.HostPath.Path {
			t.Errorf("host path %s is mounted at %q, want the same path", v.HostPath.Path, mounted[v.Name])
		}
	}
	if !sameSet(paths, hostPaths) {
		t.Errorf("host paths %v, want exactly %v (privileges.go)", paths, hostPaths)
	}
}

// TestContainerfileStatic builds the binary as contrib/Containerfile does
// and checks it is static, as its empty final image needs.
func TestContainerfileStatic(t *testing.T) {
	hostOnly(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	cf, err := os.ReadFile(contribDir + "/Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/seccomptrace", "FROM scratch", `ENTRYPOINT ["/usr/local/bin/seccomptrace"]`} {
		if !bytes.Contains(cf, []byte(want)) {
			t.Errorf("Containerfile lacks %q", want)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	out := filepath.Join(t.TempDir(), "seccomptrace")
	build := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil && !errors.Is(err, elf.ErrNoSymbols) || len(libs) != 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
}
