// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/audit"
	"github.com/seccomptrace/seccomptrace/observer/judge"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
)

// Label values. Every label of every metric takes its values from a fixed
// list (comm, opt-in, from a capped set), so no stream of decisions can
// grow the number of series: no pid, no syscall, no reason text.
var (
	// actionLabels name a decision's action without its data; "unknown" is
	// an action that could not be reconstructed or has no name, "none" an
	// emission that came without its decision.
	actionLabels = [...]string{"kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow", "unknown", "none"}
	// verdictLabels are judge's verdicts.
	verdictLabels = [...]string{string(judge.OKLogged), string(judge.OKSilent), string(judge.MissingLog), string(judge.UnexpectedLog), string(judge.Inconclusive)}
	// deliveryLabels are judge's delivery states.
	deliveryLabels = [...]string{string(judge.Delivered), string(judge.Lost), string(judge.Undelivered), string(judge.DeliveryUnknown)}
	// lossLabels name where the kernel dropped a record (docs/kernel-semantics.md §6),
	// from the reasons check prints inside lost(...).
	lossLabels = [...]string{"excluded", "backlog_limit", "rate_limit", "out_of_memory", "queue_overflow", "disabled_at_boot", "other"}
	// writeLabels are the verdicts of writes to actions_logged.
	writeLabels = [...]string{string(judge.WriteOK), string(judge.WriteMissingRecord), string(judge.WriteUnexpectedRecord), string(judge.WriteWrongRecord), string(judge.WriteInconclusive)}
	// probeLossLabels are observer.Counters' loss counters, named as
	// Counters.LostString (and so check's records_lost) names them.
	probeLossLabels = [...]string{"decisions", "emissions", "seccomp_logs", "filters", "chains", "sysctls", "audit_drops", "inflight_full", "exits_missed"}
)

const (
	nActions  = len(actionLabels)
	nVerdicts = len(verdictLabels)
	// actionUnknownIdx and actionNoneIdx are the last two actionLabels.
	actionUnknownIdx = nActions - 2
	actionNoneIdx    = nActions - 1
)

// actionIndex is d's place in actionLabels.
func actionIndex(d *observer.Decision) int {
	switch {
	case d == nil:
		return actionNoneIdx
	case !d.Known:
		return actionUnknownIdx
	}
	switch policy.ActionOnly(d.Ret) {
	case policy.KillProcess:
		return 0
	case policy.KillThread:
		return 1
	case policy.Trap:
		return 2
	case policy.Errno:
		return 3
	case policy.UserNotif:
		return 4
	case policy.Trace:
		return 5
	case policy.Log:
		return 6
	case policy.Allow:
		return 7
	}
	return actionUnknownIdx
}

// verdictIndex is v's place in verdictLabels.
func verdictIndex(v judge.Verdict) int {
	switch v {
	case judge.OKLogged:
		return 0
	case judge.OKSilent:
		return 1
	case judge.MissingLog:
		return 2
	case judge.UnexpectedLog:
		return 3
	}
	return 4
}

// deliveryIndex is d's place in deliveryLabels.
func deliveryIndex(d judge.DeliveryState) int {
	switch d {
	case judge.Delivered:
		return 0
	case judge.Lost:
		return 1
	case judge.Undelivered:
		return 2
	}
	return 3
}

// lossIndex names a lost record's drop point (judge.LossReason's text and
// audit_log_lost's messages) by its place in lossLabels.
func lossIndex(reason string) int {
	switch {
	case strings.HasPrefix(reason, "excluded"):
		return 0
	case reason == "backlog limit exceeded":
		return 1
	case reason == "rate limit exceeded":
		return 2
	case strings.HasPrefix(reason, "out of memory"):
		return 3
	case strings.HasSuffix(reason, "queue overflow"):
		return 4
	case strings.HasPrefix(reason, "audit disabled at boot"):
		return 5
	}
	return len(lossLabels) - 1
}

// writeIndex is v's place in writeLabels.
func writeIndex(v judge.WriteVerdict) int {
	switch v {
	case judge.WriteOK:
		return 0
	case judge.WriteMissingRecord:
		return 1
	case judge.WriteUnexpectedRecord:
		return 2
	case judge.WriteWrongRecord:
		return 3
	}
	return 4
}

// probeLosses lists c's loss counters in probeLossLabels' order.
func probeLosses(c observer.Counters) [len(probeLossLabels)]uint64 {
	return [...]uint64{c.DroppedDecisions, c.DroppedEmissions, c.DroppedSeccompLogs, c.DroppedFilters, c.DroppedChains,
		c.DroppedSysctls, c.DroppedAuditDrops, c.InflightFull, c.ExitsMissed}
}

// silentLabels name the action of decisions counted silent: an action, or
// "mixed" (threads of one process under different stacks) and "unmarked"
// (a count whose mark the session no longer names), as check's per_action
// names them "silent (mixed actions)" and "silent (unmarked)".
var silentLabels = [...]string{"kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow", "unknown", "mixed", "unmarked"}

// silentIndex is the place in silentLabels of a session.Progress.SilentByAction name.
func silentIndex(name string) int {
	switch name {
	case "silent (mixed actions)":
		return 9
	case "silent (unmarked)":
		return 10
	}
	for i, l := range silentLabels[:8] {
		if l == name {
			return i
		}
	}
	return 8
}

// metrics are watch's Prometheus metrics (--metrics-addr). The counters
// of events are children made once, when the metrics are: observe, on
// the per-decision path, only adds to them. What the probes count in the
// kernel, audit's status and actions_logged are read at each scrape.
type metrics struct {
	reg        *prometheus.Registry
	decisions  [nActions][nVerdicts]prometheus.Counter
	emissions  prometheus.Counter
	deliveries [len(deliveryLabels)]prometheus.Counter
	lost       [len(lossLabels)]prometheus.Counter
	writes     [len(writeLabels)]prometheus.Counter
	// By comm, container and unit: each nil unless its limit is set.
	comm, container, unit *keyedCounter
	// progress is the session's Progress once it has started.
	progress atomic.Pointer[func() (session.Progress, error)]
	// auditStatus and actionsLogged read the kernel at a scrape (tests replace them).
	auditStatus   func() (audit.Status, error)
	actionsLogged func() (policy.ActionSet, error)
}

const namespace = "seccomptrace"

// newMetrics makes the metrics; each limit set adds its label (comm,
// container id, systemd unit) to a counter of its own, for at most that
// many distinct values.
func newMetrics(limits labelLimits) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), auditStatus: audit.GetStatus, actionsLogged: observer.ReadActionsLogged}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "decisions_total",
		Help: "Seccomp decisions judged and streamed, by action (without its data) and verdict. Decisions counted in the kernel instead are in seccomptrace_cached_allow_decisions_total and seccomptrace_silent_counted_decisions_total."},
		[]string{"action", "verdict"})
	for a := range nActions {
		for v := range nVerdicts {
			m.decisions[a][v] = decisions.WithLabelValues(actionLabels[a], verdictLabels[v])
		}
	}
	m.emissions = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "emissions_total",
		Help: "audit_seccomp calls: the kernel deciding to write an AUDIT_SECCOMP record, one per logged decision."})
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "audit_records_total",
		Help: "AUDIT_SECCOMP records of the emissions, by delivery: delivered to the audit multicast group, lost (the kernel dropped it), undelivered (never came although followed), unknown (not followed, or the wait ran out)."},
		[]string{"delivery"})
	for i, l := range deliveryLabels {
		m.deliveries[i] = deliveries.WithLabelValues(l)
	}
	lost := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "audit_records_lost_total",
		Help: "AUDIT_SECCOMP records the kernel dropped, by where: an exclude rule, the backlog limit, the rate limit, no memory, a kauditd queue overflow, audit=0 at boot."},
		[]string{"reason"})
	for i, l := range lossLabels {
		m.lost[i] = lost.WithLabelValues(l)
	}
	writes := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "actions_logged_writes_total",
		Help: "Write attempts to kernel.seccomp.actions_logged, by the verdict on their CONFIG_CHANGE record."},
		[]string{"verdict"})
	for i, l := range writeLabels {
		m.writes[i] = writes.WithLabelValues(l)
	}
	version, revision := buildVersion()
	build := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help:        "Always 1: the version, VCS revision and Go version seccomptrace was built with.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()}})
	build.Set(1)
	m.reg.MustRegister(decisions, m.emissions, deliveries, lost, writes, build, probeCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if limits.comm > 0 {
		m.comm = newKeyedCounter("comm", limits.comm, "the task's comm (escaped)")
	}
	if limits.container > 0 {
		m.container = newKeyedCounter("container", limits.container, "the 64-hex id of the container the task is in (decisions outside containers are not counted here)")
	}
	if limits.unit > 0 {
		m.unit = newKeyedCounter("unit", limits.unit, "the systemd unit the task is in, outside containers (escaped; user units as user@UID.service/UNIT)")
	}
	for _, k := range []*keyedCounter{m.comm, m.container, m.unit} {
		if k != nil {
			m.reg.MustRegister(k.vec, k.overflow)
		}
	}
	return m
}

// buildVersion is the main module's version and VCS revision, "unknown" where not stamped.
func buildVersion() (version, revision string) {
	version, revision = "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if v := bi.Main.Version; v != "" {
		version = v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return
}

// setSource makes the scrapes read the counters of a started session.
func (m *metrics) setSource(progress func() (session.Progress, error)) { m.progress.Store(&progress) }

// observe counts one settled event (OnEvent): no allocation.
func (m *metrics) observe(e session.Event) {
	if w := e.Write; w != nil {
		m.writes[writeIndex(w.Verdict)].Inc()
		return
	}
	j := e.Judged
	a, v := actionIndex(j.Decision), verdictIndex(j.Verdict)
	m.decisions[a][v].Inc()
	if n := len(j.Emissions); n > 0 {
		m.emissions.Add(float64(n))
	}
	for _, d := range j.Deliveries {
		m.deliveries[deliveryIndex(d.State)].Inc()
		if d.State == judge.Lost {
			m.lost[lossIndex(d.Reason)].Inc()
		}
	}
	if m.comm == nil && m.container == nil && m.unit == nil {
		return
	}
	task := pairTask(&j.Pair)
	if m.comm != nil {
		m.comm.inc(task.Comm, a, v)
	}
	cg := task.Cgroup
	if cg == nil {
		return
	}
	if m.container != nil && cg.ContainerID != "" {
		m.container.inc(cg.ContainerID, a, v)
	}
	if m.unit != nil && cg.ContainerID == "" && cg.Unit != "" {
		unit := cg.Unit
		if cg.UserUnit != "" {
			unit += "/" + cg.UserUnit // an allocation, but only on this opt-in path
		}
		m.unit.inc(unit, a, v)
	}
}

// labelLimits are the opt-in labels' caps on distinct values: 0 leaves
// the label out (--metrics-comm-limit, --metrics-container-limit,
// --metrics-unit-limit).
type labelLimits struct{ comm, container, unit int }

// keyedCounter counts decisions by one more label (comm, container or
// unit), action and verdict, for at most limit distinct values; decisions
// with a later value count in overflow only. Values are escaped: comms
// and unit names are untrusted, and a label value must be UTF-8.
type keyedCounter struct {
	limit    int
	vec      *prometheus.CounterVec
	overflow prometheus.Counter
	byKey    map[string]*[nActions][nVerdicts]prometheus.Counter
}

// newKeyedCounter makes seccomptrace_<label>_decisions_total and
// seccomptrace_<label>_label_overflow_total; what says which decisions
// are counted.
func newKeyedCounter(label string, limit int, what string) *keyedCounter {
	return &keyedCounter{
		limit: limit,
		vec: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: label + "_decisions_total",
			Help: fmt.Sprintf("Seccomp decisions judged and streamed, by %s, action and verdict, for the first --metrics-%s-limit values seen.", what, label)},
			[]string{label, "action", "verdict"}),
		overflow: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: label + "_label_overflow_total",
			Help: fmt.Sprintf("Seccomp decisions not counted in seccomptrace_%s_decisions_total: their %s came after --metrics-%s-limit others.", label, label, label)}),
		byKey: map[string]*[nActions][nVerdicts]prometheus.Counter{},
	}
}

// inc counts one decision; a new value or label set costs its child once.
func (c *keyedCounter) inc(key string, a, v int) {
	row := c.byKey[key]
	if row == nil {
		if len(c.byKey) >= c.limit {
			c.overflow.Inc()
			return
		}
		row = new([nActions][nVerdicts]prometheus.Counter)
		c.byKey[key] = row
	}
	ctr := row[a][v]
	if ctr == nil {
		ctr = c.vec.WithLabelValues(escape(key), actionLabels[a], verdictLabels[v])
		row[a][v] = ctr
	}
	ctr.Inc()
}

// probeCollector reads at each scrape what is not an event: the probes'
// counters (session.Progress), audit's status (AUDIT_GET) and the
// actions_logged in force.
type probeCollector struct{ m *metrics }

var (
	descProbeDecisions = prometheus.NewDesc(namespace+"_probe_decisions_total",
		"Every __seccomp_filter run of a traced task the probes saw: streamed, cached ALLOWs and silent-counted ones.", nil, nil)
	descCachedAllow = prometheus.NewDesc(namespace+"_cached_allow_decisions_total",
		"ALLOWs the kernel's action cache answered (5.11+): counted in the kernel, never streamed (they cannot log).", nil, nil)
	descSilent = prometheus.NewDesc(namespace+"_silent_counted_decisions_total",
		"Decisions counted in the kernel instead of streamed, because their (filter stack, syscall) is silent whatever the arguments: ok-silent by construction, by action.", []string{"action"}, nil)
	descSilentFull = prometheus.NewDesc(namespace+"_silent_count_full_decisions_total",
		"Decisions streamed although marked silent, because the kernel's per-process count map was full.", nil, nil)
	descProbeLost = prometheus.NewDesc(namespace+"_probe_records_lost_total",
		"Records the probes could not deliver, by kind: a full ring buffer per record kind, decisions not followed to their exit (inflight_full, exits_missed). Any makes a run inconclusive.", []string{"kind"}, nil)
	descOverruns = prometheus.NewDesc(namespace+"_audit_multicast_overruns_total",
		"Overruns (ENOBUFS) of seccomptrace's audit multicast socket: records lost to this reader.", nil, nil)
	descAuditLost = prometheus.NewDesc(namespace+"_audit_lost",
		"The kernel's audit_lost counter (AUDIT_GET): every record audit dropped since boot or its last reset, seccomp's and others'.", nil, nil)
	descBacklog = prometheus.NewDesc(namespace+"_audit_backlog",
		"Audit records queued for kauditd now (AUDIT_GET).", nil, nil)
	descBacklogLimit = prometheus.NewDesc(namespace+"_audit_backlog_limit",
		"The audit backlog limit (AUDIT_GET): beyond it records are lost or tasks wait.", nil, nil)
	descActionsLogged = prometheus.NewDesc(namespace+"_actions_logged_info",
		"Always 1: the value of kernel.seccomp.actions_logged now.", []string{"actions"}, nil)
)

func (probeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descProbeDecisions, descCachedAllow, descSilent, descSilentFull, descProbeLost,
		descOverruns, descAuditLost, descBacklog, descBacklogLimit, descActionsLogged} {
		ch <- d
	}
}

func (c probeCollector) Collect(ch chan<- prometheus.Metric) {
	c.collectProbes(ch)
	// Without CAP_AUDIT_CONTROL (or with audit=0) there is no status: no gauges.
	if st, err := c.m.auditStatus(); err == nil {
		gauge := func(d *prometheus.Desc, v uint32) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
		}
		gauge(descAuditLost, st.Lost)
		gauge(descBacklog, st.Backlog)
		gauge(descBacklogLimit, st.BacklogLimit)
	}
	if set, err := c.m.actionsLogged(); err == nil {
		ch <- prometheus.MustNewConstMetric(descActionsLogged, prometheus.GaugeValue, 1, setString(set))
	}
}

// collectProbes sends the probes' counters: zero before the session
// starts, its final ones after it ends. A failed read fails the scrape
// of these series (promhttp answers the rest) rather than send zeros,
// which Prometheus would take for a counter reset.
func (c probeCollector) collectProbes(ch chan<- prometheus.Metric) {
	var p session.Progress
	if f := c.m.progress.Load(); f != nil {
		var err error
		if p, err = (*f)(); err != nil {
			ch <- prometheus.NewInvalidMetric(descProbeDecisions, fmt.Errorf("reading the probes' counters: %w", err))
			return
		}
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	k := p.Counters
	counter(descProbeDecisions, k.Decisions)
	counter(descCachedAllow, k.CachedAllow)
	var silent [len(silentLabels)]uint64
	for name, n := range p.SilentByAction {
		silent[silentIndex(name)] += n
	}
	for i, l := range silentLabels {
		counter(descSilent, silent[i], l)
	}
	counter(descSilentFull, k.SilentFull)
	for i, n := range probeLosses(k) {
		counter(descProbeLost, n, probeLossLabels[i])
	}
	counter(descOverruns, p.AuditOverruns)
}

// serveMetrics listens on addr and serves m's /metrics until stop; bound
// is the address it listens on (the port chosen, for port 0).
func serveMetrics(m *metrics, addr string) (bound string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("bad --metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: m.reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// It returns at Shutdown; an accept error before that leaves the
		// scrapes failing, which Prometheus reports itself (up == 0).
		_ = srv.Serve(ln)
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
