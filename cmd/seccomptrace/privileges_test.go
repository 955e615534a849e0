// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// envStartBare makes the test binary the child of TestStartWithoutCapabilities.
const envStartBare = "SECCOMPTRACE_TEST_START_BARE"

// startBareChild starts the same command twice, plainly and with
// startWithoutCapabilities, each printing its capability sets.
func startBareChild() int {
	for _, way := range []struct {
		name  string
		start func(*exec.Cmd) error
	}{{"plain", (*exec.Cmd).Start}, {"bare", startWithoutCapabilities}} {
		var out bytes.Buffer
		cmd := exec.Command("grep", "-E", "^Cap(Inh|Amb):", "/proc/self/status")
		cmd.Stdout = &out
		if err := way.start(cmd); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := cmd.Wait(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			fmt.Printf("%s %s\n", way.name, strings.Join(strings.Fields(l), " "))
		}
	}
	return 0
}

// TestStartWithoutCapabilities re-executes this binary with an ambient
// capability, as setpriv or a unit's AmbientCapabilities= gives it: there
// a command started plainly inherits it, CMD started the way watch and
// check start it does not.
func TestStartWithoutCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to raise an ambient capability")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envStartBare+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{AmbientCaps: []uintptr{unix.CAP_AUDIT_READ}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("cannot start a child with an ambient capability here: %v: %s", err, out)
	}
	t.Logf("\n%s", out)
	want := fmt.Sprintf("%016x", uint64(1)<<unix.CAP_AUDIT_READ)
	for _, re := range []string{
		"(?m)^plain CapAmb: " + want + "$",
		"(?m)^bare CapInh: 0000000000000000$",
		"(?m)^bare CapAmb: 0000000000000000$",
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("no line matching %q", re)
		}
	}
}

// TestCapabilityList: the advice and the contrib set come from the one list.
func TestCapabilityList(t *testing.T) {
	if got := strings.Join(deployCapabilities(), " "); got != "CAP_BPF CAP_PERFMON CAP_AUDIT_READ" {
		t.Errorf("deploy set %q", got)
	}
	for _, c := range capabilities {
		if c.required && !c.deploy {
			t.Errorf("%s is required but not deployed", c.name)
		}
		if c.use == "" || c.without == "" {
			t.Errorf("%s: says not what it is for or what its absence costs", c.name)
		}
	}
	requireAdvice(t, notPrivilegedAdvice())
}

// TestCheckRefusesNestedPidNS: in a pid namespace of its own (a container
// without hostPID) check would follow its own pid as the namespace numbers
// it, which the probes never see, and pass with nothing judged: it must
// refuse in one line, before loading anything.
func TestCheckRefusesNestedPidNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a pid namespace")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{"check -- /bin/true", "watch --pid 1"} {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), envAsCLI+"="+args)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); !ok {
			t.Skipf("cannot start a child in a new pid namespace here: %v", err)
		}
		if !strings.Contains(errOut.String(), errNotInitialPidNS.Error()) {
			t.Errorf("%s in a nested pid namespace: %v, stderr %q", args, err, errOut.String())
		}
	}
}
