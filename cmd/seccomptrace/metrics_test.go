// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
	"github.com/seccomptrace/seccomptrace/observer/workload"
)

// gathered is every counter and gauge of reg as `name{l="v",...}` -> value.
func gathered(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// fakeKernel makes the scrapes read a known audit status and actions_logged.
func fakeKernel(m *metrics) {
	m.auditStatus = func() (audit.Status, error) { return audit.Status{Lost: 7, Backlog: 2, BacklogLimit: 64}, nil }
	m.actionsLogged = func() (policy.ActionSet, error) { return policy.DefaultLogged &^ policy.BitErrno, nil }
}

// TestMetricsMatchSummary: the metrics of a replayed run count what its
// final summary counts, and comm labels stop at their cap.
func TestMetricsMatchSummary(t *testing.T) {
	sr := startServiceRun(t, 0, 2)
	fakeKernel(sr.st.m)
	for i := range 5 {
		sr.f.silent(500, "first")
		if i%2 == 0 {
			sr.f.logged(501, "second", "")
		}
	}
	sr.f.logged(502, "third", "rate limit exceeded")
	sr.f.silent(502, "third")
	sr.f.logged(503, "x\x1b]0;evil\a", "")
	sr.f.write(503)
	_, final := sr.finish(t)
	got := gathered(t, sr.st.m.reg)

	byAction := map[string]float64{}
	byVerdict := map[string]float64{}
	for a, al := range actionLabels {
		for v, vl := range verdictLabels {
			n := got[fmt.Sprintf(`seccomptrace_decisions_total{action=%q,verdict=%q}`, al, vl)]
			byAction[actionLabels[a]] += n
			byVerdict[verdictLabels[v]] += n
		}
	}
	for name, a := range final.PerAction {
		if byAction[name] != float64(a.Decisions) {
			t.Errorf("%s: %v decisions in the metrics, %d in the summary", name, byAction[name], a.Decisions)
		}
	}
	for v, n := range final.Verdicts {
		if byVerdict[v] != float64(n) {
			t.Errorf("%s: %v in the metrics, %d in the summary", v, byVerdict[v], n)
		}
	}
	want := map[string]float64{
		`seccomptrace_emissions_total`:                                       float64(final.Audit.Emissions),
		`seccomptrace_audit_records_total{delivery="delivered"}`:             float64(final.Audit.Delivered),
		`seccomptrace_audit_records_total{delivery="lost"}`:                  float64(final.Audit.Lost),
		`seccomptrace_audit_records_lost_total{reason="rate_limit"}`:         1,
		`seccomptrace_actions_logged_writes_total{verdict="missing-record"}`: 1,
		// comm: the first two comms only; the other two's decisions overflow.
		`seccomptrace_comm_decisions_total{action="errno",comm="first",verdict="ok-silent"}`:             5,
		`seccomptrace_comm_decisions_total{action="log",comm="second",verdict="ok-logged"}`:              3,
		`seccomptrace_comm_label_overflow_total`:                                                         3,
		`seccomptrace_audit_lost`:                                                                        7,
		`seccomptrace_audit_backlog`:                                                                     2,
		`seccomptrace_audit_backlog_limit`:                                                               64,
		`seccomptrace_actions_logged_info{actions="kill_process kill_thread trap user_notif trace log"}`: 1,
		`seccomptrace_probe_records_lost_total{kind="decisions"}`:                                        0,
		`seccomptrace_silent_counted_decisions_total{action="errno"}`:                                    0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if final.Audit.Emissions != 5 || final.Audit.Delivered != 4 || final.Audit.Lost != 1 {
		t.Errorf("summary audit %+v, want 5 emissions: 4 delivered, 1 lost", final.Audit)
	}
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "seccomptrace_comm_decisions_total{") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d comm series, want 2 (the cap)", n)
	}
}

// TestMetricsPromtool: a scrape of a replayed run, hostile comm included,
// passes `promtool check metrics` (Prometheus's own linter) without a word.
func TestMetricsPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testutil.Missing(t, "promtool (Debian package prometheus) not installed")
	}
	sr := startServiceRun(t, 0, 8)
	fakeKernel(sr.st.m)
	sr.f.silent(600, "app")
	sr.f.logged(601, "sh\"\\\n\xff", "")
	sr.f.logged(601, "sh\"\\\n\xff", "excluded by rule \"-a never,exclude -F msgtype=SECCOMP\"")
	sr.f.write(602)
	sr.finish(t)
	addr, stop, err := serveMetrics(sr.st.m, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, want := range []string{
		`seccomptrace_comm_decisions_total{action="log",comm="sh\\\"\\\\\\n\\xff",verdict="ok-logged"} 1`,
		`seccomptrace_audit_records_lost_total{reason="excluded"} 1`,
		`seccomptrace_build_info{goversion="go`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	var own []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "seccomptrace_") && !strings.HasSuffix(l, " 0") {
			own = append(own, l)
		}
	}
	t.Logf("Content-Type %s; non-zero seccomptrace series:\n%s", resp.Header.Get("Content-Type"), strings.Join(own, "\n"))
}

// TestLossIndex: every drop point check names in lost(...) has its label.
func TestLossIndex(t *testing.T) {
	lc := judge.LossContext{}
	rule := judge.LossContext{ExcludeRules: []string{"-a never,exclude -F msgtype=SECCOMP"}}
	rules := judge.LossContext{ExcludeRules: []string{"-a never,exclude -F msgtype=SECCOMP", "-a never,exclude -F pid=1"}}
	boot := judge.LossContext{OffAtBoot: "audit=0"}
	refused := []*observer.AuditDrop{{Refused: true, Type: int32(audit.TypeSeccomp)}}
	lost := func(reason string) []*observer.AuditDrop { return []*observer.AuditDrop{{Reason: reason}} }
	for _, tc := range []struct {
		reason, want string
	}{
		{judge.LossReason(refused, lc), "excluded"},
		{judge.LossReason(refused, rule), "excluded"},
		{judge.LossReason(refused, rules), "excluded"},
		{judge.LossReason(refused, boot), "disabled_at_boot"},
		{judge.LossReason(lost("backlog limit exceeded"), lc), "backlog_limit"},
		{judge.LossReason(lost("rate limit exceeded"), lc), "rate_limit"},
		{judge.LossReason(lost("out of memory in audit_log_start"), lc), "out_of_memory"},
		{judge.LossReason(lost("kauditd hold queue overflow"), lc), "queue_overflow"},
		{judge.LossReason(lost("auditd disappeared"), lc), "other"},
	} {
		if got := lossLabels[lossIndex(tc.reason)]; got != tc.want {
			t.Errorf("lost(%s): label %s, want %s", tc.reason, got, tc.want)
		}
	}
}

// TestStreamAllocs: counting and printing a decision with metrics on,
// comm labels included, allocates nothing once its label set exists.
func TestStreamAllocs(t *testing.T) {
	pr, err := newPrinter(io.Discard, "json", false)
	if err != nil {
		t.Fatal(err)
	}
	st := &stream{pr: pr, m: newMetrics(labelLimits{comm: 4})}
	silent := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)
	lost := judgedOf(workload.NrGetpgrp, policy.Log, 0, 1, false, judge.Inconclusive, "", true)
	lost.Deliveries = []judge.Delivery{{State: judge.Lost, Reason: "rate limit exceeded"}}
	lost.Decision.Comm = "other"
	if n := testing.AllocsPerRun(1000, func() {
		for _, j := range []*judge.Judged{&silent, &lost} {
			if err := st.onEvent(session.Event{Judged: j}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.onIdle(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per two decisions", n)
	}
	if got := slices.Sorted(maps.Keys(st.m.comm.byKey)); !slices.Equal(got, []string{"child", "other"}) {
		t.Errorf("comms %v", got)
	}
}

// TestMetricsProbeReadFails: when the probes' counters cannot be read, a
// scrape goes without them (and says why) instead of reporting zeros,
// which Prometheus would take for a counter reset; the rest is served.
func TestMetricsProbeReadFails(t *testing.T) {
	m := newMetrics(labelLimits{})
	fakeKernel(m)
	m.setSource(func() (session.Progress, error) { return session.Progress{}, errors.New("map closed under us") })
	mfs, err := m.reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "map closed under us") {
		t.Errorf("Gather error %v, want the read's", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if names["seccomptrace_cached_allow_decisions_total"] || names["seccomptrace_probe_decisions_total"] ||
		!names["seccomptrace_decisions_total"] || !names["seccomptrace_audit_lost"] {
		t.Errorf("families served: %v", names)
	}
}

// TestMetricsContainerUnitLabels: with their limits set, decisions count
// by container id (in a container) and by systemd unit (outside one), up
// to the limit of distinct values; the rest count as overflow. Decisions
// in neither, or whose cgroup is unknown, are in neither counter.
func TestMetricsContainerUnitLabels(t *testing.T) {
	m := newMetrics(labelLimits{container: 2, unit: 1})
	fakeKernel(m)
	id := func(c string) string { return strings.Repeat(c, 64) }
	for _, tc := range []struct {
		path string
		n    int
	}{
		{"/system.slice/docker-" + id("a") + ".scope", 3},
		{"/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + id("b") + ".scope", 2},
		{"/machine.slice/libpod-" + id("c") + ".scope", 4}, // a third container: overflow
		{"/system.slice/nginx.service", 5},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/app.service", 6}, // a second unit: overflow
		{"/", 7}, // neither
		{"", 8},  // cgroup unknown
	} {
		j := judgedOf(unix.SYS_GETPPID, policy.Errno|1, 0, 1, false, judge.OKSilent, policy.ReasonFlagLogOff, false)
		if tc.path != "" {
			j.Decision.Cgroup = cgroups.New(1, tc.path)
		}
		for range tc.n {
			m.observe(session.Event{Judged: &j})
		}
	}
	got := gathered(t, m.reg)
	for k, want := range map[string]float64{
		`seccomptrace_container_decisions_total{action="errno",container="` + id("a") + `",verdict="ok-silent"}`: 3,
		`seccomptrace_container_decisions_total{action="errno",container="` + id("b") + `",verdict="ok-silent"}`: 2,
		`seccomptrace_container_label_overflow_total`:                                                            4,
		`seccomptrace_unit_decisions_total{action="errno",unit="nginx.service",verdict="ok-silent"}`:             5,
		`seccomptrace_unit_label_overflow_total`:                                                                 6,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	series := 0
	for k := range got {
		if strings.HasPrefix(k, "seccomptrace_container_decisions_total{") || strings.HasPrefix(k, "seccomptrace_unit_decisions_total{") {
			series++
		}
	}
	if series != 3 {
		t.Errorf("%d container and unit series, want 3", series)
	}
}
