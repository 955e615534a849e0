// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/conformance"
	"github.com/seccomptrace/seccomptrace/observer/policy"
	"github.com/seccomptrace/seccomptrace/observer/session"
	"github.com/seccomptrace/seccomptrace/observer/testutil"
)

// sampleReport is a run with every status: 2 pass, 1 fail, 1 skip, 1 inconclusive.
func sampleReport() *conformance.Report {
	res := func(name string, st conformance.Status, detail string) conformance.Result {
		return conformance.Result{Case: conformance.Case{Name: name}, Status: st, Expected: true, Reason: policy.Reason("flag-log"), Detail: detail}
	}
	return &conformance.Report{
		Model: policy.ModelPost418,
		Results: []conformance.Result{
			res("errno(1) flag_log=on actions_logged=default audit=off", conformance.Pass, ""),
			res("log flag_log=off actions_logged=default audit=on", conformance.Pass, ""),
			res("trap flag_log=on actions_logged=default audit=off", conformance.Fail, "the kernel logged 0 time(s), the rules want 1 <&>"),
			res("user_notif flag_log=on actions_logged=default audit=off", conformance.Skip, "user_notif is not in actions_avail"),
			res("kill_process flag_log=on actions_logged=none audit=on", conformance.Inconclusive, "1 of 2 records reached the audit multicast group"),
		},
		Session:  &session.Report{},
		Duration: 1500 * time.Millisecond,
	}
}

// TestConformanceJUnit renders a report as JUnit and reads it back with
// encoding/xml into a struct of its own, as a CI server would.
func TestConformanceJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := renderConformance(&buf, "junit", sampleReport(), "6.12.0-test"); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Tests   int      `xml:"tests,attr"`
		Suites  []struct {
			Name     string  `xml:"name,attr"`
			Tests    int     `xml:"tests,attr"`
			Failures int     `xml:"failures,attr"`
			Errors   int     `xml:"errors,attr"`
			Skipped  int     `xml:"skipped,attr"`
			Time     float64 `xml:"time,attr"`
			Props    []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Classname string   `xml:"classname,attr"`
				Name      string   `xml:"name,attr"`
				Failure   *outcome `xml:"failure"`
				Error     *outcome `xml:"error"`
				Skipped   *outcome `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit does not parse: %v\n%s", err, buf.String())
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration:\n%s", buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if doc.Tests != 5 || s.Tests != 5 || s.Failures != 1 || s.Errors != 1 || s.Skipped != 1 || s.Time != 1.5 || s.Name != "seccomptrace.conformance" {
		t.Errorf("suite %q: tests=%d (root %d) failures=%d errors=%d skipped=%d time=%v; want 5 1 1 1 1.5",
			s.Name, s.Tests, doc.Tests, s.Failures, s.Errors, s.Skipped, s.Time)
	}
	props := map[string]string{}
	for _, p := range s.Props {
		props[p.Name] = p.Value
	}
	if props["kernel"] != "6.12.0-test" || props["model"] != policy.ModelPost418.String() || props["records_lost"] != "0" {
		t.Errorf("properties %v", props)
	}
	rep := sampleReport()
	if len(s.Cases) != len(rep.Results) {
		t.Fatalf("%d testcases, want %d", len(s.Cases), len(rep.Results))
	}
	for i, c := range s.Cases {
		r := rep.Results[i]
		if c.Name != r.Case.Name || c.Classname != "seccomptrace.conformance" {
			t.Errorf("testcase %d: %s.%s, want seccomptrace.conformance.%s", i, c.Classname, c.Name, r.Case.Name)
		}
		got := map[bool]string{c.Failure != nil: "fail", c.Error != nil: "inconclusive", c.Skipped != nil: "skip"}[true]
		if got == "" {
			got = "pass"
		}
		if n := btoi(c.Failure != nil) + btoi(c.Error != nil) + btoi(c.Skipped != nil); n > 1 || got != string(r.Status) {
			t.Errorf("testcase %q reads as %s (%d outcome elements), want %s", c.Name, got, n, r.Status)
		}
	}
	// The reason survives escaping, as the message and at the top of the body.
	f := s.Cases[2].Failure
	if f == nil || f.Message != "the kernel logged 0 time(s), the rules want 1 <&>" || f.Type != "fail" ||
		!strings.HasPrefix(f.Text, f.Message+"\nrule: flag-log\n") {
		t.Errorf("failure element %+v", f)
	}
	if e := s.Cases[4].Error; e == nil || e.Message != "1 of 2 records reached the audit multicast group" || e.Type != "inconclusive" {
		t.Errorf("error element %+v", e)
	}
	if sk := s.Cases[3].Skipped; sk == nil || sk.Message != "user_notif is not in actions_avail" {
		t.Errorf("skipped element %+v", sk)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestConformanceJUnitInvalidXMLChars: a detail holding bytes XML 1.0
// cannot carry (a child's error text may) still gives a parsable file.
func TestConformanceJUnitInvalidXMLChars(t *testing.T) {
	rep := sampleReport()
	rep.Results[2].Detail = "child: exit \x1b[2J\x00\xff"
	var buf bytes.Buffer
	if err := renderConformance(&buf, "junit", rep, "k"); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := xml.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatalf("unparsable: %v\n%q", err, buf.String())
	}
}

// TestConformanceSaveFlag: bad --save values are one line each, before any case runs.
func TestConformanceSaveFlag(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"junit", "want FORMAT=FILE"},
		{"junit=", "want FORMAT=FILE"},
		{"xml=out.xml", `format "xml": want text, json, ktap or junit`},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"conformance", "--save", tc.arg, "--list"}, &out, &errOut)
		if err == nil || !strings.Contains(errOut.String()+err.Error(), tc.want) {
			t.Errorf("--save %q: err %v, stderr %q; want %q", tc.arg, err, errOut.String(), tc.want)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"conformance", "--output", "xml"}, &out, &errOut); err == nil || err.Error() != `bad --output "xml": want text, json, ktap or junit` {
		t.Errorf("--output xml: %v", err)
	}
}

// TestConformanceSaveFiles: every --save file holds the same run; a
// folder that does not exist is one error, not a partial file.
func TestConformanceSaveFiles(t *testing.T) {
	dir := t.TempDir()
	rep := sampleReport()
	for _, f := range []string{"ktap", "json", "junit", "text"} {
		if err := saveConformance(saveTarget{f, filepath.Join(dir, "r."+f)}, rep, "k"); err != nil {
			t.Fatal(err)
		}
	}
	var js struct{ Pass, Fail, Skip, Inconclusive int }
	b, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	if err := json.Unmarshal(b, &js); err != nil || js.Pass != 2 || js.Fail != 1 || js.Skip != 1 || js.Inconclusive != 1 {
		t.Errorf("json %+v %v", js, err)
	}
	k, _ := os.ReadFile(filepath.Join(dir, "r.ktap"))
	if !strings.HasSuffix(string(k), "# Totals: pass:2 fail:1 xfail:0 xpass:0 skip:1 error:1\n") {
		t.Errorf("ktap:\n%s", k)
	}
	if fi, err := os.Stat(filepath.Join(dir, "r.junit")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("junit file: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 4 {
		t.Errorf("%d files in the folder, want 4 (a temporary file left behind?)", len(ents))
	}
	err := saveConformance(saveTarget{"junit", filepath.Join(dir, "nope", "r.xml")}, rep, "k")
	if err == nil || !strings.HasPrefix(err.Error(), "--save "+filepath.Join(dir, "nope", "r.xml")+": ") {
		t.Errorf("save into a missing folder: %v", err)
	}
}

// TestConformanceKTAPKunitParser feeds the KTAP, JSON and JUnit of a run with
// every status to vmtest/check-reports.py, which runs the kernel's own
// tools/testing/kunit/kunit.py parser on the KTAP and compares its counts
// and per-case statuses with the JSON and the JUnit. Then it breaks each
// file in turn: the check must fail.
func TestConformanceKTAPKunitParser(t *testing.T) {
	kunit := kunitPy(t)
	dir := t.TempDir()
	rep := sampleReport()
	write := func() {
		for _, f := range []struct{ format, name string }{{"ktap", "conformance.ktap"}, {"json", "conformance.json"}, {"junit", "conformance.junit.xml"}} {
			if err := saveConformance(saveTarget{f.format, filepath.Join(dir, f.name)}, rep, "6.12.0-test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func() (string, error) {
		cmd := exec.Command("python3", "../../vmtest/check-reports.py", "--kunit", kunit, dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	write()
	out, err := check()
	t.Logf("check-reports.py:\n%s", out)
	if err != nil {
		t.Fatalf("check-reports.py rejects a consistent run: %v", err)
	}
	if !strings.Contains(out, "Testing complete. Ran 5 tests: passed: 2, failed: 2, skipped: 1") {
		t.Errorf("no kunit.py summary with the expected counts in the output")
	}

	// Each tampering must be caught.
	for _, tc := range []struct {
		name   string
		file   string
		change func(string) string
	}{
		{"KTAP loses a result line", "conformance.ktap", func(s string) string {
			return strings.Replace(s, "ok 2 log flag_log=off actions_logged=default audit=on\n", "", 1)
		}},
		{"KTAP pass turned into a failure", "conformance.ktap", func(s string) string {
			return strings.Replace(s, "ok 1 ", "not ok 1 ", 1)
		}},
		{"JSON disagrees on a status", "conformance.json", func(s string) string {
			return strings.Replace(s, `"status": "skip"`, `"status": "pass"`, 1)
		}},
		{"JUnit misses the error", "conformance.junit.xml", func(s string) string {
			return strings.Replace(s, ` errors="1"`, ` errors="0"`, 2)
		}},
		{"a report missing", "conformance.junit.xml", nil},
	} {
		write()
		p := filepath.Join(dir, tc.file)
		if tc.change == nil {
			os.Remove(p)
		} else {
			b, _ := os.ReadFile(p)
			changed := tc.change(string(b))
			if changed == string(b) {
				t.Fatalf("%s: the change did not apply", tc.name)
			}
			os.WriteFile(p, []byte(changed), 0o644)
		}
		out, err := check()
		t.Logf("%s: %s", tc.name, lastLines(out))
		if err == nil {
			t.Errorf("%s: check-reports.py passed:\n%s", tc.name, out)
		} else if !strings.Contains(out, "check-reports: ") {
			t.Errorf("%s: no reason given:\n%s", tc.name, out)
		}
	}
}

// kunitPy is the kunit.py that vmtest/setup.sh kunit unpacks; the test is
// skipped on a host where that step has not run (make test runs it first).
func kunitPy(t *testing.T) string {
	t.Helper()
	if testutil.InVM() {
		// The guest's /var/cache is a tmpfs; this pure host test already ran on the host.
		t.Skip("host test: the guest does not see the host's kunit.py cache")
	}
	cache := os.Getenv("SECCOMPTRACE_CACHE")
	if cache == "" {
		cache = "/var/cache/seccomptrace"
	}
	p := filepath.Join(cache, "kunit", "tools", "testing", "kunit", "kunit.py")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no kunit.py at %s: run vmtest/setup.sh kunit", p)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	return p
}

func lastLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "check-reports: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
