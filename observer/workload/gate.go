// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// GateReport is what a gated child reports at its gate: its pid and the
// audit identity of the thread that makes its calls, read back from /proc.
type GateReport struct {
	Pid       int    `json:"pid"`
	LoginUID  uint32 `json:"login_uid"`
	SessionID uint32 `json:"session_id"`
	Error     string `json:"error,omitempty"`
}

// Gated is a workload child stopped at its gate (Scenario.Gate): no
// filter installed, no call made yet.
type Gated struct {
	Report GateReport
	Cmd    *exec.Cmd
	gate   *os.File
}

// StartGated starts s in a child and returns once the child waits at its
// gate. The child goes on when Open is called; wait for it with Cmd.Wait.
// It uses the pipes Hold does, so a gated scenario is not held.
func StartGated(s Scenario, resultPath string) (*Gated, error) {
	if s.Hold != nil || s.Trace != nil {
		return nil, errors.New("starting gated workload: Hold and Trace cannot be gated")
	}
	s.Gate = true
	g := &Gated{}
	cmd, gate, err := spawnReporting(s, resultPath, "gated", &g.Report)
	if cmd == nil {
		return nil, err
	}
	g.Cmd, g.gate = cmd, gate
	if err == nil && g.Report.Error != "" {
		err = errors.New(g.Report.Error)
	}
	if err != nil {
		g.Open()
		return nil, errors.Join(fmt.Errorf("gated workload child: %w", err), cmd.Wait())
	}
	return g, nil
}

// Open lets the child go on: it installs its filters and makes its calls.
func (g *Gated) Open() { g.gate.Close() }

// gate reports the child's pid and audit identity on fd 3 and waits for
// fd 4 to reach EOF.
func gate() error {
	rep := GateReport{Pid: os.Getpid()}
	for _, f := range []struct {
		name string
		v    *uint32
	}{{"loginuid", &rep.LoginUID}, {"sessionid", &rep.SessionID}} {
		b, err := os.ReadFile("/proc/thread-self/" + f.name)
		if err != nil {
			rep.Error = fmt.Sprintf("reading %s: %v", f.name, err)
			break
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
		if err != nil {
			rep.Error = fmt.Sprintf("reading %s: %v", f.name, err)
			break
		}
		*f.v = uint32(v)
	}
	return reportAndWait(rep, rep.Error, "at the gate", "waiting at the gate")
}
