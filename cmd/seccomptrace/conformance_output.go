// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/seccomptrace/seccomptrace/observer/conformance"
)

const conformanceFormatList = "text, json, ktap or junit"

func validConformanceFormat(f string) bool {
	switch f {
	case "text", "json", "ktap", "junit":
		return true
	}
	return false
}

// saveFlag is --save FORMAT=FILE, repeatable: CI keeps the KTAP, JSON and
// JUnit of one run without running the matrix once per format.
type saveFlag []saveTarget

type saveTarget struct{ format, path string }

func (s *saveFlag) String() string {
	var parts []string
	for _, t := range *s {
		parts = append(parts, t.format+"="+t.path)
	}
	return strings.Join(parts, ",")
}

func (s *saveFlag) Set(v string) error {
	format, path, ok := strings.Cut(v, "=")
	if !ok || path == "" {
		return fmt.Errorf("want FORMAT=FILE (e.g. junit=report.xml), not %q", v)
	}
	if !validConformanceFormat(format) {
		return fmt.Errorf("format %q: want %s", format, conformanceFormatList)
	}
	*s = append(*s, saveTarget{format, path})
	return nil
}

// saveConformance writes one --save file; a partial file is never left
// under the final name (CI would upload it as if it were the report).
func saveConformance(t saveTarget, rep *conformance.Report, kernel string) error {
	f, err := os.CreateTemp(filepath.Dir(t.path), "."+filepath.Base(t.path)+".*")
	if err != nil {
		return fmt.Errorf("--save %s: %w", t.path, err)
	}
	err = renderConformance(f, t.format, rep, kernel)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// CreateTemp makes the file 0600; a report is for everyone to read.
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), t.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("--save %s: %w", t.path, err)
	}
	return nil
}

func countStatuses(rep *conformance.Report) map[conformance.Status]int {
	counts := map[conformance.Status]int{}
	for _, r := range rep.Results {
		counts[r.Status]++
	}
	return counts
}

// runLosses is the run's ring-buffer losses and audit multicast overruns:
// either makes the whole run inconclusive, whatever the cases say.
func runLosses(rep *conformance.Report) (lost, overruns uint64) {
	if rep.Session == nil {
		return 0, 0
	}
	return rep.Session.Counters.Lost(), rep.Session.Audit.Overruns
}

func runLostString(rep *conformance.Report) string {
	if rep.Session == nil {
		return ""
	}
	return rep.Session.Counters.LostString()
}

// renderConformance writes the report of one run in format.
func renderConformance(w io.Writer, format string, rep *conformance.Report, kernel string) error {
	counts := countStatuses(rep)
	lost, overruns := runLosses(rep)
	switch format {
	case "json":
		out := struct {
			Kernel   string            `json:"kernel"`
			Model    string            `json:"model"`
			Cases    []conformanceJSON `json:"cases"`
			Pass     int               `json:"pass"`
			Fail     int               `json:"fail"`
			Skip     int               `json:"skip"`
			Inconcl  int               `json:"inconclusive"`
			Lost     uint64            `json:"records_lost"`
			Overruns uint64            `json:"multicast_overruns"`
			Seconds  float64           `json:"seconds"`
		}{Kernel: kernel, Model: rep.Model.String(), Pass: counts[conformance.Pass], Fail: counts[conformance.Fail],
			Skip: counts[conformance.Skip], Inconcl: counts[conformance.Inconclusive], Lost: lost, Overruns: overruns, Seconds: rep.Duration.Seconds()}
		for _, r := range rep.Results {
			out.Cases = append(out.Cases, conformanceJSON{r.Case.Name, string(r.Status), r.Expected, string(r.Reason), r.Emissions, r.Delivered, r.Serials, r.Detail, r.AuditLostRise})
		}
		return printReport(w, true, out, nil)
	case "ktap":
		return renderKTAP(w, rep, kernel, counts, lost, overruns)
	case "junit":
		return renderJUnit(w, rep, kernel, counts, lost, overruns)
	case "text":
		fmt.Fprintf(w, "%-13s %-8s %-5s %-9s %s\n", "STATUS", "EXPECTED", "EMIT", "DELIVERED", "CASE")
		for _, r := range rep.Results {
			exp := "silent"
			if r.Expected {
				exp = "log"
			}
			fmt.Fprintf(w, "%-13s %-8s %-5d %-9d %s\n", r.Status, exp, r.Emissions, r.Delivered, r.Case.Name)
			if r.Status == conformance.Fail || r.Status == conformance.Inconclusive {
				fmt.Fprintf(w, "              %s (rule: %s)\n", r.Detail, r.Reason)
			}
		}
		_, err := fmt.Fprintf(w, "\nconformance on %s, model %s: %d pass, %d fail, %d skip, %d inconclusive; %d records lost, %d multicast overruns; %.1fs\n",
			kernel, rep.Model, counts[conformance.Pass], counts[conformance.Fail], counts[conformance.Skip], counts[conformance.Inconclusive], lost, overruns, rep.Duration.Seconds())
		return err
	}
	return fmt.Errorf("unknown format %q: want %s", format, conformanceFormatList)
}

// renderKTAP writes KTAP as KernelCI/LKFT and the kernel's kunit.py read it.
func renderKTAP(w io.Writer, rep *conformance.Report, kernel string, counts map[conformance.Status]int, lost, overruns uint64) error {
	fmt.Fprintf(w, "KTAP version 1\n# seccomptrace conformance: kernel %s, model %s\n1..%d\n", kernel, rep.Model, len(rep.Results))
	for i, r := range rep.Results {
		name := strings.ReplaceAll(r.Case.Name, "#", "")
		switch r.Status {
		case conformance.Pass:
			fmt.Fprintf(w, "ok %d %s\n", i+1, name)
		case conformance.Skip:
			fmt.Fprintf(w, "ok %d %s # SKIP %s\n", i+1, name, ktapLine(r.Detail))
		default:
			fmt.Fprintf(w, "# %s: %s\nnot ok %d %s\n", r.Status, ktapLine(r.Detail), i+1, name)
		}
	}
	if lost > 0 || overruns > 0 {
		fmt.Fprintf(w, "# inconclusive run: %d records lost (%s), %d multicast overruns\n", lost, runLostString(rep), overruns)
	}
	fmt.Fprintf(w, "# run time %.1fs\n", rep.Duration.Seconds())
	_, err := fmt.Fprintf(w, "# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:%d\n",
		counts[conformance.Pass], counts[conformance.Fail], counts[conformance.Skip], counts[conformance.Inconclusive])
	return err
}

// ktapLine keeps a detail on its one line: a newline would end the test's
// line and the rest would be read as a stray, unparsable one.
func ktapLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// JUnit XML, in the shape Jenkins, GitLab and the GitHub test-report actions
// read: one testsuite, one testcase per case; fail is a failure,
// inconclusive an error (the kernel's behaviour was not established), skip
// skipped.
type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitTestcase `xml:"testcase"`
	SystemErr  string          `xml:"system-err,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitOutcome `xml:"failure,omitempty"`
	Error     *junitOutcome `xml:"error,omitempty"`
	Skipped   *junitOutcome `xml:"skipped,omitempty"`
}

type junitOutcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

const junitClassname = "seccomptrace.conformance"

func renderJUnit(w io.Writer, rep *conformance.Report, kernel string, counts map[conformance.Status]int, lost, overruns uint64) error {
	secs := fmt.Sprintf("%.3f", rep.Duration.Seconds())
	suite := junitTestsuite{
		Name:     junitClassname,
		Tests:    len(rep.Results),
		Failures: counts[conformance.Fail],
		Errors:   counts[conformance.Inconclusive],
		Skipped:  counts[conformance.Skip],
		Time:     secs,
		Properties: []junitProperty{
			{"kernel", kernel},
			{"model", rep.Model.String()},
			{"records_lost", fmt.Sprint(lost)},
			{"multicast_overruns", fmt.Sprint(overruns)},
		},
	}
	if lost > 0 || overruns > 0 {
		suite.SystemErr = fmt.Sprintf("inconclusive run: %d records lost (%s), %d multicast overruns", lost, runLostString(rep), overruns)
	}
	for _, r := range rep.Results {
		tc := junitTestcase{Classname: junitClassname, Name: r.Case.Name}
		exp := "silent"
		if r.Expected {
			exp = "log"
		}
		// The facts text output prints for a failing case, for whoever reads the CI page.
		body := fmt.Sprintf("%s\nrule: %s\nexpected: %s; emissions: %d; delivered: %d", r.Detail, r.Reason, exp, r.Emissions, r.Delivered)
		if len(r.Serials) > 0 {
			body += fmt.Sprintf("; audit serials: %v", r.Serials)
		}
		switch r.Status {
		case conformance.Pass:
		case conformance.Fail:
			tc.Failure = &junitOutcome{Message: r.Detail, Type: string(conformance.Fail), Text: body}
		case conformance.Skip:
			tc.Skipped = &junitOutcome{Message: r.Detail}
		case conformance.Inconclusive:
			tc.Error = &junitOutcome{Message: r.Detail, Type: string(conformance.Inconclusive), Text: body}
		default:
			return errors.New("conformance case " + r.Case.Name + " has unknown status " + string(r.Status))
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitTestsuites{Name: "seccomptrace", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: secs, Suites: []junitTestsuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
