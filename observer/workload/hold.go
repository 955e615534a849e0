// SPDX-License-Identifier: Apache-2.0

package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// HoldSpec keeps the child alive with its filters installed until the
// parent calls Held.Release, so that its state can be read from outside.
type HoldSpec struct {
	// Threads starts this many extra threads, each locked and blocked,
	// before the first filter: the TSYNC install must reach them.
	Threads int `json:"threads,omitempty"`
	// Fork starts a child of the workload child (a re-executed copy that
	// only holds) after the first ForkAt filters are installed: it keeps
	// those filters, the same filter objects (fork shares them, execve
	// keeps them), and gets none of the later ones.
	Fork   bool `json:"fork,omitempty"`
	ForkAt int  `json:"fork_at,omitempty"`
}

// HoldReport is what a held child reports once everything is installed.
type HoldReport struct {
	Pid int `json:"pid"`
	// Tids is every thread of the child, the extra ones included, read
	// from /proc/self/task after the last install.
	Tids []int `json:"tids"`
	// ForkPid and ForkTids are the forked child's, with HoldSpec.Fork.
	ForkPid  int    `json:"fork_pid,omitempty"`
	ForkTids []int  `json:"fork_tids,omitempty"`
	Error    string `json:"error,omitempty"`
}

// The held child's pipes: it writes its HoldReport on fd 3 and closes it,
// then blocks reading fd 4 until the parent closes the other end.
const (
	fdReadyOut = 3
	fdHoldIn   = 4
)

// envHoldOnly marks the forked child of a held workload: it only holds.
const envHoldOnly = "SECCOMPTRACE_WORKLOAD_HOLD_ONLY"

// Held is a running workload child that installed its filters and now
// blocks until Release.
type Held struct {
	Report     HoldReport
	cmd        *exec.Cmd
	release    *os.File
	resultPath string
	// released keeps Release's answer: a deferred second call repeats it.
	released bool
	res      *Result
	err      error
}

// Hold starts s in a child and returns once the child has installed every
// filter and started every thread and fork s.Hold asks for. No sleeps: the
// child says so on a pipe.
func Hold(s Scenario, resultPath string) (*Held, error) {
	if s.Hold == nil {
		s.Hold = &HoldSpec{}
	}
	if s.Trace != nil || s.Exec != nil {
		return nil, errors.New("starting held workload: Trace and Exec cannot be held")
	}
	h := &Held{resultPath: resultPath}
	cmd, release, err := spawnReporting(s, resultPath, "held", &h.Report)
	if cmd == nil {
		return nil, err
	}
	h.cmd, h.release = cmd, release
	if err == nil && h.Report.Error != "" {
		err = errors.New(h.Report.Error)
	}
	if err != nil {
		_, rerr := h.Release()
		return nil, errors.Join(fmt.Errorf("held workload child: %w", err), rerr)
	}
	return h, nil
}

// Release lets the child (and its fork) go on, waits for it and returns
// its result. Calling it again returns the same.
func (h *Held) Release() (*Result, error) {
	if h.released {
		return h.res, h.err
	}
	h.released = true
	h.release.Close()
	werr := h.cmd.Wait()
	res, rerr := ReadResult(h.resultPath)
	h.res, h.err = res, errors.Join(werr, rerr)
	return h.res, h.err
}

// startHoldThreads starts n threads that stay blocked until the process ends.
func startHoldThreads(n int) {
	started := make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread stays, parked
			started <- struct{}{}
			select {}
		}()
	}
	for range n {
		<-started
	}
}

// holdFork re-executes this binary as a child that only holds: it writes
// its pid and threads on its fd 3 and blocks on the parent's hold pipe.
func holdFork() (*exec.Cmd, HoldReport, error) {
	var rep HoldReport
	self, err := os.Executable()
	if err != nil {
		return nil, rep, fmt.Errorf("forking held child: %w", err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, rep, fmt.Errorf("forking held child: %w", err)
	}
	defer readyR.Close()
	cmd := exec.Command(self)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, envScenario+"=") || strings.HasPrefix(e, envResult+"=")
	})
	cmd.Env = append(cmd.Env, envHoldOnly+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{readyW, os.NewFile(fdHoldIn, "hold")}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, rep, fmt.Errorf("forking held child: %w", err)
	}
	b, err := io.ReadAll(readyR)
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, rep, fmt.Errorf("forked held child: %w", err)
	}
	return cmd, rep, nil
}

// hold reports rep on fd 3 and blocks until fd 4 reaches EOF.
func hold(rep HoldReport) error {
	rep.Pid = os.Getpid()
	if rep.Error == "" {
		tids, err := threads()
		if err != nil {
			rep.Error = err.Error()
		}
		rep.Tids = tids
	}
	return reportAndWait(rep, rep.Error, "held state", "holding")
}

// reportAndWait is the child's side of spawnReporting: it writes rep as
// JSON on fd 3, then, unless failed says why it cannot go on, blocks
// until fd 4 reaches EOF. what and waiting name the steps in errors.
func reportAndWait(rep any, failed, what, waiting string) error {
	b, _ := json.Marshal(rep)
	out := os.NewFile(fdReadyOut, "ready")
	_, werr := out.Write(b)
	out.Close()
	if werr != nil {
		return fmt.Errorf("reporting %s: %w", what, werr)
	}
	if failed != "" {
		return errors.New(failed)
	}
	in := os.NewFile(fdHoldIn, "wait")
	_, err := io.Copy(io.Discard, in)
	in.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", waiting, err)
	}
	return nil
}

// threads lists this process's thread ids.
func threads() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("listing threads: %w", err)
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// runHoldOnly is the forked child of a held workload.
func runHoldOnly() {
	runtime.LockOSThread()
	if err := hold(HoldReport{}); err != nil {
		fmt.Fprintf(os.Stderr, "workload (held fork): %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// spawnReporting starts s in a child with two pipes: the child writes a
// JSON report (into report) on the first and waits for EOF on the second,
// which the caller closes to let it go (release). what names the kind of
// child in errors. A nil cmd means the child did not start; a cmd with an
// error means it started but its report was bad: release it and wait.
func spawnReporting(s Scenario, resultPath, what string, report any) (cmd *exec.Cmd, release *os.File, err error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("starting %s workload: %w", what, err)
	}
	waitR, waitW, err := os.Pipe()
	if err != nil {
		readyR.Close()
		readyW.Close()
		return nil, nil, fmt.Errorf("starting %s workload: %w", what, err)
	}
	cmd, err = spawn(s, resultPath, []*os.File{readyW, waitR})
	readyW.Close()
	waitR.Close()
	if err != nil {
		readyR.Close()
		waitW.Close()
		return nil, nil, err
	}
	b, err := io.ReadAll(readyR)
	readyR.Close()
	if err == nil {
		err = json.Unmarshal(b, report)
	}
	return cmd, waitW, err
}
