// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// freePort is a loopback TCP port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// promQuery asks Prometheus's HTTP API for an instant vector and returns
// each sample's value under the values of keys, joined by "/".
func promQuery(t *testing.T, base, query string, keys ...string) map[string]float64 {
	t.Helper()
	out, err := tryPromQuery(base, query, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tryPromQuery(base, query string, keys ...string) (map[string]float64, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s %v %s", query, r.Status, err, r.Error)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		var k []string
		for _, key := range keys {
			k = append(k, s.Metric[key])
		}
		v, err := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", query, s.Value)
		}
		out[strings.Join(k, "/")] = v
	}
	return out, nil
}

// pollUntil calls ok every half second until it returns true; the guard
// bounds a wait for Prometheus, which scrapes and answers on its own time.
func pollUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	guard := time.After(3 * time.Minute)
	for !ok() {
		select {
		case <-tick.C:
		case <-guard:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestServiceVM runs watch --service as a daemon in the VM, with Debian's
// Prometheus scraping its /metrics every second, while a child makes
// known decisions: n getppid under ERRNO with FLAG_LOG (logged), n
// getpgrp under LOG (logged), m getsid under ERRNO without FLAG_LOG
// (silent: streamed until the session's mark reaches the probes, then
// counted in the kernel; how many of each depends on timing, their sum
// does not). Prometheus's HTTP API
// must give the same counts as the run's own final summary, which must be
// exact; the scrape must pass promtool; logrotate's rename + SIGHUP loses
// no line; after SIGTERM the last line is the final summary.
func TestServiceVM(t *testing.T) {
	self := inVM(t)
	prometheus, err := exec.LookPath("prometheus")
	if err != nil {
		testutil.Missing(t, "prometheus (Debian package prometheus) not installed")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testutil.Missing(t, "promtool (Debian package prometheus) not installed")
	}
	const n, m = 8, 2000
	dir := t.TempDir()
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	promBase := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))

	// Prometheus first: it is no child the service follows.
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"+
		"  - job_name: seccomptrace\n    static_configs:\n      - targets: [%q]\n", metricsAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	var promLog bytes.Buffer
	prom := exec.Command(prometheus, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+strings.TrimPrefix(promBase, "http://"), "--log.level=warn")
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		prom.Process.Signal(syscall.SIGTERM)
		prom.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", promLog.String())
		}
	})

	// The service follows this test process's future children.
	out := filepath.Join(dir, "events.jsonl")
	ready := filepath.Join(dir, "ready")
	if err := unix.Mkfifo(ready, 0o600); err != nil {
		t.Fatal(err)
	}
	svc := exec.Command(self)
	svc.Env = append(os.Environ(), envAsCLI+"="+strings.Join([]string{"watch", "--service", "--pid", strconv.Itoa(os.Getpid()),
		"--output-file", out, "--ready-file", ready, "--metrics-addr", metricsAddr, "--summary-interval", "1s"}, " "))
	var svcErr bytes.Buffer
	svc.Stdout, svc.Stderr = &svcErr, &svcErr
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- svc.Wait() }()
	t.Cleanup(func() {
		svc.Process.Kill()
		t.Logf("service stderr:\n%s", svcErr.String())
	})
	readyDone := make(chan error, 1)
	go func() {
		_, err := os.ReadFile(ready) // returns once the service has written it (probes attached)
		readyDone <- err
	}()
	select {
	case err := <-readyDone:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-exited:
		t.Fatalf("the service ended before it was ready: %v", err)
	}

	s := workload.Scenario{
		Filters: []workload.FilterSpec{
			{Rules: []workload.Rule{{Nr: unix.SYS_GETSID, Action: policy.Errno | 2}}},
			{Log: true, Rules: []workload.Rule{{Nr: unix.SYS_GETPPID, Action: policy.Errno | 1}, {Nr: workload.NrGetpgrp, Action: policy.Log}}},
		},
		Calls: []workload.Call{{Nr: unix.SYS_GETPPID, Count: n}, {Nr: workload.NrGetpgrp, Count: n}, {Nr: unix.SYS_GETSID, Count: m}},
	}
	res, _, err := workload.Run(s, filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Calls) != 3 || res.Calls[0].Errnos[1] != n || res.Calls[1].Errnos[0] != n || res.Calls[2].Errnos[2] != m {
		t.Fatalf("workload result %+v", res)
	}

	// Prometheus has the whole run once a scrape shows every decision of
	// the child handed out: the logged ones wait for their records.
	decisions := func() map[string]float64 {
		return promQuery(t, promBase, `seccomptrace_decisions_total`, "action", "verdict")
	}
	silent := func() map[string]float64 {
		return promQuery(t, promBase, `seccomptrace_silent_counted_decisions_total`, "action")
	}
	var lastErr string
	pollUntil(t, "Prometheus to scrape the run", func() bool {
		// Until Prometheus listens (it starts slowly under TCG), a query fails.
		d, err1 := tryPromQuery(promBase, `seccomptrace_decisions_total`, "action", "verdict")
		sc, err2 := tryPromQuery(promBase, `seccomptrace_silent_counted_decisions_total`, "action")
		del, err3 := tryPromQuery(promBase, `seccomptrace_audit_records_total{delivery="delivered"}`)
		if err := errors.Join(err1, err2, err3); err != nil {
			if err.Error() != lastErr {
				lastErr = err.Error()
				t.Logf("not yet: %s", lastErr)
			}
			return false
		}
		return d["errno/ok-logged"] == n && d["log/ok-logged"] == n && d["errno/ok-silent"]+sc["errno"] == m && del[""] == 2*n
	})
	d, sc := decisions(), silent()
	one := func(q string) float64 { return promQuery(t, promBase, q)[""] }
	fromProm := map[string]float64{
		"cached_allow":    one(`seccomptrace_cached_allow_decisions_total`),
		"silent_counted":  one(`sum(seccomptrace_silent_counted_decisions_total)`),
		"probe_decisions": one(`seccomptrace_probe_decisions_total`),
		"emissions":       one(`seccomptrace_emissions_total`),
		"delivered":       one(`seccomptrace_audit_records_total{delivery="delivered"}`),
		"records_lost":    one(`sum(seccomptrace_probe_records_lost_total)`),
		"up":              one(`up{job="seccomptrace"}`),
	}
	t.Logf("Prometheus: decisions_total %v; silent_counted %v; %v", d, sc, fromProm)

	// A real scrape, as Prometheus got it, through Prometheus's linter.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = bytes.NewReader(scrape)
	if lo, err := lint.CombinedOutput(); err != nil || len(bytes.TrimSpace(lo)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, lo)
	}
	var own []string
	for _, l := range strings.Split(string(scrape), "\n") {
		if strings.HasPrefix(l, "seccomptrace_") && !strings.HasSuffix(l, " 0") {
			own = append(own, l)
		}
	}
	t.Logf("scrape of %s/metrics (non-zero seccomptrace series), promtool check metrics: clean\n%s", metricsAddr, strings.Join(own, "\n"))

	// logrotate: rename, SIGHUP; then stop the service.
	if err := os.Rename(out, out+".1"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := svc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the service after SIGTERM: %v", err)
		}
	case <-time.After(2 * time.Minute): // a failure bound: Finish runs an audit barrier
		t.Fatal("the service did not stop on SIGTERM")
	}

	var lines []string
	var perFile []int
	for _, p := range []string{out + ".1", out} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		scan := bufio.NewScanner(bytes.NewReader(b))
		for scan.Scan() {
			lines = append(lines, scan.Text())
		}
		perFile = append(perFile, len(lines))
	}
	periodic := 0
	var final summaryJSON
	for i, l := range lines {
		var kind struct {
			V     int    `json:"v"`
			Event string `json:"event"`
			Final bool   `json:"final"`
		}
		if err := json.Unmarshal([]byte(l), &kind); err != nil || kind.V != schemaVersion || kind.Event == "" {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		if kind.Event == "summary" && !kind.Final {
			periodic++
		}
		if kind.Final != (i == len(lines)-1) {
			t.Fatalf("line %d of %d is final=%v: %s", i, len(lines), kind.Final, l)
		}
		if i == len(lines)-1 {
			if err := json.Unmarshal([]byte(l), &final); err != nil {
				t.Fatal(err)
			}
			t.Logf("final summary: %s", l)
		}
	}
	t.Logf("%d lines, %d periodic summaries; %d before the SIGHUP reopen, %d after", len(lines), periodic, perFile[0], perFile[1]-perFile[0])
	if periodic == 0 {
		t.Errorf("no periodic summary line in %d lines", len(lines))
	}

	// The exact counts of the child's decisions.
	pa := final.PerAction
	if final.Result != "pass" || pa["errno"] == nil || *pa["errno"] != (actionSummary{n + m, n, m}) || pa["log"] == nil || *pa["log"] != (actionSummary{n, n, 0}) ||
		final.Audit.Emissions != 2*n || final.Audit.Delivered != 2*n || final.RecordsLost != 0 || final.Decisions != 2*n+m+pa["allow"].decisions() {
		t.Errorf("final summary %+v, per action errno %+v log %+v; want errno {%d %d %d}, log {%d %d 0}, %d delivered, a pass",
			final, pa["errno"], pa["log"], n+m, n, m, n, n, 2*n)
	}
	// And Prometheus says the same.
	for name, v := range map[string]float64{
		"cached_allow": float64(final.CachedAllow), "silent_counted": float64(final.SilentCounted), "probe_decisions": float64(final.ProbeDecisions),
		"emissions": float64(final.Audit.Emissions), "delivered": float64(final.Audit.Delivered), "records_lost": float64(final.RecordsLost), "up": 1,
	} {
		if fromProm[name] != v {
			t.Errorf("%s: Prometheus %v, the final summary %v", name, fromProm[name], v)
		}
	}
	byVerdict := map[string]float64{}
	byAction := map[string]float64{}
	for k, v := range d {
		action, verdict, _ := strings.Cut(k, "/")
		byVerdict[verdict] += v
		byAction[action] += v
	}
	for k, v := range sc {
		byAction[k] += v
	}
	for verdict, v := range final.Verdicts {
		if byVerdict[verdict] != float64(v) {
			t.Errorf("verdict %s: Prometheus %v, the final summary %d", verdict, byVerdict[verdict], v)
		}
	}
	for action, a := range pa {
		if byAction[action] != float64(a.Decisions) {
			t.Errorf("action %s: Prometheus %v, the final summary %d", action, byAction[action], a.Decisions)
		}
	}
}

// decisions is a's count, 0 for none.
func (a *actionSummary) decisions() int {
	if a == nil {
		return 0
	}
	return a.Decisions
}
